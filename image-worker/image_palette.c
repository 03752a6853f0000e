#include "image_palette.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITER 30
#define MERGE_DIST 0.04     /* OKLab distance below which two centres look the same */
#define SETTLED_DIST 0.005  /* OKLab: a centre moving less than an eighth of MERGE_DIST has settled */
#define MIN_SHARE 0.005

static double linear(double c) {
    c /= 255.0;
    return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* The cube root of x in 0..1 to about 1e-6 (plenty for distances compared against 0.04): a first
 * guess from the float's exponent bits, then two Newton steps. A few times faster than libm's
 * cbrt, which was a third of the palette's time with thousands of occupied bins; plain arithmetic,
 * so as deterministic as cbrt. */
static double cbrt_unit(double x) {
    if (x <= 0) return 0;
    float f = (float)x;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    bits = bits / 3 + 709921077u; /* divides the exponent by three */
    memcpy(&f, &bits, sizeof f);
    double y = f;
    for (int i = 0; i < 2; i++) { /* the guess is within 4%: 1e-3 after one step, 1e-6 after two */
        double y2 = y * y;
        y -= (y2 * y - x) / (3 * y2);
    }
    return y;
}

/* Linear-light sRGB (0..1) to OKLab, with the cube root `root`. */
static void linear_to_oklab_with(double (*root)(double), double lr, double lg, double lb, double lab[3]) {
    double l = root(0.4122214708 * lr + 0.5363325363 * lg + 0.0514459929 * lb);
    double m = root(0.2119034982 * lr + 0.6806995451 * lg + 0.1073969566 * lb);
    double s = root(0.0883024619 * lr + 0.2817188376 * lg + 0.6299787005 * lb);
    lab[0] = 0.2104542553 * l + 0.7936177850 * m - 0.0040720468 * s;
    lab[1] = 1.9779984951 * l - 2.4285922050 * m + 0.4505937099 * s;
    lab[2] = 0.0259040371 * l + 0.7827717662 * m - 0.8086757660 * s;
}

void image_srgb_to_oklab(double r, double g, double b, double lab[3]) {
    linear_to_oklab_with(cbrt, linear(r), linear(g), linear(b), lab);
}

/* sRGB -> linear for a mean channel value (not an integer): the exact curve at the 256 integer
 * levels, interpolated in between. The table is the caller's (no global state). */
static double linear_from_table(const double *t, double c) {
    int i = (int)c;
    if (i >= 255) return t[255];
    double f = c - i;
    return t[i] + f * (t[i + 1] - t[i]);
}

/* The occupied bins as points: OKLab and weight (pixel count), a struct of arrays for the hot
 * loop, and the cluster each is in. */
typedef struct points {
    size_t n;
    float *l, *a, *b, *w;
    int *cluster;
} points;

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

static float dist2f(const points *p, size_t i, const float c[3]) {
    float d0 = p->l[i] - c[0], d1 = p->a[i] - c[1], d2 = p->b[i] - c[2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

/* Greedy k-means++ seeding (see the header); returns the number of distinct seeds. */
static size_t seed(const points *p, centre *c, size_t k, float *d2) {
    size_t best = 0;
    for (size_t i = 1; i < p->n; i++)
        if (p->w[i] > p->w[best]) best = i;
    float cf[3] = {p->l[best], p->a[best], p->b[best]};
    c[0].lab[0] = cf[0], c[0].lab[1] = cf[1], c[0].lab[2] = cf[2];
    for (size_t i = 0; i < p->n; i++) d2[i] = dist2f(p, i, cf);
    for (size_t j = 1; j < k; j++) {
        float score = -1;
        for (size_t i = 0; i < p->n; i++) {
            float s = p->w[i] * d2[i];
            if (s > score) score = s, best = i;
        }
        if (score <= 0) return j;
        cf[0] = p->l[best], cf[1] = p->a[best], cf[2] = p->b[best];
        c[j].lab[0] = cf[0], c[j].lab[1] = cf[1], c[j].lab[2] = cf[2];
        for (size_t i = 0; i < p->n; i++) {
            float d = dist2f(p, i, cf);
            if (d < d2[i]) d2[i] = d;
        }
    }
    return k;
}

/* Lloyd iterations: assign each point to its nearest centre, move centres to their weighted
 * mean (an emptied centre keeps its place), until nothing changes or every centre has settled. */
static void lloyd(const points *p, centre *c, size_t k) {
    for (size_t i = 0; i < p->n; i++) p->cluster[i] = -1;
    for (int iter = 0; iter < MAX_ITER; iter++) {
        float cf[IMAGE_PALETTE_MAX][3];
        for (size_t j = 0; j < k; j++)
            for (int d = 0; d < 3; d++) cf[j][d] = (float)c[j].lab[d];
        int changed = 0;
        double acc[IMAGE_PALETTE_MAX][4] = {{0}};
        for (size_t i = 0; i < p->n; i++) {
            /* Branch-free: on a many-coloured image the nearest centre is unpredictable, and
             * mispredicted branches were most of this loop's time. */
            int bj = 0;
            float bd = dist2f(p, i, cf[0]);
            for (size_t j = 1; j < k; j++) {
                float d = dist2f(p, i, cf[j]);
                int nearer = d < bd;
                bd = nearer ? d : bd;
                bj = nearer ? (int)j : bj;
            }
            if (p->cluster[i] != bj) p->cluster[i] = bj, changed = 1;
            acc[bj][0] += p->w[i];
            acc[bj][1] += (double)p->w[i] * p->l[i];
            acc[bj][2] += (double)p->w[i] * p->a[i];
            acc[bj][3] += (double)p->w[i] * p->b[i];
        }
        double moved2 = 0; /* the largest squared move of a centre */
        for (size_t j = 0; j < k; j++) {
            if (acc[j][0] <= 0) continue;
            double m2 = 0;
            for (int d = 0; d < 3; d++) {
                double v = acc[j][d + 1] / acc[j][0];
                m2 += (v - c[j].lab[d]) * (v - c[j].lab[d]);
                c[j].lab[d] = v;
            }
            if (m2 > moved2) moved2 = m2;
        }
        if (!changed || moved2 < SETTLED_DIST * SETTLED_DIST) break;
    }
}

size_t image_palette_from_hist(const image_palette_hist *h, size_t max, image_colour *out) {
    if (!h || h->total == 0 || max == 0) return 0;
    if (max > IMAGE_PALETTE_MAX) max = IMAGE_PALETTE_MAX;
    size_t n = 0;
    for (size_t i = 0; i < IMAGE_PALETTE_BINS; i++) n += h->count[i] != 0;
    points p = {.n = n};
    uint32_t *bin = malloc(n * sizeof *bin);
    float *mem = malloc(n * 5 * sizeof *mem);
    p.cluster = malloc(n * sizeof *p.cluster);
    if (!bin || !mem || !p.cluster) {
        free(bin);
        free(mem);
        free(p.cluster);
        return 0;
    }
    p.l = mem, p.a = mem + n, p.b = mem + 2 * n, p.w = mem + 3 * n;
    float *d2 = mem + 4 * n;
    double table[256];
    for (int v = 0; v < 256; v++) table[v] = linear(v);
    size_t at = 0;
    for (uint32_t i = 0; i < IMAGE_PALETTE_BINS; i++) {
        double w = h->count[i];
        if (w == 0) continue;
        double lab[3];
        linear_to_oklab_with(cbrt_unit, linear_from_table(table, (double)h->sum[i][0] / w),
                             linear_from_table(table, (double)h->sum[i][1] / w),
                             linear_from_table(table, (double)h->sum[i][2] / w), lab);
        bin[at] = i;
        p.l[at] = (float)lab[0], p.a[at] = (float)lab[1], p.b[at] = (float)lab[2], p.w[at] = (float)w;
        at++;
    }
    centre c[IMAGE_PALETTE_MAX];
    memset(c, 0, sizeof c);
    size_t k = seed(&p, c, n < max ? n : max, d2);
    lloyd(&p, c, k);

    /* The reported colour and share come from the exact sums of each cluster's bins. */
    for (size_t i = 0; i < n; i++) {
        centre *cc = &c[p.cluster[i]];
        cc->w += h->count[bin[i]];
        cc->sr += (double)h->sum[bin[i]][0];
        cc->sg += (double)h->sum[bin[i]][1];
        cc->sb += (double)h->sum[bin[i]][2];
    }
    free(bin);
    free(mem);
    free(p.cluster);

    /* Merge look-alike centres into the heavier one. */
    for (size_t a = 0; a < k; a++) {
        for (size_t b = a + 1; b < k; b++) {
            if (c[a].w == 0 || c[b].w == 0) continue;
            double d0 = c[a].lab[0] - c[b].lab[0], d1 = c[a].lab[1] - c[b].lab[1], dd = c[a].lab[2] - c[b].lab[2];
            if (d0 * d0 + d1 * d1 + dd * dd >= MERGE_DIST * MERGE_DIST) continue;
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
        double share = c[j].w / (double)h->total;
        if (c[j].w == 0 || share < MIN_SHARE) continue;
        out[m++] = (image_colour){(uint8_t)lround(c[j].sr / c[j].w), (uint8_t)lround(c[j].sg / c[j].w),
                                  (uint8_t)lround(c[j].sb / c[j].w), share};
    }
    qsort(out, m, sizeof *out, cmp_colour);
    return m;
}

size_t image_palette_extract(const uint8_t *rgb, size_t n, size_t max, image_colour *out) {
    if (!rgb || n == 0) return 0;
    image_palette_hist *h = calloc(1, sizeof *h);
    if (!h) return 0;
    for (size_t i = 0; i < n; i++) image_palette_hist_add(h, rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
    size_t m = image_palette_from_hist(h, max, out);
    free(h);
    return m;
}
