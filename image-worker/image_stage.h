/* The image-worker stage on the Kafka runtime: imageAnalysisRequested in; fetch (async, bounded,
 * SSRF-guarded), content-hash cache, decode + built-in analysis, optional vision call; then
 * imageFactsReady out. Fetch and vision calls run concurrently on one bf_http_client registered with
 * the runtime's loop, so a slow image or model never blocks the others or the consumer.
 * Any failure that a retry cannot fix goes to deadLetters with its reason; a vision failure still
 * publishes the built-in facts with the error recorded. */
#ifndef IMAGE_STAGE_H
#define IMAGE_STAGE_H

#include <stddef.h>

#include "bf_http_client.h"
#include "bf_runtime.h"
#include "image_config.h"

typedef struct image_stage image_stage;

/* The network seam: how the stage fetches images and calls the vision model. NULL in
 * image_stage_new: a bf_http_client of the stage's own on the runtime's loop; unit tests pass
 * scripted responses instead. start has bf_http_request_start's contract (cb runs exactly once,
 * never inside start). */
typedef struct image_fetcher {
    void *impl;
    int (*start)(void *impl, const bf_http_request *req, bf_http_done_fn cb, void *cb_ctx, char *err, size_t errlen);
    size_t (*in_flight)(void *impl);
} image_fetcher;

/* cfg and net are borrowed. The stage owns its cache (and its HTTP client when net is NULL).
 * NULL with err. */
image_stage *image_stage_new(bf_runtime *rt, const image_cfg *cfg, const image_fetcher *net, char *err,
                             size_t errlen);
/* Pending fetches are dropped (their messages were abandoned by the stopped runtime). */
void image_stage_free(image_stage *st);

bf_stage_ops image_stage_ops(void);
extern const char *const image_stage_inputs[];
extern const size_t image_stage_n_inputs;
extern const char *const image_stage_outputs[];
extern const size_t image_stage_n_outputs;

#endif
