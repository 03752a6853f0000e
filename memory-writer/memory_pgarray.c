#include "memory_pgarray.h"

#include <stdlib.h>
#include <string.h>


void memory_pgarray_init(memory_pgarray *a) {
    bf_buf_init(&a->b);
    a->n = 0;
}

void memory_pgarray_free(memory_pgarray *a) {
    bf_buf_free(&a->b);
    a->n = 0;
}

/* Room for extra bytes beside the '{' at 0 and the closing '}' (bf_buf keeps the NUL's). */
static bool reserve(memory_pgarray *a, size_t extra) { return bf_buf_reserve(&a->b, extra + 2); }

/* Appends the separator (or the opening brace before the first element). */
static void begin_element(memory_pgarray *a) { a->b.buf[a->b.len++] = a->n == 0 ? '{' : ','; }

void memory_pgarray_add(memory_pgarray *a, const char *s) {
    if (!s) {
        if (!reserve(a, 5)) return;
        begin_element(a);
        memcpy(a->b.buf + a->b.len, "NULL", 4);
        a->b.len += 4;
        a->n++;
        return;
    }
    size_t l = strlen(s);
    if (!reserve(a, 2 * l + 3)) return;
    begin_element(a);
    char *o = a->b.buf + a->b.len;
    *o++ = '"';
    /* Whole runs without a quote or backslash at once: a batch's cells are ~10 MB of text. */
    for (;;) {
        size_t run = strcspn(s, "\"\\");
        memcpy(o, s, run);
        o += run;
        s += run;
        if (!*s) break;
        *o++ = '\\';
        *o++ = *s++;
    }
    *o++ = '"';
    a->b.len = (size_t)(o - a->b.buf);
    a->n++;
}

const char *memory_pgarray_text(memory_pgarray *a) {
    if (!reserve(a, 2)) return NULL;
    if (a->n == 0) {
        memcpy(a->b.buf, "{}", 3);
        return a->b.buf;
    }
    a->b.buf[a->b.len] = '}';
    a->b.buf[a->b.len + 1] = '\0';
    return a->b.buf;
}
