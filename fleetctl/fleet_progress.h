/* A one-line progress bar on stderr for long reads, only when stderr is a terminal (a log file or
 * a pipe gets the final summary alone). Rendering is pure so its output is unit-tested. */
#ifndef FLEET_PROGRESS_H
#define FLEET_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct fleet_progress {
    FILE *out;
    bool enabled;
    const char *label;
    int64_t total;
    int64_t done;
    int64_t matched;
    int64_t last_draw_ms;
} fleet_progress;

void fleet_progress_init(fleet_progress *p, FILE *out, bool enabled, const char *label, int64_t total);
/* Adds to done / matched and redraws at most every 100 ms. */
void fleet_progress_step(fleet_progress *p, int64_t done, int64_t matched);
/* Clears the bar line (before the summary is printed). */
void fleet_progress_end(fleet_progress *p);

/* "label [#########.........]  45% 450/1000 (12 matched)" into buf, width the bar's cells. */
void fleet_progress_render(char *buf, size_t buflen, const char *label, int64_t done, int64_t total,
                           int64_t matched, int width);

#endif
