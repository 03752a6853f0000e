#include "brain_outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_error(bf_msg_brain_decision *d, const char *code, const char *message) {
    if (!code) return 0;
    d->error.present = true;
    snprintf(d->error.code, sizeof d->error.code, "%s", code);
    /* The codec bounds the message; a long upstream body must not make the decision unpublishable. */
    size_t n = strlen(message ? message : code);
    if (n > BF_TEXT_MAX) n = BF_TEXT_MAX;
    d->error.message = strndup(message ? message : code, n);
    return d->error.message ? 0 : -1;
}

char *brain_outcome_decision_encode(const brain_outcome *o, int64_t now_ms, char *err, size_t errlen) {
    bf_msg_brain_decision d;
    memset(&d, 0, sizeof d);
    if (bf_envelope_init(&d.env, BF_SCHEMA_BRAIN_DECISIONS, o->project_id, o->traceparent, "brain-worker", now_ms, err,
                         errlen) != 0)
        return NULL;
    d.kind = BF_DECISION_KIND_DECISION;
    snprintf(d.request_id, sizeof d.request_id, "%s", o->request_id);
    const brain_answer *a = o->answer;
    bf_tool_call step;
    memset(&step, 0, sizeof step);
    char *input = NULL;
    if (a->tool == BRAIN_TOOL_CLARIFY) {
        d.type = BF_DECISION_CLARIFICATION;
        d.question = a->question && *a->question ? a->question : "Could you tell me more about what you want?";
        d.reasoning = a->summary;
    } else {
        d.type = BF_DECISION_TOOL;
        int t = bf_tool_parse(brain_tool_name(a->tool));
        step.tool = t < 0 ? BF_TOOL_ADD_SCENE : (bf_tool)t;
        step.target_scene_id = a->target_scene[0] ? (char *)a->target_scene : NULL;
        input = a->params ? cJSON_PrintUnformatted(a->params) : strdup("{}");
        if (!input) {
            snprintf(err, errlen, "out of memory");
            return NULL;
        }
        step.input = input;
        step.reasoning = a->summary;
        d.steps = &step;
        d.n_steps = 1;
    }
    d.context_degraded = o->degraded;
    d.image_trace_ids.v = (char **)o->image_trace_ids;
    /* A context may hold more analyses (IMAGE_CONTEXT_LIMIT) than a decision may list: the newest
     * come first, and the rest are cut rather than making the whole decision unencodable. */
    d.image_trace_ids.n = o->n_image_trace_ids < BF_DECISION_IMAGES_MAX ? o->n_image_trace_ids : BF_DECISION_IMAGES_MAX;
    d.model = (char *)(o->model && *o->model ? o->model : "rule-based");
    d.prompt_tokens = o->prompt_tokens;
    d.completion_tokens = o->completion_tokens;
    d.prompt_truncated = o->truncated;
    d.prompt_budget_tokens = o->budget_tokens;
    char *sections[3];
    size_t ns = 0;
    if (o->dropped_messages) sections[ns++] = "conversation";
    if (o->dropped_images) sections[ns++] = "image_facts";
    if (o->dropped_memory) sections[ns++] = "memory";
    d.dropped_sections.v = sections;
    d.dropped_sections.n = ns;
    d.timings = o->timings;
    char *out = NULL;
    if (set_error(&d, o->error_code, o->error_message) == 0) out = bf_msg_brain_decision_encode(&d, err, errlen);
    else snprintf(err, errlen, "out of memory");
    free(d.error.message);
    free(input);
    return out;
}

char *brain_outcome_enrichment_encode(const char *project_id, const char *request_id, const char *traceparent,
                                      const bf_image_facts *facts, int64_t now_ms, char *err, size_t errlen) {
    bf_msg_brain_decision d;
    memset(&d, 0, sizeof d);
    if (bf_envelope_init(&d.env, BF_SCHEMA_BRAIN_DECISIONS, project_id, traceparent, "brain-worker", now_ms, err,
                         errlen) != 0)
        return NULL;
    d.kind = BF_DECISION_KIND_IMAGE_FACTS_ENRICHED;
    snprintf(d.request_id, sizeof d.request_id, "%s", request_id);
    d.facts = *facts; /* shallow: borrowed for the encode only */
    return bf_msg_brain_decision_encode(&d, err, errlen);
}
