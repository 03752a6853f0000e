#include "bf_msg_image_analysis_requested.h"

#include <stdlib.h>
#include <string.h>

#include "bf_msg_codec.h"

void bf_msg_image_analysis_requested_free(bf_msg_image_analysis_requested *m) {
    if (!m) return;
    free(m->url);
    free(m->conversation_id);
    free(m->scene_id);
    free(m->prompt_excerpt);
    memset(m, 0, sizeof *m);
}

int bf_msg_image_analysis_requested_decode(const char *bytes, size_t len, bf_msg_image_analysis_requested *out,
                                           char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    bf_jc c;
    const cJSON *p, *ctx;
    cJSON *root =
        bf_msg_decode_begin(bytes, len, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    bf_jc_uuid(&c, p, "request_id", true, false, out->request_id);
    bf_jc_trace_id(&c, p, "image_trace_id", true, out->image_trace_id);
    bf_jc_url(&c, p, "url", true, BF_URL_MAX, &out->url);
    if (bf_jc_object(&c, p, "context", false, &ctx) == 0 && ctx) {
        size_t m = bf_jc_push_key(&c, "context");
        bf_jc_ident(&c, ctx, "conversation_id", false, &out->conversation_id);
        bf_jc_ident(&c, ctx, "scene_id", false, &out->scene_id);
        bf_jc_string(&c, ctx, "prompt_excerpt", false, 0, BF_CONTEXT_TEXT_MAX, true, &out->prompt_excerpt);
        bf_jc_pop(&c, m);
    }
    cJSON_Delete(root);
    if (!c.failed) return 0;
    bf_msg_image_analysis_requested_free(out);
    return -1;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_image_analysis_requested m;
    int r = bf_msg_image_analysis_requested_decode(bytes, len, &m, err, errlen);
    bf_msg_image_analysis_requested_free(&m);
    return r;
}

char *bf_msg_image_analysis_requested_encode(const bf_msg_image_analysis_requested *m, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    int r = p ? 0 : -1;
    r |= bf_msg_add_string(p, "request_id", m->request_id);
    r |= bf_msg_add_string(p, "image_trace_id", m->image_trace_id);
    r |= bf_msg_add_string(p, "url", m->url);
    if (m->conversation_id || m->scene_id || m->prompt_excerpt) {
        cJSON *ctx = cJSON_AddObjectToObject(p, "context");
        if (!ctx) r = -1;
        r |= bf_msg_add_string(ctx, "conversation_id", m->conversation_id);
        r |= bf_msg_add_string(ctx, "scene_id", m->scene_id);
        r |= bf_msg_add_string(ctx, "prompt_excerpt", m->prompt_excerpt);
    }
    if (r != 0) {
        cJSON_Delete(p);
        p = NULL;
    }
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, p, verify, err, errlen);
}
