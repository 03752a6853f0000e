/* A string-keyed hash map of borrowed pointers: the per-project and per-trace-id indexes of the
 * brain's in-memory state (ordering queues, late-facts waiters, context cache). Keys are copied;
 * values are owned by the caller. Not thread-safe: the loop thread owns all of it. */
#ifndef BRAIN_MAP_H
#define BRAIN_MAP_H

#include <stddef.h>

typedef struct brain_map brain_map;

brain_map *brain_map_new(void);
/* Frees the map and its key copies, not the values. */
void brain_map_free(brain_map *m);
void *brain_map_get(const brain_map *m, const char *key);
/* Inserts or replaces; returns 0, or -1 when out of memory. */
int brain_map_put(brain_map *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *brain_map_remove(brain_map *m, const char *key);
size_t brain_map_count(const brain_map *m);
/* Calls fn for every entry; fn may not modify the map. */
void brain_map_each(const brain_map *m, void (*fn)(const char *key, void *value, void *ctx), void *ctx);

#endif
