/* The LLM prompt: a fixed system prompt (tools, answer format, rules) and a user prompt rendering
 * the context packet and the request.
 *
 * Token estimate: ceil(bytes / 4) over the system and user prompt together. It over-counts
 * non-English text slightly less than it should, but it is cheap, deterministic and the same in
 * the decision, the metrics and the tests.
 *
 * Budget truncation, in this order, until the estimate fits the budget:
 *   1. conversation messages, oldest first;
 *   2. image analyses, oldest first;
 *   3. scene relationships, then preferences, lowest confidence first.
 * Never dropped: the system prompt (tool list), the user's request, the selected scene, the
 * storyboard and this request's images. If those alone exceed the budget the prompt is sent as is
 * and over_budget says so (the LLM may then reject it; that becomes an error decision). */
#ifndef BRAIN_PROMPT_H
#define BRAIN_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "brain_context.h"

typedef struct brain_prompt_image {
    const char *url;
    const char *trace_id; /* the imageAnalysisRequested trace id, "" when already analysed */
} brain_prompt_image;

typedef struct brain_prompt_input {
    const char *user_prompt;
    const char *selected_scene; /* NULL or "" */
    const brain_prompt_image *images;
    size_t n_images;
    const brain_context *ctx;
    long long token_budget;
} brain_prompt_input;

typedef struct brain_prompt {
    char *system; /* owned */
    char *user;   /* owned */
    long long tokens;
    size_t dropped_messages, dropped_images, dropped_memory;
    bool truncated;
    bool over_budget;
} brain_prompt;

long long brain_tokens_estimate(size_t bytes);
/* The system prompt (static text). */
const char *brain_prompt_system(void);
/* Returns 0, or -1 when out of memory. */
int brain_prompt_build(const brain_prompt_input *in, brain_prompt *out);
void brain_prompt_clear(brain_prompt *p);

#endif
