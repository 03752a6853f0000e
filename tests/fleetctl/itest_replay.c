/* fleetctl replay against the real broker: offset and time ranges return exactly the records
 * they should, filters select by project and trace, re-producing keeps keys, headers and order
 * per partition, and the error cases exit with the documented codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bf_test_kafka.h"
#include "fleet_time.h"
#include "support_fleet.h"

#define TRACE4 "4bf92f3577b34da6a3ce929d0e0e4736"

static char prefix[32];
static char events[128], copy[128];
static int64_t base_ms;

/* p0: 10 records i=0..9, keys p-a/p-b alternating, timestamps base + i s.
 * p1: 5 records j=0..4, key p-c, timestamps base + j s + 500 ms. */
static int setup(void **state) {
    (void)state;
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *bases[] = {"events", "copy"};
    bf_test_create_topics(prefix, bases, 2, 2);
    snprintf(events, sizeof events, "%sevents", prefix);
    snprintf(copy, sizeof copy, "%scopy", prefix);
    base_ms = (fleet_it_wall_ms() - 3600000) / 1000 * 1000;
    rd_kafka_t *p = fleet_it_producer();
    for (int i = 0; i < 10; i++) {
        char value[128], n[8], tp[64];
        snprintf(value, sizeof value, "{\"i\":%d,\"part\":0}", i);
        snprintf(n, sizeof n, "%d", i);
        snprintf(tp, sizeof tp, "00-%s-00f067aa0ba902b7-01", i == 4 ? TRACE4 : "0af7651916cd43dd8448eb211c80319c");
        const char *h[] = {"n", n, "traceparent", tp, NULL};
        fleet_it_produce(p, events, 0, i % 2 ? "p-b" : "p-a", value, strlen(value), h, base_ms + i * 1000);
    }
    for (int j = 0; j < 5; j++) {
        char value[128], n[8];
        snprintf(value, sizeof value, "{\"j\":%d,\"part\":1}", j);
        snprintf(n, sizeof n, "%d", j);
        const char *h[] = {"n", n, NULL};
        fleet_it_produce(p, events, 1, "p-c", value, strlen(value), h, base_ms + j * 1000 + 500);
    }
    fleet_it_producer_done(p);
    return 0;
}

typedef struct line {
    int partition;
    int64_t offset;
    int64_t ts;
    char key[16];
    int n; /* "i" or "j" from the value */
} line;

static size_t parse_lines(const char *out, line *v, size_t max) {
    size_t n = 0;
    const char *p = out;
    while (*p && n < max) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
        assert_non_null(j);
        v[n].partition = cJSON_GetObjectItem(j, "partition")->valueint;
        v[n].offset = (int64_t)cJSON_GetObjectItem(j, "offset")->valuedouble;
        v[n].ts = (int64_t)cJSON_GetObjectItem(j, "timestamp_ms")->valuedouble;
        snprintf(v[n].key, sizeof v[n].key, "%s", cJSON_GetObjectItem(j, "key")->valuestring);
        cJSON *val = cJSON_GetObjectItem(j, "value");
        cJSON *idx = cJSON_GetObjectItem(val, v[n].partition == 0 ? "i" : "j");
        assert_non_null(idx);
        v[n].n = idx->valueint;
        cJSON_Delete(j);
        n++;
        p = nl + 1;
    }
    return n;
}

static void by_offset_range(void **state) {
    (void)state;
    char *out;
    int rc = fleet_it_run(prefix, &out, NULL, "replay", "--topic", "events", "--partition", "0", "--from-offset", "3",
                          "--to-offset", "7", NULL);
    assert_int_equal(rc, 0);
    line v[32];
    size_t n = parse_lines(out, v, 32);
    assert_int_equal(n, 4);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(v[k].partition, 0);
        assert_int_equal(v[k].offset, 3 + (int64_t)k);
        assert_int_equal(v[k].n, 3 + (int)k);
        assert_int_equal(v[k].ts, base_ms + (3 + (int64_t)k) * 1000);
    }
    free(out);
}

static void by_time_range(void **state) {
    (void)state;
    char from[40], to[40], *out;
    fleet_format_rfc3339(base_ms + 2000, from, sizeof from);
    fleet_format_rfc3339(base_ms + 5000, to, sizeof to);
    int rc = fleet_it_run(prefix, &out, NULL, "replay", "--topic", "events", "--from-time", from, "--to-time", to, NULL);
    assert_int_equal(rc, 0);
    line v[32];
    size_t n = parse_lines(out, v, 32);
    /* p0: timestamps +2 s, +3 s, +4 s (offsets 2..4); p1: +2.5 s, +3.5 s, +4.5 s (offsets 2..4). */
    assert_int_equal(n, 6);
    int seen[2][10] = {{0}};
    int64_t last[2] = {-1, -1};
    for (size_t k = 0; k < n; k++) {
        assert_true(v[k].ts >= base_ms + 2000 && v[k].ts < base_ms + 5000);
        assert_true(v[k].offset > last[v[k].partition]); /* per-partition order */
        last[v[k].partition] = v[k].offset;
        seen[v[k].partition][v[k].offset]++;
    }
    for (int o = 2; o <= 4; o++) {
        assert_int_equal(seen[0][o], 1);
        assert_int_equal(seen[1][o], 1);
    }
    free(out);

    /* An RFC 3339 offset names the same instant. */
    char from_local[40];
    snprintf(from_local, sizeof from_local, "%.19s+01:00", from);
    /* from_local is "<UTC wall time>+01:00", i.e. one hour earlier: everything from +2 s - 1 h on. */
    rc = fleet_it_run(prefix, &out, NULL, "replay", "--topic", "events", "--from-time", from_local, "--to-time", to, NULL);
    assert_int_equal(rc, 0);
    assert_int_equal(fleet_it_lines(out), 5 + 5); /* p0 offsets 0..4, p1 offsets 0..4 */
    free(out);
}

static void project_and_trace_filters(void **state) {
    (void)state;
    char *out;
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--topic", "events", "--project", "p-a", NULL), 0);
    line v[32];
    size_t n = parse_lines(out, v, 32);
    assert_int_equal(n, 5);
    for (size_t k = 0; k < n; k++) {
        assert_string_equal(v[k].key, "p-a");
        assert_int_equal(v[k].n % 2, 0);
    }
    free(out);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--topic", "events", "--trace", TRACE4, NULL), 0);
    n = parse_lines(out, v, 32);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].n, 4);
    free(out);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--topic", "events", "--project", "p-a", "--max", "2", NULL), 0);
    assert_int_equal(fleet_it_lines(out), 2);
    free(out);
}

static void reproduce_keeps_keys_headers_order(void **state) {
    (void)state;
    char *err;
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--topic", "events", "--to-topic", "copy",
                                  "--keep-timestamps", NULL), 0);
    assert_non_null(strstr(err, "produced 15"));
    free(err);
    size_t n;
    bf_test_msg *m = bf_test_consume_all(copy, 15, 1500, 60000, &n);
    assert_int_equal(n, 15);
    int next[2] = {0, 0};
    for (size_t k = 0; k < n; k++) {
        int p = m[k].partition;
        int idx = next[p]++;
        char want_value[64], want_n[8];
        snprintf(want_value, sizeof want_value, p == 0 ? "{\"i\":%d,\"part\":0}" : "{\"j\":%d,\"part\":1}", idx);
        snprintf(want_n, sizeof want_n, "%d", idx);
        assert_string_equal(m[k].payload, want_value);
        assert_string_equal(bf_test_msg_header(&m[k], "n"), want_n);
        assert_string_equal(m[k].key, p == 1 ? "p-c" : idx % 2 ? "p-b" : "p-a");
        assert_int_equal(m[k].timestamp_ms, base_ms + idx * 1000 + (p == 1 ? 500 : 0));
        if (p == 0) assert_non_null(bf_test_msg_header(&m[k], "traceparent"));
    }
    assert_int_equal(next[0], 10);
    assert_int_equal(next[1], 5);
    bf_test_msgs_free(m, n);
}

static void errors_exit_codes(void **state) {
    (void)state;
    char *err, future[40];
    fleet_format_rfc3339(fleet_it_wall_ms() + 3600000, future, sizeof future);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--topic", "events", "--from-time", future, NULL), 1);
    assert_non_null(strstr(err, "nothing to replay"));
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--topic", "events", "--from-time", "2026-02-30T00:00:00Z", NULL), 2);
    assert_non_null(strstr(err, "does not exist in 2026-02"));
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--topic", "events", "--since", "15", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--topic", "nosuchtopic", NULL), 1);
    assert_non_null(strstr(err, "does not exist"));
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--topic", "events", "--partition", "7", NULL), 1);
    assert_non_null(strstr(err, "no partition 7"));
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--bogus", NULL), 2);
    free(err);

    char *saved = strdup(bf_test_brokers());
    setenv("BRAINFLEET_KAFKA_BROKERS", "127.0.0.1:1", 1);
    int rc = fleet_it_run(prefix, NULL, &err, "--timeout", "2s", "replay", "--topic", "events", NULL);
    setenv("BRAINFLEET_KAFKA_BROKERS", saved, 1);
    free(saved);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "cannot reach Kafka at 127.0.0.1:1"));
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(by_offset_range),
        cmocka_unit_test(by_time_range),
        cmocka_unit_test(project_and_trace_filters),
        cmocka_unit_test(reproduce_keeps_keys_headers_order),
        cmocka_unit_test(errors_exit_codes),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
