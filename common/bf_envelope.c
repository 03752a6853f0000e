#include "bf_envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"
#include "bf_trace.h"
#include "bf_uuid.h"

static const char *const schema_names[] = {
    BF_SCHEMA_BRAIN_REQUESTS, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, BF_SCHEMA_IMAGE_FACTS_READY,
    BF_SCHEMA_IMAGE_FACTS_PROCESSED, BF_SCHEMA_MEMORY_UPDATES, BF_SCHEMA_BRAIN_DECISIONS,
    BF_SCHEMA_DEAD_LETTERS, BF_SCHEMA_EDITOR_EVENTS,
};
#define N_SCHEMAS (sizeof schema_names / sizeof schema_names[0])
/* Above this a produced_at_ms is not a plausible Unix ms time (year ~285,000) and no longer exact. */
#define MAX_TIME_MS 9007199254740991LL

static bool schema_known(const char *s) {
    for (size_t i = 0; i < N_SCHEMAS; i++)
        if (strcmp(s, schema_names[i]) == 0) return true;
    return false;
}

static bool producer_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > BF_PRODUCER_MAX || s[0] < 'a' || s[0] > 'z') return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return false;
    return true;
}

int bf_envelope_check(const bf_envelope *env, char *err, size_t errlen) {
    const char *bad = NULL, *why = NULL;
    if (!schema_known(env->schema)) bad = "schema", why = "not a known schema name";
    else if (env->schema_version < 1 || env->schema_version > BF_SCHEMA_VERSION)
        bad = "schema_version", why = "unsupported version";
    else if (!bf_uuid_v7_valid(env->event_id)) bad = "event_id", why = "not a UUIDv7 (lowercase 8-4-4-4-12 hex, version 7)";
    else if (!bf_trace_id_valid(env->trace_id)) bad = "trace_id", why = "not a trace id (32 lowercase hex, not all zero)";
    else if (!bf_ident_valid(env->project_id))
        bad = "project_id", why = "not an identifier ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 128)";
    else if (env->produced_at_ms < 0 || env->produced_at_ms > MAX_TIME_MS)
        bad = "produced_at_ms", why = "not a Unix time in ms";
    else if (!producer_valid(env->producer)) bad = "producer", why = "not a worker name ([a-z][a-z0-9-]*, at most 48)";
    if (!bad) return 0;
    snprintf(err, errlen, "%s: %s", bad, why);
    return -1;
}

/* Everything bf_envelope_init sets but the trace id, which the caller sets before checking. */
static int envelope_fill(bf_envelope *env, const char *schema, const char *project_id, const char *producer,
                         int64_t now_ms, char *err, size_t errlen) {
    memset(env, 0, sizeof *env);
    snprintf(env->schema, sizeof env->schema, "%s", schema ? schema : "");
    env->schema_version = BF_SCHEMA_VERSION;
    bf_uuid_v7_at(now_ms, env->event_id);
    /* Too long for the buffers means invalid: detect it rather than silently truncate. */
    if (!project_id || strlen(project_id) > BF_ID_MAX || !producer || strlen(producer) > BF_PRODUCER_MAX ||
        (schema && strlen(schema) > BF_SCHEMA_NAME_MAX)) {
        snprintf(err, errlen, "%s", !project_id || strlen(project_id) > BF_ID_MAX ? "project_id: missing or too long"
                                    : !producer || strlen(producer) > BF_PRODUCER_MAX ? "producer: missing or too long"
                                                                                      : "schema: too long");
        return -1;
    }
    snprintf(env->project_id, sizeof env->project_id, "%s", project_id);
    snprintf(env->producer, sizeof env->producer, "%s", producer);
    env->produced_at_ms = now_ms;
    return 0;
}

int bf_envelope_init(bf_envelope *env, const char *schema, const char *project_id, const char *traceparent,
                     const char *producer, int64_t now_ms, char *err, size_t errlen) {
    int rc = envelope_fill(env, schema, project_id, producer, now_ms, err, errlen);
    if (!traceparent || bf_trace_parse(traceparent, env->trace_id) != 0) bf_trace_id_new(env->trace_id);
    return rc == 0 ? bf_envelope_check(env, err, errlen) : -1;
}

int bf_envelope_init_in_trace(bf_envelope *env, const char *schema, const char *project_id, const char *trace_id,
                              const char *producer, int64_t now_ms, char *err, size_t errlen) {
    if (envelope_fill(env, schema, project_id, producer, now_ms, err, errlen) != 0) return -1;
    snprintf(env->trace_id, sizeof env->trace_id, "%s", trace_id ? trace_id : "");
    return bf_envelope_check(env, err, errlen);
}

char *bf_envelope_encode(const bf_envelope *env, const cJSON *payload, char *err, size_t errlen) {
    if (bf_envelope_check(env, err, errlen) != 0) return NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON *ref = payload ? cJSON_CreateObjectReference(payload->child) : NULL;
    char *out = NULL;
    if (o && ref && cJSON_AddStringToObject(o, "schema", env->schema) &&
        cJSON_AddNumberToObject(o, "schema_version", env->schema_version) &&
        cJSON_AddStringToObject(o, "event_id", env->event_id) &&
        cJSON_AddStringToObject(o, "trace_id", env->trace_id) &&
        cJSON_AddStringToObject(o, "project_id", env->project_id) &&
        cJSON_AddNumberToObject(o, "produced_at_ms", (double)env->produced_at_ms) &&
        cJSON_AddStringToObject(o, "producer", env->producer)) {
        cJSON_AddItemToObject(o, "payload", ref);
        ref = NULL;
        out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(ref);
    cJSON_Delete(o);
    if (!out) snprintf(err, errlen, "%s", payload ? "out of memory" : "payload: missing");
    return out;
}

static int read_envelope(bf_jc *c, const cJSON *root, const char *expect, bf_envelope *env) {
    memset(env, 0, sizeof *env);
    if (!cJSON_IsObject(root)) return bf_jc_fail(c, "message: expected a JSON object");
    char *s = NULL;
    if (bf_jc_string(c, root, "schema", true, 1, BF_SCHEMA_NAME_MAX, false, &s) == 0) {
        if (!schema_known(s)) bf_jc_fail_at(c, "schema", "not a known schema name");
        else if (expect && strcmp(s, expect) != 0) bf_jc_fail_at(c, "schema", "expected %s", expect);
        else snprintf(env->schema, sizeof env->schema, "%s", s);
    }
    free(s);
    int64_t v = 0;
    if (bf_jc_int(c, root, "schema_version", true, 1, 1000000, &v) == 0 && v > BF_SCHEMA_VERSION)
        bf_jc_fail_at(c, "schema_version", "unsupported version %lld (this build reads up to %d)", (long long)v,
                      BF_SCHEMA_VERSION);
    env->schema_version = (int)v;
    bf_jc_uuid(c, root, "event_id", true, true, env->event_id);
    bf_jc_trace_id(c, root, "trace_id", true, env->trace_id);
    s = NULL;
    if (bf_jc_ident(c, root, "project_id", true, &s) == 0) snprintf(env->project_id, sizeof env->project_id, "%s", s);
    free(s);
    bf_jc_int(c, root, "produced_at_ms", true, 0, MAX_TIME_MS, &env->produced_at_ms);
    s = NULL;
    if (bf_jc_string(c, root, "producer", true, 1, BF_PRODUCER_MAX, false, &s) == 0) {
        if (!producer_valid(s)) bf_jc_fail_at(c, "producer", "not a worker name ([a-z][a-z0-9-]*, at most 48)");
        else snprintf(env->producer, sizeof env->producer, "%s", s);
    }
    free(s);
    return c->failed ? -1 : 0;
}

cJSON *bf_envelope_decode(const char *bytes, size_t len, const char *expect_schema, bf_envelope *env,
                          const cJSON **payload, char *err, size_t errlen) {
    *payload = NULL;
    cJSON *root = bf_json_parse(bytes, len, BF_MSG_MAX_BYTES, BF_MSG_MAX_DEPTH, err, errlen);
    if (!root) {
        memset(env, 0, sizeof *env);
        return NULL;
    }
    bf_jc c;
    bf_jc_init(&c, err, errlen);
    const cJSON *p = NULL;
    if (read_envelope(&c, root, expect_schema, env) == 0) bf_jc_object(&c, root, "payload", true, &p);
    if (c.failed) {
        cJSON_Delete(root);
        return NULL;
    }
    *payload = p;
    return root;
}

int bf_envelope_peek(const char *bytes, size_t len, bf_envelope *env, char *err, size_t errlen) {
    const cJSON *payload;
    cJSON *root = bf_envelope_decode(bytes, len, NULL, env, &payload, err, errlen);
    cJSON_Delete(root);
    return root ? 0 : -1;
}

const char *bf_envelope_version_header(const bf_envelope *env, char buf[12]) {
    snprintf(buf, 12, "%d", env->schema_version);
    return buf;
}
