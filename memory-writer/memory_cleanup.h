/* Retention (`memory-writer cleanup`): deletes image analyses and conversation context past their
 * retention and memory rows past expires_at, a bounded number of rows per statement so no table
 * is locked for long and replicas keep writing meanwhile. Preferences and scene relationships
 * have no retention (only an explicit expires_at removes them). */
#ifndef MEMORY_CLEANUP_H
#define MEMORY_CLEANUP_H

#include <stddef.h>

#include "bf_db.h"

typedef struct memory_cleanup_opts {
    long long image_analysis_ms; /* image_analysis.created_at older than this */
    long long conversation_ms;   /* messages and conversation_context memory older than this */
    long long ledger_ms;         /* processed_events of consumer older than this */
    const char *consumer;        /* ledger rows of this consumer only */
    long long batch;             /* rows per DELETE */
} memory_cleanup_opts;

typedef struct memory_cleanup_counts {
    long long image_analyses;
    long long conversation_context;
    long long messages;
    long long expired_memory;
    long long ledger;
} memory_cleanup_counts;

/* Runs every category to completion. Returns 0, or -1 with err (counts hold what was deleted
 * before the failure; each statement commits on its own). */
int memory_cleanup_run(bf_db *db, const memory_cleanup_opts *o, memory_cleanup_counts *out, char *err,
                       size_t errlen);

#endif
