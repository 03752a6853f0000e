/* The rule-based decider: its documented rules (brain_rules.h) one case each, every decision valid
 * by the tool schemas, the labelled set (tests/eval/decisions.json) at >= 90 % with no destructive
 * miss, and in place of a failed model nothing irreversible on a guess. Plus the explicit
 * preference extractor and the message id derivation of memoryUpdates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_eval.h"
#include "brain_memory.h"
#include "brain_rules.h"
#include "brain_tools.h"

static brain_scene scenes[] = {{"s1", "Intro", 1, 4000, "", 0},          {"s2", "Logo reveal", 2, 3000, "", 0},
                               {"s3", "Feature list", 3, 6000, "", 0},   {"s4", "Customer quote", 4, 5000, "", 0},
                               {"s5", "Outro", 5, 4000, "", 0}};
static char *moodboard_urls[] = {"https://cdn.example.com/brand/moodboard.png"};
static brain_image_facts project_images[] = {
    {.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736", .facts = "{}", .created_at = "x", .urls = {moodboard_urls, 1}}};
static const char *const photo[] = {"https://uploads.example.com/u/photo-1.jpg"};

static brain_context storyboard(void) {
    return (brain_context){.scenes = scenes, .n_scenes = 5, .images = project_images, .n_images = 1};
}

static void decide(const brain_rules_input *in, brain_answer *a) {
    if (brain_rules_decide(in, a) != 0) fail_msg("\"%s\": out of memory", in->prompt);
}

typedef struct {
    const char *prompt;
    size_t n_images;
    const char *scene;
    brain_tool expect;
    const char *target; /* NULL: none expected */
} rule_case;

static const rule_case cases[] = {
    /* 1 */ {"", 0, NULL, BRAIN_TOOL_CLARIFY, NULL},
    {"  ?! ", 0, "s1", BRAIN_TOOL_CLARIFY, NULL},
    /* 2 */ {"Add a 5 second scene with our slogan", 0, "s2", BRAIN_TOOL_ADD_SCENE, NULL},
    {"Create a title card that says Welcome", 0, NULL, BRAIN_TOOL_ADD_SCENE, NULL},
    /* 3 */ {"Describe this image", 1, NULL, BRAIN_TOOL_ANALYZE_IMAGE, NULL},
    {"Make a scene like this", 2, NULL, BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE, NULL},
    {"Use this picture for a new scene", 1, "s2", BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE, NULL},
    {"Make it look like this", 1, "s2", BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE, "s2"},
    {"Restyle the intro after this photo", 1, NULL, BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE, "s1"},
    /* 4 */ {"The scene is broken", 0, "s1", BRAIN_TOOL_FIX_BROKEN_SCENE, "s1"},
    {"Scene 2 shows a black screen", 0, NULL, BRAIN_TOOL_FIX_BROKEN_SCENE, "s2"},
    {"Fix the typo in the title", 0, "s1", BRAIN_TOOL_EDIT_SCENE, "s1"},
    {"fix it", 0, NULL, BRAIN_TOOL_CLARIFY, NULL},
    /* 5 */ {"Make it longer", 0, "s1", BRAIN_TOOL_CHANGE_DURATION, "s1"},
    {"3 seconds please", 0, NULL, BRAIN_TOOL_CLARIFY, NULL},
    {"Make the second bullet point bold", 0, "s3", BRAIN_TOOL_EDIT_SCENE, "s3"},
    {"Add a second line of text under the title", 0, "s1", BRAIN_TOOL_EDIT_SCENE, "s1"},
    /* 6 */ {"Delete this scene", 0, "s1", BRAIN_TOOL_DELETE_SCENE, "s1"},
    {"Delete the outro", 0, NULL, BRAIN_TOOL_DELETE_SCENE, "s5"},
    {"Remove the last scene", 0, "s2", BRAIN_TOOL_DELETE_SCENE, "s5"},
    {"Remove the logo", 0, "s2", BRAIN_TOOL_EDIT_SCENE, "s2"},
    {"Take out the second bullet point", 0, "s3", BRAIN_TOOL_EDIT_SCENE, "s3"},
    {"Remove the logo from the outro", 0, "s1", BRAIN_TOOL_EDIT_SCENE, "s5"},
    {"remove it", 0, NULL, BRAIN_TOOL_CLARIFY, NULL},
    {"Delete a scene", 0, NULL, BRAIN_TOOL_CLARIFY, NULL},
    {"Remove a slide", 0, NULL, BRAIN_TOOL_CLARIFY, NULL},
    /* 7 */ {"Make the title bigger", 0, "s2", BRAIN_TOOL_EDIT_SCENE, "s2"},
    {"Make the logo bigger", 0, "s1", BRAIN_TOOL_EDIT_SCENE, "s1"},
    {"Put the quote in italics", 0, NULL, BRAIN_TOOL_EDIT_SCENE, "s4"},
    {"prefixed words like undelete or fixture do not match", 0, "s1", BRAIN_TOOL_EDIT_SCENE, "s1"},
    /* 8 */ {"Add an outro with our logo", 0, NULL, BRAIN_TOOL_ADD_SCENE, NULL},
    {"add some sparkle", 0, NULL, BRAIN_TOOL_ADD_SCENE, NULL},
    /* 9 */ {"Make it pop", 0, NULL, BRAIN_TOOL_CLARIFY, NULL},
};

static void test_rules(void **state) {
    (void)state;
    brain_context ctx = storyboard();
    char err[1024];
    brain_tools *tools = brain_tools_new(err, sizeof err);
    assert_non_null(tools);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rule_case *c = &cases[i];
        brain_rules_input in = {.prompt = c->prompt, .n_images = c->n_images, .selected_scene = c->scene,
                                .image_urls = photo, .ctx = &ctx};
        if (c->n_images > 1) in.n_images = 1;
        brain_answer a;
        decide(&in, &a);
        if (a.tool != c->expect)
            fail_msg("\"%s\": got %s, expected %s", c->prompt, brain_tool_name(a.tool), brain_tool_name(c->expect));
        if (c->target && strcmp(a.target_scene, c->target) != 0)
            fail_msg("\"%s\": target %s, expected %s", c->prompt, a.target_scene, c->target);
        assert_non_null(a.summary);
        if (a.tool == BRAIN_TOOL_CLARIFY) assert_non_null(a.question);
        /* What the rules publish is what a model's answer must be. */
        brain_tool_env env = {.ctx = &ctx, .scenes_known = true, .request_images = photo,
                              .n_request_images = in.n_images};
        if (brain_tools_check_answer(tools, &a, &env, err, sizeof err) != BRAIN_CALL_OK)
            fail_msg("\"%s\": %s is not valid by its schema: %s", c->prompt, brain_tool_name(a.tool), err);
        brain_answer_clear(&a);
    }
    brain_tools_free(tools);
}

static void test_params(void **state) {
    (void)state;
    brain_context ctx = storyboard();
    static const struct {
        const char *prompt, *scene, *field;
        double value;
    } p[] = {
        {"make it 2.5 seconds", "s1", "duration_ms", 2500},
        {"a bit shorter", "s1", "delta_ms", -2000},
        {"Make it 5 seconds longer.", "s1", "delta_ms", 5000},
        {"Shorten this scene by 2 seconds", "s3", "delta_ms", -2000},
        {"Hold this scene for one more second", "s2", "delta_ms", 1000},
        {"Extend the intro to 8s", NULL, "duration_ms", 8000},
        {"Double the length of this scene", "s1", "duration_ms", 8000},
        {"Make it 0.1 seconds", "s1", "duration_ms", 500},    /* clamped to the schema's bounds */
        {"Make it 20 seconds shorter", "s3", "duration_ms", 500}, /* 6000 - 20000: the shortest instead */
        {"Add a 5 second scene with our slogan", NULL, "duration_ms", 5000},
        {"Insert a scene after the intro about our team", NULL, "position", 2},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        brain_rules_input in = {.prompt = p[i].prompt, .selected_scene = p[i].scene, .ctx = &ctx};
        brain_answer a;
        decide(&in, &a);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(a.params, p[i].field);
        if (!cJSON_IsNumber(v) || v->valuedouble != p[i].value)
            fail_msg("\"%s\": %s is %s, expected %g", p[i].prompt, p[i].field, v ? cJSON_PrintUnformatted(v) : "absent",
                     p[i].value);
        brain_answer_clear(&a);
    }
    /* The prompt is the instruction, with the strongest stated preferences after it. */
    brain_memory_item prefs[] = {{"stated:dark colours", "{\"statement\":\"I prefer dark colours\"}", 1.0},
                                 {"weak", "\"x\"", 0.2}};
    ctx.preferences = prefs;
    ctx.n_preferences = 2;
    brain_rules_input in = {.prompt = "Make the title bigger", .selected_scene = "s1", .ctx = &ctx};
    brain_answer a;
    decide(&in, &a);
    const char *instr = cJSON_GetObjectItemCaseSensitive(a.params, "instruction")->valuestring;
    assert_non_null(strstr(instr, "Make the title bigger"));
    assert_non_null(strstr(instr, "I prefer dark colours"));
    assert_null(strstr(instr, "weak"));
    brain_answer_clear(&a);
    /* Image tools carry the image: the request's, or the project's when the prompt speaks of it. */
    in = (brain_rules_input){.prompt = "Make a scene in the style of our moodboard", .ctx = &ctx};
    decide(&in, &a);
    assert_int_equal(a.tool, BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(a.params, "image_url")->valuestring, moodboard_urls[0]);
    brain_answer_clear(&a);
}

static void test_workflow(void **state) {
    (void)state;
    brain_context ctx = storyboard();
    brain_rules_input in = {.prompt = "Delete the customer quote and make the outro 5 seconds", .ctx = &ctx};
    brain_answer a;
    decide(&in, &a);
    assert_int_equal(a.tool, BRAIN_TOOL_DELETE_SCENE);
    assert_string_equal(a.target_scene, "s4");
    assert_int_equal(a.n_then, 1);
    assert_int_equal(a.then[0].tool, BRAIN_TOOL_CHANGE_DURATION);
    assert_string_equal(a.then[0].target_scene, "s5");
    brain_answer_clear(&a);
    /* A step that would be a question makes the prompt one request. */
    in.prompt = "Make a scene like this and make it pop";
    in.n_images = 1;
    in.image_urls = photo;
    decide(&in, &a);
    assert_int_equal(a.tool, BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE);
    assert_int_equal(a.n_then, 0);
    brain_answer_clear(&a);
}

/* ---- in place of a failed model ---- */

static void test_fallback_never_destroys_on_a_guess(void **state) {
    (void)state;
    brain_context ctx = storyboard();
    static const char *const prompts[] = {"Delete this scene", "Remove the logo", "Delete the outro",
                                          "Make the outro 6 seconds long", "Delete the customer quote and make the outro 5 seconds",
                                          "remove everything", "Cut this scene entirely"};
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++) {
        brain_rules_input in = {.prompt = prompts[i], .selected_scene = "s2", .ctx = &ctx, .fallback = true};
        brain_answer a;
        decide(&in, &a);
        if (brain_tool_destructive(a.tool)) fail_msg("\"%s\": fallback published %s", prompts[i], brain_tool_name(a.tool));
        for (size_t k = 0; k < a.n_then; k++) assert_false(brain_tool_destructive(a.then[k].tool));
        brain_answer_clear(&a);
    }
    /* The selected scene's own length is not a guess. */
    brain_rules_input in = {.prompt = "Make this scene 3 seconds", .selected_scene = "s2", .ctx = &ctx, .fallback = true};
    brain_answer a;
    decide(&in, &a);
    assert_int_equal(a.tool, BRAIN_TOOL_CHANGE_DURATION);
    brain_answer_clear(&a);
}

static void test_fallback_confirmation_round_trip(void **state) {
    (void)state;
    brain_context ctx = storyboard();
    brain_rules_input in = {.prompt = "Delete the outro", .ctx = &ctx, .fallback = true};
    brain_answer ask;
    decide(&in, &ask);
    assert_int_equal(ask.tool, BRAIN_TOOL_CLARIFY);
    assert_non_null(strstr(ask.question, "I have not deleted anything"));
    assert_non_null(strstr(ask.question, "Reply \"yes, delete s5\" to confirm."));
    /* The question is the last assistant message; the user confirms. */
    brain_message conv[] = {{.role = "user", .content = "Delete the outro"}, {.role = "assistant", .content = ask.question}};
    ctx.messages = conv;
    ctx.n_messages = 2;
    in.prompt = "yes, delete s5";
    brain_answer yes;
    decide(&in, &yes);
    assert_int_equal(yes.tool, BRAIN_TOOL_DELETE_SCENE);
    assert_string_equal(yes.target_scene, "s5");
    brain_answer_clear(&yes);
    /* Another scene than the one asked about is not confirmed. */
    in.prompt = "yes, delete s4";
    decide(&in, &yes);
    assert_int_equal(yes.tool, BRAIN_TOOL_CLARIFY);
    brain_answer_clear(&yes);
    /* Nor is a confirmation that is no longer the last thing asked. */
    brain_message later[] = {{.role = "user", .content = "Delete the outro"}, {.role = "assistant", .content = ask.question}, {.role = "user", .content = "Add a scene"},
                             {.role = "assistant", .content = "Add a new scene as asked."}};
    ctx.messages = later;
    ctx.n_messages = 4;
    in.prompt = "yes, delete s5";
    decide(&in, &yes);
    assert_int_equal(yes.tool, BRAIN_TOOL_CLARIFY);
    brain_answer_clear(&yes);
    brain_answer_clear(&ask);
}

/* ---- the labelled set ---- */

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static brain_eval_set *load_set(void) {
    const char *src = getenv("BF_SOURCE_DIR");
    assert_non_null(src);
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/tests/eval/decisions.json", src);
    size_t len = 0;
    char *text = slurp(path, &len);
    if (!text) fail_msg("cannot read %s", path);
    brain_eval_set *s = brain_eval_load(text, len, err, sizeof err);
    free(text);
    if (!s) fail_msg("%s: %s", path, err);
    return s;
}

static void test_eval_set_offline(void **state) {
    (void)state;
    brain_eval_set *s = load_set();
    assert_true(brain_eval_count(s) >= 80);
    brain_eval_report rep;
    bool fallback = false;
    assert_int_equal(brain_eval_run(s, brain_eval_rules, &fallback, &rep, stderr), 0);
    brain_eval_print(&rep, stderr);
    /* Every tool and the question are labelled, each more than once. */
    for (int t = 0; t < BRAIN_TOOL_COUNT; t++)
        if (rep.per_total[t] < 2) fail_msg("the set labels %s %zu times", brain_tool_name((brain_tool)t), rep.per_total[t]);
    if (brain_eval_accuracy(&rep) < 90.0) fail_msg("rules reach %.1f %%, below 90 %%", brain_eval_accuracy(&rep));
    assert_int_equal(rep.destructive_misses, 0);
    assert_int_equal(rep.failed, 0);
    brain_eval_free(s);
}

static void test_eval_set_in_fallback(void **state) {
    (void)state;
    brain_eval_set *s = load_set();
    brain_eval_report rep;
    bool fallback = true;
    assert_int_equal(brain_eval_run(s, brain_eval_rules, &fallback, &rep, NULL), 0);
    /* Asking to confirm costs accuracy on the deletions, never a destructive miss. */
    assert_int_equal(rep.destructive_misses, 0);
    assert_int_equal(rep.per_correct[BRAIN_TOOL_DELETE_SCENE], 0);
    brain_eval_free(s);
}

static void test_eval_load_refuses_bad_sets(void **state) {
    (void)state;
    static const struct {
        const char *json, *err;
    } bad[] = {
        {"{}", "no \"cases\""},
        {"{\"storyboard\":[],\"cases\":[{\"id\":\"a\",\"prompt\":\"x\",\"expect\":\"launchRocket\"}]}", "expect is not a tool"},
        {"{\"storyboard\":[],\"cases\":[{\"id\":\"a\",\"prompt\":\"x\",\"expect\":\"editScene\",\"target\":\"s9\"}]}",
         "target is not in the storyboard"},
        {"{\"storyboard\":[],\"cases\":[{\"id\":\"a\",\"expect\":\"addScene\"}]}", "needs an id and a prompt"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        brain_eval_set *s = brain_eval_load(bad[i].json, strlen(bad[i].json), err, sizeof err);
        if (s) fail_msg("%s: loaded", bad[i].json);
        if (!strstr(err, bad[i].err)) fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].json, err, bad[i].err);
    }
}

/* ---- memoryUpdates helpers ---- */

static void test_stated_preferences(void **state) {
    (void)state;
    brain_stated_pref p[4];
    size_t n = brain_memory_stated_preferences("Add a scene. I prefer dark colours! Always use Inter for titles.\n"
                                               "Never use Comic Sans; nice", p, 4);
    assert_int_equal(n, 3);
    assert_string_equal(p[0].key, "stated:dark colours");
    assert_string_equal(p[0].polarity, "prefer");
    assert_string_equal(p[0].statement, "I prefer dark colours");
    assert_string_equal(p[1].key, "stated:inter for titles");
    assert_string_equal(p[2].key, "stated:comic sans");
    assert_string_equal(p[2].polarity, "avoid");
    assert_int_equal(brain_memory_stated_preferences("Make it pop", p, 4), 0);
    assert_int_equal(brain_memory_stated_preferences("I prefer", p, 4), 0);
}

static void test_assistant_id(void **state) {
    (void)state;
    char out[40];
    brain_memory_assistant_id("00000000-0000-4000-8000-00000000000f", out);
    assert_string_equal(out, "00000000-0000-4000-8000-00000000000e");
    brain_memory_assistant_id("00000000-0000-4000-8000-000000000008", out);
    assert_string_equal(out, "00000000-0000-4000-8000-000000000009");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_workflow),
        cmocka_unit_test(test_fallback_never_destroys_on_a_guess),
        cmocka_unit_test(test_fallback_confirmation_round_trip),
        cmocka_unit_test(test_eval_set_offline),
        cmocka_unit_test(test_eval_set_in_fallback),
        cmocka_unit_test(test_eval_load_refuses_bad_sets),
        cmocka_unit_test(test_stated_preferences),
        cmocka_unit_test(test_assistant_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
