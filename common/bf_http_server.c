#include "bf_http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bf_http_server {
    struct MHD_Daemon *daemon;
    bf_http_server_opts opts;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
                             enum MHD_ResponseMemoryMode mode) {
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, mode);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result probe(struct MHD_Connection *c, bf_probe_fn fn, void *ctx) {
    char msg[512] = "ok";
    int ok = fn ? fn(ctx, msg, sizeof msg) : 1;
    char body[600];
    snprintf(body, sizeof body, "%s\n", msg);
    return reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain; charset=utf-8",
                 body, MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state) {
    (void)version, (void)upload, (void)upload_size, (void)state;
    bf_http_server *s = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n", MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/metrics") == 0) {
        char *text = bf_metrics_render(s->opts.metrics);
        if (!text) return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", MHD_RESPMEM_PERSISTENT);
        return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", text, MHD_RESPMEM_MUST_FREE);
    }
    if (strcmp(url, "/healthz") == 0) return probe(c, s->opts.healthz, s->opts.probe_ctx);
    if (strcmp(url, "/readyz") == 0) return probe(c, s->opts.readyz, s->opts.probe_ctx);
    return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n", MHD_RESPMEM_PERSISTENT);
}

bf_http_server *bf_http_server_start(const bf_http_server_opts *opts, char *err, size_t errlen) {
    bf_http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opts = *opts;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opts->port)};
    const char *bind_addr = opts->bind_addr && *opts->bind_addr ? opts->bind_addr : "0.0.0.0";
    if (inet_pton(AF_INET, bind_addr, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "bind address '%s' is not an IPv4 address", bind_addr);
        free(s);
        return NULL;
    }
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)opts->port,
                                 NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                 MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d (port in use?)", bind_addr, opts->port);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : opts->port;
    return s;
}

int bf_http_server_port(const bf_http_server *s) { return s ? s->port : 0; }

void bf_http_server_stop(bf_http_server *s) {
    if (!s) return;
    MHD_stop_daemon(s->daemon);
    free(s);
}
