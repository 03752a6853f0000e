/* Reading an OpenAI-compatible chat completion. Two views of the same body:
 *   - bf_chat_reply_parse: the whole assistant turn of choices[0] (content, refusal, tool calls,
 *     finish_reason, usage), for the brain's function-calling decisions;
 *   - bf_chat_answer_object_new: the JSON object a model was asked to answer with in its content
 *     (JSON mode), shared by the brain's JSON mode and the image worker's vision call.
 * What the answer must contain is each caller's business. Bodies are untrusted: bounded parse. */
#ifndef BF_CHAT_H
#define BF_CHAT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The answer object as malloc'd JSON text (caller frees), or NULL with a reason in err:
 * "LLM response is not a JSON object", "LLM response has no choices", "LLM response has no
 * message content", "LLM answer is not a JSON object". */
char *bf_chat_answer_object_new(const char *body, size_t len, char *err, size_t errlen);

/* The outermost {...} of content with fences or prose around it removed; malloc'd, or NULL when
 * there is none. Models wrap JSON in ```json fences or a sentence despite being told not to. */
char *bf_chat_extract_object(const char *content);

/* At most this many tool calls are read from one answer (more is reported in n_calls_seen). */
#define BF_CHAT_MAX_TOOL_CALLS 32

typedef struct bf_chat_tool_call {
    char *id;        /* "" when the server sent none */
    char *type;      /* "function" normally; "" when absent */
    char *name;      /* function.name; NULL when absent or not a string */
    char *arguments; /* function.arguments as sent (a JSON text, or anything); NULL when absent.
                      * A server that sends an object instead of a string gets it printed. */
} bf_chat_tool_call;

typedef struct bf_chat_reply {
    cJSON *message;      /* choices[0].message as received (owned) */
    const char *content; /* message.content when a non-empty string, else NULL (points into message) */
    const char *refusal; /* message.refusal when a non-empty string, else NULL */
    char *finish_reason;       /* owned: choices[0].finish_reason; NULL when absent */
    bf_chat_tool_call *calls;  /* owned, in order */
    size_t n_calls;
    size_t n_calls_seen;       /* tool_calls entries in the answer (may exceed n_calls) */
    long long prompt_tokens;     /* usage.prompt_tokens; -1 when absent */
    long long completion_tokens; /* usage.completion_tokens; -1 when absent */
} bf_chat_reply;

/* Parses body into out. Returns 0, or -1 with err ("LLM response is not a JSON object", "LLM
 * response has no choices", "LLM response has no message"); out is then empty. */
int bf_chat_reply_parse(const char *body, size_t len, bf_chat_reply *out, char *err, size_t errlen);
void bf_chat_reply_free(bf_chat_reply *r);

/* usage.<field> ("prompt_tokens", "completion_tokens") of a response body; -1 when absent. */
long long bf_chat_usage_tokens(const char *body, size_t len, const char *field);

#endif
