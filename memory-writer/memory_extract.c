#include "memory_extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_out.h"
#include "bf_msg_image_facts_write.h"
#include "bf_number_text.h"
#include "memory_pgarray.h"
#include "memory_preferences.h"
#include "memory_store.h"

/* A text[] literal ('{"a","b"}'), malloc'd. */
static char *strlist_pgarray(const bf_strlist *l) {
    memory_pgarray a;
    memory_pgarray_init(&a);
    for (size_t i = 0; i < l->n; i++) memory_pgarray_add(&a, l->v[i]);
    const char *t = memory_pgarray_text(&a);
    char *s = t ? strdup(t) : NULL;
    memory_pgarray_free(&a);
    return s;
}

/* The row's JSON cells, written one after the other into one buffer, each ended by a NUL, so
 * the row costs one buffer rather than a cJSON tree and a printed string per cell. */
enum { JSON_PALETTE, JSON_OBJECTS, JSON_VISIBLE_TEXT, JSON_ERROR, JSON_CELLS };

static void end_cell(bf_json_out *w, size_t *offsets, int cell, size_t start) {
    offsets[cell] = start;
    bf_json_out_raw(w, "", 1);
}

static void write_json_cells(bf_json_out *w, const bf_image_facts *f, size_t offsets[JSON_CELLS]) {
    size_t at = w->len;
    bf_palette_write(w, f->palette, f->n_palette);
    end_cell(w, offsets, JSON_PALETTE, at);
    at = w->len;
    bf_json_out_strings(w, (const char *const *)f->objects.v, f->objects.n);
    end_cell(w, offsets, JSON_OBJECTS, at);
    at = w->len;
    bf_json_out_strings(w, (const char *const *)f->visible_text.v, f->visible_text.n);
    end_cell(w, offsets, JSON_VISIBLE_TEXT, at);
    at = w->len;
    if (f->error.present) bf_facts_error_write(w, &f->error);
    end_cell(w, offsets, JSON_ERROR, at);
}

static int add_analysis_row(memory_batch *b, size_t item, const bf_msg_image_facts_ready *m) {
    const bf_image_facts *f = &m->facts;
    /* Rows hold text cells; the store turns these back into binary float8/int parameters
     * (memory_pgbin_add_cell), and bf_number_exact's text reads back as exactly this double. */
    char num[6][BF_NUMBER_TEXT_MAX];
    bf_number_exact(f->brightness, num[0]);
    bf_number_exact(f->contrast, num[1]);
    bf_number_exact(f->saturation, num[2]);
    bf_number_int(f->width, num[3]);
    bf_number_int(f->height, num[4]);
    bf_number_int(f->processing_ms, num[5]);
    char *urls = strlist_pgarray(&f->image_urls);
    bf_json_out w;
    bf_json_out_init(&w);
    size_t at[JSON_CELLS];
    write_json_cells(&w, f, at);
    const char *json = bf_json_out_text(&w);
    int rc = -1;
    if (urls && json) {
        const char *cells[MEMORY_AN_COLS] = {
            [MEMORY_AN_PROJECT_ID] = m->env.project_id,
            [MEMORY_AN_TRACE_ID] = f->trace_id,
            [MEMORY_AN_REQUEST_ID] = f->request_id,
            [MEMORY_AN_CONTENT_HASH] = f->content_hash,
            [MEMORY_AN_IMAGE_URLS] = urls,
            [MEMORY_AN_PALETTE] = json + at[JSON_PALETTE],
            [MEMORY_AN_MOOD] = bf_mood_name(f->mood),
            [MEMORY_AN_BRIGHTNESS] = num[0],
            [MEMORY_AN_CONTRAST] = num[1],
            [MEMORY_AN_SATURATION] = num[2],
            [MEMORY_AN_TEMPERATURE] = bf_temperature_name(f->temperature),
            [MEMORY_AN_WIDTH] = num[3],
            [MEMORY_AN_HEIGHT] = num[4],
            [MEMORY_AN_ORIENTATION] = bf_orientation_name(f->orientation),
            [MEMORY_AN_TYPOGRAPHY] = f->typography,
            [MEMORY_AN_STYLE] = f->style,
            [MEMORY_AN_LAYOUT] = f->layout,
            [MEMORY_AN_OBJECTS] = json + at[JSON_OBJECTS],
            [MEMORY_AN_VISIBLE_TEXT] = json + at[JSON_VISIBLE_TEXT],
            [MEMORY_AN_ANALYSER] = bf_analyser_name(f->analyser),
            [MEMORY_AN_MODEL] = f->model,
            [MEMORY_AN_PROCESSING_MS] = num[5],
            [MEMORY_AN_SOURCE_EVENT_ID] = m->env.event_id,
            [MEMORY_AN_ERROR] = f->error.present ? json + at[JSON_ERROR] : NULL,
        };
        rc = memory_rows_add(&b->analyses, item, cells);
    }
    bf_json_out_free(&w);
    free(urls);
    return rc;
}

static int add_preferences(memory_batch *b, size_t item, const bf_msg_image_facts_ready *m, double w) {
    const bf_image_facts *f = &m->facts;
    memory_palette_entry pal[BF_PALETTE_MAX];
    for (size_t i = 0; i < f->n_palette; i++) pal[i] = (memory_palette_entry){f->palette[i].hex, f->palette[i].share};
    memory_pref prefs[2];
    size_t n = memory_preferences_extract(bf_mood_name(f->mood), pal, f->n_palette, w, prefs);
    char source[16 + BF_TRACE_ID_LEN];
    snprintf(source, sizeof source, "image:%s", f->trace_id);
    for (size_t i = 0; i < n; i++) {
        memory_upsert_in u = {.project_id = m->env.project_id, .memory_type = "user_preference",
                              .key = prefs[i].key, .value = prefs[i].value, .weight = prefs[i].weight,
                              .is_explicit = false, .source = source, .expires_at_ms = -1};
        if (memory_batch_add_upsert(b, item, &u) != 0) return -1;
    }
    return 0;
}

static int add_output(memory_batch *b, size_t item, const bf_msg_image_facts_ready *m, int64_t wall_ms, char *err,
                      size_t errlen) {
    bf_msg_image_facts_processed out;
    memset(&out, 0, sizeof out);
    /* The request's trace continues; the event id is new, source_event_id names the input so
     * consumers recognise a re-publication. */
    if (bf_envelope_init_in_trace(&out.env, BF_SCHEMA_IMAGE_FACTS_PROCESSED, m->env.project_id, m->env.trace_id,
                                  MEMORY_PRODUCER, wall_ms, err, errlen) != 0)
        return -1;
    memcpy(out.source_event_id, m->env.event_id, sizeof out.source_event_id);
    memcpy(out.trace_id, m->facts.trace_id, sizeof out.trace_id);
    memcpy(out.request_id, m->facts.request_id, sizeof out.request_id);
    memcpy(out.content_hash, m->facts.content_hash, sizeof out.content_hash);
    out.facts = m->facts; /* borrowed for encoding only */
    /* m was decoded (the handler's contract decoder), which the direct writer requires. */
    bf_json_out w;
    bf_json_out_init(&w);
    /* One allocation of about the usual size (the facts alone are ~700 bytes without vision). */
    bf_json_out_reserve(&w, 2048);
    int rc = bf_msg_image_facts_processed_write(&out, &w, err, errlen);
    size_t len;
    char *json = rc == 0 ? bf_json_out_take(&w, &len) : NULL;
    if (rc == 0 && (!json || memory_batch_take_output(b, item, &out.env, json, len) != 0)) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    bf_json_out_free(&w);
    return rc;
}

int memory_extract_image_facts(memory_batch *b, void *cause, const bf_msg_image_facts_ready *m,
                               double inferred_weight, int64_t now_ms, int64_t wall_ms, char *err, size_t errlen) {
    size_t before = b->n_items;
    size_t item = memory_batch_add_item(b, cause, MEMORY_ITEM_IMAGE_FACTS, m->env.event_id, now_ms);
    if (item == SIZE_MAX) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (add_output(b, item, m, wall_ms, err, errlen) != 0) goto fail;
    if (add_analysis_row(b, item, m) != 0 || add_preferences(b, item, m, inferred_weight) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return 0;
fail:
    memory_batch_truncate(b, before);
    return -1;
}

int memory_extract_memory_update(memory_batch *b, void *cause, const bf_msg_memory_update *m, int64_t now_ms,
                                 char *err, size_t errlen) {
    size_t before = b->n_items;
    size_t item = memory_batch_add_item(b, cause, MEMORY_ITEM_MEMORY_UPDATES, m->env.event_id, now_ms);
    if (item == SIZE_MAX) goto oom;
    for (size_t i = 0; i < m->n_items; i++) {
        const bf_memory_item *it = &m->items[i];
        memory_upsert_in u = {.project_id = m->env.project_id, .memory_type = bf_memory_type_name(it->memory_type),
                              .key = it->key, .value = it->value, .weight = it->confidence,
                              .is_explicit = it->is_explicit, .source = it->source,
                              .expires_at_ms = it->expires_at_ms};
        if (memory_batch_add_upsert(b, item, &u) != 0) goto oom;
    }
    for (size_t i = 0; i < m->n_messages; i++) {
        const bf_conversation_message *cm = &m->messages[i];
        char created[24];
        snprintf(created, sizeof created, "%lld", (long long)m->env.produced_at_ms);
        const char *cells[MEMORY_MSG_COLS] = {
            [MEMORY_MSG_MESSAGE_ID] = cm->message_id,
            [MEMORY_MSG_PROJECT_ID] = m->env.project_id,
            [MEMORY_MSG_CONVERSATION_ID] = cm->conversation_id,
            [MEMORY_MSG_ROLE] = bf_message_role_name(cm->role),
            [MEMORY_MSG_CONTENT] = cm->content,
            [MEMORY_MSG_CREATED_MS] = created,
        };
        if (memory_rows_add(&b->messages, item, cells) != 0) goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    memory_batch_truncate(b, before);
    return -1;
}
