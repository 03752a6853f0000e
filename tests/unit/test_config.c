/* Config table parsing: every class of bad value is rejected with a message naming the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_common_config.h"
#include "bf_config.h"

typedef struct {
    long long port, timeout, size;
    bool flag;
    double ratio;
    char name[BF_CFG_STR_MAX], mode[BF_CFG_STR_MAX], url[BF_CFG_STR_MAX], secret[BF_CFG_STR_MAX];
} test_cfg;

#define F(f) offsetof(test_cfg, f)
static const bf_cfg_var vars[] = {
    {"PORT", BF_CFG_INT, F(port), "8080", 1, 65535, NULL, 0, "port"},
    {"TIMEOUT", BF_CFG_MS, F(timeout), "10s", 0, 60000, NULL, 0, "timeout"},
    {"SIZE", BF_CFG_BYTES, F(size), "1M", 0, 1 << 30, NULL, 0, "size"},
    {"FLAG", BF_CFG_BOOL, F(flag), "false", 1, 0, NULL, 0, "flag"},
    {"RATIO", BF_CFG_DOUBLE, F(ratio), "0.5", 0, 1, NULL, 0, "ratio"},
    {"NAME", BF_CFG_STRING, F(name), "worker", 1, 0, NULL, 0, "name"},
    {"MODE", BF_CFG_ENUM, F(mode), "fast", 1, 0, "fast|safe", 0, "mode"},
    {"URL", BF_CFG_URL, F(url), "", 1, 0, NULL, 0, "url"},
    {"SECRET", BF_CFG_STRING, F(secret), NULL, 1, 0, NULL, BF_CFG_SECRET, "secret"},
};
#define NVARS (sizeof vars / sizeof vars[0])

/* A fake environment: NULL-terminated "NAME", "value" pairs. */
static const char *fake_getenv(const char *name, void *ctx) {
    const char *const *env = ctx;
    for (size_t i = 0; env && env[i]; i += 2)
        if (strcmp(env[i], name) == 0) return env[i + 1];
    return NULL;
}

static int load(const char *const *env, test_cfg *out, char *err) {
    memset(out, 0, sizeof *out);
    return bf_config_load(vars, NVARS, out, fake_getenv, (void *)env, err, 512);
}

static void test_defaults(void **state) {
    (void)state;
    test_cfg c;
    char err[512] = "";
    assert_int_equal(load(NULL, &c, err), 0);
    assert_int_equal(c.port, 8080);
    assert_int_equal(c.timeout, 10000);
    assert_int_equal(c.size, 1 << 20);
    assert_false(c.flag);
    assert_true(c.ratio > 0.49 && c.ratio < 0.51);
    assert_string_equal(c.name, "worker");
    assert_string_equal(c.mode, "fast");
    assert_string_equal(c.url, "");
}

static void test_good_values(void **state) {
    (void)state;
    const char *env[] = {"BRAINFLEET_PORT", "9", "BRAINFLEET_TIMEOUT", "250ms", "BRAINFLEET_SIZE", "64k",
                         "BRAINFLEET_FLAG", "yes", "BRAINFLEET_RATIO", "1", "BRAINFLEET_MODE", "safe",
                         "BRAINFLEET_URL", "https://llm.example/v1", NULL};
    test_cfg c;
    char err[512] = "";
    assert_int_equal(load(env, &c, err), 0);
    assert_int_equal(c.port, 9);
    assert_int_equal(c.timeout, 250);
    assert_int_equal(c.size, 65536);
    assert_true(c.flag);
    assert_string_equal(c.mode, "safe");
    assert_string_equal(c.url, "https://llm.example/v1");
}

/* Each bad value names its variable and says what is wrong. */
static void expect_bad(const char *var, const char *value, const char *fragment) {
    const char *env[] = {var, value, NULL};
    test_cfg c;
    char err[512] = "";
    assert_int_equal(load(env, &c, err), -1);
    if (!strstr(err, var) || !strstr(err, fragment)) fail_msg("for %s=%s got error '%s'", var, value, err);
}

static void test_each_bad_class(void **state) {
    (void)state;
    expect_bad("BRAINFLEET_PORT", "abc", "not an integer");
    expect_bad("BRAINFLEET_PORT", "0", "below the minimum");
    expect_bad("BRAINFLEET_PORT", "70000", "above the maximum");
    expect_bad("BRAINFLEET_PORT", "99999999999999999999999", "not an integer");
    expect_bad("BRAINFLEET_TIMEOUT", "10 parsecs", "not a duration");
    expect_bad("BRAINFLEET_TIMEOUT", "-5s", "not a duration");
    expect_bad("BRAINFLEET_TIMEOUT", "2m", "above the maximum");
    expect_bad("BRAINFLEET_SIZE", "12Q", "not a size");
    expect_bad("BRAINFLEET_SIZE", "2G", "above the maximum");
    expect_bad("BRAINFLEET_FLAG", "maybe", "not a boolean");
    expect_bad("BRAINFLEET_RATIO", "1.5", "above the maximum");
    expect_bad("BRAINFLEET_RATIO", "nan", "not a number");
    expect_bad("BRAINFLEET_RATIO", "0.5x", "not a number");
    expect_bad("BRAINFLEET_MODE", "turbo", "not one of fast|safe");
    expect_bad("BRAINFLEET_URL", "ftp://x", "not an http");
    expect_bad("BRAINFLEET_URL", "http://", "has no host");
    char big[BF_CFG_STR_MAX + 10];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    expect_bad("BRAINFLEET_NAME", big, "bytes long");
}

static void test_required(void **state) {
    (void)state;
    static const bf_cfg_var req[] = {{"MUST", BF_CFG_STRING, 0, NULL, 1, 0, NULL, BF_CFG_REQUIRED, "needed"}};
    char out[BF_CFG_STR_MAX], err[512] = "";
    assert_int_equal(bf_config_load(req, 1, out, fake_getenv, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "BRAINFLEET_MUST: required"));
}

static void test_durations(void **state) {
    (void)state;
    /* A bare number has no unit: "20" was read as 20 ms where the operator meant 20 s. */
    assert_int_equal(bf_parse_duration_ms("1500"), -1);
    assert_int_equal(bf_parse_duration_ms("20"), -1);
    assert_int_equal(bf_parse_duration_ms("0"), 0);
    assert_int_equal(bf_parse_duration_ms("1500ms"), 1500);
    assert_int_equal(bf_parse_duration_ms("2h"), 7200000);
    assert_int_equal(bf_parse_duration_ms("30d"), 30LL * 86400000);
    assert_int_equal(bf_parse_duration_ms("1.5s"), -1);
    assert_int_equal(bf_parse_duration_ms("s"), -1);
    assert_int_equal(bf_parse_duration_ms("99999999999999999d"), -1);
}

static void test_bare_duration_names_the_unit(void **state) {
    (void)state;
    expect_bad("BRAINFLEET_TIMEOUT", "20", "with a unit");
}

/* --help and errors show bounds as written in the environment, never as 1.07374e+09. */
static void test_help_numbers_are_human(void **state) {
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    const bf_cfg_var *tables[] = {vars};
    size_t ns[] = {NVARS};
    bf_config_print_help(f, "usage", tables, ns, 1);
    fclose(f);
    assert_non_null(strstr(text, "BRAINFLEET_TIMEOUT (duration, default: 10s; 0..1m)"));
    assert_non_null(strstr(text, "BRAINFLEET_SIZE (size, default: 1M; 0..1G)"));
    assert_null(strstr(text, "e+"));
    free(text);
    char buf[32];
    bf_config_format_duration(3153600000000LL, buf, sizeof buf);
    assert_string_equal(buf, "36500d");
    bf_config_format_duration(1500, buf, sizeof buf);
    assert_string_equal(buf, "1500ms");
    bf_config_format_bytes(1536, buf, sizeof buf);
    assert_string_equal(buf, "1536");
    bf_config_format_bytes(64 << 20, buf, sizeof buf);
    assert_string_equal(buf, "64M");
    expect_bad("BRAINFLEET_SIZE", "2G", "above the maximum 1G");
}

/* A malformed DSN is a configuration error (libpq's own parser decides), an absent one is not. */
static void test_dsn_syntax(void **state) {
    (void)state;
    char err[512] = "";
    assert_int_equal(bf_config_check_dsn("", err, sizeof err), 0);
    assert_int_equal(bf_config_check_dsn("host=db port=5432 dbname=x sslmode=require", err, sizeof err), 0);
    assert_int_equal(bf_config_check_dsn("postgresql://u:secret@db:5432/x?sslmode=require", err, sizeof err), 0);
    assert_int_equal(bf_config_check_dsn("hots=x", err, sizeof err), -1);
    assert_non_null(strstr(err, "BRAINFLEET_PG_DSN"));
    assert_non_null(strstr(err, "hots"));
    assert_int_equal(bf_config_check_dsn("host=db password='s3cr3t", err, sizeof err), -1);
    assert_null(strstr(err, "s3cr3t"));
    assert_int_equal(bf_config_check_dsn("postgresql://db/x?sslmod=require", err, sizeof err), -1);
}

/* The common table itself loads with its defaults and rejects a bad port. */
static void test_common_table(void **state) {
    (void)state;
    bf_common_cfg c;
    char err[512] = "";
    assert_int_equal(bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &c, fake_getenv, NULL, err, sizeof err), 0);
    assert_string_equal(c.kafka_brokers, "127.0.0.1:9092");
    assert_int_equal(c.max_in_flight, 256);
    const char *env[] = {"BRAINFLEET_LOG_LEVEL", "loud", NULL};
    assert_int_equal(bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &c, fake_getenv, (void *)env, err, sizeof err), -1);
    assert_non_null(strstr(err, "BRAINFLEET_LOG_LEVEL"));
}

/* Help never prints a secret's value, only defaults; markdown lists every variable. */
static void test_help_and_markdown(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const bf_cfg_var *tables[] = {vars};
    size_t ns[] = {NVARS};
    bf_config_print_markdown(f, "test", tables, ns, 1);
    fclose(f);
    for (size_t i = 0; i < NVARS; i++) {
        char name[64];
        snprintf(name, sizeof name, "`BRAINFLEET_%s`", vars[i].name);
        assert_non_null(strstr(buf, name));
    }
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_good_values),
        cmocka_unit_test(test_each_bad_class), cmocka_unit_test(test_required),
        cmocka_unit_test(test_durations),     cmocka_unit_test(test_common_table),
        cmocka_unit_test(test_help_and_markdown),
        cmocka_unit_test(test_bare_duration_names_the_unit),
        cmocka_unit_test(test_help_numbers_are_human),
        cmocka_unit_test(test_dsn_syntax),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
