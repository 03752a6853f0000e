/* The configuration every worker shares: Kafka, topics, HTTP endpoint, logging, PostgreSQL,
 * concurrency and shutdown. Stage-specific variables live in each stage's own table. */
#ifndef BF_COMMON_CONFIG_H
#define BF_COMMON_CONFIG_H

#include <stdbool.h>

#include "bf_config.h"

typedef struct bf_common_cfg {
    char kafka_brokers[BF_CFG_STR_MAX];
    char group_id[BF_CFG_STR_MAX];     /* empty: the worker's name */
    char topic_prefix[BF_CFG_STR_MAX];
    char http_bind[BF_CFG_STR_MAX];
    long long http_port;
    char log_level[BF_CFG_STR_MAX];
    char pg_dsn[BF_CFG_STR_MAX];
    long long max_in_flight;
    long long max_parked;
    long long shutdown_timeout_ms;
    long long poll_stall_ms;
    long long stats_interval_ms;
} bf_common_cfg;

extern const bf_cfg_var bf_common_cfg_vars[];
extern const size_t bf_common_cfg_n;

/* Prints help or markdown, or loads config, handling the standard argv forms every worker takes:
 * `--help`, `--help-markdown`. Returns 1 when argv asked for help (printed; caller exits 0),
 * 0 when not. */
int bf_config_handle_help(int argc, char **argv, const char *usage, const bf_cfg_var *const *tables,
                          const size_t *ns, size_t count);

#endif
