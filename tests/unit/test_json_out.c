/* bf_json_out and bf_number_text against cJSON: every string and number the writer prints must be
 * the bytes cJSON_PrintUnformatted prints for the same value (the imageFactsProcessed writer is
 * held to the cJSON encoder byte for byte on that basis), and bf_number_exact must read back as
 * exactly its double. Values: all single bytes, random byte strings, UTF-8, and doubles from
 * special cases, short decimals, uniform [0, 1) and random bit patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bf_json_check.h"
#include "bf_json_out.h"
#include "bf_number_text.h"
#include "bf_rng.h"

#define RANDOM_CASES 200000

static char *cjson_print_number(double d) {
    cJSON *n = cJSON_CreateNumber(d);
    char *s = cJSON_PrintUnformatted(n);
    cJSON_Delete(n);
    return s;
}

static void check_number(double d) {
    char t[BF_NUMBER_TEXT_MAX];
    char *want = cjson_print_number(d);
    assert_non_null(want);
    size_t n = bf_number_json(d, t);
    if (strcmp(t, want) != 0 || n != strlen(want))
        fail_msg("bf_number_json(%a) = \"%s\", cJSON prints \"%s\"", d, t, want);
    cJSON_free(want);
    if (!isfinite(d)) return;
    n = bf_number_exact(d, t);
    assert_int_equal(n, strlen(t));
    char *end;
    double back = strtod(t, &end);
    if (*end != '\0' || memcmp(&back, &d, sizeof d) != 0)
        fail_msg("bf_number_exact(%a) = \"%s\" reads back as %a", d, t, back);
}

static double random_double(bf_rng *r) {
    uint64_t bits = bf_rng_next(r);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void test_numbers_special(void **state) {
    (void)state;
    const double v[] = {0.0, -0.0, 1.0, -1.0, 0.5, 0.6, 0.4, 0.1, 0.2, 0.3, 0.1 + 0.2, 1.0 / 3, 2.0 / 3,
                        0.0001, 0.00009999999999999999, 0.000123456, 0.0001234567, 1e-5, 1e-7, 0.999999,
                        0.9999999, 1 - DBL_EPSILON / 2, 1 - DBL_EPSILON, DBL_EPSILON, DBL_MIN, DBL_TRUE_MIN,
                        DBL_MAX, -DBL_MAX, 1280, 65535, 3600000, 1718000000123.0, 999999999.999999,
                        999999999.9999999, 1e9, 1e15, 1e16, 9007199254740991.0, 9007199254740993.0,
                        2147483647.0, 2147483648.0, -2147483649.0, 123456.789012, 0.123456789, 1e300,
                        NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) check_number(v[i]);
    char t[BF_NUMBER_TEXT_MAX];
    /* Short decimals take the short form in both, not 17 digits. */
    bf_number_exact(0.6, t);
    assert_string_equal(t, "0.6");
    bf_number_exact(0.4375, t);
    assert_string_equal(t, "0.4375");
    bf_number_exact(-12.5, t);
    assert_string_equal(t, "-12.5");
}

static void test_numbers_random(void **state) {
    (void)state;
    bf_rng r;
    bf_rng_seed(&r, 20261129);
    for (int i = 0; i < RANDOM_CASES; i++) {
        /* Bit patterns cover every exponent; decimals with 1..9 places are what analysers and
         * people write (the short path and the cases next to it); uniform [0, 1) is a share. */
        check_number(random_double(&r));
        int places = (int)bf_rng_upto(&r, 8) + 1;
        double scale = pow(10, places);
        double k = (double)bf_rng_upto(&r, (int64_t)scale * 10);
        check_number(k / scale);
        check_number(-k / scale);
        check_number((double)(bf_rng_next(&r) >> 11) / 9007199254740992.0);
    }
}

static void test_int(void **state) {
    (void)state;
    const int64_t v[] = {0, 1, -1, 9, 10, 99, 100, 65535, 3600000, 1718000000123, 9007199254740991,
                         INT64_MAX, INT64_MIN, INT64_MIN + 1};
    char t[BF_NUMBER_TEXT_MAX], want[BF_NUMBER_TEXT_MAX];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(want, sizeof want, "%" PRId64, v[i]);
        assert_int_equal(bf_number_int(v[i], t), strlen(want));
        assert_string_equal(t, want);
    }
    /* Below 1e15 an integer's digits are also what cJSON prints for it as a number. */
    bf_rng r;
    bf_rng_seed(&r, 7);
    for (int i = 0; i < 10000; i++) {
        int64_t x = bf_rng_upto(&r, 999999999999999) * (i % 2 ? 1 : -1);
        char *c = cjson_print_number((double)x);
        bf_number_int(x, t);
        assert_string_equal(t, c);
        cJSON_free(c);
    }
}

static void check_string(const char *s) {
    cJSON *j = cJSON_CreateString(s);
    char *want = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    bf_json_out w;
    bf_json_out_init(&w);
    bf_json_out_string(&w, s);
    const char *got = bf_json_out_text(&w);
    assert_non_null(got);
    if (strcmp(got, want) != 0) fail_msg("string written as %s, cJSON prints %s", got, want);
    assert_int_equal(w.len, strlen(want));
    cJSON_free(want);
    bf_json_out_free(&w);
}

static void test_strings(void **state) {
    (void)state;
    char one[2] = {0, 0};
    for (int b = 1; b < 256; b++) {
        one[0] = (char)b;
        check_string(one);
    }
    check_string("");
    check_string("plain text");
    check_string("quote \" backslash \\ slash / tab\tnewline\nreturn\rbell\x07 esc\x1b del\x7f");
    check_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa8 \xe6\x97\xa5\xe6\x9c\xac");
    bf_rng r;
    bf_rng_seed(&r, 42);
    char buf[300];
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)bf_rng_upto(&r, sizeof buf - 1);
        for (size_t k = 0; k < n; k++) {
            /* Mostly the bytes that need care: controls, quote, backslash, high bytes. */
            uint64_t x = bf_rng_next(&r);
            if (x % 4 == 0) buf[k] = (char)(1 + (x >> 8) % 0x20);
            else if (x % 4 == 1) buf[k] = "\"\\/"[(x >> 8) % 3];
            else buf[k] = (char)(1 + (x >> 8) % 255);
        }
        buf[n] = '\0';
        check_string(buf);
    }
    /* NULL is written as "", as cJSON writes a NULL valuestring. */
    bf_json_out w;
    bf_json_out_init(&w);
    bf_json_out_string(&w, NULL);
    assert_string_equal(bf_json_out_text(&w), "\"\"");
    bf_json_out_free(&w);
}

static void test_members_and_arrays(void **state) {
    (void)state;
    bf_json_out w;
    bf_json_out_init(&w);
    const char *list[] = {"a", "b\"c", "\xc3\xa9"};
    bf_json_out_raw(&w, "{", 1);
    bf_json_out_key(&w, "n");
    bf_json_out_number(&w, 0.25);
    bf_json_out_key(&w, "i");
    bf_json_out_int(&w, -42);
    bf_json_out_key(&w, "l");
    bf_json_out_strings(&w, list, 3);
    bf_json_out_key(&w, "e");
    bf_json_out_strings(&w, NULL, 0);
    bf_json_out_key(&w, "o");
    bf_json_out_raw(&w, "{", 1);
    bf_json_out_key(&w, "x");
    bf_json_out_lit(&w, "null");
    bf_json_out_raw(&w, "}}", 2);
    assert_string_equal(bf_json_out_text(&w),
                        "{\"n\":0.25,\"i\":-42,\"l\":[\"a\",\"b\\\"c\",\"\xc3\xa9\"],\"e\":[],\"o\":{\"x\":null}}");
    /* Reset keeps the buffer and starts over; a long text grows it. */
    bf_json_out_reset(&w);
    for (int i = 0; i < 5000; i++) bf_json_out_lit(&w, "0123456789");
    assert_int_equal(strlen(bf_json_out_text(&w)), 50000);
    /* Take hands the buffer over and leaves w empty and usable. */
    size_t len;
    char *taken = bf_json_out_take(&w, &len);
    assert_int_equal(len, 50000);
    assert_int_equal(strlen(taken), 50000);
    free(taken);
    assert_null(w.buf);
    assert_int_equal(w.len, 0);
    bf_json_out_reserve(&w, 4000);
    assert_true(w.cap > 4000);
    bf_json_out_lit(&w, "[]");
    assert_string_equal(bf_json_out_text(&w), "[]");
    bf_json_out_free(&w);
}

static void test_depth(void **state) {
    (void)state;
    struct {
        const char *text;
        unsigned depth;
    } cases[] = {
        {"1", 0}, {"\"{[\"", 0}, {"{}", 1}, {"[]", 1}, {"[[{}]]", 3}, {"{\"a\":[1,{\"b\":[]}],\"c\":{}}", 4},
        {"{\"a\":\"}}}{{{\\\"[[[\"}", 1}, {"[\"\\\\\",[[]]]", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(bf_json_depth(cases[i].text, strlen(cases[i].text)), cases[i].depth);
    /* The same count bf_json_parse limits: a text of depth d passes max_depth d, fails d - 1. */
    const char *t = "{\"a\":[1,{\"b\":[\"]]\"]}],\"c\":{}}";
    unsigned d = bf_json_depth(t, strlen(t));
    char err[128];
    cJSON *ok = bf_json_parse(t, strlen(t), 1000, d, err, sizeof err);
    assert_non_null(ok);
    cJSON_Delete(ok);
    assert_null(bf_json_parse(t, strlen(t), 1000, d - 1, err, sizeof err));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_special), cmocka_unit_test(test_numbers_random),
        cmocka_unit_test(test_int),             cmocka_unit_test(test_strings),
        cmocka_unit_test(test_members_and_arrays), cmocka_unit_test(test_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
