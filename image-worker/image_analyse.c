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

/* The grid step: the smallest integer with ceil(w/step) x ceil(h/step) <= IMAGE_ANALYSE_MAX_SAMPLES. */
static uint32_t grid_step(uint32_t w, uint32_t h) {
    uint32_t step = 1;
    while ((uint64_t)((w + step - 1) / step) * ((h + step - 1) / step) > IMAGE_ANALYSE_MAX_SAMPLES) step++;
    return step;
}

typedef struct sums {
    double y, y2, sat;
    int64_t warm; /* sum of R - B, exact */
    size_t n;
} sums;

/* One pass over the grid: luma, saturation and warmth sums, and the palette histogram. */
static void sample(const image_rgb *img, uint32_t step, sums *s, image_palette_hist *hist) {
    /* 1/max per channel value, so the per-pixel saturation is a multiply. */
    double inv[256];
    inv[0] = 0;
    for (int v = 1; v < 256; v++) inv[v] = 1.0 / v;
    uint32_t y0 = step / 2 < img->height ? step / 2 : 0, x0 = step / 2 < img->width ? step / 2 : 0;
    for (uint32_t y = y0; y < img->height; y += step) {
        const uint8_t *row = img->pixels + (size_t)y * img->width * 3;
        for (uint32_t x = x0; x < img->width; x += step) {
            const uint8_t *p = row + (size_t)x * 3;
            unsigned r = p[0], g = p[1], b = p[2];
            double luma = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255.0;
            unsigned mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
            unsigned mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
            s->y += luma;
            s->y2 += luma * luma;
            s->sat += (double)(mx - mn) * inv[mx];
            s->warm += (int64_t)r - (int64_t)b;
            s->n++;
            image_palette_hist_add(hist, (uint8_t)r, (uint8_t)g, (uint8_t)b);
        }
    }
}

int image_analyse(const image_rgb *img, image_facts *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (!img || !img->pixels || !img->width || !img->height) {
        snprintf(err, errlen, "empty image");
        return -1;
    }
    image_palette_hist *hist = calloc(1, sizeof *hist);
    if (!hist) {
        snprintf(err, errlen, "out of memory for the colour histogram");
        return -1;
    }
    sums s = {0};
    sample(img, grid_step(img->width, img->height), &s, hist);
    double n = (double)s.n;
    double mean = s.y / n;
    double var = s.y2 / n - mean * mean;
    image_rgb_shown_size(img, &out->width, &out->height);
    out->orientation = image_orientation_rule(out->width, out->height);
    out->brightness = fmin(1, fmax(0, mean));
    /* The largest possible standard deviation of a 0..1 value is 0.5 (half black, half white). */
    out->contrast = fmin(1, 2 * sqrt(var > 0 ? var : 0));
    out->saturation = fmin(1, fmax(0, s.sat / n));
    out->warmth = (double)s.warm / (255.0 * n);
    out->temperature = image_temperature_rule(out->warmth);

    image_colour pal[IMAGE_PALETTE_MAX];
    size_t np = image_palette_from_hist(hist, IMAGE_PALETTE_MAX, pal);
    free(hist);
    for (size_t i = 0; i < np; i++) {
        snprintf(out->palette[i].hex, sizeof out->palette[i].hex, "#%02x%02x%02x", pal[i].r, pal[i].g, pal[i].b);
        out->palette[i].share = pal[i].share;
    }
    out->n_palette = np;
    out->mood = image_mood_rule(out->brightness, out->contrast, out->saturation, out->palette, np);
    return 0;
}
