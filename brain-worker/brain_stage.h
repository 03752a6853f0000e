/* The brain-worker stage on the Kafka runtime: brainRequests in, imageAnalysisRequested fan-out,
 * per-project ordering, context packet, LLM (or rules), brainDecisions + memoryUpdates out; and
 * imageFactsProcessed in, for late-arriving facts. main.c wires it; everything it talks to
 * (database, LLM transport) comes in through this interface so tests can swap them. */
#ifndef BRAIN_STAGE_H
#define BRAIN_STAGE_H

#include <stddef.h>

#include "bf_db.h"
#include "bf_log.h"
#include "bf_metrics.h"
#include "bf_runtime.h"
#include "brain_config.h"

typedef struct brain_stage brain_stage;

/* Called once per send, from inside the transport's wait: status is the final HTTP status (0 when
 * no response came); err is NULL only when body is an answer to read, else it says why the call
 * failed, also with a 2xx status (a cut-off transfer, a body that is not JSON). body is borrowed
 * for the call. */
typedef void (*brain_llm_done_fn)(void *job, long status, const char *body, size_t len, const char *err);

/* The LLM transport seam (bf_http_client in production). */
typedef struct brain_llm_transport {
    void *impl;
    /* Starts one POST of the JSON body; done runs later (exactly once). Returns 0, or -1 with err
     * (done then never runs). */
    int (*send)(void *impl, const char *body, void *job, brain_llm_done_fn done, char *err, size_t errlen);
    /* Sleeps like bf_stage_ops.wait, serving transfers (and so calling done) meanwhile. */
    void (*wait)(void *impl, const int *fds, size_t n, int timeout_ms);
    /* Transfers in flight (a gauge). May be NULL. */
    size_t (*in_flight)(void *impl);
} brain_llm_transport;

/* db may be NULL (no database: every packet is degraded); llm NULL or llm->send NULL: rule-based.
 * Everything is borrowed and must outlive the stage. */
brain_stage *brain_stage_new(const brain_cfg *cfg, bf_db *db, const brain_llm_transport *llm, bf_log *log,
                             bf_metrics *metrics);
void brain_stage_free(brain_stage *st);

/* The runtime ops (ctx = the stage), its input topics and the topics it produces to. */
bf_stage_ops brain_stage_ops(const brain_stage *st);
extern const char *const brain_stage_inputs[];
extern const size_t brain_stage_n_inputs;
extern const char *const brain_stage_outputs[];
extern const size_t brain_stage_n_outputs;

#endif
