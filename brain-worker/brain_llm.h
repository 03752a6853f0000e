/* The LLM edge as pure functions: the chat-completions request bodies (the first one, and the one
 * repair round), and the classification of what comes back. Sending is bf_http_client's job
 * (async, retries, Retry-After).
 *
 * Two modes (BRAINFLEET_LLM_MODE):
 *   - tools: native function calling. The request carries the nine functions of brain_tools.h and
 *     tool_choice "required"; the answer is message.tool_calls. Several calls in one answer are an
 *     ordered workflow.
 *   - json: for servers without function calling. The system prompt lists the same functions with
 *     their argument schemas, response_format is json_object, and the answer is the content
 *     {"tool": name, "arguments": {...}} or {"calls": [{"tool", "arguments"}, ...]}.
 * Either way every call is checked by brain_tools_check_call, so both modes accept exactly the
 * same decisions.
 *
 * Answer classes (brain_llm_classify; the corpus is tests/unit/test_brain_llm.c):
 *   OK       valid call(s): the answer is the decision;
 *   REPAIR   the model can fix it: invalid arguments, an unknown function, arguments that are not
 *            JSON, finish_reason "length" (cut off), too many calls, askClarification beside other
 *            calls, JSON-mode content that is not the answer object;
 *   REFUSED  message.refusal, or text instead of a function call in tools mode;
 *   FAILED   not a chat completion at all (body not JSON, no choices, no message).
 * REPAIR and REFUSED carry the exact problem; the stage sends it back once
 * (brain_llm_repair_request_new) and uses the second answer, or falls back to the rules.
 * Content beside tool calls is commentary and ignored: the calls are the answer. */
#ifndef BRAIN_LLM_H
#define BRAIN_LLM_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "brain_context.h"
#include "brain_decision.h"
#include "brain_tools.h"

typedef enum { BRAIN_LLM_MODE_TOOLS = 0, BRAIN_LLM_MODE_JSON } brain_llm_mode;

/* "tools" | "json" -> mode. Returns 0, or -1 when unknown. */
int brain_llm_mode_parse(const char *s, brain_llm_mode *out);

typedef struct brain_llm_opts {
    const char *model;
    brain_llm_mode mode;
    double temperature;           /* < 0: left out (the server's default) */
    long long max_tokens;         /* <= 0: left out */
    const char *max_tokens_field; /* "max_tokens" (NULL: this) or "max_completion_tokens" */
} brain_llm_opts;

/* The first request: the system and user prompt, and the functions (tools mode) or the JSON
 * answer format (json mode). Returns malloc'd JSON, or NULL with err. */
char *brain_llm_request_new(const brain_llm_opts *o, const brain_tools *tools, const char *system, const char *user,
                            char *err, size_t errlen);

typedef enum {
    BRAIN_LLM_VERDICT_OK = 0,
    BRAIN_LLM_VERDICT_REPAIR,
    BRAIN_LLM_VERDICT_REFUSED,
    BRAIN_LLM_VERDICT_FAILED,
} brain_llm_verdict_kind;

typedef struct brain_llm_verdict {
    brain_llm_verdict_kind kind;
    const char *code;     /* static: "ok", "invalid_arguments", "unknown_tool", "arguments_not_json",
                           * "length", "too_many_calls", "clarification_not_alone", "no_answer_object",
                           * "refusal", "no_tool_call", "not_a_completion", "out_of_memory" */
    char problem[1024];   /* not OK: the exact problem, as sent to the model in the repair round */
    bool content_ignored; /* OK in tools mode with text beside the calls */
    size_t n_calls;       /* calls in the answer (tools mode, or json "calls") */
    long long prompt_tokens, completion_tokens; /* the server's usage; -1 when absent */
    cJSON *followup;      /* owned: REPAIR/REFUSED: the messages the repair request appends */
} brain_llm_verdict;

/* Classifies a 2xx response body. out gets the decision on OK (cleared first, empty otherwise).
 * The verdict must be cleared with brain_llm_verdict_clear. */
brain_llm_verdict_kind brain_llm_classify(const char *body, size_t len, brain_llm_mode mode, const brain_tools *tools,
                                          const brain_tool_env *env, brain_answer *out, brain_llm_verdict *v);
void brain_llm_verdict_clear(brain_llm_verdict *v);

/* The repair request: the first request's body with the model's answer and the problem appended
 * (the answer as the assistant message; the problem as the tool result of each of its calls, or as
 * a user message when it made none). Returns malloc'd JSON, or NULL with err. */
char *brain_llm_repair_request_new(const char *first_body, const brain_llm_verdict *v, char *err, size_t errlen);

/* usage.prompt_tokens / usage.completion_tokens of a response body; 0 when absent. */
long long brain_llm_prompt_tokens(const char *body, size_t len);
long long brain_llm_completion_tokens(const char *body, size_t len);

#endif
