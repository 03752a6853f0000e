/* The Kafka plumbing fleetctl's commands share: clients with bounded timeouts and clear errors,
 * partition ranges resolved from offsets or times (rd_kafka_offsets_for_times), a range reader
 * that stops at each partition's end, and a producer that counts delivery reports. */
#ifndef FLEET_KAFKA_H
#define FLEET_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "fleet_ctx.h"
#include "fleet_progress.h"
#include "fleet_range.h"
#include "fleet_record.h"

/* A consumer for assign()-based reading. group NULL: a name that never commits (reads never move
 * any group); a group only when offsets are to be committed for it. */
rd_kafka_t *fleet_kafka_consumer(const fleet_ctx *c, const char *group, char *err, size_t errlen);

typedef struct fleet_delivery {
    int64_t ok, failed;
    char first_error[256];
} fleet_delivery;
/* An idempotent producer (ordering per partition survives retries) whose delivery reports land
 * in *dr. */
rd_kafka_t *fleet_kafka_producer(const fleet_ctx *c, fleet_delivery *dr, char *err, size_t errlen);
/* Flushes within the ctx timeout; -1 with err when messages were not acknowledged or failed. */
int fleet_kafka_flush(const fleet_ctx *c, rd_kafka_t *producer, const fleet_delivery *dr, char *err, size_t errlen);

/* Partition count of topic. -1 with a clear err: broker unreachable within the timeout, or topic
 * unknown ("topic 'x' does not exist"). */
int fleet_kafka_partitions(const fleet_ctx *c, rd_kafka_t *rk, const char *topic, int32_t *n, char *err,
                           size_t errlen);

typedef struct fleet_part_range {
    int32_t partition;
    int64_t low, high;   /* watermarks when resolved */
    int64_t start, end;  /* [start, end) to read */
    int64_t next;        /* next offset expected (progress) */
    bool done;
} fleet_part_range;

/* Resolves spec for every partition of topic (only_partition >= 0: just that one). *out is
 * malloc'd (caller frees), *n its length. */
int fleet_kafka_resolve(const fleet_ctx *c, rd_kafka_t *rk, const char *topic, int32_t only_partition,
                        const fleet_range_spec *spec, fleet_part_range **out, size_t *n, char *err,
                        size_t errlen);

/* Sum of end - start over the ranges. */
int64_t fleet_ranges_total(const fleet_part_range *r, size_t n);

/* Called per record in per-partition order; return non-zero to stop reading. */
typedef int (*fleet_record_fn)(const fleet_record *r, void *ud);

/* Reads every range to its end (or until c->stop, or fn asks to stop). prog may be NULL.
 * Returns the number of records read, or -1 with err. */
int64_t fleet_kafka_read(const fleet_ctx *c, rd_kafka_t *consumer, const char *topic, fleet_part_range *r,
                         size_t n, fleet_progress *prog, fleet_record_fn fn, void *ud, char *err, size_t errlen);

/* Fills a fleet_record view of a consumed message (borrowing its bytes). */
void fleet_record_from_message(const rd_kafka_message_t *m, const char *topic, fleet_record *r);

/* Produces r's key, value and headers (copied) to topic; partition -1 lets the key choose.
 * timestamp_ms 0: now. Returns 0 or -1 with err (queue errors; delivery comes via dr). */
int fleet_kafka_produce(rd_kafka_t *producer, const char *topic, int32_t partition, const fleet_record *r,
                        int64_t timestamp_ms, char *err, size_t errlen);

/* Unix ms now (wall clock). */
int64_t fleet_now_ms(void);

#endif
