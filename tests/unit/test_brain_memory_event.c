/* A request decided twice yields the same memoryUpdates event id, so memory-writer's ledger
 * applies its memory once (found by the SIGKILL fault test: evidence counted twice); a decision
 * writes its turn and where the conversation stands, never a scene relationship. */
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

/* A decision writes where the conversation stands, numbered by its turn, and no scene
 * relationship: those come from what the editor applied, which memory-writer derives. */
static void test_turn_and_conversation_state(void **state) {
    (void)state;
    brain_step steps[] = {{.tool = BRAIN_TOOL_CHANGE_DURATION, .target_scene = "s2", .summary = "b"}};
    brain_answer a = {.tool = BRAIN_TOOL_EDIT_SCENE, .target_scene = "s1", .summary = "a", .then = steps, .n_then = 1};
    brain_conversation conv = {.turn_count = 4};
    snprintf(conv.current_scene_id, sizeof conv.current_scene_id, "s1");
    snprintf(conv.last_tool, sizeof conv.last_tool, "editScene");
    brain_memory_input in = {.project_id = "p1", .request_id = "01a22593-e37b-7c32-9578-88adbc3c865e",
                             .request_produced_ms = 1700000001000, .conversation_id = "c7",
                             .prompt = "edit, then time it", .answer = &a, .turn = 4, .conversation = &conv,
                             .conversation_expires_ms = 1700000009000};
    char err[256] = "";
    char *json = brain_memory_encode(&in, 1700000002000, err, sizeof err);
    if (!json) fail_msg("encode: %s", err);
    bf_msg_memory_update m;
    if (bf_msg_memory_update_decode(json, strlen(json), &m, err, sizeof err) != 0) fail_msg("decode: %s", err);
    assert_int_equal(m.n_messages, 2);
    assert_int_equal(m.messages[0].turn, 4);
    assert_int_equal(m.messages[1].turn, 4);
    assert_int_equal(m.n_items, 1);
    assert_int_equal(m.items[0].memory_type, BF_MEMORY_CONVERSATION_CONTEXT);
    assert_string_equal(m.items[0].key, "conversation:c7");
    assert_int_equal(m.items[0].expires_at_ms, 1700000009000);
    assert_non_null(strstr(m.items[0].value, "\"turn_count\":4"));
    assert_non_null(strstr(m.items[0].value, "\"tool\":\"editScene\""));
    assert_null(strstr(json, "scene_relationship"));
    bf_msg_memory_update_free(&m);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_same_request_same_event),
                                       cmocka_unit_test(test_turn_and_conversation_state)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
