/* brain-worker's own configuration (the common Kafka/PostgreSQL/HTTP variables are in
 * bf_common_config.h). One table drives parsing, --help and docs/configuration.md. */
#ifndef BRAIN_CONFIG_H
#define BRAIN_CONFIG_H

#include <stddef.h>

#include "bf_config.h"

typedef struct brain_cfg {
    char llm_url[BF_CFG_STR_MAX];     /* base URL; empty: rule-based decider */
    char llm_api_key[BF_CFG_STR_MAX]; /* secret */
    char llm_model[BF_CFG_STR_MAX];
    char llm_mode[BF_CFG_STR_MAX];             /* "tools" | "json" (brain_llm_mode_parse) */
    double llm_temperature;                    /* < 0: not sent */
    long long llm_max_tokens;                  /* 0: not sent */
    char llm_max_tokens_field[BF_CFG_STR_MAX]; /* "max_tokens" | "max_completion_tokens" */
    long long llm_timeout_ms;
    long long llm_retries;
    long long token_budget;
    long long conversation_limit;
    long long image_context_limit;
    long long db_statement_timeout_ms;
    long long db_pool_size;
    long long context_cache_ttl_ms;
    long long late_facts_ttl_ms;
    long long late_facts_max;
} brain_cfg;

extern const bf_cfg_var brain_cfg_vars[];
extern const size_t brain_cfg_n;

#endif
