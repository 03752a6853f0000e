/* The memory-writer stage on the Kafka runtime: handlers decode and validate each message into
 * the batch (invalid -> deadLetters) and leave it pending; tick writes the batch when it is full
 * or old, then publishes imageFactsProcessed with each input as its cause and finishes the inputs,
 * so an offset is stored only after the commit and the publication. While PostgreSQL is
 * unreachable consumption is held, /readyz says so, and the batch is retried with backoff.
 * Projects are spread over WRITE_CONNECTIONS lanes, each a connection writing its own batches,
 * so one project's messages are applied in order while lanes write at the same time. */
#ifndef MEMORY_STAGE_H
#define MEMORY_STAGE_H

#include "bf_db.h"
#include "bf_metrics.h"
#include "bf_runtime.h"
#include "memory_config.h"

#define MEMORY_CONSUMER "memory-writer" /* the processed_events ledger's consumer name */

typedef struct memory_stage memory_stage;

/* Opens cfg->write_connections connections to dsn (lazily, on first use); cfg, log and metrics
 * are borrowed. NULL when out of memory. */
memory_stage *memory_stage_new(const memory_cfg *cfg, const char *dsn, bf_log *log, bf_metrics *metrics);
void memory_stage_free(memory_stage *s);

/* handle, tick, wait and revoked, with the stage as ctx. */
bf_stage_ops memory_stage_ops(void);

extern const char *const memory_stage_inputs[];
extern const size_t memory_stage_n_inputs;
extern const char *const memory_stage_outputs[];
extern const size_t memory_stage_n_outputs;

#endif
