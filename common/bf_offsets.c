#include "bf_offsets.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t offset;
    bool done;
} entry;

/* A ring of entries in offset order: begin appends at the tail, finish marks an entry, and the
 * done prefix is popped from the head. */
typedef struct {
    char *topic;
    int32_t partition;
    entry *ring;
    size_t head, count, cap;
    int64_t to_store; /* advanced commit point not yet drained, -1 when none */
} part;

struct bf_offsets {
    part *parts;
    size_t n, cap;
    size_t in_flight;
};

bf_offsets *bf_offsets_new(void) { return calloc(1, sizeof(bf_offsets)); }

void bf_offsets_free(bf_offsets *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->parts[i].topic);
        free(t->parts[i].ring);
    }
    free(t->parts);
    free(t);
}

static part *find(const bf_offsets *t, const char *topic, int32_t partition) {
    for (size_t i = 0; i < t->n; i++)
        if (t->parts[i].partition == partition && strcmp(t->parts[i].topic, topic) == 0) return &t->parts[i];
    return NULL;
}

static entry *at(part *p, size_t i) { return &p->ring[(p->head + i) % p->cap]; }

int bf_offsets_begin(bf_offsets *t, const char *topic, int32_t partition, int64_t offset) {
    part *p = find(t, topic, partition);
    if (!p) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 8;
            part *parts = realloc(t->parts, cap * sizeof *parts);
            if (!parts) return -1;
            t->parts = parts;
            t->cap = cap;
        }
        p = &t->parts[t->n];
        memset(p, 0, sizeof *p);
        p->topic = strdup(topic);
        if (!p->topic) return -1;
        p->partition = partition;
        p->to_store = -1;
        t->n++;
    }
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        entry *ring = malloc(cap * sizeof *ring);
        if (!ring) return -1;
        for (size_t i = 0; i < p->count; i++) ring[i] = *at(p, i);
        free(p->ring);
        p->ring = ring;
        p->head = 0;
        p->cap = cap;
    }
    p->ring[(p->head + p->count) % p->cap] = (entry){offset, false};
    p->count++;
    t->in_flight++;
    return 0;
}

int64_t bf_offsets_finish(bf_offsets *t, const char *topic, int32_t partition, int64_t offset) {
    part *p = find(t, topic, partition);
    if (!p || p->count == 0) return -1;
    /* Offsets are increasing along the ring: binary search. */
    size_t lo = 0, hi = p->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (at(p, mid)->offset < offset) lo = mid + 1;
        else hi = mid;
    }
    if (lo == p->count || at(p, lo)->offset != offset || at(p, lo)->done) return -1;
    at(p, lo)->done = true;
    t->in_flight--;
    int64_t next = -1;
    while (p->count > 0 && at(p, 0)->done) {
        next = at(p, 0)->offset + 1;
        p->head = (p->head + 1) % p->cap;
        p->count--;
    }
    if (next >= 0) p->to_store = next;
    return next;
}

size_t bf_offsets_drain(bf_offsets *t, bf_offsets_store_fn fn, void *ctx) {
    size_t n = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->parts[i].to_store < 0) continue;
        fn(ctx, t->parts[i].topic, t->parts[i].partition, t->parts[i].to_store);
        t->parts[i].to_store = -1;
        n++;
    }
    return n;
}

void bf_offsets_forget(bf_offsets *t, const char *topic, int32_t partition) {
    part *p = find(t, topic, partition);
    if (!p) return;
    for (size_t i = 0; i < p->count; i++)
        if (!at(p, i)->done) t->in_flight--;
    p->count = 0;
    p->head = 0;
    p->to_store = -1;
}

size_t bf_offsets_in_flight(const bf_offsets *t) { return t->in_flight; }

int64_t bf_offsets_lowest(const bf_offsets *t, const char *topic, int32_t partition) {
    part *p = find(t, topic, partition);
    if (!p) return -1;
    for (size_t i = 0; i < p->count; i++)
        if (!at(p, i)->done) return at(p, i)->offset;
    return -1;
}
