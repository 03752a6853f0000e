#include "brain_strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(brain_strbuf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void brain_strbuf_appendn(brain_strbuf *b, const char *s, size_t n) {
    if (!reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void brain_strbuf_append(brain_strbuf *b, const char *s) { brain_strbuf_appendn(b, s ? s : "", strlen(s ? s : "")); }

void brain_strbuf_printf(brain_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

bool brain_strbuf_failed(const brain_strbuf *b) { return b->failed; }

char *brain_strbuf_take(brain_strbuf *b) {
    char *d = NULL;
    if (!b->failed) d = b->data ? b->data : strdup("");
    else free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
    return d;
}

void brain_strbuf_free(brain_strbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
