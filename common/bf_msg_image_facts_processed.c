#include "bf_msg_image_facts_processed.h"

#include <string.h>

#include "bf_msg_codec.h"

void bf_msg_image_facts_processed_free(bf_msg_image_facts_processed *m) {
    if (!m) return;
    bf_image_facts_free(&m->facts);
    memset(m, 0, sizeof *m);
}

int bf_msg_image_facts_processed_decode(const char *bytes, size_t len, bf_msg_image_facts_processed *out, char *err,
                                        size_t errlen) {
    memset(out, 0, sizeof *out);
    bf_jc c;
    const cJSON *p, *facts;
    cJSON *root =
        bf_msg_decode_begin(bytes, len, BF_SCHEMA_IMAGE_FACTS_PROCESSED, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    bf_jc_uuid(&c, p, "source_event_id", true, true, out->source_event_id);
    bf_jc_trace_id(&c, p, "trace_id", true, out->trace_id);
    bf_jc_uuid(&c, p, "request_id", true, false, out->request_id);
    /* Absent exactly when the facts have none (an image that could not be fetched). */
    bf_jc_sha256(&c, p, "content_hash", false, out->content_hash);
    if (bf_jc_object(&c, p, "facts", true, &facts) == 0) {
        size_t m = bf_jc_push_key(&c, "facts");
        if (bf_image_facts_read(&c, facts, &out->facts) == 0) {
            /* The outer copies exist for routing without reading facts; they must not disagree. */
            if (strcmp(out->facts.trace_id, out->trace_id) != 0)
                bf_jc_fail_at(&c, "trace_id", "differs from payload.trace_id");
            else if (strcmp(out->facts.request_id, out->request_id) != 0)
                bf_jc_fail_at(&c, "request_id", "differs from payload.request_id");
            else if (out->content_hash[0] && strcmp(out->facts.content_hash, out->content_hash) != 0)
                bf_jc_fail_at(&c, "content_hash", "differs from payload.content_hash");
        }
        bf_jc_pop(&c, m);
        if (!c.failed && !out->content_hash[0] && out->facts.content_hash[0])
            bf_jc_fail_at(&c, "content_hash", "missing (the facts have one)");
    }
    cJSON_Delete(root);
    if (!c.failed) return 0;
    bf_msg_image_facts_processed_free(out);
    return -1;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_image_facts_processed m;
    int r = bf_msg_image_facts_processed_decode(bytes, len, &m, err, errlen);
    bf_msg_image_facts_processed_free(&m);
    return r;
}

char *bf_msg_image_facts_processed_encode(const bf_msg_image_facts_processed *m, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    cJSON *facts = bf_image_facts_to_json(&m->facts);
    int r = p && facts ? 0 : -1;
    r |= bf_msg_add_string(p, "source_event_id", m->source_event_id);
    r |= bf_msg_add_string(p, "trace_id", m->trace_id);
    r |= bf_msg_add_string(p, "request_id", m->request_id);
    r |= bf_msg_add_string(p, "content_hash", m->content_hash[0] ? m->content_hash : NULL);
    if (r == 0) {
        cJSON_AddItemToObject(p, "facts", facts);
        facts = NULL;
    }
    cJSON_Delete(facts);
    if (r != 0) {
        cJSON_Delete(p);
        p = NULL;
    }
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_IMAGE_FACTS_PROCESSED, p, verify, err, errlen);
}
