#include "bf_publish.h"

#include <stdio.h>
#include <string.h>

#include "bf_envelope.h"
#include "bf_json_check.h"

/* A traceparent for trace_id with a span from rng. */
static void span_in(const char *trace_id, bf_rng *rng, char out[BF_TRACEPARENT_LEN + 1]) {
    char parent[BF_TRACEPARENT_LEN + 1];
    snprintf(parent, sizeof parent, "00-%s-%016llx-01", trace_id, 1ULL);
    bf_trace_child_rng(parent, rng, out);
}

void bf_publish_input_trace(const char *header, const char *payload, size_t len, bf_rng *rng,
                            char out[BF_TRACEPARENT_LEN + 1]) {
    if (header && bf_trace_parse(header, NULL) == 0) {
        memcpy(out, header, BF_TRACEPARENT_LEN + 1);
        return;
    }
    bf_envelope env;
    char err[64];
    if (payload && bf_envelope_peek(payload, len, &env, err, sizeof err) == 0 && bf_trace_id_valid(env.trace_id)) {
        span_in(env.trace_id, rng, out);
        return;
    }
    bf_trace_new_rng(rng, out);
}

void bf_publish_output_trace(const char *cause_traceparent, const char *trace_id, bf_rng *rng,
                             char out[BF_TRACEPARENT_LEN + 1]) {
    char cause_trace[BF_TRACE_ID_LEN + 1];
    bool valid = trace_id && bf_trace_id_valid(trace_id);
    if (cause_traceparent && bf_trace_parse(cause_traceparent, cause_trace) == 0 &&
        (!valid || strcmp(cause_trace, trace_id) == 0)) {
        bf_trace_child_rng(cause_traceparent, rng, out);
        return;
    }
    if (valid) span_in(trace_id, rng, out);
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
