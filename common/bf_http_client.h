/* Asynchronous HTTP client on curl's multi socket interface, registered with the worker's event
 * loop (bf_loop): curl's sockets and its timeout become loop watchers, so transfers progress while
 * the loop serves Kafka and everything else, and nothing ever blocks.
 *
 * Single-threaded: one client belongs to its loop's thread, and every callback runs from a loop
 * callback on that thread. Transfers beyond max_concurrent wait in a FIFO; a transfer waiting to be
 * retried sleeps on a loop timer.
 *
 * Retries (per request, bf_http_retry): 429, 5xx, timeouts and connection errors are tried again
 * after full-jitter exponential backoff (bf_backoff), or after the server's Retry-After when that is
 * longer, capped by retry.max_ms. Refused addresses, oversize bodies and bad URLs are never retried.
 *
 * SSRF guard (opts.net_guard): only http/https, also on redirects, and the address curl actually
 * connects to — after DNS and after each redirect — is checked by bf_net_guard (loopback, private,
 * link-local/metadata, CGNAT, multicast ... refused unless in opts.allow_cidrs). Environment proxies
 * are ignored by a guarded client, since the check would otherwise see only the proxy. */
#ifndef BF_HTTP_CLIENT_H
#define BF_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_loop.h"

typedef struct bf_http_client bf_http_client;

typedef struct bf_http_client_opts {
    size_t max_concurrent;      /* transfers on the wire at once; 0: 16 */
    long connect_timeout_ms;    /* 0: 5000 */
    long timeout_ms;            /* default for one attempt, connect included; 0: 30000 */
    size_t max_response_bytes;  /* default body limit; 0: 16 MiB */
    long max_redirects;         /* redirects followed; 0: none (the 3xx is the response) */
    const char *user_agent;     /* NULL: "brainfleet/<version>"; copied */
    bool net_guard;             /* refuse private/loopback/... addresses (see above) */
    const char *allow_cidrs;    /* with net_guard: "127.0.0.1/32,::1/128" reachable anyway; copied */
    uint64_t jitter_seed;       /* backoff jitter PRNG seed; 0: random */
} bf_http_client_opts;

/* Returns NULL with a reason in err (e.g. a malformed allow_cidrs entry). loop is borrowed and must
 * outlive the client. */
bf_http_client *bf_http_client_new(bf_loop *loop, const bf_http_client_opts *opts, char *err, size_t errlen);
/* Transfers still pending complete with BF_HTTP_ERR_CANCELLED (their callbacks run here), so every
 * started request's callback runs exactly once. Must not be called from inside a callback. */
void bf_http_client_free(bf_http_client *c);

typedef struct bf_http_retry {
    int max_attempts; /* total tries, first one included; 0 or 1: no retry */
    long base_ms;     /* first backoff ceiling (doubles per attempt); 0: 200 */
    long max_ms;      /* longest pause between two attempts, Retry-After included; 0: 30000 */
} bf_http_retry;

typedef struct bf_http_request {
    const char *method;          /* NULL: GET, or POST when body is set */
    const char *url;             /* http:// or https:// */
    const char *const *headers;  /* "Name: value" lines; n_headers of them; copied */
    size_t n_headers;
    const void *body;            /* copied; may be NULL */
    size_t body_len;
    long timeout_ms;             /* one attempt; 0: the client's */
    size_t max_response_bytes;   /* 0: the client's */
    bf_http_retry retry;
} bf_http_request;

typedef enum {
    BF_HTTP_OK = 0,           /* a 2xx response */
    BF_HTTP_ERR_STATUS,       /* a response, but not 2xx (status, body and content type are set) */
    BF_HTTP_ERR_TIMEOUT,      /* the attempt took longer than its timeout */
    BF_HTTP_ERR_CONNECT,      /* DNS, refused, reset, TLS, empty reply */
    BF_HTTP_ERR_TOO_LARGE,    /* body above max_response_bytes: aborted while downloading */
    BF_HTTP_ERR_BLOCKED,      /* the net guard refused the address (or a redirect's) */
    BF_HTTP_ERR_PROTOCOL,     /* bad URL, scheme not http(s), too many redirects, HTTP errors */
    BF_HTTP_ERR_CANCELLED,    /* the client was freed first */
    BF_HTTP_ERR_INTERNAL,     /* out of memory, curl refused an option */
} bf_http_error;

/* "ok", "status", "timeout", "connect", "too_large", "blocked", "protocol", "cancelled",
 * "internal": stable words for logs and metrics labels. */
const char *bf_http_error_name(bf_http_error e);

/* Everything is owned by the client and valid only during the callback; copy what you keep. */
typedef struct bf_http_response {
    bf_http_error error;
    const char *error_msg;    /* one line, never NULL ("" when OK), e.g. "response larger than
                               * 1048576 bytes", "127.0.0.1 is loopback, not allow-listed" */
    long status;              /* final HTTP status; 0 when no response came */
    const char *body;         /* NUL-terminated (the NUL is not counted); "" when none */
    size_t body_len;
    const char *content_type; /* the Content-Type header as sent, or NULL */
    const char *effective_url;/* after redirects; NULL when unknown */
    int attempts;             /* tries made, 1 when the first answered */
    long retry_after_ms;      /* last Retry-After seen (ms); -1 when none was */
    int64_t elapsed_ms;       /* from bf_http_request_start to completion: queue, tries, pauses */
} bf_http_response;

/* Runs exactly once per successfully started request, from a loop callback (never inside
 * bf_http_request_start). It may start new requests; it must not free the client. */
typedef void (*bf_http_done_fn)(const bf_http_response *res, void *cb_ctx);

/* Queues the request (everything in req is copied); it starts on the loop's next turn. Returns 0,
 * or -1 with a reason in err (then cb never runs): missing URL/callback, out of memory. Scheme and
 * address problems are reported through the callback, as the net guard only knows the address at
 * connect time. */
int bf_http_request_start(bf_http_client *c, const bf_http_request *req, bf_http_done_fn cb,
                          void *cb_ctx, char *err, size_t errlen);

/* The loop the client runs on. */
bf_loop *bf_http_client_loop(const bf_http_client *c);

/* Requests started and not yet completed: on the wire, queued, or sleeping before a retry. */
size_t bf_http_client_in_flight(const bf_http_client *c);

typedef struct bf_http_client_stats {
    size_t active;     /* on the wire */
    size_t queued;     /* waiting for a free slot */
    size_t sleeping;   /* waiting to retry */
    uint64_t started, completed, retries;
} bf_http_client_stats;
bf_http_client_stats bf_http_client_stats_get(const bf_http_client *c);

#endif
