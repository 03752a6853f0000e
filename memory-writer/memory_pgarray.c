#include "memory_pgarray.h"

#include <stdlib.h>
#include <string.h>

#include "bf_number_text.h"

void memory_pgarray_init(memory_pgarray *a) { memset(a, 0, sizeof *a); }

void memory_pgarray_free(memory_pgarray *a) {
    free(a->buf);
    memset(a, 0, sizeof *a);
}

void memory_pgarray_reset(memory_pgarray *a) {
    a->len = 0;
    a->n = 0;
    a->oom = false;
}

static bool reserve(memory_pgarray *a, size_t extra) {
    if (a->oom) return false;
    size_t need = a->len + extra + 3; /* '{' at 0 plus '}' and NUL at the end */
    if (need <= a->cap) return true;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < need) cap *= 2;
    char *b = realloc(a->buf, cap);
    if (!b) {
        a->oom = true;
        return false;
    }
    a->buf = b;
    a->cap = cap;
    return true;
}

/* Appends the separator (or the opening brace before the first element). */
static void begin_element(memory_pgarray *a) { a->buf[a->len++] = a->n == 0 ? '{' : ','; }

void memory_pgarray_add(memory_pgarray *a, const char *s) {
    if (!s) {
        if (!reserve(a, 5)) return;
        begin_element(a);
        memcpy(a->buf + a->len, "NULL", 4);
        a->len += 4;
        a->n++;
        return;
    }
    size_t l = strlen(s);
    if (!reserve(a, 2 * l + 3)) return;
    begin_element(a);
    char *o = a->buf + a->len;
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
    a->len = (size_t)(o - a->buf);
    a->n++;
}

void memory_pgarray_add_double(memory_pgarray *a, double v) {
    char t[BF_NUMBER_TEXT_MAX];
    bf_number_exact(v, t);
    memory_pgarray_add(a, t);
}

void memory_pgarray_add_int(memory_pgarray *a, long long v) {
    char t[BF_NUMBER_TEXT_MAX];
    bf_number_int(v, t);
    memory_pgarray_add(a, t);
}

const char *memory_pgarray_text(memory_pgarray *a) {
    if (!reserve(a, 2)) return NULL;
    if (a->n == 0) {
        memcpy(a->buf, "{}", 3);
        return a->buf;
    }
    a->buf[a->len] = '}';
    a->buf[a->len + 1] = '\0';
    return a->buf;
}
