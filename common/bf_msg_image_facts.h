/* The facts about one analysed image: the payload of imageFactsReady, and embedded unchanged in
 * imageFactsProcessed and in brainDecisions' image_facts_enriched, so every consumer reads them
 * with one codec (schemas/common.json#/$defs/imageFacts). */
#ifndef BF_MSG_IMAGE_FACTS_H
#define BF_MSG_IMAGE_FACTS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "bf_json_check.h"
#include "bf_msg.h"

typedef enum { BF_TEMP_WARM = 0, BF_TEMP_COOL, BF_TEMP_NEUTRAL } bf_colour_temperature;
/* The mood label set (docs/schema.md explains how the builtin analyser picks one). */
typedef enum {
    BF_MOOD_CALM = 0, BF_MOOD_ENERGETIC, BF_MOOD_DRAMATIC, BF_MOOD_PLAYFUL, BF_MOOD_ELEGANT,
    BF_MOOD_DARK, BF_MOOD_BRIGHT, BF_MOOD_MUTED, BF_MOOD_VIBRANT, BF_MOOD_NEUTRAL,
} bf_mood;
#define BF_MOOD_COUNT 10
typedef enum { BF_ORIENT_LANDSCAPE = 0, BF_ORIENT_PORTRAIT, BF_ORIENT_SQUARE } bf_orientation;
typedef enum { BF_ANALYSER_BUILTIN = 0, BF_ANALYSER_BUILTIN_VISION } bf_analyser;

typedef struct bf_palette_entry {
    char hex[8];  /* "#rrggbb" (either case accepted) */
    double share; /* of the image's pixels, 0..1 */
} bf_palette_entry;

typedef struct bf_image_facts {
    char trace_id[BF_TRACE_ID_LEN + 1]; /* the image trace id: random, never user text */
    char request_id[BF_UUID_LEN + 1];
    /* Facts about an image that could not be analysed (not fetched, not decodable) carry the error
     * that says why and no measurements: not_analysed is set, error.present is required, and the
     * palette, measures, size, orientation and vision fields are absent (zero here, left out on
     * the wire). content_hash is "" when no bytes were fetched. */
    bool not_analysed;
    char content_hash[65];              /* sha256 of the image bytes, lowercase hex; "" when none */
    bf_strlist image_urls;              /* 1..BF_MAX_IMAGE_URLS sources of these bytes */
    bf_palette_entry palette[BF_PALETTE_MAX];
    size_t n_palette;                   /* 0..BF_PALETTE_MAX */
    double brightness, contrast, saturation; /* 0..1 */
    bf_colour_temperature temperature;
    bf_mood mood;
    int64_t width, height;              /* pixels, 1..65535 */
    bf_orientation orientation;
    /* From the vision model; NULL / empty when absent. typography, style, layout are JSON objects
     * kept as compact JSON text. */
    char *typography;
    char *style;
    char *layout;
    bf_strlist objects;
    bf_strlist visible_text;
    bf_analyser analyser;
    char *model;                        /* required when analyser is builtin+vision; else NULL */
    int64_t processing_ms;              /* 0..3600000 */
    bf_msg_error error;                 /* e.g. vision_failed: builtin facts are still valid; or,
                                         * with not_analysed, why there are none (fetch_status ...) */
} bf_image_facts;

extern const char *const bf_mood_names[BF_MOOD_COUNT];
const char *bf_mood_name(bf_mood m);
const char *bf_temperature_name(bf_colour_temperature t);
const char *bf_orientation_name(bf_orientation o);
const char *bf_analyser_name(bf_analyser a);
/* Parses a mood label; returns -1 when unknown. */
int bf_mood_parse(const char *s);

/* Reads the facts object at the context's current path. Returns 0 or -1 (error in c). */
int bf_image_facts_read(bf_jc *c, const cJSON *obj, bf_image_facts *out);
/* The facts as a new cJSON object (caller deletes), NULL when out of memory. */
cJSON *bf_image_facts_to_json(const bf_image_facts *f);
void bf_image_facts_free(bf_image_facts *f);

#endif
