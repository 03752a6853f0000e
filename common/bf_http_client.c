#include "bf_http_client.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bf_backoff.h"
#include "bf_llm_endpoint.h"
#include "bf_net_guard.h"
#include "bf_trace.h"

#define DEFAULT_MAX_CONCURRENT 16
#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_RESPONSE ((size_t)16 << 20)
#define DEFAULT_RETRY_BASE_MS 200L
#define DEFAULT_RETRY_MAX_MS 30000L
#define DEFAULT_USER_AGENT "brainfleet/0.1"

typedef enum { X_QUEUED, X_ACTIVE, X_SLEEPING, X_DONE } xfer_state;

typedef struct xfer {
    struct xfer *prev, *next;   /* the client's list of every pending transfer */
    struct xfer *qnext;         /* FIFO of queued transfers, or the list of finished ones */
    bf_http_client *c;
    xfer_state state;
    CURL *easy;
    struct curl_slist *headers;
    char *url, *method, *body;
    size_t body_len;
    long timeout_ms;
    size_t max_bytes;
    bf_http_retry retry;
    bf_http_done_fn cb;
    void *cb_ctx;

    /* The current attempt's response. */
    char *buf;
    size_t len, cap;
    bool too_large;
    bool blocked;
    char blocked_msg[160];
    long attempt_retry_after_ms; /* from this attempt's headers; -1 none */
    char curl_err[CURL_ERROR_SIZE];

    int attempts;
    long retry_after_ms;         /* last seen over all attempts; -1 none */
    int64_t started_ms, due_ms;

    bf_timer retry_timer;        /* the pause before the next attempt */

    /* Filled when the transfer is finished, for the callback. */
    bf_http_error error;
    long status;
    char error_msg[CURL_ERROR_SIZE + 64];
    char *content_type, *effective_url;
} xfer;

/* A socket curl asked us to watch (CURLMOPT_SOCKETFUNCTION), attached with curl_multi_assign. */
typedef struct sock {
    bf_io io;
    bf_http_client *c;
    struct sock *prev, *next; /* the client's list, so none outlives it */
} sock;

struct bf_http_client {
    bf_loop *loop;
    CURLM *multi;
    bf_timer curl_timer; /* CURLMOPT_TIMERFUNCTION's deadline */
    bf_timer kick;       /* queued transfers to start and finished ones to report, next turn */
    xfer *done;          /* finished, callbacks not run yet (newest first) */
    sock *socks;
    size_t max_concurrent;
    long connect_timeout_ms, timeout_ms, max_redirects;
    size_t max_response_bytes;
    char *user_agent;
    bool guard_on;
    bf_net_guard guard;
    bf_rng rng;
    xfer *all;                  /* every pending transfer (any state but done) */
    xfer *q_head, *q_tail;      /* FIFO waiting for a slot */
    size_t n_active, n_queued, n_sleeping;
    uint64_t started, completed, retries;
    bool dispatching;
};

static int64_t mono_ms(const bf_http_client *c) { return bf_loop_now(c->loop); }

const char *bf_http_error_name(bf_http_error e) {
    switch (e) {
    case BF_HTTP_OK: return "ok";
    case BF_HTTP_ERR_STATUS: return "status";
    case BF_HTTP_ERR_TIMEOUT: return "timeout";
    case BF_HTTP_ERR_CONNECT: return "connect";
    case BF_HTTP_ERR_TOO_LARGE: return "too_large";
    case BF_HTTP_ERR_BLOCKED: return "blocked";
    case BF_HTTP_ERR_PROTOCOL: return "protocol";
    case BF_HTTP_ERR_CANCELLED: return "cancelled";
    case BF_HTTP_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}

/* ---- one transfer ---------------------------------------------------------------------------- */

static void xfer_free(xfer *x) {
    if (!x) return;
    if (x->easy) curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->url);
    free(x->method);
    free(x->body);
    free(x->buf);
    free(x->content_type);
    free(x->effective_url);
    free(x);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    if (n > x->max_bytes - x->len) {
        x->too_large = true;
        return 0; /* curl aborts with CURLE_WRITE_ERROR */
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 4096;
        while (cap < x->len + n + 1) cap *= 2;
        char *b = realloc(x->buf, cap);
        if (!b) return 0;
        x->buf = b;
        x->cap = cap;
    }
    memcpy(x->buf + x->len, data, n);
    x->len += n;
    x->buf[x->len] = '\0';
    return n;
}

/* Retry-After is either delay-seconds or an HTTP-date (RFC 9110 10.2.3); -1 when neither. */
static long parse_retry_after_ms(const char *v, size_t n) {
    char text[128];
    while (n > 0 && (*v == ' ' || *v == '\t')) v++, n--;
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
    if (n == 0 || n >= sizeof text) return -1;
    memcpy(text, v, n);
    text[n] = '\0';
    if (text[0] >= '0' && text[0] <= '9') {
        char *end = NULL;
        errno = 0;
        long long s = strtoll(text, &end, 10);
        if (errno != 0 || *end != '\0' || s < 0) return -1;
        return s > LONG_MAX / 1000 ? LONG_MAX : (long)(s * 1000);
    }
    time_t when = curl_getdate(text, NULL);
    if (when == (time_t)-1) return -1;
    time_t now = time(NULL);
    return when <= now ? 0 : (long)(when - now) * 1000;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud) {
    xfer *x = ud;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    /* Each response of a redirect chain starts with a status line; only the last one counts. */
    if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) x->attempt_retry_after_ms = -1;
    else if (n > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0)
        x->attempt_retry_after_ms = parse_retry_after_ms(data + sizeof name - 1, n - (sizeof name - 1));
    return n;
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
    xfer *x = ud;
    if (purpose == CURLSOCKTYPE_IPCXN &&
        bf_net_guard_check(&x->c->guard, &a->addr, (socklen_t)a->addrlen, x->blocked_msg,
                           sizeof x->blocked_msg) != 0) {
        x->blocked = true;
        return CURL_SOCKET_BAD;
    }
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int configure(xfer *x) {
    bf_http_client *c = x->c;
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_URL, x->url);
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, x->curl_err);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_USERAGENT, c->user_agent);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, x->timeout_ms);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_bytes);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, c->max_redirects > 0 ? 1L : 0L);
    SET(CURLOPT_MAXREDIRS, c->max_redirects);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    if (x->headers) {
        SET(CURLOPT_HTTPHEADER, x->headers);
    }
    if (c->guard_on) {
        SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
        SET(CURLOPT_OPENSOCKETDATA, x);
        SET(CURLOPT_PROXY, "");
    }
    if (x->body) {
        SET(CURLOPT_POSTFIELDS, x->body);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
    }
    if (strcmp(x->method, "GET") == 0 && !x->body) {
        SET(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(x->method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (strcmp(x->method, "POST") != 0 || !x->body) {
        SET(CURLOPT_CUSTOMREQUEST, x->method);
    }
#undef SET
    return rc == CURLE_OK ? 0 : -1;
}

static void list_unlink(bf_http_client *c, xfer *x) {
    if (x->prev) x->prev->next = x->next;
    else c->all = x->next;
    if (x->next) x->next->prev = x->prev;
    x->prev = x->next = NULL;
}

static void enqueue(bf_http_client *c, xfer *x) {
    x->state = X_QUEUED;
    x->qnext = NULL;
    if (c->q_tail) c->q_tail->qnext = x;
    else c->q_head = x;
    c->q_tail = x;
    c->n_queued++;
}

static void mark_done(bf_http_client *c, xfer *x) {
    list_unlink(c, x);
    x->state = X_DONE;
    x->qnext = c->done;
    c->done = x;
}

/* Puts x on the wire; on failure it is finished with an internal error. */
static void activate(bf_http_client *c, xfer *x) {
    x->len = 0;
    if (x->buf) x->buf[0] = '\0';
    x->too_large = x->blocked = false;
    x->blocked_msg[0] = x->curl_err[0] = '\0';
    x->attempt_retry_after_ms = -1;
    x->attempts++;
    x->state = X_ACTIVE;
    c->n_active++;
    if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK) {
        c->n_active--;
        x->error = BF_HTTP_ERR_INTERNAL;
        snprintf(x->error_msg, sizeof x->error_msg, "curl_multi_add_handle failed");
        mark_done(c, x);
    }
}

static void pump_queue(bf_http_client *c) {
    while (c->q_head && c->n_active < c->max_concurrent) {
        xfer *x = c->q_head;
        c->q_head = x->qnext;
        if (!c->q_head) c->q_tail = NULL;
        c->n_queued--;
        activate(c, x);
    }
}

int bf_http_request_start(bf_http_client *c, const bf_http_request *req, bf_http_done_fn cb,
                          void *cb_ctx, char *err, size_t errlen) {
    if (!c || !req || !req->url || !cb) {
        snprintf(err, errlen, "request needs a client, a URL and a callback");
        return -1;
    }
    xfer *x = calloc(1, sizeof *x);
    if (!x) goto oom;
    x->c = c;
    x->cb = cb;
    x->cb_ctx = cb_ctx;
    x->url = strdup(req->url);
    x->method = strdup(req->method ? req->method : req->body ? "POST" : "GET");
    if (!x->url || !x->method) goto oom;
    if (req->body) {
        x->body = malloc(req->body_len + 1);
        if (!x->body) goto oom;
        memcpy(x->body, req->body, req->body_len);
        x->body[req->body_len] = '\0';
        x->body_len = req->body_len;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *h = curl_slist_append(x->headers, req->headers[i]);
        if (!h) goto oom;
        x->headers = h;
    }
    x->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : c->timeout_ms;
    x->max_bytes = req->max_response_bytes ? req->max_response_bytes : c->max_response_bytes;
    x->retry = req->retry;
    if (x->retry.max_attempts < 1) x->retry.max_attempts = 1;
    if (x->retry.base_ms <= 0) x->retry.base_ms = DEFAULT_RETRY_BASE_MS;
    if (x->retry.max_ms <= 0) x->retry.max_ms = DEFAULT_RETRY_MAX_MS;
    x->retry_after_ms = -1;
    x->started_ms = mono_ms(c);
    x->easy = curl_easy_init();
    if (!x->easy || configure(x) != 0) {
        snprintf(err, errlen, "curl refused the request's options (%s)", x->url);
        xfer_free(x);
        return -1;
    }
    /* Started on the next turn (the kick timer), so that even a failure to add the handle is
     * reported through the callback, never inside this call. */
    if (bf_timer_start_in(c->loop, &c->kick, 0) != 0) {
        snprintf(err, errlen, "out of memory");
        xfer_free(x);
        return -1;
    }
    x->next = c->all;
    if (c->all) c->all->prev = x;
    c->all = x;
    c->started++;
    enqueue(c, x);
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    xfer_free(x);
    return -1;
}

/* ---- completion ------------------------------------------------------------------------------ */

static bool is_retryable(bf_http_error e, long status) {
    if (e == BF_HTTP_ERR_TIMEOUT || e == BF_HTTP_ERR_CONNECT) return true;
    /* 408/409/429/5xx: the statuses another attempt can turn into an answer (bf_llm_endpoint.h);
     * any other 4xx would fail the same way again. */
    return e == BF_HTTP_ERR_STATUS && bf_llm_status_retryable(status);
}

static void classify(xfer *x, CURLcode rc) {
    x->status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
    const char *detail = x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc);
    if (rc == CURLE_OK) {
        x->error = x->status >= 200 && x->status <= 299 ? BF_HTTP_OK : BF_HTTP_ERR_STATUS;
        if (x->error == BF_HTTP_OK) x->error_msg[0] = '\0';
        else snprintf(x->error_msg, sizeof x->error_msg, "HTTP %ld", x->status);
        return;
    }
    if (x->blocked) {
        x->error = BF_HTTP_ERR_BLOCKED;
        snprintf(x->error_msg, sizeof x->error_msg, "address refused: %s", x->blocked_msg);
        return;
    }
    switch (rc) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (rc == CURLE_FILESIZE_EXCEEDED || x->too_large) {
            x->error = BF_HTTP_ERR_TOO_LARGE;
            snprintf(x->error_msg, sizeof x->error_msg, "response larger than %zu bytes", x->max_bytes);
        } else {
            x->error = BF_HTTP_ERR_INTERNAL;
            snprintf(x->error_msg, sizeof x->error_msg, "out of memory buffering the response");
        }
        return;
    case CURLE_OPERATION_TIMEDOUT:
        x->error = BF_HTTP_ERR_TIMEOUT;
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        x->error = BF_HTTP_ERR_CONNECT;
        break;
    case CURLE_OUT_OF_MEMORY:
        x->error = BF_HTTP_ERR_INTERNAL;
        break;
    default:
        x->error = BF_HTTP_ERR_PROTOCOL;
        break;
    }
    snprintf(x->error_msg, sizeof x->error_msg, "%s", detail);
}

static void on_retry_due(bf_timer *t) {
    xfer *x = t->data;
    bf_http_client *c = x->c;
    c->n_sleeping--;
    enqueue(c, x);
    bf_timer_start_in(c->loop, &c->kick, 0);
}

static void finish_attempt(bf_http_client *c, xfer *x, CURLcode rc) {
    curl_multi_remove_handle(c->multi, x->easy);
    c->n_active--;
    classify(x, rc);
    if (x->attempt_retry_after_ms >= 0) x->retry_after_ms = x->attempt_retry_after_ms;
    if (is_retryable(x->error, x->status) && x->attempts < x->retry.max_attempts) {
        int64_t pause = bf_backoff_ms(x->attempts, x->retry.base_ms, x->retry.max_ms, &c->rng);
        pause = bf_backoff_with_retry_after(pause, x->attempt_retry_after_ms, x->retry.max_ms);
        x->due_ms = mono_ms(c) + pause;
        x->state = X_SLEEPING;
        c->n_sleeping++;
        c->retries++;
        bf_timer_init(&x->retry_timer, on_retry_due, x);
        if (bf_timer_start(c->loop, &x->retry_timer, x->due_ms) == 0) return;
        c->n_sleeping--; /* out of memory arming the timer: this attempt's result stands */
        x->state = X_ACTIVE;
    }
    const char *ct = NULL, *eff = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff);
    if (ct) x->content_type = strdup(ct);
    if (eff) x->effective_url = strdup(eff);
    mark_done(c, x);
}

static void deliver(bf_http_client *c, xfer *x) {
    /* A cut-off body is not a body: nobody should parse half an image. */
    bool keep_body = x->error == BF_HTTP_OK || x->error == BF_HTTP_ERR_STATUS;
    bf_http_response r = {
        .error = x->error,
        .error_msg = x->error_msg,
        .status = x->status,
        .body = x->buf && x->len && keep_body ? x->buf : "",
        .body_len = keep_body ? x->len : 0,
        .content_type = x->content_type,
        .effective_url = x->effective_url,
        .attempts = x->attempts,
        .retry_after_ms = x->retry_after_ms,
        .elapsed_ms = mono_ms(c) - x->started_ms,
    };
    c->completed++;
    x->cb(&r, x->cb_ctx);
}

/* Callbacks run last, in completion order, so that a callback starting a request sees a
 * consistent client. */
static void deliver_all(bf_http_client *c) {
    if (c->dispatching) return; /* the outer call delivers what was added meanwhile */
    c->dispatching = true;
    while (c->done) {
        xfer *rev = NULL;
        while (c->done) {
            xfer *n = c->done->qnext;
            c->done->qnext = rev;
            rev = c->done;
            c->done = n;
        }
        while (rev) {
            xfer *n = rev->qnext;
            deliver(c, rev);
            xfer_free(rev);
            rev = n;
        }
    }
    c->dispatching = false;
}

/* After curl did some work: collects finished attempts, fills free slots, runs callbacks. */
static void process(bf_http_client *c) {
    CURLMsg *m;
    int left = 0;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv) finish_attempt(c, (xfer *)(void *)priv, m->data.result);
    }
    pump_queue(c);
    deliver_all(c);
}

static void on_kick(bf_timer *t) {
    bf_http_client *c = t->data;
    pump_queue(c);
    deliver_all(c);
}

static void on_sock_io(bf_io *io, unsigned events) {
    sock *k = io->data;
    bf_http_client *c = k->c;
    int flags = (events & BF_IO_READ ? CURL_CSELECT_IN : 0) | (events & BF_IO_WRITE ? CURL_CSELECT_OUT : 0) |
                (events & BF_IO_ERROR ? CURL_CSELECT_ERR : 0);
    int running = 0;
    curl_multi_socket_action(c->multi, io->fd, flags, &running); /* may free k (CURL_POLL_REMOVE) */
    process(c);
}

static void on_curl_timer(bf_timer *t) {
    bf_http_client *c = t->data;
    int running = 0;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    process(c);
}

static void sock_free(bf_http_client *c, sock *k) {
    bf_io_stop(c->loop, &k->io);
    if (k->prev) k->prev->next = k->next;
    else c->socks = k->next;
    if (k->next) k->next->prev = k->prev;
    free(k);
}

/* CURLMOPT_SOCKETFUNCTION: what curl wants watched on s. */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp) {
    (void)e;
    bf_http_client *c = userp;
    sock *k = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (k) {
            curl_multi_assign(c->multi, s, NULL);
            sock_free(c, k);
        }
        return 0;
    }
    if (!k) {
        k = calloc(1, sizeof *k);
        if (!k) return -1; /* curl fails the transfer */
        k->c = c;
        bf_io_init(&k->io, s, on_sock_io, k);
        k->next = c->socks;
        if (c->socks) c->socks->prev = k;
        c->socks = k;
        curl_multi_assign(c->multi, s, k);
    }
    unsigned ev = (what & CURL_POLL_IN ? BF_IO_READ : 0u) | (what & CURL_POLL_OUT ? BF_IO_WRITE : 0u);
    return bf_io_start(c->loop, &k->io, ev) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: when curl next wants to be called without socket activity. */
static int on_timer_change(CURLM *m, long timeout_ms, void *userp) {
    (void)m;
    bf_http_client *c = userp;
    if (timeout_ms < 0) {
        bf_timer_stop(c->loop, &c->curl_timer);
        return 0;
    }
    /* Never call curl back from inside its own callback: the timer fires on the loop's turn. */
    return bf_timer_start_in(c->loop, &c->curl_timer, timeout_ms) == 0 ? 0 : -1;
}

bf_loop *bf_http_client_loop(const bf_http_client *c) { return c->loop; }

size_t bf_http_client_in_flight(const bf_http_client *c) {
    return c->n_active + c->n_queued + c->n_sleeping;
}

bf_http_client_stats bf_http_client_stats_get(const bf_http_client *c) {
    return (bf_http_client_stats){
        .active = c->n_active,
        .queued = c->n_queued,
        .sleeping = c->n_sleeping,
        .started = c->started,
        .completed = c->completed,
        .retries = c->retries,
    };
}

bf_http_client *bf_http_client_new(bf_loop *loop, const bf_http_client_opts *opts, char *err, size_t errlen) {
    bf_http_client_opts o = opts ? *opts : (bf_http_client_opts){0};
    bf_http_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (o.net_guard && bf_net_guard_parse(&c->guard, o.allow_cidrs, err, errlen) != 0) {
        free(c);
        return NULL;
    }
    c->loop = loop;
    bf_timer_init(&c->curl_timer, on_curl_timer, c);
    bf_timer_init(&c->kick, on_kick, c);
    c->guard_on = o.net_guard;
    c->max_concurrent = o.max_concurrent ? o.max_concurrent : DEFAULT_MAX_CONCURRENT;
    c->connect_timeout_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = o.timeout_ms > 0 ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
    c->max_response_bytes = o.max_response_bytes ? o.max_response_bytes : DEFAULT_MAX_RESPONSE;
    c->max_redirects = o.max_redirects > 0 ? o.max_redirects : 0;
    c->user_agent = strdup(o.user_agent ? o.user_agent : DEFAULT_USER_AGENT);
    uint64_t seed = o.jitter_seed;
    if (!seed) bf_random_bytes(&seed, sizeof seed);
    bf_rng_seed(&c->rng, seed);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed");
        free(c->user_agent);
        free(c);
        return NULL;
    }
    c->multi = curl_multi_init();
    if (!c->multi || !c->user_agent) {
        snprintf(err, errlen, "out of memory");
        if (c->multi) curl_multi_cleanup(c->multi);
        curl_global_cleanup();
        free(c->user_agent);
        free(c);
        return NULL;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_change);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
}

void bf_http_client_free(bf_http_client *c) {
    if (!c) return;
    while (c->all) {
        xfer *x = c->all;
        if (x->state == X_ACTIVE) curl_multi_remove_handle(c->multi, x->easy);
        if (x->state == X_SLEEPING) bf_timer_stop(c->loop, &x->retry_timer);
        x->error = BF_HTTP_ERR_CANCELLED;
        x->status = 0;
        x->len = 0;
        snprintf(x->error_msg, sizeof x->error_msg, "cancelled: client shut down");
        mark_done(c, x);
    }
    c->q_head = c->q_tail = NULL;
    c->n_active = c->n_queued = c->n_sleeping = 0;
    bf_timer_stop(c->loop, &c->kick);
    c->dispatching = false;
    deliver_all(c);
    curl_multi_cleanup(c->multi);
    while (c->socks) sock_free(c, c->socks); /* what curl did not say it removed */
    bf_timer_stop(c->loop, &c->curl_timer);
    curl_global_cleanup();
    free(c->user_agent);
    free(c);
}
