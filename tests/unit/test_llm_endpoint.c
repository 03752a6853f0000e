/* The one URL rule for the LLM and the vision model (bf_llm_chat_url), as users write base URLs,
 * and the statuses worth a retry (bf_llm_status_retryable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bf_llm_endpoint.h"

static void test_chat_url(void **state) {
    (void)state;
    static const struct {
        const char *base, *want;
    } cases[] = {
        /* The usual way: the API base with its version. Once /v1/v1 (a 404, never retried). */
        {"https://api.openai.com/v1", "https://api.openai.com/v1/chat/completions"},
        {"https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions"},
        {"http://vllm:8000/v1", "http://vllm:8000/v1/chat/completions"},
        /* A bare host: the OpenAI-compatible servers' default path. */
        {"http://127.0.0.1:11434", "http://127.0.0.1:11434/v1/chat/completions"},
        {"http://127.0.0.1:11434/", "http://127.0.0.1:11434/v1/chat/completions"},
        {"http://llama", "http://llama/v1/chat/completions"},
        /* A full endpoint is used as is. */
        {"https://api.openai.com/v1/chat/completions", "https://api.openai.com/v1/chat/completions"},
        {"https://api.openai.com/v1/chat/completions/", "https://api.openai.com/v1/chat/completions"},
        /* Other bases keep their path, as the SDKs read base_url. */
        {"https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1/chat/completions"},
        {"https://generativelanguage.googleapis.com/v1beta/openai/",
         "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions"},
        /* A query string stays last. */
        {"https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21",
         "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=2024-10-21"},
        {"https://x.openai.azure.com/openai/deployments/d?api-version=1",
         "https://x.openai.azure.com/openai/deployments/d/chat/completions?api-version=1"},
        {"http://h:1?k=v", "http://h:1/v1/chat/completions?k=v"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[512];
        assert_int_equal(bf_llm_chat_url(cases[i].base, out, sizeof out), 0);
        if (strcmp(out, cases[i].want) != 0) fail_msg("%s -> %s, expected %s", cases[i].base, out, cases[i].want);
    }
    char small[16];
    assert_int_equal(bf_llm_chat_url("https://api.openai.com/v1", small, sizeof small), -1);
    assert_string_equal(small, "");
    assert_int_equal(bf_llm_chat_url("", small, sizeof small), -1);
}

static void test_retryable(void **state) {
    (void)state;
    static const long yes[] = {408, 409, 429, 500, 502, 503, 504, 599};
    static const long no[] = {0, 200, 301, 400, 401, 403, 404, 405, 410, 413, 422, 499, 600};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!bf_llm_status_retryable(yes[i])) fail_msg("%ld should be retried", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (bf_llm_status_retryable(no[i])) fail_msg("%ld should not be retried", no[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_url),
        cmocka_unit_test(test_retryable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
