#include "brain_config.h"

#include <stddef.h>

#define F(field) offsetof(brain_cfg, field)
#define NOBOUND 1, 0

const bf_cfg_var brain_cfg_vars[] = {
    {"LLM_URL", BF_CFG_URL, F(llm_url), "", NOBOUND, NULL, 0,
     "OpenAI-compatible API, as providers write it: the base with its version "
     "(https://api.openai.com/v1, http://host:8000/v1; /chat/completions is added), a bare host "
     "(/v1/chat/completions is added) or the full .../chat/completions endpoint. Empty: the "
     "rule-based decider decides, offline (docs/brain-worker.md lists its rules)."},
    {"LLM_API_KEY", BF_CFG_STRING, F(llm_api_key), "", NOBOUND, NULL, BF_CFG_SECRET,
     "Bearer token for BRAINFLEET_LLM_URL. Never logged."},
    {"LLM_MODEL", BF_CFG_STRING, F(llm_model), "gpt-4o-mini", NOBOUND, NULL, 0,
     "Model name sent in each chat-completions request and recorded in every decision."},
    {"LLM_MODE", BF_CFG_ENUM, F(llm_mode), "tools", NOBOUND, "tools|json", 0,
     "tools: native function calling (the tools of docs/tools.md, tool_choice required). json: "
     "for servers without function calling, the same tools described in the prompt and a JSON "
     "answer (response_format json_object)."},
    {"LLM_TEMPERATURE", BF_CFG_DOUBLE, F(llm_temperature), "0.2", -1.0, 2.0, NULL, 0,
     "Sampling temperature of the decision call; low keeps decisions repeatable. -1 leaves it out "
     "(models that only take their default, such as OpenAI's reasoning models)."},
    {"LLM_MAX_TOKENS", BF_CFG_INT, F(llm_max_tokens), "1024", 0, 1000000, NULL, 0,
     "Most tokens the model may answer with; an answer cut off at it gets one repair round. 0 "
     "leaves the limit out of the request."},
    {"LLM_MAX_TOKENS_FIELD", BF_CFG_ENUM, F(llm_max_tokens_field), "max_tokens", NOBOUND,
     "max_tokens|max_completion_tokens", 0,
     "The request field BRAINFLEET_LLM_MAX_TOKENS travels in: max_tokens (vLLM, llama.cpp, Ollama, "
     "most servers) or max_completion_tokens (OpenAI's current name, required by its reasoning "
     "models)."},
    {"LLM_TIMEOUT", BF_CFG_MS, F(llm_timeout_ms), "60s", 100, 600000, NULL, 0,
     "Time limit of one LLM attempt (retries on 429/5xx/timeouts come on top, with backoff)."},
    {"LLM_RETRIES", BF_CFG_INT, F(llm_retries), "3", 0, 20, NULL, 0,
     "Extra attempts after a 429, 5xx, timeout or connection error (exponential backoff with "
     "jitter, Retry-After honoured). After the last one the decision is published with an error."},
    {"TOKEN_BUDGET", BF_CFG_INT, F(token_budget), "120000", 256, 10000000, NULL, 0,
     "Prompt budget in tokens, counted to err high (ASCII bytes/3, one per non-ASCII character, "
     "the tools included). Over it, the oldest conversation messages go first, then the oldest "
     "image analyses, then the least confident memory, then long scene names are shortened; "
     "never the user's request or the tools. Still over: not sent, the rules decide and the "
     "decision carries error prompt_over_budget."},
    {"CONVERSATION_LIMIT", BF_CFG_INT, F(conversation_limit), "10", 0, 1000, NULL, 0,
     "Most recent conversation messages read into the context packet."},
    {"IMAGE_CONTEXT_LIMIT", BF_CFG_INT, F(image_context_limit), "20", 0, 1000, NULL, 0,
     "Most recent image analyses of the project read into the context packet."},
    {"DB_STATEMENT_TIMEOUT", BF_CFG_MS, F(db_statement_timeout_ms), "2s", 10, 60000, NULL, 0,
     "statement_timeout of the context reads: a slow database costs a request at most this before "
     "the brain decides on a degraded packet (a server that does not answer at all is given up "
     "2 s later)."},
    {"DB_POOL_SIZE", BF_CFG_INT, F(db_pool_size), "4", 1, 64, NULL, 0,
     "PostgreSQL connections for the context reads. Each carries many reads at once (pipelined), "
     "so a few are enough; more help only when the database itself is the bottleneck."},
    {"CONTEXT_CACHE_TTL", BF_CFG_MS, F(context_cache_ttl_ms), "0", 0, 3600000, NULL, 0,
     "How long a project's context packet is reused without re-reading PostgreSQL; 0 reads it for "
     "every request. Late-arriving image facts drop the project's cached packet."},
    {"LATE_FACTS_TTL", BF_CFG_MS, F(late_facts_ttl_ms), "15m", 1000, 86400000, NULL, 0,
     "How long a decided request waits for the facts of its images; an enrichment for facts "
     "arriving later is not published."},
    {"LATE_FACTS_MAX", BF_CFG_INT, F(late_facts_max), "100000", 16, 10000000, NULL, 0,
     "Waiting images remembered at most (oldest forgotten first), bounding memory."},
};
const size_t brain_cfg_n = sizeof brain_cfg_vars / sizeof brain_cfg_vars[0];
