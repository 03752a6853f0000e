/* The LLM prompt: a system prompt (rules; in JSON mode also the functions and the answer format)
 * and a user prompt rendering the context packet and the request.
 *
 * Token count (brain_tokens_count), made to err high, never low: ASCII bytes / 3 (English runs
 * about 4 bytes a token, ids and JSON nearer 3) plus one token per non-ASCII character (a CJK
 * character or an emoji is about one token, not a quarter), rounded up; plus 8 per message. In
 * tools mode the functions travel in the request and are counted too.
 *
 * Budget, in this order, until the count fits:
 *   1. conversation messages, oldest first;
 *   2. image analyses, oldest first;
 *   3. scene relationships, then preferences, lowest confidence first;
 *   4. long scene names shortened (to 120, 40, then 12 characters).
 * Never dropped: the system prompt and functions, the user's request, the selected scene, the
 * storyboard's ids and this request's images. If those alone exceed the budget, over_budget is set
 * and why says so: the stage must not send the prompt but publish an error decision
 * (prompt_over_budget) decided by the rules. */
#ifndef BRAIN_PROMPT_H
#define BRAIN_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "brain_context.h"
#include "brain_llm.h"
#include "brain_tools.h"

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
    long long token_budget;       /* <= 0: no budget */
    const brain_tools *tools;     /* NULL: the legacy JSON-mode prompt (the stage's current path) */
    brain_llm_mode mode;          /* with tools: which system prompt, and whether the functions count */
} brain_prompt_input;

typedef struct brain_prompt {
    char *system; /* owned */
    char *user;   /* owned */
    long long tokens;
    size_t dropped_messages, dropped_images, dropped_memory;
    size_t shortened_scenes; /* scene names cut to fit */
    bool truncated;          /* something was dropped or shortened */
    bool over_budget;
    char why[256];           /* over_budget: "prompt needs about N tokens, over the budget of M ..." */
} brain_prompt;

/* The conservative token count of text (see above). */
long long brain_tokens_count(const char *text);
/* Returns 0, or -1 when out of memory. */
int brain_prompt_build(const brain_prompt_input *in, brain_prompt *out);
void brain_prompt_clear(brain_prompt *p);

#endif
