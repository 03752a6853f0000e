#include "memory_cleanup.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each statement deletes at most $1 rows chosen by ctid, so it holds its row locks briefly;
 * the loop repeats until a statement deletes nothing. $2 is an age in milliseconds. */
static const char sql_image_analysis[] =
    "DELETE FROM image_analysis WHERE ctid IN (SELECT ctid FROM image_analysis"
    " WHERE created_at < now() - $2::bigint * interval '1 millisecond' LIMIT $1::bigint)";
/* Walks the primary key, $1 rows per statement (those with id > $3), and deletes the expired
 * conversation context among them instead of using an updated_at index: every upsert changes
 * updated_at, and an index on it would make every upsert a non-HOT update (0004_hot_memory.sql).
 * Returns the window's last id (NULL past the end) and how many rows went. The conditions are
 * on p, not w, so a row refreshed after the window was read is re-checked and kept. */
static const char sql_conversation_context[] =
    "WITH w AS (SELECT id FROM project_memory WHERE id > $3::bigint ORDER BY id LIMIT $1::bigint),"
    " d AS (DELETE FROM project_memory p USING w WHERE p.id = w.id"
    "  AND p.memory_type = 'conversation_context'"
    "  AND p.updated_at < now() - $2::bigint * interval '1 millisecond' RETURNING 1)"
    " SELECT (SELECT max(id) FROM w), (SELECT count(*) FROM d)";
static const char sql_messages[] =
    "DELETE FROM messages WHERE ctid IN (SELECT ctid FROM messages"
    " WHERE created_at < now() - $2::bigint * interval '1 millisecond' LIMIT $1::bigint)";
static const char sql_expired[] =
    "DELETE FROM project_memory WHERE ctid IN (SELECT ctid FROM project_memory"
    " WHERE expires_at IS NOT NULL AND expires_at < now() AND $2::bigint IS NOT NULL LIMIT $1::bigint)";
static const char sql_ledger[] =
    "DELETE FROM processed_events WHERE ctid IN (SELECT ctid FROM processed_events"
    " WHERE consumer = $3 AND processed_at < now() - $2::bigint * interval '1 millisecond' LIMIT $1::bigint)";

static int delete_all(bf_db *db, const char *sql, int nparams, long long batch, long long age_ms,
                      const char *consumer, long long *count, char *err, size_t errlen) {
    char b[24], a[24];
    snprintf(b, sizeof b, "%lld", batch);
    snprintf(a, sizeof a, "%lld", age_ms);
    const char *p[] = {b, a, consumer};
    for (;;) {
        PGresult *r = bf_db_query(db, sql, nparams, p, err, errlen);
        if (!r) return -1;
        char *end;
        long long n = strtoll(PQcmdTuples(r), &end, 10);
        PQclear(r);
        if (n <= 0) return 0;
        *count += n;
    }
}

static int delete_windows(bf_db *db, long long batch, long long age_ms, long long *count, char *err,
                          size_t errlen) {
    char b[24], a[24], from[24] = "0";
    snprintf(b, sizeof b, "%lld", batch);
    snprintf(a, sizeof a, "%lld", age_ms);
    const char *p[] = {b, a, from};
    for (;;) {
        PGresult *r = bf_db_query(db, sql_conversation_context, 3, p, err, errlen);
        if (!r) return -1;
        bool end = PQgetisnull(r, 0, 0);
        if (!end) snprintf(from, sizeof from, "%s", PQgetvalue(r, 0, 0));
        *count += strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        PQclear(r);
        if (end) return 0;
    }
}

int memory_cleanup_run(bf_db *db, const memory_cleanup_opts *o, memory_cleanup_counts *out, char *err,
                       size_t errlen) {
    memset(out, 0, sizeof *out);
    if (delete_all(db, sql_image_analysis, 2, o->batch, o->image_analysis_ms, NULL, &out->image_analyses, err,
                   errlen) != 0 ||
        delete_windows(db, o->batch, o->conversation_ms, &out->conversation_context, err, errlen) != 0 ||
        delete_all(db, sql_messages, 2, o->batch, o->conversation_ms, NULL, &out->messages, err, errlen) != 0 ||
        delete_all(db, sql_expired, 2, o->batch, 0, NULL, &out->expired_memory, err, errlen) != 0 ||
        delete_all(db, sql_ledger, 3, o->batch, o->ledger_ms, o->consumer, &out->ledger, err, errlen) != 0)
        return -1;
    return 0;
}
