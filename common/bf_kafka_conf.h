/* librdkafka configuration for our consumers and producers: our defaults (at-least-once
 * consumer, idempotent producer) plus every BRAINFLEET_KAFKA_<NAME> variable passed through as
 * the librdkafka property <name> (lower case, '_' -> '.'), so SASL/SSL need no code change. */
#ifndef BF_KAFKA_CONF_H
#define BF_KAFKA_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "bf_common_config.h"

typedef enum { BF_KAFKA_CONSUMER, BF_KAFKA_PRODUCER } bf_kafka_role;

/* envp: "NAME=value" strings (environ in workers; a test array in tests), may be NULL.
 * Returns a new conf the caller owns (rd_kafka_new takes it over), or NULL with err set. */
rd_kafka_conf_t *bf_kafka_conf_new(const bf_common_cfg *cfg, bf_kafka_role role, const char *client_id,
                                   char *const *envp, char *err, size_t errlen);

/* Maps BRAINFLEET_KAFKA_SASL_MECHANISMS -> "sasl.mechanisms". Returns 0 when env_name is a
 * pass-through variable (not one of our own KAFKA_* settings), -1 otherwise. */
int bf_kafka_conf_property_name(const char *env_name, char *out, size_t outlen);

/* Topic name with the configured prefix into out. */
void bf_topic_name(const bf_common_cfg *cfg, const char *base, char *out, size_t outlen);

#endif
