/* image-worker's stage through the fake runtime with scripted fetches: the facts published in the
 * request's trace and keyed by its project, the same event id for a redelivered request, the URL
 * and content-hash caches, each way an image can fail to be analysed (facts with the error and no
 * measurements), a failing vision model (built-in facts with the error), and what still goes to
 * deadLetters (an undecodable request, a failure of our own). */
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
#include "bf_msg_image_facts_ready.h"
#include "image_budget.h"
#include "image_config.h"
#include "image_stage.h"

#define REQ_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define REQ_TP "00-" REQ_TRACE "-00f067aa0ba902b7-01"

typedef struct pending {
    char url[512];
    bool vision;
    char if_none_match[64], if_modified_since[64];
    size_t body_len;
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
    p->body_len = req->body_len;
    snprintf(p->if_none_match, sizeof p->if_none_match, "%s", req->if_none_match ? req->if_none_match : "");
    snprintf(p->if_modified_since, sizeof p->if_modified_since, "%s",
             req->if_modified_since ? req->if_modified_since : "");
    p->cb = cb;
    p->ctx = cb_ctx;
    n->started++;
    return 0;
}

static size_t net_in_flight(void *impl) { return ((net *)impl)->n; }

/* Answers the oldest pending transfer, with validators (NULL: none). */
static void net_answer_v(net *n, bf_http_error e, long status, const char *ct, const void *body, size_t len,
                         const char *etag, const char *last_modified) {
    assert_true(n->n > 0);
    pending p = n->p[0];
    memmove(&n->p[0], &n->p[1], (n->n - 1) * sizeof p);
    n->n--;
    bf_http_response r = {.error = e, .error_msg = e == BF_HTTP_OK ? "" : "scripted failure", .status = status,
                          .body = body ? body : "", .body_len = len, .content_type = ct, .attempts = 1,
                          .etag = etag, .last_modified = last_modified};
    p.cb(&r, p.ctx);
}

static void net_answer(net *n, bf_http_error e, long status, const char *ct, const void *body, size_t len) {
    net_answer_v(n, e, status, ct, body, len, NULL, NULL);
}

/* What bf_http_client answers a conditional GET whose copy is current. */
static void net_answer_304(net *n, const char *etag, const char *last_modified) {
    assert_true(n->p[0].if_none_match[0] || n->p[0].if_modified_since[0]);
    net_answer_v(n, BF_HTTP_OK, 304, NULL, NULL, 0, etag, last_modified);
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

/* The defaults (or the vision model on), then the memory settings when budget is not 0. */
static fx *fx_new_mem(bool vision, long long budget, long long max_bytes, long long max_pixels) {
    fx *x = calloc(1, sizeof *x);
    char err[256];
    if (bf_config_load(image_cfg_vars, image_cfg_n, &x->cfg, no_env, NULL, err, sizeof err) != 0) fail_msg("%s", err);
    if (vision) {
        snprintf(x->cfg.vision_url, sizeof x->cfg.vision_url, "http://vision.test/v1/chat/completions");
        snprintf(x->cfg.vision_model, sizeof x->cfg.vision_model, "test-vision");
    }
    if (budget) {
        x->cfg.memory_budget = budget;
        x->cfg.max_image_bytes = max_bytes;
        x->cfg.max_pixels = max_pixels;
    }
    x->f = bf_fake_runtime_new(NULL);
    image_fetcher nf = {.impl = &x->net, .start = net_start, .in_flight = net_in_flight};
    x->st = image_stage_new(bf_fake_runtime_rt(x->f), &x->cfg, &nf, err, sizeof err);
    if (!x->st) fail_msg("%s", err);
    bf_stage_ops ops = image_stage_ops();
    bf_fake_runtime_set_stage(x->f, &ops, x->st);
    return x;
}

static fx *fx_new(bool vision) { return fx_new_mem(vision, 0, 0, 0); }

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
    net_answer_v(&x->net, BF_HTTP_OK, 200, "image/bmp", red, len, "\"v1\"", NULL);
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
    /* The same request redelivered: revalidated (unchanged), and the event id is the same. */
    send(x, "https://cdn.test/red.bmp", 1);
    assert_int_equal(x->net.started, 2);
    assert_string_equal(x->net.p[0].if_none_match, "\"v1\"");
    net_answer_304(&x->net, "\"v1\"", NULL);
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

/* A BMP header declaring w x h, with no pixels behind it. */
static unsigned char *bmp_header_new(int w, int h, size_t *len) {
    unsigned char *p = calloc(1, 54);
    p[0] = 'B', p[1] = 'M', p[10] = 54, p[14] = 40;
    p[18] = (unsigned char)w, p[19] = (unsigned char)(w >> 8), p[20] = (unsigned char)(w >> 16);
    p[22] = (unsigned char)h, p[23] = (unsigned char)(h >> 8), p[24] = (unsigned char)(h >> 16);
    p[26] = 1, p[28] = 24;
    *len = 54;
    return p;
}

/* Every way an image can fail to be analysed gives facts that say so: the error, no
 * measurements, the content hash only when bytes came. Published in the request's trace with the
 * same event id rule as facts, so a redelivery is recognised. */
static void failures_are_facts_with_their_reason(void **state) {
    (void)state;
    fx *x = fx_new(false);
    static const unsigned char corrupt[] = {'B', 'M', 1, 2, 3};
    size_t huge_len;
    unsigned char *huge = bmp_header_new(20000, 20000, &huge_len); /* 400 MP, above MAX_IMAGE_PIXELS */
    struct {
        bf_http_error e;
        long status;
        const char *ct;
        const void *body;
        size_t len;
        const char *code;
        bool hash;
    } cases[] = {
        {BF_HTTP_ERR_STATUS, 404, "text/html", "<h1>no</h1>", 11, "fetch_status", false},
        {BF_HTTP_ERR_TIMEOUT, 0, NULL, NULL, 0, "fetch_timeout", false},
        {BF_HTTP_ERR_BLOCKED, 0, NULL, NULL, 0, "fetch_blocked", false},
        {BF_HTTP_ERR_TOO_LARGE, 0, NULL, NULL, 0, "fetch_too_large", false},
        {BF_HTTP_ERR_CONNECT, 0, NULL, NULL, 0, "fetch_connect", false},
        {BF_HTTP_ERR_PROTOCOL, 0, NULL, NULL, 0, "fetch_protocol", false},
        {BF_HTTP_OK, 200, "text/html", "<html></html>", 13, "not_an_image", true},
        {BF_HTTP_OK, 200, "image/bmp", corrupt, sizeof corrupt, "image_corrupt", true},
        {BF_HTTP_OK, 200, "image/png", "plain text", 10, "image_unsupported", true},
        {BF_HTTP_OK, 200, "image/bmp", huge, huge_len, "image_too_large", true},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        char url[64];
        snprintf(url, sizeof url, "https://cdn.test/%zu", i);
        int64_t off = send(x, url, (int)i + 10);
        net_answer(&x->net, cases[i].e, cases[i].status, cases[i].ct, cases[i].body, cases[i].len);
        assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), i + 1);
        const bf_fake_record *r = bf_fake_nth(x->f, BF_SCHEMA_IMAGE_FACTS_READY, i);
        /* It decodes as the contract's facts of an image that could not be analysed. */
        bf_msg_image_facts_ready m;
        char err[256];
        if (bf_msg_image_facts_ready_decode(r->payload, r->len, &m, err, sizeof err) != 0) fail_msg("case %zu: %s", i, err);
        assert_true(m.facts.not_analysed);
        assert_true(m.facts.error.present);
        if (strcmp(m.facts.error.code, cases[i].code) != 0)
            fail_msg("case %zu: error %s, expected %s", i, m.facts.error.code, cases[i].code);
        assert_non_null(strstr(m.facts.error.message, url));
        assert_int_equal(m.facts.content_hash[0] != '\0', cases[i].hash);
        assert_string_equal(m.facts.image_urls.v[0], url);
        char want_request[40];
        snprintf(want_request, sizeof want_request, "0190a4b2-7c3d-4e5f-8a6b-%012d", (int)i + 10);
        assert_string_equal(m.facts.request_id, want_request);
        bf_msg_image_facts_ready_free(&m);
        cJSON *root = facts_of(r);
        cJSON *p = cJSON_GetObjectItem(root, "payload");
        assert_null(cJSON_GetObjectItem(p, "palette"));
        assert_null(cJSON_GetObjectItem(p, "width"));
        cJSON_Delete(root);
        bf_fake_ack_all(x->f);
        assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0, off), BF_FAKE_COMPLETE);
    }
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_DEAD_LETTERS), 0);
    bf_metrics *m = bf_runtime_metrics(bf_fake_runtime_rt(x->f));
    assert_true(bf_metric_value(bf_metrics_counter(m, "bf_image_failures_total", "", "reason=\"fetch_status\"")) == 1);
    /* A failure is not cached: the same URL is fetched again. */
    send(x, "https://cdn.test/0", 99);
    assert_int_equal(x->net.n, 1);
    free(huge);
    fx_free(x);
}

/* Failures of ours, not the image's, are not facts about it: they go to deadLetters. */
static void internal_fetch_failure_is_dead_lettered(void **state) {
    (void)state;
    fx *x = fx_new(false);
    int64_t off = send(x, "https://cdn.test/x.png", 1);
    net_answer(&x->net, BF_HTTP_ERR_INTERNAL, 0, NULL, NULL, 0);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 0);
    assert_string_equal(dlq_code(x, 0), "fetch_failed");
    bf_fake_ack_all(x->f);
    assert_int_equal(bf_fake_state_of(x->f, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, 0, off), BF_FAKE_COMPLETE);
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

static double metric(const fx *x, const char *name, const char *labels) {
    bf_metrics *m = bf_runtime_metrics(bf_fake_runtime_rt(x->f));
    return bf_metric_value(bf_metrics_counter(m, name, "", labels));
}

static double gauge(const fx *x, const char *name) {
    return bf_metric_value(bf_metrics_gauge(bf_runtime_metrics(bf_fake_runtime_rt(x->f)), name, "", NULL));
}

static const char *first_hex(const fx *x, size_t i) {
    static char hex[8];
    cJSON *root = facts_of(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_FACTS_READY, i));
    cJSON *pal = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "payload"), "palette");
    snprintf(hex, sizeof hex, "%s", cJSON_GetObjectItem(cJSON_GetArrayItem(pal, 0), "hex")->valuestring);
    cJSON_Delete(root);
    return hex;
}

/* A cached URL is revalidated: its validators go with the next GET, a 304 reuses the facts (no
 * decode), a changed image is analysed again and its new validators are the ones sent next. */
static void revalidation(void **state) {
    (void)state;
    fx *x = fx_new(false);
    size_t rl, bl;
    unsigned char *red = bmp_new(4, 4, 230, 20, 20, &rl), *blue = bmp_new(4, 4, 20, 20, 230, &bl);
    const char *url = "https://cdn.test/photo.bmp", *lm1 = "Tue, 14 Nov 2023 22:13:20 GMT";
    send(x, url, 1);
    assert_string_equal(x->net.p[0].if_none_match, "");
    net_answer_v(&x->net, BF_HTTP_OK, 200, "image/bmp", red, rl, "\"v1\"", lm1);
    assert_string_equal(first_hex(x, 0), "#e61414");

    send(x, url, 2);
    assert_string_equal(x->net.p[0].if_none_match, "\"v1\"");
    assert_string_equal(x->net.p[0].if_modified_since, lm1);
    net_answer_304(&x->net, "\"v1\"", lm1);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 2);
    assert_string_equal(first_hex(x, 1), "#e61414");
    cJSON *root = facts_of(bf_fake_nth(x->f, BF_SCHEMA_IMAGE_FACTS_READY, 1));
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "payload"), "request_id")->valuestring,
                        "0190a4b2-7c3d-4e5f-8a6b-000000000002");
    cJSON_Delete(root);
    assert_true(metric(x, "bf_image_analyses_total", "analyser=\"builtin\"") == 1);
    assert_true(metric(x, "bf_image_revalidated_total", NULL) == 1);

    /* The image at the URL changed: new bytes, new facts, new validators. */
    send(x, url, 3);
    assert_string_equal(x->net.p[0].if_none_match, "\"v1\"");
    net_answer_v(&x->net, BF_HTTP_OK, 200, "image/bmp", blue, bl, "\"v2\"", NULL);
    assert_string_equal(first_hex(x, 2), "#1414e6");
    assert_true(metric(x, "bf_image_analyses_total", "analyser=\"builtin\"") == 2);
    assert_true(metric(x, "bf_image_changed_total", NULL) == 1);
    send(x, url, 4);
    assert_string_equal(x->net.p[0].if_none_match, "\"v2\"");
    assert_string_equal(x->net.p[0].if_modified_since, "");
    net_answer_304(&x->net, "\"v2\"", NULL);
    assert_string_equal(first_hex(x, 3), "#1414e6");

    /* Last-Modified alone is sent alone; a server with no validators gets plain GETs (and the
     * content hash spares the analysis). */
    send(x, "https://cdn.test/lm.bmp", 5);
    net_answer_v(&x->net, BF_HTTP_OK, 200, "image/bmp", red, rl, NULL, lm1);
    send(x, "https://cdn.test/lm.bmp", 6);
    assert_string_equal(x->net.p[0].if_none_match, "");
    assert_string_equal(x->net.p[0].if_modified_since, lm1);
    net_answer_304(&x->net, NULL, NULL);
    send(x, "https://cdn.test/none.bmp", 7);
    net_answer(&x->net, BF_HTTP_OK, 200, "image/bmp", red, rl);
    send(x, "https://cdn.test/none.bmp", 8);
    assert_string_equal(x->net.p[0].if_none_match, "");
    assert_string_equal(x->net.p[0].if_modified_since, "");
    net_answer(&x->net, BF_HTTP_OK, 200, "image/bmp", red, rl);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 8);
    assert_true(metric(x, "bf_image_analyses_total", "analyser=\"builtin\"") == 2);
    /* A validator that cannot be sent back (a line break in it) is forgotten, not sent. */
    send(x, "https://cdn.test/odd.bmp", 9);
    net_answer_v(&x->net, BF_HTTP_OK, 200, "image/bmp", red, rl, "\"a\"\r\nX-Evil: 1", lm1);
    send(x, "https://cdn.test/odd.bmp", 10);
    assert_string_equal(x->net.p[0].if_none_match, "");
    assert_string_equal(x->net.p[0].if_modified_since, lm1);
    net_answer_304(&x->net, NULL, NULL);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 10);
    free(red);
    free(blue);
    fx_free(x);
}

#define MIB (1024LL * 1024)

/* Set aside for decoding 1000 pixels. */
#define DECODE_1000 (1000LL * IMAGE_DECODE_PEAK_BPP + IMAGE_DECODE_FIXED_BYTES)

/* Three images fit the budget (1 MiB each, and the decode of 1000 pixels set aside): the fourth
 * and fifth wait, unfetched, and start as soon as others end, whatever their outcome. */
static void budget_bounds_the_fetches(void **state) {
    (void)state;
    fx *x = fx_new_mem(false, 3 * MIB + DECODE_1000, MIB, 1000);
    assert_true(gauge(x, "bf_image_memory_slots") == 3);
    for (int i = 0; i < 5; i++) {
        char url[64];
        snprintf(url, sizeof url, "https://cdn.test/%d.bmp", i);
        send(x, url, i + 1);
    }
    assert_int_equal(x->net.started, 3);
    assert_true(gauge(x, "bf_image_memory_waiting") == 2);
    assert_true(gauge(x, "bf_image_memory_bytes") == 3 * MIB + DECODE_1000);
    size_t len;
    unsigned char *img = bmp_new(4, 4, 20, 200, 20, &len);
    net_answer(&x->net, BF_HTTP_OK, 200, "image/bmp", img, len);
    assert_int_equal(x->net.started, 4);
    assert_string_equal(x->net.p[x->net.n - 1].url, "https://cdn.test/3.bmp"); /* first come, first served */
    net_answer(&x->net, BF_HTTP_ERR_TIMEOUT, 0, NULL, NULL, 0);
    assert_int_equal(x->net.started, 5);
    assert_true(gauge(x, "bf_image_memory_waiting") == 0);
    while (x->net.n) net_answer(&x->net, BF_HTTP_OK, 200, "image/bmp", img, len);
    assert_int_equal(bf_fake_count(x->f, BF_SCHEMA_IMAGE_FACTS_READY), 5);
    assert_true(gauge(x, "bf_image_memory_bytes") == DECODE_1000);
    assert_true(gauge(x, "bf_image_memory_peak_bytes") == 3 * MIB + DECODE_1000);
    free(img);
    fx_free(x);
}

/* With the vision model fed data: URLs, a job keeps only the request body in flight once its
 * image is analysed, so the next image starts before the model answers. */
static void budget_vision_keeps_only_the_request(void **state) {
    (void)state;
    /* per job: base64 of 1 MiB + 4 KiB; set aside: the decode of 1000 pixels (above the 6 MiB of
     * building a vision request from 1 MiB). */
    long long per_job = (MIB + 2) / 3 * 4 + 4096;
    fx *x = fx_new_mem(true, DECODE_1000 + per_job + 65536, MIB, 1000);
    assert_true(gauge(x, "bf_image_memory_slots") == 1);
    send(x, "https://cdn.test/a.bmp", 1);
    send(x, "https://cdn.test/b.bmp", 2);
    assert_int_equal(x->net.started, 1);
    size_t len;
    unsigned char *img = bmp_new(4, 4, 20, 200, 20, &len);
    net_answer(&x->net, BF_HTTP_OK, 200, "image/bmp", img, len);
    assert_int_equal(x->net.started, 3); /* the vision call and b's fetch */
    assert_true(x->net.p[0].vision);
    assert_true(gauge(x, "bf_image_memory_bytes") == DECODE_1000 + per_job + (double)x->net.p[0].body_len);
    free(img);
    fx_free(x);
}

/* A budget that cannot hold one image is refused, with the numbers. */
static void budget_too_small_is_refused(void **state) {
    (void)state;
    image_cfg cfg;
    char err[512];
    assert_int_equal(bf_config_load(image_cfg_vars, image_cfg_n, &cfg, no_env, NULL, err, sizeof err), 0);
    cfg.memory_budget = 512 * MIB; /* the defaults need 20M + 16 x 40000000 + 16M */
    bf_fake_runtime *f = bf_fake_runtime_new(NULL);
    net n = {0};
    image_fetcher nf = {.impl = &n, .start = net_start, .in_flight = net_in_flight};
    assert_null(image_stage_new(bf_fake_runtime_rt(f), &cfg, &nf, err, sizeof err));
    assert_non_null(strstr(err, "BRAINFLEET_IMAGE_MEMORY_BUDGET: 512.0M cannot hold one image"));
    assert_non_null(strstr(err, "BRAINFLEET_MAX_IMAGE_PIXELS 40000000"));
    bf_fake_runtime_free(f);
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
        cmocka_unit_test(failures_are_facts_with_their_reason),
        cmocka_unit_test(internal_fetch_failure_is_dead_lettered),
        cmocka_unit_test(vision_failure_keeps_the_builtin_facts),
        cmocka_unit_test(invalid_request),
        cmocka_unit_test(revalidation),
        cmocka_unit_test(budget_bounds_the_fetches),
        cmocka_unit_test(budget_vision_keeps_only_the_request),
        cmocka_unit_test(budget_too_small_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
