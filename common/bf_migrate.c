#include "bf_migrate.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_http_server.h"

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
    if (applied) *applied = 0;
    /* The lock comes first: two migrators racing on CREATE TABLE IF NOT EXISTS can both miss the
     * table and one then fails on the catalog's unique index. */
    if (bf_db_exec(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err, errlen) != 0) return -1;
    char e[64];
    if (bf_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version integer PRIMARY KEY, name text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())", err, errlen) != 0) {
        bf_db_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", e, sizeof e);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && list[i].sql; i++) {
        int ran = 0;
        if (apply_one(db, &list[i], &ran, err, errlen) != 0) {
            rc = -1;
            break;
        }
        count += ran;
    }
    bf_db_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", e, sizeof e);
    if (applied) *applied = count;
    return rc;
}

int bf_migrate_status(bf_db *db, const bf_migration *list, size_t n, bf_migrate_state *st, char *err,
                      size_t errlen) {
    memset(st, 0, sizeof *st);
    st->first_pending = -1;
    PGresult *r = bf_db_query(db, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, err, errlen);
    if (!r) return -1;
    int exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (exists) {
        r = bf_db_query(db, "SELECT version, name FROM schema_migrations", 0, NULL, err, errlen);
        if (!r) return -1;
    }
    int rows = exists ? PQntuples(r) : 0;
    for (size_t i = 0; i < n && list[i].sql; i++) {
        const char *name = NULL;
        for (int k = 0; k < rows; k++) {
            char *end;
            long v = strtol(PQgetvalue(r, k, 0), &end, 10);
            if (v == list[i].version) name = PQgetvalue(r, k, 1);
        }
        st->known++;
        if (!name) {
            if (st->first_pending < 0) st->first_pending = (int)i;
            st->pending++;
        } else if (strcmp(name, list[i].name) != 0) {
            st->mismatched++;
        }
    }
    /* Versions this build does not know: a newer build migrated; this one may lag behind it. */
    for (int k = 0; k < rows; k++) {
        char *end;
        long v = strtol(PQgetvalue(r, k, 0), &end, 10);
        int ours = 0;
        for (size_t i = 0; i < n && list[i].sql; i++) ours |= list[i].version == v;
        if (!ours) st->unknown++;
    }
    if (exists) PQclear(r);
    return 0;
}

int bf_migrate_dry_run(const char *dsn, bf_log *log, FILE *out) {
    char err[1024];
    bf_db *db = bf_db_new(dsn, log);
    if (!db) return 1;
    int rc = 1;
    bf_migrate_state st;
    if (bf_db_connect(db, 10, 500, err, sizeof err) != 0) {
        bf_log_error(log, "migrate --dry-run: cannot connect: %s", err);
    } else if (bf_migrate_status(db, bf_migrations, bf_migrations_n, &st, err, sizeof err) != 0) {
        bf_log_error(log, "migrate --dry-run: %s", err);
    } else {
        for (size_t i = 0; i < bf_migrations_n && bf_migrations[i].sql; i++) {
            bf_migrate_state one;
            if (bf_migrate_status(db, &bf_migrations[i], 1, &one, err, sizeof err) != 0) break;
            fprintf(out, "%-8s %04d %s\n", one.pending ? "pending" : one.mismatched ? "CONFLICT" : "applied",
                    bf_migrations[i].version, bf_migrations[i].name);
        }
        fprintf(out, "%d pending, %d applied, nothing changed (dry run)\n", st.pending, st.known - st.pending);
        rc = st.mismatched ? 1 : 0;
    }
    bf_db_free(db);
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

/* What the probes read from the HTTP server's thread. */
typedef struct wait_probe {
    _Atomic int pending;
    _Atomic int mismatched;
} wait_probe;

static int wait_healthz(void *ctx, char *msg, size_t msglen) {
    (void)ctx;
    snprintf(msg, msglen, "alive, waiting for the database schema");
    return 1;
}

static int wait_readyz(void *ctx, char *msg, size_t msglen) {
    wait_probe *p = ctx;
    int mism = atomic_load(&p->mismatched);
    if (mism)
        snprintf(msg, msglen, "schema conflict: %d migration(s) recorded under another name; this build does not match "
                              "the database", mism);
    else
        snprintf(msg, msglen, "schema behind: %d migration(s) pending; run `memory-writer migrate`",
                 atomic_load(&p->pending));
    return 0;
}

static void sleep_ms(long long ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int bf_migrate_wait_current(const bf_migrate_wait_opts *o, char *err, size_t errlen) {
    bf_db *db = bf_db_new(o->dsn, o->log);
    if (!db) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    wait_probe probe = {0};
    bf_http_server *http = NULL;
    int rc = 0, logged = -1;
    for (;;) {
        char e[512];
        bf_migrate_state st;
        if (bf_db_connect(db, 1, 100, e, sizeof e) != 0 ||
            bf_migrate_status(db, bf_migrations, bf_migrations_n, &st, e, sizeof e) != 0) {
            /* Not this gate's job: the stage retries an unreachable database on its own. */
            bf_log_warn(o->log, "schema check: %s; starting without it", e);
            break;
        }
        if (st.pending == 0 && st.mismatched == 0) {
            if (logged >= 0) bf_log_info(o->log, "schema check: database migrated, starting");
            break;
        }
        atomic_store(&probe.pending, st.pending);
        atomic_store(&probe.mismatched, st.mismatched);
        if (!http) {
            bf_http_server_opts ho = {.bind_addr = o->http_bind, .port = o->http_port, .metrics = o->metrics,
                                      .healthz = wait_healthz, .readyz = wait_readyz, .probe_ctx = &probe};
            http = bf_http_server_start(&ho, err, errlen);
            if (!http) {
                rc = -1;
                break;
            }
        }
        if (logged != st.pending + 1000 * st.mismatched) {
            logged = st.pending + 1000 * st.mismatched;
            bf_log_warn(o->log,
                        "schema check: %d of %d migration(s) pending, %d conflicting (first pending: %s); not ready, "
                        "nothing consumed until `memory-writer migrate` has run (HTTP port %d)",
                        st.pending, st.known, st.mismatched,
                        st.first_pending >= 0 ? bf_migrations[st.first_pending].name : "none",
                        bf_http_server_port(http));
        }
        for (long long waited = 0; waited < o->recheck_ms && !*o->stop; waited += 100) sleep_ms(100);
        if (*o->stop) {
            rc = 1;
            break;
        }
    }
    bf_http_server_stop(http);
    bf_db_free(db);
    return rc;
}
