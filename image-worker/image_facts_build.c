#include "image_facts_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_analyse.h"

int image_facts_build(const image_rgb *img, const char *content_hash, const char *url, bf_image_facts *facts,
                      char *err, size_t errlen) {
    bf_image_facts_free(facts);
    memset(facts, 0, sizeof *facts);
    image_facts a;
    if (image_analyse(img, &a, err, errlen) != 0) return -1;
    snprintf(facts->content_hash, sizeof facts->content_hash, "%s", content_hash);
    facts->image_urls.v = calloc(1, sizeof(char *));
    if (!facts->image_urls.v || !(facts->image_urls.v[0] = strdup(url))) {
        bf_image_facts_free(facts);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    facts->image_urls.n = 1;
    facts->n_palette = a.n_palette < BF_PALETTE_MAX ? a.n_palette : BF_PALETTE_MAX;
    memcpy(facts->palette, a.palette, facts->n_palette * sizeof facts->palette[0]);
    facts->brightness = a.brightness;
    facts->contrast = a.contrast;
    facts->saturation = a.saturation;
    facts->temperature = a.temperature;
    facts->mood = a.mood;
    facts->width = a.width;
    facts->height = a.height;
    facts->orientation = a.orientation;
    facts->analyser = BF_ANALYSER_BUILTIN;
    return 0;
}
