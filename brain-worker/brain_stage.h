/* The brain-worker stage on the Kafka runtime: brainRequests in, imageAnalysisRequested fan-out,
 * per-project ordering, context packet, LLM (or rules), brainDecisions + memoryUpdates out; and
 * imageFactsProcessed in, for late-arriving facts. main.c wires it; everything it talks to
 * (database reads, LLM transport) comes in through the seams below so unit tests drive it with
 * the fake runtime and scripted fakes.
 *
 * A request's life (docs/brain-worker.md): fan-out (its new images, after one "which of these are
 * known" read) -> queued behind the project's earlier request (parked) -> context read ->
 * awaiting image facts (parked, until they arrive or await_image_facts_ms) -> deciding (LLM or
 * rules) -> published and finished; the project's next request then starts. Parked requests do
 * not hold the runtime's in-flight slots, so one busy project never holds up the others. */
#ifndef BRAIN_STAGE_H
#define BRAIN_STAGE_H

#include <stddef.h>

#include "bf_runtime.h"
#include "brain_config.h"
#include "brain_store.h"

typedef struct brain_stage brain_stage;

/* Called once per send, from a loop callback: status is the final HTTP status (0 when no response
 * came); err is NULL only when body is an answer to read, else it says why the call failed, also
 * with a 2xx status (a cut-off transfer, a body that is not JSON). body is borrowed for the call. */
typedef void (*brain_llm_done_fn)(void *job, long status, const char *body, size_t len, const char *err);

/* The LLM transport seam (bf_http_client on the runtime's loop in production). */
typedef struct brain_llm_transport {
    void *impl;
    /* Starts one POST of the JSON body; done runs later (exactly once, never inside send). Returns
     * 0, or -1 with err (done then never runs). */
    int (*send)(void *impl, const char *body, void *job, brain_llm_done_fn done, char *err, size_t errlen);
    /* Transfers in flight (a gauge). May be NULL. */
    size_t (*in_flight)(void *impl);
} brain_llm_transport;

/* store NULL: no database (every packet is degraded); llm NULL or llm->send NULL: rule-based.
 * cfg, store and llm are borrowed; the seams must stop calling back (brain_stage_close) before
 * they are freed, and the stage is freed after them. */
brain_stage *brain_stage_new(bf_runtime *rt, const brain_cfg *cfg, const brain_store_ops *store,
                             const brain_llm_transport *llm);
/* After the runtime stopped: callbacks that still arrive (cancelled reads and calls) are ignored. */
void brain_stage_close(brain_stage *st);
/* Frees the stage and every request it still held (their messages were abandoned). */
void brain_stage_free(brain_stage *st);

/* The runtime ops (stage = the brain_stage), its input topics and the topics it produces to. */
bf_stage_ops brain_stage_ops(void);
extern const char *const brain_stage_inputs[];
extern const size_t brain_stage_n_inputs;
extern const char *const brain_stage_outputs[];
extern const size_t brain_stage_n_outputs;

#endif
