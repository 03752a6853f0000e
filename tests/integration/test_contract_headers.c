/* The message contract on the wire, after a demo-like flow through the three real workers (docs/
 * topics.md): every message on every topic carries traceparent, bf-schema and bf-schema-version
 * matching its envelope, is keyed by its envelope's project id, and sits in the trace of the
 * request it belongs to, whether that request came with a traceparent header (fleetctl) or
 * without any header (an editor producing with kcat or a plain client). Dead letters are keyed by
 * the failed message's project id, or "unknown" (never by raw key bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_envelope.h"
#include "bf_fake_server.h"
#include "bf_msg_brain_request.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"
#include "bf_trace.h"

#define TRACE_A "4bf92f3577b34da6a3ce929d0e0e4736"
#define TP_A "00-" TRACE_A "-00f067aa0ba902b7-01"
#define TRACE_B "0af7651916cd43dd8448eb211c80319c"
#define EVIL_KEY "x'); DROP TABLE messages;--"

static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                     "imageFactsProcessed", "memoryUpdates", "brainDecisions", "deadLetters"};
#define N_TOPICS (sizeof topics / sizeof topics[0])

/* A 2x2 24-bit BMP of one colour: the image-worker decodes BMP; no encoder library needed. */
static void write_bmp(const char *path, unsigned char r, unsigned char g, unsigned char b) {
    unsigned char h[54] = {'B', 'M', 70, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 1, 0,
                           24, 0, 0, 0, 0, 0, 16, 0, 0, 0};
    unsigned char px[16] = {b, g, r, b, g, r, 0, 0, b, g, r, b, g, r, 0, 0}; /* rows padded to 4 bytes */
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(h, 1, sizeof h, fp);
    fwrite(px, 1, sizeof px, fp);
    fclose(fp);
}

static pid_t start(const char *rel, const char *prefix, const char *role, const char *const *extra) {
    pid_t pid = bf_test_worker_start(rel, prefix, role, extra);
    assert_true(pid >= 0);
    return pid;
}

static void stop(pid_t pid) { assert_int_equal(bf_test_worker_stop(pid), 0); }

static char *request(const char *project, const char *trace_id, const char *rid, const char *url) {
    bf_msg_brain_request r;
    memset(&r, 0, sizeof r);
    char err[256];
    assert_int_equal(bf_envelope_init_in_trace(&r.env, BF_SCHEMA_BRAIN_REQUESTS, project, trace_id, "editor",
                                               1767225600000LL, err, sizeof err), 0);
    snprintf(r.request_id, sizeof r.request_id, "%s", rid);
    r.prompt = "Make a scene that looks like this";
    char *urls[] = {(char *)url};
    r.image_urls = (bf_strlist){.v = urls, .n = 1};
    r.await_image_facts_ms = -1;
    char *json = bf_msg_brain_request_encode(&r, err, sizeof err);
    if (!json) fail_msg("%s", err);
    return json;
}

/* Every message of one topic: headers, key and trace against its envelope. Returns how many
 * messages belong to each of the two requests' projects. */
static void check_topic(const char *prefix, const char *base, size_t want, size_t *n_a, size_t *n_b, size_t *n_unknown) {
    char t[128];
    snprintf(t, sizeof t, "%s%s", prefix, base);
    size_t n = 0;
    bf_test_msg *m = bf_test_consume_all(t, want, 1500, 90000, &n);
    if (n < want) fail_msg("%s: %zu messages, expected at least %zu", base, n, want);
    for (size_t i = 0; i < n; i++) {
        const char *tp = bf_test_msg_header(&m[i], "traceparent");
        const char *schema = bf_test_msg_header(&m[i], "bf-schema");
        const char *version = bf_test_msg_header(&m[i], "bf-schema-version");
        if (!tp || !schema || !version)
            fail_msg("%s[%zu]: missing header (traceparent %s, bf-schema %s, bf-schema-version %s)", base, i,
                     tp ? "ok" : "absent", schema ? "ok" : "absent", version ? "ok" : "absent");
        char trace[BF_TRACE_ID_LEN + 1];
        if (bf_trace_parse(tp, trace) != 0) fail_msg("%s[%zu]: invalid traceparent %s", base, i, tp);
        bf_envelope env;
        char err[256];
        if (bf_envelope_peek(m[i].payload, m[i].len, &env, err, sizeof err) != 0)
            fail_msg("%s[%zu]: envelope: %s", base, i, err);
        assert_string_equal(schema, base);
        assert_string_equal(env.schema, base);
        char v[12];
        assert_string_equal(version, bf_envelope_version_header(&env, v));
        if (!m[i].key || strcmp(m[i].key, env.project_id) != 0)
            fail_msg("%s[%zu]: key '%s' is not the envelope's project '%s'", base, i, m[i].key ? m[i].key : "(none)",
                     env.project_id);
        if (strcmp(trace, env.trace_id) != 0)
            fail_msg("%s[%zu]: traceparent's trace %s, envelope's %s", base, i, trace, env.trace_id);
        if (strcmp(env.project_id, "proj-a") == 0) {
            (*n_a)++;
            if (strcmp(trace, TRACE_A) != 0) fail_msg("%s[%zu]: proj-a's message in trace %s", base, i, trace);
        } else if (strcmp(env.project_id, "proj-b") == 0) {
            (*n_b)++;
            if (strcmp(trace, TRACE_B) != 0) fail_msg("%s[%zu]: proj-b's message in trace %s (no header came with "
                                                      "its request: the envelope's trace must continue)", base, i, trace);
        } else if (strcmp(env.project_id, "unknown") == 0) {
            (*n_unknown)++;
        }
    }
    bf_test_msgs_free(m, n);
}

static void every_message_every_topic(void **state) {
    (void)state;
    char prefix[32];
    bf_test_unique_prefix(prefix, sizeof prefix);
    bf_test_create_topics(prefix, topics, N_TOPICS, 3);
    char dir[] = "/tmp/bf-contract-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/red.bmp", dir);
    write_bmp(path, 220, 30, 30);
    snprintf(path, sizeof path, "%s/blue.bmp", dir);
    write_bmp(path, 30, 30, 220);
    const char *fargs[] = {"--images-dir", dir, NULL};
    bf_fake_server fake;
    char err[256];
    if (bf_fake_server_start(&fake, fargs, err, sizeof err) != 0) fail_msg("fake: %s", err);

    const char *image_env[] = {"BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32", NULL};
    pid_t image = start("image-worker/image-worker", prefix, "image", image_env);
    pid_t memory = start("memory-writer/memory-writer", prefix, "memory", NULL);
    pid_t brain = start("brain-worker/brain-worker", prefix, "brain", NULL);

    char url_a[300], url_b[300], t[128];
    snprintf(url_a, sizeof url_a, "%s/images/red.bmp", fake.url);
    snprintf(url_b, sizeof url_b, "%s/images/blue.bmp", fake.url);
    snprintf(t, sizeof t, "%sbrainRequests", prefix);
    /* A: as fleetctl sends it, with a traceparent header. B: no header at all. */
    char *a = request("proj-a", TRACE_A, "0190a4b2-7c3d-4e5f-8a6b-00000000000a", url_a);
    char *b = request("proj-b", TRACE_B, "0190a4b2-7c3d-4e5f-8a6b-00000000000b", url_b);
    const char *hdr_a[] = {"traceparent", TP_A, NULL};
    bf_test_produce(t, -1, "proj-a", a, strlen(a), hdr_a);
    bf_test_produce(t, -1, "proj-b", b, strlen(b), NULL);
    /* Poison with a hostile key: dead-lettered under "unknown". */
    bf_test_produce(t, -1, EVIL_KEY, "{not json", 9, NULL);
    free(a);
    free(b);

    size_t n_a = 0, n_b = 0, n_unknown = 0;
    /* Decisions and the two enrichments (the images are analysed after the decisions). */
    check_topic(prefix, "brainDecisions", 4, &n_a, &n_b, &n_unknown);
    /* brainRequests is the editor's topic (B came without headers on purpose): every other topic is ours. */
    const size_t want[] = {0, 2, 2, 2, 2, 0, 1};
    for (size_t i = 1; i < N_TOPICS; i++)
        if (strcmp(topics[i], "brainDecisions") != 0) check_topic(prefix, topics[i], want[i], &n_a, &n_b, &n_unknown);
    /* Per request: its image request, facts ready, facts processed, memory update, decision and enrichment. */
    assert_int_equal(n_a, 6);
    assert_int_equal(n_b, 6);
    assert_int_equal(n_unknown, 1);

    stop(brain);
    stop(memory);
    stop(image);
    bf_fake_server_stop(&fake);
    snprintf(path, sizeof path, "%s/red.bmp", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/blue.bmp", dir);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_message_every_topic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
