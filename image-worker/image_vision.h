/* The optional vision-model call as pure functions: the chat-completions request for one image,
 * and the validation of the answer into the vision fields of bf_image_facts. Sending is the
 * stage's job (bf_http_client: async, retries, Retry-After). */
#ifndef IMAGE_VISION_H
#define IMAGE_VISION_H

#include <stddef.h>

#include "bf_msg_image_facts.h"

/* image_ref is either the image's URL or a data: URL of its bytes. Returns malloc'd JSON or NULL
 * when out of memory. */
char *image_vision_request_new(const char *model, const char *image_ref);

/* "data:<mime>;base64,<bytes>" (malloc'd) for bytes of a decoded image type. */
char *image_vision_data_url_new(const void *bytes, size_t len, const char *mime);

/* Validates a chat-completions body and moves typography, style, layout (JSON objects), objects
 * and visible_text (lists of short strings) into facts, replacing what was there. Unknown fields
 * are ignored; every field is optional but at least one must be present. Returns 0, or -1 with a
 * reason (facts untouched): the caller then keeps the builtin facts and records the error. */
int image_vision_parse(const char *body, size_t len, bf_image_facts *facts, char *err, size_t errlen);

#endif
