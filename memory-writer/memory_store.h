/* Writes a batch to PostgreSQL in one transaction, with a handful of statements whatever its
 * size: the processed_events ledger first (ON CONFLICT DO NOTHING RETURNING tells which event ids
 * are new), then, for the new ones only, image_analysis and messages (multi-row INSERT ... SELECT
 * FROM unnest(arrays)) and the project_memory upserts (the confidence merge rule of
 * memory_confidence.h, in SQL, in its ON CONFLICT DO UPDATE).
 *
 * A message replayed, redelivered or raced by another replica finds its event id in the ledger
 * (or waits on the other transaction's index entry, then finds it) and changes nothing. */
#ifndef MEMORY_STORE_H
#define MEMORY_STORE_H

#include <stddef.h>

#include "bf_db.h"
#include "memory_batch.h"

typedef enum {
    MEMORY_STORE_OK = 0,
    MEMORY_STORE_LOST,      /* connection gone: hold, retry the same batch later */
    MEMORY_STORE_TRANSIENT, /* deadlock, serialization failure, out of resources: retry */
    MEMORY_STORE_REJECTED,  /* the data itself was refused: find the bad item(s) */
} memory_store_status;

/* Columns of batch->analyses and batch->messages, in this order. */
enum {
    MEMORY_AN_PROJECT_ID, MEMORY_AN_TRACE_ID, MEMORY_AN_REQUEST_ID, MEMORY_AN_CONTENT_HASH,
    MEMORY_AN_IMAGE_URLS,  /* PostgreSQL text[] literal */
    MEMORY_AN_PALETTE,     /* JSON array of {hex, share} */
    MEMORY_AN_MOOD, MEMORY_AN_BRIGHTNESS, MEMORY_AN_CONTRAST, MEMORY_AN_SATURATION, MEMORY_AN_TEMPERATURE,
    MEMORY_AN_WIDTH, MEMORY_AN_HEIGHT, MEMORY_AN_ORIENTATION,
    MEMORY_AN_TYPOGRAPHY, MEMORY_AN_STYLE, MEMORY_AN_LAYOUT, /* JSON or NULL */
    MEMORY_AN_OBJECTS, MEMORY_AN_VISIBLE_TEXT,               /* JSON arrays */
    MEMORY_AN_ANALYSER, MEMORY_AN_MODEL, MEMORY_AN_PROCESSING_MS, MEMORY_AN_SOURCE_EVENT_ID,
    MEMORY_AN_ERROR,       /* JSON {code, message} or NULL */
    MEMORY_AN_COLS
};
enum {
    MEMORY_MSG_MESSAGE_ID, MEMORY_MSG_PROJECT_ID, MEMORY_MSG_CONVERSATION_ID, MEMORY_MSG_ROLE,
    MEMORY_MSG_CONTENT, MEMORY_MSG_CREATED_MS,
    MEMORY_MSG_COLS
};

/* Writes the active items of b (item.active) in one transaction and sets item.fresh for those
 * whose event id was new. consumer keys the ledger ("memory-writer"). On anything but OK the
 * transaction is rolled back and nothing of it is kept. */
memory_store_status memory_store_write(bf_db *db, memory_batch *b, const char *consumer, char *err, size_t errlen);

const char *memory_store_status_name(memory_store_status s);

#endif
