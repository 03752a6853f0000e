/* The bf_runtime interface without Kafka, for stage unit tests (link bffakeruntime instead of
 * bfruntime). A test creates the stage on bf_fake_runtime_rt(f), delivers messages to its handler
 * exactly as the runtime would, moves the clock (timers fire), and reads what the stage did:
 * messages published (with the key, trace and headers the real runtime would put on them, from the
 * same bf_publish rules), dead letters, finishes, parks, holds and readiness.
 *
 * Differences from the real runtime, on purpose: nothing is taken on its own (the test delivers);
 * outputs are acknowledged only when the test says so (bf_fake_ack_all) unless auto-ack is on, so
 * "finished only after its outputs are acknowledged" is observable; the loop's clock is the test's
 * (bf_fake_advance), and so is the wall clock. */
#ifndef BF_FAKE_RUNTIME_H
#define BF_FAKE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_runtime.h"

typedef struct bf_fake_runtime bf_fake_runtime;

/* One message the stage published. */
typedef struct bf_fake_record {
    char topic[64];                        /* base name: "brainDecisions", "deadLetters" ... */
    char *key;                             /* NUL-terminated copy */
    char *payload;                         /* NUL-terminated copy */
    size_t len;
    char traceparent[BF_TRACEPARENT_LEN + 1];
    char schema[64];                       /* the bf-schema header */
    char schema_version[12];               /* the bf-schema-version header */
    char cause_topic[64];                  /* "" when published without a cause */
    int64_t cause_offset;                  /* -1 without a cause */
    bool acked;
} bf_fake_record;

/* The state of a delivered message. */
typedef enum {
    BF_FAKE_PENDING,  /* handler said BF_PENDING, not finished yet */
    BF_FAKE_PARKED,   /* pending and parked */
    BF_FAKE_UNACKED,  /* finished, outputs not acknowledged yet */
    BF_FAKE_COMPLETE, /* finished and every output acknowledged: the offset would be stored */
} bf_fake_state;

/* cfg NULL: the defaults of bf_common_cfg_vars (MAX_IN_FLIGHT 256 ...). Aborts when out of memory.
 * The clock starts at 1,000,000 ms (wall: 2026-01-01). */
bf_fake_runtime *bf_fake_runtime_new(const bf_common_cfg *cfg);
/* Frees the messages still pending too (the stage must be freed first). */
void bf_fake_runtime_free(bf_fake_runtime *f);
bf_runtime *bf_fake_runtime_rt(bf_fake_runtime *f);
void bf_fake_runtime_set_stage(bf_fake_runtime *f, const bf_stage_ops *ops, void *stage);

/* Delivers a message of topic_base (prefix-free) at the next offset of partition, with an
 * optional traceparent header (NULL: none), and calls the handler (and the turn op after it).
 * Returns the message's offset. */
int64_t bf_fake_deliver(bf_fake_runtime *f, const char *topic_base, int32_t partition, const char *key,
                        const char *payload, const char *traceparent);
bf_fake_state bf_fake_state_of(const bf_fake_runtime *f, const char *topic_base, int32_t partition, int64_t offset);
/* The message the handler saw (valid while it is not complete); NULL when complete or unknown. */
bf_inmsg *bf_fake_message(bf_fake_runtime *f, const char *topic_base, int32_t partition, int64_t offset);

/* Outputs are acknowledged at once (true) or only by bf_fake_ack_all (false, the default). */
void bf_fake_set_auto_ack(bf_fake_runtime *f, bool on);
/* Acknowledges every output published so far; returns how many. */
size_t bf_fake_ack_all(bf_fake_runtime *f);

/* Moves the loop's clock (and the wall clock) by ms and runs every timer due by then, in deadline
 * order, also timers that those callbacks arm within the window; then the turn op once. */
void bf_fake_advance(bf_fake_runtime *f, int64_t ms);
/* Runs what is due now without moving the clock (timers armed for "now", I/O ready on real
 * descriptors), waiting up to wait_ms for descriptors; then the turn op once. */
void bf_fake_run_once(bf_fake_runtime *f, int wait_ms);
int64_t bf_fake_now(const bf_fake_runtime *f);

size_t bf_fake_published(const bf_fake_runtime *f);
const bf_fake_record *bf_fake_record_at(const bf_fake_runtime *f, size_t i);
/* Records published to topic_base, and the i-th of them (NULL when there are fewer). */
size_t bf_fake_count(const bf_fake_runtime *f, const char *topic_base);
const bf_fake_record *bf_fake_nth(const bf_fake_runtime *f, const char *topic_base, size_t i);

bool bf_fake_held(const bf_fake_runtime *f);
/* -1 when the dependency was never set, else 0 (down) or 1 (up). */
int bf_fake_dependency(const bf_fake_runtime *f, const char *name);
size_t bf_fake_parked(const bf_fake_runtime *f);
/* Makes the next publish fail as a broken producer would (the runtime then stops with an error). */
void bf_fake_fail_publish(bf_fake_runtime *f, bool on);

#endif
