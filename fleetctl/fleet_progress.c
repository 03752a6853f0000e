#include "fleet_progress.h"

#include <string.h>
#include <time.h>

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fleet_progress_render(char *buf, size_t buflen, const char *label, int64_t done, int64_t total,
                           int64_t matched, int width) {
    if (width < 1) width = 1;
    if (width > 100) width = 100;
    int64_t pct = total > 0 ? (done >= total ? 100 : done * 100 / total) : 100;
    int filled = (int)(pct * width / 100);
    char bar[101];
    for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    snprintf(buf, buflen, "%s [%s] %3lld%% %lld/%lld (%lld matched)", label, bar, (long long)pct,
             (long long)done, (long long)total, (long long)matched);
}

void fleet_progress_init(fleet_progress *p, FILE *out, bool enabled, const char *label, int64_t total) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->enabled = enabled;
    p->label = label;
    p->total = total;
}

void fleet_progress_step(fleet_progress *p, int64_t done, int64_t matched) {
    p->done += done;
    p->matched += matched;
    if (!p->enabled) return;
    int64_t now = mono_ms();
    if (now - p->last_draw_ms < 100 && p->done < p->total) return;
    p->last_draw_ms = now;
    char line[256];
    fleet_progress_render(line, sizeof line, p->label, p->done, p->total, p->matched, 30);
    fprintf(p->out, "\r%s", line);
    fflush(p->out);
}

void fleet_progress_end(fleet_progress *p) {
    if (!p->enabled) return;
    fprintf(p->out, "\r\033[K");
    fflush(p->out);
}
