/* PostgreSQL array literals ('{"a","b",NULL}') built from C values, so a whole batch travels as a
 * few array parameters of one statement (INSERT ... SELECT FROM unnest($1::text[], ...)) instead
 * of one round trip per row. Elements are always quoted and escaped, so any text is safe. */
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
/* Empties a for reuse, keeping its buffer. */
void memory_pgarray_reset(memory_pgarray *a);

/* s NULL adds SQL NULL. */
void memory_pgarray_add(memory_pgarray *a, const char *s);
/* Text PostgreSQL's float8 reads back as the same double (bf_number_exact). */
void memory_pgarray_add_double(memory_pgarray *a, double v);
void memory_pgarray_add_int(memory_pgarray *a, long long v);

/* The literal ("{}" when empty), NUL-terminated and owned by a; NULL after an allocation failure. */
const char *memory_pgarray_text(memory_pgarray *a);

#endif
