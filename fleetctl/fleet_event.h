/* A brainfleet message reduced to what trace and report need: where it is, when it was produced,
 * which request/trace/image it belongs to, and its timings. Read tolerantly from the envelope
 * (a debugging tool must show the odd message the strict decoders would reject). */
#ifndef FLEET_EVENT_H
#define FLEET_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet_record.h"

typedef struct fleet_event {
    char topic[256];
    int32_t partition;
    int64_t offset;
    int64_t ts_ms;          /* envelope produced_at_ms, else the record timestamp */
    char schema[33];        /* envelope schema ("brainRequests" ...), else "" */
    char producer[49];
    char project[129];
    char trace_id[33];      /* envelope trace id */
    char request_id[37];    /* payload.request_id, "" when absent */
    char image_id[33];      /* image trace id: imageAnalysisRequested.image_trace_id, facts' trace_id */
    char kind[24];          /* brainDecisions: "decision" | "image_facts_enriched" */
    char detail[192];       /* one human line: the tool, question, URL, mood, reason ... */
    int64_t queue_wait_ms, context_ms, llm_ms, total_ms; /* brainDecisions timings, -1 absent */
    int64_t processing_ms;  /* image facts, -1 absent */
    bool has_images;        /* brainRequests with image URLs */
    bool failed;            /* a dead letter, or a payload carrying an error */
} fleet_event;

/* Returns 0 when the record is a JSON envelope (fields it lacks stay empty / -1), -1 otherwise. */
int fleet_event_from_record(const fleet_record *r, fleet_event *ev);

/* True when id is the event's trace id, request id or image id. */
bool fleet_event_matches(const fleet_event *ev, const char *id);

/* Position of a schema in the request's flow (request first, dead letters last), for ordering
 * events with equal timestamps. */
int fleet_schema_rank(const char *schema);

#endif
