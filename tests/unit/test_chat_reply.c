/* bf_chat_reply_parse: the assistant turn of a chat completion (content, refusal, tool calls,
 * finish_reason, usage) from well-formed and broken bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bf_chat.h"

static int parse(const char *body, bf_chat_reply *r, char *err, size_t errlen) {
    return bf_chat_reply_parse(body, strlen(body), r, err, errlen);
}

static void test_tool_calls(void **state) {
    (void)state;
    static const char body[] =
        "{\"choices\":[{\"index\":0,\"finish_reason\":\"tool_calls\",\"message\":{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":"
        "\"editScene\",\"arguments\":\"{\\\"scene_id\\\":\\\"s1\\\"}\"}},{\"type\":\"function\",\"function\":"
        "{\"name\":\"deleteScene\",\"arguments\":{\"scene_id\":\"s2\"}}}]}}],"
        "\"usage\":{\"prompt_tokens\":812,\"completion_tokens\":40}}";
    bf_chat_reply r;
    char err[256];
    assert_int_equal(parse(body, &r, err, sizeof err), 0);
    assert_null(r.content);
    assert_null(r.refusal);
    assert_string_equal(r.finish_reason, "tool_calls");
    assert_int_equal(r.n_calls, 2);
    assert_string_equal(r.calls[0].id, "call_a");
    assert_string_equal(r.calls[0].name, "editScene");
    assert_string_equal(r.calls[0].arguments, "{\"scene_id\":\"s1\"}");
    assert_string_equal(r.calls[1].id, "");
    /* An object instead of the string the API defines is printed, not lost. */
    assert_string_equal(r.calls[1].arguments, "{\"scene_id\":\"s2\"}");
    assert_int_equal(r.prompt_tokens, 812);
    assert_int_equal(r.completion_tokens, 40);
    bf_chat_reply_free(&r);
}

static void test_refusal_content_and_missing_parts(void **state) {
    (void)state;
    bf_chat_reply r;
    char err[256];
    assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":\"hi\",\"refusal\":\"no\"},\"finish_reason\":"
                           "\"length\"}]}",
                           &r, err, sizeof err),
                     0);
    assert_string_equal(r.content, "hi");
    assert_string_equal(r.refusal, "no");
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.n_calls, 0);
    assert_int_equal(r.prompt_tokens, -1);
    bf_chat_reply_free(&r);
    /* A name that is not a string, no arguments at all. */
    assert_int_equal(parse("{\"choices\":[{\"message\":{\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":7}}]}}]}",
                           &r, err, sizeof err),
                     0);
    assert_null(r.content);
    assert_int_equal(r.n_calls, 1);
    assert_null(r.calls[0].name);
    assert_null(r.calls[0].arguments);
    bf_chat_reply_free(&r);
}

static void test_broken_bodies(void **state) {
    (void)state;
    static const struct {
        const char *body, *err;
    } cases[] = {
        {"<html>502</html>", "not a JSON object"},
        {"[]", "not a JSON object"},
        {"{\"choices\":[]}", "no choices"},
        {"{\"error\":{\"message\":\"x\"}}", "no choices"},
        {"{\"choices\":[{\"message\":\"text\"}]}", "no message"},
        {"{\"choices\":[1]}", "no message"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bf_chat_reply r;
        char err[256] = "";
        assert_int_equal(parse(cases[i].body, &r, err, sizeof err), -1);
        if (!strstr(err, cases[i].err)) fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].body, err, cases[i].err);
        assert_null(r.message);
        assert_int_equal(r.n_calls, 0);
    }
}

static void test_many_calls_are_bounded(void **state) {
    (void)state;
    char body[8192] = "{\"choices\":[{\"message\":{\"tool_calls\":[";
    for (int i = 0; i < 40; i++)
        strncat(body, i ? ",{\"function\":{\"name\":\"addScene\",\"arguments\":\"{}\"}}"
                        : "{\"function\":{\"name\":\"addScene\",\"arguments\":\"{}\"}}",
                sizeof body - strlen(body) - 1);
    strncat(body, "]}}]}", sizeof body - strlen(body) - 1);
    bf_chat_reply r;
    char err[256];
    assert_int_equal(parse(body, &r, err, sizeof err), 0);
    assert_int_equal(r.n_calls, BF_CHAT_MAX_TOOL_CALLS);
    assert_int_equal(r.n_calls_seen, 40);
    bf_chat_reply_free(&r);
    assert_int_equal(bf_chat_usage_tokens("{\"usage\":{\"prompt_tokens\":5}}", 29, "prompt_tokens"), 5);
    assert_int_equal(bf_chat_usage_tokens("{\"usage\":{\"prompt_tokens\":-5}}", 30, "prompt_tokens"), -1);
    assert_int_equal(bf_chat_usage_tokens("nope", 4, "prompt_tokens"), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tool_calls),
        cmocka_unit_test(test_refusal_content_and_missing_parts),
        cmocka_unit_test(test_broken_bodies),
        cmocka_unit_test(test_many_calls_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
