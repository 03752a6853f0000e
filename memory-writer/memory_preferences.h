/* Preferences inferred from one analysed image: its mood becomes evidence for `preferred_mood`,
 * its dominant colours (as coarse colour families, so two photos of the same blue sea agree)
 * evidence for `preferred_colors`. Exact palettes stay in image_analysis; the preference is
 * what recurs across a project's images. */
#ifndef MEMORY_PREFERENCES_H
#define MEMORY_PREFERENCES_H

#include <stddef.h>

typedef struct memory_palette_entry {
    const char *hex; /* "#rrggbb" */
    double share;    /* of the image's pixels, 0..1 */
} memory_palette_entry;

#define MEMORY_PREF_VALUE_MAX 256

typedef struct memory_pref {
    const char *key;                    /* "preferred_mood" | "preferred_colors" (static) */
    char value[MEMORY_PREF_VALUE_MAX];  /* canonical JSON, compared for equality by the merge */
    double weight;                      /* evidence weight w of this image */
} memory_pref;

/* A family needs at least this share of the image to count as dominant. */
#define MEMORY_COLOR_MIN_SHARE 0.15
#define MEMORY_COLOR_MAX_FAMILIES 3

/* "red", "orange", ... "black", "white", "gray", "brown" for "#rrggbb"; NULL when malformed. */
const char *memory_color_family(const char *hex);

/* Fills out (room for 2) with the preferences the image implies, each with weight w; returns
 * how many. mood may be NULL or empty (no mood preference); palette may be empty. */
size_t memory_preferences_extract(const char *mood, const memory_palette_entry *palette, size_t n, double w,
                                  memory_pref out[2]);

#endif
