#include "bf_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

struct bf_metric {
    metric_kind kind;
    char *name, *help, *labels;
    /* Doubles stored as their bit pattern so updates stay lock-free on every platform we target. */
    _Atomic uint64_t bits;
    size_t n_bounds;
    double *bounds;
    _Atomic uint64_t *buckets; /* n_bounds + 1 (the +Inf bucket), non-cumulative */
    _Atomic uint64_t sum_bits;
};

/* The process_* family Prometheus client libraries export, refreshed from /proc on each render. */
typedef struct process_metrics {
    bf_metric *cpu, *rss, *vsz, *fds, *max_fds, *start;
} process_metrics;

struct bf_metrics {
    pthread_mutex_t lock;
    bf_metric **items;
    size_t n, cap;
    process_metrics proc; /* all NULL until bf_metrics_add_process */
};

const double bf_metrics_latency_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                            0.5,   1,     2.5,  5,     10,   30,  60};
const size_t bf_metrics_latency_n = sizeof bf_metrics_latency_bounds / sizeof bf_metrics_latency_bounds[0];

static double from_bits(uint64_t b) {
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}
static uint64_t to_bits(double d) {
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

bf_metrics *bf_metrics_new(void) {
    bf_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void metric_free(bf_metric *x) {
    free(x->name);
    free(x->help);
    free(x->labels);
    free(x->bounds);
    free((void *)x->buckets);
    free(x);
}

void bf_metrics_free(bf_metrics *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) metric_free(m->items[i]);
    free(m->items);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

static bf_metric *get_or_add(bf_metrics *m, metric_kind kind, const char *name, const char *help,
                             const char *labels, const double *bounds, size_t n_bounds) {
    if (!m || !name) return NULL;
    const char *lab = labels ? labels : "";
    bf_metric *found = NULL;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++) {
        bf_metric *x = m->items[i];
        if (strcmp(x->name, name) != 0) continue;
        if (x->kind != kind) goto out; /* a name has one type in Prometheus */
        if (strcmp(x->labels, lab) == 0) {
            found = x;
            goto out;
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 32;
        bf_metric **items = realloc(m->items, cap * sizeof *items);
        if (!items) goto out;
        m->items = items;
        m->cap = cap;
    }
    bf_metric *x = calloc(1, sizeof *x);
    if (!x) goto out;
    x->kind = kind;
    x->name = dup_or_empty(name);
    x->help = dup_or_empty(help);
    x->labels = dup_or_empty(lab);
    if (kind == KIND_HISTOGRAM) {
        x->n_bounds = n_bounds;
        x->bounds = malloc((n_bounds ? n_bounds : 1) * sizeof *x->bounds);
        x->buckets = calloc(n_bounds + 1, sizeof *x->buckets);
        if (x->bounds) memcpy(x->bounds, bounds, n_bounds * sizeof *bounds);
    }
    if (!x->name || !x->help || !x->labels || (kind == KIND_HISTOGRAM && (!x->bounds || !x->buckets))) {
        metric_free(x);
        goto out;
    }
    m->items[m->n++] = x;
    found = x;
out:
    pthread_mutex_unlock(&m->lock);
    return found;
}

bf_metric *bf_metrics_counter(bf_metrics *m, const char *name, const char *help, const char *labels) {
    return get_or_add(m, KIND_COUNTER, name, help, labels, NULL, 0);
}
bf_metric *bf_metrics_gauge(bf_metrics *m, const char *name, const char *help, const char *labels) {
    return get_or_add(m, KIND_GAUGE, name, help, labels, NULL, 0);
}
bf_metric *bf_metrics_histogram(bf_metrics *m, const char *name, const char *help, const char *labels,
                                const double *bounds, size_t n_bounds) {
    return get_or_add(m, KIND_HISTOGRAM, name, help, labels, bounds, n_bounds);
}

static void atomic_add_double(_Atomic uint64_t *bits, double v) {
    uint64_t old = atomic_load(bits);
    while (!atomic_compare_exchange_weak(bits, &old, to_bits(from_bits(old) + v))) {
    }
}

void bf_metric_inc(bf_metric *c) { bf_metric_add(c, 1); }
void bf_metric_add(bf_metric *c, double v) {
    if (c) atomic_add_double(&c->bits, v);
}
void bf_metric_set(bf_metric *g, double v) {
    if (g) atomic_store(&g->bits, to_bits(v));
}

void bf_metric_observe(bf_metric *h, double v) {
    if (!h || h->kind != KIND_HISTOGRAM) return;
    size_t i = 0;
    while (i < h->n_bounds && v > h->bounds[i]) i++;
    atomic_fetch_add(&h->buckets[i], 1);
    atomic_add_double(&h->sum_bits, v);
    atomic_add_double(&h->bits, 1); /* the count */
}

double bf_metric_value(const bf_metric *c) {
    return c ? from_bits(atomic_load(&((bf_metric *)c)->bits)) : 0;
}

/* A growable string for rendering; on allocation failure it stops growing and render fails. */
typedef struct { char *s; size_t len, cap; int failed; } strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) { b->failed = 1; return; }
        if ((size_t)n < b->cap - b->len) { b->len += (size_t)n; return; }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->failed = 1; return; }
        b->s = s;
        b->cap = cap;
    }
}

static void render_labels(strbuf *b, const char *labels, const char *extra) {
    if (!*labels && !extra) return;
    sb_printf(b, "{%s%s%s}", labels, (*labels && extra) ? "," : "", extra ? extra : "");
}

static void render_one(strbuf *b, bf_metric *x) {
    if (x->kind != KIND_HISTOGRAM) {
        sb_printf(b, "%s", x->name);
        render_labels(b, x->labels, NULL);
        sb_printf(b, " %.17g\n", from_bits(atomic_load(&x->bits)));
        return;
    }
    uint64_t cum = 0;
    for (size_t k = 0; k <= x->n_bounds; k++) {
        char le[48];
        cum += atomic_load(&x->buckets[k]);
        if (k < x->n_bounds) snprintf(le, sizeof le, "le=\"%g\"", x->bounds[k]);
        else snprintf(le, sizeof le, "le=\"+Inf\"");
        sb_printf(b, "%s_bucket", x->name);
        render_labels(b, x->labels, le);
        sb_printf(b, " %llu\n", (unsigned long long)cum);
    }
    sb_printf(b, "%s_sum", x->name);
    render_labels(b, x->labels, NULL);
    sb_printf(b, " %.17g\n%s_count", from_bits(atomic_load(&x->sum_bits)), x->name);
    render_labels(b, x->labels, NULL);
    sb_printf(b, " %llu\n", (unsigned long long)cum);
}

int bf_metrics_add_process(bf_metrics *m) {
    process_metrics *p = &m->proc;
    p->cpu = bf_metrics_counter(m, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", NULL);
    p->rss = bf_metrics_gauge(m, "process_resident_memory_bytes", "Resident memory size in bytes.", NULL);
    p->vsz = bf_metrics_gauge(m, "process_virtual_memory_bytes", "Virtual memory size in bytes.", NULL);
    p->fds = bf_metrics_gauge(m, "process_open_fds", "Number of open file descriptors.", NULL);
    p->max_fds = bf_metrics_gauge(m, "process_max_fds", "Maximum number of open file descriptors.", NULL);
    p->start = bf_metrics_gauge(m, "process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.", NULL);
    if (!p->cpu || !p->rss || !p->vsz || !p->fds || !p->max_fds || !p->start) return -1;
    bf_process_stats st;
    if (bf_process_stats_read(&st) == 0) bf_metric_set(p->start, st.start_time_seconds);
    return 0;
}

char *bf_metrics_render(bf_metrics *m) {
    process_metrics *p = &m->proc;
    bf_process_stats st;
    if (p->cpu && bf_process_stats_read(&st) == 0) {
        /* A counter set from the kernel's running total: it only grows, as a counter must. */
        atomic_store(&p->cpu->bits, to_bits(st.cpu_seconds));
        bf_metric_set(p->rss, st.resident_bytes);
        bf_metric_set(p->vsz, st.virtual_bytes);
        bf_metric_set(p->fds, st.open_fds);
        bf_metric_set(p->max_fds, st.max_fds);
    }
    strbuf b = {malloc(4096), 0, 4096, 0};
    if (!b.s) return NULL;
    b.s[0] = '\0';
    pthread_mutex_lock(&m->lock);
    /* Prometheus wants every sample of one family in one group, whatever the registration order. */
    for (size_t i = 0; i < m->n; i++) {
        int first = 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m->items[j]->name, m->items[i]->name) == 0) first = 0;
        if (!first) continue;
        static const char *const types[] = {"counter", "gauge", "histogram"};
        sb_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", m->items[i]->name, m->items[i]->help,
                  m->items[i]->name, types[m->items[i]->kind]);
        for (size_t j = i; j < m->n; j++)
            if (strcmp(m->items[j]->name, m->items[i]->name) == 0) render_one(&b, m->items[j]);
    }
    pthread_mutex_unlock(&m->lock);
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
