/* Records as fleetctl prints and filters them, the topic manifest, dead-letter entries (built by
 * the workers' own bf_dlq_build, so the two sides cannot drift) and the progress bar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bf_dlq.h"
#include "fleet_dlq_entry.h"
#include "fleet_filter.h"
#include "fleet_manifest.h"
#include "fleet_progress.h"
#include "fleet_record.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define TP "00-" TRACE "-00f067aa0ba902b7-01"

static fleet_record rec(const char *key, const char *value) {
    fleet_record r = {.topic = "brainRequests", .partition = 2, .offset = 17, .timestamp_ms = 1795924995250LL};
    r.key = key;
    r.key_len = key ? strlen(key) : 0;
    r.value = value;
    r.len = value ? strlen(value) : 0;
    return r;
}

static void json_line(void **state) {
    (void)state;
    fleet_record r = rec("p-1", "{\"schema\":\"brainRequests\",\"trace_id\":\"" TRACE "\"}");
    r.headers[0] = (fleet_header){"traceparent", TP, strlen(TP)};
    r.headers[1] = (fleet_header){"bin", "\xff\x00\x01", 3};
    r.headers[2] = (fleet_header){"empty", NULL, 0};
    r.n_headers = 3;
    char *line = fleet_record_json(&r);
    cJSON *j = cJSON_Parse(line);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "topic")->valuestring, "brainRequests");
    assert_int_equal(cJSON_GetObjectItem(j, "partition")->valueint, 2);
    assert_int_equal((int64_t)cJSON_GetObjectItem(j, "offset")->valuedouble, 17);
    assert_string_equal(cJSON_GetObjectItem(j, "timestamp")->valuestring, "2026-11-29T04:03:15.250Z");
    assert_string_equal(cJSON_GetObjectItem(j, "key")->valuestring, "p-1");
    cJSON *hs = cJSON_GetObjectItem(j, "headers");
    assert_int_equal(cJSON_GetArraySize(hs), 3);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(hs, 0), "value")->valuestring, TP);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(hs, 1), "value_base64")->valuestring, "/wAB");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(hs, 2), "value")));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "value"), "schema")->valuestring, "brainRequests");
    cJSON_Delete(j);
    free(line);

    fleet_record bin = rec(NULL, NULL);
    bin.value = "\xc3\x28";
    bin.len = 2;
    line = fleet_record_json(&bin);
    j = cJSON_Parse(line);
    assert_non_null(j);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "key")));
    assert_string_equal(cJSON_GetObjectItem(j, "value_base64")->valuestring, "wyg=");
    cJSON_Delete(j);
    free(line);

    fleet_record text = rec("k", "42");
    line = fleet_record_json(&text);
    j = cJSON_Parse(line);
    assert_string_equal(cJSON_GetObjectItem(j, "value")->valuestring, "42"); /* text stays text */
    cJSON_Delete(j);
    free(line);
}

static void utf8(void **state) {
    (void)state;
    assert_true(fleet_utf8_text("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    assert_false(fleet_utf8_text("\xc0\xaf", 2));         /* overlong */
    assert_false(fleet_utf8_text("\xed\xa0\x80", 3));     /* surrogate */
    assert_false(fleet_utf8_text("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    assert_false(fleet_utf8_text("\xe2\x82", 2));         /* truncated */
    assert_false(fleet_utf8_text("a\0b", 3));
}

static void filters(void **state) {
    (void)state;
    fleet_record with_header = rec("p-1", "not json");
    with_header.headers[0] = (fleet_header){"traceparent", TP, strlen(TP)};
    with_header.n_headers = 1;
    fleet_record with_env = rec("p-2", "{\"trace_id\":\"" TRACE "\"}");
    fleet_record other = rec("p-10", "{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"}");
    fleet_record nokey = rec(NULL, "{}");

    fleet_filter any = {0};
    assert_true(fleet_filter_is_empty(&any));
    assert_true(fleet_filter_match(&any, &nokey));
    fleet_filter p1 = {.project = "p-1"};
    assert_true(fleet_filter_match(&p1, &with_header));
    assert_false(fleet_filter_match(&p1, &other)); /* "p-10" is not "p-1" */
    assert_false(fleet_filter_match(&p1, &nokey));
    fleet_filter tr = {.trace_id = TRACE};
    assert_true(fleet_filter_match(&tr, &with_header));
    assert_true(fleet_filter_match(&tr, &with_env));
    assert_false(fleet_filter_match(&tr, &other));
    assert_false(fleet_filter_match(&tr, &nokey));
    fleet_filter both = {.project = "p-2", .trace_id = TRACE};
    assert_true(fleet_filter_match(&both, &with_env));
    assert_false(fleet_filter_match(&both, &with_header));

    char err[256];
    fleet_filter bad = {.trace_id = "4BF92F3577B34DA6A3CE929D0E0E4736"};
    assert_int_equal(fleet_filter_validate(&bad, err, sizeof err), -1);
    fleet_filter zero = {.trace_id = "00000000000000000000000000000000"};
    assert_int_equal(fleet_filter_validate(&zero, err, sizeof err), -1);
    fleet_filter empty = {.project = ""};
    assert_int_equal(fleet_filter_validate(&empty, err, sizeof err), -1);
    assert_int_equal(fleet_filter_validate(&both, err, sizeof err), 0);
}

static void manifest(void **state) {
    (void)state;
    fleet_topic_spec *t;
    size_t n;
    char err[256];
    const char *ok = "# comment\n\nbrainRequests\t6\t604800000\tprompts (a -> b)\r\ndeadLetters\t3\t-1\n";
    assert_int_equal(fleet_manifest_parse(ok, &t, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(t[0].name, "brainRequests");
    assert_int_equal(t[0].partitions, 6);
    assert_int_equal(t[0].retention_ms, 604800000);
    assert_string_equal(t[0].description, "prompts (a -> b)");
    assert_int_equal(t[1].retention_ms, -1);
    free(t);
    static const char *const bad[] = {
        "a 6 100\n", "a\t0\t100\n", "a\tsix\t100\n", "a\t6\t0\n", "a\t6\t-5\n", "bad name\t6\t100\n",
        "a\t6\t100\na\t6\t100\n", "a\t6\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (fleet_manifest_parse(bad[i], &t, &n, err, sizeof err) == 0) fail_msg("manifest accepted: %s", bad[i]);
        assert_non_null(strstr(err, "line "));
    }
}

static void dlq_entries(void **state) {
    (void)state;
    const char *names[] = {"traceparent", "bin"};
    const char *values[] = {TP, "\x01\x02"};
    size_t lens[] = {strlen(TP), 2};
    bf_dlq_source src = {.topic = "t-brainRequests", .partition = 4, .offset = 99, .timestamp_ms = 1000,
                         .key = "p-1", .key_len = 3, .payload = "{bad json\xff", .len = 10,
                         .header_names = names, .header_values = values, .header_lens = lens, .n_headers = 2,
                         .traceparent = TP};
    char *msg = bf_dlq_build(&src, "p-1", "brain-worker", "brain-worker", "invalid_json", "unexpected end", 2000, NULL);
    fleet_dlq_entry e;
    char err[256];
    assert_int_equal(fleet_dlq_entry_parse(msg, strlen(msg), &e, err, sizeof err), 0);
    assert_string_equal(e.reason_code, "invalid_json");
    assert_string_equal(e.reason_message, "unexpected end");
    assert_string_equal(e.topic, "t-brainRequests");
    assert_int_equal(e.partition, 4);
    assert_int_equal(e.offset, 99);
    assert_int_equal(e.timestamp_ms, 1000);
    assert_int_equal(e.failed_at_ms, 2000);
    assert_string_equal(e.trace_id, TRACE);
    assert_int_equal(e.key_len, 3);
    assert_memory_equal(e.key, "p-1", 3);
    assert_int_equal(e.len, 10);
    assert_memory_equal(e.payload, "{bad json\xff", 10);
    assert_int_equal(e.n_headers, 2);
    assert_string_equal(e.headers[1].name, "bin");
    assert_memory_equal(e.headers[1].value, "\x01\x02", 2);
    fleet_record r;
    fleet_dlq_entry_original(&e, &r);
    assert_int_equal(r.len, 10);
    assert_int_equal(r.n_headers, 2);
    fleet_dlq_entry_free(&e);
    free(msg);

    assert_int_equal(fleet_dlq_entry_parse("{}", 2, &e, err, sizeof err), -1);
    assert_int_equal(fleet_dlq_entry_parse("nope", 4, &e, err, sizeof err), -1);
    const char *badb64 = "{\"payload\":{\"source\":{\"topic\":\"x\"},\"original_payload\":\"!!\"}}";
    assert_int_equal(fleet_dlq_entry_parse(badb64, strlen(badb64), &e, err, sizeof err), -1);
    assert_non_null(strstr(err, "original_payload"));

    int32_t p;
    int64_t o;
    assert_int_equal(fleet_dlq_ref_parse("2:15", &p, &o, err, sizeof err), 0);
    assert_int_equal(p, 2);
    assert_int_equal(o, 15);
    static const char *const refs[] = {"15", ":15", "2:", "a:1", "1:b", "-1:3", "1:2:3"};
    for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
        if (fleet_dlq_ref_parse(refs[i], &p, &o, err, sizeof err) == 0) fail_msg("ref '%s' accepted", refs[i]);
}

static void progress(void **state) {
    (void)state;
    char buf[256];
    fleet_progress_render(buf, sizeof buf, "replay", 50, 200, 3, 8);
    assert_string_equal(buf, "replay [##......]  25% 50/200 (3 matched)");
    fleet_progress_render(buf, sizeof buf, "replay", 250, 200, 3, 4);
    assert_string_equal(buf, "replay [####] 100% 250/200 (3 matched)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_line), cmocka_unit_test(utf8),        cmocka_unit_test(filters),
        cmocka_unit_test(manifest),  cmocka_unit_test(dlq_entries), cmocka_unit_test(progress),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
