/* A multi-turn conversation through the whole fleet and the reference editor (issue 17): the
 * rule-based brain (no LLM), image-worker on a served image, memory-writer on a fresh database and
 * `fleetctl editor`, on the real broker. Each turn is sent as soon as the editor reported the one
 * before, as a person would type it:
 *
 *   1. "Add a title scene"                       -> addScene under the brain's new scene id A
 *   2. an image + "Make the next scene look like this"
 *                                                -> createSceneFromImage B; the image's facts,
 *                                                   arriving later, describe B
 *   3. "Make it 8 seconds"                       -> changeDuration of B (the scene just made)
 *   4. "Remove the logo from it"                 -> editScene of B
 *   5. "Delete a scene"                          -> a question, options A and B
 *   6. "The second one"                          -> deleteScene of B: the answer is used
 *   then the storyboard in PostgreSQL equals the editor's. Turns 3-6 rest on brain-worker's
 * conversation state (follow-ups and open questions), the last check on the storyboard of record
 * (migration 0005, memory-writer folding editorEvents). */
#include "test_editor_fleet.h"

static ef_fleet F;
static char project_id[64];
#define PROJECT project_id
static char image_url[200];
static char rid[7][BF_UUID_LEN + 1];
static char scene_a[32], scene_b[32];

static int group_setup(void **state) {
    (void)state;
    ef_fleet_start(&F, NULL, NULL);
    snprintf(project_id, sizeof project_id, "%sconv", F.prefix);
    char path[400];
    snprintf(path, sizeof path, "%s/sunset.bmp", F.dir);
    const unsigned char orange[3] = {255, 140, 40}, plum[3] = {175, 30, 100};
    ef_write_bmp(path, 160, 90, orange, plum);
    snprintf(image_url, sizeof image_url, "%s/sunset.bmp", F.image_base);
    return 0;
}

static int group_teardown(void **state) {
    ef_fleet_stop(&F);
    return ef_kill_leftovers(state);
}

/* Sends turn n and returns its decision (free it). */
static void turn(int n, const char *prompt, const char *image, bf_msg_brain_decision *d) {
    ef_send(&F, PROJECT, prompt, image, NULL, rid[n]);
    ef_decision(&F, rid[n], d);
    fprintf(stderr, "turn %d \"%s\": %s %s\n", n, prompt,
            d->type == BF_DECISION_CLARIFICATION ? "clarification" : bf_tool_name(d->steps[0].tool),
            d->type == BF_DECISION_CLARIFICATION ? d->question
            : d->steps[0].target_scene_id       ? d->steps[0].target_scene_id
                                                : "");
}

static const char *input_string(const bf_tool_call *c, const char *key, char *buf, size_t buflen) {
    cJSON *in = cJSON_Parse(c->input);
    const cJSON *v = cJSON_GetObjectItem(in, key);
    snprintf(buf, buflen, "%s", cJSON_IsString(v) ? v->valuestring : "");
    cJSON_Delete(in);
    return buf;
}

static const cJSON *scene_of(cJSON *scenes, const char *id) {
    const cJSON *s = ef_scene(scenes, id);
    if (!s) fail_msg("scene %s is not in the editor's storyboard", id);
    return s;
}

static void a_scene_then_a_scene_from_an_image(void **state) {
    (void)state;
    bf_msg_brain_decision d;
    char buf[256];
    turn(1, "Add a title scene", NULL, &d);
    assert_int_equal(d.type, BF_DECISION_TOOL);
    assert_int_equal(d.steps[0].tool, BF_TOOL_ADD_SCENE);
    ef_new_scene_id(rid[1], 0, scene_a);
    assert_string_equal(input_string(&d.steps[0], "new_scene_id", buf, sizeof buf), scene_a);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, rid[1]), BF_EDITOR_DECISION_APPLIED);
    cJSON *sb = ef_editor_storyboard(&F, PROJECT);
    assert_int_equal(cJSON_GetArraySize(sb), 1);
    const cJSON *a = scene_of(sb, scene_a);
    assert_string_equal(cJSON_GetObjectItem(a, "name")->valuestring, "Title scene");
    assert_int_equal(cJSON_GetObjectItem(a, "duration_ms")->valueint, 5000);
    cJSON_Delete(sb);

    turn(2, "Make the next scene look like this", image_url, &d);
    assert_int_equal(d.type, BF_DECISION_TOOL);
    assert_int_equal(d.steps[0].tool, BF_TOOL_CREATE_SCENE_FROM_IMAGE);
    assert_string_equal(input_string(&d.steps[0], "image_url", buf, sizeof buf), image_url);
    ef_new_scene_id(rid[2], 0, scene_b);
    assert_string_equal(input_string(&d.steps[0], "new_scene_id", buf, sizeof buf), scene_b);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, rid[2]), BF_EDITOR_DECISION_APPLIED);
    /* The image's facts come after the decision; the editor describes B with them. */
    const char *facts = NULL;
    for (int64_t until = bf_test_now_ms() + 60000; !facts && bf_test_now_ms() < until;) {
        sb = ef_editor_storyboard(&F, PROJECT);
        assert_int_equal(cJSON_GetArraySize(sb), 2);
        const cJSON *b = scene_of(sb, scene_b);
        assert_int_equal(cJSON_GetObjectItem(b, "position")->valueint, 1);
        assert_string_equal(cJSON_GetObjectItem(b, "name")->valuestring, "Sunset (image)");
        const char *desc = cJSON_GetObjectItem(b, "description")->valuestring;
        if (strstr(desc, "Image: warm")) facts = "described";
        else bf_test_sleep_ms(500);
        cJSON_Delete(sb);
    }
    if (!facts) ef_fail(&F, "scene %s was never described by its image's facts (logs in %s)", scene_b, F.dir);
}

static void follow_ups_and_a_clarification(void **state) {
    (void)state;
    if (!ef_brain_writes_conversation(&F, rid[1]))
        ef_fail(&F, "brain-worker wrote no conversation_context for the first turn (logs in %s)", F.dir);
    bf_msg_brain_decision d;
    char buf[64];
    turn(3, "Make it 8 seconds", NULL, &d);
    assert_int_equal(d.type, BF_DECISION_TOOL);
    assert_int_equal(d.steps[0].tool, BF_TOOL_CHANGE_DURATION);
    assert_string_equal(d.steps[0].target_scene_id, scene_b);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, rid[3]), BF_EDITOR_DECISION_APPLIED);
    cJSON *sb = ef_editor_storyboard(&F, PROJECT);
    assert_int_equal(cJSON_GetObjectItem(scene_of(sb, scene_b), "duration_ms")->valueint, 8000);
    assert_int_equal(cJSON_GetObjectItem(scene_of(sb, scene_a), "duration_ms")->valueint, 5000);
    cJSON_Delete(sb);

    turn(4, "Remove the logo from it", NULL, &d);
    assert_int_equal(d.type, BF_DECISION_TOOL);
    assert_int_equal(d.steps[0].tool, BF_TOOL_EDIT_SCENE);
    assert_string_equal(d.steps[0].target_scene_id, scene_b);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, rid[4]), BF_EDITOR_DECISION_APPLIED);
    sb = ef_editor_storyboard(&F, PROJECT);
    assert_non_null(strstr(cJSON_GetObjectItem(scene_of(sb, scene_b), "description")->valuestring,
                           "Edit: Remove the logo from it"));
    cJSON_Delete(sb);

    turn(5, "Delete a scene", NULL, &d);
    assert_int_equal(d.type, BF_DECISION_CLARIFICATION);
    bf_msg_brain_decision_free(&d);

    turn(6, "The second one", NULL, &d);
    assert_int_equal(d.type, BF_DECISION_TOOL);
    assert_int_equal(d.steps[0].tool, BF_TOOL_DELETE_SCENE);
    assert_string_equal(d.steps[0].target_scene_id, scene_b);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, rid[6]), BF_EDITOR_DECISION_APPLIED);
    sb = ef_editor_storyboard(&F, PROJECT);
    assert_int_equal(cJSON_GetArraySize(sb), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(sb, 0), "scene_id")->valuestring, scene_a);
    (void)buf;
    cJSON_Delete(sb);
}

static void postgres_holds_the_editors_storyboard(void **state) {
    (void)state;
    ef_assert_pg_equals_editor(&F, PROJECT);
    /* The first scene's relationship came from what the editor applied. */
    PGconn *c = ef_pg(&F);
    char key[64];
    snprintf(key, sizeof key, "scene:%s", scene_a);
    const char *p[] = {PROJECT, key, NULL};
    PGresult *r = ef_query(c,
                           "SELECT value->>'last_request_id' FROM project_memory WHERE project_id = $1 AND "
                           "memory_type = 'scene_relationship' AND key = $2",
                           p);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), rid[1]);
    PQclear(r);
    PQfinish(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_scene_then_a_scene_from_an_image),
        cmocka_unit_test(follow_ups_and_a_clarification),
        cmocka_unit_test(postgres_holds_the_editors_storyboard),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
