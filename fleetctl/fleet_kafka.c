#include "fleet_kafka.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_kafka_conf.h"

int64_t fleet_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen) {
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof e) == RD_KAFKA_CONF_OK) return 0;
    snprintf(err, errlen, "kafka property %s: %s", k, e);
    return -1;
}

/* Shared by both roles: a topic named wrongly must be reported, not silently created. */
static int common_props(const fleet_ctx *c, rd_kafka_conf_t *conf, char *err, size_t errlen) {
    char ms[32];
    snprintf(ms, sizeof ms, "%d", c->timeout_ms);
    if (set(conf, "allow.auto.create.topics", "false", err, errlen) ||
        set(conf, "socket.connection.setup.timeout.ms", ms, err, errlen))
        return -1;
    /* librdkafka logs every refused connection; the command reports the failure once itself. */
    if (!c->verbose) rd_kafka_conf_set_log_cb(conf, NULL);
    return 0;
}

rd_kafka_t *fleet_kafka_consumer(const fleet_ctx *c, const char *group, char *err, size_t errlen) {
    bf_common_cfg cfg = c->cfg;
    snprintf(cfg.group_id, sizeof cfg.group_id, "%s", group ? group : "fleetctl-reader");
    cfg.stats_interval_ms = 0;
    rd_kafka_conf_t *conf = bf_kafka_conf_new(&cfg, BF_KAFKA_CONSUMER, "fleetctl", c->envp, err, errlen);
    if (!conf) return NULL;
    /* Reading never commits: offsets move only through an explicit `replay --group`. */
    if (set(conf, "enable.auto.commit", "false", err, errlen) ||
        set(conf, "enable.partition.eof", "true", err, errlen) || common_props(c, conf, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof e);
    if (!rk) {
        snprintf(err, errlen, "kafka consumer: %s", e);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    fleet_delivery *dr = opaque;
    if (!dr) return;
    if (m->err) {
        if (dr->failed++ == 0) snprintf(dr->first_error, sizeof dr->first_error, "%s", rd_kafka_err2str(m->err));
    } else {
        dr->ok++;
    }
}

rd_kafka_t *fleet_kafka_producer(const fleet_ctx *c, fleet_delivery *dr, char *err, size_t errlen) {
    bf_common_cfg cfg = c->cfg;
    cfg.stats_interval_ms = 0;
    rd_kafka_conf_t *conf = bf_kafka_conf_new(&cfg, BF_KAFKA_PRODUCER, "fleetctl", c->envp, err, errlen);
    if (!conf) return NULL;
    char ms[32];
    snprintf(ms, sizeof ms, "%d", c->timeout_ms);
    if (common_props(c, conf, err, errlen) || set(conf, "message.timeout.ms", ms, err, errlen)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, dr);
    char e[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
    if (!rk) {
        snprintf(err, errlen, "kafka producer: %s", e);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

int fleet_kafka_flush(const fleet_ctx *c, rd_kafka_t *producer, const fleet_delivery *dr, char *err, size_t errlen) {
    /* message.timeout.ms equals the ctx timeout, so every message has a verdict before this. */
    rd_kafka_resp_err_t e = rd_kafka_flush(producer, c->timeout_ms + 5000);
    if (e) {
        snprintf(err, errlen, "%d message(s) not acknowledged by the broker: %s", rd_kafka_outq_len(producer),
                 rd_kafka_err2str(e));
        return -1;
    }
    if (dr && dr->failed) {
        snprintf(err, errlen, "%lld message(s) failed to deliver (first: %s)", (long long)dr->failed, dr->first_error);
        return -1;
    }
    return 0;
}

static void unreachable(const fleet_ctx *c, rd_kafka_resp_err_t e, char *err, size_t errlen) {
    snprintf(err, errlen, "cannot reach Kafka at %s within %d ms (%s); check BRAINFLEET_KAFKA_BROKERS",
             c->cfg.kafka_brokers, c->timeout_ms, rd_kafka_err2str(e));
}

int fleet_kafka_partitions(const fleet_ctx *c, rd_kafka_t *rk, const char *topic, int32_t *n, char *err,
                           size_t errlen) {
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, c->timeout_ms);
    rd_kafka_topic_destroy(t);
    if (e) {
        unreachable(c, e, err, errlen);
        return -1;
    }
    int rc = -1;
    if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        (md->topics[0].err == 0 && md->topics[0].partition_cnt == 0)) {
        snprintf(err, errlen, "topic '%s' does not exist (fleetctl topics ensure creates the fleet's topics)", topic);
    } else if (md->topics[0].err) {
        snprintf(err, errlen, "topic '%s': %s", topic, rd_kafka_err2str(md->topics[0].err));
    } else {
        *n = md->topics[0].partition_cnt;
        rc = 0;
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* offsets_for_times for every range at ts; results into offs (-1 when no message is that late). */
static int offsets_at(const fleet_ctx *c, rd_kafka_t *rk, const char *topic, const fleet_part_range *r, size_t n,
                      int64_t ts, int64_t *offs, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) rd_kafka_topic_partition_list_add(l, topic, r[i].partition)->offset = ts;
    rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(rk, l, c->timeout_ms);
    int rc = 0;
    if (e) {
        snprintf(err, errlen, "offsets for time on '%s': %s", topic, rd_kafka_err2str(e));
        rc = -1;
    } else {
        for (size_t i = 0; i < n && rc == 0; i++) {
            rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(l, topic, r[i].partition);
            if (!p || p->err) {
                snprintf(err, errlen, "offsets for time on %s[%d]: %s", topic, r[i].partition,
                         p ? rd_kafka_err2str(p->err) : "no answer");
                rc = -1;
            } else {
                offs[i] = p->offset;
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

int fleet_kafka_resolve(const fleet_ctx *c, rd_kafka_t *rk, const char *topic, int32_t only_partition,
                        const fleet_range_spec *spec, fleet_part_range **out, size_t *n, char *err,
                        size_t errlen) {
    int32_t parts;
    if (fleet_kafka_partitions(c, rk, topic, &parts, err, errlen) != 0) return -1;
    if (only_partition >= parts) {
        snprintf(err, errlen, "topic '%s' has %d partition(s); there is no partition %d", topic, parts, only_partition);
        return -1;
    }
    size_t cnt = only_partition >= 0 ? 1 : (size_t)parts;
    fleet_part_range *r = calloc(cnt, sizeof *r);
    int64_t *from_off = calloc(cnt, sizeof *from_off), *to_off = calloc(cnt, sizeof *to_off);
    if (!r || !from_off || !to_off) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < cnt; i++) {
        r[i].partition = only_partition >= 0 ? only_partition : (int32_t)i;
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, topic, r[i].partition, &r[i].low, &r[i].high, c->timeout_ms);
        if (e) {
            snprintf(err, errlen, "watermarks of %s[%d]: %s", topic, r[i].partition, rd_kafka_err2str(e));
            goto fail;
        }
        from_off[i] = to_off[i] = -1;
    }
    if (spec->from == FLEET_FROM_TIME && offsets_at(c, rk, topic, r, cnt, spec->from_ms, from_off, err, errlen))
        goto fail;
    if (spec->to == FLEET_TO_TIME && offsets_at(c, rk, topic, r, cnt, spec->to_ms, to_off, err, errlen)) goto fail;
    for (size_t i = 0; i < cnt; i++) {
        fleet_range_resolve(spec, r[i].low, r[i].high, from_off[i], to_off[i], &r[i].start, &r[i].end);
        r[i].next = r[i].start;
        r[i].done = r[i].start >= r[i].end;
    }
    free(from_off);
    free(to_off);
    *out = r;
    *n = cnt;
    return 0;
fail:
    free(r);
    free(from_off);
    free(to_off);
    return -1;
}

int64_t fleet_ranges_total(const fleet_part_range *r, size_t n) {
    int64_t t = 0;
    for (size_t i = 0; i < n; i++) t += r[i].end - r[i].start;
    return t;
}

void fleet_record_from_message(const rd_kafka_message_t *m, const char *topic, fleet_record *r) {
    memset(r, 0, sizeof *r);
    r->topic = topic;
    r->partition = m->partition;
    r->offset = m->offset;
    r->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
    r->key = m->key;
    r->key_len = m->key_len;
    r->value = m->payload;
    r->len = m->len;
    rd_kafka_headers_t *h = NULL;
    /* rd_kafka_message_headers wants a non-const message only to cache the parsed headers. */
    if (rd_kafka_message_headers((rd_kafka_message_t *)m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *val;
        size_t sz;
        while (r->n_headers < FLEET_MAX_HEADERS &&
               rd_kafka_header_get_all(h, r->n_headers, &name, &val, &sz) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            r->headers[r->n_headers].name = name;
            r->headers[r->n_headers].value = val;
            r->headers[r->n_headers].len = sz;
            r->n_headers++;
        }
    }
}

static fleet_part_range *find_range(fleet_part_range *r, size_t n, int32_t p) {
    for (size_t i = 0; i < n; i++)
        if (r[i].partition == p) return &r[i];
    return NULL;
}

int64_t fleet_kafka_read(const fleet_ctx *c, rd_kafka_t *consumer, const char *topic, fleet_part_range *r,
                         size_t n, fleet_progress *prog, fleet_record_fn fn, void *ud, char *err, size_t errlen) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)n);
    size_t open = 0;
    for (size_t i = 0; i < n; i++) {
        if (r[i].done) continue;
        rd_kafka_topic_partition_list_add(l, topic, r[i].partition)->offset = r[i].start;
        open++;
    }
    int64_t count = 0;
    if (open == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return 0;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        snprintf(err, errlen, "assign %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    int stopped = 0;
    /* The broker answers fetches continuously; a read that makes no progress for this long
     * (leader gone, partition deleted under us) is reported instead of hanging forever. */
    int64_t idle_limit = (int64_t)c->timeout_ms * 3, last = fleet_now_ms();
    while (open > 0 && !stopped && !*c->stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 200);
        if (!m) {
            if (fleet_now_ms() - last > idle_limit) {
                snprintf(err, errlen, "no data from %s for %lld ms with %zu partition(s) unfinished", topic,
                         (long long)idle_limit, open);
                rd_kafka_assign(consumer, NULL);
                return -1;
            }
            continue;
        }
        last = fleet_now_ms();
        fleet_part_range *pr = m->rkt && strcmp(rd_kafka_topic_name(m->rkt), topic) == 0
                                   ? find_range(r, n, m->partition) : NULL;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* The end is at or below the high watermark seen at start: reaching EOF means the
             * remaining offsets were control records or compacted away. */
            if (pr && !pr->done && m->offset >= pr->end) {
                pr->done = true;
                open--;
            }
        } else if (m->err) {
            snprintf(err, errlen, "reading %s: %s", topic, rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            rd_kafka_assign(consumer, NULL);
            return -1;
        } else if (pr && !pr->done) {
            if (m->offset >= pr->end) {
                pr->done = true;
                open--;
            } else {
                fleet_record rec;
                fleet_record_from_message(m, topic, &rec);
                int64_t step = m->offset + 1 - pr->next;
                pr->next = m->offset + 1;
                count++;
                if (prog) fleet_progress_step(prog, step > 0 ? step : 1, 0);
                if (fn && fn(&rec, ud) != 0) stopped = 1;
                if (pr->next >= pr->end) {
                    pr->done = true;
                    open--;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(consumer, NULL);
    return count;
}

int fleet_kafka_produce(rd_kafka_t *producer, const char *topic, int32_t partition, const fleet_record *r,
                        int64_t timestamp_ms, char *err, size_t errlen) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(r->n_headers ? r->n_headers : 1);
    for (size_t i = 0; i < r->n_headers; i++)
        rd_kafka_header_add(h, r->headers[i].name, -1, r->headers[i].value,
                            r->headers[i].value ? (ssize_t)r->headers[i].len : 0);
    rd_kafka_resp_err_t e;
    for (;;) {
        e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                              RD_KAFKA_V_KEY(r->key, r->key_len), RD_KAFKA_V_VALUE((void *)r->value, r->len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(timestamp_ms),
                              RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
        /* A full local queue is back-pressure, not failure: serve deliveries and try again. */
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        rd_kafka_poll(producer, 100);
    }
    if (e) {
        rd_kafka_headers_destroy(h);
        snprintf(err, errlen, "produce to %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    rd_kafka_poll(producer, 0);
    return 0;
}
