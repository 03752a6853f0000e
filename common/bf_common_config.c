#include "bf_common_config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define F(field) offsetof(bf_common_cfg, field)
#define NOBOUND 1, 0

const bf_cfg_var bf_common_cfg_vars[] = {
    {"KAFKA_BROKERS", BF_CFG_STRING, F(kafka_brokers), "127.0.0.1:9092", NOBOUND, NULL, 0,
     "Kafka bootstrap servers, comma-separated host:port (librdkafka bootstrap.servers)."},
    {"GROUP_ID", BF_CFG_STRING, F(group_id), "", NOBOUND, NULL, 0,
     "Consumer group. Empty: the worker's name (brain-worker, image-worker, memory-writer). "
     "Replicas of one stage share it; a debug replay uses its own."},
    {"TOPIC_PREFIX", BF_CFG_STRING, F(topic_prefix), "", NOBOUND, NULL, 0,
     "Prepended to every topic name (e.g. 'staging.'), so several fleets can share one cluster."},
    {"HTTP_BIND", BF_CFG_STRING, F(http_bind), "0.0.0.0", NOBOUND, NULL, 0,
     "IPv4 address the /metrics, /healthz and /readyz endpoint listens on."},
    {"HTTP_PORT", BF_CFG_INT, F(http_port), "8080", 0, 65535, NULL, 0,
     "Port of the /metrics, /healthz and /readyz endpoint; 0 picks a free port (logged at start)."},
    {"LOG_LEVEL", BF_CFG_ENUM, F(log_level), "info", NOBOUND, "debug|info|warn|error", 0,
     "Least severe level written to the JSON-lines log on stderr."},
    {"PG_DSN", BF_CFG_STRING, F(pg_dsn), "", NOBOUND, NULL, BF_CFG_SECRET,
     "PostgreSQL connection string (libpq keyword=value or postgresql:// URI, sslmode and all). "
     "Empty: no database (brain-worker then decides on degraded context)."},
    {"MAX_IN_FLIGHT", BF_CFG_INT, F(max_in_flight), "256", 1, 100000, NULL, 0,
     "Messages of each input topic a worker works on at once; at it the runtime stops taking that "
     "topic's messages (and keeps polling, so the group never times it out). Parked messages and "
     "messages waiting only for their outputs' acknowledgement do not count."},
    {"MAX_PARKED", BF_CFG_INT, F(max_parked), "10000", 0, 1000000, NULL, 0,
     "Messages a worker may hold parked (brain-worker: requests queued behind an earlier request of "
     "their project, or waiting for image facts), shared evenly between the assigned partitions: a "
     "partition at its share is not read until one of its messages moves on."},
    {"SHUTDOWN_TIMEOUT", BF_CFG_MS, F(shutdown_timeout_ms), "20s", 0, 600000, NULL, 0,
     "On SIGTERM, how long in-flight work may finish before it is abandoned (it is then redelivered "
     "to another replica). Keep it below the pod's terminationGracePeriodSeconds."},
    {"POLL_STALL_LIMIT", BF_CFG_MS, F(poll_stall_ms), "30s", 1000, 3600000, NULL, 0,
     "/healthz fails when the poll loop has not turned for this long."},
    {"KAFKA_STATS_INTERVAL", BF_CFG_MS, F(stats_interval_ms), "5s", 0, 3600000, NULL, 0,
     "How often librdkafka statistics refresh the consumer-lag metric; 0 turns them off."},
};
const size_t bf_common_cfg_n = sizeof bf_common_cfg_vars / sizeof bf_common_cfg_vars[0];

int bf_config_handle_help(int argc, char **argv, const char *usage, const bf_cfg_var *const *tables,
                          const size_t *ns, size_t count) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            bf_config_print_help(stdout, usage, tables, ns, count);
            return 1;
        }
        if (strcmp(argv[i], "--help-markdown") == 0) {
            bf_config_print_markdown(stdout, argv[0], tables, ns, count);
            return 1;
        }
    }
    return 0;
}
