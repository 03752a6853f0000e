/* The memory-writer stage (inputs imageFactsReady, memoryUpdates, editorEvents): handlers decode
 * and validate each message into its project's lane
 * (invalid -> deadLetters) and leave it pending; a lane writes its batch when it is full, when its
 * oldest message has waited BATCH_LINGER, or when no message can arrive until a write ends; after
 * the commit it publishes imageFactsProcessed with each input as its cause and finishes the
 * inputs, so an offset is stored only after the commit and the publication's acknowledgement.
 *
 * Projects are spread over WRITE_CONNECTIONS lanes, each a connection with one write under way
 * and the next batch filling behind it, so one project's messages are applied in order while
 * lanes write at the same time. While PostgreSQL is unreachable consumption is held, /readyz says
 * so ("postgres"), and the batches are retried with backoff; a batch the database refuses is
 * written again one message per transaction, and what it still refuses goes to deadLetters.
 *
 * Everything is a callback on the runtime's loop: the lanes' sockets are the sink's watchers,
 * linger and backoff are loop timers. The one wait is the revocation's (see revoked). */
#ifndef MEMORY_STAGE_H
#define MEMORY_STAGE_H

#include "bf_runtime.h"
#include "memory_config.h"
#include "memory_sink.h"

#define MEMORY_CONSUMER "memory-writer" /* the processed_events ledger's consumer name */

typedef struct memory_stage memory_stage;

/* Creates the stage on rt (its loop, clocks, config). sink NULL: PostgreSQL (memory_sink_pg) on
 * the runtime's loop and BRAINFLEET_PG_DSN, owned by the stage; else borrowed (unit tests), and
 * it must outlive the stage. cfg is borrowed. Starts connecting at once; /readyz reports postgres
 * unreachable until it answers. NULL with err. */
memory_stage *memory_stage_new(bf_runtime *rt, const memory_cfg *cfg, const memory_sink *sink, char *err,
                               size_t errlen);
/* Writes under way are cancelled (their messages were abandoned by the stopped runtime). */
void memory_stage_free(memory_stage *s);

bf_stage_ops memory_stage_ops(void);

extern const char *const memory_stage_inputs[];
extern const size_t memory_stage_n_inputs;
extern const char *const memory_stage_outputs[];
extern const size_t memory_stage_n_outputs;

#endif
