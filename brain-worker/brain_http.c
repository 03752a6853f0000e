#include "brain_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bf_http_client.h"
#include "bf_llm_endpoint.h"

struct brain_http {
    bf_http_client *client;
    char url[BF_CFG_STR_MAX + 32];
    char auth[BF_CFG_STR_MAX + 32];
    bool has_auth;
    long timeout_ms;
    int attempts;
    bool closing;
    bf_log *log;
};

/* What a started call needs back in the callback. */
typedef struct call {
    brain_http *h;
    void *job;
    brain_llm_done_fn done;
} call;

brain_http *brain_http_new(bf_loop *loop, const brain_cfg *cfg, long max_concurrent, bf_log *log, char *err,
                           size_t errlen) {
    brain_http *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* The LLM endpoint is configured by the operator, often inside the cluster, so it is not
     * subject to the image fetcher's private-address guard. */
    bf_http_client_opts o = {.max_concurrent = (size_t)max_concurrent, .timeout_ms = (long)cfg->llm_timeout_ms,
                             .max_response_bytes = 4u << 20, .max_redirects = 0};
    h->client = bf_http_client_new(loop, &o, err, errlen);
    if (!h->client) {
        free(h);
        return NULL;
    }
    bf_llm_chat_url(cfg->llm_url, h->url, sizeof h->url);
    if (cfg->llm_api_key[0]) {
        snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", cfg->llm_api_key);
        h->has_auth = true;
    }
    h->timeout_ms = (long)cfg->llm_timeout_ms;
    h->attempts = (int)cfg->llm_retries + 1;
    h->log = log;
    return h;
}

void brain_http_free(brain_http *h) {
    if (!h) return;
    /* Pending calls complete as cancelled inside bf_http_client_free. By then the runtime has
     * stopped and their messages are abandoned (re-delivered to the next owner), so they must not
     * turn into error decisions: their callbacks are dropped. */
    h->closing = true;
    bf_http_client_free(h->client);
    free(h);
}

/* A 2xx labelled as something other than JSON is a proxy's or a web UI's page (a wrong
 * BRAINFLEET_LLM_URL, a captive portal), not a chat completion, even if its bytes happen to parse.
 * No Content-Type at all is accepted: some OpenAI-compatible servers leave it out. */
static bool json_typed(const char *content_type) {
    if (!content_type) return true;
    for (const char *p = content_type; *p && *p != ';'; p++)
        if (strncasecmp(p, "json", 4) == 0) return true;
    return false;
}

static void on_done(const bf_http_response *res, void *ctx) {
    call *c = ctx;
    if (c->h->closing) {
        free(c);
        return;
    }
    char why[512] = "";
    bool failed = res->error != BF_HTTP_OK;
    if (failed) {
        snprintf(why, sizeof why, "%s after %d attempt%s: %s", bf_http_error_name(res->error), res->attempts,
                 res->attempts == 1 ? "" : "s", *res->error_msg ? res->error_msg : "no detail");
    } else if (!json_typed(res->content_type)) {
        failed = true;
        snprintf(why, sizeof why, "response Content-Type is \"%.100s\", not JSON", res->content_type);
    }
    c->done(c->job, res->status, res->body, res->body_len, failed ? why : NULL);
    free(c);
}

static int send_call(void *impl, const char *body, void *job, brain_llm_done_fn done, char *err, size_t errlen) {
    brain_http *h = impl;
    call *c = malloc(sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->h = h;
    c->job = job;
    c->done = done;
    const char *headers[] = {"Content-Type: application/json", "Accept: application/json", h->auth};
    bf_http_request req = {.method = "POST", .url = h->url, .headers = headers, .n_headers = h->has_auth ? 3 : 2,
                           .body = body, .body_len = strlen(body), .timeout_ms = h->timeout_ms,
                           .retry = {.max_attempts = h->attempts, .base_ms = 250, .max_ms = 30000}};
    if (bf_http_request_start(h->client, &req, on_done, c, err, errlen) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

static size_t in_flight(void *impl) { return bf_http_client_in_flight(((brain_http *)impl)->client); }

brain_llm_transport brain_http_transport(brain_http *h) {
    return (brain_llm_transport){.impl = h, .send = send_call, .in_flight = in_flight};
}
