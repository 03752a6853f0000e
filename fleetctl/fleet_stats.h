/* Latency statistics: percentiles by linear interpolation between closest ranks (the common
 * "type 7" definition: p50 of {1,2,3,4} is 2.5), so small samples give stable, explainable
 * numbers rather than jumping between neighbours. */
#ifndef FLEET_STATS_H
#define FLEET_STATS_H

#include <stddef.h>

typedef struct fleet_summary {
    size_t n;
    double min, max, mean, p50, p95, p99;
} fleet_summary;

/* Percentile p (0..100) of sorted[0..n); 0 when n == 0. */
double fleet_percentile(const double *sorted, size_t n, double p);
/* Summarises v[0..n) (sorted in place). */
void fleet_summarise(double *v, size_t n, fleet_summary *out);

/* A growable sample list. */
typedef struct fleet_samples {
    double *v;
    size_t n, cap;
} fleet_samples;
int fleet_samples_add(fleet_samples *s, double x); /* -1 when out of memory */
void fleet_samples_free(fleet_samples *s);

#endif
