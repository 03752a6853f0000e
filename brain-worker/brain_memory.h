/* What a decision teaches the project memory, as one memoryUpdates message:
 *   - conversation: the user's prompt and the decision's summary (or question) as two messages,
 *     ids derived from the request id so a redelivered request never stores them twice (user
 *     message id = request id; assistant id = request id with its last hex digit xor 1);
 *     with the conversation's turn number (user and assistant share it; readers order by it);
 *   - conversation_context "conversation:<id>": the brain's fields of where the conversation
 *     stands after this turn (brain_conversation.h), which memory-writer merges with what it learns
 *     from the editor's reports; it expires with the conversation's retention. Scene relationships
 *     are memory-writer's, derived from what the editor applied, not from what the brain decided;
 *   - user_preference for each preference the prompt states explicitly (explicit, weight 1.0):
 *     a sentence containing "I prefer", "I like", "I love", "I want ... always", "always use",
 *     "please always", "never use", "I hate", "I don't like" becomes key "stated:<phrase>" (the words
 *     after the trigger, lowercase, at most 64 bytes) with value {"statement", "polarity"}. */
#ifndef BRAIN_MEMORY_H
#define BRAIN_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "brain_conversation.h"
#include "brain_decision.h"

typedef struct brain_memory_input {
    const char *project_id;
    const char *request_id;
    int64_t request_produced_ms; /* the request envelope's: with request_id, fixes the event id */
    const char *traceparent;
    const char *conversation_id; /* NULL: "default" */
    const char *prompt;
    const brain_answer *answer;
    const char *const *image_urls;
    size_t n_images;
    long long turn;                         /* the conversation's turn; 0: unnumbered */
    const brain_conversation *conversation; /* state after this turn; NULL: none written */
    int64_t conversation_expires_ms;        /* its expires_at; 0: none */
} brain_memory_input;

/* Returns malloc'd memoryUpdates JSON, or NULL with err. */
char *brain_memory_encode(const brain_memory_input *in, int64_t now_ms, char *err, size_t errlen);

typedef struct brain_stated_pref {
    char key[80];
    char statement[512];
    const char *polarity; /* "prefer" | "avoid" */
} brain_stated_pref;

/* Finds explicit preferences in prompt; returns how many were written to out (at most max). */
size_t brain_memory_stated_preferences(const char *prompt, brain_stated_pref *out, size_t max);

/* The assistant message id for a request id (see above); out gets 37 bytes. */
void brain_memory_assistant_id(const char *request_id, char *out);

#endif
