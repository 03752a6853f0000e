/* `fleetctl report`: the latency report over a time window, as text, JSON or HTML. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_cmds.h"
#include "fleet_kafka.h"
#include "fleet_report.h"
#include "fleet_scan.h"

const char fleet_usage_report[] =
    "usage: fleetctl report [--since DUR | --from-time TIME] [--to-time TIME] [--project ID]\n"
    "                       [--format text|json|html] [--output FILE]\n"
    "\n"
    "Reads brainRequests, imageAnalysisRequested, imageFactsReady, imageFactsProcessed,\n"
    "brainDecisions and deadLetters over the window (default --since 1h) and reports:\n"
    "  - per stage p50/p95/p99/max in ms: the decisions' own timings (queue wait, context, LLM,\n"
    "    total), image analysis time (imageFactsReady processing_ms), and the hops between\n"
    "    produced-at timestamps (request -> decision, request -> image requested, image requested\n"
    "    -> facts ready, facts ready -> processed, processed -> enrichment);\n"
    "  - throughput (decisions per minute) and error rate ((decisions with an error + dead\n"
    "    letters) / (decisions + dead letters));\n"
    "  - the async flow against the blocking flow on the same requests with images: time to\n"
    "    decision, time until decision and image facts are both available, and facts-then-decide.\n"
    "--format html writes one self-contained page with inline SVG charts (to --output or stdout).\n"
    "Exit 1 when the window holds no decisions and no image facts.\n";

typedef struct keep_state {
    const char *project;
} keep_state;

static bool keep(const fleet_event *ev, void *ud) {
    const keep_state *k = ud;
    return !k->project || strcmp(ev->project, k->project) == 0;
}

int fleet_cmd_report(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_report, c->out);
        return FLEET_EXIT_OK;
    }
    enum { O_SINCE = 1, O_FROM_TIME, O_TO_TIME, O_PROJECT, O_FORMAT, O_OUTPUT };
    static const struct option opts[] = {
        {"since", required_argument, 0, O_SINCE},     {"from-time", required_argument, 0, O_FROM_TIME},
        {"to-time", required_argument, 0, O_TO_TIME}, {"project", required_argument, 0, O_PROJECT},
        {"format", required_argument, 0, O_FORMAT},   {"output", required_argument, 0, O_OUTPUT},
        {0, 0, 0, 0},
    };
    fleet_range_args ra = {0};
    keep_state ks = {0};
    const char *format = "text", *output = NULL;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_SINCE: ra.since = optarg; break;
        case O_FROM_TIME: ra.from_time = optarg; break;
        case O_TO_TIME: ra.to_time = optarg; break;
        case O_PROJECT: ks.project = optarg; break;
        case O_FORMAT: format = optarg; break;
        case O_OUTPUT: output = optarg; break;
        default: return fleet_fail(c, FLEET_EXIT_USAGE, "report", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "report", "unexpected argument '%s'", argv[optind]);
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "html"))
        return fleet_fail(c, FLEET_EXIT_USAGE, "report", "--format: '%s' is not text, json or html", format);
    if (!ra.since && !ra.from_time) ra.since = "1h";
    char err[512];
    fleet_range_spec spec;
    int64_t now = fleet_now_ms();
    if (fleet_range_from_args(&ra, now, &spec, err, sizeof err)) return fleet_fail(c, FLEET_EXIT_USAGE, "report", "%s", err);
    static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                         "imageFactsProcessed", "brainDecisions", "deadLetters"};
    fleet_events evs = {0};
    if (fleet_scan(c, topics, 6, &spec, keep, &ks, &evs, err, sizeof err)) {
        fleet_events_free(&evs);
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "%s", err);
    }
    fleet_report rep;
    int64_t to = spec.to == FLEET_TO_TIME ? spec.to_ms : now;
    int brc = fleet_report_build(evs.v, evs.n, spec.from_ms, to, &rep);
    fleet_events_free(&evs);
    if (brc) return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "out of memory");
    if (rep.decisions == 0 && rep.facts_ready == 0)
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "no decisions and no image facts in the window; widen --since?");
    FILE *out = c->out;
    if (output && !(out = fopen(output, "w"))) return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "cannot write %s", output);
    int rc = FLEET_EXIT_OK;
    if (strcmp(format, "text") == 0) {
        fleet_report_text(out, &rep);
    } else {
        char *s = strcmp(format, "json") == 0 ? fleet_report_json(&rep) : fleet_report_html(&rep);
        if (!s) rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "out of memory");
        else fprintf(out, "%s\n", s);
        free(s);
    }
    if (output && fclose(out) != 0) rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "writing %s failed", output);
    return rc;
}
