/* One PostgreSQL connection with reconnect. Workers own one bf_db each and use it from the loop
 * thread only. Queries go through libpq's parameterised calls (PQexecParams), never through
 * strings built from outside data. */
#ifndef BF_DB_H
#define BF_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "bf_log.h"

typedef struct bf_db bf_db;

/* Does not connect. dsn is copied; an empty dsn makes every connect fail with "no database
 * configured". */
bf_db *bf_db_new(const char *dsn, bf_log *log);
void bf_db_free(bf_db *db);

/* Connects (or checks the live connection), trying up to attempts times with exponential
 * backoff starting at backoff_ms (capped at 5 s). Blocks meanwhile: for start-up and commands,
 * not for the worker loop (use attempts = 1 there). Returns 0, or -1 with err. */
int bf_db_connect(bf_db *db, int attempts, long long backoff_ms, char *err, size_t errlen);

/* The live connection, reconnecting once if it was lost; NULL with err when unreachable. */
PGconn *bf_db_conn(bf_db *db, char *err, size_t errlen);

/* Which of the caller's prepared statements (numbered 0-31 by the caller, which prepares them)
 * exist in the current server session: a reconnect starts a session without any. */
bool bf_db_prepared(const bf_db *db, unsigned stmt);
void bf_db_set_prepared(bf_db *db, unsigned stmt);

/* After a failed query: true when the connection itself is gone (retry later), false when the
 * statement failed on its own (constraint, syntax: retrying will not help). */
bool bf_db_lost(bf_db *db);

/* Runs sql without parameters; returns 0, or -1 with err. For BEGIN/COMMIT and DDL. */
int bf_db_exec(bf_db *db, const char *sql, char *err, size_t errlen);

/* PQexecParams with text parameters. Returns the result (caller PQclear()s it) when its status
 * is PGRES_COMMAND_OK or PGRES_TUPLES_OK; otherwise NULL with err. */
PGresult *bf_db_query(bf_db *db, const char *sql, int n, const char *const *params, char *err, size_t errlen);

#endif
