#include "memory_sink_pg.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_ANSWER_TIMEOUT_MS 60000

typedef enum { LANE_DOWN, LANE_CONNECTING, LANE_UP } lane_state;

typedef struct sink_pg sink_pg;

typedef struct pg_lane {
    sink_pg *owner;
    size_t index;
    PGconn *conn;
    lane_state state;
    bf_io io;
    bf_timer deadline; /* connecting: its timeout; writing: no answer for answer_timeout_ms */
    bf_timer report;   /* an end decided inside write/probe, reported on the next turn */
    unsigned prepared; /* statements prepared in this session (memory_store's bits) */
    memory_store_async async;
    memory_batch *batch; /* the write under way, NULL when none */
    bool probing;
    memory_sink_done_fn cb;
    void *ctx;
    memory_store_status end_status;
    char end_err[1024];
} pg_lane;

struct sink_pg {
    bf_loop *loop;
    char *dsn;
    const char *consumer;
    long long connect_timeout_ms, answer_timeout_ms;
    bf_log *log;
    pg_lane *lanes;
    size_t n_lanes;
};

static bool lane_busy(const pg_lane *l) { return l->batch || l->probing; }

static void set_err(char *dst, size_t len, const char *what, const char *detail) {
    snprintf(dst, len, "%s%s%s", what, detail && *detail ? ": " : "", detail ? detail : "");
    size_t l = strlen(dst);
    while (l > 0 && (dst[l - 1] == '\n' || dst[l - 1] == ' ')) dst[--l] = '\0';
}

/* Closes the connection (a transaction under way rolls back with it). */
static void lane_close(pg_lane *l) {
    sink_pg *s = l->owner;
    bf_timer_stop(s->loop, &l->deadline);
    if (l->conn) {
        bf_io_stop(s->loop, &l->io);
        PQfinish(l->conn);
        l->conn = NULL;
    }
    memory_store_async_free(&l->async);
    l->prepared = 0;
    l->state = LANE_DOWN;
}

/* Ends what is under way and runs its callback (last: it may start the lane's next write). */
static void lane_end(pg_lane *l, memory_store_status st, const char *err) {
    sink_pg *s = l->owner;
    bf_timer_stop(s->loop, &l->deadline);
    bf_timer_stop(s->loop, &l->report);
    if (st == MEMORY_STORE_LOST) {
        if (s->log && l->state == LANE_UP) bf_log_debug(s->log, "lane %zu: closing its connection: %s", l->index, err);
        lane_close(l);
    }
    memory_sink_done_fn cb = l->cb;
    void *ctx = l->ctx;
    l->batch = NULL;
    l->probing = false;
    l->cb = NULL;
    l->ctx = NULL;
    if (cb) cb(ctx, st, err ? err : "");
}

/* The same, on the next loop turn: for ends decided inside write or probe. */
static void lane_end_later(pg_lane *l, memory_store_status st, const char *err) {
    l->end_status = st;
    snprintf(l->end_err, sizeof l->end_err, "%s", err ? err : "");
    if (st == MEMORY_STORE_LOST) lane_close(l);
    if (bf_timer_start_in(l->owner->loop, &l->report, 0) != 0) lane_end(l, st, l->end_err); /* out of memory */
}

static void on_report(bf_timer *t) {
    pg_lane *l = t->data;
    lane_end(l, l->end_status, l->end_err);
}

/* Sends what libpq holds and watches the socket for what comes next. Returns -1 when the
 * connection failed (the lane's write then ends LOST). */
static int lane_flush(pg_lane *l) {
    int r = PQflush(l->conn);
    if (r < 0) return -1;
    return bf_io_start(l->owner->loop, &l->io, BF_IO_READ | (r == 1 ? BF_IO_WRITE : 0u));
}

static void lane_lost(pg_lane *l, const char *what) {
    char err[1024];
    set_err(err, sizeof err, what, l->conn ? PQerrorMessage(l->conn) : NULL);
    lane_end(l, MEMORY_STORE_LOST, err);
}

static void arm_answer_deadline(pg_lane *l) {
    bf_timer_start_in(l->owner->loop, &l->deadline, l->owner->answer_timeout_ms);
}

/* Sends the lane's write on its connection, up. */
static void lane_send(pg_lane *l, bool later) {
    sink_pg *s = l->owner;
    memory_store_status st = memory_store_send(&l->async, l->conn, &l->prepared, l->batch, s->consumer);
    if (st == MEMORY_STORE_OK && lane_flush(l) != 0) {
        st = MEMORY_STORE_LOST;
        set_err(l->async.err, sizeof l->async.err, "connection lost", PQerrorMessage(l->conn));
    }
    if (st != MEMORY_STORE_OK) {
        char err[1024];
        snprintf(err, sizeof err, "%s", l->async.err);
        if (later) lane_end_later(l, st, err);
        else lane_end(l, st, err);
        return;
    }
    arm_answer_deadline(l);
}

/* The connection is up: what waited for it goes on. */
static void lane_up(pg_lane *l) {
    if (l->batch) lane_send(l, false);
    else if (l->probing) lane_end(l, MEMORY_STORE_OK, NULL);
}

static void connect_poll(pg_lane *l) {
    sink_pg *s = l->owner;
    PostgresPollingStatusType ps = PQconnectPoll(l->conn);
    if (ps == PGRES_POLLING_FAILED) {
        lane_lost(l, "connection failed");
        return;
    }
    if (ps != PGRES_POLLING_OK) {
        /* libpq may move to another socket (the next host of a list): follow it. */
        int fd = PQsocket(l->conn);
        if (fd != l->io.fd) {
            bf_io_stop(s->loop, &l->io);
            bf_io_init(&l->io, fd, l->io.cb, l);
        }
        if (bf_io_start(s->loop, &l->io, ps == PGRES_POLLING_WRITING ? BF_IO_WRITE : BF_IO_READ) != 0)
            lane_lost(l, "connection failed: cannot watch its socket");
        return;
    }
    if (PQsetnonblocking(l->conn, 1) != 0 || PQenterPipelineMode(l->conn) != 1) {
        lane_lost(l, "connection failed");
        return;
    }
    bf_timer_stop(s->loop, &l->deadline);
    l->state = LANE_UP;
    l->prepared = 0;
    if (bf_io_start(s->loop, &l->io, BF_IO_READ) != 0) {
        lane_lost(l, "connection failed: cannot watch its socket");
        return;
    }
    if (s->log) bf_log_debug(s->log, "lane %zu: connected", l->index);
    lane_up(l);
}

static void on_io(bf_io *io, unsigned events) {
    pg_lane *l = io->data;
    if (l->state == LANE_CONNECTING) {
        connect_poll(l);
        return;
    }
    if (l->state != LANE_UP) return;
    if ((events & BF_IO_WRITE) && lane_flush(l) != 0) {
        if (lane_busy(l)) lane_lost(l, "connection lost");
        else lane_close(l);
        return;
    }
    if (!(events & (BF_IO_READ | BF_IO_ERROR))) return;
    if (!l->batch) {
        /* Idle: the server closing the session (a restart, pg_terminate_backend) shows here. */
        if (PQconsumeInput(l->conn) != 1 || PQstatus(l->conn) != CONNECTION_OK) {
            if (l->owner->log) bf_log_debug(l->owner->log, "lane %zu: connection closed: %s", l->index, PQerrorMessage(l->conn));
            lane_close(l);
            return;
        }
        /* Anything else (a notice) is read and dropped, so the socket stops being readable. */
        PGresult *r;
        while (!PQisBusy(l->conn) && (r = PQgetResult(l->conn)) != NULL) PQclear(r);
        return;
    }
    bool ended = memory_store_progress(&l->async, l->batch);
    if (ended) {
        char err[1024];
        snprintf(err, sizeof err, "%s", l->async.err);
        lane_end(l, l->async.status, l->async.status == MEMORY_STORE_OK ? NULL : err);
        return;
    }
    if (lane_flush(l) != 0) {
        memory_store_async_free(&l->async);
        lane_lost(l, "connection lost");
        return;
    }
    arm_answer_deadline(l);
}

/* Starts connecting; an immediate failure is reported on the next turn. */
static void lane_connect(pg_lane *l) {
    sink_pg *s = l->owner;
    /* A bounded connect timeout unless the DSN sets one: an unreachable host must not keep the
     * lane waiting for the OS's TCP timeout. */
    char timeout_s[24];
    snprintf(timeout_s, sizeof timeout_s, "%lld", (s->connect_timeout_ms + 999) / 1000);
    const char *keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *vals[] = {s->dsn, "brainfleet", timeout_s, NULL};
    if (strstr(s->dsn, "connect_timeout")) keys[2] = vals[2] = NULL;
    l->conn = PQconnectStartParams(keys, vals, 1);
    if (!l->conn || PQstatus(l->conn) == CONNECTION_BAD) {
        char err[1024];
        set_err(err, sizeof err, "connection failed", l->conn ? PQerrorMessage(l->conn) : "out of memory");
        lane_end_later(l, MEMORY_STORE_LOST, err);
        return;
    }
    l->state = LANE_CONNECTING;
    bf_io_init(&l->io, PQsocket(l->conn), on_io, l);
    bf_timer_start_in(s->loop, &l->deadline, s->connect_timeout_ms);
    if (bf_io_start(s->loop, &l->io, BF_IO_WRITE) != 0)
        lane_end_later(l, MEMORY_STORE_LOST, "connection failed: cannot watch its socket");
}

static void on_deadline(bf_timer *t) {
    pg_lane *l = t->data;
    if (l->state == LANE_CONNECTING) lane_end(l, MEMORY_STORE_LOST, "connection failed: timed out connecting");
    else lane_end(l, MEMORY_STORE_LOST, "connection lost: no answer from the server in time");
}

/* ---- memory_sink_ops ---- */

static pg_lane *lane_of(sink_pg *s, size_t lane) { return &s->lanes[lane % s->n_lanes]; }

/* A connection found dead since it was last used is replaced before use rather than failing the
 * write on it. */
static void lane_check(pg_lane *l) {
    if (l->state == LANE_UP && PQstatus(l->conn) != CONNECTION_OK) lane_close(l);
}

static int sink_write(void *impl, size_t lane, memory_batch *b, memory_sink_done_fn cb, void *ctx) {
    pg_lane *l = lane_of(impl, lane);
    if (lane_busy(l)) return -1; /* the stage's bug: one write per lane */
    l->batch = b;
    l->cb = cb;
    l->ctx = ctx;
    lane_check(l);
    if (l->state == LANE_UP) lane_send(l, true);
    else if (l->state == LANE_DOWN) lane_connect(l);
    return 0;
}

static int sink_probe(void *impl, size_t lane, memory_sink_done_fn cb, void *ctx) {
    pg_lane *l = lane_of(impl, lane);
    if (lane_busy(l)) return -1;
    l->probing = true;
    l->cb = cb;
    l->ctx = ctx;
    lane_check(l);
    if (l->state == LANE_UP) lane_end_later(l, MEMORY_STORE_OK, NULL);
    else if (l->state == LANE_DOWN) lane_connect(l);
    return 0;
}

static void sink_cancel(void *impl, size_t lane) {
    pg_lane *l = lane_of(impl, lane);
    sink_pg *s = impl;
    bf_timer_stop(s->loop, &l->report);
    if (!lane_busy(l)) return;
    lane_close(l);
    l->batch = NULL;
    l->probing = false;
    l->cb = NULL;
    l->ctx = NULL;
}

static void sink_nudge(void *impl, bool report) {
    sink_pg *s = impl;
    for (size_t i = 0; i < s->n_lanes; i++) {
        pg_lane *l = &s->lanes[i];
        if (report && bf_timer_active(&l->report)) {
            bf_timer_stop(s->loop, &l->report);
            on_report(&l->report);
            continue;
        }
        if (!l->batch || l->state != LANE_UP || bf_timer_active(&l->report) || !memory_store_busy(&l->async)) continue;
        /* A failure here is left for the loop's callback on the socket to find. */
        if (PQconsumeInput(l->conn) != 1 || PQisBusy(l->conn)) continue;
        if (memory_store_progress(&l->async, l->batch)) {
            char err[1024];
            snprintf(err, sizeof err, "%s", l->async.err);
            if (report) lane_end(l, l->async.status, l->async.status == MEMORY_STORE_OK ? NULL : err);
            else lane_end_later(l, l->async.status, l->async.status == MEMORY_STORE_OK ? NULL : err);
        } else if (lane_flush(l) != 0) {
            lane_end_later(l, MEMORY_STORE_LOST, "connection lost");
        }
    }
}

/* The revocation's wait: only the lanes' own sockets and deadlines, with poll(2), not the loop
 * (the runtime is inside librdkafka's rebalance callback, and its other watchers must not run
 * there). The lanes' watcher callbacks are called directly; they keep their bf_io registered. */
static void sink_settle(void *impl, int64_t deadline_ms) {
    sink_pg *s = impl;
    for (;;) {
        struct pollfd p[64];
        pg_lane *who[64];
        size_t n = 0;
        int64_t now = bf_loop_now(s->loop), wake = deadline_ms;
        bool any = false, ran = false;
        for (size_t i = 0; i < s->n_lanes; i++) {
            pg_lane *l = &s->lanes[i];
            if (!lane_busy(l)) continue;
            any = true;
            if (bf_timer_active(&l->report)) {
                bf_timer_stop(s->loop, &l->report);
                on_report(&l->report);
                ran = true;
                continue;
            }
            if (bf_timer_active(&l->deadline) && l->deadline.due_ms <= now) {
                bf_timer_stop(s->loop, &l->deadline);
                on_deadline(&l->deadline);
                ran = true;
                continue;
            }
            if (bf_timer_active(&l->deadline) && l->deadline.due_ms < wake) wake = l->deadline.due_ms;
            if (l->conn && l->io.events && n < sizeof p / sizeof p[0]) {
                p[n] = (struct pollfd){.fd = l->io.fd,
                                       .events = (short)(((l->io.events & BF_IO_READ) ? POLLIN : 0) |
                                                         ((l->io.events & BF_IO_WRITE) ? POLLOUT : 0))};
                who[n++] = l;
            }
        }
        if (!any || now >= deadline_ms) return;
        if (n == 0) {
            if (ran) continue; /* a callback just ran and may have started more */
            return;
        }
        int64_t left = wake - now;
        int r = poll(p, n, left < 0 ? 0 : left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno != EINTR) return;
        for (size_t i = 0; r > 0 && i < n; i++) {
            if (!p[i].revents) continue;
            unsigned ev = ((p[i].revents & POLLIN) ? BF_IO_READ : 0u) | ((p[i].revents & POLLOUT) ? BF_IO_WRITE : 0u);
            if (p[i].revents & (POLLERR | POLLHUP)) ev |= BF_IO_READ | BF_IO_WRITE | BF_IO_ERROR;
            /* A callback may have closed or replaced this lane's socket meanwhile. */
            if (who[i]->conn && who[i]->io.fd == p[i].fd) on_io(&who[i]->io, ev);
        }
    }
}

static void sink_free(void *impl) {
    sink_pg *s = impl;
    if (!s) return;
    for (size_t i = 0; i < s->n_lanes; i++) {
        pg_lane *l = &s->lanes[i];
        sink_cancel(s, i);
        lane_close(l);
        bf_timer_stop(s->loop, &l->report);
    }
    free(s->lanes);
    free(s->dsn);
    free(s);
}

static const memory_sink_ops sink_pg_ops = {
    .write = sink_write, .probe = sink_probe, .settle = sink_settle, .cancel = sink_cancel,
    .nudge = sink_nudge,  .free = sink_free,
};

int memory_sink_pg_new(bf_loop *loop, const memory_sink_pg_opts *o, memory_sink *out, char *err, size_t errlen) {
    if (!o->dsn || !*o->dsn) {
        snprintf(err, errlen, "no database configured (BRAINFLEET_PG_DSN is empty)");
        return -1;
    }
    sink_pg *s = calloc(1, sizeof *s);
    size_t n = o->lanes ? o->lanes : 1;
    if (!s || !(s->dsn = strdup(o->dsn)) || !(s->lanes = calloc(n, sizeof *s->lanes))) {
        if (s) free(s->dsn);
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->loop = loop;
    s->consumer = o->consumer;
    s->log = o->log;
    s->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    s->answer_timeout_ms = o->answer_timeout_ms > 0 ? o->answer_timeout_ms : DEFAULT_ANSWER_TIMEOUT_MS;
    s->n_lanes = n;
    for (size_t i = 0; i < n; i++) {
        pg_lane *l = &s->lanes[i];
        l->owner = s;
        l->index = i;
        bf_io_init(&l->io, -1, on_io, l);
        bf_timer_init(&l->deadline, on_deadline, l);
        bf_timer_init(&l->report, on_report, l);
    }
    *out = (memory_sink){.impl = s, .ops = &sink_pg_ops};
    return 0;
}
