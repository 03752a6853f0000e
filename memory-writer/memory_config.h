/* memory-writer's own configuration (the common Kafka/PostgreSQL/HTTP variables are in
 * bf_common_config.h). One table drives parsing, --help and docs/configuration.md. */
#ifndef MEMORY_CONFIG_H
#define MEMORY_CONFIG_H

#include <stddef.h>

#include "bf_config.h"

typedef struct memory_cfg {
    long long batch_size;          /* messages per database transaction, at most */
    long long batch_linger_ms;     /* oldest message waits at most this long before a flush */
    long long write_connections;   /* lanes: connections writing batches at the same time */
    long long retry_max_ms;        /* cap of the backoff while PostgreSQL is unreachable */
    double inferred_weight;        /* evidence weight of one image's mood/colours */
    long long retention_image_ms;  /* image_analysis rows older than this are deleted by cleanup */
    long long retention_conversation_ms; /* conversation context and messages */
    long long retention_ledger_ms; /* processed_events of this consumer */
    long long cleanup_batch;       /* rows per DELETE statement in cleanup */
} memory_cfg;

#define MEMORY_MAX_CONNECTIONS 8

extern const bf_cfg_var memory_cfg_vars[];
extern const size_t memory_cfg_n;

#endif
