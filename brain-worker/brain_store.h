/* The brain's reads from PostgreSQL (it never writes: memory-writer does), asynchronous: each
 * read is one parameterised statement on a bf_pg_pool registered with the runtime's loop, under a
 * short statement_timeout, and its callback runs later from the loop. Many requests' reads are in
 * flight at once (pipelined over a few connections), so a slow database delays each decision by
 * its own read only, never by the reads queued before it.
 *
 * brain_store_ops is the seam the stage reads through: brain_store_ops_of(store) in production, a
 * scripted fake in the stage's unit tests. */
#ifndef BRAIN_STORE_H
#define BRAIN_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "bf_loop.h"
#include "bf_log.h"

/* doc: the context document brain_context_parse reads (malloc'd; the callee owns it), NULL with
 * err when the database could not answer. */
typedef void (*brain_store_context_fn)(void *ctx, char *doc, const char *err);
/* known[i] is 1 when the project already has an analysis of url i; on failure (err set) every
 * entry is 0 (callers then analyse all: analysing twice is cheaper than deciding without facts). */
typedef void (*brain_store_known_fn)(void *ctx, const int *known, size_t n, const char *err);

typedef struct brain_store_ops {
    void *impl;
    /* The project's preferences and scene relationships (not expired), scenes in order, the newest
     * image_limit image analyses and the newest conversation_limit messages of conversation_id (of
     * the whole project when NULL). Returns 0 (done runs later, exactly once), or -1 when out of
     * memory (done never runs). */
    int (*context)(void *impl, const char *project_id, const char *conversation_id, long long conversation_limit,
                   long long image_limit, brain_store_context_fn done, void *ctx);
    int (*known_images)(void *impl, const char *project_id, const char *const *urls, size_t n,
                        brain_store_known_fn done, void *ctx);
    /* Reads waiting for an answer (a gauge). */
    size_t (*pending)(void *impl);
} brain_store_ops;

typedef struct brain_store brain_store;

/* The context read's prepared statement name: what travels with every read (a benchmark's
 * delaying proxy recognises the read by it). */
#define BRAIN_STORE_CONTEXT_STMT "brain_context_read"

/* pool_size connections to dsn on loop. NULL with err. */
brain_store *brain_store_new(bf_loop *loop, const char *dsn, size_t pool_size, long long statement_timeout_ms,
                             bf_log *log, char *err, size_t errlen);
/* Reads still pending complete with err "cancelled". */
void brain_store_free(brain_store *s);
brain_store_ops brain_store_ops_of(brain_store *s);

#endif
