/* image_palette: known colours come out exactly (the mean of their pixels) with their exact
 * shares; distinct dark colours stay distinct and look-alikes merge; tiny clusters are dropped;
 * the histogram and the sample forms agree; the same input always gives the same palette. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bf_rng.h"
#include "image_palette.h"

typedef struct patch {
    uint8_t r, g, b;
    size_t n;
} patch;

/* n samples: each patch's colour repeated its count, in order. */
static uint8_t *samples_new(const patch *p, size_t k, size_t *n) {
    *n = 0;
    for (size_t i = 0; i < k; i++) *n += p[i].n;
    uint8_t *s = malloc(*n * 3), *at = s;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < p[i].n; j++, at += 3) at[0] = p[i].r, at[1] = p[i].g, at[2] = p[i].b;
    return s;
}

static int has(const image_colour *c, size_t n, uint8_t r, uint8_t g, uint8_t b, double share) {
    for (size_t i = 0; i < n; i++)
        if (c[i].r == r && c[i].g == g && c[i].b == b) return fabs(c[i].share - share) < 1e-12;
    return 0;
}

static void test_six_flat_colours_exact(void **state) {
    (void)state;
    const patch p[] = {{255, 0, 0, 3000}, {0, 128, 0, 2500}, {0, 0, 255, 2000},
                       {250, 250, 250, 1500}, {10, 10, 10, 600}, {240, 200, 40, 400}};
    size_t n;
    uint8_t *s = samples_new(p, 6, &n);
    image_colour c[IMAGE_PALETTE_MAX];
    assert_int_equal(image_palette_extract(s, n, 6, c), 6);
    for (size_t i = 0; i < 6; i++)
        if (!has(c, 6, p[i].r, p[i].g, p[i].b, (double)p[i].n / (double)n))
            fail_msg("colour %zu (%u,%u,%u) missing or with the wrong share", i, p[i].r, p[i].g, p[i].b);
    for (size_t i = 1; i < 6; i++) assert_true(c[i - 1].share >= c[i].share); /* most common first */
    free(s);
}

static void test_dark_colours_stay_apart(void **state) {
    (void)state;
    /* Black and a very dark red: far apart to the eye (OKLab), though close in sRGB numbers. */
    const patch p[] = {{0, 0, 0, 500}, {20, 0, 0, 500}};
    size_t n;
    uint8_t *s = samples_new(p, 2, &n);
    image_colour c[IMAGE_PALETTE_MAX];
    assert_int_equal(image_palette_extract(s, n, 6, c), 2);
    assert_true(has(c, 2, 0, 0, 0, 0.5));
    assert_true(has(c, 2, 20, 0, 0, 0.5));
    free(s);
}

static void test_look_alikes_merge_tiny_ones_drop(void **state) {
    (void)state;
    /* Two reds a step apart look the same: one colour, their mean. A blue at 0.3% is dropped. */
    const patch p[] = {{200, 30, 30, 500}, {202, 31, 30, 497}, {0, 0, 255, 3}};
    size_t n;
    uint8_t *s = samples_new(p, 3, &n);
    image_colour c[IMAGE_PALETTE_MAX];
    assert_int_equal(image_palette_extract(s, n, 6, c), 1);
    assert_int_equal(c[0].r, (uint8_t)lround((200.0 * 500 + 202.0 * 497) / 997));
    assert_int_equal(c[0].g, (uint8_t)lround((30.0 * 500 + 31.0 * 497) / 997));
    assert_int_equal(c[0].b, 30);
    assert_true(fabs(c[0].share - 0.997) < 1e-12);
    free(s);
}

static void test_histogram_form_and_determinism(void **state) {
    (void)state;
    bf_rng rng;
    bf_rng_seed(&rng, 7);
    size_t n = 20000;
    uint8_t *s = malloc(n * 3);
    for (size_t i = 0; i < n * 3; i++) s[i] = (uint8_t)bf_rng_next(&rng);
    image_palette_hist *h = calloc(1, sizeof *h);
    for (size_t i = 0; i < n; i++) image_palette_hist_add(h, s[3 * i], s[3 * i + 1], s[3 * i + 2]);
    assert_int_equal(h->total, n);
    image_colour a[IMAGE_PALETTE_MAX], b[IMAGE_PALETTE_MAX], c[IMAGE_PALETTE_MAX];
    size_t na = image_palette_from_hist(h, 99, a); /* max above 6 is 6 */
    size_t nb = image_palette_extract(s, n, 6, b);
    size_t nc = image_palette_from_hist(h, 6, c);
    assert_true(na >= 1 && na <= 6);
    assert_int_equal(na, nb);
    assert_int_equal(na, nc);
    for (size_t i = 0; i < na; i++) { /* field by field: the struct has padding */
        assert_true(a[i].r == b[i].r && a[i].g == b[i].g && a[i].b == b[i].b && a[i].share == b[i].share);
        assert_true(a[i].r == c[i].r && a[i].g == c[i].g && a[i].b == c[i].b && a[i].share == c[i].share);
    }
    double total = 0;
    for (size_t i = 0; i < na; i++) total += a[i].share;
    assert_true(total > 0.9 && total <= 1 + 1e-9);
    assert_int_equal(image_palette_extract(s, 0, 6, a), 0);
    assert_int_equal(image_palette_extract(NULL, 5, 6, a), 0);
    memset(h, 0, sizeof *h);
    assert_int_equal(image_palette_from_hist(h, 6, a), 0);
    free(h);
    free(s);
}

static void test_oklab_reference_points(void **state) {
    (void)state;
    double lab[3];
    image_srgb_to_oklab(255, 255, 255, lab);
    assert_true(fabs(lab[0] - 1) < 1e-3 && fabs(lab[1]) < 1e-3 && fabs(lab[2]) < 1e-3);
    image_srgb_to_oklab(0, 0, 0, lab);
    assert_true(fabs(lab[0]) < 1e-9 && fabs(lab[1]) < 1e-9 && fabs(lab[2]) < 1e-9);
    /* Pure red: L 0.628, a 0.225, b 0.126 (OKLab's published value). */
    image_srgb_to_oklab(255, 0, 0, lab);
    assert_true(fabs(lab[0] - 0.628) < 2e-3 && fabs(lab[1] - 0.225) < 2e-3 && fabs(lab[2] - 0.126) < 2e-3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_six_flat_colours_exact),
        cmocka_unit_test(test_dark_colours_stay_apart),
        cmocka_unit_test(test_look_alikes_merge_tiny_ones_drop),
        cmocka_unit_test(test_histogram_form_and_determinism),
        cmocka_unit_test(test_oklab_reference_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
