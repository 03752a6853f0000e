/* Log lines are single-line JSON with ts, level, worker, trace id and escaped text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_log.h"

static void test_format_fields(void **state) {
    (void)state;
    char buf[1024];
    const char *kv[] = {"topic", "brainRequests", "offset", "42", NULL};
    /* 2026-11-29T03:39:25.123Z */
    bf_log_format(buf, sizeof buf, 1795923565123LL, "brain-worker", BF_LOG_WARN,
                  "0af7651916cd43dd8448eb211c80319c", kv, "quote \" backslash \\ newline \n tab \t ctrl \x01");
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_null(strchr(buf, '\n'));
    assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "warn");
    assert_string_equal(cJSON_GetObjectItem(j, "worker")->valuestring, "brain-worker");
    assert_string_equal(cJSON_GetObjectItem(j, "trace_id")->valuestring, "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(cJSON_GetObjectItem(j, "topic")->valuestring, "brainRequests");
    assert_string_equal(cJSON_GetObjectItem(j, "offset")->valuestring, "42");
    assert_string_equal(cJSON_GetObjectItem(j, "msg")->valuestring,
                        "quote \" backslash \\ newline \n tab \t ctrl \x01");
    assert_string_equal(cJSON_GetObjectItem(j, "ts")->valuestring, "2026-11-29T03:39:25.123Z");
    cJSON_Delete(j);
}

static void test_no_trace_field_when_absent(void **state) {
    (void)state;
    char buf[512];
    bf_log_format(buf, sizeof buf, 0, "w", BF_LOG_INFO, NULL, NULL, "hello");
    assert_null(strstr(buf, "trace_id"));
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    cJSON_Delete(j);
}

/* A small buffer truncates but reports the needed size, like snprintf. */
static void test_truncation_reports_size(void **state) {
    (void)state;
    char small[16], big[512];
    size_t need = bf_log_format(small, sizeof small, 0, "w", BF_LOG_INFO, NULL, NULL, "a fairly long message");
    size_t got = bf_log_format(big, sizeof big, 0, "w", BF_LOG_INFO, NULL, NULL, "a fairly long message");
    assert_int_equal(need, got);
    assert_int_equal(strlen(small), sizeof small - 1);
}

static void test_level_filter_and_write(void **state) {
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    bf_log log;
    bf_log_init(&log, f, "memory-writer", BF_LOG_WARN);
    bf_log_info(&log, "hidden %d", 1);
    bf_log_error(&log, "shown %d", 2);
    fclose(f);
    assert_null(strstr(buf, "hidden"));
    assert_non_null(strstr(buf, "\"msg\":\"shown 2\""));
    assert_int_equal(bf_log_level_parse("debug"), BF_LOG_DEBUG);
    assert_int_equal(bf_log_level_parse("verbose"), -1);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_fields),
        cmocka_unit_test(test_no_trace_field_when_absent),
        cmocka_unit_test(test_truncation_reports_size),
        cmocka_unit_test(test_level_filter_and_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
