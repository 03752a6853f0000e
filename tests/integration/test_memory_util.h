/* Shared by the memory-writer integration tests (header-only: each test file is its own
 * executable). Runs the real memory-writer binary against the stack's Kafka and PostgreSQL,
 * builds contract-valid messages with the contracts' encoders, and reads the database. */
#ifndef TEST_MEMORY_UTIL_H
#define TEST_MEMORY_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_test_kafka.h"
#include "test_memory_msgs.h"

typedef struct mt_fixture {
    char prefix[32];
    char group[64];
    char project[64];
    char facts_topic[96], updates_topic[96], processed_topic[96], dlq_topic[96], editor_topic[96];
} mt_fixture;

static inline void mt_fixture_init(mt_fixture *f, int partitions) {
    memset(f, 0, sizeof *f);
    bf_test_unique_prefix(f->prefix, sizeof f->prefix);
    snprintf(f->group, sizeof f->group, "%smemory-writer", f->prefix);
    snprintf(f->project, sizeof f->project, "p-%s", f->prefix);
    f->project[strlen(f->project) - 1] = '\0'; /* drop the prefix's trailing '-' */
    static const char *const bases[] = {"imageFactsReady", "memoryUpdates", "imageFactsProcessed", "deadLetters",
                                        "editorEvents"};
    bf_test_create_topics(f->prefix, bases, 5, partitions);
    snprintf(f->facts_topic, sizeof f->facts_topic, "%simageFactsReady", f->prefix);
    snprintf(f->updates_topic, sizeof f->updates_topic, "%smemoryUpdates", f->prefix);
    snprintf(f->processed_topic, sizeof f->processed_topic, "%simageFactsProcessed", f->prefix);
    snprintf(f->dlq_topic, sizeof f->dlq_topic, "%sdeadLetters", f->prefix);
    snprintf(f->editor_topic, sizeof f->editor_topic, "%seditorEvents", f->prefix);
}

/* Starts `memory-writer [command]` with the stack's settings plus extra "NAME=value" entries
 * (NULL-terminated, may be NULL); its stderr goes to log_path (may be NULL: inherited). */
static inline pid_t mt_spawn(const mt_fixture *f, const char *command, const char *dsn, const char *const *extra,
                             const char *log_path) {
    char bin[1024];
    bf_test_binary("memory-writer/memory-writer", bin, sizeof bin);
    pid_t pid = fork();
    if (pid < 0) fail_msg("fork failed");
    if (pid == 0) {
        /* A failed assertion leaves the test without reaching mt_stop: the worker must not
         * outlive it (it would hold ctest's output pipe open until the test's timeout). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("BRAINFLEET_KAFKA_BROKERS", bf_test_brokers(), 1);
        setenv("BRAINFLEET_PG_DSN", dsn ? dsn : bf_test_pg_dsn(), 1);
        setenv("BRAINFLEET_TOPIC_PREFIX", f->prefix, 1);
        setenv("BRAINFLEET_GROUP_ID", f->group, 1);
        setenv("BRAINFLEET_HTTP_PORT", "0", 1);
        setenv("BRAINFLEET_HTTP_BIND", "127.0.0.1", 1);
        setenv("BRAINFLEET_LOG_LEVEL", "info", 1);
        setenv("BRAINFLEET_KAFKA_SESSION_TIMEOUT_MS", "6000", 1);
        setenv("BRAINFLEET_KAFKA_HEARTBEAT_INTERVAL_MS", "500", 1);
        for (size_t i = 0; extra && extra[i]; i++) putenv((char *)extra[i]);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) dup2(fd, 2);
        }
        execl(bin, bin, command ? command : "run", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Sends sig and reaps; returns the exit status (or 128+signal). */
static inline int mt_stop(pid_t pid, int sig) {
    int st = 0;
    kill(pid, sig);
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- a producer for many messages ---- */

static inline rd_kafka_t *mt_producer_new(void) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) fail_msg("producer: %s", errstr);
    return rk;
}

static inline void mt_produce(rd_kafka_t *rk, const char *topic, int32_t partition, const char *key,
                              const char *json) {
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                                    RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA : partition),
                                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)json, strlen(json)),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 50);
    if (err) fail_msg("produce %s: %s", topic, rd_kafka_err2str(err));
}

static inline void mt_producer_free(rd_kafka_t *rk) {
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) fail_msg("produce: not acknowledged in 60 s");
    rd_kafka_destroy(rk);
}

/* ---- database ---- */

static inline PGconn *mt_db(void) {
    PGconn *c = PQconnectdb(bf_test_pg_dsn());
    if (PQstatus(c) != CONNECTION_OK) fail_msg("postgres: %s", PQerrorMessage(c));
    return c;
}

/* The first column of the first row of a query with up to 4 text parameters, as a double;
 * -1 when there is no row or it is NULL. */
static inline double mt_scalar(PGconn *c, const char *sql, const char *p1, const char *p2, const char *p3) {
    const char *p[] = {p1, p2, p3};
    int n = p3 ? 3 : p2 ? 2 : p1 ? 1 : 0;
    PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    double v = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtod(PQgetvalue(r, 0, 0), NULL) : -1;
    PQclear(r);
    return v;
}

static inline void mt_exec(PGconn *c, const char *sql, const char *p1, const char *p2) {
    const char *p[] = {p1, p2};
    PGresult *r = PQexecParams(c, sql, p2 ? 2 : p1 ? 1 : 0, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* Polls sql (a count) until it reaches want or max_ms passes; returns the last value. The bound
 * only stops a broken run from hanging: no assertion depends on how fast it got there. */
static inline double mt_wait_count(PGconn *c, const char *sql, const char *p1, double want, int max_ms) {
    int64_t end = bf_test_now_ms() + max_ms;
    double v;
    while ((v = mt_scalar(c, sql, p1, NULL, NULL)) < want && bf_test_now_ms() < end) bf_test_sleep_ms(100);
    return v;
}

#endif
