/* image_heif through image_decode_new: HEIC (HEVC) and AVIF (AV1) files made here with libheif's
 * own encoders (x265, libaom) decode to their colours; the file's irot/imir transform is applied,
 * so a landscape-stored picture marked "rotate 90" comes out portrait, the way a person sees it;
 * the brands tell HEIC from AVIF from a video; bombs, truncations and damage are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_test_image.h"
#include "image_decode.h"
#include "image_heif.h"
#include "image_heif_grid.h"

static const uint8_t RED[3] = {230, 20, 20}, BLUE[3] = {20, 20, 230};

static bf_test_bytes heif_of(const uint8_t *px, int w, int h, int av1, int orientation) {
    bf_test_bytes b = {0};
    char err[256];
    if (bf_test_heif_encode(px, w, h, av1, orientation, &b, err, sizeof err) != 0) fail_msg("%s", err);
    return b;
}

static int near(const uint8_t *p, const uint8_t want[3]) {
    for (int c = 0; c < 3; c++)
        if (abs((int)p[c] - (int)want[c]) > 24) return 0;
    return 1;
}

static const uint8_t *px_at(const image_rgb *img, uint32_t x, uint32_t y) {
    return img->pixels + ((size_t)y * img->width + x) * 3;
}

/* 64x32 stored: red left quarter, blue elsewhere. */
static void check_format(int av1, image_format want, const char *name) {
    uint8_t *px = bf_test_two_colour_new(64, 32, 16, RED, BLUE);
    bf_test_bytes b = heif_of(px, 64, 32, av1, 0);
    assert_int_equal(image_format_sniff(b.data, b.len), want);
    assert_string_equal(image_format_name(want), name);
    uint64_t w = 0, h = 0;
    assert_int_equal(image_declared_size(b.data, b.len, NULL, &w, &h), 0);
    assert_int_equal(w, 64);
    assert_int_equal(h, 32);
    image_decode_status st;
    char err[256];
    image_rgb *img = image_decode_new(b.data, b.len, NULL, &st, err, sizeof err);
    if (!img) fail_msg("%s: %s", name, err);
    assert_int_equal(img->format, want);
    assert_int_equal(img->width, 64);
    assert_int_equal(img->height, 32);
    assert_true(img->orientation == 0 || img->orientation == 1);
    assert_true(near(px_at(img, 4, 16), RED));
    assert_true(near(px_at(img, 48, 16), BLUE));
    image_rgb_free(img);
    free(b.data);
    free(px);
}

static void test_heic_decodes(void **state) {
    (void)state;
    check_format(0, IMAGE_FMT_HEIC, "heic");
}

static void test_avif_decodes(void **state) {
    (void)state;
    check_format(1, IMAGE_FMT_AVIF, "avif");
}

/* Stored 64x32 landscape with the red quarter on the left, marked with EXIF-style orientation o
 * (libheif writes irot/imir): decoded as shown. 6 = turn 90 degrees clockwise: the left edge
 * becomes the top, so the picture is 32x64 with red at the top. */
static void test_heic_transform_applied(void **state) {
    (void)state;
    static const struct {
        int orientation;
        uint32_t w, h;
        uint32_t red_x, red_y, blue_x, blue_y; /* a pixel well inside each colour, as shown */
    } cases[] = {
        {1, 64, 32, 4, 16, 48, 16},
        {2, 64, 32, 60, 16, 16, 16}, /* mirrored: red on the right */
        {3, 64, 32, 60, 16, 16, 16}, /* 180 degrees */
        {4, 64, 32, 4, 16, 48, 16},  /* flipped top to bottom: the halves stay */
        {5, 32, 64, 16, 4, 16, 48},  /* transposed: the left edge becomes the top */
        {6, 32, 64, 16, 4, 16, 48},  /* 90 clockwise: red on top */
        {7, 32, 64, 16, 60, 16, 16}, /* transverse: the left edge becomes the bottom */
        {8, 32, 64, 16, 60, 16, 16}, /* 90 anticlockwise: red at the bottom */
    };
    uint8_t *px = bf_test_two_colour_new(64, 32, 16, RED, BLUE);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bf_test_bytes b = heif_of(px, 64, 32, 0, cases[i].orientation);
        uint64_t dw = 0, dh = 0;
        assert_int_equal(image_declared_size(b.data, b.len, NULL, &dw, &dh), 0);
        assert_int_equal(dw, cases[i].w);
        assert_int_equal(dh, cases[i].h);
        image_decode_status st;
        char err[256];
        image_rgb *img = image_decode_new(b.data, b.len, NULL, &st, err, sizeof err);
        if (!img) fail_msg("orientation %d: %s", cases[i].orientation, err);
        print_message("orientation %d -> %ux%u\n", cases[i].orientation, img->width, img->height);
        assert_int_equal(img->width, cases[i].w);
        assert_int_equal(img->height, cases[i].h);
        uint32_t sw, sh;
        image_rgb_shown_size(img, &sw, &sh); /* already turned: nothing more to swap */
        assert_int_equal(sw, cases[i].w);
        assert_int_equal(sh, cases[i].h);
        assert_true(near(px_at(img, cases[i].red_x, cases[i].red_y), RED));
        assert_true(near(px_at(img, cases[i].blue_x, cases[i].blue_y), BLUE));
        image_rgb_free(img);
        free(b.data);
    }
    free(px);
}

static void test_heif_alpha_dropped(void **state) {
    (void)state;
    /* RGBA: left half opaque red, right half blue at alpha 0 (the colour stored under it counts). */
    uint8_t *px = malloc(32 * 16 * 4);
    for (int i = 0; i < 32 * 16; i++) {
        int left = i % 32 < 16;
        memcpy(px + 4 * i, left ? RED : BLUE, 3);
        px[4 * i + 3] = left ? 255 : 0;
    }
    for (int av1 = 0; av1 <= 1; av1++) {
        bf_test_bytes b = {0};
        char err[256];
        if (bf_test_heif_encode_rgba(px, 32, 16, av1, &b, err, sizeof err) != 0) fail_msg("%s", err);
        image_decode_status st;
        image_rgb *img = image_decode_new(b.data, b.len, NULL, &st, err, sizeof err);
        if (!img) fail_msg("%s", err);
        assert_int_equal(img->width, 32);
        assert_int_equal(img->height, 16);
        assert_true(near(px_at(img, 4, 8), RED));
        /* Four pixels right of the edge: a copy that walked the RGBA rows 3 bytes at a time would
         * find red here. */
        assert_true(near(px_at(img, 20, 8), BLUE));
        assert_true(near(px_at(img, 28, 8), BLUE));
        image_rgb_free(img);
        free(b.data);
    }
    free(px);
}

static void test_heif_limits_checked_before_decoding(void **state) {
    (void)state;
    uint8_t *px = bf_test_two_colour_new(64, 32, 16, RED, BLUE);
    bf_test_bytes b = heif_of(px, 64, 32, 0, 6);
    image_decode_status st;
    char err[256];
    image_decode_limits few = {.max_pixels = 2047};
    assert_null(image_decode_new(b.data, b.len, &few, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    assert_non_null(strstr(err, "heic"));
    /* Shown 32x64: a side limit of 63 refuses it by its height. */
    image_decode_limits side = {.max_side = 63};
    assert_null(image_decode_new(b.data, b.len, &side, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    image_decode_limits ok = {.max_pixels = 2048, .max_side = 64};
    image_rgb *img = image_decode_new(b.data, b.len, &ok, &st, err, sizeof err);
    if (!img) fail_msg("%s", err);
    image_rgb_free(img);
    free(b.data);
    free(px);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void test_heif_declared_bomb_refused(void **state) {
    (void)state;
    /* The encoder's file with its ispe (image spatial extents) box rewritten to 60000x60000:
     * refused from the container, before any pixels are decoded. */
    uint8_t *px = bf_test_two_colour_new(64, 32, 16, RED, BLUE);
    bf_test_bytes b = heif_of(px, 64, 32, 0, 0);
    int patched = 0;
    for (size_t i = 4; i + 16 <= b.len; i++)
        if (memcmp(b.data + i, "ispe", 4) == 0) {
            put_be32(b.data + i + 8, 60000);
            put_be32(b.data + i + 12, 60000);
            patched++;
        }
    assert_true(patched >= 1);
    image_decode_status st;
    char err[256];
    assert_null(image_decode_new(b.data, b.len, NULL, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    print_message("bomb: %s\n", err);
    free(b.data);
    free(px);
}

static uint8_t *corpus_file_new(const char *name, size_t *len) {
    const char *src = getenv("BF_SOURCE_DIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/image_heif/%s", src, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    static uint8_t buf[1 << 16];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint8_t *out = malloc(*len);
    memcpy(out, buf, *len);
    return out;
}

static void test_grid_canvas_checked_before_libheif_allocates(void **state) {
    (void)state;
    /* A fuzzed HEIC whose primary item is a 1x1 grid declaring a 65255x65527 canvas while its ispe
     * says 8x24: libheif 1.15 would allocate the canvas (4 GB and more). The corpus file starts
     * with the fuzz target's limits byte. */
    size_t len;
    uint8_t *f = corpus_file_new("regress-grid-declares-65255x65527", &len);
    const uint8_t *heic = f + 1;
    size_t n = len - 1;
    uint64_t w, h;
    size_t count;
    assert_int_equal(image_heif_grid_canvas(heic, n, &w, &h, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(w, 65255);
    assert_int_equal(h, 65527);
    image_decode_status st;
    char err[256];
    assert_null(image_decode_new(heic, n, NULL, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    assert_non_null(strstr(err, "65255x65527 grid"));
    /* The same file with the grid's canvas made 8x24 (its idat bytes): no longer too large. */
    uint8_t *idat = NULL;
    for (size_t i = 4; i + 12 <= n; i++)
        if (memcmp(heic + i, "idat", 4) == 0) idat = (uint8_t *)heic + i + 4;
    assert_non_null(idat);
    assert_memory_equal(idat + 4, "\xfe\xe7\xff\xf7", 4);
    memcpy(idat + 4, "\x00\x08\x00\x18", 4);
    assert_int_equal(image_heif_grid_canvas(heic, n, &w, &h, &count), 0);
    assert_int_equal(w, 8);
    assert_int_equal(h, 24);
    image_rgb *img = image_decode_new(heic, n, NULL, &st, err, sizeof err);
    if (img) image_rgb_free(img);
    else assert_int_not_equal(st, IMAGE_DECODE_TOO_LARGE);
    /* Cut inside the grid header: refused as unreadable, never decoded. */
    uint8_t *meta = NULL;
    for (size_t i = 4; i + 4 <= n; i++)
        if (memcmp(heic + i, "meta", 4) == 0) meta = (uint8_t *)heic + i - 4;
    assert_non_null(meta);
    assert_int_equal(image_heif_grid_canvas(heic, (size_t)(idat + 6 - heic), &w, &h, &count), -1);
    /* libheif's own encoder wraps the coded picture in a 1x1 grid (its "macOS compatibility"
     * default): read, and the canvas is the picture's size. */
    uint8_t *px = bf_test_two_colour_new(20, 12, 4, RED, BLUE);
    bf_test_bytes b = heif_of(px, 20, 12, 0, 0);
    assert_int_equal(image_heif_grid_canvas(b.data, b.len, &w, &h, &count), 0);
    print_message("encoder's file: %zu derived item(s), canvas %llux%llu\n", count, (unsigned long long)w,
                  (unsigned long long)h);
    assert_true(count == 0 || (w == 20 && h == 12));
    free(b.data);
    free(px);
    free(f);
}

static void test_truncated_and_damaged_heif_refused(void **state) {
    (void)state;
    uint8_t *px = bf_test_two_colour_new(64, 64, 16, RED, BLUE);
    for (int i = 0; i < 64 * 64 * 3; i++) px[i] = (uint8_t)(px[i] ^ (i * 7));
    for (int av1 = 0; av1 <= 1; av1++) {
        bf_test_bytes b = heif_of(px, 64, 64, av1, 0);
        image_decode_status st;
        char err[256];
        bf_test_bytes cut = {b.data, b.len - 40}; /* the coded picture ends early */
        assert_null(image_decode_new(cut.data, cut.len, NULL, &st, err, sizeof err));
        assert_int_equal(st, IMAGE_DECODE_CORRUPT);
        cut.len = 24; /* the ftyp box only */
        assert_null(image_decode_new(cut.data, cut.len, NULL, &st, err, sizeof err));
        assert_int_equal(st, IMAGE_DECODE_CORRUPT);
        print_message("%s: %s\n", av1 ? "avif" : "heic", err);
        free(b.data);
    }
    free(px);
}

static void test_brands(void **state) {
    (void)state;
#define FTYP(major, compat) "\0\0\0\x18" "ftyp" major "\0\0\0\0" compat
    static const struct {
        const char *bytes;
        image_format want;
    } cases[] = {
        {FTYP("heic", "mif1heic"), IMAGE_FMT_HEIC},
        {FTYP("heix", "mif1heix"), IMAGE_FMT_HEIC},
        {FTYP("mif1", "mif1heic"), IMAGE_FMT_HEIC},
        {FTYP("avif", "mif1miaf"), IMAGE_FMT_AVIF},
        {FTYP("mif1", "miafavif"), IMAGE_FMT_AVIF},
        {FTYP("isom", "isomavc1"), IMAGE_FMT_UNKNOWN}, /* an MP4 video */
        {FTYP("qt  ", "qt  qt  "), IMAGE_FMT_UNKNOWN}, /* a QuickTime movie */
        {FTYP("mif1", "mif1jpeg"), IMAGE_FMT_UNKNOWN}, /* JPEG inside HEIF */
    };
#undef FTYP
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(image_format_sniff(cases[i].bytes, 24), cases[i].want);
    /* A box size beyond the bytes at hand: only what is there is read. */
    assert_int_equal(image_format_sniff("\0\0\xff\xff" "ftypmif1\0\0\0\0avif", 20), IMAGE_FMT_AVIF);
    assert_int_equal(image_format_sniff("\0\0\xff\xff" "ftypmif1\0\0\0\0av", 18), IMAGE_FMT_UNKNOWN);
    assert_int_equal(image_format_sniff("\0\0\0\x08" "ftypheic\0\0\0\0", 16), IMAGE_FMT_UNKNOWN); /* size < 16 */
    image_decode_status st;
    char err[256];
    assert_null(image_decode_new("\0\0\0\x18" "ftypisom\0\0\0\0isomavc1", 24, NULL, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_UNSUPPORTED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heic_decodes),
        cmocka_unit_test(test_avif_decodes),
        cmocka_unit_test(test_heic_transform_applied),
        cmocka_unit_test(test_heif_alpha_dropped),
        cmocka_unit_test(test_heif_limits_checked_before_decoding),
        cmocka_unit_test(test_heif_declared_bomb_refused),
        cmocka_unit_test(test_grid_canvas_checked_before_libheif_allocates),
        cmocka_unit_test(test_truncated_and_damaged_heif_refused),
        cmocka_unit_test(test_brands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
