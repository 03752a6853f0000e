/* Decoded messages -> batch rows. imageFactsReady gives an image_analysis row, the preferences
 * its mood and colours imply (memory_preferences.h), gated by its claim on the bytes' evidence,
 * and the imageFactsProcessed to publish after the commit; memoryUpdates gives project_memory
 * upserts and conversation messages; editorEvents give scene rows, scene relationships and the
 * conversation context a decision's outcome implies (docs/memory-writer.md). */
#ifndef MEMORY_EXTRACT_H
#define MEMORY_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "bf_msg_editor_event.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_msg_memory_update.h"
#include "memory_batch.h"

#define MEMORY_PRODUCER "memory-writer"

/* Adds one item for m, which must be as bf_msg_image_facts_ready_decode filled it: the output is
 * written from its facts without decoding it again (bf_msg_image_facts_processed_write).
 * inferred_weight: the evidence weight of one image. wall_ms stamps the output envelope. Returns
 * 0, or -1 with err (the batch is left as it was). */
int memory_extract_image_facts(memory_batch *b, void *cause, const bf_msg_image_facts_ready *m,
                               double inferred_weight, int64_t now_ms, int64_t wall_ms, char *err, size_t errlen);
/* conversation_context items expire at wall_ms + conversation_ms (their own expires_at_ms is not
 * used); scene_relationship items are dropped (relationships come from the editor's reports). */
int memory_extract_memory_update(memory_batch *b, void *cause, const bf_msg_memory_update *m, int64_t now_ms,
                                 int64_t wall_ms, int64_t conversation_ms, char *err, size_t errlen);
/* One item for an editor event; its conversation context expires at wall_ms + conversation_ms. */
int memory_extract_editor_event(memory_batch *b, void *cause, const bf_msg_editor_event *m, int64_t now_ms,
                                int64_t wall_ms, int64_t conversation_ms, char *err, size_t errlen);

#endif
