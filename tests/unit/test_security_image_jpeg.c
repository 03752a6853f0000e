/* Regression for the fuzzer's first find (tests/fuzz/corpus/image_decode/regress-stb-jpeg-dht-over-256):
 * Debian 12's stb_image (libstb0 0.0~git20220908) does not check that a JPEG DHT segment's 16 code
 * counts sum to at most 256, so stbi__build_huffman and the values loop write up to 4080 bytes into
 * a 257-byte (size) / 256-byte (values) array inside its decoder state: memory corruption from any
 * image URL a user supplies. ASan cannot see it here (libstb is the distribution's uninstrumented
 * build, the overflow stays inside one heap object); the fuzz build's UBSan does. JPEGs now go to
 * libjpeg-turbo (image-worker/image_jpeg.h), which refuses such a table; this test states the
 * behaviour we need whichever decoder runs: a JPEG that is valid except for such a table (for the
 * unused AC table 3) is refused as corrupt, and one with exactly 256 codes decodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "image_decode.h"

typedef struct membuf {
    uint8_t *data;
    size_t len;
} membuf;

static void mem_write(void *ctx, void *data, int size) {
    membuf *m = ctx;
    uint8_t *nd = realloc(m->data, m->len + (size_t)size);
    assert_non_null(nd);
    m->data = nd;
    memcpy(m->data + m->len, data, (size_t)size);
    m->len += (size_t)size;
}

/* A 16x8 baseline JPEG with, right after SOI, a DHT for AC table 3 declaring counts whose sum is
 * n_codes (15 and 16 bit codes, which build_huffman accepts), followed by n_codes symbol bytes. */
static membuf jpeg_with_dht(unsigned n_codes) {
    uint8_t px[16 * 8 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 37u);
    membuf j = {0};
    assert_true(stbi_write_jpg_to_func(mem_write, &j, 16, 8, 3, px, 90));
    assert_true(j.len > 2 && j.data[0] == 0xff && j.data[1] == 0xd8);
    unsigned c15 = n_codes > 255 ? 255 : n_codes, c16 = n_codes - c15;
    assert_true(c16 <= 255);
    size_t seg = 2 + 1 + 16 + n_codes;
    membuf out = {malloc(j.len + 2 + seg), 0};
    assert_non_null(out.data);
    memcpy(out.data, j.data, 2);
    uint8_t *p = out.data + 2;
    *p++ = 0xff;
    *p++ = 0xc4;
    *p++ = (uint8_t)(seg >> 8);
    *p++ = (uint8_t)seg;
    *p++ = 0x13; /* class 1 (AC), table 3: the encoder's scan never uses it */
    for (int i = 0; i < 16; i++) *p++ = (uint8_t)(i == 14 ? c15 : i == 15 ? c16 : 0);
    for (unsigned i = 0; i < n_codes; i++) *p++ = (uint8_t)i;
    memcpy(p, j.data + 2, j.len - 2);
    out.len = (size_t)(p - out.data) + j.len - 2;
    free(j.data);
    return out;
}

static void test_dht_with_256_codes_is_fine(void **state) {
    (void)state;
    membuf m = jpeg_with_dht(256);
    image_decode_status st;
    char err[256];
    image_rgb *img = image_decode_new(m.data, m.len, NULL, &st, err, sizeof err);
    assert_non_null(img);
    assert_int_equal(st, IMAGE_DECODE_OK);
    assert_int_equal(img->width, 16);
    image_rgb_free(img);
    free(m.data);
}

static void test_dht_with_more_than_256_codes_is_refused(void **state) {
    (void)state;
    membuf m = jpeg_with_dht(510);
    image_decode_status st = IMAGE_DECODE_OK;
    char err[256] = "";
    image_rgb *img = image_decode_new(m.data, m.len, NULL, &st, err, sizeof err);
    if (img) {
        image_rgb_free(img);
        free(m.data);
        fail_msg("a JPEG whose DHT declares 510 codes (stb_image writes past its 256/257-byte tables) was "
                 "decoded; image_decode must refuse it as corrupt before stb_image builds the table");
    }
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    free(m.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dht_with_256_codes_is_fine),
        cmocka_unit_test(test_dht_with_more_than_256_codes_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
