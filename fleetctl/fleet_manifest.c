#include "fleet_manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_time.h"

int fleet_topic_name_valid(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* Splits line at TABs into at most max fields (the last keeps any further TABs). */
static size_t split_tabs(char *line, char **f, size_t max) {
    size_t n = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            f[n++] = p + 1;
        }
    return n;
}

int fleet_manifest_parse(const char *text, fleet_topic_spec **out, size_t *n, char *err, size_t errlen) {
    char *copy = strdup(text);
    size_t cap = 16, cnt = 0;
    fleet_topic_spec *v = calloc(cap, sizeof *v);
    if (!copy || !v) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    int lineno = 0;
    for (char *line = copy, *next; line; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') continue;
        char *f[4];
        size_t nf = split_tabs(line, f, 4);
        if (nf < 3) {
            snprintf(err, errlen, "line %d: want name<TAB>partitions<TAB>retention_ms<TAB>description", lineno);
            goto fail;
        }
        if (!fleet_topic_name_valid(f[0])) {
            snprintf(err, errlen, "line %d: '%s' is not a valid topic name", lineno, f[0]);
            goto fail;
        }
        int64_t parts, ret;
        char e[200];
        if (fleet_parse_uint(f[1], 100000, &parts, e, sizeof e) || parts < 1) {
            snprintf(err, errlen, "line %d: partitions '%s' must be an integer 1..100000", lineno, f[1]);
            goto fail;
        }
        if (strcmp(f[2], "-1") == 0) ret = -1;
        else if (fleet_parse_uint(f[2], INT64_MAX, &ret, e, sizeof e) || ret < 1) {
            snprintf(err, errlen, "line %d: retention_ms '%s' must be a positive integer or -1", lineno, f[2]);
            goto fail;
        }
        for (size_t i = 0; i < cnt; i++)
            if (strcmp(v[i].name, f[0]) == 0) {
                snprintf(err, errlen, "line %d: topic '%s' listed twice", lineno, f[0]);
                goto fail;
            }
        if (cnt == cap) {
            fleet_topic_spec *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            v = nv;
        }
        fleet_topic_spec *t = &v[cnt++];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", f[0]);
        t->partitions = (int32_t)parts;
        t->retention_ms = ret;
        snprintf(t->description, sizeof t->description, "%s", nf > 3 ? f[3] : "");
    }
    free(copy);
    *out = v;
    *n = cnt;
    return 0;
fail:
    free(copy);
    free(v);
    return -1;
}
