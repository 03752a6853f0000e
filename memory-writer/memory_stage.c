#include "memory_stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_envelope.h"
#include "memory_extract.h"
#include "memory_sink_pg.h"

#define RETRY_FIRST_MS 100
/* Transient failures (deadlock with another replica ...) of one batch retried this often before
 * it is split to find a message the database refuses. */
#define TRANSIENT_LIMIT 3

const char *const memory_stage_inputs[] = {BF_SCHEMA_IMAGE_FACTS_READY, BF_SCHEMA_MEMORY_UPDATES,
                                           BF_SCHEMA_EDITOR_EVENTS};
const size_t memory_stage_n_inputs = 3;
const char *const memory_stage_outputs[] = {BF_SCHEMA_IMAGE_FACTS_PROCESSED};
const size_t memory_stage_n_outputs = 1;

/* One connection of the sink and the messages written through it. A project always maps to the
 * same lane, so its messages are applied in order (the confidence merge depends on it) while lanes
 * write different projects at the same time. */
typedef struct memory_lane {
    memory_stage *s;
    size_t index;
    /* The lane's messages in arrival order. A write takes the oldest (memory_item.active) and the
     * handlers keep appending while the server works on them: the sink reads only active items,
     * so whatever waits goes into the next write, full size. */
    memory_batch batch;
    bool writing;        /* a write is under way (the sink calls on_written) */
    bool probing;        /* a probe is under way on this lane (the sink calls on_probed) */
    size_t n_writing;    /* messages in it */
    int64_t write_t0;
    int transient;       /* consecutive transient failures */
    size_t isolate_left; /* messages of a refused write still to be written one per transaction */
    bool gave_up;        /* revocation: a transient failure ended this lane's writing */
    bf_timer linger;     /* the oldest message has waited BATCH_LINGER */
    bf_timer retry;      /* after a transient failure */
} memory_lane;

struct memory_stage {
    bf_runtime *rt;
    const memory_cfg *cfg;
    bf_log *log;
    memory_sink sink;
    bool own_sink;
    memory_lane *lanes;
    size_t n_lanes;
    /* The database's state is one for all lanes: a lost connection holds consumption, and while it
     * is down every lane waits for the same retry. */
    bool db_down;
    bool db_seen; /* it has answered once: /readyz already says so */
    long long backoff_ms;
    bf_timer retry;
    bool revoking;
    unsigned handled; /* messages handled, to nudge the writes under way now and then */
    /* Messages pending in the lanes, per input topic (memory_item_kind): a topic at MAX_IN_FLIGHT
     * takes nothing more until a write ends. */
    size_t pending[MEMORY_ITEM_KINDS];
    /* Inputs of revoked partitions, finished on the next turn, once the runtime has moved to the
     * new assignment and will no longer store their offsets. */
    bf_inmsg **abandoned;
    size_t n_abandoned, cap_abandoned;
    bf_metric *m_batches, *m_rows, *m_duplicates, *m_db_errors, *m_rejected, *m_flush_seconds;
};

static void on_linger(bf_timer *t);
static void on_lane_retry(bf_timer *t);
static void on_db_retry(bf_timer *t);
static void on_probed(void *ctx, memory_store_status st, const char *err);

memory_stage *memory_stage_new(bf_runtime *rt, const memory_cfg *cfg, const memory_sink *sink, char *err,
                               size_t errlen) {
    memory_stage *s = calloc(1, sizeof *s);
    if (!s || !(s->lanes = calloc((size_t)cfg->write_connections, sizeof *s->lanes))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->rt = rt;
    s->cfg = cfg;
    s->log = bf_runtime_log(rt);
    s->backoff_ms = RETRY_FIRST_MS;
    s->n_lanes = (size_t)cfg->write_connections;
    bf_loop *loop = bf_runtime_loop(rt);
    bf_timer_init(&s->retry, on_db_retry, s);
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        l->s = s;
        l->index = i;
        memory_batch_init(&l->batch, MEMORY_AN_COLS, MEMORY_MSG_COLS);
        bf_timer_init(&l->linger, on_linger, l);
        bf_timer_init(&l->retry, on_lane_retry, l);
    }
    if (sink) {
        s->sink = *sink;
    } else {
        memory_sink_pg_opts o = {.dsn = bf_runtime_config(rt)->pg_dsn, .lanes = s->n_lanes,
                                 .consumer = MEMORY_CONSUMER, .log = s->log};
        if (memory_sink_pg_new(loop, &o, &s->sink, err, errlen) != 0) {
            memory_stage_free(s);
            return NULL;
        }
        s->own_sink = true;
    }
    bf_metrics *metrics = bf_runtime_metrics(rt);
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
    /* Not ready until the database has answered; consumption is not held meanwhile (a batch waits
     * for its lane's connection anyway), only once it is known to be down. */
    bf_runtime_set_dependency(rt, "postgres", false);
    s->lanes[0].probing = true;
    if (s->sink.ops->probe(s->sink.impl, 0, on_probed, &s->lanes[0]) != 0) {
        snprintf(err, errlen, "out of memory");
        memory_stage_free(s);
        return NULL;
    }
    return s;
}

void memory_stage_free(memory_stage *s) {
    if (!s) return;
    bf_loop *loop = bf_runtime_loop(s->rt);
    bf_timer_stop(loop, &s->retry);
    for (size_t i = 0; s->lanes && i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        bf_timer_stop(loop, &l->linger);
        bf_timer_stop(loop, &l->retry);
        if (s->sink.ops && (l->writing || l->probing)) s->sink.ops->cancel(s->sink.impl, i);
    }
    if (s->own_sink) s->sink.ops->free(s->sink.impl);
    for (size_t i = 0; s->lanes && i < s->n_lanes; i++) memory_batch_free(&s->lanes[i].batch);
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

static bf_handle_result handle(void *ctx, bf_inmsg *msg) {
    memory_stage *s = ctx;
    bf_runtime *rt = s->rt;
    char err[512];
    /* The runtime hands out up to a few hundred messages in one turn before the loop looks at the
     * lanes' sockets: a write whose first phase has been answered would wait that long for its
     * second to be sent, the database idle meanwhile. */
    if (++s->handled % 32 == 0 && s->sink.ops->nudge) s->sink.ops->nudge(s->sink.impl, false);
    const char *payload = msg->payload ? msg->payload : "";
    int rc;
    memory_item_kind kind;
    if (strcmp(msg->topic_base, BF_SCHEMA_IMAGE_FACTS_READY) == 0) {
        bf_msg_image_facts_ready m;
        if (bf_msg_image_facts_ready_decode(payload, msg->len, &m, err, sizeof err) != 0) {
            bf_runtime_dead_letter(rt, msg, "invalid_message", err);
            return BF_HANDLED;
        }
        kind = MEMORY_ITEM_IMAGE_FACTS;
        rc = memory_extract_image_facts(lane_batch(s, m.env.project_id), msg, &m, s->cfg->inferred_weight,
                                        bf_runtime_now(rt), bf_runtime_wall(rt), err, sizeof err);
        bf_msg_image_facts_ready_free(&m);
    } else if (strcmp(msg->topic_base, BF_SCHEMA_MEMORY_UPDATES) == 0) {
        bf_msg_memory_update m;
        if (bf_msg_memory_update_decode(payload, msg->len, &m, err, sizeof err) != 0) {
            bf_runtime_dead_letter(rt, msg, "invalid_message", err);
            return BF_HANDLED;
        }
        kind = MEMORY_ITEM_MEMORY_UPDATES;
        rc = memory_extract_memory_update(lane_batch(s, m.env.project_id), msg, &m, bf_runtime_now(rt),
                                          bf_runtime_wall(rt), s->cfg->retention_conversation_ms, err, sizeof err);
        bf_msg_memory_update_free(&m);
    } else if (strcmp(msg->topic_base, BF_SCHEMA_EDITOR_EVENTS) == 0) {
        bf_msg_editor_event m;
        if (bf_msg_editor_event_decode(payload, msg->len, &m, err, sizeof err) != 0) {
            bf_runtime_dead_letter(rt, msg, "invalid_message", err);
            return BF_HANDLED;
        }
        kind = MEMORY_ITEM_EDITOR_EVENTS;
        rc = memory_extract_editor_event(lane_batch(s, m.env.project_id), msg, &m, bf_runtime_now(rt),
                                         bf_runtime_wall(rt), s->cfg->retention_conversation_ms, err, sizeof err);
        bf_msg_editor_event_free(&m);
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
    s->pending[kind]++;
    return BF_PENDING;
}

/* ---- after a write ---- */

/* Publishes what item it produces and finishes its input. A failed publication leaves the input
 * unfinished: the runtime is stopping with an error and the input will be re-delivered. */
static void complete_item(memory_stage *s, memory_item *it) {
    it->done = true;
    s->pending[it->kind]--;
    if (!it->fresh) bf_metric_inc(s->m_duplicates);
    if (it->out_payload) {
        /* The payload goes to the runtime as it is (the item is done with it); nothing copies it. */
        char *payload = it->out_payload;
        it->out_payload = NULL;
        if (bf_runtime_publish(s->rt, it->cause, it->out_env, payload, it->out_len) != 0) return;
    }
    bf_runtime_finish(s->rt, it->cause);
}

static void reject_item(memory_stage *s, memory_item *it, const char *err) {
    it->done = true;
    s->pending[it->kind]--;
    bf_metric_inc(s->m_rejected);
    if (bf_runtime_dead_letter(s->rt, it->cause, "db_rejected", err) == 0) bf_runtime_finish(s->rt, it->cause);
}

static void db_up(memory_stage *s) {
    if (s->db_down) bf_log_info(s->log, "postgres reachable again; resuming consumption");
    s->db_down = false;
    s->db_seen = true;
    s->backoff_ms = RETRY_FIRST_MS;
    bf_timer_stop(bf_runtime_loop(s->rt), &s->retry);
    bf_runtime_hold(s->rt, false);
    bf_runtime_set_dependency(s->rt, "postgres", true);
}

/* Holds consumption and schedules the next attempt, unless one is scheduled already (several lanes
 * fail together; one attempt answers for all). */
static void db_lost(memory_stage *s, const char *err) {
    if (!s->db_down) bf_log_warn(s->log, "postgres unreachable, holding consumption: %s", err);
    s->db_down = true;
    bf_runtime_hold(s->rt, true);
    bf_runtime_set_dependency(s->rt, "postgres", false);
    if (bf_timer_active(&s->retry)) return;
    if (s->backoff_ms > RETRY_FIRST_MS) bf_log_warn(s->log, "postgres still unreachable (next try in %lld ms): %s", s->backoff_ms, err);
    bf_timer_start_in(bf_runtime_loop(s->rt), &s->retry, s->backoff_ms);
    s->backoff_ms = s->backoff_ms * 2 > s->cfg->retry_max_ms ? s->cfg->retry_max_ms : s->backoff_ms * 2;
}

/* ---- writing ---- */

/* Selects the oldest `limit` unfinished items and returns how many: a lane's batch can hold more
 * than a transaction takes (messages that arrived while its connection was busy), the rest wait
 * for the next one. */
static size_t set_active_first(memory_batch *b, size_t limit) {
    size_t n = 0;
    for (size_t i = 0; i < b->n_items; i++) {
        b->items[i].active = !b->items[i].done && n < limit;
        n += b->items[i].active;
    }
    return n;
}

static size_t flush_size(const memory_stage *s) {
    /* The runtime stops handing out messages of a topic at MAX_IN_FLIGHT, shared by the lanes, and
     * each lane holds a write in flight and the next one filling behind it: a larger batch would
     * only ever flush on the linger. */
    long long n = s->cfg->batch_size, cap = bf_runtime_config(s->rt)->max_in_flight / (2 * (long long)s->n_lanes);
    if (cap < 1) cap = 1;
    return (size_t)(n < cap ? n : cap);
}

/* No message can arrive until a write ends (an input topic at its budget: what the lanes hold of
 * it cannot grow): waiting out the linger would only leave a connection idle. */
static bool no_more_coming(const memory_stage *s) { return bf_runtime_saturated(s->rt); }

static void on_written(void *ctx, memory_store_status st, const char *err);

/* Starts the lane's next write when one is due: the batch is full, its oldest message has waited
 * BATCH_LINGER, no message can arrive meanwhile, the runtime is stopping or the partitions are
 * being revoked, or a refused batch is being written one by one. Else arms the linger. force: the
 * retry while the database is down. */
static void lane_pump(memory_lane *l, bool force) {
    memory_stage *s = l->s;
    bf_loop *loop = bf_runtime_loop(s->rt);
    if (l->writing || l->probing) return;
    if (l->batch.n_items == 0) {
        bf_timer_stop(loop, &l->linger);
        return;
    }
    /* A revocation tries once more rather than wait out a lane's backoff. */
    if ((bf_timer_active(&l->retry) && !s->revoking) || l->gave_up || (s->db_down && !force)) return;
    size_t full = flush_size(s);
    int64_t due_at = l->batch.oldest_ms + s->cfg->batch_linger_ms;
    bool due = force || s->revoking || l->isolate_left > 0 || l->batch.n_items >= full ||
               bf_runtime_now(s->rt) >= due_at || bf_runtime_stopping(s->rt) || no_more_coming(s);
    if (!due) {
        if (!bf_timer_active(&l->linger) || l->linger.due_ms != due_at) bf_timer_start(loop, &l->linger, due_at);
        return;
    }
    bf_timer_stop(loop, &l->linger);
    bf_timer_stop(loop, &l->retry);
    l->n_writing = set_active_first(&l->batch, l->isolate_left > 0 ? 1 : full);
    l->write_t0 = bf_runtime_now(s->rt);
    l->writing = true;
    if (s->sink.ops->write(s->sink.impl, l->index, &l->batch, on_written, l) != 0) {
        /* Out of memory: like a transient failure, try again shortly. */
        l->writing = false;
        bf_timer_start_in(loop, &l->retry, RETRY_FIRST_MS);
    }
}

static void on_linger(bf_timer *t) { lane_pump(t->data, false); }
static void on_lane_retry(bf_timer *t) { lane_pump(t->data, false); }

/* While the database is down: the waiting batches are the probe; with none, a probe of its own. */
static void on_db_retry(bf_timer *t) {
    memory_stage *s = t->data;
    bool trying = false;
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        lane_pump(l, true);
        trying |= l->writing || l->probing;
    }
    if (trying) return;
    memory_lane *l = &s->lanes[0];
    l->probing = true;
    if (s->sink.ops->probe(s->sink.impl, 0, on_probed, l) != 0) {
        l->probing = false;
        db_lost(s, "out of memory");
    }
}

static void on_probed(void *ctx, memory_store_status st, const char *err) {
    memory_lane *l = ctx;
    l->probing = false;
    if (st == MEMORY_STORE_OK) db_up(l->s);
    else db_lost(l->s, err);
}

static void committed(memory_lane *l) {
    memory_stage *s = l->s;
    if (s->db_down || !s->db_seen) db_up(s);
    l->transient = 0;
    bf_metric_inc(s->m_batches);
    size_t n = 0;
    for (size_t i = 0; i < l->batch.n_items; i++)
        if (l->batch.items[i].active) {
            complete_item(s, &l->batch.items[i]);
            n++;
        }
    bf_metric_add(s->m_rows, (double)n);
    memory_batch_compact(&l->batch);
    bf_metric_observe(s->m_flush_seconds, (double)(bf_runtime_now(s->rt) - l->write_t0) / 1000.0);
}

static memory_item *first_active(memory_batch *b) {
    for (size_t i = 0; i < b->n_items; i++)
        if (b->items[i].active) return &b->items[i];
    return NULL;
}

static void on_written(void *ctx, memory_store_status st, const char *err) {
    memory_lane *l = ctx;
    memory_stage *s = l->s;
    l->writing = false;
    size_t n = l->n_writing;
    if (st == MEMORY_STORE_OK) {
        committed(l);
        if (l->isolate_left > 0) l->isolate_left--;
    } else {
        bf_metric_inc(s->m_db_errors);
        if (st == MEMORY_STORE_LOST) {
            db_lost(s, err);
        } else {
            if (s->db_down || !s->db_seen) db_up(s); /* it answered: reachable */
            if (st == MEMORY_STORE_REJECTED && l->isolate_left > 0) {
                memory_item *it = first_active(&l->batch);
                bf_log_warn(s->log, "message refused by the database, sent to deadLetters: %s", err);
                if (it) reject_item(s, it, err);
                memory_batch_compact(&l->batch);
                l->isolate_left--;
                l->transient = 0;
            } else if (st == MEMORY_STORE_TRANSIENT && (l->isolate_left > 0 || ++l->transient < TRANSIENT_LIMIT)) {
                if (l->isolate_left > 0) l->transient++;
                bf_log_warn(s->log, "write of %zu failed transiently (%d in a row), retrying: %s", n, l->transient, err);
                long long wait = (long long)RETRY_FIRST_MS * l->transient;
                if (wait > s->cfg->retry_max_ms) wait = s->cfg->retry_max_ms;
                /* The revocation does not wait for a retry: the lane's messages go to the next owner. */
                if (s->revoking) l->gave_up = true;
                else bf_timer_start_in(bf_runtime_loop(s->rt), &l->retry, wait);
            } else {
                bf_log_warn(s->log, "batch of %zu %s, writing its messages one per transaction: %s", n,
                            st == MEMORY_STORE_REJECTED ? "refused" : "failed transiently too often", err);
                l->transient = 0;
                l->isolate_left = n;
            }
        }
    }
    /* Outside a revocation the next write starts on the runtime's turn, with whatever that turn
     * brought; a revocation has no turns. */
    if (s->revoking) lane_pump(l, false);
}

/* ---- the runtime's ops ---- */

static void turn(void *ctx) {
    memory_stage *s = ctx;
    for (size_t i = 0; i < s->n_abandoned; i++) bf_runtime_finish(s->rt, s->abandoned[i]);
    s->n_abandoned = 0;
    /* A write the handlers' nudges saw end is completed now, and its lane's next write started
     * below, rather than one more turn of handlers later. */
    if (s->sink.ops->nudge) s->sink.ops->nudge(s->sink.impl, true);
    for (size_t i = 0; i < s->n_lanes; i++) lane_pump(&s->lanes[i], false);
}

/* The lanes hold messages of the partitions being revoked, whose offsets the runtime commits as
 * soon as this returns: what is written now is committed with them and the next owner starts
 * after it; what is not is given up (not finished, so its offset is not stored) and the next
 * owner re-delivers it.
 *
 * The one place the stage waits (the sink's settle): librdkafka calls the rebalance callback, and
 * so this, expecting the revocation to be complete on return, and the loop cannot run inside it.
 * Bounded by SHUTDOWN_TIMEOUT: a write still under way then is cancelled (its transaction may
 * commit or not; the ledger makes the next owner's write of the same messages a no-op if it did). */
static void revoked(void *ctx) {
    memory_stage *s = ctx;
    bf_loop *loop = bf_runtime_loop(s->rt);
    s->revoking = true;
    for (size_t i = 0; i < s->n_lanes; i++) lane_pump(&s->lanes[i], false);
    s->sink.ops->settle(s->sink.impl, bf_runtime_now(s->rt) + bf_runtime_config(s->rt)->shutdown_timeout_ms);
    s->revoking = false;
    size_t left = 0;
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        if (l->writing) {
            bf_log_warn(s->log, "revocation: a write of %zu messages did not end in time; cancelled", l->n_writing);
            s->sink.ops->cancel(s->sink.impl, i);
            l->writing = false;
        }
        for (size_t j = 0; j < l->batch.n_items; j++) left += !l->batch.items[j].done;
    }
    if (s->n_abandoned + left > s->cap_abandoned) {
        size_t cap = s->n_abandoned + left;
        bf_inmsg **a = realloc(s->abandoned, cap * sizeof *a);
        if (!a) {
            bf_log_error(s->log, "out of memory on revocation; stopping so the messages are re-delivered");
            bf_runtime_stop(s->rt);
            return;
        }
        s->abandoned = a;
        s->cap_abandoned = cap;
    }
    for (size_t i = 0; i < s->n_lanes; i++) {
        memory_lane *l = &s->lanes[i];
        for (size_t j = 0; j < l->batch.n_items; j++) {
            memory_item *it = &l->batch.items[j];
            if (it->done) continue;
            s->abandoned[s->n_abandoned++] = it->cause;
            s->pending[it->kind]--;
        }
        memory_batch_clear(&l->batch);
        bf_timer_stop(loop, &l->linger);
        bf_timer_stop(loop, &l->retry);
        l->isolate_left = 0;
        l->transient = 0;
        l->gave_up = false;
    }
    if (left) bf_log_info(s->log, "revocation: %zu unwritten messages left for the next owner", left);
}

bf_stage_ops memory_stage_ops(void) { return (bf_stage_ops){.handle = handle, .turn = turn, .revoked = revoked}; }
