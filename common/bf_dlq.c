#include "bf_dlq.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_trace.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *bf_base64_encode(const void *data, size_t len) {
    const unsigned char *p = data;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len) v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len) v |= p[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c) {
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

unsigned char *bf_base64_decode(const char *text, size_t *out_len) {
    size_t n = strlen(text);
    if (n % 4 != 0) return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            char c = text[i + k];
            /* Padding only in the last two places of the last group. */
            if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || text[i + 3] == '=')) v[k] = 0;
            else if ((v[k] = b64_value(c)) < 0) {
                free(out);
                return NULL;
            }
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        out[o++] = (unsigned char)(w >> 16);
        if (text[i + 2] != '=') out[o++] = (unsigned char)(w >> 8);
        if (text[i + 3] != '=') out[o++] = (unsigned char)w;
    }
    *out_len = o;
    return out;
}

/* TODO(contracts): replace with the shared envelope encoder once common/bf_envelope lands. */
static char *envelope_encode(const char *schema, const char *project, const char *traceparent,
                             const char *worker, int64_t at_ms, const cJSON *payload) {
    char event_id[33], trace_id[BF_TRACE_ID_LEN + 1];
    bf_random_hex(event_id, 16);
    if (!traceparent || bf_trace_parse(traceparent, trace_id) != 0) bf_random_hex(trace_id, 16);
    cJSON *env = cJSON_CreateObject();
    cJSON_AddStringToObject(env, "schema", schema);
    cJSON_AddNumberToObject(env, "schema_version", 1);
    cJSON_AddStringToObject(env, "event_id", event_id);
    cJSON_AddStringToObject(env, "trace_id", trace_id);
    cJSON_AddStringToObject(env, "project_id", project);
    cJSON_AddNumberToObject(env, "produced_at_ms", (double)at_ms);
    cJSON_AddStringToObject(env, "producer", worker);
    cJSON_AddItemToObject(env, "payload", cJSON_Duplicate(payload, 1));
    char *out = cJSON_PrintUnformatted(env);
    cJSON_Delete(env);
    return out;
}

static cJSON *bytes_field(const void *data, size_t len) {
    if (!data) return cJSON_CreateNull();
    char *s = bf_base64_encode(data, len);
    cJSON *j = s ? cJSON_CreateString(s) : NULL;
    free(s);
    return j;
}

char *bf_dlq_build(const bf_dlq_source *src, const char *group, const char *worker, const char *code,
                   const char *message, int64_t failed_at_ms) {
    cJSON *payload = cJSON_CreateObject();
    cJSON *reason = cJSON_AddObjectToObject(payload, "reason");
    cJSON_AddStringToObject(reason, "code", code);
    cJSON_AddStringToObject(reason, "message", message);
    cJSON *source = cJSON_AddObjectToObject(payload, "source");
    cJSON_AddStringToObject(source, "topic", src->topic);
    cJSON_AddNumberToObject(source, "partition", src->partition);
    cJSON_AddNumberToObject(source, "offset", (double)src->offset);
    if (src->timestamp_ms >= 0) cJSON_AddNumberToObject(source, "timestamp_ms", (double)src->timestamp_ms);
    cJSON_AddStringToObject(source, "consumer_group", group);
    cJSON_AddStringToObject(source, "worker", worker);
    cJSON_AddItemToObject(payload, "original_key", bytes_field(src->key, src->key_len));
    cJSON_AddItemToObject(payload, "original_payload", bytes_field(src->payload, src->len));
    cJSON *headers = cJSON_AddArrayToObject(payload, "original_headers");
    for (size_t i = 0; i < src->n_headers; i++) {
        cJSON *h = cJSON_CreateObject();
        cJSON_AddStringToObject(h, "name", src->header_names[i]);
        cJSON_AddItemToObject(h, "value", bytes_field(src->header_values[i], src->header_lens[i]));
        cJSON_AddItemToArray(headers, h);
    }
    cJSON_AddNumberToObject(payload, "failed_at_ms", (double)failed_at_ms);
    /* The key is the project id by contract; a key that is not valid text still needs an
     * envelope, so it becomes "unknown" there (the original bytes are kept above). */
    char project[129] = "unknown";
    if (src->key && src->key_len > 0 && src->key_len < sizeof project && !memchr(src->key, '\0', src->key_len)) {
        memcpy(project, src->key, src->key_len);
        project[src->key_len] = '\0';
    }
    char *out = envelope_encode("deadLetters", project, src->traceparent, worker, failed_at_ms, payload);
    cJSON_Delete(payload);
    return out;
}

char *bf_dlq_encode(const rd_kafka_message_t *rkm, const char *topic, const char *group, const char *worker,
                    const char *code, const char *message, int64_t failed_at_ms) {
    rd_kafka_headers_t *hdrs = NULL;
    size_t n = 0;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) n = rd_kafka_header_cnt(hdrs);
    const char **names = calloc(n + 1, sizeof *names);
    const char **values = calloc(n + 1, sizeof *values);
    size_t *lens = calloc(n + 1, sizeof *lens);
    char *out = NULL;
    const char *traceparent = NULL;
    if (!names || !values || !lens) goto done;
    for (size_t i = 0; i < n; i++) {
        const void *v;
        rd_kafka_header_get_all(hdrs, i, &names[i], &v, &lens[i]);
        values[i] = v;
    }
    char tp[64] = "";
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], "traceparent") == 0 && values[i] && lens[i] < sizeof tp) {
            memcpy(tp, values[i], lens[i]);
            tp[lens[i]] = '\0';
            traceparent = tp;
        }
    bf_dlq_source src = {
        .topic = topic, .partition = rkm->partition, .offset = rkm->offset,
        .timestamp_ms = rd_kafka_message_timestamp(rkm, NULL), .key = rkm->key, .key_len = rkm->key_len,
        .payload = rkm->payload, .len = rkm->len, .header_names = names, .header_values = values,
        .header_lens = lens, .n_headers = n, .traceparent = traceparent,
    };
    out = bf_dlq_build(&src, group, worker, code, message, failed_at_ms);
done:
    free(names);
    free(values);
    free(lens);
    return out;
}
