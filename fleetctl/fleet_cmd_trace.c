/* `fleetctl trace <id>`: one request's path through the fleet, from every topic, with the time
 * each stage took. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_cmds.h"
#include "fleet_kafka.h"
#include "fleet_scan.h"
#include "fleet_time.h"
#include "fleet_timeline.h"

const char fleet_usage_trace[] =
    "usage: fleetctl trace <trace-id|request-id> [--since DUR | --from-time TIME] [--to-time TIME] [-o table|json]\n"
    "\n"
    "Scans every topic of the flow (brainRequests, imageAnalysisRequested, imageFactsReady,\n"
    "imageFactsProcessed, brainDecisions, memoryUpdates, deadLetters) over a time window (default\n"
    "--since 1h) for messages whose envelope trace_id, payload request_id or image trace id is the\n"
    "given id, and prints them in time order (produced_at_ms) with, for each, the stage that\n"
    "produced it and how long that stage took from its cause: request -> image request,\n"
    "image request -> facts ready (image-worker), facts ready -> facts processed (memory-writer),\n"
    "request -> decision, facts processed -> enrichment, request -> memory update.\n"
    "-o json prints the events as JSON lines instead. Exit 1 when nothing matches.\n";

static bool keep_matching(const fleet_event *ev, void *ud) { return fleet_event_matches(ev, ud); }

int fleet_cmd_trace(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_trace, c->out);
        return FLEET_EXIT_OK;
    }
    enum { O_SINCE = 1, O_FROM_TIME, O_TO_TIME };
    static const struct option opts[] = {
        {"since", required_argument, 0, O_SINCE}, {"from-time", required_argument, 0, O_FROM_TIME},
        {"to-time", required_argument, 0, O_TO_TIME}, {0, 0, 0, 0},
    };
    fleet_range_args ra = {0};
    if (c->output == FLEET_OUT_HTML) return fleet_fail(c, FLEET_EXIT_USAGE, "trace", "-o html is only for report");
    bool json = c->output == FLEET_OUT_JSON;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_SINCE: ra.since = optarg; break;
        case O_FROM_TIME: ra.from_time = optarg; break;
        case O_TO_TIME: ra.to_time = optarg; break;
        default: return fleet_fail(c, FLEET_EXIT_USAGE, "trace", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return fleet_fail(c, FLEET_EXIT_USAGE, "trace", "give exactly one trace id or request id");
    const char *id = argv[optind];
    size_t idl = strlen(id);
    if (idl < 8 || idl > 64) return fleet_fail(c, FLEET_EXIT_USAGE, "trace", "'%s' is neither a trace id nor a request id", id);
    if (!ra.since && !ra.from_time) ra.since = "1h";
    char err[512];
    fleet_range_spec spec;
    if (fleet_range_from_args(&ra, fleet_now_ms(), &spec, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, "trace", "%s", err);
    fleet_events evs = {0};
    if (fleet_scan(c, fleet_flow_topics, 7, &spec, keep_matching, (void *)id, &evs, err, sizeof err)) {
        fleet_events_free(&evs);
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "trace", "%s", err);
    }
    char desc[128];
    fleet_range_describe(&spec, desc, sizeof desc);
    if (evs.n == 0) {
        long long scanned = evs.scanned;
        fleet_events_free(&evs);
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "trace", "no message for %s in %s (%lld scanned); widen --since?", id,
                          desc, scanned);
    }
    fleet_timeline_sort(evs.v, evs.n);
    fleet_timeline_row *rows = calloc(evs.n, sizeof *rows);
    if (!rows) {
        fleet_events_free(&evs);
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "trace", "out of memory");
    }
    fleet_timeline_build(evs.v, evs.n, rows);
    if (json) {
        for (size_t i = 0; i < evs.n; i++) {
            const fleet_event *e = rows[i].ev;
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "topic", e->topic);
            cJSON_AddNumberToObject(j, "partition", e->partition);
            cJSON_AddNumberToObject(j, "offset", (double)e->offset);
            cJSON_AddNumberToObject(j, "produced_at_ms", (double)e->ts_ms);
            cJSON_AddNumberToObject(j, "since_start_ms", (double)rows[i].since_start_ms);
            cJSON_AddStringToObject(j, "schema", e->schema);
            cJSON_AddStringToObject(j, "producer", e->producer);
            cJSON_AddStringToObject(j, "request_id", e->request_id);
            cJSON_AddStringToObject(j, "stage", rows[i].stage);
            cJSON_AddNumberToObject(j, "stage_ms", (double)rows[i].stage_ms);
            cJSON_AddStringToObject(j, "detail", e->detail);
            char *line = cJSON_PrintUnformatted(j);
            if (line) fprintf(c->out, "%s\n", line);
            free(line);
            cJSON_Delete(j);
        }
    } else {
        fleet_timeline_print(c->out, id, rows, evs.n);
    }
    free(rows);
    fleet_events_free(&evs);
    return FLEET_EXIT_OK;
}
