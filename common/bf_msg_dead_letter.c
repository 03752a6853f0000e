#include "bf_msg_dead_letter.h"

#include <stdlib.h>
#include <string.h>

#include "bf_dlq.h"
#include "bf_msg_codec.h"

#define MAX_TIME_MS 9007199254740991LL
#define B64_MAX (4 * ((BF_DLQ_ORIGINAL_MAX + 2) / 3))

void bf_msg_dead_letter_free(bf_msg_dead_letter *m) {
    if (!m) return;
    free(m->reason_message);
    free(m->topic);
    free(m->consumer_group);
    free(m->worker);
    free(m->original_key);
    free(m->original_payload);
    for (size_t i = 0; i < m->n_headers; i++) {
        free(m->headers[i].name);
        free(m->headers[i].value);
    }
    free(m->headers);
    memset(m, 0, sizeof *m);
}

static bool topic_valid(const char *s) {
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '.' ||
              *s == '_' || *s == '-'))
            return false;
    return true;
}

/* Base64 field -> owned bytes; absent or null leaves *out NULL (the original had none). */
static void read_bytes(bf_jc *c, const cJSON *o, const char *key, unsigned char **out, size_t *len) {
    char *text = NULL;
    *out = NULL;
    *len = 0;
    if (bf_jc_string(c, o, key, false, 0, B64_MAX, false, &text) != 0 || !text) return;
    size_t n = 0;
    unsigned char *bytes = bf_base64_decode(text, &n);
    free(text);
    if (!bytes) {
        bf_jc_fail_at(c, key, "not standard base64");
        return;
    }
    *out = bytes;
    *len = n;
}

static void read_headers(bf_jc *c, const cJSON *p, bf_msg_dead_letter *m) {
    const cJSON *arr;
    size_t n;
    if (bf_jc_array(c, p, "original_headers", true, 0, BF_DLQ_HEADERS_MAX, &arr, &n) != 0 || n == 0) return;
    m->headers = calloc(n, sizeof *m->headers);
    if (!m->headers) {
        bf_jc_fail(c, "out of memory");
        return;
    }
    size_t mk = bf_jc_push_key(c, "original_headers");
    for (const cJSON *e = arr->child; e && !c->failed; e = e->next) {
        bf_dead_letter_header *h = &m->headers[m->n_headers++];
        size_t mi = bf_jc_push_index(c, m->n_headers - 1);
        if (!cJSON_IsObject(e)) bf_jc_fail(c, "expected an object");
        bf_jc_string(c, e, "name", true, 1, BF_DLQ_HEADER_NAME_MAX, false, &h->name);
        read_bytes(c, e, "value", &h->value, &h->value_len);
        bf_jc_pop(c, mi);
    }
    bf_jc_pop(c, mk);
}

static void read_source(bf_jc *c, const cJSON *p, bf_msg_dead_letter *m) {
    const cJSON *s;
    int64_t v = 0;
    if (bf_jc_object(c, p, "source", true, &s) != 0) return;
    size_t mk = bf_jc_push_key(c, "source");
    if (bf_jc_string(c, s, "topic", true, 1, BF_DLQ_TOPIC_MAX, false, &m->topic) == 0 && !topic_valid(m->topic))
        bf_jc_fail_at(c, "topic", "not a Kafka topic name ([A-Za-z0-9._-])");
    if (bf_jc_int(c, s, "partition", true, 0, INT32_MAX, &v) == 0) m->partition = (int32_t)v;
    bf_jc_int(c, s, "offset", true, 0, MAX_TIME_MS, &m->offset);
    bf_jc_int(c, s, "timestamp_ms", false, 0, MAX_TIME_MS, &m->timestamp_ms);
    bf_jc_string(c, s, "consumer_group", true, 1, BF_DLQ_TOPIC_MAX, false, &m->consumer_group);
    bf_jc_string(c, s, "worker", true, 1, BF_PRODUCER_MAX, false, &m->worker);
    bf_jc_pop(c, mk);
}

int bf_msg_dead_letter_decode(const char *bytes, size_t len, bf_msg_dead_letter *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->timestamp_ms = -1;
    bf_jc c;
    const cJSON *p;
    bf_msg_error reason;
    cJSON *root = bf_msg_decode_begin(bytes, len, BF_SCHEMA_DEAD_LETTERS, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    if (!bf_jc_get(p, "reason")) bf_jc_fail_at(&c, "reason", "missing");
    if (bf_msg_error_read(&c, p, "reason", &reason) == 0) {
        memcpy(out->reason_code, reason.code, sizeof out->reason_code);
        out->reason_message = reason.message;
    }
    read_source(&c, p, out);
    read_bytes(&c, p, "original_key", &out->original_key, &out->original_key_len);
    read_bytes(&c, p, "original_payload", &out->original_payload, &out->original_payload_len);
    if (!c.failed && out->original_payload_len > BF_DLQ_ORIGINAL_MAX)
        bf_jc_fail_at(&c, "original_payload", "larger than %u bytes", BF_DLQ_ORIGINAL_MAX);
    read_headers(&c, p, out);
    bf_jc_int(&c, p, "failed_at_ms", true, 0, MAX_TIME_MS, &out->failed_at_ms);
    cJSON_Delete(root);
    if (!c.failed) return 0;
    bf_msg_dead_letter_free(out);
    return -1;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_dead_letter m;
    int r = bf_msg_dead_letter_decode(bytes, len, &m, err, errlen);
    bf_msg_dead_letter_free(&m);
    return r;
}

static int add_bytes(cJSON *o, const char *key, const unsigned char *b, size_t n) {
    if (!b) return cJSON_AddNullToObject(o, key) ? 0 : -1;
    char *text = bf_base64_encode(b, n);
    int r = text && cJSON_AddStringToObject(o, key, text) ? 0 : -1;
    free(text);
    return r;
}

char *bf_msg_dead_letter_encode(const bf_msg_dead_letter *m, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    cJSON *reason = cJSON_AddObjectToObject(p, "reason");
    cJSON *src = cJSON_AddObjectToObject(p, "source");
    cJSON *hdrs = cJSON_AddArrayToObject(p, "original_headers");
    int r = reason && src && hdrs ? 0 : -1;
    r |= bf_msg_add_string(reason, "code", m->reason_code);
    r |= bf_msg_add_string(reason, "message", m->reason_message);
    r |= bf_msg_add_string(src, "topic", m->topic);
    if (!cJSON_AddNumberToObject(src, "partition", m->partition) ||
        !cJSON_AddNumberToObject(src, "offset", (double)m->offset) ||
        (m->timestamp_ms >= 0 && !cJSON_AddNumberToObject(src, "timestamp_ms", (double)m->timestamp_ms)))
        r = -1;
    r |= bf_msg_add_string(src, "consumer_group", m->consumer_group);
    r |= bf_msg_add_string(src, "worker", m->worker);
    r |= add_bytes(p, "original_key", m->original_key, m->original_key_len);
    r |= add_bytes(p, "original_payload", m->original_payload, m->original_payload_len);
    for (size_t i = 0; r == 0 && i < m->n_headers; i++) {
        cJSON *h = cJSON_CreateObject();
        if (!h) r = -1;
        cJSON_AddItemToArray(hdrs, h);
        r |= bf_msg_add_string(h, "name", m->headers[i].name);
        r |= add_bytes(h, "value", m->headers[i].value, m->headers[i].value_len);
    }
    if (!cJSON_AddNumberToObject(p, "failed_at_ms", (double)m->failed_at_ms)) r = -1;
    if (r != 0) {
        cJSON_Delete(p);
        p = NULL;
    }
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_DEAD_LETTERS, p, verify, err, errlen);
}
