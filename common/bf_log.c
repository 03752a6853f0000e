#include "bf_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void bf_log_init(bf_log *log, FILE *out, const char *worker, bf_log_level min_level) {
    log->out = out;
    log->min_level = min_level;
    snprintf(log->worker, sizeof log->worker, "%s", worker ? worker : "");
}

int bf_log_level_parse(const char *s) {
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

const char *bf_log_level_name(bf_log_level level) {
    return (level >= BF_LOG_DEBUG && level <= BF_LOG_ERROR) ? level_names[level] : "info";
}

/* Appends s as a JSON string body (without quotes) to buf at *len, always advancing *len by the
 * bytes it would need, like snprintf, so callers learn the full size. Control characters are
 * escaped; bytes >= 0x80 pass through because messages are UTF-8 already or are our own text. */
static void put_escaped(char *buf, size_t cap, size_t *len, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        const char *out = tmp;
        size_t n;
        switch (*p) {
        case '"': out = "\\\""; n = 2; break;
        case '\\': out = "\\\\"; n = 2; break;
        case '\n': out = "\\n"; n = 2; break;
        case '\r': out = "\\r"; n = 2; break;
        case '\t': out = "\\t"; n = 2; break;
        default:
            if (*p < 0x20) {
                n = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p);
            } else {
                tmp[0] = (char)*p;
                n = 1;
            }
        }
        for (size_t i = 0; i < n; i++, (*len)++)
            if (*len + 1 < cap) buf[*len] = out[i];
    }
}

static void put_raw(char *buf, size_t cap, size_t *len, const char *s) {
    for (; *s; s++, (*len)++)
        if (*len + 1 < cap) buf[*len] = *s;
}

static void put_field(char *buf, size_t cap, size_t *len, const char *key, const char *value) {
    put_raw(buf, cap, len, ",\"");
    put_escaped(buf, cap, len, key);
    put_raw(buf, cap, len, "\":\"");
    put_escaped(buf, cap, len, value);
    put_raw(buf, cap, len, "\"");
}

size_t bf_log_format(char *buf, size_t cap, long long ts_ms, const char *worker, bf_log_level level,
                     const char *trace_id, const char *const *kv, const char *msg) {
    size_t len = 0;
    char ts[40];
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof ts - tl, ".%03dZ", (int)(ts_ms % 1000));

    put_raw(buf, cap, &len, "{\"ts\":\"");
    put_raw(buf, cap, &len, ts);
    put_raw(buf, cap, &len, "\",\"level\":\"");
    put_raw(buf, cap, &len, bf_log_level_name(level));
    put_raw(buf, cap, &len, "\"");
    put_field(buf, cap, &len, "worker", worker ? worker : "");
    if (trace_id && *trace_id) put_field(buf, cap, &len, "trace_id", trace_id);
    put_field(buf, cap, &len, "msg", msg ? msg : "");
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) put_field(buf, cap, &len, kv[i], kv[i + 1]);
    put_raw(buf, cap, &len, "}");
    if (cap) buf[len < cap ? len : cap - 1] = '\0';
    return len;
}

void bf_log_vwrite(const bf_log *log, bf_log_level level, const char *trace_id,
                   const char *const *kv, const char *fmt, va_list ap) {
    if (!log || level < log->min_level) return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ts_ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    char line[4096];
    size_t need = bf_log_format(line, sizeof line, ts_ms, log->worker, level, trace_id, kv, msg);
    if (need >= sizeof line) {
        /* A line longer than our stack buffer is rare (huge kv values); format it on the heap
         * rather than emit truncated, invalid JSON. */
        char *big = malloc(need + 1);
        if (big) {
            bf_log_format(big, need + 1, ts_ms, log->worker, level, trace_id, kv, msg);
            fprintf(log->out ? log->out : stderr, "%s\n", big);
            free(big);
            return;
        }
    }
    fprintf(log->out ? log->out : stderr, "%s\n", line);
}

void bf_log_write(const bf_log *log, bf_log_level level, const char *trace_id,
                  const char *const *kv, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bf_log_vwrite(log, level, trace_id, kv, fmt, ap);
    va_end(ap);
}
