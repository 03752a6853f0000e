#include "brain_store.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_pg.h"

struct brain_store {
    bf_pg_pool *pool;
};

brain_store *brain_store_new(bf_loop *loop, const char *dsn, size_t pool_size, long long statement_timeout_ms,
                             bf_log *log, char *err, size_t errlen) {
    brain_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    bf_pg_opts o = {.dsn = dsn, .name = "context reads", .statement_timeout_ms = statement_timeout_ms, .log = log};
    s->pool = bf_pg_pool_new(loop, pool_size, &o, err, errlen);
    if (!s->pool) {
        free(s);
        return NULL;
    }
    return s;
}

void brain_store_free(brain_store *s) {
    if (!s) return;
    bf_pg_pool_free(s->pool);
    free(s);
}

/* One statement, one round trip: every section is a sub-select aggregated to JSON, so a request
 * costs the database one statement. Image facts are the analysis row minus its
 * identifiers, so columns added by later migrations reach the prompt without a code change.
 *
 * Scenes: the live ones (not deleted tombstones), in storyboard order, at most 500, each with its
 * description (bounded as the contract bounds it) and version. Messages: the newest $4 of the
 * conversation ($2; the whole project when NULL) in the conversation's order, returned newest
 * first: numbered turns after the messages written without one, by turn, user before assistant
 * within a turn (never by the timestamp the two share); those without a turn by created_at.
 * Conversation: the conversation_context of $2 ("default" when NULL), unexpired, or null; without
 * memory-writer's per-field stamps (reported_at), and with current_scene_id null when that scene
 * is not live (deleted since, or never reported by the editor). */
#define MSG_NEWEST_FIRST                                                                                 \
    "(turn IS NOT NULL) DESC, turn DESC, CASE WHEN turn IS NULL THEN created_at END DESC,"              \
    " (role = 'assistant') DESC, created_at DESC, id DESC"
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
    "   'position', sc.position, 'duration_ms', sc.duration_ms, 'description', sc.description, "
    "   'version', sc.version) ORDER BY sc.position, sc.scene_id) FROM ("
    "   SELECT scene_id, name, position, duration_ms, left(description, 2000) AS description, version "
    "   FROM scenes WHERE project_id = $1 AND NOT deleted ORDER BY position, scene_id LIMIT 500) sc), "
    "   '[]'::json),"
    " 'images', COALESCE((SELECT json_agg(json_build_object('trace_id', i.trace_id, "
    "   'created_at', i.created_at, 'facts', jsonb_strip_nulls(to_jsonb(i) - 'project_id' - 'trace_id' - 'request_id' "
    "   - 'created_at' - 'content_hash' - 'id' - 'source_event_id')) ORDER BY i.created_at DESC) FROM ("
    "   SELECT * FROM image_analysis WHERE project_id = $1 ORDER BY created_at DESC LIMIT $3::int) i), "
    "   '[]'::json),"
    " 'messages', COALESCE((SELECT json_agg(json_build_object('message_id', mm.message_id, 'role', mm.role, "
    "   'content', mm.content, 'turn', mm.turn) ORDER BY " MSG_NEWEST_FIRST ") FROM ("
    "   SELECT id, message_id, role, content, turn, created_at FROM messages WHERE project_id = $1 "
    "   AND ($2::text IS NULL OR conversation_id = $2::text) ORDER BY " MSG_NEWEST_FIRST " LIMIT $4::int) mm), "
    "   '[]'::json),"
    " 'conversation', (SELECT CASE WHEN jsonb_typeof(c.value) <> 'object' THEN c.value"
    "   WHEN jsonb_typeof(c.value->'current_scene_id') = 'string' AND NOT EXISTS (SELECT 1 FROM scenes s "
    "     WHERE s.project_id = $1 AND s.scene_id = c.value->>'current_scene_id' AND NOT s.deleted) "
    "   THEN (c.value - 'reported_at') || '{\"current_scene_id\": null}'::jsonb"
    "   ELSE c.value - 'reported_at' END FROM project_memory c WHERE c.project_id = $1 "
    "   AND c.memory_type = 'conversation_context' AND c.key = 'conversation:' || COALESCE($2::text, 'default') "
    "   AND (c.expires_at IS NULL OR c.expires_at > now())))";

typedef struct context_call {
    brain_store_context_fn done;
    void *ctx;
} context_call;

static void on_context(void *arg, const PGresult *res, const char *err) {
    context_call *c = arg;
    char *doc = NULL;
    char why[160] = "";
    if (!err) {
        if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
            doc = strdup(PQgetvalue(res, 0, 0));
            if (!doc) snprintf(why, sizeof why, "out of memory");
        } else {
            snprintf(why, sizeof why, "context query returned no row");
        }
    }
    c->done(c->ctx, doc, doc ? NULL : err ? err : why);
    free(c);
}

static int context_read(void *impl, const char *project_id, const char *conversation_id, long long conversation_limit,
                        long long image_limit, brain_store_context_fn done, void *ctx) {
    brain_store *s = impl;
    context_call *c = malloc(sizeof *c);
    if (!c) return -1;
    *c = (context_call){.done = done, .ctx = ctx};
    char conv[32], img[32];
    snprintf(conv, sizeof conv, "%lld", conversation_limit);
    snprintf(img, sizeof img, "%lld", image_limit);
    const char *p[] = {project_id, conversation_id, img, conv};
    if (bf_pg_pool_query_prepared(s->pool, BRAIN_STORE_CONTEXT_STMT, context_sql, 4, p, on_context, c) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* Only a row that measured the image: a URL whose analysis failed (mood NULL, docs/
 * image-analysis.md "Failures") is asked for again, the server may have fixed it. */
static const char known_sql[] =
    "SELECT u.url, EXISTS (SELECT 1 FROM image_analysis ia WHERE ia.project_id = $1 "
    "  AND u.url = ANY (ia.image_urls) AND ia.mood IS NOT NULL) "
    "FROM json_array_elements_text($2::json) WITH ORDINALITY AS u(url, n) ORDER BY u.n";

typedef struct known_call {
    brain_store_known_fn done;
    void *ctx;
    size_t n;
    int known[];
} known_call;

static void on_known(void *arg, const PGresult *res, const char *err) {
    known_call *c = arg;
    if (!err)
        for (int i = 0; i < PQntuples(res) && (size_t)i < c->n; i++)
            c->known[i] = strcmp(PQgetvalue(res, i, 1), "t") == 0;
    c->done(c->ctx, c->known, c->n, err);
    free(c);
}

static int known_images(void *impl, const char *project_id, const char *const *urls, size_t n,
                        brain_store_known_fn done, void *ctx) {
    brain_store *s = impl;
    known_call *c = calloc(1, sizeof *c + (n ? n : 1) * sizeof c->known[0]);
    if (!c) return -1;
    c->done = done;
    c->ctx = ctx;
    c->n = n;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateString(urls[i]));
    char *json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    const char *p[] = {project_id, json};
    if (!json || bf_pg_pool_query_prepared(s->pool, "brain_known_images", known_sql, 2, p, on_known, c) != 0) {
        free(json);
        free(c);
        return -1;
    }
    free(json);
    return 0;
}

static size_t pending(void *impl) { return bf_pg_pool_pending(((brain_store *)impl)->pool); }

brain_store_ops brain_store_ops_of(brain_store *s) {
    return (brain_store_ops){.impl = s, .context = context_read, .known_images = known_images, .pending = pending};
}
