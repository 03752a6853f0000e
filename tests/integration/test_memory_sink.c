/* memory_sink_pg against the real PostgreSQL, through a TCP proxy (tests/support/bf_test_proxy) that
 * can hold a statement's round trip or take the server away: the loop keeps turning while lanes
 * connect and write (nothing blocks it), lanes write at the same time, a lost server is LOST and
 * the next write reconnects (and prepares again), a write the server never answers ends LOST at
 * its deadline, settle drives writes to their end without the loop, cancel drops a write without
 * its callback, nudge sends a write's next phase from outside the loop. */
#include "test_memory_util.h"

#include "bf_loop.h"
#include "bf_test_proxy.h"
#include "bf_trace.h"
#include "bf_uuid.h"
#include "memory_sink_pg.h"

typedef struct done {
    int calls;
    memory_store_status st;
    char err[1024];
} done;

static void on_done(void *ctx, memory_store_status st, const char *err) {
    done *d = ctx;
    d->calls++;
    d->st = st;
    snprintf(d->err, sizeof d->err, "%s", err);
}

typedef struct ticker {
    bf_loop *loop;
    bf_timer t;
    int ticks;
} ticker;

static void on_tick(bf_timer *t) {
    ticker *k = t->data;
    k->ticks++;
    bf_timer_start_in(k->loop, &k->t, 20);
}

typedef struct sink_fixture {
    bf_log log;
    bf_loop *loop;
    bf_test_proxy *px;
    char dsn[480];
    memory_sink sink;
    char consumer[64], project[64];
    PGconn *check;
    ticker tick;
} sink_fixture;

static void fixture_init(sink_fixture *f, size_t lanes, int delay_ms, const char *delay_match,
                         long long answer_timeout_ms) {
    memset(f, 0, sizeof *f);
    char prefix[32], err[512];
    bf_test_unique_prefix(prefix, sizeof prefix);
    snprintf(f->consumer, sizeof f->consumer, "test-%s", prefix);
    snprintf(f->project, sizeof f->project, "p-%s", prefix);
    bf_log_init(&f->log, stderr, "test", BF_LOG_WARN);
    f->loop = bf_loop_new(err, sizeof err);
    assert_non_null(f->loop);
    f->px = bf_test_pg_proxy_start(delay_ms, delay_match, f->dsn, sizeof f->dsn);
    memory_sink_pg_opts o = {.dsn = f->dsn, .lanes = lanes, .consumer = f->consumer,
                             .answer_timeout_ms = answer_timeout_ms, .log = &f->log};
    if (memory_sink_pg_new(f->loop, &o, &f->sink, err, sizeof err) != 0) fail_msg("sink: %s", err);
    f->check = mt_db();
    f->tick.loop = f->loop;
    bf_timer_init(&f->tick.t, on_tick, &f->tick);
    bf_timer_start_in(f->loop, &f->tick.t, 20);
}

static void fixture_free(sink_fixture *f) {
    f->sink.ops->free(f->sink.impl);
    bf_timer_stop(f->loop, &f->tick.t);
    bf_loop_free(f->loop);
    bf_test_proxy_stop(f->px);
    PQfinish(f->check);
}

/* Runs the loop until every d has been called (bounded: a broken sink fails, not hangs). */
static void run_until(sink_fixture *f, done *const *d, size_t n) {
    int64_t end = bf_test_now_ms() + 30000;
    for (;;) {
        size_t called = 0;
        for (size_t i = 0; i < n; i++) called += d[i]->calls > 0;
        if (called == n) return;
        if (bf_test_now_ms() > end) fail_msg("the sink never answered");
        bf_loop_run_once(f->loop, 100);
    }
}

/* Writes b on lane 0 (probes when b is NULL) and runs the loop until it has answered. */
static memory_store_status write_wait(sink_fixture *f, memory_batch *b, done *d) {
    *d = (done){0};
    done *one[] = {d};
    if (b) assert_int_equal(f->sink.ops->write(f->sink.impl, 0, b, on_done, d), 0);
    else assert_int_equal(f->sink.ops->probe(f->sink.impl, 0, on_done, d), 0);
    assert_int_equal(d->calls, 0); /* never inside the call */
    run_until(f, one, 1);
    return d->st;
}

/* Empties b (initialised) and fills it with n image items of the fixture's project, all active. */
static void batch_of(sink_fixture *f, memory_batch *b, int n) {
    memory_batch_clear(b);
    for (int i = 0; i < n; i++) {
        char ev[BF_UUID_LEN + 1], trace[33], hash[65];
        bf_uuid_v7(ev);
        bf_random_hex(trace, 16);
        bf_random_hex(hash, 32);
        size_t item = memory_batch_add_item(b, NULL, MEMORY_ITEM_IMAGE_FACTS, ev, 0);
        const char *cells[MEMORY_AN_COLS] = {
            [MEMORY_AN_PROJECT_ID] = f->project, [MEMORY_AN_TRACE_ID] = trace, [MEMORY_AN_REQUEST_ID] = "r",
            [MEMORY_AN_CONTENT_HASH] = hash, [MEMORY_AN_IMAGE_URLS] = "{}", [MEMORY_AN_PALETTE] = "[]",
            [MEMORY_AN_OBJECTS] = "[]", [MEMORY_AN_VISIBLE_TEXT] = "[]", [MEMORY_AN_ANALYSER] = "builtin",
            [MEMORY_AN_SOURCE_EVENT_ID] = ev,
        };
        assert_int_equal(memory_rows_add(&b->analyses, item, cells), 0);
        b->items[item].active = true;
    }
}

static double ledger_rows(sink_fixture *f) {
    return mt_scalar(f->check, "SELECT count(*) FROM processed_events WHERE consumer = $1", f->consumer, NULL, NULL);
}

/* Both lanes connect and write while the proxy holds each write's second phase (effects and COMMIT,
 * sent from the callback that read the first) for 600 ms: the loop turns all the while (a 20 ms
 * timer keeps firing), both writes commit, their items fresh. */
static void test_lanes_write_without_blocking_the_loop(void **state) {
    (void)state;
    sink_fixture f;
    fixture_init(&f, 2, 600, "COMMIT", 0);
    memory_batch b0, b1;
    memory_batch_init(&b0, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    memory_batch_init(&b1, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    batch_of(&f, &b0, 2);
    batch_of(&f, &b1, 1);
    done d0 = {0}, d1 = {0};
    assert_int_equal(f.sink.ops->write(f.sink.impl, 0, &b0, on_done, &d0), 0);
    assert_int_equal(f.sink.ops->write(f.sink.impl, 1, &b1, on_done, &d1), 0);
    assert_int_equal(d0.calls + d1.calls, 0); /* never inside write */
    int ticks0 = f.tick.ticks;
    done *all[] = {&d0, &d1};
    run_until(&f, all, 2);
    if (d0.st != MEMORY_STORE_OK || d1.st != MEMORY_STORE_OK) fail_msg("writes: %s / %s", d0.err, d1.err);
    /* 600 ms held: a blocked loop would have ticked once or twice, a free one about 30 times. */
    if (f.tick.ticks - ticks0 < 10) fail_msg("the loop turned %d times during the writes", f.tick.ticks - ticks0);
    assert_true(b0.items[0].fresh && b0.items[1].fresh && b1.items[0].fresh);
    assert_int_equal(ledger_rows(&f), 3);
    assert_true(bf_test_proxy_delayed(f.px) >= 2);
    memory_batch_free(&b0);
    memory_batch_free(&b1);
    fixture_free(&f);
}

/* The server goes away: a probe and a write fail LOST (connection refused), without hanging; once
 * it is back the next write reconnects, prepares its statements in a new session and commits. An
 * idle connection the server closed is noticed and replaced. */
static void test_down_is_lost_and_the_next_write_reconnects(void **state) {
    (void)state;
    sink_fixture f;
    fixture_init(&f, 1, 0, NULL, 0);
    done d;
    assert_int_equal(write_wait(&f, NULL, &d), MEMORY_STORE_OK);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    batch_of(&f, &b, 1);
    assert_int_equal(write_wait(&f, &b, &d), MEMORY_STORE_OK);

    bf_test_proxy_set_down(f.px, true);
    for (int i = 0; i < 5; i++) bf_loop_run_once(f.loop, 20); /* the idle socket reports the close */
    batch_of(&f, &b, 1);
    assert_int_equal(write_wait(&f, &b, &d), MEMORY_STORE_LOST);
    assert_false(b.items[0].fresh);
    assert_int_equal(write_wait(&f, NULL, &d), MEMORY_STORE_LOST);

    /* The proxy listens again from its own thread: retry as the stage would, a few times. */
    bf_test_proxy_set_down(f.px, false);
    for (int attempt = 0; attempt < 50 && write_wait(&f, &b, &d) != MEMORY_STORE_OK; attempt++) bf_test_sleep_ms(100);
    if (d.st != MEMORY_STORE_OK) fail_msg("after the server came back: %s", d.err);
    assert_true(b.items[0].fresh);
    assert_int_equal(ledger_rows(&f), 2);
    memory_batch_free(&b);
    fixture_free(&f);
}

/* A write the server does not answer (held 5 s by the proxy) ends LOST at its 300 ms deadline. */
static void test_unanswered_write_ends_at_its_deadline(void **state) {
    (void)state;
    sink_fixture f;
    fixture_init(&f, 1, 5000, "memory_ledger", 300);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    batch_of(&f, &b, 1);
    done d;
    assert_int_equal(write_wait(&f, &b, &d), MEMORY_STORE_LOST);
    assert_non_null(strstr(d.err, "no answer"));
    memory_batch_free(&b);
    fixture_free(&f);
}

typedef struct chain {
    sink_fixture *f;
    memory_batch *next;
    done first, second;
} chain;

static void on_first(void *ctx, memory_store_status st, const char *err) {
    chain *c = ctx;
    on_done(&c->first, st, err);
    assert_int_equal(c->f->sink.ops->write(c->f->sink.impl, 0, c->next, on_done, &c->second), 0);
}

/* settle drives a write, and the write its callback starts, to their end without the loop (the
 * revocation's wait); cancel drops a write: its callback never runs, and the lane writes again. */
static void test_settle_and_cancel(void **state) {
    (void)state;
    sink_fixture f;
    fixture_init(&f, 1, 300, "memory_ledger", 0);
    memory_batch b, b2;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    memory_batch_init(&b2, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    batch_of(&f, &b, 1);
    batch_of(&f, &b2, 1);
    chain c = {.f = &f, .next = &b2};
    assert_int_equal(f.sink.ops->write(f.sink.impl, 0, &b, on_first, &c), 0);
    f.sink.ops->settle(f.sink.impl, bf_loop_now(f.loop) + 10000);
    assert_int_equal(c.first.calls, 1);
    assert_int_equal(c.first.st, MEMORY_STORE_OK);
    assert_int_equal(c.second.calls, 1);
    assert_int_equal(c.second.st, MEMORY_STORE_OK);
    assert_int_equal(ledger_rows(&f), 2);

    /* A deadline that passes first: settle returns with the write still under way. */
    batch_of(&f, &b, 1);
    done late = {0};
    assert_int_equal(f.sink.ops->write(f.sink.impl, 0, &b, on_done, &late), 0);
    f.sink.ops->settle(f.sink.impl, bf_loop_now(f.loop) + 50);
    assert_int_equal(late.calls, 0);
    f.sink.ops->cancel(f.sink.impl, 0);
    int64_t end = bf_test_now_ms() + 1000;
    while (bf_test_now_ms() < end) bf_loop_run_once(f.loop, 50);
    assert_int_equal(late.calls, 0);
    batch_of(&f, &b, 1);
    done again;
    assert_int_equal(write_wait(&f, &b, &again), MEMORY_STORE_OK);
    memory_batch_free(&b);
    memory_batch_free(&b2);
    fixture_free(&f);
}

/* nudge, from outside the loop's callbacks: reads the first phase's answer and sends the second,
 * so the write commits without the loop turning; its callback runs only when a nudge may report
 * (the stage's turn), once. */
static void test_nudge_advances_a_write_without_its_callback(void **state) {
    (void)state;
    sink_fixture f;
    fixture_init(&f, 1, 0, NULL, 0);
    done d;
    assert_int_equal(write_wait(&f, NULL, &d), MEMORY_STORE_OK); /* connected */
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    batch_of(&f, &b, 1);
    d = (done){0};
    assert_int_equal(f.sink.ops->write(f.sink.impl, 0, &b, on_done, &d), 0);
    int64_t end = bf_test_now_ms() + 10000;
    while (ledger_rows(&f) < 1 && bf_test_now_ms() < end) {
        bf_test_sleep_ms(5);
        f.sink.ops->nudge(f.sink.impl, false);
    }
    assert_int_equal(ledger_rows(&f), 1); /* committed: both phases went out */
    for (int i = 0; i < 20; i++) {
        bf_test_sleep_ms(5);
        f.sink.ops->nudge(f.sink.impl, false);
    }
    assert_int_equal(d.calls, 0);
    f.sink.ops->nudge(f.sink.impl, true); /* reporting: the callback runs here */
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.st, MEMORY_STORE_OK);
    assert_true(b.items[0].fresh);
    for (int i = 0; i < 5; i++) bf_loop_run_once(f.loop, 10);
    assert_int_equal(d.calls, 1); /* once */
    memory_batch_free(&b);
    fixture_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lanes_write_without_blocking_the_loop),
        cmocka_unit_test(test_down_is_lost_and_the_next_write_reconnects),
        cmocka_unit_test(test_unanswered_write_ends_at_its_deadline),
        cmocka_unit_test(test_settle_and_cancel),
        cmocka_unit_test(test_nudge_advances_a_write_without_its_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
