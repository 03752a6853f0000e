/* One request's events in time order, each with the stage that produced it and how long that
 * stage took: the time from its cause (the request for a decision, the image request for image
 * facts, the processed facts for an enrichment ...) to the event. */
#ifndef FLEET_TIMELINE_H
#define FLEET_TIMELINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fleet_event.h"

typedef struct fleet_timeline_row {
    const fleet_event *ev;
    int64_t since_start_ms;
    int64_t stage_ms;        /* -1 when the cause is not in the timeline */
    char stage[400];         /* fits producer(48) + schema(32) + topic(255); "image-worker: imageAnalysisRequested -> imageFactsReady" */
} fleet_timeline_row;

/* Sorts events by time; equal times by their place in the flow, then topic/partition/offset. */
void fleet_timeline_sort(fleet_event *ev, size_t n);

/* The event in ev[0..i) that caused ev[i], or -1. ev must be sorted. */
long fleet_timeline_cause(const fleet_event *ev, size_t n, size_t i);

/* Fills rows[0..n) for sorted ev. */
void fleet_timeline_build(const fleet_event *ev, size_t n, fleet_timeline_row *rows);

/* Prints the timeline for humans. */
void fleet_timeline_print(FILE *out, const char *id, const fleet_timeline_row *rows, size_t n);

#endif
