/* The brain's reads from PostgreSQL (it never writes: memory-writer does). Each function is one
 * round trip of parameterised SQL, run on the loop thread under a short statement_timeout. */
#ifndef BRAIN_STORE_H
#define BRAIN_STORE_H

#include <stddef.h>

#include "bf_db.h"

typedef struct brain_store brain_store;

brain_store *brain_store_new(bf_db *db, long long statement_timeout_ms);
void brain_store_free(brain_store *s);

/* The context document brain_context_parse reads (malloc'd, caller frees) for project: its
 * preferences and scene relationships (not expired), scenes in order, the newest image_limit
 * image analyses and the newest conversation_limit messages of conversation_id (of the whole
 * project when conversation_id is NULL). NULL with err when the database cannot answer. */
char *brain_store_context(brain_store *s, const char *project_id, const char *conversation_id,
                          long long conversation_limit, long long image_limit, char *err, size_t errlen);

/* For each of urls, whether the project already has an analysis of it: known[i] receives 1 or 0.
 * Returns 0, or -1 with err (then callers treat every image as new: analysing twice is cheaper
 * than deciding without facts). */
int brain_store_known_images(brain_store *s, const char *project_id, const char *const *urls, size_t n, int *known,
                             char *err, size_t errlen);

#endif
