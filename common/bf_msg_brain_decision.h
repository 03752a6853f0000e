/* brainDecisions (brain-worker -> editor, replay/debug consumers). Two kinds:
 *   "decision": what the brain decided for a request - one tool call, a workflow of ordered tool
 *     calls, or a clarification question - with how it got there (who decided and why, model,
 *     tokens, truncation, timings, degraded context, error);
 *   "image_facts_enriched": facts that arrived after the request was decided.
 * Conventions: bf_msg.h. */
#ifndef BF_MSG_BRAIN_DECISION_H
#define BF_MSG_BRAIN_DECISION_H

#include "bf_envelope.h"
#include "bf_msg.h"
#include "bf_msg_image_facts.h"

typedef enum { BF_DECISION_KIND_DECISION = 0, BF_DECISION_KIND_IMAGE_FACTS_ENRICHED } bf_decision_kind;
typedef enum { BF_DECISION_TOOL = 0, BF_DECISION_WORKFLOW, BF_DECISION_CLARIFICATION } bf_decision_type;

typedef enum {
    BF_TOOL_ADD_SCENE = 0, BF_TOOL_EDIT_SCENE, BF_TOOL_DELETE_SCENE, BF_TOOL_FIX_BROKEN_SCENE,
    BF_TOOL_ANALYZE_IMAGE, BF_TOOL_CREATE_SCENE_FROM_IMAGE, BF_TOOL_EDIT_SCENE_WITH_IMAGE,
    BF_TOOL_CHANGE_DURATION,
} bf_tool;
#define BF_TOOL_COUNT 8

typedef enum {
    BF_EDIT_NONE = 0, /* absent */
    BF_EDIT_SURGICAL, BF_EDIT_CREATIVE, BF_EDIT_STRUCTURAL,
} bf_edit_complexity;

typedef struct bf_tool_call {
    bf_tool tool;
    char *target_scene_id;             /* required by the tools that act on a scene; else NULL */
    bf_edit_complexity edit_complexity;
    char *input;                       /* a JSON object as compact JSON text, <= BF_TOOL_INPUT_MAX */
    char *reasoning;                   /* <= BF_TEXT_MAX; may be NULL */
} bf_tool_call;

/* Who decided and why (payload.decided_by). Optional on the wire (decisions published before it
 * existed lack it); brain-worker always writes it. */
typedef enum { BF_DECIDER_NONE = 0 /* absent */, BF_DECIDER_LLM, BF_DECIDER_RULES } bf_decider;
typedef enum {
    BF_REASON_LLM_ANSWER = 0,       /* llm: its first answer */
    BF_REASON_LLM_REPAIRED,         /* llm: its second answer, after one repair round */
    BF_REASON_NO_LLM,               /* rules: no LLM configured */
    BF_REASON_LLM_FAILED,           /* rules: the LLM answered with an error status */
    BF_REASON_LLM_UNAVAILABLE,      /* rules: no answer (timeout, connection, not sent) */
    BF_REASON_LLM_INVALID_ANSWER,   /* rules: no usable answer, repair round included */
    BF_REASON_LLM_REFUSED,          /* rules: the model refused, repair round included */
    BF_REASON_PROMPT_OVER_BUDGET,   /* rules: the prompt did not fit BRAINFLEET_TOKEN_BUDGET */
} bf_decided_reason;
#define BF_DECIDED_REASONS 8

typedef struct bf_decided_by {
    bf_decider decider;
    bf_decided_reason reason; /* LLM_ANSWER/LLM_REPAIRED for the llm, the others for the rules */
    bool repair_round;        /* the model was sent its problem once (always for LLM_REPAIRED) */
} bf_decided_by;

typedef struct bf_decision_timings {
    int64_t queue_wait_ms, context_ms, llm_ms, total_ms; /* each >= 0 */
} bf_decision_timings;

typedef struct bf_msg_brain_decision {
    bf_envelope env;
    bf_decision_kind kind;
    char request_id[BF_UUID_LEN + 1]; /* the brainRequest answered / enriched */

    /* kind == decision */
    bf_decision_type type;
    bf_tool_call *steps;   /* TOOL: exactly 1; WORKFLOW: 1..BF_WORKFLOW_STEPS_MAX in order */
    size_t n_steps;
    char *question;        /* CLARIFICATION only */
    char *reasoning;       /* overall reasoning (workflow, clarification); may be NULL */
    bool context_degraded; /* the context packet lacked the database */
    bf_strlist image_trace_ids; /* image trace ids whose facts were in the context */
    char *model;           /* "gpt-4o-mini", "rule-based" ... */
    int64_t prompt_tokens, completion_tokens;
    bool prompt_truncated;
    int64_t prompt_budget_tokens;  /* the budget the prompt was fitted to */
    bf_strlist dropped_sections;   /* context sections left out to fit */
    bf_decision_timings timings;
    bf_msg_error error;    /* e.g. llm_timeout with a fallback decision */
    bf_decided_by decided_by;

    /* kind == image_facts_enriched */
    bf_image_facts facts;
} bf_msg_brain_decision;

const char *bf_tool_name(bf_tool t);
int bf_tool_parse(const char *s); /* -1 when unknown */
/* True for tools that act on an existing scene and so need target_scene_id. */
bool bf_tool_needs_scene(bf_tool t);
const char *bf_edit_complexity_name(bf_edit_complexity e); /* NULL for BF_EDIT_NONE */
const char *bf_decider_name(bf_decider d);                 /* NULL for BF_DECIDER_NONE */
const char *bf_decided_reason_name(bf_decided_reason r);

int bf_msg_brain_decision_decode(const char *bytes, size_t len, bf_msg_brain_decision *out, char *err,
                                 size_t errlen);
char *bf_msg_brain_decision_encode(const bf_msg_brain_decision *m, char *err, size_t errlen);
void bf_msg_brain_decision_free(bf_msg_brain_decision *m);

#endif
