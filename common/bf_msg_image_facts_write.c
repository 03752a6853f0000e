#include "bf_msg_image_facts_write.h"

#include <stdio.h>
#include <string.h>

/* The members of bf_envelope_encode, in its order and bytes, up to and including "payload":. */
static int envelope_write_open(bf_json_out *w, const bf_envelope *env, char *err, size_t errlen) {
    if (bf_envelope_check(env, err, errlen) != 0) return -1;
    bf_json_out_raw(w, "{", 1);
    bf_json_out_member_string(w, "schema", env->schema);
    bf_json_out_member_int(w, "schema_version", env->schema_version);
    bf_json_out_member_string(w, "event_id", env->event_id);
    bf_json_out_member_string(w, "trace_id", env->trace_id);
    bf_json_out_member_string(w, "project_id", env->project_id);
    bf_json_out_member_int(w, "produced_at_ms", env->produced_at_ms);
    bf_json_out_member_string(w, "producer", env->producer);
    bf_json_out_key(w, "payload");
    return 0;
}

void bf_palette_write(bf_json_out *w, const bf_palette_entry *p, size_t n) {
    bf_json_out_raw(w, "[", 1);
    for (size_t i = 0; i < n && i < BF_PALETTE_MAX; i++) {
        bf_json_out_raw(w, i ? ",{" : "{", i ? 2 : 1);
        bf_json_out_member_string(w, "hex", p[i].hex);
        bf_json_out_member_number(w, "share", p[i].share);
        bf_json_out_raw(w, "}", 1);
    }
    bf_json_out_raw(w, "]", 1);
}

void bf_facts_error_write(bf_json_out *w, const bf_msg_error *e) {
    bf_json_out_raw(w, "{", 1);
    bf_json_out_member_string(w, "code", e->code);
    bf_json_out_member_string(w, "message", e->message ? e->message : "");
    bf_json_out_raw(w, "}", 1);
}

static void write_json_text(bf_json_out *w, const char *key, const char *text) {
    if (!text) return;
    bf_json_out_key(w, key);
    bf_json_out_lit(w, text);
}

static void write_list(bf_json_out *w, const char *key, const bf_strlist *l) {
    bf_json_out_key(w, key);
    bf_json_out_strings(w, (const char *const *)l->v, l->n);
}

static void write_measurements(bf_json_out *w, const bf_image_facts *f) {
    bf_json_out_key(w, "palette");
    bf_palette_write(w, f->palette, f->n_palette);
    bf_json_out_member_number(w, "brightness", f->brightness);
    bf_json_out_member_number(w, "contrast", f->contrast);
    bf_json_out_member_number(w, "saturation", f->saturation);
    bf_json_out_member_string(w, "temperature", bf_temperature_name(f->temperature));
    bf_json_out_member_string(w, "mood", bf_mood_name(f->mood));
    bf_json_out_member_int(w, "width", f->width);
    bf_json_out_member_int(w, "height", f->height);
    bf_json_out_member_string(w, "orientation", bf_orientation_name(f->orientation));
    write_json_text(w, "typography", f->typography);
    write_json_text(w, "style", f->style);
    write_json_text(w, "layout", f->layout);
    if (f->objects.n) write_list(w, "objects", &f->objects);
    if (f->visible_text.n) write_list(w, "visible_text", &f->visible_text);
}

void bf_image_facts_write(bf_json_out *w, const bf_image_facts *f) {
    bf_json_out_raw(w, "{", 1);
    bf_json_out_member_string(w, "trace_id", f->trace_id);
    bf_json_out_member_string(w, "request_id", f->request_id);
    if (f->content_hash[0] || !f->not_analysed) bf_json_out_member_string(w, "content_hash", f->content_hash);
    write_list(w, "image_urls", &f->image_urls);
    if (!f->not_analysed) write_measurements(w, f);
    bf_json_out_member_string(w, "analyser", bf_analyser_name(f->analyser));
    bf_json_out_member_string(w, "model", f->model);
    bf_json_out_member_int(w, "processing_ms", f->processing_ms);
    if (f->error.present) {
        bf_json_out_key(w, "error");
        bf_facts_error_write(w, &f->error);
    }
    bf_json_out_raw(w, "}", 1);
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
    if (envelope_write_open(w, &m->env, err, errlen) != 0) return -1;
    bf_json_out_raw(w, "{", 1);
    bf_json_out_member_string(w, "source_event_id", m->source_event_id);
    bf_json_out_member_string(w, "trace_id", m->trace_id);
    bf_json_out_member_string(w, "request_id", m->request_id);
    if (m->content_hash[0]) bf_json_out_member_string(w, "content_hash", m->content_hash);
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
    bf_msg_image_facts_processed back;
    int rc = bf_msg_image_facts_processed_decode(out, w->len, &back, err, errlen);
    bf_msg_image_facts_processed_free(&back);
    if (rc != 0) return -1;
#endif
    return 0;
}
