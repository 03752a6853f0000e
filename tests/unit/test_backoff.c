/* bf_backoff: full jitter stays inside [0, min(cap, base*2^(n-1))], is reproducible from the
 * seed, never overflows, and Retry-After wins when longer but never beyond the cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bf_backoff.h"

static void test_bounds_per_attempt(void **state) {
    (void)state;
    bf_rng r;
    bf_rng_seed(&r, 7);
    const int64_t ceil[] = {100, 200, 400, 800, 1000, 1000, 1000};
    for (int attempt = 1; attempt <= 7; attempt++) {
        int64_t max_seen = 0;
        for (int i = 0; i < 2000; i++) {
            int64_t d = bf_backoff_ms(attempt, 100, 1000, &r);
            assert_true(d >= 0 && d <= ceil[attempt - 1]);
            if (d > max_seen) max_seen = d;
        }
        /* Full jitter actually reaches near the ceiling (2000 draws). */
        assert_true(max_seen > ceil[attempt - 1] * 9 / 10);
    }
}

static void test_same_seed_same_sequence(void **state) {
    (void)state;
    bf_rng a, b;
    bf_rng_seed(&a, 12345);
    bf_rng_seed(&b, 12345);
    for (int i = 1; i < 50; i++) assert_int_equal(bf_backoff_ms(i, 50, 30000, &a), bf_backoff_ms(i, 50, 30000, &b));
}

static void test_huge_attempt_no_overflow(void **state) {
    (void)state;
    bf_rng r;
    bf_rng_seed(&r, 1);
    for (int i = 0; i < 100; i++) {
        int64_t d = bf_backoff_ms(1000000, INT64_MAX / 3, INT64_MAX, &r);
        assert_true(d >= 0);
    }
    assert_int_equal(bf_backoff_ms(3, 0, 100, &r), 0);
    assert_int_equal(bf_backoff_ms(3, 100, 0, &r), 0);
    assert_true(bf_backoff_ms(0, 100, 1000, &r) <= 100); /* attempt < 1 is treated as 1 */
}

static void test_retry_after(void **state) {
    (void)state;
    assert_int_equal(bf_backoff_with_retry_after(50, -1, 1000), 50);
    assert_int_equal(bf_backoff_with_retry_after(50, 700, 1000), 700);
    assert_int_equal(bf_backoff_with_retry_after(900, 700, 1000), 900);
    assert_int_equal(bf_backoff_with_retry_after(50, 120000, 30000), 30000);
    assert_int_equal(bf_backoff_with_retry_after(-5, -1, 1000), 0);
}

static void test_rng_upto(void **state) {
    (void)state;
    bf_rng r;
    bf_rng_seed(&r, 99);
    int seen[4] = {0};
    for (int i = 0; i < 1000; i++) {
        int64_t v = bf_rng_upto(&r, 3);
        assert_true(v >= 0 && v <= 3);
        seen[v]++;
    }
    for (int i = 0; i < 4; i++) assert_true(seen[i] > 150);
    assert_int_equal(bf_rng_upto(&r, 0), 0);
    assert_int_equal(bf_rng_upto(&r, -4), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds_per_attempt),
        cmocka_unit_test(test_same_seed_same_sequence),
        cmocka_unit_test(test_huge_attempt_no_overflow),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_rng_upto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
