/* image-worker's stage through the fake runtime with scripted fetches: the facts published in the
 * request's trace and keyed by its project, the same event id for a redelivered request, the URL
 * and content-hash caches, and each failure path (HTTP status, timeout, not an image, corrupt
 * bytes, an undecodable answer, a failing vision model) with its dead-letter reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_fake_runtime.h"
#include "bf_msg_image_analysis_requested.h"
#include "image_config.h"
#include "image_stage.h"

#define REQ_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define REQ_TP "00-" REQ_TRACE "-00f067aa0ba902b7-01"

typedef struct pending {
    char url[512];
    bool vision;
    bf_http_done_fn cb;
    void *ctx;
} pending;

typedef struct net {
    pending p[32];
    size_t n, started;
} net;

static int net_start(void *impl, const bf_http_request *req, bf_http_done_fn cb, void *cb_ctx, char *err,
                     size_t errlen) {
    (void)err, (void)errlen;
    net *n = impl;
    pending *p = &n->p[n->n++];
    snprintf(p->url, sizeof p->url, "%s", req->url);
    p->vision = req->body != NULL;
    p->cb = cb;
    p->ctx = cb_ctx;
    n->started++;
    return 0;
}

static size_t net_in_flight(void *impl) { return ((net *)impl)->n; }

/* Answers the oldest pending transfer. */
static void net_answer(net *n, bf_http_error e, long status, const char *ct, const void *body, size_t len) {
    assert_true(n->n > 0);
    pending p = n->p[0];
    memmove(&n->p[0], &n->p[1], (n->n - 1) * sizeof p);
    n->n--;
    bf_http_response r = {.error = e, .error_msg = e == BF_HTTP_OK ? "" : "scripted failure", .status = status,
                          .body = body ? body : "", .body_len = len, .content_type = ct, .attempts = 1};
    p.cb(&r, p.ctx);
}

/* A w x h 24-bit BMP of one colour (malloc'd). */
static unsigned char *bmp_new(int w, int h, unsigned char r, unsigned char g, unsigned char b, size_t *len) {
    size_t row = ((size_t)w * 3 + 3) & ~(size_t)3, size = 54 + row * (size_t)h;
    unsigned char *p = calloc(1, size);
    p[0] = 'B', p[1] = 'M';
    p[2] = (unsigned char)size, p[3] = (unsigned char)(size >> 8), p[4] = (unsigned char)(size >> 16);
    p[10] = 54, p[14] = 40;
    p[18] = (unsigned char)w, p[19] = (unsigned char)(w >> 8);
    p[22] = (unsigned char)h, p[23] = (unsigned char)(h >> 8);
    p[26] = 1, p[28] = 24;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *px = p + 54 + row * (size_t)y + (size_t)x * 3;
            px[0] = b, px[1] = g, px[2] = r;
        }
    *len = size;
    return p;
}

typedef struct fx {
    bf_fake_runtime *f;
    image_cfg cfg;
    net net;
    image_stage *st;
} fx;

static const char *no_env(const char *name, void *ctx) {
    (void)name, (void)ctx;
    return NULL;
}

static fx *fx_new(bool vision) {
    fx *x = calloc(1, sizeof *x);
    char err[256];
    if (bf_config_load(image_cfg_vars, image_cfg_n, &x->cfg, no_env, NULL, err, sizeof err) != 0) fail_msg("%s", err);
    if (vision) {
        snprintf(x->cfg.vision_url, sizeof x->cfg.vision_url, "http://vision.test/v1/chat/completions");
        snprintf(x->cfg.vision_model, sizeof x->cfg.vision_model, "test-vision");
    }
    x->f = bf_fake_runtime_new(NULL);
    image_fetcher nf = {.impl = &x->net, .start = net_start, .in_flight = net_in_flight};
    x->st = image_stage_new(bf_fake_runtime_rt(x->f), &x->cfg, &nf, err, sizeof err);
    if (!x->st) fail_msg("%s", err);
    bf_stage_ops ops = image_stage_ops();
    bf_fake_runtime_set_stage(x->f, &ops, x->st);
    return x;
}

static void fx_free(fx *x) {
    image_stage_free(x->st);
    bf_fake_runtime_free(x->f);
    free(x);
}

/* An imageAnalysisRequested for url; event id fixed by n (a redelivery reuses n). */
static int64_t send(fx *x, const char *url, int n) {
    bf_msg_image_analysis_requested m;
    memset(&m, 0, sizeof m);
    char err[256];
    if (bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, "proj-7", REQ_TP, "brain-worker",
                         1767225600000LL + n, err, sizeof err) != 0)
        fail_msg("%s", err);
    snprintf(m.env.event_id, sizeof m.env.event_id, "01907f3a-5b2c-7d1e-9f0a-%012d", n);
    snprintf(m.request_id, sizeof m.request_id, "0190a4b2-7c3d-4e5f-8a6b-%012d", n);
    snprintf(m.image_trace_id, sizeof m.image_trace_id, "9a3c1f0e5b7d4e2f8a6b0c1d2e3f%04d", n);
    m.url = (char *)url;
    char *json = bf_msg_image_analysis_requested_encode(&m, err, sizeof err);
    if (!json) fail_msg("%s", err);
    int64_t off = bf_fake_deliver(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0, "proj-7", json, REQ_TP);
    free(json);
    return off;
}

static cJSON *facts_of(const bf_fake_record *r) {
    assert_non_null(r);
    assert_string_equal(r->key, "proj-7");
    assert_string_equal(r->schema, "imageFactsReady");
    assert_memory_equal(r->traceparent + 3, REQ_TRACE, 32);
    cJSON *root = cJSON_Parse(r->payload);
    assert_non_null(root);
    return root;
}

static const char *dlq_code(const fx *x, size_t i) {
    static char code[64];
    const bf_fake_record *r = bf_fake_nth(x->f, BF_SCHEMA_DEAD_LETTERS, i);
    assert_non_null(r);
    cJSON *root = cJSON_Parse(r->payload);
    snprintf(code, sizeof code, "%s",
             cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "payload"), "reason"), "code")->valuestring);
    cJSON_Delete(root);
    return code;
}

static void facts_for_a_fetched_image(void **state) {
    (void)state;
    fx *x = fx_new(false);
    size_t len;
    unsigned char *red = bmp_new(8, 4, 230, 20, 20, &len);
    int64_t off = send(x, "https://cdn.test/red.bmp", 1);
    assert_int_equal(x->net.n, 1);
    assert_string_equal(x->net.p[0].url, "https://cdn.test/red.bmp");
    net_answer(&x->net, BF_HTTP_OK, 200, "image/bmp", red, len);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 1);
    cJSON *root = facts_of(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_FACTS_READY, 0));
    cJSON *p = cJSON_GetObjectItem(root, "payload");
    assert_int_equal(cJSON_GetObjectItem(p, "width")->valueint, 8);
    assert_string_equal(cJSON_GetObjectItem(p, "orientation")->valuestring, "landscape");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "palette"), 0), "hex")->valuestring,
                        "#e61414");
    char event[40];
    snprintf(event, sizeof event, "%s", cJSON_GetObjectItem(root, "event_id")->valuestring);
    cJSON_Delete(root);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0, off), BF_FAKE_UNACKED);
    bf_fake_ack_all(x->f);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0, off), BF_FAKE_COMPLETE);
    /* The same request redelivered: the URL cache answers, and the event id is the same. */
    send(x, "https://cdn.test/red.bmp", 1);
    assert_int_equal(x->net.started, 1);
    root = facts_of(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_FACTS_READY, 1));
    assert_string_equal(cJSON_GetObjectItem(root, "event_id")->valuestring, event);
    cJSON_Delete(root);
    free(red);
    fx_free(x);
}

/* The same bytes at another URL: fetched (the URL is new) but answered from the content hash. */
static void same_bytes_other_url(void **state) {
    (void)state;
    fx *x = fx_new(false);
    size_t len;
    unsigned char *img = bmp_new(4, 8, 20, 20, 230, &len);
    send(x, "https://cdn.test/a.bmp", 1);
    net_answer(&x->net, BF_HTTP_OK, 200, NULL, img, len);
    send(x, "https://cdn.test/b.bmp", 2);
    assert_int_equal(x->net.started, 2);
    net_answer(&x->net, BF_HTTP_OK, 200, "application/octet-stream", img, len);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 2);
    bf_metrics *m = bf_runtime_metrics(bf_fake_runtime_rt(x->f));
    assert_true(bf_metric_value(bf_metrics_counter(m, "bf_image_cache_hits_total", "", NULL)) >= 1);
    assert_true(bf_metric_value(bf_metrics_counter(m, "bf_image_analyses_total", "", "analyser=\"builtin\"")) == 1);
    cJSON *root = facts_of(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_FACTS_READY, 1));
    cJSON *urls = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "payload"), "image_urls");
    assert_string_equal(cJSON_GetArrayItem(urls, 0)->valuestring, "https://cdn.test/b.bmp");
    cJSON_Delete(root);
    free(img);
    fx_free(x);
}

static void failures_are_dead_lettered_with_their_reason(void **state) {
    (void)state;
    fx *x = fx_new(false);
    static const unsigned char corrupt[] = {'B', 'M', 1, 2, 3};
    struct {
        bf_http_error e;
        long status;
        const char *ct;
        const void *body;
        size_t len;
        const char *code;
    } cases[] = {
        {BF_HTTP_ERR_STATUS, 404, "text/html", "<h1>no</h1>", 11, "fetch_status"},
        {BF_HTTP_ERR_TIMEOUT, 0, NULL, NULL, 0, "fetch_timeout"},
        {BF_HTTP_ERR_BLOCKED, 0, NULL, NULL, 0, "fetch_blocked"},
        {BF_HTTP_ERR_TOO_LARGE, 0, NULL, NULL, 0, "fetch_too_large"},
        {BF_HTTP_OK, 200, "text/html", "<html></html>", 13, "not_an_image"},
        {BF_HTTP_OK, 200, "image/bmp", corrupt, sizeof corrupt, "image_corrupt"},
        {BF_HTTP_OK, 200, "image/png", "plain text", 10, "image_unsupported"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[64];
        snprintf(url, sizeof url, "https://cdn.test/%zu", i);
        int64_t off = send(x, url, (int)i + 10);
        net_answer(&x->net, cases[i].e, cases[i].status, cases[i].ct, cases[i].body, cases[i].len);
        assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_DEAD_LETTERS), i + 1);
        if (strcmp(dlq_code(x, i), cases[i].code) != 0)
            fail_msg("case %zu: dead letter %s, expected %s", i, dlq_code(x, i), cases[i].code);
        assert_string_equal(bf_fake_nth(x->f, BF_SCHEMA_DEAD_LETTERS, i)->key, "proj-7");
        bf_fake_ack_all(x->f);
        assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0, off), BF_FAKE_COMPLETE);
    }
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 0);
    /* A failure is not cached: the same URL is fetched again. */
    send(x, "https://cdn.test/0", 99);
    assert_int_equal(x->net.n, 1);
    fx_free(x);
}

static void vision_failure_keeps_the_builtin_facts(void **state) {
    (void)state;
    fx *x = fx_new(true);
    size_t len;
    unsigned char *img = bmp_new(4, 4, 250, 250, 250, &len);
    send(x, "https://cdn.test/white.bmp", 1);
    net_answer(&x->net, BF_HTTP_OK, 200, "image/bmp", img, len);
    assert_int_equal(x->net.n, 1);
    assert_true(x->net.p[0].vision);
    net_answer(&x->net, BF_HTTP_ERR_STATUS, 500, "application/json", "{}", 2);
    cJSON *root = facts_of(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_FACTS_READY, 0));
    cJSON *p = cJSON_GetObjectItem(root, "payload");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "error"), "code")->valuestring, "vision_failed");
    assert_string_equal(cJSON_GetObjectItem(p, "analyser")->valuestring, "builtin");
    cJSON_Delete(root);
    free(img);
    fx_free(x);
}

static void invalid_request(void **state) {
    (void)state;
    fx *x = fx_new(false);
    bf_fake_deliver(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0, "x'); DROP TABLE messages;--", "[]", NULL);
    assert_int_equal(x->net.started, 0);
    assert_string_equal(dlq_code(x, 0), "invalid_message");
    assert_string_equal(bf_fake_nth(x->f, BF_SCHEMA_DEAD_LETTERS, 0)->key, "unknown");
    fx_free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(facts_for_a_fetched_image),
        cmocka_unit_test(same_bytes_other_url),
        cmocka_unit_test(failures_are_dead_lettered_with_their_reason),
        cmocka_unit_test(vision_failure_keeps_the_builtin_facts),
        cmocka_unit_test(invalid_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
