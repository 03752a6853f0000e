/* memory_extract: a decoded imageFactsReady becomes one image_analysis row, its claim on the
 * bytes' evidence, its preference upserts gated on it and the imageFactsProcessed to publish; a
 * memoryUpdates its upserts and messages (with turns), a conversation_context expiring after the
 * retention, no scene_relationship; an editorEvents its scene rows, relationship and conversation
 * context. The row's JSON cells are written directly (no
 * cJSON tree): they must be what cJSON prints for the same values, its float8 cells must read back
 * as exactly the facts' doubles, and the output must decode and carry the input's facts. Facts of
 * an image that could not be analysed give a row with the error, NULL measurements and no
 * preference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_editor_event.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_msg_memory_update.h"
#include "memory_extract.h"
#include "memory_store.h"

static char *slurp_from(const char *topic, const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/contracts/%s/valid/%s.json", getenv("BF_SOURCE_DIR"), topic, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

static char *slurp(const char *name, size_t *len) { return slurp_from("imageFactsReady", name, len); }

/* cJSON's printing of the member key of the facts as bf_image_facts_to_json builds them. */
static char *cjson_member(const bf_image_facts *f, const char *key) {
    cJSON *o = bf_image_facts_to_json(f);
    assert_non_null(o);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
    char *s = m ? cJSON_PrintUnformatted(m) : strdup("[]");
    cJSON_Delete(o);
    return s;
}

static void assert_exact(const char *cell, double want) {
    char *end;
    double got = strtod(cell, &end);
    assert_int_equal(*end, '\0');
    assert_memory_equal(&got, &want, sizeof got);
}

static void check_file(const char *name) {
    size_t len;
    char err[512], *bytes = slurp(name, &len);
    bf_msg_image_facts_ready m;
    if (bf_msg_image_facts_ready_decode(bytes, len, &m, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    const bf_image_facts *f = &m.facts;
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    int cause;
    assert_int_equal(memory_extract_image_facts(&b, &cause, &m, 0.2, 5, 1718000000999, err, sizeof err), 0);
    assert_int_equal(b.n_items, 1);
    assert_int_equal(b.analyses.n, 1);
    assert_int_equal(b.n_upserts, f->n_palette ? 2 : 1);

    char *const *row = b.analyses.cells;
    assert_string_equal(row[MEMORY_AN_PROJECT_ID], m.env.project_id);
    assert_string_equal(row[MEMORY_AN_SOURCE_EVENT_ID], m.env.event_id);
    assert_exact(row[MEMORY_AN_BRIGHTNESS], f->brightness);
    assert_exact(row[MEMORY_AN_CONTRAST], f->contrast);
    assert_exact(row[MEMORY_AN_SATURATION], f->saturation);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)f->width);
    assert_string_equal(row[MEMORY_AN_WIDTH], want);
    snprintf(want, sizeof want, "%lld", (long long)f->processing_ms);
    assert_string_equal(row[MEMORY_AN_PROCESSING_MS], want);
    const char *json_cells[] = {"palette", "objects", "visible_text", "error"};
    const int cols[] = {MEMORY_AN_PALETTE, MEMORY_AN_OBJECTS, MEMORY_AN_VISIBLE_TEXT, MEMORY_AN_ERROR};
    for (size_t i = 0; i < 4; i++) {
        if (cols[i] == MEMORY_AN_ERROR && !f->error.present) {
            assert_null(row[MEMORY_AN_ERROR]);
            continue;
        }
        char *c = cjson_member(f, json_cells[i]);
        if (strcmp(row[cols[i]], c) != 0) fail_msg("%s: %s cell %s, cJSON prints %s", name, json_cells[i], row[cols[i]], c);
        cJSON_free(c);
    }
    if (f->typography) assert_string_equal(row[MEMORY_AN_TYPOGRAPHY], f->typography);
    else assert_null(row[MEMORY_AN_TYPOGRAPHY]);

    const memory_item *it = &b.items[0];
    assert_ptr_equal(it->cause, &cause);
    assert_non_null(it->out_env);
    assert_string_equal(it->out_env->project_id, m.env.project_id);
    assert_string_equal(it->out_env->schema, BF_SCHEMA_IMAGE_FACTS_PROCESSED);
    assert_string_equal(it->out_env->trace_id, m.env.trace_id);
    assert_int_equal(it->out_len, strlen(it->out_payload));
    bf_msg_image_facts_processed out;
    if (bf_msg_image_facts_processed_decode(it->out_payload, it->out_len, &out, err, sizeof err) != 0)
        fail_msg("%s: output does not decode: %s", name, err);
    assert_string_equal(out.source_event_id, m.env.event_id);
    /* What the runtime puts on the record (key, headers) is the envelope the payload carries. */
    assert_string_equal(out.env.event_id, it->out_env->event_id);
    assert_int_equal(out.env.produced_at_ms, it->out_env->produced_at_ms);
    assert_string_equal(out.env.trace_id, m.env.trace_id);
    assert_string_equal(out.env.producer, MEMORY_PRODUCER);
    assert_int_equal(out.env.produced_at_ms, 1718000000999);
    cJSON *a = bf_image_facts_to_json(f), *o = bf_image_facts_to_json(&out.facts);
    char *as = cJSON_PrintUnformatted(a), *os = cJSON_PrintUnformatted(o);
    assert_string_equal(os, as);
    cJSON_free(as);
    cJSON_free(os);
    cJSON_Delete(a);
    cJSON_Delete(o);
    bf_msg_image_facts_processed_free(&out);
    memory_batch_free(&b);
    bf_msg_image_facts_ready_free(&m);
    free(bytes);
}

static void test_contract_files(void **state) {
    (void)state;
    check_file("builtin");
    check_file("vision");
    check_file("vision_failed");
    check_file("empty_palette_square");
}

/* Facts of an image that could not be analysed: a row with the error and NULL measurements (and a
 * NULL hash when no bytes came), no preference derived, and the output carries the facts. */
static void check_not_analysed(const char *name, bool hash) {
    size_t len;
    char err[512], *bytes = slurp(name, &len);
    bf_msg_image_facts_ready m;
    if (bf_msg_image_facts_ready_decode(bytes, len, &m, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    assert_true(m.facts.not_analysed);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    int cause;
    assert_int_equal(memory_extract_image_facts(&b, &cause, &m, 0.2, 5, 1718000000999, err, sizeof err), 0);
    assert_int_equal(b.analyses.n, 1);
    assert_int_equal(b.n_upserts, 0);
    char *const *row = b.analyses.cells;
    const int measured[] = {MEMORY_AN_MOOD,  MEMORY_AN_BRIGHTNESS, MEMORY_AN_CONTRAST, MEMORY_AN_SATURATION,
                            MEMORY_AN_TEMPERATURE, MEMORY_AN_WIDTH, MEMORY_AN_HEIGHT, MEMORY_AN_ORIENTATION,
                            MEMORY_AN_TYPOGRAPHY, MEMORY_AN_STYLE, MEMORY_AN_LAYOUT, MEMORY_AN_MODEL};
    for (size_t i = 0; i < sizeof measured / sizeof measured[0]; i++)
        if (row[measured[i]]) fail_msg("%s: column %d is %s, not NULL", name, measured[i], row[measured[i]]);
    if (hash) assert_string_equal(row[MEMORY_AN_CONTENT_HASH], m.facts.content_hash);
    else assert_null(row[MEMORY_AN_CONTENT_HASH]);
    assert_string_equal(row[MEMORY_AN_PALETTE], "[]");
    char *e = cjson_member(&m.facts, "error");
    assert_string_equal(row[MEMORY_AN_ERROR], e);
    cJSON_free(e);
    assert_string_equal(row[MEMORY_AN_ANALYSER], "builtin");
    const memory_item *it = &b.items[0];
    bf_msg_image_facts_processed out;
    if (bf_msg_image_facts_processed_decode(it->out_payload, it->out_len, &out, err, sizeof err) != 0)
        fail_msg("%s: output does not decode: %s", name, err);
    assert_true(out.facts.not_analysed);
    assert_string_equal(out.facts.error.code, m.facts.error.code);
    assert_string_equal(out.content_hash, m.facts.content_hash);
    bf_msg_image_facts_processed_free(&out);
    memory_batch_free(&b);
    bf_msg_image_facts_ready_free(&m);
    free(bytes);
}

static void test_not_analysed(void **state) {
    (void)state;
    check_not_analysed("fetch_failed", false);
    check_not_analysed("decode_failed", true);
}

/* A message whose output the contract refuses leaves the batch as it was. */
static void test_refused_output_leaves_batch(void **state) {
    (void)state;
    size_t len;
    char err[512], *bytes = slurp("vision", &len);
    bf_msg_image_facts_ready m;
    assert_int_equal(bf_msg_image_facts_ready_decode(bytes, len, &m, err, sizeof err), 0);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    assert_int_equal(memory_extract_image_facts(&b, NULL, &m, 0.2, 5, 1718000000999, err, sizeof err), 0);
    /* Typography nested 30 levels: fits imageFactsReady, one level too deep for the output. */
    free(m.facts.typography);
    char *deep = malloc(128);
    char *p = deep + snprintf(deep, 128, "{\"t\":");
    for (int i = 1; i < 30; i++) *p++ = '[';
    *p++ = '1';
    for (int i = 1; i < 30; i++) *p++ = ']';
    snprintf(p, 2, "}");
    m.facts.typography = deep;
    assert_int_equal(memory_extract_image_facts(&b, NULL, &m, 0.2, 6, 1718000000999, err, sizeof err), -1);
    assert_non_null(strstr(err, "nesting deeper than"));
    assert_int_equal(b.n_items, 1);
    assert_int_equal(b.analyses.n, 1);
    memory_batch_free(&b);
    bf_msg_image_facts_ready_free(&m);
    free(bytes);
}

/* The image's evidence: one claim row (project, content hash, the event), and both preferences
 * gated on that hash. */
static void test_image_evidence_claim(void **state) {
    (void)state;
    size_t len;
    char err[512], *bytes = slurp("builtin", &len);
    bf_msg_image_facts_ready m;
    assert_int_equal(bf_msg_image_facts_ready_decode(bytes, len, &m, err, sizeof err), 0);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    assert_int_equal(memory_extract_image_facts(&b, NULL, &m, 0.2, 5, 1718000000999, err, sizeof err), 0);
    assert_int_equal(b.evidence.n, 1);
    assert_string_equal(b.evidence.cells[MEMORY_EV_PROJECT_ID], m.env.project_id);
    assert_string_equal(b.evidence.cells[MEMORY_EV_CONTENT_HASH], m.facts.content_hash);
    assert_string_equal(b.evidence.cells[MEMORY_EV_EVENT_ID], m.env.event_id);
    assert_true(b.n_upserts >= 1);
    for (size_t i = 0; i < b.n_upserts; i++) assert_string_equal(b.upserts[i].evidence_hash, m.facts.content_hash);
    memory_batch_free(&b);
    bf_msg_image_facts_ready_free(&m);
    free(bytes);
}

/* memoryUpdates: messages keep their turn (NULL without one); conversation_context expires at
 * wall + retention whatever the item says; scene_relationship items are not stored; others as
 * sent. */
static void test_memory_update_rows(void **state) {
    (void)state;
    size_t len;
    char err[512], *bytes = slurp_from("memoryUpdates", "turns_and_conversation_context", &len);
    bf_msg_memory_update m;
    assert_int_equal(bf_msg_memory_update_decode(bytes, len, &m, err, sizeof err), 0);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    assert_int_equal(memory_extract_memory_update(&b, NULL, &m, 5, 1800000000000, 86400000, err, sizeof err), 0);
    assert_int_equal(b.messages.n, 2);
    assert_string_equal(b.messages.cells[MEMORY_MSG_TURN], "3");
    assert_int_equal(b.n_upserts, 1);
    assert_string_equal(b.upserts[0].memory_type, "conversation_context");
    assert_int_equal(b.upserts[0].expires_at_ms, 1800000000000 + 86400000);
    assert_null(b.upserts[0].evidence_hash);
    bf_msg_memory_update_free(&m);
    free(bytes);

    bytes = slurp_from("memoryUpdates", "items_and_messages", &len);
    assert_int_equal(bf_msg_memory_update_decode(bytes, len, &m, err, sizeof err), 0);
    memory_batch_clear(&b);
    assert_int_equal(memory_extract_memory_update(&b, NULL, &m, 5, 1800000000000, 86400000, err, sizeof err), 0);
    assert_null(b.messages.cells[MEMORY_MSG_TURN]); /* no turn on the wire */
    assert_int_equal(b.n_upserts, 2);               /* of 3: the scene_relationship is dropped */
    assert_string_equal(b.upserts[0].memory_type, "user_preference");
    assert_int_equal(b.upserts[0].expires_at_ms, -1);
    assert_string_equal(b.upserts[1].memory_type, "conversation_context");
    assert_int_equal(b.upserts[1].expires_at_ms, 1800000000000 + 86400000); /* not its 1725776000000 */
    memory_batch_free(&b);
    bf_msg_memory_update_free(&m);
    free(bytes);
}

static memory_batch *editor_rows(memory_batch *b, const char *name) {
    size_t len;
    char err[512], *bytes = slurp_from("editorEvents", name, &len);
    bf_msg_editor_event m;
    if (bf_msg_editor_event_decode(bytes, len, &m, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    memory_batch_clear(b);
    assert_int_equal(memory_extract_editor_event(b, NULL, &m, 5, 1800000000000, 1000, err, sizeof err), 0);
    assert_int_equal(b->n_items, 1);
    assert_int_equal(b->items[0].kind, MEMORY_ITEM_EDITOR_EVENTS);
    assert_string_equal(b->items[0].event_id, m.env.event_id);
    assert_null(b->items[0].out_payload); /* nothing to publish */
    bf_msg_editor_event_free(&m);
    free(bytes);
    return b;
}

#define SC(b, row, col) ((b)->scenes.cells[(row) * MEMORY_SC_COLS + (col)])

static void test_editor_event_rows(void **state) {
    (void)state;
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);

    /* Created by the brain from an image: content and position at v1, and its relationship. */
    editor_rows(&b, "scene_created_from_image");
    assert_int_equal(b.scenes.n, 1);
    assert_string_equal(SC(&b, 0, MEMORY_SC_SCENE_ID), "scene-3f2a9c1b7d4e");
    assert_string_equal(SC(&b, 0, MEMORY_SC_NAME), "Beach opener");
    assert_string_equal(SC(&b, 0, MEMORY_SC_POSITION), "0");
    assert_string_equal(SC(&b, 0, MEMORY_SC_DURATION_MS), "5000");
    assert_non_null(strstr(SC(&b, 0, MEMORY_SC_DESCRIPTION), "golden hour"));
    assert_string_equal(SC(&b, 0, MEMORY_SC_CONTENT_VERSION), "1");
    assert_string_equal(SC(&b, 0, MEMORY_SC_POSITION_VERSION), "1");
    assert_string_equal(SC(&b, 0, MEMORY_SC_DELETED_VERSION), "0");
    assert_int_equal(b.relations.n, 1);
    assert_string_equal(b.relations.cells[MEMORY_REL_VERSION], "1");
    assert_string_equal(b.relations.cells[MEMORY_REL_VALUE],
                        "{\"version\":1,\"origin\":\"brain\",\"last_change\":\"scene_created\",\"last_tool\":"
                        "\"createSceneFromImage\",\"last_request_id\":\"0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a6b\"}");
    assert_string_equal(b.relations.cells[MEMORY_REL_FROM_IMAGE],
                        "{\"url\":\"https://cdn.example.com/uploads/beach.jpg\",\"trace_id\":"
                        "\"0af7651916cd43dd8448eb211c80319c\",\"content_hash\":"
                        "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"}");
    assert_int_equal(b.n_upserts, 0);

    /* By hand: no tool, no request. */
    editor_rows(&b, "scene_updated_by_user");
    assert_string_equal(b.relations.cells[MEMORY_REL_VALUE],
                        "{\"version\":2,\"origin\":\"user\",\"last_change\":\"scene_updated\",\"last_tool\":null,"
                        "\"last_request_id\":null}");
    assert_null(b.relations.cells[MEMORY_REL_FROM_IMAGE]);
    assert_string_equal(SC(&b, 0, MEMORY_SC_DESCRIPTION), "");

    /* No origin: a user's edit. */
    editor_rows(&b, "scene_updated_minimal");
    assert_non_null(strstr(b.relations.cells[MEMORY_REL_VALUE], "\"origin\":\"user\""));

    /* Deleted: only the deletion's version; no relationship row (the store removes it). */
    editor_rows(&b, "scene_deleted");
    assert_int_equal(b.scenes.n, 1);
    assert_null(SC(&b, 0, MEMORY_SC_NAME));
    assert_null(SC(&b, 0, MEMORY_SC_POSITION));
    assert_string_equal(SC(&b, 0, MEMORY_SC_CONTENT_VERSION), "0");
    assert_string_equal(SC(&b, 0, MEMORY_SC_POSITION_VERSION), "0");
    assert_string_equal(SC(&b, 0, MEMORY_SC_DELETED_VERSION), "4");
    assert_int_equal(b.relations.n, 0);

    /* Reordered: one row per scene, position only. */
    editor_rows(&b, "scenes_reordered");
    assert_int_equal(b.scenes.n, 2);
    assert_string_equal(SC(&b, 1, MEMORY_SC_SCENE_ID), "intro");
    assert_string_equal(SC(&b, 1, MEMORY_SC_POSITION), "1");
    assert_string_equal(SC(&b, 1, MEMORY_SC_POSITION_VERSION), "8");
    assert_string_equal(SC(&b, 1, MEMORY_SC_CONTENT_VERSION), "0");
    assert_null(SC(&b, 1, MEMORY_SC_NAME));
    assert_int_equal(b.relations.n, 0);

    /* A decision applied: the conversation's context, each field stamped with the report's time;
     * the current scene is the last scene an applied step touched (a skipped one does not count). */
    editor_rows(&b, "decision_applied");
    assert_int_equal(b.scenes.n, 0);
    assert_int_equal(b.n_upserts, 1);
    assert_string_equal(b.upserts[0].memory_type, "conversation_context");
    assert_string_equal(b.upserts[0].key, "conversation:conv-1");
    assert_string_equal(b.upserts[0].source, "editor");
    assert_int_equal(b.upserts[0].expires_at_ms, 1800000000000 + 1000);
    assert_string_equal(b.upserts[0].value,
                        "{\"last_applied_request_id\":\"0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a6b\",\"last_tool_applied\":"
                        "\"changeDuration\",\"current_scene_id\":\"scene-7c0de1a2b3c4\",\"reported_at\":{"
                        "\"last_applied_request_id\":1718000000000,\"last_tool_applied\":1718000000000,"
                        "\"current_scene_id\":1718000000000}}");

    /* A decision failed: its failure, and what of it did apply; no conversation id: "default". */
    editor_rows(&b, "decision_failed");
    assert_string_equal(b.upserts[0].key, "conversation:default");
    assert_string_equal(b.upserts[0].value,
                        "{\"last_applied_request_id\":\"0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a6b\",\"last_tool_applied\":"
                        "\"editScene\",\"current_scene_id\":\"intro\",\"last_failed_request_id\":"
                        "\"0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a6b\",\"last_error\":\"1 of 2 tool calls failed: scene-9 "
                        "is not in the storyboard\",\"reported_at\":{\"last_applied_request_id\":1718000000000,"
                        "\"last_tool_applied\":1718000000000,\"current_scene_id\":1718000000000,"
                        "\"last_failed_request_id\":1718000000000,\"last_error\":1718000000000}}");
    memory_batch_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_files),
        cmocka_unit_test(test_not_analysed),
        cmocka_unit_test(test_refused_output_leaves_batch),
        cmocka_unit_test(test_image_evidence_claim),
        cmocka_unit_test(test_memory_update_rows),
        cmocka_unit_test(test_editor_event_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
