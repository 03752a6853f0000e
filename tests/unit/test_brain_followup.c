/* The conversation's part in a decision: where a conversation stands (parsed from the stored
 * value both the brain and memory-writer write), how a follow-up is resolved ("the second one",
 * "make it longer"), and the brain's own recent turns laid over a packet that lacks them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_followup.h"
#include "brain_overlay.h"

static brain_conversation parse(const char *json) {
    cJSON *v = cJSON_Parse(json);
    brain_conversation c;
    assert_int_equal(brain_conversation_parse(v, &c), 0);
    cJSON_Delete(v);
    return c;
}

static void current_scene_is_the_editors_once_it_caught_up(void **state) {
    (void)state;
    /* The brain created scene-new; the editor has not reported it yet. */
    brain_conversation c = parse("{\"turn_count\":3,\"last_request_id\":\"r3\",\"last_decision\":{\"tool\":\"addScene\","
                                 "\"scene_id\":\"scene-new\",\"new_scene\":true},\"current_scene_id\":\"s1\","
                                 "\"last_applied_request_id\":\"r2\"}");
    assert_string_equal(c.current_scene_id, "scene-new");
    assert_true(c.new_scene);
    assert_int_equal(c.turn_count, 3);
    brain_conversation_clear(&c);
    /* It has: its word wins (it may have renamed, or used another id). */
    c = parse("{\"turn_count\":3,\"last_request_id\":\"r3\",\"last_decision\":{\"tool\":\"addScene\",\"scene_id\":"
              "\"scene-new\"},\"current_scene_id\":\"s9\",\"last_applied_request_id\":\"r3\"}");
    assert_string_equal(c.current_scene_id, "s9");
    brain_conversation_clear(&c);
    /* The editor applied it, then the scene was deleted: memory-writer says none (null). */
    c = parse("{\"turn_count\":3,\"last_request_id\":\"r3\",\"last_decision\":{\"tool\":\"addScene\",\"scene_id\":"
              "\"scene-new\"},\"current_scene_id\":null,\"last_applied_request_id\":\"r3\"}");
    assert_string_equal(c.current_scene_id, "");
    brain_conversation_clear(&c);
    /* Nothing usable: an empty state, never a refusal. */
    c = parse("{\"turn_count\":\"x\",\"open_question\":{\"options\":7},\"last_decision\":[]}");
    assert_int_equal(c.turn_count, 0);
    assert_false(c.open.present);
    brain_conversation_clear(&c);
    c = parse("null");
    assert_string_equal(c.current_scene_id, "");
}

static brain_conversation asked(void) {
    return parse("{\"turn_count\":1,\"open_question\":{\"request_id\":\"r1\",\"question\":\"Which scene?\","
                 "\"pending_prompt\":\"Make it longer\",\"options\":[{\"label\":\"Intro\",\"scene_id\":\"s1\"},"
                 "{\"label\":\"Logo reveal\",\"scene_id\":\"s2\"},{\"label\":\"Outro\",\"scene_id\":\"s3\"}]}}");
}

static void answers_pair_with_the_question(void **state) {
    (void)state;
    brain_conversation c = asked();
    struct {
        const char *reply;
        const char *scene; /* NULL: not an answer */
    } cases[] = {
        {"the second one", "s2"}, {"2", "s2"},           {"option 3", "s3"},  {"The last one please", "s3"},
        {"the intro", "s1"},      {"s3", "s3"},          {"logo reveal", "s2"}, {"first", "s1"},
        /* Not answers: a new request of its own, or nothing that picks an option. */
        {"Add a new scene with the second logo and a bold headline over it", NULL},
        {"hmm", NULL},
        {"7", NULL},
        {"2nd draft", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        brain_followup f;
        brain_followup_resolve(cases[i].reply, NULL, &c, &f);
        if (cases[i].scene) {
            if (!f.answered) fail_msg("\"%s\" not taken as an answer", cases[i].reply);
            assert_string_equal(f.selected_scene, cases[i].scene);
            assert_string_equal(f.prompt, "Make it longer");
        } else if (f.answered) {
            fail_msg("\"%s\" taken as an answer (%s)", cases[i].reply, f.selected_scene);
        }
    }
    brain_conversation_clear(&c);
}

static void it_means_the_scene_the_conversation_is_about(void **state) {
    (void)state;
    brain_conversation c = parse("{\"turn_count\":2,\"current_scene_id\":\"s4\"}");
    brain_followup f;
    brain_followup_resolve("make it 8 seconds", NULL, &c, &f);
    assert_string_equal(f.selected_scene, "s4");
    assert_true(f.from_conversation);
    /* A selected scene wins; a prompt that does not point back gets none. */
    brain_followup_resolve("make it 8 seconds", "s1", &c, &f);
    assert_string_equal(f.selected_scene, "s1");
    brain_followup_resolve("make the next scene look like this", NULL, &c, &f);
    assert_null(f.selected_scene);
    brain_followup_resolve("add a title scene", "", &c, &f);
    assert_false(f.from_conversation);
    brain_conversation_clear(&c);
}

static void after_a_question_and_after_a_new_scene(void **state) {
    (void)state;
    brain_scene scenes[] = {{.id = "s1", .name = "Intro"}, {.id = "s2", .name = "Logo reveal"}};
    brain_context ctx = {.scenes = scenes, .n_scenes = 2};
    brain_answer q = {.tool = BRAIN_TOOL_CLARIFY, .question = "Which scene?", .summary = "ask"};
    brain_conversation out;
    assert_int_equal(brain_followup_after(NULL, &q, "r1", 1, "Make it longer", &ctx, &out), 0);
    assert_true(out.open.present);
    assert_int_equal(out.open.n_options, 2);
    assert_string_equal(out.open.options[1].scene_id, "s2");
    assert_string_equal(out.open.pending_prompt, "Make it longer");
    cJSON *v = brain_conversation_brain_fields_new(&out);
    brain_conversation back;
    assert_int_equal(brain_conversation_parse(v, &back), 0); /* what is written reads back the same */
    assert_string_equal(back.open.options[0].label, "Intro");
    assert_int_equal(back.turn_count, 1);
    cJSON_Delete(v);
    brain_conversation_clear(&back);
    brain_conversation_clear(&out);
    brain_answer add = {.tool = BRAIN_TOOL_ADD_SCENE, .summary = "Add a title", .params = cJSON_Parse("{}")};
    assert_int_equal(brain_answer_name_new_scenes(&add, "r2"), 0);
    const char *name = NULL, *id = brain_followup_new_scene(&add, &name);
    assert_non_null(id);
    assert_string_equal(name, "Add a title");
    assert_int_equal(brain_followup_after(NULL, &add, "r2", 2, "Add a title", &ctx, &out), 0);
    assert_string_equal(out.current_scene_id, id);
    assert_true(out.new_scene);
    assert_false(out.open.present);
    v = brain_conversation_brain_fields_new(&out);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "open_question"))); /* the merge clears an old one */
    cJSON_Delete(v);
    brain_conversation_clear(&out);
    cJSON_Delete(add.params);
}

/* ---- overlay ---- */

static void record(brain_overlay *o, const char *conv, long long turn, const char *scene, int64_t now) {
    brain_conversation st = {.turn_count = turn};
    snprintf(st.current_scene_id, sizeof st.current_scene_id, "%s", scene ? scene : "");
    char u[32], a[32];
    snprintf(u, sizeof u, "user %lld", turn);
    snprintf(a, sizeof a, "assistant %lld", turn);
    brain_turn t = {.conversation_id = conv, .turn = turn, .user_text = u, .assistant_text = a, .state = &st,
                    .new_scene_id = scene, .new_scene_name = "New scene"};
    assert_int_equal(brain_overlay_record(o, "p", &t, now), 0);
}

static void overlay_lays_uncommitted_turns_over_the_packet(void **state) {
    (void)state;
    brain_overlay *o = brain_overlay_new(10, 60000);
    record(o, "c1", 1, NULL, 0);
    record(o, "c1", 2, "scene-x", 0);
    record(o, "other", 1, NULL, 0);
    /* The database has turn 1 only. */
    brain_message m[] = {{.role = "user", .content = "user 1", .turn = 1}, {.role = "assistant", .content = "a", .turn = 1}};
    brain_context ctx = {0};
    ctx.messages = calloc(2, sizeof *ctx.messages);
    for (int i = 0; i < 2; i++) {
        ctx.messages[i].role = strdup(m[i].role);
        ctx.messages[i].content = strdup(m[i].content);
        ctx.messages[i].turn = 1;
    }
    ctx.n_messages = 2;
    ctx.conv.turn_count = 1;
    assert_int_equal(brain_overlay_apply(o, "p", "c1", &ctx, 10), 1);
    assert_int_equal(ctx.n_messages, 4);
    assert_string_equal(ctx.messages[2].content, "user 2");
    assert_int_equal(ctx.messages[3].turn, 2);
    assert_int_equal(ctx.conv.turn_count, 2);
    assert_string_equal(ctx.conv.current_scene_id, "scene-x");
    assert_non_null(brain_context_find_scene(&ctx, "scene-x")); /* the scene the brain just created */
    brain_context_clear(&ctx);
    /* Once the database has turn 2, nothing is laid over, and the remembered turns go. */
    brain_context c2 = {0};
    c2.conv.turn_count = 2;
    assert_int_equal(brain_overlay_apply(o, "p", "c1", &c2, 20), 0);
    assert_int_equal(c2.n_messages, 0);
    brain_context_clear(&c2);
    assert_int_equal(brain_overlay_projects(o), 1); /* "other" is still remembered */
    /* Past the TTL, forgotten too. */
    brain_context c3 = {0};
    assert_int_equal(brain_overlay_apply(o, "p", "other", &c3, 70000), 0);
    brain_context_clear(&c3);
    assert_int_equal(brain_overlay_projects(o), 0);
    brain_overlay_free(o);
}

static void overlay_is_bounded(void **state) {
    (void)state;
    brain_overlay *o = brain_overlay_new(3, 60000);
    for (int i = 0; i < 10; i++) {
        char p[16];
        snprintf(p, sizeof p, "p%d", i);
        brain_conversation st = {.turn_count = 1};
        brain_turn t = {.turn = 1, .user_text = "u", .assistant_text = "a", .state = &st};
        assert_int_equal(brain_overlay_record(o, p, &t, 0), 0);
    }
    assert_int_equal(brain_overlay_projects(o), 3);
    /* The oldest went: p0 has nothing, p9 has its turn. */
    brain_context c = {0};
    assert_int_equal(brain_overlay_apply(o, "p0", NULL, &c, 1), 0);
    assert_int_equal(brain_overlay_apply(o, "p9", NULL, &c, 1), 1);
    brain_context_clear(&c);
    /* A project's own turns are bounded too. */
    for (int i = 1; i <= 40; i++) record(o, "c", i, NULL, 0);
    brain_context d = {0};
    size_t n = brain_overlay_apply(o, "p", "c", &d, 1);
    assert_true(n > 0 && n <= 16);
    assert_int_equal(d.conv.turn_count, 40);
    brain_context_clear(&d);
    brain_overlay_free(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(current_scene_is_the_editors_once_it_caught_up),
        cmocka_unit_test(answers_pair_with_the_question),
        cmocka_unit_test(it_means_the_scene_the_conversation_is_about),
        cmocka_unit_test(after_a_question_and_after_a_new_scene),
        cmocka_unit_test(overlay_lays_uncommitted_turns_over_the_packet),
        cmocka_unit_test(overlay_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
