/* Parsing of the time and offset arguments fleetctl takes (--from-time, --since, --to-offset ...).
 * Pure functions of their text: unit-tested with every malformed form we could think of, because
 * a silently misread time range replays the wrong history. */
#ifndef FLEET_TIME_H
#define FLEET_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Special offsets accepted where an offset is: "earliest"/"beginning" and "latest"/"end". */
#define FLEET_OFFSET_EARLIEST (-2)
#define FLEET_OFFSET_LATEST (-1)

/* RFC 3339 date-time ("2026-11-29T04:03:15Z", "2026-11-29T05:03:15.250+01:00"; 't', 'z' and a
 * space separator accepted, a time zone required) -> Unix ms. Returns 0, or -1 with a message
 * saying what is wrong. */
int fleet_parse_rfc3339(const char *s, int64_t *out_ms, char *err, size_t errlen);

/* A positive duration with units, one or more of <digits><unit> with unit ms|s|m|h|d
 * ("15m", "1h30m", "500ms"). A bare number is refused: "--since 15" is too ambiguous to guess. */
int fleet_parse_duration(const char *s, int64_t *out_ms, char *err, size_t errlen);

/* A non-negative offset, or "earliest"/"beginning" (FLEET_OFFSET_EARLIEST), "latest"/"end"
 * (FLEET_OFFSET_LATEST). allow_special false refuses the words. */
int fleet_parse_offset(const char *s, int allow_special, int64_t *out, char *err, size_t errlen);

/* A non-negative decimal integer that fits int64 (partition numbers, counts). */
int fleet_parse_uint(const char *s, int64_t max, int64_t *out, char *err, size_t errlen);

/* Unix ms -> "2026-11-29T04:03:15.250Z" into buf (needs 25 bytes). */
void fleet_format_rfc3339(int64_t ms, char *buf, size_t buflen);

/* Days since 1970-01-01 of a proleptic Gregorian date (no timegm: it reads the process's TZ). */
int64_t fleet_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
