/* PostgreSQL unreachable for about ten seconds while messages keep arriving: the worker holds
 * consumption, /readyz reports not ready, and once the database is back every message is
 * persisted exactly once and /readyz is ready again.
 *
 * "Down" is simulated by a TCP proxy inside this test between the worker and the stack's
 * PostgreSQL: going down closes every proxied connection and the listening socket (new
 * connections are refused, exactly what a stopped server looks like); coming back listens on the
 * same port again. The shared stack database keeps running for the other tests. */
#include "test_memory_util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define MAX_PAIRS 32

typedef struct proxy {
    int port;            /* where the worker connects */
    char up_host[128];
    int up_port;
    atomic_bool down, quit;
    pthread_t thread;
} proxy;

static int listen_on(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 16) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static int connect_upstream(const proxy *p) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->up_port)};
    inet_pton(AF_INET, p->up_host, &a.sin_addr);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static void *proxy_main(void *arg) {
    proxy *p = arg;
    int lsn = listen_on(p->port);
    int pairs[MAX_PAIRS][2];
    size_t n = 0;
    while (!atomic_load(&p->quit)) {
        if (atomic_load(&p->down)) {
            for (size_t i = 0; i < n; i++) close(pairs[i][0]), close(pairs[i][1]);
            n = 0;
            if (lsn >= 0) close(lsn);
            lsn = -1;
            bf_test_sleep_ms(20);
            continue;
        }
        if (lsn < 0 && (lsn = listen_on(p->port)) < 0) {
            bf_test_sleep_ms(20);
            continue;
        }
        struct pollfd fds[1 + 2 * MAX_PAIRS];
        fds[0] = (struct pollfd){.fd = lsn, .events = POLLIN};
        for (size_t i = 0; i < n; i++) {
            fds[1 + 2 * i] = (struct pollfd){.fd = pairs[i][0], .events = POLLIN};
            fds[2 + 2 * i] = (struct pollfd){.fd = pairs[i][1], .events = POLLIN};
        }
        if (poll(fds, 1 + 2 * n, 50) <= 0) continue;
        for (size_t i = n; i-- > 0;) {
            for (int side = 0; side < 2; side++) {
                if (!(fds[1 + 2 * i + side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                char buf[65536];
                ssize_t r = read(pairs[i][side], buf, sizeof buf);
                bool ok = r > 0;
                for (ssize_t off = 0; ok && off < r;) {
                    ssize_t w = write(pairs[i][1 - side], buf + off, (size_t)(r - off));
                    ok = w > 0;
                    off += w > 0 ? w : 0;
                }
                if (!ok) {
                    close(pairs[i][0]);
                    close(pairs[i][1]);
                    pairs[i][0] = pairs[--n][0];
                    pairs[i][1] = pairs[n][1];
                    break;
                }
            }
        }
        if ((fds[0].revents & POLLIN) && n < MAX_PAIRS) {
            int c = accept(lsn, NULL, NULL);
            int u = c >= 0 ? connect_upstream(p) : -1;
            if (u < 0) {
                if (c >= 0) close(c);
            } else {
                pairs[n][0] = c;
                pairs[n][1] = u;
                n++;
            }
        }
    }
    for (size_t i = 0; i < n; i++) close(pairs[i][0]), close(pairs[i][1]);
    if (lsn >= 0) close(lsn);
    return NULL;
}

static int free_port(void) {
    int s = listen_on(0);
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s);
    return ntohs(a.sin_port);
}

/* Starts the proxy towards the stack's PostgreSQL; dsn receives the DSN that goes through it. */
static void proxy_start(proxy *p, char *dsn, size_t dsnlen) {
    memset(p, 0, sizeof *p);
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(bf_test_pg_dsn(), &err);
    if (!opts) fail_msg("BRAINFLEET_PG_DSN: %s", err ? err : "unparseable");
    const char *host = "127.0.0.1", *port = "5432", *dbname = "postgres", *user = "postgres", *password = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val) continue;
        if (!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr")) host = o->val;
        else if (!strcmp(o->keyword, "port")) port = o->val;
        else if (!strcmp(o->keyword, "dbname")) dbname = o->val;
        else if (!strcmp(o->keyword, "user")) user = o->val;
        else if (!strcmp(o->keyword, "password")) password = o->val;
    }
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    snprintf(p->up_host, sizeof p->up_host, "%s", host);
    p->up_port = (int)strtol(port, NULL, 10);
    p->port = free_port();
    snprintf(dsn, dsnlen, "BRAINFLEET_PG_DSN=host=127.0.0.1 port=%d dbname=%s user=%s%s%s connect_timeout=2",
             p->port, dbname, user, password ? " password=" : "", password ? password : "");
    PQconninfoFree(opts);
    pthread_create(&p->thread, NULL, proxy_main, p);
}

static void proxy_stop(proxy *p) {
    atomic_store(&p->quit, true);
    pthread_join(p->thread, NULL);
}

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
    proxy px;
    char dsn_env[512], port_env[64];
    proxy_start(&px, dsn_env, sizeof dsn_env);
    int http = free_port();
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
    atomic_store(&px.down, true);
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

    atomic_store(&px.down, false);
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
    proxy_stop(&px);
    PQfinish(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_database_down_under_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
