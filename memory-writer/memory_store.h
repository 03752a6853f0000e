/* Writes a batch to PostgreSQL in one transaction, with a handful of statements whatever its
 * size: the processed_events ledger first (ON CONFLICT DO NOTHING RETURNING tells which event ids
 * are new), then, for the new ones only, image_analysis and messages (multi-row INSERT ... SELECT
 * FROM unnest(arrays)), the images' claims on preference evidence (preference_evidence: the first
 * event of a project's bytes counts them), the project_memory upserts (the confidence merge rule
 * of memory_confidence.h, in SQL, in its ON CONFLICT DO UPDATE; conversation_context merged field
 * by field instead), and the editor's reports: scenes upserted part by part under their versions,
 * then the scene relationships of live scenes, those of deleted scenes removed, and each
 * relationship's "follows" set from the storyboard as it now is (docs/memory-writer.md).
 *
 * A message replayed, redelivered or raced by another replica finds its event id in the ledger
 * (or waits on the other transaction's index entry, then finds it) and changes nothing. */
#ifndef MEMORY_STORE_H
#define MEMORY_STORE_H

#include <stdbool.h>
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
    MEMORY_MSG_TURN, /* decimal text, NULL when the message has none */
    MEMORY_MSG_COLS
};

/* Writes the active items of b (item.active) in one transaction and sets item.fresh for those
 * whose event id was new. consumer keys the ledger ("memory-writer"). On anything but OK the
 * transaction is rolled back and nothing of it is kept. */
memory_store_status memory_store_write(bf_db *db, memory_batch *b, const char *consumer, char *err, size_t errlen);

const char *memory_store_status_name(memory_store_status s);

/* The same write without blocking, on a connection an event loop drives (memory_sink_pg.c): conn
 * is non-blocking (PQsetnonblocking) and in pipeline mode, and stays so. memory_store_send queues
 * the write; the caller then flushes (PQflush, watching the socket for writing while it returns
 * 1) and calls memory_store_progress whenever the socket is readable, until it returns true; then
 * status says how the write ended (err why), and on OK the active items' fresh flags are set.
 * Every call is non-blocking; each may queue more (flush after each).
 *
 * Phases, each ended by a sync point: [PREPARE of the statements this session lacks,] BEGIN and
 * the ledger insert; then (the effects depend on which event ids the ledger returned) the effects
 * and COMMIT. After a failure the server skips the rest of its phase; ROLLBACK (in a phase of its
 * own) ends the transaction before the write ends, so the connection is ready for the next one.
 * On LOST the write ends at once: the caller closes the connection (that rolls back) and starts a
 * new session, with *prepared cleared.
 *
 * A write inserts the ledger and image_analysis rows without ON CONFLICT (cheaper when nothing
 * conflicts, as nearly always). A batch holding a message seen before then fails with a unique
 * violation: it is rolled back and sent again at once in the safe form (conflict says so), and
 * the next MEMORY_STORE_SAFE_BATCHES writes through the same a use it from the start, since
 * replays come in runs. So a write ends REJECTED only for what the safe form refuses too.
 *
 * Only b's active items are written: while the write is under way they must not change, but
 * items may be appended (inactive), which is how the next batch fills behind this one. */
typedef struct memory_store_async {
    PGconn *conn;
    unsigned *prepared; /* the session's prepared statements, one bit each (the caller's) */
    const char *consumer;
    int phase;          /* 0 idle, 1 ledger, 2 effects, 3 rollback */
    int expect;         /* statement results of this phase still to read */
    int seen;           /* statement results of this phase read */
    int syncs_due;      /* sync points of this phase not read yet */
    unsigned char prep[16]; /* statements prepared in this phase, in order */
    int n_prep;
    PGresult *ledger;
    bool optimistic;    /* this attempt uses the forms without ON CONFLICT */
    bool conflict;      /* the optimistic form met a unique violation: sent again in the safe form */
    int safe_left;      /* writes still to use ON CONFLICT after a unique violation (kept across writes) */
    memory_store_status status;
    char err[1024];
} memory_store_async;

#define MEMORY_STORE_SAFE_BATCHES 64

/* Queues the write of b's active items. Returns OK when it is under way, else how it ended
 * (a->err says why; LOST when libpq refused to queue: close the connection). */
memory_store_status memory_store_send(memory_store_async *a, PGconn *conn, unsigned *prepared, memory_batch *b,
                                      const char *consumer);
/* Reads what the server has answered and queues the next phase. true when the write has ended
 * (a->status), false while it waits for the server. */
bool memory_store_progress(memory_store_async *a, memory_batch *b);
/* A write is under way. */
bool memory_store_busy(const memory_store_async *a);
void memory_store_async_free(memory_store_async *a);

#endif
