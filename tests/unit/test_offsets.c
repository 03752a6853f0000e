/* The offset tracker never lets the stored offset pass an unfinished message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bf_offsets.h"

static void test_out_of_order_finish(void **state) {
    (void)state;
    bf_offsets *t = bf_offsets_new();
    for (int64_t o = 10; o < 15; o++) assert_int_equal(bf_offsets_begin(t, "a", 0, o), 0);
    assert_int_equal(bf_offsets_in_flight(t), 5);
    assert_int_equal(bf_offsets_finish(t, "a", 0, 12), -1); /* 10, 11 still running */
    assert_int_equal(bf_offsets_finish(t, "a", 0, 11), -1);
    assert_int_equal(bf_offsets_lowest(t, "a", 0), 10);
    assert_int_equal(bf_offsets_finish(t, "a", 0, 10), 13); /* 10..12 done: store 13 */
    assert_int_equal(bf_offsets_finish(t, "a", 0, 14), -1);
    assert_int_equal(bf_offsets_finish(t, "a", 0, 13), 15);
    assert_int_equal(bf_offsets_in_flight(t), 0);
    assert_int_equal(bf_offsets_finish(t, "a", 0, 13), -1); /* twice: ignored */
    bf_offsets_free(t);
}

static void test_partitions_are_independent(void **state) {
    (void)state;
    bf_offsets *t = bf_offsets_new();
    bf_offsets_begin(t, "a", 0, 5);
    bf_offsets_begin(t, "a", 1, 7);
    bf_offsets_begin(t, "b", 0, 100);
    assert_int_equal(bf_offsets_finish(t, "a", 1, 7), 8);
    assert_int_equal(bf_offsets_finish(t, "b", 0, 100), 101);
    assert_int_equal(bf_offsets_lowest(t, "a", 0), 5);
    bf_offsets_free(t);
}

static void test_forget_revoked(void **state) {
    (void)state;
    bf_offsets *t = bf_offsets_new();
    bf_offsets_begin(t, "a", 0, 1);
    bf_offsets_begin(t, "a", 0, 2);
    bf_offsets_forget(t, "a", 0);
    assert_int_equal(bf_offsets_in_flight(t), 0);
    assert_int_equal(bf_offsets_finish(t, "a", 0, 1), -1);
    /* Re-assigned later: tracking starts afresh. */
    bf_offsets_begin(t, "a", 0, 1);
    assert_int_equal(bf_offsets_finish(t, "a", 0, 1), 2);
    bf_offsets_free(t);
}

/* Growth past the initial ring keeps order even when the ring has wrapped. */
static void test_ring_growth_with_wrap(void **state) {
    (void)state;
    bf_offsets *t = bf_offsets_new();
    int64_t next = 0;
    for (int64_t o = 0; o < 50; o++) bf_offsets_begin(t, "a", 0, o);
    for (int64_t o = 0; o < 40; o++) next = bf_offsets_finish(t, "a", 0, o);
    assert_int_equal(next, 40);
    for (int64_t o = 50; o < 1000; o++) bf_offsets_begin(t, "a", 0, o);
    for (int64_t o = 999; o >= 41; o--) assert_int_equal(bf_offsets_finish(t, "a", 0, o), -1);
    assert_int_equal(bf_offsets_finish(t, "a", 0, 40), 1000);
    bf_offsets_free(t);
}

typedef struct {
    int calls;
    int64_t last[4];
} drained;

static void on_store(void *ctx, const char *topic, int32_t partition, int64_t offset) {
    drained *d = ctx;
    (void)topic;
    d->calls++;
    d->last[partition] = offset;
}

/* Advances are collected per partition and handed out once, newest only. */
static void test_drain_batches_stores(void **state) {
    (void)state;
    bf_offsets *t = bf_offsets_new();
    for (int64_t o = 0; o < 5; o++) bf_offsets_begin(t, "a", 0, o);
    bf_offsets_begin(t, "a", 1, 10);
    for (int64_t o = 0; o < 3; o++) bf_offsets_finish(t, "a", 0, o);
    drained d = {0};
    assert_int_equal(bf_offsets_drain(t, on_store, &d), 1);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.last[0], 3);
    assert_int_equal(bf_offsets_drain(t, on_store, &d), 0); /* nothing new */
    bf_offsets_finish(t, "a", 1, 10);
    bf_offsets_finish(t, "a", 0, 4); /* 3 still running: no advance on partition 0 */
    d = (drained){0};
    assert_int_equal(bf_offsets_drain(t, on_store, &d), 1);
    assert_int_equal(d.last[1], 11);
    bf_offsets_begin(t, "a", 0, 5);
    bf_offsets_forget(t, "a", 0); /* revoked: a pending advance is dropped with it */
    assert_int_equal(bf_offsets_drain(t, on_store, &d), 0);
    bf_offsets_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_finish),
        cmocka_unit_test(test_partitions_are_independent),
        cmocka_unit_test(test_forget_revoked),
        cmocka_unit_test(test_ring_growth_with_wrap),
        cmocka_unit_test(test_drain_batches_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
