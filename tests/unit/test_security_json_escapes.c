/* Regression for a fuzz find (tests/fuzz/corpus/json_parse/regress-nul-after-backslash):
 * bf_json_parse promises to reject NUL bytes (C strings would silently truncate, docs/schema.md),
 * but its prescan skips the byte after every backslash inside a string without looking at it, so a
 * NUL right after '\' reaches cJSON. Debian's cJSON 1.7.15 also accepts malformed \u escapes
 * ("\uf\" ...), and together the string is cut at the NUL: ["ab\uf\<NUL>cd"] parses as ["ab"].
 * The malformed escapes alone are a parser differential too: Python's json (check_schemas.py) and
 * every JSON Schema tool reject them, the C decoders accept them. These cases must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"
#include "bf_msg.h"

typedef struct bad_case {
    const char *name;
    const char *bytes;
    size_t len;
} bad_case;

#define CASE(name, lit) {name, lit, sizeof lit - 1}

static const bad_case cases[] = {
    CASE("NUL after a backslash, behind a broken \\u", "[\"ab\\uf\\\0cd\"]"),
    CASE("NUL after a backslash in a key", "{\"de00\\uf\\\0x\":1}"),
    CASE("NUL right after a backslash", "[\"ab\\\0\"]"),
    CASE("\\u with non-hex digits", "{\"a\\uZZZZ\":1}"),
    CASE("\\u with one digit", "{\"a\":\"\\uf\"}"),
    CASE("\\u with two digits", "{\"a\":\"x\\u12\"}"),
    CASE("unknown escape", "[\"\\q\"]"),
};

static void test_rejected(void **state) {
    (void)state;
    size_t accepted = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        cJSON *root = bf_json_parse(cases[i].bytes, cases[i].len, BF_MSG_MAX_BYTES, BF_MSG_MAX_DEPTH, err, sizeof err);
        if (root) {
            char *text = cJSON_PrintUnformatted(root);
            print_error("accepted: %s -> parsed as %s\n", cases[i].name, text ? text : "?");
            cJSON_free(text);
            cJSON_Delete(root);
            accepted++;
        }
    }
    assert_int_equal(accepted, 0);
}

/* The same bytes inside a real message: the decoder must refuse, not read a truncated prompt. */
static void test_fuzz_input_file_rejected(void **state) {
    (void)state;
    const char *src = getenv("BF_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/json_parse/regress-nul-after-backslash", src);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_non_null(memchr(buf, '\0', n));
    char err[256];
    cJSON *root = bf_json_parse(buf, n, BF_MSG_MAX_BYTES, BF_MSG_MAX_DEPTH, err, sizeof err);
    cJSON_Delete(root);
    assert_null(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejected),
        cmocka_unit_test(test_fuzz_input_file_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
