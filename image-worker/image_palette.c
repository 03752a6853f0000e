#include "image_palette.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BINS 32768          /* 5 bits per channel */
#define MAX_ITER 30
#define MERGE_DIST 0.04     /* OKLab distance below which two centres look the same */
#define MIN_SHARE 0.005

typedef struct bin {
    double w;               /* pixel count */
    double sr, sg, sb;      /* sums of sRGB, for the reported colour */
    double lab[3];          /* OKLab of the bin's mean colour */
    int cluster;
} bin;

static double linear(double c) {
    c /= 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

void image_srgb_to_oklab(double r, double g, double b, double lab[3]) {
    double lr = linear(r), lg = linear(g), lb = linear(b);
    double l = cbrt(0.4122214708 * lr + 0.5363325363 * lg + 0.0514459929 * lb);
    double m = cbrt(0.2119034982 * lr + 0.6806995451 * lg + 0.1073969566 * lb);
    double s = cbrt(0.0883024619 * lr + 0.2817188376 * lg + 0.6299787005 * lb);
    lab[0] = 0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s;
    lab[1] = 1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s;
    lab[2] = 0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s;
}

static double dist2(const double a[3], const double b[3]) {
    double d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

typedef struct centre {
    double lab[3];
    double w, sr, sg, sb;
} centre;

static int cmp_colour(const void *pa, const void *pb) {
    const image_colour *a = pa, *b = pb;
    if (a->share != b->share) return a->share > b->share ? -1 : 1;
    uint32_t ka = (uint32_t)a->r << 16 | (uint32_t)a->g << 8 | a->b;
    uint32_t kb = (uint32_t)b->r << 16 | (uint32_t)b->g << 8 | b->b;
    return ka < kb ? -1 : ka > kb;
}

/* Centres move to the weighted mean of their bins; an emptied centre keeps its place. */
static void update_centres(const bin *bins, const int *used, size_t n_used, centre *c, size_t k) {
    for (size_t j = 0; j < k; j++) c[j].w = c[j].sr = c[j].sg = c[j].sb = 0;
    double acc[IMAGE_PALETTE_MAX][3] = {{0}};
    for (size_t i = 0; i < n_used; i++) {
        const bin *b = &bins[used[i]];
        centre *cc = &c[b->cluster];
        cc->w += b->w;
        cc->sr += b->sr;
        cc->sg += b->sg;
        cc->sb += b->sb;
        for (int d = 0; d < 3; d++) acc[b->cluster][d] += b->lab[d] * b->w;
    }
    for (size_t j = 0; j < k; j++)
        if (c[j].w > 0)
            for (int d = 0; d < 3; d++) c[j].lab[d] = acc[j][d] / c[j].w;
}

size_t image_palette_extract(const uint8_t *rgb, size_t n, size_t max, image_colour *out) {
    if (n == 0 || max == 0) return 0;
    if (max > IMAGE_PALETTE_MAX) max = IMAGE_PALETTE_MAX;
    bin *bins = calloc(BINS, sizeof *bins);
    int *used = malloc(BINS * sizeof *used);
    if (!bins || !used) {
        free(bins);
        free(used);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = rgb + 3 * i;
        bin *b = &bins[(p[0] >> 3) << 10 | (p[1] >> 3) << 5 | (p[2] >> 3)];
        b->w += 1;
        b->sr += p[0];
        b->sg += p[1];
        b->sb += p[2];
    }
    size_t n_used = 0;
    for (int i = 0; i < BINS; i++) {
        if (bins[i].w == 0) continue;
        image_srgb_to_oklab(bins[i].sr / bins[i].w, bins[i].sg / bins[i].w, bins[i].sb / bins[i].w, bins[i].lab);
        used[n_used++] = i;
    }
    size_t k = n_used < max ? n_used : max;

    /* Greedy k-means++ seeding (see the header). */
    centre c[IMAGE_PALETTE_MAX];
    memset(c, 0, sizeof c);
    double *d2 = malloc(n_used * sizeof *d2);
    if (!d2) {
        free(bins);
        free(used);
        return 0;
    }
    size_t best = 0;
    for (size_t i = 1; i < n_used; i++)
        if (bins[used[i]].w > bins[used[best]].w) best = i;
    memcpy(c[0].lab, bins[used[best]].lab, sizeof c[0].lab);
    for (size_t i = 0; i < n_used; i++) d2[i] = dist2(bins[used[i]].lab, c[0].lab);
    for (size_t j = 1; j < k; j++) {
        double score = -1;
        for (size_t i = 0; i < n_used; i++) {
            double s = bins[used[i]].w * d2[i];
            if (s > score) score = s, best = i;
        }
        if (score <= 0) {
            k = j;
            break;
        }
        memcpy(c[j].lab, bins[used[best]].lab, sizeof c[j].lab);
        for (size_t i = 0; i < n_used; i++) {
            double d = dist2(bins[used[i]].lab, c[j].lab);
            if (d < d2[i]) d2[i] = d;
        }
    }
    free(d2);

    for (size_t i = 0; i < n_used; i++) bins[used[i]].cluster = -1;
    for (int iter = 0; iter < MAX_ITER; iter++) {
        int changed = 0;
        for (size_t i = 0; i < n_used; i++) {
            bin *b = &bins[used[i]];
            int bj = 0;
            double bd = dist2(b->lab, c[0].lab);
            for (size_t j = 1; j < k; j++) {
                double d = dist2(b->lab, c[j].lab);
                if (d < bd) bd = d, bj = (int)j;
            }
            if (b->cluster != bj) b->cluster = bj, changed = 1;
        }
        update_centres(bins, used, n_used, c, k);
        if (!changed) break;
    }

    /* Merge look-alike centres into the heavier one. */
    for (size_t a = 0; a < k; a++) {
        for (size_t b = a + 1; b < k; b++) {
            if (c[a].w == 0 || c[b].w == 0 || dist2(c[a].lab, c[b].lab) >= MERGE_DIST * MERGE_DIST) continue;
            size_t keep = c[a].w >= c[b].w ? a : b, gone = keep == a ? b : a;
            c[keep].w += c[gone].w;
            c[keep].sr += c[gone].sr;
            c[keep].sg += c[gone].sg;
            c[keep].sb += c[gone].sb;
            c[gone].w = 0;
        }
    }
    size_t m = 0;
    for (size_t j = 0; j < k; j++) {
        double share = c[j].w / (double)n;
        if (c[j].w == 0 || share < MIN_SHARE) continue;
        out[m++] = (image_colour){(uint8_t)lround(c[j].sr / c[j].w), (uint8_t)lround(c[j].sg / c[j].w),
                                  (uint8_t)lround(c[j].sb / c[j].w), share};
    }
    qsort(out, m, sizeof *out, cmp_colour);
    free(bins);
    free(used);
    return m;
}
