/* PostgreSQL unreachable for about ten seconds while messages keep arriving: the worker holds
 * consumption, /readyz reports not ready, and once the database is back every message is
 * persisted exactly once and /readyz is ready again.
 *
 * "Down" is simulated by a TCP proxy (tests/support/bf_test_proxy) between the worker and the
 * stack's PostgreSQL: going down closes every proxied connection and the listening socket (new
 * connections are refused, exactly what a stopped server looks like); coming back listens on the
 * same port again. The shared stack database keeps running for the other tests. */
#include "test_memory_util.h"

#include <curl/curl.h>
#include <stdbool.h>

#include "bf_test_proxy.h"

static size_t discard(char *ptr, size_t size, size_t n, void *ud) {
    (void)ptr, (void)ud;
    return size * n;
}

static long readyz(int port) {
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/readyz", port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

/* Polls /readyz until it answers want (bounded, so a broken run fails instead of hanging). */
static long wait_readyz(int port, long want) {
    int64_t end = bf_test_now_ms() + 60000;
    long code;
    while ((code = readyz(port)) != want && bf_test_now_ms() < end) bf_test_sleep_ms(100);
    return code;
}

static void test_database_down_under_load(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, 3);
    PGconn *db = mt_db();
    char dsn[480], dsn_env[512], port_env[64];
    bf_test_proxy *px = bf_test_pg_proxy_start(0, NULL, dsn, sizeof dsn);
    snprintf(dsn_env, sizeof dsn_env, "BRAINFLEET_PG_DSN=%s", dsn);
    int http = bf_test_free_port();
    snprintf(port_env, sizeof port_env, "BRAINFLEET_HTTP_PORT=%d", http);
    const char *env[] = {dsn_env, port_env, "BRAINFLEET_DB_RETRY_MAX=1s", NULL};
    pid_t w = mt_spawn(&f, "run", NULL, env, NULL);
    assert_int_equal(wait_readyz(http, 200), 200);

    const char count[] = "SELECT count(*) FROM image_analysis WHERE project_id = $1";
    rd_kafka_t *rk = mt_producer_new();
    int sent = 0;
    for (; sent < 100; sent++) {
        char ev[BF_UUID_LEN + 1];
        char *json = mt_image_facts(f.project, "energetic", "#ff0000", sent, ev);
        mt_produce(rk, f.facts_topic, -1, f.project, json);
        free(json);
    }
    rd_kafka_flush(rk, 10000);
    assert_int_equal(mt_wait_count(db, count, f.project, 100, 60000), 100);

    /* Down for about ten seconds while 100 more messages arrive. */
    bf_test_proxy_set_down(px, true);
    int64_t until = bf_test_now_ms() + 10000;
    bool saw_not_ready = false;
    while (bf_test_now_ms() < until || sent < 200) {
        if (sent < 200) {
            char ev[BF_UUID_LEN + 1];
            char *json = mt_image_facts(f.project, "energetic", "#ff0000", sent++, ev);
            mt_produce(rk, f.facts_topic, -1, f.project, json);
            free(json);
            rd_kafka_poll(rk, 0);
        }
        if (!saw_not_ready && readyz(http) == 503) saw_not_ready = true;
        bf_test_sleep_ms(50);
    }
    rd_kafka_flush(rk, 10000);
    /* Nothing can have been written meanwhile; the worker must have noticed and said so. */
    assert_true(mt_scalar(db, count, f.project, NULL, NULL) <= 200);
    assert_true(saw_not_ready);
    assert_int_equal(readyz(http), 503);

    bf_test_proxy_set_down(px, false);
    for (; sent < 300; sent++) {
        char ev[BF_UUID_LEN + 1];
        char *json = mt_image_facts(f.project, "energetic", "#ff0000", sent, ev);
        mt_produce(rk, f.facts_topic, -1, f.project, json);
        free(json);
    }
    mt_producer_free(rk);
    assert_int_equal(mt_wait_count(db, count, f.project, 300, 90000), 300);
    assert_int_equal(wait_readyz(http, 200), 200);
    assert_int_equal(mt_scalar(db,
                               "SELECT count(*) FROM processed_events WHERE consumer = 'memory-writer' AND event_id"
                               " IN (SELECT source_event_id::uuid FROM image_analysis WHERE project_id = $1)",
                               f.project, NULL, NULL),
                     300);
    size_t n = 0;
    bf_test_msg *dl = bf_test_consume_all(f.dlq_topic, 0, 500, 2000, &n);
    assert_int_equal(n, 0); /* an outage is not a reason to dead-letter anything */
    bf_test_msgs_free(dl, n);
    assert_int_equal(mt_stop(w, SIGTERM), 0);
    bf_test_proxy_stop(px);
    PQfinish(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_database_down_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
