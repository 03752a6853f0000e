/* For the memory stage's unit tests: a scripted memory_sink (a database in memory: a ledger, an
 * outage switch, transient failures to come, event ids it refuses), the stage on the fake runtime,
 * and messages to deliver. Static functions: each test file includes it once.
 *
 * The fake answers a write only when the test says so (fx_answer), from a loop timer as the real
 * sink answers from a loop callback, and the fake runtime's turn follows as it would in the worker.
 * Outcome of a write, in this order: the database is down -> LOST; transient failures are queued
 * -> TRANSIENT (one used); an active item's event id is refused -> REJECTED; else OK, with each
 * active item fresh when its event id was not in the ledger (the first of a batch only), and the
 * commit recorded (lane, event ids in order). */
#ifndef TEST_MEMORY_STAGE_FAKE_H
#define TEST_MEMORY_STAGE_FAKE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_config.h"
#include "bf_fake_runtime.h"
#include "../integration/test_memory_msgs.h"
#include "memory_config.h"
#include "memory_sink.h"
#include "memory_stage.h"

#define FX_MAX_LANES 8
#define FX_MAX_IDS 512

typedef struct fx_lane {
    bool busy, probe;
    memory_batch *b;
    memory_sink_done_fn cb;
    void *ctx;
} fx_lane;

typedef struct fx_commit {
    size_t lane;
    size_t first, n; /* into fake_db.committed */
} fx_commit;

typedef struct fake_db {
    bf_loop *loop;
    fx_lane lanes[FX_MAX_LANES];
    bf_timer answer;
    /* the database */
    bool down;
    int transient;            /* the next writes that end TRANSIENT */
    char refused[8][BF_UUID_LEN + 1];
    size_t n_refused;
    bool hang;                /* settle leaves writes unanswered */
    char ledger[FX_MAX_IDS][BF_UUID_LEN + 1];
    size_t n_ledger;
    /* what the stage did */
    char committed[FX_MAX_IDS][BF_UUID_LEN + 1]; /* event ids of committed writes, in commit order */
    size_t n_committed;
    fx_commit commits[FX_MAX_IDS];
    size_t n_commits;
    size_t writes[FX_MAX_LANES], write_sizes[FX_MAX_LANES][64], probes, cancels, settles;
} fake_db;

static inline bool fx_in(char (*set)[BF_UUID_LEN + 1], size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(set[i], id) == 0) return true;
    return false;
}

static inline size_t fx_active(const memory_batch *b) {
    size_t n = 0;
    for (size_t i = 0; i < b->n_items; i++) n += b->items[i].active;
    return n;
}

/* Answers the lane's write or probe as the database's state says. */
static inline void fx_answer_lane(fake_db *d, size_t i) {
    fx_lane *l = &d->lanes[i];
    if (!l->busy) return;
    memory_sink_done_fn cb = l->cb;
    void *ctx = l->ctx;
    memory_batch *b = l->b;
    bool probe = l->probe;
    *l = (fx_lane){0};
    memory_store_status st = MEMORY_STORE_OK;
    const char *err = "";
    if (d->down) {
        st = MEMORY_STORE_LOST;
        err = "connection refused";
    } else if (!probe && d->transient > 0) {
        d->transient--;
        st = MEMORY_STORE_TRANSIENT;
        err = "deadlock detected";
    } else if (!probe) {
        for (size_t k = 0; k < b->n_items; k++)
            if (b->items[k].active && fx_in(d->refused, d->n_refused, b->items[k].event_id)) {
                st = MEMORY_STORE_REJECTED;
                err = "new row violates check constraint";
            }
    }
    if (!probe) {
        for (size_t k = 0; k < b->n_items; k++) b->items[k].fresh = false;
        if (st == MEMORY_STORE_OK) {
            assert_true(d->n_commits < FX_MAX_IDS);
            fx_commit *c = &d->commits[d->n_commits++];
            *c = (fx_commit){.lane = i, .first = d->n_committed};
            for (size_t k = 0; k < b->n_items; k++) {
                memory_item *it = &b->items[k];
                if (!it->active) continue;
                assert_true(d->n_committed < FX_MAX_IDS && d->n_ledger < FX_MAX_IDS);
                snprintf(d->committed[d->n_committed++], BF_UUID_LEN + 1, "%s", it->event_id);
                c->n++;
                it->fresh = !fx_in(d->ledger, d->n_ledger, it->event_id);
                if (it->fresh) snprintf(d->ledger[d->n_ledger++], BF_UUID_LEN + 1, "%s", it->event_id);
            }
        }
    }
    cb(ctx, st, err);
}

/* Every write and probe under way when it fires (not those their callbacks start). */
static inline void fx_on_answer(bf_timer *t) {
    fake_db *d = t->data;
    bool busy[FX_MAX_LANES];
    for (size_t i = 0; i < FX_MAX_LANES; i++) busy[i] = d->lanes[i].busy;
    for (size_t i = 0; i < FX_MAX_LANES; i++)
        if (busy[i]) fx_answer_lane(d, i);
}

static inline int fx_write(void *impl, size_t lane, memory_batch *b, memory_sink_done_fn cb, void *ctx) {
    fake_db *d = impl;
    assert_true(lane < FX_MAX_LANES);
    assert_false(d->lanes[lane].busy); /* one write per lane at a time */
    size_t n = fx_active(b);
    assert_true(n > 0);
    if (d->writes[lane] < 64) d->write_sizes[lane][d->writes[lane]] = n;
    d->writes[lane]++;
    d->lanes[lane] = (fx_lane){.busy = true, .b = b, .cb = cb, .ctx = ctx};
    return 0;
}

static inline int fx_probe(void *impl, size_t lane, memory_sink_done_fn cb, void *ctx) {
    fake_db *d = impl;
    assert_false(d->lanes[lane].busy);
    d->probes++;
    d->lanes[lane] = (fx_lane){.busy = true, .probe = true, .cb = cb, .ctx = ctx};
    return 0;
}

static inline void fx_settle(void *impl, int64_t deadline_ms) {
    (void)deadline_ms;
    fake_db *d = impl;
    d->settles++;
    if (d->hang) return;
    for (int round = 0; round < 10000; round++) {
        bool any = false;
        for (size_t i = 0; i < FX_MAX_LANES; i++)
            if (d->lanes[i].busy) {
                any = true;
                fx_answer_lane(d, i);
            }
        if (!any) return;
    }
    fail_msg("settle: the stage keeps writing");
}

static inline void fx_cancel(void *impl, size_t lane) {
    fake_db *d = impl;
    if (d->lanes[lane].busy) d->cancels++;
    d->lanes[lane] = (fx_lane){0};
}

static inline void fx_free(void *impl) { (void)impl; }

static const memory_sink_ops fx_sink_ops = {
    .write = fx_write, .probe = fx_probe, .settle = fx_settle, .cancel = fx_cancel, .free = fx_free,
};

/* ---- the stage on the fake runtime ---- */

typedef struct fx {
    bf_fake_runtime *f;
    bf_runtime *rt;
    fake_db db;
    memory_sink sink;
    bf_common_cfg cfg;
    memory_cfg mcfg;
    memory_stage *stage;
    bf_stage_ops ops;
} fx;

static const char *fx_no_env(const char *name, void *ctx) {
    (void)name;
    (void)ctx;
    return NULL;
}

typedef struct fx_opts {
    long long lanes, batch_size, linger_ms, max_in_flight, retry_max_ms;
} fx_opts;

/* The stage with the configuration's defaults but for o's non-zero fields; the start-up probe
 * answered (the database up) unless down_at_start. */
static inline void fx_init(fx *x, fx_opts o, bool down_at_start) {
    memset(x, 0, sizeof *x);
    char err[512];
    if (bf_config_load(bf_common_cfg_vars, bf_common_cfg_n, &x->cfg, fx_no_env, NULL, err, sizeof err) != 0 ||
        bf_config_load(memory_cfg_vars, memory_cfg_n, &x->mcfg, fx_no_env, NULL, err, sizeof err) != 0)
        fail_msg("config: %s", err);
    if (o.lanes) x->mcfg.write_connections = o.lanes;
    if (o.batch_size) x->mcfg.batch_size = o.batch_size;
    if (o.linger_ms) x->mcfg.batch_linger_ms = o.linger_ms;
    if (o.retry_max_ms) x->mcfg.retry_max_ms = o.retry_max_ms;
    if (o.max_in_flight) x->cfg.max_in_flight = o.max_in_flight;
    x->f = bf_fake_runtime_new(&x->cfg);
    x->rt = bf_fake_runtime_rt(x->f);
    bf_fake_set_auto_ack(x->f, true);
    x->db.loop = bf_runtime_loop(x->rt);
    bf_timer_init(&x->db.answer, fx_on_answer, &x->db);
    x->sink = (memory_sink){.impl = &x->db, .ops = &fx_sink_ops};
    x->stage = memory_stage_new(x->rt, &x->mcfg, &x->sink, err, sizeof err);
    if (!x->stage) fail_msg("memory_stage_new: %s", err);
    x->ops = memory_stage_ops();
    bf_fake_runtime_set_stage(x->f, &x->ops, x->stage);
    assert_int_equal(bf_fake_dependency(x->f, "postgres"), 0); /* not ready before it answered */
    x->db.down = down_at_start;
    bf_timer_start_in(x->db.loop, &x->db.answer, 0);
    bf_fake_advance(x->f, 0);
}

static inline void fx_free_all(fx *x) {
    memory_stage_free(x->stage);
    bf_timer_stop(x->db.loop, &x->db.answer);
    bf_fake_runtime_free(x->f);
}

/* The database answers every write and probe under way, from the loop; then the runtime's turn. */
static inline void fx_answer(fx *x) {
    bf_timer_start_in(x->db.loop, &x->db.answer, 0);
    bf_fake_advance(x->f, 0);
}

static inline size_t fx_writes(const fx *x) {
    size_t n = 0;
    for (size_t i = 0; i < FX_MAX_LANES; i++) n += x->db.writes[i];
    return n;
}

static inline bool fx_busy(const fx *x) {
    for (size_t i = 0; i < FX_MAX_LANES; i++)
        if (x->db.lanes[i].busy) return true;
    return false;
}

static inline double fx_metric(fx *x, const char *name) {
    return bf_metric_value(bf_metrics_counter(bf_runtime_metrics(x->rt), name, "", NULL));
}

/* The lane the stage promises for a project: FNV-1a of the envelope's project id
 * (docs/memory-writer.md). */
static inline size_t fx_lane_of(const char *project, size_t lanes) {
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)project; *p; p++) h = (h ^ *p) * 16777619u;
    return h % lanes;
}

/* ---- messages ---- */

/* Inputs as the integration tests build them (one red-dominated "energetic" image; one inferred
 * preference): only their ids matter here. */
static inline char *fx_image_facts_traced(const char *project, int image_no, char event_id[BF_UUID_LEN + 1],
                                          char trace_id[BF_TRACE_ID_LEN + 1]) {
    return mt_image_facts_traced(project, "energetic", "#ff0000", image_no, event_id, trace_id);
}

static inline char *fx_image_facts(const char *project, int image_no, char event_id[BF_UUID_LEN + 1]) {
    return mt_image_facts_traced(project, "energetic", "#ff0000", image_no, event_id, NULL);
}

static inline char *fx_memory_update(const char *project, const char *key, char event_id[BF_UUID_LEN + 1]) {
    return mt_memory_update(project, key, "1", 0.5, false, event_id);
}

/* Delivers an imageFactsReady of project on partition 0 (key: the project); returns its offset. */
static inline int64_t fx_deliver_image(fx *x, const char *project, int image_no, char event_id[BF_UUID_LEN + 1]) {
    char *json = fx_image_facts(project, image_no, event_id);
    int64_t off = bf_fake_deliver(x->f, BF_SCHEMA_IMAGE_FACTS_READY, 0, project, json, NULL);
    free(json);
    return off;
}

static inline int64_t fx_deliver_update(fx *x, const char *project, const char *key, char event_id[BF_UUID_LEN + 1]) {
    char *json = fx_memory_update(project, key, event_id);
    int64_t off = bf_fake_deliver(x->f, BF_SCHEMA_MEMORY_UPDATES, 0, project, json, NULL);
    free(json);
    return off;
}

static inline bf_fake_state fx_state(fx *x, int64_t offset) {
    return bf_fake_state_of(x->f, BF_SCHEMA_IMAGE_FACTS_READY, 0, offset);
}

#endif
