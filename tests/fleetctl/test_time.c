/* fleetctl's time, duration, offset and range-flag parsing: every malformed form must be refused
 * with a message, because a misread range silently replays the wrong history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fleet_range.h"
#include "fleet_time.h"

static int64_t t(const char *s) {
    int64_t ms = -42;
    char err[256] = "";
    int rc = fleet_parse_rfc3339(s, &ms, err, sizeof err);
    if (rc != 0) fail_msg("'%s' refused: %s", s, err);
    return ms;
}

static void rfc3339_valid(void **state) {
    (void)state;
    assert_int_equal(t("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(t("2026-11-29T04:03:15Z"), 1795924995000LL);
    assert_int_equal(t("2026-11-29T04:03:15.250Z"), 1795924995250LL);
    assert_int_equal(t("2026-11-29T05:03:15.250+01:00"), 1795924995250LL);
    assert_int_equal(t("2026-11-28T23:03:15.25-05:00"), 1795924995250LL);
    assert_int_equal(t("2026-11-29t04:03:15z"), 1795924995000LL);
    assert_int_equal(t("2026-11-29 04:03:15Z"), 1795924995000LL);
    assert_int_equal(t("2026-11-29T04:03:15.123456789Z"), 1795924995123LL); /* truncated to ms */
    assert_int_equal(t("2024-02-29T00:00:00Z"), 1709164800000LL);           /* leap day */
    assert_int_equal(t("2016-12-31T23:59:60Z"), t("2016-12-31T23:59:59Z")); /* leap second */
    assert_int_equal(t("1969-12-31T23:59:59Z"), -1000);
}

static void rfc3339_invalid(void **state) {
    (void)state;
    static const char *const bad[] = {
        "", "now", "2026", "2026-11-29", "2026-11-29T04:03Z", "2026-11-29T04:03:15", /* no zone */
        "26-11-29T04:03:15Z", "2026-1-29T04:03:15Z", "2026-11-29X04:03:15Z", "2026-00-10T00:00:00Z",
        "2026-13-10T00:00:00Z", "2026-11-31T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-00T00:00:00Z",
        "2026-11-29T24:00:00Z", "2026-11-29T23:60:00Z", "2026-11-29T23:59:61Z", "2026-11-29T04:03:15.Z",
        "2026-11-29T04:03:15+0100", "2026-11-29T04:03:15+1:00", "2026-11-29T04:03:15+24:00",
        "2026-11-29T04:03:15+01:60", "2026-11-29T04:03:15ZZ", "2026-11-29T04:03:15Z ", " 2026-11-29T04:03:15Z",
        "2026/11/29T04:03:15Z", "1795924995000", "2026-11-29T04:03:15 UTC",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 7;
        char err[256] = "";
        if (fleet_parse_rfc3339(bad[i], &ms, err, sizeof err) == 0) fail_msg("'%s' accepted as %lld", bad[i], (long long)ms);
        assert_true(strlen(err) > 0);
        assert_int_equal(ms, 7);
    }
}

static void format_round_trip(void **state) {
    (void)state;
    char buf[40];
    fleet_format_rfc3339(1795924995250LL, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-29T04:03:15.250Z");
    fleet_format_rfc3339(-1000, buf, sizeof buf);
    assert_string_equal(buf, "1969-12-31T23:59:59.000Z");
    assert_int_equal(t(buf), -1000);
}

static void durations(void **state) {
    (void)state;
    int64_t ms;
    char err[256];
    assert_int_equal(fleet_parse_duration("15m", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 900000);
    assert_int_equal(fleet_parse_duration("1h30m", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 5400000);
    assert_int_equal(fleet_parse_duration("500ms", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 500);
    assert_int_equal(fleet_parse_duration("2d", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 172800000);
    static const char *const bad[] = {"", "15", "m", "-5m", "5 m", "5x", "1.5h", "0s", "0m0s", "5m-", "99999999999999999999d", "h1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (fleet_parse_duration(bad[i], &ms, err, sizeof err) == 0) fail_msg("duration '%s' accepted", bad[i]);
        assert_true(strlen(err) > 0);
    }
}

static void offsets(void **state) {
    (void)state;
    int64_t o;
    char err[256];
    assert_int_equal(fleet_parse_offset("42", 1, &o, err, sizeof err), 0);
    assert_int_equal(o, 42);
    assert_int_equal(fleet_parse_offset("earliest", 1, &o, err, sizeof err), 0);
    assert_int_equal(o, FLEET_OFFSET_EARLIEST);
    assert_int_equal(fleet_parse_offset("latest", 1, &o, err, sizeof err), 0);
    assert_int_equal(o, FLEET_OFFSET_LATEST);
    assert_int_equal(fleet_parse_offset("latest", 0, &o, err, sizeof err), -1);
    static const char *const bad[] = {"", "-1", "1e3", "0x10", " 5", "5 ", "99999999999999999999", "first"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (fleet_parse_offset(bad[i], 1, &o, err, sizeof err) == 0) fail_msg("offset '%s' accepted", bad[i]);
}

static void range_flags(void **state) {
    (void)state;
    fleet_range_spec s;
    char err[256];
    fleet_range_args a = {.since = "15m"};
    assert_int_equal(fleet_range_from_args(&a, 1000000000, &s, err, sizeof err), 0);
    assert_int_equal(s.from, FLEET_FROM_TIME);
    assert_int_equal(s.from_ms, 1000000000 - 900000);
    assert_int_equal(s.to, FLEET_TO_END);

    fleet_range_args both = {.from_offset = "1", .since = "1m"};
    assert_int_equal(fleet_range_from_args(&both, 0, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "one of"));
    fleet_range_args two_ends = {.to_offset = "1", .to_time = "2026-01-01T00:00:00Z"};
    assert_int_equal(fleet_range_from_args(&two_ends, 0, &s, err, sizeof err), -1);
    fleet_range_args empty_off = {.from_offset = "5", .to_offset = "5"};
    assert_int_equal(fleet_range_from_args(&empty_off, 0, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty range"));
    fleet_range_args empty_time = {.from_time = "2026-01-02T00:00:00Z", .to_time = "2026-01-01T00:00:00Z"};
    assert_int_equal(fleet_range_from_args(&empty_time, 0, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "empty range"));
    fleet_range_args bad_time = {.to_time = "yesterday"};
    assert_int_equal(fleet_range_from_args(&bad_time, 0, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "--to-time"));
    fleet_range_args latest = {.from_offset = "latest"};
    assert_int_equal(fleet_range_from_args(&latest, 0, &s, err, sizeof err), 0);
    assert_int_equal(s.from, FLEET_FROM_LATEST);
}

static void range_resolve(void **state) {
    (void)state;
    int64_t a, b;
    fleet_range_spec all = {0};
    fleet_range_resolve(&all, 3, 10, -1, -1, &a, &b);
    assert_int_equal(a, 3);
    assert_int_equal(b, 10);
    fleet_range_spec off = {.from = FLEET_FROM_OFFSET, .from_offset = 1, .to = FLEET_TO_OFFSET, .to_offset = 100};
    fleet_range_resolve(&off, 3, 10, -1, -1, &a, &b); /* clamped to what the log holds */
    assert_int_equal(a, 3);
    assert_int_equal(b, 10);
    fleet_range_spec tm = {.from = FLEET_FROM_TIME, .to = FLEET_TO_TIME};
    fleet_range_resolve(&tm, 0, 10, 4, 7, &a, &b);
    assert_int_equal(a, 4);
    assert_int_equal(b, 7);
    fleet_range_resolve(&tm, 0, 10, -1, -1, &a, &b); /* start after the last record: empty */
    assert_int_equal(a, 10);
    assert_int_equal(b, 10);
    fleet_range_resolve(&tm, 0, 10, 4, -1, &a, &b); /* end after the last record: to the end */
    assert_int_equal(a, 4);
    assert_int_equal(b, 10);
    fleet_range_spec inverted = {.from = FLEET_FROM_OFFSET, .from_offset = 8, .to = FLEET_TO_TIME};
    fleet_range_resolve(&inverted, 0, 10, -1, 5, &a, &b);
    assert_int_equal(a, 8);
    assert_int_equal(b, 8);
    fleet_range_spec latest = {.from = FLEET_FROM_LATEST};
    fleet_range_resolve(&latest, 0, 10, -1, -1, &a, &b);
    assert_int_equal(a, 10);
    assert_int_equal(b, 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_valid), cmocka_unit_test(rfc3339_invalid), cmocka_unit_test(format_round_trip),
        cmocka_unit_test(durations),     cmocka_unit_test(offsets),         cmocka_unit_test(range_flags),
        cmocka_unit_test(range_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
