/* How the workers address an OpenAI-compatible server: one URL rule for the brain's LLM and the
 * image worker's vision model, and which HTTP statuses are worth another attempt.
 *
 * URL rule (bf_llm_chat_url), for a base URL as users copy it from a provider's page:
 *   - a full endpoint, ".../chat/completions" (a trailing slash or a ?query allowed), is used as is;
 *   - a bare host, "http://host:8000" or "http://host:8000/", gets "/v1/chat/completions";
 *   - any other path is the API base the way OpenAI's SDKs read base_url, and gets
 *     "/chat/completions": "https://api.openai.com/v1", ".../v1/", "https://openrouter.ai/api/v1",
 *     "https://generativelanguage.googleapis.com/v1beta/openai/".
 * A query string stays at the end (Azure's "?api-version=..."). */
#ifndef BF_LLM_ENDPOINT_H
#define BF_LLM_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the chat-completions URL for base into out. Returns 0, or -1 when out is too small or
 * base is empty (out then holds ""). */
int bf_llm_chat_url(const char *base, char *out, size_t outlen);

/* True for the statuses a later attempt may turn into an answer: 408 (request timeout), 409
 * (conflict: a provider's transient lock), 429 (rate limit) and every 5xx. Any other 4xx is the
 * request's own fault (bad key, unknown model, a body the server refuses) and would fail again. */
bool bf_llm_status_retryable(long status);

#endif
