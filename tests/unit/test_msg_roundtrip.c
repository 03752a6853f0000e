/* encode -> decode -> the same struct, for every message type; and encode refuses what a
 * consumer would reject. Structs are built from the corpus's valid files (decode), re-encoded,
 * decoded again, and compared field by field through a second encode (byte-equal JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_editor_event.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_msg_memory_update.h"

static char *slurp(const char *schema, const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/contracts/%s/valid/%s.json", getenv("BF_SOURCE_DIR"), schema, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    static const size_t cap = 1 << 20;
    char *buf = malloc(cap);
    assert_non_null(buf);
    *len = fread(buf, 1, cap, f);
    fclose(f);
    return buf;
}

/* decode(file) -> encode -> decode -> encode; both encodings must be identical and decodable. */
#define ROUNDTRIP(type, schema, name)                                                   \
    do {                                                                                \
        size_t len;                                                                     \
        char err[512], *bytes = slurp(schema, name, &len);                              \
        bf_msg_##type a, b;                                                             \
        if (bf_msg_##type##_decode(bytes, len, &a, err, sizeof err) != 0)               \
            fail_msg("%s/%s: %s", schema, name, err);                                   \
        char *e1 = bf_msg_##type##_encode(&a, err, sizeof err);                         \
        if (!e1) fail_msg("%s/%s encode: %s", schema, name, err);                       \
        if (bf_msg_##type##_decode(e1, strlen(e1), &b, err, sizeof err) != 0)           \
            fail_msg("%s/%s re-decode: %s", schema, name, err);                         \
        char *e2 = bf_msg_##type##_encode(&b, err, sizeof err);                         \
        assert_non_null(e2);                                                            \
        assert_string_equal(e1, e2);                                                    \
        assert_memory_equal(&a.env, &b.env, sizeof a.env);                              \
        free(e1);                                                                       \
        free(e2);                                                                       \
        free(bytes);                                                                    \
        bf_msg_##type##_free(&a);                                                       \
        bf_msg_##type##_free(&b);                                                       \
    } while (0)

static void test_roundtrip_corpus(void **state) {
    (void)state;
    ROUNDTRIP(brain_request, "brainRequests", "minimal");
    ROUNDTRIP(brain_request, "brainRequests", "full");
    ROUNDTRIP(brain_request, "brainRequests", "max_urls");
    ROUNDTRIP(image_analysis_requested, "imageAnalysisRequested", "minimal");
    ROUNDTRIP(image_analysis_requested, "imageAnalysisRequested", "with_context");
    ROUNDTRIP(image_facts_ready, "imageFactsReady", "builtin");
    ROUNDTRIP(image_facts_ready, "imageFactsReady", "vision");
    ROUNDTRIP(image_facts_ready, "imageFactsReady", "vision_failed");
    ROUNDTRIP(image_facts_ready, "imageFactsReady", "empty_palette_square");
    ROUNDTRIP(image_facts_processed, "imageFactsProcessed", "builtin");
    ROUNDTRIP(image_facts_processed, "imageFactsProcessed", "vision");
    ROUNDTRIP(memory_update, "memoryUpdates", "items_and_messages");
    ROUNDTRIP(memory_update, "memoryUpdates", "messages_only");
    ROUNDTRIP(memory_update, "memoryUpdates", "items_only");
    ROUNDTRIP(memory_update, "memoryUpdates", "turns_and_conversation_context");
    ROUNDTRIP(brain_decision, "brainDecisions", "tool");
    ROUNDTRIP(brain_decision, "brainDecisions", "workflow");
    ROUNDTRIP(brain_decision, "brainDecisions", "clarification_degraded");
    ROUNDTRIP(brain_decision, "brainDecisions", "image_facts_enriched");
    ROUNDTRIP(dead_letter, "deadLetters", "invalid_json");
    ROUNDTRIP(dead_letter, "deadLetters", "no_key_no_payload");
    static const char *const editor[] = {"scene_created_from_image", "scene_updated_by_user", "scene_updated_minimal",
                                         "scene_deleted", "scenes_reordered", "decision_applied", "decision_failed"};
    for (size_t i = 0; i < sizeof editor / sizeof editor[0]; i++) ROUNDTRIP(editor_event, "editorEvents", editor[i]);
}

/* A producer builds a struct by hand; decode must give back exactly those values. */
static void test_brain_request_by_hand(void **state) {
    (void)state;
    char err[256];
    bf_msg_brain_request m = {0}, d;
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_BRAIN_REQUESTS, "p1", NULL, "fleetctl", 1718000000000, err,
                                      sizeof err), 0);
    bf_uuid_v4(m.request_id);
    char prompt[] = "make it \"pop\"\n\u00e9t\u00e9 \xf0\x9f\x8e\xac";
    char u0[] = "https://e.com/a.png";
    char *urls[] = {u0};
    m.prompt = prompt;
    m.image_urls = (bf_strlist){urls, 1};
    m.await_image_facts_ms = 0;
    char *json = bf_msg_brain_request_encode(&m, err, sizeof err);
    if (!json) fail_msg("%s", err);
    assert_int_equal(bf_msg_brain_request_decode(json, strlen(json), &d, err, sizeof err), 0);
    assert_string_equal(d.prompt, prompt);
    assert_string_equal(d.request_id, m.request_id);
    assert_int_equal(d.image_urls.n, 1);
    assert_string_equal(d.image_urls.v[0], u0);
    assert_null(d.selected_scene_id);
    assert_int_equal(d.await_image_facts_ms, 0);
    assert_string_equal(d.env.project_id, "p1");
    assert_int_equal(bf_uuid_v7_time_ms(d.env.event_id), 1718000000000);
    bf_msg_brain_request_free(&d);
    free(json);

    m.image_urls.n = 0;
    m.await_image_facts_ms = -1;
    m.prompt = (char *)"";
    assert_null(bf_msg_brain_request_encode(&m, err, sizeof err));
    assert_string_equal(err, "payload.prompt: empty");
}

static void test_decision_by_hand(void **state) {
    (void)state;
    char err[256];
    bf_msg_brain_decision m = {0}, d;
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_BRAIN_DECISIONS, "p1",
                                      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "brain-worker", 5,
                                      err, sizeof err), 0);
    assert_string_equal(m.env.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    bf_uuid_v4(m.request_id);
    bf_tool_call call = {.tool = BF_TOOL_DELETE_SCENE, .target_scene_id = (char *)"s-9",
                         .edit_complexity = BF_EDIT_STRUCTURAL, .input = (char *)"{\"confirm\":true}"};
    m.type = BF_DECISION_TOOL;
    m.steps = &call;
    m.n_steps = 1;
    m.model = (char *)"rule-based";
    m.timings = (bf_decision_timings){1, 2, 3, 6};
    m.error = (bf_msg_error){true, "llm_timeout", (char *)"timed out"};
    char *json = bf_msg_brain_decision_encode(&m, err, sizeof err);
    if (!json) fail_msg("%s", err);
    assert_int_equal(bf_msg_brain_decision_decode(json, strlen(json), &d, err, sizeof err), 0);
    assert_int_equal(d.n_steps, 1);
    assert_int_equal(d.steps[0].tool, BF_TOOL_DELETE_SCENE);
    assert_int_equal(d.steps[0].edit_complexity, BF_EDIT_STRUCTURAL);
    assert_string_equal(d.steps[0].input, "{\"confirm\":true}");
    assert_int_equal(d.timings.total_ms, 6);
    assert_true(d.error.present);
    assert_string_equal(d.error.code, "llm_timeout");
    bf_msg_brain_decision_free(&d);
    free(json);

    call.target_scene_id = NULL; /* deleteScene needs a scene */
    assert_null(bf_msg_brain_decision_encode(&m, err, sizeof err));
    assert_string_equal(err, "payload.decision.tool_call.target_scene_id: missing (required by deleteScene)");
    call.target_scene_id = (char *)"s-9";
    call.input = (char *)"{not json";
    assert_null(bf_msg_brain_decision_encode(&m, err, sizeof err));
}

/* The editor's events built by hand: what an editor fills in comes back, and encode refuses the
 * combinations a consumer rejects (so the reference editor cannot publish them). */
static void test_editor_event_by_hand(void **state) {
    (void)state;
    char err[256];
    bf_msg_editor_event m = {0}, d;
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_EDITOR_EVENTS, "p1", NULL, "editor", 1718000000000, err,
                                      sizeof err), 0);
    m.event = BF_EDITOR_SCENE_CREATED;
    m.origin = BF_ORIGIN_BRAIN;
    bf_uuid_v4(m.request_id);
    m.step = 1;
    m.has_tool = true;
    m.tool = BF_TOOL_CREATE_SCENE_FROM_IMAGE;
    m.conversation_id = (char *)"conv-1";
    m.scene = (bf_editor_scene){.scene_id = (char *)"scene-0123456789ab", .name = (char *)"Title \"big\"",
                                .position = 3, .duration_ms = 5000, .description = (char *)"line 1\nline 2",
                                .version = 2147483647};
    m.from_image = (bf_editor_image){.present = true, .url = (char *)"https://e.com/a.png"};
    m.step = 1;
    char *json = bf_msg_editor_event_encode(&m, err, sizeof err);
    if (!json) fail_msg("%s", err);
    assert_int_equal(bf_msg_editor_event_decode(json, strlen(json), &d, err, sizeof err), 0);
    assert_int_equal(d.event, BF_EDITOR_SCENE_CREATED);
    assert_int_equal(d.origin, BF_ORIGIN_BRAIN);
    assert_string_equal(d.request_id, m.request_id);
    assert_int_equal(d.step, 1);
    assert_true(d.has_tool);
    assert_int_equal(d.tool, BF_TOOL_CREATE_SCENE_FROM_IMAGE);
    assert_string_equal(d.scene.name, "Title \"big\"");
    assert_string_equal(d.scene.description, "line 1\nline 2");
    assert_int_equal(d.scene.position, 3);
    assert_true(d.scene.version == 2147483647);
    assert_true(d.from_image.present);
    assert_string_equal(d.from_image.url, "https://e.com/a.png");
    assert_string_equal(d.from_image.trace_id, "");
    bf_msg_editor_event_free(&d);
    free(json);

    m.step = -1; /* origin brain needs its step */
    assert_null(bf_msg_editor_event_encode(&m, err, sizeof err));
    assert_string_equal(err, "payload.step: missing (required with origin brain)");
    m.step = 0;
    m.event = BF_EDITOR_SCENE_UPDATED; /* from_image only on creation */
    assert_null(bf_msg_editor_event_encode(&m, err, sizeof err));
    assert_string_equal(err, "payload.from_image: only on scene_created");
    m.from_image.present = false;
    m.origin = BF_ORIGIN_USER; /* a user's edit has no request */
    assert_null(bf_msg_editor_event_encode(&m, err, sizeof err));
    assert_string_equal(err, "payload.request_id: only with origin brain");

    /* A decision's outcome: a failed step needs its error; a deletion's fields. */
    bf_msg_editor_event f = {.env = m.env, .event = BF_EDITOR_DECISION_FAILED, .step = -1};
    memcpy(f.request_id, m.request_id, sizeof f.request_id);
    bf_editor_step steps[] = {{.step = 0, .tool = BF_TOOL_ADD_SCENE, .outcome = BF_STEP_APPLIED, .scene_id = (char *)"s1"},
                              {.step = 1, .tool = BF_TOOL_CHANGE_DURATION, .outcome = BF_STEP_FAILED}};
    f.steps = steps;
    f.n_steps = 2;
    f.error = (char *)"step 1 failed";
    assert_null(bf_msg_editor_event_encode(&f, err, sizeof err));
    assert_string_equal(err, "payload.steps[1].error: missing (required when failed)");
    steps[1].error = (char *)"no such scene";
    json = bf_msg_editor_event_encode(&f, err, sizeof err);
    if (!json) fail_msg("%s", err);
    assert_int_equal(bf_msg_editor_event_decode(json, strlen(json), &d, err, sizeof err), 0);
    assert_int_equal(d.n_steps, 2);
    assert_int_equal(d.steps[1].outcome, BF_STEP_FAILED);
    assert_string_equal(d.steps[1].error, "no such scene");
    assert_null(d.steps[1].scene_id);
    assert_int_equal(d.origin, BF_ORIGIN_NONE);
    bf_msg_editor_event_free(&d);
    free(json);
    f.event = BF_EDITOR_DECISION_APPLIED; /* with a failed step, and an error */
    assert_null(bf_msg_editor_event_encode(&f, err, sizeof err));

    bf_msg_editor_event del = {.env = m.env, .event = BF_EDITOR_SCENE_DELETED, .step = -1,
                               .scene = {.scene_id = (char *)"s1", .version = 4}};
    json = bf_msg_editor_event_encode(&del, err, sizeof err);
    if (!json) fail_msg("%s", err);
    assert_non_null(strstr(json, "\"scene_id\":\"s1\",\"version\":4"));
    assert_null(strstr(json, "\"scene\""));
    free(json);
}

static void test_dead_letter_binary(void **state) {
    (void)state;
    char err[256];
    unsigned char payload[] = {0xff, 0x00, 0xc3, 0x28, '{'};
    unsigned char hv[] = {0x01, 0x02};
    bf_dead_letter_header h = {(char *)"x-bin", hv, sizeof hv};
    bf_msg_dead_letter m = {0}, d;
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_DEAD_LETTERS, "unknown", NULL, "image-worker", 1, err,
                                      sizeof err), 0);
    snprintf(m.reason_code, sizeof m.reason_code, "invalid_utf8");
    m.reason_message = (char *)"invalid UTF-8 at offset 0";
    m.topic = (char *)"imageAnalysisRequested";
    m.partition = 2;
    m.offset = 99;
    m.timestamp_ms = -1;
    m.consumer_group = (char *)"image-worker";
    m.worker = (char *)"image-worker";
    m.original_payload = payload;
    m.original_payload_len = sizeof payload;
    m.headers = &h;
    m.n_headers = 1;
    m.failed_at_ms = 7;
    char *json = bf_msg_dead_letter_encode(&m, err, sizeof err);
    if (!json) fail_msg("%s", err);
    assert_int_equal(bf_msg_dead_letter_decode(json, strlen(json), &d, err, sizeof err), 0);
    assert_int_equal(d.original_payload_len, sizeof payload);
    assert_memory_equal(d.original_payload, payload, sizeof payload);
    assert_null(d.original_key);
    assert_int_equal(d.timestamp_ms, -1);
    assert_int_equal(d.n_headers, 1);
    assert_memory_equal(d.headers[0].value, hv, sizeof hv);
    bf_msg_dead_letter_free(&d);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_corpus),
        cmocka_unit_test(test_brain_request_by_hand),
        cmocka_unit_test(test_decision_by_hand),
        cmocka_unit_test(test_dead_letter_binary),
        cmocka_unit_test(test_editor_event_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
