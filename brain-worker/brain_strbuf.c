#include "brain_strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void brain_strbuf_appendn(brain_strbuf *b, const char *s, size_t n) { bf_buf_append(&b->b, s, n); }

void brain_strbuf_append(brain_strbuf *b, const char *s) { brain_strbuf_appendn(b, s ? s : "", strlen(s ? s : "")); }

void brain_strbuf_printf(brain_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !bf_buf_reserve(&b->b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->b.buf + b->b.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->b.len += (size_t)n;
}

bool brain_strbuf_failed(const brain_strbuf *b) { return b->b.oom; }

char *brain_strbuf_take(brain_strbuf *b) { return bf_buf_take(&b->b, NULL); }

void brain_strbuf_free(brain_strbuf *b) { bf_buf_free(&b->b); }
