#include "bf_fake_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_config.h"
#include "bf_dlq.h"
#include "bf_publish.h"
#include "bf_rng.h"

#define WALL_START_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define CLOCK_START_MS 1000000LL

typedef struct fake_msg {
    bf_inmsg pub;
    struct fake_msg *next;
    char topic[64];
    char *key, *payload;
    char header_tp[BF_TRACEPARENT_LEN + 8];
    bool has_header;
    bool handler_done, parked;
    int pending_outputs;
} fake_msg;

typedef struct {
    char name[32];
    bool ok;
} dep;

struct bf_runtime {
    bf_common_cfg cfg;
    bf_loop *loop;
    int64_t now, wall_offset;
    bf_stage_ops ops;
    void *stage;
    bf_log log;
    bf_metrics *metrics;
    bf_rng rng;
    fake_msg *msgs;
    struct {
        char topic[64];
        int32_t partition;
        int64_t next;
    } offsets[64];
    size_t n_offsets;
    bf_fake_record *records;
    size_t n_records, cap_records;
    bool auto_ack, held, stopping, fail_publish;
    dep deps[8];
    size_t n_deps;
};

struct bf_fake_runtime {
    bf_runtime rt;
};

static void *must(void *p) {
    if (!p) {
        fprintf(stderr, "bf_fake_runtime: out of memory\n");
        abort();
    }
    return p;
}

static int64_t fake_clock(void *ctx) { return ((bf_runtime *)ctx)->now; }

static const char *env_of(const char *name, void *ctx) {
    (void)name;
    (void)ctx;
    return NULL;
}

bf_fake_runtime *bf_fake_runtime_new(const bf_common_cfg *cfg) {
    bf_fake_runtime *f = must(calloc(1, sizeof *f));
    bf_runtime *rt = &f->rt;
    char err[256];
    if (cfg) rt->cfg = *cfg;
    else if (bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &rt->cfg, env_of, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bf_fake_runtime: %s\n", err);
        abort();
    }
    rt->loop = must(bf_loop_new(err, sizeof err));
    rt->now = CLOCK_START_MS;
    rt->wall_offset = WALL_START_MS - CLOCK_START_MS;
    bf_loop_set_clock(rt->loop, fake_clock, rt);
    bf_log_init(&rt->log, stderr, "fake-runtime", BF_LOG_ERROR);
    rt->metrics = must(bf_metrics_new());
    bf_rng_seed(&rt->rng, 42);
    return f;
}

static void record_free(bf_fake_record *r) {
    free(r->key);
    free(r->payload);
}

void bf_fake_runtime_free(bf_fake_runtime *f) {
    if (!f) return;
    bf_runtime *rt = &f->rt;
    while (rt->msgs) {
        fake_msg *m = rt->msgs;
        rt->msgs = m->next;
        free(m->key);
        free(m->payload);
        free(m);
    }
    for (size_t i = 0; i < rt->n_records; i++) record_free(&rt->records[i]);
    free(rt->records);
    bf_metrics_free(rt->metrics);
    bf_loop_free(rt->loop);
    free(f);
}

bf_runtime *bf_fake_runtime_rt(bf_fake_runtime *f) { return &f->rt; }

void bf_fake_runtime_set_stage(bf_fake_runtime *f, const bf_stage_ops *ops, void *stage) {
    f->rt.ops = *ops;
    f->rt.stage = stage;
}

static fake_msg *find(const bf_runtime *rt, const char *topic, int32_t partition, int64_t offset) {
    for (fake_msg *m = rt->msgs; m; m = m->next)
        if (m->pub.partition == partition && m->pub.offset == offset && strcmp(m->topic, topic) == 0) return m;
    return NULL;
}

static void turn(bf_runtime *rt) {
    if (rt->ops.turn) rt->ops.turn(rt->stage);
}

int64_t bf_fake_deliver(bf_fake_runtime *f, const char *topic_base, int32_t partition, const char *key,
                        const char *payload, const char *traceparent) {
    bf_runtime *rt = &f->rt;
    size_t i = 0;
    while (i < rt->n_offsets && !(rt->offsets[i].partition == partition && strcmp(rt->offsets[i].topic, topic_base) == 0))
        i++;
    if (i == rt->n_offsets) {
        if (i == sizeof rt->offsets / sizeof rt->offsets[0]) abort();
        snprintf(rt->offsets[i].topic, sizeof rt->offsets[i].topic, "%s", topic_base);
        rt->offsets[i].partition = partition;
        rt->n_offsets++;
    }
    fake_msg *m = must(calloc(1, sizeof *m));
    snprintf(m->topic, sizeof m->topic, "%s", topic_base);
    m->key = key ? must(strdup(key)) : NULL;
    m->payload = payload ? must(strdup(payload)) : NULL;
    m->has_header = traceparent != NULL;
    if (traceparent) snprintf(m->header_tp, sizeof m->header_tp, "%s", traceparent);
    bf_inmsg *p = &m->pub;
    p->topic = m->topic; /* no prefix in tests */
    p->topic_base = m->topic;
    p->partition = partition;
    p->offset = rt->offsets[i].next++;
    p->timestamp_ms = rt->now + rt->wall_offset;
    p->received_ms = rt->now;
    p->key = m->key;
    p->key_len = key ? strlen(key) : 0;
    p->payload = m->payload;
    p->len = payload ? strlen(payload) : 0;
    bf_publish_input_trace(traceparent, p->payload, p->len, &rt->rng, p->traceparent);
    memcpy(p->trace_id, p->traceparent + 3, BF_TRACE_ID_LEN);
    p->trace_id[BF_TRACE_ID_LEN] = '\0';
    m->next = rt->msgs;
    rt->msgs = m;
    int64_t offset = p->offset;
    if (rt->ops.handle(rt->stage, p) == BF_HANDLED) bf_runtime_finish(rt, p);
    turn(rt);
    return offset;
}

bf_fake_state bf_fake_state_of(const bf_fake_runtime *f, const char *topic_base, int32_t partition, int64_t offset) {
    const fake_msg *m = find(&f->rt, topic_base, partition, offset);
    if (!m) {
        fprintf(stderr, "bf_fake_state_of: no message %s[%d]@%lld\n", topic_base, (int)partition, (long long)offset);
        abort();
    }
    if (!m->handler_done) return m->parked ? BF_FAKE_PARKED : BF_FAKE_PENDING;
    return m->pending_outputs > 0 ? BF_FAKE_UNACKED : BF_FAKE_COMPLETE;
}

bf_inmsg *bf_fake_message(bf_fake_runtime *f, const char *topic_base, int32_t partition, int64_t offset) {
    fake_msg *m = find(&f->rt, topic_base, partition, offset);
    return m && !(m->handler_done && m->pending_outputs == 0) ? &m->pub : NULL;
}

void bf_fake_set_auto_ack(bf_fake_runtime *f, bool on) { f->rt.auto_ack = on; }

static void ack(bf_runtime *rt, bf_fake_record *r) {
    if (r->acked) return;
    r->acked = true;
    if (r->cause_offset < 0) return;
    for (fake_msg *m = rt->msgs; m; m = m->next)
        if (m->pub.offset == r->cause_offset && strcmp(m->topic, r->cause_topic) == 0 && m->pending_outputs > 0) {
            m->pending_outputs--;
            return;
        }
}

size_t bf_fake_ack_all(bf_fake_runtime *f) {
    size_t n = 0;
    for (size_t i = 0; i < f->rt.n_records; i++)
        if (!f->rt.records[i].acked) {
            ack(&f->rt, &f->rt.records[i]);
            n++;
        }
    return n;
}

void bf_fake_advance(bf_fake_runtime *f, int64_t ms) {
    bf_runtime *rt = &f->rt;
    int64_t end = rt->now + ms;
    /* Timer by timer, so a callback sees the clock at its own deadline. */
    for (;;) {
        int64_t left = bf_loop_next_timeout(rt->loop);
        if (left < 0 || rt->now + left > end) break;
        rt->now += left;
        bf_loop_run_timers(rt->loop);
    }
    rt->now = end;
    bf_loop_run_timers(rt->loop);
    turn(rt);
}

void bf_fake_run_once(bf_fake_runtime *f, int wait_ms) {
    bf_loop_run_once(f->rt.loop, wait_ms);
    turn(&f->rt);
}

int64_t bf_fake_now(const bf_fake_runtime *f) { return f->rt.now; }
size_t bf_fake_published(const bf_fake_runtime *f) { return f->rt.n_records; }
const bf_fake_record *bf_fake_record_at(const bf_fake_runtime *f, size_t i) {
    return i < f->rt.n_records ? &f->rt.records[i] : NULL;
}

size_t bf_fake_count(const bf_fake_runtime *f, const char *topic_base) {
    size_t n = 0;
    for (size_t i = 0; i < f->rt.n_records; i++) n += strcmp(f->rt.records[i].topic, topic_base) == 0;
    return n;
}

const bf_fake_record *bf_fake_nth(const bf_fake_runtime *f, const char *topic_base, size_t k) {
    for (size_t i = 0; i < f->rt.n_records; i++)
        if (strcmp(f->rt.records[i].topic, topic_base) == 0 && k-- == 0) return &f->rt.records[i];
    return NULL;
}

bool bf_fake_held(const bf_fake_runtime *f) { return f->rt.held; }

int bf_fake_dependency(const bf_fake_runtime *f, const char *name) {
    for (size_t i = 0; i < f->rt.n_deps; i++)
        if (strcmp(f->rt.deps[i].name, name) == 0) return f->rt.deps[i].ok ? 1 : 0;
    return -1;
}

size_t bf_fake_parked(const bf_fake_runtime *f) {
    size_t n = 0;
    for (const fake_msg *m = f->rt.msgs; m; m = m->next) n += m->parked && !m->handler_done;
    return n;
}

void bf_fake_fail_publish(bf_fake_runtime *f, bool on) { f->rt.fail_publish = on; }

/* ---- the bf_runtime interface ---- */

bf_loop *bf_runtime_loop(bf_runtime *rt) { return rt->loop; }
int64_t bf_runtime_now(const bf_runtime *rt) { return rt->now; }
int64_t bf_runtime_wall(const bf_runtime *rt) { return rt->now + rt->wall_offset; }

void bf_runtime_finish(bf_runtime *rt, bf_inmsg *msg) {
    (void)rt;
    fake_msg *m = (fake_msg *)msg;
    m->handler_done = true;
    m->parked = false;
}

void bf_runtime_park(bf_runtime *rt, bf_inmsg *msg, bool parked) {
    (void)rt;
    fake_msg *m = (fake_msg *)msg;
    if (!m->handler_done) m->parked = parked;
}

static int publish_raw(bf_runtime *rt, bf_inmsg *cause, const char *topic, const char *key, const char *tp,
                       const char *schema, int version, char *payload, size_t len) {
    if (rt->fail_publish) {
        free(payload);
        rt->stopping = true;
        return -1;
    }
    if (rt->n_records == rt->cap_records) {
        rt->cap_records = rt->cap_records ? rt->cap_records * 2 : 64;
        rt->records = must(realloc(rt->records, rt->cap_records * sizeof *rt->records));
    }
    bf_fake_record *r = &rt->records[rt->n_records++];
    memset(r, 0, sizeof *r);
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    r->key = must(strdup(key));
    r->payload = must(realloc(payload, len + 1));
    r->payload[len] = '\0';
    r->len = len;
    snprintf(r->traceparent, sizeof r->traceparent, "%s", tp);
    snprintf(r->schema, sizeof r->schema, "%s", schema);
    snprintf(r->schema_version, sizeof r->schema_version, "%d", version);
    r->cause_offset = -1;
    if (cause) {
        fake_msg *m = (fake_msg *)cause;
        snprintf(r->cause_topic, sizeof r->cause_topic, "%s", m->topic);
        r->cause_offset = cause->offset;
        m->pending_outputs++;
    }
    if (rt->auto_ack) ack(rt, r);
    return 0;
}

int bf_runtime_publish(bf_runtime *rt, bf_inmsg *cause, const bf_envelope *env, char *payload, size_t len) {
    char tp[BF_TRACEPARENT_LEN + 1];
    bf_publish_output_trace(cause ? cause->traceparent : NULL, env->trace_id, &rt->rng, tp);
    return publish_raw(rt, cause, env->schema, env->project_id, tp, env->schema, env->schema_version, payload, len);
}

int bf_runtime_dead_letter(bf_runtime *rt, bf_inmsg *msg, const char *code, const char *message) {
    fake_msg *m = (fake_msg *)msg;
    char project[BF_ID_MAX + 1];
    bf_publish_dead_letter_project(msg->key, msg->key_len, msg->payload, msg->len, project);
    const char *names[] = {"traceparent"};
    const char *values[] = {m->header_tp};
    size_t lens[] = {strlen(m->header_tp)};
    bf_dlq_source src = {.topic = msg->topic, .partition = msg->partition, .offset = msg->offset,
                         .timestamp_ms = msg->timestamp_ms, .key = msg->key, .key_len = msg->key_len,
                         .payload = msg->payload, .len = msg->len, .header_names = names, .header_values = values,
                         .header_lens = lens, .n_headers = m->has_header ? 1 : 0, .traceparent = msg->traceparent};
    bf_envelope env;
    char *json = bf_dlq_build(&src, project, "fake-group", "fake-worker", code, message, bf_runtime_wall(rt), &env);
    if (!json) must(NULL);
    return bf_runtime_publish(rt, msg, &env, json, strlen(json));
}

void bf_runtime_hold(bf_runtime *rt, bool hold) { rt->held = hold; }

void bf_runtime_set_dependency(bf_runtime *rt, const char *name, bool ok) {
    for (size_t i = 0; i < rt->n_deps; i++)
        if (strcmp(rt->deps[i].name, name) == 0) {
            rt->deps[i].ok = ok;
            return;
        }
    if (rt->n_deps == sizeof rt->deps / sizeof rt->deps[0]) return;
    snprintf(rt->deps[rt->n_deps].name, sizeof rt->deps[rt->n_deps].name, "%s", name);
    rt->deps[rt->n_deps++].ok = ok;
}

size_t bf_runtime_in_flight(const bf_runtime *rt) {
    size_t n = 0;
    for (const fake_msg *m = rt->msgs; m; m = m->next) n += !m->handler_done && !m->parked;
    return n;
}

size_t bf_runtime_unfinished(const bf_runtime *rt) {
    size_t n = 0;
    for (const fake_msg *m = rt->msgs; m; m = m->next) n += !m->handler_done || m->pending_outputs > 0;
    return n;
}

bool bf_runtime_saturated(const bf_runtime *rt) {
    if (rt->held || rt->stopping) return true;
    /* Per topic, as the runtime counts: any topic delivered so far at its budget. */
    for (size_t i = 0; i < rt->n_offsets; i++) {
        size_t active = 0;
        for (const fake_msg *m = rt->msgs; m; m = m->next)
            active += !m->handler_done && !m->parked && strcmp(m->topic, rt->offsets[i].topic) == 0;
        if (active >= (size_t)rt->cfg.max_in_flight) return true;
    }
    return false;
}

void bf_runtime_stop(bf_runtime *rt) { rt->stopping = true; }
bool bf_runtime_stopping(const bf_runtime *rt) { return rt->stopping; }
int bf_runtime_http_port(const bf_runtime *rt) {
    (void)rt;
    return 0;
}
const bf_common_cfg *bf_runtime_config(const bf_runtime *rt) { return &rt->cfg; }
bf_log *bf_runtime_log(bf_runtime *rt) { return &rt->log; }
bf_metrics *bf_runtime_metrics(bf_runtime *rt) { return rt->metrics; }

int bf_inmsg_header(const bf_inmsg *msg, const char *name, char *out, size_t outlen) {
    const fake_msg *m = (const fake_msg *)msg;
    if (strcmp(name, "traceparent") != 0 || !m->has_header || outlen == 0) return -1;
    snprintf(out, outlen, "%s", m->header_tp);
    return 0;
}

/* The runtime's lifecycle functions are the binaries' business; a stage never calls them. */
bf_runtime *bf_runtime_new(const bf_runtime_opts *opts, char *err, size_t errlen) {
    (void)opts;
    snprintf(err, errlen, "the fake runtime is made with bf_fake_runtime_new");
    return NULL;
}
void bf_runtime_free(bf_runtime *rt) { (void)rt; }
int bf_runtime_run(bf_runtime *rt, const bf_stage_ops *ops, void *stage) {
    (void)rt;
    (void)ops;
    (void)stage;
    return -1;
}
