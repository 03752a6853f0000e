/* UUIDv7 event ids and random trace ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bf_trace.h"
#include "bf_uuid.h"

static void test_uuid_v7(void **state) {
    (void)state;
    char a[BF_UUID_LEN + 1], b[BF_UUID_LEN + 1];
    bf_uuid_v7_at(1718000000123, a);
    assert_int_equal(strlen(a), 36);
    assert_true(bf_uuid_v7_valid(a));
    assert_int_equal(bf_uuid_v7_time_ms(a), 1718000000123);
    assert_memory_equal(a, "0190", 4);
    bf_uuid_v7_at(1718000000124, b);
    assert_true(strcmp(a, b) < 0); /* ordered by time across milliseconds */
    bf_uuid_v7(a);
    bf_uuid_v7(b);
    assert_string_not_equal(a, b);
    assert_true(bf_uuid_v7_time_ms(a) > 1700000000000);
    bf_uuid_v4(a);
    assert_true(bf_uuid_valid(a));
    assert_false(bf_uuid_v7_valid(a));
    assert_int_equal(a[14], '4');
    /* The text form byte for byte: time, version and variant over SHA-256("abc"). */
    bf_uuid_v7_derived(1718000000123, "abc", a);
    assert_string_equal(a, "019000c7-9c7b-7fea-8141-40de5dae2223");
}

static void test_uuid_rejects(void **state) {
    (void)state;
    const char *bad[] = {
        "", "0190a4b2-7c3d-7e5f-8a6b-1c2d3e4f5a6",    /* short */
        "0190a4b2-7c3d-7e5f-8a6b-1c2d3e4f5a6bb",       /* long */
        "0190A4B2-7C3D-7E5F-8A6B-1C2D3E4F5A6B",        /* uppercase */
        "0190a4b2-7c3d-0e5f-8a6b-1c2d3e4f5a6b",        /* version 0 */
        "0190a4b2-7c3d-7e5f-7a6b-1c2d3e4f5a6b",        /* NCS variant */
        "0190a4b2x7c3d-7e5f-8a6b-1c2d3e4f5a6b",        /* separator */
        "{0190a4b2-7c3d-7e5f-8a6b-1c2d3e4f5a6}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (bf_uuid_valid(bad[i])) fail_msg("accepted '%s'", bad[i]);
    assert_false(bf_uuid_valid(NULL));
    assert_int_equal(bf_uuid_v7_time_ms("0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a6b"), -1);
}

static void test_trace_ids(void **state) {
    (void)state;
    char id[33], id2[33], tp[BF_TRACEPARENT_LEN + 1], back[33], child[BF_TRACEPARENT_LEN + 1];
    bf_trace_id_new(id);
    bf_trace_id_new(id2);
    assert_true(bf_trace_id_valid(id));
    assert_string_not_equal(id, id2);
    assert_int_equal(bf_trace_from_id(id, tp), 0);
    assert_int_equal(bf_trace_parse(tp, back), 0);
    assert_string_equal(back, id);
    assert_memory_equal(tp + 52, "-01", 3);
    bf_trace_child(tp, child);
    assert_int_equal(bf_trace_parse(child, back), 0);
    assert_string_equal(back, id);
    assert_memory_not_equal(child + 36, tp + 36, 16);
    assert_int_equal(bf_trace_from_id("make scene 2 look like this", tp), -1);
    assert_int_equal(bf_trace_from_id("00000000000000000000000000000000", tp), -1);
    assert_false(bf_trace_id_valid("4BF92F3577B34DA6A3CE929D0E0E4736"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_v7),
        cmocka_unit_test(test_uuid_rejects),
        cmocka_unit_test(test_trace_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
