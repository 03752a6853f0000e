/* bf_pg against the stack's PostgreSQL (through a test proxy where the network matters): queries of
 * one loop turn travel in one pipelined write, a failing statement fails alone (the batch's other
 * queries are sent again), statement_timeout, a server that goes away and comes back, one that
 * stops answering, an unreachable one, and cancellation on free. Counts, not timings, are
 * asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_pg.h"
#include "bf_test_kafka.h"
#include "bf_test_proxy.h"

typedef struct {
    int calls;
    bool ok;
    char value[64];
    char err[512];
} answer;

static void on_answer(void *ctx, const PGresult *res, const char *err) {
    answer *a = ctx;
    a->calls++;
    a->ok = err == NULL;
    snprintf(a->err, sizeof a->err, "%s", err ? err : "");
    if (res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0)
        snprintf(a->value, sizeof a->value, "%s", PQgetvalue(res, 0, 0));
}

static bf_loop *loop_new(void) {
    char err[128];
    bf_loop *l = bf_loop_new(err, sizeof err);
    if (!l) fail_msg("%s", err);
    return l;
}

static bf_pg *pg_new(bf_loop *l, const char *dsn, long long timeout_ms) {
    char err[256];
    bf_log *log = NULL;
    bf_pg_opts o = {.dsn = dsn, .statement_timeout_ms = timeout_ms, .retry_min_ms = 50, .retry_max_ms = 200,
                    .connect_timeout_ms = 2000, .log = log};
    bf_pg *pg = bf_pg_new(l, &o, err, sizeof err);
    if (!pg) fail_msg("%s", err);
    return pg;
}

/* Runs the loop until every answer came (or 30 s of turns). */
static void wait_all(bf_loop *l, answer *a, size_t n) {
    for (int i = 0; i < 3000; i++) {
        size_t done = 0;
        for (size_t k = 0; k < n; k++) done += a[k].calls > 0;
        if (done == n) return;
        bf_loop_run_once(l, 10);
    }
    fail_msg("answers missing");
}

static void wait_up(bf_loop *l, bf_pg *pg) {
    for (int i = 0; i < 3000 && !bf_pg_up(pg); i++) bf_loop_run_once(l, 10);
    assert_true(bf_pg_up(pg));
}

static void one_write_per_turn(void **state) {
    (void)state;
    char dsn[1024];
    bf_test_proxy *px = bf_test_pg_proxy_start(300, "pipelined-marker", dsn, sizeof dsn);
    bf_loop *l = loop_new();
    bf_pg *pg = pg_new(l, dsn, 5000);
    wait_up(l, pg);
    enum { N = 50 };
    answer a[N];
    memset(a, 0, sizeof a);
    for (int i = 0; i < N; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        const char *p[] = {v};
        assert_int_equal(bf_pg_query(pg, "SELECT $1::int /* pipelined-marker */", 1, p, on_answer, &a[i]), 0);
    }
    assert_int_equal(a[0].calls, 0); /* never inside bf_pg_query */
    wait_all(l, a, N);
    for (int i = 0; i < N; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        assert_true(a[i].ok);
        assert_int_equal(a[i].calls, 1);
        assert_string_equal(a[i].value, v);
    }
    /* Fifty statements, one (or, if the kernel split the write, a few) delayed chunks. */
    long held = bf_test_proxy_delayed(px);
    assert_true(held >= 1 && held <= 3);
    bf_pg_free(pg);
    assert_int_equal(bf_loop_ios(l), 0);
    bf_loop_free(l);
    bf_test_proxy_stop(px);
}

/* A burst reaching the pool over several loop turns while a batch is on the wire: the idle
 * connections fill one after the other (the last one lingering for the rest) instead of each turn
 * spreading over all of them, which left none for the turns behind and made those wait a whole
 * round trip. Counted in the proxy's held writes: one batch each for the three idle connections,
 * where spreading sent three on the first turn and more after the round trip. */
static void pool_fills_idle_connections_in_turn(void **state) {
    (void)state;
    char dsn[1024], err[256];
    bf_test_proxy *px = bf_test_pg_proxy_start(300, "burst-marker", dsn, sizeof dsn);
    bf_loop *l = loop_new();
    bf_pg_opts o = {.dsn = dsn, .statement_timeout_ms = 5000, .retry_min_ms = 50, .retry_max_ms = 200,
                    .connect_timeout_ms = 2000};
    bf_pg_pool *pool = bf_pg_pool_new(l, 4, &o, err, sizeof err);
    if (!pool) fail_msg("%s", err);
    for (int i = 0; i < 3000 && bf_pg_pool_up_count(pool) < 4; i++) bf_loop_run_once(l, 10);
    assert_int_equal(bf_pg_pool_up_count(pool), 4);
    const char *sql = "SELECT $1::int /* burst-marker */";
    answer warm = {0};
    const char *p0[] = {"0"};
    /* One round trip measured: the burst's linger is a share of it. */
    assert_int_equal(bf_pg_pool_query(pool, sql, 1, p0, on_answer, &warm), 0);
    wait_all(l, &warm, 1);
    assert_true(warm.ok);
    enum { TURNS = 5, PER_TURN = 30, N = 1 + TURNS * PER_TURN };
    static answer a[N];
    memset(a, 0, sizeof a);
    long before = bf_test_proxy_delayed(px);
    assert_int_equal(bf_pg_pool_query(pool, sql, 1, p0, on_answer, &a[0]), 0);
    bf_loop_run_once(l, 0); /* the first query leaves alone: nothing says a burst is coming */
    for (int t = 0; t < TURNS; t++) {
        for (int i = 0; i < PER_TURN; i++) {
            char v[16];
            snprintf(v, sizeof v, "%d", 1 + t * PER_TURN + i);
            const char *p[] = {v};
            assert_int_equal(bf_pg_pool_query(pool, sql, 1, p, on_answer, &a[1 + t * PER_TURN + i]), 0);
        }
        bf_loop_run_once(l, 0);
    }
    wait_all(l, a, N);
    for (int i = 0; i < N; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i == 0 ? 0 : i);
        assert_true(a[i].ok);
        assert_int_equal(a[i].calls, 1);
        assert_string_equal(a[i].value, v);
    }
    /* 1 + 3; one more if a loaded machine took longer than the linger over the five turns.
     * Spreading sends 1 + 3 + 4. */
    long held = bf_test_proxy_delayed(px) - before;
    assert_true(held >= 4 && held <= 5);
    bf_pg_pool_free(pool);
    assert_int_equal(bf_loop_ios(l), 0);
    bf_loop_free(l);
    bf_test_proxy_stop(px);
}

static void failing_statement_fails_alone(void **state) {
    (void)state;
    bf_loop *l = loop_new();
    bf_pg *pg = pg_new(l, bf_test_pg_dsn(), 5000);
    wait_up(l, pg);
    answer a[3];
    memset(a, 0, sizeof a);
    bf_pg_query(pg, "SELECT 'before'", 0, NULL, on_answer, &a[0]);
    bf_pg_query(pg, "SELECT 1/0", 0, NULL, on_answer, &a[1]);
    bf_pg_query(pg, "SELECT 'after'", 0, NULL, on_answer, &a[2]);
    wait_all(l, a, 3);
    assert_true(a[0].ok);
    assert_string_equal(a[0].value, "before");
    assert_false(a[1].ok);
    assert_non_null(strstr(a[1].err, "division by zero"));
    assert_true(a[2].ok); /* aborted with the batch, then sent again */
    assert_string_equal(a[2].value, "after");
    assert_int_equal(a[2].calls, 1);
    bf_pg_free(pg);
    bf_loop_free(l);
}

static void statement_timeout_applies(void **state) {
    (void)state;
    bf_loop *l = loop_new();
    bf_pg *pg = pg_new(l, bf_test_pg_dsn(), 200);
    answer a[2];
    memset(a, 0, sizeof a);
    /* Queued before the connection is up: the session's timeout still comes first. */
    bf_pg_query(pg, "SELECT pg_sleep(3)", 0, NULL, on_answer, &a[0]);
    bf_pg_query(pg, "SELECT current_setting('statement_timeout')", 0, NULL, on_answer, &a[1]);
    wait_all(l, a, 2);
    assert_false(a[0].ok);
    assert_non_null(strstr(a[0].err, "statement timeout"));
    assert_true(a[1].ok);
    assert_string_equal(a[1].value, "200ms");
    bf_pg_free(pg);
    bf_loop_free(l);
}

static void server_gone_and_back(void **state) {
    (void)state;
    char dsn[1024];
    bf_test_proxy *px = bf_test_pg_proxy_start(0, NULL, dsn, sizeof dsn);
    bf_loop *l = loop_new();
    bf_pg *pg = pg_new(l, dsn, 5000);
    wait_up(l, pg);
    bf_test_proxy_set_down(px, true);
    answer a = {0};
    bf_pg_query(pg, "SELECT 1", 0, NULL, on_answer, &a);
    wait_all(l, &a, 1);
    assert_false(a.ok);
    assert_non_null(strstr(a.err, "connection"));
    assert_false(bf_pg_up(pg));
    /* While it is down between attempts, a query fails at once instead of waiting. */
    answer b = {0};
    bf_pg_query(pg, "SELECT 1", 0, NULL, on_answer, &b);
    wait_all(l, &b, 1);
    assert_false(b.ok);
    bf_test_proxy_set_down(px, false);
    wait_up(l, pg); /* reconnected by itself, with backoff */
    answer c = {0};
    bf_pg_query(pg, "SELECT 'back'", 0, NULL, on_answer, &c);
    wait_all(l, &c, 1);
    assert_true(c.ok);
    assert_string_equal(c.value, "back");
    bf_pg_free(pg);
    bf_loop_free(l);
    bf_test_proxy_stop(px);
}

/* Every client byte held 10 s: with a 300 ms statement_timeout, the query is given up after that
 * plus the grace, as lost. */
static void server_that_stops_answering(void **state) {
    (void)state;
    char dsn[1024];
    bf_test_proxy *px = bf_test_pg_proxy_start(10000, "never-answered", dsn, sizeof dsn);
    bf_loop *l = loop_new();
    bf_pg *pg = pg_new(l, dsn, 300);
    wait_up(l, pg);
    answer warm = {0};
    bf_pg_query(pg, "SELECT 1", 0, NULL, on_answer, &warm); /* the session's timeout is set */
    wait_all(l, &warm, 1);
    answer a = {0};
    bf_pg_query(pg, "SELECT 'never-answered'", 0, NULL, on_answer, &a);
    wait_all(l, &a, 1);
    assert_false(a.ok);
    assert_non_null(strstr(a.err, "stopped answering"));
    bf_pg_free(pg);
    bf_loop_free(l);
    bf_test_proxy_stop(px);
}

static void unreachable_and_cancelled(void **state) {
    (void)state;
    bf_loop *l = loop_new();
    bf_pg *pg = pg_new(l, "host=127.0.0.1 port=1 dbname=x user=x", 1000);
    answer a = {0};
    bf_pg_query(pg, "SELECT 1", 0, NULL, on_answer, &a);
    wait_all(l, &a, 1);
    assert_false(a.ok);
    assert_non_null(strstr(a.err, "connection failed"));
    bf_pg_free(pg);
    pg = pg_new(l, bf_test_pg_dsn(), 5000);
    answer b = {0};
    bf_pg_query(pg, "SELECT pg_sleep(5)", 0, NULL, on_answer, &b);
    for (int i = 0; i < 20; i++) bf_loop_run_once(l, 10);
    bf_pg_free(pg);
    assert_int_equal(b.calls, 1);
    assert_string_equal(b.err, "cancelled");
    assert_int_equal(bf_loop_ios(l), 0);
    assert_int_equal(bf_loop_timers(l), 0);
    bf_loop_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_write_per_turn),
        cmocka_unit_test(pool_fills_idle_connections_in_turn),
        cmocka_unit_test(failing_statement_fails_alone),
        cmocka_unit_test(statement_timeout_applies),
        cmocka_unit_test(server_gone_and_back),
        cmocka_unit_test(server_that_stops_answering),
        cmocka_unit_test(unreachable_and_cancelled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
