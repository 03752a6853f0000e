/* Prompt building: every context section present; the token count errs high (non-ASCII text a
 * token a character); the budget order (oldest conversation, oldest image analyses, least
 * confident memory, then shortened scene names; never the request or the tools); a prompt still
 * over budget is flagged for an error decision; the system prompt of each mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_prompt.h"
#include "brain_tools.h"

static char big[2000];

static brain_message msgs[6];
static brain_image_facts imgs[3];
static brain_memory_item prefs[] = {{"preferred_mood", "dark", 0.9}, {"weak_pref", "x", 0.1}};
static brain_scene scenes[] = {{"s1", "Intro", 1, 3000, "", 0}};

static brain_context make_ctx(void) {
    memset(big, 'z', sizeof big - 1);
    static char names[6][1100], facts[3][1100];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "msg-%d %.1000s", i, big);
        msgs[i] = (brain_message){.role = "user", .content = names[i]};
    }
    for (int i = 0; i < 3; i++) {
        snprintf(facts[i], sizeof facts[i], "{\"n\":\"img-%d\",\"pad\":\"%.1000s\"}", i, big);
        imgs[i] = (brain_image_facts){.trace_id = "t", .facts = facts[i], .created_at = "now"};
    }
    brain_context c = {.preferences = prefs, .n_preferences = 2, .scenes = scenes, .n_scenes = 1,
                       .images = imgs, .n_images = 3, .messages = msgs, .n_messages = 6};
    return c;
}

static void test_no_truncation(void **state) {
    (void)state;
    brain_context c = make_ctx();
    brain_prompt p;
    brain_prompt_input in = {.user_prompt = "REQUEST-TEXT", .ctx = &c, .token_budget = 120000};
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_false(p.truncated);
    assert_int_equal(p.tokens, brain_tokens_count(p.system) + brain_tokens_count(p.user) + 16);
    assert_non_null(strstr(p.user, "msg-0"));
    assert_non_null(strstr(p.user, "img-2"));
    assert_non_null(strstr(p.system, "changeDuration"));
    brain_prompt_clear(&p);
}

static void test_truncation_order(void **state) {
    (void)state;
    brain_context c = make_ctx();
    brain_prompt full;
    brain_prompt_input in = {.user_prompt = "REQUEST-TEXT", .ctx = &c, .token_budget = 0};
    assert_int_equal(brain_prompt_build(&in, &full), 0);
    /* Budget that forces dropping two messages (each ~340 tokens). */
    in.token_budget = full.tokens - 500;
    brain_prompt p;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_true(p.truncated);
    assert_int_equal(p.dropped_messages, 2);
    assert_int_equal(p.dropped_images, 0);
    assert_true(p.tokens <= in.token_budget);
    assert_null(strstr(p.user, "msg-0"));
    assert_null(strstr(p.user, "msg-1"));
    assert_non_null(strstr(p.user, "msg-2"));
    brain_prompt_clear(&p);

    /* All messages gone, then the oldest image (last in newest-first order). */
    in.token_budget = full.tokens - 6 * 340 - 100;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_int_equal(p.dropped_messages, 6);
    assert_int_equal(p.dropped_images, 1);
    assert_null(strstr(p.user, "img-2"));
    assert_non_null(strstr(p.user, "img-0"));
    brain_prompt_clear(&p);

    /* Tiny budget: everything droppable is dropped; request, storyboard and tools stay. */
    in.token_budget = 256;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_true(p.over_budget);
    assert_non_null(strstr(p.why, "over the budget of 256"));
    assert_int_equal(p.dropped_images, 3);
    assert_int_equal(p.dropped_memory, 2);
    assert_non_null(strstr(p.user, "REQUEST-TEXT"));
    assert_non_null(strstr(p.user, "id=s1"));
    assert_non_null(strstr(p.system, "addScene"));
    brain_prompt_clear(&p);
    brain_prompt_clear(&full);
}

static void test_memory_drops_least_confident_first(void **state) {
    (void)state;
    brain_context c = {.preferences = prefs, .n_preferences = 2};
    brain_prompt full, p;
    brain_prompt_input in = {.user_prompt = "x", .ctx = &c, .token_budget = 0};
    assert_int_equal(brain_prompt_build(&in, &full), 0);
    in.token_budget = full.tokens - 2;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_int_equal(p.dropped_memory, 1);
    assert_null(strstr(p.user, "weak_pref"));
    assert_non_null(strstr(p.user, "preferred_mood"));
    brain_prompt_clear(&p);
    brain_prompt_clear(&full);
}

static void test_degraded_note(void **state) {
    (void)state;
    brain_context c = {.degraded = true};
    brain_prompt p;
    brain_prompt_image im = {"https://x/a.png", "abcd"};
    brain_prompt_input in = {.user_prompt = "x", .ctx = &c, .images = &im, .n_images = 1, .token_budget = 1000};
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_non_null(strstr(p.user, "memory is unavailable"));
    assert_non_null(strstr(p.user, "analysis pending, image abcd"));
    brain_prompt_clear(&p);
}

/* The conversation's state is in the prompt: the scene it is about and the open question with its
 * options, so that "the second one" can be read against them; absent state adds no section. */
static void test_conversation_state(void **state) {
    (void)state;
    brain_context c = {.n_scenes = 0};
    brain_prompt p;
    brain_prompt_input in = {.user_prompt = "the second one", .ctx = &c, .token_budget = 0};
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_null(strstr(p.user, "## Conversation state"));
    brain_prompt_clear(&p);

    c.conv.turn_count = 3;
    snprintf(c.conv.current_scene_id, sizeof c.conv.current_scene_id, "scene-abc");
    c.conv.new_scene = true;
    snprintf(c.conv.last_tool, sizeof c.conv.last_tool, "createScene");
    c.conv.open.present = true;
    c.conv.open.question = "Which scene do you mean?";
    c.conv.open.pending_prompt = "make it darker";
    c.conv.open.n_options = 2;
    snprintf(c.conv.open.options[0].label, sizeof c.conv.open.options[0].label, "Intro");
    snprintf(c.conv.open.options[0].scene_id, sizeof c.conv.open.options[0].scene_id, "s1");
    snprintf(c.conv.open.options[1].label, sizeof c.conv.open.options[1].label, "Beach");
    snprintf(c.conv.open.options[1].scene_id, sizeof c.conv.open.options[1].scene_id, "s2");
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_non_null(strstr(p.user, "## Conversation state\nturns so far: 3\n"));
    assert_non_null(strstr(p.user, "current scene: id=scene-abc (created by the last decision)\n"));
    assert_non_null(strstr(p.user, "last decision: createScene\n"));
    assert_non_null(strstr(p.user, "open question (the request may answer it): Which scene do you mean?\n"));
    assert_non_null(strstr(p.user, "asked about: make it darker\n"));
    assert_non_null(strstr(p.user, "option 2: Beach (scene id=s2)\n"));
    /* The request stays last: the state is context, not the question. */
    assert_true(strstr(p.user, "## Conversation state") < strstr(p.user, "## Request"));
    brain_prompt_clear(&p);
}

static void test_token_count_errs_high(void **state) {
    (void)state;
    assert_int_equal(brain_tokens_count(""), 0);
    assert_int_equal(brain_tokens_count("abc"), 1);
    assert_int_equal(brain_tokens_count("abcd"), 2);
    /* Six CJK characters are six tokens (eighteen bytes were four and a half before). */
    assert_int_equal(brain_tokens_count("\xe8\xa7\x86\xe9\xa2\x91\xe5\x89\xaa\xe8\xbe\x91\xe5\x99\xa8\xe5\x90\x97"), 6);
    /* An emoji (four bytes) is one; "caf\xc3\xa9" is one for "caf" and one for the accent. */
    assert_int_equal(brain_tokens_count("\xf0\x9f\x8e\xac"), 1);
    assert_int_equal(brain_tokens_count("caf\xc3\xa9"), 2);
}

/* A request in Chinese counts about a token a character, so it hits the budget it would hit. */
static void test_non_ascii_budget(void **state) {
    (void)state;
    static char cjk[3 * 600 + 1];
    for (int i = 0; i < 600; i++) memcpy(cjk + 3 * i, "\xe8\xa7\x86", 3);
    brain_context c = {.scenes = scenes, .n_scenes = 1};
    brain_prompt p;
    brain_prompt_input in = {.user_prompt = cjk, .ctx = &c, .token_budget = 0};
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_true(p.tokens >= 600 + brain_tokens_count(p.system));
    long long full = p.tokens;
    brain_prompt_clear(&p);
    in.token_budget = full - 100;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_true(p.over_budget); /* nothing to drop: the request itself is the size */
    brain_prompt_clear(&p);
}

static void test_long_scene_names_are_shortened_last(void **state) {
    (void)state;
    static char name[600];
    memset(name, 'n', sizeof name - 1);
    memcpy(name, "START", 5);
    brain_scene sc[] = {{"s1", name, 1, 3000, "", 0}, {"s2", "Short", 2, 3000, "", 0}};
    brain_memory_item pref[] = {{"p", "v", 0.5}};
    brain_context c = {.scenes = sc, .n_scenes = 2, .preferences = pref, .n_preferences = 1};
    brain_prompt full, p;
    brain_prompt_input in = {.user_prompt = "x", .selected_scene = "s1", .ctx = &c, .token_budget = 0};
    assert_int_equal(brain_prompt_build(&in, &full), 0);
    assert_int_equal(full.shortened_scenes, 0);
    in.token_budget = full.tokens - 100;
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    assert_false(p.over_budget);
    assert_true(p.truncated);
    assert_int_equal(p.dropped_memory, 1); /* memory goes first */
    assert_int_equal(p.shortened_scenes, 1);
    assert_non_null(strstr(p.user, "name=\"STARTnnn"));
    assert_non_null(strstr(p.user, "...\" position=1"));
    assert_non_null(strstr(p.user, "id=s2 name=\"Short\""));
    assert_true(p.tokens <= in.token_budget);
    brain_prompt_clear(&p);
    brain_prompt_clear(&full);
}

static void test_modes(void **state) {
    (void)state;
    char err[256];
    brain_tools *tools = brain_tools_new(err, sizeof err);
    assert_non_null(tools);
    brain_context c = {.scenes = scenes, .n_scenes = 1};
    brain_prompt legacy, t, j;
    brain_prompt_input in = {.user_prompt = "x", .ctx = &c};
    assert_int_equal(brain_prompt_build(&in, &legacy), 0);
    in.tools = tools;
    in.mode = BRAIN_LLM_MODE_TOOLS;
    assert_int_equal(brain_prompt_build(&in, &t), 0);
    in.mode = BRAIN_LLM_MODE_JSON;
    assert_int_equal(brain_prompt_build(&in, &j), 0);
    /* Tools mode: the functions travel as tools, not in the prompt, and still count. */
    assert_null(strstr(t.system, "arguments (JSON Schema)"));
    assert_non_null(strstr(t.system, "askClarification"));
    cJSON *arr = brain_tools_openai_new(tools);
    char *text = cJSON_PrintUnformatted(arr);
    assert_int_equal(t.tokens, brain_tokens_count(t.system) + brain_tokens_count(t.user) + 16 + brain_tokens_count(text));
    free(text);
    cJSON_Delete(arr);
    /* JSON mode: every function and the answer format are in the system prompt. */
    static const char *const names[] = {"addScene", "editScene", "deleteScene", "fixBrokenScene", "analyzeImage",
                                        "createSceneFromImage", "editSceneWithImage", "changeDuration", "askClarification"};
    for (size_t i = 0; i < 9; i++) {
        char line[64];
        snprintf(line, sizeof line, "- %s: ", names[i]);
        if (!strstr(j.system, line)) fail_msg("JSON-mode prompt lacks %s", names[i]);
    }
    assert_non_null(strstr(j.system, "{\"tool\": \"<function name>\", \"arguments\": {...}}"));
    assert_string_equal(legacy.user, t.user);
    brain_prompt_clear(&legacy);
    brain_prompt_clear(&t);
    brain_prompt_clear(&j);
    brain_tools_free(tools);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_count_errs_high),
        cmocka_unit_test(test_non_ascii_budget),
        cmocka_unit_test(test_long_scene_names_are_shortened_last),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_no_truncation),
        cmocka_unit_test(test_truncation_order),
        cmocka_unit_test(test_memory_drops_least_confident_first),
        cmocka_unit_test(test_degraded_note),
        cmocka_unit_test(test_conversation_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
