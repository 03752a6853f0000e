/* The confidence merge rule (memory_confidence.h): reinforcement, contradiction, explicit over
 * inferred. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "memory_confidence.h"

#define EPS 1e-12

static memory_belief inferred(double c) { return (memory_belief){.confidence = c, .is_explicit = false}; }
static memory_belief stated(double c) { return (memory_belief){.confidence = c, .is_explicit = true}; }

static void test_repeated_evidence_approaches_one(void **state) {
    (void)state;
    memory_belief b = inferred(0.2);
    double prev = b.confidence;
    for (int i = 0; i < 50; i++) {
        memory_merge_result r = memory_confidence_merge(b, 0.2, false, true);
        assert_false(r.take_value);
        assert_true(r.belief.confidence > prev || r.belief.confidence == 1.0);
        assert_true(r.belief.confidence <= 1.0);
        prev = r.belief.confidence;
        b = r.belief;
    }
    assert_true(b.confidence > 0.99);
    memory_merge_result r = memory_confidence_merge(inferred(0.5), 0.2, false, true);
    assert_float_equal(r.belief.confidence, 0.6, EPS); /* 0.5 + 0.5 * 0.2 */
}

static void test_contradiction_weakens_then_replaces(void **state) {
    (void)state;
    memory_merge_result r = memory_confidence_merge(inferred(0.9), 0.2, false, false);
    assert_false(r.take_value);
    assert_float_equal(r.belief.confidence, 0.72, EPS); /* 0.9 * 0.8 >= 0.2: weakened, kept */
    r = memory_confidence_merge(inferred(0.2), 0.2, false, false);
    assert_true(r.take_value); /* 0.16 < 0.2: the new value wins */
    assert_float_equal(r.belief.confidence, 0.2, EPS);
    assert_false(r.belief.is_explicit);
}

static void test_inferred_never_overwrites_explicit(void **state) {
    (void)state;
    for (int same = 0; same < 2; same++) {
        memory_merge_result r = memory_confidence_merge(stated(0.3), 1.0, false, same);
        assert_false(r.take_value);
        assert_true(r.belief.is_explicit);
        assert_float_equal(r.belief.confidence, 0.3, EPS);
    }
}

static void test_explicit_outranks_inferred(void **state) {
    (void)state;
    memory_merge_result r = memory_confidence_merge(inferred(0.99), 0.6, true, false);
    assert_true(r.take_value);
    assert_true(r.belief.is_explicit);
    assert_float_equal(r.belief.confidence, 0.6, EPS);
    r = memory_confidence_merge(inferred(0.5), 0.6, true, true);
    assert_false(r.take_value);
    assert_true(r.belief.is_explicit);
    assert_float_equal(r.belief.confidence, 0.8, EPS);
}

static void test_newer_explicit_replaces_explicit(void **state) {
    (void)state;
    memory_merge_result r = memory_confidence_merge(stated(1.0), 0.9, true, false);
    assert_true(r.take_value);
    assert_float_equal(r.belief.confidence, 0.9, EPS);
}

static void test_out_of_range_is_clamped(void **state) {
    (void)state;
    memory_merge_result r = memory_confidence_merge(inferred(1.7), -3, false, true);
    assert_float_equal(r.belief.confidence, 1.0, EPS);
    r = memory_confidence_merge(inferred(0.5), 2.0, false, true);
    assert_float_equal(r.belief.confidence, 1.0, EPS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeated_evidence_approaches_one),
        cmocka_unit_test(test_contradiction_weakens_then_replaces),
        cmocka_unit_test(test_inferred_never_overwrites_explicit),
        cmocka_unit_test(test_explicit_outranks_inferred),
        cmocka_unit_test(test_newer_explicit_replaces_explicit),
        cmocka_unit_test(test_out_of_range_is_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
