/* The dead-letter message keeps the reason, the source coordinates and the exact original bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "bf_dlq.h"
#include "bf_msg_dead_letter.h"
#include "bf_publish.h"

static cJSON *obj(cJSON *o, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) fail_msg("missing %s", k);
    return v;
}

static void test_dead_letter_fields(void **state) {
    (void)state;
    /* Invalid UTF-8 and a NUL inside: the original must survive byte for byte. */
    static const char original[] = {'{', '"', (char)0xff, 0, 'x', '"'};
    const char *names[] = {"traceparent", "bf-schema-version"};
    const char *values[] = {"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "1"};
    size_t lens[] = {55, 1};
    bf_dlq_source src = {.topic = "brainRequests", .partition = 3, .offset = 1234, .timestamp_ms = 1700000000000,
                         .key = "project-1", .key_len = 9, .payload = original, .len = sizeof original,
                         .header_names = names, .header_values = values, .header_lens = lens, .n_headers = 2,
                         .traceparent = values[0]};
    char *json = bf_dlq_build(&src, "project-1", "brain-worker", "brain-worker", "invalid_json", "payload is not JSON", 1700000001000, NULL);
    assert_non_null(json);
    cJSON *env = cJSON_Parse(json);
    assert_non_null(env);
    assert_string_equal(obj(env, "schema")->valuestring, "deadLetters");
    assert_string_equal(obj(env, "project_id")->valuestring, "project-1");
    assert_string_equal(obj(env, "trace_id")->valuestring, "0af7651916cd43dd8448eb211c80319c");
    cJSON *p = obj(env, "payload");
    assert_string_equal(obj(obj(p, "reason"), "code")->valuestring, "invalid_json");
    assert_string_equal(obj(obj(p, "reason"), "message")->valuestring, "payload is not JSON");
    cJSON *s = obj(p, "source");
    assert_string_equal(obj(s, "topic")->valuestring, "brainRequests");
    assert_int_equal(obj(s, "partition")->valueint, 3);
    assert_int_equal((long long)obj(s, "offset")->valuedouble, 1234);
    size_t n = 0;
    unsigned char *raw = bf_base64_decode(obj(p, "original_payload")->valuestring, &n);
    assert_non_null(raw);
    assert_int_equal(n, sizeof original);
    assert_memory_equal(raw, original, n);
    free(raw);
    cJSON *h = obj(p, "original_headers");
    assert_int_equal(cJSON_GetArraySize(h), 2);
    assert_string_equal(obj(cJSON_GetArrayItem(h, 1), "name")->valuestring, "bf-schema-version");
    cJSON_Delete(env);
    free(json);
}

/* A key that is not a usable project id still yields a valid envelope. */
static void test_binary_key(void **state) {
    (void)state;
    bf_dlq_source src = {.topic = "t", .partition = 0, .offset = 0, .timestamp_ms = -1, .key = "\0\xff", .key_len = 2,
                         .payload = NULL, .len = 0};
    char project[BF_ID_MAX + 1];
    bf_publish_dead_letter_project(src.key, src.key_len, src.payload, src.len, project);
    char *json = bf_dlq_build(&src, project, "g", "w", "invalid_key", "bad key", 0, NULL);
    cJSON *env = cJSON_Parse(json);
    assert_non_null(env);
    assert_string_equal(obj(env, "project_id")->valuestring, "unknown");
    assert_true(cJSON_IsNull(obj(obj(env, "payload"), "original_payload")));
    cJSON_Delete(env);
    free(json);
}

static void test_base64_round_trip_and_rejects(void **state) {
    (void)state;
    for (size_t len = 0; len < 40; len++) {
        unsigned char in[40] = {0};
        for (size_t i = 0; i < len; i++) in[i] = (unsigned char)(i * 37 + len);
        char *enc = bf_base64_encode(in, len);
        size_t n = 99;
        unsigned char *dec = bf_base64_decode(enc, &n);
        assert_non_null(dec);
        assert_int_equal(n, len);
        if (len) assert_memory_equal(dec, in, len);
        free(enc);
        free(dec);
    }
    size_t n;
    char *foobar = bf_base64_encode("foobar", 6);
    assert_string_equal(foobar, "Zm9vYmFy");
    free(foobar);
    assert_null(bf_base64_decode("Zm9", &n));      /* length not a multiple of 4 */
    assert_null(bf_base64_decode("Zm9v!mFy", &n)); /* bad character */
    assert_null(bf_base64_decode("Z=9v", &n));     /* padding in the middle */
}

/* What the runtime sends is what the deadLetters contract accepts, even for an original larger
 * than the contract allows (cut, and said so). */
static void test_decodes_with_contract_and_truncates(void **state) {
    (void)state;
    size_t big_len = BF_DLQ_ORIGINAL_MAX + 100; /* above the contract's bound, and so above the kept part */
    char *big = malloc(big_len);
    memset(big, 'x', big_len);
    bf_dlq_source src = {.topic = "imageFactsReady", .partition = 1, .offset = 9, .timestamp_ms = -1, .key = "p-9",
                         .key_len = 3, .payload = big, .len = big_len};
    char *json = bf_dlq_build(&src, "p-9", "memory-writer", "memory-writer", "oversized", "message too large", 1700000000000, NULL);
    assert_non_null(json);
    bf_msg_dead_letter d;
    char err[256] = "";
    if (bf_msg_dead_letter_decode(json, strlen(json), &d, err, sizeof err) != 0) fail_msg("decode: %s", err);
    assert_string_equal(d.reason_code, "oversized");
    assert_non_null(strstr(d.reason_message, "truncated"));
    assert_int_equal(d.original_payload_len, BF_DLQ_KEEP_MAX);
    assert_true(strlen(json) < 1000000); /* under Kafka's default message size limit */
    assert_string_equal(d.topic, "imageFactsReady");
    assert_int_equal(d.offset, 9);
    assert_string_equal(d.env.project_id, "p-9");
    bf_msg_dead_letter_free(&d);
    free(json);
    free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dead_letter_fields),
        cmocka_unit_test(test_binary_key),
        cmocka_unit_test(test_base64_round_trip_and_rejects),
        cmocka_unit_test(test_decodes_with_contract_and_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
