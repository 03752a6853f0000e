/* Versioned SQL migrations, embedded at build time from schemas/sql/NNNN_name.sql. Each one is
 * applied once, in version order, in its own transaction, and recorded in schema_migrations.
 * A session advisory lock serialises concurrent migrators (two pods starting together). */
#ifndef BF_MIGRATE_H
#define BF_MIGRATE_H

#include <stddef.h>

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

/* `<worker> migrate`: connects with retries, applies bf_migrations, logs, returns an exit code. */
int bf_migrate_command(const char *dsn, bf_log *log);

#endif
