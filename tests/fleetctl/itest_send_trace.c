/* fleetctl send and trace against the real broker: send publishes a request the contracts'
 * decoder accepts (key = project, traceparent header), --wait prints the decision that answers it,
 * and trace follows the request through every topic in flow order with per-stage times. The
 * downstream messages are produced by the test itself (no workers run here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bf_msg_brain_request.h"
#include "bf_test_kafka.h"
#include "support_fleet.h"

static char prefix[32];
static char topics[7][128];
static const char *const bases[7] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                     "imageFactsProcessed", "brainDecisions", "memoryUpdates", "deadLetters"};

static int setup(void **state) {
    (void)state;
    bf_test_unique_prefix(prefix, sizeof prefix);
    bf_test_create_topics(prefix, bases, 7, 2);
    for (int i = 0; i < 7; i++) snprintf(topics[i], sizeof topics[i], "%s%s", prefix, bases[i]);
    return 0;
}

/* A downstream envelope of schema base for request rid / trace tid, produced at at_ms. */
static void emit(rd_kafka_t *p, int topic, const char *tid, const char *payload, int64_t at_ms) {
    char json[2048];
    snprintf(json, sizeof json,
             "{\"schema\":\"%s\",\"schema_version\":1,\"event_id\":\"0190d7f4-0000-7000-8000-000000000000\","
             "\"trace_id\":\"%s\",\"project_id\":\"p-trace\",\"produced_at_ms\":%lld,\"producer\":\"%s\","
             "\"payload\":%s}",
             bases[topic], tid, (long long)at_ms,
             topic == 2 ? "image-worker" : topic == 3 ? "memory-writer" : "brain-worker", payload);
    fleet_it_produce(p, topics[topic], -1, "p-trace", json, strlen(json), NULL, 0);
}

static void send_then_trace(void **state) {
    (void)state;
    char *out;
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "send", "--project", "p-trace", "--prompt", "make it blue",
                                  "--image", "https://example.com/a.png", "--scene", "scene-1", "--await-image-facts",
                                  "1500", NULL), 0);
    cJSON *ids = cJSON_Parse(out);
    assert_non_null(ids);
    char rid[64], tid[64];
    snprintf(rid, sizeof rid, "%s", cJSON_GetObjectItem(ids, "request_id")->valuestring);
    snprintf(tid, sizeof tid, "%s", cJSON_GetObjectItem(ids, "trace_id")->valuestring);
    cJSON_Delete(ids);
    free(out);

    size_t n;
    bf_test_msg *m = bf_test_consume_all(topics[0], 1, 1000, 30000, &n);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].key, "p-trace");
    assert_non_null(strstr(bf_test_msg_header(&m[0], "traceparent"), tid));
    bf_msg_brain_request req;
    char err[256];
    if (bf_msg_brain_request_decode(m[0].payload, m[0].len, &req, err, sizeof err) != 0) fail_msg("decode: %s", err);
    assert_string_equal(req.request_id, rid);
    assert_string_equal(req.prompt, "make it blue");
    assert_int_equal(req.image_urls.n, 1);
    assert_string_equal(req.selected_scene_id, "scene-1");
    assert_int_equal(req.await_image_facts_ms, 1500);
    int64_t t0 = req.env.produced_at_ms;
    bf_msg_brain_request_free(&req);
    bf_test_msgs_free(m, n);

    const char *img = "0af7651916cd43dd8448eb211c80319c";
    char pl[512];
    rd_kafka_t *p = fleet_it_producer();
    snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"image_trace_id\":\"%s\",\"url\":\"https://example.com/a.png\"}", rid, img);
    emit(p, 1, tid, pl, t0 + 10);
    snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"trace_id\":\"%s\",\"mood\":\"calm\",\"processing_ms\":900}", rid, img);
    emit(p, 2, tid, pl, t0 + 1000);
    snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"trace_id\":\"%s\",\"facts\":{\"mood\":\"calm\"}}", rid, img);
    emit(p, 3, tid, pl, t0 + 1100);
    snprintf(pl, sizeof pl, "{\"kind\":\"decision\",\"request_id\":\"%s\",\"model\":\"rule-based\",\"timings\":"
                            "{\"queue_wait_ms\":5,\"context_ms\":20,\"llm_ms\":400,\"total_ms\":430}}", rid);
    emit(p, 4, tid, pl, t0 + 430);
    snprintf(pl, sizeof pl, "{\"kind\":\"image_facts_enriched\",\"request_id\":\"%s\",\"facts\":{\"trace_id\":\"%s\"}}", rid, img);
    emit(p, 4, tid, pl, t0 + 1150);
    snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"items\":[]}", rid);
    emit(p, 5, tid, pl, t0 + 440);
    fleet_it_producer_done(p);

    assert_int_equal(fleet_it_run(prefix, &out, NULL, "trace", rid, NULL), 0);
    const char *order[] = {"brainRequests", "imageAnalysisRequested", "brainDecisions", "memoryUpdates",
                           "imageFactsReady", "imageFactsProcessed", "brainDecisions"};
    const char *at = out;
    for (size_t i = 0; i < 7; i++) {
        const char *hit = strstr(at, order[i]);
        if (!hit) fail_msg("%s missing or out of order in:\n%s", order[i], out);
        at = hit + strlen(order[i]);
    }
    assert_non_null(strstr(out, "7 event(s)"));
    assert_non_null(strstr(out, "image-worker: imageAnalysisRequested -> imageFactsReady"));
    assert_non_null(strstr(out, "990 ms"));  /* image-worker: 1000 - 10 */
    assert_non_null(strstr(out, "brain-worker: brainRequests -> brainDecisions"));
    assert_non_null(strstr(out, "430 ms"));
    assert_non_null(strstr(out, "brain-worker: imageFactsProcessed -> brainDecisions"));
    free(out);
    /* The trace id finds the same events. */
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "trace", tid, "-o", "json", NULL), 0);
    assert_int_equal(fleet_it_lines(out), 7);
    free(out);
    char *e;
    assert_int_equal(fleet_it_run(prefix, NULL, &e, "trace", "4bf92f3577b34da6a3ce929d0e0e4736", NULL), 1);
    assert_non_null(strstr(e, "no message for"));
    free(e);
    assert_int_equal(fleet_it_run(prefix, NULL, &e, "trace", NULL), 2);
    free(e);
}

static void send_wait_prints_decision(void **state) {
    (void)state;
    const char *rid = "0190d7f4-1111-7000-8000-000000000001";
    size_t before;
    bf_test_msg *m = bf_test_consume_all(topics[0], 0, 500, 5000, &before);
    bf_test_msgs_free(m, before);
    const char *args[] = {"send", "--project", "p-wait", "--prompt", "hi", "--request-id", rid, "--wait", "60", NULL};
    fleet_it_proc *proc = fleet_it_spawn(prefix, args);
    /* The request is produced only after send captured brainDecisions' positions, so a decision
     * written once the request is visible is one send must see. */
    size_t n = 0;
    for (int tries = 0; tries < 60 && n <= before; tries++) {
        m = bf_test_consume_all(topics[0], before + 1, 300, 1000, &n);
        bf_test_msgs_free(m, n);
    }
    assert_true(n > before);
    char pl[256];
    rd_kafka_t *p = fleet_it_producer();
    snprintf(pl, sizeof pl, "{\"kind\":\"decision\",\"request_id\":\"%s\",\"timings\":{\"total_ms\":1}}",
             "0190d7f4-9999-7000-8000-000000000009");
    emit(p, 4, "4bf92f3577b34da6a3ce929d0e0e4736", pl, 1); /* another request's: ignored */
    snprintf(pl, sizeof pl, "{\"kind\":\"decision\",\"request_id\":\"%s\",\"timings\":{\"total_ms\":7}}", rid);
    emit(p, 4, "4bf92f3577b34da6a3ce929d0e0e4736", pl, 2);
    fleet_it_producer_done(p);
    char *out;
    assert_int_equal(fleet_it_wait(proc, &out, NULL), 0);
    assert_int_equal(fleet_it_lines(out), 2); /* ids, then the decision */
    assert_non_null(strstr(out, "\"total_ms\":7"));
    assert_null(strstr(out, "0190d7f4-9999"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(send_then_trace),
        cmocka_unit_test(send_wait_prints_decision),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
