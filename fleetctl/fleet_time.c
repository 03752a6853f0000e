#include "fleet_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

int64_t fleet_days_from_civil(int64_t y, unsigned m, unsigned d) {
    /* Howard Hinnant's algorithm: exact for every Gregorian date, no tables, no locale. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* Exactly n digits at *p; advances. */
static int digits(const char **p, int n, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

static int expect(const char **p, char c) {
    if (**p != c) return -1;
    (*p)++;
    return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

int fleet_parse_rfc3339(const char *s, int64_t *out_ms, char *err, size_t errlen) {
    static const char want[] = "want RFC 3339 like 2026-11-29T04:03:15Z or 2026-11-29T05:03:15.250+01:00";
    if (!s || !*s) FAIL("empty time (%s)", want);
    const char *p = s;
    unsigned y, mo, d, h, mi, sec;
    if (digits(&p, 4, &y) || expect(&p, '-') || digits(&p, 2, &mo) || expect(&p, '-') || digits(&p, 2, &d))
        FAIL("'%s': bad date (%s)", s, want);
    if (*p != 'T' && *p != 't' && *p != ' ') FAIL("'%s': date and time must be separated by 'T' (%s)", s, want);
    p++;
    if (digits(&p, 2, &h) || expect(&p, ':') || digits(&p, 2, &mi) || expect(&p, ':') || digits(&p, 2, &sec))
        FAIL("'%s': bad time of day, want HH:MM:SS (%s)", s, want);
    if (mo < 1 || mo > 12) FAIL("'%s': month %u out of range 01..12", s, mo);
    if (d < 1 || d > days_in_month(y, mo)) FAIL("'%s': day %u does not exist in %04u-%02u", s, d, y, mo);
    if (h > 23) FAIL("'%s': hour %u out of range 00..23", s, h);
    if (mi > 59) FAIL("'%s': minute %u out of range 00..59", s, mi);
    /* A leap second (60) is legal RFC 3339; Unix time has no slot for it, so it folds into :59. */
    if (sec > 60) FAIL("'%s': second %u out of range 00..60", s, sec);
    if (sec == 60) sec = 59;
    int64_t ms = 0;
    if (*p == '.' || *p == ',') {
        p++;
        if (!isdigit((unsigned char)*p)) FAIL("'%s': fraction of a second needs digits", s);
        int64_t scale = 100;
        for (; isdigit((unsigned char)*p); p++) {
            ms += (*p - '0') * scale; /* beyond milliseconds the digits are truncated */
            scale /= 10;
        }
    }
    int64_t offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        unsigned oh, om;
        if (digits(&p, 2, &oh) || expect(&p, ':') || digits(&p, 2, &om))
            FAIL("'%s': bad time zone offset, want +HH:MM or -HH:MM", s);
        if (oh > 23 || om > 59) FAIL("'%s': time zone offset out of range", s);
        offset_min = sign * (int64_t)(oh * 60 + om);
    } else if (*p == '\0') {
        FAIL("'%s': time zone missing (append Z for UTC, or an offset like +01:00)", s);
    } else {
        FAIL("'%s': unexpected '%c' (%s)", s, *p, want);
    }
    if (*p != '\0') FAIL("'%s': trailing characters '%s'", s, p);
    int64_t days = fleet_days_from_civil(y, mo, d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int fleet_parse_duration(const char *s, int64_t *out_ms, char *err, size_t errlen) {
    static const char want[] = "want a duration like 90s, 15m, 1h30m, 2d";
    if (!s || !*s) FAIL("empty duration (%s)", want);
    const char *p = s;
    int64_t total = 0;
    while (*p) {
        if (!isdigit((unsigned char)*p)) FAIL("'%s': %s", s, want);
        int64_t v = 0;
        for (; isdigit((unsigned char)*p); p++) {
            if (v > (INT64_MAX - 9) / 10) FAIL("'%s': too large", s);
            v = v * 10 + (*p - '0');
        }
        int64_t mul;
        if (strncmp(p, "ms", 2) == 0) { mul = 1; p += 2; }
        else if (*p == 's') { mul = 1000; p++; }
        else if (*p == 'm') { mul = 60000; p++; }
        else if (*p == 'h') { mul = 3600000; p++; }
        else if (*p == 'd') { mul = 86400000; p++; }
        else if (*p == '\0') FAIL("'%s': unit missing after %lld (ms, s, m, h or d)", s, (long long)v);
        else FAIL("'%s': unknown unit at '%s' (ms, s, m, h or d)", s, p);
        if (v > (INT64_MAX - total) / mul) FAIL("'%s': too large", s);
        total += v * mul;
    }
    if (total <= 0) FAIL("'%s': must be longer than zero", s);
    *out_ms = total;
    return 0;
}

int fleet_parse_uint(const char *s, int64_t max, int64_t *out, char *err, size_t errlen) {
    if (!s || !*s) FAIL("empty number");
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p)) FAIL("'%s' is not a non-negative integer", s);
        if (v > (max - (*p - '0')) / 10) FAIL("'%s' is larger than %lld", s, (long long)max);
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return 0;
}

int fleet_parse_offset(const char *s, int allow_special, int64_t *out, char *err, size_t errlen) {
    if (s && allow_special) {
        if (strcmp(s, "earliest") == 0 || strcmp(s, "beginning") == 0) { *out = FLEET_OFFSET_EARLIEST; return 0; }
        if (strcmp(s, "latest") == 0 || strcmp(s, "end") == 0) { *out = FLEET_OFFSET_LATEST; return 0; }
    }
    char inner[200];
    if (fleet_parse_uint(s, INT64_MAX, out, inner, sizeof inner) != 0)
        FAIL("bad offset: %s%s", inner, allow_special ? " (or earliest / latest)" : "");
    return 0;
}

void fleet_format_rfc3339(int64_t ms, char *buf, size_t buflen) {
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    int64_t rem = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, buflen, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d, (unsigned)(sod / 3600),
             (unsigned)(sod / 60 % 60), (unsigned)(sod % 60), (unsigned)rem);
}
