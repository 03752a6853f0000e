/* bf_loop: timers in deadline order (ties in start order) on a clock the test moves, re-arming
 * inside a callback, stopping other watchers from a callback of the same turn, and descriptors far
 * beyond the 8 the old per-stage wait functions capped at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bf_loop.h"

typedef struct {
    int64_t now;
} test_clock;

static int64_t clock_of(void *ctx) { return ((test_clock *)ctx)->now; }

static bf_loop *new_loop(test_clock *c) {
    char err[128];
    bf_loop *l = bf_loop_new(err, sizeof err);
    if (!l) fail_msg("bf_loop_new: %s", err);
    if (c) bf_loop_set_clock(l, clock_of, c);
    return l;
}

typedef struct {
    char order[32];
    size_t n;
} trail;

typedef struct {
    bf_timer t;
    trail *tr;
    char name;
} named_timer;

static void note(bf_timer *t) {
    named_timer *nt = (named_timer *)t;
    nt->tr->order[nt->tr->n++] = nt->name;
}

static void timers_fire_in_deadline_then_start_order(void **state) {
    (void)state;
    test_clock c = {.now = 1000};
    bf_loop *l = new_loop(&c);
    trail tr = {0};
    named_timer t[5];
    const char names[] = "abcde";
    const int64_t due[] = {1300, 1100, 1300, 1200, 5000};
    for (int i = 0; i < 5; i++) {
        t[i].tr = &tr;
        t[i].name = names[i];
        bf_timer_init(&t[i].t, note, NULL);
        assert_int_equal(bf_timer_start(l, &t[i].t, due[i]), 0);
    }
    bf_timer_stop(l, &t[3].t); /* d never fires */
    assert_int_equal(bf_loop_next_timeout(l), 100);
    c.now = 1299;
    assert_int_equal(bf_loop_run_timers(l), 1);
    c.now = 1300;
    assert_int_equal(bf_loop_run_timers(l), 2);
    assert_string_equal(tr.order, "bac");
    assert_true(bf_timer_active(&t[4].t));
    assert_false(bf_timer_active(&t[0].t));
    assert_int_equal(bf_loop_timers(l), 1);
    assert_int_equal(bf_loop_next_timeout(l), 3700);
    bf_loop_free(l);
}

typedef struct {
    bf_timer t;
    int fired;
} rearming;

static void rearm_now(bf_timer *t) {
    rearming *r = (rearming *)t;
    r->fired++;
    bf_timer_start_in(t->data, t, 0); /* due at once: must wait for the next run */
}

static void rearming_at_now_does_not_spin(void **state) {
    (void)state;
    test_clock c = {.now = 0};
    bf_loop *l = new_loop(&c);
    rearming r = {0};
    bf_timer_init(&r.t, rearm_now, l);
    bf_timer_start_in(l, &r.t, 0);
    assert_int_equal(bf_loop_run_timers(l), 1);
    assert_int_equal(bf_loop_run_timers(l), 1);
    assert_int_equal(r.fired, 2);
    bf_timer_stop(l, &r.t);
    assert_int_equal(bf_loop_run_timers(l), 0);
    bf_loop_free(l);
}

/* A past deadline fires on the next run, after timers that were due before it. */
static void past_deadline_counts_as_now(void **state) {
    (void)state;
    test_clock c = {.now = 100};
    bf_loop *l = new_loop(&c);
    trail tr = {0};
    named_timer a = {.tr = &tr, .name = 'a'}, b = {.tr = &tr, .name = 'b'};
    bf_timer_init(&a.t, note, NULL);
    bf_timer_init(&b.t, note, NULL);
    bf_timer_start(l, &a.t, 100);
    bf_timer_start(l, &b.t, 5); /* in the past */
    assert_int_equal(b.t.due_ms, 100);
    bf_loop_run_timers(l);
    assert_string_equal(tr.order, "ab");
    bf_loop_free(l);
}

/* Many timers started and stopped in a scrambled order keep the heap consistent. */
static void heap_survives_churn(void **state) {
    (void)state;
    test_clock c = {.now = 0};
    bf_loop *l = new_loop(&c);
    enum { N = 500 };
    named_timer *t = calloc(N, sizeof *t);
    trail tr = {0};
    for (int i = 0; i < N; i++) {
        bf_timer_init(&t[i].t, note, NULL);
        t[i].tr = &tr;
        bf_timer_start(l, &t[i].t, (i * 7919) % 1000 + 1);
    }
    for (int i = 0; i < N; i += 3) bf_timer_stop(l, &t[i].t);
    int64_t last = -1;
    size_t fired = 0;
    for (int64_t now = 0; now <= 1001; now++) {
        c.now = now;
        size_t before = fired;
        fired += bf_loop_run_timers(l);
        if (fired > before) {
            assert_true(now >= last);
            last = now;
        }
        tr.n = 0; /* the trail is not the point here */
    }
    assert_int_equal(fired, N - (N + 2) / 3);
    assert_int_equal(bf_loop_timers(l), 0);
    free(t);
    bf_loop_free(l);
}

typedef struct {
    bf_io io;
    bf_loop *l;
    bf_io *victim;
    int calls;
    char got[8];
} reader;

static void on_readable(bf_io *io, unsigned events) {
    reader *r = io->data;
    assert_true(events & BF_IO_READ);
    r->calls++;
    ssize_t n = read(io->fd, r->got, sizeof r->got - 1);
    if (n > 0) r->got[n] = '\0';
    if (r->victim) bf_io_stop(r->l, r->victim); /* the other reader's event this turn must be dropped */
}

static void io_stopped_in_same_turn_is_not_called(void **state) {
    (void)state;
    bf_loop *l = new_loop(NULL);
    int p1[2], p2[2];
    assert_int_equal(pipe(p1), 0);
    assert_int_equal(pipe(p2), 0);
    reader a = {.l = l}, b = {.l = l};
    bf_io_init(&a.io, p1[0], on_readable, &a);
    bf_io_init(&b.io, p2[0], on_readable, &b);
    a.victim = &b.io;
    b.victim = &a.io;
    assert_int_equal(bf_io_start(l, &a.io, BF_IO_READ), 0);
    assert_int_equal(bf_io_start(l, &b.io, BF_IO_READ), 0);
    assert_int_equal(write(p1[1], "x", 1), 1);
    assert_int_equal(write(p2[1], "y", 1), 1);
    assert_int_equal(bf_loop_run_once(l, 1000), 1); /* whichever came first stopped the other */
    assert_int_equal(a.calls + b.calls, 1);
    assert_int_equal(bf_loop_ios(l), 1);
    /* A second watcher on a watched descriptor is refused. */
    reader c = {.l = l};
    bf_io_init(&c.io, a.calls ? p1[0] : p2[0], on_readable, &c);
    assert_int_equal(bf_io_start(l, &c.io, BF_IO_READ), -1);
    assert_int_equal(errno, EEXIST);
    bf_io_stop(l, a.calls ? &a.io : &b.io);
    assert_int_equal(bf_loop_ios(l), 0);
    close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
    bf_loop_free(l);
}

/* 200 descriptors at once, each served (the stage wait functions this replaces watched 8). */
static void many_descriptors(void **state) {
    (void)state;
    bf_loop *l = new_loop(NULL);
    enum { N = 200 };
    int (*p)[2] = calloc(N, sizeof *p);
    reader *r = calloc(N, sizeof *r);
    for (int i = 0; i < N; i++) {
        assert_int_equal(pipe(p[i]), 0);
        r[i].l = l;
        bf_io_init(&r[i].io, p[i][0], on_readable, &r[i]);
        assert_int_equal(bf_io_start(l, &r[i].io, BF_IO_READ), 0);
    }
    for (int i = 0; i < N; i += 2) assert_int_equal(write(p[i][1], "z", 1), 1);
    int ran = 0;
    for (int turns = 0; turns < 5 && ran < N / 2; turns++) ran += bf_loop_run_once(l, 100);
    assert_int_equal(ran, N / 2);
    for (int i = 0; i < N; i++) assert_int_equal(r[i].calls, i % 2 == 0 ? 1 : 0);
    /* Nothing else is ready: a bounded wait returns with nothing run. */
    assert_int_equal(bf_loop_run_once(l, 10), 0);
    for (int i = 0; i < N; i++) {
        bf_io_stop(l, &r[i].io);
        close(p[i][0]);
        close(p[i][1]);
    }
    free(p);
    free(r);
    bf_loop_free(l);
}

typedef struct {
    bf_io io;
    int calls;
    unsigned last;
} writer;

static void on_writable(bf_io *io, unsigned events) {
    writer *w = io->data;
    w->calls++;
    w->last = events;
}

/* Write interest, then switching it off, and a hang-up reported as an error with both bits. */
static void write_interest_and_hangup(void **state) {
    (void)state;
    bf_loop *l = new_loop(NULL);
    int p[2];
    assert_int_equal(pipe(p), 0);
    writer w = {0};
    bf_io_init(&w.io, p[1], on_writable, &w);
    assert_int_equal(bf_io_start(l, &w.io, BF_IO_WRITE), 0);
    assert_int_equal(bf_loop_run_once(l, 100), 1);
    assert_true(w.last & BF_IO_WRITE);
    assert_int_equal(bf_io_start(l, &w.io, 0), 0); /* 0 stops */
    assert_int_equal(bf_loop_run_once(l, 10), 0);
    bf_io_stop(l, &w.io);
    writer r = {0};
    bf_io_init(&r.io, p[0], on_writable, &r);
    assert_int_equal(bf_io_start(l, &r.io, BF_IO_READ), 0);
    close(p[1]);
    assert_int_equal(bf_loop_run_once(l, 100), 1);
    assert_true(r.last & BF_IO_READ);
    bf_io_stop(l, &r.io);
    close(p[0]);
    bf_loop_free(l);
}

/* The wait is cut short by the nearest timer (real clock). */
static void wait_ends_at_timer(void **state) {
    (void)state;
    bf_loop *l = new_loop(NULL);
    trail tr = {0};
    named_timer t = {.tr = &tr, .name = 't'};
    bf_timer_init(&t.t, note, NULL);
    bf_timer_start_in(l, &t.t, 20);
    int ran = 0;
    for (int i = 0; i < 100 && ran == 0; i++) ran = bf_loop_run_once(l, -1);
    assert_int_equal(ran, 1);
    assert_string_equal(tr.order, "t");
    bf_loop_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_deadline_then_start_order),
        cmocka_unit_test(rearming_at_now_does_not_spin),
        cmocka_unit_test(past_deadline_counts_as_now),
        cmocka_unit_test(heap_survives_churn),
        cmocka_unit_test(io_stopped_in_same_turn_is_not_called),
        cmocka_unit_test(many_descriptors),
        cmocka_unit_test(write_interest_and_hangup),
        cmocka_unit_test(wait_ends_at_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
