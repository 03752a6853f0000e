/* The envelope and the bounded parse underneath every decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_envelope.h"
#include "bf_json_check.h"

static void test_init_encode_decode(void **state) {
    (void)state;
    char err[256], tp[BF_TRACEPARENT_LEN + 1], trace[33], hdr[12];
    bf_envelope env, back;
    bf_trace_new(tp);
    bf_trace_parse(tp, trace);
    assert_int_equal(bf_envelope_init(&env, BF_SCHEMA_MEMORY_UPDATES, "proj-1", tp, "memory-writer", 1718000000123,
                                      err, sizeof err), 0);
    assert_string_equal(env.trace_id, trace);
    assert_true(bf_uuid_v7_valid(env.event_id));
    assert_string_equal(bf_envelope_version_header(&env, hdr), "1");
    cJSON *payload = cJSON_Parse("{\"a\":[1,2]}");
    char *json = bf_envelope_encode(&env, payload, err, sizeof err);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"payload\":{\"a\":[1,2]}"));
    assert_non_null(strstr(json, "\"produced_at_ms\":1718000000123"));
    /* Borrowed: the payload is still ours and intact. */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(payload, "a")), 2);
    cJSON_Delete(payload);

    const cJSON *p;
    cJSON *root = bf_envelope_decode(json, strlen(json), BF_SCHEMA_MEMORY_UPDATES, &back, &p, err, sizeof err);
    assert_non_null(root);
    assert_memory_equal(&env, &back, sizeof env);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(p, "a")));
    cJSON_Delete(root);

    assert_null(bf_envelope_decode(json, strlen(json), BF_SCHEMA_BRAIN_REQUESTS, &back, &p, err, sizeof err));
    assert_string_equal(err, "schema: expected brainRequests");
    assert_int_equal(bf_envelope_peek(json, strlen(json), &back, err, sizeof err), 0);
    assert_string_equal(back.schema, BF_SCHEMA_MEMORY_UPDATES);
    free(json);
}

static void test_init_rejects(void **state) {
    (void)state;
    char err[256], longid[300];
    bf_envelope env;
    assert_int_equal(bf_envelope_init(&env, "nope", "p", NULL, "w", 0, err, sizeof err), -1);
    assert_string_equal(err, "schema: not a known schema name");
    assert_int_equal(bf_envelope_init(&env, BF_SCHEMA_DEAD_LETTERS, "p q", NULL, "w", 0, err, sizeof err), -1);
    assert_string_equal(strstr(err, "project_id") ? "ok" : err, "ok");
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_int_equal(bf_envelope_init(&env, BF_SCHEMA_DEAD_LETTERS, longid, NULL, "w", 0, err, sizeof err), -1);
    assert_int_equal(bf_envelope_init(&env, BF_SCHEMA_DEAD_LETTERS, "p", NULL, "Brain_Worker", 0, err, sizeof err), -1);
    assert_string_equal(strstr(err, "producer") ? "ok" : err, "ok");
    /* An invalid traceparent gets a fresh trace rather than failing: inputs from outside may lack one. */
    assert_int_equal(bf_envelope_init(&env, BF_SCHEMA_DEAD_LETTERS, "p", "garbage", "w", 0, err, sizeof err), 0);
    assert_true(bf_trace_id_valid(env.trace_id));
    /* In a known trace: that trace id, checked like the rest. */
    const char *trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    assert_int_equal(bf_envelope_init_in_trace(&env, BF_SCHEMA_DEAD_LETTERS, "p", trace, "w", 7, err, sizeof err), 0);
    assert_string_equal(env.trace_id, trace);
    assert_true(bf_uuid_v7_valid(env.event_id));
    assert_int_equal(env.produced_at_ms, 7);
    assert_int_equal(bf_envelope_init_in_trace(&env, BF_SCHEMA_DEAD_LETTERS, "p", "00000000000000000000000000000000",
                                               "w", 7, err, sizeof err),
                     -1);
    assert_string_equal(strstr(err, "trace_id") ? "ok" : err, "ok");
    assert_int_equal(bf_envelope_init_in_trace(&env, BF_SCHEMA_DEAD_LETTERS, "p", NULL, "w", 7, err, sizeof err), -1);
    assert_int_equal(bf_envelope_init_in_trace(&env, BF_SCHEMA_DEAD_LETTERS, longid, trace, "w", 7, err, sizeof err),
                     -1);
}

static void test_not_nul_terminated(void **state) {
    (void)state;
    char err[256];
    bf_envelope env;
    assert_int_equal(bf_envelope_init(&env, BF_SCHEMA_BRAIN_REQUESTS, "p", NULL, "w", 1, err, sizeof err), 0);
    cJSON *payload = cJSON_CreateObject();
    char *json = bf_envelope_encode(&env, payload, err, sizeof err);
    cJSON_Delete(payload);
    size_t n = strlen(json);
    char *exact = malloc(n + 8);
    memcpy(exact, json, n);
    memcpy(exact + n, "garbage!", 8); /* whatever follows len must not be read */
    assert_int_equal(bf_envelope_peek(exact, n, &env, err, sizeof err), 0);
    assert_int_equal(bf_envelope_peek(exact, n + 8, &env, err, sizeof err), -1);
    assert_string_equal(strncmp(err, "trailing bytes", 14) == 0 ? "ok" : err, "ok");
    free(exact);
    free(json);
}

static void expect_parse_error(const char *bytes, size_t len, const char *prefix) {
    char err[256];
    cJSON *j = bf_json_parse(bytes, len, 1024, 32, err, sizeof err);
    if (j) fail_msg("accepted %.*s", (int)len, bytes);
    if (strncmp(err, prefix, strlen(prefix)) != 0) fail_msg("error \"%s\", expected \"%s\"", err, prefix);
}

static void test_parse_bounds(void **state) {
    (void)state;
    char deep[200], err[256];
    size_t n = 0;
    for (int i = 0; i < 32; i++) deep[n++] = '[';
    for (int i = 0; i < 32; i++) deep[n++] = ']';
    cJSON *j = bf_json_parse(deep, n, 1024, 32, err, sizeof err);
    assert_non_null(j); /* exactly the bound is fine */
    cJSON_Delete(j);
    n = 0;
    for (int i = 0; i < 33; i++) deep[n++] = '{', deep[n++] = '"', deep[n++] = 'a', deep[n++] = '"', deep[n++] = ':';
    expect_parse_error(deep, n, "nesting deeper than 32");
    /* Brackets inside strings are text, not nesting. */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
    j = bf_json_parse(s, strlen(s), 1024, 32, err, sizeof err);
    assert_non_null(j);
    cJSON_Delete(j);
    expect_parse_error("{\"a\":\"\xc0\xaf\"}", 10, "invalid UTF-8 at offset 6");   /* overlong '/' */
    expect_parse_error("{\"a\":\"\xed\xa0\x80\"}", 11, "invalid UTF-8");          /* surrogate */
    expect_parse_error("{\"a\":\"\xf4\x90\x80\x80\"}", 12, "invalid UTF-8");      /* > U+10FFFF */
    expect_parse_error("{\"a\":\"\xe2\x82\"}", 10, "invalid UTF-8");              /* truncated */
    expect_parse_error("{\"a\":\"x\0y\"}", 10, "NUL byte at offset 7");
    expect_parse_error("{\"a\":\"x\\u0000\"}", 14, "\\u0000 escape");
    expect_parse_error("{\"a\":1,\"a\":2}", 13, "duplicate key \"a\"");
    expect_parse_error("{\"b\":{\"a\":1,\"a\":2}}", 19, "duplicate key \"a\"");
    /* Both ways of looking: up to 16 keys pairwise, more sorted; first and last key equal. */
    for (int keys = 16; keys <= 17; keys++) {
        char obj[256];
        size_t o = 0;
        obj[o++] = '{';
        for (int k = 0; k < keys; k++)
            o += (size_t)snprintf(obj + o, sizeof obj - o, "%s\"k%d\":%d", k ? "," : "", k == keys - 1 ? 0 : k, k);
        obj[o++] = '}';
        expect_parse_error(obj, o, "duplicate key \"k0\"");
        o = (size_t)snprintf(obj, sizeof obj, "{");
        for (int k = 0; k < keys; k++) o += (size_t)snprintf(obj + o, sizeof obj - o, "%s\"k%d\":%d", k ? "," : "", k, k);
        o += (size_t)snprintf(obj + o, sizeof obj - o, "}");
        j = bf_json_parse(obj, o, 1024, 32, err, sizeof err);
        assert_non_null(j);
        cJSON_Delete(j);
    }
    expect_parse_error("", 0, "empty message");
    expect_parse_error("{}", 2000, "message of 2000 bytes is above the limit of 1024");
    expect_parse_error("{\"a\":\"\\ud800\"}", 14, "not valid JSON"); /* lone surrogate escape */
    expect_parse_error("{} x", 4, "trailing bytes");
    assert_true(bf_utf8_valid("\xf0\x9f\x8e\xac", 4));
    assert_false(bf_utf8_valid("\xf0\x9f\x8e", 3));
}

static void test_path_tracking(void **state) {
    (void)state;
    char err[256];
    bf_jc c;
    bf_jc_init(&c, err, sizeof err);
    size_t a = bf_jc_push_key(&c, "payload");
    size_t b = bf_jc_push_key(&c, "palette");
    size_t i = bf_jc_push_index(&c, 2);
    cJSON *o = cJSON_Parse("{\"hex\":\"#12345g\"}");
    char hex[8];
    assert_int_equal(bf_jc_colour(&c, o, "hex", true, hex), -1);
    assert_string_equal(err, "payload.palette[2].hex: not a #RRGGBB colour");
    /* First failure wins; later ones are no-ops. */
    assert_int_equal(bf_jc_fail(&c, "later"), -1);
    assert_string_equal(err, "payload.palette[2].hex: not a #RRGGBB colour");
    bf_jc_pop(&c, i);
    bf_jc_pop(&c, b);
    bf_jc_pop(&c, a);
    assert_string_equal(c.path, "");
    cJSON_Delete(o);
    /* A path longer than its buffer is cut at the end, and popping still restores it. */
    char key[100];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    size_t m1 = bf_jc_push_key(&c, key), m2 = bf_jc_push_key(&c, key), m3 = bf_jc_push_index(&c, 123456789);
    size_t m4 = bf_jc_push_key(&c, key);
    assert_int_equal(c.len, BF_JC_PATH_MAX - 1);
    assert_int_equal(strlen(c.path), BF_JC_PATH_MAX - 1);
    assert_memory_equal(c.path + 2 * 99 + 1, "[123456789].kkk", 15);
    bf_jc_pop(&c, m4);
    bf_jc_pop(&c, m3);
    assert_int_equal(strlen(c.path), 2 * 99 + 1);
    bf_jc_pop(&c, m2);
    bf_jc_pop(&c, m1);
    assert_string_equal(c.path, "");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_encode_decode), cmocka_unit_test(test_init_rejects),
        cmocka_unit_test(test_not_nul_terminated), cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_path_tracking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
