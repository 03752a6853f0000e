/* image_webp through image_decode_new: still WebP (lossy and lossless) decodes to the encoded
 * colours, an animation to its first frame, and bombs, truncations and damaged files are refused
 * with the right status. Images are made here with libwebp's own encoders (tests/support/image). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bf_test_image.h"
#include "image_decode.h"
#include "image_webp.h"

static const uint8_t RED[3] = {255, 0, 0}, BLUE[3] = {0, 0, 255}, GREEN[3] = {0, 200, 0};

static bf_test_bytes webp_of(const uint8_t *px, int w, int h, int lossless) {
    bf_test_bytes b = {0};
    char err[128];
    if (bf_test_webp_encode(px, w, h, lossless, &b, err, sizeof err) != 0) fail_msg("%s", err);
    return b;
}

static image_rgb *decode(const bf_test_bytes *b, image_decode_status *st, char *err, size_t errlen) {
    return image_decode_new(b->data, b->len, NULL, st, err, errlen);
}

static void test_lossless_webp_decodes_exactly(void **state) {
    (void)state;
    uint8_t *px = bf_test_two_colour_new(40, 24, 10, RED, BLUE);
    bf_test_bytes b = webp_of(px, 40, 24, 1);
    assert_int_equal(image_format_sniff(b.data, b.len), IMAGE_FMT_WEBP);
    assert_string_equal(image_format_name(IMAGE_FMT_WEBP), "webp");
    uint64_t w = 0, h = 0;
    assert_int_equal(image_declared_size(b.data, b.len, NULL, &w, &h), 0);
    assert_int_equal(w, 40);
    assert_int_equal(h, 24);
    image_decode_status st;
    char err[256];
    image_rgb *img = decode(&b, &st, err, sizeof err);
    if (!img) fail_msg("%s", err);
    assert_int_equal(st, IMAGE_DECODE_OK);
    assert_int_equal(img->format, IMAGE_FMT_WEBP);
    assert_int_equal(img->width, 40);
    assert_int_equal(img->height, 24);
    assert_memory_equal(img->pixels, px, 40 * 24 * 3);
    image_rgb_free(img);
    free(b.data);
    free(px);
}

static void test_lossy_webp_keeps_colours(void **state) {
    (void)state;
    uint8_t *px = bf_test_two_colour_new(64, 64, 32, GREEN, BLUE);
    bf_test_bytes b = webp_of(px, 64, 64, 0);
    image_decode_status st;
    char err[256];
    image_rgb *img = decode(&b, &st, err, sizeof err);
    if (!img) fail_msg("%s", err);
    /* A pixel well inside each half: lossy, so near, not equal. */
    const uint8_t *l = img->pixels + (32 * 64 + 8) * 3, *r = img->pixels + (32 * 64 + 56) * 3;
    assert_true(l[0] < 40 && l[1] > 160 && l[2] < 40);
    assert_true(r[0] < 40 && r[1] < 40 && r[2] > 210);
    image_rgb_free(img);
    free(b.data);
    free(px);
}

static void test_animated_webp_first_frame(void **state) {
    (void)state;
    uint8_t *f1 = bf_test_two_colour_new(30, 20, 30, RED, RED);
    uint8_t *f2 = bf_test_two_colour_new(30, 20, 30, BLUE, BLUE);
    uint8_t *f3 = bf_test_two_colour_new(30, 20, 15, GREEN, BLUE);
    const uint8_t *frames[] = {f1, f2, f3};
    bf_test_bytes b = {0};
    char err[256];
    if (bf_test_webp_anim_encode(frames, 3, 30, 20, &b, err, sizeof err) != 0) fail_msg("%s", err);
    image_decode_status st;
    image_rgb *img = decode(&b, &st, err, sizeof err);
    if (!img) fail_msg("%s", err);
    assert_int_equal(img->format, IMAGE_FMT_WEBP);
    assert_int_equal(img->width, 30);
    assert_int_equal(img->height, 20);
    assert_memory_equal(img->pixels, f1, 30 * 20 * 3); /* the first frame, all of it */
    image_rgb_free(img);
    /* The same animation cut before its last frame's data ends: refused, not shown in part. */
    bf_test_bytes cut = {b.data, b.len - 10};
    assert_null(decode(&cut, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    free(b.data);
    free(f1);
    free(f2);
    free(f3);
}

static void test_animation_first_frame_smaller_than_canvas(void **state) {
    (void)state;
    /* Canvas 40x30; the first frame, 20x10 red, at (10, 10); the second frame all blue. What shows
     * first is the red rectangle on an empty canvas, which we read as black (alpha dropped). */
    uint8_t *red = bf_test_two_colour_new(20, 10, 20, RED, RED), *blue = bf_test_two_colour_new(40, 30, 40, BLUE, BLUE);
    bf_test_bytes b = {0};
    char err[256];
    if (bf_test_webp_anim_offset_encode(red, 20, 10, 10, 10, blue, 40, 30, &b, err, sizeof err) != 0) fail_msg("%s", err);
    image_decode_status st;
    image_rgb *img = decode(&b, &st, err, sizeof err);
    if (!img) fail_msg("%s", err);
    assert_int_equal(img->width, 40);
    assert_int_equal(img->height, 30);
    for (uint32_t y = 0; y < 30; y++)
        for (uint32_t x = 0; x < 40; x++) {
            const uint8_t *p = img->pixels + ((size_t)y * 40 + x) * 3;
            int inside = x >= 10 && x < 30 && y >= 10 && y < 20;
            if (inside ? memcmp(p, RED, 3) != 0 : (p[0] | p[1] | p[2]) != 0)
                fail_msg("pixel %u,%u is %u,%u,%u", x, y, p[0], p[1], p[2]);
        }
    image_rgb_free(img);
    free(b.data);
    free(red);
    free(blue);
}

static void test_truncated_and_damaged_webp_refused(void **state) {
    (void)state;
    uint8_t *px = bf_test_two_colour_new(64, 48, 20, RED, GREEN);
    for (int i = 0; i < 64 * 48 * 3; i++) px[i] = (uint8_t)(px[i] ^ (i * 13));
    bf_test_bytes b = webp_of(px, 64, 48, 0);
    image_decode_status st;
    char err[256];
    bf_test_bytes cut = {b.data, b.len * 2 / 3};
    assert_null(decode(&cut, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    assert_non_null(strstr(err, "webp"));
    cut.len = 14; /* "RIFF....WEBPVP": magic right, no header */
    assert_null(decode(&cut, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    /* A lossy frame's start code (9d 01 2a after the 3-byte frame tag) damaged. Garbage inside
     * the entropy-coded data is not detectable in a lossy VP8 stream (it decodes to other
     * pixels), so the header is what a test can damage. */
    assert_memory_equal(b.data + 12, "VP8 ", 4);
    assert_memory_equal(b.data + 23, "\x9d\x01\x2a", 3);
    b.data[24] = 0x77;
    assert_null(decode(&b, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    free(b.data);
    free(px);
}

static void test_webp_limits_checked_before_decoding(void **state) {
    (void)state;
    uint8_t *px = bf_test_two_colour_new(100, 80, 50, RED, BLUE);
    bf_test_bytes b = webp_of(px, 100, 80, 1);
    image_decode_status st;
    char err[256];
    image_decode_limits tight = {.max_pixels = 7999};
    assert_null(image_decode_new(b.data, b.len, &tight, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    assert_non_null(strstr(err, "100x80"));
    /* The decoder itself checks too (the entry point for the fuzzer). */
    uint32_t w, h;
    assert_null(image_webp_decode_new(b.data, b.len, 99, 1000000, &w, &h, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    image_decode_limits exact = {.max_pixels = 8000, .max_side = 100};
    image_rgb *img = image_decode_new(b.data, b.len, &exact, &st, err, sizeof err);
    assert_non_null(img);
    image_rgb_free(img);
    free(b.data);
    free(px);
}

static void test_webp_bomb_header(void **state) {
    (void)state;
    /* A lossless (VP8L) header declaring 16384x16384 = 268 M pixels, then nothing: the header is
     * enough to refuse it; nothing is allocated for pixels. VP8L: signature 0x2f, then 14 bits
     * width-1, 14 bits height-1, alpha bit, 3 version bits. */
    uint8_t f[] = {'R', 'I', 'F', 'F', 26, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'L', 14, 0, 0, 0,
                   0x2f, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    image_decode_status st;
    char err[256];
    assert_null(image_decode_new(f, sizeof f, NULL, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    assert_non_null(strstr(err, "16384x16384"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lossless_webp_decodes_exactly),
        cmocka_unit_test(test_lossy_webp_keeps_colours),
        cmocka_unit_test(test_animated_webp_first_frame),
        cmocka_unit_test(test_animation_first_frame_smaller_than_canvas),
        cmocka_unit_test(test_truncated_and_damaged_webp_refused),
        cmocka_unit_test(test_webp_limits_checked_before_decoding),
        cmocka_unit_test(test_webp_bomb_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
