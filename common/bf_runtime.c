#include "bf_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "bf_dlq.h"
#include "bf_http_server.h"
#include "bf_kafka_conf.h"
#include "bf_offsets.h"
#include "bf_rng.h"
#include "bf_trace.h"

#define MAX_DEPS 8
#define POLL_BATCH 500
#define IDLE_WAIT_MS 100
#define WARM_UP_BUDGET_MS 5000

/* The runtime's view of an input message; bf_inmsg is its public face (first member). */
typedef struct inmsg_impl {
    bf_inmsg pub;
    rd_kafka_message_t *rkm;
    int pending_outputs;    /* produced on its behalf, not yet acknowledged */
    bool handler_done;
    unsigned generation;    /* assignment generation it was consumed in */
    int64_t started_ms;
    struct inmsg_impl *prev, *next; /* the in-flight list, for shutdown and revocation */
} inmsg_impl;

typedef struct {
    char name[32];
    atomic_bool ok;
} dependency;

#define MAX_TOPIC_METRICS 32

typedef struct {
    char topic[256];
    bf_metric *in, *out, *failed, *latency;
} topic_metrics;

struct bf_runtime {
    bf_runtime_opts opts;
    const bf_common_cfg *cfg;
    bf_log *log;
    bf_metrics *metrics;
    char group_id[BF_CFG_STR_MAX];
    rd_kafka_t *consumer, *producer;
    rd_kafka_topic_t **out_topics; /* held so the producer keeps their metadata fresh */
    size_t n_out_topics;
    rd_kafka_queue_t *consumer_q, *producer_q;
    /* The assigned partitions' own queues, detached from consumer_q (see attach_partition_queues);
     * read round robin from part_next. */
    rd_kafka_queue_t **part_qs;
    size_t n_part_qs, part_next;
    int wake_pipe[2];
    int signal_fd;
    sigset_t old_mask;
    bf_offsets *offsets;
    inmsg_impl *inflight_head;
    size_t inflight;
    unsigned generation;
    bool stopping, fatal, paused, held;
    int64_t drain_deadline;
    bf_http_server *http;
    /* Read by the HTTP thread. */
    atomic_llong last_turn_ms;
    atomic_bool joined;
    atomic_int n_assigned;
    dependency deps[MAX_DEPS];
    atomic_int n_deps;
    bf_metric *m_in_flight, *m_lag, *m_rebalances, *m_produce_errors, *m_paused;
    topic_metrics topic_metrics[MAX_TOPIC_METRICS];
    size_t n_topic_metrics;
    bf_rng rng; /* span and trace ids */
};

int64_t bf_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t bf_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Per-topic metrics, looked up once per topic rather than per message (a registry lookup
 * formats labels and compares strings). */
static const topic_metrics *topic_metrics_get(bf_runtime *rt, const char *topic) {
    for (size_t i = 0; i < rt->n_topic_metrics; i++)
        if (strcmp(rt->topic_metrics[i].topic, topic) == 0) return &rt->topic_metrics[i];
    static const topic_metrics none; /* all NULL: updates through it are no-ops */
    if (rt->n_topic_metrics == MAX_TOPIC_METRICS) return &none;
    topic_metrics *t = &rt->topic_metrics[rt->n_topic_metrics++];
    snprintf(t->topic, sizeof t->topic, "%s", topic);
    char labels[300];
    snprintf(labels, sizeof labels, "topic=\"%s\"", topic);
    t->in = bf_metrics_counter(rt->metrics, "bf_messages_in_total", "Messages consumed, by topic.", labels);
    t->out = bf_metrics_counter(rt->metrics, "bf_messages_out_total", "Messages produced and acknowledged, by topic.",
                                labels);
    t->failed = bf_metrics_counter(rt->metrics, "bf_messages_failed_total",
                                   "Input messages sent to deadLetters, by input topic.", labels);
    t->latency = bf_metrics_histogram(rt->metrics, "bf_processing_seconds",
                                      "Time from poll to a message's effects acknowledged, by input topic.", labels,
                                      bf_metrics_latency_bounds, bf_metrics_latency_n);
    return t;
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
    snprintf(msg, msglen, "ready: %d partitions assigned", atomic_load(&rt->n_assigned));
    return 1;
}

/* ---- librdkafka callbacks (called from rd_kafka_*poll on the loop thread) ---- */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    bf_runtime *rt = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        bf_log_error(rt->log, "fatal kafka error %s: %s", rd_kafka_err2name(ferr), fatal);
        rt->fatal = true;
        rt->stopping = true;
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

/* Each assigned partition's messages stay in that partition's own queue instead of being
 * forwarded to the consumer queue, and the loop takes from them only while below max_in_flight.
 * Pausing at the limit (what the runtime did before) makes librdkafka purge every prefetched
 * message and, on resume, restart fetching only when its broker thread next wakes: 0.6 s per
 * pause/resume cycle measured with MAX_IN_FLIGHT=256 (bench/README.md). Left in their queues,
 * prefetched messages wait, and librdkafka stops fetching a partition whose queue holds
 * queued.min.messages or queued.max.messages.kbytes (per partition in this mode). Events
 * (rebalances, errors) still come through the consumer queue, polled every turn, which also keeps
 * the group membership (max.poll.interval.ms) whatever the in-flight count. */
static void detach_partition_queues(bf_runtime *rt) {
    for (size_t i = 0; i < rt->n_part_qs; i++) {
        rd_kafka_queue_io_event_enable(rt->part_qs[i], -1, NULL, 0);
        rd_kafka_queue_destroy(rt->part_qs[i]);
    }
    free(rt->part_qs);
    rt->part_qs = NULL;
    rt->n_part_qs = rt->part_next = 0;
}

static void attach_partition_queues(bf_runtime *rt, const rd_kafka_topic_partition_list_t *parts) {
    detach_partition_queues(rt);
    if (parts->cnt == 0) return;
    rt->part_qs = calloc((size_t)parts->cnt, sizeof *rt->part_qs);
    if (!rt->part_qs) {
        bf_log_error(rt->log, "out of memory attaching partition queues; stopping");
        rt->fatal = rt->stopping = true;
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_queue_t *q = rd_kafka_queue_get_partition(rt->consumer, parts->elems[i].topic, parts->elems[i].partition);
        if (!q) {
            /* Still forwarded: its messages arrive through the consumer queue, as before. */
            bf_log_warn(rt->log, "no queue for %s [%d]: consumed through the consumer queue", parts->elems[i].topic,
                        (int)parts->elems[i].partition);
            continue;
        }
        rd_kafka_queue_forward(q, NULL);
        rd_kafka_queue_io_event_enable(q, rt->wake_pipe[1], "m", 1);
        rt->part_qs[rt->n_part_qs++] = q;
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque) {
    bf_runtime *rt = opaque;
    bf_metric_inc(rt->m_rebalances);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        attach_partition_queues(rt, parts);
        atomic_store(&rt->n_assigned, parts->cnt);
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
    if (rt->opts.ops.revoked) rt->opts.ops.revoked(rt->opts.ctx, rt);
    commit_sync(rt);
    for (int i = 0; i < parts->cnt; i++) bf_offsets_forget(rt->offsets, parts->elems[i].topic, parts->elems[i].partition);
    rt->generation++;
    detach_partition_queues(rt);
    rd_kafka_assign(rk, NULL);
    atomic_store(&rt->n_assigned, 0);
    bf_log_info(rt->log, "revoked %d partitions", parts->cnt);
}

/* ---- message lifecycle ---- */

static void inflight_unlink(bf_runtime *rt, inmsg_impl *m) {
    if (m->prev) m->prev->next = m->next;
    else rt->inflight_head = m->next;
    if (m->next) m->next->prev = m->prev;
    rt->inflight--;
}

/* Stores the offset when the message is fully done, then frees it. */
static void maybe_complete(bf_runtime *rt, inmsg_impl *m) {
    if (!m->handler_done || m->pending_outputs > 0) return;
    /* The advanced commit point is stored with the others at the end of the loop turn. */
    if (m->generation == rt->generation) bf_offsets_finish(rt->offsets, m->pub.topic, m->pub.partition, m->pub.offset);
    bf_metric_observe(topic_metrics_get(rt, m->pub.topic)->latency, (double)(bf_now_ms() - m->started_ms) / 1000.0);
    inflight_unlink(rt, m);
    rd_kafka_message_destroy(m->rkm);
    free(m);
}

void bf_runtime_finish(bf_runtime *rt, bf_inmsg *msg) {
    inmsg_impl *m = (inmsg_impl *)msg;
    if (m->handler_done) return;
    m->handler_done = true;
    maybe_complete(rt, m);
}

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
        rt->fatal = true;
        rt->stopping = true;
        if (cause) cause->pending_outputs--; /* never completes: fatal stops before storing */
        return;
    }
    bf_metric_inc(topic_metrics_get(rt, rd_kafka_topic_name(rkm->rkt))->out);
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

/* msgflags: RD_KAFKA_MSG_F_COPY, or RD_KAFKA_MSG_F_FREE (librdkafka owns payload on success). */
static int produce(bf_runtime *rt, bf_inmsg *cause, const char *topic_base, const char *key, size_t key_len,
                   void *payload, size_t len, const bf_header *extra, size_t n_extra, int msgflags) {
    char topic[BF_CFG_STR_MAX * 2];
    bf_topic_name(rt->cfg, topic_base, topic, sizeof topic);
    char tp[BF_TRACEPARENT_LEN + 1];
    if (cause) bf_trace_child_rng(cause->traceparent, &rt->rng, tp);
    else bf_trace_new_rng(&rt->rng, tp);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(n_extra + 1);
    rd_kafka_header_add(hdrs, "traceparent", -1, tp, -1);
    for (size_t i = 0; i < n_extra; i++) rd_kafka_header_add(hdrs, extra[i].name, -1, extra[i].value, -1);
    inmsg_impl *c = (inmsg_impl *)cause;
    rd_kafka_resp_err_t err;
    for (;;) {
        err = rd_kafka_producev(rt->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
                                RD_KAFKA_V_VALUE(payload, len), RD_KAFKA_V_MSGFLAGS(msgflags),
                                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(c), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        /* Back-pressure: serve delivery reports until the local queue has room. */
        rd_kafka_poll(rt->producer, 100);
    }
    if (err) {
        rd_kafka_headers_destroy(hdrs); /* only owned by librdkafka on success */
        bf_log_error(rt->log, "produce to %s failed: %s", topic, rd_kafka_err2str(err));
        bf_metric_inc(rt->m_produce_errors);
        rt->fatal = true;
        rt->stopping = true;
        return -1;
    }
    if (c) c->pending_outputs++;
    return 0;
}

int bf_runtime_produce(bf_runtime *rt, bf_inmsg *cause, const char *topic_base, const char *key,
                       size_t key_len, const char *payload, size_t len, const bf_header *extra,
                       size_t n_extra) {
    return produce(rt, cause, topic_base, key, key_len, (void *)payload, len, extra, n_extra, RD_KAFKA_MSG_F_COPY);
}

int bf_runtime_produce_owned(bf_runtime *rt, bf_inmsg *cause, const char *topic_base, const char *key,
                             size_t key_len, char *payload, size_t len, const bf_header *extra,
                             size_t n_extra) {
    int rc = produce(rt, cause, topic_base, key, key_len, payload, len, extra, n_extra, RD_KAFKA_MSG_F_FREE);
    if (rc != 0) free(payload); /* librdkafka takes it only on success */
    return rc;
}

int bf_runtime_dead_letter(bf_runtime *rt, bf_inmsg *msg, const char *code, const char *message) {
    inmsg_impl *m = (inmsg_impl *)msg;
    char *json = bf_dlq_encode(m->rkm, msg->topic, rt->group_id, rt->opts.worker, code, message, bf_wall_ms());
    if (!json) {
        bf_log_error(rt->log, "out of memory building a dead letter");
        rt->fatal = true;
        rt->stopping = true;
        return -1;
    }
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", (int)msg->partition);
    snprintf(off, sizeof off, "%lld", (long long)msg->offset);
    bf_header h[] = {{"bf-dlq-reason", code}, {"bf-source-topic", msg->topic},
                     {"bf-source-partition", part}, {"bf-source-offset", off}};
    const char *const kv[] = {"reason", code, "topic", msg->topic, "partition", part, "offset", off, NULL};
    bf_log_write(rt->log, BF_LOG_WARN, msg->trace_id, kv, "dead letter: %s", message);
    bf_metric_inc(topic_metrics_get(rt, msg->topic)->failed);
    int rc = bf_runtime_produce(rt, msg, "deadLetters", msg->key, msg->key_len, json, strlen(json), h, 4);
    free(json);
    return rc;
}

static void dispatch(bf_runtime *rt, rd_kafka_message_t *rkm) {
    if (rkm->err) {
        if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            bf_log_warn(rt->log, "consumer: %s", rd_kafka_message_errstr(rkm));
        rd_kafka_message_destroy(rkm);
        return;
    }
    inmsg_impl *m = calloc(1, sizeof *m);
    if (!m || bf_offsets_begin(rt->offsets, rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset) != 0) {
        /* Without memory the message cannot be tracked safely: stop, it is re-delivered. */
        free(m);
        rd_kafka_message_destroy(rkm);
        bf_log_error(rt->log, "out of memory tracking a message; stopping");
        rt->fatal = rt->stopping = true;
        return;
    }
    m->rkm = rkm;
    m->generation = rt->generation;
    m->started_ms = bf_now_ms();
    bf_inmsg *p = &m->pub;
    p->topic = rd_kafka_topic_name(rkm->rkt);
    size_t plen = strlen(rt->cfg->topic_prefix);
    p->topic_base = strncmp(p->topic, rt->cfg->topic_prefix, plen) == 0 ? p->topic + plen : p->topic;
    p->partition = rkm->partition;
    p->offset = rkm->offset;
    p->timestamp_ms = rd_kafka_message_timestamp(rkm, NULL);
    p->received_ms = m->started_ms;
    p->key = rkm->key;
    p->key_len = rkm->key_len;
    p->payload = rkm->payload;
    p->len = rkm->len;
    char tp[128];
    if (bf_inmsg_header(p, "traceparent", tp, sizeof tp) != 0 || bf_trace_parse(tp, p->trace_id) != 0) {
        bf_trace_new_rng(&rt->rng, p->traceparent);
        bf_trace_parse(p->traceparent, p->trace_id);
    } else {
        memcpy(p->traceparent, tp, BF_TRACEPARENT_LEN + 1); /* parse checked the length */
    }
    m->next = rt->inflight_head;
    if (m->next) m->next->prev = m;
    rt->inflight_head = m;
    rt->inflight++;
    bf_metric_inc(topic_metrics_get(rt, p->topic)->in);
    bf_handle_result r = rt->opts.ops.handle(rt->opts.ctx, rt, p);
    if (r == BF_HANDLED) bf_runtime_finish(rt, p);
}

/* ---- loop ---- */

static void drain_fd(int fd) {
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

static void default_wait(void *ctx, const int *fds, size_t n, int timeout_ms) {
    (void)ctx;
    struct pollfd p[8];
    if (n > 8) n = 8;
    for (size_t i = 0; i < n; i++) p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    poll(p, n, timeout_ms);
}

static void check_signals(bf_runtime *rt) {
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
 * prefetched. The in-flight limit is kept by take_from_partitions. */
static void update_flow_control(bf_runtime *rt) {
    bool want = rt->stopping || rt->held;
    if (want != rt->paused) set_paused(rt, want);
}

/* Dispatches up to budget messages from the partition queues, one partition after the other,
 * while below max_in_flight. Returns how many. */
static int take_from_partitions(bf_runtime *rt, int budget) {
    size_t max = (size_t)rt->cfg->max_in_flight;
    int n = 0;
    size_t empty = 0; /* consecutive partitions found empty: all of them ends the turn */
    while (n < budget && rt->inflight < max && !rt->stopping && !rt->held && empty < rt->n_part_qs) {
        rd_kafka_queue_t *q = rt->part_qs[rt->part_next];
        rt->part_next = (rt->part_next + 1) % rt->n_part_qs;
        /* One at a time: rd_kafka_consume_batch_queue can skip offsets around pause/resume
         * before librdkafka 2.1 (librdkafka#4208). */
        rd_kafka_message_t *rkm = rd_kafka_consume_queue(q, 0);
        if (!rkm) {
            empty++;
            continue;
        }
        empty = 0;
        n++;
        dispatch(rt, rkm);
    }
    return n;
}

/* librdkafka (2.0.2 here, still open upstream: librdkafka#3202, #5032) asks the cluster about a
 * topic it has never produced to only on its once-a-second scan of unknown topics, so each
 * process's first output to each topic waited up to a second (0.88 s measured, bench/README.md).
 * One metadata request per output topic at start makes the producer know them all before the
 * first message. Best effort: on failure librdkafka's scan still finds the topic later. */
static void warm_up_outputs(bf_runtime *rt) {
    size_t n = rt->opts.n_outputs + 1;
    rt->out_topics = calloc(n, sizeof *rt->out_topics);
    if (!rt->out_topics) return;
    int64_t deadline = bf_now_ms() + WARM_UP_BUDGET_MS;
    for (size_t i = 0; i < n; i++) {
        char t[BF_CFG_STR_MAX * 2];
        bf_topic_name(rt->cfg, i < rt->opts.n_outputs ? rt->opts.output_topics[i] : "deadLetters", t, sizeof t);
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rt->producer, t, NULL);
        if (!rkt) continue;
        rt->out_topics[rt->n_out_topics++] = rkt;
        int left = (int)(deadline - bf_now_ms());
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err =
            left > 0 ? rd_kafka_metadata(rt->producer, 0, rkt, &md, left) : RD_KAFKA_RESP_ERR__TIMED_OUT;
        if (err) bf_log_warn(rt->log, "metadata for output topic %s: %s (its first message may wait ~1 s)", t,
                             rd_kafka_err2str(err));
        if (md) rd_kafka_metadata_destroy(md);
    }
}

int bf_runtime_run(bf_runtime *rt) {
    char topics_log[1024] = "";
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)rt->opts.n_inputs);
    for (size_t i = 0; i < rt->opts.n_inputs; i++) {
        char t[BF_CFG_STR_MAX * 2];
        bf_topic_name(rt->cfg, rt->opts.input_topics[i], t, sizeof t);
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
    int fds[2] = {rt->wake_pipe[0], rt->signal_fd};
    for (;;) {
        atomic_store(&rt->last_turn_ms, bf_now_ms());
        check_signals(rt);
        int n = 0;
        rd_kafka_message_t *rkm;
        /* Events; messages only from a partition whose queue could not be detached. */
        while (n < POLL_BATCH && (rkm = rd_kafka_consumer_poll(rt->consumer, 0)) != NULL) {
            n++;
            /* After stop, messages already fetched are left for the next owner. */
            if (rt->stopping) rd_kafka_message_destroy(rkm);
            else dispatch(rt, rkm);
        }
        n += take_from_partitions(rt, POLL_BATCH - n);
        rd_kafka_poll(rt->producer, 0);
        if (rt->opts.ops.tick) rt->opts.ops.tick(rt->opts.ctx, rt);
        rd_kafka_poll(rt->producer, 0);
        flush_offsets(rt);
        update_flow_control(rt);
        bf_metric_set(rt->m_in_flight, (double)rt->inflight);
        if (rt->fatal) break;
        if (rt->stopping) {
            if (rt->drain_deadline == 0) rt->drain_deadline = bf_now_ms() + rt->cfg->shutdown_timeout_ms;
            if (rt->inflight == 0 || bf_now_ms() >= rt->drain_deadline) break;
        }
        int timeout = n == POLL_BATCH ? 0 : IDLE_WAIT_MS;
        if (rt->opts.ops.wait) rt->opts.ops.wait(rt->opts.ctx, fds, 2, timeout);
        else default_wait(NULL, fds, 2, timeout);
        drain_fd(rt->wake_pipe[0]);
    }
    if (rt->inflight > 0)
        bf_log_warn(rt->log, "shutdown: abandoning %zu unfinished messages (they will be re-delivered)", rt->inflight);
    if (!rt->fatal) {
        /* Deliver what was produced for finished work, then commit its offsets. */
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

    rt->m_in_flight = bf_metrics_gauge(rt->metrics, "bf_in_flight_messages", "Input messages being handled.", NULL);
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
        rd_kafka_message_destroy(m->rkm);
        free(m);
    }
    for (size_t i = 0; i < rt->n_out_topics; i++) rd_kafka_topic_destroy(rt->out_topics[i]);
    free(rt->out_topics);
    detach_partition_queues(rt);
    if (rt->consumer_q) rd_kafka_queue_destroy(rt->consumer_q);
    if (rt->producer_q) rd_kafka_queue_destroy(rt->producer_q);
    if (rt->consumer) rd_kafka_destroy(rt->consumer);
    if (rt->producer) rd_kafka_destroy(rt->producer);
    bf_offsets_free(rt->offsets);
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

size_t bf_runtime_in_flight(const bf_runtime *rt) { return rt->inflight; }
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
