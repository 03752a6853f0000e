#include "brain_outcome.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"
#include "brain_strbuf.h"

/* Length of the UTF-8 sequence starting at p (1..4), or 0 when it is not a valid one. */
static size_t utf8_seq(const unsigned char *p) {
    if (p[0] < 0x80) return 1;
    size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;
    if (!n) return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return bf_utf8_valid((const char *)p, n) ? n : 0;
}

/* s without control characters (tab, newline and CR stay when multiline) or invalid UTF-8, cut to
 * at most max bytes on a character boundary ("..." marks a cut). malloc'd; NULL when out of memory. */
static char *clean_text(const char *s, size_t max, bool multiline) {
    brain_strbuf b = {0};
    size_t used = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        size_t n = utf8_seq(p);
        if (!n) {
            p++;
            continue;
        }
        bool control = n == 1 && (*p < 0x20 || *p == 0x7F) && !(multiline && (*p == '\t' || *p == '\n' || *p == '\r'));
        if (!control) {
            if (used + n > max - 3) {
                /* Room for "..." only if something follows: check it would not fit whole. */
                size_t rest = strlen((const char *)p);
                if (used + rest > max) {
                    brain_strbuf_append(&b, "...");
                    break;
                }
            }
            brain_strbuf_appendn(&b, (const char *)p, n);
            used += n;
        }
        p += n;
    }
    char *out = brain_strbuf_take(&b);
    return out ? out : NULL;
}

/* The texts a decision owns, freed together. */
typedef struct owned {
    char *texts[2 * BF_WORKFLOW_STEPS_MAX + 8];
    size_t n;
    bool oom;
} owned;

static char *keep(owned *o, char *s) {
    if (!s) o->oom = true;
    else if (o->n < sizeof o->texts / sizeof o->texts[0]) o->texts[o->n++] = s;
    else {
        free(s);
        o->oom = true;
        return NULL;
    }
    return s;
}

static void release(owned *o) {
    for (size_t i = 0; i < o->n; i++) free(o->texts[i]);
    o->n = 0;
}

static void set_step(owned *own, bf_tool_call *step, brain_tool tool, const char *target, brain_complexity ec,
                     const char *summary, const cJSON *params) {
    memset(step, 0, sizeof *step);
    int t = bf_tool_parse(brain_tool_name(tool));
    step->tool = t < 0 ? BF_TOOL_ADD_SCENE : (bf_tool)t;
    step->target_scene_id = target && target[0] ? (char *)target : NULL;
    step->edit_complexity = ec >= 1 && ec <= 3 ? (bf_edit_complexity)ec : BF_EDIT_NONE;
    step->input = keep(own, params ? cJSON_PrintUnformatted(params) : strdup("{}"));
    step->reasoning = summary ? keep(own, clean_text(summary, BF_TEXT_MAX, true)) : NULL;
}

static const char default_question[] = "Could you tell me more about what you want?";

/* Fills the decision part from the answer; clarify forces a clarification (the fallback). */
static void set_decision(owned *own, bf_msg_brain_decision *d, bf_tool_call *steps, const brain_answer *a, bool clarify) {
    if (clarify || a->tool == BRAIN_TOOL_CLARIFY) {
        d->type = BF_DECISION_CLARIFICATION;
        const char *q = !clarify && a->question ? a->question : "";
        char *clean = keep(own, clean_text(q, BF_TEXT_MAX, true));
        bool blank = true;
        for (const char *p = clean; p && *p; p++)
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') blank = false;
        d->question = blank ? (clarify ? "Sorry, I could not turn that into an edit. Could you say it again, more "
                                         "simply?"
                                       : (char *)default_question)
                            : clean;
        d->reasoning = a->summary && !clarify ? keep(own, clean_text(a->summary, BF_TEXT_MAX, true)) : NULL;
        d->steps = NULL;
        d->n_steps = 0;
        return;
    }
    size_t n = 1 + a->n_then;
    if (n > BF_WORKFLOW_STEPS_MAX) n = BF_WORKFLOW_STEPS_MAX;
    set_step(own, &steps[0], a->tool, a->target_scene, a->edit_complexity, a->summary, a->params);
    for (size_t i = 1; i < n; i++) {
        const brain_step *s = &a->then[i - 1];
        set_step(own, &steps[i], s->tool, s->target_scene, s->edit_complexity, s->summary, s->params);
    }
    d->type = n > 1 ? BF_DECISION_WORKFLOW : BF_DECISION_TOOL;
    d->steps = steps;
    d->n_steps = n;
    /* A workflow's own reasoning: its first step's summary says what the whole does. */
    d->reasoning = n > 1 && a->summary ? keep(own, clean_text(a->summary, BF_TEXT_MAX, true)) : NULL;
}

static void derive_decided_by(const brain_outcome *o, bf_decided_by *out) {
    out->repair_round = o->repair_round;
    if (o->decider != BF_DECIDER_NONE) {
        out->decider = o->decider;
        out->reason = o->reason;
        return;
    }
    if (o->model && *o->model && strcmp(o->model, "rule-based") != 0) {
        out->decider = BF_DECIDER_LLM;
        out->reason = o->repair_round ? BF_REASON_LLM_REPAIRED : BF_REASON_LLM_ANSWER;
        return;
    }
    static const struct {
        const char *code;
        bf_decided_reason reason;
    } map[] = {{"llm_failed", BF_REASON_LLM_FAILED},       {"llm_unavailable", BF_REASON_LLM_UNAVAILABLE},
               {"llm_invalid_answer", BF_REASON_LLM_INVALID_ANSWER}, {"llm_refused", BF_REASON_LLM_REFUSED},
               {"prompt_over_budget", BF_REASON_PROMPT_OVER_BUDGET}};
    out->decider = BF_DECIDER_RULES;
    out->reason = o->error_code ? BF_REASON_LLM_UNAVAILABLE : BF_REASON_NO_LLM;
    for (size_t i = 0; o->error_code && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(o->error_code, map[i].code) == 0) out->reason = map[i].reason;
}

static void set_error(owned *own, bf_msg_brain_decision *d, const char *code, const char *message) {
    d->error.present = code != NULL;
    if (!code) return;
    /* Codes are the brain's own constants; a bad one must not cost the decision. */
    char c[BF_ERROR_CODE_MAX + 1];
    snprintf(c, sizeof c, "%s", code);
    bool ok = c[0] >= 'a' && c[0] <= 'z';
    for (const char *p = c; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) ok = false;
    snprintf(d->error.code, sizeof d->error.code, "%s", ok ? c : "brain_error");
    char *m = keep(own, clean_text(message && *message ? message : code, BF_TEXT_MAX, true));
    d->error.message = m && *m ? m : (char *)d->error.code;
}

char *brain_outcome_decision_encode(const brain_outcome *o, int64_t now_ms, char *err, size_t errlen) {
    bf_msg_brain_decision d;
    memset(&d, 0, sizeof d);
    if (bf_envelope_init(&d.env, BF_SCHEMA_BRAIN_DECISIONS, o->project_id, o->traceparent, "brain-worker", now_ms, err,
                         errlen) != 0)
        return NULL;
    d.kind = BF_DECISION_KIND_DECISION;
    snprintf(d.request_id, sizeof d.request_id, "%s", o->request_id);
    owned own = {.n = 0};
    bf_tool_call steps[BF_WORKFLOW_STEPS_MAX];
    set_decision(&own, &d, steps, o->answer, false);
    d.context_degraded = o->degraded;
    d.image_trace_ids.v = (char **)o->image_trace_ids;
    /* A context may hold more analyses (IMAGE_CONTEXT_LIMIT) than a decision may list: the newest
     * come first, and the rest are cut rather than making the whole decision unencodable. */
    d.image_trace_ids.n = o->n_image_trace_ids < BF_DECISION_IMAGES_MAX ? o->n_image_trace_ids : BF_DECISION_IMAGES_MAX;
    char *model = keep(&own, clean_text(o->model && *o->model ? o->model : "rule-based", BF_MODEL_MAX, false));
    d.model = model && *model ? model : "unknown-model";
    d.prompt_tokens = o->prompt_tokens < 0 ? 0 : o->prompt_tokens > BF_TOKENS_MAX ? BF_TOKENS_MAX : o->prompt_tokens;
    d.completion_tokens = o->completion_tokens < 0                ? 0
                          : o->completion_tokens > BF_TOKENS_MAX ? BF_TOKENS_MAX
                                                                  : o->completion_tokens;
    d.prompt_truncated = o->truncated;
    d.prompt_budget_tokens = o->budget_tokens < 0 ? 0 : o->budget_tokens > BF_TOKENS_MAX ? BF_TOKENS_MAX : o->budget_tokens;
    char *sections[3];
    size_t ns = 0;
    if (o->dropped_messages) sections[ns++] = "conversation";
    if (o->dropped_images) sections[ns++] = "image_facts";
    if (o->dropped_memory) sections[ns++] = "memory";
    d.dropped_sections.v = sections;
    d.dropped_sections.n = ns;
    d.timings = o->timings;
    int64_t *t[] = {&d.timings.queue_wait_ms, &d.timings.context_ms, &d.timings.llm_ms, &d.timings.total_ms};
    for (size_t i = 0; i < 4; i++) *t[i] = *t[i] < 0 ? 0 : *t[i] > BF_TIMING_MAX_MS ? BF_TIMING_MAX_MS : *t[i];
    derive_decided_by(o, &d.decided_by);
    set_error(&own, &d, o->error_code, o->error_message);
    char *out = own.oom ? NULL : bf_msg_brain_decision_encode(&d, err, errlen);
    if (!out && !own.oom && d.type != BF_DECISION_CLARIFICATION) {
        /* The call(s) cannot be published: ask instead, and say why. */
        char why[512];
        snprintf(why, sizeof why, "the decision could not be encoded (%s); asked the user instead", err);
        set_decision(&own, &d, steps, o->answer, true);
        set_error(&own, &d, "decision_unencodable", why);
        out = own.oom ? NULL : bf_msg_brain_decision_encode(&d, err, errlen);
    }
    if (own.oom) snprintf(err, errlen, "out of memory");
    release(&own);
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
