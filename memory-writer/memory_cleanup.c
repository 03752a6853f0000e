#include "memory_cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each statement deletes at most $1 rows chosen by ctid, so it holds its row locks briefly;
 * the loop repeats until a statement deletes nothing. $2 is an age in milliseconds. */
static const char sql_image_analysis[] =
    "DELETE FROM image_analysis WHERE ctid IN (SELECT ctid FROM image_analysis"
    " WHERE created_at < now() - $2::bigint * interval '1 millisecond' LIMIT $1::bigint)";
static const char sql_conversation_context[] =
    "DELETE FROM project_memory WHERE ctid IN (SELECT ctid FROM project_memory"
    " WHERE memory_type = 'conversation_context'"
    " AND updated_at < now() - $2::bigint * interval '1 millisecond' LIMIT $1::bigint)";
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

int memory_cleanup_run(bf_db *db, const memory_cleanup_opts *o, memory_cleanup_counts *out, char *err,
                       size_t errlen) {
    memset(out, 0, sizeof *out);
    if (delete_all(db, sql_image_analysis, 2, o->batch, o->image_analysis_ms, NULL, &out->image_analyses, err,
                   errlen) != 0 ||
        delete_all(db, sql_conversation_context, 2, o->batch, o->conversation_ms, NULL, &out->conversation_context,
                   err, errlen) != 0 ||
        delete_all(db, sql_messages, 2, o->batch, o->conversation_ms, NULL, &out->messages, err, errlen) != 0 ||
        delete_all(db, sql_expired, 2, o->batch, 0, NULL, &out->expired_memory, err, errlen) != 0 ||
        delete_all(db, sql_ledger, 3, o->batch, o->ledger_ms, o->consumer, &out->ledger, err, errlen) != 0)
        return -1;
    return 0;
}
