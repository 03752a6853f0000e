/* The LLM edge as pure functions: the /v1/chat/completions request body, and the validation of
 * what comes back. Sending it is bf_http_client's job (async, retries, Retry-After).
 *
 * Answer classes (see tests/unit/test_brain_llm.c for the corpus):
 *   - envelope not JSON, no choices, no message content, content not a JSON object (after stripping
 *     a ``` or ```json fence and surrounding prose), missing or unknown "tool"
 *       -> BRAIN_LLM_INVALID with a reason: the decision carries an error;
 *   - a scene tool without target_scene, or with a scene that is not in the storyboard, or an
 *     image tool with no image to act on
 *       -> BRAIN_LLM_CLARIFIED: the answer became a clarification saying why;
 *   - otherwise BRAIN_LLM_OK. */
#ifndef BRAIN_LLM_H
#define BRAIN_LLM_H

#include <stdbool.h>
#include <stddef.h>

#include "brain_context.h"
#include "brain_decision.h"

typedef enum { BRAIN_LLM_OK = 0, BRAIN_LLM_CLARIFIED = 1, BRAIN_LLM_INVALID = -1 } brain_llm_result;

/* Returns a malloc'd JSON body, or NULL when out of memory. temperature < 0 leaves it out. */
char *brain_llm_request_encode(const char *model, double temperature, const char *system, const char *user);

typedef struct brain_llm_check {
    const brain_context *ctx;   /* storyboard for target validation */
    bool scenes_known;          /* false on a degraded packet: target existence cannot be checked */
    size_t n_request_images;    /* images attached to the request */
    const char *selected_scene; /* NULL or "" */
} brain_llm_check;

/* Parses a chat-completions response body into out (cleared first). */
brain_llm_result brain_llm_parse_response(const char *body, size_t len, const brain_llm_check *chk,
                                          brain_answer *out, char *err, size_t errlen);

/* usage.completion_tokens of a response body, 0 when absent. */
long long brain_llm_completion_tokens(const char *body, size_t len);

#endif
