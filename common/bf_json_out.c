#include "bf_json_out.h"

#include <stdlib.h>
#include <string.h>

#include "bf_number_text.h"

void bf_json_out_init(bf_json_out *w) { bf_buf_init(w); }
void bf_json_out_free(bf_json_out *w) { bf_buf_free(w); }
void bf_json_out_reset(bf_json_out *w) { bf_buf_reset(w); }
void bf_json_out_reserve(bf_json_out *w, size_t extra) { bf_buf_reserve(w, extra); }

void bf_json_out_raw(bf_json_out *w, const char *s, size_t n) { bf_buf_append(w, s, n); }

void bf_json_out_lit(bf_json_out *w, const char *s) { bf_json_out_raw(w, s, strlen(s)); }

void bf_json_out_key(bf_json_out *w, const char *key) {
    size_t n = strlen(key);
    if (!bf_buf_reserve(w, n + 4)) return;
    char *o = w->buf + w->len;
    if (w->len && w->buf[w->len - 1] != '{') *o++ = ',';
    *o++ = '"';
    memcpy(o, key, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    w->len = (size_t)(o - w->buf);
}

/* The escape of a byte cJSON escapes (2 or 6 bytes), 0 for one it copies. */
static size_t escape(unsigned char ch, char out[6]) {
    static const char hex[] = "0123456789abcdef";
    char short_form = 0;
    switch (ch) {
    case '"': short_form = '"'; break;
    case '\\': short_form = '\\'; break;
    case '\b': short_form = 'b'; break;
    case '\f': short_form = 'f'; break;
    case '\n': short_form = 'n'; break;
    case '\r': short_form = 'r'; break;
    case '\t': short_form = 't'; break;
    default:
        if (ch >= 0x20) return 0;
        memcpy(out, "\\u00", 4);
        out[4] = hex[ch >> 4];
        out[5] = hex[ch & 0xf];
        return 6;
    }
    out[0] = '\\';
    out[1] = short_form;
    return 2;
}

void bf_json_out_string(bf_json_out *w, const char *s) {
    if (!s) s = "";
    size_t n = strlen(s);
    /* Worst case every byte becomes \u00xx; reserving it keeps the loop free of checks. */
    if (n > SIZE_MAX / 8 || !bf_buf_reserve(w, 6 * n + 2)) {
        w->oom = true;
        return;
    }
    char *o = w->buf + w->len;
    *o++ = '"';
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        /* Copy the run that needs no escaping in one go (the usual case: all of it). */
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\') p++;
        memcpy(o, run, (size_t)(p - run));
        o += p - run;
        if (p < end) o += escape(*p++, o);
    }
    *o++ = '"';
    w->len = (size_t)(o - w->buf);
}

void bf_json_out_strings(bf_json_out *w, const char *const *v, size_t n) {
    bf_json_out_raw(w, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) bf_json_out_raw(w, ",", 1);
        bf_json_out_string(w, v[i]);
    }
    bf_json_out_raw(w, "]", 1);
}

void bf_json_out_number(bf_json_out *w, double d) {
    char t[BF_NUMBER_TEXT_MAX];
    bf_json_out_raw(w, t, bf_number_json(d, t));
}

void bf_json_out_int(bf_json_out *w, int64_t v) {
    char t[BF_NUMBER_TEXT_MAX];
    bf_json_out_raw(w, t, bf_number_int(v, t));
}

void bf_json_out_member_string(bf_json_out *w, const char *key, const char *s) {
    if (!s) return;
    bf_json_out_key(w, key);
    bf_json_out_string(w, s);
}

void bf_json_out_member_number(bf_json_out *w, const char *key, double d) {
    bf_json_out_key(w, key);
    bf_json_out_number(w, d);
}

void bf_json_out_member_int(bf_json_out *w, const char *key, int64_t v) {
    bf_json_out_key(w, key);
    bf_json_out_int(w, v);
}

const char *bf_json_out_text(bf_json_out *w) { return bf_buf_text(w); }

char *bf_json_out_take(bf_json_out *w, size_t *len) { return bf_buf_take(w, len); }
