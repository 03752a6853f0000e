/* Starts tests/fakes/fake_openai as a subprocess for one test file.
 *
 * Why a subprocess and not in-process: the fake is the same binary the local demo and integration
 * tests use, its sleeping threads and ASan reports stay out of the test's process, and a test can
 * kill it to simulate an outage. It listens on an ephemeral port on 127.0.0.1 (read from its first
 * stdout line) and records every chat request body into a fresh temporary directory, which
 * bf_fake_server_recorded_new reads back so tests assert on the prompt a worker sent. */
#ifndef BF_FAKE_SERVER_H
#define BF_FAKE_SERVER_H

#include <stddef.h>
#include <sys/types.h>

typedef struct bf_fake_server {
    pid_t pid;
    int port;
    char url[64];          /* "http://127.0.0.1:<port>" */
    char record_dir[256];  /* temporary; removed by bf_fake_server_stop */
} bf_fake_server;

/* Runs fake_openai (next to the test binary, or $BF_BUILD_DIR/tests/fake_openai, or
 * $BF_FAKE_OPENAI) with --port 0 --record-dir <tmp> and the extra args (NULL-terminated list, may
 * be NULL), e.g. {"--images-dir", dir, NULL}. Returns 0, or -1 with a reason in err. */
int bf_fake_server_start(bf_fake_server *fs, const char *const *args, char *err, size_t errlen);
/* The same without --record-dir, for benchmarks: recording writes a file per request, and a
 * thousand connection threads creating files in one directory took the fake three times the CPU
 * of the brain-worker it served (perf, brain_worker_bench llm-0ms/async). */
int bf_fake_server_start_unrecorded(bf_fake_server *fs, const char *const *args, char *err, size_t errlen);
/* SIGTERM, wait, and remove the record directory. Safe on a zeroed or stopped struct. */
void bf_fake_server_stop(bf_fake_server *fs);

/* How many chat requests were recorded so far. */
int bf_fake_server_recorded_count(const bf_fake_server *fs);
/* The n-th (1-based) recorded request body, NUL-terminated (caller frees); NULL when absent. */
char *bf_fake_server_recorded_new(const bf_fake_server *fs, int n, size_t *len);

#endif
