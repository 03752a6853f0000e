#include "image_vision.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_chat.h"
#include "bf_dlq.h"
#include "bf_json_check.h"

static const char system_prompt[] =
    "You describe images for a motion-graphics editor. Answer with one JSON object and nothing "
    "else, with these optional fields: \"typography\" (object: e.g. font_style, weight, case, "
    "alignment), \"style\" (object: e.g. aesthetic, era, medium), \"objects\" (array of short "
    "labels of what is visible), \"visible_text\" (array of the text lines visible in the image), "
    "\"layout\" (object: e.g. composition, focal_point, negative_space). Use short English words.";

char *image_vision_request_new(const char *model, const char *image_ref) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", model);
    cJSON_AddNumberToObject(root, "temperature", 0);
    cJSON *rf = cJSON_AddObjectToObject(root, "response_format");
    cJSON_AddStringToObject(rf, "type", "json_object");
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    cJSON *sys = cJSON_CreateObject();
    cJSON_AddStringToObject(sys, "role", "system");
    cJSON_AddStringToObject(sys, "content", system_prompt);
    cJSON_AddItemToArray(msgs, sys);
    cJSON *usr = cJSON_CreateObject();
    cJSON_AddStringToObject(usr, "role", "user");
    cJSON *parts = cJSON_AddArrayToObject(usr, "content");
    cJSON *text = cJSON_CreateObject();
    cJSON_AddStringToObject(text, "type", "text");
    cJSON_AddStringToObject(text, "text", "Describe this image as the JSON object.");
    cJSON_AddItemToArray(parts, text);
    cJSON *img = cJSON_CreateObject();
    cJSON_AddStringToObject(img, "type", "image_url");
    cJSON *iu = cJSON_AddObjectToObject(img, "image_url");
    cJSON_AddStringToObject(iu, "url", image_ref);
    cJSON_AddItemToArray(parts, img);
    cJSON_AddItemToArray(msgs, usr);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

char *image_vision_data_url_new(const void *bytes, size_t len, const char *mime) {
    char *b64 = bf_base64_encode(bytes, len);
    if (!b64) return NULL;
    size_t n = strlen(mime) + strlen(b64) + 16;
    char *out = malloc(n);
    if (out) snprintf(out, n, "data:%s;base64,%s", mime, b64);
    free(b64);
    return out;
}

static int read_list(bf_jc *c, const cJSON *obj, const char *key, bf_strlist *out) {
    const cJSON *arr;
    size_t n;
    if (bf_jc_array(c, obj, key, false, 0, BF_VISION_LIST_MAX, &arr, &n) != 0) return -1;
    if (!arr) return 0;
    out->v = calloc(n + 1, sizeof *out->v);
    if (!out->v) return bf_jc_fail_at(c, key, "out of memory");
    size_t mk = bf_jc_push_key(c, key);
    for (size_t i = 0; i < n; i++) {
        size_t mi = bf_jc_push_index(c, i);
        if (bf_jc_string_item(c, cJSON_GetArrayItem(arr, (int)i), 1, BF_VISION_ITEM_MAX, false, &out->v[out->n]) == 0)
            out->n++;
        bf_jc_pop(c, mi);
    }
    bf_jc_pop(c, mk);
    return c->failed ? -1 : 0;
}

int image_vision_parse(const char *body, size_t len, bf_image_facts *facts, char *err, size_t errlen) {
    char *obj = bf_chat_answer_object_new(body, len, err, errlen);
    if (!obj) return -1;
    cJSON *root = bf_json_parse(obj, strlen(obj), BF_MSG_MAX_BYTES, BF_MSG_MAX_DEPTH, err, errlen);
    free(obj);
    if (!root) return -1;
    bf_jc c;
    bf_jc_init(&c, err, errlen);
    bf_jc_push_key(&c, "answer");
    char *typography = NULL, *style = NULL, *layout = NULL;
    bf_strlist objects = {0}, text = {0};
    bf_jc_json(&c, root, "typography", false, true, BF_VISION_JSON_MAX, &typography);
    bf_jc_json(&c, root, "style", false, true, BF_VISION_JSON_MAX, &style);
    bf_jc_json(&c, root, "layout", false, true, BF_VISION_JSON_MAX, &layout);
    read_list(&c, root, "objects", &objects);
    read_list(&c, root, "visible_text", &text);
    cJSON_Delete(root);
    if (!c.failed && !typography && !style && !layout && objects.n == 0 && text.n == 0)
        bf_jc_fail(&c, "none of typography, style, objects, visible_text, layout");
    if (c.failed) {
        free(typography);
        free(style);
        free(layout);
        bf_strlist_free(&objects);
        bf_strlist_free(&text);
        return -1;
    }
    free(facts->typography);
    free(facts->style);
    free(facts->layout);
    bf_strlist_free(&facts->objects);
    bf_strlist_free(&facts->visible_text);
    facts->typography = typography;
    facts->style = style;
    facts->layout = layout;
    facts->objects = objects;
    facts->visible_text = text;
    return 0;
}
