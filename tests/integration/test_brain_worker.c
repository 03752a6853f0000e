/* brain-worker as a process against the real broker and PostgreSQL, deciding with the rule-based
 * decider (no LLM): fan-out of new images, decisions and memoryUpdates, degraded context when the
 * database is down, per-project order, late facts (one enrichment per waiting image, none on
 * redelivery), await_image_facts_ms, and facts of an image that could not be analysed (the waiting
 * request released, an enrichment saying why). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_msg_memory_update.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"

static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsProcessed",
                                     "memoryUpdates", "brainDecisions", "deadLetters"};

typedef struct fixture {
    char prefix[32];
    pid_t pid;
} fixture;

/* Starts brain-worker with the stack's broker, a private prefix and group, and extra KEY=VALUE
 * settings (NULL-terminated). */
static void start_worker(fixture *f, const char *const *extra) {
    bf_test_unique_prefix(f->prefix, sizeof f->prefix);
    bf_test_create_topics(f->prefix, topics, sizeof topics / sizeof topics[0], 6);
    char bin[1024];
    bf_test_binary("brain-worker/brain-worker", bin, sizeof bin);
    const char *brokers = bf_test_brokers();
    const char *dsn = bf_test_pg_dsn();
    f->pid = fork();
    assert_true(f->pid >= 0);
    if (f->pid == 0) {
        bf_test_child_dies_with_parent();
        char group[64];
        snprintf(group, sizeof group, "%sbrain", f->prefix);
        setenv("BRAINFLEET_KAFKA_BROKERS", brokers, 1);
        setenv("BRAINFLEET_PG_DSN", dsn, 1);
        setenv("BRAINFLEET_TOPIC_PREFIX", f->prefix, 1);
        setenv("BRAINFLEET_GROUP_ID", group, 1);
        setenv("BRAINFLEET_HTTP_PORT", "0", 1);
        setenv("BRAINFLEET_LOG_LEVEL", "warn", 1);
        unsetenv("BRAINFLEET_LLM_URL");
        for (size_t i = 0; extra && extra[i]; i++) putenv((char *)extra[i]);
        execl(bin, bin, (char *)NULL);
        perror(bin);
        _exit(127);
    }
}

static void stop_worker(fixture *f) {
    kill(f->pid, SIGTERM);
    int status = 0;
    waitpid(f->pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void topic_name(const fixture *f, const char *base, char *out, size_t n) {
    snprintf(out, n, "%s%s", f->prefix, base);
}

static void produce_request(const fixture *f, const char *project, const char *request_id, const char *prompt,
                            const char *const *urls, size_t n_urls, const char *scene, int64_t await_ms) {
    bf_msg_brain_request r;
    memset(&r, 0, sizeof r);
    char err[512];
    assert_int_equal(bf_envelope_init(&r.env, BF_SCHEMA_BRAIN_REQUESTS, project, NULL, "test", 1718000000000, err,
                                      sizeof err), 0);
    snprintf(r.request_id, sizeof r.request_id, "%s", request_id);
    r.prompt = (char *)prompt;
    r.image_urls.v = (char **)urls;
    r.image_urls.n = n_urls;
    r.selected_scene_id = (char *)scene;
    r.await_image_facts_ms = await_ms;
    char *json = bf_msg_brain_request_encode(&r, err, sizeof err);
    if (!json) fail_msg("encode: %s", err);
    char t[128];
    topic_name(f, "brainRequests", t, sizeof t);
    bf_test_produce(t, -1, project, json, strlen(json), NULL);
    free(json);
}

static void produce_facts(const fixture *f, const char *project, const char *request_id, const char *trace_id) {
    bf_msg_image_facts_processed m;
    memset(&m, 0, sizeof m);
    char err[512];
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_FACTS_PROCESSED, project, NULL, "memory-writer",
                                      1718000000000, err, sizeof err), 0);
    bf_uuid_v7(m.source_event_id);
    snprintf(m.trace_id, sizeof m.trace_id, "%s", trace_id);
    snprintf(m.request_id, sizeof m.request_id, "%s", request_id);
    memset(m.content_hash, 'a', 64);
    bf_image_facts *x = &m.facts;
    memcpy(x->trace_id, m.trace_id, sizeof x->trace_id);
    memcpy(x->request_id, m.request_id, sizeof x->request_id);
    memcpy(x->content_hash, m.content_hash, sizeof x->content_hash);
    char *urls[] = {"https://example.com/a.png"};
    x->image_urls.v = urls;
    x->image_urls.n = 1;
    snprintf(x->palette[0].hex, sizeof x->palette[0].hex, "#112233");
    x->palette[0].share = 0.7;
    x->n_palette = 1;
    x->brightness = 0.2;
    x->contrast = 0.5;
    x->saturation = 0.4;
    x->temperature = BF_TEMP_COOL;
    x->mood = BF_MOOD_DARK;
    x->width = 640;
    x->height = 480;
    x->orientation = BF_ORIENT_LANDSCAPE;
    x->analyser = BF_ANALYSER_BUILTIN;
    x->processing_ms = 12;
    char *json = bf_msg_image_facts_processed_encode(&m, err, sizeof err);
    if (!json) fail_msg("encode facts: %s", err);
    char t[128];
    topic_name(f, "imageFactsProcessed", t, sizeof t);
    bf_test_produce(t, -1, project, json, strlen(json), NULL);
    free(json);
}

/* Facts of an image that could not be analysed: the error, no measurements, no hash (not fetched). */
static void produce_failed_facts(const fixture *f, const char *project, const char *request_id, const char *trace_id) {
    bf_msg_image_facts_processed m;
    memset(&m, 0, sizeof m);
    char err[512];
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_FACTS_PROCESSED, project, NULL, "memory-writer",
                                      1718000000000, err, sizeof err), 0);
    bf_uuid_v7(m.source_event_id);
    snprintf(m.trace_id, sizeof m.trace_id, "%s", trace_id);
    snprintf(m.request_id, sizeof m.request_id, "%s", request_id);
    bf_image_facts *x = &m.facts;
    x->not_analysed = true;
    memcpy(x->trace_id, m.trace_id, sizeof x->trace_id);
    memcpy(x->request_id, m.request_id, sizeof x->request_id);
    char *urls[] = {"https://example.com/gone.png"};
    x->image_urls.v = urls;
    x->image_urls.n = 1;
    x->analyser = BF_ANALYSER_BUILTIN;
    x->processing_ms = 40;
    x->error.present = true;
    snprintf(x->error.code, sizeof x->error.code, "fetch_status");
    x->error.message = "GET https://example.com/gone.png answered HTTP 404 after 1 attempt";
    char *json = bf_msg_image_facts_processed_encode(&m, err, sizeof err);
    if (!json) fail_msg("encode failed facts: %s", err);
    char t[128];
    topic_name(f, "imageFactsProcessed", t, sizeof t);
    bf_test_produce(t, -1, project, json, strlen(json), NULL);
    free(json);
}

static void request_id(int n, char out[BF_UUID_LEN + 1]) {
    snprintf(out, BF_UUID_LEN + 1, "00000000-0000-4000-8000-%012d", n);
}

/* Decisions (kind decision) read from brainDecisions, decoded with the consumers' codec. */
typedef struct decisions {
    bf_msg_brain_decision *d;
    size_t n;
} decisions;

static decisions read_decisions(const fixture *f, size_t min_count) {
    char t[128];
    topic_name(f, "brainDecisions", t, sizeof t);
    size_t n = 0;
    bf_test_msg *msgs = bf_test_consume_all(t, min_count, 1500, 120000, &n);
    decisions out = {calloc(n + 1, sizeof *out.d), 0};
    for (size_t i = 0; i < n; i++) {
        char err[512];
        if (bf_msg_brain_decision_decode(msgs[i].payload, msgs[i].len, &out.d[out.n], err, sizeof err) != 0)
            fail_msg("brainDecisions[%zu] does not decode: %s", i, err);
        out.n++;
    }
    bf_test_msgs_free(msgs, n);
    return out;
}

static void decisions_free(decisions *d) {
    for (size_t i = 0; i < d->n; i++) bf_msg_brain_decision_free(&d->d[i]);
    free(d->d);
}

static const bf_msg_brain_decision *find(const decisions *d, const char *request_id, bf_decision_kind kind) {
    for (size_t i = 0; i < d->n; i++)
        if (d->d[i].kind == kind && strcmp(d->d[i].request_id, request_id) == 0) return &d->d[i];
    return NULL;
}

/* ---- offline end to end ---- */

static void test_offline_decisions_fanout_memory(void **state) {
    (void)state;
    fixture f;
    start_worker(&f, NULL);
    char r1[40], r2[40], r3[40], r4[40];
    request_id(1, r1);
    request_id(2, r2);
    request_id(3, r3);
    request_id(4, r4);
    const char *imgs[] = {"https://example.com/one.png", "https://example.com/two.png"};
    produce_request(&f, "p-offline", r1, "Make a scene like these images", imgs, 2, NULL, -1);
    produce_request(&f, "p-offline", r2, "Delete this scene please", NULL, 0, "scene-2", -1);
    produce_request(&f, "p-offline", r3, "Make it 5 seconds longer. I prefer dark colours.", NULL, 0, "scene-1", -1);
    produce_request(&f, "p-offline", r4, " ", NULL, 0, NULL, -1);
    decisions d = read_decisions(&f, 4);
    stop_worker(&f);

    const bf_msg_brain_decision *x = find(&d, r1, BF_DECISION_KIND_DECISION);
    assert_non_null(x);
    assert_int_equal(x->type, BF_DECISION_TOOL);
    assert_int_equal(x->steps[0].tool, BF_TOOL_CREATE_SCENE_FROM_IMAGE);
    assert_string_equal(x->model, "rule-based");
    x = find(&d, r2, BF_DECISION_KIND_DECISION);
    assert_non_null(x);
    assert_int_equal(x->steps[0].tool, BF_TOOL_DELETE_SCENE);
    assert_string_equal(x->steps[0].target_scene_id, "scene-2");
    x = find(&d, r3, BF_DECISION_KIND_DECISION);
    assert_non_null(x);
    assert_int_equal(x->steps[0].tool, BF_TOOL_CHANGE_DURATION);
    assert_non_null(strstr(x->steps[0].input, "\"delta_ms\":5000")); /* five seconds longer: a change */
    x = find(&d, r4, BF_DECISION_KIND_DECISION);
    assert_non_null(x);
    assert_int_equal(x->type, BF_DECISION_CLARIFICATION);
    decisions_free(&d);

    /* One imageAnalysisRequested per new image, random trace ids (never the prompt). */
    char t[128];
    topic_name(&f, "imageAnalysisRequested", t, sizeof t);
    size_t n = 0;
    bf_test_msg *m = bf_test_consume_all(t, 2, 1000, 30000, &n);
    assert_int_equal(n, 2);
    bf_msg_image_analysis_requested a[2];
    for (size_t i = 0; i < 2; i++) {
        char err[512];
        if (bf_msg_image_analysis_requested_decode(m[i].payload, m[i].len, &a[i], err, sizeof err) != 0)
            fail_msg("imageAnalysisRequested: %s", err);
        assert_string_equal(a[i].request_id, r1);
        assert_true(bf_trace_id_valid(a[i].image_trace_id));
    }
    assert_string_not_equal(a[0].image_trace_id, a[1].image_trace_id);
    bf_msg_image_analysis_requested_free(&a[0]);
    bf_msg_image_analysis_requested_free(&a[1]);
    bf_test_msgs_free(m, n);

    /* memoryUpdates: conversation for each request, numbered by turn, where the conversation stands
     * and the stated preference; no scene relationship (memory-writer learns those from the
     * editor's reports of what it applied). */
    topic_name(&f, "memoryUpdates", t, sizeof t);
    m = bf_test_consume_all(t, 4, 1000, 30000, &n);
    assert_int_equal(n, 4);
    bool saw_pref = false, saw_conv = false;
    for (size_t i = 0; i < n; i++) {
        bf_msg_memory_update u;
        char err[512];
        if (bf_msg_memory_update_decode(m[i].payload, m[i].len, &u, err, sizeof err) != 0)
            fail_msg("memoryUpdates: %s", err);
        assert_int_equal(u.n_messages, 2);
        assert_string_equal(u.messages[0].message_id, u.request_id);
        assert_true(u.messages[0].turn >= 1);
        assert_int_equal(u.messages[1].turn, u.messages[0].turn);
        for (size_t k = 0; k < u.n_items; k++) {
            if (u.items[k].memory_type == BF_MEMORY_USER_PREFERENCE && u.items[k].is_explicit &&
                strstr(u.items[k].key, "dark colours"))
                saw_pref = true;
            assert_int_not_equal(u.items[k].memory_type, BF_MEMORY_SCENE_RELATIONSHIP);
            if (u.items[k].memory_type == BF_MEMORY_CONVERSATION_CONTEXT &&
                strncmp(u.items[k].key, "conversation:", 13) == 0 && strstr(u.items[k].value, "\"turn_count\""))
                saw_conv = true;
        }
        bf_msg_memory_update_free(&u);
    }
    assert_true(saw_pref);
    assert_true(saw_conv);
    bf_test_msgs_free(m, n);
}

/* ---- database down ---- */

static void test_db_down_degraded(void **state) {
    (void)state;
    fixture f;
    /* A port nothing listens on: connection refused at once. */
    const char *extra[] = {"BRAINFLEET_PG_DSN=host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1", NULL};
    start_worker(&f, extra);
    char r1[40];
    request_id(11, r1);
    produce_request(&f, "p-down", r1, "Add an intro scene", NULL, 0, NULL, -1);
    decisions d = read_decisions(&f, 1);
    stop_worker(&f);
    const bf_msg_brain_decision *x = find(&d, r1, BF_DECISION_KIND_DECISION);
    assert_non_null(x);
    assert_true(x->context_degraded);
    assert_int_equal(x->steps[0].tool, BF_TOOL_ADD_SCENE);
    decisions_free(&d);
}

/* ---- late facts ---- */

static size_t count_kind(const decisions *d, const char *rid, bf_decision_kind kind) {
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (d->d[i].kind == kind && strcmp(d->d[i].request_id, rid) == 0) n++;
    return n;
}

static void read_trace_ids(const fixture *f, size_t want, char ids[][40], char rids[][40]) {
    char t[128];
    topic_name(f, "imageAnalysisRequested", t, sizeof t);
    size_t n = 0;
    bf_test_msg *m = bf_test_consume_all(t, want, 1000, 60000, &n);
    assert_int_equal(n, want);
    for (size_t i = 0; i < n; i++) {
        bf_msg_image_analysis_requested a;
        char err[512];
        if (bf_msg_image_analysis_requested_decode(m[i].payload, m[i].len, &a, err, sizeof err) != 0)
            fail_msg("%s", err);
        snprintf(ids[i], 40, "%s", a.image_trace_id);
        snprintf(rids[i], 40, "%s", a.request_id);
        bf_msg_image_analysis_requested_free(&a);
    }
    bf_test_msgs_free(m, n);
}

static void test_late_facts_one_enrichment(void **state) {
    (void)state;
    fixture f;
    start_worker(&f, NULL);
    char r1[40], r2[40];
    request_id(21, r1);
    request_id(22, r2);
    const char *img1[] = {"https://example.com/late1.png"};
    const char *img2[] = {"https://example.com/late2.png"};
    produce_request(&f, "p-late-a", r1, "Build a scene from this", img1, 1, NULL, -1);
    produce_request(&f, "p-late-b", r2, "Build a scene from this", img2, 1, NULL, -1);
    decisions d = read_decisions(&f, 2);
    decisions_free(&d);
    char ids[2][40], rids[2][40];
    read_trace_ids(&f, 2, ids, rids);
    for (int i = 0; i < 2; i++) {
        const char *project = strcmp(rids[i], r1) == 0 ? "p-late-a" : "p-late-b";
        produce_facts(&f, project, rids[i], ids[i]);
        produce_facts(&f, project, rids[i], ids[i]); /* a redelivery must not enrich twice */
    }
    d = read_decisions(&f, 4);
    stop_worker(&f);
    assert_int_equal(count_kind(&d, r1, BF_DECISION_KIND_DECISION), 1);
    assert_int_equal(count_kind(&d, r1, BF_DECISION_KIND_IMAGE_FACTS_ENRICHED), 1);
    assert_int_equal(count_kind(&d, r2, BF_DECISION_KIND_IMAGE_FACTS_ENRICHED), 1);
    const bf_msg_brain_decision *e = find(&d, r1, BF_DECISION_KIND_IMAGE_FACTS_ENRICHED);
    assert_int_equal(e->facts.mood, BF_MOOD_DARK);
    decisions_free(&d);
}

/* ---- await_image_facts_ms ---- */

static void test_await_uses_facts_and_deadline(void **state) {
    (void)state;
    fixture f;
    start_worker(&f, NULL);
    char r1[40], r2[40];
    request_id(31, r1);
    request_id(32, r2);
    const char *img1[] = {"https://example.com/await1.png"};
    const char *img2[] = {"https://example.com/await2.png"};
    /* r1 waits up to 60 s and its facts come; r2 waits 1 s and its facts never come. */
    produce_request(&f, "p-await-a", r1, "Build a scene from this", img1, 1, NULL, 60000);
    produce_request(&f, "p-await-b", r2, "Build a scene from this", img2, 1, NULL, 1000);
    char ids[2][40], rids[2][40];
    read_trace_ids(&f, 2, ids, rids);
    int i1 = strcmp(rids[0], r1) == 0 ? 0 : 1;
    produce_facts(&f, "p-await-a", r1, ids[i1]);
    decisions d = read_decisions(&f, 2);
    stop_worker(&f);
    const bf_msg_brain_decision *x = find(&d, r1, BF_DECISION_KIND_DECISION);
    assert_non_null(x);
    /* The decision waited: the facts were in its context, so no enrichment follows. */
    bool has = false;
    for (size_t i = 0; i < x->image_trace_ids.n; i++) has |= strcmp(x->image_trace_ids.v[i], ids[i1]) == 0;
    assert_true(has);
    assert_int_equal(count_kind(&d, r1, BF_DECISION_KIND_IMAGE_FACTS_ENRICHED), 0);
    x = find(&d, r2, BF_DECISION_KIND_DECISION);
    assert_non_null(x); /* decided at its deadline without facts */
    assert_int_equal(x->image_trace_ids.n, 0);
    decisions_free(&d);
}

/* An image that could not be analysed: the request waiting 60 s for it is released when its facts
 * arrive (its decision comes before the deadline could have passed), and an enrichment saying
 * why follows; after a decision, the same failure is the usual late enrichment. */
static void test_failed_facts_release_and_explain(void **state) {
    (void)state;
    fixture f;
    start_worker(&f, NULL);
    char r1[40], r2[40];
    request_id(41, r1);
    request_id(42, r2);
    const char *img1[] = {"https://example.com/gone1.png"};
    const char *img2[] = {"https://example.com/gone2.png"};
    produce_request(&f, "p-fail-a", r1, "Build a scene from this", img1, 1, NULL, 60000);
    produce_request(&f, "p-fail-b", r2, "Build a scene from this", img2, 1, NULL, -1);
    char ids[2][40], rids[2][40];
    read_trace_ids(&f, 2, ids, rids);
    decisions d = read_decisions(&f, 1); /* r2's, decided without waiting */
    decisions_free(&d);
    for (int i = 0; i < 2; i++)
        produce_failed_facts(&f, strcmp(rids[i], r1) == 0 ? "p-fail-a" : "p-fail-b", rids[i], ids[i]);
    d = read_decisions(&f, 4);
    stop_worker(&f);
    const bf_msg_brain_decision *x = find(&d, r1, BF_DECISION_KIND_DECISION);
    assert_non_null(x);
    assert_true(x->timings.total_ms < 60000); /* released by the facts, not by its deadline */
    for (int r = 0; r < 2; r++) {
        const bf_msg_brain_decision *e = find(&d, r ? r2 : r1, BF_DECISION_KIND_IMAGE_FACTS_ENRICHED);
        assert_non_null(e);
        assert_true(e->facts.not_analysed);
        assert_string_equal(e->facts.error.code, "fetch_status");
        assert_non_null(strstr(e->facts.error.message, "HTTP 404"));
        assert_int_equal(e->facts.n_palette, 0);
    }
    assert_int_equal(count_kind(&d, r1, BF_DECISION_KIND_IMAGE_FACTS_ENRICHED), 1);
    decisions_free(&d);
}

/* ---- per-project order under load ---- */

static void test_order_200_requests_20_projects(void **state) {
    (void)state;
    fixture f;
    start_worker(&f, NULL);
    for (int i = 0; i < 200; i++) {
        char rid[40], project[32], prompt[64];
        request_id(1000 + i, rid);
        snprintf(project, sizeof project, "p-order-%d", i % 20);
        snprintf(prompt, sizeof prompt, "Add scene number %d", i / 20);
        produce_request(&f, project, rid, prompt, NULL, 0, NULL, -1);
    }
    decisions d = read_decisions(&f, 200);
    stop_worker(&f);
    assert_int_equal(d.n, 200);
    int last[20];
    for (int p = 0; p < 20; p++) last[p] = -1;
    /* Decisions are keyed by project, so each project's land on one partition in publish order. */
    for (size_t i = 0; i < d.n; i++) {
        int seq = (int)strtol(d.d[i].request_id + 24, NULL, 10) - 1000;
        int p = (int)strtol(d.d[i].env.project_id + strlen("p-order-"), NULL, 10);
        assert_true(p >= 0 && p < 20);
        assert_int_equal(seq % 20, p);
        assert_true(seq > last[p]);
        last[p] = seq;
    }
    for (int p = 0; p < 20; p++) assert_int_equal(last[p], 180 + p);
    decisions_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_decisions_fanout_memory),
        cmocka_unit_test(test_db_down_degraded),
        cmocka_unit_test(test_late_facts_one_enrichment),
        cmocka_unit_test(test_await_uses_facts_and_deadline),
        cmocka_unit_test(test_failed_facts_release_and_explain),
        cmocka_unit_test(test_order_200_requests_20_projects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
