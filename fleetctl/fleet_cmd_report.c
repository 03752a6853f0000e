/* `fleetctl report`: the latency report over a time window, as text, JSON or HTML. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_capture.h"
#include "fleet_cmds.h"
#include "fleet_kafka.h"
#include "fleet_report.h"
#include "fleet_scan.h"

const char fleet_usage_report[] =
    "usage: fleetctl report [--since DUR | --from-time TIME] [--to-time TIME] [--project ID]\n"
    "                       [--from-file CAPTURE] [-o table|json|html] [--out-file FILE]\n"
    "\n"
    "Reads brainRequests, imageAnalysisRequested, imageFactsReady, imageFactsProcessed,\n"
    "brainDecisions and deadLetters over the window (default --since 1h) and reports:\n"
    "  - per stage p50/p95/p99/max in ms: the decisions' own timings (queue wait, context, LLM,\n"
    "    total), image analysis time (imageFactsReady processing_ms), and the hops between\n"
    "    produced-at timestamps (request -> decision, request -> image requested, image requested\n"
    "    -> facts ready, facts ready -> processed, processed -> enrichment);\n"
    "  - throughput (decisions per minute) and error rate ((decisions with an error + dead\n"
    "    letters) / (decisions + dead letters));\n"
    "  - the async flow (measured: time to decision, and until decision and image facts are both\n"
    "    available) against the blocking flow on the same requests with images. The blocking figure\n"
    "    is an ESTIMATE, labelled so in every format: no blocking flow runs, so it is computed as the\n"
    "    time until the image facts were processed plus the request's own context and LLM time.\n"
    "--from-file CAPTURE reads a saved capture instead of the broker: the JSON lines `fleetctl\n"
    "replay` prints, e.g.\n"
    "  for t in brainRequests imageAnalysisRequested imageFactsReady imageFactsProcessed \\\n"
    "           brainDecisions deadLetters; do fleetctl replay --topic $t --since 1d; done > capture.jsonl\n"
    "Its window is the whole capture unless --since/--from-time/--to-time narrow it.\n"
    "-o html writes one self-contained page with inline SVG charts (to --out-file or stdout).\n"
    "Exit 1 when the window holds no decisions and no image facts.\n";

typedef struct keep_state {
    const char *project;
    int64_t from_ms, to_ms; /* capture only: the window, -1 open */
} keep_state;

static bool keep(const fleet_event *ev, void *ud) {
    const keep_state *k = ud;
    if (k->project && strcmp(ev->project, k->project) != 0) return false;
    if (k->from_ms >= 0 && ev->ts_ms < k->from_ms) return false;
    if (k->to_ms >= 0 && ev->ts_ms >= k->to_ms) return false;
    return true;
}

int fleet_cmd_report(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_report, c->out);
        return FLEET_EXIT_OK;
    }
    enum { O_SINCE = 1, O_FROM_TIME, O_TO_TIME, O_PROJECT, O_OUT_FILE, O_FROM_FILE };
    static const struct option opts[] = {
        {"since", required_argument, 0, O_SINCE},       {"from-time", required_argument, 0, O_FROM_TIME},
        {"to-time", required_argument, 0, O_TO_TIME},   {"project", required_argument, 0, O_PROJECT},
        {"out-file", required_argument, 0, O_OUT_FILE}, {"from-file", required_argument, 0, O_FROM_FILE},
        {0, 0, 0, 0},
    };
    fleet_range_args ra = {0};
    keep_state ks = {.from_ms = -1, .to_ms = -1};
    const char *output = NULL, *capture = NULL;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_SINCE: ra.since = optarg; break;
        case O_FROM_TIME: ra.from_time = optarg; break;
        case O_TO_TIME: ra.to_time = optarg; break;
        case O_PROJECT: ks.project = optarg; break;
        case O_OUT_FILE: output = optarg; break;
        case O_FROM_FILE: capture = optarg; break;
        default: return fleet_fail(c, FLEET_EXIT_USAGE, "report", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "report", "unexpected argument '%s'", argv[optind]);
    char err[512];
    fleet_range_spec spec;
    int64_t now = fleet_now_ms();
    bool windowed = ra.since || ra.from_time || ra.to_time;
    if (!capture && !ra.since && !ra.from_time) ra.since = "1h";
    if (fleet_range_from_args(&ra, now, &spec, err, sizeof err)) return fleet_fail(c, FLEET_EXIT_USAGE, "report", "%s", err);
    static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                         "imageFactsProcessed", "brainDecisions", "deadLetters"};
    fleet_events evs = {0};
    int64_t from = spec.from_ms, to = spec.to == FLEET_TO_TIME ? spec.to_ms : now;
    if (capture) {
        FILE *f = fopen(capture, "r");
        if (!f) return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "cannot read %s", capture);
        if (windowed) {
            ks.from_ms = spec.from == FLEET_FROM_TIME ? spec.from_ms : -1;
            ks.to_ms = spec.to == FLEET_TO_TIME ? spec.to_ms : -1;
        }
        int rrc = fleet_capture_read(f, keep, &ks, &evs, err, sizeof err);
        fclose(f);
        if (rrc) {
            fleet_events_free(&evs);
            return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "%s: %s", capture, err);
        }
        /* The window is what the capture holds, unless narrowed. */
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (size_t i = 0; i < evs.n; i++) {
            if (evs.v[i].ts_ms < lo) lo = evs.v[i].ts_ms;
            if (evs.v[i].ts_ms > hi) hi = evs.v[i].ts_ms;
        }
        from = ks.from_ms >= 0 ? ks.from_ms : evs.n ? lo : 0;
        to = ks.to_ms >= 0 ? ks.to_ms : evs.n ? hi + 1 : 0;
    } else if (fleet_scan(c, topics, 6, &spec, keep, &ks, &evs, err, sizeof err)) {
        fleet_events_free(&evs);
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "%s", err);
    }
    fleet_report rep;
    int brc = fleet_report_build(evs.v, evs.n, from, to, &rep);
    fleet_events_free(&evs);
    if (brc) return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "out of memory");
    if (rep.decisions == 0 && rep.facts_ready == 0)
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "no decisions and no image facts in the window%s",
                          capture ? "" : "; widen --since?");
    FILE *out = c->out;
    if (output && !(out = fopen(output, "w"))) return fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "cannot write %s", output);
    int rc = FLEET_EXIT_OK;
    if (c->output == FLEET_OUT_TABLE) {
        fleet_report_text(out, &rep);
    } else {
        char *s = c->output == FLEET_OUT_JSON ? fleet_report_json(&rep) : fleet_report_html(&rep);
        if (!s) rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "out of memory");
        else fprintf(out, "%s\n", s);
        free(s);
    }
    if (output && fclose(out) != 0) rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "report", "writing %s failed", output);
    return rc;
}
