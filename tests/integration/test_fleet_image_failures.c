/* An image that cannot be analysed, through the three real workers, the real broker and the real
 * PostgreSQL (docs/image-analysis.md, "Failures"): a request with a good image and a missing one
 * waits for their facts; image-worker publishes facts for both, the missing one's with the error
 * and no measurements; memory-writer stores it as a row with the error, a NULL hash and NULL
 * measurements, derives no preference from it (but does from the good one) and passes it on; the
 * brain decides as soon as both have arrived (long before its deadline) and publishes an
 * enrichment saying why the image could not be analysed. Nothing is dead-lettered. The next
 * request for the missing URL asks for it again (a failure is not "already analysed"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_fake_server.h"
#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"

static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                     "imageFactsProcessed", "memoryUpdates", "brainDecisions", "deadLetters"};
#define N_TOPICS (sizeof topics / sizeof topics[0])

static pid_t start(const char *rel, const char *prefix, const char *role, const char *const *extra) {
    pid_t pid = bf_test_worker_start(rel, prefix, role, extra);
    assert_true(pid >= 0);
    return pid;
}

static void stop(pid_t pid) { assert_int_equal(bf_test_worker_stop(pid), 0); }

static void produce_request(const char *prefix, const char *project, const char *rid, const char *const *urls,
                            size_t n, int64_t await_ms) {
    bf_msg_brain_request r;
    memset(&r, 0, sizeof r);
    char err[256], t[128];
    assert_int_equal(bf_envelope_init(&r.env, BF_SCHEMA_BRAIN_REQUESTS, project, NULL, "editor", 1767225600000LL, err,
                                      sizeof err),
                     0);
    snprintf(r.request_id, sizeof r.request_id, "%s", rid);
    r.prompt = "Make a scene that looks like these";
    r.image_urls = (bf_strlist){.v = (char **)urls, .n = n};
    r.await_image_facts_ms = await_ms;
    char *json = bf_msg_brain_request_encode(&r, err, sizeof err);
    if (!json) fail_msg("%s", err);
    snprintf(t, sizeof t, "%sbrainRequests", prefix);
    bf_test_produce(t, -1, project, json, strlen(json), NULL);
    free(json);
}

static bf_test_msg *consume(const char *prefix, const char *base, size_t want, int quiet_ms, size_t *n) {
    char t[128];
    snprintf(t, sizeof t, "%s%s", prefix, base);
    return bf_test_consume_all(t, want, quiet_ms, 120000, n);
}

/* The image trace id the brain gave url in the imageAnalysisRequested messages m. */
static void trace_of(const bf_test_msg *m, size_t n, const char *url, char out[40]) {
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        bf_msg_image_analysis_requested a;
        char err[256];
        if (bf_msg_image_analysis_requested_decode(m[i].payload, m[i].len, &a, err, sizeof err) != 0) fail_msg("%s", err);
        if (strcmp(a.url, url) == 0) snprintf(out, 40, "%s", a.image_trace_id);
        bf_msg_image_analysis_requested_free(&a);
    }
    if (!out[0]) fail_msg("no imageAnalysisRequested for %s", url);
}

static char *pg_value_new(PGconn *c, const char *sql, const char *p1) {
    const char *p[] = {p1};
    PGresult *r = PQexecParams(c, sql, p1 ? 1 : 0, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
    char *v = PQntuples(r) ? strdup(PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0)) : strdup("no row");
    PQclear(r);
    return v;
}

static void assert_pg(PGconn *c, const char *sql, const char *p1, const char *want) {
    char *v = pg_value_new(c, sql, p1);
    if (strcmp(v, want) != 0) fail_msg("%s [%s]: %s, expected %s", sql, p1 ? p1 : "", v, want);
    free(v);
}

static void failed_image_through_the_fleet(void **state) {
    (void)state;
    char prefix[32];
    bf_test_unique_prefix(prefix, sizeof prefix);
    bf_test_create_topics(prefix, topics, N_TOPICS, 3);
    char dir[] = "/tmp/bf-fleet-fail-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/good.bmp", dir);
    /* 2x2 red BMP */
    static const unsigned char bmp[70] = {'B', 'M', 70, [10] = 54, [14] = 40, [18] = 2, [22] = 2, [26] = 1, [28] = 24,
                                          [34] = 16, [54] = 30, 30, 220, 30, 30, 220, 0, 0, 30, 30, 220, 30, 30, 220};
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(bmp, 1, sizeof bmp, fp);
    fclose(fp);
    const char *fargs[] = {"--images-dir", dir, NULL};
    bf_fake_server fake;
    char err[256];
    if (bf_fake_server_start(&fake, fargs, err, sizeof err) != 0) fail_msg("fake: %s", err);

    const char *const image_env[] = {"BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32", NULL};
    pid_t image = start("image-worker/image-worker", prefix, "image", image_env);
    pid_t memory = start("memory-writer/memory-writer", prefix, "memory", NULL);
    pid_t brain = start("brain-worker/brain-worker", prefix, "brain", NULL);

    char good[300], missing[300], project[48];
    snprintf(good, sizeof good, "%s/images/good.bmp", fake.url);
    snprintf(missing, sizeof missing, "%s/images/missing.png", fake.url);
    snprintf(project, sizeof project, "proj-%s", prefix + 2);
    project[strlen(project) - 1] = '\0'; /* the prefix ends with '-' */
    const char *urls[] = {good, missing};
    const char *rid = "0190a4b2-7c3d-4e5f-8a6b-0000000000f1";
    produce_request(prefix, project, rid, urls, 2, 30000);

    size_t n = 0;
    bf_test_msg *asked = consume(prefix, "imageAnalysisRequested", 2, 500, &n);
    assert_int_equal(n, 2);
    char good_trace[40], missing_trace[40];
    trace_of(asked, n, good, good_trace);
    trace_of(asked, n, missing, missing_trace);
    bf_test_msgs_free(asked, n);

    /* The decision, released by both facts, and the enrichment about the missing image. */
    bf_test_msg *out = consume(prefix, "brainDecisions", 2, 1500, &n);
    assert_int_equal(n, 2);
    bool decided = false, explained = false;
    for (size_t i = 0; i < n; i++) {
        bf_msg_brain_decision d;
        if (bf_msg_brain_decision_decode(out[i].payload, out[i].len, &d, err, sizeof err) != 0) fail_msg("%s", err);
        assert_string_equal(d.request_id, rid);
        if (d.kind == BF_DECISION_KIND_DECISION) {
            decided = true;
            assert_true(d.timings.total_ms < 30000); /* not its deadline */
            assert_int_equal(d.image_trace_ids.n, 2);
        } else {
            explained = true;
            assert_true(d.facts.not_analysed);
            assert_string_equal(d.facts.trace_id, missing_trace);
            assert_string_equal(d.facts.error.code, "fetch_status");
            assert_non_null(strstr(d.facts.error.message, "HTTP 404"));
            assert_string_equal(d.facts.image_urls.v[0], missing);
        }
        bf_msg_brain_decision_free(&d);
    }
    assert_true(decided && explained);
    bf_test_msgs_free(out, n);

    bf_test_msg *processed = consume(prefix, "imageFactsProcessed", 2, 500, &n);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        bf_msg_image_facts_processed p;
        if (bf_msg_image_facts_processed_decode(processed[i].payload, processed[i].len, &p, err, sizeof err) != 0)
            fail_msg("%s", err);
        bool failed = strcmp(p.trace_id, missing_trace) == 0;
        assert_int_equal(p.facts.not_analysed, failed);
        assert_int_equal(p.content_hash[0] == '\0', failed);
        bf_msg_image_facts_processed_free(&p);
    }
    bf_test_msgs_free(processed, n);

    /* The database: the failure as a row with its error and no measurements, and evidence for the
     * project's preferences from the good image only. */
    PGconn *c = PQconnectdb(bf_test_pg_dsn());
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_pg(c,
              "SELECT error->>'code' || ' ' || (content_hash IS NULL) || (mood IS NULL) || (brightness IS NULL)"
              " || (width IS NULL) || ' ' || palette::text FROM image_analysis WHERE trace_id = $1",
              missing_trace, "fetch_status truetruetruetrue []");
    assert_pg(c, "SELECT (error IS NULL) || ' ' || (mood IS NOT NULL) FROM image_analysis WHERE trace_id = $1",
              good_trace, "true true");
    char source[64];
    snprintf(source, sizeof source, "image:%s", missing_trace);
    assert_pg(c, "SELECT count(*) FROM project_memory WHERE source = $1", source, "0");
    snprintf(source, sizeof source, "image:%s", good_trace);
    assert_pg(c, "SELECT (count(*) > 0)::text FROM project_memory WHERE source = $1", source, "true");
    PQfinish(c);

    /* Asked again: the failed URL is requested again, the analysed one is not. */
    produce_request(prefix, project, "0190a4b2-7c3d-4e5f-8a6b-0000000000f2", urls, 2, -1);
    asked = consume(prefix, "imageAnalysisRequested", 3, 3000, &n);
    assert_int_equal(n, 3);
    char again[40];
    trace_of(asked + 2, 1, missing, again);
    bf_test_msgs_free(asked, n);

    bf_test_msg *dl = consume(prefix, "deadLetters", 0, 1000, &n);
    assert_int_equal(n, 0);
    bf_test_msgs_free(dl, n);

    stop(brain);
    stop(memory);
    stop(image);
    bf_fake_server_stop(&fake);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(failed_image_through_the_fleet)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
