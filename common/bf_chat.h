/* Reading an OpenAI-compatible chat completion: the JSON object a model was asked to answer with,
 * taken from choices[0].message.content. Shared by the brain's decision call and the image
 * worker's vision call; what the object must contain is each caller's business. */
#ifndef BF_CHAT_H
#define BF_CHAT_H

#include <stddef.h>

/* The answer object as malloc'd JSON text (caller frees), or NULL with a reason in err:
 * "LLM response is not a JSON object", "LLM response has no choices", "LLM response has no
 * message content", "LLM answer is not a JSON object". The body is untrusted: bounded parse. */
char *bf_chat_answer_object_new(const char *body, size_t len, char *err, size_t errlen);

/* The outermost {...} of content with fences or prose around it removed; malloc'd, or NULL when
 * there is none. Models wrap JSON in ```json fences or a sentence despite being told not to. */
char *bf_chat_extract_object(const char *content);

#endif
