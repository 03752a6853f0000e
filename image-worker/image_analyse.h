/* The built-in analyser: facts about an image that need no model and no network, computed the
 * same way every time (same bytes -> identical facts). docs/image-analysis.md gives the formulas
 * and the temperature and mood rules. */
#ifndef IMAGE_ANALYSE_H
#define IMAGE_ANALYSE_H

#include <stddef.h>
#include <stdint.h>

#include "bf_msg_image_facts.h"
#include "image_decode.h"
#include "image_palette.h"

/* Measures and the palette histogram run on at most this many pixels (an evenly spaced grid, read
 * in place), so the analysis costs about the same for a 40 MP photo as for a 128x128 one: a
 * fraction of the decode. docs/image-analysis.md gives the grid. */
#define IMAGE_ANALYSE_MAX_SAMPLES 16384

typedef struct image_facts {
    uint32_t width, height; /* as a person sees it: after the EXIF orientation */
    bf_orientation orientation;
    bf_palette_entry palette[IMAGE_PALETTE_MAX]; /* "#rrggbb" lowercase, most common first */
    size_t n_palette;
    double brightness; /* mean Rec. 709 luma of the sRGB values, 0..1 */
    double contrast;   /* RMS (standard deviation) of luma x 2, clamped to 0..1 */
    double saturation; /* mean HSV saturation, 0..1 */
    double warmth;     /* mean (R - B) / 255, -1..1: the input of the temperature rule */
    bf_colour_temperature temperature;
    bf_mood mood;
} image_facts;

/* Analyses decoded pixels. Returns 0, or -1 for an empty image or when out of memory (err says
 * so). */
int image_analyse(const image_rgb *img, image_facts *out, char *err, size_t errlen);

/* The rules alone, exposed so tests and the docs' table exercise them directly. */
bf_colour_temperature image_temperature_rule(double warmth);
bf_mood image_mood_rule(double brightness, double contrast, double saturation, const bf_palette_entry *palette,
                        size_t n_palette);
bf_orientation image_orientation_rule(uint32_t width, uint32_t height);

#endif
