/* Configuration from environment variables, driven by one table per binary.
 *
 * Every variable is described once, in a bf_cfg_var table: its name (the env var is
 * "BRAINFLEET_" + name), type, default, bounds and documentation. The same table drives parsing
 * and validation (bf_config_load), `--help` (bf_config_print_help) and docs/configuration.md
 * (bf_config_print_markdown), so the three never drift apart.
 *
 * Values land in a caller-owned struct through offsetof(): strings are copied into fixed char
 * arrays inside that struct (BF_CFG_STR_MAX), so a loaded config owns no heap memory. */
#ifndef BF_CONFIG_H
#define BF_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define BF_ENV_PREFIX "BRAINFLEET_"
#define BF_CFG_STR_MAX 512

typedef enum {
    BF_CFG_STRING,   /* char[BF_CFG_STR_MAX]; any text up to BF_CFG_STR_MAX-1 bytes */
    BF_CFG_INT,      /* long long; decimal, within [min, max] */
    BF_CFG_BOOL,     /* bool; true|false|1|0|yes|no|on|off */
    BF_CFG_MS,       /* long long milliseconds; "250ms", "10s", "5m", "2h", "30d"; a unit is required (but for 0) */
    BF_CFG_BYTES,    /* long long bytes; "512", "64k", "10M", "1G" (binary units) */
    BF_CFG_ENUM,     /* char[BF_CFG_STR_MAX]; one of the '|'-separated words in choices */
    BF_CFG_URL,      /* char[BF_CFG_STR_MAX]; empty, or http:// / https:// with a host */
    BF_CFG_DOUBLE,   /* double; within [min, max] */
} bf_cfg_type;

enum {
    BF_CFG_REQUIRED = 1u << 0, /* no default: must be set */
    BF_CFG_SECRET = 1u << 1,   /* never printed: --help and logs show "(set)" */
};

typedef struct bf_cfg_var {
    const char *name;          /* without the BRAINFLEET_ prefix, e.g. "KAFKA_BROKERS" */
    bf_cfg_type type;
    size_t offset;             /* offsetof(struct, field) in the caller's config struct */
    const char *default_value; /* as the user would write it; NULL or "" for none */
    double min, max;           /* bounds for INT/MS/BYTES/DOUBLE (ignored when min > max) */
    const char *choices;       /* ENUM only: "a|b|c" */
    unsigned flags;
    const char *doc;           /* one or two sentences: meaning, unit, when to change it */
} bf_cfg_var;

/* Where values come from: getenv in workers, a table in tests. Returns NULL when unset. */
typedef const char *(*bf_cfg_getenv_fn)(const char *name, void *ctx);
const char *bf_cfg_process_getenv(const char *name, void *ctx);

/* Loads every var of the table into out. Returns 0, or -1 with a message naming the variable and
 * what was wrong in err (e.g. "BRAINFLEET_HTTP_PORT: 70000 is above the maximum 65535"). */
int bf_config_load(const bf_cfg_var *vars, size_t n, void *out, bf_cfg_getenv_fn get, void *ctx,
                   char *err, size_t errlen);

/* Parses one value the way bf_config_load does (exposed for tests and fleetctl flags). */
int bf_config_parse_value(const bf_cfg_var *var, const char *text, void *field, char *err,
                          size_t errlen);

/* The help text lists every table given, in order. tables/ns: count entries. */
void bf_config_print_help(FILE *out, const char *usage, const bf_cfg_var *const *tables,
                          const size_t *ns, size_t count);
void bf_config_print_markdown(FILE *out, const char *title, const bf_cfg_var *const *tables,
                              const size_t *ns, size_t count);

/* Parses a duration ("250ms", "10s", "5m", "2h", "30d"; "0") into ms; -1 when malformed or when a
 * number other than 0 has no unit. */
long long bf_parse_duration_ms(const char *s);

/* The shortest exact form of a duration / size in the syntax the parsers take ("10m", "64M"). */
void bf_config_format_duration(long long ms, char *buf, size_t cap);
void bf_config_format_bytes(long long bytes, char *buf, size_t cap);

/* Checks a PostgreSQL connection string's syntax with libpq's own parser (PQconninfoParse), so a
 * typo ("hots=x") is a configuration error at start, not an endless "database down". Empty is
 * fine (no database). Returns 0, or -1 with err naming BRAINFLEET_PG_DSN (never its password). */
int bf_config_check_dsn(const char *dsn, char *err, size_t errlen);

#endif
