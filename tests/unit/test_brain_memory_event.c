/* A request decided twice yields the same memoryUpdates event id, so memory-writer's ledger
 * applies its memory once (found by the SIGKILL fault test: evidence counted twice); a workflow
 * teaches a relationship for each scene it acts on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_memory_update.h"
#include "brain_memory.h"

static void event_id_of(const char *request_id, int64_t now_ms, char out[BF_UUID_LEN + 1]) {
    brain_answer a = {.tool = BRAIN_TOOL_ADD_SCENE, .summary = "add a scene"};
    brain_memory_input in = {.project_id = "p1", .request_id = request_id, .request_produced_ms = 1700000000000,
                             .prompt = "I prefer dark colours. Add a scene.", .answer = &a};
    char err[256] = "";
    char *json = brain_memory_encode(&in, now_ms, err, sizeof err);
    if (!json) fail_msg("encode: %s", err);
    bf_msg_memory_update m;
    if (bf_msg_memory_update_decode(json, strlen(json), &m, err, sizeof err) != 0) fail_msg("decode: %s", err);
    snprintf(out, BF_UUID_LEN + 1, "%s", m.env.event_id);
    bf_msg_memory_update_free(&m);
    free(json);
}

static void test_same_request_same_event(void **state) {
    (void)state;
    char a[BF_UUID_LEN + 1], b[BF_UUID_LEN + 1], c[BF_UUID_LEN + 1];
    event_id_of("01a22593-e37b-7c32-9578-88adbc3c865e", 1700000001000, a);
    event_id_of("01a22593-e37b-7c32-9578-88adbc3c865e", 1700000009000, b); /* decided again, later */
    event_id_of("01a22593-e37b-7c32-9578-88adbc3c865f", 1700000001000, c);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_true(bf_uuid_v7_valid(a));
}

/* A workflow teaches one scene relationship per scene, with the last tool applied to it. */
static void test_workflow_relationships(void **state) {
    (void)state;
    brain_step steps[] = {{.tool = BRAIN_TOOL_CHANGE_DURATION, .target_scene = "s2", .summary = "b"},
                          {.tool = BRAIN_TOOL_CHANGE_DURATION, .target_scene = "s1", .summary = "c"}};
    brain_answer a = {.tool = BRAIN_TOOL_EDIT_SCENE, .target_scene = "s1", .summary = "a", .then = steps, .n_then = 2};
    brain_memory_input in = {.project_id = "p1", .request_id = "01a22593-e37b-7c32-9578-88adbc3c865e",
                             .request_produced_ms = 1700000001000, .prompt = "edit, then time both", .answer = &a};
    char err[256] = "";
    char *json = brain_memory_encode(&in, 1700000002000, err, sizeof err);
    if (!json) fail_msg("encode: %s", err);
    bf_msg_memory_update m;
    if (bf_msg_memory_update_decode(json, strlen(json), &m, err, sizeof err) != 0) fail_msg("decode: %s", err);
    assert_int_equal(m.n_items, 2);
    assert_string_equal(m.items[0].key, "scene:s1");
    assert_non_null(strstr(m.items[0].value, "\"last_tool\":\"changeDuration\""));
    assert_string_equal(m.items[1].key, "scene:s2");
    bf_msg_memory_update_free(&m);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_same_request_same_event),
                                       cmocka_unit_test(test_workflow_relationships)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
