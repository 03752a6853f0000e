/* Built-in analysis of decoded pixels -> the contract's bf_image_facts (without the per-request
 * fields: trace id, request id and processing time are the stage's). Pure. */
#ifndef IMAGE_FACTS_BUILD_H
#define IMAGE_FACTS_BUILD_H

#include <stddef.h>

#include "bf_msg_image_facts.h"
#include "image_decode.h"

/* Fills facts (freed first) from img, with content_hash and url as its one source. Returns 0,
 * or -1 with err (out of memory). */
int image_facts_build(const image_rgb *img, const char *content_hash, const char *url, bf_image_facts *facts,
                      char *err, size_t errlen);

#endif
