/* The decision encoder: what the brain publishes must always pass the brainDecisions contract. */
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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_many_context_images_still_encode)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
