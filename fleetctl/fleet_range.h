/* Which offsets of a partition a replay reads: [start, end). The spec comes from the command line;
 * resolving it against a partition's watermarks and the broker's offsets-for-times answers is a
 * pure function so the edge cases (beyond the end, before the log start, empty) are unit-tested. */
#ifndef FLEET_RANGE_H
#define FLEET_RANGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum { FLEET_FROM_EARLIEST = 0, FLEET_FROM_OFFSET, FLEET_FROM_TIME, FLEET_FROM_LATEST } fleet_from_kind;
typedef enum { FLEET_TO_END = 0, FLEET_TO_OFFSET, FLEET_TO_TIME } fleet_to_kind;

typedef struct fleet_range_spec {
    fleet_from_kind from;
    int64_t from_offset; /* FLEET_FROM_OFFSET */
    int64_t from_ms;     /* FLEET_FROM_TIME: first message with timestamp >= from_ms */
    fleet_to_kind to;
    int64_t to_offset;   /* FLEET_TO_OFFSET: exclusive */
    int64_t to_ms;       /* FLEET_TO_TIME: exclusive (messages with timestamp < to_ms) */
} fleet_range_spec;

/* Refuses specs that can only be empty (from after to). Returns 0 or -1 with err. */
int fleet_range_validate(const fleet_range_spec *s, char *err, size_t errlen);

/* low/high: the partition's watermarks (high = next offset to be written). from_time_off /
 * to_time_off: what offsets-for-times answered for from_ms / to_ms (-1 when no message is that
 * late, i.e. the range reaches the end). Writes start <= end, both within [low, high]. */
void fleet_range_resolve(const fleet_range_spec *s, int64_t low, int64_t high, int64_t from_time_off,
                         int64_t to_time_off, int64_t *start, int64_t *end);

/* Human form of the spec for summaries and errors ("offsets 5..12", "2026-...Z .. end"). */
void fleet_range_describe(const fleet_range_spec *s, char *buf, size_t buflen);



/* The range flags as given on the command line (NULL when absent). */
typedef struct fleet_range_args {
    const char *from_offset; /* N | earliest | latest */
    const char *from_time;   /* RFC 3339 */
    const char *since;       /* duration before now */
    const char *to_offset;   /* N (exclusive) */
    const char *to_time;     /* RFC 3339 (exclusive) */
} fleet_range_args;

/* Builds a spec; refuses conflicting flags (two starts, two ends), bad formats and ranges that
 * can only be empty. now_ms anchors --since. Returns 0 or -1 with err (a usage error). */
int fleet_range_from_args(const fleet_range_args *a, int64_t now_ms, fleet_range_spec *spec, char *err,
                          size_t errlen);
#endif
