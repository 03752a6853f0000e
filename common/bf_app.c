#include "bf_app.h"

#include <stdio.h>
#include <string.h>

#ifndef BF_VERSION
#define BF_VERSION "unknown"
#endif
#ifndef BF_REVISION
#define BF_REVISION "unknown"
#endif

const char *bf_app_version(void) { return BF_VERSION; }
const char *bf_app_revision(void) { return BF_REVISION; }

/* Arguments every binary takes whatever its command. */
static int is_global(const char *a) {
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "--version") == 0 ||
           strcmp(a, "--help-markdown") == 0 || strcmp(a, "--help-markdown-common") == 0;
}

static const bf_app_command *find_command(const bf_app_spec *spec, const char *name) {
    for (size_t i = 0; i < spec->n_commands; i++)
        if (strcmp(spec->commands[i].name, name) == 0) return &spec->commands[i];
    return NULL;
}

static int takes_flag(const bf_app_command *cmd, const char *a) {
    for (size_t i = 0; cmd && cmd->flags && cmd->flags[i]; i++)
        if (strcmp(cmd->flags[i], a) == 0) return 1;
    return 0;
}

int bf_app_parse_args(const bf_app_spec *spec, int argc, char **argv, const char **command, const char **bad) {
    const bf_app_command *cmd = spec->n_commands ? &spec->commands[0] : NULL;
    int first = 1;
    *command = cmd ? cmd->name : NULL;
    *bad = NULL;
    /* --help and --version win over everything else, so `x --bogus --help` still helps. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
        if (strcmp(argv[i], "--version") == 0) return 3;
    }
    if (argc > 1 && argv[1][0] != '-') {
        cmd = find_command(spec, argv[1]);
        if (!cmd) {
            *bad = argv[1];
            return 2;
        }
        *command = cmd->name;
        first = 2;
    }
    for (int i = first; i < argc; i++) {
        if (is_global(argv[i]) || takes_flag(cmd, argv[i])) continue;
        *bad = argv[i];
        return 2;
    }
    return 0;
}

bool bf_app_flag(const bf_app *app, const char *flag) {
    for (int i = 1; i < app->argc; i++)
        if (strcmp(app->argv[i], flag) == 0) return true;
    return false;
}

static void print_version(const char *worker) {
    printf("%s %s (revision %s)\n", worker, bf_app_version(), bf_app_revision());
}

int bf_app_init(bf_app *app, const bf_app_spec *spec, int argc, char **argv) {
    memset(app, 0, sizeof *app);
    app->worker = spec->worker;
    app->argc = argc;
    app->argv = argv;
    const bf_cfg_var *tables[] = {bf_common_cfg_vars, spec->stage_vars};
    size_t ns[] = {bf_common_cfg_n, spec->n_stage};
    size_t count = spec->stage_vars ? 2 : 1;
    const char *bad = NULL;
    int prc = bf_app_parse_args(spec, argc, argv, &app->command, &bad);
    if (prc == 3) {
        print_version(spec->worker);
        return 0;
    }
    if (prc == 2) {
        /* A typo such as `memory-writer --migrate` must not start the worker in the live group. */
        fprintf(stderr, "%s: unknown %s '%s'\n\n%s\n", spec->worker, bad[0] == '-' ? "option" : "command", bad,
                spec->usage);
        return 2;
    }
    /* docs/configuration.md is generated from these: the shared table once, then each worker's own. */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help-markdown-common") == 0) {
            bf_config_print_markdown(stdout, "Shared by every worker", tables, ns, 1);
            return 0;
        }
        if (strcmp(argv[i], "--help-markdown") == 0) {
            if (spec->stage_vars) bf_config_print_markdown(stdout, spec->worker, tables + 1, ns + 1, 1);
            return 0;
        }
    }
    if (bf_config_handle_help(argc, argv, spec->usage, tables, ns, count)) return 0;
    char err[1024];
    bf_log_init(&app->log, stderr, spec->worker, BF_LOG_INFO);
    if (bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &app->cfg, NULL, NULL, err, sizeof err) != 0 ||
        (spec->stage_vars &&
         bf_config_load(spec->stage_vars, spec->n_stage, spec->stage_cfg, NULL, NULL, err, sizeof err) != 0) ||
        bf_config_check_dsn(app->cfg.pg_dsn, err, sizeof err) != 0) {
        fprintf(stderr, "%s: configuration error: %s\n(see %s --help)\n", spec->worker, err, spec->worker);
        return 2;
    }
    app->log.min_level = (bf_log_level)bf_log_level_parse(app->cfg.log_level);
    app->metrics = bf_metrics_new();
    if (!app->metrics) {
        fprintf(stderr, "%s: out of memory\n", spec->worker);
        return 1;
    }
    char labels[256];
    snprintf(labels, sizeof labels, "worker=\"%s\",version=\"%s\",revision=\"%s\"", spec->worker, bf_app_version(),
             bf_app_revision());
    bf_metric_set(bf_metrics_gauge(app->metrics, "brainfleet_build_info",
                                   "Always 1; the labels say which build of which worker runs.", labels),
                  1);
    bf_metrics_add_process(app->metrics);
    return BF_APP_CONTINUE;
}

void bf_app_cleanup(bf_app *app) {
    bf_metrics_free(app->metrics);
    app->metrics = NULL;
}
