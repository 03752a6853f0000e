/* Which records a replay keeps: one project's (by Kafka key, which is the project id by contract,
 * so no body is parsed) and/or one trace's (traceparent header, else the envelope's trace_id). */
#ifndef FLEET_FILTER_H
#define FLEET_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "fleet_record.h"

typedef struct fleet_filter {
    const char *project;  /* NULL: any project */
    const char *trace_id; /* NULL: any trace; else 32 lowercase hex digits */
} fleet_filter;

/* Returns 0, or -1 with err when a field is malformed (a trace id that can never match). */
int fleet_filter_validate(const fleet_filter *f, char *err, size_t errlen);
bool fleet_filter_match(const fleet_filter *f, const fleet_record *r);
bool fleet_filter_is_empty(const fleet_filter *f);

#endif
