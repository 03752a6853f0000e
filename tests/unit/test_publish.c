/* The publish rules shared by the runtime and the fake runtime: which trace an input continues
 * (its header's, else its envelope's: an editor producing with kcat sends no headers), which span
 * an output descends from, and which project a dead letter is filed under (never raw key bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bf_publish.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
#define ENV_TRACE "0af7651916cd43dd8448eb211c80319c"

static const char request[] =
    "{\"schema\":\"brainRequests\",\"schema_version\":1,\"event_id\":\"01907f3a-5b2c-7d1e-9f0a-1b2c3d4e5f60\","
    "\"trace_id\":\"" ENV_TRACE "\",\"project_id\":\"proj-42\",\"produced_at_ms\":1718000000000,"
    "\"producer\":\"editor\",\"payload\":{\"request_id\":\"0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a6b\","
    "\"prompt\":\"hi\",\"image_urls\":[]}}";

static void input_trace_prefers_the_header(void **state) {
    (void)state;
    bf_rng rng;
    bf_rng_seed(&rng, 1);
    char out[BF_TRACEPARENT_LEN + 1];
    bf_publish_input_trace(TP, request, strlen(request), &rng, out);
    assert_string_equal(out, TP);
}

static void input_without_header_continues_the_envelope_trace(void **state) {
    (void)state;
    bf_rng rng;
    bf_rng_seed(&rng, 1);
    char out[BF_TRACEPARENT_LEN + 1], trace[BF_TRACE_ID_LEN + 1];
    bf_publish_input_trace(NULL, request, strlen(request), &rng, out);
    assert_int_equal(bf_trace_parse(out, trace), 0);
    assert_string_equal(trace, ENV_TRACE);
    /* An invalid header is no header. */
    bf_publish_input_trace("00-zz-bad", request, strlen(request), &rng, out);
    assert_int_equal(bf_trace_parse(out, trace), 0);
    assert_string_equal(trace, ENV_TRACE);
}

/* Only the top-level trace_id counts, however the object is laid out; anything malformed starts a
 * new trace instead of reading garbage. */
static void envelope_scan_is_top_level_and_strict(void **state) {
    (void)state;
    bf_rng rng;
    bf_rng_seed(&rng, 3);
    char out[BF_TRACEPARENT_LEN + 1], trace[BF_TRACE_ID_LEN + 1];
    static const char nested_first[] =
        "{ \"payload\" : {\"trace_id\":\"9a3c1f0e5b7d4e2f8a6b0c1d2e3f4a5b\",\"x\":[1,{\"y\":\"}\\\"\"}]},"
        "\"n\":-1.5e3,\"ok\":true,\"trace_id\" : \"" ENV_TRACE "\"}";
    bf_publish_input_trace(NULL, nested_first, strlen(nested_first), &rng, out);
    assert_int_equal(bf_trace_parse(out, trace), 0);
    assert_string_equal(trace, ENV_TRACE);
    const char *bad[] = {
        "{\"trace_id\":\"0af7651916cd43dd8448eb211c80319\"}",       /* 31 digits */
        "{\"trace_id\":\"0AF7651916CD43DD8448EB211C80319C\"}",      /* upper case */
        "{\"trace_id\":12}",
        "{\"payload\":{\"trace_id\":\"" ENV_TRACE "\"}}",          /* nested only */
        "{\"a\":\"unterminated",
        "[\"trace_id\",\"" ENV_TRACE "\"]",
        "{\"a\" \"trace_id\":\"" ENV_TRACE "\"}",                    /* missing colon */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bf_publish_input_trace(NULL, bad[i], strlen(bad[i]), &rng, out);
        assert_int_equal(bf_trace_parse(out, trace), 0);
        if (strcmp(trace, ENV_TRACE) == 0) fail_msg("case %zu continued a trace it should not: %s", i, bad[i]);
    }
    /* A cut-off copy of a good envelope, at every length: never a crash, never a read past it. */
    for (size_t n = 0; n < strlen(request); n++) {
        char *copy = malloc(n ? n : 1);
        memcpy(copy, request, n);
        bf_publish_input_trace(NULL, copy, n, &rng, out);
        assert_int_equal(bf_trace_parse(out, NULL), 0);
        free(copy);
    }
}

static void input_without_any_trace_starts_one(void **state) {
    (void)state;
    bf_rng rng;
    bf_rng_seed(&rng, 1);
    char a[BF_TRACEPARENT_LEN + 1], b[BF_TRACEPARENT_LEN + 1], ta[33], tb[33];
    bf_publish_input_trace(NULL, "not json", 8, &rng, a);
    bf_publish_input_trace(NULL, NULL, 0, &rng, b);
    assert_int_equal(bf_trace_parse(a, ta), 0);
    assert_int_equal(bf_trace_parse(b, tb), 0);
    assert_string_not_equal(ta, tb);
    assert_string_not_equal(ta, ENV_TRACE);
}

static void output_is_a_child_in_the_same_trace_else_a_new_span(void **state) {
    (void)state;
    bf_rng rng;
    bf_rng_seed(&rng, 7);
    char out[BF_TRACEPARENT_LEN + 1], trace[BF_TRACE_ID_LEN + 1];
    bf_publish_output_trace(TP, "4bf92f3577b34da6a3ce929d0e0e4736", &rng, out);
    assert_int_equal(bf_trace_parse(out, trace), 0);
    assert_string_equal(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_memory_not_equal(out + 36, TP + 36, 16); /* a new span id */
    /* Another request's trace: the envelope's trace wins, the cause's is not inherited. */
    bf_publish_output_trace(TP, ENV_TRACE, &rng, out);
    assert_int_equal(bf_trace_parse(out, trace), 0);
    assert_string_equal(trace, ENV_TRACE);
    /* No cause. */
    bf_publish_output_trace(NULL, ENV_TRACE, &rng, out);
    assert_int_equal(bf_trace_parse(out, trace), 0);
    assert_string_equal(trace, ENV_TRACE);
}

static void dead_letter_project(void **state) {
    (void)state;
    char p[BF_ID_MAX + 1];
    /* The envelope names it, whatever the key says. */
    bf_publish_dead_letter_project("other", 5, request, strlen(request), p);
    assert_string_equal(p, "proj-42");
    /* Unparseable payload, usable key. */
    bf_publish_dead_letter_project("p-7", 3, "{oops", 5, p);
    assert_string_equal(p, "p-7");
    /* An injection attempt as key and no envelope: never the raw bytes. */
    const char *evil = "x'); DROP TABLE messages;--";
    bf_publish_dead_letter_project(evil, strlen(evil), "garbage", 7, p);
    assert_string_equal(p, "unknown");
    bf_publish_dead_letter_project("\0\xff", 2, NULL, 0, p);
    assert_string_equal(p, "unknown");
    bf_publish_dead_letter_project(NULL, 0, NULL, 0, p);
    assert_string_equal(p, "unknown");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(input_trace_prefers_the_header),
        cmocka_unit_test(input_without_header_continues_the_envelope_trace),
        cmocka_unit_test(envelope_scan_is_top_level_and_strict),
        cmocka_unit_test(input_without_any_trace_starts_one),
        cmocka_unit_test(output_is_a_child_in_the_same_trace_else_a_new_span),
        cmocka_unit_test(dead_letter_project),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
