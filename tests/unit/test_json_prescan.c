/* bf_json_parse's checks before cJSON (UTF-8, NUL, escapes, control bytes, nesting) skip runs
 * of ordinary bytes at a time. This holds them to a plain byte-by-byte statement of the same
 * rules (UTF-8 from the Unicode standard's table), kept here as the reference: on 300k random texts made of exactly the bytes those rules
 * are about, both must reject with the same message, or both let the text through to cJSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"
#include "bf_rng.h"

#define CASES 300000
#define MAX_DEPTH 4

/* The length of the well-formed UTF-8 sequence at p, or 0: the Unicode standard's table of
 * well-formed byte sequences (Table 3-7), a different statement of what bf_json_parse checks. */
static size_t ref_utf8_seq(const unsigned char *p, size_t left) {
    static const struct {
        unsigned char lead_lo, lead_hi, second_lo, second_hi;
        size_t n;
    } rows[] = {
        {0x00, 0x7f, 0, 0, 1},       {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
        {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3},
        {0xf0, 0xf0, 0x90, 0xbf, 4}, {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        if (p[0] < rows[r].lead_lo || p[0] > rows[r].lead_hi) continue;
        size_t n = rows[r].n;
        if (n == 1) return 1;
        if (left < n || p[1] < rows[r].second_lo || p[1] > rows[r].second_hi) return 0;
        for (size_t i = 2; i < n; i++)
            if (p[i] < 0x80 || p[i] > 0xbf) return 0;
        return n;
    }
    return 0;
}

/* The reference: returns the error text, or "" when the text goes on to cJSON. */
static void reference(const char *b, size_t len, char *err, size_t errlen) {
    err[0] = '\0';
    for (size_t i = 0; i < len;) {
        size_t n = ref_utf8_seq((const unsigned char *)b + i, len - i);
        if (n == 0) {
            snprintf(err, errlen, "invalid UTF-8 at offset %zu", i);
            return;
        }
        i += n;
    }
    unsigned depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = b[i];
        if (ch == '\0') {
            snprintf(err, errlen, "NUL byte at offset %zu", i);
            return;
        }
        if (in_str) {
            if (ch == '\\') {
                char e = i + 1 < len ? b[i + 1] : '\0';
                if (e == 'u') {
                    bool hex = i + 5 < len;
                    for (size_t k = 2; hex && k < 6; k++) hex = isxdigit((unsigned char)b[i + k]) != 0;
                    if (!hex) {
                        snprintf(err, errlen, "bad \\u escape at offset %zu", i);
                        return;
                    }
                    if (memcmp(b + i + 2, "0000", 4) == 0) {
                        snprintf(err, errlen, "\\u0000 escape at offset %zu", i);
                        return;
                    }
                    i += 5;
                } else if (e && strchr("\"\\/bfnrt", e)) {
                    i++;
                } else {
                    snprintf(err, errlen, "bad escape at offset %zu", i);
                    return;
                }
            } else if ((unsigned char)ch < 0x20) {
                snprintf(err, errlen, "control character in a string at offset %zu", i);
                return;
            } else if (ch == '"') {
                in_str = false;
            }
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > MAX_DEPTH) {
                snprintf(err, errlen, "nesting deeper than %u at offset %zu", MAX_DEPTH, i);
                return;
            }
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        }
    }
}

static bool prescan_message(const char *err) {
    static const char *const kinds[] = {"invalid UTF-8", "NUL byte", "bad \\u escape", "\\u0000 escape",
                                        "bad escape", "control character", "nesting deeper"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strncmp(err, kinds[i], strlen(kinds[i])) == 0) return true;
    return false;
}

static void test_matches_reference(void **state) {
    (void)state;
    static const char *const pieces[] = {
        "\"", "\\", "\\u", "0000", "00e9", "zz", "{", "}", "[", "]", ":", ",", "a", "1", " ", "\n",
        "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8e\xa8", "\xc3", "\xe2\x82", "\xc0\xaf",
        "\xed\xa0\x80", "\x80", "abcdefgh", "\"key\":\"value\",", "\\n", "\\/", "\\\"",
    };
    const size_t n_pieces = sizeof pieces / sizeof pieces[0];
    bf_rng r;
    bf_rng_seed(&r, 3);
    char text[512], want[256], got[256];
    size_t rejected = 0;
    for (int c = 0; c < CASES; c++) {
        size_t len = 0;
        for (int k = (int)bf_rng_upto(&r, 40); k > 0; k--) {
            const char *p = pieces[bf_rng_upto(&r, (int64_t)n_pieces - 1)];
            size_t l = strlen(p);
            if (len + l >= sizeof text) break;
            memcpy(text + len, p, l);
            len += l;
        }
        if (bf_rng_upto(&r, 20) == 0 && len > 0) text[bf_rng_upto(&r, (int64_t)len - 1)] = '\0'; /* a NUL byte */
        if (len == 0) continue;
        reference(text, len, want, sizeof want);
        got[0] = '\0';
        cJSON *j = bf_json_parse(text, len, sizeof text, MAX_DEPTH, got, sizeof got);
        cJSON_Delete(j);
        if (want[0]) {
            rejected++;
            if (j || strcmp(got, want) != 0) fail_msg("case %d: reference \"%s\", bf_json_parse \"%s\"", c, want, got);
        } else if (!j && prescan_message(got)) {
            fail_msg("case %d: bf_json_parse \"%s\", the reference lets it through", c, got);
        }
    }
    /* Both outcomes must be common, or the comparison says little. */
    assert_true(rejected > CASES / 10);
    assert_true(rejected < CASES - CASES / 10);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_matches_reference)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
