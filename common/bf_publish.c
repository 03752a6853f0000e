#include "bf_publish.h"

#include <stdio.h>
#include <string.h>

#include "bf_envelope.h"
#include "bf_json_check.h"

/* Skips one JSON string starting at p (at its opening quote); returns the position after the
 * closing quote, or NULL when it does not close before end. */
static const char *skip_string(const char *p, const char *end) {
    for (p++; p < end; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return NULL;
}

static const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* Skips one JSON value (nested ones by counting brackets outside strings); NULL when malformed. */
static const char *skip_value(const char *p, const char *end) {
    if (p >= end) return NULL;
    if (*p == '"') return skip_string(p, end);
    if (*p != '{' && *p != '[') {
        while (p < end && *p != ',' && *p != '}' && *p != ']') p++;
        return p;
    }
    size_t depth = 0;
    while (p < end) {
        if (*p == '"') {
            if (!(p = skip_string(p, end))) return NULL;
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
        p++;
    }
    return NULL;
}

/* The envelope's "trace_id" when it is a valid trace id: a scan of the top-level object only,
 * without building a tree (this runs for every message that came without a traceparent header,
 * before the stage parses it properly). Anything odd, and it gives up: a new trace then. */
static bool envelope_trace_id(const char *payload, size_t len, char out[BF_TRACE_ID_LEN + 1]) {
    const char *p = payload, *end = payload + len;
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return false;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"') return false;
        const char *key = p + 1, *after = skip_string(p, end);
        if (!after) return false;
        size_t klen = (size_t)(after - 1 - key);
        p = skip_ws(after, end);
        if (p >= end || *p != ':') return false;
        p = skip_ws(p + 1, end);
        if (klen == 8 && memcmp(key, "trace_id", 8) == 0) {
            if (end - p < BF_TRACE_ID_LEN + 2 || *p != '"' || p[BF_TRACE_ID_LEN + 1] != '"') return false;
            memcpy(out, p + 1, BF_TRACE_ID_LEN);
            out[BF_TRACE_ID_LEN] = '\0';
            return bf_trace_id_valid(out);
        }
        if (!(p = skip_value(p, end))) return false;
        p = skip_ws(p, end);
        if (p >= end || *p != ',') return false;
        p++;
    }
}

void bf_publish_input_trace(const char *header, const char *payload, size_t len, bf_rng *rng,
                            char out[BF_TRACEPARENT_LEN + 1]) {
    if (header && bf_trace_parse(header, NULL) == 0) {
        memcpy(out, header, BF_TRACEPARENT_LEN + 1);
        return;
    }
    char trace[BF_TRACE_ID_LEN + 1];
    if (payload && envelope_trace_id(payload, len, trace)) {
        bf_trace_span_in_rng(trace, "01", rng, out);
        return;
    }
    bf_trace_new_rng(rng, out);
}

void bf_publish_output_trace(const char *cause_traceparent, const char *trace_id, bf_rng *rng,
                             char out[BF_TRACEPARENT_LEN + 1]) {
    /* The common case first, cheaply: an output in its cause's trace (the runtime's inputs always
     * carry a valid traceparent). */
    if (cause_traceparent && trace_id && bf_trace_parse(cause_traceparent, NULL) == 0 &&
        memcmp(cause_traceparent + 3, trace_id, BF_TRACE_ID_LEN) == 0 && trace_id[BF_TRACE_ID_LEN] == '\0') {
        bf_trace_span_in_rng(trace_id, cause_traceparent + 53, rng, out);
        return;
    }
    bool valid = trace_id && bf_trace_id_valid(trace_id);
    if (valid) bf_trace_span_in_rng(trace_id, "01", rng, out);
    else if (cause_traceparent && bf_trace_parse(cause_traceparent, NULL) == 0) bf_trace_child_rng(cause_traceparent, rng, out);
    else bf_trace_new_rng(rng, out);
}

void bf_publish_dead_letter_project(const char *key, size_t key_len, const char *payload, size_t len,
                                    char out[BF_ID_MAX + 1]) {
    bf_envelope env;
    char err[64];
    if (payload && bf_envelope_peek(payload, len, &env, err, sizeof err) == 0 && bf_ident_valid(env.project_id)) {
        snprintf(out, BF_ID_MAX + 1, "%s", env.project_id);
        return;
    }
    if (key && key_len > 0 && key_len <= BF_ID_MAX && !memchr(key, '\0', key_len)) {
        memcpy(out, key, key_len);
        out[key_len] = '\0';
        if (bf_ident_valid(out)) return;
    }
    snprintf(out, BF_ID_MAX + 1, "unknown");
}

void bf_publish_route(bf_envelope *env, const char *schema, const char *project_id, const char *traceparent) {
    memset(env, 0, sizeof *env);
    env->schema_version = BF_SCHEMA_VERSION;
    snprintf(env->schema, sizeof env->schema, "%s", schema);
    snprintf(env->project_id, sizeof env->project_id, "%s", project_id);
    if (traceparent && bf_trace_parse(traceparent, env->trace_id) != 0) env->trace_id[0] = '\0';
}
