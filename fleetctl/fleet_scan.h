/* Reads a time window of several of the fleet's topics into events (trace, report). */
#ifndef FLEET_SCAN_H
#define FLEET_SCAN_H

#include <stddef.h>

#include "fleet_ctx.h"
#include "fleet_event.h"
#include "fleet_range.h"

typedef struct fleet_events {
    fleet_event *v;
    size_t n, cap;
    long long scanned;     /* records read */
    int topics_missing;    /* topics of the list that do not exist (skipped) */
} fleet_events;

/* Keeps an event when keep returns true (NULL keeps every envelope). */
typedef bool (*fleet_event_keep_fn)(const fleet_event *ev, void *ud);

/* Scans base topics (prefix added) over spec. A missing topic is skipped with a note on stderr;
 * an unreachable broker is an error. Returns 0, or -1 with err. */
int fleet_scan(const fleet_ctx *c, const char *const *bases, size_t nbases, const fleet_range_spec *spec,
               fleet_event_keep_fn keep, void *ud, fleet_events *out, char *err, size_t errlen);
void fleet_events_free(fleet_events *e);

/* The seven topics of the flow, in flow order. */
extern const char *const fleet_flow_topics[7];

#endif
