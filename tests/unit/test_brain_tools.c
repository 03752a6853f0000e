/* The tools as data: the nine schemas load from the binary, the tools array is what OpenAI's
 * function calling takes, and brain_tools_check_call refuses every class of bad arguments with
 * the exact problem (schema: types, ranges, required, enums, unknown properties; semantic: scene
 * not in the storyboard, image not the request's or the project's, durations out of bounds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_tools.h"

static brain_scene scenes[] = {{"s1", "Intro", 1, 3000, "", 0}, {"s2", "Logo", 2, 4000, "", 0}};
static char *project_urls[] = {"https://cdn.example.com/moodboard.png"};
static brain_image_facts images[] = {{.trace_id = "t", .facts = "{}", .created_at = "x", .urls = {project_urls, 1}}};
static const char *const request_images[] = {"https://uploads.example.com/a.jpg"};

static brain_tools *tools;

static int setup(void **state) {
    (void)state;
    char err[256];
    tools = brain_tools_new(err, sizeof err);
    if (!tools) fprintf(stderr, "brain_tools_new: %s\n", err);
    return tools ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    brain_tools_free(tools);
    return 0;
}

static void test_openai_tools_array(void **state) {
    (void)state;
    cJSON *arr = brain_tools_openai_new(tools);
    assert_int_equal(cJSON_GetArraySize(arr), 9);
    const cJSON *t;
    size_t clar = 0;
    cJSON_ArrayForEach(t, arr) {
        assert_string_equal(cJSON_GetObjectItem(t, "type")->valuestring, "function");
        const cJSON *fn = cJSON_GetObjectItem(t, "function");
        const char *name = cJSON_GetObjectItem(fn, "name")->valuestring;
        brain_tool bt;
        assert_int_equal(brain_tools_function_parse(name, &bt), 0);
        assert_string_equal(brain_tools_function_name(bt), name);
        if (bt == BRAIN_TOOL_CLARIFY) clar++;
        assert_true(strlen(cJSON_GetObjectItem(fn, "description")->valuestring) > 20);
        const cJSON *p = cJSON_GetObjectItem(fn, "parameters");
        assert_string_equal(cJSON_GetObjectItem(p, "type")->valuestring, "object");
        assert_true(cJSON_IsFalse(cJSON_GetObjectItem(p, "additionalProperties")));
        /* The document's own identity stays home. */
        assert_null(cJSON_GetObjectItem(p, "$schema"));
        assert_null(cJSON_GetObjectItem(p, "title"));
    }
    assert_int_equal(clar, 1);
    /* What every request carries is the text printed once at start: the same array. */
    char *fresh = cJSON_PrintUnformatted(arr);
    assert_string_equal(brain_tools_openai_json(tools), fresh);
    free(fresh);
    cJSON_Delete(arr);
    assert_int_equal(brain_tools_bound(tools, BRAIN_TOOL_CHANGE_DURATION, "duration_ms", "minimum", -1), 500);
    assert_int_equal(brain_tools_bound(tools, BRAIN_TOOL_CHANGE_DURATION, "nope", "minimum", -1), -1);
    char *prompt = brain_tools_prompt_new(tools);
    assert_non_null(strstr(prompt, "- deleteScene: Delete a whole scene"));
    assert_string_equal(brain_tools_prompt_list(tools), prompt);
    free(prompt);
}

typedef struct {
    const char *name;
    const char *args; /* JSON */
    brain_call_result want;
    const char *err_has;
} call_case;

static const call_case calls[] = {
    {"editScene", "{\"scene_id\":\"s2\",\"instruction\":\"bigger logo\",\"summary\":\"ok\",\"edit_complexity\":\"surgical\"}",
     BRAIN_CALL_OK, NULL},
    {"addScene", "{\"instruction\":\"x\",\"summary\":\"s\",\"position\":3,\"duration_ms\":2500}", BRAIN_CALL_OK, NULL},
    {"askClarification", "{\"question\":\"Which one?\"}", BRAIN_CALL_OK, NULL},
    {"analyzeImage", "{\"image_url\":\"https://uploads.example.com/a.jpg\",\"summary\":\"s\"}", BRAIN_CALL_OK, NULL},
    {"editSceneWithImage",
     "{\"scene_id\":\"s1\",\"image_url\":\"https://cdn.example.com/moodboard.png\",\"instruction\":\"x\",\"summary\":\"s\"}",
     BRAIN_CALL_OK, NULL},
    {"changeDuration", "{\"scene_id\":\"s1\",\"delta_ms\":-2500,\"summary\":\"s\"}", BRAIN_CALL_OK, NULL},
    /* The selected scene stands in for a missing scene_id. */
    {"deleteScene", "{\"summary\":\"d\"}", BRAIN_CALL_OK, NULL},
    /* Unknown function. */
    {"launchRocket", "{}", BRAIN_CALL_UNKNOWN_TOOL, "unknown function \"launchRocket\""},
    {"clarification", "{}", BRAIN_CALL_UNKNOWN_TOOL, "call one of addScene"},
    /* Schema. */
    {"changeDuration", "{\"scene_id\":\"s1\",\"duration_ms\":\"5000\",\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "arguments.duration_ms: expected integer, got string"},
    {"changeDuration", "{\"scene_id\":\"s1\",\"duration_ms\":100,\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "arguments.duration_ms: 100 is below the minimum 500"},
    {"addScene", "{\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS, "arguments: missing required property \"instruction\""},
    {"addScene", "{\"instruction\":\"x\",\"summary\":\"s\",\"colour\":\"red\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "arguments: unknown property \"colour\""},
    {"editScene", "{\"scene_id\":\"s1\",\"instruction\":\"x\",\"summary\":\"s\",\"edit_complexity\":\"huge\"}",
     BRAIN_CALL_INVALID_ARGUMENTS, "arguments.edit_complexity: \"huge\" is not one of"},
    {"editScene", "[1]", BRAIN_CALL_INVALID_ARGUMENTS, "arguments: expected object, got array"},
    {"askClarification", "{\"question\":\"\"}", BRAIN_CALL_INVALID_ARGUMENTS, "arguments.question: is empty"},
    /* Semantic. */
    {"editScene", "{\"scene_id\":\"s9\",\"instruction\":\"x\",\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "arguments.scene_id: \"s9\" is not a scene of the storyboard (scenes: s1, s2)"},
    {"editScene", "{\"scene_id\":\"s 1\",\"instruction\":\"x\",\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "is not a scene id"},
    {"analyzeImage", "{\"image_url\":\"https://invented.example.com/x.png\",\"summary\":\"s\"}",
     BRAIN_CALL_INVALID_ARGUMENTS,
     "arguments.image_url: \"https://invented.example.com/x.png\" is not one of this request's or the project's images "
     "(https://uploads.example.com/a.jpg, https://cdn.example.com/moodboard.png)"},
    {"changeDuration", "{\"scene_id\":\"s1\",\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "give exactly one of duration_ms or delta_ms"},
    {"changeDuration", "{\"scene_id\":\"s1\",\"duration_ms\":4000,\"delta_ms\":1000,\"summary\":\"s\"}",
     BRAIN_CALL_INVALID_ARGUMENTS, "give exactly one of duration_ms or delta_ms"},
    {"changeDuration", "{\"scene_id\":\"s1\",\"delta_ms\":0,\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "0 would change nothing"},
    {"changeDuration", "{\"scene_id\":\"s1\",\"delta_ms\":-2800,\"summary\":\"s\"}", BRAIN_CALL_INVALID_ARGUMENTS,
     "scene s1 is 3000 ms long and 3000 ms + (-2800 ms) = 200 ms is outside 500..600000 ms"},
    {"addScene", "{\"instruction\":\"x\",\"summary\":\"s\",\"position\":4}", BRAIN_CALL_INVALID_ARGUMENTS,
     "arguments.position: 4 is past the end of the storyboard (2 scenes: at most 3"},
};

static void test_check_call(void **state) {
    (void)state;
    brain_context ctx = {.scenes = scenes, .n_scenes = 2, .images = images, .n_images = 1};
    brain_tool_env env = {.ctx = &ctx, .scenes_known = true, .selected_scene = "s2", .request_images = request_images,
                          .n_request_images = 1};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        const call_case *c = &calls[i];
        cJSON *args = cJSON_Parse(c->args);
        assert_non_null(args);
        brain_answer a;
        char err[1024] = "";
        brain_call_result r = brain_tools_check_call(tools, c->name, args, &env, &a, err, sizeof err);
        if (r != c->want) fail_msg("%s %s: result %d, expected %d (%s)", c->name, c->args, r, c->want, err);
        if (c->err_has && !strstr(err, c->err_has)) fail_msg("%s %s: \"%s\" lacks \"%s\"", c->name, c->args, err, c->err_has);
        if (r == BRAIN_CALL_OK) {
            assert_non_null(a.summary);
            if (a.tool == BRAIN_TOOL_CLARIFY) {
                assert_string_equal(a.question, "Which one?");
                assert_null(a.params);
            } else {
                /* scene_id, summary and edit_complexity are lifted out of the params. */
                assert_null(cJSON_GetObjectItem(a.params, "scene_id"));
                assert_null(cJSON_GetObjectItem(a.params, "summary"));
                assert_null(cJSON_GetObjectItem(a.params, "edit_complexity"));
                if (brain_tool_needs_scene(a.tool)) assert_true(a.target_scene[0] != '\0');
            }
        } else {
            assert_null(a.summary);
            assert_null(a.params);
        }
        brain_answer_clear(&a);
        cJSON_Delete(args);
    }
}

static void test_degraded_and_no_images(void **state) {
    (void)state;
    /* A degraded packet: scenes and the project's images are unknown, so ids and URLs pass. */
    brain_context ctx = {.degraded = true};
    brain_tool_env env = {.ctx = &ctx, .scenes_known = false};
    cJSON *args = cJSON_Parse("{\"scene_id\":\"s9\",\"image_url\":\"https://x.example/y.png\",\"instruction\":\"i\","
                              "\"summary\":\"s\"}");
    brain_answer a;
    char err[512];
    assert_int_equal(brain_tools_check_call(tools, "editSceneWithImage", args, &env, &a, err, sizeof err), BRAIN_CALL_OK);
    assert_string_equal(a.target_scene, "s9");
    brain_answer_clear(&a);
    cJSON_Delete(args);
    /* No image anywhere: the message says there are none. */
    brain_context empty = {.n_scenes = 0};
    env = (brain_tool_env){.ctx = &empty, .scenes_known = true};
    args = cJSON_Parse("{\"image_url\":\"https://x.example/y.png\",\"summary\":\"s\"}");
    assert_int_equal(brain_tools_check_call(tools, "analyzeImage", args, &env, &a, err, sizeof err),
                     BRAIN_CALL_INVALID_ARGUMENTS);
    assert_non_null(strstr(err, "there are none"));
    cJSON_Delete(args);
    args = cJSON_Parse("{\"scene_id\":\"s1\",\"summary\":\"s\"}");
    assert_int_equal(brain_tools_check_call(tools, "deleteScene", args, &env, &a, err, sizeof err),
                     BRAIN_CALL_INVALID_ARGUMENTS);
    assert_non_null(strstr(err, "the storyboard is empty"));
    cJSON_Delete(args);
    assert_int_equal(brain_tools_check_call(tools, "deleteScene", NULL, &env, &a, err, sizeof err),
                     BRAIN_CALL_INVALID_ARGUMENTS);
    assert_non_null(strstr(err, "arguments: missing"));
}

/* brain_tools_check_answer sees what would be published, without the selected scene's help. */
static void test_check_answer(void **state) {
    (void)state;
    brain_context ctx = {.scenes = scenes, .n_scenes = 2};
    brain_tool_env env = {.ctx = &ctx, .scenes_known = true, .selected_scene = "s1"};
    brain_answer a = {.tool = BRAIN_TOOL_DELETE_SCENE, .summary = "d"};
    char err[512];
    assert_int_equal(brain_tools_check_answer(tools, &a, &env, err, sizeof err), BRAIN_CALL_INVALID_ARGUMENTS);
    assert_non_null(strstr(err, "scene_id"));
    snprintf(a.target_scene, sizeof a.target_scene, "s1");
    assert_int_equal(brain_tools_check_answer(tools, &a, &env, err, sizeof err), BRAIN_CALL_OK);
    brain_step steps[] = {{.tool = BRAIN_TOOL_CHANGE_DURATION, .target_scene = "s2", .summary = "x"}};
    a.then = steps;
    a.n_then = 1;
    assert_int_equal(brain_tools_check_answer(tools, &a, &env, err, sizeof err), BRAIN_CALL_INVALID_ARGUMENTS);
    assert_non_null(strstr(err, "exactly one of duration_ms or delta_ms"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_openai_tools_array),
        cmocka_unit_test(test_check_call),
        cmocka_unit_test(test_degraded_and_no_images),
        cmocka_unit_test(test_check_answer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
