/* Processes the tests and benchmarks start (workers, fakes). */
#ifndef BF_TEST_PROC_H
#define BF_TEST_PROC_H

#include <sys/types.h>

/* Call first thing in a forked child: it gets SIGKILL when the process that forked it dies. A
 * failed cmocka assertion skips the test's cleanup, and a worker left running would hold ctest's
 * output pipe open until the test's timeout and keep consuming the test's topics. Linux ties this
 * to the forking thread, so fork from the thread that lives as long as the child should. */
void bf_test_child_dies_with_parent(void);

/* Forks the build's worker binary rel (e.g. "brain-worker/brain-worker", under BF_BUILD_DIR) on
 * the test stack: topics prefixed with prefix, group <prefix><role>, HTTP on a free port, warn
 * logs, leak checks, plus extra KEY=VALUE strings (NULL-terminated, may be NULL; at most 8).
 * Returns its pid, -1 when fork failed. */
pid_t bf_test_worker_start(const char *rel, const char *prefix, const char *role, const char *const *extra);

/* SIGTERM to pid, then waits for it. Returns its exit status, -1 when it did not exit normally. */
int bf_test_worker_stop(pid_t pid);

#endif
