#include "bf_kafka_conf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Our own KAFKA_* variables, configured through the common table, never passed through. */
static const char *const own_vars[] = {"BRAINFLEET_KAFKA_BROKERS", "BRAINFLEET_KAFKA_STATS_INTERVAL"};

int bf_kafka_conf_property_name(const char *env_name, char *out, size_t outlen) {
    static const char prefix[] = BF_ENV_PREFIX "KAFKA_";
    if (strncmp(env_name, prefix, sizeof prefix - 1) != 0) return -1;
    for (size_t i = 0; i < sizeof own_vars / sizeof own_vars[0]; i++)
        if (strcmp(env_name, own_vars[i]) == 0) return -1;
    const char *p = env_name + sizeof prefix - 1;
    if (!*p || outlen == 0) return -1;
    size_t i = 0;
    for (; *p && i + 1 < outlen; p++, i++) out[i] = *p == '_' ? '.' : (char)tolower((unsigned char)*p);
    out[i] = '\0';
    return *p ? -1 : 0;
}

void bf_topic_name(const bf_common_cfg *cfg, const char *base, char *out, size_t outlen) {
    snprintf(out, outlen, "%s%s", cfg->topic_prefix, base);
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen) {
    char rderr[256];
    if (rd_kafka_conf_set(conf, k, v, rderr, sizeof rderr) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property %s: %s", k, rderr);
        return -1;
    }
    return 0;
}

rd_kafka_conf_t *bf_kafka_conf_new(const bf_common_cfg *cfg, bf_kafka_role role, const char *client_id,
                                   char *const *envp, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char num[32];
    snprintf(num, sizeof num, "%lld", cfg->stats_interval_ms);
    if (set(conf, "bootstrap.servers", cfg->kafka_brokers, err, errlen) ||
        set(conf, "client.id", client_id, err, errlen) ||
        set(conf, "statistics.interval.ms", num, err, errlen))
        goto fail;
    if (role == BF_KAFKA_CONSUMER) {
        /* At-least-once: offsets are stored by us only after a message's effects are done, and
         * librdkafka's auto-commit then commits what was stored. Eager range assignment because
         * librdkafka 2.0's cooperative-sticky has known bugs. */
        if (set(conf, "group.id", cfg->group_id, err, errlen) ||
            set(conf, "enable.auto.offset.store", "false", err, errlen) ||
            set(conf, "enable.auto.commit", "true", err, errlen) ||
            set(conf, "auto.commit.interval.ms", "1000", err, errlen) ||
            set(conf, "auto.offset.reset", "earliest", err, errlen) ||
            set(conf, "partition.assignment.strategy", "range,roundrobin", err, errlen) ||
            set(conf, "enable.partition.eof", "false", err, errlen) ||
            /* The runtime reads each partition from its own queue, where these prefetch bounds
             * apply per partition rather than to the whole consumer (100000 messages and
             * 64 MiB by default): 12 partitions stay under 48 MiB. */
            set(conf, "queued.min.messages", "10000", err, errlen) ||
            set(conf, "queued.max.messages.kbytes", "4096", err, errlen) ||
            /* librdkafka's 500 ms let a burst reach the stage in pieces up to that long apart:
             * 400 requests at once, p50 to decision 3.95 s at 500, 3.43 s at 50 and 3.40 s at
             * 10 (brain_worker_bench burst/db-500ms). 50 costs an idle consumer 20 small
             * fetches a second per broker. */
            set(conf, "fetch.wait.max.ms", "50", err, errlen))
            goto fail;
    } else {
        if (set(conf, "enable.idempotence", "true", err, errlen) ||
            set(conf, "linger.ms", "5", err, errlen) ||
            set(conf, "compression.codec", "lz4", err, errlen) ||
            set(conf, "message.timeout.ms", "120000", err, errlen))
            goto fail;
    }
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        if (!eq) continue;
        char name[256], prop[256];
        size_t nl = (size_t)(eq - envp[i]);
        if (nl >= sizeof name) continue;
        memcpy(name, envp[i], nl);
        name[nl] = '\0';
        if (bf_kafka_conf_property_name(name, prop, sizeof prop) != 0) continue;
        /* Consumer-only properties on a producer (and the reverse) only warn in librdkafka,
         * so one set of variables serves both handles. */
        if (set(conf, prop, eq + 1, err, errlen)) {
            size_t l = strlen(err);
            snprintf(err + l, errlen > l ? errlen - l : 0, " (from %s)", name);
            goto fail;
        }
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}
