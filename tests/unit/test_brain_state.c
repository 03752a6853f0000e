/* The brain's in-memory state: per-project ordering queues and the late-facts table (one
 * enrichment per waiting image, tombstones against redelivery, TTL and size bounds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "brain_late_facts.h"
#include "brain_order.h"

static void test_order(void **state) {
    (void)state;
    brain_order *o = brain_order_new();
    int a1, a2, a3, b1;
    assert_int_equal(brain_order_push(o, "a", &a1), 1);
    assert_int_equal(brain_order_push(o, "a", &a2), 0);
    assert_int_equal(brain_order_push(o, "b", &b1), 1);
    assert_int_equal(brain_order_push(o, "a", &a3), 0);
    assert_int_equal(brain_order_waiting(o), 2);
    assert_ptr_equal(brain_order_done(o, "a"), &a2);
    assert_ptr_equal(brain_order_done(o, "a"), &a3);
    assert_null(brain_order_done(o, "b"));
    assert_null(brain_order_done(o, "a"));
    assert_int_equal(brain_order_active_keys(o), 0);
    assert_int_equal(brain_order_push(o, "a", &a1), 1); /* idle again */
    for (int i = 0; i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "p%d", i);
        assert_int_equal(brain_order_push(o, k, &a1), 1);
    }
    brain_order_free(o);
}

static void test_late_facts(void **state) {
    (void)state;
    brain_late_facts *lf = brain_late_facts_new(3, 1000);
    int job;
    void *j;
    assert_int_equal(brain_late_facts_expect(lf, "t1", "r1", &job, 0), 0);
    assert_int_equal(brain_late_facts_expect(lf, "t2", "r1", &job, 0), 0);
    /* t1 before the decision: the job gets it. */
    assert_int_equal(brain_late_facts_arrived(lf, "t1", 10, &j), BRAIN_LATE_UNDECIDED);
    assert_ptr_equal(j, &job);
    assert_int_equal(brain_late_facts_arrived(lf, "t1", 11, &j), BRAIN_LATE_DUPLICATE);
    brain_late_facts_decided(lf, "t1");
    brain_late_facts_decided(lf, "t2");
    assert_int_equal(brain_late_facts_arrived(lf, "t2", 20, &j), BRAIN_LATE_ENRICH);
    assert_null(j);
    assert_int_equal(brain_late_facts_arrived(lf, "t2", 21, &j), BRAIN_LATE_DUPLICATE);
    assert_int_equal(brain_late_facts_arrived(lf, "t9", 21, &j), BRAIN_LATE_UNKNOWN);
    /* Size bound: the oldest goes first. */
    assert_int_equal(brain_late_facts_expect(lf, "t3", "r2", &job, 100), 0);
    assert_int_equal(brain_late_facts_expect(lf, "t4", "r2", &job, 100), 0);
    assert_int_equal(brain_late_facts_count(lf), 3);
    assert_int_equal(brain_late_facts_arrived(lf, "t1", 101, &j), BRAIN_LATE_UNKNOWN);
    /* TTL. */
    assert_int_equal(brain_late_facts_expire(lf, 1050), 1); /* t2 (inserted at 0) */
    brain_late_facts_decided(lf, "t3");
    assert_int_equal(brain_late_facts_arrived(lf, "t3", 1200, &j), BRAIN_LATE_UNKNOWN); /* expired */
    assert_int_equal(brain_late_facts_expire(lf, 2000), 2);
    assert_int_equal(brain_late_facts_count(lf), 0);
    brain_late_facts_free(lf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_late_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
