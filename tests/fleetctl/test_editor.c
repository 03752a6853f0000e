/* The reference editor's logic without a broker (fleet_editor.h, fleet_storyboard.h): decisions in
 * (decoded from JSON by the consumers' codec, corpus examples included), editor events out, checked
 * by the contract's decoder; the storyboard as the fold of those events, in any order; a decision
 * applied once, resumed after a crash, failed calls, image facts, names and descriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_editor_event.h"
#include "fleet_editor.h"
#include "fleet_editor_text.h"
#include "fleet_storyboard.h"
#include "support_fleet.h"

#define P "proj-ed"
#define R1 "0190a4b2-7c3d-4e5f-8a6b-000000000001"
#define R2 "0190a4b2-7c3d-4e5f-8a6b-000000000002"
#define R3 "0190a4b2-7c3d-4e5f-8a6b-000000000003"
#define R4 "0190a4b2-7c3d-4e5f-8a6b-000000000004"
#define R5 "0190a4b2-7c3d-4e5f-8a6b-000000000005"
#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"

static const fleet_editor_opts opts = {.producer = "fleetctl-editor", .now_ms = 1718000000500};

static void decode(const char *json, bf_msg_brain_decision *d) {
    char err[512];
    if (bf_msg_brain_decision_decode(json, strlen(json), d, err, sizeof err) != 0) fail_msg("decision: %s\n%s", err, json);
}

/* A brainDecisions message for payload (without the envelope), as brain-worker would publish it. */
static char *decision_json(const char *project, const char *payload) {
    size_t n = strlen(payload) + 512;
    char *j = malloc(n);
    snprintf(j, n,
             "{\"schema\":\"brainDecisions\",\"schema_version\":1,\"event_id\":\"01907f3a-5b2c-7d1e-9f0a-1b2c3d4e5f60\","
             "\"trace_id\":\"" TRACE "\",\"project_id\":\"%s\",\"produced_at_ms\":1718000000000,"
             "\"producer\":\"brain-worker\",\"payload\":%s}",
             project, payload);
    return j;
}

static const char tail[] = ",\"context_degraded\":false,\"image_trace_ids\":[],\"model\":\"rule-based\","
                           "\"tokens\":{\"prompt\":0,\"completion\":0},\"prompt_truncation\":{\"truncated\":false,"
                           "\"budget_tokens\":6000},\"timings\":{\"queue_wait_ms\":1,\"context_ms\":1,\"llm_ms\":0,"
                           "\"total_ms\":2}}";

/* A decision of request rid whose "decision" object is decision. */
static char *tool_decision(const char *project, const char *rid, const char *decision) {
    char payload[8192];
    snprintf(payload, sizeof payload, "{\"kind\":\"decision\",\"request_id\":\"%s\",\"decision\":%s%s", rid, decision,
             tail);
    return decision_json(project, payload);
}

/* Applies json (a whole message); the events are checked to decode under the contract. */
static fleet_editor_verdict apply_json(fleet_storyboards *sb, const char *json, fleet_editor_out *out) {
    bf_msg_brain_decision d;
    decode(json, &d);
    char err[512];
    if (fleet_editor_apply(sb, &d, &opts, out, err, sizeof err) != 0) fail_msg("apply: %s", err);
    for (size_t i = 0; i < out->n_events; i++) {
        char *enc = bf_msg_editor_event_encode(&out->events[i], err, sizeof err);
        if (!enc) fail_msg("event %zu: %s", i, err);
        bf_msg_editor_event back;
        if (bf_msg_editor_event_decode(enc, strlen(enc), &back, err, sizeof err) != 0) fail_msg("event %zu: %s", i, err);
        assert_string_equal(back.env.trace_id, TRACE);
        assert_string_equal(back.env.project_id, d.env.project_id);
        assert_string_equal(back.env.producer, "fleetctl-editor");
        assert_string_equal(back.request_id, d.request_id);
        bf_msg_editor_event_free(&back);
        free(enc);
    }
    bf_msg_brain_decision_free(&d);
    return out->verdict;
}

static fleet_editor_verdict apply_tool(fleet_storyboards *sb, const char *rid, const char *decision, fleet_editor_out *out) {
    char *j = tool_decision(P, rid, decision);
    fleet_editor_verdict v = apply_json(sb, j, out);
    free(j);
    return v;
}

/* The storyboard as compact JSON, for comparisons (caller frees). */
static char *board(const fleet_storyboards *sb, const char *project) {
    const fleet_project *p = fleet_storyboards_find(sb, project);
    assert_non_null(p);
    cJSON *j = fleet_storyboard_json(p);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

static const fleet_scene *scene_at(const fleet_storyboards *sb, size_t i) {
    size_t n;
    fleet_scene **v = fleet_project_order(fleet_storyboards_find(sb, P), &n, NULL);
    const fleet_scene *s = i < n ? v[i] : NULL;
    free(v);
    return s;
}

static size_t live(const fleet_storyboards *sb) {
    size_t n;
    free(fleet_project_order(fleet_storyboards_find(sb, P), &n, NULL));
    return n;
}

static const bf_msg_editor_event *last(const fleet_editor_out *o) {
    assert_true(o->n_events > 0);
    return &o->events[o->n_events - 1];
}

/* The events of out copied (for folding elsewhere); caller frees each and the array. */
static bf_msg_editor_event *copy_events(const fleet_editor_out *o, size_t *n) {
    bf_msg_editor_event *v = calloc(o->n_events + 1, sizeof *v);
    char err[256];
    for (size_t i = 0; i < o->n_events; i++) {
        char *enc = bf_msg_editor_event_encode(&o->events[i], err, sizeof err);
        assert_non_null(enc);
        assert_int_equal(bf_msg_editor_event_decode(enc, strlen(enc), &v[i], err, sizeof err), 0);
        free(enc);
    }
    *n = o->n_events;
    return v;
}

/* ---- one tool call at a time ---- */

static void add_then_change_then_delete(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    assert_int_equal(apply_tool(&sb, R1,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":"
                                "\"Add a title scene\",\"summary\":\"Add a new scene as asked.\",\"new_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(o.n_events, 2); /* scene_created, decision_applied */
    assert_int_equal(o.events[0].event, BF_EDITOR_SCENE_CREATED);
    assert_int_equal(o.events[0].origin, BF_ORIGIN_BRAIN);
    assert_int_equal(o.events[0].step, 0);
    assert_int_equal(o.events[0].tool, BF_TOOL_ADD_SCENE);
    assert_string_equal(o.events[0].scene.scene_id, "scene-aaaaaaaaaaaa");
    assert_string_equal(o.events[0].scene.name, "Title scene");
    assert_string_equal(o.events[0].scene.description, "Add a title scene");
    assert_int_equal(o.events[0].scene.duration_ms, 5000);
    assert_int_equal(o.events[0].scene.position, 0);
    assert_int_equal(o.events[0].scene.version, 1);
    assert_int_equal(last(&o)->event, BF_EDITOR_DECISION_APPLIED);
    assert_int_equal(last(&o)->n_steps, 1);
    assert_int_equal(last(&o)->steps[0].outcome, BF_STEP_APPLIED);
    assert_string_equal(last(&o)->steps[0].scene_id, "scene-aaaaaaaaaaaa");
    fleet_editor_out_free(&o);

    /* Without new_scene_id (an older brain): the id the brain would have minted. */
    assert_int_equal(apply_tool(&sb, R2,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":"
                                "\"Add an outro with the logo\",\"summary\":\"s\",\"duration_ms\":3000}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    char minted[BF_ID_MAX + 1];
    fleet_editor_new_scene_id(R2, 0, minted);
    assert_string_equal(o.events[0].scene.scene_id, minted);
    assert_int_equal(strncmp(minted, "scene-", 6), 0);
    assert_int_equal(strlen(minted), 18);
    assert_string_equal(o.events[0].scene.name, "Outro with the logo");
    assert_int_equal(o.events[0].scene.position, 1);
    assert_int_equal(o.events[0].scene.duration_ms, 3000);
    fleet_editor_out_free(&o);

    /* "make it longer": +2000 ms, then "make it 8 seconds". */
    assert_int_equal(apply_tool(&sb, R3,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"changeDuration\",\"target_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"input\":{\"scene_id\":\"scene-aaaaaaaaaaaa\",\"delta_ms\":2000,"
                                "\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(o.n_events, 2);
    assert_int_equal(o.events[0].event, BF_EDITOR_SCENE_UPDATED);
    assert_int_equal(o.events[0].scene.duration_ms, 7000);
    assert_int_equal(o.events[0].scene.version, 2);
    assert_string_equal(o.events[0].scene.name, "Title scene");
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R4,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"changeDuration\",\"target_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"input\":{\"duration_ms\":8000,\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(scene_at(&sb, 0)->duration_ms, 8000);
    assert_int_equal(scene_at(&sb, 0)->version, 3);
    fleet_editor_out_free(&o);

    /* Deleting the first scene moves the second up: deletion, then its new position. */
    assert_int_equal(apply_tool(&sb, R5,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"deleteScene\",\"target_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"input\":{\"scene_id\":\"scene-aaaaaaaaaaaa\",\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(o.n_events, 3);
    assert_int_equal(o.events[0].event, BF_EDITOR_SCENE_DELETED);
    assert_string_equal(o.events[0].scene.scene_id, "scene-aaaaaaaaaaaa");
    assert_int_equal(o.events[0].scene.version, 4);
    assert_int_equal(o.events[1].event, BF_EDITOR_SCENES_REORDERED);
    assert_int_equal(o.events[1].n_order, 1);
    assert_string_equal(o.events[1].order[0].scene_id, minted);
    assert_int_equal(o.events[1].order[0].position, 0);
    assert_int_equal(o.events[1].order[0].version, 2);
    assert_int_equal(live(&sb), 1);
    assert_string_equal(scene_at(&sb, 0)->id, minted);
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

static void insert_moves_the_scenes_after(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    const char *ids[] = {"scene-000000000001", "scene-000000000002", "scene-000000000003"};
    const char *rids[] = {R1, R2, R3};
    for (int i = 0; i < 3; i++) {
        char dec[512];
        snprintf(dec, sizeof dec,
                 "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Scene %d\","
                 "\"summary\":\"s\",\"new_scene_id\":\"%s\"}}}",
                 i + 1, ids[i]);
        assert_int_equal(apply_tool(&sb, rids[i], dec, &o), FLEET_EDITOR_APPLIED);
        fleet_editor_out_free(&o);
    }
    /* position 2 (1-based): between the first and the second. */
    assert_int_equal(apply_tool(&sb, R4,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"createSceneFromImage\",\"input\":{"
                                "\"image_url\":\"https://cdn.example.com/up/warm-sunset.webp?v=2\",\"instruction\":"
                                "\"Make the next scene look like this\",\"summary\":\"s\",\"position\":2,"
                                "\"new_scene_id\":\"scene-00000000000b\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    /* The room first (one reorder of the two scenes after), then the scene. */
    assert_int_equal(o.n_events, 3);
    assert_int_equal(o.events[0].event, BF_EDITOR_SCENES_REORDERED);
    assert_int_equal(o.events[0].n_order, 2);
    assert_string_equal(o.events[0].order[0].scene_id, ids[1]);
    assert_int_equal(o.events[0].order[0].position, 2);
    assert_int_equal(o.events[0].order[0].version, 2);
    assert_string_equal(o.events[0].order[1].scene_id, ids[2]);
    assert_int_equal(o.events[0].order[1].position, 3);
    assert_int_equal(o.events[0].origin, BF_ORIGIN_BRAIN);
    assert_int_equal(o.events[0].step, 0);
    assert_int_equal(o.events[1].event, BF_EDITOR_SCENE_CREATED);
    assert_int_equal(o.events[1].scene.position, 1);
    assert_string_equal(o.events[1].scene.name, "Warm sunset (image)");
    assert_true(o.events[1].from_image.present);
    assert_string_equal(o.events[1].from_image.url, "https://cdn.example.com/up/warm-sunset.webp?v=2");
    fleet_editor_out_free(&o);
    const char *want[] = {ids[0], "scene-00000000000b", ids[1], ids[2]};
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(scene_at(&sb, i)->id, want[i]);
        assert_int_equal(scene_at(&sb, i)->position, (int64_t)i);
    }
    /* A position past the end appends. */
    assert_int_equal(apply_tool(&sb, R5,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":"
                                "\"End card\",\"summary\":\"s\",\"position\":99}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(o.n_events, 2);
    assert_int_equal(o.events[0].scene.position, 4);
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

static void edits_describe_the_scene(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    assert_int_equal(apply_tool(&sb, R1,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":"
                                "\"Add a title scene with our logo\\n\\nStated preferences: I prefer warm colours\","
                                "\"summary\":\"s\",\"new_scene_id\":\"scene-aaaaaaaaaaaa\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_string_equal(o.events[0].scene.description,
                        "Add a title scene with our logo; Stated preferences: I prefer warm colours");
    assert_string_equal(o.events[0].scene.name, "Title scene with our logo");
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R2,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"editScene\",\"target_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"edit_complexity\":\"surgical\",\"input\":{\"scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"instruction\":\"remove the logo from it\",\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(o.events[0].event, BF_EDITOR_SCENE_UPDATED);
    assert_int_equal(o.events[0].tool, BF_TOOL_EDIT_SCENE);
    assert_string_equal(o.events[0].scene.description,
                        "Add a title scene with our logo; Stated preferences: I prefer warm colours\n"
                        "Edit: remove the logo from it");
    assert_string_equal(o.events[0].scene.name, "Title scene with our logo");
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R3,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"editSceneWithImage\",\"target_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"input\":{\"scene_id\":\"scene-aaaaaaaaaaaa\",\"image_url\":"
                                "\"https://x.example/beach_day.jpg\",\"instruction\":\"match this\",\"summary\":\"s\","
                                "\"name\":\"Beach title\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_string_equal(o.events[0].scene.name, "Beach title");
    assert_non_null(strstr(o.events[0].scene.description, "\nRestyle after Beach day: match this"));
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R4,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"fixBrokenScene\",\"target_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"input\":{\"scene_id\":\"scene-aaaaaaaaaaaa\",\"instruction\":"
                                "\"it flickers\",\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_non_null(strstr(o.events[0].scene.description, "\nFix: it flickers"));
    assert_int_equal(o.events[0].scene.version, 4);
    fleet_editor_out_free(&o);
    /* analyzeImage changes nothing and is applied. */
    assert_int_equal(apply_tool(&sb, R5,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"analyzeImage\",\"input\":{\"image_url\":"
                                "\"https://x.example/a.png\",\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(o.n_events, 1);
    assert_int_equal(o.changes, 0);
    assert_int_equal(last(&o)->steps[0].tool, BF_TOOL_ANALYZE_IMAGE);
    assert_int_equal(last(&o)->steps[0].outcome, BF_STEP_APPLIED);
    assert_null(last(&o)->steps[0].scene_id);
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

static void durations_stay_in_bounds(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    assert_int_equal(apply_tool(&sb, R1,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":"
                                "\"x\",\"summary\":\"s\",\"new_scene_id\":\"s1\",\"duration_ms\":1000}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R2,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"changeDuration\",\"target_scene_id\":\"s1\","
                                "\"input\":{\"delta_ms\":-5000,\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(scene_at(&sb, 0)->duration_ms, FLEET_DURATION_MIN_MS);
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R3,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"changeDuration\",\"target_scene_id\":\"s1\","
                                "\"input\":{\"duration_ms\":9000000,\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(scene_at(&sb, 0)->duration_ms, FLEET_DURATION_MAX_MS);
    fleet_editor_out_free(&o);
    /* Neither duration_ms nor delta_ms: the call fails, the scene stays. */
    assert_int_equal(apply_tool(&sb, R4,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"changeDuration\",\"target_scene_id\":\"s1\","
                                "\"input\":{\"summary\":\"s\"}}}",
                                &o),
                     FLEET_EDITOR_FAILED);
    assert_int_equal(o.n_events, 1);
    assert_int_equal(last(&o)->event, BF_EDITOR_DECISION_FAILED);
    assert_non_null(strstr(last(&o)->error, "duration_ms"));
    assert_int_equal(scene_at(&sb, 0)->duration_ms, FLEET_DURATION_MAX_MS);
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

/* ---- workflows and failures ---- */

static void workflow_stops_at_the_first_failure(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    assert_int_equal(
        apply_tool(&sb, R1,
                   "{\"type\":\"workflow\",\"steps\":["
                   "{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Add an intro\",\"summary\":\"s\",\"new_scene_id\":\"scene-intro0000001\"}},"
                   "{\"tool\":\"changeDuration\",\"target_scene_id\":\"scene-intro0000001\",\"input\":{\"duration_ms\":3000}},"
                   "{\"tool\":\"deleteScene\",\"target_scene_id\":\"scene-9\",\"input\":{}},"
                   "{\"tool\":\"editScene\",\"target_scene_id\":\"scene-intro0000001\",\"input\":{\"instruction\":\"bold\"}}]}",
                   &o),
        FLEET_EDITOR_FAILED);
    const bf_msg_editor_event *rep = last(&o);
    assert_int_equal(rep->event, BF_EDITOR_DECISION_FAILED);
    assert_int_equal(rep->n_steps, 4);
    assert_int_equal(rep->steps[0].outcome, BF_STEP_APPLIED);
    assert_int_equal(rep->steps[1].outcome, BF_STEP_APPLIED);
    assert_string_equal(rep->steps[1].scene_id, "scene-intro0000001");
    assert_int_equal(rep->steps[2].outcome, BF_STEP_FAILED);
    assert_string_equal(rep->steps[2].error, "scene \"scene-9\" is not in the storyboard");
    assert_int_equal(rep->steps[3].outcome, BF_STEP_SKIPPED);
    assert_string_equal(rep->steps[3].error, "not applied: step 2 failed");
    assert_string_equal(rep->error, "step 2 (deleteScene) failed: scene \"scene-9\" is not in the storyboard");
    assert_string_equal(o.error, rep->error);
    /* What was applied stays. */
    assert_int_equal(o.changes, 2);
    assert_int_equal(scene_at(&sb, 0)->duration_ms, 3000);
    assert_int_equal(scene_at(&sb, 0)->version, 2);
    assert_null(strstr(scene_at(&sb, 0)->description, "bold"));
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

static void clarification_and_unknown_scene(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    assert_int_equal(apply_tool(&sb, R1, "{\"type\":\"clarification\",\"question\":\"Which scene?\"}", &o),
                     FLEET_EDITOR_CLARIFICATION);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R2,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"editScene\",\"target_scene_id\":\"nope\","
                                "\"input\":{\"instruction\":\"x\"}}}",
                                &o),
                     FLEET_EDITOR_FAILED);
    assert_int_equal(o.n_events, 1);
    assert_int_equal(o.changes, 0);
    fleet_editor_out_free(&o);
    /* The same scene twice is refused, not duplicated (a different request naming an existing id). */
    assert_int_equal(apply_tool(&sb, R3,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"x\","
                                "\"new_scene_id\":\"dup\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R4,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"y\","
                                "\"new_scene_id\":\"dup\"}}}",
                                &o),
                     FLEET_EDITOR_FAILED);
    assert_non_null(strstr(o.error, "already in the storyboard"));
    assert_int_equal(live(&sb), 1);
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

/* ---- once ---- */

static void a_request_is_applied_once(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    const char *add = "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Intro\","
                      "\"new_scene_id\":\"scene-aaaaaaaaaaaa\"}}}";
    assert_int_equal(apply_tool(&sb, R1, add, &o), FLEET_EDITOR_APPLIED);
    fleet_editor_out_free(&o);
    char *before = board(&sb, P);
    /* A redelivery. */
    assert_int_equal(apply_tool(&sb, R1, add, &o), FLEET_EDITOR_ALREADY);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);
    /* The same request decided again, differently: the first decision applied wins. */
    assert_int_equal(apply_tool(&sb, R1,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"deleteScene\",\"target_scene_id\":"
                                "\"scene-aaaaaaaaaaaa\",\"input\":{}}}",
                                &o),
                     FLEET_EDITOR_ALREADY);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);
    char *after = board(&sb, P);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* A failed decision is reported, so it is not retried either. */
    const char *bad = "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"editScene\",\"target_scene_id\":\"nope\",\"input\":{}}}";
    assert_int_equal(apply_tool(&sb, R2, bad, &o), FLEET_EDITOR_FAILED);
    fleet_editor_out_free(&o);
    assert_int_equal(apply_tool(&sb, R2, bad, &o), FLEET_EDITOR_ALREADY);
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

static const char *const workflow3 =
    "{\"type\":\"workflow\",\"steps\":["
    "{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Intro\",\"new_scene_id\":\"scene-i\"}},"
    "{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Opener\",\"position\":1,\"new_scene_id\":\"scene-o\"}},"
    "{\"tool\":\"changeDuration\",\"target_scene_id\":\"scene-i\",\"input\":{\"delta_ms\":1000}}]}";

/* A crash after some of a decision's events reached the log: the restart folds the log and the
 * redelivered decision applies the rest, under the ids the lost run would have used. */
static void a_half_applied_decision_resumes(void **state) {
    (void)state;
    fleet_storyboards whole = {0};
    fleet_editor_out full;
    assert_int_equal(apply_tool(&whole, R1, workflow3, &full), FLEET_EDITOR_APPLIED);
    /* scene_created(i), reorder(i), scene_created(o), scene_updated(i), decision_applied */
    assert_int_equal(full.n_events, 5);
    assert_int_equal(full.events[1].event, BF_EDITOR_SCENES_REORDERED);
    size_t n;
    bf_msg_editor_event *ev = copy_events(&full, &n);
    char *want = board(&whole, P);
    for (size_t cut = 0; cut < n; cut++) {
        fleet_storyboards sb = {0};
        for (size_t i = 0; i < cut; i++) assert_int_equal(fleet_storyboard_apply(&sb, &ev[i]), 0);
        fleet_editor_out rest;
        assert_int_equal(apply_tool(&sb, R1, workflow3, &rest), FLEET_EDITOR_APPLIED);
        /* Exactly the events the log lacks, with the same ids. */
        assert_int_equal(rest.n_events, n - cut);
        for (size_t i = 0; i < rest.n_events; i++) {
            assert_int_equal(rest.events[i].event, ev[cut + i].event);
            assert_string_equal(rest.events[i].env.event_id, ev[cut + i].env.event_id);
        }
        char *got = board(&sb, P);
        assert_string_equal(got, want);
        free(got);
        fleet_editor_out_free(&rest);
        fleet_storyboards_free(&sb);
    }
    free(want);
    for (size_t i = 0; i < n; i++) bf_msg_editor_event_free(&ev[i]);
    free(ev);
    fleet_editor_out_free(&full);
    fleet_storyboards_free(&whole);
}

/* What the editor remembers per project is bounded: the oldest requests go first. */
static void marks_are_bounded(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    char rid[BF_UUID_LEN + 1];
    const char *analyse = "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"analyzeImage\",\"input\":{\"image_url\":"
                          "\"https://x.example/a.png\"}}}";
    for (int i = 0; i < FLEET_MARKS_MAX + 10; i++) {
        snprintf(rid, sizeof rid, "0190a4b2-7c3d-4e5f-8a6b-%012d", i);
        fleet_editor_out o;
        char *j = tool_decision(P, rid, analyse);
        bf_msg_brain_decision d;
        decode(j, &d);
        char err[256];
        assert_int_equal(fleet_editor_apply(&sb, &d, &opts, &o, err, sizeof err), 0);
        assert_int_equal(o.verdict, FLEET_EDITOR_APPLIED);
        fleet_editor_out_free(&o);
        bf_msg_brain_decision_free(&d);
        free(j);
    }
    const fleet_project *p = fleet_storyboards_find(&sb, P);
    assert_int_equal(p->n_marks, FLEET_MARKS_MAX);
    assert_true(p->cap_marks <= FLEET_MARKS_MAX);
    assert_null(fleet_project_mark(p, "0190a4b2-7c3d-4e5f-8a6b-000000000009"));
    assert_non_null(fleet_project_mark(p, "0190a4b2-7c3d-4e5f-8a6b-000000000010"));
    snprintf(rid, sizeof rid, "0190a4b2-7c3d-4e5f-8a6b-%012d", FLEET_MARKS_MAX + 9);
    assert_true(fleet_project_mark(p, rid)->reported);
    fleet_storyboards_free(&sb);
}

/* ---- the fold ---- */

static void shuffle(bf_msg_editor_event **v, size_t n, unsigned *seed) {
    for (size_t i = n; i > 1; i--) {
        *seed = *seed * 1103515245u + 12345u;
        size_t j = (*seed >> 8) % i;
        bf_msg_editor_event *t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* Any order of the same events, with each repeated, folds into the same storyboard. */
static void the_fold_ignores_order_and_repeats(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o[6];
    apply_tool(&sb, R1, workflow3, &o[0]);
    apply_tool(&sb, R2,
               "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Outro\","
               "\"new_scene_id\":\"scene-x\",\"position\":2}}}",
               &o[1]);
    apply_tool(&sb, R3, "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"deleteScene\",\"target_scene_id\":\"scene-o\",\"input\":{}}}",
               &o[2]);
    apply_tool(&sb, R4,
               "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"editScene\",\"target_scene_id\":\"scene-x\",\"input\":{"
               "\"instruction\":\"darker\"}}}",
               &o[3]);
    apply_tool(&sb, R5,
               "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Card\","
               "\"new_scene_id\":\"scene-c\",\"position\":1}}}",
               &o[4]);
    char *want = board(&sb, P);
    assert_int_equal(live(&sb), 3);
    bf_msg_editor_event *all[64];
    size_t n = 0, counts[5];
    bf_msg_editor_event *copies[5];
    for (int k = 0; k < 5; k++) {
        copies[k] = copy_events(&o[k], &counts[k]);
        for (size_t i = 0; i < counts[k]; i++) all[n++] = &copies[k][i];
    }
    unsigned seed = 7;
    for (int round = 0; round < 20; round++) {
        bf_msg_editor_event *v[128];
        for (size_t i = 0; i < n; i++) v[i] = v[n + i] = all[i];
        shuffle(v, 2 * n, &seed);
        fleet_storyboards other = {0};
        for (size_t i = 0; i < 2 * n; i++) assert_int_equal(fleet_storyboard_apply(&other, v[i]), 0);
        char *got = board(&other, P);
        assert_string_equal(got, want);
        free(got);
        fleet_storyboards_free(&other);
    }
    free(want);
    for (int k = 0; k < 5; k++) {
        for (size_t i = 0; i < counts[k]; i++) bf_msg_editor_event_free(&copies[k][i]);
        free(copies[k]);
        fleet_editor_out_free(&o[k]);
    }
    fleet_storyboards_free(&sb);
}

static bf_msg_editor_event user_event(const char *json) {
    char full[2048];
    snprintf(full, sizeof full,
             "{\"schema\":\"editorEvents\",\"schema_version\":1,\"event_id\":\"01907f3a-5b2c-7d1e-9f0a-1b2c3d4e5f60\","
             "\"trace_id\":\"" TRACE "\",\"project_id\":\"" P "\",\"produced_at_ms\":1,\"producer\":\"editor\","
             "\"payload\":%s}",
             json);
    bf_msg_editor_event ev;
    char err[256];
    if (bf_msg_editor_event_decode(full, strlen(full), &ev, err, sizeof err) != 0) fail_msg("%s", err);
    return ev;
}

/* A tombstone keeps an older update from bringing the scene back; a newer scene_created does. */
static void tombstones_and_undo(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    bf_msg_editor_event e[4] = {
        user_event("{\"event\":\"scene_deleted\",\"scene_id\":\"s1\",\"version\":3}"),
        user_event("{\"event\":\"scene_updated\",\"scene\":{\"scene_id\":\"s1\",\"name\":\"Old\",\"position\":0,"
                   "\"duration_ms\":1000,\"description\":\"\",\"version\":2}}"),
        user_event("{\"event\":\"scene_created\",\"scene\":{\"scene_id\":\"s1\",\"name\":\"First\",\"position\":0,"
                   "\"duration_ms\":1000,\"description\":\"\",\"version\":1}}"),
        user_event("{\"event\":\"scene_created\",\"scene\":{\"scene_id\":\"s1\",\"name\":\"Back\",\"position\":0,"
                   "\"duration_ms\":2000,\"description\":\"undo\",\"version\":4}}"),
    };
    for (int i = 0; i < 3; i++) assert_int_equal(fleet_storyboard_apply(&sb, &e[i]), 0);
    assert_int_equal(live(&sb), 0);
    assert_int_equal(fleet_storyboards_find(&sb, P)->scenes[0].version, 3);
    assert_int_equal(fleet_storyboard_apply(&sb, &e[3]), 0);
    assert_int_equal(live(&sb), 1);
    assert_string_equal(scene_at(&sb, 0)->name, "Back");
    /* The editor's next change of it continues from version 4. */
    fleet_editor_out o;
    assert_int_equal(apply_tool(&sb, R1,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"changeDuration\",\"target_scene_id\":\"s1\","
                                "\"input\":{\"duration_ms\":4000}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    assert_int_equal(o.events[0].scene.version, 5);
    fleet_editor_out_free(&o);
    /* A user edit is no brain request: nothing is marked. */
    assert_null(fleet_project_mark(fleet_storyboards_find(&sb, P), R2));
    for (int i = 0; i < 4; i++) bf_msg_editor_event_free(&e[i]);
    fleet_storyboards_free(&sb);
}

/* ---- image facts ---- */

static char *enrichment(const char *rid, const char *url, const char *trace) {
    char payload[4096];
    snprintf(payload, sizeof payload,
             "{\"kind\":\"image_facts_enriched\",\"request_id\":\"%s\",\"facts\":{\"trace_id\":\"%s\",\"request_id\":\"%s\","
             "\"content_hash\":\"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b\",\"image_urls\":[\"%s\"],"
             "\"palette\":[{\"hex\":\"#ff8c28\",\"share\":0.42},{\"hex\":\"#a0205a\",\"share\":0.3}],\"brightness\":0.7,"
             "\"contrast\":0.4,\"saturation\":0.6,\"temperature\":\"warm\",\"mood\":\"energetic\",\"width\":320,"
             "\"height\":180,\"orientation\":\"landscape\",\"analyser\":\"builtin\",\"processing_ms\":12}}",
             rid, trace, rid, url);
    return decision_json(P, payload);
}

static void facts_describe_the_scene_once(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    assert_int_equal(apply_tool(&sb, R1,
                                "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"createSceneFromImage\",\"input\":{"
                                "\"image_url\":\"http://127.0.0.1:8/images/sunset.webp\",\"instruction\":\"Make the next "
                                "scene look like this\",\"new_scene_id\":\"scene-img\"}}}",
                                &o),
                     FLEET_EDITOR_APPLIED);
    fleet_editor_out_free(&o);
    /* Facts of another image of the request, and of another request: nothing. */
    char *other = enrichment(R1, "http://127.0.0.1:8/images/other.png", "0af7651916cd43dd8448eb211c80319c");
    assert_int_equal(apply_json(&sb, other, &o), FLEET_EDITOR_ENRICHED);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);
    free(other);
    char *foreign = enrichment(R2, "http://127.0.0.1:8/images/sunset.webp", "0af7651916cd43dd8448eb211c80319c");
    assert_int_equal(apply_json(&sb, foreign, &o), FLEET_EDITOR_ENRICHED);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);
    free(foreign);

    char *facts = enrichment(R1, "http://127.0.0.1:8/images/sunset.webp", "0af7651916cd43dd8448eb211c80319c");
    assert_int_equal(apply_json(&sb, facts, &o), FLEET_EDITOR_ENRICHED);
    assert_int_equal(o.n_events, 1);
    const bf_msg_editor_event *u = &o.events[0];
    assert_int_equal(u->event, BF_EDITOR_SCENE_UPDATED);
    assert_int_equal(u->origin, BF_ORIGIN_BRAIN);
    assert_int_equal(u->tool, BF_TOOL_CREATE_SCENE_FROM_IMAGE);
    assert_int_equal(u->step, 0);
    assert_int_equal(u->scene.version, 2);
    assert_string_equal(u->scene.description,
                        "Make the next scene look like this\n"
                        "Image: warm, energetic mood, landscape 320x180; palette #ff8c28 42%, #a0205a 30%");
    size_t n;
    bf_msg_editor_event *ev = copy_events(&o, &n);
    fleet_editor_out_free(&o);
    /* Again (a redelivered enrichment): nothing. */
    assert_int_equal(apply_json(&sb, facts, &o), FLEET_EDITOR_ENRICHED);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);

    /* After a restart (the log folded again) it still knows. */
    fleet_storyboards again = {0};
    fleet_editor_out first;
    apply_tool(&again, R1,
               "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"createSceneFromImage\",\"input\":{"
               "\"image_url\":\"http://127.0.0.1:8/images/sunset.webp\",\"instruction\":\"Make the next "
               "scene look like this\",\"new_scene_id\":\"scene-img\"}}}",
               &first);
    size_t n0;
    bf_msg_editor_event *ev0 = copy_events(&first, &n0);
    fleet_editor_out_free(&first);
    fleet_storyboards_free(&again);
    fleet_storyboards restarted = {0};
    for (size_t i = 0; i < n0; i++) fleet_storyboard_apply(&restarted, &ev0[i]);
    for (size_t i = 0; i < n; i++) fleet_storyboard_apply(&restarted, &ev[i]);
    assert_int_equal(apply_json(&restarted, facts, &o), FLEET_EDITOR_ENRICHED);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&restarted);
    for (size_t i = 0; i < n0; i++) bf_msg_editor_event_free(&ev0[i]);
    free(ev0);
    for (size_t i = 0; i < n; i++) bf_msg_editor_event_free(&ev[i]);
    free(ev);
    free(facts);
    fleet_storyboards_free(&sb);
}

/* ---- the corpus' decisions, as published ---- */

/* Each file on its own storyboard: they all answer the same request. */
static fleet_editor_verdict apply_file(const char *name, fleet_storyboards *sb, fleet_editor_out *o) {
    char rel[256];
    snprintf(rel, sizeof rel, "tests/contracts/brainDecisions/valid/%s", name);
    char *j = fleet_it_source_new(rel);
    fleet_storyboards_free(sb);
    fleet_editor_verdict v = apply_json(sb, j, o);
    free(j);
    return v;
}

static void corpus_decisions(void **state) {
    (void)state;
    fleet_storyboards sb = {0};
    fleet_editor_out o;
    /* editSceneWithImage of scene-2, which this storyboard has not: failed, reported. */
    assert_int_equal(apply_file("tool.json", &sb, &o), FLEET_EDITOR_FAILED);
    assert_int_equal(o.n_events, 1);
    assert_string_equal(last(&o)->steps[0].error, "scene \"scene-2\" is not in the storyboard");
    fleet_editor_out_free(&o);
    /* analyzeImage applied; createSceneFromImage by image trace id (no URL): a scene without
     * from_image; changeDuration of scene-3: not there. */
    assert_int_equal(apply_file("workflow.json", &sb, &o), FLEET_EDITOR_FAILED);
    const bf_msg_editor_event *rep = last(&o);
    assert_int_equal(rep->n_steps, 3);
    assert_int_equal(rep->steps[0].outcome, BF_STEP_APPLIED);
    assert_int_equal(rep->steps[1].outcome, BF_STEP_APPLIED);
    assert_int_equal(rep->steps[2].outcome, BF_STEP_FAILED);
    assert_int_equal(o.events[0].event, BF_EDITOR_SCENE_CREATED);
    assert_false(o.events[0].from_image.present);
    assert_string_equal(o.events[0].scene.name, "Image scene 1");
    fleet_editor_out_free(&o);
    assert_int_equal(apply_file("clarification_degraded.json", &sb, &o), FLEET_EDITOR_CLARIFICATION);
    assert_int_equal(o.n_events, 0);
    fleet_editor_out_free(&o);
    assert_int_equal(apply_file("fallback_confirmation.json", &sb, &o), FLEET_EDITOR_CLARIFICATION);
    fleet_editor_out_free(&o);
    assert_int_equal(apply_file("image_facts_enriched.json", &sb, &o), FLEET_EDITOR_ENRICHED);
    assert_int_equal(o.n_events, 0); /* its request made no scene here */
    fleet_editor_out_free(&o);
    fleet_storyboards_free(&sb);
}

/* ---- names and descriptions ---- */

static void names(void **state) {
    (void)state;
    struct {
        const char *given, *instruction, *want;
    } cases[] = {
        {NULL, "Add a title scene", "Title scene"},
        {NULL, "please create a new intro with the logo. Then more.", "Intro with the logo"},
        {NULL, "add an outro\n\nStated preferences: warm", "Outro"},
        {"  Beach\nopener ", "ignored", "Beach; opener"},
        {NULL, "", "Scene 3"},
        {NULL, "Add a", "Scene 3"},
        {NULL, "Add a scene showing the quarterly revenue chart with animated bars growing from zero", NULL},
        {NULL, "Füge eine Szene über Überraschungen hinzu und zeige grüne Äpfel überall im Bild bitte", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = fleet_text_scene_name_new(cases[i].given, cases[i].instruction, 2);
        assert_non_null(n);
        if (cases[i].want) assert_string_equal(n, cases[i].want);
        assert_true(strlen(n) >= 1 && strlen(n) <= FLEET_NAME_MAX);
        assert_null(strchr(n, '\n'));
        /* A cut never splits a character: the name is valid UTF-8 for the contract's decoder. */
        char json[512];
        snprintf(json, sizeof json, "\"%s\"", n);
        cJSON *s = cJSON_Parse(json);
        assert_non_null(s);
        cJSON_Delete(s);
        free(n);
    }
    char *n = fleet_text_scene_name_new(NULL, "Add a scene showing the quarterly revenue chart with animated bars growing", 0);
    assert_string_equal(n, "Scene showing the quarterly revenue chart with animated...");
    free(n);
    const char *img[][2] = {{"https://cdn.example.com/up/warm-sunset.webp?v=2", "Warm sunset (image)"},
                            {"https://cdn.example.com/", "Image scene 3"},
                            {"https://cdn.example.com", "Image scene 3"},
                            {"http://h/a/IMG_2041.JPG#x", "IMG 2041 (image)"},
                            {NULL, "Image scene 3"}};
    for (size_t i = 0; i < sizeof img / sizeof img[0]; i++) {
        char *s = fleet_text_image_name_new(NULL, img[i][0], 2);
        assert_string_equal(s, img[i][1]);
        free(s);
    }
}

static void descriptions_stay_bounded(void **state) {
    (void)state;
    char *d = fleet_text_describe_new(NULL, "Made as a title");
    char line[300];
    for (int i = 0; i < 40; i++) {
        snprintf(line, sizeof line, "Edit %02d: %0200d", i, 0);
        char *next = fleet_text_describe_new(d, line);
        free(d);
        d = next;
        assert_true(strlen(d) <= BF_SCENE_DESCRIPTION_MAX);
        assert_int_equal(strncmp(d, "Made as a title\n", 16), 0);
        assert_non_null(strstr(d, line));
    }
    /* The oldest edits went, the newest stayed. */
    assert_null(strstr(d, "Edit 00"));
    assert_non_null(strstr(d, "Edit 38"));
    free(d);
    /* One line longer than the bound is cut on a character boundary. */
    char big[3000];
    for (size_t i = 0; i + 2 < sizeof big; i += 2) memcpy(big + i, "\xc3\xa9", 2);
    big[sizeof big - 1] = '\0';
    d = fleet_text_describe_new(NULL, big);
    assert_true(strlen(d) <= BF_SCENE_DESCRIPTION_MAX);
    assert_int_equal(strlen(d) % 2, 0);
    free(d);
    char *l = fleet_text_line_new("a\x01\x7f b\t\tc\r\n\n d", 100);
    assert_string_equal(l, "a b c; d");
    free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(add_then_change_then_delete),
        cmocka_unit_test(insert_moves_the_scenes_after),
        cmocka_unit_test(edits_describe_the_scene),
        cmocka_unit_test(durations_stay_in_bounds),
        cmocka_unit_test(workflow_stops_at_the_first_failure),
        cmocka_unit_test(clarification_and_unknown_scene),
        cmocka_unit_test(a_request_is_applied_once),
        cmocka_unit_test(a_half_applied_decision_resumes),
        cmocka_unit_test(marks_are_bounded),
        cmocka_unit_test(the_fold_ignores_order_and_repeats),
        cmocka_unit_test(tombstones_and_undo),
        cmocka_unit_test(facts_describe_the_scene_once),
        cmocka_unit_test(corpus_decisions),
        cmocka_unit_test(names),
        cmocka_unit_test(descriptions_stay_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
