#include "bf_test_kafka.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_trace.h"

static const char *require_env(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr, "integration test needs %s (run it through scripts/test, or "
                        "`scripts/stack up && eval \"$(scripts/stack env)\"`)\n", name);
        abort();
    }
    return v;
}

const char *bf_test_brokers(void) { return require_env("BRAINFLEET_KAFKA_BROKERS"); }
const char *bf_test_pg_dsn(void) { return require_env("BRAINFLEET_PG_DSN"); }

int64_t bf_test_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bf_test_sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void bf_test_unique_prefix(char *out, size_t outlen) {
    char hex[17];
    bf_random_hex(hex, 4);
    snprintf(out, outlen, "t-%s-", hex);
}

static rd_kafka_t *new_client(rd_kafka_type_t type, const char *group) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), err, sizeof err);
    if (group) {
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
        rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
        /* bf_test_consume_all counts partitions read to their end, not idle time alone: a first
         * fetch slower than the idle time (a busy machine) must not read as "no messages". */
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err);
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", err);
        abort();
    }
    return rk;
}

rd_kafka_t *bf_test_producer_new(int linger_ms) {
    char err[512], linger[32];
    snprintf(linger, sizeof linger, "%d", linger_ms);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), err, sizeof err) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "linger.ms", linger, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "producer: %s\n", err);
        abort();
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "producer: %s\n", err);
        abort();
    }
    return rk;
}

void bf_test_producer_know(rd_kafka_t *rk, const char *topic) {
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = t ? rd_kafka_metadata(rk, 0, t, &md, 10000) : RD_KAFKA_RESP_ERR__FAIL;
    if (md) rd_kafka_metadata_destroy(md);
    if (t) rd_kafka_topic_destroy(t);
    if (err) {
        fprintf(stderr, "metadata for %s: %s\n", topic, rd_kafka_err2str(err));
        abort();
    }
}

void bf_test_create_topics(const char *prefix, const char *const *bases, size_t n, int partitions) {
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, NULL);
    rd_kafka_NewTopic_t **nt = calloc(n, sizeof *nt);
    char err[512];
    for (size_t i = 0; i < n; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s%s", prefix, bases[i]);
        nt[i] = rd_kafka_NewTopic_new(name, partitions, 1, err, sizeof err);
    }
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, n, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    if (!ev || rd_kafka_event_error(ev)) {
        fprintf(stderr, "CreateTopics: %s\n", ev ? rd_kafka_event_error_string(ev) : "timed out");
        abort();
    }
    size_t cnt;
    const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            fprintf(stderr, "create %s: %s\n", rd_kafka_topic_result_name(res[i]), rd_kafka_topic_result_error_string(res[i]));
            abort();
        }
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(nt, n);
    free(nt);
    /* Leaders for fresh partitions take a moment; wait until metadata shows them. */
    for (size_t i = 0; i < n; i++) {
        char name[512];
        snprintf(name, sizeof name, "%s%s", prefix, bases[i]);
        for (int tries = 0; tries < 100; tries++) {
            rd_kafka_topic_t *t = rd_kafka_topic_new(rk, name, NULL);
            const struct rd_kafka_metadata *md = NULL;
            int ok = 0;
            if (rd_kafka_metadata(rk, 0, t, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 &&
                md->topics[0].err == 0 && md->topics[0].partition_cnt == partitions) {
                ok = 1;
                for (int p = 0; p < partitions; p++)
                    if (md->topics[0].partitions[p].leader < 0) ok = 0;
            }
            if (md) rd_kafka_metadata_destroy(md);
            rd_kafka_topic_destroy(t);
            if (ok) break;
            bf_test_sleep_ms(100);
        }
    }
    rd_kafka_destroy(rk);
}

void bf_test_produce(const char *topic, int32_t partition, const char *key, const char *payload, size_t len,
                     const char *const *headers) {
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, NULL);
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2) rd_kafka_header_add(h, headers[i], -1, headers[i + 1], -1);
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
        RD_KAFKA_V_KEY(key, key ? strlen(key) : 0), RD_KAFKA_V_VALUE((void *)payload, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
    if (err) {
        fprintf(stderr, "produce %s: %s\n", topic, rd_kafka_err2str(err));
        abort();
    }
    if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "produce %s: not acknowledged in 30 s\n", topic);
        abort();
    }
    rd_kafka_destroy(rk);
}

static char *dup_bytes(const void *p, size_t n) {
    char *s = malloc(n + 1);
    if (p) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

bf_test_msg *bf_test_consume_all(const char *topic, size_t min_count, int idle_ms, int max_wait_ms, size_t *n) {
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, "bf-test-reader");
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, t, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1) {
        fprintf(stderr, "metadata for %s failed\n", topic);
        abort();
    }
    int parts = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++) rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    size_t cap = 64, cnt = 0;
    bf_test_msg *out = calloc(cap, sizeof *out);
    bool *at_end = calloc((size_t)parts, sizeof *at_end);
    int ended = 0;
    int64_t start = bf_test_now_ms(), last = start;
    for (;;) {
        int64_t now = bf_test_now_ms();
        if (now - start > max_wait_ms) break;
        if (cnt >= min_count && ended == parts && now - last > idle_ms) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->partition >= 0 && m->partition < parts &&
                !at_end[m->partition]) {
                at_end[m->partition] = true;
                ended++;
                last = bf_test_now_ms();
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (cnt == cap) out = realloc(out, (cap *= 2) * sizeof *out);
        bf_test_msg *o = &out[cnt++];
        memset(o, 0, sizeof *o);
        o->topic = strdup(topic);
        o->partition = m->partition;
        o->offset = m->offset;
        o->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
        o->key = m->key ? dup_bytes(m->key, m->key_len) : NULL;
        o->key_len = m->key_len;
        o->payload = dup_bytes(m->payload, m->len);
        o->len = m->len;
        rd_kafka_headers_t *h;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            const char *name;
            const void *val;
            size_t sz;
            for (size_t i = 0; i < 16 && rd_kafka_header_get_all(h, i, &name, &val, &sz) == 0; i++) {
                size_t nl = strlen(name);
                char *hv = malloc(nl + sz + 2);
                memcpy(hv, name, nl);
                hv[nl] = '=';
                if (val) memcpy(hv + nl + 1, val, sz);
                hv[nl + 1 + sz] = '\0';
                o->headers[o->n_headers++] = hv;
            }
        }
        rd_kafka_message_destroy(m);
        last = bf_test_now_ms();
    }
    free(at_end);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    *n = cnt;
    return out;
}

void bf_test_msgs_free(bf_test_msg *msgs, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].topic);
        free(msgs[i].key);
        free(msgs[i].payload);
        for (size_t h = 0; h < msgs[i].n_headers; h++) free(msgs[i].headers[h]);
    }
    free(msgs);
}

const char *bf_test_msg_header(const bf_test_msg *m, const char *name) {
    size_t nl = strlen(name);
    for (size_t i = 0; i < m->n_headers; i++)
        if (strncmp(m->headers[i], name, nl) == 0 && m->headers[i][nl] == '=') return m->headers[i] + nl + 1;
    return NULL;
}

int64_t bf_test_committed_offset(const char *group, const char *topic, int32_t partition) {
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, group);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, partition);
    int64_t off = -1001;
    if (rd_kafka_committed(rk, l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) off = l->elems[0].offset;
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    return off;
}

void bf_test_binary(const char *rel, char *out, size_t outlen) {
    const char *dir = getenv("BF_BUILD_DIR");
    snprintf(out, outlen, "%s/%s", dir && *dir ? dir : ".", rel);
}
