/* One-dimensional PostgreSQL arrays in the binary wire format (what array_send writes and
 * array_recv reads), built from C values: a batch's columns travel as binary array parameters of
 * one statement (INSERT ... SELECT FROM unnest($1::text[], ...), paramFormats 1).
 *
 * Why binary: the server then copies each element instead of scanning a quoted, escaped literal
 * character by character and calling the type's text input on every element (array_in was ~11%
 * of the backends' CPU, float8in and uuid_in more; docs/memory-writer.md "Benchmark").
 *
 * Layout: int32 ndim (0 when empty), int32 has-nulls, int32 element type oid, then for one
 * dimension int32 length and int32 lower bound (1), then per element int32 byte length (-1 for
 * NULL) and the element's binary form. All integers big-endian. */
#ifndef MEMORY_PGBIN_H
#define MEMORY_PGBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_buf.h"

/* Element types, each with the binary form its cells are converted to. */
typedef enum {
    MEMORY_PG_TEXT,   /* the bytes */
    MEMORY_PG_JSONB,  /* version byte 1, then the JSON text (the server still parses it) */
    MEMORY_PG_FLOAT8, /* IEEE 754 double */
    MEMORY_PG_INT4,
    MEMORY_PG_INT8,
    MEMORY_PG_BOOL,   /* one byte, 0 or 1 */
    MEMORY_PG_UUID,   /* 16 bytes */
} memory_pgtype;

typedef struct memory_pgbin {
    bf_buf b;            /* header (written by memory_pgbin_data) and elements; b.oom sticky */
    size_t n;            /* elements added */
    memory_pgtype type;
    bool nulls;
    bool bad;            /* a cell did not convert (memory_pgbin_add_cell returned -1) */
} memory_pgbin;

void memory_pgbin_init(memory_pgbin *a, memory_pgtype type);
void memory_pgbin_free(memory_pgbin *a);
/* Empties a for reuse (same type), keeping its buffer. */
void memory_pgbin_reset(memory_pgbin *a);

/* s NULL adds SQL NULL to any type. */
void memory_pgbin_add_text(memory_pgbin *a, const char *s);
void memory_pgbin_add_double(memory_pgbin *a, double v);
void memory_pgbin_add_int(memory_pgbin *a, int64_t v);
void memory_pgbin_add_bool(memory_pgbin *a, bool v);
/* A text cell converted to a's type: decimal text for the numbers, "t"/"f" for bool, the
 * lowercase 8-4-4-4-12 form for uuid (what the contracts' validators let through); NULL adds
 * NULL. -1 when the text is not such a value (nothing added, a->bad set): the caller treats
 * the batch as carrying a bad item, as the server's input function would. */
int memory_pgbin_add_cell(memory_pgbin *a, const char *s);

/* The finished array: its bytes (owned by a, valid until the next change) and their count in
 * *len; NULL after an allocation failure. */
const char *memory_pgbin_data(memory_pgbin *a, int *len);

#endif
