#include "bf_db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bf_db {
    char *dsn;
    PGconn *conn;
    bf_log *log;
    uint32_t prepared; /* bf_db_set_prepared's bits, for this server session only */
};

bf_db *bf_db_new(const char *dsn, bf_log *log) {
    bf_db *db = calloc(1, sizeof *db);
    if (!db) return NULL;
    db->dsn = strdup(dsn ? dsn : "");
    db->log = log;
    if (!db->dsn) {
        free(db);
        return NULL;
    }
    return db;
}

void bf_db_free(bf_db *db) {
    if (!db) return;
    if (db->conn) PQfinish(db->conn);
    free(db->dsn);
    free(db);
}

static void copy_pq_error(PGconn *c, char *err, size_t errlen) {
    snprintf(err, errlen, "%s", c ? PQerrorMessage(c) : "out of memory");
    size_t l = strlen(err);
    while (l > 0 && (err[l - 1] == '\n' || err[l - 1] == ' ')) err[--l] = '\0';
}

static int connect_once(bf_db *db, char *err, size_t errlen) {
    if (!*db->dsn) {
        snprintf(err, errlen, "no database configured (BRAINFLEET_PG_DSN is empty)");
        return -1;
    }
    if (db->conn && PQstatus(db->conn) == CONNECTION_OK) return 0;
    if (db->conn) {
        db->prepared = 0; /* a new server session has no prepared statements */
        PQreset(db->conn);
        if (PQstatus(db->conn) == CONNECTION_OK) return 0;
        copy_pq_error(db->conn, err, errlen);
        return -1;
    }
    /* A bounded connect timeout unless the DSN sets one: an unreachable host must not hang the
     * worker loop for the OS's TCP timeout. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {db->dsn, strstr(db->dsn, "connect_timeout") ? NULL : "5", "brainfleet", NULL};
    if (!vals[1]) {
        keys[1] = "application_name";
        vals[1] = "brainfleet";
        keys[2] = vals[2] = NULL;
    }
    db->prepared = 0;
    db->conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(db->conn) == CONNECTION_OK) return 0;
    copy_pq_error(db->conn, err, errlen);
    PQfinish(db->conn);
    db->conn = NULL;
    return -1;
}

int bf_db_connect(bf_db *db, int attempts, long long backoff_ms, char *err, size_t errlen) {
    for (int i = 0; i < attempts; i++) {
        if (connect_once(db, err, errlen) == 0) return 0;
        if (!*db->dsn) return -1;
        if (i + 1 < attempts) {
            bf_log_warn(db->log, "postgres unreachable (attempt %d of %d): %s", i + 1, attempts, err);
            struct timespec ts = {backoff_ms / 1000, (backoff_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            backoff_ms = backoff_ms * 2 > 5000 ? 5000 : backoff_ms * 2;
        }
    }
    return -1;
}

PGconn *bf_db_conn(bf_db *db, char *err, size_t errlen) {
    return connect_once(db, err, errlen) == 0 ? db->conn : NULL;
}

bool bf_db_lost(bf_db *db) { return !db->conn || PQstatus(db->conn) != CONNECTION_OK; }

int bf_db_exec(bf_db *db, const char *sql, char *err, size_t errlen) {
    PGresult *r = bf_db_query(db, sql, 0, NULL, err, errlen);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

PGresult *bf_db_query(bf_db *db, const char *sql, int n, const char *const *params, char *err, size_t errlen) {
    PGconn *c = bf_db_conn(db, err, errlen);
    if (!c) return NULL;
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    snprintf(err, errlen, "%s", msg && *msg ? msg : "query failed");
    size_t l = strlen(err);
    while (l > 0 && (err[l - 1] == '\n' || err[l - 1] == ' ')) err[--l] = '\0';
    PQclear(r);
    return NULL;
}

bool bf_db_prepared(const bf_db *db, unsigned stmt) { return stmt < 32 && (db->prepared >> stmt & 1u); }

void bf_db_set_prepared(bf_db *db, unsigned stmt) {
    if (stmt < 32) db->prepared |= 1u << stmt;
}
