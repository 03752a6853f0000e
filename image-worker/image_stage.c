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
#include "image_budget.h"
#include "image_cache.h"
#include "image_decode.h"
#include "image_facts_build.h"
#include "image_url_entry.h"
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
    /* The memory budget (image_budget.h): jobs take plan.per_job before their fetch starts; the
     * ones that cannot wait here, in arrival order, unfetched. */
    image_budget_plan plan;
    image_budget budget;
    struct job *wait_head, *wait_tail;
    size_t n_waiting;
    bool pumping;
    char vision_endpoint[BF_CFG_STR_MAX + 32]; /* BRAINFLEET_VISION_URL by the one URL rule */
    char vision_auth[BF_CFG_STR_MAX + 32];
    bf_metric *m_cache_hits, *m_cache_misses, *m_analyses, *m_vision_errors, *m_fetch_seconds, *m_http_in_flight;
    bf_metric *m_cache_entries, *m_cache_bytes;
    bf_metric *m_mem_bytes, *m_mem_peak, *m_mem_waiting, *m_revalidated, *m_changed;
};

/* One message's journey through fetch, analysis and vision. */
typedef struct job {
    image_stage *st;
    bf_inmsg *msg;
    bf_msg_image_analysis_requested req;
    bf_image_facts facts;
    bool analysed; /* decoded and analysed here, not answered from the cache */
    uint64_t held; /* bytes of the budget this job holds */
    /* The URL's cache entry when there was one: the validators the fetch sends and the facts a
     * 304 reuses (copies: the cache may evict the entry meanwhile). */
    char *cached_etag, *cached_last_modified, *cached_facts;
    /* The validators of the response the facts come from, for the URL's next entry. */
    char *etag, *last_modified;
    struct job *prev, *next; /* the stage's jobs, so none outlives it */
    struct job *wnext;       /* waiting for the budget */
} job;

static void start_fetch(job *j);
static void update_gauges(image_stage *st);

/* Starts the fetches of waiting jobs while the budget takes them, first come first served. */
static void pump_waiting(image_stage *st) {
    if (st->pumping || st->closing) return;
    st->pumping = true;
    while (st->wait_head && image_budget_take(&st->budget, st->plan.per_job)) {
        job *j = st->wait_head;
        st->wait_head = j->wnext;
        if (!st->wait_head) st->wait_tail = NULL;
        st->n_waiting--;
        j->wnext = NULL;
        j->held = st->plan.per_job;
        start_fetch(j);
    }
    st->pumping = false;
    update_gauges(st);
}

/* Gives back what j holds beyond keep bytes, and lets waiting jobs have them. */
static void job_hold(job *j, uint64_t keep) {
    if (keep >= j->held) return;
    image_budget_give(&j->st->budget, j->held - keep);
    j->held = keep;
    pump_waiting(j->st);
}

static void job_free(job *j) {
    image_stage *st = j->st;
    if (j->prev) j->prev->next = j->next;
    else st->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    job_hold(j, 0);
    bf_msg_image_analysis_requested_free(&j->req);
    bf_image_facts_free(&j->facts);
    free(j->cached_etag);
    free(j->cached_last_modified);
    free(j->cached_facts);
    free(j->etag);
    free(j->last_modified);
    free(j);
}

/* Dead-letters the input (the reason says what failed) and finishes it: only for what is not about
 * the image (an input that is not a request, our own failures); an image that cannot be
 * analysed gets facts that say why (job_failed). */
static void job_dead(job *j, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void job_dead(job *j, const char *code, const char *fmt, ...) {
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    char labels[96];
    snprintf(labels, sizeof labels, "reason=\"%s\"", code);
    bf_metric_inc(bf_metrics_counter(j->st->metrics, "bf_image_dead_letters_total",
                                     "Requests image-worker sent to deadLetters (not about the image), by reason.",
                                     labels));
    bf_runtime_dead_letter(j->st->rt, j->msg, code, why);
    bf_runtime_finish(j->st->rt, j->msg);
    job_free(j);
}

static void update_gauges(image_stage *st) {
    if (st->closing) return;
    if (st->net.in_flight) bf_metric_set(st->m_http_in_flight, (double)st->net.in_flight(st->net.impl));
    image_cache_stats cs = image_cache_stats_get(st->cache);
    bf_metric_set(st->m_cache_entries, (double)cs.entries);
    bf_metric_set(st->m_cache_bytes, (double)cs.bytes);
    bf_metric_set(st->m_mem_bytes, (double)(st->budget.used + st->plan.transient));
    bf_metric_set(st->m_mem_peak, (double)(st->budget.peak + st->plan.transient));
    bf_metric_set(st->m_mem_waiting, (double)st->n_waiting);
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
    /* Cache the facts for these bytes, and for this URL with the validators of the response they
     * come from (per-request fields are overwritten on reuse). Facts with an error are not: the
     * next request tries again. */
    cJSON *fj = f->error.present ? NULL : bf_image_facts_to_json(f);
    char *text = fj ? cJSON_PrintUnformatted(fj) : NULL;
    cJSON_Delete(fj);
    if (text) {
        char key[BF_URL_MAX + 16];
        int64_t now = bf_runtime_now(st->rt);
        cache_key(key, sizeof key, "hash", f->content_hash);
        image_cache_put(st->cache, key, text, strlen(text) + 1, now);
        size_t len;
        char *entry = j->etag || j->last_modified ? image_url_entry_new(j->etag, j->last_modified, text, &len) : NULL;
        if (entry) {
            cache_key(key, sizeof key, "url", j->req.url);
            image_cache_put(st->cache, key, entry, len, now);
        }
        free(entry);
    }
    free(text);
    bf_runtime_finish(st->rt, j->msg);
    job_free(j);
    update_gauges(st);
}

/* Cached facts (JSON text) into j->facts, this request's URL heading their sources. Returns 0, or
 * -1 when they do not read (then j->facts is empty). */
static int facts_restore(job *j, const char *text, size_t len) {
    char err[256];
    cJSON *root = bf_json_parse(text, len, BF_MSG_MAX_BYTES, BF_MSG_MAX_DEPTH, err, sizeof err);
    bf_jc c;
    bf_jc_init(&c, err, sizeof err);
    int rc = root ? bf_image_facts_read(&c, root, &j->facts) : -1;
    cJSON_Delete(root);
    if (rc != 0) return -1;
    bf_strlist_free(&j->facts.image_urls);
    j->facts.image_urls.v = calloc(1, sizeof(char *));
    if (!j->facts.image_urls.v || !(j->facts.image_urls.v[0] = strdup(j->req.url))) return -1;
    j->facts.image_urls.n = 1;
    return 0;
}

/* The facts cached for these bytes into j->facts. Returns 0 on a hit. */
static int hash_lookup(job *j, const char *hash) {
    char key[BF_URL_MAX + 16];
    cache_key(key, sizeof key, "hash", hash);
    size_t len;
    const char *text = image_cache_get(j->st->cache, key, &len, bf_runtime_now(j->st->rt));
    bf_metric_inc(text ? j->st->m_cache_hits : j->st->m_cache_misses);
    return text ? facts_restore(j, text, len - 1) : -1;
}

/* Copies the URL's cache entry (validators and facts) into the job, for a conditional GET. */
static void url_lookup(job *j) {
    char key[BF_URL_MAX + 16];
    cache_key(key, sizeof key, "url", j->req.url);
    size_t len;
    const char *v = image_cache_get(j->st->cache, key, &len, bf_runtime_now(j->st->rt));
    const char *etag, *lm, *facts;
    if (!v || image_url_entry_split(v, len, &etag, &lm, &facts) != 0) return;
    j->cached_etag = *etag ? strdup(etag) : NULL;
    j->cached_last_modified = *lm ? strdup(lm) : NULL;
    j->cached_facts = strdup(facts);
    if (!j->cached_facts || (*etag && !j->cached_etag) || (*lm && !j->cached_last_modified)) {
        free(j->cached_etag), free(j->cached_last_modified), free(j->cached_facts);
        j->cached_etag = j->cached_last_modified = j->cached_facts = NULL;
    }
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
    /* From here the job holds only the request body the client copied; the fetched bytes go when
     * on_fetched returns. */
    if (rc == 0) job_hold(j, req.body_len);
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
    default: return NULL; /* ours, not the image's: internal, cancelled */
    }
}

/* The image could not be analysed: facts that say why, with no measurements, published like any
 * facts (docs/image-analysis.md, "Failures"). hash: of the bytes fetched, or NULL when none. */
static void job_failed(job *j, const char *code, const char *hash, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void job_failed(job *j, const char *code, const char *hash, const char *fmt, ...) {
    char why[BF_TEXT_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    /* The URL may be long enough to be cut, and not inside a UTF-8 sequence. */
    size_t n = strlen(why);
    while (n > 0 && !bf_utf8_valid(why, n)) n--;
    why[n] = '\0';
    char labels[96];
    snprintf(labels, sizeof labels, "reason=\"%s\"", code);
    bf_metric_inc(bf_metrics_counter(j->st->metrics, "bf_image_failures_total",
                                     "Images that could not be analysed (published as facts with the error), "
                                     "by reason.",
                                     labels));
    bf_log_write(j->st->log, BF_LOG_INFO, j->msg->trace_id, NULL, "image not analysed (%s): %s", code, why);
    bf_image_facts *f = &j->facts;
    bf_image_facts_free(f);
    f->not_analysed = true;
    if (hash) snprintf(f->content_hash, sizeof f->content_hash, "%s", hash);
    f->analyser = BF_ANALYSER_BUILTIN;
    f->error.present = true;
    snprintf(f->error.code, sizeof f->error.code, "%s", code);
    f->error.message = strdup(why);
    f->image_urls.v = calloc(1, sizeof(char *));
    if (!f->error.message || !f->image_urls.v || !(f->image_urls.v[0] = strdup(j->req.url))) {
        job_dead(j, "out_of_memory", "image-worker could not build the facts of a failed image (%s): %s", code, why);
        return;
    }
    f->image_urls.n = 1;
    job_publish(j);
}

/* The validators the URL's next entry keeps: only ones that can be sent back (a server's ETag with
 * a line break would otherwise fail every later request for the URL). */
static void keep_validators(job *j, const char *etag, const char *last_modified) {
    j->etag = etag && bf_http_validator_ok(etag) ? strdup(etag) : NULL;
    j->last_modified = last_modified && bf_http_validator_ok(last_modified) ? strdup(last_modified) : NULL;
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
        const char *code = fetch_code(res->error);
        if (!code)
            job_dead(j, "fetch_failed", "GET %s: %s", j->req.url, res->error_msg);
        else if (res->error == BF_HTTP_ERR_STATUS)
            job_failed(j, code, NULL, "GET %s answered HTTP %ld after %d attempt%s", j->req.url, res->status,
                       res->attempts, res->attempts == 1 ? "" : "s");
        else
            job_failed(j, code, NULL, "GET %s: %s", j->req.url, res->error_msg);
        return;
    }
    if (res->status == 304) {
        /* The copy we analysed is current: its facts again, and the entry lives on. */
        if (j->cached_facts && facts_restore(j, j->cached_facts, strlen(j->cached_facts)) == 0) {
            bf_metric_inc(st->m_revalidated);
            keep_validators(j, res->etag ? res->etag : j->cached_etag,
                            res->last_modified ? res->last_modified : j->cached_last_modified);
            job_publish(j);
        } else {
            job_dead(j, "revalidation_failed", "GET %s answered 304 but the cached facts are gone or unreadable",
                     j->req.url);
        }
        return;
    }
    if (j->cached_facts) bf_metric_inc(st->m_changed);
    keep_validators(j, res->etag, res->last_modified);
    char hash[BF_SHA256_HEX_LEN + 1];
    bf_sha256_hex(res->body, res->body_len, hash);
    if (!content_type_ok(res->content_type)) {
        job_failed(j, "not_an_image", hash, "GET %s returned content type '%s', not an image", j->req.url,
                   res->content_type);
        return;
    }
    if (hash_lookup(j, hash) == 0) {
        job_publish(j);
        return;
    }
    image_decode_limits lim = {.max_pixels = (uint64_t)st->cfg->max_pixels};
    image_decode_status ds;
    char err[512];
    image_rgb *img = image_decode_new(res->body, res->body_len, &lim, &ds, err, sizeof err);
    if (!img) {
        job_failed(j, image_decode_status_code(ds), hash, "%s: %s", j->req.url, err);
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
    url_lookup(j);
    if (!st->wait_head && image_budget_take(&st->budget, st->plan.per_job)) {
        j->held = st->plan.per_job;
        start_fetch(j);
    } else {
        /* The budget is full: the fetch waits, unstarted, holding nothing. */
        if (st->wait_tail) st->wait_tail->wnext = j;
        else st->wait_head = j;
        st->wait_tail = j;
        st->n_waiting++;
    }
    update_gauges(st);
    return BF_PENDING;
}

/* The GET of j's image, conditional when the URL's entry has validators. */
static void start_fetch(job *j) {
    image_stage *st = j->st;
    bf_http_request req = {.url = j->req.url, .timeout_ms = (long)st->cfg->fetch_timeout_ms,
                           .max_response_bytes = (size_t)st->cfg->max_image_bytes,
                           .retry = {.max_attempts = 3, .base_ms = 200, .max_ms = 5000},
                           .if_none_match = j->cached_etag, .if_modified_since = j->cached_last_modified};
    char err[512];
    if (st->net.start(st->net.impl, &req, on_fetched, j, err, sizeof err) != 0)
        job_dead(j, "fetch_failed", "cannot start GET %s: %s", j->req.url, err);
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
    if (image_budget_plan_make(cfg, &st->plan, err, errlen) != 0) {
        free(st);
        return NULL;
    }
    st->budget.total = st->plan.budget - st->plan.transient;
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
    st->m_mem_bytes = bf_metrics_gauge(metrics, "bf_image_memory_bytes",
                                       "Image memory budgeted now: what jobs hold plus the decode's set-aside "
                                       "(bound: BRAINFLEET_IMAGE_MEMORY_BUDGET).",
                                       NULL);
    st->m_mem_peak = bf_metrics_gauge(metrics, "bf_image_memory_peak_bytes",
                                      "Most image memory budgeted at once since start.", NULL);
    st->m_mem_waiting = bf_metrics_gauge(metrics, "bf_image_memory_waiting",
                                         "Images waiting, unfetched, for room in BRAINFLEET_IMAGE_MEMORY_BUDGET.",
                                         NULL);
    bf_metric_set(bf_metrics_gauge(metrics, "bf_image_memory_budget_bytes", "BRAINFLEET_IMAGE_MEMORY_BUDGET.",
                                   NULL),
                  (double)st->plan.budget);
    bf_metric_set(bf_metrics_gauge(metrics, "bf_image_memory_slots",
                                   "Images the memory budget lets the worker fetch at once.", NULL),
                  (double)st->plan.slots);
    st->m_revalidated = bf_metrics_counter(metrics, "bf_image_revalidated_total",
                                           "Cached URLs the server confirmed unchanged (304): facts reused.", NULL);
    st->m_changed = bf_metrics_counter(metrics, "bf_image_changed_total",
                                       "Cached URLs whose image changed: fetched and analysed again.", NULL);
    update_gauges(st);
    return st;
}

void image_stage_free(image_stage *st) {
    if (!st) return;
    /* Callbacks of transfers still pending run inside bf_http_client_free; closing makes them
     * drop their jobs without touching the stopped runtime. */
    st->closing = true;
    st->wait_head = st->wait_tail = NULL; /* still on st->jobs, freed below */
    bf_http_client_free(st->http);
    while (st->jobs) job_free(st->jobs); /* a fetcher of the caller's may not have cancelled them */
    image_cache_free(st->cache);
    free(st);
}
