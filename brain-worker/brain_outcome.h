/* What the brain publishes on brainDecisions: the decision for a request (from an answer plus how
 * it was reached) and the enrichment for late-arriving image facts. Pure: builds and encodes.
 *
 * Exactly one decision per request: every answer a decider produced encodes. Text (summaries,
 * the question, the error message, the model name) loses its control characters and invalid UTF-8
 * and is cut on a character boundary to the contract's bounds; a workflow longer than the contract
 * allows keeps its first steps. If the tool call(s) still cannot be encoded (a target that is not
 * an id, an input over 64 KiB or nested too deep), the decision becomes a clarification asking the
 * user to rephrase, with error decision_unencodable saying why. */
#ifndef BRAIN_OUTCOME_H
#define BRAIN_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_msg_brain_decision.h"
#include "brain_decision.h"

typedef struct brain_outcome {
    const char *project_id;
    const char *request_id;
    const char *traceparent; /* the request's: the decision joins its trace */
    const brain_answer *answer;
    const char *model; /* LLM model, or "rule-based" */
    /* Who decided and why. BF_DECIDER_NONE derives it: model "rule-based" (or NULL) is the rules,
     * with the reason from error_code (llm_failed, llm_unavailable, llm_invalid_answer,
     * llm_refused, prompt_over_budget; none: no_llm); any other model is the llm's first answer. */
    bf_decider decider;
    bf_decided_reason reason;
    bool repair_round;
    bool degraded;
    int64_t prompt_tokens, completion_tokens, budget_tokens;
    bool truncated;
    size_t dropped_messages, dropped_images, dropped_memory;
    const char *const *image_trace_ids; /* images whose facts were in the context */
    size_t n_image_trace_ids;
    bf_decision_timings timings;
    const char *error_code; /* NULL: no error */
    const char *error_message;
} brain_outcome;

/* Returns malloc'd brainDecisions JSON (kind "decision"), or NULL with err. */
char *brain_outcome_decision_encode(const brain_outcome *o, int64_t now_ms, char *err, size_t errlen);

/* Returns malloc'd brainDecisions JSON (kind "image_facts_enriched") for request_id with facts
 * (borrowed), or NULL with err. */
char *brain_outcome_enrichment_encode(const char *project_id, const char *request_id, const char *traceparent,
                                      const bf_image_facts *facts, int64_t now_ms, char *err, size_t errlen);

#endif
