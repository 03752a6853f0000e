/* brain_flow, the way from a request to exactly one decision, driven through every transition
 * with the answers a server gives: offline rules, the prompt over budget, a valid answer, one
 * repair round that works, one that does not, a refusal, no response, an error status, a body
 * that is no completion. Every request handed out is valid by OpenAI's schema; every end encodes
 * into one brainDecisions message saying who decided and why; an outage never deletes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_schema.h"
#include "bf_msg_brain_decision.h"
#include "bf_test_openai.h"
#include "brain_flow.h"
#include "brain_outcome.h"

static brain_scene scenes[] = {{"s1", "Intro", 1, 3000, "", 0}, {"s2", "Logo reveal", 2, 4000, "", 0}};
static brain_context ctx = {.scenes = scenes, .n_scenes = 2};
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

static void valid_request(const char *body) {
    char err[1024];
    if (bf_test_openai_check_request(openai, body, err, sizeof err) != 0) fail_msg("not a valid chat request: %s", err);
}

static char *tool_answer(const char *name, const char *args) {
    cJSON *root = cJSON_CreateObject();
    cJSON *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "choices"), choice);
    cJSON *m = cJSON_AddObjectToObject(choice, "message");
    cJSON *tc = cJSON_CreateObject();
    cJSON_AddStringToObject(tc, "id", "call_1");
    cJSON_AddStringToObject(tc, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(tc, "function");
    cJSON_AddStringToObject(fn, "name", name);
    cJSON_AddStringToObject(fn, "arguments", args);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(m, "tool_calls"), tc);
    cJSON_AddStringToObject(m, "role", "assistant");
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", 812);
    cJSON_AddNumberToObject(u, "completion_tokens", 40);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static const char refusal[] =
    "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":\"I can't.\"}}]}";

static brain_flow_input input(const char *prompt, const char *selected, const brain_llm_opts *o) {
    return (brain_flow_input){.llm = o != NULL, .tools = tools, .opts = o, .token_budget = 120000,
                              .user_prompt = prompt, .selected_scene = selected, .ctx = &ctx};
}

/* Feeds answers[] in turn while the flow asks to send; returns the number of requests sent. */
static int drive(brain_flow *f, const brain_flow_input *in, const long *status, const char *const *answers,
                 const char *const *errs, int n) {
    char *body = NULL;
    brain_flow_step s = brain_flow_start(f, in, &body);
    int sent = 0;
    while (s == BRAIN_FLOW_SEND) {
        assert_non_null(body);
        valid_request(body);
        if (sent >= n) fail_msg("the flow sent more requests than there are answers");
        free(body);
        const char *a = answers[sent];
        s = brain_flow_answer(f, status[sent], a, a ? strlen(a) : 0, errs ? errs[sent] : NULL, &body);
        sent++;
    }
    assert_int_equal(s, BRAIN_FLOW_DONE);
    assert_null(body);
    return sent;
}

/* The end of a flow as a published decision. */
static void published(const brain_flow *f, const char *model, bf_msg_brain_decision *d) {
    char rid[BF_UUID_LEN + 1], err[512];
    bf_uuid_v7(rid);
    brain_outcome o = {.project_id = "p", .request_id = rid, .answer = &f->answer,
                       .model = f->decider == BF_DECIDER_LLM ? model : "rule-based", .decider = f->decider,
                       .reason = f->reason, .repair_round = f->repair_round, .prompt_tokens = f->prompt_tokens,
                       .completion_tokens = f->completion_tokens, .budget_tokens = 120000,
                       .truncated = f->prompt.truncated, .error_code = f->error_code,
                       .error_message = f->error_message};
    char *json = brain_outcome_decision_encode(&o, 1700000000000, err, sizeof err);
    if (!json) fail_msg("not encodable: %s", err);
    assert_int_equal(bf_msg_brain_decision_decode(json, strlen(json), d, err, sizeof err), 0);
    free(json);
}

static const brain_llm_opts tools_mode = {.model = "m1", .mode = BRAIN_LLM_MODE_TOOLS, .temperature = 0.2,
                                          .max_tokens = 1024};

static void test_offline_and_over_budget(void **state) {
    (void)state;
    brain_flow f;
    brain_flow_input in = input("Delete this scene", "s2", NULL);
    assert_int_equal(drive(&f, &in, NULL, NULL, NULL, 0), 0);
    assert_int_equal(f.decider, BF_DECIDER_RULES);
    assert_int_equal(f.reason, BF_REASON_NO_LLM);
    assert_int_equal(f.answer.tool, BRAIN_TOOL_DELETE_SCENE); /* offline, an explicit request is done */
    assert_null(f.error_code);
    brain_flow_clear(&f);
    in = input("Delete this scene", "s2", &tools_mode);
    in.token_budget = 256;
    assert_int_equal(drive(&f, &in, NULL, NULL, NULL, 0), 0);
    assert_string_equal(f.error_code, "prompt_over_budget");
    assert_non_null(strstr(f.error_message, "prompt not sent: the prompt needs about"));
    assert_int_equal(f.reason, BF_REASON_PROMPT_OVER_BUDGET);
    assert_int_equal(f.answer.tool, BRAIN_TOOL_CLARIFY); /* in fallback: asks before deleting */
    bf_msg_brain_decision d;
    published(&f, "m1", &d);
    assert_string_equal(d.error.code, "prompt_over_budget");
    assert_int_equal(d.decided_by.reason, BF_REASON_PROMPT_OVER_BUDGET);
    bf_msg_brain_decision_free(&d);
    brain_flow_clear(&f);
}

static void test_answer_and_repair(void **state) {
    (void)state;
    char *good = tool_answer("editScene", "{\"scene_id\":\"s2\",\"instruction\":\"x\",\"summary\":\"Edit.\"}");
    char *bad = tool_answer("editScene", "{\"scene_id\":\"s9\",\"instruction\":\"x\",\"summary\":\"Edit.\"}");
    brain_flow f;
    brain_flow_input in = input("Make the logo pop", "s2", &tools_mode);
    long ok[] = {200, 200};
    const char *first_good[] = {good};
    assert_int_equal(drive(&f, &in, ok, first_good, NULL, 1), 1);
    assert_int_equal(f.decider, BF_DECIDER_LLM);
    assert_int_equal(f.reason, BF_REASON_LLM_ANSWER);
    assert_false(f.repair_round);
    assert_int_equal(f.prompt_tokens, 812); /* the server's count, not the estimate */
    brain_flow_clear(&f);

    const char *repaired[] = {bad, good};
    assert_int_equal(drive(&f, &in, ok, repaired, NULL, 2), 2);
    assert_int_equal(f.reason, BF_REASON_LLM_REPAIRED);
    assert_true(f.repair_round);
    assert_string_equal(f.repair_code, "invalid_arguments");
    assert_int_equal(f.prompt_tokens, 2 * 812);
    assert_int_equal(f.completion_tokens, 80);
    assert_null(f.error_code);
    bf_msg_brain_decision d;
    published(&f, "m1", &d);
    assert_int_equal(d.decided_by.decider, BF_DECIDER_LLM);
    assert_int_equal(d.decided_by.reason, BF_REASON_LLM_REPAIRED);
    assert_true(d.decided_by.repair_round);
    assert_string_equal(d.model, "m1");
    bf_msg_brain_decision_free(&d);
    brain_flow_clear(&f);

    /* Wrong twice: the rules, once, with the problem said. */
    const char *twice[] = {bad, bad};
    assert_int_equal(drive(&f, &in, ok, twice, NULL, 2), 2);
    assert_int_equal(f.decider, BF_DECIDER_RULES);
    assert_string_equal(f.error_code, "llm_invalid_answer");
    assert_non_null(strstr(f.error_message, "(repair round)"));
    assert_non_null(strstr(f.error_message, "\"s9\" is not a scene of the storyboard"));
    assert_non_null(strstr(f.error_message, "decided by rules instead"));
    published(&f, "m1", &d);
    assert_int_equal(d.decided_by.reason, BF_REASON_LLM_INVALID_ANSWER);
    assert_true(d.decided_by.repair_round);
    assert_string_equal(d.model, "rule-based");
    bf_msg_brain_decision_free(&d);
    brain_flow_clear(&f);

    const char *refused[] = {refusal, refusal};
    assert_int_equal(drive(&f, &in, ok, refused, NULL, 2), 2);
    assert_string_equal(f.error_code, "llm_refused");
    assert_string_equal(f.repair_code, "refusal");
    brain_flow_clear(&f);
    free(good);
    free(bad);
}

static void test_failures_fall_back_safely(void **state) {
    (void)state;
    brain_flow f;
    /* An outage with "remove the logo" and "delete this scene": never a deletion. */
    static const char *const prompts[] = {"Remove the logo", "Delete this scene", "Make the intro 2 seconds"};
    for (size_t i = 0; i < 3; i++) {
        brain_flow_input in = input(prompts[i], "s2", &tools_mode);
        long none[] = {0};
        const char *nothing[] = {NULL};
        const char *timeout[] = {"timeout after 4 attempts"};
        assert_int_equal(drive(&f, &in, none, nothing, timeout, 1), 1);
        assert_string_equal(f.error_code, "llm_unavailable");
        if (brain_tool_destructive(f.answer.tool)) fail_msg("\"%s\": %s in an outage", prompts[i], brain_tool_name(f.answer.tool));
        brain_flow_clear(&f);
    }
    brain_flow_input in = input("Remove the logo", "s2", &tools_mode);
    long status[] = {400};
    const char *err400[] = {"{\"error\":{\"message\":\"Invalid value for 'tool_choice'\",\"type\":\"invalid_request_error\"}}"};
    assert_int_equal(drive(&f, &in, status, err400, NULL, 1), 1);
    assert_string_equal(f.error_code, "llm_failed");
    assert_non_null(strstr(f.error_message, "HTTP 400: Invalid value for 'tool_choice'"));
    assert_int_equal(f.answer.tool, BRAIN_TOOL_EDIT_SCENE);
    brain_flow_clear(&f);
    /* A 2xx whose transfer failed is no answer. */
    long ok[] = {200};
    const char *html[] = {"<html>captive portal</html>"};
    const char *typed[] = {"response Content-Type is \"text/html\", not JSON"};
    assert_int_equal(drive(&f, &in, ok, html, typed, 1), 1);
    assert_string_equal(f.error_code, "llm_failed");
    assert_non_null(strstr(f.error_message, "(HTTP 200: response Content-Type is \"text/html\""));
    brain_flow_clear(&f);
    /* Not a completion: no repair round (there is nothing the model said to repair). */
    assert_int_equal(drive(&f, &in, ok, html, NULL, 1), 1);
    assert_string_equal(f.error_code, "llm_invalid_answer");
    assert_false(f.repair_round);
    char path[64];
    brain_flow_path(&f, path, sizeof path);
    assert_string_equal(path, "fallback:llm_invalid_answer");
    brain_flow_clear(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_and_over_budget),
        cmocka_unit_test(test_answer_and_repair),
        cmocka_unit_test(test_failures_fall_back_safely),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
