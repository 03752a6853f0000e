#include "brain_late_facts.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brain_map.h"

typedef enum { ST_UNDECIDED, ST_DECIDED, ST_DONE } state;

typedef struct entry {
    struct entry *prev, *next; /* insertion order: the oldest is evicted first */
    char trace_id[33];
    char request_id[40];
    void *job;
    state st;
    int64_t expires_ms;
} entry;

struct brain_late_facts {
    brain_map *by_trace;
    entry *oldest, *newest;
    size_t count, max;
    int64_t ttl_ms;
};

brain_late_facts *brain_late_facts_new(size_t max_entries, int64_t ttl_ms) {
    brain_late_facts *lf = calloc(1, sizeof *lf);
    if (!lf) return NULL;
    lf->by_trace = brain_map_new();
    if (!lf->by_trace) {
        free(lf);
        return NULL;
    }
    lf->max = max_entries ? max_entries : 1;
    lf->ttl_ms = ttl_ms;
    return lf;
}

void brain_late_facts_free(brain_late_facts *lf) {
    if (!lf) return;
    entry *e = lf->oldest;
    while (e) {
        entry *n = e->next;
        free(e);
        e = n;
    }
    brain_map_free(lf->by_trace);
    free(lf);
}

static void unlink_entry(brain_late_facts *lf, entry *e) {
    if (e->prev) e->prev->next = e->next;
    else lf->oldest = e->next;
    if (e->next) e->next->prev = e->prev;
    else lf->newest = e->prev;
    brain_map_remove(lf->by_trace, e->trace_id);
    lf->count--;
    free(e);
}

int brain_late_facts_expect(brain_late_facts *lf, const char *trace_id, const char *request_id, void *job,
                            int64_t now_ms) {
    entry *old = brain_map_get(lf->by_trace, trace_id);
    if (old) unlink_entry(lf, old);
    while (lf->count >= lf->max) unlink_entry(lf, lf->oldest);
    entry *e = calloc(1, sizeof *e);
    if (!e) return -1;
    snprintf(e->trace_id, sizeof e->trace_id, "%s", trace_id);
    snprintf(e->request_id, sizeof e->request_id, "%s", request_id);
    e->job = job;
    e->st = ST_UNDECIDED;
    e->expires_ms = now_ms + lf->ttl_ms;
    if (brain_map_put(lf->by_trace, e->trace_id, e) != 0) {
        free(e);
        return -1;
    }
    e->prev = lf->newest;
    if (lf->newest) lf->newest->next = e;
    else lf->oldest = e;
    lf->newest = e;
    lf->count++;
    return 0;
}

void brain_late_facts_decided(brain_late_facts *lf, const char *trace_id) {
    entry *e = brain_map_get(lf->by_trace, trace_id);
    if (e && e->st == ST_UNDECIDED) {
        e->st = ST_DECIDED;
        e->job = NULL;
    }
}

brain_late_result brain_late_facts_arrived(brain_late_facts *lf, const char *trace_id, int64_t now_ms, void **job) {
    *job = NULL;
    entry *e = brain_map_get(lf->by_trace, trace_id);
    if (!e || e->expires_ms <= now_ms) return BRAIN_LATE_UNKNOWN;
    state was = e->st;
    e->st = ST_DONE;
    if (was == ST_DONE) return BRAIN_LATE_DUPLICATE;
    if (was == ST_DECIDED) return BRAIN_LATE_ENRICH;
    *job = e->job;
    e->job = NULL;
    return BRAIN_LATE_UNDECIDED;
}

size_t brain_late_facts_expire(brain_late_facts *lf, int64_t now_ms) {
    size_t n = 0;
    /* Every entry has the same TTL, so insertion order is expiry order. */
    while (lf->oldest && lf->oldest->expires_ms <= now_ms) {
        unlink_entry(lf, lf->oldest);
        n++;
    }
    return n;
}

size_t brain_late_facts_count(const brain_late_facts *lf) { return lf->count; }
