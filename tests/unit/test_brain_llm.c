/* The LLM answer validator against a corpus of malformed answers: every class ends as a clear
 * error or a clarification, never a crash (ASan runs this), and valid answers pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_llm.h"

static brain_scene scenes[] = {{"s1", "Intro", 1, 3000}, {"s2", "Logo", 2, 4000}};

/* Wraps content as an OpenAI chat-completions response body. */
static char *envelope(const char *content) {
    cJSON *root = cJSON_CreateObject();
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(choices, c);
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "completion_tokens", 42);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

typedef struct {
    const char *name;
    const char *body;   /* raw response body, or NULL to wrap content */
    const char *content;
    brain_llm_result expect;
    int tool;           /* expected tool when not INVALID */
    const char *err_has;
} answer_case;

static const answer_case corpus[] = {
    {"valid tool", NULL, "{\"tool\":\"editScene\",\"target_scene\":\"s2\",\"params\":{\"instruction\":\"x\"},\"summary\":\"ok\"}",
     BRAIN_LLM_OK, BRAIN_TOOL_EDIT_SCENE, NULL},
    {"fenced json", NULL, "```json\n{\"tool\":\"addScene\",\"params\":{},\"summary\":\"add\"}\n```", BRAIN_LLM_OK,
     BRAIN_TOOL_ADD_SCENE, NULL},
    {"prose around", NULL, "Sure! Here it is: {\"tool\":\"addScene\",\"summary\":\"a\"} Hope it helps.", BRAIN_LLM_OK,
     BRAIN_TOOL_ADD_SCENE, NULL},
    {"clarification", NULL, "{\"tool\":\"clarification\",\"question\":\"Which one?\"}", BRAIN_LLM_OK, BRAIN_TOOL_CLARIFY,
     NULL},
    {"selected scene fills target", NULL, "{\"tool\":\"deleteScene\",\"summary\":\"d\"}", BRAIN_LLM_OK,
     BRAIN_TOOL_DELETE_SCENE, NULL},
    {"unknown tool", NULL, "{\"tool\":\"launchRocket\",\"summary\":\"x\"}", BRAIN_LLM_INVALID, 0, "unknown tool"},
    {"tool wrong case", NULL, "{\"tool\":\"ADDSCENE\"}", BRAIN_LLM_INVALID, 0, "unknown tool"},
    {"tool not a string", NULL, "{\"tool\":7}", BRAIN_LLM_INVALID, 0, "no \"tool\""},
    {"no tool", NULL, "{\"summary\":\"nothing\"}", BRAIN_LLM_INVALID, 0, "no \"tool\""},
    {"params not object", NULL, "{\"tool\":\"addScene\",\"params\":[1,2]}", BRAIN_LLM_INVALID, 0, "params"},
    {"content not json", NULL, "I think you should add a scene.", BRAIN_LLM_INVALID, 0, "not a JSON object"},
    {"truncated json", NULL, "{\"tool\":\"addScene\",\"summary\":\"cut", BRAIN_LLM_INVALID, 0, "not a JSON object"},
    {"array content", NULL, "[{\"tool\":\"addScene\"}]", BRAIN_LLM_OK, BRAIN_TOOL_ADD_SCENE, NULL},
    {"empty content", NULL, "", BRAIN_LLM_INVALID, 0, "no message content"},
    {"unknown scene", NULL, "{\"tool\":\"editScene\",\"target_scene\":\"s9\"}", BRAIN_LLM_CLARIFIED,
     BRAIN_TOOL_CLARIFY, "not in the storyboard"},
    {"image tool without image", NULL, "{\"tool\":\"createSceneFromImage\"}", BRAIN_LLM_CLARIFIED, BRAIN_TOOL_CLARIFY,
     "without any image"},
    {"body not json", "<html>502 Bad Gateway</html>", NULL, BRAIN_LLM_INVALID, 0, "not a JSON object"},
    {"body empty", "", NULL, BRAIN_LLM_INVALID, 0, "not a JSON object"},
    {"no choices", "{\"choices\":[]}", NULL, BRAIN_LLM_INVALID, 0, "no choices"},
    {"choices not array", "{\"choices\":{}}", NULL, BRAIN_LLM_INVALID, 0, "no choices"},
    {"null content", "{\"choices\":[{\"message\":{\"content\":null}}]}", NULL, BRAIN_LLM_INVALID, 0, "no message content"},
    {"api error object", "{\"error\":{\"message\":\"rate limited\"}}", NULL, BRAIN_LLM_INVALID, 0, "no choices"},
    {"deeply nested", NULL, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
     BRAIN_LLM_INVALID, 0, "not a JSON object"},
};

static void test_corpus(void **state) {
    (void)state;
    brain_context ctx = {.scenes = scenes, .n_scenes = 2};
    brain_llm_check chk = {.ctx = &ctx, .scenes_known = true, .n_request_images = 0, .selected_scene = "s1"};
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        const answer_case *c = &corpus[i];
        char *body = c->body ? strdup(c->body) : envelope(c->content);
        brain_answer a;
        char err[512] = "";
        brain_llm_result r = brain_llm_parse_response(body, strlen(body), &chk, &a, err, sizeof err);
        if (r != c->expect) fail_msg("%s: result %d, expected %d (%s)", c->name, r, c->expect, err);
        if (r != BRAIN_LLM_INVALID && (int)a.tool != c->tool)
            fail_msg("%s: tool %s", c->name, brain_tool_name(a.tool));
        if (c->err_has && !strstr(err, c->err_has)) fail_msg("%s: error \"%s\" lacks \"%s\"", c->name, err, c->err_has);
        if (r == BRAIN_LLM_CLARIFIED) assert_non_null(a.question);
        if (r == BRAIN_LLM_OK && brain_tool_needs_scene(a.tool)) assert_true(a.target_scene[0] != '\0');
        brain_answer_clear(&a);
        free(body);
    }
}

static void test_degraded_skips_scene_check(void **state) {
    (void)state;
    brain_context ctx = {.degraded = true};
    brain_llm_check chk = {.ctx = &ctx, .scenes_known = false};
    char *body = envelope("{\"tool\":\"editScene\",\"target_scene\":\"s9\"}");
    brain_answer a;
    char err[256];
    assert_int_equal(brain_llm_parse_response(body, strlen(body), &chk, &a, err, sizeof err), BRAIN_LLM_OK);
    assert_string_equal(a.target_scene, "s9");
    assert_int_equal(brain_llm_completion_tokens(body, strlen(body)), 42);
    brain_answer_clear(&a);
    free(body);
}

static void test_request_encode(void **state) {
    (void)state;
    char *b = brain_llm_request_encode("m1", 0.2, "sys \"quoted\"", "user\nprompt");
    cJSON *j = cJSON_Parse(b);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "m1");
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content")->valuestring, "sys \"quoted\"");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "role")->valuestring, "user");
    cJSON_Delete(j);
    free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_degraded_skips_scene_check),
        cmocka_unit_test(test_request_encode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
