/* The latency report: per-stage percentiles from the decisions' own timings, the image facts'
 * processing time and the hops between produced-at timestamps; throughput; error rate; and the
 * measured async flow (decide without waiting for image facts) against the blocking flow the
 * first version used (wait for the facts, then decide), both from the same real requests.
 * Building and rendering are pure, so they are unit-tested on made-up events. */
#ifndef FLEET_REPORT_H
#define FLEET_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "fleet_event.h"
#include "fleet_stats.h"

#define FLEET_REPORT_STAGES 10

typedef struct fleet_report {
    int64_t from_ms, to_ms;
    long long requests, decisions, enrichments, facts_ready, facts_processed, dead_letters, decision_errors;
    double decisions_per_min;
    double error_rate;       /* (decisions with an error + dead letters) / (decisions + dead letters) */
    const char *stage_names[FLEET_REPORT_STAGES];
    fleet_summary stages[FLEET_REPORT_STAGES];
    /* Requests with images whose decision and processed facts are both in the window. */
    fleet_summary async_decision;  /* request -> decision (the async flow's answer) */
    fleet_summary async_complete;  /* request -> decision and image facts both available */
    fleet_summary blocking;        /* ESTIMATE: request -> facts processed, plus the decision's own
                                      context + LLM time; no blocking flow ran, so it is computed */
} fleet_report;

/* How the blocking figure is computed: every rendering says so beside it. */
#define FLEET_REPORT_BLOCKING_NOTE                                                                    \
    "blocking is an estimate, not a measurement: for each request, the time until its image facts " \
    "were processed plus that request's own context and LLM time (the blocking flow never ran)"

/* Builds the report from events (any order; the array is reordered). -1 when out of memory. */
int fleet_report_build(fleet_event *ev, size_t n, int64_t from_ms, int64_t to_ms, fleet_report *out);

void fleet_report_text(FILE *out, const fleet_report *r);
/* malloc'd JSON / HTML (caller frees), NULL when out of memory. */
char *fleet_report_json(const fleet_report *r);
char *fleet_report_html(const fleet_report *r);

#endif
