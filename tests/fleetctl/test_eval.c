/* `fleetctl eval`: the rules over the labelled set pass --min-accuracy 90 with no destructive
 * miss, the rules in fallback do not (they ask before deleting), bad usage exits 2, and --llm
 * decides through a model (fake_openai, a fifth of its answers broken) by the worker's own flow:
 * every request the fake received was a valid chat request, repairs and fallbacks show as paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bf_fake_server.h"
#include "fleet_cmds.h"

static volatile sig_atomic_t no_stop;

/* Runs `fleetctl eval args...`; *out gets stdout (caller frees). */
static int run(char **out, const char *const *args) {
    char *argv[16] = {"eval"};
    int argc = 1;
    for (; args[argc - 1]; argc++) argv[argc] = (char *)args[argc - 1];
    size_t len;
    fleet_ctx c = {.timeout_ms = 1000, .stop = &no_stop, .out = open_memstream(out, &len), .err = stderr};
    int rc = fleet_cmd_eval(&c, argc, argv);
    fclose(c.out);
    return rc;
}

static const char *set_path(void) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/tests/eval/decisions.json", getenv("BF_SOURCE_DIR"));
    return path;
}

static void test_rules(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(run(&out, (const char *[]){"--set", set_path(), "--min-accuracy", "90", NULL}), 0);
    assert_non_null(strstr(out, "decider: rules, 99 requests"));
    assert_non_null(strstr(out, "destructive misses: 0"));
    assert_non_null(strstr(out, "deleteScene"));
    free(out);
    /* In fallback the deletions become questions: below 90 %, still no destructive miss. */
    assert_int_equal(run(&out, (const char *[]){"--set", set_path(), "--fallback", "--min-accuracy", "90", NULL}), 1);
    assert_non_null(strstr(out, "deleteScene              0/9 "));
    assert_non_null(strstr(out, "destructive misses: 0"));
    free(out);
}

static void test_usage(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(run(&out, (const char *[]){"--min-accuracy", "120", NULL}), 2);
    free(out);
    assert_int_equal(run(&out, (const char *[]){"--bogus", NULL}), 2);
    free(out);
    assert_int_equal(run(&out, (const char *[]){"--llm", "--fallback", NULL}), 2);
    free(out);
    unsetenv("BRAINFLEET_LLM_URL");
    assert_int_equal(run(&out, (const char *[]){"--set", set_path(), "--llm", NULL}), 2);
    free(out);
    assert_int_equal(run(&out, (const char *[]){"--set", "/nonexistent.json", NULL}), 1);
    free(out);
    assert_int_equal(run(&out, (const char *[]){"--help", NULL}), 0);
    assert_non_null(strstr(out, "usage: fleetctl eval"));
    free(out);
}

static void test_llm_through_the_fake(void **state) {
    (void)state;
    bf_fake_server fs;
    char err[256];
    const char *args[] = {"--answer-mix", "unknown-scene=0.1,length=0.05,refusal=0.05", "--seed", "5", NULL};
    if (bf_fake_server_start(&fs, args, err, sizeof err) != 0) fail_msg("fake_openai: %s", err);
    char url[128];
    snprintf(url, sizeof url, "%s/v1/", fs.url); /* written the usual way, trailing slash and all */
    setenv("BRAINFLEET_LLM_URL", url, 1);
    setenv("BRAINFLEET_LLM_MODEL", "fake-model", 1);
    setenv("BRAINFLEET_LLM_RETRIES", "0", 1);
    char *out = NULL;
    int rc = run(&out, (const char *[]){"--set", set_path(), "--llm", NULL});
    int recorded = bf_fake_server_recorded_count(&fs);
    bf_fake_server_stop(&fs);
    print_message("%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "decider: fake-model at "));
    assert_non_null(strstr(out, "/v1/chat/completions (tools mode)"));
    /* A fifth broken: some repaired; none refused by the fake's OpenAPI check (llm_failed). */
    assert_non_null(strstr(out, "llm_repaired"));
    assert_null(strstr(out, "fallback:llm_failed"));
    assert_null(strstr(out, "fallback:llm_unavailable"));
    assert_non_null(strstr(out, "destructive misses: 0"));
    assert_true(recorded > 99 && recorded < 2 * 99);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_usage),
        cmocka_unit_test(test_llm_through_the_fake),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
