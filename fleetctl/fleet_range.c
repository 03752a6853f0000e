#include "fleet_range.h"

#include <stdio.h>

#include "fleet_time.h"

int fleet_range_validate(const fleet_range_spec *s, char *err, size_t errlen) {
    if (s->from == FLEET_FROM_OFFSET && s->to == FLEET_TO_OFFSET && s->from_offset >= s->to_offset) {
        snprintf(err, errlen, "empty range: --from-offset %lld is not before --to-offset %lld (the end is exclusive)",
                 (long long)s->from_offset, (long long)s->to_offset);
        return -1;
    }
    if (s->from == FLEET_FROM_TIME && s->to == FLEET_TO_TIME && s->from_ms >= s->to_ms) {
        char a[32], b[32];
        fleet_format_rfc3339(s->from_ms, a, sizeof a);
        fleet_format_rfc3339(s->to_ms, b, sizeof b);
        snprintf(err, errlen, "empty range: start %s is not before end %s", a, b);
        return -1;
    }
    return 0;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

void fleet_range_resolve(const fleet_range_spec *s, int64_t low, int64_t high, int64_t from_time_off,
                         int64_t to_time_off, int64_t *start, int64_t *end) {
    int64_t a, b;
    switch (s->from) {
    case FLEET_FROM_OFFSET: a = s->from_offset; break;
    case FLEET_FROM_TIME: a = from_time_off < 0 ? high : from_time_off; break;
    case FLEET_FROM_LATEST: a = high; break;
    default: a = low; break;
    }
    switch (s->to) {
    case FLEET_TO_OFFSET: b = s->to_offset; break;
    case FLEET_TO_TIME: b = to_time_off < 0 ? high : to_time_off; break;
    default: b = high; break;
    }
    /* Offsets below the log start were deleted by retention: reading starts at what exists. */
    a = clamp(a, low, high);
    b = clamp(b, low, high);
    *start = a;
    *end = b < a ? a : b;
}

void fleet_range_describe(const fleet_range_spec *s, char *buf, size_t buflen) {
    char from[40], to[40];
    switch (s->from) {
    case FLEET_FROM_OFFSET: snprintf(from, sizeof from, "offset %lld", (long long)s->from_offset); break;
    case FLEET_FROM_TIME: fleet_format_rfc3339(s->from_ms, from, sizeof from); break;
    case FLEET_FROM_LATEST: snprintf(from, sizeof from, "latest"); break;
    default: snprintf(from, sizeof from, "earliest"); break;
    }
    switch (s->to) {
    case FLEET_TO_OFFSET: snprintf(to, sizeof to, "offset %lld", (long long)s->to_offset); break;
    case FLEET_TO_TIME: fleet_format_rfc3339(s->to_ms, to, sizeof to); break;
    default: snprintf(to, sizeof to, "end"); break;
    }
    snprintf(buf, buflen, "%s .. %s", from, to);
}

int fleet_range_from_args(const fleet_range_args *a, int64_t now_ms, fleet_range_spec *spec, char *err,
                          size_t errlen) {
    fleet_range_spec s = {0};
    char e[256];
    int starts = !!a->from_offset + !!a->from_time + !!a->since;
    if (starts > 1) {
        snprintf(err, errlen, "give one of --from-offset, --from-time, --since");
        return -1;
    }
    if (a->to_offset && a->to_time) {
        snprintf(err, errlen, "give one of --to-offset, --to-time");
        return -1;
    }
    if (a->from_offset) {
        int64_t o;
        if (fleet_parse_offset(a->from_offset, 1, &o, e, sizeof e)) {
            snprintf(err, errlen, "--from-offset: %s", e);
            return -1;
        }
        if (o == FLEET_OFFSET_EARLIEST) s.from = FLEET_FROM_EARLIEST;
        else if (o == FLEET_OFFSET_LATEST) s.from = FLEET_FROM_LATEST;
        else {
            s.from = FLEET_FROM_OFFSET;
            s.from_offset = o;
        }
    } else if (a->from_time) {
        if (fleet_parse_rfc3339(a->from_time, &s.from_ms, e, sizeof e)) {
            snprintf(err, errlen, "--from-time: %s", e);
            return -1;
        }
        s.from = FLEET_FROM_TIME;
    } else if (a->since) {
        int64_t d;
        if (fleet_parse_duration(a->since, &d, e, sizeof e)) {
            snprintf(err, errlen, "--since: %s", e);
            return -1;
        }
        s.from = FLEET_FROM_TIME;
        s.from_ms = now_ms - d;
    }
    if (a->to_offset) {
        if (fleet_parse_offset(a->to_offset, 0, &s.to_offset, e, sizeof e)) {
            snprintf(err, errlen, "--to-offset: %s", e);
            return -1;
        }
        s.to = FLEET_TO_OFFSET;
    } else if (a->to_time) {
        if (fleet_parse_rfc3339(a->to_time, &s.to_ms, e, sizeof e)) {
            snprintf(err, errlen, "--to-time: %s", e);
            return -1;
        }
        s.to = FLEET_TO_TIME;
    }
    if (fleet_range_validate(&s, err, errlen)) return -1;
    *spec = s;
    return 0;
}
