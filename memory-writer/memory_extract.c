#include "memory_extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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
    /* An image that could not be analysed: the row holds the error, its measurements are NULL. */
    bool m_ok = !f->not_analysed;
    if (urls && json) {
        const char *cells[MEMORY_AN_COLS] = {
            [MEMORY_AN_PROJECT_ID] = m->env.project_id,
            [MEMORY_AN_TRACE_ID] = f->trace_id,
            [MEMORY_AN_REQUEST_ID] = f->request_id,
            [MEMORY_AN_CONTENT_HASH] = f->content_hash[0] ? f->content_hash : NULL,
            [MEMORY_AN_IMAGE_URLS] = urls,
            [MEMORY_AN_PALETTE] = json + at[JSON_PALETTE],
            [MEMORY_AN_MOOD] = m_ok ? bf_mood_name(f->mood) : NULL,
            [MEMORY_AN_BRIGHTNESS] = m_ok ? num[0] : NULL,
            [MEMORY_AN_CONTRAST] = m_ok ? num[1] : NULL,
            [MEMORY_AN_SATURATION] = m_ok ? num[2] : NULL,
            [MEMORY_AN_TEMPERATURE] = m_ok ? bf_temperature_name(f->temperature) : NULL,
            [MEMORY_AN_WIDTH] = m_ok ? num[3] : NULL,
            [MEMORY_AN_HEIGHT] = m_ok ? num[4] : NULL,
            [MEMORY_AN_ORIENTATION] = m_ok ? bf_orientation_name(f->orientation) : NULL,
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

/* The image's preferences count only if this event is the first of the project's bytes: its
 * claim (an evidence row) and the preferences gated on it (evidence_hash). */
static int add_preferences(memory_batch *b, size_t item, const bf_msg_image_facts_ready *m, double w) {
    const bf_image_facts *f = &m->facts;
    if (f->not_analysed) return 0; /* no mood, no colours: nothing to prefer */
    const char *claim[MEMORY_EV_COLS] = {[MEMORY_EV_PROJECT_ID] = m->env.project_id,
                                         [MEMORY_EV_CONTENT_HASH] = f->content_hash,
                                         [MEMORY_EV_EVENT_ID] = m->env.event_id};
    if (memory_rows_add(&b->evidence, item, claim) != 0) return -1;
    memory_palette_entry pal[BF_PALETTE_MAX];
    for (size_t i = 0; i < f->n_palette; i++) pal[i] = (memory_palette_entry){f->palette[i].hex, f->palette[i].share};
    memory_pref prefs[2];
    size_t n = memory_preferences_extract(bf_mood_name(f->mood), pal, f->n_palette, w, prefs);
    char source[16 + BF_TRACE_ID_LEN];
    snprintf(source, sizeof source, "image:%s", f->trace_id);
    for (size_t i = 0; i < n; i++) {
        memory_upsert_in u = {.project_id = m->env.project_id, .memory_type = "user_preference",
                              .key = prefs[i].key, .value = prefs[i].value, .weight = prefs[i].weight,
                              .is_explicit = false, .source = source, .expires_at_ms = -1,
                              .evidence_hash = f->content_hash};
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

#define CONVERSATION_KEY_PREFIX "conversation:"

int memory_extract_memory_update(memory_batch *b, void *cause, const bf_msg_memory_update *m, int64_t now_ms,
                                 int64_t wall_ms, int64_t conversation_ms, char *err, size_t errlen) {
    size_t before = b->n_items;
    size_t item = memory_batch_add_item(b, cause, MEMORY_ITEM_MEMORY_UPDATES, m->env.event_id, now_ms);
    if (item == SIZE_MAX) goto oom;
    for (size_t i = 0; i < m->n_items; i++) {
        const bf_memory_item *it = &m->items[i];
        /* Relationships are what the editor applied, not what the brain decided: a brain's
         * relationship would outlive the scene's deletion, or name a change never made. */
        if (it->memory_type == BF_MEMORY_SCENE_RELATIONSHIP) continue;
        bool conversation = it->memory_type == BF_MEMORY_CONVERSATION_CONTEXT;
        memory_upsert_in u = {.project_id = m->env.project_id, .memory_type = bf_memory_type_name(it->memory_type),
                              .key = it->key, .value = it->value, .weight = it->confidence,
                              .is_explicit = it->is_explicit, .source = it->source,
                              .expires_at_ms = conversation ? wall_ms + conversation_ms : it->expires_at_ms};
        if (memory_batch_add_upsert(b, item, &u) != 0) goto oom;
    }
    for (size_t i = 0; i < m->n_messages; i++) {
        const bf_conversation_message *cm = &m->messages[i];
        char created[24], turn[24];
        snprintf(created, sizeof created, "%lld", (long long)m->env.produced_at_ms);
        snprintf(turn, sizeof turn, "%lld", (long long)cm->turn);
        const char *cells[MEMORY_MSG_COLS] = {
            [MEMORY_MSG_MESSAGE_ID] = cm->message_id,
            [MEMORY_MSG_PROJECT_ID] = m->env.project_id,
            [MEMORY_MSG_CONVERSATION_ID] = cm->conversation_id,
            [MEMORY_MSG_ROLE] = bf_message_role_name(cm->role),
            [MEMORY_MSG_CONTENT] = cm->content,
            [MEMORY_MSG_CREATED_MS] = created,
            [MEMORY_MSG_TURN] = cm->turn > 0 ? turn : NULL,
        };
        if (memory_rows_add(&b->messages, item, cells) != 0) goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    memory_batch_truncate(b, before);
    return -1;
}

/* ---- editorEvents ---- */

static int add_scene_row(memory_batch *b, size_t item, const char *project, const char *scene_id, const char *name,
                         int64_t position, int64_t duration_ms, const char *description, int64_t cv, int64_t pv,
                         int64_t dv) {
    char num[5][24];
    snprintf(num[0], sizeof num[0], "%lld", (long long)position);
    snprintf(num[1], sizeof num[1], "%lld", (long long)duration_ms);
    snprintf(num[2], sizeof num[2], "%lld", (long long)cv);
    snprintf(num[3], sizeof num[3], "%lld", (long long)pv);
    snprintf(num[4], sizeof num[4], "%lld", (long long)dv);
    const char *cells[MEMORY_SC_COLS] = {
        [MEMORY_SC_PROJECT_ID] = project,
        [MEMORY_SC_SCENE_ID] = scene_id,
        [MEMORY_SC_NAME] = name,
        [MEMORY_SC_POSITION] = pv > 0 ? num[0] : NULL,
        [MEMORY_SC_DURATION_MS] = cv > 0 ? num[1] : NULL,
        [MEMORY_SC_DESCRIPTION] = description,
        [MEMORY_SC_CONTENT_VERSION] = num[2],
        [MEMORY_SC_POSITION_VERSION] = num[3],
        [MEMORY_SC_DELETED_VERSION] = num[4],
    };
    return memory_rows_add(&b->scenes, item, cells);
}

static int add_str_or_null(cJSON *o, const char *key, const char *v) {
    return (v && *v ? cJSON_AddStringToObject(o, key, v) : cJSON_AddNullToObject(o, key)) ? 0 : -1;
}

/* The relationship a created or updated scene implies: who changed it last and how. "follows"
 * is the store's (from the storyboard as it is after the batch), "from_image" a column of its own
 * (the first one stays). */
static int add_relation_row(memory_batch *b, size_t item, const bf_msg_editor_event *m) {
    cJSON *v = cJSON_CreateObject();
    cJSON *img = m->from_image.present ? cJSON_CreateObject() : NULL;
    bool brain = m->origin == BF_ORIGIN_BRAIN;
    int r = v && (img || !m->from_image.present) ? 0 : -1;
    if (r == 0 && !cJSON_AddNumberToObject(v, "version", (double)m->scene.version)) r = -1;
    if (r == 0) r = add_str_or_null(v, "origin", brain ? "brain" : "user");
    if (r == 0) r = add_str_or_null(v, "last_change", bf_editor_event_kind_name(m->event));
    if (r == 0) r = add_str_or_null(v, "last_tool", brain && m->has_tool ? bf_tool_name(m->tool) : NULL);
    if (r == 0) r = add_str_or_null(v, "last_request_id", brain ? m->request_id : NULL);
    if (r == 0 && img) {
        if (!cJSON_AddStringToObject(img, "url", m->from_image.url)) r = -1;
        if (r == 0 && m->from_image.trace_id[0] && !cJSON_AddStringToObject(img, "trace_id", m->from_image.trace_id)) r = -1;
        if (r == 0 && m->from_image.content_hash[0] &&
            !cJSON_AddStringToObject(img, "content_hash", m->from_image.content_hash))
            r = -1;
    }
    char *value = r == 0 ? cJSON_PrintUnformatted(v) : NULL, *image = r == 0 && img ? cJSON_PrintUnformatted(img) : NULL;
    char version[24];
    snprintf(version, sizeof version, "%lld", (long long)m->scene.version);
    const char *cells[MEMORY_REL_COLS] = {
        [MEMORY_REL_PROJECT_ID] = m->env.project_id, [MEMORY_REL_SCENE_ID] = m->scene.scene_id,
        [MEMORY_REL_VERSION] = version, [MEMORY_REL_VALUE] = value, [MEMORY_REL_FROM_IMAGE] = image,
    };
    if (!value || (img && !image) || memory_rows_add(&b->relations, item, cells) != 0) r = -1;
    free(value);
    free(image);
    cJSON_Delete(v);
    cJSON_Delete(img);
    return r;
}

/* Sets field and its stamp in reported_at. */
static int stamped(cJSON *v, cJSON *reported_at, const char *field, const char *text, int64_t at_ms) {
    if (!cJSON_AddStringToObject(v, field, text)) return -1;
    return cJSON_AddNumberToObject(reported_at, field, (double)at_ms) ? 0 : -1;
}

/* What a decision's outcome tells the conversation: the last request applied and its last tool,
 * the scene the conversation is now about (the last scene a step created or changed; a deletion
 * names none), or the failure. Each field is stamped with the report's time (the editor's
 * produced_at_ms) so the store keeps, per field, the newest report that set it whatever order
 * they arrive in (memory_store.c, sql_merge). */
static int add_decision_context(memory_batch *b, size_t item, const bf_msg_editor_event *m, int64_t expires_at_ms) {
    const bf_editor_step *last = NULL, *last_scene = NULL;
    for (size_t i = 0; i < m->n_steps; i++) {
        const bf_editor_step *st = &m->steps[i];
        if (st->outcome != BF_STEP_APPLIED) continue;
        last = st;
        if (st->scene_id && st->tool != BF_TOOL_DELETE_SCENE) last_scene = st;
    }
    int64_t at = m->env.produced_at_ms;
    cJSON *v = cJSON_CreateObject(), *rep = cJSON_CreateObject();
    int r = v && rep ? 0 : -1;
    if (r == 0 && (last || m->event == BF_EDITOR_DECISION_APPLIED))
        r = stamped(v, rep, "last_applied_request_id", m->request_id, at);
    if (r == 0 && last) r = stamped(v, rep, "last_tool_applied", bf_tool_name(last->tool), at);
    if (r == 0 && last_scene) r = stamped(v, rep, "current_scene_id", last_scene->scene_id, at);
    if (r == 0 && m->event == BF_EDITOR_DECISION_FAILED) {
        r = stamped(v, rep, "last_failed_request_id", m->request_id, at);
        if (r == 0) r = stamped(v, rep, "last_error", m->error, at);
    }
    if (r == 0) {
        cJSON_AddItemToObject(v, "reported_at", rep);
        rep = NULL;
    }
    char *value = r == 0 ? cJSON_PrintUnformatted(v) : NULL;
    cJSON_Delete(v);
    cJSON_Delete(rep);
    if (!value) return -1;
    char key[sizeof CONVERSATION_KEY_PREFIX + BF_ID_MAX];
    snprintf(key, sizeof key, CONVERSATION_KEY_PREFIX "%s", m->conversation_id ? m->conversation_id : "default");
    memory_upsert_in u = {.project_id = m->env.project_id, .memory_type = "conversation_context", .key = key,
                          .value = value, .weight = 1.0, .is_explicit = false, .source = "editor",
                          .expires_at_ms = expires_at_ms};
    r = memory_batch_add_upsert(b, item, &u);
    free(value);
    return r;
}

int memory_extract_editor_event(memory_batch *b, void *cause, const bf_msg_editor_event *m, int64_t now_ms,
                                int64_t wall_ms, int64_t conversation_ms, char *err, size_t errlen) {
    size_t before = b->n_items;
    size_t item = memory_batch_add_item(b, cause, MEMORY_ITEM_EDITOR_EVENTS, m->env.event_id, now_ms);
    int r = item == SIZE_MAX ? -1 : 0;
    const char *project = m->env.project_id;
    const bf_editor_scene *sc = &m->scene;
    if (r == 0) {
        switch (m->event) {
        case BF_EDITOR_SCENE_CREATED:
        case BF_EDITOR_SCENE_UPDATED:
            r = add_scene_row(b, item, project, sc->scene_id, sc->name, sc->position, sc->duration_ms,
                              sc->description ? sc->description : "", sc->version, sc->version, 0);
            if (r == 0) r = add_relation_row(b, item, m);
            break;
        case BF_EDITOR_SCENE_DELETED:
            r = add_scene_row(b, item, project, sc->scene_id, NULL, 0, 0, NULL, 0, 0, sc->version);
            break;
        case BF_EDITOR_SCENES_REORDERED:
            for (size_t i = 0; r == 0 && i < m->n_order; i++)
                r = add_scene_row(b, item, project, m->order[i].scene_id, NULL, m->order[i].position, 0, NULL, 0,
                                  m->order[i].version, 0);
            break;
        case BF_EDITOR_DECISION_APPLIED:
        case BF_EDITOR_DECISION_FAILED: r = add_decision_context(b, item, m, wall_ms + conversation_ms); break;
        }
    }
    if (r == 0) return 0;
    snprintf(err, errlen, "out of memory");
    memory_batch_truncate(b, before);
    return -1;
}
