#include "fleet_dlq_entry.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_dlq.h"
#include "fleet_time.h"

static char *dup_str(const cJSON *j) { return cJSON_IsString(j) ? strdup(j->valuestring) : NULL; }

static int64_t num_or(const cJSON *j, int64_t dflt) { return cJSON_IsNumber(j) ? (int64_t)j->valuedouble : dflt; }

/* base64 field: absent/null -> NULL (ok), string -> decoded bytes, anything else -> error. */
static int b64_field(const cJSON *j, unsigned char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (!j || cJSON_IsNull(j)) return 0;
    if (!cJSON_IsString(j)) return -1;
    *out = bf_base64_decode(j->valuestring, len);
    return *out ? 0 : -1;
}

void fleet_dlq_entry_free(fleet_dlq_entry *e) {
    free(e->reason_message);
    free(e->topic);
    free(e->consumer_group);
    free(e->worker);
    free(e->key);
    free(e->payload);
    for (size_t i = 0; i < e->n_headers; i++) {
        free(e->headers[i].name);
        free(e->headers[i].value);
    }
    memset(e, 0, sizeof *e);
}

int fleet_dlq_entry_parse(const void *bytes, size_t len, fleet_dlq_entry *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    cJSON *root = bytes ? cJSON_ParseWithLength(bytes, len) : NULL;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "not a JSON object");
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(root, "payload");
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(payload, "reason");
    const cJSON *source = cJSON_GetObjectItemCaseSensitive(payload, "source");
    const cJSON *trace = cJSON_GetObjectItemCaseSensitive(root, "trace_id");
    const char *bad = NULL;
    if (!cJSON_IsObject(payload)) bad = "payload: missing";
    else if (!cJSON_IsObject(source)) bad = "payload.source: missing";
    else if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(source, "topic"))) bad = "payload.source.topic: missing";
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(reason, "code");
    snprintf(out->reason_code, sizeof out->reason_code, "%s", cJSON_IsString(code) ? code->valuestring : "unknown");
    out->reason_message = dup_str(cJSON_GetObjectItemCaseSensitive(reason, "message"));
    out->topic = dup_str(cJSON_GetObjectItemCaseSensitive(source, "topic"));
    out->partition = (int32_t)num_or(cJSON_GetObjectItemCaseSensitive(source, "partition"), -1);
    out->offset = num_or(cJSON_GetObjectItemCaseSensitive(source, "offset"), -1);
    out->timestamp_ms = num_or(cJSON_GetObjectItemCaseSensitive(source, "timestamp_ms"), -1);
    out->consumer_group = dup_str(cJSON_GetObjectItemCaseSensitive(source, "consumer_group"));
    out->worker = dup_str(cJSON_GetObjectItemCaseSensitive(source, "worker"));
    out->failed_at_ms = num_or(cJSON_GetObjectItemCaseSensitive(payload, "failed_at_ms"), -1);
    if (cJSON_IsString(trace)) snprintf(out->trace_id, sizeof out->trace_id, "%s", trace->valuestring);
    if (b64_field(cJSON_GetObjectItemCaseSensitive(payload, "original_key"), &out->key, &out->key_len)) {
        bad = "payload.original_key: not base64";
    } else if (b64_field(cJSON_GetObjectItemCaseSensitive(payload, "original_payload"), &out->payload, &out->len)) {
        bad = "payload.original_payload: not base64";
    } else {
        const cJSON *hs = cJSON_GetObjectItemCaseSensitive(payload, "original_headers"), *h;
        cJSON_ArrayForEach(h, hs) {
            if (out->n_headers == FLEET_MAX_HEADERS) {
                bad = "payload.original_headers: too many";
                break;
            }
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "name");
            fleet_dlq_header *dh = &out->headers[out->n_headers];
            if (!cJSON_IsString(name) ||
                b64_field(cJSON_GetObjectItemCaseSensitive(h, "value"), &dh->value, &dh->len)) {
                bad = "payload.original_headers: entry without a name or with a non-base64 value";
                break;
            }
            dh->name = strdup(name->valuestring);
            out->n_headers++;
        }
    }
    cJSON_Delete(root);
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        fleet_dlq_entry_free(out);
        return -1;
    }
    return 0;
}

void fleet_dlq_entry_original(const fleet_dlq_entry *e, fleet_record *r) {
    memset(r, 0, sizeof *r);
    r->topic = e->topic;
    r->partition = e->partition;
    r->offset = e->offset;
    r->timestamp_ms = e->timestamp_ms;
    r->key = e->key;
    r->key_len = e->key_len;
    r->value = e->payload;
    r->len = e->len;
    for (size_t i = 0; i < e->n_headers; i++) {
        r->headers[i].name = e->headers[i].name;
        r->headers[i].value = e->headers[i].value;
        r->headers[i].len = e->headers[i].len;
    }
    r->n_headers = e->n_headers;
}

int fleet_dlq_ref_parse(const char *s, int32_t *partition, int64_t *offset, char *err, size_t errlen) {
    const char *colon = s ? strchr(s, ':') : NULL;
    char p[16];
    int64_t pv, ov;
    char e[128];
    if (!colon || (size_t)(colon - s) >= sizeof p || colon == s) {
        snprintf(err, errlen, "'%s': want PARTITION:OFFSET of the dead letter (as `fleetctl dlq list` prints)", s ? s : "");
        return -1;
    }
    memcpy(p, s, (size_t)(colon - s));
    p[colon - s] = '\0';
    if (fleet_parse_uint(p, INT32_MAX, &pv, e, sizeof e) || fleet_parse_uint(colon + 1, INT64_MAX, &ov, e, sizeof e)) {
        snprintf(err, errlen, "'%s': want PARTITION:OFFSET with two non-negative integers", s);
        return -1;
    }
    *partition = (int32_t)pv;
    *offset = ov;
    return 0;
}
