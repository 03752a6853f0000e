/* What the brain remembers across turns, seen in the prompts it sends (the LLM fake records each
 * one): the whole fleet and the reference editor, brain-worker deciding with an LLM fake.
 *
 *   - brain-worker restarted (SIGTERM) between two turns: the second turn's prompt still has the
 *     first turn (its message; the scene it made, with the storyboard of record; its turn number,
 *     with brain-worker's conversation state);
 *   - a scene deleted through the brain and the editor leaves the next prompt's storyboard and
 *     scene relationships, and PostgreSQL's scene relationships (needs the storyboard of record:
 *     skipped, saying so, without it). The fake answers every request with deleteScene of the scene
 *     the first turn creates (its id is the brain's, known in advance): on the first turn that scene
 *     does not exist yet, so the brain's repair round and rule-based fallback add it; on the second
 *     it exists and is deleted; on the third the prompt must no longer show it. */
#include "test_editor_fleet.h"

static char project_id[64];
#define PROJECT project_id

static ef_fleet F;

static int teardown(void **state) {
    ef_fleet_stop(&F);
    return ef_kill_leftovers(state);
}

/* The user message of the first recorded chat request made for prompt (the turn's first call,
 * not a repair round), or NULL. Caller frees. */
static char *prompt_for(const char *prompt) {
    char want[600];
    snprintf(want, sizeof want, "## Request\n%s", prompt);
    int n = bf_fake_server_recorded_count(&F.llm);
    for (int i = 1; i <= n; i++) {
        size_t len;
        char *body = bf_fake_server_recorded_new(&F.llm, i, &len);
        cJSON *root = body ? cJSON_ParseWithLength(body, len) : NULL;
        free(body);
        char *found = NULL;
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(root, "messages")) {
            const cJSON *role = cJSON_GetObjectItem(m, "role"), *content = cJSON_GetObjectItem(m, "content");
            if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0 && cJSON_IsString(content) &&
                strstr(content->valuestring, want)) {
                found = strdup(content->valuestring);
                break;
            }
        }
        cJSON_Delete(root);
        if (found) return found;
    }
    return NULL;
}

/* The section of a prompt that starts with "## <title>", up to the next section. Caller frees. */
static char *section(const char *prompt, const char *title) {
    char head[128];
    snprintf(head, sizeof head, "## %s", title);
    const char *s = strstr(prompt, head);
    if (!s) fail_msg("the prompt has no section \"%s\":\n%s", head, prompt);
    const char *e = strstr(s + strlen(head), "\n## ");
    return strndup(s, e ? (size_t)(e - s) : strlen(s));
}

/* Polls (60 s) until sql with params returns want rows. */
static void wait_rows(const char *sql, const char *const *params, int want, const char *what) {
    int64_t until = bf_test_now_ms() + 60000;
    int got = -1;
    do {
        PGconn *c = ef_pg(&F);
        PGresult *r = ef_query(c, sql, params);
        got = PQntuples(r);
        PQclear(r);
        PQfinish(c);
        if (got == want) return;
        bf_test_sleep_ms(300);
    } while (bf_test_now_ms() < until);
    ef_fail(&F, "%s: %d row(s), want %d (logs in %s)", what, got, want, F.dir);
}

static void the_turn_before_a_restart_is_remembered(void **state) {
    (void)state;
    const char *const llm[] = {"--answer", "tool", NULL}; /* its default: a valid addScene */
    ef_fleet_start(&F, llm, NULL);
    snprintf(project_id, sizeof project_id, "%smem", F.prefix);
    char r1[BF_UUID_LEN + 1], r2[BF_UUID_LEN + 1], scene[32];
    ef_send(&F, PROJECT, "Add a title scene called Aurora", NULL, NULL, r1);
    bf_msg_brain_decision d;
    ef_decision(&F, r1, &d);
    assert_int_equal(d.decided_by.decider, BF_DECIDER_LLM);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, r1), BF_EDITOR_DECISION_APPLIED);
    ef_new_scene_id(r1, 0, scene);
    if (!ef_brain_writes_conversation(&F, r1))
        ef_fail(&F, "brain-worker wrote no conversation_context for the first turn (logs in %s)", F.dir);
    /* What memory-writer committed is all a restarted brain-worker has: wait for it. */
    const char *p1[] = {PROJECT, r1, NULL};
    wait_rows("SELECT 1 FROM messages WHERE project_id = $1 AND role = 'user' AND message_id = $2::uuid", p1, 1,
              "the first turn's user message");
    const char *ps[] = {PROJECT, scene, NULL};
    wait_rows("SELECT 1 FROM scenes WHERE project_id = $1 AND scene_id = $2", ps, 1, "the first scene");

    ef_stop(&F, &F.brain, SIGTERM);
    ef_start_worker(&F, &F.brain, "brain-worker");

    ef_send(&F, PROJECT, "Make it 8 seconds", NULL, NULL, r2);
    ef_decision(&F, r2, &d);
    bf_msg_brain_decision_free(&d);
    char *prompt = prompt_for("Make it 8 seconds");
    if (!prompt) fail_msg("no LLM request for the second turn was recorded");
    char *talk = section(prompt, "Conversation so far");
    if (!strstr(talk, "Add a title scene called Aurora"))
        fail_msg("after the restart the second turn's prompt lacks the first turn:\n%s", prompt);
    free(talk);
    char *sb = section(prompt, "Storyboard");
    if (!strstr(sb, scene)) fail_msg("after the restart the storyboard in the prompt lacks %s:\n%s", scene, prompt);
    free(sb);
    /* The second turn is turn 2 although the brain that decided turn 1 is gone. */
    char topic[128];
    ef_topic(&F, "memoryUpdates", topic, sizeof topic);
    size_t n;
    bf_test_msg *m = bf_test_consume_all(topic, 2, 1000, 30000, &n);
    int64_t turn = -1;
    for (size_t i = 0; i < n; i++) {
        bf_msg_memory_update u;
        char err[512];
        if (bf_msg_memory_update_decode(m[i].payload, m[i].len, &u, err, sizeof err) != 0) continue;
        for (size_t k = 0; strcmp(u.request_id, r2) == 0 && k < u.n_messages; k++) turn = u.messages[k].turn;
        bf_msg_memory_update_free(&u);
    }
    bf_test_msgs_free(m, n);
    assert_int_equal(turn, 2);
    free(prompt);
}

static void a_deleted_scene_leaves_the_prompt(void **state) {
    (void)state;
    char r1[BF_UUID_LEN + 1], r2[BF_UUID_LEN + 1], r3[BF_UUID_LEN + 1], scene[32], calls[512];
    bf_uuid_v7(r1);
    ef_new_scene_id(r1, 0, scene);
    snprintf(calls, sizeof calls,
             "[{\"name\":\"deleteScene\",\"arguments\":{\"scene_id\":\"%s\",\"summary\":\"Delete the title scene.\"}}]",
             scene);
    const char *const llm[] = {"--answer", "tool", "--tool-calls", calls, NULL};
    ef_fleet_start(&F, llm, NULL);
    snprintf(project_id, sizeof project_id, "%smem", F.prefix);
    bf_msg_brain_decision d;
    /* Turn 1: the fake's deleteScene names a scene that does not exist yet; the fallback adds it. */
    ef_send_id(&F, PROJECT, "Add a title scene", NULL, NULL, r1);
    ef_decision(&F, r1, &d);
    assert_int_equal(d.steps[0].tool, BF_TOOL_ADD_SCENE);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, r1), BF_EDITOR_DECISION_APPLIED);
    char key[64];
    snprintf(key, sizeof key, "scene:%s", scene);
    const char *pr[] = {PROJECT, key, NULL}, *ps[] = {PROJECT, scene, NULL};
    const char *rel = "SELECT 1 FROM project_memory WHERE project_id = $1 AND memory_type = 'scene_relationship' AND "
                      "key = $2";
    wait_rows("SELECT 1 FROM scenes WHERE project_id = $1 AND scene_id = $2 AND NOT deleted", ps, 1, "the scene");
    wait_rows(rel, pr, 1, "the scene's relationship");

    /* Turn 2: it exists, so the call is valid: deleted. The prompt showed it. */
    ef_send(&F, PROJECT, "Delete the title scene", NULL, NULL, r2);
    ef_decision(&F, r2, &d);
    assert_int_equal(d.steps[0].tool, BF_TOOL_DELETE_SCENE);
    assert_string_equal(d.steps[0].target_scene_id, scene);
    bf_msg_brain_decision_free(&d);
    assert_int_equal(ef_report(&F, r2), BF_EDITOR_DECISION_APPLIED);
    char *prompt = prompt_for("Delete the title scene");
    assert_non_null(prompt);
    char *sb = section(prompt, "Storyboard");
    if (!strstr(sb, scene)) fail_msg("the storyboard in the prompt before the deletion lacks %s:\n%s", scene, prompt);
    free(sb);
    free(prompt);
    wait_rows("SELECT 1 FROM scenes WHERE project_id = $1 AND scene_id = $2 AND NOT deleted", ps, 0,
              "the deleted scene, live");
    wait_rows(rel, pr, 0, "the deleted scene's relationship");
    cJSON *ed = ef_editor_storyboard(&F, PROJECT);
    assert_int_equal(cJSON_GetArraySize(ed), 0);
    cJSON_Delete(ed);

    /* Turn 3: gone from the storyboard and the relationships the brain shows the model. */
    ef_send(&F, PROJECT, "Add an outro", NULL, NULL, r3);
    ef_decision(&F, r3, &d);
    bf_msg_brain_decision_free(&d);
    prompt = prompt_for("Add an outro");
    assert_non_null(prompt);
    sb = section(prompt, "Storyboard");
    char *rels = section(prompt, "Scene relationships");
    if (strstr(sb, scene) || strstr(rels, scene))
        fail_msg("the deleted scene %s is still in the prompt:\n%s", scene, prompt);
    free(sb);
    free(rels);
    free(prompt);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(the_turn_before_a_restart_is_remembered, teardown),
        cmocka_unit_test_teardown(a_deleted_scene_leaves_the_prompt, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
