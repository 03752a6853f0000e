#include "image_analyse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Thresholds of docs/image-analysis.md; change both together. */
#define WARM_ABOVE 0.08
#define COOL_BELOW (-0.08)
#define SQUARE_RATIO 1.02

bf_colour_temperature image_temperature_rule(double warmth) {
    if (warmth > WARM_ABOVE) return BF_TEMP_WARM;
    if (warmth < COOL_BELOW) return BF_TEMP_COOL;
    return BF_TEMP_NEUTRAL;
}

bf_orientation image_orientation_rule(uint32_t width, uint32_t height) {
    double w = width, h = height;
    if (w <= h * SQUARE_RATIO && h <= w * SQUARE_RATIO) return BF_ORIENT_SQUARE;
    return w > h ? BF_ORIENT_LANDSCAPE : BF_ORIENT_PORTRAIT;
}

bf_mood image_mood_rule(double brightness, double contrast, double saturation, const bf_palette_entry *palette,
                        size_t n_palette) {
    size_t strong = 0; /* palette colours covering at least 10% each */
    for (size_t i = 0; i < n_palette; i++)
        if (palette[i].share >= 0.10) strong++;
    if (contrast >= 0.40 && brightness < 0.45) return BF_MOOD_DRAMATIC;
    if (brightness < 0.25) return BF_MOOD_DARK;
    if (saturation > 0.55 && contrast > 0.25) return BF_MOOD_ENERGETIC;
    if (saturation > 0.55) return BF_MOOD_VIBRANT;
    if (saturation > 0.40 && brightness > 0.55 && strong >= 3) return BF_MOOD_PLAYFUL;
    if (brightness > 0.75 && saturation < 0.35) return BF_MOOD_BRIGHT;
    if (saturation < 0.35 && contrast < 0.20 && brightness > 0.40) return BF_MOOD_CALM;
    if (saturation < 0.20 && contrast >= 0.20) return BF_MOOD_ELEGANT;
    if (saturation < 0.25) return BF_MOOD_MUTED;
    return BF_MOOD_NEUTRAL;
}

/* An evenly spaced grid of at most IMAGE_ANALYSE_MAX_SAMPLES pixels (all of them when fewer). */
static uint8_t *sample_new(const image_rgb *img, size_t *n_out) {
    uint32_t step = 1;
    while ((uint64_t)((img->width + step - 1) / step) * ((img->height + step - 1) / step) > IMAGE_ANALYSE_MAX_SAMPLES)
        step++;
    size_t cols = (img->width + step - 1) / step, rows = (img->height + step - 1) / step;
    size_t n = cols * rows;
    uint8_t *s = malloc(n * 3);
    if (!s) return NULL;
    size_t k = 0;
    for (uint32_t y = step / 2 < img->height ? step / 2 : 0; y < img->height && k < n; y += step)
        for (uint32_t x = step / 2 < img->width ? step / 2 : 0; x < img->width && k < n; x += step, k++)
            memcpy(s + 3 * k, img->pixels + 3 * ((size_t)y * img->width + x), 3);
    *n_out = k;
    return s;
}

int image_analyse(const image_rgb *img, image_facts *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    size_t n = 0;
    uint8_t *s = img && img->pixels && img->width && img->height ? sample_new(img, &n) : NULL;
    if (!s || n == 0) {
        free(s);
        snprintf(err, errlen, img && img->width ? "out of memory sampling pixels" : "empty image");
        return -1;
    }
    double sum_y = 0, sum_y2 = 0, sum_sat = 0, sum_warm = 0;
    for (size_t i = 0; i < n; i++) {
        double r = s[3 * i] / 255.0, g = s[3 * i + 1] / 255.0, b = s[3 * i + 2] / 255.0;
        double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        double mx = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b));
        sum_y += y;
        sum_y2 += y * y;
        sum_sat += mx > 0 ? (mx - mn) / mx : 0;
        sum_warm += r - b;
    }
    double mean = sum_y / (double)n;
    double var = sum_y2 / (double)n - mean * mean;
    image_rgb_shown_size(img, &out->width, &out->height);
    out->orientation = image_orientation_rule(out->width, out->height);
    out->brightness = fmin(1, fmax(0, mean));
    /* The largest possible standard deviation of a 0..1 value is 0.5 (half black, half white). */
    out->contrast = fmin(1, 2 * sqrt(var > 0 ? var : 0));
    out->saturation = fmin(1, fmax(0, sum_sat / (double)n));
    out->warmth = sum_warm / (double)n;
    out->temperature = image_temperature_rule(out->warmth);

    image_colour pal[IMAGE_PALETTE_MAX];
    size_t np = image_palette_extract(s, n, IMAGE_PALETTE_MAX, pal);
    free(s);
    for (size_t i = 0; i < np; i++) {
        snprintf(out->palette[i].hex, sizeof out->palette[i].hex, "#%02x%02x%02x", pal[i].r, pal[i].g, pal[i].b);
        out->palette[i].share = pal[i].share;
    }
    out->n_palette = np;
    out->mood = image_mood_rule(out->brightness, out->contrast, out->saturation, out->palette, np);
    return 0;
}
