/* A bare HTTP GET to a worker's own endpoint (/healthz, /readyz) for tests and benches, without
 * curl: one request, the status line only. */
#ifndef BF_TEST_HTTP_H
#define BF_TEST_HTTP_H

/* GET path on 127.0.0.1:port; the status code, -1 when no HTTP answer came (5 s bound). */
int bf_test_http_status(int port, const char *path);

#endif
