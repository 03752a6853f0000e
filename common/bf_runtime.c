#include "bf_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "bf_dlq.h"
#include "bf_http_server.h"
#include "bf_kafka_conf.h"
#include "bf_offsets.h"
#include "bf_publish.h"
#include "bf_rng.h"

#define MAX_DEPS 8
#define MAX_INPUTS 8
#define POLL_BATCH 500
#define IDLE_WAIT_MS 100
/* Messages dispatched between two looks at the loop's ready descriptors and due timers. */
#define IO_EVERY 64
#define WARM_UP_BUDGET_MS 5000
/* Finished messages waiting only for their outputs' acknowledgement, per unit of MAX_IN_FLIGHT:
 * enough that acknowledgements (linger.ms plus a round trip) never stall a stage that keeps
 * MAX_IN_FLIGHT busy. At 8 they did: a no-op stage at 256 in flight was held to 2048 outputs per
 * acknowledgement time (170-220k msgs/s where 10000 in flight made 240-270k); at 32 the two are
 * the same. What waits is the runtime's record of the input (its bytes are released at finish),
 * a few hundred bytes each. */
#define UNACKED_PER_SLOT 32
#define UNACKED_MIN 1024

/* The runtime's view of an input message; bf_inmsg is its public face (first member). */
typedef struct inmsg_impl {
    bf_inmsg pub;
    rd_kafka_message_t *rkm;
    int pending_outputs;    /* published on its behalf, not yet acknowledged */
    bool handler_done;
    bool parked;
    bool unacked;           /* counted in rt->n_unacked */
    unsigned generation;    /* assignment generation it was consumed in */
    unsigned topic;         /* index in rt->inputs */
    unsigned part;          /* index in rt->parts */
    struct inmsg_impl *prev, *next; /* the in-flight list, for shutdown and revocation */
} inmsg_impl;

typedef struct {
    char name[32];
    atomic_bool ok;
} dependency;

typedef struct {
    char name[BF_CFG_STR_MAX * 2]; /* full name */
    size_t active;                 /* pending and not parked */
    bf_metric *in, *failed, *latency;
} input_topic;

/* A partition ever assigned: its queue while assigned, and its parked messages (which may outlive
 * the assignment, so the entry stays). */
typedef struct {
    unsigned topic;
    int32_t partition;
    size_t parked;
    rd_kafka_queue_t *q; /* NULL when not assigned (or still forwarded to the consumer queue) */
} part_entry;

typedef struct {
    char base[BF_CFG_STR_MAX];
    rd_kafka_topic_t *rkt; /* held, so the producer keeps its metadata fresh */
    bf_metric *out;
} output_topic;

/* A message librdkafka's queue had no room for: produced again on the next turns, and meanwhile
 * no input is taken. */
typedef struct overflow {
    struct overflow *next;
    output_topic *topic;
    char *key;
    size_t key_len;
    char *payload;
    size_t len;
    rd_kafka_headers_t *hdrs;
    inmsg_impl *cause;
} overflow;

struct bf_runtime {
    bf_runtime_opts opts;
    bf_stage_ops ops;
    void *stage;
    const bf_common_cfg *cfg;
    bf_log *log;
    bf_metrics *metrics;
    bf_loop *loop;
    char group_id[BF_CFG_STR_MAX];
    rd_kafka_t *consumer, *producer;
    rd_kafka_queue_t *consumer_q, *producer_q;
    input_topic inputs[MAX_INPUTS];
    size_t n_inputs;
    part_entry *parts;
    size_t n_parts, cap_parts, n_assigned, part_next;
    output_topic **outputs; /* each its own allocation: librdkafka's topic opaque points at it */
    size_t n_outputs;
    overflow *overflow_head, *overflow_tail;
    int wake_pipe[2];
    int signal_fd;
    bf_io wake_io, signal_io;
    sigset_t old_mask;
    bf_offsets *offsets;
    inmsg_impl *inflight_head;
    size_t inflight, n_parked, n_unacked, max_unacked;
    unsigned generation;
    bool stopping, fatal, paused, held;
    int64_t drain_deadline;
    bf_http_server *http;
    /* Read by the HTTP thread. */
    atomic_llong last_turn_ms;
    atomic_bool joined;
    atomic_int n_assigned_pub;
    dependency deps[MAX_DEPS];
    atomic_int n_deps;
    bf_metric *m_in_flight, *m_parked, *m_unacked, *m_lag, *m_rebalances, *m_produce_errors, *m_paused;
    bf_rng rng; /* span and trace ids */
};

static void fail(bf_runtime *rt) {
    rt->fatal = true;
    rt->stopping = true;
}

/* ---- probes (HTTP thread) ---- */

static int probe_healthz(void *ctx, char *msg, size_t msglen) {
    bf_runtime *rt = ctx;
    long long age = bf_now_ms() - atomic_load(&rt->last_turn_ms);
    if (age > rt->cfg->poll_stall_ms) {
        snprintf(msg, msglen, "poll loop stalled for %lld ms (limit %lld ms)", age, rt->cfg->poll_stall_ms);
        return 0;
    }
    snprintf(msg, msglen, "ok: poll loop turned %lld ms ago", age);
    return 1;
}

static int probe_readyz(void *ctx, char *msg, size_t msglen) {
    bf_runtime *rt = ctx;
    /* A replica with no partitions (more replicas than partitions) is still ready: it is a
     * healthy member of the group, waiting for work. */
    if (!atomic_load(&rt->joined)) {
        snprintf(msg, msglen, "not ready: no partition assignment received from the group yet");
        return 0;
    }
    int n = atomic_load(&rt->n_deps);
    for (int i = 0; i < n; i++) {
        if (!atomic_load(&rt->deps[i].ok)) {
            snprintf(msg, msglen, "not ready: %s unreachable", rt->deps[i].name);
            return 0;
        }
    }
    snprintf(msg, msglen, "ready: %d partitions assigned", atomic_load(&rt->n_assigned_pub));
    return 1;
}

/* ---- librdkafka callbacks (called from rd_kafka_*poll on the loop thread) ---- */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    bf_runtime *rt = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        bf_log_error(rt->log, "fatal kafka error %s: %s", rd_kafka_err2name(ferr), fatal);
        fail(rt);
        return;
    }
    /* Transport errors (broker down, all brokers down) are retried by librdkafka itself. */
    bf_log_warn(rt->log, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque);

/* librdkafka's own log lines, as JSON lines like ours. Called from librdkafka's threads: bf_log is
 * read-only after init and stdio locks the stream. */
static void on_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    bf_runtime *rt = rd_kafka_opaque(rk);
    bf_log_level l = level <= 3 ? BF_LOG_ERROR : level <= 5 ? BF_LOG_WARN : level == 6 ? BF_LOG_INFO : BF_LOG_DEBUG;
    const char *const kv[] = {"source", "librdkafka", "facility", fac, "client", rd_kafka_name(rk), NULL};
    bf_log_write(rt->log, l, NULL, kv, "%s", buf);
}

static void store_one(void *ctx, const char *topic, int32_t partition, int64_t offset) {
    rd_kafka_topic_partition_list_add(ctx, topic, partition)->offset = offset;
}

/* Stores every partition's advanced commit point in one call (auto-commit then commits them). */
static void flush_offsets(bf_runtime *rt) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    if (bf_offsets_drain(rt->offsets, store_one, l) > 0) {
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(rt->consumer, l);
        if (err) bf_log_warn(rt->log, "offset store: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(l);
}

static void commit_sync(bf_runtime *rt) {
    flush_offsets(rt);
    rd_kafka_resp_err_t err = rd_kafka_commit(rt->consumer, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        bf_log_warn(rt->log, "offset commit failed: %s", rd_kafka_err2str(err));
}

static void set_paused(bf_runtime *rt, bool pause) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(rt->consumer, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || !parts) return;
    if (pause) rd_kafka_pause_partitions(rt->consumer, parts);
    else rd_kafka_resume_partitions(rt->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    rt->paused = pause;
    bf_metric_set(rt->m_paused, pause ? 1 : 0);
}

static int input_index(const bf_runtime *rt, const char *topic) {
    for (size_t i = 0; i < rt->n_inputs; i++)
        if (strcmp(rt->inputs[i].name, topic) == 0) return (int)i;
    return -1;
}

/* The entry of (topic, partition), created on first sight; -1 when out of memory. */
static long part_index(bf_runtime *rt, unsigned topic, int32_t partition) {
    for (size_t i = 0; i < rt->n_parts; i++)
        if (rt->parts[i].topic == topic && rt->parts[i].partition == partition) return (long)i;
    if (rt->n_parts == rt->cap_parts) {
        size_t cap = rt->cap_parts ? rt->cap_parts * 2 : 16;
        part_entry *n = realloc(rt->parts, cap * sizeof *n);
        if (!n) return -1;
        rt->parts = n;
        rt->cap_parts = cap;
    }
    rt->parts[rt->n_parts] = (part_entry){.topic = topic, .partition = partition};
    return (long)rt->n_parts++;
}

/* Each assigned partition's messages stay in that partition's own queue instead of being
 * forwarded to the consumer queue, and the loop takes from each only while its topic is under
 * MAX_IN_FLIGHT and the partition under its share of MAX_PARKED. Pausing at the limit (what the
 * runtime once did) makes librdkafka purge every prefetched message and, on resume, restart
 * fetching only when its broker thread next wakes: 0.6 s per pause/resume cycle measured with
 * MAX_IN_FLIGHT=256 (bench/README.md). Left in their queues, prefetched messages wait, and
 * librdkafka stops fetching a partition whose queue holds queued.min.messages or
 * queued.max.messages.kbytes (per partition in this mode). Events (rebalances, errors) still come
 * through the consumer queue, polled every turn. */
static void detach_partition_queues(bf_runtime *rt) {
    for (size_t i = 0; i < rt->n_parts; i++) {
        part_entry *p = &rt->parts[i];
        if (!p->q) continue;
        rd_kafka_queue_io_event_enable(p->q, -1, NULL, 0);
        rd_kafka_queue_destroy(p->q);
        p->q = NULL;
    }
    rt->n_assigned = rt->part_next = 0;
}

static void attach_partition_queues(bf_runtime *rt, const rd_kafka_topic_partition_list_t *parts) {
    detach_partition_queues(rt);
    for (int i = 0; i < parts->cnt; i++) {
        int t = input_index(rt, parts->elems[i].topic);
        long pi = t < 0 ? -1 : part_index(rt, (unsigned)t, parts->elems[i].partition);
        rd_kafka_queue_t *q =
            pi < 0 ? NULL : rd_kafka_queue_get_partition(rt->consumer, parts->elems[i].topic, parts->elems[i].partition);
        if (!q) {
            /* Still forwarded: its messages arrive through the consumer queue, unbounded by the
             * per-topic budget but handled all the same. */
            bf_log_warn(rt->log, "no queue for %s [%d]: consumed through the consumer queue", parts->elems[i].topic,
                        (int)parts->elems[i].partition);
            continue;
        }
        rd_kafka_queue_forward(q, NULL);
        rd_kafka_queue_io_event_enable(q, rt->wake_pipe[1], "m", 1);
        rt->parts[pi].q = q;
        rt->n_assigned++;
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    bf_runtime *rt = opaque;
    bf_metric_inc(rt->m_rebalances);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        attach_partition_queues(rt, parts);
        atomic_store(&rt->n_assigned_pub, parts->cnt);
        atomic_store(&rt->joined, true);
        bf_log_info(rt->log, "assigned %d partitions", parts->cnt);
        /* librdkafka keeps a partition's pause flag across unassign/assign: a partition we paused
         * (dependency down, shutdown) before its assignment was lost comes back paused
         * while we believe it resumed, and is then never fetched again (seen after a broker
         * restart). So every new assignment gets our current state explicitly. */
        if (rt->paused) rd_kafka_pause_partitions(rk, parts);
        else rd_kafka_resume_partitions(rk, parts);
        return;
    }
    /* Revoked: what is finished is committed now, so the next owner starts right after it;
     * unfinished messages are abandoned (their offsets are never stored by us) and the next owner
     * re-delivers them: at-least-once, and the stages are idempotent. */
    if (rt->ops.revoked) rt->ops.revoked(rt->stage);
    commit_sync(rt);
    for (int i = 0; i < parts->cnt; i++) bf_offsets_forget(rt->offsets, parts->elems[i].topic, parts->elems[i].partition);
    rt->generation++;
    detach_partition_queues(rt);
    rd_kafka_assign(rk, NULL);
    atomic_store(&rt->n_assigned_pub, 0);
    bf_log_info(rt->log, "revoked %d partitions", parts->cnt);
}

/* ---- message lifecycle ---- */

static void inflight_unlink(bf_runtime *rt, inmsg_impl *m) {
    if (m->prev) m->prev->next = m->next;
    else rt->inflight_head = m->next;
    if (m->next) m->next->prev = m->prev;
    rt->inflight--;
}

static void set_parked(bf_runtime *rt, inmsg_impl *m, bool parked) {
    if (m->parked == parked || m->handler_done) return;
    m->parked = parked;
    part_entry *p = &rt->parts[m->part];
    input_topic *t = &rt->inputs[m->topic];
    if (parked) {
        p->parked++;
        rt->n_parked++;
        t->active--;
    } else {
        p->parked--;
        rt->n_parked--;
        t->active++;
    }
}

/* The consumed message's bytes: once the stage finished with it, only its offset is needed. */
static void release_input(inmsg_impl *m) {
    if (m->rkm) rd_kafka_message_destroy(m->rkm);
    m->rkm = NULL;
    m->pub.key = m->pub.payload = NULL;
    m->pub.key_len = m->pub.len = 0;
}

/* Stores the offset when the message is fully done, then frees it. */
static void maybe_complete(bf_runtime *rt, inmsg_impl *m) {
    if (!m->handler_done || m->pending_outputs > 0) return;
    if (m->unacked) rt->n_unacked--;
    /* The advanced commit point is stored with the others at the end of the loop turn. */
    if (m->generation == rt->generation) bf_offsets_finish(rt->offsets, m->pub.topic, m->pub.partition, m->pub.offset);
    bf_metric_observe(rt->inputs[m->topic].latency, (double)(bf_now_ms() - m->pub.received_ms) / 1000.0);
    inflight_unlink(rt, m);
    release_input(m);
    free(m);
}

void bf_runtime_finish(bf_runtime *rt, bf_inmsg *msg) {
    inmsg_impl *m = (inmsg_impl *)msg;
    if (m->handler_done) return;
    set_parked(rt, m, false);
    m->handler_done = true;
    rt->inputs[m->topic].active--;
    if (m->pending_outputs > 0) {
        m->unacked = true;
        rt->n_unacked++;
        release_input(m);
    }
    maybe_complete(rt, m);
}

void bf_runtime_park(bf_runtime *rt, bf_inmsg *msg, bool parked) { set_parked(rt, (inmsg_impl *)msg, parked); }

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque) {
    (void)rk;
    bf_runtime *rt = opaque;
    inmsg_impl *cause = rkm->_private;
    if (rkm->err) {
        /* librdkafka already retried within message.timeout.ms; storing the cause's offset now
         * would lose an effect, so stop and let the restart re-deliver it. */
        bf_log_error(rt->log, "delivery to %s failed: %s; stopping so the input is re-delivered",
                     rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        bf_metric_inc(rt->m_produce_errors);
        fail(rt);
        if (cause) cause->pending_outputs--; /* never completes: fatal stops before storing */
        return;
    }
    output_topic *out = rd_kafka_topic_opaque(rkm->rkt);
    if (out) bf_metric_inc(out->out);
    if (cause) {
        cause->pending_outputs--;
        if (!rt->fatal) maybe_complete(rt, cause);
    }
}

int bf_inmsg_header(const bf_inmsg *msg, const char *name, char *out, size_t outlen) {
    const inmsg_impl *m = (const inmsg_impl *)msg;
    rd_kafka_headers_t *hdrs = NULL;
    const void *val;
    size_t size;
    if (!m->rkm || rd_kafka_message_headers(m->rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    if (rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
    if (!outlen) return -1;
    size_t n = size < outlen - 1 ? size : outlen - 1;
    if (val) memcpy(out, val, n);
    out[n] = '\0';
    return 0;
}

/* ---- publishing ---- */

static output_topic *output_get(bf_runtime *rt, const char *base) {
    for (size_t i = 0; i < rt->n_outputs; i++)
        if (strcmp(rt->outputs[i]->base, base) == 0) return rt->outputs[i];
    return NULL;
}

static output_topic *output_add(bf_runtime *rt, const char *base) {
    output_topic **n = realloc(rt->outputs, (rt->n_outputs + 1) * sizeof *n);
    if (!n) return NULL;
    rt->outputs = n;
    output_topic *o = calloc(1, sizeof *o);
    /* The producer's default topic settings (acks ...), not librdkafka's defaults. */
    rd_kafka_topic_conf_t *tc = o ? rd_kafka_default_topic_conf_dup(rt->producer) : NULL;
    if (!tc) {
        free(o);
        return NULL;
    }
    snprintf(o->base, sizeof o->base, "%s", base);
    char name[BF_CFG_STR_MAX * 2];
    bf_topic_name(rt->cfg, base, name, sizeof name);
    rd_kafka_topic_conf_set_opaque(tc, o);
    o->rkt = rd_kafka_topic_new(rt->producer, name, tc); /* takes tc, also on failure */
    if (!o->rkt) {
        free(o);
        return NULL;
    }
    char labels[BF_CFG_STR_MAX * 2 + 16];
    snprintf(labels, sizeof labels, "topic=\"%s\"", name);
    o->out = bf_metrics_counter(rt->metrics, "bf_messages_out_total", "Messages produced and acknowledged, by topic.",
                                labels);
    rt->outputs[rt->n_outputs++] = o;
    return o;
}

/* Produces or, when librdkafka's queue is full, keeps it for the next turn. On success librdkafka
 * owns payload and hdrs. Returns 0, -1 on a hard failure (payload and hdrs freed, runtime
 * failing). */
static int produce_now(bf_runtime *rt, output_topic *out, const char *key, size_t key_len, char *payload, size_t len,
                       rd_kafka_headers_t *hdrs, inmsg_impl *cause, bool *queued) {
    *queued = false;
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rt->producer, RD_KAFKA_V_RKT(out->rkt), RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(payload, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(cause), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        *queued = true;
        return 0;
    }
    bf_log_error(rt->log, "produce to %s failed: %s", rd_kafka_topic_name(out->rkt), rd_kafka_err2str(err));
    bf_metric_inc(rt->m_produce_errors);
    rd_kafka_headers_destroy(hdrs);
    free(payload);
    fail(rt);
    return -1;
}

static void overflow_free(overflow *o) {
    free(o->key);
    free(o->payload);
    if (o->hdrs) rd_kafka_headers_destroy(o->hdrs);
    free(o);
}

/* Retries what the producer's queue had no room for, in order; stops at the first that still
 * does not fit. */
static void overflow_retry(bf_runtime *rt) {
    while (rt->overflow_head && !rt->fatal) {
        overflow *o = rt->overflow_head;
        bool queued;
        if (produce_now(rt, o->topic, o->key, o->key_len, o->payload, o->len, o->hdrs, o->cause, &queued) != 0) {
            o->payload = NULL;
            o->hdrs = NULL;
        } else if (queued) {
            return;
        } else {
            o->payload = NULL; /* librdkafka's now */
            o->hdrs = NULL;
        }
        rt->overflow_head = o->next;
        if (!rt->overflow_head) rt->overflow_tail = NULL;
        overflow_free(o);
    }
}

typedef struct {
    const char *name, *value;
} header;

static int publish_raw(bf_runtime *rt, inmsg_impl *cause, const char *topic_base, const char *key, size_t key_len,
                       const char *traceparent, const char *schema, int version, char *payload, size_t len,
                       const header *extra, size_t n_extra) {
    if (rt->fatal) {
        free(payload);
        return -1;
    }
    output_topic *out = output_get(rt, topic_base);
    if (!out && !(out = output_add(rt, topic_base))) {
        bf_log_error(rt->log, "out of memory creating output topic %s", topic_base);
        free(payload);
        fail(rt);
        return -1;
    }
    char ver[12] = "1";
    if (version != 1) snprintf(ver, sizeof ver, "%d", version);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(3 + n_extra);
    rd_kafka_header_add(hdrs, "traceparent", -1, traceparent, -1);
    rd_kafka_header_add(hdrs, BF_HDR_SCHEMA, -1, schema, -1);
    rd_kafka_header_add(hdrs, BF_HDR_SCHEMA_VERSION, -1, ver, -1);
    for (size_t i = 0; i < n_extra; i++) rd_kafka_header_add(hdrs, extra[i].name, -1, extra[i].value, -1);
    bool queued = false;
    if (!rt->overflow_head) {
        if (produce_now(rt, out, key, key_len, payload, len, hdrs, cause, &queued) != 0) return -1;
    } else {
        queued = true; /* keep the order behind what already waits */
    }
    if (queued) {
        overflow *o = calloc(1, sizeof *o);
        char *k = key_len ? malloc(key_len) : NULL;
        if (!o || (key_len && !k)) {
            free(o);
            free(k);
            free(payload);
            rd_kafka_headers_destroy(hdrs);
            bf_log_error(rt->log, "out of memory holding an output for the producer's queue; stopping");
            fail(rt);
            return -1;
        }
        if (key_len) memcpy(k, key, key_len);
        *o = (overflow){.topic = out, .key = k, .key_len = key_len, .payload = payload, .len = len, .hdrs = hdrs,
                        .cause = cause};
        if (rt->overflow_tail) rt->overflow_tail->next = o;
        else rt->overflow_head = o;
        rt->overflow_tail = o;
    }
    if (cause) cause->pending_outputs++;
    return 0;
}

static int publish_env(bf_runtime *rt, bf_inmsg *cause, const bf_envelope *env, char *payload, size_t len,
                       const header *extra, size_t n_extra) {
    char tp[BF_TRACEPARENT_LEN + 1];
    /* An input's traceparent and trace id were validated when it was taken: an output in its
     * cause's trace (nearly all of them) needs no parsing here (it showed in the no-op profile). */
    if (cause && memcmp(cause->trace_id, env->trace_id, BF_TRACE_ID_LEN + 1) == 0)
        bf_trace_span_in_rng(env->trace_id, cause->traceparent + 53, &rt->rng, tp);
    else bf_publish_output_trace(cause ? cause->traceparent : NULL, env->trace_id, &rt->rng, tp);
    return publish_raw(rt, (inmsg_impl *)cause, env->schema, env->project_id, strlen(env->project_id), tp,
                       env->schema, env->schema_version, payload, len, extra, n_extra);
}

int bf_runtime_publish(bf_runtime *rt, bf_inmsg *cause, const bf_envelope *env, char *payload, size_t len) {
    return publish_env(rt, cause, env, payload, len, NULL, 0);
}

int bf_runtime_dead_letter(bf_runtime *rt, bf_inmsg *msg, const char *code, const char *message) {
    inmsg_impl *m = (inmsg_impl *)msg;
    char project[BF_ID_MAX + 1];
    bf_publish_dead_letter_project(msg->key, msg->key_len, msg->payload, msg->len, project);
    bf_envelope env;
    char *json = bf_dlq_encode(m->rkm, msg->topic, project, msg->traceparent, rt->group_id, rt->opts.worker, code,
                               message, bf_wall_ms(), &env);
    if (!json) {
        bf_log_error(rt->log, "out of memory building a dead letter");
        fail(rt);
        return -1;
    }
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", (int)msg->partition);
    snprintf(off, sizeof off, "%lld", (long long)msg->offset);
    const char *const kv[] = {"reason", code, "topic", msg->topic, "partition", part, "offset", off, NULL};
    bf_log_write(rt->log, BF_LOG_WARN, msg->trace_id, kv, "dead letter: %s", message);
    bf_metric_inc(rt->inputs[m->topic].failed);
    /* For routers and `kcat` users: why and from where, without decoding the body. */
    header h[] = {{"bf-dlq-reason", code}, {"bf-source-topic", msg->topic}, {"bf-source-partition", part},
                  {"bf-source-offset", off}};
    return publish_env(rt, msg, &env, json, strlen(json), h, sizeof h / sizeof h[0]);
}

/* ---- taking messages ---- */

static void dispatch(bf_runtime *rt, rd_kafka_message_t *rkm, long part_hint) {
    if (rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            bf_log_warn(rt->log, "consumer: %s", rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return;
    }
    const char *topic = rd_kafka_topic_name(rkm->rkt);
    long pi = part_hint;
    int ti = pi >= 0 ? (int)rt->parts[pi].topic : input_index(rt, topic);
    if (pi < 0 && ti >= 0) pi = part_index(rt, (unsigned)ti, rkm->partition);
    inmsg_impl *m = ti >= 0 && pi >= 0 ? calloc(1, sizeof *m) : NULL;
    if (!m || bf_offsets_begin(rt->offsets, topic, rkm->partition, rkm->offset) != 0) {
        /* Without memory the message cannot be tracked safely: stop, it is re-delivered. */
        free(m);
        rd_kafka_message_destroy(rkm);
        bf_log_error(rt->log, "%s tracking a message of %s; stopping", ti < 0 ? "unknown topic" : "out of memory",
                     topic);
        fail(rt);
        return;
    }
    m->rkm = rkm;
    m->generation = rt->generation;
    m->topic = (unsigned)ti;
    m->part = (unsigned)pi;
    bf_inmsg *p = &m->pub;
    /* The runtime's copy, not librdkafka's: the message itself is released at finish. */
    p->topic = rt->inputs[ti].name;
    size_t plen = strlen(rt->cfg->topic_prefix);
    p->topic_base = strncmp(p->topic, rt->cfg->topic_prefix, plen) == 0 ? p->topic + plen : p->topic;
    p->partition = rkm->partition;
    p->offset = rkm->offset;
    p->timestamp_ms = rd_kafka_message_timestamp(rkm, NULL);
    p->received_ms = bf_loop_now(rt->loop);
    p->key = rkm->key;
    p->key_len = rkm->key_len;
    p->payload = rkm->payload;
    p->len = rkm->len;
    char tp[BF_TRACEPARENT_LEN + 8];
    bool has_tp = bf_inmsg_header(p, "traceparent", tp, sizeof tp) == 0;
    bf_publish_input_trace(has_tp ? tp : NULL, p->payload, p->len, &rt->rng, p->traceparent);
    memcpy(p->trace_id, p->traceparent + 3, BF_TRACE_ID_LEN);
    p->trace_id[BF_TRACE_ID_LEN] = '\0';
    m->next = rt->inflight_head;
    if (m->next) m->next->prev = m;
    rt->inflight_head = m;
    rt->inflight++;
    rt->inputs[ti].active++;
    bf_metric_inc(rt->inputs[ti].in);
    bf_handle_result r = rt->ops.handle(rt->stage, p);
    if (r == BF_HANDLED) bf_runtime_finish(rt, p);
}

static size_t parked_share(const bf_runtime *rt) {
    size_t n = rt->n_assigned ? rt->n_assigned : 1;
    size_t share = (size_t)rt->cfg->max_parked / n;
    return share ? share : 1;
}

/* Whether another message may be taken at all (the per-topic and per-partition limits come on
 * top). */
static bool may_take(const bf_runtime *rt) {
    return !rt->stopping && !rt->held && !rt->overflow_head && rt->n_unacked < rt->max_unacked;
}

/* Dispatches up to budget messages from the partition queues, round robin, each partition while
 * its topic is under MAX_IN_FLIGHT and it is under its share of MAX_PARKED. Returns how many. */
static int take_from_partitions(bf_runtime *rt, int budget) {
    size_t max = (size_t)rt->cfg->max_in_flight, share = parked_share(rt);
    int n = 0;
    size_t idle = 0; /* consecutive partitions that gave nothing: all of them ends the turn */
    while (n < budget && may_take(rt) && idle < rt->n_parts) {
        part_entry *p = &rt->parts[rt->part_next];
        rt->part_next = (rt->part_next + 1) % rt->n_parts;
        if (!p->q || rt->inputs[p->topic].active >= max || p->parked >= share) {
            idle++;
            continue;
        }
        /* One at a time: rd_kafka_consume_batch_queue can skip offsets around pause/resume
         * before librdkafka 2.1 (librdkafka#4208). */
        rd_kafka_message_t *rkm = rd_kafka_consume_queue(p->q, 0);
        if (!rkm) {
            idle++;
            continue;
        }
        idle = 0;
        n++;
        dispatch(rt, rkm, p - rt->parts);
        /* A long batch of messages would otherwise keep the stage's sockets waiting (a pipelined
         * database write's next phase, say) until the whole batch is dispatched. */
        if (n % IO_EVERY == 0 && bf_loop_run_once(rt->loop, 0) < 0) {
            bf_log_error(rt->log, "event loop: %s", strerror(errno));
            fail(rt);
        }
    }
    return n;
}

/* One topic at its budget is enough: what a batching stage holds of it cannot grow, whatever the
 * other topics do (memory-writer's memoryUpdates is mostly idle beside a stream of images). */
bool bf_runtime_saturated(const bf_runtime *rt) {
    if (!may_take(rt)) return true;
    size_t max = (size_t)rt->cfg->max_in_flight;
    for (size_t i = 0; i < rt->n_inputs; i++)
        if (rt->inputs[i].active >= max) return true;
    return false;
}

/* ---- loop ---- */

static void on_wake(bf_io *io, unsigned events) {
    (void)events;
    char buf[256];
    while (read(io->fd, buf, sizeof buf) > 0) {
    }
}

static void on_signal(bf_io *io, unsigned events) {
    (void)events;
    bf_runtime *rt = io->data;
    struct signalfd_siginfo si;
    while (read(rt->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (!rt->stopping) bf_log_info(rt->log, "signal %u: shutting down (in flight: %zu)", si.ssi_signo, rt->inflight);
        bf_runtime_stop(rt);
    }
}

void bf_runtime_stop(bf_runtime *rt) {
    if (rt->stopping && rt->drain_deadline) return;
    rt->stopping = true;
    rt->drain_deadline = bf_now_ms() + rt->cfg->shutdown_timeout_ms;
}

bool bf_runtime_stopping(const bf_runtime *rt) { return rt->stopping; }

void bf_runtime_hold(bf_runtime *rt, bool hold) { rt->held = hold; }

/* Pausing is for long stops only (a dependency down, shutdown): it drops what librdkafka had
 * prefetched. The in-flight limits are kept by take_from_partitions. */
static void update_flow_control(bf_runtime *rt) {
    bool want = rt->stopping || rt->held;
    if (want != rt->paused) set_paused(rt, want);
}

/* librdkafka (2.0.2 here, still open upstream: librdkafka#3202, #5032) asks the cluster about a
 * topic it has never produced to only on its once-a-second scan of unknown topics, so each
 * process's first output to each topic waited up to a second (0.88 s measured, bench/README.md).
 * One metadata request per output topic at start makes the producer know them all before the
 * first message. Best effort: on failure librdkafka's scan still finds the topic later. */
static void warm_up_outputs(bf_runtime *rt) {
    int64_t deadline = bf_now_ms() + WARM_UP_BUDGET_MS;
    for (size_t i = 0; i <= rt->opts.n_outputs; i++) {
        const char *base = i < rt->opts.n_outputs ? rt->opts.output_topics[i] : BF_SCHEMA_DEAD_LETTERS;
        output_topic *o = output_get(rt, base);
        if (!o && !(o = output_add(rt, base))) continue;
        int left = (int)(deadline - bf_now_ms());
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err =
            left > 0 ? rd_kafka_metadata(rt->producer, 0, o->rkt, &md, left) : RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (err) bf_log_warn(rt->log, "metadata for output topic %s: %s (its first message may wait ~1 s)",
                             rd_kafka_topic_name(o->rkt), rd_kafka_err2str(err));
        if (md) rd_kafka_metadata_destroy(md);
    }
}

/* One turn's Kafka work; returns how many messages it took. */
static int kafka_turn(bf_runtime *rt) {
    atomic_store(&rt->last_turn_ms, bf_now_ms());
    int n = 0;
    rd_kafka_message_t *rkm;
    /* Events; messages only from a partition whose queue could not be detached. */
    while (n < POLL_BATCH && (rkm = rd_kafka_consumer_poll(rt->consumer, 0)) != NULL) {
        n++;
        /* After stop, messages already fetched are left for the next owner. */
        if (rt->stopping) rd_kafka_message_destroy(rkm);
        else dispatch(rt, rkm, -1);
    }
    rd_kafka_poll(rt->producer, 0);
    overflow_retry(rt);
    n += take_from_partitions(rt, POLL_BATCH - n);
    if (rt->ops.turn) rt->ops.turn(rt->stage);
    rd_kafka_poll(rt->producer, 0);
    flush_offsets(rt);
    update_flow_control(rt);
    size_t active = 0;
    for (size_t i = 0; i < rt->n_inputs; i++) active += rt->inputs[i].active;
    bf_metric_set(rt->m_in_flight, (double)active);
    bf_metric_set(rt->m_parked, (double)rt->n_parked);
    bf_metric_set(rt->m_unacked, (double)rt->n_unacked);
    return n;
}

int bf_runtime_run(bf_runtime *rt, const bf_stage_ops *ops, void *stage) {
    rt->ops = *ops;
    rt->stage = stage;
    char topics_log[1024] = "";
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)rt->n_inputs);
    for (size_t i = 0; i < rt->n_inputs; i++) {
        const char *t = rt->inputs[i].name;
        rd_kafka_topic_partition_list_add(subs, t, RD_KAFKA_PARTITION_UA);
        /* For the start-up log line only: names that do not fit are left out. */
        size_t l = strlen(topics_log), tl = strlen(t);
        if (l + tl + 2 <= sizeof topics_log) {
            if (l) topics_log[l++] = ',';
            memcpy(topics_log + l, t, tl + 1);
        }
    }
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rt->consumer, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (err) {
        bf_log_error(rt->log, "subscribe to %s failed: %s", topics_log, rd_kafka_err2str(err));
        return -1;
    }
    bf_log_info(rt->log, "consuming %s as group %s; http port %d", topics_log, rt->group_id,
                bf_runtime_http_port(rt));
    /* After subscribe, so the group join goes on meanwhile. */
    warm_up_outputs(rt);
    for (;;) {
        int n = kafka_turn(rt);
        if (rt->fatal) break;
        if (rt->stopping) {
            if (rt->drain_deadline == 0) rt->drain_deadline = bf_now_ms() + rt->cfg->shutdown_timeout_ms;
            if (rt->inflight == 0 || bf_now_ms() >= rt->drain_deadline) break;
        }
        /* More may be waiting in the queues: look again at once, serving only what is ready. */
        bool more = n == POLL_BATCH || (rt->overflow_head && rt->n_unacked == 0);
        if (bf_loop_run_once(rt->loop, more ? 0 : IDLE_WAIT_MS) < 0) {
            bf_log_error(rt->log, "event loop: %s", strerror(errno));
            fail(rt);
            break;
        }
    }
    if (rt->inflight > 0)
        bf_log_warn(rt->log, "shutdown: abandoning %zu unfinished messages (they will be re-delivered)", rt->inflight);
    if (!rt->fatal) {
        /* Deliver what was produced for finished work, then commit its offsets. */
        while (rt->overflow_head && !rt->fatal) {
            rd_kafka_poll(rt->producer, 100);
            overflow_retry(rt);
        }
        rd_kafka_flush(rt->producer, 5000);
        commit_sync(rt);
    }
    int64_t t0 = bf_now_ms();
    detach_partition_queues(rt); /* librdkafka wants them destroyed before the close */
    rd_kafka_consumer_close(rt->consumer);
    bf_log_info(rt->log, "stopped%s (consumer close took %lld ms)", rt->fatal ? " on a fatal error" : "",
                (long long)(bf_now_ms() - t0));
    return rt->fatal ? -1 : 0;
}

/* ---- construction ---- */

bf_runtime *bf_runtime_new(const bf_runtime_opts *opts, char *err, size_t errlen) {
    bf_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rt->opts = *opts;
    rt->cfg = opts->cfg;
    rt->log = opts->log;
    rt->metrics = opts->metrics;
    rt->wake_pipe[0] = rt->wake_pipe[1] = rt->signal_fd = -1;
    snprintf(rt->group_id, sizeof rt->group_id, "%s", *opts->cfg->group_id ? opts->cfg->group_id : opts->worker);
    atomic_store(&rt->last_turn_ms, bf_now_ms());
    bf_rng_seed_random(&rt->rng);
    long long unacked = opts->cfg->max_in_flight * UNACKED_PER_SLOT;
    rt->max_unacked = (size_t)(unacked < UNACKED_MIN ? UNACKED_MIN : unacked);
    if (opts->n_inputs > MAX_INPUTS) {
        snprintf(err, errlen, "at most %d input topics", MAX_INPUTS);
        goto fail;
    }
    rt->n_inputs = opts->n_inputs;
    for (size_t i = 0; i < opts->n_inputs; i++) {
        input_topic *t = &rt->inputs[i];
        bf_topic_name(opts->cfg, opts->input_topics[i], t->name, sizeof t->name);
        char labels[sizeof t->name + 16];
        snprintf(labels, sizeof labels, "topic=\"%s\"", t->name);
        t->in = bf_metrics_counter(rt->metrics, "bf_messages_in_total", "Messages consumed, by topic.", labels);
        t->failed = bf_metrics_counter(rt->metrics, "bf_messages_failed_total",
                                       "Input messages sent to deadLetters, by input topic.", labels);
        t->latency = bf_metrics_histogram(rt->metrics, "bf_processing_seconds",
                                          "Time from poll to a message's effects acknowledged, by input topic.",
                                          labels, bf_metrics_latency_bounds, bf_metrics_latency_n);
    }
    rt->loop = bf_loop_new(err, errlen);
    if (!rt->loop) goto fail;

    /* Block before librdkafka starts its threads so they inherit the mask and the signals reach
     * only our signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    pthread_sigmask(SIG_BLOCK, &mask, &rt->old_mask);
    rt->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (rt->signal_fd < 0 || pipe(rt->wake_pipe) != 0) {
        snprintf(err, errlen, "signalfd/pipe: %s", strerror(errno));
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(rt->wake_pipe[i], F_SETFL, O_NONBLOCK);
        fcntl(rt->wake_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    bf_io_init(&rt->wake_io, rt->wake_pipe[0], on_wake, rt);
    bf_io_init(&rt->signal_io, rt->signal_fd, on_signal, rt);
    if (bf_io_start(rt->loop, &rt->wake_io, BF_IO_READ) != 0 || bf_io_start(rt->loop, &rt->signal_io, BF_IO_READ) != 0) {
        snprintf(err, errlen, "event loop: %s", strerror(errno));
        goto fail;
    }
    rt->offsets = bf_offsets_new();
    if (!rt->offsets) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    bf_common_cfg cfg_group = *opts->cfg;
    snprintf(cfg_group.group_id, sizeof cfg_group.group_id, "%s", rt->group_id);
    char rderr[512];
    for (int role = 0; role < 2; role++) {
        rd_kafka_conf_t *conf = bf_kafka_conf_new(&cfg_group, role == 0 ? BF_KAFKA_CONSUMER : BF_KAFKA_PRODUCER,
                                                  opts->worker, opts->envp, err, errlen);
        if (!conf) goto fail;
        rd_kafka_conf_set_opaque(conf, rt);
        rd_kafka_conf_set_error_cb(conf, on_error);
        rd_kafka_conf_set_log_cb(conf, on_kafka_log);
        rd_kafka_conf_set_stats_cb(conf, on_stats);
        if (role == 0) rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        else rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_t *rk = rd_kafka_new(role == 0 ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, rderr, sizeof rderr);
        if (!rk) {
            rd_kafka_conf_destroy(conf);
            snprintf(err, errlen, "kafka %s: %s", role == 0 ? "consumer" : "producer", rderr);
            goto fail;
        }
        if (role == 0) rt->consumer = rk;
        else rt->producer = rk;
    }
    rd_kafka_poll_set_consumer(rt->consumer);
    rt->consumer_q = rd_kafka_queue_get_consumer(rt->consumer);
    rt->producer_q = rd_kafka_queue_get_main(rt->producer);
    rd_kafka_queue_io_event_enable(rt->consumer_q, rt->wake_pipe[1], "c", 1);
    rd_kafka_queue_io_event_enable(rt->producer_q, rt->wake_pipe[1], "p", 1);

    rt->m_in_flight = bf_metrics_gauge(rt->metrics, "bf_in_flight_messages",
                                       "Input messages being worked on (pending and not parked).", NULL);
    rt->m_parked = bf_metrics_gauge(rt->metrics, "bf_parked_messages",
                                    "Input messages parked by the stage (bound: BRAINFLEET_MAX_PARKED).", NULL);
    rt->m_unacked = bf_metrics_gauge(rt->metrics, "bf_unacked_messages",
                                     "Finished input messages waiting for their outputs' acknowledgement.", NULL);
    rt->m_lag = bf_metrics_gauge(rt->metrics, "bf_consumer_lag_messages",
                                 "Consumer lag summed over assigned partitions (from librdkafka statistics).", NULL);
    rt->m_rebalances = bf_metrics_counter(rt->metrics, "bf_rebalances_total", "Partition assignments and revocations.", NULL);
    rt->m_produce_errors = bf_metrics_counter(rt->metrics, "bf_produce_errors_total", "Messages that could not be produced.", NULL);
    rt->m_paused = bf_metrics_gauge(rt->metrics, "bf_consumer_paused", "1 while consumption is paused (dependency down, shutdown).", NULL);

    if (!opts->no_http) {
        bf_http_server_opts ho = {.bind_addr = opts->cfg->http_bind, .port = (int)opts->cfg->http_port,
                                  .metrics = rt->metrics, .healthz = probe_healthz, .readyz = probe_readyz,
                                  .probe_ctx = rt};
        rt->http = bf_http_server_start(&ho, err, errlen);
        if (!rt->http) goto fail;
    }
    return rt;
fail:
    bf_runtime_free(rt);
    return NULL;
}

void bf_runtime_free(bf_runtime *rt) {
    if (!rt) return;
    bf_http_server_stop(rt->http);
    while (rt->inflight_head) {
        inmsg_impl *m = rt->inflight_head;
        inflight_unlink(rt, m);
        release_input(m);
        free(m);
    }
    while (rt->overflow_head) {
        overflow *o = rt->overflow_head;
        rt->overflow_head = o->next;
        overflow_free(o);
    }
    for (size_t i = 0; i < rt->n_outputs; i++) {
        rd_kafka_topic_destroy(rt->outputs[i]->rkt);
        free(rt->outputs[i]);
    }
    free(rt->outputs);
    detach_partition_queues(rt);
    free(rt->parts);
    if (rt->consumer_q) rd_kafka_queue_destroy(rt->consumer_q);
    if (rt->producer_q) rd_kafka_queue_destroy(rt->producer_q);
    if (rt->consumer) rd_kafka_destroy(rt->consumer);
    if (rt->producer) rd_kafka_destroy(rt->producer);
    bf_offsets_free(rt->offsets);
    if (rt->loop) {
        bf_io_stop(rt->loop, &rt->wake_io);
        bf_io_stop(rt->loop, &rt->signal_io);
        bf_loop_free(rt->loop);
    }
    if (rt->wake_pipe[0] >= 0) close(rt->wake_pipe[0]);
    if (rt->wake_pipe[1] >= 0) close(rt->wake_pipe[1]);
    if (rt->signal_fd >= 0) {
        close(rt->signal_fd);
        pthread_sigmask(SIG_SETMASK, &rt->old_mask, NULL);
    }
    free(rt);
}

void bf_runtime_set_dependency(bf_runtime *rt, const char *name, bool ok) {
    int n = atomic_load(&rt->n_deps);
    for (int i = 0; i < n; i++) {
        if (strcmp(rt->deps[i].name, name) == 0) {
            atomic_store(&rt->deps[i].ok, ok);
            return;
        }
    }
    if (n == MAX_DEPS) return;
    snprintf(rt->deps[n].name, sizeof rt->deps[n].name, "%s", name);
    atomic_store(&rt->deps[n].ok, ok);
    atomic_store(&rt->n_deps, n + 1); /* published after the name is written */
}

size_t bf_runtime_in_flight(const bf_runtime *rt) {
    size_t n = 0;
    for (size_t i = 0; i < rt->n_inputs; i++) n += rt->inputs[i].active;
    return n;
}
size_t bf_runtime_unfinished(const bf_runtime *rt) { return rt->inflight; }
bf_loop *bf_runtime_loop(bf_runtime *rt) { return rt->loop; }
int64_t bf_runtime_now(const bf_runtime *rt) { return bf_loop_now(rt->loop); }
int64_t bf_runtime_wall(const bf_runtime *rt) {
    (void)rt;
    return bf_wall_ms();
}
int bf_runtime_http_port(const bf_runtime *rt) { return bf_http_server_port(rt->http); }
const bf_common_cfg *bf_runtime_config(const bf_runtime *rt) { return rt->cfg; }
bf_log *bf_runtime_log(bf_runtime *rt) { return rt->log; }
bf_metrics *bf_runtime_metrics(bf_runtime *rt) { return rt->metrics; }

/* Sums consumer_lag over the consumer's partitions from librdkafka's statistics JSON. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    bf_runtime *rt = opaque;
    if (rk != rt->consumer) return 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
    double lag = 0;
    cJSON *t, *p;
    cJSON_ArrayForEach(t, topics) {
        cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(t, "partitions")) {
            cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "partition");
            cJSON *l = cJSON_GetObjectItemCaseSensitive(p, "consumer_lag");
            if (cJSON_IsNumber(id) && id->valuedouble >= 0 && cJSON_IsNumber(l) && l->valuedouble > 0)
                lag += l->valuedouble;
        }
    }
    if (root) bf_metric_set(rt->m_lag, lag);
    cJSON_Delete(root);
    return 0; /* librdkafka frees json */
}
