/* The memory_sink on PostgreSQL: one libpq connection per lane, opened without blocking
 * (PQconnectStartParams, PQconnectPoll), kept in pipeline mode, its socket and deadlines watched by
 * the loop; each write is memory_store's pipelined write. Nothing here waits for the server but
 * settle, which only the revocation calls.
 *
 * A lane connects on its first write or probe, and again on the next one after a loss: retrying
 * (when, how often) is the stage's decision. A write that gets no answer for answer_timeout_ms
 * (a dropped network, a stopped host) ends LOST and its connection is closed. */
#ifndef MEMORY_SINK_PG_H
#define MEMORY_SINK_PG_H

#include <stddef.h>

#include "bf_log.h"
#include "bf_loop.h"
#include "memory_sink.h"

typedef struct memory_sink_pg_opts {
    const char *dsn;               /* libpq keyword=value or URI; copied */
    size_t lanes;                  /* connections, at least 1 */
    const char *consumer;          /* the ledger's consumer name; borrowed, must outlive the sink */
    long long connect_timeout_ms;  /* 0: 5000, unless the dsn sets connect_timeout */
    long long answer_timeout_ms;   /* 0: 60000 */
    bf_log *log;                   /* borrowed; may be NULL */
} memory_sink_pg_opts;

/* Fills *out. Connects nothing yet. Returns 0, or -1 with err (empty dsn, out of memory). */
int memory_sink_pg_new(bf_loop *loop, const memory_sink_pg_opts *opts, memory_sink *out, char *err, size_t errlen);

#endif
