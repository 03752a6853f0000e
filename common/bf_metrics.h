/* Prometheus metrics registry. Registration and rendering take a mutex; updates are lock-free
 * atomics, because /metrics is served from libmicrohttpd's thread while the worker's loop thread
 * updates values. Metric objects are owned by the registry and live until bf_metrics_free. */
#ifndef BF_METRICS_H
#define BF_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct bf_metrics bf_metrics;
typedef struct bf_metric bf_metric;

bf_metrics *bf_metrics_new(void);
void bf_metrics_free(bf_metrics *m);

/* Returns the metric with this name and label set, creating it on first use. labels is the
 * Prometheus label body without braces (`topic="brainRequests"`) or NULL. Returns NULL only when
 * out of memory or when the name is already registered with another type. */
bf_metric *bf_metrics_counter(bf_metrics *m, const char *name, const char *help, const char *labels);
bf_metric *bf_metrics_gauge(bf_metrics *m, const char *name, const char *help, const char *labels);
/* bounds: ascending upper bounds (seconds for latencies); copied. */
bf_metric *bf_metrics_histogram(bf_metrics *m, const char *name, const char *help, const char *labels,
                                const double *bounds, size_t n_bounds);

/* All accept NULL so callers need not check registration failures on hot paths. */
void bf_metric_inc(bf_metric *c);
void bf_metric_add(bf_metric *c, double v);
void bf_metric_set(bf_metric *g, double v);
void bf_metric_observe(bf_metric *h, double v);
double bf_metric_value(const bf_metric *c); /* counters and gauges; histograms: the count */

/* Default latency buckets in seconds, 1 ms .. 60 s. */
extern const double bf_metrics_latency_bounds[];
extern const size_t bf_metrics_latency_n;

/* Registers process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds and process_start_time_seconds (the names Prometheus client
 * libraries use, so standard dashboards work); bf_metrics_render refreshes them from /proc.
 * Returns 0, or -1 when out of memory. */
int bf_metrics_add_process(bf_metrics *m);

/* This process's figures from /proc/self (Linux). Returns 0, or -1 when /proc is unreadable. */
typedef struct bf_process_stats {
    double cpu_seconds, resident_bytes, virtual_bytes, open_fds, max_fds, start_time_seconds;
} bf_process_stats;
int bf_process_stats_read(bf_process_stats *out);

/* Renders the exposition text; returns a malloc'd NUL-terminated string the caller frees. */
char *bf_metrics_render(bf_metrics *m);

#endif
