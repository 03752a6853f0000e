#include "memory_stage.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_envelope.h"
#include "memory_extract.h"
#include "memory_store.h"

#define RETRY_FIRST_MS 100
/* Transient failures (deadlock with another replica ...) retried this often before the batch is
 * split to find a message the database refuses. */
#define TRANSIENT_LIMIT 3

const char *const memory_stage_inputs[] = {BF_SCHEMA_IMAGE_FACTS_READY, BF_SCHEMA_MEMORY_UPDATES};
const size_t memory_stage_n_inputs = 2;
const char *const memory_stage_outputs[] = {BF_SCHEMA_IMAGE_FACTS_PROCESSED};
const size_t memory_stage_n_outputs = 1;

/* One database connection and the batches written through it. A project always maps to the
 * same lane, so its messages are applied in order (the confidence merge depends on it) while
 * lanes write different projects at the same time. */
typedef struct memory_lane {
    bf_db *db; /* owned */
    /* The lane's messages in arrival order. A write takes the oldest (memory_item.active) and
     * the loop keeps appending while the server works on them: the store reads only active
     * items, so appending is safe, and whatever waits goes into the next write, full size. */
    memory_batch batch;
    memory_store_async async;
    bool inflight;    /* batch is being written through async */
    bool async_ended; /* memory_store_progress returned true; results not handled yet */
    size_t async_n;   /* messages in the write */
    int64_t async_t0;
} memory_lane;

struct memory_stage {
    const memory_cfg *cfg;
    bf_log *log;
    memory_lane *lanes;
    size_t n_lanes;
    unsigned handled;          /* messages handled, to look at the pipelined writes now and then */
    /* The database's state is one for all lanes: a lost connection holds consumption, and the
     * retry time applies to every lane's waiting batch. */
    bool db_down;
    bool probed;               /* the database was tried once at start */
    int transient_failures;
    int64_t retry_at_ms;       /* 0: no retry scheduled */
    long long backoff_ms;
    /* Inputs of revoked partitions, finished on the next tick, once the runtime has moved to the
     * new assignment and will no longer store their offsets. */
    bf_inmsg **abandoned;
    size_t n_abandoned, cap_abandoned;
    bf_metric *m_batches, *m_rows, *m_duplicates, *m_db_errors, *m_rejected, *m_flush_seconds;
};

memory_stage *memory_stage_new(const memory_cfg *cfg, const char *dsn, bf_log *log, bf_metrics *metrics) {
    memory_stage *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->cfg = cfg;
    s->log = log;
    s->backoff_ms = RETRY_FIRST_MS;
    s->n_lanes = (size_t)cfg->write_connections;
    s->lanes = calloc(s->n_lanes, sizeof *s->lanes);
    if (!s->lanes) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        memory_batch_init(&l->batch, MEMORY_AN_COLS, MEMORY_MSG_COLS);
        l->db = bf_db_new(dsn, log);
        if (!l->db) {
            memory_stage_free(s);
            return NULL;
        }
    }
    s->m_batches = bf_metrics_counter(metrics, "bf_memory_batches_total", "Batches committed to PostgreSQL.", NULL);
    s->m_rows = bf_metrics_counter(metrics, "bf_memory_messages_committed_total",
                                   "Input messages whose batch committed (duplicates included).", NULL);
    s->m_duplicates = bf_metrics_counter(metrics, "bf_memory_duplicates_total",
                                         "Input messages already in the processed_events ledger (replays, redeliveries).",
                                         NULL);
    s->m_db_errors = bf_metrics_counter(metrics, "bf_memory_db_errors_total",
                                        "Batch writes that failed (connection lost, transient or rejected).", NULL);
    s->m_rejected = bf_metrics_counter(metrics, "bf_memory_rejected_total",
                                       "Messages the database refused, sent to deadLetters.", NULL);
    s->m_flush_seconds = bf_metrics_histogram(metrics, "bf_memory_flush_seconds", "Time to write one batch.", NULL,
                                              bf_metrics_latency_bounds, bf_metrics_latency_n);
    return s;
}

void memory_stage_free(memory_stage *s) {
    if (!s) return;
    for (size_t i = 0; s->lanes && i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        memory_batch_free(&l->batch);
        memory_store_async_free(&l->async);
        bf_db_free(l->db);
    }
    free(s->lanes);
    free(s->abandoned);
    free(s);
}

/* ---- handler ---- */

/* FNV-1a of the envelope's project id (not the Kafka key, which nothing forces to match): the
 * same project, the same lane. */
static memory_batch *lane_batch(memory_stage *s, const char *project_id) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)project_id; *p; p++) h = (h ^ *p) * 16777619u;
    return &s->lanes[h % s->n_lanes].batch;
}

static bf_handle_result handle(void *ctx, bf_runtime *rt, bf_inmsg *msg) {
    memory_stage *s = ctx;
    char err[512];
    /* The runtime hands out up to a few hundred messages before the next tick: look at the
     * pipelined writes in between so their second phase is sent without waiting for the tick.
     * Only reading and sending here; completion (producing, finishing) stays in tick. */
    if (++s->handled % 32 == 0)
        for (size_t i = 0; i < s->n_lanes; i++) {
            memory_lane *l = &s->lanes[i];
            if (l->inflight && !l->async_ended) l->async_ended = memory_store_progress(&l->async, &l->batch, false);
        }
    const char *payload = msg->payload ? msg->payload : "";
    int rc;
    if (strcmp(msg->topic_base, BF_SCHEMA_IMAGE_FACTS_READY) == 0) {
        bf_msg_image_facts_ready m;
        if (bf_msg_image_facts_ready_decode(payload, msg->len, &m, err, sizeof err) != 0) {
            bf_runtime_dead_letter(rt, msg, "invalid_message", err);
            return BF_HANDLED;
        }
        rc = memory_extract_image_facts(lane_batch(s, m.env.project_id), msg, &m, s->cfg->inferred_weight, bf_now_ms(), bf_wall_ms(), err,
                                        sizeof err);
        bf_msg_image_facts_ready_free(&m);
    } else if (strcmp(msg->topic_base, BF_SCHEMA_MEMORY_UPDATES) == 0) {
        bf_msg_memory_update m;
        if (bf_msg_memory_update_decode(payload, msg->len, &m, err, sizeof err) != 0) {
            bf_runtime_dead_letter(rt, msg, "invalid_message", err);
            return BF_HANDLED;
        }
        rc = memory_extract_memory_update(lane_batch(s, m.env.project_id), msg, &m, bf_now_ms(), err, sizeof err);
        bf_msg_memory_update_free(&m);
    } else {
        snprintf(err, sizeof err, "memory-writer does not consume topic %s", msg->topic);
        bf_runtime_dead_letter(rt, msg, "unexpected_topic", err);
        return BF_HANDLED;
    }
    if (rc != 0) {
        /* The message decoded, so this is out of memory or an output the contract refuses:
         * neither is fixed by retrying, and the input must not be lost silently. */
        bf_runtime_dead_letter(rt, msg, "unprocessable", err);
        return BF_HANDLED;
    }
    return BF_PENDING;
}

/* ---- after a commit ---- */

/* Publishes what item i produces and finishes its input. A failed produce leaves the input
 * unfinished: the runtime is stopping with an error and the input will be re-delivered. */
static void complete_item(memory_stage *s, bf_runtime *rt, memory_item *it) {
    it->done = true;
    bf_inmsg *msg = it->cause;
    if (!it->fresh) bf_metric_inc(s->m_duplicates);
    if (it->out_payload) {
        char version[12];
        snprintf(version, sizeof version, "%d", BF_SCHEMA_VERSION);
        bf_header h[] = {{BF_HDR_SCHEMA, BF_SCHEMA_IMAGE_FACTS_PROCESSED}, {BF_HDR_SCHEMA_VERSION, version}};
        /* The payload goes to librdkafka as it is (the item is done with it); nothing copies it. */
        char *payload = it->out_payload;
        it->out_payload = NULL;
        if (bf_runtime_produce_owned(rt, msg, BF_SCHEMA_IMAGE_FACTS_PROCESSED, it->out_key, strlen(it->out_key),
                                     payload, it->out_len, h, 2) != 0)
            return;
    }
    bf_runtime_finish(rt, msg);
}

static void reject_item(memory_stage *s, bf_runtime *rt, memory_item *it, const char *err) {
    it->done = true;
    bf_metric_inc(s->m_rejected);
    if (bf_runtime_dead_letter(rt, it->cause, "db_rejected", err) == 0) bf_runtime_finish(rt, it->cause);
}

static void set_db_state(memory_stage *s, bf_runtime *rt, bool up, const char *err) {
    if (up) {
        if (s->db_down) bf_log_info(s->log, "postgres reachable again; resuming consumption");
        s->db_down = false;
        s->backoff_ms = RETRY_FIRST_MS;
        s->retry_at_ms = 0;
    } else {
        if (!s->db_down) bf_log_warn(s->log, "postgres unreachable, holding consumption: %s", err);
        else bf_log_warn(s->log, "postgres still unreachable (next try in %lld ms): %s", s->backoff_ms, err);
        s->db_down = true;
        s->retry_at_ms = bf_now_ms() + s->backoff_ms;
        s->backoff_ms = s->backoff_ms * 2 > s->cfg->retry_max_ms ? s->cfg->retry_max_ms : s->backoff_ms * 2;
    }
    bf_runtime_hold(rt, !up);
    bf_runtime_set_dependency(rt, "postgres", up);
}

/* ---- flushing ---- */

static void set_active(memory_batch *b, size_t only) {
    for (size_t i = 0; i < b->n_items; i++) b->items[i].active = i == only;
}

/* Selects the oldest `limit` unfinished items and returns how many: a lane's batch can hold
 * more than a transaction takes (messages that arrived while its connection was busy), the
 * rest wait for the next one. */
static size_t set_active_first(memory_batch *b, size_t limit) {
    size_t n = 0;
    for (size_t i = 0; i < b->n_items; i++) {
        b->items[i].active = !b->items[i].done && n < limit;
        n += b->items[i].active;
    }
    return n;
}

static size_t flush_size(const memory_stage *s, bf_runtime *rt) {
    /* The runtime stops handing out messages at MAX_IN_FLIGHT, shared by the lanes, and each
     * lane holds a write in flight and the next one filling behind it: a larger batch would
     * only ever flush on the linger. */
    long long n = s->cfg->batch_size, cap = bf_runtime_config(rt)->max_in_flight / (2 * (long long)s->n_lanes);
    if (cap < 1) cap = 1;
    return (size_t)(n < cap ? n : cap);
}

/* One transaction per item of the n oldest (those of the refused write), to find the ones the
 * database refuses; stops at a connection loss (what is left stays in the batch). */
static void isolate(memory_stage *s, bf_runtime *rt, memory_lane *l, size_t n) {
    char err[1024];
    for (size_t i = 0, seen = 0; i < l->batch.n_items && seen < n; i++) {
        memory_item *it = &l->batch.items[i];
        if (it->done) continue;
        seen++;
        set_active(&l->batch, i);
        memory_store_status st = memory_store_write(l->db, &l->batch, MEMORY_CONSUMER, err, sizeof err);
        if (st == MEMORY_STORE_OK) complete_item(s, rt, it);
        else if (st == MEMORY_STORE_REJECTED) reject_item(s, rt, it, err);
        else {
            if (st == MEMORY_STORE_LOST) set_db_state(s, rt, false, err);
            else s->retry_at_ms = bf_now_ms() + RETRY_FIRST_MS;
            break;
        }
    }
    memory_batch_compact(&l->batch);
}

static void committed(memory_stage *s, bf_runtime *rt, memory_lane *l, int64_t t0) {
    if (s->db_down) set_db_state(s, rt, true, NULL);
    s->transient_failures = 0;
    bf_metric_inc(s->m_batches);
    size_t n = 0;
    for (size_t i = 0; i < l->batch.n_items; i++)
        if (l->batch.items[i].active) {
            complete_item(s, rt, &l->batch.items[i]);
            n++;
        }
    bf_metric_add(s->m_rows, (double)n);
    memory_batch_compact(&l->batch);
    bf_metric_observe(s->m_flush_seconds, (double)(bf_now_ms() - t0) / 1000.0);
}

static void flush(memory_stage *s, bf_runtime *rt, memory_lane *l) {
    char err[1024];
    int64_t t0 = bf_now_ms();
    size_t n = set_active_first(&l->batch, flush_size(s, rt));
    memory_store_status st = memory_store_write(l->db, &l->batch, MEMORY_CONSUMER, err, sizeof err);
    if (st == MEMORY_STORE_OK) {
        committed(s, rt, l, t0);
        return;
    }
    bf_metric_inc(s->m_db_errors);
    if (st == MEMORY_STORE_LOST) {
        set_db_state(s, rt, false, err);
        return;
    }
    if (s->db_down) set_db_state(s, rt, true, NULL); /* it answered: reachable */
    if (st == MEMORY_STORE_TRANSIENT && ++s->transient_failures < TRANSIENT_LIMIT) {
        bf_log_warn(s->log, "batch of %zu failed transiently (%d of %d), retrying: %s", n,
                    s->transient_failures, TRANSIENT_LIMIT, err);
        s->retry_at_ms = bf_now_ms() + RETRY_FIRST_MS * s->transient_failures;
        return;
    }
    bf_log_warn(s->log, "batch of %zu refused (%s), writing its messages one by one: %s", n,
                memory_store_status_name(st), err);
    s->transient_failures = 0;
    isolate(s, rt, l, n);
}

/* Handles the end of a pipelined write: on success as flush does; on failure the batch is
 * written again the blocking way, whose error handling decides (retry, isolate, hold). */
static void async_end(memory_stage *s, bf_runtime *rt, memory_lane *l) {
    l->inflight = false;
    l->async_ended = false;
    if (l->async.status == MEMORY_STORE_OK) committed(s, rt, l, l->async_t0);
    else {
        if (l->async.conflict)
            bf_log_debug(s->log, "batch of %zu holds a message seen before; writing it again with ON CONFLICT",
                         l->async_n);
        else
            bf_log_info(s->log, "pipelined write of %zu failed (%s), writing it again: %s", l->async_n,
                        memory_store_status_name(l->async.status), l->async.err);
        flush(s, rt, l);
    }
}

/* Waits for a pipelined write to end, if one is under way. */
static void async_wait(memory_stage *s, bf_runtime *rt, memory_lane *l) {
    if (!l->inflight) return;
    if (!l->async_ended) memory_store_progress(&l->async, &l->batch, true);
    async_end(s, rt, l);
}

/* Starts writing the lane's batch: pipelined while the database is healthy, else the blocking
 * way (which owns the retry and hold logic). */
static void start_flush(memory_stage *s, bf_runtime *rt, memory_lane *l) {
    if (s->db_down || s->transient_failures) {
        flush(s, rt, l);
        return;
    }
    l->async_n = set_active_first(&l->batch, flush_size(s, rt));
    l->async_t0 = bf_now_ms();
    if (memory_store_send(l->db, &l->batch, MEMORY_CONSUMER, &l->async) == MEMORY_STORE_OK) {
        l->inflight = true;
        l->async_ended = false;
        return;
    }
    flush(s, rt, l);
}

/* ms until the lane's next flush is due; 0 when due now, -1 when nothing is waiting. Called
 * when the lane has no write in flight, so all its items are waiting. */
static long long due_in_ms(const memory_stage *s, bf_runtime *rt, const memory_lane *l) {
    int64_t now = bf_now_ms();
    if (s->retry_at_ms) return s->retry_at_ms > now ? s->retry_at_ms - now : 0;
    if (l->batch.n_items == 0) return -1;
    if (l->batch.n_items >= flush_size(s, rt) || bf_runtime_stopping(rt)) return 0;
    /* At MAX_IN_FLIGHT no message arrives until a write ends: waiting out the linger would only
     * leave this connection idle (the other lanes hold the rest of the budget). */
    if (bf_runtime_in_flight(rt) >= (size_t)bf_runtime_config(rt)->max_in_flight) return 0;
    int64_t at = l->batch.oldest_ms + s->cfg->batch_linger_ms;
    return at > now ? at - now : 0;
}

static void tick(void *ctx, bf_runtime *rt) {
    memory_stage *s = ctx;
    for (size_t i = 0; i < s->n_abandoned; i++) bf_runtime_finish(rt, s->abandoned[i]);
    s->n_abandoned = 0;
    char err[512];
    if (!s->probed) {
        /* Not fatal at start: consumption is held until the database answers. */
        s->probed = true;
        set_db_state(s, rt, bf_db_connect(s->lanes[0].db, 1, 0, err, sizeof err) == 0, err);
    }
    bool wrote = false, retry_due = s->retry_at_ms && s->retry_at_ms <= bf_now_ms();
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        if (l->inflight) {
            /* Never block here: other lanes may have batches to send, and messages keep coming
             * (MAX_IN_FLIGHT bounds them). wait_fn wakes the loop when a write has answers. */
            if (!l->async_ended) l->async_ended = memory_store_progress(&l->async, &l->batch, false);
            if (!l->async_ended) continue;
            async_end(s, rt, l);
        }
        if (l->batch.n_items == 0 || due_in_ms(s, rt, l) != 0) continue;
        if (retry_due) s->retry_at_ms = 0;
        start_flush(s, rt, l);
        wrote = true;
    }
    if (retry_due && !wrote) {
        s->retry_at_ms = 0;
        /* Held with nothing to write: probe, so consumption resumes when the database is back. */
        if (s->db_down) set_db_state(s, rt, bf_db_connect(s->lanes[0].db, 1, 0, err, sizeof err) == 0, err);
    }
}

/* Sleeps no longer than the earliest batch linger or the next retry, so a quiet topic's batch is
 * written after BATCH_LINGER rather than after the runtime's idle wait; the sockets of writes in
 * flight wake it too, so their next phase is not late. */
static void wait_fn(void *ctx, const int *fds, size_t n, int timeout_ms) {
    memory_stage *s = ctx;
    int64_t at = s->retry_at_ms;
    for (size_t i = 0; !at && i < s->n_lanes; i++) {
        const memory_lane *l = &s->lanes[i];
        if (l->batch.n_items && !l->inflight) {
            int64_t t = l->batch.oldest_ms + s->cfg->batch_linger_ms;
            if (!at || t < at) at = t;
        }
    }
    if (at) {
        int64_t left = at - bf_now_ms();
        if (left < 0) left = 0;
        if (left < timeout_ms) timeout_ms = (int)left;
    }
    struct pollfd p[8 + MEMORY_MAX_CONNECTIONS];
    if (n > 8) n = 8;
    for (size_t i = 0; i < n; i++) p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    for (size_t i = 0; i < s->n_lanes; i++) {
        const memory_lane *l = &s->lanes[i];
        int pg = l->inflight && !l->async_ended ? memory_store_socket(&l->async) : -1;
        if (pg >= 0) p[n++] = (struct pollfd){.fd = pg, .events = POLLIN};
    }
    poll(p, n, timeout_ms);
}

/* The batches hold messages of the partitions being revoked: write them now if the database lets
 * us (their offsets are then committed with the revocation, and the next owner skips them); what
 * cannot be written is given up and re-delivered to the next owner. */
static void revoked(void *ctx, bf_runtime *rt) {
    memory_stage *s = ctx;
    size_t left = 0;
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        async_wait(s, rt, l);
        for (;;) {
            size_t before = l->batch.n_items;
            if (before == 0 || s->db_down) break;
            flush(s, rt, l);
            if (l->batch.n_items >= before) break; /* not written (transient failure): give up */
        }
        for (size_t j = 0; j < l->batch.n_items; j++) left += !l->batch.items[j].done;
    }
    if (left == 0) return;
    if (s->n_abandoned + left > s->cap_abandoned) {
        size_t cap = s->n_abandoned + left;
        bf_inmsg **a = realloc(s->abandoned, cap * sizeof *a);
        if (!a) {
            bf_log_error(s->log, "out of memory on revocation; stopping so the messages are re-delivered");
            bf_runtime_stop(rt);
            return;
        }
        s->abandoned = a;
        s->cap_abandoned = cap;
    }
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        for (size_t j = 0; j < l->batch.n_items; j++)
            if (!l->batch.items[j].done) s->abandoned[s->n_abandoned++] = l->batch.items[j].cause;
        memory_batch_clear(&l->batch);
    }
    bf_log_info(s->log, "revocation: %zu unwritten messages left for the next owner", left);
    s->retry_at_ms = 0;
}

bf_stage_ops memory_stage_ops(void) {
    return (bf_stage_ops){.handle = handle, .tick = tick, .wait = wait_fn, .revoked = revoked};
}
