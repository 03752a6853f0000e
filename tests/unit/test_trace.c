/* traceparent generation, validation and child spans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bf_rng.h"
#include "bf_trace.h"

static void test_new_and_child(void **state) {
    (void)state;
    char a[BF_TRACEPARENT_LEN + 1], b[BF_TRACEPARENT_LEN + 1], ta[33], tb[33];
    bf_trace_new(a);
    assert_int_equal(strlen(a), BF_TRACEPARENT_LEN);
    assert_int_equal(bf_trace_parse(a, ta), 0);
    bf_trace_child(a, b);
    assert_int_equal(bf_trace_parse(b, tb), 0);
    assert_string_equal(ta, tb);               /* same trace */
    assert_memory_not_equal(a + 36, b + 36, 16); /* new span */
    char c[BF_TRACEPARENT_LEN + 1];
    bf_trace_new(c);
    assert_memory_not_equal(a + 3, c + 3, 32);
}

static void test_parse_rejects(void **state) {
    (void)state;
    char t[33] = "unchanged";
    assert_int_equal(bf_trace_parse("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", t), 0);
    assert_string_equal(t, "0af7651916cd43dd8448eb211c80319c");
    const char *bad[] = {
        "", "garbage", "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011",
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (bf_trace_parse(bad[i], NULL) == 0) fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(bf_trace_parse(NULL, NULL), -1);
    /* A child of garbage starts a new valid trace rather than propagating garbage. */
    char c[BF_TRACEPARENT_LEN + 1];
    bf_trace_child("garbage", c);
    assert_int_equal(bf_trace_parse(c, NULL), 0);
}

/* The seeded variants keep the trace id, make valid new spans and differ call to call. */
static void test_rng_variants(void **state) {
    (void)state;
    bf_rng rng;
    bf_rng_seed(&rng, 42);
    char a[BF_TRACEPARENT_LEN + 1], b[BF_TRACEPARENT_LEN + 1], c[BF_TRACEPARENT_LEN + 1], ta[33], tb[33];
    bf_trace_new_rng(&rng, a);
    assert_int_equal(bf_trace_parse(a, ta), 0);
    bf_trace_child_rng(a, &rng, b);
    bf_trace_child_rng(a, &rng, c);
    assert_int_equal(bf_trace_parse(b, tb), 0);
    assert_string_equal(ta, tb);
    assert_memory_not_equal(b + 36, c + 36, 16);
    bf_trace_child_rng("garbage", &rng, c);
    assert_int_equal(bf_trace_parse(c, NULL), 0);
    /* The text byte for byte (splitmix64 from seed 42), and a child keeps its parent's flags. */
    bf_rng_seed(&rng, 42);
    bf_trace_new_rng(&rng, a);
    assert_string_equal(a, "00-bdd732262feb6e9528efe333b266f103-47526757130f9f52-01");
    bf_trace_child_rng("00-bdd732262feb6e9528efe333b266f103-47526757130f9f52-00", &rng, b);
    assert_string_equal(b, "00-bdd732262feb6e9528efe333b266f103-581ce1ff0e4ae394-00");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_new_and_child), cmocka_unit_test(test_parse_rejects),
                                       cmocka_unit_test(test_rng_variants)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
