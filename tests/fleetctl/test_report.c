/* Percentile math, timeline ordering and causes, the report's aggregation, and the HTML page
 * (self-contained, with its SVG charts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fleet_report.h"
#include "fleet_stats.h"
#include "fleet_timeline.h"

static void percentiles(void **state) {
    (void)state;
    double v[] = {4, 1, 3, 2};
    fleet_summary s;
    fleet_summarise(v, 4, &s);
    assert_true(s.p50 == 2.5);
    assert_true(s.min == 1 && s.max == 4 && s.mean == 2.5);
    double h[100];
    for (int i = 0; i < 100; i++) h[i] = 100 - i; /* 1..100 reversed */
    fleet_summarise(h, 100, &s);
    assert_true(s.p50 == 50.5);
    assert_true(s.p95 > 95.04 && s.p95 < 95.06);
    assert_true(s.p99 > 99.00 && s.p99 < 99.02);
    double one[] = {7};
    fleet_summarise(one, 1, &s);
    assert_true(s.p50 == 7 && s.p99 == 7);
    fleet_summarise(NULL, 0, &s);
    assert_int_equal(s.n, 0);
    assert_true(fleet_percentile(h, 100, 0) == 1 && fleet_percentile(h, 100, 100) == 100);
}

static fleet_event ev(const char *schema, const char *kind, int64_t ts, const char *rid, const char *img) {
    fleet_event e;
    memset(&e, 0, sizeof e);
    snprintf(e.schema, sizeof e.schema, "%s", schema);
    snprintf(e.topic, sizeof e.topic, "%s", schema);
    snprintf(e.kind, sizeof e.kind, "%s", kind);
    snprintf(e.request_id, sizeof e.request_id, "%s", rid);
    snprintf(e.image_id, sizeof e.image_id, "%s", img);
    snprintf(e.producer, sizeof e.producer, "w");
    e.ts_ms = ts;
    e.queue_wait_ms = e.context_ms = e.llm_ms = e.total_ms = e.processing_ms = -1;
    return e;
}

static void timeline(void **state) {
    (void)state;
    fleet_event v[] = {
        ev("brainDecisions", "image_facts_enriched", 1150, "r", "i"),
        ev("imageFactsReady", "", 1000, "r", "i"),
        ev("brainDecisions", "decision", 430, "r", ""),
        ev("imageAnalysisRequested", "", 10, "r", "i"),
        ev("imageFactsProcessed", "", 1100, "r", "i"),
        ev("brainRequests", "", 0, "r", ""),
        ev("memoryUpdates", "", 430, "r", ""), /* same time as the decision: flow order decides */
    };
    size_t n = sizeof v / sizeof v[0];
    fleet_timeline_sort(v, n);
    const char *order[] = {"brainRequests", "imageAnalysisRequested", "brainDecisions", "memoryUpdates",
                           "imageFactsReady", "imageFactsProcessed", "brainDecisions"};
    for (size_t i = 0; i < n; i++) assert_string_equal(v[i].schema, order[i]);
    fleet_timeline_row rows[7];
    fleet_timeline_build(v, n, rows);
    assert_int_equal(rows[0].stage_ms, -1);
    assert_int_equal(rows[1].stage_ms, 10);
    assert_int_equal(rows[2].stage_ms, 430);
    assert_string_equal(rows[2].stage, "w: brainRequests -> brainDecisions");
    assert_int_equal(rows[4].stage_ms, 990);
    assert_int_equal(rows[5].stage_ms, 100);
    assert_int_equal(rows[6].stage_ms, 50);
    assert_string_equal(rows[6].stage, "w: imageFactsProcessed -> brainDecisions");
    assert_int_equal(rows[6].since_start_ms, 1150);
}

static void report(void **state) {
    (void)state;
    fleet_event v[16];
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        char rid[8], img[8];
        snprintf(rid, sizeof rid, "r%d", k);
        snprintf(img, sizeof img, "i%d", k);
        int64_t t = k * 10000;
        v[n] = ev("brainRequests", "", t, rid, "");
        v[n++].has_images = true;
        v[n++] = ev("imageAnalysisRequested", "", t + 10, rid, img);
        v[n] = ev("imageFactsReady", "", t + 1010, rid, img);
        v[n++].processing_ms = 900 + k * 100;
        v[n++] = ev("imageFactsProcessed", "", t + 1110, rid, img);
        v[n] = ev("brainDecisions", "decision", t + 500, rid, "");
        v[n].queue_wait_ms = 5;
        v[n].context_ms = 50;
        v[n].llm_ms = 400;
        v[n].total_ms = 480;
        v[n++].failed = k == 1;
        v[n++] = ev("brainDecisions", "image_facts_enriched", t + 1160, rid, img);
    }
    v[n++] = ev("deadLetters", "", 5000, "", "");
    fleet_report r;
    assert_int_equal(fleet_report_build(v, n, 0, 60000, &r), 0);
    assert_int_equal(r.requests, 2);
    assert_int_equal(r.decisions, 2);
    assert_int_equal(r.enrichments, 2);
    assert_int_equal(r.dead_letters, 1);
    assert_true(r.decisions_per_min == 2.0);
    assert_true(r.error_rate > 0.66 && r.error_rate < 0.67); /* (1 error + 1 DLQ) / (2 + 1) */
    assert_int_equal(r.stages[4].n, 2);                      /* image analysis */
    assert_true(r.stages[4].p50 == 950);
    assert_true(r.stages[5].p50 == 500);                     /* request -> decision */
    assert_true(r.stages[7].p50 == 1000);                    /* image requested -> ready */
    assert_true(r.stages[9].p50 == 50);                      /* processed -> enrichment */
    assert_true(r.async_decision.p50 == 500);
    assert_true(r.async_complete.p50 == 1110);
    assert_true(r.blocking.p50 == 1110 + 450);

    char *html = fleet_report_html(&r);
    assert_non_null(html);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "<svg id=\"stages\""));
    assert_non_null(strstr(html, "<svg id=\"flows\""));
    assert_non_null(strstr(html, "class=\"bar\""));
    assert_non_null(strstr(html, "hop: request -&gt; decision"));
    assert_null(strstr(html, "src=")); /* no external assets */
    assert_null(strstr(html, "href="));
    assert_null(strstr(html, "<script"));
    free(html);
    char *json = fleet_report_json(&r);
    /* The computed blocking figure is labelled an estimate in every rendering (issue 19). */
    assert_non_null(strstr(json, "\"blocking_estimate_facts_then_decide\""));
    assert_non_null(strstr(json, "\"estimate\":\ttrue"));
    char *text = NULL;
    size_t tlen = 0;
    FILE *tf = open_memstream(&text, &tlen);
    fleet_report_text(tf, &r);
    fclose(tf);
    assert_non_null(strstr(text, "blocking (ESTIMATE)"));
    assert_non_null(strstr(text, "not a measurement"));
    assert_null(strstr(text, "measured on the same requests"));
    free(text);
    html = fleet_report_html(&r);
    assert_non_null(strstr(html, "blocking (estimate)"));
    assert_non_null(strstr(html, "not a measurement"));
    free(html);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(percentiles), cmocka_unit_test(timeline), cmocka_unit_test(report)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
