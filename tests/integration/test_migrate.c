/* Migrations against a real, empty PostgreSQL database: all apply, the second run is a no-op,
 * and a failing migration leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_migrate.h"
#include "bf_test_kafka.h"
#include "bf_trace.h"

/* A fresh database per test: created through the stack's DSN, then reached by name. */
static bf_db *fresh_db(char *name, size_t len, bf_log *log) {
    char hex[9], err[512];
    bf_random_hex(hex, 4);
    snprintf(name, len, "t_migrate_%s", hex);
    bf_db *admin = bf_db_new(bf_test_pg_dsn(), log);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name); /* name is ours: random hex only */
    if (bf_db_exec(admin, sql, err, sizeof err) != 0) fail_msg("%s", err);
    bf_db_free(admin);
    char dsn[1024];
    snprintf(dsn, sizeof dsn, "%s dbname=%s", bf_test_pg_dsn(), name);
    return bf_db_new(dsn, log);
}

static long long count(bf_db *db, const char *sql) {
    char err[512];
    PGresult *r = bf_db_query(db, sql, 0, NULL, err, sizeof err);
    if (!r) fail_msg("%s: %s", sql, err);
    char *end;
    long long v = strtoll(PQgetvalue(r, 0, 0), &end, 10);
    PQclear(r);
    return v;
}

static void test_apply_twice(void **state) {
    (void)state;
    bf_log log;
    bf_log_init(&log, stderr, "test", BF_LOG_WARN);
    char name[64], err[1024];
    bf_db *db = fresh_db(name, sizeof name, &log);
    assert_true(bf_migrations_n > 0);
    int applied = -1;
    if (bf_migrate_apply(db, bf_migrations, bf_migrations_n, &applied, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(applied, (int)bf_migrations_n);
    assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), (long long)bf_migrations_n);
    static const char *const tables[] = {"project_memory", "image_analysis", "scenes", "messages", "processed_events"};
    for (size_t i = 0; i < 5; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM information_schema.tables WHERE table_name = '%s'", tables[i]);
        if (count(db, sql) != 1) fail_msg("table %s missing after migrations", tables[i]);
    }
    applied = -1;
    assert_int_equal(bf_migrate_apply(db, bf_migrations, bf_migrations_n, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), (long long)bf_migrations_n);
    bf_db_free(db);
}

static void test_failed_migration_rolls_back(void **state) {
    (void)state;
    bf_log log;
    bf_log_init(&log, stderr, "test", BF_LOG_WARN);
    char name[64], err[1024] = "";
    bf_db *db = fresh_db(name, sizeof name, &log);
    const bf_migration list[] = {
        {1, "0001_ok", "CREATE TABLE a (x int);"},
        {2, "0002_broken", "CREATE TABLE b (x int); SELECT no_such_function();"},
    };
    int applied = -1;
    assert_int_equal(bf_migrate_apply(db, list, 2, &applied, err, sizeof err), -1);
    assert_int_equal(applied, 1);
    assert_non_null(strstr(err, "0002_broken"));
    assert_int_equal(count(db, "SELECT count(*) FROM schema_migrations"), 1);
    assert_int_equal(count(db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'b'"), 0);
    /* A renamed migration under a recorded version is refused, not silently skipped. */
    const bf_migration renamed[] = {{1, "0001_other", "SELECT 1;"}};
    assert_int_equal(bf_migrate_apply(db, renamed, 1, &applied, err, sizeof err), -1);
    assert_non_null(strstr(err, "0001_other"));
    bf_db_free(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_twice),
        cmocka_unit_test(test_failed_migration_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
