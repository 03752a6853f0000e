/* A bounded cache of analysis results: at most max_entries entries and max_bytes of values, each
 * living ttl_ms. Least recently used entries go first when a bound is reached. Keys are content
 * hashes (identical bytes are analysed once) or URLs (the same URL within the TTL is not even
 * fetched again). Single-threaded; the clock is passed in so tests control time. */
#ifndef IMAGE_CACHE_H
#define IMAGE_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct image_cache image_cache;

image_cache *image_cache_new(size_t max_entries, size_t max_bytes, int64_t ttl_ms);
void image_cache_free(image_cache *c);

/* Stores a copy of value[0..len) under key (replacing an older value). A value larger than
 * max_bytes is not stored. Returns 0, or -1 when not stored. */
int image_cache_put(image_cache *c, const char *key, const void *value, size_t len, int64_t now_ms);

/* The value (owned by the cache, valid until the next put/free) and its length, or NULL when
 * absent or expired. Counts a hit or a miss. */
const void *image_cache_get(image_cache *c, const char *key, size_t *len, int64_t now_ms);

typedef struct image_cache_stats {
    uint64_t hits, misses, evictions;
    size_t entries, bytes;
} image_cache_stats;
image_cache_stats image_cache_stats_get(const image_cache *c);

#endif
