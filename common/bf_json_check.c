#include "bf_json_check.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_trace.h"
#include "bf_uuid.h"

/* ---- the bounded parse ---- */

static size_t utf8_seq(const unsigned char *p, size_t left) {
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned cp, min;
    if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (left < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return n;
}

static size_t utf8_first_invalid(const char *bytes, size_t len) {
    const unsigned char *p = (const unsigned char *)bytes;
    size_t i = 0;
    while (i < len) {
        /* Eight ASCII bytes at a time: messages are nearly all ASCII. */
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, p + i, 8), (w & 0x8080808080808080ULL) == 0)) {
            i += 8;
            continue;
        }
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0) return i;
        i += n;
    }
    return len;
}

bool bf_utf8_valid(const char *bytes, size_t len) {
    return utf8_first_invalid(bytes, len) == len;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...) {
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Walks the text once, outside and inside strings, for what cJSON would accept but we must not:
 * NULs, \u0000 and excessive nesting (cJSON's own limit is 1000, far above ours). */
static int prescan(const char *b, size_t len, unsigned max_depth, char *err, size_t errlen) {
    unsigned depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        /* Skip the runs that cannot matter in one tight loop: string content without quote,
         * backslash or control byte; outside strings, anything but quotes, brackets and NUL. */
        if (in_str)
            while (i < len && (unsigned char)b[i] >= 0x20 && b[i] != '"' && b[i] != '\\') i++;
        else
            while (i < len && b[i] != '"' && b[i] != '{' && b[i] != '[' && b[i] != '}' && b[i] != ']' && b[i] != '\0')
                i++;
        if (i == len) break;
        char ch = b[i];
        if (ch == '\0') {
            set_err(err, errlen, "NUL byte at offset %zu", i);
            return -1;
        }
        if (in_str) {
            if (ch == '\\') {
                /* Only JSON's escapes: cJSON accepts broken ones (\\uZZ, a backslash before a
                 * NUL) and would silently cut the string there. */
                char e = i + 1 < len ? b[i + 1] : '\0';
                if (e == 'u') {
                    bool hex = i + 5 < len;
                    for (size_t k = 2; hex && k < 6; k++) hex = isxdigit((unsigned char)b[i + k]) != 0;
                    if (!hex) {
                        set_err(err, errlen, "bad \\u escape at offset %zu", i);
                        return -1;
                    }
                    if (memcmp(b + i + 2, "0000", 4) == 0) {
                        set_err(err, errlen, "\\u0000 escape at offset %zu", i);
                        return -1;
                    }
                    i += 5;
                } else if (e && strchr("\"\\/bfnrt", e)) {
                    i++;
                } else {
                    set_err(err, errlen, "bad escape at offset %zu", i);
                    return -1;
                }
            } else if ((unsigned char)ch < 0x20) {
                set_err(err, errlen, "control character in a string at offset %zu", i);
                return -1;
            } else if (ch == '"') {
                in_str = false;
            }
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max_depth) {
                set_err(err, errlen, "nesting deeper than %u at offset %zu", max_depth, i);
                return -1;
            }
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

unsigned bf_json_depth(const char *text, size_t len) {
    unsigned depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (in_str) {
            if (ch == '\\') i++; /* the escaped byte cannot end the string */
            else if (ch == '"') in_str = false;
        } else if (ch == '"') {
            in_str = true;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max) max = depth;
        } else if ((ch == '}' || ch == ']') && depth > 0) {
            depth--;
        }
    }
    return max;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Small objects (all of ours) are compared pairwise without allocating; larger ones are sorted,
 * so a hostile object with many keys stays O(n log n). */
#define PAIRWISE_MAX 16

static const char *duplicate_key(const cJSON *j) {
    for (const cJSON *ch = j ? j->child : NULL; ch; ch = ch->next) {
        const char *d = duplicate_key(ch);
        if (d) return d;
    }
    if (!cJSON_IsObject(j)) return NULL;
    size_t n = 0;
    for (const cJSON *ch = j->child; ch; ch = ch->next) n++;
    if (n < 2) return NULL;
    const char *few[PAIRWISE_MAX];
    const char **keys = n <= PAIRWISE_MAX ? few : malloc(n * sizeof *keys);
    if (!keys) return "(out of memory)";
    size_t i = 0;
    for (const cJSON *ch = j->child; ch; ch = ch->next) keys[i++] = ch->string ? ch->string : "";
    const char *dup = NULL;
    if (n <= PAIRWISE_MAX) {
        /* Compare hashes first: a message's objects have up to 16 distinct keys, and the ~100
         * strcmp calls per object were most of this check's cost. */
        uint32_t h[PAIRWISE_MAX];
        for (i = 0; i < n; i++) {
            h[i] = 2166136261u;
            for (const unsigned char *p = (const unsigned char *)keys[i]; *p; p++) h[i] = (h[i] ^ *p) * 16777619u;
        }
        for (i = 1; i < n && !dup; i++)
            for (size_t k = 0; k < i && !dup; k++)
                if (h[k] == h[i] && strcmp(keys[k], keys[i]) == 0) dup = keys[i];
        return dup;
    }
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 1; i < n && !dup; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0) dup = keys[i];
    free(keys);
    return dup;
}

cJSON *bf_json_parse(const char *bytes, size_t len, size_t max_len, unsigned max_depth, char *err,
                     size_t errlen) {
    if (!bytes || len == 0) {
        set_err(err, errlen, "empty message");
        return NULL;
    }
    if (len > max_len) {
        set_err(err, errlen, "message of %zu bytes is above the limit of %zu", len, max_len);
        return NULL;
    }
    size_t bad = utf8_first_invalid(bytes, len);
    if (bad != len) {
        set_err(err, errlen, "invalid UTF-8 at offset %zu", bad);
        return NULL;
    }
    if (prescan(bytes, len, max_depth, err, errlen) != 0) return NULL;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(bytes, len, &end, 0);
    if (!root) {
        size_t at = end && end >= bytes ? (size_t)(end - bytes) : 0;
        set_err(err, errlen, "not valid JSON near offset %zu", at);
        return NULL;
    }
    while (end && end < bytes + len && isspace((unsigned char)*end)) end++;
    if (!end || end != bytes + len) {
        set_err(err, errlen, "trailing bytes after the JSON value at offset %zu",
                end ? (size_t)(end - bytes) : 0);
        cJSON_Delete(root);
        return NULL;
    }
    const char *dup = duplicate_key(root);
    if (dup) {
        set_err(err, errlen, "duplicate key \"%.64s\"", dup);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

/* ---- path tracking ---- */

void bf_jc_init(bf_jc *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    c->err = err;
    c->errlen = errlen;
    if (err && errlen) err[0] = '\0';
}

/* Appends n bytes of s to the path, cut where the buffer ends. Plain copies, not vsnprintf:
 * decoders push and pop a path element for nearly every field of every message. */
static void path_put(bf_jc *c, const char *s, size_t n) {
    size_t room = sizeof c->path - 1 - c->len;
    if (n > room) n = room;
    memcpy(c->path + c->len, s, n);
    c->len += n;
    c->path[c->len] = '\0';
}

size_t bf_jc_push_key(bf_jc *c, const char *key) {
    size_t mark = c->len;
    if (c->len) path_put(c, ".", 1);
    path_put(c, key, strlen(key));
    return mark;
}

size_t bf_jc_push_index(bf_jc *c, size_t i) {
    size_t mark = c->len;
    char t[32];
    int n = snprintf(t, sizeof t, "[%zu]", i); /* arrays are few beside keys: plain snprintf */
    path_put(c, t, n > 0 ? (size_t)n : 0);
    return mark;
}

void bf_jc_pop(bf_jc *c, size_t mark) {
    if (mark < sizeof c->path) {
        c->len = mark;
        c->path[mark] = '\0';
    }
}

static int vfail(bf_jc *c, const char *fmt, va_list ap) {
    if (c->failed) return -1;
    c->failed = true;
    if (!c->err || c->errlen == 0) return -1;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (c->len) snprintf(c->err, c->errlen, "%s: %s", c->path, msg);
    else snprintf(c->err, c->errlen, "%s", msg);
    return -1;
}

int bf_jc_fail(bf_jc *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int r = vfail(c, fmt, ap);
    va_end(ap);
    return r;
}

int bf_jc_fail_at(bf_jc *c, const char *key, const char *fmt, ...) {
    size_t m = bf_jc_push_key(c, key);
    va_list ap;
    va_start(ap, fmt);
    int r = vfail(c, fmt, ap);
    va_end(ap);
    bf_jc_pop(c, m);
    return r;
}

/* ---- predicates ---- */

static bool is_ident_char(char ch, bool first) {
    if (isalnum((unsigned char)ch)) return true;
    return !first && (ch == '.' || ch == '_' || ch == ':' || ch == '-');
}

bool bf_ident_valid(const char *s) {
    if (!s || !*s) return false;
    size_t n = strlen(s);
    if (n > 128) return false;
    for (size_t i = 0; i < n; i++)
        if (!is_ident_char(s[i], i == 0)) return false;
    return true;
}

bool bf_url_valid(const char *s, size_t max) {
    if (!s) return false;
    size_t n = strlen(s);
    if (n > max) return false;
    size_t scheme = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (!scheme) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch == 0x7f) return false;
    }
    size_t host = strcspn(s + scheme, "/?#");
    return host > 0;
}

static bool hex_digits(const char *s, size_t n, bool upper_ok) {
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (upper_ok && ch >= 'A' && ch <= 'F');
        if (!ok) return false;
    }
    return true;
}

bool bf_colour_valid(const char *s) {
    return s && strlen(s) == 7 && s[0] == '#' && hex_digits(s + 1, 6, true);
}

bool bf_sha256_hex_valid(const char *s) {
    return s && strlen(s) == 64 && hex_digits(s, 64, false);
}

/* ---- readers ---- */

/* cJSON_GetObjectItemCaseSensitive's answer (the first member named key), with the first byte
 * compared before calling strcmp: decoders look up every field of a 15-key object this way. */
static const cJSON *member_named(const cJSON *obj, const char *key) {
    if (!cJSON_IsObject(obj) || !key) return NULL;
    for (const cJSON *ch = obj->child; ch; ch = ch->next)
        if (ch->string && ch->string[0] == key[0] && strcmp(ch->string, key) == 0) return ch;
    return NULL;
}

const cJSON *bf_jc_get(const cJSON *obj, const char *key) {
    const cJSON *j = member_named(obj, key);
    return j && !cJSON_IsNull(j) ? j : NULL;
}

/* Common prologue: the member, or a "missing" failure. Returns 1 found, 0 absent-ok, -1 failed. */
static int member(bf_jc *c, const cJSON *obj, const char *key, bool required, const cJSON **out) {
    *out = NULL;
    if (c->failed) return -1;
    const cJSON *j = bf_jc_get(obj, key);
    if (!j) return required ? bf_jc_fail_at(c, key, "missing") : 0;
    *out = j;
    return 1;
}

int bf_jc_object(bf_jc *c, const cJSON *obj, const char *key, bool required, const cJSON **out) {
    const cJSON *j;
    *out = NULL;
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    if (!cJSON_IsObject(j)) return bf_jc_fail_at(c, key, "expected an object");
    *out = j;
    return 0;
}

int bf_jc_array(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t min, size_t max,
                const cJSON **out, size_t *n) {
    const cJSON *j;
    *out = NULL;
    *n = 0;
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    if (!cJSON_IsArray(j)) return bf_jc_fail_at(c, key, "expected an array");
    size_t count = (size_t)cJSON_GetArraySize(j);
    if (count < min) return bf_jc_fail_at(c, key, "needs at least %zu entries", min);
    if (count > max) return bf_jc_fail_at(c, key, "more than %zu entries", max);
    *out = j;
    *n = count;
    return 0;
}

int bf_jc_string_item(bf_jc *c, const cJSON *item, size_t min, size_t max, bool multiline, char **out) {
    *out = NULL;
    if (c->failed) return -1;
    if (!cJSON_IsString(item) || !item->valuestring) return bf_jc_fail(c, "expected a string");
    const char *s = item->valuestring;
    size_t n = strlen(s);
    if (n < min) return bf_jc_fail(c, n == 0 ? "empty" : "shorter than %zu bytes", min);
    if (n > max) return bf_jc_fail(c, "longer than %zu bytes", max);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ws = ch == '\n' || ch == '\r' || ch == '\t';
        if ((ch < 0x20 && !(multiline && ws)) || ch == 0x7f)
            return bf_jc_fail(c, "control character at byte %zu", i);
    }
    *out = strdup(s);
    if (!*out) return bf_jc_fail(c, "out of memory");
    return 0;
}

int bf_jc_string(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t min, size_t max,
                 bool multiline, char **out) {
    const cJSON *j;
    *out = NULL;
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    size_t m = bf_jc_push_key(c, key);
    r = bf_jc_string_item(c, j, min, max, multiline, out);
    bf_jc_pop(c, m);
    return r;
}

/* Like bf_jc_string but into a fixed buffer, for formats checked by pred. */
static int fixed_string(bf_jc *c, const cJSON *j, size_t cap, char *out, bool (*pred)(const char *),
                        const char *what) {
    if (c->failed) return -1;
    if (!cJSON_IsString(j) || !j->valuestring) return bf_jc_fail(c, "expected a string");
    const char *s = j->valuestring;
    if (strlen(s) >= cap || !pred(s)) return bf_jc_fail(c, "not %s", what);
    snprintf(out, cap, "%s", s);
    return 0;
}

static int fixed_member(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t cap, char *out,
                        bool (*pred)(const char *), const char *what) {
    const cJSON *j;
    out[0] = '\0';
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    size_t m = bf_jc_push_key(c, key);
    r = fixed_string(c, j, cap, out, pred, what);
    bf_jc_pop(c, m);
    return r;
}

int bf_jc_enum(bf_jc *c, const cJSON *obj, const char *key, bool required, const char *const *names,
               size_t n, int *out) {
    const cJSON *j;
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    if (!cJSON_IsString(j) || !j->valuestring) return bf_jc_fail_at(c, key, "expected a string");
    for (size_t i = 0; i < n; i++)
        if (strcmp(j->valuestring, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    char expected[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < n && used < sizeof expected; i++) {
        int w = snprintf(expected + used, sizeof expected - used, "%s%s", i ? "|" : "", names[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return bf_jc_fail_at(c, key, "unknown value (expected %s)", expected);
}

static int number_of(bf_jc *c, const cJSON *obj, const char *key, bool required, const cJSON **j) {
    int r = member(c, obj, key, required, j);
    if (r <= 0) return r;
    if (!cJSON_IsNumber(*j)) return bf_jc_fail_at(c, key, "expected a number");
    if (!isfinite((*j)->valuedouble)) return bf_jc_fail_at(c, key, "not a finite number");
    return 1;
}

int bf_jc_int(bf_jc *c, const cJSON *obj, const char *key, bool required, int64_t min, int64_t max,
              int64_t *out) {
    const cJSON *j;
    int r = number_of(c, obj, key, required, &j);
    if (r <= 0) return r;
    double v = j->valuedouble;
    if (v != floor(v) || fabs(v) > 9007199254740992.0) return bf_jc_fail_at(c, key, "expected an integer");
    if (v < (double)min || v > (double)max)
        return bf_jc_fail_at(c, key, "%.0f is outside %lld..%lld", v, (long long)min, (long long)max);
    *out = (int64_t)v;
    return 0;
}

int bf_jc_number(bf_jc *c, const cJSON *obj, const char *key, bool required, double min, double max,
                 double *out) {
    const cJSON *j;
    int r = number_of(c, obj, key, required, &j);
    if (r <= 0) return r;
    if (j->valuedouble < min || j->valuedouble > max)
        return bf_jc_fail_at(c, key, "%g is outside %g..%g", j->valuedouble, min, max);
    *out = j->valuedouble;
    return 0;
}

int bf_jc_bool(bf_jc *c, const cJSON *obj, const char *key, bool required, bool *out) {
    const cJSON *j;
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    if (!cJSON_IsBool(j)) return bf_jc_fail_at(c, key, "expected true or false");
    *out = cJSON_IsTrue(j);
    return 0;
}

static bool pred_uuid(const char *s) { return bf_uuid_valid(s); }
static bool pred_uuid7(const char *s) { return bf_uuid_v7_valid(s); }
static bool pred_trace(const char *s) { return bf_trace_id_valid(s); }

int bf_jc_uuid(bf_jc *c, const cJSON *obj, const char *key, bool required, bool v7_only, char out[37]) {
    return fixed_member(c, obj, key, required, 37, out, v7_only ? pred_uuid7 : pred_uuid,
                        v7_only ? "a UUIDv7 (lowercase 8-4-4-4-12 hex, version 7)"
                                : "a UUID (lowercase 8-4-4-4-12 hex)");
}

int bf_jc_trace_id(bf_jc *c, const cJSON *obj, const char *key, bool required, char out[33]) {
    return fixed_member(c, obj, key, required, 33, out, pred_trace, "a trace id (32 lowercase hex, not all zero)");
}

int bf_jc_trace_id_item(bf_jc *c, const cJSON *item, char out[33]) {
    out[0] = '\0';
    return fixed_string(c, item, 33, out, pred_trace, "a trace id (32 lowercase hex, not all zero)");
}

int bf_jc_sha256(bf_jc *c, const cJSON *obj, const char *key, bool required, char out[65]) {
    return fixed_member(c, obj, key, required, 65, out, bf_sha256_hex_valid, "a sha256 (64 lowercase hex)");
}

int bf_jc_colour(bf_jc *c, const cJSON *obj, const char *key, bool required, char out[8]) {
    return fixed_member(c, obj, key, required, 8, out, bf_colour_valid, "a #RRGGBB colour");
}

int bf_jc_ident(bf_jc *c, const cJSON *obj, const char *key, bool required, char **out) {
    const cJSON *j;
    *out = NULL;
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    if (!cJSON_IsString(j) || !j->valuestring) return bf_jc_fail_at(c, key, "expected a string");
    if (!bf_ident_valid(j->valuestring))
        return bf_jc_fail_at(c, key, "not an identifier ([A-Za-z0-9][A-Za-z0-9._:-]*, at most 128)");
    *out = strdup(j->valuestring);
    return *out ? 0 : bf_jc_fail_at(c, key, "out of memory");
}

int bf_jc_url_item(bf_jc *c, const cJSON *item, size_t max, char **out) {
    *out = NULL;
    if (c->failed) return -1;
    if (!cJSON_IsString(item) || !item->valuestring) return bf_jc_fail(c, "expected a string");
    if (strlen(item->valuestring) > max) return bf_jc_fail(c, "longer than %zu bytes", max);
    if (!bf_url_valid(item->valuestring, max)) return bf_jc_fail(c, "not an http(s) URL");
    *out = strdup(item->valuestring);
    return *out ? 0 : bf_jc_fail(c, "out of memory");
}

int bf_jc_url(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t max, char **out) {
    const cJSON *j;
    *out = NULL;
    int r = member(c, obj, key, required, &j);
    if (r <= 0) return r;
    size_t m = bf_jc_push_key(c, key);
    r = bf_jc_url_item(c, j, max, out);
    bf_jc_pop(c, m);
    return r;
}

int bf_jc_json(bf_jc *c, const cJSON *obj, const char *key, bool required, bool object_only, size_t max,
               char **out) {
    const cJSON *j;
    *out = NULL;
    /* JSON null is a legitimate memory value, so look it up directly rather than via member(). */
    if (c->failed) return -1;
    j = member_named(obj, key);
    if (!j || (object_only && cJSON_IsNull(j))) return required ? bf_jc_fail_at(c, key, "missing") : 0;
    if (object_only && !cJSON_IsObject(j)) return bf_jc_fail_at(c, key, "expected an object");
    char *text = cJSON_PrintUnformatted(j);
    if (!text) return bf_jc_fail_at(c, key, "out of memory");
    if (strlen(text) > max) {
        free(text);
        return bf_jc_fail_at(c, key, "larger than %zu bytes as JSON", max);
    }
    *out = text;
    return 0;
}
