#include "fleet_timeline.h"

#include <stdlib.h>
#include <string.h>

#include "fleet_time.h"

static int cmp_event(const void *a, const void *b) {
    const fleet_event *x = a, *y = b;
    if (x->ts_ms != y->ts_ms) return x->ts_ms < y->ts_ms ? -1 : 1;
    int rx = fleet_schema_rank(x->schema), ry = fleet_schema_rank(y->schema);
    if (rx != ry) return rx - ry;
    int t = strcmp(x->topic, y->topic);
    if (t) return t;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

void fleet_timeline_sort(fleet_event *ev, size_t n) {
    if (n > 1) qsort(ev, n, sizeof *ev, cmp_event);
}

static int is(const fleet_event *e, const char *schema) { return strcmp(e->schema, schema) == 0; }

/* Latest earlier event of schema (same image when both name one). */
static long latest(const fleet_event *ev, size_t i, const char *schema, int same_image) {
    long any = -1;
    for (size_t k = i; k-- > 0;) {
        if (!is(&ev[k], schema)) continue;
        if (!same_image || !*ev[i].image_id || !*ev[k].image_id || strcmp(ev[i].image_id, ev[k].image_id) == 0)
            return (long)k;
        if (any < 0) any = (long)k;
    }
    return same_image ? -1 : any;
}

long fleet_timeline_cause(const fleet_event *ev, size_t n, size_t i) {
    if (i >= n) return -1;
    const fleet_event *e = &ev[i];
    if (is(e, "imageAnalysisRequested") || is(e, "memoryUpdates")) return latest(ev, i, "brainRequests", 0);
    if (is(e, "imageFactsReady")) return latest(ev, i, "imageAnalysisRequested", 1);
    if (is(e, "imageFactsProcessed")) return latest(ev, i, "imageFactsReady", 1);
    if (is(e, "brainDecisions")) {
        if (strcmp(e->kind, "image_facts_enriched") == 0) return latest(ev, i, "imageFactsProcessed", 1);
        return latest(ev, i, "brainRequests", 0);
    }
    if (is(e, "deadLetters")) return i > 0 ? (long)i - 1 : -1;
    return -1;
}

void fleet_timeline_build(const fleet_event *ev, size_t n, fleet_timeline_row *rows) {
    for (size_t i = 0; i < n; i++) {
        fleet_timeline_row *r = &rows[i];
        memset(r, 0, sizeof *r);
        r->ev = &ev[i];
        r->since_start_ms = ev[i].ts_ms - ev[0].ts_ms;
        long c = fleet_timeline_cause(ev, n, i);
        const char *who = *ev[i].producer ? ev[i].producer : "?";
        const char *what = *ev[i].schema ? ev[i].schema : ev[i].topic;
        if (c >= 0) {
            r->stage_ms = ev[i].ts_ms - ev[c].ts_ms;
            snprintf(r->stage, sizeof r->stage, "%.48s: %.32s -> %.255s", who, ev[c].schema, what);
        } else {
            r->stage_ms = -1;
            snprintf(r->stage, sizeof r->stage, "%.48s: %.255s", who, what);
        }
    }
}

void fleet_timeline_print(FILE *out, const char *id, const fleet_timeline_row *rows, size_t n) {
    if (n == 0) return;
    char start[40];
    fleet_format_rfc3339(rows[0].ev->ts_ms, start, sizeof start);
    fprintf(out, "trace %s: %zu event(s) from %s over %.3f s (project %s)\n", id, n, start,
            (double)rows[n - 1].since_start_ms / 1000.0, *rows[0].ev->project ? rows[0].ev->project : "?");
    for (size_t i = 0; i < n; i++) {
        const fleet_event *e = rows[i].ev;
        char stage_ms[32] = "";
        if (rows[i].stage_ms >= 0) snprintf(stage_ms, sizeof stage_ms, "%lld ms", (long long)rows[i].stage_ms);
        fprintf(out, "  +%9.3fs  %-24s %-14s %10s  %s[%d]@%lld  %s\n", (double)rows[i].since_start_ms / 1000.0,
                *e->schema ? e->schema : "?", *e->producer ? e->producer : "?", stage_ms, e->topic, e->partition,
                (long long)e->offset, e->detail);
    }
    fprintf(out, "stages:\n");
    for (size_t i = 0; i < n; i++)
        if (rows[i].stage_ms >= 0) fprintf(out, "  %-70s %8lld ms\n", rows[i].stage, (long long)rows[i].stage_ms);
}
