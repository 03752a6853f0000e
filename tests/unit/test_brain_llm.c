/* The LLM edge against a corpus of answers: every class a real model or server produces ends as
 * OK, REPAIR or REFUSED with the exact problem, or FAILED, never a crash (ASan runs this); every
 * request built (first, and the repair of each class) is valid by OpenAI's published schema of
 * CreateChatCompletionRequest (tests/fakes/openai). The legacy JSON-mode parser the stage still
 * uses keeps its own corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_schema.h"
#include "bf_test_openai.h"
#include "brain_llm.h"

static brain_scene scenes[] = {{"s1", "Intro", 1, 3000, "", 0}, {"s2", "Logo", 2, 4000, "", 0}};
static const char *const request_images[] = {"https://uploads.example.com/a.jpg"};

static brain_tools *tools;
static bf_json_schema *openai;

static int setup(void **state) {
    (void)state;
    char err[512];
    tools = brain_tools_new(err, sizeof err);
    openai = bf_test_openai_schema_new();
    return tools && openai ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    brain_tools_free(tools);
    bf_json_schema_free(openai);
    return 0;
}

/* Fails the test when body is not a valid chat-completions request. */
static void check_request(const char *what, const char *body) {
    char err[1024];
    if (bf_test_openai_check_request(openai, body, err, sizeof err) != 0)
        fail_msg("%s: not a valid CreateChatCompletionRequest: %s\n%s", what, err, body);
}

/* ---- bodies ---- */

typedef struct call {
    const char *name;
    const char *args; /* the arguments string as sent */
} call;

/* A completion whose message has content (NULL: null), refusal (NULL: absent), calls, finish. */
static char *completion(const char *content, const char *refusal, const call *calls, size_t n, const char *finish) {
    cJSON *root = cJSON_CreateObject();
    cJSON *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON *m = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    if (content) cJSON_AddStringToObject(m, "content", content);
    else cJSON_AddNullToObject(m, "content");
    if (refusal) cJSON_AddStringToObject(m, "refusal", refusal);
    if (n) {
        cJSON *tcs = cJSON_AddArrayToObject(m, "tool_calls");
        for (size_t i = 0; i < n; i++) {
            cJSON *tc = cJSON_CreateObject();
            char id[16];
            snprintf(id, sizeof id, "call_%zu", i);
            cJSON_AddStringToObject(tc, "id", id);
            cJSON_AddStringToObject(tc, "type", "function");
            cJSON *fn = cJSON_AddObjectToObject(tc, "function");
            cJSON_AddStringToObject(fn, "name", calls[i].name);
            cJSON_AddStringToObject(fn, "arguments", calls[i].args);
            cJSON_AddItemToArray(tcs, tc);
        }
    }
    cJSON_AddStringToObject(c, "finish_reason", finish ? finish : (n ? "tool_calls" : "stop"));
    cJSON_AddItemToArray(choices, c);
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", 812);
    cJSON_AddNumberToObject(u, "completion_tokens", 42);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

#define EDIT_S2 "{\"scene_id\":\"s2\",\"instruction\":\"bigger logo\",\"summary\":\"Bigger logo.\"}"
#define DUR_S1 "{\"scene_id\":\"s1\",\"duration_ms\":5000,\"summary\":\"Five seconds.\"}"

typedef struct answer_case {
    const char *name;
    brain_llm_mode mode;
    const char *raw;       /* a raw body, or NULL */
    const char *content;   /* else a completion of these */
    const char *refusal;
    call calls[17];
    size_t n_calls;
    const char *finish;
    brain_llm_verdict_kind want;
    const char *code;
    const char *problem_has;
    brain_tool tool;      /* OK: the first call's tool */
    size_t n_then;        /* OK: further steps */
} answer_case;

static const answer_case corpus[] = {
    {"valid call", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL, {{"editScene", EDIT_S2}}, 1, NULL, BRAIN_LLM_VERDICT_OK, "ok",
     NULL, BRAIN_TOOL_EDIT_SCENE, 0},
    {"clarification", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL, {{"askClarification", "{\"question\":\"Which one?\"}"}}, 1,
     NULL, BRAIN_LLM_VERDICT_OK, "ok", NULL, BRAIN_TOOL_CLARIFY, 0},
    {"two calls: a workflow", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL, {{"editScene", EDIT_S2}, {"changeDuration", DUR_S1}},
     2, NULL, BRAIN_LLM_VERDICT_OK, "ok", NULL, BRAIN_TOOL_EDIT_SCENE, 1},
    {"content beside the calls", BRAIN_LLM_MODE_TOOLS, NULL,
     "{\"tool\":\"deleteScene\",\"arguments\":{\"scene_id\":\"s1\"}} I will edit the logo.", NULL,
     {{"editScene", EDIT_S2}}, 1, NULL, BRAIN_LLM_VERDICT_OK, "ok", NULL, BRAIN_TOOL_EDIT_SCENE, 0},
    {"wrong argument type", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL,
     {{"changeDuration", "{\"scene_id\":\"s1\",\"duration_ms\":\"5000\",\"summary\":\"x\"}"}}, 1, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "invalid_arguments", "arguments.duration_ms: expected integer, got string", 0, 0},
    {"invented image URL", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL,
     {{"analyzeImage", "{\"image_url\":\"https://made.up/x.png\",\"summary\":\"x\"}"}}, 1, NULL, BRAIN_LLM_VERDICT_REPAIR,
     "invalid_arguments", "\"https://made.up/x.png\" is not one of this request's or the project's images", 0, 0},
    {"unknown scene", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL,
     {{"editScene", "{\"scene_id\":\"s9\",\"instruction\":\"x\",\"summary\":\"x\"}"}}, 1, NULL, BRAIN_LLM_VERDICT_REPAIR,
     "invalid_arguments", "\"s9\" is not a scene of the storyboard (scenes: s1, s2)", 0, 0},
    {"two calls, the second bad", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL,
     {{"editScene", EDIT_S2}, {"changeDuration", "{\"scene_id\":\"s1\",\"summary\":\"x\"}"}}, 2, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "invalid_arguments", "call 2 (changeDuration): arguments: give exactly one", 0, 0},
    {"unknown tool", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL, {{"launchRocket", "{}"}}, 1, NULL, BRAIN_LLM_VERDICT_REPAIR,
     "unknown_tool", "unknown function \"launchRocket\"", 0, 0},
    {"arguments not JSON", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL, {{"editScene", "{scene_id: s2"}}, 1, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "arguments_not_json", "arguments are not a JSON object", 0, 0},
    {"arguments an array", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL, {{"editScene", "[1,2]"}}, 1, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "arguments_not_json", "a JSON value, but not an object", 0, 0},
    {"length cut-off in the arguments", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL,
     {{"editScene", "{\"scene_id\":\"s2\",\"instruction\":\"make the lo"}}, 1, "length", BRAIN_LLM_VERDICT_REPAIR, "length",
     "cut off at the token limit", 0, 0},
    {"length cut-off before any call", BRAIN_LLM_MODE_TOOLS, NULL, "I think the best", NULL, {{0}}, 0, "length",
     BRAIN_LLM_VERDICT_REPAIR, "length", "before any function call", 0, 0},
    {"refusal", BRAIN_LLM_MODE_TOOLS, NULL, NULL, "I can't help with that.", {{0}}, 0, NULL, BRAIN_LLM_VERDICT_REFUSED,
     "refusal", "You declined (\"I can't help with that.\")", 0, 0},
    {"text instead of a call", BRAIN_LLM_MODE_TOOLS, NULL, "Sure, I'll make the logo bigger!", NULL, {{0}}, 0, NULL,
     BRAIN_LLM_VERDICT_REFUSED, "no_tool_call", "instead of calling a function", 0, 0},
    {"empty answer", BRAIN_LLM_MODE_TOOLS, NULL, "", NULL, {{0}}, 0, NULL, BRAIN_LLM_VERDICT_REFUSED, "no_tool_call", NULL,
     0, 0},
    {"clarification beside a call", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL,
     {{"editScene", EDIT_S2}, {"askClarification", "{\"question\":\"Sure?\"}"}}, 2, NULL, BRAIN_LLM_VERDICT_REPAIR,
     "clarification_not_alone", "askClarification alone", 0, 0},
    {"17 calls", BRAIN_LLM_MODE_TOOLS, NULL, NULL, NULL,
     {{"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2},
      {"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2},
      {"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2},
      {"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2}, {"editScene", EDIT_S2},
      {"editScene", EDIT_S2}},
     17, NULL, BRAIN_LLM_VERDICT_REPAIR, "too_many_calls", "you made 17 function calls; at most 16", 0, 0},
    {"body not JSON", BRAIN_LLM_MODE_TOOLS, "<html>502 Bad Gateway</html>", NULL, NULL, {{0}}, 0, NULL,
     BRAIN_LLM_VERDICT_FAILED, "not_a_completion", "not a JSON object", 0, 0},
    {"no choices", BRAIN_LLM_MODE_TOOLS, "{\"choices\":[]}", NULL, NULL, {{0}}, 0, NULL, BRAIN_LLM_VERDICT_FAILED,
     "not_a_completion", "no choices", 0, 0},
    {"api error object", BRAIN_LLM_MODE_TOOLS, "{\"error\":{\"message\":\"rate limited\"}}", NULL, NULL, {{0}}, 0, NULL,
     BRAIN_LLM_VERDICT_FAILED, "not_a_completion", "no choices", 0, 0},
    {"custom tool type", BRAIN_LLM_MODE_TOOLS,
     "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":\"custom\",\"custom\":"
     "{\"name\":\"x\",\"input\":\"y\"}}]}}]}",
     NULL, NULL, {{0}}, 0, NULL, BRAIN_LLM_VERDICT_REPAIR, "unknown_tool", "tool type \"custom\" is not supported", 0, 0},
    /* JSON mode. */
    {"json: one call", BRAIN_LLM_MODE_JSON, NULL, "{\"tool\":\"editScene\",\"arguments\":" EDIT_S2 "}", NULL, {{0}}, 0,
     NULL, BRAIN_LLM_VERDICT_OK, "ok", NULL, BRAIN_TOOL_EDIT_SCENE, 0},
    {"json: fenced", BRAIN_LLM_MODE_JSON, NULL, "```json\n{\"tool\":\"changeDuration\",\"arguments\":" DUR_S1 "}\n```",
     NULL, {{0}}, 0, NULL, BRAIN_LLM_VERDICT_OK, "ok", NULL, BRAIN_TOOL_CHANGE_DURATION, 0},
    {"json: calls", BRAIN_LLM_MODE_JSON, NULL,
     "{\"calls\":[{\"tool\":\"editScene\",\"arguments\":" EDIT_S2 "},{\"tool\":\"changeDuration\",\"arguments\":" DUR_S1
     "}]}",
     NULL, {{0}}, 0, NULL, BRAIN_LLM_VERDICT_OK, "ok", NULL, BRAIN_TOOL_EDIT_SCENE, 1},
    {"json: not the object", BRAIN_LLM_MODE_JSON, NULL, "I would edit the logo.", NULL, {{0}}, 0, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "no_answer_object", "not the JSON object asked for", 0, 0},
    {"json: legacy format", BRAIN_LLM_MODE_JSON, NULL, "{\"action\":\"editScene\"}", NULL, {{0}}, 0, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "no_answer_object", "no \"tool\" string", 0, 0},
    {"json: unknown tool", BRAIN_LLM_MODE_JSON, NULL, "{\"tool\":\"launchRocket\",\"arguments\":{}}", NULL, {{0}}, 0, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "unknown_tool", "unknown function", 0, 0},
    {"json: missing arguments", BRAIN_LLM_MODE_JSON, NULL, "{\"tool\":\"deleteScene\"}", NULL, {{0}}, 0, NULL,
     BRAIN_LLM_VERDICT_REPAIR, "arguments_not_json", "(missing)", 0, 0},
    {"json: cut off", BRAIN_LLM_MODE_JSON, NULL, "{\"tool\":\"editScene\",\"argum", NULL, {{0}}, 0, "length",
     BRAIN_LLM_VERDICT_REPAIR, "length", "cut off", 0, 0},
    {"json: refusal", BRAIN_LLM_MODE_JSON, NULL, NULL, "No.", {{0}}, 0, NULL, BRAIN_LLM_VERDICT_REFUSED, "refusal", NULL, 0,
     0},
    {"json: a server that calls tools anyway", BRAIN_LLM_MODE_JSON, NULL, NULL, NULL, {{"editScene", EDIT_S2}}, 1, NULL,
     BRAIN_LLM_VERDICT_OK, "ok", NULL, BRAIN_TOOL_EDIT_SCENE, 0},
};

static char *first_request(brain_llm_mode mode) {
    brain_llm_opts o = {.model = "m1", .mode = mode, .temperature = 0.2, .max_tokens = 1024};
    char err[256];
    char *b = brain_llm_request_new(&o, tools, "sys", "user", err, sizeof err);
    if (!b) fail_msg("request: %s", err);
    return b;
}

static void test_corpus(void **state) {
    (void)state;
    brain_context ctx = {.scenes = scenes, .n_scenes = 2};
    brain_tool_env env = {.ctx = &ctx, .scenes_known = true, .request_images = request_images, .n_request_images = 1};
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        const answer_case *c = &corpus[i];
        char *body = c->raw ? strdup(c->raw) : completion(c->content, c->refusal, c->calls, c->n_calls, c->finish);
        brain_answer a;
        brain_llm_verdict v;
        brain_llm_verdict_kind k = brain_llm_classify(body, strlen(body), c->mode, tools, &env, &a, &v);
        if (k != c->want || k != v.kind) fail_msg("%s: verdict %d (%s: %s), expected %d", c->name, k, v.code, v.problem, c->want);
        if (strcmp(v.code, c->code) != 0) fail_msg("%s: code %s, expected %s (%s)", c->name, v.code, c->code, v.problem);
        if (c->problem_has && !strstr(v.problem, c->problem_has))
            fail_msg("%s: problem \"%s\" lacks \"%s\"", c->name, v.problem, c->problem_has);
        if (k == BRAIN_LLM_VERDICT_OK) {
            if (a.tool != c->tool) fail_msg("%s: tool %s", c->name, brain_tool_name(a.tool));
            assert_int_equal(a.n_then, c->n_then);
            assert_non_null(a.summary);
        } else {
            assert_null(a.summary);
            assert_null(a.params);
        }
        if (!c->raw) {
            assert_int_equal(v.prompt_tokens, 812);
            assert_int_equal(v.completion_tokens, 42);
        }
        /* Every repairable class has its follow-up, and the repair request is a valid request. */
        if (k == BRAIN_LLM_VERDICT_REPAIR || k == BRAIN_LLM_VERDICT_REFUSED) {
            assert_non_null(v.followup);
            char *first = first_request(c->mode), err[256];
            char *repair = brain_llm_repair_request_new(first, &v, err, sizeof err);
            if (!repair) fail_msg("%s: repair: %s", c->name, err);
            check_request(c->name, repair);
            /* The problem reaches the model verbatim. */
            cJSON *r = cJSON_Parse(repair);
            cJSON *msgs = cJSON_GetObjectItem(r, "messages");
            bool found = false;
            const cJSON *m;
            cJSON_ArrayForEach(m, msgs) {
                const cJSON *content = cJSON_GetObjectItem(m, "content");
                if (cJSON_IsString(content) && strstr(content->valuestring, v.problem)) found = true;
            }
            if (!found) fail_msg("%s: the problem is not in the repair request", c->name);
            cJSON_Delete(r);
            free(repair);
            free(first);
        } else {
            assert_null(v.followup);
        }
        brain_answer_clear(&a);
        brain_llm_verdict_clear(&v);
        free(body);
    }
}

/* The repair of a two-call answer answers each call (the API refuses an unanswered one). */
static void test_repair_answers_every_call(void **state) {
    (void)state;
    brain_context ctx = {.scenes = scenes, .n_scenes = 2};
    brain_tool_env env = {.ctx = &ctx, .scenes_known = true};
    call calls[] = {{"editScene", EDIT_S2}, {"changeDuration", "{\"scene_id\":\"s1\",\"summary\":\"x\"}"}};
    char *body = completion("Let me do two things.", NULL, calls, 2, NULL);
    brain_answer a;
    brain_llm_verdict v;
    assert_int_equal(brain_llm_classify(body, strlen(body), BRAIN_LLM_MODE_TOOLS, tools, &env, &a, &v),
                     BRAIN_LLM_VERDICT_REPAIR);
    char *first = first_request(BRAIN_LLM_MODE_TOOLS), err[256];
    char *repair = brain_llm_repair_request_new(first, &v, err, sizeof err);
    cJSON *r = cJSON_Parse(repair);
    cJSON *msgs = cJSON_GetObjectItem(r, "messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 5); /* system, user, assistant, tool, tool */
    cJSON *asst = cJSON_GetArrayItem(msgs, 2);
    assert_string_equal(cJSON_GetObjectItem(asst, "role")->valuestring, "assistant");
    assert_string_equal(cJSON_GetObjectItem(asst, "content")->valuestring, "Let me do two things.");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(asst, "tool_calls")), 2);
    cJSON *t1 = cJSON_GetArrayItem(msgs, 3), *t2 = cJSON_GetArrayItem(msgs, 4);
    assert_string_equal(cJSON_GetObjectItem(t1, "tool_call_id")->valuestring, "call_0");
    assert_non_null(strstr(cJSON_GetObjectItem(t1, "content")->valuestring, "Not applied"));
    assert_string_equal(cJSON_GetObjectItem(t2, "tool_call_id")->valuestring, "call_1");
    assert_string_equal(cJSON_GetObjectItem(t2, "content")->valuestring, v.problem);
    /* The rest of the first request is untouched. */
    assert_string_equal(cJSON_GetObjectItem(r, "tool_choice")->valuestring, "required");
    cJSON_Delete(r);
    free(repair);
    free(first);
    brain_llm_verdict_clear(&v);
    free(body);
    /* Arguments that are not JSON are echoed as {} (servers re-parse them). */
    call cut[] = {{"editScene", "{\"scene_id\":"}};
    body = completion(NULL, NULL, cut, 1, "length");
    assert_int_equal(brain_llm_classify(body, strlen(body), BRAIN_LLM_MODE_TOOLS, tools, &env, &a, &v),
                     BRAIN_LLM_VERDICT_REPAIR);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
                                                                     cJSON_GetArrayItem(v.followup, 0), "tool_calls"),
                                                                 0),
                                                                 "function"),
                                            "arguments")
                            ->valuestring,
                        "{}");
    brain_llm_verdict_clear(&v);
    free(body);
}

/* The schema check itself refuses what a server would. */
static void test_openai_schema_refuses_bad_requests(void **state) {
    (void)state;
    static const struct {
        const char *body, *err_has;
    } bad[] = {
        {"{\"model\":\"m\",\"messages\":[]}", "request.messages: has 0 items, fewer than 1"},
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "missing required property \"model\""},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "request.messages[0].role"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
         "missing required property \"tool_call_id\""},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"always\"}",
         "request.tool_choice"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}",
         "request.temperature: 3 is above the maximum 2"},
        {"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\"}]}",
         "request.tools[0]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *j = cJSON_Parse(bad[i].body);
        char err[1024] = "";
        assert_int_equal(bf_json_schema_check(openai, NULL, j, "request", err, sizeof err), -1);
        if (!strstr(err, bad[i].err_has)) fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].body, err, bad[i].err_has);
        cJSON_Delete(j);
    }
}

static void test_requests(void **state) {
    (void)state;
    char err[256];
    brain_llm_opts o = {.model = "m1", .mode = BRAIN_LLM_MODE_TOOLS, .temperature = -1, .max_tokens = 0};
    char *b = brain_llm_request_new(&o, tools, "sys \"quoted\"", "user\nprompt", err, sizeof err);
    check_request("tools mode", b);
    cJSON *j = cJSON_Parse(b);
    assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "m1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tools")), 9);
    assert_string_equal(cJSON_GetObjectItem(j, "tool_choice")->valuestring, "required");
    assert_null(cJSON_GetObjectItem(j, "temperature"));
    assert_null(cJSON_GetObjectItem(j, "max_tokens"));
    assert_null(cJSON_GetObjectItem(j, "response_format"));
    cJSON *msgs = cJSON_GetObjectItem(j, "messages");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 0), "content")->valuestring, "sys \"quoted\"");
    cJSON_Delete(j);
    free(b);
    o = (brain_llm_opts){.model = "m1", .mode = BRAIN_LLM_MODE_JSON, .temperature = 0.2, .max_tokens = 512,
                         .max_tokens_field = "max_completion_tokens"};
    b = brain_llm_request_new(&o, tools, "s", "u", err, sizeof err);
    check_request("json mode", b);
    j = cJSON_Parse(b);
    assert_null(cJSON_GetObjectItem(j, "tools"));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "response_format"), "type")->valuestring, "json_object");
    assert_int_equal(cJSON_GetObjectItem(j, "max_completion_tokens")->valueint, 512);
    assert_true(cJSON_GetObjectItem(j, "temperature")->valuedouble == 0.2);
    cJSON_Delete(j);
    free(b);
    o.max_tokens_field = NULL;
    b = brain_llm_request_new(&o, tools, "s", "u", err, sizeof err);
    assert_non_null(strstr(b, "\"max_tokens\":512"));
    free(b);
    brain_llm_mode m;
    assert_int_equal(brain_llm_mode_parse("json", &m), 0);
    assert_int_equal(m, BRAIN_LLM_MODE_JSON);
    assert_int_equal(brain_llm_mode_parse("xml", &m), -1);
    assert_null(brain_llm_repair_request_new("{\"messages\":[]}", &(brain_llm_verdict){0}, err, sizeof err));
    assert_non_null(strstr(err, "nothing to repair"));
    static const char usage[] = "{\"usage\":{\"prompt_tokens\":77}}";
    assert_int_equal(brain_llm_prompt_tokens(usage, sizeof usage - 1), 77);
    assert_int_equal(brain_llm_prompt_tokens("{}", 2), 0);
    static const char both[] = "{\"usage\":{\"prompt_tokens\":77,\"completion_tokens\":42}}";
    assert_int_equal(brain_llm_completion_tokens(both, sizeof both - 1), 42);
}

/* A degraded packet cannot check scene ids or the project's images, and does not refuse them. */
static void test_degraded(void **state) {
    (void)state;
    brain_context ctx = {.degraded = true};
    brain_tool_env env = {.ctx = &ctx, .scenes_known = false};
    call c[] = {{"editScene", "{\"scene_id\":\"s9\",\"instruction\":\"x\",\"summary\":\"x\"}"}};
    char *body = completion(NULL, NULL, c, 1, NULL);
    brain_answer a;
    brain_llm_verdict v;
    assert_int_equal(brain_llm_classify(body, strlen(body), BRAIN_LLM_MODE_TOOLS, tools, &env, &a, &v),
                     BRAIN_LLM_VERDICT_OK);
    assert_string_equal(a.target_scene, "s9");
    brain_answer_clear(&a);
    brain_llm_verdict_clear(&v);
    free(body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_repair_answers_every_call),
        cmocka_unit_test(test_openai_schema_refuses_bad_requests),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_degraded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
