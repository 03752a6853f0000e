#include "brain_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    struct entry *next;
    void *value;
    uint64_t hash;
    char key[];
} entry;

struct brain_map {
    entry **buckets;
    size_t n_buckets;
    size_t count;
};

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

brain_map *brain_map_new(void) {
    brain_map *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->n_buckets = 64;
    m->buckets = calloc(m->n_buckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    return m;
}

void brain_map_free(brain_map *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static entry **find(const brain_map *m, const char *key, uint64_t h) {
    entry **p = &m->buckets[h % m->n_buckets];
    while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0)) p = &(*p)->next;
    return p;
}

void *brain_map_get(const brain_map *m, const char *key) {
    entry **p = find(m, key, fnv1a(key));
    return *p ? (*p)->value : NULL;
}

/* Doubling keeps chains short as the number of live projects grows; a failed grow only costs
 * speed, so it is not an error. */
static void grow(brain_map *m) {
    size_t n = m->n_buckets * 2;
    entry **b = calloc(n, sizeof *b);
    if (!b) return;
    for (size_t i = 0; i < m->n_buckets; i++) {
        entry *e = m->buckets[i];
        while (e) {
            entry *next = e->next;
            e->next = b[e->hash % n];
            b[e->hash % n] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->n_buckets = n;
}

int brain_map_put(brain_map *m, const char *key, void *value) {
    uint64_t h = fnv1a(key);
    entry **p = find(m, key, h);
    if (*p) {
        (*p)->value = value;
        return 0;
    }
    size_t len = strlen(key);
    entry *e = malloc(sizeof *e + len + 1);
    if (!e) return -1;
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *p = e;
    m->count++;
    if (m->count > m->n_buckets * 2) grow(m);
    return 0;
}

void *brain_map_remove(brain_map *m, const char *key) {
    entry **p = find(m, key, fnv1a(key));
    if (!*p) return NULL;
    entry *e = *p;
    void *v = e->value;
    *p = e->next;
    free(e);
    m->count--;
    return v;
}

size_t brain_map_count(const brain_map *m) { return m->count; }

void brain_map_each(const brain_map *m, void (*fn)(const char *key, void *value, void *ctx), void *ctx) {
    for (size_t i = 0; i < m->n_buckets; i++)
        for (entry *e = m->buckets[i]; e; e = e->next) fn(e->key, e->value, ctx);
}
