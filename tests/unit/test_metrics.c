/* Prometheus exposition: families grouped, histogram buckets cumulative, types fixed per name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_metrics.h"

static void test_render(void **state) {
    (void)state;
    bf_metrics *m = bf_metrics_new();
    bf_metric *a = bf_metrics_counter(m, "bf_in_total", "Messages in.", "topic=\"a\"");
    bf_metrics_gauge(m, "bf_lag", "Lag.", NULL);
    bf_metric *b = bf_metrics_counter(m, "bf_in_total", "Messages in.", "topic=\"b\"");
    assert_ptr_equal(a, bf_metrics_counter(m, "bf_in_total", "Messages in.", "topic=\"a\""));
    assert_null(bf_metrics_gauge(m, "bf_in_total", "wrong type", NULL));
    bf_metric_inc(a);
    bf_metric_add(b, 2.5);
    static const double bounds[] = {0.1, 1};
    bf_metric *h = bf_metrics_histogram(m, "bf_lat_seconds", "Latency.", NULL, bounds, 2);
    bf_metric_observe(h, 0.05);
    bf_metric_observe(h, 0.5);
    bf_metric_observe(h, 5);
    bf_metric_inc(NULL); /* tolerated */
    char *text = bf_metrics_render(m);
    assert_non_null(text);
    const char *fa = strstr(text, "bf_in_total{topic=\"a\"} 1\n");
    const char *fb = strstr(text, "bf_in_total{topic=\"b\"} 2.5\n");
    const char *lag = strstr(text, "# TYPE bf_lag gauge");
    assert_non_null(fa);
    assert_non_null(fb);
    assert_non_null(lag);
    assert_true(fa < fb && fb < lag); /* one family's samples stay together */
    assert_non_null(strstr(text, "bf_lat_seconds_bucket{le=\"0.1\"} 1\n"));
    assert_non_null(strstr(text, "bf_lat_seconds_bucket{le=\"1\"} 2\n"));
    assert_non_null(strstr(text, "bf_lat_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "bf_lat_seconds_count 3\n"));
    assert_non_null(strstr(text, "bf_lat_seconds_sum 5.5"));
    /* HELP/TYPE once per family. */
    const char *first = strstr(text, "# TYPE bf_in_total counter");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# TYPE bf_in_total counter"));
    free(text);
    bf_metrics_free(m);
}

/* The process_* family under the names Prometheus client libraries use, with live values. */
static void test_process_metrics(void **state) {
    (void)state;
    bf_metrics *m = bf_metrics_new();
    assert_int_equal(bf_metrics_add_process(m), 0);
    char *text = bf_metrics_render(m);
    assert_non_null(text);
    static const char *const names[] = {"process_cpu_seconds_total", "process_resident_memory_bytes",
                                        "process_open_fds", "process_start_time_seconds", "process_max_fds",
                                        "process_virtual_memory_bytes"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char want[96];
        snprintf(want, sizeof want, "\n%s ", names[i]);
        const char *at = strstr(text, want);
        if (!at) fail_msg("%s missing from:\n%s", names[i], text);
        double v = strtod(at + strlen(want), NULL);
        /* This test process has stdin/out/err open, some memory and started after 2020. */
        if (strcmp(names[i], "process_open_fds") == 0 && v < 3) fail_msg("open fds %g", v);
        if (strcmp(names[i], "process_resident_memory_bytes") == 0 && v < 4096) fail_msg("rss %g", v);
        if (strcmp(names[i], "process_start_time_seconds") == 0 && v < 1577836800) fail_msg("start %g", v);
    }
    assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter"));
    free(text);
    bf_metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_process_metrics), cmocka_unit_test(test_render)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
