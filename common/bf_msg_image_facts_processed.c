#include "bf_msg_image_facts_processed.h"

#include <stdio.h>
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
    bf_jc_sha256(&c, p, "content_hash", true, out->content_hash);
    if (bf_jc_object(&c, p, "facts", true, &facts) == 0) {
        size_t m = bf_jc_push_key(&c, "facts");
        if (bf_image_facts_read(&c, facts, &out->facts) == 0) {
            /* The outer copies exist for routing without reading facts; they must not disagree. */
            if (strcmp(out->facts.trace_id, out->trace_id) != 0)
                bf_jc_fail_at(&c, "trace_id", "differs from payload.trace_id");
            else if (strcmp(out->facts.request_id, out->request_id) != 0)
                bf_jc_fail_at(&c, "request_id", "differs from payload.request_id");
            else if (strcmp(out->facts.content_hash, out->content_hash) != 0)
                bf_jc_fail_at(&c, "content_hash", "differs from payload.content_hash");
        }
        bf_jc_pop(&c, m);
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
    r |= bf_msg_add_string(p, "content_hash", m->content_hash);
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

/* Why no decoding of the result, unlike _encode: _encode's struct may have been filled by hand and
 * break any rule, so only decoding its output proves it. Here the facts passed
 * bf_image_facts_read already, and writing them again cannot break those rules: strings are
 * copied (escaped), numbers are printed as cJSON prints them and read back within the same
 * bounds, vision texts are cJSON's own printing. tests/unit/test_msg_facts_write.c holds this
 * encoder to _encode's bytes over the contract corpus, the fuzz corpus and generated facts
 * (escapes, UTF-8, extreme numbers). What writing them again can change is checked here: the
 * envelope, the outer copies of the facts' ids, the size, and the nesting, since the facts sit one
 * level deeper than in imageFactsReady and vision JSON at that message's depth limit would be one
 * too deep here. Builds with assertions (debug, asan: every test run) decode the output as well. */
int bf_msg_image_facts_processed_write(const bf_msg_image_facts_processed *m, bf_json_out *w, char *err,
                                       size_t errlen) {
    bf_json_out_reset(w);
    const bf_image_facts *f = &m->facts;
    if (strcmp(m->env.schema, BF_SCHEMA_IMAGE_FACTS_PROCESSED) != 0) {
        snprintf(err, errlen, "schema: \"%s\" in the envelope of a %s message", m->env.schema,
                 BF_SCHEMA_IMAGE_FACTS_PROCESSED);
        return -1;
    }
    if (!bf_uuid_v7_valid(m->source_event_id)) {
        snprintf(err, errlen, "payload.source_event_id: not a UUIDv7 (lowercase 8-4-4-4-12 hex, version 7)");
        return -1;
    }
    const char *differs = strcmp(m->trace_id, f->trace_id) != 0         ? "trace_id"
                          : strcmp(m->request_id, f->request_id) != 0     ? "request_id"
                          : strcmp(m->content_hash, f->content_hash) != 0 ? "content_hash"
                                                                          : NULL;
    if (differs) {
        snprintf(err, errlen, "payload.facts.%s: differs from payload.%s", differs, differs);
        return -1;
    }
    /* root, payload, facts: the vision texts' own nesting starts below these three levels. */
    const char *vision[] = {f->typography, f->style, f->layout};
    for (size_t i = 0; i < 3; i++)
        if (vision[i] && 3 + bf_json_depth(vision[i], strlen(vision[i])) > BF_MSG_MAX_DEPTH) {
            snprintf(err, errlen, "nesting deeper than %u", BF_MSG_MAX_DEPTH);
            return -1;
        }
    if (bf_envelope_write_open(w, &m->env, err, errlen) != 0) return -1;
    bf_json_out_raw(w, "{", 1);
    bf_json_out_member_string(w, "source_event_id", m->source_event_id);
    bf_json_out_member_string(w, "trace_id", m->trace_id);
    bf_json_out_member_string(w, "request_id", m->request_id);
    bf_json_out_member_string(w, "content_hash", m->content_hash);
    bf_json_out_key(w, "facts");
    bf_image_facts_write(w, f);
    bf_json_out_raw(w, "}}", 2);
    const char *out = bf_json_out_text(w);
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (w->len > BF_MSG_MAX_BYTES) {
        snprintf(err, errlen, "message of %zu bytes is above the limit of %u", w->len, BF_MSG_MAX_BYTES);
        return -1;
    }
#ifndef NDEBUG
    if (verify(out, w->len, err, errlen) != 0) return -1;
#endif
    return 0;
}
