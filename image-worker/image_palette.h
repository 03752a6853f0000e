/* Dominant colours of a set of sRGB samples: weighted k-means in OKLab (a perceptual space, so
 * "close" means "looks alike") over a 12-bit colour histogram.
 *
 * The histogram is the bounded sample: whatever the number of pixels, the clustering sees at most
 * IMAGE_PALETTE_BINS points (the occupied bins, each weighted by its pixel count and placed at the
 * OKLab colour of its pixels' mean), so its cost does not grow with the image.
 *
 * Deterministic by construction: no random numbers. Seeding takes the heaviest bin, then
 * repeatedly the bin with the largest weight x squared distance to the chosen centres (the greedy
 * form of k-means++); Lloyd iterations run a fixed maximum and stop early once no centre moves
 * more than a hundredth of a just-noticeable difference; ties break on bin index. Centres closer
 * than a just-noticeable difference are merged, clusters under 0.5% of the pixels dropped, and the
 * result sorted by share (then by hex), so the same pixels always give the same palette. */
#ifndef IMAGE_PALETTE_H
#define IMAGE_PALETTE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_PALETTE_MAX 6
#define IMAGE_PALETTE_BITS 4 /* per channel */
#define IMAGE_PALETTE_BINS (1 << (3 * IMAGE_PALETTE_BITS))

typedef struct image_colour {
    uint8_t r, g, b;
    double share; /* of the samples, 0..1 */
} image_colour;

/* Pixel counts and exact sRGB sums per bin (the top IMAGE_PALETTE_BITS of each channel). Zero it
 * (memset or calloc) before adding. */
typedef struct image_palette_hist {
    uint64_t total;
    uint32_t count[IMAGE_PALETTE_BINS];
    uint64_t sum[IMAGE_PALETTE_BINS][3];
} image_palette_hist;

static inline void image_palette_hist_add(image_palette_hist *h, uint8_t r, uint8_t g, uint8_t b) {
    unsigned shift = 8 - IMAGE_PALETTE_BITS;
    unsigned i = (unsigned)(r >> shift) << (2 * IMAGE_PALETTE_BITS) | (unsigned)(g >> shift) << IMAGE_PALETTE_BITS |
                 (unsigned)(b >> shift);
    h->count[i]++;
    h->sum[i][0] += r;
    h->sum[i][1] += g;
    h->sum[i][2] += b;
    h->total++;
}

/* Writes up to max (<= IMAGE_PALETTE_MAX) colours of the histogram, most common first; returns
 * how many, or 0 when it is empty or out of memory. Each colour is the mean sRGB of its cluster's
 * pixels, so a flat area reports exactly its own colour. */
size_t image_palette_from_hist(const image_palette_hist *h, size_t max, image_colour *out);

/* The same for n samples of 3 bytes (rgb). */
size_t image_palette_extract(const uint8_t *rgb, size_t n, size_t max, image_colour *out);

/* sRGB (0..255) to OKLab (L 0..1, a and b about -0.4..0.4). Exposed for tests and the docs. */
void image_srgb_to_oklab(double r, double g, double b, double lab[3]);

#endif
