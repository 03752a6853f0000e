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

typedef enum {
    MEMORY_ITEM_IMAGE_FACTS = 0,
    MEMORY_ITEM_MEMORY_UPDATES = 1,
    MEMORY_ITEM_EDITOR_EVENTS = 2,
} memory_item_kind;
#define MEMORY_ITEM_KINDS 3

/* Columns of batch->scenes: one row per scene an editor event touches, cells as text, the
 * versions of the parts it sets ("0" for the parts it does not: NULL name/position/duration/
 * description then). The store folds a batch's rows of one scene into one (memory_batch_fold_scenes). */
enum {
    MEMORY_SC_PROJECT_ID, MEMORY_SC_SCENE_ID, MEMORY_SC_NAME, MEMORY_SC_POSITION, MEMORY_SC_DURATION_MS,
    MEMORY_SC_DESCRIPTION, MEMORY_SC_CONTENT_VERSION, MEMORY_SC_POSITION_VERSION, MEMORY_SC_DELETED_VERSION,
    MEMORY_SC_COLS
};
/* Columns of batch->relations: the scene_relationship a scene_created/scene_updated implies. VALUE
 * is a JSON object holding "version"; FROM_IMAGE a JSON object or NULL. */
enum { MEMORY_REL_PROJECT_ID, MEMORY_REL_SCENE_ID, MEMORY_REL_VERSION, MEMORY_REL_VALUE, MEMORY_REL_FROM_IMAGE,
       MEMORY_REL_COLS };
/* Columns of batch->evidence: an image's bytes as preference evidence of a project, claimed by
 * the event that carries them (the first claim counts). */
enum { MEMORY_EV_PROJECT_ID, MEMORY_EV_CONTENT_HASH, MEMORY_EV_EVENT_ID, MEMORY_EV_COLS };

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
    /* Image evidence: applied only when this item's event is the one that counted these bytes
     * (batch->evidence, preference_evidence). NULL: not evidence of an image. */
    char *evidence_hash;
    size_t round;      /* statement it goes into: each key at most once per statement */
} memory_upsert;

typedef struct memory_upsert_in {
    const char *project_id, *memory_type, *key, *value;
    double weight;
    bool is_explicit;
    const char *source;
    int64_t expires_at_ms;
    const char *evidence_hash; /* may be NULL */
} memory_upsert_in;

typedef struct memory_batch {
    memory_item *items;
    size_t n_items, cap_items;
    memory_rows analyses, messages;
    memory_rows scenes, relations, evidence; /* MEMORY_SC_COLS, MEMORY_REL_COLS, MEMORY_EV_COLS */
    memory_upsert *upserts;
    size_t n_upserts, cap_upserts;
    int64_t oldest_ms; /* when the first item arrived (for the linger), 0 when empty */
} memory_batch;

/* analysis_cols, message_cols: the widths of analyses and messages (memory_store.h); the other
 * row sets have the widths above. */
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

/* The rows of active fresh items in rows (keyed by its first two cells: project and scene),
 * folded so each key appears once: a statement may touch a row once, and the merge the store
 * applies is per part "the highest version wins", which is the same whichever order, or in one
 * go. out (rows->n * rows->ncols entries, the caller's) receives one array of rows->ncols cells per
 * folded row, pointing into rows; returns how many rows, SIZE_MAX when out of memory.
 *   scenes: each part (content, position, deletion) from the row with its highest version;
 *   relations: VALUE and VERSION from the row with the highest version, FROM_IMAGE from the first
 *   row that has one.
 * Version cells are decimal text; ties keep the earlier row. */
size_t memory_batch_fold(const memory_batch *b, const memory_rows *rows, bool relations, const char **out);

#endif
