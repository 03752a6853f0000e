#include "bf_migrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arbitrary but fixed: the advisory lock key all brainfleet migrators agree on. */
#define MIGRATE_LOCK_KEY "7318200311"

static int rollback(bf_db *db) {
    char e[64];
    return bf_db_exec(db, "ROLLBACK", e, sizeof e);
}

static int apply_one(bf_db *db, const bf_migration *m, int *ran, char *err, size_t errlen) {
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *p[] = {version, m->name};
    if (bf_db_exec(db, "BEGIN", err, errlen) != 0) return -1;
    PGresult *r = bf_db_query(db, "SELECT name FROM schema_migrations WHERE version = $1", 1, p, err, errlen);
    if (!r) goto fail;
    if (PQntuples(r) > 0) {
        int same = strcmp(PQgetvalue(r, 0, 0), m->name) == 0;
        if (!same) snprintf(err, errlen, "migration %d is recorded as '%s' but this build has '%s'", m->version,
                            PQgetvalue(r, 0, 0), m->name);
        PQclear(r);
        rollback(db);
        return same ? 0 : -1;
    }
    PQclear(r);
    /* Simple-query protocol: a migration file may hold several statements. */
    PGconn *c = bf_db_conn(db, err, errlen);
    if (!c) goto fail;
    r = PQexec(c, m->sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "migration %s: %s", m->name, PQresultErrorMessage(r));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    r = bf_db_query(db, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, p, err, errlen);
    if (!r) goto fail;
    PQclear(r);
    if (bf_db_exec(db, "COMMIT", err, errlen) != 0) return -1;
    *ran = 1;
    return 0;
fail:
    rollback(db);
    return -1;
}

int bf_migrate_apply(bf_db *db, const bf_migration *list, size_t n, int *applied, char *err, size_t errlen) {
    int count = 0;
    if (bf_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version integer PRIMARY KEY, name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())", err, errlen) != 0)
        return -1;
    if (bf_db_exec(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen) != 0) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && list[i].sql; i++) {
        int ran = 0;
        if (apply_one(db, &list[i], &ran, err, errlen) != 0) {
            rc = -1;
            break;
        }
        count += ran;
    }
    char e[64];
    bf_db_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", e, sizeof e);
    if (applied) *applied = count;
    return rc;
}

int bf_migrate_command(const char *dsn, bf_log *log) {
    char err[1024];
    bf_db *db = bf_db_new(dsn, log);
    if (!db) return 1;
    int applied = 0, rc = 1;
    if (bf_db_connect(db, 10, 500, err, sizeof err) != 0) {
        bf_log_error(log, "migrate: cannot connect: %s", err);
    } else if (bf_migrate_apply(db, bf_migrations, bf_migrations_n, &applied, err, sizeof err) != 0) {
        bf_log_error(log, "migrate: %s", err);
    } else {
        bf_log_info(log, "migrate: %d applied, %zu known, database up to date", applied, bf_migrations_n);
        rc = 0;
    }
    bf_db_free(db);
    return rc;
}
