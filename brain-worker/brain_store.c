#include "brain_store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct brain_store {
    bf_db *db;
    long long timeout_ms;
    PGconn *configured; /* the connection statement_timeout was set on; a reconnect resets it */
};

brain_store *brain_store_new(bf_db *db, long long statement_timeout_ms) {
    brain_store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->db = db;
    s->timeout_ms = statement_timeout_ms;
    return s;
}

void brain_store_free(brain_store *s) { free(s); }

static int prepare(brain_store *s, char *err, size_t errlen) {
    PGconn *c = bf_db_conn(s->db, err, errlen);
    if (!c) return -1;
    if (c == s->configured) return 0;
    char ms[32];
    snprintf(ms, sizeof ms, "%lld", s->timeout_ms);
    const char *p[] = {ms};
    PGresult *r = bf_db_query(s->db, "SELECT set_config('statement_timeout', $1, false)", 1, p, err, errlen);
    if (!r) return -1;
    PQclear(r);
    s->configured = c;
    return 0;
}

/* One statement, one round trip: every section is a sub-select aggregated to JSON, so the loop
 * thread waits for the database once per request. Image facts are the analysis row minus its
 * identifiers, so columns added by later migrations reach the prompt without a code change. */
static const char context_sql[] =
    "SELECT json_build_object("
    " 'preferences', COALESCE((SELECT json_agg(json_build_object('key', m.key, 'value', m.value, "
    "   'confidence', m.confidence) ORDER BY m.confidence DESC, m.key) FROM ("
    "   SELECT key, value, confidence FROM project_memory WHERE project_id = $1 "
    "   AND memory_type = 'user_preference' AND (expires_at IS NULL OR expires_at > now()) "
    "   ORDER BY confidence DESC, key LIMIT 100) m), '[]'::json),"
    " 'relationships', COALESCE((SELECT json_agg(json_build_object('key', m.key, 'value', m.value, "
    "   'confidence', m.confidence) ORDER BY m.confidence DESC, m.key) FROM ("
    "   SELECT key, value, confidence FROM project_memory WHERE project_id = $1 "
    "   AND memory_type = 'scene_relationship' AND (expires_at IS NULL OR expires_at > now()) "
    "   ORDER BY confidence DESC, key LIMIT 100) m), '[]'::json),"
    " 'scenes', COALESCE((SELECT json_agg(json_build_object('scene_id', sc.scene_id, 'name', sc.name, "
    "   'position', sc.position, 'duration_ms', sc.duration_ms) ORDER BY sc.position, sc.scene_id) "
    "   FROM scenes sc WHERE sc.project_id = $1), '[]'::json),"
    " 'images', COALESCE((SELECT json_agg(json_build_object('trace_id', i.trace_id, "
    "   'created_at', i.created_at, 'facts', jsonb_strip_nulls(to_jsonb(i) - 'project_id' - 'trace_id' - 'request_id' "
    "   - 'created_at' - 'content_hash' - 'id' - 'source_event_id')) ORDER BY i.created_at DESC) FROM ("
    "   SELECT * FROM image_analysis WHERE project_id = $1 ORDER BY created_at DESC LIMIT $3::int) i), "
    "   '[]'::json),"
    " 'messages', COALESCE((SELECT json_agg(json_build_object('role', mm.role, 'content', mm.content) "
    "   ORDER BY mm.created_at DESC) FROM ("
    "   SELECT role, content, created_at FROM messages WHERE project_id = $1 "
    "   AND ($2::text IS NULL OR conversation_id = $2::text) ORDER BY created_at DESC LIMIT $4::int) mm), "
    "   '[]'::json))";

char *brain_store_context(brain_store *s, const char *project_id, const char *conversation_id,
                          long long conversation_limit, long long image_limit, char *err, size_t errlen) {
    if (prepare(s, err, errlen) != 0) return NULL;
    char conv[32], img[32];
    snprintf(conv, sizeof conv, "%lld", conversation_limit);
    snprintf(img, sizeof img, "%lld", image_limit);
    const char *p[] = {project_id, conversation_id, img, conv};
    PGresult *r = bf_db_query(s->db, context_sql, 4, p, err, errlen);
    if (!r) return NULL;
    char *out = NULL;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) out = strdup(PQgetvalue(r, 0, 0));
    else snprintf(err, errlen, "context query returned no row");
    PQclear(r);
    return out;
}

static const char known_sql[] =
    "SELECT u.url, EXISTS (SELECT 1 FROM image_analysis ia WHERE ia.project_id = $1 "
    "  AND u.url = ANY (ia.image_urls)) "
    "FROM json_array_elements_text($2::json) WITH ORDINALITY AS u(url, n) ORDER BY u.n";

int brain_store_known_images(brain_store *s, const char *project_id, const char *const *urls, size_t n, int *known,
                             char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) known[i] = 0;
    if (n == 0) return 0;
    if (prepare(s, err, errlen) != 0) return -1;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(urls[i]));
    char *json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    if (!json) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const char *p[] = {project_id, json};
    PGresult *r = bf_db_query(s->db, known_sql, 2, p, err, errlen);
    free(json);
    if (!r) return -1;
    for (int i = 0; i < PQntuples(r) && (size_t)i < n; i++) known[i] = strcmp(PQgetvalue(r, i, 1), "t") == 0;
    PQclear(r);
    return 0;
}
