/* image_analyse: palette shares, brightness, saturation, temperature, mood and orientation on
 * generated images, the documented rules in isolation, and determinism (same bytes, same facts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "bf_backoff.h"
#include "image_analyse.h"

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

static image_rgb *img_new(uint32_t w, uint32_t h) {
    image_rgb *img = calloc(1, sizeof *img);
    img->width = w;
    img->height = h;
    /* image_rgb_free releases with stbi_image_free, which is free() in the default build. */
    img->pixels = calloc((size_t)w * h, 3);
    return img;
}

static void fill(image_rgb *img, uint32_t x0, uint32_t x1, uint8_t r, uint8_t g, uint8_t b) {
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = x0; x < x1; x++) {
            uint8_t *p = img->pixels + 3 * ((size_t)y * img->width + x);
            p[0] = r, p[1] = g, p[2] = b;
        }
}

static image_facts analyse(const image_rgb *img) {
    image_facts f;
    char err[128];
    assert_int_equal(image_analyse(img, &f, err, sizeof err), 0);
    return f;
}

static void test_half_red_half_blue(void **state) {
    (void)state;
    image_rgb *img = img_new(200, 100);
    fill(img, 0, 100, 255, 0, 0);
    fill(img, 100, 200, 0, 0, 255);
    image_facts f = analyse(img);
    assert_int_equal(f.n_palette, 2);
    int red = strcmp(f.palette[0].hex, "#ff0000") == 0 ? 0 : 1;
    assert_string_equal(f.palette[red].hex, "#ff0000");
    assert_string_equal(f.palette[1 - red].hex, "#0000ff");
    assert_true(fabs(f.palette[0].share - 0.5) < 0.02);
    assert_true(fabs(f.palette[1].share - 0.5) < 0.02);
    assert_true(fabs(f.saturation - 1.0) < 1e-9);
    assert_int_equal(f.temperature, BF_TEMP_NEUTRAL); /* red and blue balance out */
    assert_int_equal(f.orientation, BF_ORIENT_LANDSCAPE);
    assert_int_equal(f.width, 200);
    assert_int_equal(f.height, 100);
    image_rgb_free(img);
}

static void test_black_is_dark(void **state) {
    (void)state;
    image_rgb *img = img_new(64, 64);
    image_facts f = analyse(img);
    assert_true(f.brightness == 0);
    assert_true(f.saturation == 0);
    assert_true(f.contrast == 0);
    assert_int_equal(f.mood, BF_MOOD_DARK);
    assert_int_equal(f.temperature, BF_TEMP_NEUTRAL);
    assert_int_equal(f.n_palette, 1);
    assert_string_equal(f.palette[0].hex, "#000000");
    assert_true(f.palette[0].share == 1.0);
    assert_int_equal(f.orientation, BF_ORIENT_SQUARE);
    image_rgb_free(img);
}

static void test_white_is_bright(void **state) {
    (void)state;
    image_rgb *img = img_new(50, 100);
    fill(img, 0, 50, 255, 255, 255);
    image_facts f = analyse(img);
    assert_true(fabs(f.brightness - 1.0) < 1e-9);
    assert_true(f.saturation == 0);
    assert_int_equal(f.mood, BF_MOOD_BRIGHT);
    assert_int_equal(f.orientation, BF_ORIENT_PORTRAIT);
    assert_string_equal(f.palette[0].hex, "#ffffff");
    image_rgb_free(img);
}

static void test_black_and_white_halves_high_contrast(void **state) {
    (void)state;
    image_rgb *img = img_new(100, 100);
    fill(img, 50, 100, 255, 255, 255);
    image_facts f = analyse(img);
    assert_true(fabs(f.contrast - 1.0) < 1e-6);
    assert_true(fabs(f.brightness - 0.5) < 1e-6);
    assert_int_equal(f.mood, BF_MOOD_ELEGANT);
    image_rgb_free(img);
}

static void test_temperature(void **state) {
    (void)state;
    image_rgb *img = img_new(10, 10);
    fill(img, 0, 10, 240, 140, 40); /* orange */
    assert_int_equal(analyse(img).temperature, BF_TEMP_WARM);
    fill(img, 0, 10, 40, 120, 220); /* sky blue */
    assert_int_equal(analyse(img).temperature, BF_TEMP_COOL);
    fill(img, 0, 10, 128, 128, 128);
    assert_int_equal(analyse(img).temperature, BF_TEMP_NEUTRAL);
    image_rgb_free(img);
    assert_int_equal(image_temperature_rule(0.08), BF_TEMP_NEUTRAL);
    assert_int_equal(image_temperature_rule(0.081), BF_TEMP_WARM);
    assert_int_equal(image_temperature_rule(-0.081), BF_TEMP_COOL);
}

static void test_orientation_rule(void **state) {
    (void)state;
    assert_int_equal(image_orientation_rule(100, 100), BF_ORIENT_SQUARE);
    assert_int_equal(image_orientation_rule(1000, 1015), BF_ORIENT_SQUARE); /* within 2% */
    assert_int_equal(image_orientation_rule(1000, 1100), BF_ORIENT_PORTRAIT);
    assert_int_equal(image_orientation_rule(1920, 1080), BF_ORIENT_LANDSCAPE);
    assert_int_equal(image_orientation_rule(1, 1), BF_ORIENT_SQUARE);
}

static void test_mood_rules_table(void **state) {
    (void)state;
    bf_palette_entry three[3] = {{"#ff0000", 0.4}, {"#00ff00", 0.3}, {"#0000ff", 0.3}};
    bf_palette_entry one[1] = {{"#808080", 1.0}};
    /* brightness, contrast, saturation -> mood; the order of docs/image-analysis.md. */
    assert_int_equal(image_mood_rule(0.30, 0.50, 0.2, one, 1), BF_MOOD_DRAMATIC);
    assert_int_equal(image_mood_rule(0.10, 0.10, 0.9, one, 1), BF_MOOD_DARK);
    assert_int_equal(image_mood_rule(0.50, 0.30, 0.70, one, 1), BF_MOOD_ENERGETIC);
    assert_int_equal(image_mood_rule(0.50, 0.10, 0.70, one, 1), BF_MOOD_VIBRANT);
    assert_int_equal(image_mood_rule(0.70, 0.10, 0.45, three, 3), BF_MOOD_PLAYFUL);
    assert_int_equal(image_mood_rule(0.70, 0.10, 0.45, one, 1), BF_MOOD_NEUTRAL);
    assert_int_equal(image_mood_rule(0.85, 0.10, 0.10, one, 1), BF_MOOD_BRIGHT);
    assert_int_equal(image_mood_rule(0.60, 0.10, 0.20, one, 1), BF_MOOD_CALM);
    assert_int_equal(image_mood_rule(0.50, 0.30, 0.10, one, 1), BF_MOOD_ELEGANT);
    assert_int_equal(image_mood_rule(0.30, 0.10, 0.20, one, 1), BF_MOOD_MUTED);
    assert_int_equal(image_mood_rule(0.50, 0.30, 0.40, one, 1), BF_MOOD_NEUTRAL);
}

static void test_same_bytes_same_facts(void **state) {
    (void)state;
    /* A noisy 300x200 image (many colours), encoded to PNG, decoded and analysed twice. */
    bf_rng rng;
    bf_rng_seed(&rng, 2024);
    uint32_t w = 300, h = 200;
    uint8_t *px = malloc((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) px[i] = (uint8_t)bf_rng_next(&rng);
    membuf m = {0};
    assert_true(stbi_write_png_to_func(mem_write, &m, (int)w, (int)h, 3, px, (int)w * 3));
    image_facts a, b;
    for (int round = 0; round < 2; round++) {
        image_decode_status st;
        char err[128];
        image_rgb *img = image_decode_new(m.data, m.len, NULL, &st, err, sizeof err);
        assert_non_null(img);
        image_facts f = analyse(img);
        if (round == 0) a = f;
        else b = f;
        image_rgb_free(img);
    }
    assert_memory_equal(&a, &b, sizeof a);
    assert_true(a.n_palette >= 1 && a.n_palette <= 6);
    double total = 0;
    for (size_t i = 0; i < a.n_palette; i++) {
        total += a.palette[i].share;
        if (i > 0) assert_true(a.palette[i - 1].share >= a.palette[i].share);
    }
    assert_true(total > 0.95 && total <= 1.0 + 1e-9);
    free(px);
    free(m.data);
}

static void test_large_image_is_sampled(void **state) {
    (void)state;
    /* 2000x1000 with a horizontal gradient: sampling keeps the measures close to the full image. */
    image_rgb *img = img_new(2000, 1000);
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            uint8_t v = (uint8_t)(x * 255 / (img->width - 1));
            uint8_t *p = img->pixels + 3 * ((size_t)y * img->width + x);
            p[0] = p[1] = p[2] = v;
        }
    image_facts f = analyse(img);
    assert_true(fabs(f.brightness - 0.5) < 0.02);
    assert_true(f.n_palette >= 2 && f.n_palette <= 6);
    assert_true(f.saturation == 0);
    image_rgb_free(img);
}

static void test_sampling_grid(void **state) {
    (void)state;
    /* 128x128 is the largest square read whole: a one-pixel red column is exactly 1/128 of it. */
    image_rgb *img = img_new(128, 128);
    fill(img, 0, 128, 0, 0, 255);
    fill(img, 0, 1, 255, 0, 0);
    image_facts f = analyse(img);
    assert_int_equal(f.n_palette, 2);
    assert_string_equal(f.palette[1].hex, "#ff0000");
    assert_true(f.palette[1].share == 1.0 / 128);
    image_rgb_free(img);
    /* 130x130 is read every second pixel from the second one (step 2, half a step in): the first
     * column is not in the sample, the second is. */
    img = img_new(130, 130);
    fill(img, 0, 130, 0, 0, 255);
    fill(img, 0, 1, 255, 0, 0);
    f = analyse(img);
    assert_int_equal(f.n_palette, 1);
    assert_string_equal(f.palette[0].hex, "#0000ff");
    fill(img, 1, 2, 255, 0, 0);
    f = analyse(img);
    assert_int_equal(f.n_palette, 2);
    assert_true(f.palette[1].share == 1.0 / 65);
    assert_int_equal(f.width, 130); /* the facts keep the image's own size */
    image_rgb_free(img);
}

static void test_empty_image_refused(void **state) {
    (void)state;
    image_rgb img = {0};
    image_facts f;
    char err[128];
    assert_int_equal(image_analyse(&img, &f, err, sizeof err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_red_half_blue),
        cmocka_unit_test(test_black_is_dark),
        cmocka_unit_test(test_white_is_bright),
        cmocka_unit_test(test_black_and_white_halves_high_contrast),
        cmocka_unit_test(test_temperature),
        cmocka_unit_test(test_orientation_rule),
        cmocka_unit_test(test_mood_rules_table),
        cmocka_unit_test(test_same_bytes_same_facts),
        cmocka_unit_test(test_large_image_is_sampled),
        cmocka_unit_test(test_sampling_grid),
        cmocka_unit_test(test_empty_image_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
