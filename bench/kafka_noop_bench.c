/* The Kafka path's own cost: one no-op stage on the real runtime (consume, produce one message
 * per input with the input as its cause, store offsets only after the ack) against kcat reading
 * the same topic to /dev/null, the client library's physical limit on this machine. Median of
 * several repetitions, and the ratio.
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
    long want, seen;
    double t_first, t_last;
} noop_ctx;

/* Seconds, from the test support clock. */
static double now_s(void) { return (double)bf_test_now_ms() / 1000.0; }

static bf_handle_result noop_handle(void *c, bf_runtime *rt, bf_inmsg *m) {
    noop_ctx *n = c;
    if (n->seen++ == 0) n->t_first = now_s();
    bf_runtime_produce(rt, m, "out", m->key, m->key_len, m->payload, m->len, NULL, 0);
    return BF_HANDLED;
}

static void noop_tick(void *c, bf_runtime *rt) {
    noop_ctx *n = c;
    /* Done when every input was handled and every output acknowledged (nothing in flight). */
    if (n->seen >= n->want && bf_runtime_in_flight(rt) == 0) {
        if (!n->t_last) n->t_last = now_s();
        bf_runtime_stop(rt);
    }
}

static double run_noop(const char *prefix, long n) {
    bf_common_cfg cfg = {.max_in_flight = 10000, .shutdown_timeout_ms = 5000, .poll_stall_ms = 30000};
    snprintf(cfg.kafka_brokers, sizeof cfg.kafka_brokers, "%s", bf_test_brokers());
    snprintf(cfg.group_id, sizeof cfg.group_id, "%snoop-%ld", prefix, (long)(now_s() * 1000));
    snprintf(cfg.topic_prefix, sizeof cfg.topic_prefix, "%s", prefix);
    bf_log log;
    bf_log_init(&log, stderr, "noop-bench", BF_LOG_WARN);
    bf_metrics *m = bf_metrics_new();
    noop_ctx ctx = {.want = n};
    static const char *const inputs[] = {"in"}, *const outputs[] = {"out"};
    bf_runtime_opts o = {.worker = "noop-bench", .cfg = &cfg, .input_topics = inputs, .n_inputs = 1,
                         .output_topics = outputs, .n_outputs = 1,
                         .ops = {.handle = noop_handle, .tick = noop_tick}, .ctx = &ctx, .log = &log, .metrics = m,
                         .envp = environ, .no_http = true};
    char err[512];
    bf_runtime *rt = bf_runtime_new(&o, err, sizeof err);
    if (!rt) {
        fprintf(stderr, "runtime: %s\n", err);
        exit(1);
    }
    bf_runtime_run(rt);
    bf_runtime_free(rt);
    bf_metrics_free(m);
    /* From the first message polled, so the group join is not counted. */
    return ctx.t_last > ctx.t_first ? (double)n / (ctx.t_last - ctx.t_first) : 0;
}

static double run_kcat(const char *topic, long n) {
    char cmd[512];
    /* kcat has no "first message" hook: its whole run is timed, start-up included, which favours
     * the no-op stage slightly; the figure is a ceiling to compare with, not a race. */
    snprintf(cmd, sizeof cmd, "kcat -b %s -C -t %s -o beginning -e -q -c %ld > /dev/null", bf_test_brokers(), topic, n);
    double t0 = now_s();
    if (system(cmd) != 0) {
        fprintf(stderr, "kcat failed\n");
        exit(1);
    }
    return (double)n / (now_s() - t0);
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
    const char *topics[] = {"in", "out", "deadLetters"};
    bf_test_create_topics(prefix, topics, 3, 6);
    char in[128];
    snprintf(in, sizeof in, "%sin", prefix);
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
    double noop[8], kcat[8];
    for (int r = 0; r < reps; r++) {
        kcat[r] = run_kcat(in, n);
        noop[r] = run_noop(prefix, n);
    }
    qsort(noop, (size_t)reps, sizeof *noop, cmp);
    qsort(kcat, (size_t)reps, sizeof *kcat, cmp);
    double a = noop[reps / 2], b = kcat[reps / 2];
    printf("%-44s %12s\n", "path", "msgs/s");
    printf("%-44s %12.0f\n", "no-op stage (consume, produce, store offset)", a);
    printf("%-44s %12.0f\n", "kcat consume to /dev/null", b);
    printf("ratio no-op / kcat: %.2f\n", a / b);
    printf("{\"bench\":\"kafka_noop\",\"messages\":%ld,\"repetitions\":%d,\"noop_msgs_per_s\":%.0f,"
           "\"kcat_msgs_per_s\":%.0f,\"ratio\":%.3f}\n",
           n, reps, a, b, a / b);
    return 0;
}
