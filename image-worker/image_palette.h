/* Dominant colours of a set of sRGB samples: weighted k-means in OKLab (a perceptual space, so
 * "close" means "looks alike") over a 15-bit colour histogram.
 *
 * Deterministic by construction: no random numbers. Seeding takes the heaviest histogram bin, then
 * repeatedly the bin with the largest weight x squared distance to the chosen centres (the greedy
 * form of k-means++); Lloyd iterations run a fixed maximum; ties break on bin index. Centres closer
 * than a just-noticeable difference are merged, clusters under 0.5% of the pixels dropped, and the
 * result sorted by share (then by hex), so the same pixels always give the same palette. */
#ifndef IMAGE_PALETTE_H
#define IMAGE_PALETTE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_PALETTE_MAX 6

typedef struct image_colour {
    uint8_t r, g, b;
    double share; /* of the samples, 0..1 */
} image_colour;

/* rgb: n samples of 3 bytes. Writes up to max (<= IMAGE_PALETTE_MAX) colours, most common first;
 * returns how many, or 0 when n is 0 or out of memory. Each colour is the mean sRGB of its
 * cluster's pixels, so a flat area reports exactly its own colour. */
size_t image_palette_extract(const uint8_t *rgb, size_t n, size_t max, image_colour *out);

/* sRGB (0..255) to OKLab (L 0..1, a and b about -0.4..0.4). Exposed for tests and the docs. */
void image_srgb_to_oklab(double r, double g, double b, double lab[3]);

#endif
