#include "bf_msg_brain_request.h"

#include <stdlib.h>
#include <string.h>

#include "bf_msg_codec.h"

void bf_msg_brain_request_free(bf_msg_brain_request *m) {
    if (!m) return;
    free(m->prompt);
    bf_strlist_free(&m->image_urls);
    free(m->selected_scene_id);
    free(m->conversation_id);
    memset(m, 0, sizeof *m);
}

int bf_msg_brain_request_decode(const char *bytes, size_t len, bf_msg_brain_request *out, char *err,
                                size_t errlen) {
    memset(out, 0, sizeof *out);
    out->await_image_facts_ms = -1;
    bf_jc c;
    const cJSON *p;
    cJSON *root = bf_msg_decode_begin(bytes, len, BF_SCHEMA_BRAIN_REQUESTS, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    bf_jc_uuid(&c, p, "request_id", true, false, out->request_id);
    bf_jc_string(&c, p, "prompt", true, 1, BF_PROMPT_MAX, true, &out->prompt);
    bf_msg_list_read(&c, p, "image_urls", false, 0, BF_MAX_IMAGE_URLS, BF_URL_MAX, BF_LIST_URL, &out->image_urls);
    bf_jc_ident(&c, p, "selected_scene_id", false, &out->selected_scene_id);
    bf_jc_ident(&c, p, "conversation_id", false, &out->conversation_id);
    bf_jc_int(&c, p, "await_image_facts_ms", false, 0, BF_AWAIT_FACTS_MAX_MS, &out->await_image_facts_ms);
    cJSON_Delete(root);
    if (!c.failed) return 0;
    bf_msg_brain_request_free(out);
    return -1;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_brain_request m;
    int r = bf_msg_brain_request_decode(bytes, len, &m, err, errlen);
    bf_msg_brain_request_free(&m);
    return r;
}

char *bf_msg_brain_request_encode(const bf_msg_brain_request *m, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    int r = p ? 0 : -1;
    r |= bf_msg_add_string(p, "request_id", m->request_id);
    r |= bf_msg_add_string(p, "prompt", m->prompt);
    r |= bf_msg_add_list(p, "image_urls", &m->image_urls);
    r |= bf_msg_add_string(p, "selected_scene_id", m->selected_scene_id);
    r |= bf_msg_add_string(p, "conversation_id", m->conversation_id);
    if (m->await_image_facts_ms >= 0 &&
        !cJSON_AddNumberToObject(p, "await_image_facts_ms", (double)m->await_image_facts_ms))
        r = -1;
    if (r != 0) {
        cJSON_Delete(p);
        p = NULL;
    }
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_BRAIN_REQUESTS, p, verify, err, errlen);
}
