#include "bf_buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void bf_buf_init(bf_buf *b) { memset(b, 0, sizeof *b); }

void bf_buf_free(bf_buf *b) {
    free(b->buf);
    memset(b, 0, sizeof *b);
}

void bf_buf_reset(bf_buf *b) {
    b->len = 0;
    b->oom = false;
}

bool bf_buf_reserve(bf_buf *b, size_t extra) {
    if (b->oom) return false;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return true;
    /* Small first: most texts here are a few hundred bytes, and glibc serves requests below
     * ~1 KB from per-size caches without the bookkeeping of its larger blocks. */
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *n = realloc(b->buf, cap);
    if (!n) {
        b->oom = true;
        return false;
    }
    b->buf = n;
    b->cap = cap;
    return true;
}

void bf_buf_append(bf_buf *b, const void *s, size_t n) {
    if (!bf_buf_reserve(b, n)) return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

const char *bf_buf_text(bf_buf *b) {
    if (!bf_buf_reserve(b, 0)) return NULL;
    b->buf[b->len] = '\0';
    return b->buf;
}

char *bf_buf_take(bf_buf *b, size_t *len) {
    char *t = bf_buf_text(b) ? b->buf : NULL;
    if (len) *len = t ? b->len : 0;
    if (!t) free(b->buf);
    bf_buf_init(b);
    return t;
}
