#include "bf_dlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"
#include "bf_msg_dead_letter.h"

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

/* The dead letter itself must never be rejected by its own codec, so every field is brought
 * within the contract's bounds here: oversize originals are cut (and the reason says so), odd
 * keys become project "unknown", odd topic/header names are shortened. */
char *bf_dlq_build(const bf_dlq_source *src, const char *project, const char *group, const char *worker,
                   const char *code, const char *message, int64_t failed_at_ms, bf_envelope *env) {
    if (!project || !bf_ident_valid(project)) project = "unknown";
    bf_msg_dead_letter m;
    memset(&m, 0, sizeof m);
    char err[256];
    if (bf_envelope_init(&m.env, BF_SCHEMA_DEAD_LETTERS, project, src->traceparent, worker, failed_at_ms, err,
                         sizeof err) != 0)
        return NULL;
    char reason[BF_TEXT_MAX + 1];
    size_t len = src->len;
    if (len > BF_DLQ_KEEP_MAX) len = BF_DLQ_KEEP_MAX;
    snprintf(reason, sizeof reason, "%s%s", message ? message : "", len < src->len ? " (original payload truncated)" : "");
    snprintf(m.reason_code, sizeof m.reason_code, "%s", code);
    m.reason_message = reason;
    m.topic = (char *)src->topic;
    m.partition = src->partition;
    m.offset = src->offset;
    m.timestamp_ms = src->timestamp_ms;
    m.consumer_group = (char *)group;
    m.worker = (char *)worker;
    m.original_key = (unsigned char *)src->key;
    m.original_key_len = src->key ? src->key_len : 0;
    m.original_payload = (unsigned char *)src->payload;
    m.original_payload_len = src->payload ? len : 0;
    size_t nh = src->n_headers < BF_DLQ_HEADERS_MAX ? src->n_headers : BF_DLQ_HEADERS_MAX;
    bf_dead_letter_header *h = calloc(nh + 1, sizeof *h);
    if (!h) return NULL;
    for (size_t i = 0; i < nh; i++) {
        h[i].name = (char *)src->header_names[i];
        h[i].value = (unsigned char *)src->header_values[i];
        h[i].value_len = src->header_values[i] ? src->header_lens[i] : 0;
    }
    m.headers = h;
    m.n_headers = nh;
    m.failed_at_ms = failed_at_ms;
    char *out = bf_msg_dead_letter_encode(&m, err, sizeof err);
    free(h);
    if (out && env) *env = m.env;
    return out;
}

char *bf_dlq_encode(const rd_kafka_message_t *rkm, const char *topic, const char *project, const char *traceparent,
                    const char *group, const char *worker, const char *code, const char *message,
                    int64_t failed_at_ms, bf_envelope *env) {
    rd_kafka_headers_t *hdrs = NULL;
    size_t n = 0;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) n = rd_kafka_header_cnt(hdrs);
    const char **names = calloc(n + 1, sizeof *names);
    const char **values = calloc(n + 1, sizeof *values);
    size_t *lens = calloc(n + 1, sizeof *lens);
    char *out = NULL;
    if (!names || !values || !lens) goto done;
    for (size_t i = 0; i < n; i++) {
        const void *v;
        rd_kafka_header_get_all(hdrs, i, &names[i], &v, &lens[i]);
        values[i] = v;
    }
    bf_dlq_source src = {
        .topic = topic, .partition = rkm->partition, .offset = rkm->offset,
        .timestamp_ms = rd_kafka_message_timestamp(rkm, NULL), .key = rkm->key, .key_len = rkm->key_len,
        .payload = rkm->payload, .len = rkm->len, .header_names = names, .header_values = values,
        .header_lens = lens, .n_headers = n, .traceparent = traceparent,
    };
    out = bf_dlq_build(&src, project, group, worker, code, message, failed_at_ms, env);
done:
    free(names);
    free(values);
    free(lens);
    return out;
}
