/* The Kafka path's own cost: one no-op stage on the real runtime (consume, produce one message
 * per input with the input as its cause, store offsets only after the ack) against kcat reading
 * the same topic to /dev/null, the client library's physical limit on this machine. The stage
 * runs twice: with a high in-flight limit (10000) and with the workers' default
 * (BRAINFLEET_MAX_IN_FLIGHT=256), where each output's acknowledgement time bounds the rate. A
 * second baseline, kcat consuming piped into kcat producing, does the same work as the stage
 * minus the acknowledgement-before-offset rule. Medians of several repetitions, and ratios.
 *
 * Not a test: prints a table and one JSON line, asserts nothing.
 *   eval "$(scripts/stack env)"; build/release/bench/kafka_noop_bench [--quick] [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bf_runtime.h"
#include "bf_test_kafka.h"

extern char **environ;

typedef struct {
    bf_runtime *rt;
    long want, seen;
    double t_first, t_last;
} noop_ctx;

/* Seconds, from the test support clock. */
static double now_s(void) { return (double)bf_test_now_ms() / 1000.0; }

/* One output per input, the input's bytes, keyed like it: what a stage's publish costs. */
static bf_handle_result noop_handle(void *c, bf_inmsg *m) {
    noop_ctx *n = c;
    if (n->seen++ == 0) n->t_first = now_s();
    bf_envelope env = {.schema = "out", .schema_version = 1};
    size_t kl = m->key_len < sizeof env.project_id - 1 ? m->key_len : sizeof env.project_id - 1;
    memcpy(env.project_id, m->key, kl);
    memcpy(env.trace_id, m->trace_id, sizeof env.trace_id);
    char *copy = malloc(m->len ? m->len : 1);
    if (!copy) abort();
    memcpy(copy, m->payload, m->len);
    bf_runtime_publish(n->rt, m, &env, copy, m->len);
    return BF_HANDLED;
}

static void noop_turn(void *c) {
    noop_ctx *n = c;
    /* Done when every input was handled and every output acknowledged (nothing unfinished). */
    if (n->seen >= n->want && bf_runtime_unfinished(n->rt) == 0) {
        if (!n->t_last) n->t_last = now_s();
        bf_runtime_stop(n->rt);
    }
}

static double run_noop(const char *prefix, long n, long max_in_flight) {
    bf_common_cfg cfg = {.max_in_flight = max_in_flight, .max_parked = 10000, .shutdown_timeout_ms = 5000,
                         .poll_stall_ms = 30000};
    snprintf(cfg.kafka_brokers, sizeof cfg.kafka_brokers, "%s", bf_test_brokers());
    snprintf(cfg.group_id, sizeof cfg.group_id, "%snoop-%ld", prefix, (long)(now_s() * 1000));
    snprintf(cfg.topic_prefix, sizeof cfg.topic_prefix, "%s", prefix);
    bf_log log;
    bf_log_init(&log, stderr, "noop-bench", BF_LOG_WARN);
    bf_metrics *m = bf_metrics_new();
    noop_ctx ctx = {.want = n};
    static const char *const inputs[] = {"in"}, *const outputs[] = {"out"};
    bf_runtime_opts o = {.worker = "noop-bench", .cfg = &cfg, .input_topics = inputs, .n_inputs = 1,
                         .output_topics = outputs, .n_outputs = 1, .log = &log, .metrics = m, .envp = environ,
                         .no_http = true};
    char err[512];
    bf_runtime *rt = bf_runtime_new(&o, err, sizeof err);
    if (!rt) {
        fprintf(stderr, "runtime: %s\n", err);
        exit(1);
    }
    ctx.rt = rt;
    bf_stage_ops ops = {.handle = noop_handle, .turn = noop_turn};
    bf_runtime_run(rt, &ops, &ctx);
    bf_runtime_free(rt);
    bf_metrics_free(m);
    /* From the first message polled, so the group join is not counted. */
    return ctx.t_last > ctx.t_first ? (double)n / (ctx.t_last - ctx.t_first) : 0;
}

/* kcat has no "first message" hook: its whole run is timed, start-up included, which favours
 * the no-op stage slightly; the figure is a ceiling to compare with, not a race. */
static double run_timed(const char *cmd, long n) {
    double t0 = now_s();
    if (system(cmd) != 0) {
        fprintf(stderr, "failed: %s\n", cmd);
        exit(1);
    }
    return (double)n / (now_s() - t0);
}

static double run_kcat(const char *topic, long n) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "kcat -b %s -C -t %s -o beginning -e -q -c %ld > /dev/null", bf_test_brokers(), topic, n);
    return run_timed(cmd, n);
}

/* Consume and re-produce (key and value; librdkafka's producer defaults: acks=all, linger 5 ms),
 * ending when every message is acknowledged. No offsets are committed. */
static double run_kcat_pipe(const char *in, const char *out, long n) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "kcat -b %s -C -t %s -o beginning -e -q -c %ld -f '%%k\\t%%s\\n'"
             " | kcat -b %s -P -t %s -K '\\t' -z lz4",
             bf_test_brokers(), in, n, bf_test_brokers(), out);
    return run_timed(cmd, n);
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    long n = 200000;
    int reps = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) n = 50000, reps = 3;
        else n = strtol(argv[i], NULL, 10);
    }
    char prefix[32];
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *topics[] = {"in", "out", "deadLetters", "pipe"};
    bf_test_create_topics(prefix, topics, 4, 6);
    char in[128], pipe_out[128];
    snprintf(in, sizeof in, "%sin", prefix);
    snprintf(pipe_out, sizeof pipe_out, "%spipe", prefix);
    /* N small messages over 1000 keys, produced once and read by every repetition. */
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "seq %ld | awk '{printf \"p%%d\\t{\\\"n\\\":%%d,\\\"pad\\\":\\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\\"}\\n\", $1%%1000, $1}'"
             " | kcat -b %s -P -t %s -K '\\t' -z lz4",
             n, bf_test_brokers(), in);
    if (system(cmd) != 0) {
        fprintf(stderr, "producing the input failed\n");
        return 1;
    }
    enum { HIGH_IN_FLIGHT = 10000, DEFAULT_IN_FLIGHT = 256 };
    double noop[8], noop_default[8], kcat[8], pipe[8];
    if (reps > 8) reps = 8;
    for (int r = 0; r < reps; r++) {
        kcat[r] = run_kcat(in, n);
        noop[r] = run_noop(prefix, n, HIGH_IN_FLIGHT);
        pipe[r] = run_kcat_pipe(in, pipe_out, n);
        noop_default[r] = run_noop(prefix, n, DEFAULT_IN_FLIGHT);
    }
    double *sets[] = {noop, noop_default, kcat, pipe};
    for (size_t i = 0; i < 4; i++) qsort(sets[i], (size_t)reps, sizeof *sets[i], cmp);
    double a = noop[reps / 2], d = noop_default[reps / 2], b = kcat[reps / 2], p = pipe[reps / 2];
    printf("%-56s %12s\n", "path", "msgs/s");
    printf("%-56s %12.0f\n", "no-op stage, MAX_IN_FLIGHT=10000", a);
    printf("%-56s %12.0f\n", "no-op stage, MAX_IN_FLIGHT=256 (the workers' default)", d);
    printf("%-56s %12.0f\n", "kcat consume to /dev/null", b);
    printf("%-56s %12.0f\n", "kcat consume | kcat produce", p);
    printf("ratio no-op / kcat: %.2f (256 in flight: %.3f); no-op / kcat pipe: %.2f\n", a / b, d / b, a / p);
    /* The runtime's targets (issue 16): >= 0.5 each. */
    printf("target: no-op at 256 in flight / kcat pipe = %.2f (>= 0.5); no-op at 10000 / kcat consume = %.2f (>= 0.5)\n",
           d / p, a / b);
    printf("{\"bench\":\"kafka_noop\",\"messages\":%ld,\"repetitions\":%d,\"noop_msgs_per_s\":%.0f,"
           "\"noop_default_in_flight_msgs_per_s\":%.0f,\"kcat_msgs_per_s\":%.0f,\"kcat_pipe_msgs_per_s\":%.0f,"
           "\"ratio\":%.3f,\"ratio_default_in_flight\":%.4f,\"ratio_pipe\":%.3f,"
           "\"ratio_default_in_flight_to_pipe\":%.3f}\n",
           n, reps, a, d, b, p, a / b, d / b, a / p, d / p);
    return 0;
}
