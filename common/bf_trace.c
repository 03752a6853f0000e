#include "bf_trace.h"

#include "bf_rng.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

void bf_random_bytes(void *buf, unsigned n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0) continue; /* EINTR; getrandom does not fail otherwise once the pool is ready */
        p += r;
        n -= (unsigned)r;
    }
}

void bf_random_hex(char *out, unsigned n) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    if (n > sizeof b) n = sizeof b;
    bf_random_bytes(b, n);
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_run(const char *s, unsigned n) {
    int nonzero = 0;
    for (unsigned i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return -1;
        if (c != '0') nonzero = 1;
    }
    return nonzero ? 0 : -1;
}

int bf_trace_id_valid(const char *s) {
    return s && strlen(s) == BF_TRACE_ID_LEN && hex_run(s, BF_TRACE_ID_LEN) == 0;
}

int bf_trace_parse(const char *tp, char trace_id[BF_TRACE_ID_LEN + 1]) {
    if (!tp || strlen(tp) != BF_TRACEPARENT_LEN) return -1;
    if (strncmp(tp, "00-", 3) != 0 || tp[35] != '-' || tp[52] != '-') return -1;
    if (hex_run(tp + 3, 32) != 0 || hex_run(tp + 36, 16) != 0) return -1;
    char f0 = tp[53], f1 = tp[54];
    if (!((f0 >= '0' && f0 <= '9') || (f0 >= 'a' && f0 <= 'f')) || !((f1 >= '0' && f1 <= '9') || (f1 >= 'a' && f1 <= 'f')))
        return -1;
    if (trace_id) {
        memcpy(trace_id, tp + 3, BF_TRACE_ID_LEN);
        trace_id[BF_TRACE_ID_LEN] = '\0';
    }
    return 0;
}

void bf_trace_new(char out[BF_TRACEPARENT_LEN + 1]) {
    char trace[33], span[17];
    do bf_random_hex(trace, 16); while (hex_run(trace, 32) != 0);
    do bf_random_hex(span, 8); while (hex_run(span, 16) != 0);
    snprintf(out, BF_TRACEPARENT_LEN + 1, "00-%s-%s-01", trace, span);
}

void bf_trace_child(const char *parent, char out[BF_TRACEPARENT_LEN + 1]) {
    char trace[33], span[17];
    if (bf_trace_parse(parent, trace) != 0) {
        bf_trace_new(out);
        return;
    }
    do bf_random_hex(span, 8); while (hex_run(span, 16) != 0);
    snprintf(out, BF_TRACEPARENT_LEN + 1, "00-%s-%s-%c%c", trace, span, parent[53], parent[54]);
}

void bf_trace_id_new(char out[BF_TRACE_ID_LEN + 1]) {
    do bf_random_hex(out, 16); while (hex_run(out, 32) != 0);
}

int bf_trace_from_id(const char *trace_id, char out[BF_TRACEPARENT_LEN + 1]) {
    if (!bf_trace_id_valid(trace_id)) return -1;
    char span[17];
    do bf_random_hex(span, 8); while (hex_run(span, 16) != 0);
    snprintf(out, BF_TRACEPARENT_LEN + 1, "00-%s-%s-01", trace_id, span);
    return 0;
}

/* 16 hex digits of a non-zero 64-bit value. By hand, like the traceparents below: the runtime
 * makes one or two per message, and snprintf was most of their cost. */
static void rng_hex16(bf_rng *rng, char out[16]) {
    static const char hex[] = "0123456789abcdef";
    uint64_t v;
    do v = bf_rng_next(rng); while (v == 0);
    for (int i = 15; i >= 0; i--, v >>= 4) out[i] = hex[v & 15];
}

/* "00-<trace>-<span>-<flags>" from its parts (32, 16 and 2 characters). */
static void traceparent_put(const char *trace, const char *span, const char *flags,
                            char out[BF_TRACEPARENT_LEN + 1]) {
    memcpy(out, "00-", 3);
    memcpy(out + 3, trace, 32);
    out[35] = '-';
    memcpy(out + 36, span, 16);
    out[52] = '-';
    memcpy(out + 53, flags, 2);
    out[BF_TRACEPARENT_LEN] = '\0';
}

void bf_trace_new_rng(bf_rng *rng, char out[BF_TRACEPARENT_LEN + 1]) {
    char trace[32], span[16];
    rng_hex16(rng, trace);
    rng_hex16(rng, trace + 16);
    rng_hex16(rng, span);
    traceparent_put(trace, span, "01", out);
}

void bf_trace_child_rng(const char *parent, bf_rng *rng, char out[BF_TRACEPARENT_LEN + 1]) {
    char span[16];
    if (bf_trace_parse(parent, NULL) != 0) {
        bf_trace_new_rng(rng, out);
        return;
    }
    rng_hex16(rng, span);
    traceparent_put(parent + 3, span, parent + 53, out);
}

void bf_trace_span_in_rng(const char *trace_id, const char *flags, bf_rng *rng, char out[BF_TRACEPARENT_LEN + 1]) {
    char span[16];
    rng_hex16(rng, span);
    traceparent_put(trace_id, span, flags, out);
}
