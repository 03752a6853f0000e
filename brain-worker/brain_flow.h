/* One request's way to exactly one decision, as a pure state machine the caller drives with HTTP
 * results, so the async stage and the blocking `fleetctl eval` decide the same way:
 *
 *   brain_flow_start    offline -> the rules decide (DONE, reason no_llm);
 *                       the prompt over the token budget -> not sent, the rules decide in fallback
 *                       (DONE, error prompt_over_budget);
 *                       else SEND the first request.
 *   brain_flow_answer   with each HTTP result:
 *                       no response -> rules in fallback (llm_unavailable);
 *                       a non-2xx status after the client's retries, or a 2xx the transport refused
 *                       (cut off, not JSON-typed) -> rules in fallback (llm_failed);
 *                       2xx, classified OK -> DONE by the llm (llm_answer, or llm_repaired on the
 *                       second round);
 *                       REPAIR or REFUSED on the first round -> SEND the repair request (the answer
 *                       and its exact problem appended); on the second -> rules in fallback
 *                       (llm_invalid_answer / llm_refused);
 *                       FAILED -> rules in fallback (llm_invalid_answer).
 * The rules in fallback never publish a destructive call on a guess (brain_rules.h). On DONE the
 * flow holds the answer and how it was reached, ready for brain_outcome. */
#ifndef BRAIN_FLOW_H
#define BRAIN_FLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "bf_msg_brain_decision.h"
#include "brain_llm.h"
#include "brain_prompt.h"
#include "brain_tools.h"

typedef struct brain_flow_input {
    bool llm;                        /* false: offline, the rules decide */
    const brain_tools *tools;        /* required with llm */
    const brain_llm_opts *opts;      /* model, mode, temperature, max tokens */
    long long token_budget;
    const char *user_prompt;
    const char *selected_scene;      /* NULL or "" */
    const brain_prompt_image *images; /* this request's images */
    size_t n_images;
    const brain_context *ctx;
} brain_flow_input;

typedef enum { BRAIN_FLOW_SEND, BRAIN_FLOW_DONE, BRAIN_FLOW_NO_MEMORY } brain_flow_step;

typedef struct brain_flow {
    brain_flow_input in;        /* borrowed pointers: must outlive the flow */
    brain_prompt prompt;        /* owned; tokens, truncation for the decision */
    char *first_body;           /* owned: the first request, kept for the repair */
    int rounds;                 /* requests handed out to send: 0, 1 or 2 */
    /* DONE: */
    brain_answer answer;        /* owned */
    bf_decider decider;
    bf_decided_reason reason;
    bool repair_round;
    const char *repair_code;    /* the verdict code that caused the repair round (metrics), or NULL */
    const char *error_code;     /* NULL, or llm_unavailable, llm_failed, llm_invalid_answer, llm_refused,
                                 * prompt_over_budget */
    char error_message[1024];
    long long prompt_tokens;    /* the server's usage summed over the rounds; the estimate without it */
    long long completion_tokens;
    bool server_usage;          /* prompt_tokens is the server's count */
} brain_flow;

/* Starts f (cleared first) for in. SEND: *body is the first request (malloc'd, caller frees after
 * sending). DONE: decided without the model. NO_MEMORY: nothing usable (clear f). */
brain_flow_step brain_flow_start(brain_flow *f, const brain_flow_input *in, char **body);

/* One HTTP result of the last body sent: status (0 when no response came), the response body,
 * transport_err non-NULL when the call failed (also with a 2xx: a cut-off transfer, a body that is
 * not JSON-typed). SEND: *body is the repair request (malloc'd). */
brain_flow_step brain_flow_answer(brain_flow *f, long status, const char *resp, size_t len, const char *transport_err,
                                  char **body);

void brain_flow_clear(brain_flow *f);

/* "llm", "llm_repaired", "fallback:llm_failed", "rules" ... for logs and eval paths. */
void brain_flow_path(const brain_flow *f, char *out, size_t outlen);

#endif
