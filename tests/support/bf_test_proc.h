/* Processes the tests and benchmarks start (workers, fakes). */
#ifndef BF_TEST_PROC_H
#define BF_TEST_PROC_H

/* Call first thing in a forked child: it gets SIGKILL when the process that forked it dies. A
 * failed cmocka assertion skips the test's cleanup, and a worker left running would hold ctest's
 * output pipe open until the test's timeout and keep consuming the test's topics. Linux ties this
 * to the forking thread, so fork from the thread that lives as long as the child should. */
void bf_test_child_dies_with_parent(void);

#endif
