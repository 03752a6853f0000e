#include "bf_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *bf_cfg_process_getenv(const char *name, void *ctx) {
    (void)ctx;
    return getenv(name);
}

static const char *type_name(bf_cfg_type t) {
    switch (t) {
    case BF_CFG_STRING: return "string";
    case BF_CFG_INT: return "integer";
    case BF_CFG_BOOL: return "boolean";
    case BF_CFG_MS: return "duration";
    case BF_CFG_BYTES: return "size";
    case BF_CFG_ENUM: return "enum";
    case BF_CFG_URL: return "url";
    case BF_CFG_DOUBLE: return "number";
    }
    return "?";
}

/* strtoll that insists on consuming a number and reports where it stopped. */
static int parse_ll(const char *s, long long *out, const char **end) {
    char *e;
    errno = 0;
    long long v = strtoll(s, &e, 10);
    if (e == s || errno == ERANGE) return -1;
    *out = v;
    *end = e;
    return 0;
}

long long bf_parse_duration_ms(const char *s) {
    if (!s) return -1;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '-' || *s == '+') return -1;
    long long v;
    const char *e;
    if (parse_ll(s, &v, &e) != 0) return -1;
    /* A bare number has no unit: "SHUTDOWN_TIMEOUT=20" meant 20 s to whoever wrote it and 20 ms
     * to the old parser. Only 0 reads the same in every unit. */
    if (*e == '\0') return v == 0 ? 0 : -1;
    static const struct { const char *suffix; long long mul; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(e, units[i].suffix) == 0) {
            if (v > LLONG_MAX / units[i].mul) return -1;
            return v * units[i].mul;
        }
    }
    return -1;
}

static long long parse_bytes(const char *s) {
    while (isspace((unsigned char)*s)) s++;
    if (*s == '-' || *s == '+') return -1;
    long long v;
    const char *e;
    if (parse_ll(s, &v, &e) != 0) return -1;
    long long mul = 1;
    if (*e) {
        switch (toupper((unsigned char)*e)) {
        case 'K': mul = 1LL << 10; break;
        case 'M': mul = 1LL << 20; break;
        case 'G': mul = 1LL << 30; break;
        default: return -1;
        }
        e++;
        if (*e == 'i' || *e == 'I') e++;
        if (*e == 'b' || *e == 'B') e++;
        if (*e) return -1;
    }
    if (v > LLONG_MAX / mul) return -1;
    return v * mul;
}

static void bound_text(const bf_cfg_var *v, double x, char *buf, size_t cap);

static int check_bounds(const bf_cfg_var *var, double v, const char *text, char *err, size_t errlen) {
    if (var->min > var->max) return 0;
    if (v < var->min) {
        char b[32];
        bound_text(var, var->min, b, sizeof b);
        snprintf(err, errlen, "%s%s: %s is below the minimum %s", BF_ENV_PREFIX, var->name, text, b);
        return -1;
    }
    if (v > var->max) {
        char b[32];
        bound_text(var, var->max, b, sizeof b);
        snprintf(err, errlen, "%s%s: %s is above the maximum %s", BF_ENV_PREFIX, var->name, text, b);
        return -1;
    }
    return 0;
}

static int enum_has(const char *choices, const char *word) {
    size_t wl = strlen(word);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == wl && strncmp(p, word, l) == 0) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int copy_str(const bf_cfg_var *var, const char *text, void *field, char *err, size_t errlen) {
    size_t l = strlen(text);
    if (l >= BF_CFG_STR_MAX) {
        snprintf(err, errlen, "%s%s: value is %zu bytes long, the limit is %d", BF_ENV_PREFIX,
                 var->name, l, BF_CFG_STR_MAX - 1);
        return -1;
    }
    memcpy(field, text, l + 1);
    return 0;
}

int bf_config_parse_value(const bf_cfg_var *var, const char *text, void *field, char *err,
                          size_t errlen) {
    const char *name = var->name;
    switch (var->type) {
    case BF_CFG_STRING:
        return copy_str(var, text, field, err, errlen);
    case BF_CFG_ENUM:
        if (!enum_has(var->choices, text)) {
            snprintf(err, errlen, "%s%s: '%s' is not one of %s", BF_ENV_PREFIX, name, text, var->choices);
            return -1;
        }
        return copy_str(var, text, field, err, errlen);
    case BF_CFG_URL:
        if (*text && strncmp(text, "http://", 7) != 0 && strncmp(text, "https://", 8) != 0) {
            snprintf(err, errlen, "%s%s: '%s' is not an http:// or https:// URL", BF_ENV_PREFIX, name, text);
            return -1;
        }
        if (*text) {
            const char *host = strstr(text, "://") + 3;
            if (*host == '\0' || *host == '/' || *host == ':') {
                snprintf(err, errlen, "%s%s: '%s' has no host", BF_ENV_PREFIX, name, text);
                return -1;
            }
        }
        return copy_str(var, text, field, err, errlen);
    case BF_CFG_INT: {
        long long v;
        const char *e;
        if (parse_ll(text, &v, &e) != 0 || *e != '\0') {
            snprintf(err, errlen, "%s%s: '%s' is not an integer", BF_ENV_PREFIX, name, text);
            return -1;
        }
        if (check_bounds(var, (double)v, text, err, errlen) != 0) return -1;
        *(long long *)field = v;
        return 0;
    }
    case BF_CFG_MS: {
        long long v = bf_parse_duration_ms(text);
        if (v < 0) {
            snprintf(err, errlen, "%s%s: '%s' is not a duration: a whole number with a unit, ms, s, m, h or d "
                     "(e.g. 250ms, 10s, 5m, 2h, 30d; only 0 may go without)",
                     BF_ENV_PREFIX, name, text);
            return -1;
        }
        if (check_bounds(var, (double)v, text, err, errlen) != 0) return -1;
        *(long long *)field = v;
        return 0;
    }
    case BF_CFG_BYTES: {
        long long v = parse_bytes(text);
        if (v < 0) {
            snprintf(err, errlen, "%s%s: '%s' is not a size (e.g. 512, 64k, 10M, 1G)", BF_ENV_PREFIX, name, text);
            return -1;
        }
        if (check_bounds(var, (double)v, text, err, errlen) != 0) return -1;
        *(long long *)field = v;
        return 0;
    }
    case BF_CFG_DOUBLE: {
        char *e;
        errno = 0;
        double v = strtod(text, &e);
        if (e == text || *e != '\0' || errno == ERANGE || !isfinite(v)) {
            snprintf(err, errlen, "%s%s: '%s' is not a number", BF_ENV_PREFIX, name, text);
            return -1;
        }
        if (check_bounds(var, v, text, err, errlen) != 0) return -1;
        *(double *)field = v;
        return 0;
    }
    case BF_CFG_BOOL: {
        static const char *const yes[] = {"true", "1", "yes", "on"};
        static const char *const no[] = {"false", "0", "no", "off"};
        for (int i = 0; i < 4; i++) {
            if (strcmp(text, yes[i]) == 0) { *(bool *)field = true; return 0; }
            if (strcmp(text, no[i]) == 0) { *(bool *)field = false; return 0; }
        }
        snprintf(err, errlen, "%s%s: '%s' is not a boolean (true/false/1/0/yes/no/on/off)",
                 BF_ENV_PREFIX, name, text);
        return -1;
    }
    }
    snprintf(err, errlen, "%s%s: unknown type", BF_ENV_PREFIX, name);
    return -1;
}

int bf_config_load(const bf_cfg_var *vars, size_t n, void *out, bf_cfg_getenv_fn get, void *ctx,
                   char *err, size_t errlen) {
    if (!get) get = bf_cfg_process_getenv;
    for (size_t i = 0; i < n; i++) {
        const bf_cfg_var *var = &vars[i];
        char env[128];
        snprintf(env, sizeof env, "%s%s", BF_ENV_PREFIX, var->name);
        const char *text = get(env, ctx);
        if (text == NULL || (*text == '\0' && var->type != BF_CFG_STRING && var->type != BF_CFG_URL)) {
            if (var->flags & BF_CFG_REQUIRED) {
                snprintf(err, errlen, "%s: required but not set (%s)", env, var->doc);
                return -1;
            }
            text = var->default_value ? var->default_value : "";
        }
        if (bf_config_parse_value(var, text, (char *)out + var->offset, err, errlen) != 0) return -1;
    }
    return 0;
}

static void default_text(const bf_cfg_var *v, char *buf, size_t cap) {
    if (v->flags & BF_CFG_REQUIRED) snprintf(buf, cap, "required");
    else if (!v->default_value || !*v->default_value) snprintf(buf, cap, "unset");
    else snprintf(buf, cap, "%s", v->default_value);
}

void bf_config_format_duration(long long ms, char *buf, size_t cap) {
    static const struct { const char *unit; long long ms; } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
    };
    if (ms == 0) {
        snprintf(buf, cap, "0");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms % units[i].ms == 0) {
            snprintf(buf, cap, "%lld%s", ms / units[i].ms, units[i].unit);
            return;
        }
}

void bf_config_format_bytes(long long bytes, char *buf, size_t cap) {
    static const struct { const char *unit; long long mul; } units[] = {
        {"G", 1LL << 30}, {"M", 1LL << 20}, {"k", 1LL << 10},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (bytes != 0 && bytes % units[i].mul == 0) {
            snprintf(buf, cap, "%lld%s", bytes / units[i].mul, units[i].unit);
            return;
        }
    snprintf(buf, cap, "%lld", bytes);
}

/* One bound as the operator would write it (10m, 64M, 100000), never as 1.07374e+09. */
static void bound_text(const bf_cfg_var *v, double x, char *buf, size_t cap) {
    if (v->type == BF_CFG_MS) bf_config_format_duration((long long)x, buf, cap);
    else if (v->type == BF_CFG_BYTES) bf_config_format_bytes((long long)x, buf, cap);
    else if (v->type == BF_CFG_INT) snprintf(buf, cap, "%lld", (long long)x);
    else snprintf(buf, cap, "%g", x);
}

static void range_text(const bf_cfg_var *v, char *buf, size_t cap) {
    buf[0] = '\0';
    if (v->type == BF_CFG_ENUM) {
        snprintf(buf, cap, "one of %s", v->choices);
    } else if (v->min <= v->max && v->type != BF_CFG_STRING && v->type != BF_CFG_BOOL) {
        char lo[32], hi[32];
        bound_text(v, v->min, lo, sizeof lo);
        bound_text(v, v->max, hi, sizeof hi);
        snprintf(buf, cap, "%s..%s", lo, hi);
    }
}

void bf_config_print_help(FILE *out, const char *usage, const bf_cfg_var *const *tables,
                          const size_t *ns, size_t count) {
    fprintf(out, "%s\n\nConfiguration (environment variables):\n", usage);
    for (size_t t = 0; t < count; t++) {
        for (size_t i = 0; i < ns[t]; i++) {
            const bf_cfg_var *v = &tables[t][i];
            char def[BF_CFG_STR_MAX + 16], range[BF_CFG_STR_MAX];
            default_text(v, def, sizeof def);
            range_text(v, range, sizeof range);
            fprintf(out, "  %s%s (%s, default: %s%s%s)\n      %s\n", BF_ENV_PREFIX, v->name,
                    type_name(v->type), def, *range ? "; " : "", range, v->doc);
        }
    }
    fprintf(out, "\nAny other %sKAFKA_<NAME> variable is passed to librdkafka as the property\n"
                 "<name> lower-cased with '_' turned into '.', e.g. %sKAFKA_SASL_MECHANISMS=PLAIN\n"
                 "sets sasl.mechanisms.\n", BF_ENV_PREFIX, BF_ENV_PREFIX);
}

/* Table cells may not hold a bare '|'. */
static void md_cell(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputc('\\', out);
        fputc(*s, out);
    }
}

void bf_config_print_markdown(FILE *out, const char *title, const bf_cfg_var *const *tables,
                              const size_t *ns, size_t count) {
    fprintf(out, "### %s\n\n| Variable | Type | Default | Range | Meaning |\n|---|---|---|---|---|\n", title);
    for (size_t t = 0; t < count; t++) {
        for (size_t i = 0; i < ns[t]; i++) {
            const bf_cfg_var *v = &tables[t][i];
            char def[BF_CFG_STR_MAX + 16], range[BF_CFG_STR_MAX];
            default_text(v, def, sizeof def);
            range_text(v, range, sizeof range);
            fprintf(out, "| `%s%s` | %s | `%s` | ", BF_ENV_PREFIX, v->name, type_name(v->type), def);
            md_cell(out, range);
            fputs(" | ", out);
            md_cell(out, v->doc);
            fputs(" |\n", out);
        }
    }
    fputc('\n', out);
}
