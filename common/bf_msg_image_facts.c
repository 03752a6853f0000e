#include "bf_msg_image_facts.h"

#include <stdlib.h>
#include <string.h>

#include "bf_msg_codec.h"

const char *const bf_mood_names[BF_MOOD_COUNT] = {
    "calm", "energetic", "dramatic", "playful", "elegant", "dark", "bright", "muted", "vibrant", "neutral",
};
static const char *const temperature_names[] = {"warm", "cool", "neutral"};
static const char *const orientation_names[] = {"landscape", "portrait", "square"};
static const char *const analyser_names[] = {"builtin", "builtin+vision"};
#define MAX_PIXELS 65535
#define MAX_PROCESSING_MS 3600000

const char *bf_mood_name(bf_mood m) { return (unsigned)m < BF_MOOD_COUNT ? bf_mood_names[m] : NULL; }
const char *bf_temperature_name(bf_colour_temperature t) { return (unsigned)t < 3 ? temperature_names[t] : NULL; }
const char *bf_orientation_name(bf_orientation o) { return (unsigned)o < 3 ? orientation_names[o] : NULL; }
const char *bf_analyser_name(bf_analyser a) { return (unsigned)a < 2 ? analyser_names[a] : NULL; }

int bf_mood_parse(const char *s) {
    for (int i = 0; s && i < BF_MOOD_COUNT; i++)
        if (strcmp(s, bf_mood_names[i]) == 0) return i;
    return -1;
}

void bf_image_facts_free(bf_image_facts *f) {
    if (!f) return;
    bf_strlist_free(&f->image_urls);
    free(f->typography);
    free(f->style);
    free(f->layout);
    bf_strlist_free(&f->objects);
    bf_strlist_free(&f->visible_text);
    free(f->model);
    bf_msg_error_free(&f->error);
    memset(f, 0, sizeof *f);
}

static void read_palette(bf_jc *c, const cJSON *obj, bf_image_facts *f) {
    const cJSON *arr;
    size_t n;
    if (bf_jc_array(c, obj, "palette", true, 0, BF_PALETTE_MAX, &arr, &n) != 0) return;
    size_t mk = bf_jc_push_key(c, "palette");
    size_t i = 0;
    for (const cJSON *e = arr->child; e && !c->failed; e = e->next, i++) {
        size_t mi = bf_jc_push_index(c, i);
        if (!cJSON_IsObject(e)) bf_jc_fail(c, "expected an object");
        bf_jc_colour(c, e, "hex", true, f->palette[i].hex);
        bf_jc_number(c, e, "share", true, 0, 1, &f->palette[i].share);
        bf_jc_pop(c, mi);
    }
    f->n_palette = i;
    bf_jc_pop(c, mk);
}

/* What an analysis measures: all present, or (facts of an image that could not be analysed) all
 * absent, the vision fields with them. */
static const char *const measurement_keys[] = {"palette", "brightness", "contrast", "saturation", "temperature",
                                               "mood",    "width",      "height",   "orientation"};
static const char *const vision_keys[] = {"typography", "style", "layout", "objects", "visible_text"};
#define N_MEASUREMENTS (sizeof measurement_keys / sizeof measurement_keys[0])
#define N_VISION (sizeof vision_keys / sizeof vision_keys[0])

static bool has_measurements(const cJSON *p) {
    for (size_t i = 0; i < N_MEASUREMENTS; i++)
        if (bf_jc_get(p, measurement_keys[i])) return true;
    return false;
}

static void read_measurements(bf_jc *c, const cJSON *p, bf_image_facts *f) {
    int e;
    read_palette(c, p, f);
    bf_jc_number(c, p, "brightness", true, 0, 1, &f->brightness);
    bf_jc_number(c, p, "contrast", true, 0, 1, &f->contrast);
    bf_jc_number(c, p, "saturation", true, 0, 1, &f->saturation);
    if (bf_jc_enum(c, p, "temperature", true, temperature_names, 3, &e) == 0) f->temperature = (bf_colour_temperature)e;
    if (bf_jc_enum(c, p, "mood", true, bf_mood_names, BF_MOOD_COUNT, &e) == 0) f->mood = (bf_mood)e;
    bf_jc_int(c, p, "width", true, 1, MAX_PIXELS, &f->width);
    bf_jc_int(c, p, "height", true, 1, MAX_PIXELS, &f->height);
    if (bf_jc_enum(c, p, "orientation", true, orientation_names, 3, &e) == 0) f->orientation = (bf_orientation)e;
    bf_jc_json(c, p, "typography", false, true, BF_VISION_JSON_MAX, &f->typography);
    bf_jc_json(c, p, "style", false, true, BF_VISION_JSON_MAX, &f->style);
    bf_jc_json(c, p, "layout", false, true, BF_VISION_JSON_MAX, &f->layout);
    bf_msg_list_read(c, p, "objects", false, 0, BF_VISION_LIST_MAX, BF_VISION_ITEM_MAX, BF_LIST_TEXT, &f->objects);
    bf_msg_list_read(c, p, "visible_text", false, 0, BF_VISION_LIST_MAX, BF_VISION_ITEM_MAX, BF_LIST_TEXT,
                     &f->visible_text);
}

int bf_image_facts_read(bf_jc *c, const cJSON *p, bf_image_facts *f) {
    memset(f, 0, sizeof *f);
    int e;
    f->not_analysed = !has_measurements(p);
    bf_jc_trace_id(c, p, "trace_id", true, f->trace_id);
    bf_jc_uuid(c, p, "request_id", true, false, f->request_id);
    /* No bytes, no hash: an image that could not be fetched has none. */
    bf_jc_sha256(c, p, "content_hash", !f->not_analysed, f->content_hash);
    bf_msg_list_read(c, p, "image_urls", true, 1, BF_MAX_IMAGE_URLS, BF_URL_MAX, BF_LIST_URL, &f->image_urls);
    if (!f->not_analysed) {
        read_measurements(c, p, f);
    } else {
        for (size_t i = 0; i < N_VISION && !c->failed; i++)
            if (bf_jc_get(p, vision_keys[i])) bf_jc_fail_at(c, vision_keys[i], "present without the built-in measurements");
    }
    if (bf_jc_enum(c, p, "analyser", true, analyser_names, 2, &e) == 0) f->analyser = (bf_analyser)e;
    bf_jc_string(c, p, "model", false, 1, BF_MODEL_MAX, false, &f->model);
    if (!c->failed && f->analyser == BF_ANALYSER_BUILTIN_VISION && !f->model)
        bf_jc_fail_at(c, "model", "missing (required when analyser is builtin+vision)");
    bf_jc_int(c, p, "processing_ms", true, 0, MAX_PROCESSING_MS, &f->processing_ms);
    bf_msg_error_read(c, p, "error", &f->error);
    if (!c->failed && f->not_analysed && !f->error.present)
        bf_jc_fail_at(c, "palette", "missing (facts without measurements need an error saying why)");
    if (!c->failed) return 0;
    bf_image_facts_free(f);
    return -1;
}

static int add_measurements(cJSON *p, const bf_image_facts *f) {
    int r = 0;
    cJSON *pal = cJSON_AddArrayToObject(p, "palette");
    for (size_t i = 0; pal && i < f->n_palette && i < BF_PALETTE_MAX; i++) {
        cJSON *e = cJSON_CreateObject();
        if (!e || !cJSON_AddStringToObject(e, "hex", f->palette[i].hex) ||
            !cJSON_AddNumberToObject(e, "share", f->palette[i].share))
            r = -1;
        cJSON_AddItemToArray(pal, e);
    }
    if (!pal || !cJSON_AddNumberToObject(p, "brightness", f->brightness) ||
        !cJSON_AddNumberToObject(p, "contrast", f->contrast) || !cJSON_AddNumberToObject(p, "saturation", f->saturation))
        r = -1;
    r |= bf_msg_add_string(p, "temperature", bf_temperature_name(f->temperature));
    r |= bf_msg_add_string(p, "mood", bf_mood_name(f->mood));
    if (!cJSON_AddNumberToObject(p, "width", (double)f->width) || !cJSON_AddNumberToObject(p, "height", (double)f->height))
        r = -1;
    r |= bf_msg_add_string(p, "orientation", bf_orientation_name(f->orientation));
    r |= bf_msg_add_json(p, "typography", f->typography);
    r |= bf_msg_add_json(p, "style", f->style);
    r |= bf_msg_add_json(p, "layout", f->layout);
    if (f->objects.n) r |= bf_msg_add_list(p, "objects", &f->objects);
    if (f->visible_text.n) r |= bf_msg_add_list(p, "visible_text", &f->visible_text);
    return r;
}

cJSON *bf_image_facts_to_json(const bf_image_facts *f) {
    cJSON *p = cJSON_CreateObject();
    int r = p ? 0 : -1;
    r |= bf_msg_add_string(p, "trace_id", f->trace_id);
    r |= bf_msg_add_string(p, "request_id", f->request_id);
    r |= bf_msg_add_string(p, "content_hash", f->content_hash[0] || !f->not_analysed ? f->content_hash : NULL);
    r |= bf_msg_add_list(p, "image_urls", &f->image_urls);
    if (!f->not_analysed) r |= add_measurements(p, f);
    r |= bf_msg_add_string(p, "analyser", bf_analyser_name(f->analyser));
    r |= bf_msg_add_string(p, "model", f->model);
    if (!cJSON_AddNumberToObject(p, "processing_ms", (double)f->processing_ms)) r = -1;
    r |= bf_msg_add_error(p, "error", &f->error);
    if (r == 0) return p;
    cJSON_Delete(p);
    return NULL;
}
