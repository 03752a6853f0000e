/* Per-project ordering: a project's requests are decided one at a time, in arrival order, while
 * requests of different projects run concurrently. Requests of one project share a partition (the
 * key is the project id), so arrival order is partition order. */
#ifndef BRAIN_ORDER_H
#define BRAIN_ORDER_H

#include <stddef.h>

typedef struct brain_order brain_order;

brain_order *brain_order_new(void);
/* Frees the queues; items are the caller's. */
void brain_order_free(brain_order *o);
/* Appends item to key's queue. Returns 1 when it is at the head (start it now), 0 when it waits
 * behind an earlier request of the same key, -1 when out of memory. */
int brain_order_push(brain_order *o, const char *key, void *item);
/* The head of key's queue finished: removes it and returns the next item to start, or NULL when
 * the key is idle (its queue is then forgotten, so idle projects cost nothing). */
void *brain_order_done(brain_order *o, const char *key);
/* Items queued behind a running head, over all keys (a gauge). */
size_t brain_order_waiting(const brain_order *o);
size_t brain_order_active_keys(const brain_order *o);

#endif
