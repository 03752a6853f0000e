#include "memory_pgbin.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ndim, has-nulls, element oid, length, lower bound: written last, when n is known. */
#define HEADER 20

/* The element type's oid, as array_recv checks it. */
static uint32_t pgtype_oid(memory_pgtype t) {
    /* From PostgreSQL's pg_type.dat; fixed since the types were introduced. */
    switch (t) {
    case MEMORY_PG_TEXT: return 25;
    case MEMORY_PG_JSONB: return 3802;
    case MEMORY_PG_FLOAT8: return 701;
    case MEMORY_PG_INT4: return 23;
    case MEMORY_PG_INT8: return 20;
    case MEMORY_PG_BOOL: return 16;
    case MEMORY_PG_UUID: return 2950;
    }
    return 0;
}

void memory_pgbin_init(memory_pgbin *a, memory_pgtype type) {
    bf_buf_init(&a->b);
    a->n = 0;
    a->type = type;
    a->nulls = false;
    a->bad = false;
}

void memory_pgbin_free(memory_pgbin *a) {
    bf_buf_free(&a->b);
    a->n = 0;
}

void memory_pgbin_reset(memory_pgbin *a) {
    bf_buf_reset(&a->b);
    a->n = 0;
    a->nulls = false;
    a->bad = false;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v) {
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* Room for one element of size bytes after its length word; the pointer to write it to, or
 * NULL (oom, or an element beyond what an int32 length can say). */
static unsigned char *element(memory_pgbin *a, size_t size) {
    if (size > INT32_MAX || !bf_buf_reserve(&a->b, (a->b.len ? 0 : HEADER) + 4 + size)) {
        a->b.oom = true;
        return NULL;
    }
    if (a->b.len == 0) a->b.len = HEADER;
    unsigned char *p = (unsigned char *)a->b.buf + a->b.len;
    put32(p, (uint32_t)size);
    a->b.len += 4 + size;
    a->n++;
    return p + 4;
}

static void add_null(memory_pgbin *a) {
    unsigned char *p = element(a, 0);
    if (!p) return;
    put32(p - 4, UINT32_MAX); /* length -1 */
    a->nulls = true;
}

void memory_pgbin_add_text(memory_pgbin *a, const char *s) {
    if (!s) {
        add_null(a);
        return;
    }
    size_t l = strlen(s), pre = a->type == MEMORY_PG_JSONB;
    unsigned char *p = element(a, pre + l);
    if (!p) return;
    if (pre) *p = 1; /* jsonb's binary format version */
    memcpy(p + pre, s, l);
}

void memory_pgbin_add_double(memory_pgbin *a, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    unsigned char *p = element(a, 8);
    if (p) put64(p, bits);
}

void memory_pgbin_add_int(memory_pgbin *a, int64_t v) {
    unsigned char *p = element(a, a->type == MEMORY_PG_INT4 ? 4 : 8);
    if (!p) return;
    if (a->type == MEMORY_PG_INT4) put32(p, (uint32_t)(int32_t)v);
    else put64(p, (uint64_t)v);
}

void memory_pgbin_add_bool(memory_pgbin *a, bool v) {
    unsigned char *p = element(a, 1);
    if (p) *p = v ? 1 : 0;
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The 8-4-4-4-12 form only: every uuid here passed a contract validator that requires it. */
static bool parse_uuid(const char *s, unsigned char out[16]) {
    size_t k = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
            continue;
        }
        int hi = hex(s[i]);
        int lo = hi < 0 ? -1 : hex(s[i + 1]);
        if (lo < 0) return false;
        out[k++] = (unsigned char)(hi << 4 | lo);
        i++;
    }
    return s[36] == '\0';
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *v) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return false;
    *v = x;
    return true;
}

int memory_pgbin_add_cell(memory_pgbin *a, const char *s) {
    if (!s || a->type == MEMORY_PG_TEXT || a->type == MEMORY_PG_JSONB) {
        memory_pgbin_add_text(a, s);
        return 0;
    }
    switch (a->type) {
    case MEMORY_PG_FLOAT8: {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        /* Out of range as float8in has it: overflow, or underflow to zero or a subnormal. */
        if (end == s || *end || (errno == ERANGE && (v == 0 || isinf(v) || fpclassify(v) == FP_SUBNORMAL))) break;
        memory_pgbin_add_double(a, v);
        return 0;
    }
    case MEMORY_PG_INT4:
    case MEMORY_PG_INT8: {
        int64_t v;
        if (!parse_int(s, a->type == MEMORY_PG_INT4 ? INT32_MIN : INT64_MIN,
                       a->type == MEMORY_PG_INT4 ? INT32_MAX : INT64_MAX, &v))
            break;
        memory_pgbin_add_int(a, v);
        return 0;
    }
    case MEMORY_PG_BOOL:
        if (strcmp(s, "t") != 0 && strcmp(s, "f") != 0) break;
        memory_pgbin_add_bool(a, s[0] == 't');
        return 0;
    case MEMORY_PG_UUID: {
        unsigned char u[16];
        if (!parse_uuid(s, u)) break;
        unsigned char *p = element(a, 16);
        if (p) memcpy(p, u, 16);
        return 0;
    }
    case MEMORY_PG_TEXT:
    case MEMORY_PG_JSONB: break;
    }
    a->bad = true;
    return -1;
}

const char *memory_pgbin_data(memory_pgbin *a, int *len) {
    /* Reserving the header also makes an empty array's buffer; b.len stays 0 for it, so adding
     * after this still starts the elements after the header. */
    if (!bf_buf_reserve(&a->b, a->b.len ? 0 : HEADER) || a->b.len > INT_MAX) return NULL;
    unsigned char *p = (unsigned char *)a->b.buf;
    put32(p, a->n ? 1 : 0);
    put32(p + 4, a->nulls ? 1 : 0);
    put32(p + 8, pgtype_oid(a->type));
    if (a->n == 0) {
        *len = 12;
        return a->b.buf;
    }
    put32(p + 12, (uint32_t)a->n);
    put32(p + 16, 1);
    *len = (int)a->b.len;
    return a->b.buf;
}
