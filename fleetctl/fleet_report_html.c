/* The report as one self-contained HTML page: inline CSS and inline SVG bar charts, no scripts,
 * no external assets, so it can be mailed, archived or opened offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_report.h"
#include "fleet_time.h"

static void esc(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

typedef struct bar_row {
    const char *label;
    const fleet_summary *s;
} bar_row;

/* Horizontal bars, one group per row with p50 / p95 / p99 bars, scaled to the largest p99. */
static void bar_chart(FILE *f, const char *id, const char *title, const bar_row *rows, size_t n) {
    static const char *const colours[3] = {"#2f6fdf", "#f2a33a", "#d64545"};
    static const char *const names[3] = {"p50", "p95", "p99"};
    const int label_w = 300, plot_w = 520, group_h = 46, top = 40;
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].s->n && rows[i].s->p99 > max) max = rows[i].s->p99;
    if (max <= 0) max = 1;
    int h = top + (int)n * group_h + 30;
    fprintf(f, "<svg id=\"%s\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\"><title>", id, label_w + plot_w + 100, h, label_w + plot_w + 100, h);
    esc(f, title);
    fprintf(f, "</title><rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>"
               "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\" fill=\"#222\">");
    esc(f, title);
    fputs("</text>", f);
    for (int k = 0; k < 3; k++)
        fprintf(f, "<rect x=\"%d\" y=\"10\" width=\"14\" height=\"14\" fill=\"%s\"/><text x=\"%d\" y=\"22\" "
                   "font-size=\"12\" fill=\"#222\">%s</text>", label_w + 200 + k * 70, colours[k], label_w + 218 + k * 70, names[k]);
    for (size_t i = 0; i < n; i++) {
        int y = top + (int)i * group_h;
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" text-anchor=\"end\" fill=\"#222\">", label_w - 10, y + 24);
        esc(f, rows[i].label);
        fprintf(f, " (n=%zu)</text>", rows[i].s->n);
        double v[3] = {rows[i].s->p50, rows[i].s->p95, rows[i].s->p99};
        for (int k = 0; k < 3; k++) {
            int w = rows[i].s->n ? (int)(v[k] / max * plot_w + 0.5) : 0;
            if (rows[i].s->n && w < 1) w = 1;
            fprintf(f, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"12\" fill=\"%s\"><title>%s %.0f ms"
                       "</title></rect>", label_w, y + 6 + k * 13, w, colours[k], names[k], v[k]);
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#555\">%.0f / %.0f / %.0f ms</text>",
                label_w + plot_w + 8 > label_w + 8 ? label_w + 8 + (int)(rows[i].s->n ? v[2] / max * plot_w : 0) : 0,
                y + 40, v[0], v[1], v[2]);
    }
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/></svg>\n", label_w, top, label_w,
            top + (int)n * group_h);
}

char *fleet_report_html(const fleet_report *r) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    char a[40], b[40];
    fleet_format_rfc3339(r->from_ms, a, sizeof a);
    fleet_format_rfc3339(r->to_ms, b, sizeof b);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>brainfleet latency report</title>\n"
          "<style>body{font-family:sans-serif;margin:24px;color:#222;background:#f6f7f9}"
          ".cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}"
          ".card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;min-width:150px}"
          ".card b{display:block;font-size:24px;color:#2f6fdf}"
          "table{border-collapse:collapse;background:#fff;margin:12px 0}td,th{border:1px solid #ddd;padding:4px 10px;"
          "text-align:right}td:first-child,th:first-child{text-align:left}.chart{display:block;margin:16px 0;"
          "border:1px solid #ddd;border-radius:6px}</style></head><body>\n", f);
    fprintf(f, "<h1>brainfleet latency report</h1><p>%s .. %s</p>\n", a, b);
    fprintf(f, "<div class=\"cards\"><div class=\"card\"><b>%lld</b>requests</div><div class=\"card\"><b>%lld</b>"
               "decisions (%.2f/min)</div><div class=\"card\"><b>%lld</b>enrichments</div><div class=\"card\"><b>%lld</b>"
               "images analysed</div><div class=\"card\"><b>%.2f%%</b>error rate (%lld dead letters)</div></div>\n",
            r->requests, r->decisions, r->decisions_per_min, r->enrichments, r->facts_ready, r->error_rate * 100,
            r->dead_letters);
    bar_row stages[FLEET_REPORT_STAGES];
    for (int i = 0; i < FLEET_REPORT_STAGES; i++) stages[i] = (bar_row){r->stage_names[i], &r->stages[i]};
    bar_chart(f, "stages", "Per-stage latency (ms): p50 / p95 / p99", stages, FLEET_REPORT_STAGES);
    bar_row flows[3] = {{"async: time to decision", &r->async_decision},
                        {"async: decision + image facts", &r->async_complete},
                        {"blocking (estimate): facts, then decide", &r->blocking}};
    bar_chart(f, "flows", "Async (measured) vs blocking (estimated) flow (ms), same requests", flows, 3);
    fputs("<p class=\"note\">", f);
    esc(f, FLEET_REPORT_BLOCKING_NOTE);
    fputs(".</p>\n", f);
    fputs("<table><tr><th>stage (ms)</th><th>n</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>\n", f);
    for (int i = 0; i < FLEET_REPORT_STAGES + 3; i++) {
        const bar_row *br = i < FLEET_REPORT_STAGES ? &stages[i] : &flows[i - FLEET_REPORT_STAGES];
        fputs("<tr><td>", f);
        esc(f, br->label);
        if (br->s->n)
            fprintf(f, "</td><td>%zu</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td></tr>\n", br->s->n, br->s->p50,
                    br->s->p95, br->s->p99, br->s->max);
        else
            fputs("</td><td>0</td><td>-</td><td>-</td><td>-</td><td>-</td></tr>\n", f);
    }
    fputs("</table>\n<p>Blocking flow = time until the image facts were processed, plus the decision's own context "
          "and LLM time: what a brain that waits for the facts before deciding would have taken on these same "
          "requests.</p>\n</body></html>\n", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
