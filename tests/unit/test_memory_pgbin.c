/* Binary array parameters: the exact bytes array_recv reads (header, big-endian lengths, each
 * type's binary form), and text cells refused when they are not a value of their column's type.
 * That PostgreSQL reads them back as the same values is integration/test_memory_store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "memory_pgbin.h"

/* The array's bytes must be exactly want (len bytes). */
static void expect_bytes(memory_pgbin *a, const unsigned char *want, int len) {
    int got = -1;
    const char *d = memory_pgbin_data(a, &got);
    assert_non_null(d);
    assert_int_equal(got, len);
    for (int i = 0; i < len; i++)
        if ((unsigned char)d[i] != want[i]) fail_msg("byte %d: %02x, want %02x", i, (unsigned char)d[i], want[i]);
}

#define HDR(nulls, oid, n) 0, 0, 0, 1, 0, 0, 0, nulls, 0, 0, (oid) >> 8, (oid) & 0xff, 0, 0, 0, n, 0, 0, 0, 1

static void test_empty_array_is_zero_dimensions(void **state) {
    (void)state;
    memory_pgbin a;
    memory_pgbin_init(&a, MEMORY_PG_UUID);
    static const unsigned char want[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b, 0x86}; /* oid 2950 */
    expect_bytes(&a, want, sizeof want);
    /* Adding after taking the empty array's bytes still puts the elements after the header. */
    assert_int_equal(memory_pgbin_add_cell(&a, "01890a5d-ac96-774b-bcce-b302099a8057"), 0);
    static const unsigned char one[] = {HDR(0, 2950, 1), 0, 0, 0, 16, 0x01, 0x89, 0x0a, 0x5d, 0xac, 0x96, 0x77, 0x4b,
                                        0xbc, 0xce, 0xb3, 0x02, 0x09, 0x9a, 0x80, 0x57};
    expect_bytes(&a, one, sizeof one);
    memory_pgbin_free(&a);
}

static void test_text_and_jsonb_elements(void **state) {
    (void)state;
    memory_pgbin a;
    memory_pgbin_init(&a, MEMORY_PG_TEXT);
    memory_pgbin_add_text(&a, "a\"{");
    memory_pgbin_add_text(&a, NULL);
    memory_pgbin_add_text(&a, "");
    static const unsigned char t[] = {HDR(1, 25, 3), 0, 0, 0, 3, 'a', '"', '{', 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    expect_bytes(&a, t, sizeof t);
    memory_pgbin_free(&a);

    memory_pgbin_init(&a, MEMORY_PG_JSONB);
    assert_int_equal(memory_pgbin_add_cell(&a, "[1]"), 0);
    static const unsigned char j[] = {HDR(0, 3802, 1), 0, 0, 0, 4, 1, '[', '1', ']'};
    expect_bytes(&a, j, sizeof j);
    /* Reset keeps the type and drops the elements and the nulls flag. */
    memory_pgbin_reset(&a);
    memory_pgbin_add_text(&a, NULL);
    memory_pgbin_reset(&a);
    memory_pgbin_add_text(&a, "{}");
    static const unsigned char j2[] = {HDR(0, 3802, 1), 0, 0, 0, 3, 1, '{', '}'};
    expect_bytes(&a, j2, sizeof j2);
    memory_pgbin_free(&a);
}

static void test_numbers_and_bool(void **state) {
    (void)state;
    memory_pgbin a;
    memory_pgbin_init(&a, MEMORY_PG_FLOAT8);
    assert_int_equal(memory_pgbin_add_cell(&a, "0.1"), 0);
    memory_pgbin_add_double(&a, -2.0);
    static const unsigned char d[] = {HDR(0, 701, 2), 0, 0, 0, 8, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a,
                                      0, 0, 0, 8, 0xc0, 0, 0, 0, 0, 0, 0, 0};
    expect_bytes(&a, d, sizeof d);
    memory_pgbin_free(&a);

    memory_pgbin_init(&a, MEMORY_PG_INT4);
    assert_int_equal(memory_pgbin_add_cell(&a, "-1"), 0);
    assert_int_equal(memory_pgbin_add_cell(&a, "2147483647"), 0);
    static const unsigned char i4[] = {HDR(0, 23, 2), 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff};
    expect_bytes(&a, i4, sizeof i4);
    memory_pgbin_free(&a);

    memory_pgbin_init(&a, MEMORY_PG_INT8);
    assert_int_equal(memory_pgbin_add_cell(&a, "9007199254740993"), 0); /* 2^53 + 1: no double holds it */
    static const unsigned char i8[] = {HDR(0, 20, 1), 0, 0, 0, 8, 0, 0x20, 0, 0, 0, 0, 0, 1};
    expect_bytes(&a, i8, sizeof i8);
    memory_pgbin_free(&a);

    memory_pgbin_init(&a, MEMORY_PG_BOOL);
    assert_int_equal(memory_pgbin_add_cell(&a, "t"), 0);
    memory_pgbin_add_bool(&a, false);
    static const unsigned char b[] = {HDR(0, 16, 2), 0, 0, 0, 1, 1, 0, 0, 0, 1, 0};
    expect_bytes(&a, b, sizeof b);
    memory_pgbin_free(&a);
}

/* Each bad cell is refused without adding anything, and marks the array bad. */
static void test_bad_cells_refused(void **state) {
    (void)state;
    static const struct {
        memory_pgtype type;
        const char *cell;
    } bad[] = {
        {MEMORY_PG_UUID, "01890a5d-ac96-774b-bcce-b302099a805"},   /* short */
        {MEMORY_PG_UUID, "01890a5d-ac96-774b-bcce-b302099a80577"}, /* long */
        {MEMORY_PG_UUID, "01890a5dac96-774b-bcce-b302099a8057-"},  /* dash misplaced */
        {MEMORY_PG_UUID, "01890a5d-ac96-774b-bcce-b302099a805g"},  /* not hex */
        {MEMORY_PG_UUID, ""},
        {MEMORY_PG_FLOAT8, ""},
        {MEMORY_PG_FLOAT8, "0.5x"},
        {MEMORY_PG_FLOAT8, "1e400"},  /* overflow */
        {MEMORY_PG_FLOAT8, "1e-400"}, /* underflow */
        {MEMORY_PG_INT4, "2147483648"},
        {MEMORY_PG_INT4, "-2147483649"},
        {MEMORY_PG_INT4, "1.5"},
        {MEMORY_PG_INT8, "9223372036854775808"},
        {MEMORY_PG_INT8, "17e11"},
        {MEMORY_PG_INT8, ""},
        {MEMORY_PG_BOOL, "true"},
        {MEMORY_PG_BOOL, ""},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memory_pgbin a;
        memory_pgbin_init(&a, bad[i].type);
        if (memory_pgbin_add_cell(&a, bad[i].cell) != -1) fail_msg("cell \"%s\" (type %d) accepted", bad[i].cell, bad[i].type);
        assert_true(a.bad);
        assert_int_equal(a.n, 0);
        memory_pgbin_free(&a);
    }
    /* NULL is a value of every type. */
    memory_pgbin a;
    memory_pgbin_init(&a, MEMORY_PG_UUID);
    assert_int_equal(memory_pgbin_add_cell(&a, NULL), 0);
    assert_false(a.bad);
    assert_int_equal(a.n, 1);
    memory_pgbin_free(&a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_array_is_zero_dimensions),
        cmocka_unit_test(test_text_and_jsonb_elements),
        cmocka_unit_test(test_numbers_and_bool),
        cmocka_unit_test(test_bad_cells_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
