/* The Kafka runtime against the real broker: at-least-once with offsets stored only after the
 * handler (and its outputs) finished, poison messages to deadLetters (keyed by project, never by
 * raw key bytes), trace propagation with and without a traceparent header, the schema headers on
 * every output, per-topic budgets and parking (a topic whose messages wait for another topic
 * never starves it), and the worker's HTTP endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_runtime.h"
#include "bf_test_kafka.h"

typedef struct {
    char prefix[32], group[64];
    bf_common_cfg cfg;
    bf_log log;
    bf_metrics *metrics;
} fixture;

static void fixture_init(fixture *f, const char *const *topics, size_t n, int partitions) {
    memset(f, 0, sizeof *f);
    bf_test_unique_prefix(f->prefix, sizeof f->prefix);
    snprintf(f->group, sizeof f->group, "%sgroup", f->prefix);
    bf_test_create_topics(f->prefix, topics, n, partitions);
    snprintf(f->cfg.kafka_brokers, sizeof f->cfg.kafka_brokers, "%s", bf_test_brokers());
    snprintf(f->cfg.group_id, sizeof f->cfg.group_id, "%s", f->group);
    snprintf(f->cfg.topic_prefix, sizeof f->cfg.topic_prefix, "%s", f->prefix);
    snprintf(f->cfg.http_bind, sizeof f->cfg.http_bind, "127.0.0.1");
    f->cfg.http_port = 0;
    f->cfg.max_in_flight = 256;
    f->cfg.max_parked = 10000;
    f->cfg.shutdown_timeout_ms = 5000;
    f->cfg.poll_stall_ms = 30000;
    f->cfg.stats_interval_ms = 1000;
    bf_log_init(&f->log, stderr, "test", BF_LOG_WARN);
    f->metrics = bf_metrics_new();
}

static bf_runtime *runtime_new_n(fixture *f, const char *const *inputs, size_t n, bool http) {
    bf_runtime_opts o = {.worker = "test-worker", .cfg = &f->cfg, .input_topics = inputs, .n_inputs = n,
                         .log = &f->log, .metrics = f->metrics, .no_http = !http};
    char err[512];
    bf_runtime *rt = bf_runtime_new(&o, err, sizeof err);
    if (!rt) fail_msg("runtime: %s", err);
    return rt;
}

static bf_runtime *runtime_new(fixture *f, const char *input, bool http) {
    const char *inputs[] = {input};
    return runtime_new_n(f, inputs, 1, http);
}

static int run(bf_runtime *rt, bf_handle_result (*handle)(void *, bf_inmsg *), void (*turn)(void *), void *ctx) {
    bf_stage_ops ops = {.handle = handle, .turn = turn};
    return bf_runtime_run(rt, &ops, ctx);
}

static void topic(const fixture *f, const char *base, char *out, size_t len) {
    snprintf(out, len, "%s%s", f->prefix, base);
}

/* ---- 1. offsets are committed only after the handler finished ---- */

typedef struct {
    fixture *f;
    bf_runtime *rt;
    int seen[16];
    int n_seen;
    bf_inmsg *held;          /* offset 2, left pending */
    int64_t t_all_seen;
    int phase;
    int64_t committed_while_held, committed_after;
} hold_ctx;

static bf_handle_result hold_handle(void *c, bf_inmsg *m) {
    hold_ctx *h = c;
    h->seen[h->n_seen++] = (int)m->offset;
    if (m->offset == 2) {
        h->held = m;
        return BF_PENDING;
    }
    return BF_HANDLED;
}

static void hold_tick(void *c) {
    hold_ctx *h = c;
    bf_runtime *rt = h->rt;
    char t[128];
    topic(h->f, "in", t, sizeof t);
    if (h->phase == 0 && h->n_seen == 5) {
        h->phase = 1;
        h->t_all_seen = bf_test_now_ms();
    } else if (h->phase == 1 && bf_test_now_ms() - h->t_all_seen > 2500) {
        /* Auto-commit (1 s) has had time to run: it must not have passed the held message. */
        h->committed_while_held = bf_test_committed_offset(h->f->group, t, 0);
        bf_runtime_finish(rt, h->held);
        h->phase = 2;
        h->t_all_seen = bf_test_now_ms();
    } else if (h->phase == 2 && bf_test_now_ms() - h->t_all_seen > 2500) {
        h->committed_after = bf_test_committed_offset(h->f->group, t, 0);
        h->phase = 3;
        bf_runtime_stop(rt);
    }
}

typedef struct {
    bf_runtime *rt;
    int count;
    int64_t start;
} count_ctx;

static bf_handle_result count_handle2(void *c, bf_inmsg *m) {
    (void)m;
    ((count_ctx *)c)->count++;
    return BF_HANDLED;
}

static void count_tick(void *c) {
    count_ctx *k = c;
    if (!k->start) k->start = bf_test_now_ms();
    if (bf_test_now_ms() - k->start > 2000) bf_runtime_stop(k->rt);
}

static void test_commit_only_after_handler(void **state) {
    (void)state;
    fixture f;
    const char *topics[] = {"in", "deadLetters"};
    fixture_init(&f, topics, 2, 1);
    char t[128];
    topic(&f, "in", t, sizeof t);
    for (int i = 0; i < 5; i++) {
        char body[32];
        snprintf(body, sizeof body, "{\"n\":%d}", i);
        bf_test_produce(t, 0, "p1", body, strlen(body), NULL);
    }
    hold_ctx h = {.f = &f};
    bf_runtime *rt = h.rt = runtime_new(&f, "in", false);
    assert_int_equal(run(rt, hold_handle, hold_tick, &h), 0);
    bf_runtime_free(rt);
    assert_int_equal(h.n_seen, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(h.seen[i], i); /* each exactly once, in order */
    assert_int_equal(h.committed_while_held, 2); /* stops at the unfinished message */
    assert_int_equal(h.committed_after, 5);

    /* A new consumer in the group gets nothing: every message was handled exactly once. */
    count_ctx c = {0};
    rt = c.rt = runtime_new(&f, "in", false);
    assert_int_equal(run(rt, count_handle2, count_tick, &c), 0);
    bf_runtime_free(rt);
    assert_int_equal(c.count, 0);
    bf_metrics_free(f.metrics);
}

/* ---- 2. poison message to deadLetters, consumer moves on; trace propagation ---- */

typedef struct {
    bf_runtime *rt;
    int handled, poisoned, want;
    int64_t start;
} poison_ctx;

/* One output per input, caused by it and in its trace (the input's traceparent, which the runtime
 * took from the header or, without one, from the envelope). */
static void publish_copy(bf_runtime *rt, bf_inmsg *m) {
    bf_envelope env = {.schema = "out", .schema_version = 1, .project_id = "proj-a"};
    memcpy(env.trace_id, m->trace_id, sizeof env.trace_id);
    char *copy = malloc(m->len + 1);
    memcpy(copy, m->payload, m->len);
    assert_int_equal(bf_runtime_publish(rt, m, &env, copy, m->len), 0);
}

static bf_handle_result poison_handle(void *c, bf_inmsg *m) {
    poison_ctx *p = c;
    if (m->len >= 6 && memcmp(m->payload, "poison", 6) == 0) {
        p->poisoned++;
        bf_runtime_dead_letter(p->rt, m, "invalid_json", "payload is not JSON");
        return BF_HANDLED;
    }
    p->handled++;
    publish_copy(p->rt, m);
    return BF_HANDLED;
}

static void poison_tick(void *c) {
    poison_ctx *p = c;
    if (p->handled + p->poisoned < p->want) return;
    if (!p->start) p->start = bf_test_now_ms();
    if (bf_test_now_ms() - p->start > 1500) bf_runtime_stop(p->rt);
}

#define ENV_TRACE "0af7651916cd43dd8448eb211c80319c"

static void test_poison_and_trace(void **state) {
    (void)state;
    fixture f;
    const char *topics[] = {"in", "out", "deadLetters"};
    fixture_init(&f, topics, 3, 1);
    char in[128], out[128], dlq[128];
    topic(&f, "in", in, sizeof in);
    topic(&f, "out", out, sizeof out);
    topic(&f, "deadLetters", dlq, sizeof dlq);
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const char *hdr[] = {"traceparent", tp, NULL};
    /* An envelope produced without headers (kcat, a plain client): its trace_id must continue. */
    static const char enveloped[] =
        "{\"schema\":\"brainRequests\",\"schema_version\":1,\"event_id\":\"01907f3a-5b2c-7d1e-9f0a-1b2c3d4e5f60\","
        "\"trace_id\":\"" ENV_TRACE "\",\"project_id\":\"proj-42\",\"produced_at_ms\":1718000000000,"
        "\"producer\":\"editor\",\"payload\":{}}";
    const char *evil = "x'); DROP TABLE messages;--";
    bf_test_produce(in, 0, "proj-a", "{\"ok\":1}", 8, hdr);
    bf_test_produce(in, 0, "proj-a", "poison\xff", 7, NULL);
    bf_test_produce(in, 0, "proj-a", enveloped, strlen(enveloped), NULL);
    bf_test_produce(in, 0, evil, "poison", 6, NULL);
    poison_ctx p = {.want = 4};
    bf_runtime *rt = p.rt = runtime_new(&f, "in", false);
    assert_int_equal(run(rt, poison_handle, poison_tick, &p), 0);
    bf_runtime_free(rt);
    assert_int_equal(p.handled, 2);
    assert_int_equal(p.poisoned, 2);

    size_t n;
    bf_test_msg *d = bf_test_consume_all(dlq, 2, 500, 15000, &n);
    assert_int_equal(n, 2);
    assert_string_equal(bf_test_msg_header(&d[0], "bf-dlq-reason"), "invalid_json");
    assert_string_equal(bf_test_msg_header(&d[0], "bf-source-offset"), "1");
    assert_string_equal(bf_test_msg_header(&d[0], "bf-schema"), "deadLetters");
    assert_string_equal(bf_test_msg_header(&d[0], "bf-schema-version"), "1");
    assert_non_null(bf_test_msg_header(&d[0], "traceparent"));
    assert_non_null(strstr(d[0].payload, "\"original_payload\":\"cG9pc29u/w==\"")); /* base64("poison\xff") */
    assert_non_null(strstr(d[0].payload, "\"message\":\"payload is not JSON\""));
    assert_string_equal(d[0].key, "proj-a");
    /* The injection attempt travels on base64'd inside the letter, never as its record key. */
    assert_string_equal(d[1].key, "unknown");
    assert_non_null(strstr(d[1].payload, "\"project_id\":\"unknown\""));
    bf_test_msgs_free(d, n);

    bf_test_msg *o = bf_test_consume_all(out, 2, 500, 15000, &n);
    assert_int_equal(n, 2);
    const char *child = bf_test_msg_header(&o[0], "traceparent");
    assert_non_null(child);
    assert_memory_equal(child, tp, 35);          /* same version and trace id */
    assert_memory_not_equal(child + 36, tp + 36, 16); /* a new span */
    assert_string_equal(bf_test_msg_header(&o[0], "bf-schema"), "out");
    assert_string_equal(bf_test_msg_header(&o[0], "bf-schema-version"), "1");
    /* No header came with the second: its envelope's trace continues. */
    const char *cont = bf_test_msg_header(&o[1], "traceparent");
    assert_non_null(cont);
    assert_memory_equal(cont + 3, ENV_TRACE, 32);
    assert_string_equal(o[0].key, "proj-a");
    bf_test_msgs_free(o, n);
    bf_metrics_free(f.metrics);
}

/* ---- 2b. budgets per topic, and parking ---- */

typedef struct {
    bf_runtime *rt;
    char evt_topic[128];
    bf_inmsg *held[64];
    int n_held, held_when_sent, n_req, events;
    bool park, sent, released;
    int64_t first_held, start;
} wait_ctx;

/* "req" messages wait for the "evt" message (as brain requests wait for image facts): they stay
 * pending, parked or not, until it comes; then all finish, and later ones finish at once. */
static bf_handle_result wait_handle(void *c, bf_inmsg *m) {
    wait_ctx *w = c;
    if (strstr(m->topic, "req")) {
        w->n_req++;
        if (w->released) return BF_HANDLED;
        if (!w->first_held) w->first_held = bf_test_now_ms();
        w->held[w->n_held++] = m;
        if (w->park) bf_runtime_park(w->rt, m, true);
        return BF_PENDING;
    }
    w->events++;
    for (int i = 0; i < w->n_held; i++) bf_runtime_finish(w->rt, w->held[i]);
    w->released = true;
    return BF_HANDLED;
}

static void wait_turn(void *c) {
    wait_ctx *w = c;
    int64_t now = bf_test_now_ms();
    if (!w->start) w->start = now;
    /* The event goes out once the runtime has taken all the waiting messages it will take. */
    if (!w->sent && w->first_held && now - w->first_held > 1500) {
        w->held_when_sent = w->n_held;
        bf_test_produce(w->evt_topic, 0, "p", "{}", 2, NULL);
        w->sent = true;
    }
    /* A safety net: a stuck runtime fails the test by its counts, not by hanging it. */
    if ((w->released && w->n_req == 5 && bf_runtime_unfinished(w->rt) == 0) || now - w->start > 20000)
        bf_runtime_stop(w->rt);
}

static void run_waiters(bool park, int *held_out, int *events_out) {
    fixture f;
    const char *topics[] = {"req", "evt", "deadLetters"};
    fixture_init(&f, topics, 3, 1);
    f.cfg.max_in_flight = 2;
    f.cfg.max_parked = 100;
    char req[128];
    topic(&f, "req", req, sizeof req);
    for (int i = 0; i < 5; i++) bf_test_produce(req, 0, "p", "{}", 2, NULL);
    wait_ctx w = {.park = park};
    topic(&f, "evt", w.evt_topic, sizeof w.evt_topic);
    const char *inputs[] = {"req", "evt"};
    bf_runtime *rt = w.rt = runtime_new_n(&f, inputs, 2, false);
    assert_int_equal(run(rt, wait_handle, wait_turn, &w), 0);
    bf_runtime_free(rt);
    assert_int_equal(w.n_req, 5);
    *held_out = w.held_when_sent;
    *events_out = w.events;
    bf_metrics_free(f.metrics);
}

static void test_topic_budgets_and_parking(void **state) {
    (void)state;
    int held, events;
    /* Not parked: "req" stops at its budget of 2, and "evt", with a budget of its own, still comes
     * in and releases them. (With one shared budget the event would wait forever.) */
    run_waiters(false, &held, &events);
    assert_int_equal(events, 1);
    assert_int_equal(held, 2);
    /* Parked: waiting messages do not count, so all five are taken. */
    run_waiters(true, &held, &events);
    assert_int_equal(events, 1);
    assert_int_equal(held, 5);
}

/* ---- 3. /metrics, /healthz, /readyz ---- */

typedef struct {
    bf_runtime *rt;
    int port;
    long status[3];
    char *metrics_body;
    int done;
    int seen;
} http_ctx;

static size_t collect(char *data, size_t sz, size_t n, void *ud) {
    char **body = ud;
    size_t old = *body ? strlen(*body) : 0;
    char *nb = realloc(*body, old + sz * n + 1);
    memcpy(nb + old, data, sz * n);
    nb[old + sz * n] = '\0';
    *body = nb;
    return sz * n;
}

static long http_get(int port, const char *path, char **body) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    char *ignored = NULL;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body ? body : &ignored);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    free(ignored);
    return status;
}

static bf_handle_result http_handle(void *c, bf_inmsg *m) {
    (void)m;
    ((http_ctx *)c)->seen++;
    return BF_HANDLED;
}

static void http_tick(void *c) {
    http_ctx *h = c;
    bf_runtime *rt = h->rt;
    if (h->done || h->seen < 1) return;
    h->status[0] = http_get(h->port, "/healthz", NULL);
    h->status[1] = http_get(h->port, "/readyz", NULL);
    bf_runtime_set_dependency(rt, "postgres", false);
    h->status[2] = http_get(h->port, "/readyz", NULL);
    http_get(h->port, "/metrics", &h->metrics_body);
    h->done = 1;
    bf_runtime_stop(rt);
}

static void test_http_endpoints(void **state) {
    (void)state;
    fixture f;
    const char *topics[] = {"in", "deadLetters"};
    fixture_init(&f, topics, 2, 2);
    char in[128];
    topic(&f, "in", in, sizeof in);
    bf_test_produce(in, 1, "p", "{}", 2, NULL);
    http_ctx h = {0};
    bf_runtime *rt = h.rt = runtime_new(&f, "in", true);
    h.port = bf_runtime_http_port(rt);
    assert_true(h.port > 0);
    assert_int_equal(run(rt, http_handle, http_tick, &h), 0);
    bf_runtime_free(rt);
    assert_int_equal(h.status[0], 200);
    assert_int_equal(h.status[1], 200);
    assert_int_equal(h.status[2], 503); /* a dependency down makes the worker unready */
    assert_non_null(h.metrics_body);
    char want[200];
    snprintf(want, sizeof want, "bf_messages_in_total{topic=\"%s\"} 1", in);
    assert_non_null(strstr(h.metrics_body, want));
    assert_non_null(strstr(h.metrics_body, "# TYPE bf_processing_seconds histogram"));
    assert_non_null(strstr(h.metrics_body, "bf_consumer_lag_messages"));
    free(h.metrics_body);
    bf_metrics_free(f.metrics);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_only_after_handler),
        cmocka_unit_test(test_poison_and_trace),
        cmocka_unit_test(test_topic_budgets_and_parking),
        cmocka_unit_test(test_http_endpoints),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
