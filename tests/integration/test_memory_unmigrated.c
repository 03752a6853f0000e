/* A memory-writer started before `memory-writer migrate` (tables missing) holds its messages
 * instead of dead-lettering them, and persists them once the migrations have run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_trace.h"
#include "test_memory_util.h"

static void test_holds_until_migrated(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, 1);
    /* A fresh, empty database next to the stack's. */
    char hex[9], dbname[40], dsn[1024];
    bf_random_hex(hex, 4);
    snprintf(dbname, sizeof dbname, "t_unmigrated_%s", hex);
    PGconn *admin = mt_db();
    char sql[96];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname); /* random hex only */
    mt_exec(admin, sql, NULL, NULL);
    snprintf(dsn, sizeof dsn, "%s dbname=%s", bf_test_pg_dsn(), dbname);

    char ev[BF_UUID_LEN + 1];
    char *json = mt_image_facts(f.project, "calm", "#1f3a93", 1, ev);
    const char *fast_retry[] = {"BRAINFLEET_DB_RETRY_MAX=300ms", NULL};
    pid_t w = mt_spawn(&f, "run", dsn, fast_retry, NULL);
    bf_test_produce(f.facts_topic, 0, f.project, json, strlen(json), NULL);
    /* Give it several attempts against the missing tables. */
    bf_test_sleep_ms(3000);
    size_t n;
    bf_test_msg *dl = bf_test_consume_all(f.dlq_topic, 0, 500, 2000, &n);
    assert_int_equal(n, 0); /* a deployment fault is not the message's fault */
    bf_test_msgs_free(dl, n);

    pid_t m = mt_spawn(&f, "migrate", dsn, NULL, NULL);
    assert_int_equal(mt_stop(m, 0), 0);
    PGconn *db = PQconnectdb(dsn);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    assert_int_equal(mt_wait_count(db, "SELECT count(*) FROM image_analysis WHERE project_id = $1", f.project, 1, 60000), 1);
    bf_test_msg *done = bf_test_consume_all(f.processed_topic, 1, 500, 30000, &n);
    assert_int_equal(n, 1);
    bf_test_msgs_free(done, n);
    assert_int_equal(mt_stop(w, SIGTERM), 0);
    PQfinish(db);
    snprintf(sql, sizeof sql, "DROP DATABASE %s", dbname);
    mt_exec(admin, sql, NULL, NULL);
    PQfinish(admin);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_holds_until_migrated)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
