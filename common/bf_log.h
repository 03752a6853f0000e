/* JSON-lines logging: one object per line on stderr with ts, level, worker, msg, and the trace id
 * of the message being handled when there is one. No global state: a bf_log is owned by the
 * worker's main and passed down. */
#ifndef BF_LOG_H
#define BF_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { BF_LOG_DEBUG = 0, BF_LOG_INFO, BF_LOG_WARN, BF_LOG_ERROR } bf_log_level;

typedef struct bf_log {
    FILE *out;              /* stderr in workers; a memstream in tests */
    bf_log_level min_level;
    char worker[48];
} bf_log;

void bf_log_init(bf_log *log, FILE *out, const char *worker, bf_log_level min_level);
/* "debug"|"info"|"warn"|"error" -> level; returns -1 when unknown. */
int bf_log_level_parse(const char *s);
const char *bf_log_level_name(bf_log_level level);

/* Extra structured fields: pass NULL-terminated key/value string pairs through kv (may be NULL). */
void bf_log_write(const bf_log *log, bf_log_level level, const char *trace_id,
                  const char *const *kv, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void bf_log_vwrite(const bf_log *log, bf_log_level level, const char *trace_id,
                   const char *const *kv, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

#define bf_log_debug(log, ...) bf_log_write((log), BF_LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define bf_log_info(log, ...)  bf_log_write((log), BF_LOG_INFO, NULL, NULL, __VA_ARGS__)
#define bf_log_warn(log, ...)  bf_log_write((log), BF_LOG_WARN, NULL, NULL, __VA_ARGS__)
#define bf_log_error(log, ...) bf_log_write((log), BF_LOG_ERROR, NULL, NULL, __VA_ARGS__)

/* Formats one log line (without the newline) into buf; returns the length it needed, like snprintf.
 * Split out so tests check the exact JSON without capturing stderr. ts_ms is a Unix time in ms. */
size_t bf_log_format(char *buf, size_t cap, long long ts_ms, const char *worker, bf_log_level level,
                     const char *trace_id, const char *const *kv, const char *msg);

#endif
