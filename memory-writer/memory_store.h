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

/* The same write without waiting: memory_store_send queues it on the connection (libpq pipeline
 * mode) and memory_store_progress advances it, from the loop thread, until it returns true; then
 * status says how it ended. On anything but OK it has been rolled back and left nothing, and
 * the caller writes the batch again with memory_store_write (which sorts out retry or rejection).
 * It inserts the ledger and image_analysis rows without ON CONFLICT (cheaper when nothing
 * conflicts, as nearly always), so a batch holding a message seen before fails with a unique
 * violation (REJECTED) and is written again that way; the next MEMORY_STORE_SAFE_BATCHES writes
 * through the same a then use ON CONFLICT from the start, since replays come in runs.
 * Only b's active items are written: while the write is under way they must not change, but
 * items may be appended (inactive), which is how the next batch fills behind this one. */
typedef struct memory_store_async {
    PGconn *conn;
    const char *consumer;
    int phase;      /* 0 idle, 1 BEGIN + ledger queued, 2 effects + COMMIT queued */
    int expect;     /* statement results of this phase still to read */
    int seen;       /* statement results of this phase read */
    bool sync_due;  /* the phase's sync point not read yet */
    PGresult *ledger;
    bool optimistic; /* this write uses the forms without ON CONFLICT */
    bool conflict;   /* it failed on a unique violation of that form: nothing wrong, write again */
    int safe_left;   /* writes still to use ON CONFLICT after a unique violation (kept across writes) */
    memory_store_status status;
    char err[1024];
} memory_store_async;

#define MEMORY_STORE_SAFE_BATCHES 64

memory_store_status memory_store_send(bf_db *db, memory_batch *b, const char *consumer, memory_store_async *a);
/* true when the write has ended (a->status); block waits for the server instead of returning
 * false while it is busy. */
bool memory_store_progress(memory_store_async *a, memory_batch *b, bool block);
/* The socket to poll while a write is under way, -1 when none is. */
int memory_store_socket(const memory_store_async *a);
void memory_store_async_free(memory_store_async *a);

#endif
