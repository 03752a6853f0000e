#include "memory_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_pgbin.h"

/* The ledger and image_analysis inserts come in two forms. With ON CONFLICT DO NOTHING, safe for
 * any batch; and without it, for the pipelined write's first attempt: an arbiter index costs a
 * lookup of its own and speculative insertion before the insert's own uniqueness check (a fifth
 * of the backends' CPU in this workload), while conflicts (a replay, a redelivery, a replica's
 * race) are rare. Such a write fails with unique_violation and the batch is written again in
 * the safe form (memory_store_async.safe_left). */
#define LEDGER_INSERT                                          \
    "INSERT INTO processed_events (consumer, event_id)"        \
    " SELECT $1, e FROM unnest($2::uuid[]) AS u(e) ORDER BY 2"
static const char sql_ledger[] = LEDGER_INSERT " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id";
static const char sql_ledger_new[] = LEDGER_INSERT " RETURNING event_id";

/* image_urls travel as one array literal (text) per row: unnest() would flatten a text[][] */
#define ANALYSES_INSERT \
    "INSERT INTO image_analysis (project_id, trace_id, request_id, content_hash, image_urls, palette, mood," \
    " brightness, contrast, saturation, temperature, width, height, orientation, typography, style, layout," \
    " objects, visible_text, analyser, model, processing_ms, source_event_id, error)"                        \
    " SELECT p, t, r, h, u::text[], pal, mo, br, co, sa, te, w, he, o, ty, st,"                              \
    " la, ob, vt, an, mdl, ms, ev, er"                                                                       \
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::text[],"      \
    " $8::float8[], $9::float8[], $10::float8[], $11::text[], $12::int[], $13::int[], $14::text[],"          \
    " $15::jsonb[], $16::jsonb[], $17::jsonb[], $18::jsonb[], $19::jsonb[], $20::text[], $21::text[],"       \
    " $22::bigint[], $23::text[], $24::jsonb[])"                                                             \
    " AS x(p, t, r, h, u, pal, mo, br, co, sa, te, w, he, o, ty, st, la, ob, vt, an, mdl, ms, ev, er)"       \
    " ORDER BY p, h, t"
static const char sql_analyses[] = ANALYSES_INSERT " ON CONFLICT (project_id, content_hash, trace_id) DO NOTHING";
static const char sql_analyses_new[] = ANALYSES_INSERT;

static const char sql_messages[] =
    "INSERT INTO messages (message_id, project_id, conversation_id, role, content, created_at, turn)"
    " SELECT i, p, c, r, t, to_timestamp(ms / 1000.0), tu"
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::int[])"
    " AS x(i, p, c, r, t, ms, tu) ORDER BY i"
    " ON CONFLICT (message_id) DO NOTHING";

/* An image's claim on preference evidence: the first event carrying a project's bytes inserts the
 * row; any other (the same bytes under another trace id, a re-analysis under a new event id) finds
 * it and its preferences are skipped by the upsert below. Sorted for one lock order. */
static const char sql_evidence[] =
    "INSERT INTO preference_evidence (project_id, content_hash, event_id)"
    " SELECT p, h, e FROM unnest($1::text[], $2::text[], $3::uuid[]) WITH ORDINALITY AS u(p, h, e, n)"
    " ORDER BY p, h, n"
    " ON CONFLICT (project_id, content_hash) DO NOTHING";

/* The confidence rule of memory_confidence.c, written over the stored row m and the update
 * EXCLUDED: the WHERE skips inferred-over-explicit entirely; "same" is jsonb equality; a
 * contradicting inferred update weakens c to c*(1-w) and replaces the value when that falls
 * below w. Kept operation for operation equal to the C rule so both give the same double. */
static const char sql_upsert[] =
    "INSERT INTO project_memory AS m (project_id, memory_type, key, value, confidence, source, is_explicit,"
    " expires_at)"
    " SELECT p, t, k, v, LEAST(GREATEST(w, 0::float8), 1::float8), s, x,"
    "  CASE WHEN e IS NULL THEN NULL ELSE to_timestamp(e / 1000.0) END"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::float8[], $6::text[], $7::bool[],"
    " $8::bigint[], $9::text[], $10::uuid[]) WITH ORDINALITY AS u(p, t, k, v, w, s, x, e, h, ev, n)"
    " WHERE h IS NULL OR EXISTS (SELECT 1 FROM preference_evidence pe"
    "  WHERE pe.project_id = p AND pe.content_hash = h AND pe.event_id = ev)"
    " ORDER BY n"
    " ON CONFLICT (project_id, memory_type, key) DO UPDATE SET"
    " value = CASE WHEN m.value = EXCLUDED.value THEN m.value"
    "   WHEN EXCLUDED.is_explicit OR m.confidence * (1 - EXCLUDED.confidence) < EXCLUDED.confidence"
    "   THEN EXCLUDED.value ELSE m.value END,"
    " confidence = CASE WHEN m.value = EXCLUDED.value"
    "   THEN m.confidence + (1 - m.confidence) * EXCLUDED.confidence"
    "   WHEN EXCLUDED.is_explicit OR m.confidence * (1 - EXCLUDED.confidence) < EXCLUDED.confidence"
    "   THEN EXCLUDED.confidence ELSE m.confidence * (1 - EXCLUDED.confidence) END,"
    " source = CASE WHEN m.value <> EXCLUDED.value AND (EXCLUDED.is_explicit"
    "   OR m.confidence * (1 - EXCLUDED.confidence) < EXCLUDED.confidence) THEN EXCLUDED.source"
    "   ELSE m.source END,"
    " is_explicit = m.is_explicit OR EXCLUDED.is_explicit,"
    " evidence_count = CASE WHEN m.value = EXCLUDED.value THEN m.evidence_count + 1"
    "   WHEN EXCLUDED.is_explicit OR m.confidence * (1 - EXCLUDED.confidence) < EXCLUDED.confidence"
    "   THEN 1 ELSE m.evidence_count END,"
    " expires_at = EXCLUDED.expires_at,"
    " updated_at = now()"
    " WHERE NOT (m.is_explicit AND NOT EXCLUDED.is_explicit)";

/* conversation_context: the update's object merged into the stored one field by field (jsonb
 * ||), not replaced, and its expiry refreshed; a value that is not an object on either side
 * replaces. Fields stamped in the update's "reported_at" object ({field: ms}, memory-writer's own
 * from the editor's decision reports) are taken only when newer than the stored stamp of that
 * field, and the stamps kept per field: so reports arriving in any order leave each field with
 * the newest report that set it. Unstamped fields (the brain's) are simply merged. */
#define STAMP(obj, key) "CASE WHEN jsonb_typeof(" obj "->'reported_at'->" key ") = 'number'" \
    " THEN (" obj "->'reported_at'->>" key ")::numeric END"
#define STALE(key) "COALESCE(" STAMP("m.value", key) " >= " STAMP("EXCLUDED.value", key) ", false)"
static const char sql_merge[] =
    "INSERT INTO project_memory AS m (project_id, memory_type, key, value, confidence, source, is_explicit,"
    " expires_at)"
    " SELECT p, t, k, v, LEAST(GREATEST(w, 0::float8), 1::float8), s, x,"
    "  CASE WHEN e IS NULL THEN NULL ELSE to_timestamp(e / 1000.0) END"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::float8[], $6::text[], $7::bool[],"
    " $8::bigint[]) WITH ORDINALITY AS u(p, t, k, v, w, s, x, e, n) ORDER BY n"
    " ON CONFLICT (project_id, memory_type, key) DO UPDATE SET"
    " value = CASE WHEN jsonb_typeof(m.value) <> 'object' OR jsonb_typeof(EXCLUDED.value) <> 'object'"
    "   THEN EXCLUDED.value"
    "   WHEN COALESCE(jsonb_typeof(EXCLUDED.value->'reported_at'), '') <> 'object' THEN m.value || EXCLUDED.value"
    "   ELSE m.value"
    "    || COALESCE((SELECT jsonb_object_agg(f.key, f.value) FROM jsonb_each(EXCLUDED.value) f"
    "        WHERE f.key <> 'reported_at' AND NOT " STALE("f.key") "), '{}'::jsonb)"
    "    || jsonb_build_object('reported_at',"
    "        (CASE WHEN jsonb_typeof(m.value->'reported_at') = 'object' THEN m.value->'reported_at'"
    "         ELSE '{}'::jsonb END)"
    "        || COALESCE((SELECT jsonb_object_agg(f.key, f.value) FROM jsonb_each(EXCLUDED.value->'reported_at') f"
    "        WHERE NOT " STALE("f.key") "), '{}'::jsonb))"
    "   END,"
    " confidence = EXCLUDED.confidence, source = EXCLUDED.source,"
    " is_explicit = m.is_explicit OR EXCLUDED.is_explicit, evidence_count = m.evidence_count + 1,"
    " expires_at = EXCLUDED.expires_at, updated_at = now()";

/* The storyboard of record: each part of a scene (content, position, deletion) changes only when
 * the event's version of it is above the stored one (schemas/sql/0005_editor_loop.sql). Rows are
 * folded per scene before (memory_batch_fold): a statement may touch a row once. */
#define NEWER(part) "EXCLUDED." part "_version > s." part "_version"
static const char sql_scenes[] =
    "INSERT INTO scenes AS s (project_id, scene_id, name, position, duration_ms, description, content_version,"
    " position_version, deleted_version)"
    " SELECT p, sc, COALESCE(nm, ''), COALESCE(pos, 0), dur, COALESCE(d, ''), cv, pv, dv"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::bigint[], $6::text[], $7::bigint[],"
    " $8::bigint[], $9::bigint[]) AS u(p, sc, nm, pos, dur, d, cv, pv, dv) ORDER BY p, sc"
    " ON CONFLICT (project_id, scene_id) DO UPDATE SET"
    " name = CASE WHEN " NEWER("content") " THEN EXCLUDED.name ELSE s.name END,"
    " duration_ms = CASE WHEN " NEWER("content") " THEN EXCLUDED.duration_ms ELSE s.duration_ms END,"
    " description = CASE WHEN " NEWER("content") " THEN EXCLUDED.description ELSE s.description END,"
    " content_version = GREATEST(s.content_version, EXCLUDED.content_version),"
    " position = CASE WHEN " NEWER("position") " THEN EXCLUDED.position ELSE s.position END,"
    " position_version = GREATEST(s.position_version, EXCLUDED.position_version),"
    " deleted_version = GREATEST(s.deleted_version, EXCLUDED.deleted_version),"
    " updated_at = now()"
    " WHERE " NEWER("content") " OR " NEWER("position") " OR " NEWER("deleted");

/* A scene's relationship, from the newest change applied to it: only for a scene that is live
 * once the batch's changes are in (a stale change of a deleted scene recreates nothing), replaced
 * by a higher version only (merged, so "follows" and the first "from_image" stay). */
#define REL_NEWER                                                                                      \
    "(EXCLUDED.value->>'version')::numeric > COALESCE(CASE WHEN jsonb_typeof(m.value->'version') = 'number'" \
    " THEN (m.value->>'version')::numeric END, 0)"
static const char sql_relations[] =
    "INSERT INTO project_memory AS m (project_id, memory_type, key, value, confidence, source, is_explicit)"
    " SELECT u.p, 'scene_relationship', 'scene:' || u.sc,"
    "  CASE WHEN u.fi IS NULL THEN u.v ELSE u.v || jsonb_build_object('from_image', u.fi) END, 1, 'editor', false"
    " FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[]) AS u(p, sc, v, fi)"
    " JOIN scenes s ON s.project_id = u.p AND s.scene_id = u.sc AND NOT s.deleted"
    " ORDER BY u.p, u.sc"
    " ON CONFLICT (project_id, memory_type, key) DO UPDATE SET"
    " value = CASE WHEN " REL_NEWER
    "   THEN (CASE WHEN jsonb_typeof(m.value) = 'object' THEN m.value ELSE '{}'::jsonb END) || EXCLUDED.value"
    "   ELSE m.value || jsonb_build_object('from_image', EXCLUDED.value->'from_image') END,"
    " confidence = 1, source = 'editor', is_explicit = false, expires_at = NULL, updated_at = now()"
    " WHERE " REL_NEWER
    "  OR (EXCLUDED.value ? 'from_image' AND jsonb_typeof(m.value) = 'object' AND NOT m.value ? 'from_image')";

/* The relationships of the batch's scenes that are deleted now. */
static const char sql_relations_gone[] =
    "DELETE FROM project_memory m USING scenes s, unnest($1::text[], $2::text[]) AS u(p, sc)"
    " WHERE s.project_id = u.p AND s.scene_id = u.sc AND s.deleted"
    " AND m.project_id = u.p AND m.memory_type = 'scene_relationship' AND m.key = 'scene:' || u.sc";

/* "follows": the live scene before each one by position, from the storyboard as it is after the
 * batch, for every relationship of the projects the batch touched. Derived from the whole
 * storyboard rather than from one event, so it is the same whatever order the events came in. */
static const char sql_follows[] =
    "UPDATE project_memory m SET value = jsonb_set(m.value, '{follows}', f.prev), updated_at = now()"
    " FROM (SELECT s.project_id, s.scene_id, COALESCE(to_jsonb(lag(s.scene_id)"
    "   OVER (PARTITION BY s.project_id ORDER BY s.position, s.scene_id)), 'null'::jsonb) AS prev"
    "  FROM scenes s WHERE s.project_id = ANY ($1::text[]) AND NOT s.deleted) f"
    " WHERE m.project_id = f.project_id AND m.memory_type = 'scene_relationship'"
    " AND m.key = 'scene:' || f.scene_id AND jsonb_typeof(m.value) = 'object'"
    " AND m.value->'follows' IS DISTINCT FROM f.prev";

/* The statements, prepared once per server session (bf_db_prepared), so a batch's statements
 * are not parsed and planned again each time. The index is the bf_db statement bit. */
typedef enum {
    ST_LEDGER, ST_ANALYSES, ST_MESSAGES, ST_UPSERT, ST_LEDGER_NEW, ST_ANALYSES_NEW, ST_EVIDENCE, ST_MERGE, ST_SCENES,
    ST_RELATIONS, ST_RELATIONS_GONE, ST_FOLLOWS, ST_COUNT
} stmt_id;
static const struct {
    const char *name, *what, *sql;
    int nparams;
} stmts[ST_COUNT] = {
    [ST_LEDGER] = {"memory_ledger", "processed_events", sql_ledger, 2},
    [ST_ANALYSES] = {"memory_analyses", "image_analysis", sql_analyses, MEMORY_AN_COLS},
    [ST_MESSAGES] = {"memory_messages", "messages", sql_messages, MEMORY_MSG_COLS},
    [ST_UPSERT] = {"memory_upsert", "project_memory", sql_upsert, 10},
    [ST_LEDGER_NEW] = {"memory_ledger_new", "processed_events", sql_ledger_new, 2},
    [ST_ANALYSES_NEW] = {"memory_analyses_new", "image_analysis", sql_analyses_new, MEMORY_AN_COLS},
    [ST_EVIDENCE] = {"memory_evidence", "preference_evidence", sql_evidence, MEMORY_EV_COLS},
    [ST_MERGE] = {"memory_merge", "project_memory (conversation_context)", sql_merge, 8},
    [ST_SCENES] = {"memory_scenes", "scenes", sql_scenes, MEMORY_SC_COLS},
    [ST_RELATIONS] = {"memory_relations", "project_memory (scene_relationship)", sql_relations, 4},
    [ST_RELATIONS_GONE] = {"memory_relations_gone", "project_memory (deleted scenes)", sql_relations_gone, 2},
    [ST_FOLLOWS] = {"memory_follows", "project_memory (follows)", sql_follows, 1},
};
_Static_assert(ST_COUNT <= 32, "a session's prepared statements are bits of an unsigned");

const char *memory_store_status_name(memory_store_status s) {
    switch (s) {
    case MEMORY_STORE_OK: return "ok";
    case MEMORY_STORE_LOST: return "connection lost";
    case MEMORY_STORE_TRANSIENT: return "transient";
    case MEMORY_STORE_REJECTED: return "rejected";
    }
    return "?";
}

typedef struct tx {
    PGconn *conn;
    char *err;
    size_t errlen;
    bool send; /* pipeline mode: queue the statement, its result is read by memory_store_progress */
    int sent;
    bool optimistic; /* the forms without ON CONFLICT (sql_ledger_new, sql_analyses_new) */
} tx;

/* SQLSTATE classes worth retrying unchanged: transaction rollback (deadlock, serialization),
 * insufficient resources, lock not available, operator intervention (admin shutdown). */
static memory_store_status classify(PGconn *c, const PGresult *r) {
    if (PQstatus(c) != CONNECTION_OK) return MEMORY_STORE_LOST;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!st) return MEMORY_STORE_LOST; /* no server answer at all */
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "57", 2) == 0) return MEMORY_STORE_LOST;
    /* A missing table, column or privilege (class 42, 3D, 3F) is the deployment's fault, not the
     * message's: queries are parameterised, so data cannot cause it. Hold and retry like an
     * outage (until `memory-writer migrate` runs) instead of dead-lettering good messages. */
    if (strncmp(st, "42", 2) == 0 || strncmp(st, "3D", 2) == 0 || strncmp(st, "3F", 2) == 0)
        return MEMORY_STORE_LOST;
    if (strncmp(st, "40", 2) == 0 || strncmp(st, "53", 2) == 0 || strcmp(st, "55P03") == 0)
        return MEMORY_STORE_TRANSIENT;
    return MEMORY_STORE_REJECTED;
}

/* A failed result's status, with what and the server's message in t->err; clears r. */
static memory_store_status failed(tx *t, const char *what, PGresult *r) {
    memory_store_status s = classify(t->conn, r);
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(t->conn);
    snprintf(t->err, t->errlen, "%s: %s", what, msg && *msg ? msg : "failed");
    size_t l = strlen(t->err);
    while (l > 0 && (t->err[l - 1] == '\n' || t->err[l - 1] == ' ')) t->err[--l] = '\0';
    PQclear(r);
    return s;
}

/* Prepares the statements this session lacks. Blocking, and never in pipeline mode (libpq
 * cannot prepare synchronously there), so the pipelined write calls it before entering it. */
static memory_store_status prepare(tx *t, bf_db *db) {
    for (unsigned i = 0; i < ST_COUNT; i++) {
        if (bf_db_prepared(db, i)) continue;
        PGresult *r = PQprepare(t->conn, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) return failed(t, stmts[i].what, r);
        PQclear(r);
        bf_db_set_prepared(db, i);
    }
    return MEMORY_STORE_OK;
}

/* The end of a blocking statement: its result in *out when wanted (else cleared). */
static memory_store_status result(tx *t, const char *what, PGresult *r, PGresult **out) {
    ExecStatusType rs = PQresultStatus(r);
    if (rs != PGRES_COMMAND_OK && rs != PGRES_TUPLES_OK) return failed(t, what, r);
    if (out) *out = r;
    else PQclear(r);
    return MEMORY_STORE_OK;
}

/* A send that libpq refused (the connection's state, not the server's answer). */
static memory_store_status send_failed(tx *t, const char *what) {
    snprintf(t->err, t->errlen, "%s: %s", what, PQerrorMessage(t->conn));
    return PQstatus(t->conn) == CONNECTION_OK ? MEMORY_STORE_TRANSIENT : MEMORY_STORE_LOST;
}

/* Statements run on the transaction's own connection, never a silently reconnected one (which
 * would run the rest outside the transaction). run_sql: BEGIN and COMMIT. */
static memory_store_status run_sql(tx *t, const char *sql) {
    if (!t->send) return result(t, sql, PQexec(t->conn, sql), NULL);
    if (PQsendQueryParams(t->conn, sql, 0, NULL, NULL, NULL, NULL, 0) != 1) return send_failed(t, sql);
    t->sent++;
    return MEMORY_STORE_OK;
}

/* A prepared statement with its binary parameters (the arrays of memory_pgbin); *out receives
 * the result when wanted. An optimistic transaction runs the ledger and analyses inserts in
 * their form without ON CONFLICT. */
static memory_store_status run(tx *t, stmt_id st, const char *const *params, const int *lens, PGresult **out) {
    static const int binary[MEMORY_AN_COLS] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                               1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    if (t->optimistic && st == ST_LEDGER) st = ST_LEDGER_NEW;
    if (t->optimistic && st == ST_ANALYSES) st = ST_ANALYSES_NEW;
    if (!t->send)
        return result(t, stmts[st].what,
                      PQexecPrepared(t->conn, stmts[st].name, stmts[st].nparams, params, lens, binary, 0), out);
    if (PQsendQueryPrepared(t->conn, stmts[st].name, stmts[st].nparams, params, lens, binary, 0) != 1)
        return send_failed(t, stmts[st].what);
    t->sent++;
    return MEMORY_STORE_OK;
}

static memory_store_status ledger_result(tx *t, memory_batch *b, PGresult *r);

static memory_store_status out_of_memory(tx *t) {
    snprintf(t->err, t->errlen, "out of memory");
    return MEMORY_STORE_TRANSIENT;
}

/* The arrays of one statement as binary parameters in params/lens; on failure the status, with
 * t->err set. A cell that did not convert is the data's fault, like a server-side input error. */
static memory_store_status finish_arrays(tx *t, const char *what, memory_pgbin *a, size_t n, const char **params,
                                         int *lens) {
    for (size_t c = 0; c < n; c++) {
        if (a[c].bad) {
            snprintf(t->err, t->errlen, "%s: a cell is not a valid %s (column %zu)", what,
                     a[c].type == MEMORY_PG_UUID ? "uuid" : "number or boolean", c + 1);
            return MEMORY_STORE_REJECTED;
        }
        params[c] = memory_pgbin_data(&a[c], &lens[c]);
        if (!params[c]) return out_of_memory(t);
    }
    return MEMORY_STORE_OK;
}

static memory_store_status write_ledger(tx *t, memory_batch *b, const char *consumer) {
    memory_pgbin ids;
    memory_pgbin_init(&ids, MEMORY_PG_UUID);
    for (size_t i = 0; i < b->n_items; i++)
        if (b->items[i].active) memory_pgbin_add_cell(&ids, b->items[i].event_id);
    const char *p[2] = {consumer, NULL}; /* a text parameter's binary form is its bytes */
    int lens[2] = {(int)strlen(consumer), 0};
    PGresult *r = NULL;
    memory_store_status s = finish_arrays(t, "processed_events", &ids, 1, &p[1], &lens[1]);
    if (s == MEMORY_STORE_OK) s = run(t, ST_LEDGER, p, lens, &r);
    memory_pgbin_free(&ids);
    if (s != MEMORY_STORE_OK || t->send) return s;
    return ledger_result(t, b, r);
}

/* Marks the items whose event id the ledger insert returned (the new ones) fresh; takes r. */
static memory_store_status ledger_result(tx *t, memory_batch *b, PGresult *r) {
    int n = PQntuples(r);
    const char **fresh = n > 0 ? malloc((size_t)n * sizeof *fresh) : NULL;
    if (n > 0 && !fresh) {
        PQclear(r);
        return out_of_memory(t);
    }
    for (int i = 0; i < n; i++) fresh[i] = PQgetvalue(r, i, 0);
    memory_batch_mark_fresh(b, fresh, (size_t)n);
    free(fresh);
    PQclear(r);
    return MEMORY_STORE_OK;
}

/* Element types of the columns of batch->analyses and batch->messages (memory_store.h). */
static const memory_pgtype analysis_types[MEMORY_AN_COLS] = {
    [MEMORY_AN_PROJECT_ID] = MEMORY_PG_TEXT, [MEMORY_AN_TRACE_ID] = MEMORY_PG_TEXT,
    [MEMORY_AN_REQUEST_ID] = MEMORY_PG_TEXT, [MEMORY_AN_CONTENT_HASH] = MEMORY_PG_TEXT,
    [MEMORY_AN_IMAGE_URLS] = MEMORY_PG_TEXT, [MEMORY_AN_PALETTE] = MEMORY_PG_JSONB,
    [MEMORY_AN_MOOD] = MEMORY_PG_TEXT, [MEMORY_AN_BRIGHTNESS] = MEMORY_PG_FLOAT8,
    [MEMORY_AN_CONTRAST] = MEMORY_PG_FLOAT8, [MEMORY_AN_SATURATION] = MEMORY_PG_FLOAT8,
    [MEMORY_AN_TEMPERATURE] = MEMORY_PG_TEXT, [MEMORY_AN_WIDTH] = MEMORY_PG_INT4,
    [MEMORY_AN_HEIGHT] = MEMORY_PG_INT4, [MEMORY_AN_ORIENTATION] = MEMORY_PG_TEXT,
    [MEMORY_AN_TYPOGRAPHY] = MEMORY_PG_JSONB, [MEMORY_AN_STYLE] = MEMORY_PG_JSONB,
    [MEMORY_AN_LAYOUT] = MEMORY_PG_JSONB, [MEMORY_AN_OBJECTS] = MEMORY_PG_JSONB,
    [MEMORY_AN_VISIBLE_TEXT] = MEMORY_PG_JSONB, [MEMORY_AN_ANALYSER] = MEMORY_PG_TEXT,
    [MEMORY_AN_MODEL] = MEMORY_PG_TEXT, [MEMORY_AN_PROCESSING_MS] = MEMORY_PG_INT8,
    [MEMORY_AN_SOURCE_EVENT_ID] = MEMORY_PG_TEXT, [MEMORY_AN_ERROR] = MEMORY_PG_JSONB,
};
static const memory_pgtype message_types[MEMORY_MSG_COLS] = {
    [MEMORY_MSG_MESSAGE_ID] = MEMORY_PG_UUID, [MEMORY_MSG_PROJECT_ID] = MEMORY_PG_TEXT,
    [MEMORY_MSG_CONVERSATION_ID] = MEMORY_PG_TEXT, [MEMORY_MSG_ROLE] = MEMORY_PG_TEXT,
    [MEMORY_MSG_CONTENT] = MEMORY_PG_TEXT, [MEMORY_MSG_CREATED_MS] = MEMORY_PG_INT8,
    [MEMORY_MSG_TURN] = MEMORY_PG_INT4,
};
static const memory_pgtype evidence_types[MEMORY_EV_COLS] = {MEMORY_PG_TEXT, MEMORY_PG_TEXT, MEMORY_PG_UUID};
static const memory_pgtype scene_types[MEMORY_SC_COLS] = {
    [MEMORY_SC_PROJECT_ID] = MEMORY_PG_TEXT, [MEMORY_SC_SCENE_ID] = MEMORY_PG_TEXT,
    [MEMORY_SC_NAME] = MEMORY_PG_TEXT, [MEMORY_SC_POSITION] = MEMORY_PG_INT4,
    [MEMORY_SC_DURATION_MS] = MEMORY_PG_INT8, [MEMORY_SC_DESCRIPTION] = MEMORY_PG_TEXT,
    [MEMORY_SC_CONTENT_VERSION] = MEMORY_PG_INT8, [MEMORY_SC_POSITION_VERSION] = MEMORY_PG_INT8,
    [MEMORY_SC_DELETED_VERSION] = MEMORY_PG_INT8,
};
/* sql_relations' parameters: project, scene, value, from_image (of the relation rows' columns). */
static const int relation_cols[] = {MEMORY_REL_PROJECT_ID, MEMORY_REL_SCENE_ID, MEMORY_REL_VALUE, MEMORY_REL_FROM_IMAGE};
static const memory_pgtype relation_types[] = {MEMORY_PG_TEXT, MEMORY_PG_TEXT, MEMORY_PG_JSONB, MEMORY_PG_JSONB};

#define MAX_PARAMS MEMORY_AN_COLS /* the widest statement */

/* One statement over n rows of cells: parameter p is column cols[p] (cols NULL: column p) of
 * each row, row r's cells at cells[r * stride]. Nothing is sent when n is 0. */
static memory_store_status send_cells(tx *t, stmt_id st, const memory_pgtype *types, const int *cols, size_t nparams,
                                      const char *const *cells, size_t stride, size_t n) {
    if (n == 0) return MEMORY_STORE_OK;
    memory_pgbin a[MAX_PARAMS];
    const char *params[MAX_PARAMS];
    int lens[MAX_PARAMS];
    for (size_t c = 0; c < nparams; c++) memory_pgbin_init(&a[c], types[c]);
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < nparams; c++) memory_pgbin_add_cell(&a[c], cells[r * stride + (cols ? (size_t)cols[c] : c)]);
    memory_store_status s = finish_arrays(t, stmts[st].what, a, nparams, params, lens);
    if (s == MEMORY_STORE_OK) s = run(t, st, params, lens, NULL);
    for (size_t c = 0; c < nparams; c++) memory_pgbin_free(&a[c]);
    return s;
}

/* The rows of active fresh items of rows, into out (rows->n entries); returns how many. */
static size_t fresh_rows(const memory_batch *b, const memory_rows *rows, const char **out) {
    size_t n = 0, nc = rows->ncols;
    for (size_t i = 0; i < rows->n; i++) {
        const memory_item *it = &b->items[rows->item[i]];
        if (it->active && it->fresh) memcpy(&out[n++ * nc], &rows->cells[i * nc], nc * sizeof *out);
    }
    return n;
}

/* One INSERT ... unnest for the rows of active fresh items; nothing when there are none. */
static memory_store_status write_rows(tx *t, const memory_batch *b, const memory_rows *rows, stmt_id st,
                                      const memory_pgtype *types) {
    if (rows->n == 0) return MEMORY_STORE_OK;
    const char **cells = malloc(rows->n * rows->ncols * sizeof *cells);
    if (!cells) return out_of_memory(t);
    size_t n = fresh_rows(b, rows, cells);
    memory_store_status s = send_cells(t, st, types, NULL, rows->ncols, cells, rows->ncols, n);
    free(cells);
    return s;
}

/* The editor's reports: the scenes (folded per scene), then the relationships of live scenes,
 * those of deleted ones removed, and "follows" over the projects touched. In this order: each
 * statement reads what the one before wrote. */
static memory_store_status write_editor(tx *t, const memory_batch *b) {
    if (b->scenes.n == 0) return MEMORY_STORE_OK;
    size_t nsc = b->scenes.n, nrel = b->relations.n;
    const char **sc = malloc(nsc * MEMORY_SC_COLS * sizeof *sc);
    const char **rel = nrel ? malloc(nrel * MEMORY_REL_COLS * sizeof *rel) : NULL;
    const char **gone = malloc(nsc * 2 * sizeof *gone), **projects = malloc(nsc * sizeof *projects);
    memory_store_status s = MEMORY_STORE_OK;
    if (!sc || (nrel && !rel) || !gone || !projects) s = out_of_memory(t);
    size_t n = s == MEMORY_STORE_OK ? memory_batch_fold(b, &b->scenes, false, sc) : 0;
    size_t nr = s == MEMORY_STORE_OK && nrel ? memory_batch_fold(b, &b->relations, true, rel) : 0;
    if (n == SIZE_MAX || nr == SIZE_MAX) s = out_of_memory(t);
    size_t ngone = 0, nproj = 0;
    for (size_t i = 0; s == MEMORY_STORE_OK && i < n; i++) {
        const char *const *row = &sc[i * MEMORY_SC_COLS];
        if (strcmp(row[MEMORY_SC_DELETED_VERSION], "0") != 0) {
            gone[ngone * 2] = row[MEMORY_SC_PROJECT_ID];
            gone[ngone++ * 2 + 1] = row[MEMORY_SC_SCENE_ID];
        }
        /* Folded rows are sorted by project: its distinct values are the changes of value. */
        if (nproj == 0 || strcmp(projects[nproj - 1], row[MEMORY_SC_PROJECT_ID]) != 0)
            projects[nproj++] = row[MEMORY_SC_PROJECT_ID];
    }
    if (s == MEMORY_STORE_OK) s = send_cells(t, ST_SCENES, scene_types, NULL, MEMORY_SC_COLS, sc, MEMORY_SC_COLS, n);
    if (s == MEMORY_STORE_OK)
        s = send_cells(t, ST_RELATIONS, relation_types, relation_cols, 4, rel, MEMORY_REL_COLS, nr);
    static const memory_pgtype two_text[] = {MEMORY_PG_TEXT, MEMORY_PG_TEXT};
    if (s == MEMORY_STORE_OK) s = send_cells(t, ST_RELATIONS_GONE, two_text, NULL, 2, gone, 2, ngone);
    if (s == MEMORY_STORE_OK) s = send_cells(t, ST_FOLLOWS, two_text, NULL, 1, projects, 1, nproj);
    free(sc);
    free(rel);
    free(gone);
    free(projects);
    return s;
}

/* conversation_context is merged (sql_merge); every other type goes by the confidence rule. */
static bool is_merge(const memory_upsert *u) { return strcmp(u->memory_type, "conversation_context") == 0; }

/* One round's upserts of one kind (merge or not) as one statement. */
static memory_store_status send_round(tx *t, const memory_batch *b, const size_t *plan, size_t from, size_t to,
                                      bool merge, memory_pgbin *a) {
    size_t np = merge ? 8 : 10, used = 0;
    for (size_t c = 0; c < np; c++) memory_pgbin_reset(&a[c]);
    for (size_t i = from; i < to; i++) {
        const memory_upsert *u = &b->upserts[plan[i]];
        if (is_merge(u) != merge) continue;
        used++;
        memory_pgbin_add_text(&a[0], u->project_id);
        memory_pgbin_add_text(&a[1], u->memory_type);
        memory_pgbin_add_text(&a[2], u->key);
        memory_pgbin_add_text(&a[3], u->value);
        memory_pgbin_add_double(&a[4], u->weight);
        memory_pgbin_add_text(&a[5], u->source);
        memory_pgbin_add_bool(&a[6], u->is_explicit);
        if (u->expires_at_ms >= 0) memory_pgbin_add_int(&a[7], u->expires_at_ms);
        else memory_pgbin_add_text(&a[7], NULL);
        if (merge) continue;
        memory_pgbin_add_text(&a[8], u->evidence_hash);
        /* The item's event id: the evidence row it must own for these preferences to apply. */
        memory_pgbin_add_cell(&a[9], u->evidence_hash ? b->items[u->item].event_id : NULL);
    }
    if (!used) return MEMORY_STORE_OK;
    const char *p[10];
    int lens[10];
    memory_store_status s = finish_arrays(t, "project_memory", a, np, p, lens);
    return s == MEMORY_STORE_OK ? run(t, merge ? ST_MERGE : ST_UPSERT, p, lens, NULL) : s;
}

static memory_store_status write_upserts(tx *t, memory_batch *b) {
    if (b->n_upserts == 0) return MEMORY_STORE_OK;
    size_t *plan = malloc(b->n_upserts * sizeof *plan), rounds = 0;
    if (!plan) return out_of_memory(t);
    size_t n = memory_batch_plan_upserts(b, plan, &rounds);
    if (n == SIZE_MAX) {
        free(plan);
        return out_of_memory(t);
    }
    static const memory_pgtype types[10] = {MEMORY_PG_TEXT,   MEMORY_PG_TEXT, MEMORY_PG_TEXT, MEMORY_PG_JSONB,
                                            MEMORY_PG_FLOAT8, MEMORY_PG_TEXT, MEMORY_PG_BOOL, MEMORY_PG_INT8,
                                            MEMORY_PG_TEXT,   MEMORY_PG_UUID};
    memory_pgbin a[10];
    for (int c = 0; c < 10; c++) memory_pgbin_init(&a[c], types[c]);
    memory_store_status s = MEMORY_STORE_OK;
    for (size_t i = 0, r = 0; r < rounds && s == MEMORY_STORE_OK; r++) {
        size_t from = i;
        while (i < n && b->upserts[plan[i]].round == r) i++;
        s = send_round(t, b, plan, from, i, false, a);
        if (s == MEMORY_STORE_OK) s = send_round(t, b, plan, from, i, true, a);
    }
    for (int c = 0; c < 10; c++) memory_pgbin_free(&a[c]);
    free(plan);
    return s;
}

/* The effects of the batch's new events, in the order they depend on one another: evidence
 * before the preferences it gates, scenes before the relationships derived from them. */
static memory_store_status write_effects(tx *t, memory_batch *b) {
    memory_store_status s = write_rows(t, b, &b->analyses, ST_ANALYSES, analysis_types);
    if (s == MEMORY_STORE_OK) s = write_rows(t, b, &b->messages, ST_MESSAGES, message_types);
    if (s == MEMORY_STORE_OK) s = write_rows(t, b, &b->evidence, ST_EVIDENCE, evidence_types);
    if (s == MEMORY_STORE_OK) s = write_upserts(t, b);
    if (s == MEMORY_STORE_OK) s = write_editor(t, b);
    return s;
}

memory_store_status memory_store_write(bf_db *db, memory_batch *b, const char *consumer, char *err, size_t errlen) {
    PGconn *c = bf_db_conn(db, err, errlen);
    if (!c) return MEMORY_STORE_LOST;
    tx t = {c, err, errlen, false, 0, false};
    memory_store_status s = prepare(&t, db);
    if (s == MEMORY_STORE_OK) s = run_sql(&t, "BEGIN");
    if (s == MEMORY_STORE_OK) s = write_ledger(&t, b, consumer);
    if (s == MEMORY_STORE_OK) s = write_effects(&t, b);
    if (s == MEMORY_STORE_OK) s = run_sql(&t, "COMMIT");
    if (s != MEMORY_STORE_OK) {
        if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "ROLLBACK"));
        for (size_t i = 0; i < b->n_items; i++) b->items[i].fresh = false;
    }
    return s;
}

/* ---- pipelined, non-blocking write ----
 * The same statements as memory_store_write, sent in libpq pipeline mode in phases, each ended by
 * a sync point, so the loop thread never waits for the server: [PREPARE,] BEGIN + ledger (the
 * effects depend on which event ids it returns), then the effects + COMMIT; after a failure,
 * ROLLBACK. The outcome is classified exactly as memory_store_write's. */

enum { PHASE_IDLE, PHASE_LEDGER, PHASE_EFFECTS, PHASE_ROLLBACK };
_Static_assert(ST_COUNT <= sizeof ((memory_store_async *)0)->prep, "memory_store_async.prep holds every statement");

static void async_reset(memory_store_async *a) {
    PQclear(a->ledger);
    a->ledger = NULL;
    a->phase = PHASE_IDLE;
    a->expect = 0;
    a->seen = 0;
    a->n_prep = 0;
    a->syncs_due = 0;
}

/* Ends the write with status s (err already set when s is not OK). */
static bool async_end(memory_store_async *a, memory_batch *b, memory_store_status s) {
    a->status = s;
    if (s != MEMORY_STORE_OK)
        for (size_t i = 0; i < b->n_items; i++) b->items[i].fresh = false;
    async_reset(a);
    return true;
}

/* libpq refused to queue something: the connection is unusable (the caller closes it). */
static bool async_broken(memory_store_async *a, memory_batch *b, const char *what) {
    snprintf(a->err, sizeof a->err, "%s: %s", what, PQerrorMessage(a->conn));
    size_t l = strlen(a->err);
    while (l > 0 && (a->err[l - 1] == '\n' || a->err[l - 1] == ' ')) a->err[--l] = '\0';
    return async_end(a, b, MEMORY_STORE_LOST);
}

/* Queues ROLLBACK and a sync, after a sync point closing what this phase already queued (queued
 * statements, whose answers are read and ignored; the server would skip a ROLLBACK behind a
 * failed statement of the same sync). The failure's status is kept and reported once the server
 * has answered. */
static bool async_rollback(memory_store_async *a, memory_batch *b, int queued) {
    a->syncs_due = 0;
    if (queued > 0) {
        if (PQpipelineSync(a->conn) != 1) return async_broken(a, b, "pipeline sync");
        a->syncs_due++;
    }
    if (PQsendQueryParams(a->conn, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) != 1 || PQpipelineSync(a->conn) != 1)
        return async_broken(a, b, "rollback");
    a->phase = PHASE_ROLLBACK;
    a->expect = queued + 1;
    a->seen = 0;
    a->syncs_due++;
    return false;
}

/* Queues phase p. Returns false when the write goes on (the phase, or a rollback after a failure
 * building it, is under way), true when it has ended. */
static bool async_send_phase(memory_store_async *a, memory_batch *b, int p) {
    tx t = {a->conn, a->err, sizeof a->err, true, 0, a->optimistic};
    memory_store_status s = MEMORY_STORE_OK;
    a->n_prep = 0;
    if (p == PHASE_LEDGER) {
        /* A new session (a reconnect) has none of the statements: preparing them in the same
         * pipeline costs no round trip of its own. */
        for (unsigned i = 0; i < ST_COUNT && s == MEMORY_STORE_OK; i++) {
            if (*a->prepared & (1u << i)) continue;
            if (PQsendPrepare(a->conn, stmts[i].name, stmts[i].sql, stmts[i].nparams, NULL) != 1)
                return async_broken(a, b, stmts[i].what);
            a->prep[a->n_prep++] = (unsigned char)i;
            t.sent++;
        }
        s = run_sql(&t, "BEGIN");
        if (s == MEMORY_STORE_OK) s = write_ledger(&t, b, a->consumer);
    } else {
        s = write_effects(&t, b);
        if (s == MEMORY_STORE_OK) s = run_sql(&t, "COMMIT");
    }
    if (s == MEMORY_STORE_LOST) return async_end(a, b, s);
    if (s != MEMORY_STORE_OK) {
        /* Refused before reaching the server (a cell that does not convert, out of memory):
         * what this phase queued already runs, and the rollback undoes it. */
        a->status = s;
        return async_rollback(a, b, t.sent);
    }
    if (PQpipelineSync(a->conn) != 1) return async_broken(a, b, "pipeline sync");
    a->phase = p;
    a->expect = t.sent;
    a->seen = 0;
    a->syncs_due = 1;
    return false;
}

memory_store_status memory_store_send(memory_store_async *a, PGconn *conn, unsigned *prepared, memory_batch *b,
                                      const char *consumer) {
    async_reset(a);
    a->conn = conn;
    a->prepared = prepared;
    a->consumer = consumer;
    a->status = MEMORY_STORE_OK;
    a->err[0] = '\0';
    a->optimistic = a->safe_left == 0;
    a->conflict = false;
    if (a->safe_left > 0) a->safe_left--;
    async_send_phase(a, b, PHASE_LEDGER);
    return a->status;
}

bool memory_store_busy(const memory_store_async *a) { return a->phase != PHASE_IDLE; }

/* One statement's result of the current phase (r is cleared by the caller unless taken). */
static void async_result(memory_store_async *a, PGresult **rp) {
    PGresult *r = *rp;
    ExecStatusType st = PQresultStatus(r);
    int idx = a->seen++;
    a->expect--;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (a->phase == PHASE_LEDGER && idx < a->n_prep) *a->prepared |= 1u << a->prep[idx];
        else if (a->phase == PHASE_LEDGER && idx == a->n_prep + 1) {
            a->ledger = r;
            *rp = NULL;
        }
        return;
    }
    /* PIPELINE_ABORTED: skipped after the phase's first failure, which says why. During the
     * rollback, the answers of what it rolls back do not matter. */
    if (st == PGRES_PIPELINE_ABORTED || a->phase == PHASE_ROLLBACK || a->status != MEMORY_STORE_OK) return;
    a->status = classify(a->conn, r);
    /* A message seen before (a replay comes in runs): the safe form for a while. */
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (a->optimistic && state && strcmp(state, "23505") == 0) {
        a->conflict = true;
        a->safe_left = MEMORY_STORE_SAFE_BATCHES;
    }
    const char *msg = PQresultErrorMessage(r);
    snprintf(a->err, sizeof a->err, "%s", msg && *msg ? msg : "failed");
    size_t l = strlen(a->err);
    while (l > 0 && (a->err[l - 1] == '\n' || a->err[l - 1] == ' ')) a->err[--l] = '\0';
}

/* The current phase has been answered in full: the next one, or the end. Returns true when the
 * write has ended. */
static bool async_phase_done(memory_store_async *a, memory_batch *b) {
    if (a->phase == PHASE_ROLLBACK) {
        if (a->status == MEMORY_STORE_REJECTED && a->conflict && a->optimistic) {
            /* Only a unique violation of the form without ON CONFLICT: nothing wrong with the
             * data. The same batch at once in the safe form, which takes the duplicate as seen. */
            a->optimistic = false;
            a->status = MEMORY_STORE_OK;
            for (size_t i = 0; i < b->n_items; i++) b->items[i].fresh = false;
            return async_send_phase(a, b, PHASE_LEDGER);
        }
        return async_end(a, b, a->status);
    }
    if (a->status == MEMORY_STORE_LOST) return async_end(a, b, a->status);
    if (a->status != MEMORY_STORE_OK) return async_rollback(a, b, 0);
    if (a->phase == PHASE_EFFECTS) return async_end(a, b, MEMORY_STORE_OK);
    PGresult *r = a->ledger;
    a->ledger = NULL;
    if (!r) {
        snprintf(a->err, sizeof a->err, "processed_events: no result");
        return async_end(a, b, MEMORY_STORE_LOST);
    }
    tx t = {a->conn, a->err, sizeof a->err, false, 0, false};
    memory_store_status s = ledger_result(&t, b, r);
    if (s != MEMORY_STORE_OK) {
        a->status = s;
        return async_rollback(a, b, 0);
    }
    return async_send_phase(a, b, PHASE_EFFECTS);
}

bool memory_store_progress(memory_store_async *a, memory_batch *b) {
    if (a->phase == PHASE_IDLE) return true;
    PGconn *c = a->conn;
    if (PQconsumeInput(c) != 1) return async_broken(a, b, "connection lost");
    int empty = 0;
    for (;;) {
        if (a->expect == 0 && a->syncs_due == 0) {
            if (async_phase_done(a, b)) return true;
            continue;
        }
        if (PQisBusy(c)) return false;
        PGresult *r = PQgetResult(c);
        if (!r) {
            /* NULL ends each statement's results; several in a row would mean libpq and we
             * disagree on what is queued: give up on this write rather than spin. */
            if (++empty > 3) {
                snprintf(a->err, sizeof a->err, "pipeline out of step");
                return async_end(a, b, MEMORY_STORE_LOST);
            }
            continue;
        }
        empty = 0;
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC && a->syncs_due > 0) a->syncs_due--;
        else if (PQresultStatus(r) != PGRES_PIPELINE_SYNC && a->expect > 0) async_result(a, &r);
        else {
            PQclear(r);
            snprintf(a->err, sizeof a->err, "pipeline out of step (an answer to nothing queued)");
            return async_end(a, b, MEMORY_STORE_LOST);
        }
        PQclear(r);
    }
}

void memory_store_async_free(memory_store_async *a) { async_reset(a); }
