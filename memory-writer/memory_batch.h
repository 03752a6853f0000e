/* One batch of input messages and the rows they imply, written in one transaction.
 *
 * Every row remembers the item (input message) it came from, so the store can apply only the
 * effects of items whose event id was new to the processed_events ledger, and can retry one item
 * alone when a statement fails on bad data. Pure data: no database, no Kafka. */
#ifndef MEMORY_BATCH_H
#define MEMORY_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_envelope.h"

typedef enum { MEMORY_ITEM_IMAGE_FACTS = 0, MEMORY_ITEM_MEMORY_UPDATES = 1 } memory_item_kind;

typedef struct memory_item {
    void *cause;            /* the input message, finished once the batch is committed */
    memory_item_kind kind;
    char *event_id;
    bf_envelope *out_env;   /* message published after the commit (NULL: none): its envelope */
    char *out_payload;      /* and its bytes */
    size_t out_len;
    bool active;            /* selected for the transaction being built */
    bool fresh;             /* its event id was new to the ledger: apply its effects */
    bool done;              /* committed (or dead-lettered): removed by memory_batch_compact */
} memory_item;

/* Rows of one plain INSERT (image_analysis, messages): ncols text cells (NULL for SQL NULL). */
typedef struct memory_rows {
    size_t ncols;
    size_t n, cap;
    size_t *item;
    char **block; /* n, owned: one allocation per row holding all its cells */
    char **cells; /* n * ncols, pointing into the row's block */
} memory_rows;

/* A project_memory upsert, merged by the confidence rule. */
typedef struct memory_upsert {
    size_t item;
    char *block; /* owned: one allocation holding the strings below */
    char *project_id, *memory_type, *key;
    char *value;       /* JSON */
    double weight;     /* evidence weight w (the row's confidence when it is new) */
    bool is_explicit;
    char *source;      /* provenance: "image", "user", "brain" ... */
    int64_t expires_at_ms; /* Unix ms; -1: never */
    size_t round;      /* statement it goes into: each key at most once per statement */
} memory_upsert;

typedef struct memory_upsert_in {
    const char *project_id, *memory_type, *key, *value;
    double weight;
    bool is_explicit;
    const char *source;
    int64_t expires_at_ms;
} memory_upsert_in;

typedef struct memory_batch {
    memory_item *items;
    size_t n_items, cap_items;
    memory_rows analyses, messages;
    memory_upsert *upserts;
    size_t n_upserts, cap_upserts;
    int64_t oldest_ms; /* when the first item arrived (for the linger), 0 when empty */
} memory_batch;

void memory_batch_init(memory_batch *b, size_t analysis_cols, size_t message_cols);
/* Frees every row and item (not the causes) and empties the batch for reuse. */
void memory_batch_clear(memory_batch *b);
void memory_batch_free(memory_batch *b);

/* Returns the new item's index, or SIZE_MAX when out of memory (nothing added). */
size_t memory_batch_add_item(memory_batch *b, void *cause, memory_item_kind kind, const char *event_id,
                             int64_t now_ms);
/* Sets the message to publish for item after the commit: env (copied: topic, key, trace and
 * headers come from it) and payload (malloc'd, NUL-terminated at len; taken, freed on failure
 * too). Returns 0 or -1 (out of memory). */
int memory_batch_take_output(memory_batch *b, size_t item, const bf_envelope *env, char *payload, size_t len);
/* cells: rows->ncols strings (NULL allowed). Returns 0 or -1. */
int memory_rows_add(memory_rows *rows, size_t item, const char *const *cells);
int memory_batch_add_upsert(memory_batch *b, size_t item, const memory_upsert_in *u);
/* Drops every row of items from..n_items (used when building one item's rows failed midway). */
void memory_batch_truncate(memory_batch *b, size_t n_items);

/* Removes the items marked done and their rows, keeping the others in order (a partly written
 * batch after a connection loss during a row-by-row retry). */
void memory_batch_compact(memory_batch *b);

/* Marks the active items whose event id is in ids (the ids the ledger newly inserted) fresh;
 * when one event id appears in several items, only the first is fresh. Others become not fresh. */
void memory_batch_mark_fresh(memory_batch *b, const char *const *ids, size_t n);

/* Orders the upserts of active fresh items by (project, type, key, arrival) and numbers each
 * key's updates 0, 1, 2 ...: an INSERT ... ON CONFLICT DO UPDATE may touch a row only once, so
 * round r holds each key's r-th update, applied in arrival order. Sorting also gives two
 * concurrent writers one lock order. out receives indices into b->upserts grouped by round
 * (round 0 first); returns how many (and *rounds the number of rounds), or SIZE_MAX when out of
 * memory. out needs n_upserts. */
size_t memory_batch_plan_upserts(memory_batch *b, size_t *out, size_t *rounds);

#endif
