#include "image_stage.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bf_json_check.h"
#include "bf_llm_endpoint.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_sha256.h"
#include "bf_uuid.h"
#include "image_cache.h"
#include "image_decode.h"
#include "image_facts_build.h"
#include "image_vision.h"

const char *const image_stage_inputs[] = {BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED};
const size_t image_stage_n_inputs = 1;
const char *const image_stage_outputs[] = {BF_SCHEMA_IMAGE_FACTS_READY};
const size_t image_stage_n_outputs = 1;

#define WORKER "image-worker"

struct image_stage {
    bf_runtime *rt;
    const image_cfg *cfg;
    image_fetcher net;
    bf_http_client *http; /* owned when net is ours */
    image_cache *cache;
    bf_log *log;
    bf_metrics *metrics;
    bool closing;
    struct job *jobs;
    char vision_endpoint[BF_CFG_STR_MAX + 32]; /* BRAINFLEET_VISION_URL by the one URL rule */
    char vision_auth[BF_CFG_STR_MAX + 32];
    bf_metric *m_cache_hits, *m_cache_misses, *m_analyses, *m_vision_errors, *m_fetch_seconds, *m_http_in_flight;
    bf_metric *m_cache_entries, *m_cache_bytes;
};

/* One message's journey through fetch, analysis and vision. */
typedef struct job {
    image_stage *st;
    bf_inmsg *msg;
    bf_msg_image_analysis_requested req;
    bf_image_facts facts;
    bool analysed; /* decoded and analysed here, not answered from the cache */
    struct job *prev, *next; /* the stage's jobs, so none outlives it */
} job;

static void job_free(job *j) {
    image_stage *st = j->st;
    if (j->prev) j->prev->next = j->next;
    else st->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    bf_msg_image_analysis_requested_free(&j->req);
    bf_image_facts_free(&j->facts);
    free(j);
}

/* Dead-letters the input (the reason says what failed) and finishes it. */
static void job_dead(job *j, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void job_dead(job *j, const char *code, const char *fmt, ...) {
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char labels[96];
    snprintf(labels, sizeof labels, "reason=\"%s\"", code);
    bf_metric_inc(bf_metrics_counter(j->st->metrics, "bf_image_failures_total",
                                     "Images that went to deadLetters, by reason.", labels));
    bf_runtime_dead_letter(j->st->rt, j->msg, code, why);
    bf_runtime_finish(j->st->rt, j->msg);
    job_free(j);
}

static void update_gauges(image_stage *st) {
    if (st->net.in_flight) bf_metric_set(st->m_http_in_flight, (double)st->net.in_flight(st->net.impl));
    image_cache_stats cs = image_cache_stats_get(st->cache);
    bf_metric_set(st->m_cache_entries, (double)cs.entries);
    bf_metric_set(st->m_cache_bytes, (double)cs.bytes);
}

static void cache_key(char *out, size_t len, const char *kind, const char *value) {
    snprintf(out, len, "%s:%s", kind, value);
}

/* Facts -> imageFactsReady for this request, produced with the input as cause; then finish. */
static void job_publish(job *j) {
    image_stage *st = j->st;
    bf_image_facts *f = &j->facts;
    snprintf(f->trace_id, sizeof f->trace_id, "%s", j->req.image_trace_id);
    snprintf(f->request_id, sizeof f->request_id, "%s", j->req.request_id);
    f->processing_ms = bf_runtime_now(st->rt) - j->msg->received_ms;
    char err[512];
    bf_msg_image_facts_ready out = {.facts = *f};
    char *json = NULL;
    if (bf_envelope_init(&out.env, BF_SCHEMA_IMAGE_FACTS_READY, j->req.env.project_id, j->msg->traceparent, WORKER,
                         bf_runtime_wall(st->rt), err, sizeof err) == 0) {
        /* A redelivered request (we crashed or lost the partition before its offset was stored)
         * must give the same event, or memory-writer's ledger would take the second as new and
         * count the image's evidence for the project's preferences twice. */
        char name[BF_UUID_LEN + 32];
        snprintf(name, sizeof name, "imageFactsReady:%s", j->req.env.event_id);
        bf_uuid_v7_derived(j->req.env.produced_at_ms, name, out.env.event_id);
        json = bf_msg_image_facts_ready_encode(&out, err, sizeof err);
    }
    if (!json) {
        /* Our own facts failing our own contract is a bug, but the input must not vanish. */
        job_dead(j, "facts_invalid", "built facts rejected by the imageFactsReady contract: %s", err);
        return;
    }
    bf_runtime_publish(st->rt, j->msg, &out.env, json, strlen(json));
    /* Analyses done, not facts published: a cache answer is counted as a hit, not again here. */
    if (j->analysed)
        bf_metric_inc(f->analyser == BF_ANALYSER_BUILTIN_VISION
                      ? bf_metrics_counter(st->metrics, "bf_image_analyses_total", "Images analysed, by analyser.",
                                           "analyser=\"builtin+vision\"")
                      : st->m_analyses);
    /* Cache the facts for these bytes and this URL (per-request fields are overwritten on reuse). */
    cJSON *fj = bf_image_facts_to_json(f);
    char *text = fj ? cJSON_PrintUnformatted(fj) : NULL;
    cJSON_Delete(fj);
    if (text && !f->error.present) {
        char key[BF_URL_MAX + 16];
        int64_t now = bf_runtime_now(st->rt);
        cache_key(key, sizeof key, "hash", f->content_hash);
        image_cache_put(st->cache, key, text, strlen(text) + 1, now);
        cache_key(key, sizeof key, "url", j->req.url);
        image_cache_put(st->cache, key, text, strlen(text) + 1, now);
    }
    free(text);
    bf_runtime_finish(st->rt, j->msg);
    job_free(j);
    update_gauges(st);
}

/* Restores cached facts into j->facts. Returns 0 on a hit. */
static int cache_lookup(job *j, const char *kind, const char *value) {
    char key[BF_URL_MAX + 16];
    cache_key(key, sizeof key, kind, value);
    size_t len;
    const char *text = image_cache_get(j->st->cache, key, &len, bf_runtime_now(j->st->rt));
    bf_metric_inc(text ? j->st->m_cache_hits : j->st->m_cache_misses);
    if (!text) return -1;
    char err[256];
    cJSON *root = bf_json_parse(text, len - 1, BF_MSG_MAX_BYTES, BF_MSG_MAX_DEPTH, err, sizeof err);
    bf_jc c;
    bf_jc_init(&c, err, sizeof err);
    int rc = root ? bf_image_facts_read(&c, root, &j->facts) : -1;
    cJSON_Delete(root);
    if (rc != 0) return -1;
    /* This request's own URL heads the list of sources of these bytes. */
    bf_strlist_free(&j->facts.image_urls);
    j->facts.image_urls.v = calloc(1, sizeof(char *));
    if (!j->facts.image_urls.v || !(j->facts.image_urls.v[0] = strdup(j->req.url))) return -1;
    j->facts.image_urls.n = 1;
    return 0;
}

static void on_vision(const bf_http_response *res, void *ctx) {
    job *j = ctx;
    if (j->st->closing) {
        job_free(j);
        return;
    }
    char err[512] = "";
    if (res->error != BF_HTTP_OK) {
        snprintf(err, sizeof err, "vision call %s after %d attempt%s: %s", bf_http_error_name(res->error),
                 res->attempts, res->attempts == 1 ? "" : "s", res->error_msg);
    } else if (image_vision_parse(res->body, res->body_len, &j->facts, err, sizeof err) == 0) {
        j->facts.analyser = BF_ANALYSER_BUILTIN_VISION;
        j->facts.model = strdup(j->st->cfg->vision_model);
        job_publish(j);
        return;
    }
    /* The pipeline never waits on the vision model: built-in facts go out with the error. */
    bf_metric_inc(j->st->m_vision_errors);
    bf_log_write(j->st->log, BF_LOG_WARN, j->msg->trace_id, NULL, "vision failed, publishing built-in facts: %s", err);
    j->facts.error.present = true;
    snprintf(j->facts.error.code, sizeof j->facts.error.code, "vision_failed");
    j->facts.error.message = strndup(err, BF_TEXT_MAX);
    job_publish(j);
}

static void start_vision(job *j, const void *bytes, size_t len, image_format fmt) {
    image_stage *st = j->st;
    char mime[32];
    snprintf(mime, sizeof mime, "image/%s", image_format_name(fmt));
    char *ref = strcmp(st->cfg->vision_image_mode, "url") == 0 ? strdup(j->req.url)
                                                                 : image_vision_data_url_new(bytes, len, mime);
    char *body = ref ? image_vision_request_new(st->cfg->vision_model, ref) : NULL;
    free(ref);
    const char *headers[] = {"Content-Type: application/json", st->vision_auth};
    bf_http_request req = {.method = "POST", .url = st->vision_endpoint, .headers = headers,
                           .n_headers = st->vision_auth[0] ? 2 : 1, .body = body, .body_len = body ? strlen(body) : 0,
                           .timeout_ms = (long)st->cfg->vision_timeout_ms,
                           .retry = {.max_attempts = (int)st->cfg->vision_attempts, .base_ms = 250,
                                     .max_ms = (long)st->cfg->vision_retry_max_ms}};
    char err[256] = "out of memory";
    int rc = body ? st->net.start(st->net.impl, &req, on_vision, j, err, sizeof err) : -1;
    free(body);
    if (rc != 0) {
        bf_http_response fake = {.error = BF_HTTP_ERR_INTERNAL, .error_msg = err, .attempts = 0, .body = ""};
        on_vision(&fake, j);
    }
}

static bool content_type_ok(const char *ct) {
    /* Servers label images loosely; the magic bytes decide. Only a declared non-image type (an
     * HTML error page, JSON) is refused early with a clear reason. */
    return !ct || strncasecmp(ct, "image/", 6) == 0 || strncasecmp(ct, "application/octet-stream", 24) == 0 ||
           strncasecmp(ct, "binary/octet-stream", 19) == 0;
}

static const char *fetch_code(bf_http_error e) {
    switch (e) {
    case BF_HTTP_ERR_STATUS: return "fetch_status";
    case BF_HTTP_ERR_TIMEOUT: return "fetch_timeout";
    case BF_HTTP_ERR_CONNECT: return "fetch_connect";
    case BF_HTTP_ERR_TOO_LARGE: return "fetch_too_large";
    case BF_HTTP_ERR_BLOCKED: return "fetch_blocked";
    case BF_HTTP_ERR_PROTOCOL: return "fetch_protocol";
    default: return "fetch_failed";
    }
}

static void on_fetched(const bf_http_response *res, void *ctx) {
    job *j = ctx;
    image_stage *st = j->st;
    if (st->closing) {
        job_free(j);
        return;
    }
    bf_metric_observe(st->m_fetch_seconds, (double)res->elapsed_ms / 1000.0);
    if (res->error != BF_HTTP_OK) {
        if (res->error == BF_HTTP_ERR_STATUS)
            job_dead(j, "fetch_status", "GET %s answered HTTP %ld after %d attempt%s", j->req.url, res->status,
                     res->attempts, res->attempts == 1 ? "" : "s");
        else
            job_dead(j, fetch_code(res->error), "GET %s: %s", j->req.url, res->error_msg);
        return;
    }
    if (!content_type_ok(res->content_type)) {
        job_dead(j, "not_an_image", "GET %s returned content type '%s', not an image", j->req.url, res->content_type);
        return;
    }
    char hash[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex(res->body, res->body_len, hash);
    if (cache_lookup(j, "hash", hash) == 0) {
        job_publish(j);
        return;
    }
    image_decode_limits lim = {.max_pixels = (uint64_t)st->cfg->max_pixels};
    image_decode_status ds;
    char err[512];
    image_rgb *img = image_decode_new(res->body, res->body_len, &lim, &ds, err, sizeof err);
    if (!img) {
        job_dead(j, image_decode_status_code(ds), "%s: %s", j->req.url, err);
        return;
    }
    int rc = image_facts_build(img, hash, j->req.url, &j->facts, err, sizeof err);
    j->analysed = rc == 0;
    image_format fmt = img->format;
    image_rgb_free(img);
    if (rc != 0) {
        job_dead(j, "analysis_failed", "%s: %s", j->req.url, err);
        return;
    }
    if (st->cfg->vision_url[0]) start_vision(j, res->body, res->body_len, fmt);
    else job_publish(j);
}

static bf_handle_result handle(void *ctx, bf_inmsg *msg) {
    image_stage *st = ctx;
    bf_runtime *rt = st->rt;
    job *j = calloc(1, sizeof *j);
    if (!j) {
        bf_runtime_dead_letter(rt, msg, "out_of_memory", "image-worker could not allocate a job");
        return BF_HANDLED;
    }
    j->st = st;
    j->msg = msg;
    j->next = st->jobs;
    if (st->jobs) st->jobs->prev = j;
    st->jobs = j;
    char err[512];
    if (bf_msg_image_analysis_requested_decode(msg->payload, msg->len, &j->req, err, sizeof err) != 0) {
        job_free(j);
        bf_runtime_dead_letter(rt, msg, "invalid_message", err);
        return BF_HANDLED;
    }
    if (cache_lookup(j, "url", j->req.url) == 0) {
        job_publish(j);
        return BF_PENDING; /* job_publish finished it */
    }
    bf_http_request req = {.url = j->req.url, .timeout_ms = (long)st->cfg->fetch_timeout_ms,
                           .max_response_bytes = (size_t)st->cfg->max_image_bytes,
                           .retry = {.max_attempts = 3, .base_ms = 200, .max_ms = 5000}};
    if (st->net.start(st->net.impl, &req, on_fetched, j, err, sizeof err) != 0) {
        job_dead(j, "fetch_failed", "cannot start GET %s: %s", j->req.url, err);
        return BF_PENDING;
    }
    update_gauges(st);
    return BF_PENDING;
}

bf_stage_ops image_stage_ops(void) { return (bf_stage_ops){.handle = handle}; }

static int http_start(void *impl, const bf_http_request *req, bf_http_done_fn cb, void *cb_ctx, char *err,
                      size_t errlen) {
    return bf_http_request_start(impl, req, cb, cb_ctx, err, errlen);
}

static size_t http_in_flight(void *impl) { return bf_http_client_in_flight(impl); }

image_stage *image_stage_new(bf_runtime *rt, const image_cfg *cfg, const image_fetcher *net, char *err,
                             size_t errlen) {
    if (cfg->vision_url[0] && !cfg->vision_model[0]) {
        snprintf(err, errlen, "BRAINFLEET_VISION_MODEL: required when BRAINFLEET_VISION_URL is set");
        return NULL;
    }
    image_stage *st = calloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    st->rt = rt;
    st->cfg = cfg;
    if (cfg->vision_url[0] && bf_llm_chat_url(cfg->vision_url, st->vision_endpoint, sizeof st->vision_endpoint) != 0) {
        snprintf(err, errlen, "BRAINFLEET_VISION_URL: too long for a chat-completions endpoint");
        free(st);
        return NULL;
    }
    st->log = bf_runtime_log(rt);
    st->metrics = bf_runtime_metrics(rt);
    bf_metrics *metrics = st->metrics;
    bf_http_client_opts o = {.max_concurrent = (size_t)cfg->fetch_concurrency,
                             .connect_timeout_ms = (long)cfg->connect_timeout_ms,
                             .timeout_ms = (long)cfg->fetch_timeout_ms,
                             .max_response_bytes = (size_t)cfg->max_image_bytes,
                             .max_redirects = (long)cfg->max_redirects,
                             .net_guard = true,
                             .allow_cidrs = cfg->allow_cidrs};
    char herr[512];
    if (net) {
        st->net = *net;
    } else {
        st->http = bf_http_client_new(bf_runtime_loop(rt), &o, herr, sizeof herr);
        /* The only option a user can get wrong here is the allow-list: name it. */
        if (!st->http) {
            snprintf(err, errlen, "BRAINFLEET_FETCH_ALLOW_CIDRS: %s", herr);
            image_stage_free(st);
            return NULL;
        }
        st->net = (image_fetcher){.impl = st->http, .start = http_start, .in_flight = http_in_flight};
    }
    st->cache = image_cache_new((size_t)cfg->cache_entries, (size_t)cfg->cache_bytes, cfg->cache_ttl_ms);
    if (!st->cache) {
        snprintf(err, errlen, "out of memory");
        image_stage_free(st);
        return NULL;
    }
    if (cfg->vision_api_key[0]) snprintf(st->vision_auth, sizeof st->vision_auth, "Authorization: Bearer %s", cfg->vision_api_key);
    st->m_cache_hits = bf_metrics_counter(metrics, "bf_image_cache_hits_total",
                                          "Analysis cache lookups answered (by URL or content hash).", NULL);
    st->m_cache_misses = bf_metrics_counter(metrics, "bf_image_cache_misses_total", "Analysis cache lookups missed.", NULL);
    st->m_analyses = bf_metrics_counter(metrics, "bf_image_analyses_total", "Images analysed, by analyser.",
                                        "analyser=\"builtin\"");
    st->m_vision_errors = bf_metrics_counter(metrics, "bf_image_vision_errors_total",
                                             "Vision calls that failed for good (built-in facts published instead).", NULL);
    st->m_fetch_seconds = bf_metrics_histogram(metrics, "bf_image_fetch_seconds", "Image download time, retries included.",
                                               NULL, bf_metrics_latency_bounds, bf_metrics_latency_n);
    st->m_http_in_flight = bf_metrics_gauge(metrics, "bf_image_http_in_flight", "Downloads and vision calls in flight.", NULL);
    st->m_cache_entries = bf_metrics_gauge(metrics, "bf_image_cache_entries",
                                           "Analyses and URLs in the cache (bound: BRAINFLEET_CACHE_ENTRIES).", NULL);
    st->m_cache_bytes = bf_metrics_gauge(metrics, "bf_image_cache_bytes",
                                         "Bytes of cached analyses (bound: BRAINFLEET_CACHE_BYTES).", NULL);
    return st;
}

void image_stage_free(image_stage *st) {
    if (!st) return;
    /* Callbacks of transfers still pending run inside bf_http_client_free; closing makes them
     * drop their jobs without touching the stopped runtime. */
    st->closing = true;
    bf_http_client_free(st->http);
    while (st->jobs) job_free(st->jobs); /* a fetcher of the caller's may not have cancelled them */
    image_cache_free(st->cache);
    free(st);
}
