#include "fleet_capture.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "bf_dlq.h"

static void *keep_block(fleet_capture_record *r, void *p) {
    if (p && r->n_blocks < sizeof r->blocks / sizeof r->blocks[0]) r->blocks[r->n_blocks++] = p;
    return p;
}

/* name: embedded JSON (value only), a string, null, or name_base64. */
static int bytes_of(const cJSON *obj, const char *name, fleet_capture_record *r, const void **out, size_t *len) {
    char key[64];
    snprintf(key, sizeof key, "%s_base64", name);
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(obj, key);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    *out = NULL;
    *len = 0;
    if (cJSON_IsString(b64)) {
        unsigned char *d = bf_base64_decode(b64->valuestring, len);
        if (!d) return -1;
        *out = keep_block(r, d);
        return 0;
    }
    if (!v || cJSON_IsNull(v)) return 0;
    char *s = cJSON_IsString(v) ? strdup(v->valuestring) : cJSON_PrintUnformatted(v);
    if (!s) return -1;
    *out = keep_block(r, s);
    *len = strlen(s);
    return 0;
}

void fleet_capture_record_free(fleet_capture_record *r) {
    for (size_t i = 0; i < r->n_blocks; i++) free(r->blocks[i]);
    memset(r, 0, sizeof *r);
}

int fleet_capture_parse_line(const char *line, fleet_capture_record *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    cJSON *o = cJSON_Parse(line);
    const cJSON *topic = cJSON_GetObjectItemCaseSensitive(o, "topic");
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(o, "partition");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(o, "offset");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp_ms");
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(o, "headers");
    if (!cJSON_IsObject(o) || !cJSON_IsString(topic) || !cJSON_IsNumber(part) || !cJSON_IsNumber(off) ||
        !cJSON_IsNumber(ts) || (hs && !cJSON_IsArray(hs))) {
        snprintf(err, errlen, "not a record as `fleetctl replay` prints it (topic, partition, offset, timestamp_ms)");
        cJSON_Delete(o);
        return -1;
    }
    fleet_record *r = &out->rec;
    r->topic = keep_block(out, strdup(topic->valuestring));
    r->partition = (int32_t)part->valuedouble;
    r->offset = (int64_t)off->valuedouble;
    r->timestamp_ms = (int64_t)ts->valuedouble;
    int bad = !r->topic || bytes_of(o, "key", out, &r->key, &r->key_len) ||
              bytes_of(o, "value", out, &r->value, &r->len);
    const cJSON *h;
    cJSON_ArrayForEach(h, hs) {
        if (bad || r->n_headers == FLEET_MAX_HEADERS) break;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "name");
        if (!cJSON_IsString(name)) {
            bad = 1;
            break;
        }
        fleet_header *fh = &r->headers[r->n_headers++];
        fh->name = keep_block(out, strdup(name->valuestring));
        if (!fh->name || bytes_of(h, "value", out, &fh->value, &fh->len)) bad = 1;
    }
    cJSON_Delete(o);
    if (bad) {
        snprintf(err, errlen, "a key, value or header is malformed (bad base64?)");
        fleet_capture_record_free(out);
        return -1;
    }
    return 0;
}

int fleet_capture_read(FILE *f, fleet_event_keep_fn keep, void *ud, fleet_events *out, char *err, size_t errlen) {
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        fleet_capture_record cr;
        char e[256];
        if (fleet_capture_parse_line(line, &cr, e, sizeof e)) {
            snprintf(err, errlen, "line %ld: %s", lineno, e);
            rc = -1;
            break;
        }
        out->scanned++;
        fleet_event ev;
        int is_event = fleet_event_from_record(&cr.rec, &ev) == 0;
        fleet_capture_record_free(&cr);
        if (!is_event || (keep && !keep(&ev, ud))) continue;
        if (out->n == out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 64;
            fleet_event *nv = realloc(out->v, ncap * sizeof *nv);
            if (!nv) {
                snprintf(err, errlen, "out of memory after %zu events", out->n);
                rc = -1;
                break;
            }
            out->v = nv;
            out->cap = ncap;
        }
        out->v[out->n++] = ev;
    }
    free(line);
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "read error");
        rc = -1;
    }
    return rc;
}
