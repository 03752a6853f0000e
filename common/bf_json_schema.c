#include "bf_json_schema.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_LEN 512
/* A $ref cycle that never descends into the instance would recurse forever; real schemas nest a
 * few dozen levels at most. */
#define MAX_DEPTH 200

struct bf_json_schema {
    cJSON *doc;
};

static const char *const validation_keywords[] = {
    "type",      "enum",      "const",     "properties", "required",         "additionalProperties",
    "items",     "minItems",  "maxItems",  "minLength",  "maxLength",        "minimum",
    "maximum",   "exclusiveMinimum",       "exclusiveMaximum", "minProperties", "maxProperties",
    "allOf",     "anyOf",     "oneOf",     "not",        "$ref",             "$defs",
    NULL,
};
static const char *const annotation_keywords[] = {
    "$schema", "$id",     "$comment", "title",    "description", "default",
    "examples", "deprecated", "format", "readOnly", "writeOnly",   NULL,
};

static bool in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- loading ---------------------------------------------------------------------------------- */

/* Resolves "#", "#/a/b" (JSON pointer with ~0 ~1 escapes) inside doc; NULL when it does not. */
static const cJSON *resolve(const cJSON *doc, const char *ref) {
    if (!ref || ref[0] != '#') return NULL;
    const cJSON *cur = doc;
    const char *p = ref + 1;
    while (*p) {
        if (*p != '/') return NULL;
        p++;
        char tok[256];
        size_t n = 0;
        while (*p && *p != '/') {
            char ch = *p++;
            if (ch == '~' && (*p == '0' || *p == '1')) ch = *p++ == '0' ? '~' : '/';
            if (n + 1 >= sizeof tok) return NULL;
            tok[n++] = ch;
        }
        tok[n] = '\0';
        if (cJSON_IsObject(cur)) cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
        else return NULL;
        if (!cur) return NULL;
    }
    return cur;
}

static int check_schema(const cJSON *doc, const cJSON *s, char *where, size_t wlen, char *err, size_t errlen);

static int check_sub(const cJSON *doc, const cJSON *s, char *where, size_t wlen, const char *add, char *err,
                     size_t errlen) {
    size_t n = strlen(where);
    snprintf(where + n, wlen - n, "%s", add);
    int r = check_schema(doc, s, where, wlen, err, errlen);
    where[n] = '\0';
    return r;
}

static int check_schema(const cJSON *doc, const cJSON *s, char *where, size_t wlen, char *err, size_t errlen) {
    if (cJSON_IsBool(s)) return 0;
    if (!cJSON_IsObject(s)) {
        set_err(err, errlen, "%s: a schema must be an object or a boolean", where);
        return -1;
    }
    const cJSON *k;
    cJSON_ArrayForEach(k, s) {
        const char *name = k->string;
        char add[300];
        if (strncmp(name, "x-", 2) == 0 || in_list(name, annotation_keywords)) continue;
        if (!in_list(name, validation_keywords)) {
            set_err(err, errlen, "%s: keyword \"%s\" is not supported", where, name);
            return -1;
        }
        if (strcmp(name, "properties") == 0 || strcmp(name, "$defs") == 0) {
            if (!cJSON_IsObject(k)) goto bad;
            const cJSON *p;
            cJSON_ArrayForEach(p, k) {
                snprintf(add, sizeof add, "/%s/%s", name, p->string);
                if (check_sub(doc, p, where, wlen, add, err, errlen) != 0) return -1;
            }
        } else if (strcmp(name, "items") == 0 || strcmp(name, "not") == 0 ||
                   strcmp(name, "additionalProperties") == 0) {
            snprintf(add, sizeof add, "/%s", name);
            if (check_sub(doc, k, where, wlen, add, err, errlen) != 0) return -1;
        } else if (strcmp(name, "allOf") == 0 || strcmp(name, "anyOf") == 0 || strcmp(name, "oneOf") == 0) {
            if (!cJSON_IsArray(k) || cJSON_GetArraySize(k) == 0) goto bad;
            int i = 0;
            const cJSON *e;
            cJSON_ArrayForEach(e, k) {
                snprintf(add, sizeof add, "/%s/%d", name, i++);
                if (check_sub(doc, e, where, wlen, add, err, errlen) != 0) return -1;
            }
        } else if (strcmp(name, "$ref") == 0) {
            if (!cJSON_IsString(k) || !resolve(doc, k->valuestring)) {
                set_err(err, errlen, "%s: $ref %s does not resolve inside the document", where,
                        cJSON_IsString(k) ? k->valuestring : "(not a string)");
                return -1;
            }
        } else if (strcmp(name, "required") == 0 || strcmp(name, "enum") == 0) {
            if (!cJSON_IsArray(k)) goto bad;
            const cJSON *e;
            if (name[0] == 'r')
                cJSON_ArrayForEach(e, k) if (!cJSON_IsString(e)) goto bad;
        } else if (strcmp(name, "type") == 0) {
            if (!cJSON_IsString(k) && !cJSON_IsArray(k)) goto bad;
        } else if (strcmp(name, "const") != 0) {
            if (!cJSON_IsNumber(k)) goto bad; /* the bounds */
        }
        continue;
    bad:
        set_err(err, errlen, "%s: \"%s\" has the wrong form", where, name);
        return -1;
    }
    return 0;
}

bf_json_schema *bf_json_schema_new(const char *text, size_t len, char *err, size_t errlen) {
    cJSON *doc = text ? cJSON_ParseWithLength(text, len) : NULL;
    if (!doc) {
        set_err(err, errlen, "schema is not JSON");
        return NULL;
    }
    char where[PATH_MAX_LEN] = "#";
    bf_json_schema *s = NULL;
    if (check_schema(doc, doc, where, sizeof where, err, errlen) == 0) s = calloc(1, sizeof *s);
    else goto fail;
    if (!s) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    s->doc = doc;
    return s;
fail:
    cJSON_Delete(doc);
    return NULL;
}

void bf_json_schema_free(bf_json_schema *s) {
    if (!s) return;
    cJSON_Delete(s->doc);
    free(s);
}

const cJSON *bf_json_schema_doc(const bf_json_schema *s) { return s->doc; }

/* ---- validation ------------------------------------------------------------------------------- */

typedef struct vctx {
    const cJSON *doc;
    char path[PATH_MAX_LEN];
    size_t plen;
    char err[1024];
    size_t err_depth; /* path length of the recorded error: the deeper, the closer a branch came */
    bool err_type;    /* the recorded error is a mismatch (type, enum, const): likely another form */
} vctx;

static int vfail(vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vfail(vctx *c, const char *fmt, ...) {
    char why[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(c->err, sizeof c->err, "%s: %s", c->path, why);
    c->err_depth = c->plen;
    c->err_type = false;
    return -1;
}

static size_t push(vctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(vctx *c, const char *fmt, ...) {
    size_t mark = c->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->path + c->plen, sizeof c->path - c->plen, fmt, ap);
    va_end(ap);
    if (n > 0) c->plen += (size_t)n < sizeof c->path - c->plen ? (size_t)n : sizeof c->path - c->plen - 1;
    return mark;
}

static void pop(vctx *c, size_t mark) {
    c->plen = mark;
    c->path[mark] = '\0';
}

static bool is_integer(const cJSON *v) {
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && floor(v->valuedouble) == v->valuedouble &&
           fabs(v->valuedouble) <= 9007199254740992.0;
}

const char *bf_json_schema_type_name(const cJSON *v) {
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsBool(v)) return "boolean";
    if (cJSON_IsNumber(v)) return is_integer(v) ? "integer" : "number";
    if (cJSON_IsString(v)) return "string";
    if (cJSON_IsArray(v)) return "array";
    if (cJSON_IsObject(v)) return "object";
    return "invalid";
}

static bool type_is(const char *t, const cJSON *v) {
    if (strcmp(t, "integer") == 0) return is_integer(v);
    if (strcmp(t, "number") == 0) return cJSON_IsNumber(v);
    return strcmp(t, bf_json_schema_type_name(v)) == 0;
}

static size_t utf8_length(const char *s) {
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

/* Short text of a value for messages (strings quoted, long ones cut). */
static void value_text(const cJSON *v, char *out, size_t outlen) {
    char *t = cJSON_PrintUnformatted(v);
    if (!t) {
        snprintf(out, outlen, "(value)");
        return;
    }
    if (strlen(t) > 60) snprintf(out, outlen, "%.57s...", t);
    else snprintf(out, outlen, "%s", t);
    free(t);
}

static void list_text(const cJSON *arr, char *out, size_t outlen, bool names) {
    size_t n = 0;
    out[0] = '\0';
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        char one[80];
        if (names && cJSON_IsString(e)) snprintf(one, sizeof one, "%s", e->valuestring);
        else value_text(e, one, sizeof one);
        int w = snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", one);
        if (w < 0 || (size_t)w >= outlen - n) break;
        n += (size_t)w;
    }
}

static int validate(vctx *c, const cJSON *s, const cJSON *v, int depth);

static int check_type(vctx *c, const cJSON *t, const cJSON *v) {
    if (cJSON_IsString(t)) {
        if (type_is(t->valuestring, v)) return 0;
        vfail(c, "expected %s, got %s", t->valuestring, bf_json_schema_type_name(v));
    } else {
        const cJSON *e;
        cJSON_ArrayForEach(e, t) if (cJSON_IsString(e) && type_is(e->valuestring, v)) return 0;
        char names[256];
        list_text(t, names, sizeof names, true);
        vfail(c, "expected one of the types %s, got %s", names, bf_json_schema_type_name(v));
    }
    c->err_type = true;
    return -1;
}

static int check_object(vctx *c, const cJSON *s, const cJSON *v, int depth) {
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *e;
    int count = cJSON_GetArraySize(v);
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(s, "minProperties");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maxProperties");
    if (mn && count < mn->valuedouble) return vfail(c, "has %d properties, fewer than %g", count, mn->valuedouble);
    if (mx && count > mx->valuedouble) return vfail(c, "has %d properties, more than %g", count, mx->valuedouble);
    cJSON_ArrayForEach(e, v) {
        const cJSON *ps = props ? cJSON_GetObjectItemCaseSensitive(props, e->string) : NULL;
        if (!ps && cJSON_IsFalse(addl)) {
            char allowed[300] = "none";
            size_t n = 0;
            const cJSON *p;
            cJSON_ArrayForEach(p, props) {
                int w = snprintf(allowed + n, sizeof allowed - n, "%s%s", n ? ", " : "", p->string);
                if (w < 0 || (size_t)w >= sizeof allowed - n) break;
                n += (size_t)w;
            }
            return vfail(c, "unknown property \"%.80s\" (allowed: %s)", e->string, allowed);
        }
        const cJSON *sub = ps ? ps : (addl && !cJSON_IsBool(addl) ? addl : NULL);
        if (!sub) continue;
        size_t m = push(c, ".%s", e->string);
        int r = validate(c, sub, e, depth + 1);
        pop(c, m);
        if (r != 0) return -1;
    }
    /* After the properties: in a oneOf of message forms, a wrong form shows as its "role" enum
     * mismatch (a mismatch, see check_branches) rather than as a missing field. */
    cJSON_ArrayForEach(e, req) {
        if (!cJSON_GetObjectItemCaseSensitive(v, e->valuestring))
            return vfail(c, "missing required property \"%s\"", e->valuestring);
    }
    return 0;
}

static int check_array(vctx *c, const cJSON *s, const cJSON *v, int depth) {
    int n = cJSON_GetArraySize(v);
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(s, "minItems");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maxItems");
    if (mn && n < mn->valuedouble) return vfail(c, "has %d items, fewer than %g", n, mn->valuedouble);
    if (mx && n > mx->valuedouble) return vfail(c, "has %d items, more than %g", n, mx->valuedouble);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    if (!items) return 0;
    int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        size_t m = push(c, "[%d]", i++);
        int r = validate(c, items, e, depth + 1);
        pop(c, m);
        if (r != 0) return -1;
    }
    return 0;
}

static int check_scalar(vctx *c, const cJSON *s, const cJSON *v) {
    if (cJSON_IsString(v)) {
        size_t len = utf8_length(v->valuestring);
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(s, "minLength");
        const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
        if (mn && (double)len < mn->valuedouble)
            return len ? vfail(c, "is %zu characters long, shorter than %g", len, mn->valuedouble)
                       : vfail(c, "is empty, at least %g characters needed", mn->valuedouble);
        if (mx && (double)len > mx->valuedouble)
            return vfail(c, "is %zu characters long, longer than %g", len, mx->valuedouble);
    }
    if (cJSON_IsNumber(v)) {
        double x = v->valuedouble;
        const cJSON *b;
        if ((b = cJSON_GetObjectItemCaseSensitive(s, "minimum")) && x < b->valuedouble)
            return vfail(c, "%g is below the minimum %g", x, b->valuedouble);
        if ((b = cJSON_GetObjectItemCaseSensitive(s, "maximum")) && x > b->valuedouble)
            return vfail(c, "%g is above the maximum %g", x, b->valuedouble);
        if ((b = cJSON_GetObjectItemCaseSensitive(s, "exclusiveMinimum")) && x <= b->valuedouble)
            return vfail(c, "%g must be above %g", x, b->valuedouble);
        if ((b = cJSON_GetObjectItemCaseSensitive(s, "exclusiveMaximum")) && x >= b->valuedouble)
            return vfail(c, "%g must be below %g", x, b->valuedouble);
    }
    return 0;
}

/* anyOf (want_one false) or oneOf (true). On failure the error of the branch that came closest is
 * kept, since that is the form the value was most likely meant as: one that failed on something
 * other than a mismatch (type, enum, const) if any, else the deepest. */
static int check_branches(vctx *c, const cJSON *list, const cJSON *v, int depth, bool want_one) {
    int matched = 0;
    char best[sizeof c->err] = "";
    size_t best_depth = 0, best_score = 0;
    const cJSON *b;
    cJSON_ArrayForEach(b, list) {
        c->err[0] = '\0';
        if (validate(c, b, v, depth + 1) == 0) {
            if (++matched > 1 && want_one) {
                return vfail(c, "matches more than one form of oneOf");
            }
            if (!want_one) return 0;
        } else {
            size_t score = c->err_depth + (c->err_type ? 0 : 100000);
            if (!best[0] || score > best_score) {
                memcpy(best, c->err, sizeof best);
                best_depth = c->err_depth;
                best_score = score;
            }
        }
    }
    if (matched == 1 || (matched && !want_one)) return 0;
    /* The closest branch's own message names the place and the problem. */
    memcpy(c->err, best, sizeof c->err);
    c->err_depth = best_depth;
    c->err_type = best_score < 100000;
    return -1;
}

static int validate(vctx *c, const cJSON *s, const cJSON *v, int depth) {
    if (depth > MAX_DEPTH) return vfail(c, "schema nesting too deep");
    if (cJSON_IsTrue(s)) return 0;
    if (cJSON_IsFalse(s)) return vfail(c, "no value is allowed here");
    const cJSON *k;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "$ref")) &&
        validate(c, resolve(c->doc, k->valuestring), v, depth + 1) != 0)
        return -1;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "type")) && check_type(c, k, v) != 0) return -1;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "const")) && !cJSON_Compare(k, v, true)) {
        char want[80];
        value_text(k, want, sizeof want);
        vfail(c, "must be %s", want);
        c->err_type = true;
        return -1;
    }
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "enum"))) {
        bool ok = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, k) if (cJSON_Compare(e, v, true)) ok = true;
        if (!ok) {
            char names[400], got[80];
            list_text(k, names, sizeof names, false);
            value_text(v, got, sizeof got);
            vfail(c, "%s is not one of %s", got, names);
            c->err_type = true;
            return -1;
        }
    }
    if (cJSON_IsObject(v) && check_object(c, s, v, depth) != 0) return -1;
    if (cJSON_IsArray(v) && check_array(c, s, v, depth) != 0) return -1;
    if (check_scalar(c, s, v) != 0) return -1;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "allOf"))) {
        const cJSON *e;
        cJSON_ArrayForEach(e, k) if (validate(c, e, v, depth + 1) != 0) return -1;
    }
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "anyOf")) && check_branches(c, k, v, depth, false) != 0)
        return -1;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "oneOf")) && check_branches(c, k, v, depth, true) != 0)
        return -1;
    if ((k = cJSON_GetObjectItemCaseSensitive(s, "not"))) {
        vctx sub = *c;
        if (validate(&sub, k, v, depth + 1) == 0) return vfail(c, "matches a form that is not allowed");
    }
    return 0;
}

int bf_json_schema_check(const bf_json_schema *s, const char *pointer, const cJSON *instance, const char *root,
                         char *err, size_t errlen) {
    const cJSON *sch = resolve(s->doc, pointer && *pointer ? pointer : "#");
    if (!sch) {
        set_err(err, errlen, "schema %s not found", pointer);
        return -1;
    }
    vctx *c = calloc(1, sizeof *c);
    if (!c) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    c->doc = s->doc;
    push(c, "%s", root && *root ? root : "value");
    int r = validate(c, sch, instance, 0);
    if (r != 0) set_err(err, errlen, "%s", c->err);
    free(c);
    return r;
}
