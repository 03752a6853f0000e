/* A worker SIGKILLed in the middle of a handler loses nothing: after a restart the same group
 * receives the unfinished message again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_runtime.h"
#include "bf_test_kafka.h"

typedef struct {
    bf_runtime *rt;
    int notify_fd;
    int seen_offsets[16];
    int n;
    int64_t start;
} kill_ctx;

/* Child: signals the parent from inside the handler of offset 1, then hangs there. */
static bf_handle_result child_handle(void *c, bf_inmsg *m) {
    kill_ctx *k = c;
    if (m->offset == 1) {
        if (write(k->notify_fd, "x", 1) != 1) _exit(3);
        for (;;) pause();
    }
    return BF_HANDLED;
}

static bf_handle_result parent_handle(void *c, bf_inmsg *m) {
    kill_ctx *k = c;
    k->seen_offsets[k->n++] = (int)m->offset;
    return BF_HANDLED;
}

static void parent_tick(void *c) {
    kill_ctx *k = c;
    if (!k->start) k->start = bf_test_now_ms();
    if (k->n >= 2 || bf_test_now_ms() - k->start > 60000) bf_runtime_stop(k->rt);
}

static bf_runtime *make(bf_common_cfg *cfg, bf_log *log, bf_metrics *m) {
    static const char *const inputs[] = {"in"};
    /* The killed member stays in the group until its session times out; keep that short (the
     * broker's minimum) so the restarted consumer is assigned the partition quickly. */
    static char *const envp[] = {"BRAINFLEET_KAFKA_SESSION_TIMEOUT_MS=6000",
                                 "BRAINFLEET_KAFKA_HEARTBEAT_INTERVAL_MS=1000", NULL};
    bf_runtime_opts o = {.worker = "kill-test", .cfg = cfg, .input_topics = inputs, .n_inputs = 1, .log = log,
                         .metrics = m, .envp = envp, .no_http = true};
    char err[512];
    bf_runtime *rt = bf_runtime_new(&o, err, sizeof err);
    if (!rt) fail_msg("%s", err);
    return rt;
}

static void test_sigkill_mid_handler_redelivers(void **state) {
    (void)state;
    char prefix[32], t[128];
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *topics[] = {"in", "deadLetters"};
    bf_test_create_topics(prefix, topics, 2, 1);
    snprintf(t, sizeof t, "%sin", prefix);
    bf_test_produce(t, 0, "p", "first", 5, NULL);
    bf_test_produce(t, 0, "p", "second", 6, NULL);
    bf_test_produce(t, 0, "p", "third", 5, NULL);

    bf_common_cfg cfg = {.max_in_flight = 16, .max_parked = 100, .shutdown_timeout_ms = 3000, .poll_stall_ms = 30000};
    snprintf(cfg.kafka_brokers, sizeof cfg.kafka_brokers, "%s", bf_test_brokers());
    snprintf(cfg.group_id, sizeof cfg.group_id, "%sgroup", prefix);
    snprintf(cfg.topic_prefix, sizeof cfg.topic_prefix, "%s", prefix);
    bf_log log;
    bf_log_init(&log, stderr, "kill-test", BF_LOG_WARN);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        bf_metrics *m = bf_metrics_new();
        kill_ctx k = {.notify_fd = fds[1]};
        bf_runtime *rt = k.rt = make(&cfg, &log, m);
        bf_stage_ops ops = {.handle = child_handle};
        bf_runtime_run(rt, &ops, &k);
        _exit(2); /* never reached: the handler hangs until killed */
    }
    close(fds[1]);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1); /* the child is inside the handler of offset 1 */
    /* Let auto-commit run at least once, so offset 1 (finished: offset 0) could be committed. */
    bf_test_sleep_ms(2000);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(fds[0]);
    int64_t committed = bf_test_committed_offset(cfg.group_id, t, 0);
    assert_true(committed == 1 || committed == -1001); /* never past the unfinished message */

    bf_metrics *m = bf_metrics_new();
    kill_ctx k = {0};
    bf_runtime *rt = k.rt = make(&cfg, &log, m);
    bf_stage_ops ops = {.handle = parent_handle, .turn = parent_tick};
    assert_int_equal(bf_runtime_run(rt, &ops, &k), 0);
    bf_runtime_free(rt);
    bf_metrics_free(m);
    /* The message being handled at the kill comes back, followed by the one never reached. */
    assert_true(k.n >= 2);
    int saw1 = 0, saw2 = 0;
    for (int i = 0; i < k.n; i++) {
        saw1 |= k.seen_offsets[i] == 1;
        saw2 |= k.seen_offsets[i] == 2;
    }
    assert_true(saw1 && saw2);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sigkill_mid_handler_redelivers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
