/* A growable byte buffer, the one growth policy under every text builder (bf_json_out,
 * memory-writer's array literals, brain-worker's prompts). Room for a terminating NUL is always
 * kept. A failed allocation is sticky (oom): later reservations fail, appends do nothing, so a
 * builder checks once at the end instead of after every piece. */
#ifndef BF_BUF_H
#define BF_BUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bf_buf {
    char *buf; /* owned; NULL until the first reservation */
    size_t len, cap;
    bool oom;
} bf_buf;

void bf_buf_init(bf_buf *b);
void bf_buf_free(bf_buf *b);
/* Empties b for reuse, keeping its memory; clears oom. */
void bf_buf_reset(bf_buf *b);
/* Room for extra more bytes plus a NUL. False (and oom from then on) when it cannot grow. */
bool bf_buf_reserve(bf_buf *b, size_t extra);
/* Appends n bytes (no NUL written). */
void bf_buf_append(bf_buf *b, const void *s, size_t n);
/* The bytes, NUL-terminated, owned by b; NULL after oom. */
const char *bf_buf_text(bf_buf *b);
/* The bytes, NUL-terminated ("" when empty), now the caller's (free); NULL after oom. b is left
 * as after bf_buf_init. len may be NULL. */
char *bf_buf_take(bf_buf *b, size_t *len);

#endif
