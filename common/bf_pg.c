#include "bf_pg.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_RETRY_MIN_MS 100
#define DEFAULT_RETRY_MAX_MS 5000
/* A server that has not answered within statement_timeout plus this is not answering at all (a
 * dropped network, a stopped host): the connection is given up so queries fail instead of hang. */
#define ANSWER_GRACE_MS 2000
/* Queries per pipeline batch, so one write never grows without bound. */
#define BATCH_MAX 256
/* Queries a pool puts on one idle connection before it opens the next (pool_pick). */
#define POOL_FILL 64
/* While the pool has a batch on the wire (a burst), an idle connection's batch waits for more
 * queries up to this share of the batches' round trip, capped: a few milliseconds then save a
 * whole round trip for the queries a burst brings over its next loop turns. */
#define LINGER_SHARE 8
#define LINGER_MAX_MS 50

typedef enum { PG_DOWN, PG_CONNECTING, PG_UP } pg_state;

#define MAX_PREPARED 16

typedef struct query {
    struct query *next;
    char *stmt;        /* prepared statement name, or NULL for a one-off */
    bool prepare;      /* the Parse of stmt sent ahead of its first use in a session (no callback) */
    char *sql;
    char **params;
    int n;
    bf_pg_done_fn cb;
    void *ctx;
    int attempts;
    bool sync;         /* a sync marker in the sent list, not a query */
    bool alone;        /* in a batch of its own (the session setup, which no failure may undo) */
    bool got_result;
    bool aborted;
    PGresult *res;     /* the statement's result, until its NULL terminator */
    int64_t sent_ms;
} query;

struct bf_pg {
    bf_loop *loop;
    char *dsn, *name;
    long long statement_timeout_ms, connect_timeout_ms, retry_min_ms, retry_max_ms, backoff_ms;
    bf_log *log;
    PGconn *conn;
    pg_state state;
    bf_io io;
    bf_timer kick;     /* send the queued batch / report failures, next turn */
    bf_timer deadline; /* connect timeout, or the oldest sent query's answer deadline */
    bf_timer retry;    /* next connection attempt */
    query *queued_head, *queued_tail; /* not sent yet */
    query *sent_head, *sent_tail;     /* sent, in order, with sync markers */
    query *failed;                    /* to report (their callbacks run from kick) */
    size_t n_queued, n_sent;
    size_t batches_out; /* sent and their sync point not read yet */
    int64_t batch_rtt_ms; /* moving average of a batch's round trip (send to sync point); 0: none yet */
    char last_error[512];
    bool freeing;
    char *prepared[MAX_PREPARED]; /* statement names prepared in this server session */
    size_t n_prepared;
};

static void query_free(query *q) {
    if (!q) return;
    free(q->stmt);
    for (int i = 0; i < q->n; i++) free(q->params[i]);
    free(q->params);
    free(q->sql);
    PQclear(q->res);
    free(q);
}

static void set_error(bf_pg *pg, const char *what, const char *detail) {
    snprintf(pg->last_error, sizeof pg->last_error, "%s%s%s", what, detail && *detail ? ": " : "",
             detail ? detail : "");
    size_t l = strlen(pg->last_error);
    while (l > 0 && (pg->last_error[l - 1] == '\n' || pg->last_error[l - 1] == ' ')) pg->last_error[--l] = '\0';
}

static void run_cb(query *q, const PGresult *res, const char *err) {
    if (q->cb) q->cb(q->ctx, res, err);
}

/* ---- failure ---- */

static void fail_list(query **head, query **tail, query **out) {
    while (*head) {
        query *q = *head;
        *head = q->next;
        if (q->sync) {
            query_free(q);
            continue;
        }
        q->next = *out;
        *out = q;
    }
    if (tail) *tail = NULL;
}

/* Reports the failed queries, oldest first. */
static void report_failed(bf_pg *pg, const char *err) {
    query *rev = NULL;
    while (pg->failed) {
        query *q = pg->failed;
        pg->failed = q->next;
        q->next = rev;
        rev = q;
    }
    while (rev) {
        query *q = rev;
        rev = q->next;
        run_cb(q, NULL, err);
        query_free(q);
    }
}

static void schedule_retry(bf_pg *pg) {
    if (pg->freeing) return;
    bf_timer_start_in(pg->loop, &pg->retry, pg->backoff_ms);
    pg->backoff_ms = pg->backoff_ms * 2 > pg->retry_max_ms ? pg->retry_max_ms : pg->backoff_ms * 2;
}

/* The connection is gone (or never came): every query sent or queued fails with the reason, and
 * the next attempt is scheduled. */
static void forget_prepared(bf_pg *pg) {
    for (size_t i = 0; i < pg->n_prepared; i++) free(pg->prepared[i]);
    pg->n_prepared = 0;
}

static bool is_prepared(const bf_pg *pg, const char *name) {
    for (size_t i = 0; i < pg->n_prepared; i++)
        if (strcmp(pg->prepared[i], name) == 0) return true;
    return false;
}

static void set_prepared(bf_pg *pg, const char *name, bool on) {
    for (size_t i = 0; i < pg->n_prepared; i++)
        if (strcmp(pg->prepared[i], name) == 0) {
            if (!on) {
                free(pg->prepared[i]);
                pg->prepared[i] = pg->prepared[--pg->n_prepared];
            }
            return;
        }
    char *n = on && pg->n_prepared < MAX_PREPARED ? strdup(name) : NULL;
    if (n) pg->prepared[pg->n_prepared++] = n;
}

static void drop_connection(bf_pg *pg) {
    forget_prepared(pg); /* a new session has none */
    if (pg->conn) {
        bf_io_stop(pg->loop, &pg->io);
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    bf_timer_stop(pg->loop, &pg->deadline);
    bool was_up = pg->state == PG_UP;
    pg->state = PG_DOWN;
    fail_list(&pg->sent_head, &pg->sent_tail, &pg->failed);
    fail_list(&pg->queued_head, &pg->queued_tail, &pg->failed);
    pg->n_sent = pg->n_queued = pg->batches_out = 0;
    if (pg->log) {
        if (was_up) bf_log_warn(pg->log, "%s: %s", pg->name, pg->last_error);
        else bf_log_debug(pg->log, "%s: %s", pg->name, pg->last_error);
    }
    if (pg->failed) bf_timer_start_in(pg->loop, &pg->kick, 0);
    schedule_retry(pg);
}

/* ---- sending ---- */

static void arm_deadline(bf_pg *pg) {
    query *q = pg->sent_head;
    while (q && q->sync) q = q->next;
    if (!q || pg->statement_timeout_ms <= 0) {
        bf_timer_stop(pg->loop, &pg->deadline);
        return;
    }
    bf_timer_start(pg->loop, &pg->deadline, q->sent_ms + pg->statement_timeout_ms + ANSWER_GRACE_MS);
}

static void want_io(bf_pg *pg, bool write) {
    if (bf_io_start(pg->loop, &pg->io, BF_IO_READ | (write ? BF_IO_WRITE : 0u)) != 0) {
        set_error(pg, "connection lost", "cannot watch the socket");
        drop_connection(pg);
    }
}

static void flush_out(bf_pg *pg) {
    int r = PQflush(pg->conn);
    if (r < 0) {
        set_error(pg, "connection lost", PQerrorMessage(pg->conn));
        drop_connection(pg);
        return;
    }
    want_io(pg, r == 1);
}

/* libpq writes its buffer out every 8 kB while a batch is being queued: corked, the batch leaves
 * in as few segments as the network takes, so a server (or a slow link) receives it in one piece
 * rather than the first 8 kB a round trip ahead of the rest (measured behind the bench's proxy:
 * a 120-query batch cost two round trips). Best effort: not TCP (a Unix socket), no cork. */
static void cork(bf_pg *pg, bool on) {
    int v = on ? 1 : 0;
    int fd = PQsocket(pg->conn);
    if (fd >= 0) (void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

/* One batch on the wire at a time: what is queued meanwhile goes together as the next one, when
 * the answer comes. A server (or network) that takes its time then costs a burst of queries two
 * round trips, not one round trip per loop turn that queued some (measured with a 500 ms context
 * read: a 400-request burst's median read went from 1.5 s to about 0.5-1 s). */
static void send_batch(bf_pg *pg) {
    if (pg->state != PG_UP || !pg->queued_head || pg->batches_out > 0) return;
    int64_t now = bf_loop_now(pg->loop);
    cork(pg, true);
    size_t sent = 0;
    while (pg->queued_head && sent < BATCH_MAX && !(sent > 0 && pg->queued_head->alone)) {
        query *q = pg->queued_head;
        if (q->stmt && !is_prepared(pg, q->stmt)) {
            /* Parsed and planned once per session: what travels per query is then the name and
             * the parameters, not kilobytes of SQL. */
            query *prep = calloc(1, sizeof *prep);
            if (!prep || !(prep->stmt = strdup(q->stmt)) ||
                PQsendPrepare(pg->conn, q->stmt, q->sql, q->n, NULL) != 1) {
                query_free(prep);
                set_error(pg, "connection lost", PQerrorMessage(pg->conn));
                drop_connection(pg);
                return;
            }
            prep->prepare = true;
            prep->attempts = 1;
            prep->sent_ms = now;
            if (pg->sent_tail) pg->sent_tail->next = prep;
            else pg->sent_head = prep;
            pg->sent_tail = prep;
            pg->n_sent++;
            set_prepared(pg, q->stmt, true);
        }
        int ok = q->stmt ? PQsendQueryPrepared(pg->conn, q->stmt, q->n, (const char *const *)q->params, NULL, NULL, 0)
                         : PQsendQueryParams(pg->conn, q->sql, q->n, NULL, (const char *const *)q->params, NULL, NULL, 0);
        if (ok != 1) {
            set_error(pg, "connection lost", PQerrorMessage(pg->conn));
            drop_connection(pg);
            return;
        }
        pg->queued_head = q->next;
        if (!pg->queued_head) pg->queued_tail = NULL;
        pg->n_queued--;
        q->next = NULL;
        q->sent_ms = now;
        q->got_result = q->aborted = false;
        if (pg->sent_tail) pg->sent_tail->next = q;
        else pg->sent_head = q;
        pg->sent_tail = q;
        pg->n_sent++;
        sent++;
        if (q->alone) break;
    }
    query *sync = calloc(1, sizeof *sync);
    if (!sync || PQpipelineSync(pg->conn) != 1) {
        free(sync);
        set_error(pg, "connection lost", sync ? PQerrorMessage(pg->conn) : "out of memory");
        drop_connection(pg);
        return;
    }
    sync->sync = true;
    sync->sent_ms = now;
    pg->sent_tail->next = sync;
    pg->sent_tail = sync;
    pg->batches_out++;
    arm_deadline(pg);
    flush_out(pg);
    if (pg->conn) cork(pg, false);
}

/* ---- results ---- */

static void requeue_front(bf_pg *pg, query *q) {
    q->next = pg->queued_head;
    pg->queued_head = q;
    if (!pg->queued_tail) pg->queued_tail = q;
    pg->n_queued++;
    bf_timer_start_in(pg->loop, &pg->kick, 0);
}

/* Finishes the head query after its NULL terminator. */
static void complete_head(bf_pg *pg) {
    query *q = pg->sent_head;
    pg->sent_head = q->next;
    if (!pg->sent_head) pg->sent_tail = NULL;
    pg->n_sent--;
    q->next = NULL;
    if (q->prepare) {
        /* Not prepared after all (aborted, or refused): the next use prepares it again, and the
         * query behind it reports the error. */
        if (!q->res || (PQresultStatus(q->res) != PGRES_COMMAND_OK)) set_prepared(pg, q->stmt, false);
        query_free(q);
        return;
    }
    if (q->aborted && !q->res && q->attempts < 1) {
        /* Another query of its batch failed; this one never ran. */
        q->attempts++;
        requeue_front(pg, q);
        return;
    }
    if (q->aborted && !q->res) {
        run_cb(q, NULL, "aborted: an earlier statement of its pipeline failed");
    } else {
        ExecStatusType st = PQresultStatus(q->res);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            run_cb(q, q->res, NULL);
        } else {
            char msg[512];
            const char *m = PQresultErrorMessage(q->res);
            snprintf(msg, sizeof msg, "%s", m && *m ? m : "query failed");
            size_t l = strlen(msg);
            while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == ' ')) msg[--l] = '\0';
            run_cb(q, q->res, msg);
        }
    }
    query_free(q);
}

static void read_results(bf_pg *pg) {
    if (PQconsumeInput(pg->conn) != 1) {
        set_error(pg, "connection lost", PQerrorMessage(pg->conn));
        drop_connection(pg);
        return;
    }
    int empty = 0;
    /* The callbacks may queue queries (kick sends them) but never touch what is sent. */
    while (pg->sent_head && pg->conn && !PQisBusy(pg->conn)) {
        PGresult *r = PQgetResult(pg->conn);
        query *q = pg->sent_head;
        if (q->sync) {
            if (!r) {
                /* libpq and we disagree on what is queued: give up rather than spin. */
                if (++empty > 3) {
                    set_error(pg, "connection lost", "pipeline out of step");
                    drop_connection(pg);
                    return;
                }
                continue;
            }
            ExecStatusType st = PQresultStatus(r);
            PQclear(r);
            if (st != PGRES_PIPELINE_SYNC) {
                set_error(pg, "connection lost", "pipeline out of step (expected a sync point)");
                drop_connection(pg);
                return;
            }
            pg->sent_head = q->next;
            if (!pg->sent_head) pg->sent_tail = NULL;
            int64_t rtt = bf_loop_now(pg->loop) - q->sent_ms;
            if (rtt < 0) rtt = 0;
            pg->batch_rtt_ms = pg->batch_rtt_ms ? (3 * pg->batch_rtt_ms + rtt) / 4 : rtt + 1;
            query_free(q);
            empty = 0;
            pg->batches_out--;
            if (pg->queued_head) bf_timer_start_in(pg->loop, &pg->kick, 0);
            continue;
        }
        if (!r) {
            if (!q->got_result && ++empty > 3) {
                set_error(pg, "connection lost", "pipeline out of step (a statement without a result)");
                drop_connection(pg);
                return;
            }
            if (q->got_result) {
                empty = 0;
                complete_head(pg);
            }
            continue;
        }
        empty = 0;
        q->got_result = true;
        if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
            q->aborted = true;
            PQclear(r);
        } else {
            PQclear(q->res);
            q->res = r;
        }
    }
    if (pg->conn) arm_deadline(pg);
}

/* ---- connecting ---- */

static void connect_poll(bf_pg *pg) {
    PostgresPollingStatusType s = PQconnectPoll(pg->conn);
    if (s == PGRES_POLLING_FAILED) {
        set_error(pg, "connection failed", PQerrorMessage(pg->conn));
        drop_connection(pg);
        return;
    }
    if (s != PGRES_POLLING_OK) {
        /* libpq may move to another socket (another host of a list): follow it. */
        int fd = PQsocket(pg->conn);
        if (fd != pg->io.fd) {
            bf_io_stop(pg->loop, &pg->io);
            bf_io_init(&pg->io, fd, pg->io.cb, pg);
        }
        unsigned ev = s == PGRES_POLLING_WRITING ? BF_IO_WRITE : BF_IO_READ;
        if (bf_io_start(pg->loop, &pg->io, ev) != 0) {
            set_error(pg, "connection failed", "cannot watch the socket");
            drop_connection(pg);
        }
        return;
    }
    if (PQsetnonblocking(pg->conn, 1) != 0 || PQenterPipelineMode(pg->conn) != 1) {
        set_error(pg, "connection failed", PQerrorMessage(pg->conn));
        drop_connection(pg);
        return;
    }
    bf_timer_stop(pg->loop, &pg->deadline);
    pg->state = PG_UP;
    pg->backoff_ms = pg->retry_min_ms;
    pg->last_error[0] = '\0';
    if (pg->log) bf_log_debug(pg->log, "%s: connected", pg->name);
    if (pg->statement_timeout_ms > 0) {
        /* First in the pipeline: it applies to every query behind it. */
        char ms[32];
        snprintf(ms, sizeof ms, "%lld", pg->statement_timeout_ms);
        const char *p[] = {ms};
        query *q = calloc(1, sizeof *q);
        char **params = calloc(1, sizeof *params);
        char *sql = strdup("SELECT set_config('statement_timeout', $1, false)");
        char *v = strdup(p[0]);
        if (!q || !params || !sql || !v) {
            free(q);
            free(params);
            free(sql);
            free(v);
            set_error(pg, "connection failed", "out of memory");
            drop_connection(pg);
            return;
        }
        params[0] = v;
        /* Alone: a statement failing in the same implicit transaction would roll the setting back. */
        *q = (query){.sql = sql, .params = params, .n = 1, .attempts = 1, .alone = true};
        requeue_front(pg, q);
    }
    want_io(pg, false);
    if (pg->queued_head) send_batch(pg);
}

static void on_io(bf_io *io, unsigned events) {
    bf_pg *pg = io->data;
    if (pg->state == PG_CONNECTING) {
        connect_poll(pg);
        return;
    }
    if (pg->state != PG_UP) return;
    if (events & BF_IO_WRITE) {
        flush_out(pg);
        if (pg->state != PG_UP) return;
    }
    if (events & (BF_IO_READ | BF_IO_ERROR)) read_results(pg);
}

static void start_connect(bf_pg *pg) {
    if (pg->state != PG_DOWN || pg->freeing) return;
    /* A bounded connect timeout unless the DSN sets one: an unreachable host must not keep
     * queries waiting for the OS's TCP timeout. */
    char timeout_s[24];
    snprintf(timeout_s, sizeof timeout_s, "%lld", (pg->connect_timeout_ms + 999) / 1000);
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {pg->dsn, "brainfleet", strstr(pg->dsn, "connect_timeout") ? NULL : timeout_s, NULL};
    if (!vals[2]) keys[2] = NULL;
    pg->conn = PQconnectStartParams(keys, vals, 1);
    if (!pg->conn || PQstatus(pg->conn) == CONNECTION_BAD) {
        set_error(pg, "connection failed", pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
        drop_connection(pg);
        return;
    }
    pg->state = PG_CONNECTING;
    bf_io_init(&pg->io, PQsocket(pg->conn), on_io, pg);
    bf_timer_start_in(pg->loop, &pg->deadline, pg->connect_timeout_ms);
    if (bf_io_start(pg->loop, &pg->io, BF_IO_WRITE) != 0) {
        set_error(pg, "connection failed", "cannot watch the socket");
        drop_connection(pg);
    }
}

static void on_deadline(bf_timer *t) {
    bf_pg *pg = t->data;
    if (pg->state == PG_CONNECTING) set_error(pg, "connection failed", "timed out connecting");
    else set_error(pg, "connection lost", "the server stopped answering (no result within statement_timeout)");
    drop_connection(pg);
}

static void on_retry(bf_timer *t) { start_connect(t->data); }

static void on_kick(bf_timer *t) {
    bf_pg *pg = t->data;
    if (pg->failed) report_failed(pg, pg->last_error[0] ? pg->last_error : "connection down");
    if (pg->state == PG_DOWN && pg->queued_head) {
        /* Queued while down (between attempts): fail now rather than wait for the next attempt. */
        fail_list(&pg->queued_head, &pg->queued_tail, &pg->failed);
        pg->n_queued = 0;
        report_failed(pg, pg->last_error[0] ? pg->last_error : "connection down");
    }
    send_batch(pg);
}

/* ---- public ---- */

bf_pg *bf_pg_new(bf_loop *loop, const bf_pg_opts *o, char *err, size_t errlen) {
    if (!o->dsn || !*o->dsn) {
        snprintf(err, errlen, "no database configured (BRAINFLEET_PG_DSN is empty)");
        return NULL;
    }
    bf_pg *pg = calloc(1, sizeof *pg);
    if (!pg || !(pg->dsn = strdup(o->dsn)) || !(pg->name = strdup(o->name ? o->name : "postgres"))) {
        if (pg) free(pg->dsn);
        free(pg);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pg->loop = loop;
    pg->log = o->log;
    pg->statement_timeout_ms = o->statement_timeout_ms;
    pg->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    pg->retry_min_ms = o->retry_min_ms > 0 ? o->retry_min_ms : DEFAULT_RETRY_MIN_MS;
    pg->retry_max_ms = o->retry_max_ms > 0 ? o->retry_max_ms : DEFAULT_RETRY_MAX_MS;
    pg->backoff_ms = pg->retry_min_ms;
    pg->state = PG_DOWN;
    bf_io_init(&pg->io, -1, on_io, pg);
    bf_timer_init(&pg->kick, on_kick, pg);
    bf_timer_init(&pg->deadline, on_deadline, pg);
    bf_timer_init(&pg->retry, on_retry, pg);
    bf_timer_start_in(loop, &pg->retry, 0);
    return pg;
}

void bf_pg_free(bf_pg *pg) {
    if (!pg) return;
    pg->freeing = true;
    bf_timer_stop(pg->loop, &pg->kick);
    bf_timer_stop(pg->loop, &pg->retry);
    set_error(pg, "cancelled", NULL);
    if (pg->conn) {
        bf_io_stop(pg->loop, &pg->io);
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    bf_timer_stop(pg->loop, &pg->deadline);
    fail_list(&pg->sent_head, &pg->sent_tail, &pg->failed);
    fail_list(&pg->queued_head, &pg->queued_tail, &pg->failed);
    report_failed(pg, "cancelled");
    forget_prepared(pg);
    free(pg->dsn);
    free(pg->name);
    free(pg);
}

/* linger_ms > 0: the batch this query joins may wait that long for more, until it holds fill
 * queries (pool_pick). */
static int enqueue(bf_pg *pg, const char *stmt, const char *sql, int n, const char *const *params, bf_pg_done_fn cb,
                   void *ctx, int64_t linger_ms, size_t fill) {
    if (pg->freeing) return -1;
    query *q = calloc(1, sizeof *q);
    if (!q) return -1;
    if (stmt && !(q->stmt = strdup(stmt))) {
        free(q);
        return -1;
    }
    q->sql = strdup(sql);
    q->params = n > 0 ? calloc((size_t)n, sizeof *q->params) : NULL;
    q->n = n;
    q->cb = cb;
    q->ctx = ctx;
    bool ok = q->sql && (n == 0 || q->params);
    for (int i = 0; ok && i < n; i++)
        if (params[i] && !(q->params[i] = strdup(params[i]))) ok = false;
    /* A lingering batch keeps its first query's deadline; a full one leaves at once. */
    bool now = linger_ms <= 0 || pg->n_queued + 1 >= fill;
    bool arm = now || !bf_timer_active(&pg->kick);
    if (!ok || (arm && bf_timer_start_in(pg->loop, &pg->kick, now ? 0 : linger_ms) != 0)) {
        query_free(q);
        return -1;
    }
    if (pg->queued_tail) pg->queued_tail->next = q;
    else pg->queued_head = q;
    pg->queued_tail = q;
    pg->n_queued++;
    return 0;
}

int bf_pg_query(bf_pg *pg, const char *sql, int n, const char *const *params, bf_pg_done_fn cb, void *ctx) {
    return enqueue(pg, NULL, sql, n, params, cb, ctx, 0, 0);
}

int bf_pg_query_prepared(bf_pg *pg, const char *name, const char *sql, int n, const char *const *params,
                         bf_pg_done_fn cb, void *ctx) {
    return enqueue(pg, name, sql, n, params, cb, ctx, 0, 0);
}

bool bf_pg_up(const bf_pg *pg) { return pg->state == PG_UP; }
size_t bf_pg_pending(const bf_pg *pg) { return pg->n_queued + pg->n_sent; }
const char *bf_pg_last_error(const bf_pg *pg) { return pg->last_error; }

/* ---- pool ---- */

struct bf_pg_pool {
    bf_pg **conns;
    size_t n, next;
};

bf_pg_pool *bf_pg_pool_new(bf_loop *loop, size_t n, const bf_pg_opts *opts, char *err, size_t errlen) {
    bf_pg_pool *p = calloc(1, sizeof *p);
    if (!p || n == 0 || !(p->conns = calloc(n, sizeof *p->conns))) {
        free(p);
        snprintf(err, errlen, n == 0 ? "a pool needs at least one connection" : "out of memory");
        return NULL;
    }
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s %zu/%zu", opts->name ? opts->name : "postgres", i + 1, n);
        bf_pg_opts o = *opts;
        o.name = name;
        if (!(p->conns[i] = bf_pg_new(loop, &o, err, errlen))) {
            bf_pg_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void bf_pg_pool_free(bf_pg_pool *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) bf_pg_free(p->conns[i]);
    free(p->conns);
    free(p);
}

/* A connection with no batch on the wire sends what it has queued on the next turn. Filling its
 * next batch up to POOL_FILL before opening another keeps the other idle connections for the
 * queries the next turns bring: a burst reaches the loop over many turns (a 400-request burst:
 * a dozen turns over 50 ms), and spreading each turn over every idle connection left none for
 * the later turns, whose reads then waited a whole round trip (pool sizes 4 and 16 measured the
 * same). While some batch is on the wire the burst is on: the filling batch lingers a little
 * (LINGER_SHARE) for the turns behind it, and the last idle connection takes up to BATCH_MAX.
 * Every connection busy: the one with the fewest queries waiting. None up: the next in turn (it
 * fails at once while down, or waits for its connection attempt). */
static bf_pg *pool_pick(bf_pg_pool *p, int64_t *linger_ms, size_t *fill_to) {
    bf_pg *fill = NULL, *least = NULL, *an_idle = NULL;
    size_t idle = 0;
    bool busy = false;
    int64_t rtt = 0;
    for (size_t i = 0; i < p->n; i++) {
        bf_pg *c = p->conns[i];
        if (!bf_pg_up(c)) continue;
        if (c->batches_out == 0) {
            idle++;
            an_idle = c;
            if (c->n_queued < POOL_FILL && (!fill || c->n_queued > fill->n_queued)) fill = c;
        } else {
            busy = true;
        }
        if (!least || bf_pg_pending(c) < bf_pg_pending(least)) least = c;
        if (c->batch_rtt_ms > rtt) rtt = c->batch_rtt_ms;
    }
    *linger_ms = 0;
    *fill_to = POOL_FILL;
    /* The last idle connection, already filled to POOL_FILL: it may take a whole batch. */
    if (!fill && idle == 1 && busy && an_idle->n_queued < BATCH_MAX) fill = an_idle;
    if (fill && busy) {
        *linger_ms = rtt / LINGER_SHARE < LINGER_MAX_MS ? rtt / LINGER_SHARE : LINGER_MAX_MS;
        if (idle == 1) *fill_to = BATCH_MAX;
    }
    if (fill) return fill;
    if (least) return least;
    bf_pg *next = p->conns[p->next];
    p->next = (p->next + 1) % p->n;
    return next;
}

static int pool_enqueue(bf_pg_pool *p, const char *stmt, const char *sql, int n, const char *const *params,
                        bf_pg_done_fn cb, void *ctx) {
    int64_t linger = 0;
    size_t fill = 0;
    bf_pg *c = pool_pick(p, &linger, &fill);
    return enqueue(c, stmt, sql, n, params, cb, ctx, linger, fill);
}

int bf_pg_pool_query(bf_pg_pool *p, const char *sql, int n, const char *const *params, bf_pg_done_fn cb, void *ctx) {
    return pool_enqueue(p, NULL, sql, n, params, cb, ctx);
}

int bf_pg_pool_query_prepared(bf_pg_pool *p, const char *name, const char *sql, int n, const char *const *params,
                              bf_pg_done_fn cb, void *ctx) {
    return pool_enqueue(p, name, sql, n, params, cb, ctx);
}

size_t bf_pg_pool_up_count(const bf_pg_pool *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) n += bf_pg_up(p->conns[i]);
    return n;
}

bool bf_pg_pool_up(const bf_pg_pool *p) { return bf_pg_pool_up_count(p) > 0; }

size_t bf_pg_pool_pending(const bf_pg_pool *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) n += bf_pg_pending(p->conns[i]);
    return n;
}
