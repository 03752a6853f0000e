/* image_jpeg: the libjpeg-turbo path of image_decode_new. JPEGs are written here with libjpeg's
 * own compressor so the colour spaces and scan scripts stb_image_write cannot produce (greyscale,
 * Adobe CMYK, progressive, hundreds of scans) are covered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image_decode.h"
#include "image_jpeg.h"

typedef struct jpeg_out {
    unsigned char *data; /* malloc'd by jpeg_mem_dest */
    unsigned long len;
} jpeg_out;

/* A w x h JPEG of one flat colour in the given space (components bytes per pixel, `px`), quality
 * 100. scans/n_scans: a custom scan script (progressive), or NULL for libjpeg's default. */
static jpeg_out encode(int w, int h, J_COLOR_SPACE space, int components, const uint8_t *px,
                       const jpeg_scan_info *scans, int n_scans, int progressive) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_out out = {0};
    jpeg_mem_dest(&c, &out.data, &out.len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = components;
    c.in_color_space = space;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 100, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    if (scans) {
        c.scan_info = scans;
        c.num_scans = n_scans;
    }
    jpeg_start_compress(&c, TRUE);
    JSAMPROW row = malloc((size_t)w * (size_t)components);
    assert_non_null(row);
    for (int x = 0; x < w; x++) memcpy(row + (size_t)x * (size_t)components, px, (size_t)components);
    while (c.next_scanline < c.image_height) jpeg_write_scanlines(&c, &row, 1);
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return out;
}

static image_rgb *decode(const jpeg_out *j, image_decode_status *st, char *err, size_t errlen) {
    return image_decode_new(j->data, j->len, NULL, st, err, errlen);
}

static void assert_near(int got, int want) {
    if (got < want - 3 || got > want + 3) fail_msg("pixel value %d, expected %d +- 3", got, want);
}

static void test_greyscale_becomes_rgb(void **state) {
    (void)state;
    uint8_t grey = 77;
    jpeg_out j = encode(24, 16, JCS_GRAYSCALE, 1, &grey, NULL, 0, 0);
    image_decode_status st;
    char err[256];
    image_rgb *img = decode(&j, &st, err, sizeof err);
    assert_non_null(img);
    assert_int_equal(img->width, 24);
    assert_int_equal(img->height, 16);
    for (int c = 0; c < 3; c++) assert_near(img->pixels[3 * (24 * 16 - 1) + c], grey);
    image_rgb_free(img);
    free(j.data);
}

/* Adobe CMYK is stored inverted (255 = no ink): C=255 M=128 Y=0 K=200 reads as R = 255*200/255. */
static void test_adobe_cmyk_becomes_rgb(void **state) {
    (void)state;
    const uint8_t cmyk[4] = {255, 128, 0, 200};
    jpeg_out j = encode(16, 16, JCS_CMYK, 4, cmyk, NULL, 0, 0);
    image_decode_status st;
    char err[256];
    image_rgb *img = decode(&j, &st, err, sizeof err);
    if (!img) fail_msg("CMYK JPEG refused: %s", err);
    assert_near(img->pixels[0], 200);
    assert_near(img->pixels[1], 128 * 200 / 255);
    assert_near(img->pixels[2], 0);
    image_rgb_free(img);
    free(j.data);
}

static void test_progressive_decodes(void **state) {
    (void)state;
    const uint8_t rgb[3] = {200, 40, 90};
    jpeg_out j = encode(40, 30, JCS_RGB, 3, rgb, NULL, 0, 1);
    image_decode_status st;
    char err[256];
    image_rgb *img = decode(&j, &st, err, sizeof err);
    if (!img) fail_msg("progressive JPEG refused: %s", err);
    assert_int_equal(img->format, IMAGE_FMT_JPEG);
    assert_int_equal(img->width, 40);
    assert_int_equal(img->height, 30);
    for (int c = 0; c < 3; c++) assert_near(img->pixels[3 * 600 + c], rgb[c]);
    image_rgb_free(img);
    free(j.data);
}

/* A greyscale progressive script: one DC scan, then each AC coefficient k alone, first at
 * Al=al_first and refined one bit at a time: 1 + 63 * (al_first + 1) scans, all valid. */
static int many_scans(jpeg_scan_info *s, int al_first) {
    int n = 0;
    s[n++] = (jpeg_scan_info){.comps_in_scan = 1, .component_index = {0}, .Ss = 0, .Se = 0, .Ah = 0, .Al = 0};
    for (int k = 1; k <= 63; k++) {
        s[n++] = (jpeg_scan_info){.comps_in_scan = 1, .Ss = k, .Se = k, .Ah = 0, .Al = al_first};
        for (int al = al_first; al > 0; al--)
            s[n++] = (jpeg_scan_info){.comps_in_scan = 1, .Ss = k, .Se = k, .Ah = al, .Al = al - 1};
    }
    return n;
}

static void test_scan_limit(void **state) {
    (void)state;
    static jpeg_scan_info scans[1 + 63 * 11];
    uint8_t grey = 130;
    /* 1 + 63*7 = 442 scans: under the limit, decodes. */
    int n = many_scans(scans, 6);
    assert_true(n <= IMAGE_JPEG_MAX_SCANS);
    jpeg_out j = encode(16, 16, JCS_GRAYSCALE, 1, &grey, scans, n, 0);
    image_decode_status st;
    char err[256];
    image_rgb *img = decode(&j, &st, err, sizeof err);
    if (!img) fail_msg("%d scans refused: %s", n, err);
    assert_near(img->pixels[0], grey);
    image_rgb_free(img);
    free(j.data);
    /* 1 + 63*9 = 568 scans: refused as corrupt, with the reason. */
    n = many_scans(scans, 8);
    assert_true(n > IMAGE_JPEG_MAX_SCANS);
    j = encode(16, 16, JCS_GRAYSCALE, 1, &grey, scans, n, 0);
    assert_null(decode(&j, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    assert_non_null(strstr(err, "scans"));
    free(j.data);
}

/* libjpeg would fill a truncated scan with grey and only warn; a warning is a refusal here. */
static void test_truncated_is_refused_with_libjpeg_reason(void **state) {
    (void)state;
    const uint8_t rgb[3] = {10, 220, 30};
    jpeg_out j = encode(64, 64, JCS_RGB, 3, rgb, NULL, 0, 0);
    j.len = j.len * 2 / 3;
    image_decode_status st = IMAGE_DECODE_OK;
    char err[256] = "";
    assert_null(decode(&j, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    assert_non_null(strstr(err, "jpeg: damaged data"));
    free(j.data);
}

/* The header walk and libjpeg must agree before pixels are allocated: a frame header that
 * declares more than the limit is TOO_LARGE, whoever reads it. */
static void test_limits_apply_to_libjpeg_header(void **state) {
    (void)state;
    const uint8_t rgb[3] = {1, 2, 3};
    jpeg_out j = encode(300, 10, JCS_RGB, 3, rgb, NULL, 0, 0);
    image_decode_limits lim = {.max_pixels = 2000, .max_side = 0};
    image_decode_status st = IMAGE_DECODE_OK;
    char err[256];
    assert_null(image_decode_new(j.data, j.len, &lim, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    /* The decoder's own check, called directly (the header walk is image_decode_new's). */
    uint32_t w = 0, h = 0;
    image_jpeg_status js = IMAGE_JPEG_OK;
    assert_null(image_jpeg_decode_new(j.data, j.len, 65535, 2999, &w, &h, NULL, &js, err, sizeof err));
    assert_int_equal(js, IMAGE_JPEG_TOO_LARGE);
    uint8_t *px = image_jpeg_decode_new(j.data, j.len, 65535, 3000, &w, &h, NULL, &js, err, sizeof err);
    assert_non_null(px);
    assert_int_equal(js, IMAGE_JPEG_OK);
    assert_int_equal(w, 300);
    free(px);
    free(j.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greyscale_becomes_rgb),
        cmocka_unit_test(test_adobe_cmyk_becomes_rgb),
        cmocka_unit_test(test_progressive_decodes),
        cmocka_unit_test(test_scan_limit),
        cmocka_unit_test(test_truncated_is_refused_with_libjpeg_reason),
        cmocka_unit_test(test_limits_apply_to_libjpeg_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
