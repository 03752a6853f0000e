/* Versioned SQL migrations, embedded at build time from schemas/sql/NNNN_name.sql. Each one is
 * applied once, in version order, in its own transaction, and recorded in schema_migrations.
 * A session advisory lock serialises concurrent migrators (two pods starting together). */
#ifndef BF_MIGRATE_H
#define BF_MIGRATE_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "bf_db.h"

typedef struct bf_migration {
    int version;
    const char *name;
    const char *sql;
} bf_migration;

extern const bf_migration bf_migrations[];
extern const size_t bf_migrations_n;

/* Applies the pending ones of list[0..n). *applied (may be NULL) receives how many ran.
 * Returns 0, or -1 with err naming the migration that failed (nothing of it is kept). */
int bf_migrate_apply(bf_db *db, const bf_migration *list, size_t n, int *applied, char *err, size_t errlen);

/* Where a database stands against a list of migrations. */
typedef struct bf_migrate_state {
    int known;         /* migrations in the list */
    int pending;       /* of them, not recorded in schema_migrations (all when the table is missing) */
    int first_pending; /* index of the first pending one, -1 when none */
    int mismatched;    /* recorded under the same version with another name */
    int unknown;       /* recorded versions the list does not have (a newer build migrated) */
} bf_migrate_state;

/* The schema-version check: reads schema_migrations (read-only, no lock). Returns 0 with *st, or
 * -1 with err when the query fails (connection lost, permission). The schema is current when
 * st->pending == 0 && st->mismatched == 0. */
int bf_migrate_status(bf_db *db, const bf_migration *list, size_t n, bf_migrate_state *st, char *err,
                      size_t errlen);

/* `<worker> migrate --dry-run`: prints each migration as applied/pending/CONFLICT and changes
 * nothing. Returns an exit code (1 on a conflict or when the database cannot be read). */
int bf_migrate_dry_run(const char *dsn, bf_log *log, FILE *out);

/* Blocks until the database's schema is current, for a worker that must not write to an older one
 * (memory-writer's run mode: a missing table would dead-letter every message as db_rejected).
 * Meanwhile it serves /healthz (200) and /readyz (503, saying what is pending) on the worker's
 * HTTP port, with metrics, and re-checks every recheck_ms. Returns 0 when current or when the
 * database cannot be reached (the stage's own retries handle an outage), 1 when *stop was set,
 * -1 with err when the HTTP port cannot be bound. */
typedef struct bf_migrate_wait_opts {
    const char *dsn;
    const char *http_bind;
    int http_port;
    struct bf_metrics *metrics;
    bf_log *log;
    const volatile sig_atomic_t *stop;
    long long recheck_ms;
} bf_migrate_wait_opts;
int bf_migrate_wait_current(const bf_migrate_wait_opts *o, char *err, size_t errlen);

/* `<worker> migrate`: connects with retries, applies bf_migrations, logs, returns an exit code. */
int bf_migrate_command(const char *dsn, bf_log *log);

#endif
