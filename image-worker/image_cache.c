#include "image_cache.h"

#include <stdlib.h>
#include <string.h>

/* A doubly linked list in recency order (head = most recent) over a small open hash table of
 * pointers. Sizes are modest (thousands of entries), so a simple chained table is enough. */
typedef struct entry {
    char *key;
    void *value;
    size_t len;
    int64_t expires_ms;
    struct entry *prev, *next;   /* recency list */
    struct entry *chain;         /* hash bucket */
} entry;

struct image_cache {
    entry **buckets;
    size_t n_buckets;
    entry *head, *tail;
    size_t max_entries, max_bytes;
    int64_t ttl_ms;
    image_cache_stats st;
};

static size_t hash(const char *s) {
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

image_cache *image_cache_new(size_t max_entries, size_t max_bytes, int64_t ttl_ms) {
    image_cache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n_buckets = 64;
    while (c->n_buckets < max_entries) c->n_buckets *= 2;
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    c->ttl_ms = ttl_ms;
    return c;
}

static void unlink_lru(image_cache *c, entry *e) {
    if (e->prev) e->prev->next = e->next;
    else c->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void push_front(image_cache *c, entry *e) {
    e->next = c->head;
    e->prev = NULL;
    if (c->head) c->head->prev = e;
    c->head = e;
    if (!c->tail) c->tail = e;
}

static void remove_entry(image_cache *c, entry *e) {
    entry **pp = &c->buckets[hash(e->key) & (c->n_buckets - 1)];
    while (*pp != e) pp = &(*pp)->chain;
    *pp = e->chain;
    unlink_lru(c, e);
    c->st.entries--;
    c->st.bytes -= e->len;
    free(e->key);
    free(e->value);
    free(e);
}

static entry *find(const image_cache *c, const char *key) {
    for (entry *e = c->buckets[hash(key) & (c->n_buckets - 1)]; e; e = e->chain)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

void image_cache_free(image_cache *c) {
    if (!c) return;
    while (c->head) remove_entry(c, c->head);
    free(c->buckets);
    free(c);
}

int image_cache_put(image_cache *c, const char *key, const void *value, size_t len, int64_t now_ms) {
    if (len > c->max_bytes || c->max_entries == 0) return -1;
    entry *old = find(c, key);
    if (old) remove_entry(c, old);
    while (c->tail && (c->st.entries + 1 > c->max_entries || c->st.bytes + len > c->max_bytes)) {
        remove_entry(c, c->tail);
        c->st.evictions++;
    }
    entry *e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->key = strdup(key);
    e->value = malloc(len ? len : 1);
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        free(e);
        return -1;
    }
    memcpy(e->value, value, len);
    e->len = len;
    e->expires_ms = now_ms + c->ttl_ms;
    size_t b = hash(key) & (c->n_buckets - 1);
    e->chain = c->buckets[b];
    c->buckets[b] = e;
    push_front(c, e);
    c->st.entries++;
    c->st.bytes += len;
    return 0;
}

const void *image_cache_get(image_cache *c, const char *key, size_t *len, int64_t now_ms) {
    entry *e = find(c, key);
    if (e && now_ms >= e->expires_ms) {
        remove_entry(c, e);
        e = NULL;
    }
    if (!e) {
        c->st.misses++;
        return NULL;
    }
    c->st.hits++;
    unlink_lru(c, e);
    push_front(c, e);
    *len = e->len;
    return e->value;
}

image_cache_stats image_cache_stats_get(const image_cache *c) { return c->st; }
