/* The decision encoder: every answer a decider produced becomes exactly one decision that passes
 * the brainDecisions contract (text cleaned and cut, workflows bounded, an unencodable call turned
 * into a question), saying who decided and why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_brain_decision.h"
#include "bf_trace.h"
#include "brain_outcome.h"

/* Regression: a context with more image analyses (IMAGE_CONTEXT_LIMIT up to 1000) than a
 * decision may list made the decision unencodable, so nothing was published. */
static void test_many_context_images_still_encode(void **state) {
    (void)state;
    enum { N = 40 };
    char ids[N][BF_TRACE_ID_LEN + 1];
    const char *ptrs[N];
    for (int i = 0; i < N; i++) {
        bf_trace_id_new(ids[i]);
        ptrs[i] = ids[i];
    }
    brain_answer a = {.tool = BRAIN_TOOL_ADD_SCENE, .summary = "add a scene"};
    char rid[BF_UUID_LEN + 1];
    bf_uuid_v7(rid);
    brain_outcome o = {.project_id = "p1", .request_id = rid, .answer = &a, .model = "rule-based",
                       .budget_tokens = 1000, .image_trace_ids = ptrs, .n_image_trace_ids = N};
    char err[256] = "";
    char *json = brain_outcome_decision_encode(&o, 1700000000000, err, sizeof err);
    if (!json) fail_msg("not encodable: %s", err);
    bf_msg_brain_decision d;
    assert_int_equal(bf_msg_brain_decision_decode(json, strlen(json), &d, err, sizeof err), 0);
    assert_int_equal(d.image_trace_ids.n, BF_DECISION_IMAGES_MAX);
    assert_string_equal(d.image_trace_ids.v[0], ids[0]); /* the newest are kept */
    bf_msg_brain_decision_free(&d);
    free(json);
}

static brain_outcome base(const brain_answer *a, char *rid) {
    bf_uuid_v7(rid);
    return (brain_outcome){.project_id = "p1", .request_id = rid, .answer = a, .model = "gpt-x", .budget_tokens = 1000};
}

/* Encodes o and decodes it back (failing the test when either fails). */
static void roundtrip(const brain_outcome *o, bf_msg_brain_decision *d) {
    char err[512] = "";
    char *json = brain_outcome_decision_encode(o, 1700000000000, err, sizeof err);
    if (!json) fail_msg("not encodable: %s", err);
    if (bf_msg_brain_decision_decode(json, strlen(json), d, err, sizeof err) != 0) fail_msg("not decodable: %s", err);
    free(json);
}

static void test_text_is_cleaned_and_cut(void **state) {
    (void)state;
    /* 5000 bytes of two-byte characters with a control character, an escape and invalid bytes. */
    static char summary[5200];
    size_t n = 0;
    memcpy(summary + n, "bad\x01\x1b[31m\xff\xc3(", 12);
    n += 12;
    while (n < 5000) {
        memcpy(summary + n, "\xc3\xa9", 2);
        n += 2;
    }
    summary[n] = '\0';
    brain_answer a = {.tool = BRAIN_TOOL_CLARIFY, .summary = summary, .question = "Which\x07 one?\nTell me."};
    char rid[BF_UUID_LEN + 1];
    brain_outcome o = base(&a, rid);
    o.model = "model\nname";
    o.error_code = "llm_invalid_answer";
    o.error_message = summary;
    bf_msg_brain_decision d;
    roundtrip(&o, &d);
    assert_string_equal(d.question, "Which one?\nTell me.");
    assert_true(strlen(d.reasoning) <= BF_TEXT_MAX);
    assert_true(strlen(d.reasoning) > BF_TEXT_MAX - 8);
    assert_int_equal(strncmp(d.reasoning, "bad[31m(\xc3\xa9\xc3\xa9", 12), 0);
    assert_string_equal(d.reasoning + strlen(d.reasoning) - 3, "...");
    assert_string_equal(d.model, "modelname");
    assert_true(strlen(d.error.message) <= BF_TEXT_MAX);
    bf_msg_brain_decision_free(&d);
    /* A blank question still asks something. */
    a.question = "\x01 \n";
    roundtrip(&o, &d);
    assert_true(strlen(d.question) > 10);
    bf_msg_brain_decision_free(&d);
}

static void test_workflow_and_complexity(void **state) {
    (void)state;
    brain_step steps[20];
    for (size_t i = 0; i < 20; i++) steps[i] = (brain_step){.tool = BRAIN_TOOL_CHANGE_DURATION, .target_scene = "s1",
                                                             .summary = "step"};
    brain_answer a = {.tool = BRAIN_TOOL_EDIT_SCENE, .target_scene = "s2", .summary = "edit then time",
                      .edit_complexity = 1, .then = steps, .n_then = 2};
    char rid[BF_UUID_LEN + 1];
    brain_outcome o = base(&a, rid);
    bf_msg_brain_decision d;
    roundtrip(&o, &d);
    assert_int_equal(d.type, BF_DECISION_WORKFLOW);
    assert_int_equal(d.n_steps, 3);
    assert_int_equal(d.steps[0].tool, BF_TOOL_EDIT_SCENE);
    assert_int_equal(d.steps[0].edit_complexity, BF_EDIT_SURGICAL);
    assert_string_equal(d.steps[2].target_scene_id, "s1");
    assert_string_equal(d.reasoning, "edit then time");
    bf_msg_brain_decision_free(&d);
    a.n_then = 20; /* over the contract's 16: the first 16 */
    roundtrip(&o, &d);
    assert_int_equal(d.n_steps, BF_WORKFLOW_STEPS_MAX);
    bf_msg_brain_decision_free(&d);
}

static void test_unencodable_call_becomes_a_question(void **state) {
    (void)state;
    /* A target that is not an id (a degraded packet cannot check it)... */
    brain_answer a = {.tool = BRAIN_TOOL_EDIT_SCENE, .target_scene = "scene one!", .summary = "x"};
    char rid[BF_UUID_LEN + 1];
    brain_outcome o = base(&a, rid);
    bf_msg_brain_decision d;
    roundtrip(&o, &d);
    assert_int_equal(d.type, BF_DECISION_CLARIFICATION);
    assert_true(d.error.present);
    assert_string_equal(d.error.code, "decision_unencodable");
    assert_non_null(strstr(d.error.message, "target_scene_id"));
    bf_msg_brain_decision_free(&d);
    /* ...or an input over 64 KiB. */
    cJSON *big = cJSON_CreateObject();
    static char text[70000];
    memset(text, 'a', sizeof text - 1);
    cJSON_AddStringToObject(big, "instruction", text);
    brain_answer b = {.tool = BRAIN_TOOL_ADD_SCENE, .summary = "x", .params = big};
    o.answer = &b;
    roundtrip(&o, &d);
    assert_int_equal(d.type, BF_DECISION_CLARIFICATION);
    assert_string_equal(d.error.code, "decision_unencodable");
    bf_msg_brain_decision_free(&d);
    cJSON_Delete(big);
}

static void test_decided_by(void **state) {
    (void)state;
    brain_answer a = {.tool = BRAIN_TOOL_ADD_SCENE, .summary = "add"};
    char rid[BF_UUID_LEN + 1];
    brain_outcome o = base(&a, rid);
    static const struct {
        const char *model, *code;
        bool repair;
        bf_decider decider;
        bf_decided_reason reason;
    } derived[] = {
        {"gpt-x", NULL, false, BF_DECIDER_LLM, BF_REASON_LLM_ANSWER},
        {"gpt-x", NULL, true, BF_DECIDER_LLM, BF_REASON_LLM_REPAIRED},
        {"rule-based", NULL, false, BF_DECIDER_RULES, BF_REASON_NO_LLM},
        {"rule-based", "llm_failed", false, BF_DECIDER_RULES, BF_REASON_LLM_FAILED},
        {"rule-based", "llm_invalid_answer", true, BF_DECIDER_RULES, BF_REASON_LLM_INVALID_ANSWER},
        {"rule-based", "prompt_over_budget", false, BF_DECIDER_RULES, BF_REASON_PROMPT_OVER_BUDGET},
        {"rule-based", "something_new", false, BF_DECIDER_RULES, BF_REASON_LLM_UNAVAILABLE},
    };
    for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++) {
        o.model = derived[i].model;
        o.error_code = derived[i].code;
        o.error_message = derived[i].code;
        o.repair_round = derived[i].repair;
        bf_msg_brain_decision d;
        roundtrip(&o, &d);
        assert_int_equal(d.decided_by.decider, derived[i].decider);
        assert_int_equal(d.decided_by.reason, derived[i].reason);
        assert_int_equal(d.decided_by.repair_round, derived[i].repair);
        bf_msg_brain_decision_free(&d);
    }
    /* Given explicitly, it is used as is. */
    o.decider = BF_DECIDER_RULES;
    o.reason = BF_REASON_LLM_REFUSED;
    o.repair_round = true;
    o.error_code = "llm_refused";
    bf_msg_brain_decision d;
    roundtrip(&o, &d);
    assert_int_equal(d.decided_by.reason, BF_REASON_LLM_REFUSED);
    bf_msg_brain_decision_free(&d);
    /* A reason that does not belong to the decider is refused by the contract, not published. */
    o.decider = BF_DECIDER_LLM;
    char err[256];
    char *json = brain_outcome_decision_encode(&o, 1700000000000, err, sizeof err);
    assert_null(json);
    assert_non_null(strstr(err, "decided_by.reason"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_context_images_still_encode),
        cmocka_unit_test(test_text_is_cleaned_and_cut),
        cmocka_unit_test(test_workflow_and_complexity),
        cmocka_unit_test(test_unencodable_call_becomes_a_question),
        cmocka_unit_test(test_decided_by),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
