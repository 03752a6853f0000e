/* The consumer/producer runtime every worker runs on.
 *
 * One thread runs the loop: it polls the consumer, dispatches each message to the stage's
 * handler, serves delivery reports, calls the stage's tick, and sleeps in the stage's wait
 * function (curl_multi_poll for stages with HTTP calls) with the Kafka queues' wake-up fd and a
 * signalfd among the fds to watch, so neither Kafka nor HTTP ever waits on the other.
 *
 * Delivery is at-least-once: a message's offset is stored (and later auto-committed) only when
 * (1) its handler has finished with it, (2) every message produced on its behalf has been
 * acknowledged by the broker, and (3) every older message of its partition is stored too. A crash
 * at any point re-delivers what was not finished; stages are idempotent downstream.
 *
 * Handlers finish synchronously (BF_HANDLED) or later (BF_PENDING, then bf_runtime_finish), which
 * is how stages keep hundreds of LLM/HTTP calls in flight. At max_in_flight the loop stops taking
 * messages from the partitions' queues (prefetched messages wait there, nothing is re-fetched) but
 * keeps polling the consumer, so slow calls never trip max.poll.interval.ms.
 *
 * A delivery that librdkafka reports as failed after its own retries is fatal: the runtime stops
 * with an error (exit non-zero, the pod restarts, the input is re-delivered) rather than store an
 * offset for an effect that never happened. */
#ifndef BF_RUNTIME_H
#define BF_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_common_config.h"
#include "bf_log.h"
#include "bf_metrics.h"

typedef struct bf_runtime bf_runtime;

/* An input message. Owned by the runtime; valid from the handler call until the message is
 * finished (on return for BF_HANDLED, at bf_runtime_finish for BF_PENDING). */
typedef struct bf_inmsg {
    const char *topic;      /* full topic name, prefix included */
    const char *topic_base; /* without the prefix: "brainRequests" ... */
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;   /* broker/producer timestamp, -1 when absent */
    int64_t received_ms;    /* when the runtime polled it (monotonic ms, for queue-wait timings) */
    const char *key;        /* not NUL-terminated; may be NULL */
    size_t key_len;
    const char *payload;    /* not NUL-terminated; may be NULL */
    size_t len;
    char traceparent[56];   /* from the header, or a new one when absent/invalid */
    char trace_id[33];
    void *stage_data;       /* free for the stage's use while the message is pending */
} bf_inmsg;

typedef enum {
    BF_HANDLED = 0, /* effects done (outputs produced); the runtime finishes the message */
    BF_PENDING = 1, /* the stage calls bf_runtime_finish later */
} bf_handle_result;

typedef struct bf_header {
    const char *name;
    const char *value; /* NUL-terminated */
} bf_header;

typedef struct bf_stage_ops {
    bf_handle_result (*handle)(void *ctx, bf_runtime *rt, bf_inmsg *msg);
    /* Called every loop turn: flush batches, fire timers, retry. May be NULL. */
    void (*tick)(void *ctx, bf_runtime *rt);
    /* Sleeps up to timeout_ms or until one of fds is readable (or the stage's own I/O is ready,
     * which it then serves). NULL: plain poll(2) on fds. */
    void (*wait)(void *ctx, const int *fds, size_t n_fds, int timeout_ms);
    /* Called when partitions are revoked, before their offsets are committed. May be NULL. */
    void (*revoked)(void *ctx, bf_runtime *rt);
} bf_stage_ops;

typedef struct bf_runtime_opts {
    const char *worker;                  /* "brain-worker" ...; client id and default group id */
    const bf_common_cfg *cfg;            /* borrowed, must outlive the runtime */
    const char *const *input_topics;     /* base names, without the prefix */
    size_t n_inputs;
    /* Base names the stage produces to (deadLetters is implied). The runtime looks their metadata
     * up at start: librdkafka otherwise finds a topic it never produced to only on its
     * once-a-second scan, and the first output to each waits up to a second. May be NULL. */
    const char *const *output_topics;
    size_t n_outputs;
    bf_stage_ops ops;
    void *ctx;                           /* passed to every op */
    bf_log *log;                         /* borrowed */
    bf_metrics *metrics;                 /* borrowed */
    char *const *envp;                   /* for BRAINFLEET_KAFKA_* pass-through; may be NULL */
    bool no_http;                        /* tests that run several runtimes in one process */
} bf_runtime_opts;

/* Creates the consumer, the producer and the HTTP endpoint, and blocks SIGTERM/SIGINT in the
 * calling thread (and so in librdkafka's threads) so that they arrive through the signalfd.
 * Returns NULL with err set. The runtime owns everything it creates. */
bf_runtime *bf_runtime_new(const bf_runtime_opts *opts, char *err, size_t errlen);
void bf_runtime_free(bf_runtime *rt);

/* Runs until SIGTERM/SIGINT or bf_runtime_stop, then shuts down gracefully within the
 * configured bound. Returns 0 on a clean stop, -1 on a fatal error (logged). */
int bf_runtime_run(bf_runtime *rt);
void bf_runtime_stop(bf_runtime *rt);
bool bf_runtime_stopping(const bf_runtime *rt);

/* Finishes a message the handler left BF_PENDING. */
void bf_runtime_finish(bf_runtime *rt, bf_inmsg *msg);

/* Produces to topic base name (prefix added) with key; headers traceparent (a child of cause's,
 * or of traceparent when cause is NULL; a new trace when both are NULL) plus extra. cause (may
 * be NULL) is not finished until this delivery is acknowledged. Copies everything.
 * Returns 0, or -1 (logged; the runtime is then stopping with an error). */
int bf_runtime_produce(bf_runtime *rt, bf_inmsg *cause, const char *topic_base, const char *key,
                       size_t key_len, const char *payload, size_t len, const bf_header *extra,
                       size_t n_extra);
/* The same, taking payload (malloc'd) instead of copying it: librdkafka frees it once done with
 * it, and it is freed at once when the produce fails. For a stage that built the payload only to
 * produce it (a copy of a kilobyte per message showed in the memory-writer's profile). */
int bf_runtime_produce_owned(bf_runtime *rt, bf_inmsg *cause, const char *topic_base, const char *key,
                             size_t key_len, char *payload, size_t len, const bf_header *extra,
                             size_t n_extra);

/* Sends msg's original bytes to deadLetters with the reason (a short code such as
 * "invalid_json" and a human message), source topic/partition/offset and original headers.
 * msg is finished only after that delivery; the caller still returns BF_HANDLED (or calls
 * bf_runtime_finish for a pending message). */
int bf_runtime_dead_letter(bf_runtime *rt, bf_inmsg *msg, const char *code, const char *message);

/* Pause/resume all consumption (e.g. while PostgreSQL is down); polling goes on. */
void bf_runtime_hold(bf_runtime *rt, bool hold);
/* Marks a dependency reachable or not for /readyz ("postgres", ...). Up to 8 names. */
void bf_runtime_set_dependency(bf_runtime *rt, const char *name, bool ok);

size_t bf_runtime_in_flight(const bf_runtime *rt);
int bf_runtime_http_port(const bf_runtime *rt);
const bf_common_cfg *bf_runtime_config(const bf_runtime *rt);
bf_log *bf_runtime_log(bf_runtime *rt);
bf_metrics *bf_runtime_metrics(bf_runtime *rt);
/* Reads header name of msg into out (NUL-terminated); returns 0, or -1 when absent. */
int bf_inmsg_header(const bf_inmsg *msg, const char *name, char *out, size_t outlen);

/* Monotonic clock in ms, for timings. */
int64_t bf_now_ms(void);
/* Wall clock in ms since the epoch. */
int64_t bf_wall_ms(void);

#endif
