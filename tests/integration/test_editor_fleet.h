/* Shared by the editor-loop integration tests (header-only: each test file is its own executable):
 * the whole fleet as processes on the stack's Kafka and PostgreSQL (migrated) — memory-writer,
 * image-worker, brain-worker (rules, or an LLM fake) and the reference editor (`fleetctl editor`) —
 * with a fake image server, each test on its own topics, groups and project ids (all starting with
 * its prefix). Requests are built with the contracts' encoder; what came out is read with the
 * contracts' decoders and libpq. Logs go to one temporary directory, named on failure. */
#ifndef TEST_EDITOR_FLEET_H
#define TEST_EDITOR_FLEET_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_db.h"
#include "bf_fake_server.h"
#include "bf_log.h"
#include "bf_migrate.h"
#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_editor_event.h"
#include "bf_msg_memory_update.h"
#include "bf_sha256.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"
#include "bf_trace.h"
#include "bf_uuid.h"

#define EF_LLM_MODEL "fake-brain"

static const char *const ef_topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                        "imageFactsProcessed", "memoryUpdates",  "brainDecisions",
                                        "editorEvents",  "deadLetters"};

typedef struct ef_child {
    pid_t pid;
    char name[32];
} ef_child;

typedef struct ef_fleet {
    char prefix[32];
    char dsn[1024];
    char dir[256];          /* images and logs */
    char image_base[96];    /* http://127.0.0.1:<port>/images */
    bf_fake_server images;
    bf_fake_server llm;
    bool llm_on;
    const char *const *brain_env; /* extra KEY=VALUE for brain-worker, NULL-terminated (may be NULL) */
    ef_child memory, image, brain, editor;
    bf_log log;
    bool keep_dir; /* a check failed: ef_fleet_stop leaves the logs for the reader */
} ef_fleet;

/* Every process started, so a failed assertion (a longjmp past the cleanup) leaves none running
 * (they would hold ctest's output pipe open); cmocka group teardown: ef_kill_leftovers. */
static pid_t ef_children[32];

static inline void ef_track(pid_t pid) {
    for (size_t i = 0; i < sizeof ef_children / sizeof ef_children[0]; i++)
        if (ef_children[i] == 0) {
            ef_children[i] = pid;
            return;
        }
}

static inline void ef_untrack(pid_t pid) {
    for (size_t i = 0; i < sizeof ef_children / sizeof ef_children[0]; i++)
        if (ef_children[i] == pid) ef_children[i] = 0;
}

static inline int ef_kill_leftovers(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof ef_children / sizeof ef_children[0]; i++) {
        if (ef_children[i] > 0) {
            kill(ef_children[i], SIGKILL);
            waitpid(ef_children[i], NULL, 0);
        }
        ef_children[i] = 0;
    }
    return 0;
}

/* A 24-bit BMP of w x h: a vertical gradient from (r0,g0,b0) to (r1,g1,b1). */
static inline void ef_write_bmp(const char *path, int w, int h, const unsigned char c0[3], const unsigned char c1[3]) {
    int row = (w * 3 + 3) & ~3;
    unsigned size = (unsigned)(54 + row * h);
    unsigned char hdr[54] = {'B', 'M'};
    hdr[2] = (unsigned char)size, hdr[3] = (unsigned char)(size >> 8), hdr[4] = (unsigned char)(size >> 16);
    hdr[10] = 54, hdr[14] = 40;
    hdr[18] = (unsigned char)w, hdr[19] = (unsigned char)(w >> 8);
    hdr[22] = (unsigned char)h, hdr[23] = (unsigned char)(h >> 8);
    hdr[26] = 1, hdr[28] = 24;
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(hdr, 1, sizeof hdr, fp);
    unsigned char *line = calloc((size_t)row, 1);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++) /* BMP is BGR */
                line[x * 3 + 2 - k] = (unsigned char)(c0[k] + (c1[k] - c0[k]) * y / (h > 1 ? h - 1 : 1));
        fwrite(line, 1, (size_t)row, fp);
    }
    free(line);
    fclose(fp);
}

static inline void ef_log_path(const ef_fleet *f, const char *name, char *out, size_t outlen) {
    snprintf(out, outlen, "%s/%s.log", f->dir, name);
}

/* A failed check of the fleet: the last lines of every log on stderr (ctest keeps them), the
 * directory kept, then cmocka's failure. */
static inline void ef_dump_logs(ef_fleet *f) {
    f->keep_dir = true;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "tail -n 40 '%s'/*.log >&2", f->dir);
    if (system(cmd) != 0) fprintf(stderr, "no logs in %s\n", f->dir);
}
#define ef_fail(f, ...)                                                                                         \
    do {                                                                                                        \
        ef_dump_logs(f);                                                                                        \
        fail_msg(__VA_ARGS__);                                                                                  \
    } while (0)

/* Forks bin with argv (NULL-terminated, argv[0] included) and the fleet's settings plus extra
 * KEY=VALUE strings; stdout and stderr to <dir>/<name>.log (appended: a restart keeps the first
 * run's lines). */
static inline void ef_spawn(ef_fleet *f, ef_child *c, const char *name, const char *bin, const char *const *argv,
                            const char *const *extra) {
    snprintf(c->name, sizeof c->name, "%s", name);
    char log[300], group[96], image_allow[] = "BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32";
    ef_log_path(f, name, log, sizeof log);
    snprintf(group, sizeof group, "%s%s", f->prefix, name);
    const char *brokers = bf_test_brokers();
    fflush(NULL);
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        bf_test_child_dies_with_parent();
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        setenv("BRAINFLEET_KAFKA_BROKERS", brokers, 1);
        setenv("BRAINFLEET_PG_DSN", f->dsn, 1);
        setenv("BRAINFLEET_TOPIC_PREFIX", f->prefix, 1);
        setenv("BRAINFLEET_GROUP_ID", group, 1);
        setenv("BRAINFLEET_HTTP_PORT", "0", 1);
        setenv("BRAINFLEET_HTTP_BIND", "127.0.0.1", 1);
        /* info: "assigned N partitions" is how ef_fleet_start knows a worker is consuming. */
        setenv("BRAINFLEET_LOG_LEVEL", "info", 1);
        setenv("BRAINFLEET_BATCH_LINGER", "5ms", 1);
        /* A SIGKILLed member's partitions move on after 6 s (the broker's minimum), not 45 s. */
        setenv("BRAINFLEET_KAFKA_SESSION_TIMEOUT_MS", "6000", 1);
        setenv("BRAINFLEET_KAFKA_HEARTBEAT_INTERVAL_MS", "1000", 1);
        unsetenv("BRAINFLEET_LLM_URL");
        putenv(image_allow);
        for (size_t i = 0; extra && extra[i]; i++) putenv((char *)extra[i]);
        execv(bin, (char *const *)argv);
        perror(bin);
        _exit(127);
    }
    ef_track(c->pid);
}

static inline void ef_start_worker(ef_fleet *f, ef_child *c, const char *name) {
    char bin[1024], rel[96];
    snprintf(rel, sizeof rel, "%s/%s", name, name);
    bf_test_binary(rel, bin, sizeof bin);
    const char *argv[] = {bin, NULL};
    char llm[200], model[] = "BRAINFLEET_LLM_MODEL=" EF_LLM_MODEL, ttl[] = "BRAINFLEET_LATE_FACTS_TTL=5m",
                   timeout[] = "BRAINFLEET_LLM_TIMEOUT=10s";
    const char *extra[24] = {0};
    size_t n = 0;
    if (strcmp(name, "brain-worker") == 0) {
        extra[n++] = ttl;
        if (f->llm_on) {
            snprintf(llm, sizeof llm, "BRAINFLEET_LLM_URL=%s/v1", f->llm.url);
            extra[n++] = llm;
            extra[n++] = model;
            extra[n++] = timeout;
        }
        for (size_t i = 0; f->brain_env && f->brain_env[i] && n + 1 < 24; i++) extra[n++] = f->brain_env[i];
    }
    ef_spawn(f, c, name, bin, argv, extra);
}

static inline void ef_start_editor(ef_fleet *f) {
    char bin[1024], group[96];
    bf_test_binary("fleetctl/fleetctl", bin, sizeof bin);
    snprintf(group, sizeof group, "%seditor", f->prefix);
    const char *argv[] = {bin, "editor", "--group", group, NULL};
    ef_spawn(f, &f->editor, "editor", bin, argv, NULL);
}

/* Waits (60 s) until the log of name has text in it. */
static inline void ef_wait_log(const ef_fleet *f, const char *name, const char *text) {
    char path[300];
    ef_log_path(f, name, path, sizeof path);
    for (int64_t until = bf_test_now_ms() + 60000; bf_test_now_ms() < until; bf_test_sleep_ms(100)) {
        FILE *fp = fopen(path, "rb");
        if (!fp) continue;
        char *buf = calloc(1, 1 << 20);
        size_t n = fread(buf, 1, (1 << 20) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        bool found = strstr(buf, text) != NULL;
        free(buf);
        if (found) return;
    }
    fail_msg("%s did not log \"%s\" in 60 s (log %s)", name, text, path);
}

/* Stops c with sig and reaps it; with SIGTERM it must exit 0 (no sanitizer report either). */
static inline void ef_stop(ef_fleet *f, ef_child *c, int sig) {
    if (c->pid <= 0) return;
    kill(c->pid, sig);
    int status = 0;
    waitpid(c->pid, &status, 0);
    ef_untrack(c->pid);
    c->pid = 0;
    if (sig == SIGTERM && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fail_msg("%s did not stop cleanly (status %d); log %s/%s.log", c->name, status, f->dir, c->name);
}

/* The fleet on its own topics; llm_args: the LLM fake's arguments (NULL-terminated),
 * NULL for the rule-based decider. The workers and the editor are started; images go in f->dir. */
static inline void ef_fleet_start(ef_fleet *f, const char *const *llm_args, const char *const *brain_env) {
    memset(f, 0, sizeof *f);
    bf_log_init(&f->log, stderr, "test", BF_LOG_WARN);
    f->brain_env = brain_env;
    bf_test_unique_prefix(f->prefix, sizeof f->prefix);
    bf_test_create_topics(f->prefix, ef_topics, sizeof ef_topics / sizeof ef_topics[0], 2);
    char err[512];
    /* The stack's database: every project id of a test starts with its prefix. */
    snprintf(f->dsn, sizeof f->dsn, "%s", bf_test_pg_dsn());
    bf_db *db = bf_db_new(f->dsn, &f->log);
    if (bf_migrate_apply(db, bf_migrations, bf_migrations_n, NULL, err, sizeof err) != 0) fail_msg("migrate: %s", err);
    bf_db_free(db);
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/bf-editor-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    const char *img_args[] = {"--images-dir", f->dir, NULL};
    if (bf_fake_server_start(&f->images, img_args, err, sizeof err) != 0) fail_msg("image server: %s", err);
    ef_track(f->images.pid);
    snprintf(f->image_base, sizeof f->image_base, "%s/images", f->images.url);
    if (llm_args) {
        if (bf_fake_server_start(&f->llm, llm_args, err, sizeof err) != 0) fail_msg("llm fake: %s", err);
        ef_track(f->llm.pid);
        f->llm_on = true;
    }
    fprintf(stderr, "fleet %s: logs in %s\n", f->prefix, f->dir);
    ef_start_worker(f, &f->memory, "memory-writer");
    ef_start_worker(f, &f->image, "image-worker");
    ef_start_worker(f, &f->brain, "brain-worker");
    ef_start_editor(f);
    /* Consuming, signal handlers in place: a test may stop them at once. */
    ef_wait_log(f, "memory-writer", "\"assigned ");
    ef_wait_log(f, "image-worker", "\"assigned ");
    ef_wait_log(f, "brain-worker", "\"assigned ");
    ef_wait_log(f, "editor", "folded into");
}

/* Stops everything (each must exit 0 on SIGTERM) and removes the directory. */
static inline void ef_fleet_stop(ef_fleet *f) {
    ef_stop(f, &f->editor, SIGTERM);
    ef_stop(f, &f->brain, SIGTERM);
    ef_stop(f, &f->image, SIGTERM);
    ef_stop(f, &f->memory, SIGTERM);
    ef_untrack(f->images.pid);
    bf_fake_server_stop(&f->images);
    if (f->llm_on) {
        ef_untrack(f->llm.pid);
        bf_fake_server_stop(&f->llm);
    }
    if (f->keep_dir) {
        fprintf(stderr, "fleet %s: logs kept in %s\n", f->prefix, f->dir);
        return;
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", f->dir);
}

static inline void ef_topic(const ef_fleet *f, const char *base, char *out, size_t outlen) {
    snprintf(out, outlen, "%s%s", f->prefix, base);
}

/* Publishes a brain request as the editor would, under request id rid. */
static inline void ef_send_id(ef_fleet *f, const char *project, const char *prompt, const char *image_url,
                              const char *scene, const char *rid) {
    bf_msg_brain_request r;
    memset(&r, 0, sizeof r);
    char err[512], tp[BF_TRACEPARENT_LEN + 1], topic[128];
    bf_trace_new(tp);
    assert_int_equal(bf_envelope_init(&r.env, BF_SCHEMA_BRAIN_REQUESTS, project, tp, "test-editor", bf_test_now_ms(),
                                      err, sizeof err), 0);
    snprintf(r.request_id, sizeof r.request_id, "%s", rid);
    r.prompt = (char *)prompt;
    char *urls[1] = {(char *)image_url};
    r.image_urls.v = urls;
    r.image_urls.n = image_url ? 1 : 0;
    r.selected_scene_id = (char *)scene;
    r.await_image_facts_ms = -1;
    char *json = bf_msg_brain_request_encode(&r, err, sizeof err);
    if (!json) fail_msg("encode: %s", err);
    ef_topic(f, "brainRequests", topic, sizeof topic);
    const char *h[] = {"traceparent", tp, "bf-schema", "brainRequests", "bf-schema-version", "1", NULL};
    bf_test_produce(topic, -1, project, json, strlen(json), h);
    free(json);
}

/* The same under a new request id, into rid. */
static inline void ef_send(ef_fleet *f, const char *project, const char *prompt, const char *image_url,
                           const char *scene, char rid[BF_UUID_LEN + 1]) {
    bf_uuid_v7(rid);
    ef_send_id(f, project, prompt, image_url, scene, rid);
}

/* The n-th (0-based) brainDecisions message of kind for rid, waiting up to wait_ms. Returns 0
 * with *out filled (bf_msg_brain_decision_free it), -1 when none came. */
static inline int ef_find_decision(ef_fleet *f, const char *rid, bf_decision_kind kind, int wait_ms,
                                   bf_msg_brain_decision *out) {
    char topic[128];
    ef_topic(f, "brainDecisions", topic, sizeof topic);
    int64_t deadline = bf_test_now_ms() + wait_ms;
    do {
        size_t n;
        bf_test_msg *m = bf_test_consume_all(topic, 0, 300, 5000, &n);
        int found = -1;
        for (size_t i = 0; i < n && found < 0; i++) {
            char err[512];
            if (bf_msg_brain_decision_decode(m[i].payload, m[i].len, out, err, sizeof err) != 0)
                fail_msg("%s[%zu] does not decode: %s", topic, i, err);
            if (out->kind == kind && strcmp(out->request_id, rid) == 0) found = (int)i;
            else bf_msg_brain_decision_free(out);
        }
        bf_test_msgs_free(m, n);
        if (found >= 0) return 0;
        bf_test_sleep_ms(300);
    } while (bf_test_now_ms() < deadline);
    return -1;
}

static inline void ef_decision(ef_fleet *f, const char *rid, bf_msg_brain_decision *out) {
    if (ef_find_decision(f, rid, BF_DECISION_KIND_DECISION, 60000, out) != 0)
        ef_fail(f, "no decision for request %s in 60 s (logs in %s)", rid, f->dir);
}

/* The editor's report of rid (decision_applied or decision_failed), waiting up to 60 s. */
static inline bf_editor_event_kind ef_report(ef_fleet *f, const char *rid) {
    char topic[128];
    ef_topic(f, "editorEvents", topic, sizeof topic);
    int64_t deadline = bf_test_now_ms() + 60000;
    do {
        size_t n;
        bf_test_msg *m = bf_test_consume_all(topic, 0, 300, 5000, &n);
        int kind = -1;
        for (size_t i = 0; i < n; i++) {
            bf_msg_editor_event ev;
            char err[512];
            if (bf_msg_editor_event_decode(m[i].payload, m[i].len, &ev, err, sizeof err) != 0)
                fail_msg("%s[%zu] refused by the contract: %s", topic, i, err);
            if ((ev.event == BF_EDITOR_DECISION_APPLIED || ev.event == BF_EDITOR_DECISION_FAILED) &&
                strcmp(ev.request_id, rid) == 0)
                kind = (int)ev.event;
            bf_msg_editor_event_free(&ev);
        }
        bf_test_msgs_free(m, n);
        if (kind >= 0) return (bf_editor_event_kind)kind;
        bf_test_sleep_ms(300);
    } while (bf_test_now_ms() < deadline);
    ef_fail(f, "the editor did not report request %s in 60 s (logs in %s)", rid, f->dir);
    return BF_EDITOR_DECISION_FAILED;
}

/* Whether brain-worker wrote a conversation_context item for rid (issue 17 §3: the brain's
 * conversation state, which follow-up resolution reads). */
static inline bool ef_brain_writes_conversation(ef_fleet *f, const char *rid) {
    char topic[128];
    ef_topic(f, "memoryUpdates", topic, sizeof topic);
    size_t n;
    bf_test_msg *m = bf_test_consume_all(topic, 0, 1000, 10000, &n);
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        bf_msg_memory_update u;
        char err[512];
        if (bf_msg_memory_update_decode(m[i].payload, m[i].len, &u, err, sizeof err) != 0) continue;
        for (size_t k = 0; strcmp(u.request_id, rid) == 0 && k < u.n_items; k++)
            found |= u.items[k].memory_type == BF_MEMORY_CONVERSATION_CONTEXT;
        bf_msg_memory_update_free(&u);
    }
    bf_test_msgs_free(m, n);
    return found;
}

/* Runs fleetctl with args (NULL-terminated, without argv[0]) on the fleet's topics; returns its
 * exit status, *out its stdout (caller frees). */
static inline int ef_fleetctl(ef_fleet *f, const char *const *args, char **out) {
    char bin[1024], path[300];
    bf_test_binary("fleetctl/fleetctl", bin, sizeof bin);
    snprintf(path, sizeof path, "%s/fleetctl.out", f->dir);
    const char *argv[32] = {bin};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bf_test_child_dies_with_parent();
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
        setenv("BRAINFLEET_TOPIC_PREFIX", f->prefix, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    FILE *fp = fopen(path, "rb");
    size_t cap = 1 << 16, len = 0;
    char *buf = calloc(cap, 1);
    if (fp) {
        len = fread(buf, 1, cap - 1, fp);
        fclose(fp);
    }
    buf[len] = '\0';
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The project's storyboard as the editor reported it (`fleetctl storyboard -o json`): the array
 * of scenes {scene_id, name, position, duration_ms, description, version}. Caller deletes. */
static inline cJSON *ef_editor_storyboard(ef_fleet *f, const char *project) {
    const char *args[] = {"storyboard", "--project", project, "-o", "json", NULL};
    char *out;
    if (ef_fleetctl(f, args, &out) != 0) fail_msg("fleetctl storyboard failed: %s", out);
    cJSON *j = cJSON_Parse(out);
    free(out);
    assert_non_null(j);
    cJSON *scenes = cJSON_DetachItemFromObject(j, "scenes");
    cJSON_Delete(j);
    return scenes;
}

static inline PGconn *ef_pg(ef_fleet *f) {
    PGconn *c = PQconnectdb(f->dsn);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("database: %s", PQerrorMessage(c));
    return c;
}

/* A query with text parameters (NULL-terminated); fails the test on error. PQclear the result. */
static inline PGresult *ef_query(PGconn *c, const char *sql, const char *const *params) {
    int n = 0;
    while (params && params[n]) n++;
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
    return r;
}

/* The live scenes PostgreSQL holds for project, in the editor's JSON shape, in storyboard order.
 * Caller deletes. */
static inline cJSON *ef_pg_storyboard(ef_fleet *f, const char *project) {
    PGconn *c = ef_pg(f);
    const char *p[] = {project, NULL};
    PGresult *r = ef_query(c,
                           "SELECT scene_id, name, position, duration_ms, coalesce(description, ''), version FROM scenes "
                           "WHERE project_id = $1 AND NOT deleted ORDER BY position, scene_id",
                           p);
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < PQntuples(r); i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "scene_id", PQgetvalue(r, i, 0));
        cJSON_AddStringToObject(s, "name", PQgetvalue(r, i, 1));
        cJSON_AddNumberToObject(s, "position", strtod(PQgetvalue(r, i, 2), NULL));
        cJSON_AddNumberToObject(s, "duration_ms", strtod(PQgetvalue(r, i, 3), NULL));
        cJSON_AddStringToObject(s, "description", PQgetvalue(r, i, 4));
        cJSON_AddNumberToObject(s, "version", strtod(PQgetvalue(r, i, 5), NULL));
        cJSON_AddItemToArray(arr, s);
    }
    PQclear(r);
    PQfinish(c);
    return arr;
}

/* Waits (60 s) until PostgreSQL's storyboard of project equals the editor's; fails with both. */
static inline void ef_assert_pg_equals_editor(ef_fleet *f, const char *project) {
    cJSON *ed = ef_editor_storyboard(f, project);
    char *want = cJSON_PrintUnformatted(ed), *got = NULL;
    int64_t deadline = bf_test_now_ms() + 60000;
    for (;;) {
        cJSON *pg = ef_pg_storyboard(f, project);
        free(got);
        got = cJSON_PrintUnformatted(pg);
        cJSON_Delete(pg);
        if (strcmp(got, want) == 0 || bf_test_now_ms() > deadline) break;
        bf_test_sleep_ms(500);
    }
    if (strcmp(got, want) != 0) fail_msg("storyboard in PostgreSQL:\n%s\nthe editor's:\n%s", got, want);
    free(got);
    free(want);
    cJSON_Delete(ed);
}

/* The scene id the brain mints for tool call step of request rid (docs/topics.md). */
static inline void ef_new_scene_id(const char *rid, int step, char out[32]) {
    char name[64], hex[BF_SHA256_HEX_LEN + 1];
    int n = snprintf(name, sizeof name, "%s:%d", rid, step);
    bf_sha256_hex(name, (size_t)n, hex);
    snprintf(out, 32, "scene-%.12s", hex);
}

/* The scene of the editor's storyboard with this id, or NULL. */
static inline const cJSON *ef_scene(const cJSON *scenes, const char *id) {
    const cJSON *s;
    cJSON_ArrayForEach(s, scenes) {
        const cJSON *i = cJSON_GetObjectItem(s, "scene_id");
        if (cJSON_IsString(i) && strcmp(i->valuestring, id) == 0) return s;
    }
    return NULL;
}

#endif
