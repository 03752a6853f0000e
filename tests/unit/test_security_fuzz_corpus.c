/* Every committed fuzz corpus file (tests/fuzz/corpus/<target>/: seeds and regress-* inputs that
 * once crashed) replayed through the same target functions libFuzzer runs, here under the main
 * build's gcc ASan/UBSan. A fixed crash stays fixed even where clang is missing; a property a
 * target checks (decode -> encode round trip, config bounds ...) aborts this test like it aborts
 * the fuzzer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_fuzz.h"

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Runs fn over each regular file of the target's corpus; returns how many. */
static size_t replay(const char *target, fuzz_fn fn) {
    const char *src = getenv("BF_SOURCE_DIR");
    assert_non_null(src);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src, target);
    DIR *d = opendir(dir);
    if (!d) fail_msg("no corpus directory %s", dir);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        uint8_t *data = slurp(path, &len);
        if (!data) fail_msg("cannot read %s", path);
        /* A crash below names the input in the last line cmocka printed. */
        print_message("  %s/%s (%zu bytes)\n", target, e->d_name, len);
        fn(data, len);
        free(data);
        n++;
    }
    closedir(d);
    return n;
}

static void test_msg_decode_corpus(void **state) {
    (void)state;
    assert_true(replay("msg_decode", bf_fuzz_msg_decode) > 0);
}

static void test_json_parse_corpus(void **state) {
    (void)state;
    assert_true(replay("json_parse", bf_fuzz_json_parse) > 0);
}

static void test_config_value_corpus(void **state) {
    (void)state;
    assert_true(replay("config_value", bf_fuzz_config_value) > 0);
}

static void test_llm_answer_corpus(void **state) {
    (void)state;
    assert_true(replay("llm_answer", bf_fuzz_llm_answer) > 0);
}

#ifdef BF_FUZZ_HAVE_IMAGE
static void test_image_decode_corpus(void **state) {
    (void)state;
    assert_true(replay("image_decode", bf_fuzz_image_decode) > 0);
}

static void test_image_webp_corpus(void **state) {
    (void)state;
    assert_true(replay("image_webp", bf_fuzz_image_webp) > 0);
}

static void test_image_heif_corpus(void **state) {
    (void)state;
    assert_true(replay("image_heif", bf_fuzz_image_heif) > 0);
}

static void test_image_exif_corpus(void **state) {
    (void)state;
    assert_true(replay("image_exif", bf_fuzz_image_exif) > 0);
}
#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_decode_corpus),
        cmocka_unit_test(test_json_parse_corpus),
        cmocka_unit_test(test_config_value_corpus),
        cmocka_unit_test(test_llm_answer_corpus),
#ifdef BF_FUZZ_HAVE_IMAGE
        cmocka_unit_test(test_image_decode_corpus),
        cmocka_unit_test(test_image_webp_corpus),
        cmocka_unit_test(test_image_heif_corpus),
        cmocka_unit_test(test_image_exif_corpus),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
