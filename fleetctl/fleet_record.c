#include "fleet_record.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "bf_dlq.h"
#include "bf_trace.h"
#include "fleet_time.h"

bool fleet_utf8_text(const void *bytes, size_t len) {
    const unsigned char *s = bytes;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c == 0) return false;
        if (c < 0x80) { i++; continue; }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
        else return false;
        for (size_t k = 1; k <= n; k++) {
            if (i + k >= len || (s[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* Adds name (JSON) or name_base64 for bytes; NULL bytes become JSON null under name. */
static void add_bytes(cJSON *obj, const char *name, const void *bytes, size_t len, bool embed_json) {
    if (!bytes) {
        cJSON_AddNullToObject(obj, name);
        return;
    }
    if (fleet_utf8_text(bytes, len)) {
        if (embed_json) {
            const char *end = NULL;
            cJSON *j = cJSON_ParseWithLengthOpts(bytes, len, &end, 0);
            /* Only whole-value JSON objects/arrays are embedded: a bare number or string would
             * be indistinguishable from text that merely looks like one. */
            if (j && end == (const char *)bytes + len && (cJSON_IsObject(j) || cJSON_IsArray(j))) {
                cJSON_AddItemToObject(obj, name, j);
                return;
            }
            cJSON_Delete(j);
        }
        char *s = malloc(len + 1);
        if (!s) return;
        memcpy(s, bytes, len);
        s[len] = '\0';
        cJSON_AddStringToObject(obj, name, s);
        free(s);
        return;
    }
    char *b = bf_base64_encode(bytes, len);
    char key[64];
    size_t nl = strlen(name);
    if (nl + 8 < sizeof key) {
        memcpy(key, name, nl);
        memcpy(key + nl, "_base64", 8);
        cJSON_AddStringToObject(obj, key, b ? b : "");
    }
    free(b);
}

char *fleet_record_json(const fleet_record *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "topic", r->topic);
    cJSON_AddNumberToObject(o, "partition", r->partition);
    cJSON_AddNumberToObject(o, "offset", (double)r->offset);
    cJSON_AddNumberToObject(o, "timestamp_ms", (double)r->timestamp_ms);
    if (r->timestamp_ms >= 0) {
        char ts[40];
        fleet_format_rfc3339(r->timestamp_ms, ts, sizeof ts);
        cJSON_AddStringToObject(o, "timestamp", ts);
    }
    add_bytes(o, "key", r->key, r->key_len, false);
    cJSON *hs = cJSON_AddArrayToObject(o, "headers");
    for (size_t i = 0; i < r->n_headers; i++) {
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "name", r->headers[i].name);
        add_bytes(h, "value", r->headers[i].value, r->headers[i].len, false);
        cJSON_AddItemToArray(hs, h);
    }
    add_bytes(o, "value", r->value, r->len, true);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

const fleet_header *fleet_record_header(const fleet_record *r, const char *name) {
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i].name, name) == 0) return &r->headers[i];
    return NULL;
}

int fleet_record_trace_id(const fleet_record *r, char out[33]) {
    const fleet_header *h = fleet_record_header(r, "traceparent");
    if (h && h->value && h->len == BF_TRACEPARENT_LEN) {
        char tp[BF_TRACEPARENT_LEN + 1];
        memcpy(tp, h->value, h->len);
        tp[h->len] = '\0';
        if (bf_trace_parse(tp, out) == 0) return 0;
    }
    if (!r->value) return -1;
    cJSON *j = cJSON_ParseWithLength(r->value, r->len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "trace_id");
    int rc = -1;
    if (cJSON_IsString(t) && bf_trace_id_valid(t->valuestring)) {
        memcpy(out, t->valuestring, 33);
        rc = 0;
    }
    cJSON_Delete(j);
    return rc;
}
