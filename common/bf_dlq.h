/* The deadLetters message: why an input failed, where it came from, and its original bytes
 * (base64, since they may be invalid UTF-8) and headers, so `fleetctl dlq retry` can re-publish
 * it exactly. Pure function of its inputs, unit-tested without a broker. */
#ifndef BF_DLQ_H
#define BF_DLQ_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_envelope.h"

/* Original bytes kept in a dead letter, at most. Base64 makes them 4/3 larger, and the dead letter
 * must stay under Kafka's default 1 MB message limit: a dead letter the broker refuses would be a
 * failed delivery, which stops the worker, which then meets the same message again on restart. */
#define BF_DLQ_KEEP_MAX (512u * 1024)

typedef struct bf_dlq_source {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 when unknown */
    const char *key;      /* original bytes, may be NULL */
    size_t key_len;
    const char *payload;  /* original bytes, may be NULL */
    size_t len;
    const char *const *header_names; /* n_headers original headers (values NUL-free text or bytes) */
    const char *const *header_values;
    const size_t *header_lens;
    size_t n_headers;
    const char *traceparent; /* of the failed message, for the envelope's trace id; may be NULL */
} bf_dlq_source;

/* Returns the malloc'd JSON message (caller frees) or NULL when out of memory; env (may be NULL)
 * receives its envelope, for the publication's key and headers. project is the id the dead letter
 * is filed under (bf_publish_dead_letter_project); anything but a valid id becomes "unknown". */
char *bf_dlq_build(const bf_dlq_source *src, const char *project, const char *group, const char *worker,
                   const char *code, const char *message, int64_t failed_at_ms, bf_envelope *env);

/* Convenience for the runtime: fills a bf_dlq_source from a consumed message; traceparent is the
 * one the runtime gave the message (its header's, or the continued trace). */
char *bf_dlq_encode(const rd_kafka_message_t *rkm, const char *topic, const char *project, const char *traceparent,
                    const char *group, const char *worker, const char *code, const char *message,
                    int64_t failed_at_ms, bf_envelope *env);

/* Standard base64 with padding; returns a malloc'd NUL-terminated string (caller frees). */
char *bf_base64_encode(const void *data, size_t len);
/* Decodes standard base64; returns malloc'd bytes and their length in *out_len, or NULL. */
unsigned char *bf_base64_decode(const char *text, size_t *out_len);

#endif
