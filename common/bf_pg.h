/* PostgreSQL on the event loop: non-blocking libpq connections whose sockets and deadlines are
 * bf_loop watchers, so a query never blocks the worker's thread.
 *
 * A bf_pg is one connection. It connects at once (and again after a loss, with backoff), runs in
 * libpq's pipeline mode, and sends every query queued during one loop turn in one write followed
 * by one sync point: with a database 50 ms away, a hundred context reads cost one round trip, not a
 * hundred. A query whose batch was aborted by an earlier query's error is sent again once.
 *
 * Every query's callback runs exactly once, from a loop callback, never inside bf_pg_query:
 *   - with the result on success (err NULL);
 *   - with the server's error result and its message (a constraint, a syntax error, a statement
 *     timeout);
 *   - with res NULL and err saying why when the connection is down or is lost meanwhile (then
 *     bf_pg_lost-style errors start with "connection"), or the bf_pg is freed ("cancelled").
 * While the connection is down between two attempts, queries fail at once rather than wait: the
 * caller decides whether to degrade, retry or hold.
 *
 * The queries of one batch share the implicit transaction pipeline mode opens until its sync
 * point: a failing one rolls back what the others of its batch wrote, though their callbacks saw
 * success. So bf_pg_query is for reads (and for writes that are idempotent and confirmed some other
 * way); the session setup (statement_timeout) goes in a batch of its own.
 *
 * A bf_pg_pool spreads queries over a few connections (the one with the fewest queries waiting
 * among those up). Statements are fixed SQL text with $n parameters (tests/security checks it). */
#ifndef BF_PG_H
#define BF_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "bf_log.h"
#include "bf_loop.h"

typedef struct bf_pg bf_pg;
typedef struct bf_pg_pool bf_pg_pool;

typedef struct bf_pg_opts {
    const char *dsn;                 /* libpq keyword=value or URI; copied */
    const char *name;                /* for logs ("context 1/4"); copied; NULL: "postgres" */
    long long statement_timeout_ms;  /* set on every session; 0: the server's default */
    long long connect_timeout_ms;    /* 0: 5000 */
    long long retry_min_ms;          /* first pause after a failed connection; 0: 100 */
    long long retry_max_ms;          /* longest pause; 0: 5000 */
    bf_log *log;                     /* borrowed; may be NULL */
} bf_pg_opts;

/* res: borrowed for the call; NULL when no result came. err: NULL on success. */
typedef void (*bf_pg_done_fn)(void *ctx, const PGresult *res, const char *err);

/* Starts connecting on the loop's next turn. NULL with err (out of memory, empty dsn). */
bf_pg *bf_pg_new(bf_loop *loop, const bf_pg_opts *opts, char *err, size_t errlen);
/* Pending queries' callbacks run here with err "cancelled". */
void bf_pg_free(bf_pg *pg);

/* Queues sql with n text parameters (copied; NULL entries are SQL NULL). Returns 0, or -1 only when
 * out of memory (then cb never runs). */
int bf_pg_query(bf_pg *pg, const char *sql, int n, const char *const *params, bf_pg_done_fn cb, void *ctx);

/* The same with a named prepared statement: parsed and planned once per server session (the
 * Parse travels ahead of its first use, in the same batch), then each query sends only the name
 * and its parameters. sql must be the same text for a name. */
int bf_pg_query_prepared(bf_pg *pg, const char *name, const char *sql, int n, const char *const *params,
                         bf_pg_done_fn cb, void *ctx);

/* Connected and in pipeline mode. */
bool bf_pg_up(const bf_pg *pg);
/* Queries queued or sent and not answered. */
size_t bf_pg_pending(const bf_pg *pg);
/* The last connection error ("" when none). */
const char *bf_pg_last_error(const bf_pg *pg);

/* n connections with the same options (names get " i/n"). NULL with err. A query goes to a
 * connection with no batch on the wire, filling one such connection's next batch before the next;
 * while the pool has a batch on the wire (a burst) that batch waits for more queries for a small
 * share of the measured round trip (at most 50 ms). All busy: the one with the fewest waiting. */
bf_pg_pool *bf_pg_pool_new(bf_loop *loop, size_t n, const bf_pg_opts *opts, char *err, size_t errlen);
void bf_pg_pool_free(bf_pg_pool *p);
int bf_pg_pool_query(bf_pg_pool *p, const char *sql, int n, const char *const *params, bf_pg_done_fn cb, void *ctx);
int bf_pg_pool_query_prepared(bf_pg_pool *p, const char *name, const char *sql, int n, const char *const *params,
                              bf_pg_done_fn cb, void *ctx);
/* At least one connection is up. */
bool bf_pg_pool_up(const bf_pg_pool *p);
/* How many connections are up. */
size_t bf_pg_pool_up_count(const bf_pg_pool *p);
size_t bf_pg_pool_pending(const bf_pg_pool *p);

#endif
