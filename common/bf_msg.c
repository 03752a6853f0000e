#include "bf_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_codec.h"

void bf_strlist_free(bf_strlist *l) {
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void bf_msg_error_free(bf_msg_error *e) {
    if (!e) return;
    free(e->message);
    memset(e, 0, sizeof *e);
}

cJSON *bf_msg_decode_begin(const char *bytes, size_t len, const char *schema, bf_envelope *env,
                           const cJSON **payload, bf_jc *c, char *err, size_t errlen) {
    cJSON *root = bf_envelope_decode(bytes, len, schema, env, payload, err, errlen);
    if (!root) return NULL;
    bf_jc_init(c, err, errlen);
    bf_jc_push_key(c, "payload");
    return root;
}

static int list_item(bf_jc *c, const cJSON *item, size_t item_max, bf_list_kind kind, char **out) {
    if (kind == BF_LIST_URL) return bf_jc_url_item(c, item, item_max, out);
    if (kind == BF_LIST_TEXT) return bf_jc_string_item(c, item, 1, item_max, false, out);
    char id[33];
    if (bf_jc_trace_id_item(c, item, id) != 0) return -1;
    *out = strdup(id);
    return *out ? 0 : bf_jc_fail(c, "out of memory");
}

int bf_msg_list_read(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t min, size_t max,
                     size_t item_max, bf_list_kind kind, bf_strlist *out) {
    memset(out, 0, sizeof *out);
    const cJSON *arr;
    size_t n;
    if (bf_jc_array(c, obj, key, required, min, max, &arr, &n) != 0 || n == 0) return c->failed ? -1 : 0;
    out->v = calloc(n, sizeof *out->v);
    if (!out->v) return bf_jc_fail_at(c, key, "out of memory");
    size_t mk = bf_jc_push_key(c, key);
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        size_t mi = bf_jc_push_index(c, i);
        int r = list_item(c, it, item_max, kind, &out->v[i]);
        bf_jc_pop(c, mi);
        if (r != 0) break;
        out->n = i + 1;
    }
    bf_jc_pop(c, mk);
    return c->failed ? -1 : 0;
}

static bool error_code_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > BF_ERROR_CODE_MAX || s[0] < 'a' || s[0] > 'z') return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) return false;
    return true;
}

int bf_msg_error_read(bf_jc *c, const cJSON *obj, const char *key, bf_msg_error *out) {
    memset(out, 0, sizeof *out);
    const cJSON *e;
    if (bf_jc_object(c, obj, key, false, &e) != 0 || !e) return c->failed ? -1 : 0;
    size_t m = bf_jc_push_key(c, key);
    char *code = NULL;
    if (bf_jc_string(c, e, "code", true, 1, BF_ERROR_CODE_MAX, false, &code) == 0 && !error_code_valid(code))
        bf_jc_fail_at(c, "code", "not an error code ([a-z][a-z0-9_]*)");
    if (code) snprintf(out->code, sizeof out->code, "%s", code);
    free(code);
    bf_jc_string(c, e, "message", true, 1, BF_TEXT_MAX, true, &out->message);
    bf_jc_pop(c, m);
    if (c->failed) {
        bf_msg_error_free(out);
        return -1;
    }
    out->present = true;
    return 0;
}

int bf_msg_add_string(cJSON *obj, const char *key, const char *s) {
    if (!s) return 0;
    return cJSON_AddStringToObject(obj, key, s) ? 0 : -1;
}

int bf_msg_add_list(cJSON *obj, const char *key, const bf_strlist *l) {
    cJSON *arr = cJSON_AddArrayToObject(obj, key);
    if (!arr) return -1;
    for (size_t i = 0; i < l->n; i++) {
        cJSON *s = cJSON_CreateString(l->v[i] ? l->v[i] : "");
        if (!s) return -1;
        cJSON_AddItemToArray(arr, s);
    }
    return 0;
}

int bf_msg_add_error(cJSON *obj, const char *key, const bf_msg_error *e) {
    if (!e->present) return 0;
    cJSON *o = cJSON_AddObjectToObject(obj, key);
    if (!o) return -1;
    if (!cJSON_AddStringToObject(o, "code", e->code)) return -1;
    return cJSON_AddStringToObject(o, "message", e->message ? e->message : "") ? 0 : -1;
}

int bf_msg_add_json(cJSON *obj, const char *key, const char *json_text) {
    if (!json_text) return 0;
    cJSON *v = cJSON_Parse(json_text);
    if (!v) return -1;
    cJSON_AddItemToObject(obj, key, v);
    return 0;
}

char *bf_msg_encode_finish(const bf_envelope *env, const char *schema, cJSON *payload, bf_msg_verify_fn verify,
                           char *err, size_t errlen) {
    if (!payload) {
        snprintf(err, errlen, "payload: out of memory or a JSON text field is not JSON");
        return NULL;
    }
    if (strcmp(env->schema, schema) != 0) {
        snprintf(err, errlen, "schema: \"%s\" in the envelope of a %s message", env->schema, schema);
        cJSON_Delete(payload);
        return NULL;
    }
    char *out = bf_envelope_encode(env, payload, err, errlen);
    cJSON_Delete(payload);
    if (out && verify(out, strlen(out), err, errlen) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
