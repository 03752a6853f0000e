#include "bf_msg_brain_decision.h"

#include <stdlib.h>
#include <string.h>

#include "bf_msg_codec.h"

static const char *const kind_names[] = {"decision", "image_facts_enriched"};
static const char *const type_names[] = {"tool", "workflow", "clarification"};
static const char *const tool_names[BF_TOOL_COUNT] = {
    "addScene", "editScene", "deleteScene", "fixBrokenScene", "analyzeImage", "createSceneFromImage",
    "editSceneWithImage", "changeDuration",
};
static const char *const decider_names[] = {"llm", "rules"}; /* from BF_DECIDER_LLM */
static const char *const reason_names[BF_DECIDED_REASONS] = {
    "llm_answer", "llm_repaired", "no_llm", "llm_failed", "llm_unavailable", "llm_invalid_answer", "llm_refused",
    "prompt_over_budget",
};
/* Index 0 is BF_EDIT_NONE, which never appears on the wire. */
static const char *const complexity_names[] = {"surgical", "creative", "structural"};

const char *bf_tool_name(bf_tool t) { return (unsigned)t < BF_TOOL_COUNT ? tool_names[t] : NULL; }

int bf_tool_parse(const char *s) {
    for (int i = 0; s && i < BF_TOOL_COUNT; i++)
        if (strcmp(s, tool_names[i]) == 0) return i;
    return -1;
}

bool bf_tool_needs_scene(bf_tool t) {
    return t == BF_TOOL_EDIT_SCENE || t == BF_TOOL_DELETE_SCENE || t == BF_TOOL_FIX_BROKEN_SCENE ||
           t == BF_TOOL_EDIT_SCENE_WITH_IMAGE || t == BF_TOOL_CHANGE_DURATION;
}

const char *bf_edit_complexity_name(bf_edit_complexity e) {
    return e >= BF_EDIT_SURGICAL && e <= BF_EDIT_STRUCTURAL ? complexity_names[e - 1] : NULL;
}

const char *bf_decider_name(bf_decider d) {
    return d == BF_DECIDER_LLM || d == BF_DECIDER_RULES ? decider_names[d - 1] : NULL;
}

const char *bf_decided_reason_name(bf_decided_reason r) {
    return (unsigned)r < BF_DECIDED_REASONS ? reason_names[r] : NULL;
}

static void free_call(bf_tool_call *t) {
    free(t->target_scene_id);
    free(t->input);
    free(t->reasoning);
}

void bf_msg_brain_decision_free(bf_msg_brain_decision *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_steps; i++) free_call(&m->steps[i]);
    free(m->steps);
    free(m->question);
    free(m->reasoning);
    bf_strlist_free(&m->image_trace_ids);
    free(m->model);
    bf_strlist_free(&m->dropped_sections);
    bf_msg_error_free(&m->error);
    bf_image_facts_free(&m->facts);
    memset(m, 0, sizeof *m);
}

static void read_call(bf_jc *c, const cJSON *o, bf_tool_call *t) {
    int v;
    if (!cJSON_IsObject(o)) {
        bf_jc_fail(c, "expected an object");
        return;
    }
    if (bf_jc_enum(c, o, "tool", true, tool_names, BF_TOOL_COUNT, &v) == 0) t->tool = (bf_tool)v;
    bf_jc_ident(c, o, "target_scene_id", false, &t->target_scene_id);
    if (!c->failed && !t->target_scene_id && bf_tool_needs_scene(t->tool))
        bf_jc_fail_at(c, "target_scene_id", "missing (required by %s)", tool_names[t->tool]);
    if (bf_jc_enum(c, o, "edit_complexity", false, complexity_names, 3, &v) == 0 && bf_jc_get(o, "edit_complexity"))
        t->edit_complexity = (bf_edit_complexity)(v + 1);
    bf_jc_json(c, o, "input", true, true, BF_TOOL_INPUT_MAX, &t->input);
    bf_jc_string(c, o, "reasoning", false, 0, BF_TEXT_MAX, true, &t->reasoning);
}

static void read_decision(bf_jc *c, const cJSON *p, bf_msg_brain_decision *m) {
    const cJSON *d, *o;
    int v;
    if (bf_jc_object(c, p, "decision", true, &d) != 0) return;
    size_t md = bf_jc_push_key(c, "decision");
    if (bf_jc_enum(c, d, "type", true, type_names, 3, &v) == 0) m->type = (bf_decision_type)v;
    if (!c->failed && m->type == BF_DECISION_TOOL && bf_jc_object(c, d, "tool_call", true, &o) == 0) {
        m->steps = calloc(1, sizeof *m->steps);
        if (!m->steps) bf_jc_fail(c, "out of memory");
        m->n_steps = 1;
        size_t mk = bf_jc_push_key(c, "tool_call");
        read_call(c, o, &m->steps[0]);
        bf_jc_pop(c, mk);
    } else if (!c->failed && m->type == BF_DECISION_WORKFLOW) {
        size_t n;
        if (bf_jc_array(c, d, "steps", true, 1, BF_WORKFLOW_STEPS_MAX, &o, &n) == 0) {
            m->steps = calloc(n, sizeof *m->steps);
            if (!m->steps) bf_jc_fail(c, "out of memory");
            size_t mk = bf_jc_push_key(c, "steps");
            for (const cJSON *e = o->child; e && !c->failed; e = e->next) {
                size_t mi = bf_jc_push_index(c, m->n_steps);
                read_call(c, e, &m->steps[m->n_steps++]);
                bf_jc_pop(c, mi);
            }
            bf_jc_pop(c, mk);
        }
    } else if (!c->failed && m->type == BF_DECISION_CLARIFICATION) {
        bf_jc_string(c, d, "question", true, 1, BF_TEXT_MAX, true, &m->question);
    }
    bf_jc_string(c, d, "reasoning", false, 0, BF_TEXT_MAX, true, &m->reasoning);
    bf_jc_pop(c, md);
}

static void read_meta(bf_jc *c, const cJSON *p, bf_msg_brain_decision *m) {
    const cJSON *o;
    bf_jc_bool(c, p, "context_degraded", true, &m->context_degraded);
    bf_msg_list_read(c, p, "image_trace_ids", true, 0, BF_DECISION_IMAGES_MAX, 32, BF_LIST_TRACE_ID,
                     &m->image_trace_ids);
    bf_jc_string(c, p, "model", true, 1, BF_MODEL_MAX, false, &m->model);
    if (bf_jc_object(c, p, "tokens", true, &o) == 0) {
        size_t mk = bf_jc_push_key(c, "tokens");
        bf_jc_int(c, o, "prompt", true, 0, BF_TOKENS_MAX, &m->prompt_tokens);
        bf_jc_int(c, o, "completion", true, 0, BF_TOKENS_MAX, &m->completion_tokens);
        bf_jc_pop(c, mk);
    }
    if (bf_jc_object(c, p, "prompt_truncation", true, &o) == 0) {
        size_t mk = bf_jc_push_key(c, "prompt_truncation");
        bf_jc_bool(c, o, "truncated", true, &m->prompt_truncated);
        bf_jc_int(c, o, "budget_tokens", true, 0, BF_TOKENS_MAX, &m->prompt_budget_tokens);
        bf_msg_list_read(c, o, "dropped_sections", false, 0, BF_DROPPED_SECTIONS_MAX, BF_SECTION_NAME_MAX,
                         BF_LIST_TEXT, &m->dropped_sections);
        bf_jc_pop(c, mk);
    }
    if (bf_jc_object(c, p, "timings", true, &o) == 0) {
        size_t mk = bf_jc_push_key(c, "timings");
        bf_jc_int(c, o, "queue_wait_ms", true, 0, BF_TIMING_MAX_MS, &m->timings.queue_wait_ms);
        bf_jc_int(c, o, "context_ms", true, 0, BF_TIMING_MAX_MS, &m->timings.context_ms);
        bf_jc_int(c, o, "llm_ms", true, 0, BF_TIMING_MAX_MS, &m->timings.llm_ms);
        bf_jc_int(c, o, "total_ms", true, 0, BF_TIMING_MAX_MS, &m->timings.total_ms);
        bf_jc_pop(c, mk);
    }
    bf_msg_error_read(c, p, "error", &m->error);
    if (bf_jc_object(c, p, "decided_by", false, &o) == 0 && o) {
        size_t mk = bf_jc_push_key(c, "decided_by");
        int v;
        if (bf_jc_enum(c, o, "decider", true, decider_names, 2, &v) == 0) m->decided_by.decider = (bf_decider)(v + 1);
        if (bf_jc_enum(c, o, "reason", true, reason_names, BF_DECIDED_REASONS, &v) == 0)
            m->decided_by.reason = (bf_decided_reason)v;
        bf_jc_bool(c, o, "repair_round", true, &m->decided_by.repair_round);
        bool llm_reason = m->decided_by.reason <= BF_REASON_LLM_REPAIRED;
        if (!c->failed && llm_reason != (m->decided_by.decider == BF_DECIDER_LLM))
            bf_jc_fail_at(c, "reason", "%s is not a reason of the %s", reason_names[m->decided_by.reason],
                          decider_names[m->decided_by.decider - 1]);
        if (!c->failed && m->decided_by.reason == BF_REASON_LLM_REPAIRED && !m->decided_by.repair_round)
            bf_jc_fail_at(c, "repair_round", "must be true for llm_repaired");
        bf_jc_pop(c, mk);
    }
}

int bf_msg_brain_decision_decode(const char *bytes, size_t len, bf_msg_brain_decision *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    bf_jc c;
    const cJSON *p, *facts;
    int v;
    cJSON *root = bf_msg_decode_begin(bytes, len, BF_SCHEMA_BRAIN_DECISIONS, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    if (bf_jc_enum(&c, p, "kind", true, kind_names, 2, &v) == 0) out->kind = (bf_decision_kind)v;
    bf_jc_uuid(&c, p, "request_id", true, false, out->request_id);
    if (!c.failed && out->kind == BF_DECISION_KIND_DECISION) {
        read_decision(&c, p, out);
        read_meta(&c, p, out);
    } else if (!c.failed && bf_jc_object(&c, p, "facts", true, &facts) == 0) {
        size_t m = bf_jc_push_key(&c, "facts");
        bf_image_facts_read(&c, facts, &out->facts);
        bf_jc_pop(&c, m);
    }
    cJSON_Delete(root);
    if (!c.failed) return 0;
    bf_msg_brain_decision_free(out);
    return -1;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_brain_decision m;
    int r = bf_msg_brain_decision_decode(bytes, len, &m, err, errlen);
    bf_msg_brain_decision_free(&m);
    return r;
}

static cJSON *call_json(const bf_tool_call *t) {
    cJSON *o = cJSON_CreateObject();
    int r = o ? 0 : -1;
    r |= bf_msg_add_string(o, "tool", bf_tool_name(t->tool));
    r |= bf_msg_add_string(o, "target_scene_id", t->target_scene_id);
    r |= bf_msg_add_string(o, "edit_complexity", bf_edit_complexity_name(t->edit_complexity));
    r |= bf_msg_add_json(o, "input", t->input);
    r |= bf_msg_add_string(o, "reasoning", t->reasoning);
    if (r == 0) return o;
    cJSON_Delete(o);
    return NULL;
}

static int add_decision(cJSON *p, const bf_msg_brain_decision *m) {
    cJSON *d = cJSON_AddObjectToObject(p, "decision");
    if (!d) return -1;
    int r = bf_msg_add_string(d, "type", (unsigned)m->type < 3 ? type_names[m->type] : NULL);
    if (m->type == BF_DECISION_TOOL && m->n_steps >= 1) {
        cJSON *o = call_json(&m->steps[0]);
        if (!o) return -1;
        cJSON_AddItemToObject(d, "tool_call", o);
    } else if (m->type == BF_DECISION_WORKFLOW) {
        cJSON *arr = cJSON_AddArrayToObject(d, "steps");
        for (size_t i = 0; arr && i < m->n_steps; i++) {
            cJSON *o = call_json(&m->steps[i]);
            if (!o) return -1;
            cJSON_AddItemToArray(arr, o);
        }
        if (!arr) r = -1;
    } else if (m->type == BF_DECISION_CLARIFICATION) {
        r |= bf_msg_add_string(d, "question", m->question);
    }
    r |= bf_msg_add_string(d, "reasoning", m->reasoning);
    return r;
}

static int add_meta(cJSON *p, const bf_msg_brain_decision *m) {
    int r = 0;
    if (!cJSON_AddBoolToObject(p, "context_degraded", m->context_degraded)) r = -1;
    r |= bf_msg_add_list(p, "image_trace_ids", &m->image_trace_ids);
    r |= bf_msg_add_string(p, "model", m->model);
    cJSON *tok = cJSON_AddObjectToObject(p, "tokens");
    cJSON *tr = cJSON_AddObjectToObject(p, "prompt_truncation");
    cJSON *tim = cJSON_AddObjectToObject(p, "timings");
    if (!tok || !tr || !tim || !cJSON_AddNumberToObject(tok, "prompt", (double)m->prompt_tokens) ||
        !cJSON_AddNumberToObject(tok, "completion", (double)m->completion_tokens) ||
        !cJSON_AddBoolToObject(tr, "truncated", m->prompt_truncated) ||
        !cJSON_AddNumberToObject(tr, "budget_tokens", (double)m->prompt_budget_tokens) ||
        !cJSON_AddNumberToObject(tim, "queue_wait_ms", (double)m->timings.queue_wait_ms) ||
        !cJSON_AddNumberToObject(tim, "context_ms", (double)m->timings.context_ms) ||
        !cJSON_AddNumberToObject(tim, "llm_ms", (double)m->timings.llm_ms) ||
        !cJSON_AddNumberToObject(tim, "total_ms", (double)m->timings.total_ms))
        return -1;
    if (m->dropped_sections.n) r |= bf_msg_add_list(tr, "dropped_sections", &m->dropped_sections);
    r |= bf_msg_add_error(p, "error", &m->error);
    if (m->decided_by.decider != BF_DECIDER_NONE) {
        cJSON *o = cJSON_AddObjectToObject(p, "decided_by");
        if (!o) return -1;
        r |= bf_msg_add_string(o, "decider", bf_decider_name(m->decided_by.decider));
        r |= bf_msg_add_string(o, "reason", bf_decided_reason_name(m->decided_by.reason));
        if (!cJSON_AddBoolToObject(o, "repair_round", m->decided_by.repair_round)) r = -1;
    }
    return r;
}

char *bf_msg_brain_decision_encode(const bf_msg_brain_decision *m, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    int r = p ? 0 : -1;
    r |= bf_msg_add_string(p, "kind", (unsigned)m->kind < 2 ? kind_names[m->kind] : NULL);
    r |= bf_msg_add_string(p, "request_id", m->request_id);
    if (r == 0 && m->kind == BF_DECISION_KIND_DECISION) {
        r |= add_decision(p, m);
        r |= add_meta(p, m);
    } else if (r == 0) {
        cJSON *f = bf_image_facts_to_json(&m->facts);
        if (!f) r = -1;
        else cJSON_AddItemToObject(p, "facts", f);
    }
    if (r != 0) {
        cJSON_Delete(p);
        p = NULL;
    }
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_BRAIN_DECISIONS, p, verify, err, errlen);
}
