/* The image-worker stage on the Kafka runtime: imageAnalysisRequested in; fetch (async, bounded,
 * SSRF-guarded), content-hash cache, decode + built-in analysis, optional vision call; then
 * imageFactsReady out. Fetch and vision calls run concurrently on one bf_http_client driven by the
 * runtime's loop (ops.wait), so a slow image or model never blocks the others or the poll loop.
 * Any failure that a retry cannot fix goes to deadLetters with its reason; a vision failure still
 * publishes the built-in facts with the error recorded. */
#ifndef IMAGE_STAGE_H
#define IMAGE_STAGE_H

#include <stddef.h>

#include "bf_http_client.h"
#include "bf_log.h"
#include "bf_metrics.h"
#include "bf_runtime.h"
#include "image_config.h"

typedef struct image_stage image_stage;

/* cfg, log and metrics are borrowed. The stage owns its HTTP client and cache. NULL with err. */
image_stage *image_stage_new(const image_cfg *cfg, bf_log *log, bf_metrics *metrics, char *err, size_t errlen);
/* Pending fetches are dropped (their messages were abandoned by the stopped runtime). */
void image_stage_free(image_stage *st);

bf_stage_ops image_stage_ops(void);
extern const char *const image_stage_inputs[];
extern const size_t image_stage_n_inputs;
extern const char *const image_stage_outputs[];
extern const size_t image_stage_n_outputs;

#endif
