#include "brain_context.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* A JSON value as text: strings as themselves, everything else printed compactly. */
static char *value_text(const cJSON *v) {
    if (!v || cJSON_IsNull(v)) return strdup("");
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    return cJSON_PrintUnformatted(v);
}

static char *str_field(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? strdup(v->valuestring) : value_text(v);
}

static double num_field(const cJSON *o, const char *name, double dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int parse_memory(const cJSON *arr, brain_memory_item **out, size_t *n) {
    int count = cJSON_GetArraySize(arr);
    if (count <= 0) return 0;
    *out = calloc((size_t)count, sizeof **out);
    if (!*out) return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        brain_memory_item *m = &(*out)[(*n)++];
        m->key = str_field(it, "key");
        m->value = value_text(cJSON_GetObjectItemCaseSensitive(it, "value"));
        m->confidence = num_field(it, "confidence", 0);
        if (!m->key || !m->value) return -1;
    }
    return 0;
}

static int parse_scenes(const cJSON *arr, brain_context *ctx) {
    int count = cJSON_GetArraySize(arr);
    if (count <= 0) return 0;
    ctx->scenes = calloc((size_t)count, sizeof *ctx->scenes);
    if (!ctx->scenes) return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        brain_scene *s = &ctx->scenes[ctx->n_scenes++];
        s->id = str_field(it, "scene_id");
        s->name = str_field(it, "name");
        s->position = (long long)num_field(it, "position", 0);
        s->duration_ms = (long long)num_field(it, "duration_ms", 0);
        s->description = str_field(it, "description");
        s->version = (long long)num_field(it, "version", 0);
        if (!s->id || !s->name || !s->description) return -1;
    }
    return 0;
}

static int parse_urls(const cJSON *facts, bf_strlist *out) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(facts, "image_urls");
    int count = cJSON_GetArraySize(arr);
    if (!cJSON_IsArray(arr) || count <= 0) return 0;
    out->v = calloc((size_t)count, sizeof *out->v);
    if (!out->v) return -1;
    const cJSON *u;
    cJSON_ArrayForEach(u, arr) {
        if (!cJSON_IsString(u)) continue;
        if (!(out->v[out->n] = strdup(u->valuestring))) return -1;
        out->n++;
    }
    return 0;
}

static int copy_urls(bf_strlist *dst, const bf_strlist *src) {
    if (!src->n) return 0;
    dst->v = calloc(src->n, sizeof *dst->v);
    if (!dst->v) return -1;
    for (size_t i = 0; i < src->n; i++) {
        if (!(dst->v[i] = strdup(src->v[i]))) return -1;
        dst->n++;
    }
    return 0;
}

static int parse_images(const cJSON *arr, brain_context *ctx) {
    int count = cJSON_GetArraySize(arr);
    if (count <= 0) return 0;
    ctx->images = calloc((size_t)count, sizeof *ctx->images);
    if (!ctx->images) return -1;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        brain_image_facts *im = &ctx->images[ctx->n_images++];
        im->trace_id = str_field(it, "trace_id");
        const cJSON *facts = cJSON_GetObjectItemCaseSensitive(it, "facts");
        im->facts = value_text(facts);
        im->created_at = str_field(it, "created_at");
        if (!im->trace_id || !im->facts || !im->created_at || parse_urls(facts, &im->urls) != 0) return -1;
    }
    return 0;
}

static int parse_messages(const cJSON *arr, brain_context *ctx) {
    int count = cJSON_GetArraySize(arr);
    if (count <= 0) return 0;
    ctx->messages = calloc((size_t)count, sizeof *ctx->messages);
    if (!ctx->messages) return -1;
    /* The query returns the newest N; the prompt wants them in the order they were said. */
    for (int i = count - 1; i >= 0; i--) {
        const cJSON *it = cJSON_GetArrayItem(arr, i);
        brain_message *m = &ctx->messages[ctx->n_messages++];
        m->role = str_field(it, "role");
        m->content = str_field(it, "content");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "message_id");
        m->turn = (long long)num_field(it, "turn", 0);
        if (!m->role || !m->content || (cJSON_IsString(id) && !(m->message_id = strdup(id->valuestring)))) return -1;
    }
    return 0;
}

int brain_context_parse(const char *json, size_t len, brain_context *ctx, char *err, size_t errlen) {
    memset(ctx, 0, sizeof *ctx);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        snprintf(err, errlen, "context document is not a JSON object");
        return -1;
    }
    int rc = parse_memory(cJSON_GetObjectItemCaseSensitive(root, "preferences"), &ctx->preferences,
                          &ctx->n_preferences);
    if (rc == 0)
        rc = parse_memory(cJSON_GetObjectItemCaseSensitive(root, "relationships"), &ctx->relationships,
                          &ctx->n_relationships);
    if (rc == 0) rc = parse_scenes(cJSON_GetObjectItemCaseSensitive(root, "scenes"), ctx);
    if (rc == 0) rc = parse_images(cJSON_GetObjectItemCaseSensitive(root, "images"), ctx);
    if (rc == 0) rc = parse_messages(cJSON_GetObjectItemCaseSensitive(root, "messages"), ctx);
    if (rc == 0) rc = brain_conversation_parse(cJSON_GetObjectItemCaseSensitive(root, "conversation"), &ctx->conv);
    cJSON_Delete(root);
    if (rc != 0) {
        brain_context_clear(ctx);
        snprintf(err, errlen, "out of memory parsing the context");
    }
    return rc;
}

static int copy_messages(brain_message **dst, size_t *nd, const brain_message *src, size_t n) {
    *nd = 0;
    if (!n) return 0;
    *dst = calloc(n, sizeof **dst);
    if (!*dst) return -1;
    for (size_t i = 0; i < n; i++) {
        brain_message *d = &(*dst)[i];
        d->role = dup_or_empty(src[i].role);
        d->content = dup_or_empty(src[i].content);
        d->message_id = src[i].message_id ? strdup(src[i].message_id) : NULL;
        d->turn = src[i].turn;
        (*nd)++;
        if (!d->role || !d->content || (src[i].message_id && !d->message_id)) return -1;
    }
    return 0;
}

int brain_context_degraded(brain_context *ctx, const char *reason, const brain_message *messages, size_t n) {
    memset(ctx, 0, sizeof *ctx);
    ctx->degraded = true;
    snprintf(ctx->degraded_reason, sizeof ctx->degraded_reason, "%s", reason ? reason : "");
    if (copy_messages(&ctx->messages, &ctx->n_messages, messages, n) != 0) {
        brain_context_clear(ctx);
        ctx->degraded = true;
        return -1;
    }
    return 0;
}

static int copy_memory(brain_memory_item **dst, size_t *nd, const brain_memory_item *src, size_t n) {
    *nd = 0;
    if (!n) return 0;
    *dst = calloc(n, sizeof **dst);
    if (!*dst) return -1;
    for (size_t i = 0; i < n; i++) {
        (*dst)[i].key = dup_or_empty(src[i].key);
        (*dst)[i].value = dup_or_empty(src[i].value);
        (*dst)[i].confidence = src[i].confidence;
        (*nd)++;
        if (!(*dst)[i].key || !(*dst)[i].value) return -1;
    }
    return 0;
}

int brain_context_copy(brain_context *dst, const brain_context *src) {
    memset(dst, 0, sizeof *dst);
    dst->degraded = src->degraded;
    memcpy(dst->degraded_reason, src->degraded_reason, sizeof dst->degraded_reason);
    int rc = copy_memory(&dst->preferences, &dst->n_preferences, src->preferences, src->n_preferences);
    if (!rc) rc = copy_memory(&dst->relationships, &dst->n_relationships, src->relationships, src->n_relationships);
    if (!rc) rc = copy_messages(&dst->messages, &dst->n_messages, src->messages, src->n_messages);
    if (!rc) rc = brain_conversation_copy(&dst->conv, &src->conv);
    if (!rc && src->n_scenes) {
        dst->scenes = calloc(src->n_scenes, sizeof *dst->scenes);
        if (!dst->scenes) rc = -1;
        for (size_t i = 0; !rc && i < src->n_scenes; i++) {
            brain_scene *d = &dst->scenes[dst->n_scenes++];
            *d = src->scenes[i];
            d->id = dup_or_empty(src->scenes[i].id);
            d->name = dup_or_empty(src->scenes[i].name);
            d->description = dup_or_empty(src->scenes[i].description);
            if (!d->id || !d->name || !d->description) rc = -1;
        }
    }
    if (!rc && src->n_images) {
        dst->images = calloc(src->n_images, sizeof *dst->images);
        if (!dst->images) rc = -1;
        for (size_t i = 0; !rc && i < src->n_images; i++) {
            brain_image_facts *d = &dst->images[dst->n_images++];
            d->trace_id = dup_or_empty(src->images[i].trace_id);
            d->facts = dup_or_empty(src->images[i].facts);
            d->created_at = dup_or_empty(src->images[i].created_at);
            if (!d->trace_id || !d->facts || !d->created_at || copy_urls(&d->urls, &src->images[i].urls) != 0) rc = -1;
        }
    }
    if (rc) brain_context_clear(dst);
    return rc;
}

static void free_memory(brain_memory_item *m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(m[i].key);
        free(m[i].value);
    }
    free(m);
}

void brain_context_clear(brain_context *ctx) {
    brain_conversation_clear(&ctx->conv);
    free_memory(ctx->preferences, ctx->n_preferences);
    free_memory(ctx->relationships, ctx->n_relationships);
    for (size_t i = 0; i < ctx->n_scenes; i++) {
        free(ctx->scenes[i].id);
        free(ctx->scenes[i].name);
        free(ctx->scenes[i].description);
    }
    free(ctx->scenes);
    for (size_t i = 0; i < ctx->n_images; i++) {
        free(ctx->images[i].trace_id);
        free(ctx->images[i].facts);
        free(ctx->images[i].created_at);
        bf_strlist_free(&ctx->images[i].urls);
    }
    free(ctx->images);
    for (size_t i = 0; i < ctx->n_messages; i++) {
        free(ctx->messages[i].role);
        free(ctx->messages[i].content);
        free(ctx->messages[i].message_id);
    }
    free(ctx->messages);
    memset(ctx, 0, sizeof *ctx);
}

const brain_scene *brain_context_find_scene(const brain_context *ctx, const char *scene_id) {
    if (!scene_id) return NULL;
    for (size_t i = 0; i < ctx->n_scenes; i++)
        if (strcmp(ctx->scenes[i].id, scene_id) == 0) return &ctx->scenes[i];
    return NULL;
}

bool brain_context_has_image_url(const brain_context *ctx, const char *url) {
    if (!url) return false;
    for (size_t i = 0; i < ctx->n_images; i++)
        for (size_t k = 0; k < ctx->images[i].urls.n; k++)
            if (strcmp(ctx->images[i].urls.v[k], url) == 0) return true;
    return false;
}
