/* Where the lanes' batches go: the seam between the stage's logic (memory_stage.c) and the
 * database. memory_sink_pg.c is PostgreSQL through libpq on the event loop; the stage's unit tests
 * script a fake one. Lanes are numbered 0..n-1; each is one connection with at most one write or
 * probe under way.
 *
 * Every callback runs exactly once, from a loop callback (or from settle), never inside the call
 * that started it; the stage may start the lane's next write from it. */
#ifndef MEMORY_SINK_H
#define MEMORY_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory_batch.h"
#include "memory_store.h"

/* st: how the write ended (memory_store_status; OK for a probe that connected). err: why, "" on
 * OK; borrowed for the call. */
typedef void (*memory_sink_done_fn)(void *ctx, memory_store_status st, const char *err);

typedef struct memory_sink_ops {
    /* Writes b's active items in one transaction on the lane's connection (connecting first when
     * it is not up) and, on OK, sets item.fresh for those whose event id was new to the ledger.
     * Until cb, the active items must not change; items may be appended (inactive). On anything
     * but OK nothing of the write is kept. Returns 0, or -1 when out of memory (cb never runs). */
    int (*write)(void *impl, size_t lane, memory_batch *b, memory_sink_done_fn cb, void *ctx);
    /* Connects the lane if it is not up: cb with OK once it is, LOST when it cannot. */
    int (*probe)(void *impl, size_t lane, memory_sink_done_fn cb, void *ctx);
    /* For the revocation only (it blocks): drives the lanes' writes and probes, those their
     * callbacks start included, until none is under way or the loop's clock reaches deadline_ms. */
    void (*settle)(void *impl, int64_t deadline_ms);
    /* Gives up the lane's write or probe under way: its callback never runs, and its transaction
     * may or may not have committed (the connection is closed). */
    void (*cancel)(void *impl, size_t lane);
    /* Reads what the lanes' connections have received and sends what follows from it (a write's
     * next phase), without waiting. For a caller busy for a while outside the loop's callbacks (a
     * run of a few hundred handlers in one turn), so the database is not left idle meanwhile.
     * report false: no callback runs here (a write this ends reports from the loop); true: the
     * writes that have ended, here or in an earlier nudge, report now. May be NULL. */
    void (*nudge)(void *impl, bool report);
    /* Cancels what is under way, like cancel, and frees the sink. */
    void (*free)(void *impl);
} memory_sink_ops;

typedef struct memory_sink {
    void *impl;
    const memory_sink_ops *ops;
} memory_sink;

#endif
