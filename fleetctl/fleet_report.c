#include "fleet_report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_time.h"

enum { ST_QUEUE, ST_CONTEXT, ST_LLM, ST_TOTAL, ST_IMAGE, ST_REQ_DEC, ST_REQ_IMG, ST_IMG_FACTS, ST_FACTS_PROC, ST_PROC_ENRICH };

static const char *const stage_names[FLEET_REPORT_STAGES] = {
    "brain: queue wait", "brain: context build", "brain: LLM call", "brain: total",
    "image-worker: analysis", "hop: request -> decision", "hop: request -> image requested",
    "hop: image requested -> facts ready", "hop: facts ready -> facts processed",
    "hop: facts processed -> enrichment",
};

static int is(const fleet_event *e, const char *s) { return strcmp(e->schema, s) == 0; }
static int is_decision(const fleet_event *e) { return is(e, "brainDecisions") && strcmp(e->kind, "image_facts_enriched") != 0; }
static int is_enriched(const fleet_event *e) { return is(e, "brainDecisions") && strcmp(e->kind, "image_facts_enriched") == 0; }

static int cmp_request(const void *a, const void *b) {
    const fleet_event *x = a, *y = b;
    int c = strcmp(x->request_id, y->request_id);
    return c ? c : (x->ts_ms > y->ts_ms) - (x->ts_ms < y->ts_ms);
}

static int cmp_image(const void *a, const void *b) {
    const fleet_event *x = a, *y = b;
    int c = strcmp(x->image_id, y->image_id);
    return c ? c : (x->ts_ms > y->ts_ms) - (x->ts_ms < y->ts_ms);
}

/* First event in g[0..n) matching pred (groups are time-ordered). */
static const fleet_event *first(const fleet_event *g, size_t n, int (*pred)(const fleet_event *)) {
    for (size_t i = 0; i < n; i++)
        if (pred(&g[i])) return &g[i];
    return NULL;
}
static int p_request(const fleet_event *e) { return is(e, "brainRequests"); }
static int p_img_req(const fleet_event *e) { return is(e, "imageAnalysisRequested"); }
static int p_ready(const fleet_event *e) { return is(e, "imageFactsReady"); }
static int p_processed(const fleet_event *e) { return is(e, "imageFactsProcessed"); }

int fleet_report_build(fleet_event *ev, size_t n, int64_t from_ms, int64_t to_ms, fleet_report *out) {
    memset(out, 0, sizeof *out);
    out->from_ms = from_ms;
    out->to_ms = to_ms;
    for (int i = 0; i < FLEET_REPORT_STAGES; i++) out->stage_names[i] = stage_names[i];
    fleet_samples st[FLEET_REPORT_STAGES] = {{0}}, fa = {0}, fc = {0}, fb = {0};
    int oom = 0;
    for (size_t i = 0; i < n; i++) {
        const fleet_event *e = &ev[i];
        if (is(e, "brainRequests")) out->requests++;
        else if (is(e, "imageFactsProcessed")) out->facts_processed++;
        else if (is(e, "deadLetters")) out->dead_letters++;
        else if (is_enriched(e)) out->enrichments++;
        else if (is_decision(e)) {
            out->decisions++;
            if (e->failed) out->decision_errors++;
            if (e->queue_wait_ms >= 0) oom |= fleet_samples_add(&st[ST_QUEUE], (double)e->queue_wait_ms);
            if (e->context_ms >= 0) oom |= fleet_samples_add(&st[ST_CONTEXT], (double)e->context_ms);
            if (e->llm_ms >= 0) oom |= fleet_samples_add(&st[ST_LLM], (double)e->llm_ms);
            if (e->total_ms >= 0) oom |= fleet_samples_add(&st[ST_TOTAL], (double)e->total_ms);
        } else if (is(e, "imageFactsReady")) {
            out->facts_ready++;
            if (e->processing_ms >= 0) oom |= fleet_samples_add(&st[ST_IMAGE], (double)e->processing_ms);
        }
    }
    /* Hops keyed by request id: request -> decision, request -> image requested, and the flows. */
    if (n > 1) qsort(ev, n, sizeof *ev, cmp_request);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(ev[j].request_id, ev[i].request_id) == 0) j++;
        if (*ev[i].request_id) {
            const fleet_event *g = &ev[i], *req = first(g, j - i, p_request), *dec = first(g, j - i, is_decision);
            const fleet_event *img = first(g, j - i, p_img_req), *last_proc = NULL;
            for (size_t k = 0; k < j - i; k++)
                if (p_processed(&g[k])) last_proc = &g[k];
            if (req && dec) oom |= fleet_samples_add(&st[ST_REQ_DEC], (double)(dec->ts_ms - req->ts_ms));
            if (req && img) oom |= fleet_samples_add(&st[ST_REQ_IMG], (double)(img->ts_ms - req->ts_ms));
            if (req && dec && last_proc && req->has_images) {
                int64_t facts_at = last_proc->ts_ms - req->ts_ms;
                int64_t decided = dec->ts_ms - req->ts_ms;
                int64_t think = (dec->context_ms > 0 ? dec->context_ms : 0) + (dec->llm_ms > 0 ? dec->llm_ms : 0);
                oom |= fleet_samples_add(&fa, (double)decided);
                oom |= fleet_samples_add(&fc, (double)(decided > facts_at ? decided : facts_at));
                oom |= fleet_samples_add(&fb, (double)(facts_at + think));
            }
        }
        i = j;
    }
    /* Hops keyed by image trace id: the image path. */
    if (n > 1) qsort(ev, n, sizeof *ev, cmp_image);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(ev[j].image_id, ev[i].image_id) == 0) j++;
        if (*ev[i].image_id) {
            const fleet_event *g = &ev[i], *rq = first(g, j - i, p_img_req), *rd = first(g, j - i, p_ready);
            const fleet_event *pr = first(g, j - i, p_processed), *en = first(g, j - i, is_enriched);
            if (rq && rd) oom |= fleet_samples_add(&st[ST_IMG_FACTS], (double)(rd->ts_ms - rq->ts_ms));
            if (rd && pr) oom |= fleet_samples_add(&st[ST_FACTS_PROC], (double)(pr->ts_ms - rd->ts_ms));
            if (pr && en) oom |= fleet_samples_add(&st[ST_PROC_ENRICH], (double)(en->ts_ms - pr->ts_ms));
        }
        i = j;
    }
    for (int i = 0; i < FLEET_REPORT_STAGES; i++) {
        fleet_summarise(st[i].v, st[i].n, &out->stages[i]);
        fleet_samples_free(&st[i]);
    }
    fleet_summarise(fa.v, fa.n, &out->async_decision);
    fleet_summarise(fc.v, fc.n, &out->async_complete);
    fleet_summarise(fb.v, fb.n, &out->blocking);
    fleet_samples_free(&fa);
    fleet_samples_free(&fc);
    fleet_samples_free(&fb);
    double minutes = (double)(to_ms - from_ms) / 60000.0;
    out->decisions_per_min = minutes > 0 ? (double)out->decisions / minutes : 0;
    long long denom = out->decisions + out->dead_letters;
    out->error_rate = denom ? (double)(out->decision_errors + out->dead_letters) / (double)denom : 0;
    return oom ? -1 : 0;
}

static void row(FILE *out, const char *name, const fleet_summary *s) {
    if (s->n == 0) fprintf(out, "  %-38s %6s\n", name, "-");
    else fprintf(out, "  %-38s %6zu %9.0f %9.0f %9.0f %9.0f\n", name, s->n, s->p50, s->p95, s->p99, s->max);
}

void fleet_report_text(FILE *out, const fleet_report *r) {
    char a[40], b[40];
    fleet_format_rfc3339(r->from_ms, a, sizeof a);
    fleet_format_rfc3339(r->to_ms, b, sizeof b);
    fprintf(out, "brainfleet latency report, %s .. %s\n\n", a, b);
    fprintf(out, "throughput: %lld request(s), %lld decision(s) (%.2f/min), %lld enrichment(s), %lld image(s) analysed\n",
            r->requests, r->decisions, r->decisions_per_min, r->enrichments, r->facts_ready);
    fprintf(out, "errors: %lld decision(s) with an error, %lld dead letter(s): error rate %.2f%%\n\n",
            r->decision_errors, r->dead_letters, r->error_rate * 100);
    fprintf(out, "  %-38s %6s %9s %9s %9s %9s\n", "stage (ms)", "n", "p50", "p95", "p99", "max");
    for (int i = 0; i < FLEET_REPORT_STAGES; i++) row(out, r->stage_names[i], &r->stages[i]);
    fprintf(out, "\nasync vs blocking (requests with images; async measured, blocking estimated from the same requests):\n");
    row(out, "async: time to decision", &r->async_decision);
    row(out, "async: time to decision + image facts", &r->async_complete);
    row(out, "blocking (ESTIMATE): facts, then decide", &r->blocking);
    fprintf(out, "  %s\n", FLEET_REPORT_BLOCKING_NOTE);
    if (r->async_decision.n && r->blocking.p50 > 0)
        fprintf(out, "  the async flow answers an estimated %.0f%% sooner at p50 (%.0f ms measured vs %.0f ms estimated)\n",
                100.0 * (1.0 - r->async_decision.p50 / r->blocking.p50), r->async_decision.p50, r->blocking.p50);
}

static cJSON *summary_json(const fleet_summary *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    if (s->n) {
        cJSON_AddNumberToObject(o, "p50", s->p50);
        cJSON_AddNumberToObject(o, "p95", s->p95);
        cJSON_AddNumberToObject(o, "p99", s->p99);
        cJSON_AddNumberToObject(o, "min", s->min);
        cJSON_AddNumberToObject(o, "max", s->max);
        cJSON_AddNumberToObject(o, "mean", s->mean);
    }
    return o;
}

char *fleet_report_json(const fleet_report *r) {
    cJSON *o = cJSON_CreateObject();
    char a[40], b[40];
    fleet_format_rfc3339(r->from_ms, a, sizeof a);
    fleet_format_rfc3339(r->to_ms, b, sizeof b);
    cJSON_AddStringToObject(o, "from", a);
    cJSON_AddStringToObject(o, "to", b);
    cJSON *t = cJSON_AddObjectToObject(o, "throughput");
    cJSON_AddNumberToObject(t, "requests", (double)r->requests);
    cJSON_AddNumberToObject(t, "decisions", (double)r->decisions);
    cJSON_AddNumberToObject(t, "decisions_per_min", r->decisions_per_min);
    cJSON_AddNumberToObject(t, "enrichments", (double)r->enrichments);
    cJSON_AddNumberToObject(t, "images_analysed", (double)r->facts_ready);
    cJSON *e = cJSON_AddObjectToObject(o, "errors");
    cJSON_AddNumberToObject(e, "decision_errors", (double)r->decision_errors);
    cJSON_AddNumberToObject(e, "dead_letters", (double)r->dead_letters);
    cJSON_AddNumberToObject(e, "error_rate", r->error_rate);
    cJSON *st = cJSON_AddArrayToObject(o, "stages_ms");
    for (int i = 0; i < FLEET_REPORT_STAGES; i++) {
        cJSON *s = summary_json(&r->stages[i]);
        cJSON_AddStringToObject(s, "stage", r->stage_names[i]);
        cJSON_AddItemToArray(st, s);
    }
    cJSON *f = cJSON_AddObjectToObject(o, "flows_ms");
    cJSON_AddItemToObject(f, "async_time_to_decision", summary_json(&r->async_decision));
    cJSON_AddItemToObject(f, "async_time_to_decision_and_facts", summary_json(&r->async_complete));
    cJSON *blocking = summary_json(&r->blocking);
    cJSON_AddBoolToObject(blocking, "estimate", 1);
    cJSON_AddStringToObject(blocking, "method", FLEET_REPORT_BLOCKING_NOTE);
    cJSON_AddItemToObject(f, "blocking_estimate_facts_then_decide", blocking);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}
