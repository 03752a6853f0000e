/* image_decode: PNG, JPEG, GIF and BMP decode to RGB (WebP and HEIC/AVIF have their own tests:
 * test_image_webp.c, test_image_heif.c); everything else, damaged files and decompression bombs
 * are refused with the right status before pixels are allocated. Images are generated here with
 * stb_image_write (from libstb) or written byte by byte (tests/support/image). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "bf_test_image.h"
#include "image_decode.h"

typedef struct membuf {
    uint8_t *data;
    size_t len;
} membuf;

static void mem_write(void *ctx, void *data, int size) {
    membuf *m = ctx;
    m->data = realloc(m->data, m->len + (size_t)size);
    memcpy(m->data + m->len, data, (size_t)size);
    m->len += (size_t)size;
}

static uint8_t *solid_new(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++) p[3 * i] = r, p[3 * i + 1] = g, p[3 * i + 2] = b;
    return p;
}

static membuf encode(char kind, int w, int h, const uint8_t *px) {
    membuf m = {0};
    int ok = kind == 'p'   ? stbi_write_png_to_func(mem_write, &m, w, h, 3, px, w * 3)
             : kind == 'j' ? stbi_write_jpg_to_func(mem_write, &m, w, h, 3, px, 90)
                           : stbi_write_bmp_to_func(mem_write, &m, w, h, 3, px);
    assert_true(ok);
    return m;
}

static image_rgb *decode(const membuf *m, image_decode_status *st, char *err, size_t errlen) {
    return image_decode_new(m->data, m->len, NULL, st, err, errlen);
}

static void test_png_decodes_to_rgb(void **state) {
    (void)state;
    uint8_t *px = solid_new(7, 5, 10, 200, 30);
    membuf m = encode('p', 7, 5, px);
    image_decode_status st;
    char err[256];
    image_rgb *img = decode(&m, &st, err, sizeof err);
    assert_non_null(img);
    assert_int_equal(st, IMAGE_DECODE_OK);
    assert_int_equal(img->width, 7);
    assert_int_equal(img->height, 5);
    assert_int_equal(img->format, IMAGE_FMT_PNG);
    assert_memory_equal(img->pixels, px, 7 * 5 * 3);
    image_rgb_free(img);
    free(px);
    free(m.data);
}

static void test_jpeg_and_bmp_accepted(void **state) {
    (void)state;
    uint8_t *px = solid_new(16, 8, 255, 0, 0);
    char err[256];
    image_decode_status st;
    membuf j = encode('j', 16, 8, px);
    image_rgb *img = decode(&j, &st, err, sizeof err);
    assert_non_null(img);
    assert_int_equal(img->format, IMAGE_FMT_JPEG);
    assert_int_equal(img->width, 16);
    assert_true(img->pixels[0] > 200 && img->pixels[1] < 60); /* still red after JPEG */
    image_rgb_free(img);
    membuf b = encode('b', 16, 8, px);
    img = decode(&b, &st, err, sizeof err);
    assert_non_null(img);
    assert_int_equal(img->format, IMAGE_FMT_BMP);
    assert_memory_equal(img->pixels, px, 16 * 8 * 3);
    image_rgb_free(img);
    free(px);
    free(j.data);
    free(b.data);
}

static void test_gif_first_frame(void **state) {
    (void)state;
    /* 1x1 GIF89a, global palette {red, black}, one pixel of index 0. */
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0xff, 0, 0, 0, 0, 0,
                                  ',', 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 'D', 1, 0, ';'};
    image_decode_status st;
    char err[256];
    image_rgb *img = image_decode_new(gif, sizeof gif, NULL, &st, err, sizeof err);
    if (!img) fail_msg("gif: %s", err);
    assert_int_equal(img->format, IMAGE_FMT_GIF);
    assert_int_equal(img->width, 1);
    assert_int_equal(img->pixels[0], 255);
    assert_int_equal(img->pixels[1], 0);
    assert_int_equal(img->pixels[2], 0);
    image_rgb_free(img);
}

static void test_animated_gif_first_frame(void **state) {
    (void)state;
    /* Three full-screen frames, red, green, blue: the first one is what is analysed. */
    static const uint8_t colours[][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    bf_test_bytes g = {0};
    assert_int_equal(bf_test_gif_anim_encode(colours, 3, 12, 7, &g), 0);
    /* It is an animation: stb_image's all-frames loader sees three, the last one blue. */
    int *delays = NULL, x = 0, y = 0, frames = 0, comp = 0;
    uint8_t *all = stbi_load_gif_from_memory(g.data, (int)g.len, &delays, &x, &y, &frames, &comp, 3);
    assert_non_null(all);
    assert_int_equal(frames, 3);
    assert_int_equal(all[2 * 12 * 7 * 3 + 2], 255);
    assert_int_equal(all[2 * 12 * 7 * 3], 0);
    stbi_image_free(all);
    stbi_image_free(delays);
    image_decode_status st;
    char err[256];
    image_rgb *img = image_decode_new(g.data, g.len, NULL, &st, err, sizeof err);
    if (!img) fail_msg("gif: %s", err);
    assert_int_equal(img->format, IMAGE_FMT_GIF);
    assert_int_equal(img->width, 12);
    assert_int_equal(img->height, 7);
    for (size_t i = 0; i < 12 * 7; i++) {
        assert_int_equal(img->pixels[3 * i], 255);
        assert_int_equal(img->pixels[3 * i + 1], 0);
        assert_int_equal(img->pixels[3 * i + 2], 0);
    }
    image_rgb_free(img);
    free(g.data);
}

static void test_corrupt_png(void **state) {
    (void)state;
    uint8_t *px = solid_new(32, 32, 1, 2, 3);
    membuf m = encode('p', 32, 32, px);
    /* Damage the compressed pixel data, keep the header. */
    for (size_t i = 40; i < m.len - 12; i++) m.data[i] ^= 0x5a;
    image_decode_status st;
    char err[256];
    assert_null(decode(&m, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    assert_string_equal(image_decode_status_code(st), "image_corrupt");
    assert_non_null(strstr(err, "png"));
    free(px);
    free(m.data);
}

static void test_truncated_jpeg(void **state) {
    (void)state;
    uint8_t *px = solid_new(64, 64, 90, 90, 200);
    for (int i = 0; i < 64 * 64 * 3; i++) px[i] = (uint8_t)(px[i] ^ (i * 31));
    membuf m = encode('j', 64, 64, px);
    m.len = m.len / 3;
    image_decode_status st;
    char err[256];
    /* libjpeg would fill the missing rows with grey and warn; facts about filler are worse than
     * none, so a truncated scan is refused. */
    assert_null(decode(&m, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    m.len = 20; /* cut inside the headers: no frame header to read */
    assert_null(decode(&m, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_CORRUPT);
    free(px);
    free(m.data);
}

static void test_text_and_unknown_formats_refused(void **state) {
    (void)state;
#define IN(lit) {lit, sizeof lit - 1}
    static const struct {
        const char *bytes;
        size_t len;
    } inputs[] = {
        IN("hello, this is a text file\n"),
        IN("RIFF\x10\0\0\0AVI LIST"),      /* AVI: RIFF, but not WebP */
        IN("\0\0\0\x18" "ftypisom\0\0\0\0isomavc1"), /* MP4 video */
        IN("II*\0\x08\0\0\0"),             /* TIFF */
        IN("8BPS\0\x01"),                   /* PSD: stb could decode it, we do not accept it */
        IN("P6\n1 1\n255\n\xff\0\0"),       /* PNM */
        IN("<svg xmlns='http://www.w3.org/2000/svg'/>"),
    };
#undef IN
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        image_decode_status st = IMAGE_DECODE_OK;
        char err[256];
        assert_null(image_decode_new(inputs[i].bytes, inputs[i].len, NULL, &st, err, sizeof err));
        assert_int_equal(st, IMAGE_DECODE_UNSUPPORTED);
        assert_string_equal(image_decode_status_code(st), "image_unsupported");
        assert_non_null(strstr(err, "unsupported image format"));
    }
    image_decode_status st;
    char err[256];
    assert_null(image_decode_new("", 0, NULL, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_UNSUPPORTED);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void test_png_bomb_refused_before_allocation(void **state) {
    (void)state;
    /* A valid-looking PNG header declaring 100000x100000 (10 gigapixels) with a few bytes of data. */
    uint8_t png[64] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    put_be32(png + 16, 100000);
    put_be32(png + 20, 100000);
    png[24] = 8;  /* bit depth */
    png[25] = 2;  /* RGB */
    image_decode_status st;
    char err[256];
    assert_null(image_decode_new(png, sizeof png, NULL, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    assert_string_equal(image_decode_status_code(st), "image_too_large");
    assert_non_null(strstr(err, "100000x100000"));

    uint64_t w, h;
    image_format f;
    assert_int_equal(image_declared_size(png, sizeof png, &f, &w, &h), 0);
    assert_int_equal(f, IMAGE_FMT_PNG);
    assert_int_equal(w, 100000);
}

static void test_limits_are_parameters(void **state) {
    (void)state;
    uint8_t *px = solid_new(100, 100, 0, 0, 0);
    membuf m = encode('p', 100, 100, px);
    image_decode_status st;
    char err[256];
    image_decode_limits tight = {.max_pixels = 5000};
    assert_null(image_decode_new(m.data, m.len, &tight, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    image_decode_limits side = {.max_side = 99};
    assert_null(image_decode_new(m.data, m.len, &side, &st, err, sizeof err));
    assert_int_equal(st, IMAGE_DECODE_TOO_LARGE);
    image_decode_limits ok = {.max_pixels = 10000, .max_side = 100};
    image_rgb *img = image_decode_new(m.data, m.len, &ok, &st, err, sizeof err);
    assert_non_null(img);
    image_rgb_free(img);
    free(px);
    free(m.data);
}

static void test_jpeg_declared_size(void **state) {
    (void)state;
    uint8_t *px = solid_new(33, 17, 5, 5, 5);
    membuf m = encode('j', 33, 17, px);
    uint64_t w = 0, h = 0;
    assert_int_equal(image_declared_size(m.data, m.len, NULL, &w, &h), 0);
    assert_int_equal(w, 33);
    assert_int_equal(h, 17);
    free(px);
    free(m.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_decodes_to_rgb),
        cmocka_unit_test(test_jpeg_and_bmp_accepted),
        cmocka_unit_test(test_gif_first_frame),
        cmocka_unit_test(test_animated_gif_first_frame),
        cmocka_unit_test(test_corrupt_png),
        cmocka_unit_test(test_truncated_jpeg),
        cmocka_unit_test(test_text_and_unknown_formats_refused),
        cmocka_unit_test(test_png_bomb_refused_before_allocation),
        cmocka_unit_test(test_limits_are_parameters),
        cmocka_unit_test(test_jpeg_declared_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
