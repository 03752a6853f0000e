/* bf_http_client against fake_openai (a subprocess on 127.0.0.1): statuses, retries with
 * Retry-After, size and time limits, the SSRF guard on direct and redirected connections, and
 * concurrency. No timing thresholds: only outcomes and counts are asserted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bf_fake_server.h"
#include "bf_http_client.h"

typedef struct result {
    int calls;
    bf_http_error error;
    long status;
    char *body;
    size_t body_len;
    char content_type[128];
    char error_msg[512];
    int attempts;
    long retry_after_ms;
} result;

typedef struct fixture {
    bf_fake_server fs;
    char images[256];
} fixture;

static void on_done(const bf_http_response *r, void *ctx) {
    result *out = ctx;
    out->calls++;
    out->error = r->error;
    out->status = r->status;
    out->body = malloc(r->body_len + 1);
    memcpy(out->body, r->body, r->body_len + 1);
    out->body_len = r->body_len;
    snprintf(out->content_type, sizeof out->content_type, "%s", r->content_type ? r->content_type : "");
    snprintf(out->error_msg, sizeof out->error_msg, "%s", r->error_msg);
    out->attempts = r->attempts;
    out->retry_after_ms = r->retry_after_ms;
}

static void result_clear(result *r) {
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Runs the client's loop until every request has completed. */
static void drive(bf_http_client *c) {
    while (bf_http_client_in_flight(c) > 0) assert_true(bf_loop_run_once(bf_http_client_loop(c), 1000) >= 0);
}

/* Each client on a loop of its own, freed with it. */
static bf_http_client *client_with(const bf_http_client_opts *o) {
    char err[256];
    bf_loop *l = bf_loop_new(err, sizeof err);
    if (!l) fail_msg("bf_loop_new: %s", err);
    bf_http_client *c = bf_http_client_new(l, o, err, sizeof err);
    if (!c) fail_msg("bf_http_client_new: %s", err);
    return c;
}

static bf_http_client *client_new(bool guard, const char *allow, long max_redirects) {
    bf_http_client_opts o = {.max_concurrent = 64, .timeout_ms = 10000, .max_response_bytes = 1 << 20,
                             .net_guard = guard, .allow_cidrs = allow, .max_redirects = max_redirects,
                             .jitter_seed = 42};
    return client_with(&o);
}

static void client_free(bf_http_client *c) {
    bf_loop *l = bf_http_client_loop(c);
    bf_http_client_free(c);
    assert_int_equal(bf_loop_ios(l), 0); /* no socket left watched */
    bf_loop_free(l);
}

static void run(bf_http_client *c, const bf_http_request *req, result *out) {
    char err[256];
    assert_int_equal(bf_http_request_start(c, req, on_done, out, err, sizeof err), 0);
    drive(c);
    assert_int_equal(out->calls, 1);
}

static void url_of(const fixture *f, const char *path, char *out, size_t n) {
    snprintf(out, n, "%s%s", f->fs.url, path);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->images, sizeof f->images, "/tmp/bf-http-img-XXXXXX");
    if (!mkdtemp(f->images)) return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/big.bin", f->images);
    FILE *fp = fopen(path, "wb");
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < 32; i++) fwrite(chunk, 1, sizeof chunk, fp); /* 2 MiB */
    fclose(fp);
    snprintf(path, sizeof path, "%s/small.png", f->images);
    fp = fopen(path, "wb");
    fputs("not really a png", fp);
    fclose(fp);
    /* A transport test: its bodies are placeholders, not chat requests. */
    const char *args[] = {"--images-dir", f->images, "--slow-chunk-ms", "300", "--slow-chunk-bytes", "4",
                          "--content", "{\"x\":1}", "--no-request-check", NULL};
    char err[256];
    if (bf_fake_server_start(&f->fs, args, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    bf_fake_server_stop(&f->fs);
    char path[512];
    snprintf(path, sizeof path, "%s/big.bin", f->images);
    unlink(path);
    snprintf(path, sizeof path, "%s/small.png", f->images);
    unlink(path);
    rmdir(f->images);
    free(f);
    return 0;
}

static void test_200_with_body(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"Content-Type: application/json"};
    const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello prompt\"}]}";
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = body, .body_len = strlen(body)};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "chat.completion"));
    assert_non_null(strstr(r.content_type, "application/json"));
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.retry_after_ms, -1);
    /* The fake saw exactly what was sent. */
    int n = bf_fake_server_recorded_count(&f->fs);
    assert_true(n >= 1);
    char *sent = bf_fake_server_recorded_new(&f->fs, n, NULL);
    assert_string_equal(sent, body);
    free(sent);
    result_clear(&r);
    client_free(c);
}

static void test_404_reported(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/images/missing.png", url, sizeof url);
    bf_http_request req = {.url = url, .retry = {.max_attempts = 3, .base_ms = 10}};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_STATUS);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.attempts, 1); /* 4xx other than 429 is not retried */
    assert_string_equal(r.error_msg, "HTTP 404");
    assert_non_null(strstr(r.body, "no such image"));
    result_clear(&r);
    client_free(c);
}

static void test_429_then_success_honours_retry_after(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Mode: 429", "X-Fake-Fail-First: 2", "X-Fake-Key: retry-after-test",
                          "X-Fake-Retry-After: 1"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 4, .body = "{}", .body_len = 2,
                           .retry = {.max_attempts = 5, .base_ms = 1, .max_ms = 5000}};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.retry_after_ms, 1000);
    bf_http_client_stats st = bf_http_client_stats_get(c);
    assert_int_equal(st.retries, 2);
    result_clear(&r);
    client_free(c);
}

static void test_retry_after_http_date(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    /* A date in the past means "now": the retry still happens and the pause is 0. */
    const char *hdrs[] = {"X-Fake-Mode: 429", "X-Fake-Fail-First: 1", "X-Fake-Key: date-test",
                          "X-Fake-Retry-After: Wed, 21 Oct 2015 07:28:00 GMT"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 4, .body = "{}", .body_len = 2,
                           .retry = {.max_attempts = 3, .base_ms = 1, .max_ms = 5000}};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_OK);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.retry_after_ms, 0);
    result_clear(&r);
    client_free(c);
}

static void test_500_retried_then_permanent_failure(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Mode: 500"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = "{}", .body_len = 2,
                           .retry = {.max_attempts = 3, .base_ms = 5, .max_ms = 50}};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_STATUS);
    assert_int_equal(r.status, 500);
    assert_int_equal(r.attempts, 3);
    assert_non_null(strstr(r.body, "fake internal error"));
    result_clear(&r);
    client_free(c);
}

static void test_body_bigger_than_limit_aborted(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/images/big.bin", url, sizeof url);
    bf_http_request req = {.url = url, .max_response_bytes = 100000, .retry = {.max_attempts = 3}};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_TOO_LARGE);
    assert_string_equal(r.error_msg, "response larger than 100000 bytes");
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.body_len, 0);
    result_clear(&r);

    /* Without a Content-Length (a trickled body) the write callback enforces the same limit. */
    const char *hdrs[] = {"X-Fake-Mode: truncated"};
    bf_http_request req2 = {.url = url, .headers = hdrs, .n_headers = 1, .max_response_bytes = 1000};
    run(c, &req2, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_TOO_LARGE);
    result_clear(&r);
    client_free(c);
}

static void test_slow_body_past_timeout(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/images/small.png", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Mode: slow"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .timeout_ms = 400,
                           .retry = {.max_attempts = 2, .base_ms = 1, .max_ms = 10}};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_TIMEOUT);
    assert_int_equal(r.attempts, 2); /* timeouts are retried */
    result_clear(&r);
    client_free(c);
}

static void test_guard_refuses_loopback_unless_listed(void **state) {
    fixture *f = *state;
    char url[256];
    url_of(f, "/images/small.png", url, sizeof url);
    bf_http_request req = {.url = url, .retry = {.max_attempts = 3, .base_ms = 1}};
    result r = {0};

    bf_http_client *c = client_new(true, NULL, 0);
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_BLOCKED);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.error_msg, "127.0.0.1 is loopback"));
    result_clear(&r);
    client_free(c);

    c = client_new(true, "127.0.0.1/32", 0);
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_OK);
    assert_string_equal(r.body, "not really a png");
    assert_string_equal(r.content_type, "image/png");
    result_clear(&r);
    client_free(c);

    /* A hostname is checked on the address it resolves to. */
    char named[256];
    snprintf(named, sizeof named, "http://localhost:%d/images/small.png", f->fs.port);
    bf_http_request req2 = {.url = named};
    c = client_new(true, "10.0.0.0/8", 0);
    run(c, &req2, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_BLOCKED);
    result_clear(&r);
    client_free(c);
}

static void test_guard_refuses_redirect_to_private(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(true, "127.0.0.1/32", 3);
    char url[512];
    result r = {0};

    snprintf(url, sizeof url, "%s/redirect?to=http://169.254.169.254/latest/meta-data/", f->fs.url);
    bf_http_request req = {.url = url, .retry = {.max_attempts = 3, .base_ms = 1}};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_BLOCKED);
    assert_non_null(strstr(r.error_msg, "169.254.169.254 is metadata"));
    assert_int_equal(r.attempts, 1);
    result_clear(&r);

    snprintf(url, sizeof url, "%s/redirect?to=http://127.0.0.2:%d/images/small.png", f->fs.url, f->fs.port);
    bf_http_request req2 = {.url = url};
    run(c, &req2, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_BLOCKED);
    result_clear(&r);

    /* Only http and https, on redirects too. */
    snprintf(url, sizeof url, "%s/redirect?to=file:///etc/passwd", f->fs.url);
    bf_http_request req3 = {.url = url};
    run(c, &req3, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_PROTOCOL);
    result_clear(&r);

    /* The control: a redirect to an allowed address is followed. */
    snprintf(url, sizeof url, "%s/redirect?to=%s/images/small.png", f->fs.url, f->fs.url);
    bf_http_request req4 = {.url = url};
    run(c, &req4, &r);
    assert_int_equal(r.error, BF_HTTP_OK);
    assert_string_equal(r.body, "not really a png");
    result_clear(&r);
    client_free(c);
}

static void test_scheme_refused(void **state) {
    (void)state;
    bf_http_client *c = client_new(false, NULL, 0);
    bf_http_request req = {.url = "file:///etc/passwd"};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_PROTOCOL);
    result_clear(&r);
    client_free(c);
}

static void test_50_concurrent_with_latency(void **state) {
    fixture *f = *state;
    char err[256];
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Latency-Ms: 200"};
    enum { N = 50 };
    result rs[N];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < N; i++) {
        bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = "{}", .body_len = 2};
        assert_int_equal(bf_http_request_start(c, &req, on_done, &rs[i], err, sizeof err), 0);
    }
    assert_int_equal(bf_http_client_in_flight(c), N);
    drive(c);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].calls, 1);
        assert_int_equal(rs[i].error, BF_HTTP_OK);
        result_clear(&rs[i]);
    }
    bf_http_client_stats st = bf_http_client_stats_get(c);
    assert_int_equal(st.completed, N);
    client_free(c);
}

static void test_queue_beyond_concurrency(void **state) {
    fixture *f = *state;
    char err[256];
    bf_http_client_opts o = {.max_concurrent = 2};
    bf_http_client *c = client_with(&o);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Latency-Ms: 50"};
    enum { N = 6 };
    result rs[N];
    memset(rs, 0, sizeof rs);
    for (int i = 0; i < N; i++) {
        bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = "{}", .body_len = 2};
        assert_int_equal(bf_http_request_start(c, &req, on_done, &rs[i], err, sizeof err), 0);
    }
    bf_loop_run_once(bf_http_client_loop(c), 0); /* starts what fits */
    bf_http_client_stats st = bf_http_client_stats_get(c);
    assert_true(st.active <= 2);
    assert_int_equal(st.active + st.queued, N - (size_t)st.completed);
    drive(c);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].error, BF_HTTP_OK);
        result_clear(&rs[i]);
    }
    client_free(c);
}

static void test_malformed_json_reaches_caller_raw(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Mode: malformed"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = "{}", .body_len = 2};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_OK);
    assert_true(r.body_len > 0);
    assert_int_equal(r.body[0], '{');
    assert_null(strstr(r.body, "finish_reason")); /* cut before the end */
    result_clear(&r);
    client_free(c);
}

static void test_truncated_body_is_connection_error(void **state) {
    fixture *f = *state;
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Mode: truncated"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = "{}", .body_len = 2,
                           .retry = {.max_attempts = 2, .base_ms = 1}};
    result r = {0};
    run(c, &req, &r);
    assert_int_equal(r.error, BF_HTTP_ERR_CONNECT);
    assert_int_equal(r.attempts, 2);
    assert_int_equal(r.body_len, 0);
    result_clear(&r);
    client_free(c);
}

typedef struct {
    bf_io io;
    int calls;
} pipe_reader;

static void on_pipe(bf_io *io, unsigned events) {
    (void)events;
    pipe_reader *r = io->data;
    char b[8];
    if (read(io->fd, b, sizeof b) > 0) r->calls++;
}

/* A slow transfer and another descriptor on the same loop: the descriptor is served while the
 * transfer is still waiting for its answer (HTTP never blocks the loop). */
static void test_loop_serves_other_fds_during_transfer(void **state) {
    fixture *f = *state;
    char err[256];
    bf_http_client *c = client_new(false, NULL, 0);
    bf_loop *l = bf_http_client_loop(c);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Latency-Ms: 3000"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = "{}", .body_len = 2};
    result r = {0};
    assert_int_equal(bf_http_request_start(c, &req, on_done, &r, err, sizeof err), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pipe_reader pr = {0};
    bf_io_init(&pr.io, p[0], on_pipe, &pr);
    assert_int_equal(bf_io_start(l, &pr.io, BF_IO_READ), 0);
    for (int i = 0; i < 5; i++) bf_loop_run_once(l, 10); /* the request is on the wire */
    assert_int_equal(write(p[1], "x", 1), 1);
    for (int i = 0; i < 200 && pr.calls == 0; i++) bf_loop_run_once(l, 1000);
    assert_int_equal(pr.calls, 1);
    assert_int_equal(r.calls, 0); /* still waiting for its 3 s answer */
    bf_io_stop(l, &pr.io);
    close(p[0]);
    close(p[1]);
    drive(c);
    assert_int_equal(r.error, BF_HTTP_OK);
    result_clear(&r);
    client_free(c);
}

static void test_free_cancels_pending(void **state) {
    fixture *f = *state;
    char err[256];
    bf_http_client *c = client_new(false, NULL, 0);
    char url[256];
    url_of(f, "/v1/chat/completions", url, sizeof url);
    const char *hdrs[] = {"X-Fake-Mode: timeout"};
    bf_http_request req = {.url = url, .headers = hdrs, .n_headers = 1, .body = "{}", .body_len = 2};
    result r = {0};
    assert_int_equal(bf_http_request_start(c, &req, on_done, &r, err, sizeof err), 0);
    for (int i = 0; i < 5; i++) bf_loop_run_once(bf_http_client_loop(c), 10);
    assert_int_equal(r.calls, 0);
    client_free(c);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.error, BF_HTTP_ERR_CANCELLED);
    result_clear(&r);
}

static void test_bad_allow_list_refused(void **state) {
    (void)state;
    char err[256];
    bf_http_client_opts o = {.net_guard = true, .allow_cidrs = "127.0.0.1/32,nonsense"};
    bf_loop *l = bf_loop_new(err, sizeof err);
    assert_null(bf_http_client_new(l, &o, err, sizeof err));
    bf_loop_free(l);
    assert_non_null(strstr(err, "entry 2"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_200_with_body),
        cmocka_unit_test(test_404_reported),
        cmocka_unit_test(test_429_then_success_honours_retry_after),
        cmocka_unit_test(test_retry_after_http_date),
        cmocka_unit_test(test_500_retried_then_permanent_failure),
        cmocka_unit_test(test_body_bigger_than_limit_aborted),
        cmocka_unit_test(test_slow_body_past_timeout),
        cmocka_unit_test(test_guard_refuses_loopback_unless_listed),
        cmocka_unit_test(test_guard_refuses_redirect_to_private),
        cmocka_unit_test(test_scheme_refused),
        cmocka_unit_test(test_50_concurrent_with_latency),
        cmocka_unit_test(test_queue_beyond_concurrency),
        cmocka_unit_test(test_malformed_json_reaches_caller_raw),
        cmocka_unit_test(test_truncated_body_is_connection_error),
        cmocka_unit_test(test_loop_serves_other_fds_during_transfer),
        cmocka_unit_test(test_free_cancels_pending),
        cmocka_unit_test(test_bad_allow_list_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
