/* /proc/self readers for the process_* metrics, computed the way the Prometheus Go and Python
 * clients do: CPU from utime+stime, start time from the boot time plus the start tick. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bf_metrics.h"

/* Fields 14, 15 (utime, stime), 22 (starttime), 23 (vsize), 24 (rss pages) of /proc/self/stat.
 * The command name (field 2) may hold spaces and parentheses, so parsing starts after its last ')'. */
static int read_stat(double *cpu_ticks, double *start_ticks, double *vsize, double *rss_pages) {
    char buf[2048];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    p++;
    /* Field 3 is the first after ')'. */
    double v[25] = {0};
    for (int field = 3; field <= 24; field++) {
        char *end;
        while (*p == ' ') p++;
        if (field == 3) {
            while (*p && *p != ' ') p++; /* state: a letter */
            continue;
        }
        v[field] = strtod(p, &end);
        if (end == p) return -1;
        p = end;
    }
    *cpu_ticks = v[14] + v[15];
    *start_ticks = v[22];
    *vsize = v[23];
    *rss_pages = v[24];
    return 0;
}

static double boot_time(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return -1;
    char line[256];
    double bt = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    fclose(f);
    return bt;
}

static double count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

int bf_process_stats_read(bf_process_stats *out) {
    double cpu, start, vsize, rss;
    long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    double bt = boot_time();
    if (ticks <= 0 || page <= 0 || bt < 0 || read_stat(&cpu, &start, &vsize, &rss) != 0) return -1;
    out->cpu_seconds = cpu / (double)ticks;
    out->start_time_seconds = bt + start / (double)ticks;
    out->virtual_bytes = vsize;
    out->resident_bytes = rss * (double)page;
    out->open_fds = count_fds();
    struct rlimit rl;
    out->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (double)rl.rlim_cur : -1;
    return out->open_fds < 0 ? -1 : 0;
}
