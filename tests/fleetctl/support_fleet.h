/* Integration-test helpers for fleetctl: run the built binary as a subprocess with the test's
 * topic prefix, and produce records with explicit timestamps (bf_test_produce cannot), so
 * time-range tests know exactly which records a range holds. */
#ifndef SUPPORT_FLEET_H
#define SUPPORT_FLEET_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* Runs ${BF_BUILD_DIR}/fleetctl/fleetctl args... (NULL-terminated) with BRAINFLEET_TOPIC_PREFIX
 * set to prefix; *out and *err receive its stdout/stderr (malloc'd, NUL-terminated; may be NULL to
 * discard). Returns the exit status, or -1 when it did not exit normally. */
int fleet_it_run(const char *prefix, char **out, char **err, ...);
int fleet_it_runv(const char *prefix, const char *const *args, char **out, char **err);

/* The same, without waiting: fleet_it_wait collects the exit status and output. */
typedef struct fleet_it_proc fleet_it_proc;
fleet_it_proc *fleet_it_spawn(const char *prefix, const char *const *args);
int fleet_it_wait(fleet_it_proc *p, char **out, char **err);

/* A producer for the test's broker (aborts on failure). */
rd_kafka_t *fleet_it_producer(void);
/* Queues one record; headers "name","value",... NULL-terminated (may be NULL); timestamp_ms 0 =
 * now. Aborts on error. */
void fleet_it_produce(rd_kafka_t *p, const char *topic, int32_t partition, const char *key, const void *value,
                      size_t len, const char *const *headers, int64_t timestamp_ms);
/* Waits for every queued record's acknowledgement; aborts if any failed. Destroys p. */
void fleet_it_producer_done(rd_kafka_t *p);

/* The file at rel under the source tree ($BF_SOURCE_DIR, else the current directory), NUL-terminated
 * (caller frees); fails the test when it cannot be read. */
char *fleet_it_source_new(const char *rel);

/* Number of lines in s (each ending in \n). */
size_t fleet_it_lines(const char *s);

/* Wall-clock Unix ms. */
int64_t fleet_it_wall_ms(void);

#endif
