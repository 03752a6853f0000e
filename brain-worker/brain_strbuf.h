/* A growable NUL-terminated string for building prompts. Out of memory is sticky: later appends
 * do nothing and brain_strbuf_failed() tells, so builders check once at the end. */
#ifndef BRAIN_STRBUF_H
#define BRAIN_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "bf_buf.h"

typedef struct brain_strbuf {
    bf_buf b;
} brain_strbuf;

void brain_strbuf_append(brain_strbuf *b, const char *s);
void brain_strbuf_appendn(brain_strbuf *b, const char *s, size_t n);
void brain_strbuf_printf(brain_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool brain_strbuf_failed(const brain_strbuf *b);
/* Hands the string to the caller (who frees it); NULL after a failure. Resets b. */
char *brain_strbuf_take(brain_strbuf *b);
void brain_strbuf_free(brain_strbuf *b);

#endif
