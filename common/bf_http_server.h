/* The worker's own HTTP endpoint: /metrics, /healthz, /readyz on libmicrohttpd's thread.
 * The probes' answers come from callbacks that must only read atomics: they run on the server
 * thread while the worker loop runs on its own. */
#ifndef BF_HTTP_SERVER_H
#define BF_HTTP_SERVER_H

#include <stddef.h>

#include "bf_metrics.h"

/* Writes a one-line reason into msg; returns 1 when healthy/ready, 0 otherwise. */
typedef int (*bf_probe_fn)(void *ctx, char *msg, size_t msglen);

typedef struct bf_http_server_opts {
    const char *bind_addr; /* "0.0.0.0", "127.0.0.1" ... */
    int port;              /* 0: ephemeral, see bf_http_server_port */
    bf_metrics *metrics;   /* borrowed */
    bf_probe_fn healthz, readyz;
    void *probe_ctx;
} bf_http_server_opts;

typedef struct bf_http_server bf_http_server;

/* Returns NULL with a reason in err when the port cannot be bound. */
bf_http_server *bf_http_server_start(const bf_http_server_opts *opts, char *err, size_t errlen);
int bf_http_server_port(const bf_http_server *s);
void bf_http_server_stop(bf_http_server *s);

#endif
