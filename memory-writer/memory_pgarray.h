/* PostgreSQL text[] literals ('{"a","b",NULL}'): an analysis row's image_urls travel as one
 * (a text element of a binary array parameter, memory_pgbin, cast back to text[] per row,
 * because unnest() would flatten an array of arrays). Elements are always quoted and escaped,
 * so any text is safe. */
#ifndef MEMORY_PGARRAY_H
#define MEMORY_PGARRAY_H

#include <stdbool.h>
#include <stddef.h>

#include "bf_buf.h"

typedef struct memory_pgarray {
    bf_buf b;  /* the literal so far; b.oom: an allocation failed, the literal is unusable */
    size_t n;  /* elements added */
} memory_pgarray;

void memory_pgarray_init(memory_pgarray *a);
void memory_pgarray_free(memory_pgarray *a);

/* s NULL adds SQL NULL. */
void memory_pgarray_add(memory_pgarray *a, const char *s);

/* The literal ("{}" when empty), NUL-terminated and owned by a; NULL after an allocation failure. */
const char *memory_pgarray_text(memory_pgarray *a);

#endif
