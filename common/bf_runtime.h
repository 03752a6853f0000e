/* The consumer/producer runtime every worker runs on, and the one interface a stage has to Kafka,
 * the clock and the event loop.
 *
 * One thread runs a bf_loop. The runtime registers what it owns with it (the Kafka queues' wake-up
 * pipe, a signalfd for SIGTERM/SIGINT); a stage registers its own sockets and timers (database
 * connections, HTTP transfers, deadlines) with bf_runtime_loop(rt) the same way, so no stage ever
 * sleeps or waits: everything it does is a callback.
 *
 * Delivery is at-least-once: a message's offset is stored (and later auto-committed) only when
 * (1) its stage has finished with it, (2) every message published on its behalf has been
 * acknowledged by the broker, and (3) every older message of its partition is stored too. A crash
 * at any point re-delivers what was not finished; stages are idempotent downstream.
 *
 * Flow control (docs/development.md, "The runtime"): MAX_IN_FLIGHT bounds the messages of each
 * input topic that a stage is working on. Not counted: messages the stage has parked (waiting
 * behind another message of their project, or for an event from another topic; bounded by
 * MAX_PARKED, shared fairly between the assigned partitions) and finished messages whose outputs
 * are only waiting for the broker's acknowledgement (bounded by the producer's queue). Each input
 * topic has its own budget, so a busy topic never starves another that its own messages wait for.
 * The consumer is polled every turn whatever the counts, so slow work never trips
 * max.poll.interval.ms.
 *
 * A delivery that librdkafka reports as failed after its own retries is fatal: the runtime stops
 * with an error (exit non-zero, the pod restarts, the input is re-delivered) rather than store an
 * offset for an effect that never happened.
 *
 * tests/support/bf_fake_runtime.c implements this same interface without Kafka, with a clock the
 * test moves, so stages are unit-tested through exactly the calls they make in production. */
#ifndef BF_RUNTIME_H
#define BF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_clock.h"
#include "bf_common_config.h"
#include "bf_envelope.h"
#include "bf_log.h"
#include "bf_loop.h"
#include "bf_metrics.h"
#include "bf_trace.h"

typedef struct bf_runtime bf_runtime;

/* An input message. Owned by the runtime; valid from the handler call until the message is
 * finished (on return for BF_HANDLED, at bf_runtime_finish for BF_PENDING). */
typedef struct bf_inmsg {
    const char *topic;      /* full topic name, prefix included */
    const char *topic_base; /* without the prefix: "brainRequests" ... */
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;   /* broker/producer timestamp, -1 when absent */
    int64_t received_ms;    /* when the runtime took it (loop clock, for queue-wait timings) */
    const char *key;        /* not NUL-terminated; may be NULL */
    size_t key_len;
    const char *payload;    /* not NUL-terminated; may be NULL */
    size_t len;
    /* From the traceparent header; when that is absent or invalid (a client that produced without
     * headers), a new span in the trace the envelope's trace_id names; only when that is missing
     * too, a new trace. */
    char traceparent[BF_TRACEPARENT_LEN + 1];
    char trace_id[BF_TRACE_ID_LEN + 1];
    void *stage_data;       /* free for the stage's use while the message is pending */
} bf_inmsg;

typedef enum {
    BF_HANDLED = 0, /* effects done (outputs published); the runtime finishes the message */
    BF_PENDING = 1, /* the stage calls bf_runtime_finish later */
} bf_handle_result;

typedef struct bf_stage_ops {
    bf_handle_result (*handle)(void *stage, bf_inmsg *msg);
    /* Called once per loop turn after that turn's messages were handled (libuv's "check"): for
     * work that is best done once per batch of messages rather than per message. May be NULL. */
    void (*turn)(void *stage);
    /* Partitions are being revoked; their offsets are committed right after this returns. Pending
     * messages of theirs are abandoned (re-delivered to the next owner) unless finished here.
     * May be NULL. */
    void (*revoked)(void *stage);
} bf_stage_ops;

typedef struct bf_runtime_opts {
    const char *worker;                  /* "brain-worker" ...; client id and default group id */
    const bf_common_cfg *cfg;            /* borrowed, must outlive the runtime */
    const char *const *input_topics;     /* base names, without the prefix */
    size_t n_inputs;
    /* Base names the stage publishes to (deadLetters is implied). The runtime looks their metadata
     * up at start: librdkafka otherwise finds a topic it never produced to only on its
     * once-a-second scan, and the first output to each waits up to a second. May be NULL. */
    const char *const *output_topics;
    size_t n_outputs;
    bf_log *log;                         /* borrowed */
    bf_metrics *metrics;                 /* borrowed */
    char *const *envp;                   /* for BRAINFLEET_KAFKA_* pass-through; may be NULL */
    bool no_http;                        /* tests that run several runtimes in one process */
} bf_runtime_opts;

/* Creates the loop, the consumer, the producer and the HTTP endpoint, and blocks SIGTERM/SIGINT
 * in the calling thread (and so in librdkafka's threads) so that they arrive through the
 * signalfd. Returns NULL with err set. The runtime owns everything it creates. */
bf_runtime *bf_runtime_new(const bf_runtime_opts *opts, char *err, size_t errlen);
/* After the stage that used it is freed (the loop goes with it). */
void bf_runtime_free(bf_runtime *rt);

/* Runs the stage until SIGTERM/SIGINT or bf_runtime_stop, then shuts down gracefully within the
 * configured bound. ops is copied. Returns 0 on a clean stop, -1 on a fatal error (logged). */
int bf_runtime_run(bf_runtime *rt, const bf_stage_ops *ops, void *stage);
void bf_runtime_stop(bf_runtime *rt);
bool bf_runtime_stopping(const bf_runtime *rt);

/* The loop to register sockets and timers with; it lives as long as the runtime. */
bf_loop *bf_runtime_loop(bf_runtime *rt);
/* The loop's clock (monotonic ms): deadlines, timings. */
int64_t bf_runtime_now(const bf_runtime *rt);
/* Wall-clock ms since the epoch: timestamps in messages. */
int64_t bf_runtime_wall(const bf_runtime *rt);

/* Finishes a message the handler left BF_PENDING (idempotent). */
void bf_runtime_finish(bf_runtime *rt, bf_inmsg *msg);
/* Parks (true) or unparks a pending message: a parked message does not count against
 * MAX_IN_FLIGHT (see the top of this file). Unparking is never refused: the topic may then be over
 * its budget for a while, and takes no new message until it is under again. */
void bf_runtime_park(bf_runtime *rt, bf_inmsg *msg, bool parked);

/* Publishes payload (malloc'd; the runtime owns it from here on, also when this fails) to the
 * topic named by env->schema, keyed by env->project_id, with the headers every message carries:
 * traceparent (in env->trace_id's trace: a child of cause's span when cause is in that trace,
 * else a new span), bf-schema and bf-schema-version from env. cause (may be NULL) is not finished
 * until the broker has acknowledged this message. Returns 0, or -1 (logged; the runtime is then
 * stopping with an error and cause will be re-delivered). */
int bf_runtime_publish(bf_runtime *rt, bf_inmsg *cause, const bf_envelope *env, char *payload, size_t len);

/* Sends msg's original bytes to deadLetters with the reason (a short code such as
 * "invalid_json" and a human message), source topic/partition/offset and original headers, keyed
 * by the failed message's project id when its envelope (or else its key) names a valid one, else
 * "unknown"; in msg's trace. msg is finished only after that delivery; the caller still returns
 * BF_HANDLED (or calls bf_runtime_finish for a pending message). */
int bf_runtime_dead_letter(bf_runtime *rt, bf_inmsg *msg, const char *code, const char *message);

/* Pause/resume all consumption (e.g. while PostgreSQL is down); polling goes on. */
void bf_runtime_hold(bf_runtime *rt, bool hold);
/* Marks a dependency reachable or not for /readyz ("postgres", ...). Up to 8 names. */
void bf_runtime_set_dependency(bf_runtime *rt, const char *name, bool ok);

/* Messages being worked on (pending, not parked), over all input topics. */
size_t bf_runtime_in_flight(const bf_runtime *rt);
/* Messages taken and not complete: worked on, parked, or waiting for their outputs'
 * acknowledgement (what a drain or a benchmark waits for). */
size_t bf_runtime_unfinished(const bf_runtime *rt);
/* True when an input topic is at its MAX_IN_FLIGHT (or nothing can be taken at all: held,
 * stopping, the producer's queue full): what a stage that batches needs to know to stop waiting for
 * more of what it holds. */
bool bf_runtime_saturated(const bf_runtime *rt);
int bf_runtime_http_port(const bf_runtime *rt);
const bf_common_cfg *bf_runtime_config(const bf_runtime *rt);
bf_log *bf_runtime_log(bf_runtime *rt);
bf_metrics *bf_runtime_metrics(bf_runtime *rt);
/* Reads header name of msg into out (NUL-terminated); returns 0, or -1 when absent. */
int bf_inmsg_header(const bf_inmsg *msg, const char *name, char *out, size_t outlen);

#endif
