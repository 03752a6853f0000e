/* fleetctl: the operator's tool for a brainfleet deployment. main wires configuration, signals
 * and dispatch; every command lives in fleet_cmd_*.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bf_app.h"
#include "bf_common_config.h"
#include "bf_config.h"
#include "fleet_cmds.h"
#include "fleet_time.h"

extern char **environ;

/* The only mutable global: async-signal handlers can reach nothing else. */
static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static const char usage[] =
    "usage: fleetctl [-b HOST:PORT] [-o table|json] [--timeout DUR] [--verbose] <command> [options]\n"
    "       fleetctl --version | --help | <command> --help\n"
    "\n"
    "commands:\n"
    "  send        submit a brain request and optionally wait for its decision\n"
    "  replay      print or re-produce a topic's history by offset or time\n"
    "  group       describe a consumer group (members, committed/end offsets, lag); reset its\n"
    "              offsets (plan first, --execute to apply, previous offsets saved for undo)\n"
    "  trace       follow one request (trace id or request id) across every topic, with stage times\n"
    "  dlq         list, show and retry dead letters (one by one or in bulk by reason/source/time)\n"
    "  report      latency report (p50/p95/p99 per stage, throughput, errors, async vs blocking),\n"
    "              live or from a saved capture, as a table, JSON or a self-contained HTML page\n"
    "  topics      create the manifest's missing topics (topics ensure), list topics\n"
    "  completion  print the bash completion script (source <(fleetctl completion bash))\n"
    "  eval        score the rules or the configured model on labelled requests\n"
    "  editor      the reference editor: apply brain decisions to storyboards, report on editorEvents\n"
    "  storyboard  print a project's storyboard as the editor reported it\n"
    "\n"
    "options every command takes (before or after its name):\n"
    "  -b, --bootstrap-server LIST   Kafka brokers, host:port[,host:port]; overrides\n"
    "                                BRAINFLEET_KAFKA_BROKERS\n"
    "  -o, --output table|json       the output format (report also: html); default table\n"
    "  --timeout DUR   bound on every broker round trip: metadata, offsets, acks (default 10s)\n"
    "  --verbose       let librdkafka log to stderr\n"
    "\n"
    "`fleetctl <command> --help` documents each command. Exit status: 0 ok, 1 runtime error\n"
    "(broker unreachable, unknown topic, empty range, not found), 2 usage error.\n"
    "\n"
    "Settings come from the environment, like the workers' (BRAINFLEET_KAFKA_* librdkafka\n"
    "properties pass through, e.g. BRAINFLEET_KAFKA_SASL_MECHANISMS):\n";

static void print_help(FILE *out) {
    fputs(usage, out);
    const bf_cfg_var *vars[] = {bf_common_cfg_vars};
    for (size_t i = 0; i < bf_common_cfg_n; i++) {
        const bf_cfg_var *v = &vars[0][i];
        if (strncmp(v->name, "KAFKA_", 6) != 0 && strcmp(v->name, "TOPIC_PREFIX") != 0) continue;
        fprintf(out, "  %s%s (default '%s')\n      %s\n", BF_ENV_PREFIX, v->name,
                v->default_value ? v->default_value : "", v->doc);
    }
}

int main(int argc, char **argv) {
    fleet_ctx c = {.envp = environ, .timeout_ms = 10000, .stop = &g_stop, .out = stdout, .err = stderr};
    char err[512], cfg_err[512] = "";
    /* A bad variable is reported once a command would use it: --help and --version never fail. */
    if (bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &c.cfg, bf_cfg_process_getenv, NULL, cfg_err,
                       sizeof cfg_err) == 0)
        cfg_err[0] = '\0';
    /* -b and -o may stand anywhere; the command parsers never see them. */
    if (fleet_take_shared_options(&c, &argc, argv, err, sizeof err)) {
        fprintf(stderr, "fleetctl: %s (see fleetctl --help)\n", err);
        return FLEET_EXIT_USAGE;
    }
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return FLEET_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("fleetctl %s (revision %s)\n", bf_app_version(), bf_app_revision());
            return FLEET_EXIT_OK;
        } else if (strcmp(argv[i], "--verbose") == 0) {
            c.verbose = true;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            int64_t ms = 0;
            if (fleet_parse_duration(argv[++i], &ms, err, sizeof err) || ms > 3600000) {
                fprintf(stderr, "fleetctl: --timeout: %s\n", ms > 3600000 ? "at most 1h" : err);
                return FLEET_EXIT_USAGE;
            }
            c.timeout_ms = (int)ms;
        } else {
            fprintf(stderr, "fleetctl: unknown global option '%s' (see fleetctl --help)\n", argv[i]);
            return FLEET_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return FLEET_EXIT_USAGE;
    }
    if (cfg_err[0]) {
        fprintf(stderr, "fleetctl: %s\n", cfg_err);
        return FLEET_EXIT_USAGE;
    }
    c.progress = isatty(STDERR_FILENO) == 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    static const struct {
        const char *name;
        int (*fn)(fleet_ctx *, int, char **);
    } cmds[] = {
        {"send", fleet_cmd_send},   {"replay", fleet_cmd_replay}, {"trace", fleet_cmd_trace},
        {"dlq", fleet_cmd_dlq},     {"report", fleet_cmd_report}, {"topics", fleet_cmd_topics},
        {"group", fleet_cmd_group}, {"completion", fleet_cmd_completion},
        {"eval", fleet_cmd_eval},   {"editor", fleet_cmd_editor}, {"storyboard", fleet_cmd_storyboard},
    };
    for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
        if (strcmp(argv[i], cmds[k].name) == 0) {
            int rc = cmds[k].fn(&c, argc - i, argv + i);
            if (fflush(stdout) != 0 && rc == FLEET_EXIT_OK) rc = FLEET_EXIT_RUNTIME;
            return rc;
        }
    fprintf(stderr, "fleetctl: unknown command '%s' (see fleetctl --help)\n", argv[i]);
    return FLEET_EXIT_USAGE;
}
