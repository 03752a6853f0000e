/* EXIF orientation: our reader on EXIF blocks written here (all eight orientations, both byte
 * orders) and on malformed ones; then a JPEG carrying orientation 6 (stored landscape, shown
 * portrait) through image_decode_new and the analyser: the facts are what a person sees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bf_test_image.h"
#include "image_analyse.h"
#include "image_decode.h"
#include "image_exif.h"

static void test_all_orientations_both_byte_orders(void **state) {
    (void)state;
    for (int be = 0; be <= 1; be++)
        for (int o = 1; o <= 8; o++) {
            bf_test_bytes a = {0};
            assert_int_equal(bf_test_exif_app1(o, be, &a), 0);
            assert_int_equal(image_exif_app1_orientation(a.data, a.len), o);
            assert_int_equal(image_exif_tiff_orientation(a.data + 6, a.len - 6), o);
            assert_int_equal(image_exif_swaps_sides(o), o >= 5);
            free(a.data);
        }
}

static void test_malformed_blocks_mean_as_stored(void **state) {
    (void)state;
    bf_test_bytes a = {0};
    assert_int_equal(bf_test_exif_app1(6, 0, &a), 0);
    uint8_t *t = a.data + 6; /* the TIFF structure: header, IFD0 at 8, three entries */
    size_t n = a.len - 6;
    uint8_t *copy = malloc(a.len);
    /* Every cut of the block is either read (the orientation entry is whole) or refused. */
    for (size_t cut = 0; cut < n; cut++) {
        int o = image_exif_tiff_orientation(t, cut);
        assert_true(o == 0 || (o == 6 && cut >= 10 + 3 * 12));
    }
    struct {
        size_t at;
        uint8_t value;
        const char *what;
    } damage[] = {
        {0, 'X', "byte order"},
        {2, 43, "magic 42"},
        {4, 0xf0, "IFD0 offset past the end"},
        {4, 4, "IFD0 offset inside the header"},
        {10 + 24 + 2, 4, "orientation typed LONG"},
        {10 + 24 + 4, 2, "orientation count 2"},
        {10 + 24 + 8, 9, "orientation 9"},
        {10 + 24 + 8, 0, "orientation 0"},
        {10 + 24, 0x13, "tag 0x0113, not orientation"},
    };
    for (size_t i = 0; i < sizeof damage / sizeof damage[0]; i++) {
        memcpy(copy, a.data, a.len);
        copy[6 + damage[i].at] = damage[i].value;
        if (image_exif_app1_orientation(copy, a.len) != 0) fail_msg("read an orientation despite: %s", damage[i].what);
    }
    /* A count claiming 65535 entries: only those that fit are read, the orientation among them. */
    memcpy(copy, a.data, a.len);
    copy[6 + 8] = 0xff, copy[6 + 9] = 0xff;
    assert_int_equal(image_exif_app1_orientation(copy, a.len), 6);
    /* Another APP1 (XMP) and a missing header. */
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    assert_int_equal(image_exif_app1_orientation((const uint8_t *)xmp, sizeof xmp), 0);
    assert_int_equal(image_exif_app1_orientation(a.data + 6, a.len - 6), 0);
    assert_int_equal(image_exif_app1_orientation(NULL, 0), 0);
    assert_int_equal(image_exif_tiff_orientation(NULL, 100), 0);
    free(copy);
    free(a.data);
}

static const uint8_t RED[3] = {220, 30, 30}, BLUE[3] = {30, 30, 220};

/* A 64x32 JPEG (stored landscape) with the given APP1 payload. */
static bf_test_bytes jpeg_with(const bf_test_bytes *app1) {
    uint8_t *px = bf_test_two_colour_new(64, 32, 16, RED, BLUE);
    bf_test_bytes j = {0};
    char err[128];
    if (bf_test_jpeg_encode(px, 64, 32, app1, &j, err, sizeof err) != 0) fail_msg("%s", err);
    free(px);
    return j;
}

static void test_jpeg_orientation_6_is_portrait(void **state) {
    (void)state;
    image_facts upright;
    memset(&upright, 0, sizeof upright);
    for (int o = 1; o <= 8; o++) {
        bf_test_bytes a = {0};
        assert_int_equal(bf_test_exif_app1(o, o % 2, &a), 0);
        bf_test_bytes j = jpeg_with(&a);
        image_decode_status st;
        char err[256];
        image_rgb *img = image_decode_new(j.data, j.len, NULL, &st, err, sizeof err);
        if (!img) fail_msg("%s", err);
        assert_int_equal(img->orientation, o);
        assert_int_equal(img->width, 64); /* stored as it was written */
        image_facts f;
        assert_int_equal(image_analyse(img, &f, err, sizeof err), 0);
        if (o >= 5) {
            assert_int_equal(f.width, 32);
            assert_int_equal(f.height, 64);
            assert_int_equal(f.orientation, BF_ORIENT_PORTRAIT);
        } else {
            assert_int_equal(f.width, 64);
            assert_int_equal(f.height, 32);
            assert_int_equal(f.orientation, BF_ORIENT_LANDSCAPE);
        }
        /* Turning changes no colour measure: the same as the upright picture's. */
        if (o == 1) upright = f;
        assert_int_equal(f.n_palette, upright.n_palette);
        assert_memory_equal(f.palette, upright.palette, sizeof f.palette);
        assert_true(f.brightness == upright.brightness && f.saturation == upright.saturation);
        assert_true(f.palette[0].share > 0.6 && f.palette[0].share < 0.8); /* the blue three quarters */
        image_rgb_free(img);
        free(j.data);
        free(a.data);
    }
}

static void test_jpeg_without_exif_or_with_xmp_only(void **state) {
    (void)state;
    bf_test_bytes j = jpeg_with(NULL);
    image_decode_status st;
    char err[256];
    image_rgb *img = image_decode_new(j.data, j.len, NULL, &st, err, sizeof err);
    if (!img) fail_msg("%s", err);
    assert_int_equal(img->orientation, 0);
    image_rgb_free(img);
    free(j.data);
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>";
    bf_test_bytes x = {(uint8_t *)xmp, sizeof xmp};
    j = jpeg_with(&x);
    img = image_decode_new(j.data, j.len, NULL, &st, err, sizeof err);
    if (!img) fail_msg("%s", err);
    assert_int_equal(img->orientation, 0);
    image_rgb_free(img);
    free(j.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_orientations_both_byte_orders),
        cmocka_unit_test(test_malformed_blocks_mean_as_stored),
        cmocka_unit_test(test_jpeg_orientation_6_is_portrait),
        cmocka_unit_test(test_jpeg_without_exif_or_with_xmp_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
