#include "brain_order.h"

#include <stdlib.h>

#include "brain_map.h"

typedef struct node {
    struct node *next;
    void *item;
} node;

typedef struct queue {
    node *head, *tail;
} queue;

struct brain_order {
    brain_map *queues;
    size_t waiting;
};

brain_order *brain_order_new(void) {
    brain_order *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->queues = brain_map_new();
    if (!o->queues) {
        free(o);
        return NULL;
    }
    return o;
}

static void free_queue(const char *key, void *value, void *ctx) {
    (void)key;
    (void)ctx;
    queue *q = value;
    while (q->head) {
        node *n = q->head;
        q->head = n->next;
        free(n);
    }
    free(q);
}

void brain_order_free(brain_order *o) {
    if (!o) return;
    brain_map_each(o->queues, free_queue, NULL);
    brain_map_free(o->queues);
    free(o);
}

int brain_order_push(brain_order *o, const char *key, void *item) {
    node *n = calloc(1, sizeof *n);
    if (!n) return -1;
    n->item = item;
    queue *q = brain_map_get(o->queues, key);
    if (!q) {
        q = calloc(1, sizeof *q);
        if (!q || brain_map_put(o->queues, key, q) != 0) {
            free(q);
            free(n);
            return -1;
        }
    }
    if (q->tail) {
        q->tail->next = n;
        q->tail = n;
        o->waiting++;
        return 0;
    }
    q->head = q->tail = n;
    return 1;
}

void *brain_order_done(brain_order *o, const char *key) {
    queue *q = brain_map_get(o->queues, key);
    if (!q || !q->head) return NULL;
    node *n = q->head;
    q->head = n->next;
    free(n);
    if (!q->head) {
        brain_map_remove(o->queues, key);
        free(q);
        return NULL;
    }
    o->waiting--;
    return q->head->item;
}

size_t brain_order_waiting(const brain_order *o) { return o->waiting; }
size_t brain_order_active_keys(const brain_order *o) { return brain_map_count(o->queues); }
