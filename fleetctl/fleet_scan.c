#include "fleet_scan.h"

#include <stdlib.h>
#include <string.h>

#include "fleet_kafka.h"

const char *const fleet_flow_topics[7] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                          "imageFactsProcessed", "brainDecisions", "memoryUpdates", "deadLetters"};

typedef struct scan_state {
    fleet_events *out;
    fleet_event_keep_fn keep;
    void *ud;
    int oom;
} scan_state;

static int on_record(const fleet_record *r, void *ud) {
    scan_state *s = ud;
    s->out->scanned++;
    fleet_event ev;
    if (fleet_event_from_record(r, &ev) != 0) return 0;
    if (s->keep && !s->keep(&ev, s->ud)) return 0;
    if (s->out->n == s->out->cap) {
        size_t cap = s->out->cap ? s->out->cap * 2 : 64;
        fleet_event *nv = realloc(s->out->v, cap * sizeof *nv);
        if (!nv) {
            s->oom = 1;
            return 1;
        }
        s->out->v = nv;
        s->out->cap = cap;
    }
    s->out->v[s->out->n++] = ev;
    return 0;
}

int fleet_scan(const fleet_ctx *c, const char *const *bases, size_t nbases, const fleet_range_spec *spec,
               fleet_event_keep_fn keep, void *ud, fleet_events *out, char *err, size_t errlen) {
    rd_kafka_t *rk = fleet_kafka_consumer(c, NULL, err, errlen);
    if (!rk) return -1;
    int rc = 0;
    scan_state s = {.out = out, .keep = keep, .ud = ud};
    for (size_t i = 0; i < nbases && rc == 0 && !*c->stop; i++) {
        char topic[512];
        fleet_topic_name(c, bases[i], topic, sizeof topic);
        fleet_part_range *r = NULL;
        size_t n = 0;
        if (fleet_kafka_resolve(c, rk, topic, -1, spec, &r, &n, err, errlen)) {
            if (strstr(err, "does not exist")) {
                fprintf(c->err, "note: %s\n", err);
                out->topics_missing++;
                continue;
            }
            rc = -1;
            break;
        }
        fleet_progress prog;
        fleet_progress_init(&prog, c->err, c->progress, bases[i], fleet_ranges_total(r, n));
        if (fleet_kafka_read(c, rk, topic, r, n, &prog, on_record, &s, err, errlen) < 0) rc = -1;
        fleet_progress_end(&prog);
        free(r);
        if (s.oom) {
            snprintf(err, errlen, "out of memory after %zu events", out->n);
            rc = -1;
        }
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}

void fleet_events_free(fleet_events *e) {
    free(e->v);
    memset(e, 0, sizeof *e);
}
