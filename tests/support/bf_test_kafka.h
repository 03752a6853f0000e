/* Integration-test helpers for the real broker and database. They read the stack's settings
 * from the environment (scripts/test exports them) and fail the test loudly when absent:
 * an integration test that silently skips would let CI pass without testing anything. */
#ifndef BF_TEST_KAFKA_H
#define BF_TEST_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* BRAINFLEET_KAFKA_BROKERS / BRAINFLEET_PG_DSN, or abort with a message. */
const char *bf_test_brokers(void);
const char *bf_test_pg_dsn(void);

/* A unique prefix like "t-3f2a9c1b-" so each test has its own topics and consumer groups. */
void bf_test_unique_prefix(char *out, size_t outlen);

/* Creates prefix+base for each base with the given partitions; aborts on failure. */
void bf_test_create_topics(const char *prefix, const char *const *bases, size_t n, int partitions);

typedef struct bf_test_msg {
    char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;
    char *key;
    size_t key_len;
    char *payload;
    size_t len;
    char *headers[16]; /* "name=value" strings */
    size_t n_headers;
} bf_test_msg;

/* Produces one message synchronously (waits for the ack); headers are "name", "value" pairs
 * ending with NULL (may be NULL). Aborts on failure. */
void bf_test_produce(const char *topic, int32_t partition, const char *key, const char *payload, size_t len,
                     const char *const *headers);

/* A producer on the stack's brokers with the given linger.ms, for sending many messages on one
 * connection (bf_test_produce makes a client per message). Aborts on failure; rd_kafka_destroy
 * it. */
rd_kafka_t *bf_test_producer_new(int linger_ms);

/* Makes rk know topic before its first message: librdkafka 2.0 learns a topic it has never
 * produced to only on its once-a-second scan of unknown topics (librdkafka#3202), so a fresh
 * producer's first messages would wait up to a second, and a latency measured from their produce
 * time would count it (the runtime's warm_up_outputs does the same for the workers). Aborts when
 * the cluster does not answer in 10 s. */
void bf_test_producer_know(rd_kafka_t *rk, const char *topic);

/* Reads every message of topic from the beginning: every partition to its end, then until none
 * arrives for idle_ms (after at least min_count messages), or until max_wait_ms. Returns a malloc'd array (free with
 * bf_test_msgs_free) and its length in *n. */
bf_test_msg *bf_test_consume_all(const char *topic, size_t min_count, int idle_ms, int max_wait_ms, size_t *n);
void bf_test_msgs_free(bf_test_msg *msgs, size_t n);
/* Value of header name in m, or NULL. */
const char *bf_test_msg_header(const bf_test_msg *m, const char *name);

/* The group's committed offset for topic/partition (-1001 when none). */
int64_t bf_test_committed_offset(const char *group, const char *topic, int32_t partition);

/* Path of a built binary relative to the build dir (BF_BUILD_DIR from ctest), e.g.
 * "memory-writer/memory-writer"; into out. */
void bf_test_binary(const char *rel, char *out, size_t outlen);

/* Monotonic ms. */
int64_t bf_test_now_ms(void);
void bf_test_sleep_ms(int ms);

#endif
