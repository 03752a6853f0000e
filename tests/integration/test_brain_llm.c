/* brain-worker deciding with an LLM, end to end: the real binary against the real broker, a freshly
 * migrated PostgreSQL and fake_openai subprocesses.
 *
 *   - what the database holds for a project (preferences, scene relationships, scenes, image
 *     analyses, the conversation) is in the prompt the LLM receives, the tools go as native
 *     functions (tool_choice required) to a base URL written the usual way (".../v1"), and a valid
 *     call becomes the published decision (tool, target scene, model, the server's token counts);
 *     JSON mode does the same for servers without function calling;
 *   - every broken answer class (invalid arguments, unknown tool, refusal, cut-off answer, bad
 *     body, bad transfer, bad status, no answer at all) gets one repair round where a repair can
 *     help, then the rules in fallback: exactly one decision per request, never a crash, never
 *     silence, never a destructive call on a guess, and the worker keeps answering /healthz;
 *   - 100 requests against a fake whose answers are 20 % broken: 100 decisions, every argument
 *     valid, the repaired ones marked so;
 *   - per-project order holds for 200 requests over 20 projects while the LLM answers at random
 *     latency, so answers complete out of order.
 *
 * The fake's behaviour is fixed per process (the brain cannot send X-Fake-* headers), so each answer
 * class gets its own fake and its own brain-worker; they all run at once to keep the file fast.
 * No timing thresholds: the only time check is a lower bound that a honoured Retry-After implies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_db.h"
#include "bf_fake_server.h"
#include "bf_migrate.h"
#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_test_http.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"
#include "bf_trace.h"

#define MODEL "fake-brain-model"

static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsProcessed",
                                     "memoryUpdates", "brainDecisions", "deadLetters"};

/* The database every worker of this file reads: created and migrated once, dropped at the end. */
static char g_db_name[64];
static char g_dsn[1024];
static bf_log g_log;

/* A valid call for the seeded project: edit the selected scene. */
static const char valid_edit[] =
    "[{\"name\":\"editScene\",\"arguments\":{\"scene_id\":\"s2\",\"instruction\":\"make the logo pop\","
    "\"summary\":\"Brighten the logo reveal in midnight teal\"}}]";
/* Valid for any project: addScene needs no target. */
static const char valid_add[] =
    "[{\"name\":\"addScene\",\"arguments\":{\"instruction\":\"an outro\",\"summary\":\"Add an outro scene\"}}]";

/* ---- database ---- */

static void db_exec(bf_db *db, const char *sql) {
    char err[512];
    if (bf_db_exec(db, sql, err, sizeof err) != 0) fail_msg("%s: %s", sql, err);
}

static void seed(bf_db *db) {
    db_exec(db, "INSERT INTO project_memory (project_id, memory_type, key, value, confidence, source) VALUES "
                "('p-ctx', 'user_preference', 'preferred_mood', '\"midnight-teal-mood\"', 0.85, 'test'),"
                "('p-ctx', 'user_preference', 'preferred_font', '\"Grotesk-Ultra\"', 0.6, 'test'),"
                "('p-ctx', 'scene_relationship', 'scene:s2', '{\"follows\":\"s1-relmarker\"}', 0.5, 'test'),"
                "('p-other', 'user_preference', 'preferred_mood', '\"other-project-mood\"', 0.9, 'test')");
    db_exec(db, "INSERT INTO scenes (project_id, scene_id, name, position, duration_ms) VALUES "
                "('p-ctx', 's2', 'Logo reveal', 2, 4000), ('p-ctx', 's1', 'Aurora intro', 1, 3000)");
    db_exec(db, "INSERT INTO image_analysis (project_id, trace_id, request_id, content_hash, image_urls, mood, "
                "analyser, created_at) VALUES "
                "('p-ctx', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1', 'r', repeat('c', 64), '{https://x/old.png}', "
                "'mood-vaporwave-old', 'builtin', now() - interval '2 hours'),"
                "('p-ctx', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb2', 'r', repeat('d', 64), '{https://x/new.png}', "
                "'mood-neon-new', 'builtin', now() - interval '1 hour')");
    db_exec(db, "INSERT INTO messages (message_id, project_id, conversation_id, role, content, created_at) VALUES "
                "('00000000-0000-4000-8000-00000000aa01', 'p-ctx', 'c1', 'user', 'earlier we said slow fades', "
                "now() - interval '5 minutes'),"
                "('00000000-0000-4000-8000-00000000aa02', 'p-ctx', 'c1', 'assistant', 'noted: slow fades only', "
                "now() - interval '4 minutes'),"
                "('00000000-0000-4000-8000-00000000aa03', 'p-ctx', 'c-other', 'user', 'another conversation', "
                "now() - interval '3 minutes')");
}

static int group_setup(void **state) {
    (void)state;
    bf_log_init(&g_log, stderr, "test", BF_LOG_WARN);
    char hex[9], err[512], sql[128];
    bf_random_hex(hex, 4);
    snprintf(g_db_name, sizeof g_db_name, "t_brainllm_%s", hex);
    bf_db *admin = bf_db_new(bf_test_pg_dsn(), &g_log);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", g_db_name); /* random hex only: no quoting needed */
    if (bf_db_exec(admin, sql, err, sizeof err) != 0) fail_msg("%s", err);
    bf_db_free(admin);
    /* libpq takes the last of repeated keywords, so this overrides the stack's dbname. */
    snprintf(g_dsn, sizeof g_dsn, "%s dbname=%s", bf_test_pg_dsn(), g_db_name);
    bf_db *db = bf_db_new(g_dsn, &g_log);
    if (bf_migrate_apply(db, bf_migrations, bf_migrations_n, NULL, err, sizeof err) != 0) fail_msg("%s", err);
    seed(db);
    bf_db_free(db);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    char err[512], sql[160];
    bf_db *admin = bf_db_new(bf_test_pg_dsn(), &g_log);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_db_name);
    if (bf_db_exec(admin, sql, err, sizeof err) != 0) fprintf(stderr, "drop %s: %s\n", g_db_name, err);
    bf_db_free(admin);
    return 0;
}

/* ---- one brain-worker with its own fake LLM ---- */

/* Every process this file starts, so a failed assertion (a longjmp out of the test) does not leave
 * workers and fakes running: they would hold ctest's output pipe open and keep it waiting. */
static pid_t g_children[64];

static void track(pid_t pid) {
    for (size_t i = 0; i < sizeof g_children / sizeof g_children[0]; i++) {
        if (g_children[i] == 0) {
            g_children[i] = pid;
            return;
        }
    }
}

static void untrack(pid_t pid) {
    for (size_t i = 0; i < sizeof g_children / sizeof g_children[0]; i++)
        if (g_children[i] == pid) g_children[i] = 0;
}

static int kill_leftovers(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof g_children / sizeof g_children[0]; i++) {
        if (g_children[i] > 0) {
            kill(g_children[i], SIGKILL);
            waitpid(g_children[i], NULL, 0);
        }
        g_children[i] = 0;
    }
    return 0;
}

typedef struct worker {
    char prefix[32];
    pid_t pid;
    bf_fake_server fake;
    char log_path[256];
} worker;

/* Starts a fake with args (NULL-terminated) and a brain-worker pointed at it, with its own topics
 * and group, and extra KEY=VALUE settings (NULL-terminated). */
static void worker_start(worker *w, const char *const *fake_args, const char *const *extra, int partitions) {
    memset(w, 0, sizeof *w);
    char err[512];
    if (bf_fake_server_start(&w->fake, fake_args, err, sizeof err) != 0) fail_msg("fake_openai: %s", err);
    track(w->fake.pid);
    bf_test_unique_prefix(w->prefix, sizeof w->prefix);
    bf_test_create_topics(w->prefix, topics, sizeof topics / sizeof topics[0], partitions);
    const char *tmp = getenv("TMPDIR");
    snprintf(w->log_path, sizeof w->log_path, "%s/%sbrain.log", tmp && *tmp ? tmp : "/tmp", w->prefix);
    char bin[1024];
    bf_test_binary("brain-worker/brain-worker", bin, sizeof bin);
    const char *brokers = bf_test_brokers();
    w->pid = fork();
    assert_true(w->pid >= 0);
    if (w->pid == 0) {
        bf_test_child_dies_with_parent();
        char group[64];
        snprintf(group, sizeof group, "%sbrain", w->prefix);
        int fd = open(w->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        setenv("BRAINFLEET_KAFKA_BROKERS", brokers, 1);
        setenv("BRAINFLEET_PG_DSN", g_dsn, 1);
        setenv("BRAINFLEET_TOPIC_PREFIX", w->prefix, 1);
        setenv("BRAINFLEET_GROUP_ID", group, 1);
        setenv("BRAINFLEET_HTTP_PORT", "0", 1);
        /* info: the runtime's "http port N" line is how the health check finds the worker. */
        setenv("BRAINFLEET_LOG_LEVEL", "info", 1);
        /* The base URL as providers print it: the client adds /chat/completions. */
        char url[300];
        snprintf(url, sizeof url, "%s/v1", w->fake.url);
        setenv("BRAINFLEET_LLM_URL", url, 1);
        setenv("BRAINFLEET_LLM_MODEL", MODEL, 1);
        for (size_t i = 0; extra && extra[i]; i++) putenv((char *)extra[i]);
        execl(bin, bin, (char *)NULL);
        perror(bin);
        _exit(127);
    }
    track(w->pid);
}

static char *read_text_file(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n + 4096 + 1 > cap) buf = realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, 4096, fp);
        n += got;
        if (got == 0) break;
    }
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

/* The worker's metrics/health port from its startup log line (it starts before consuming). */
static int worker_http_port(const worker *w) {
    for (int tries = 0; tries < 300; tries++) {
        char *log = read_text_file(w->log_path);
        const char *p = log ? strstr(log, "http port ") : NULL;
        long port = p ? strtol(p + strlen("http port "), NULL, 10) : 0;
        free(log);
        if (port > 0 && port < 65536) return (int)port;
        bf_test_sleep_ms(100);
    }
    fail_msg("no \"http port\" line in %s", w->log_path);
    return -1;
}


/* The worker survived what it was fed: still running, answering /healthz, and it stops cleanly
 * (exit 0 also means no sanitizer report). */
static void worker_stop_healthy(worker *w) {
    int status = 0;
    if (waitpid(w->pid, &status, WNOHANG) != 0) fail_msg("brain-worker %s died (log %s)", w->prefix, w->log_path);
    assert_int_equal(bf_test_http_status(worker_http_port(w), "/healthz"), 200);
    kill(w->pid, SIGTERM);
    waitpid(w->pid, &status, 0);
    untrack(w->pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("brain-worker %s did not exit cleanly (status %d, log %s)", w->prefix, status, w->log_path);
    untrack(w->fake.pid);
    bf_fake_server_stop(&w->fake);
    unlink(w->log_path);
}

/* ---- requests and decisions ---- */

static void request_id(int n, char out[BF_UUID_LEN + 1]) {
    snprintf(out, BF_UUID_LEN + 1, "00000000-0000-4000-8000-%012d", n);
}

/* One producer for many requests: idempotence keeps each partition in produce order even if the
 * client has to retry a batch, which the ordering test relies on. */
static rd_kafka_t *producer_new(void) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof errstr) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        fail_msg("producer conf: %s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) fail_msg("producer: %s", errstr);
    return rk;
}

static void producer_flush_free(rd_kafka_t *rk) {
    if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) fail_msg("requests not acknowledged in 30 s");
    rd_kafka_destroy(rk);
}

static void produce_request(rd_kafka_t *rk, const worker *w, const char *project, const char *rid,
                            const char *prompt, const char *scene, const char *conversation) {
    bf_msg_brain_request r;
    memset(&r, 0, sizeof r);
    char err[512];
    assert_int_equal(bf_envelope_init(&r.env, BF_SCHEMA_BRAIN_REQUESTS, project, NULL, "test", 1718000000000, err,
                                      sizeof err), 0);
    snprintf(r.request_id, sizeof r.request_id, "%s", rid);
    r.prompt = (char *)prompt;
    r.selected_scene_id = (char *)scene;
    r.conversation_id = (char *)conversation;
    r.await_image_facts_ms = -1;
    char *json = bf_msg_brain_request_encode(&r, err, sizeof err);
    if (!json) fail_msg("encode: %s", err);
    char t[128];
    snprintf(t, sizeof t, "%sbrainRequests", w->prefix);
    rd_kafka_resp_err_t e = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(t), RD_KAFKA_V_KEY(project, strlen(project)),
                                              RD_KAFKA_V_VALUE(json, strlen(json)),
                                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e) fail_msg("produce %s: %s", t, rd_kafka_err2str(e));
    rd_kafka_poll(rk, 0);
    free(json);
}

typedef struct decisions {
    bf_msg_brain_decision *d;
    size_t n;
} decisions;

/* Decisions of kind decision, in topic order per partition. */
static decisions read_decisions(const worker *w, size_t min_count) {
    char t[128];
    snprintf(t, sizeof t, "%sbrainDecisions", w->prefix);
    size_t n = 0;
    bf_test_msg *msgs = bf_test_consume_all(t, min_count, 1000, 60000, &n);
    decisions out = {calloc(n + 1, sizeof *out.d), 0};
    for (size_t i = 0; i < n; i++) {
        char err[512];
        if (bf_msg_brain_decision_decode(msgs[i].payload, msgs[i].len, &out.d[out.n], err, sizeof err) != 0)
            fail_msg("%s[%zu] does not decode: %s", t, i, err);
        if (out.d[out.n].kind == BF_DECISION_KIND_DECISION) out.n++;
        else bf_msg_brain_decision_free(&out.d[out.n]);
    }
    bf_test_msgs_free(msgs, n);
    if (out.n < min_count)
        fail_msg("%s: %zu decisions, expected %zu (worker log %s)", t, out.n, min_count, w->log_path);
    return out;
}

static void decisions_free(decisions *d) {
    for (size_t i = 0; i < d->n; i++) bf_msg_brain_decision_free(&d->d[i]);
    free(d->d);
}

static const bf_msg_brain_decision *find(const decisions *d, const char *rid) {
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->d[i].request_id, rid) == 0) return &d->d[i];
    return NULL;
}

/* The text of every message of a recorded chat request, joined. */
static char *recorded_prompt(const bf_fake_server *fs, int n) {
    size_t len = 0;
    char *body = bf_fake_server_recorded_new(fs, n, &len);
    if (!body) fail_msg("no recorded request %d", n);
    cJSON *root = cJSON_ParseWithLength(body, len);
    free(body);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsString(m) || strcmp(m->valuestring, MODEL) != 0) fail_msg("recorded request lacks model " MODEL);
    size_t cap = 1, used = 0;
    char *out = calloc(1, 1);
    const cJSON *msg;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(root, "messages")) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (!cJSON_IsString(c)) continue;
        size_t cl = strlen(c->valuestring);
        out = realloc(out, cap += cl + 1);
        memcpy(out + used, c->valuestring, cl);
        out[used + cl] = '\n';
        out[used + cl + 1] = '\0';
        used += cl + 1;
    }
    cJSON_Delete(root);
    return out;
}

/* ---- context in the prompt, a valid answer becomes the decision ---- */

static void context_and_valid_call(const char *const *env, bool json_mode) {
    worker w;
    const char *fargs[] = {"--tool-calls", valid_edit, "--answer", "tool", NULL};
    worker_start(&w, fargs, env, 3);
    char rid[40];
    request_id(json_mode ? 2 : 1, rid);
    rd_kafka_t *rk = producer_new();
    produce_request(rk, &w, "p-ctx", rid, "Make the logo reveal pop", "s2", "c1");
    producer_flush_free(rk);
    decisions d = read_decisions(&w, 1);

    assert_int_equal(bf_fake_server_recorded_count(&w.fake), 1);
    char *prompt = recorded_prompt(&w.fake, 1);
    const char *expect[] = {
        "preferred_mood", "midnight-teal-mood", "preferred_font", "Grotesk-Ultra", /* preferences */
        "scene:s2", "s1-relmarker",                                             /* relationships */
        "Aurora intro", "Logo reveal",                                          /* scenes */
        "mood-neon-new", "mood-vaporwave-old",                                  /* image analyses */
        "earlier we said slow fades", "noted: slow fades only",                 /* conversation */
        "Make the logo reveal pop",                                             /* the request */
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (!strstr(prompt, expect[i])) fail_msg("prompt sent to the LLM lacks \"%s\":\n%s", expect[i], prompt);
    /* Other projects' memory and other conversations stay out. */
    assert_null(strstr(prompt, "other-project-mood"));
    assert_null(strstr(prompt, "another conversation"));
    /* Newest image analysis first, conversation oldest first. */
    assert_true(strstr(prompt, "mood-neon-new") < strstr(prompt, "mood-vaporwave-old"));
    assert_true(strstr(prompt, "earlier we said") < strstr(prompt, "noted: slow fades"));
    /* Tools mode: the functions travel as tools with tool_choice required; JSON mode: described
     * in the prompt, answered as a JSON object. (The fake has checked the request against
     * OpenAI's schema already: a bad one would have been a 400.) */
    size_t len = 0;
    char *raw = bf_fake_server_recorded_new(&w.fake, 1, &len);
    if (json_mode) {
        assert_non_null(strstr(raw, "\"json_object\""));
        assert_null(strstr(raw, "\"tool_choice\""));
        assert_non_null(strstr(prompt, "editScene"));
    } else {
        assert_non_null(strstr(raw, "\"tool_choice\":\"required\""));
        assert_non_null(strstr(raw, "\"name\":\"askClarification\""));
    }
    free(raw);
    free(prompt);

    const bf_msg_brain_decision *x = find(&d, rid);
    assert_non_null(x);
    if (x->error.present) fail_msg("unexpected error %s: %s", x->error.code, x->error.message);
    assert_int_equal(x->type, BF_DECISION_TOOL);
    assert_int_equal(x->n_steps, 1);
    assert_int_equal(x->steps[0].tool, BF_TOOL_EDIT_SCENE);
    assert_string_equal(x->steps[0].target_scene_id, "s2");
    assert_non_null(strstr(x->steps[0].input, "make the logo pop"));
    assert_string_equal(x->model, MODEL);
    assert_int_equal(x->decided_by.decider, BF_DECIDER_LLM);
    assert_int_equal(x->decided_by.reason, BF_REASON_LLM_ANSWER);
    assert_false(x->context_degraded);
    assert_true(x->prompt_tokens > 0);
    assert_true(x->completion_tokens > 0);
    decisions_free(&d);
    worker_stop_healthy(&w);
}

static void test_context_reaches_llm_and_valid_answer_decides(void **state) {
    (void)state;
    context_and_valid_call(NULL, false);
    const char *json_env[] = {"BRAINFLEET_LLM_MODE=json", NULL};
    context_and_valid_call(json_env, true);
}

/* ---- malformed answer classes ---- */

typedef enum { WANT_FALLBACK, WANT_REPAIRED, WANT_SUCCESS } want;

typedef struct answer_case {
    const char *name;
    const char *fake_args[10];
    const char *env[4];
    int n_requests;      /* sent to one project, so one after the other */
    want want;
    const char *code;    /* WANT_FALLBACK: error code, which is also decided_by's reason */
    const char *message; /* WANT_FALLBACK: in the error message */
    int calls_per_request; /* chat requests the fake must have seen per request (0: not checked) */
} answer_case;

static void check_case(const answer_case *c, const worker *w, const decisions *d, int first_rid) {
    for (int i = 0; i < c->n_requests; i++) {
        char rid[40];
        request_id(first_rid + i, rid);
        const bf_msg_brain_decision *x = find(d, rid);
        if (!x) fail_msg("%s: no decision for request %d (log %s)", c->name, i, w->log_path);
        /* Whoever decided, never a deletion on a guess: the request says "Remove the logo". */
        for (size_t k = 0; k < x->n_steps; k++)
            if (x->steps[k].tool == BF_TOOL_DELETE_SCENE) fail_msg("%s: a deleteScene was published", c->name);
        switch (c->want) {
        case WANT_FALLBACK:
            if (!x->error.present) fail_msg("%s: decision without error", c->name);
            if (strcmp(x->error.code, c->code) != 0 || !x->error.message || !strstr(x->error.message, c->message))
                fail_msg("%s: error %s \"%s\", expected %s with \"%s\"", c->name, x->error.code,
                         x->error.message ? x->error.message : "", c->code, c->message);
            /* The fallback still decides something the editor can act on or show. */
            assert_string_equal(x->model, "rule-based");
            assert_int_equal(x->decided_by.decider, BF_DECIDER_RULES);
            assert_string_equal(bf_decided_reason_name(x->decided_by.reason), c->code);
            assert_true(x->type == BF_DECISION_TOOL || x->type == BF_DECISION_CLARIFICATION);
            break;
        case WANT_REPAIRED:
        case WANT_SUCCESS:
            if (x->error.present) fail_msg("%s: error %s: %s", c->name, x->error.code, x->error.message);
            assert_int_equal(x->type, BF_DECISION_TOOL);
            assert_int_equal(x->steps[0].tool, BF_TOOL_ADD_SCENE);
            assert_string_equal(x->model, MODEL);
            assert_int_equal(x->decided_by.decider, BF_DECIDER_LLM);
            assert_int_equal(x->decided_by.reason,
                             c->want == WANT_REPAIRED ? BF_REASON_LLM_REPAIRED : BF_REASON_LLM_ANSWER);
            break;
        }
    }
}

static void test_broken_answers_repair_then_fallback(void **state) {
    (void)state;
    /* A repair gets a valid call back unless the case breaks the second answer too. */
    answer_case cases[] = {
        {"wrong argument type", {"--answer", "wrong-arg-type", "--repair-answer", "tool", "--tool-calls", valid_add, NULL},
         {NULL}, 2, WANT_REPAIRED, NULL, NULL, 2},
        {"unknown scene", {"--answer", "unknown-scene", "--repair-answer", "tool", "--tool-calls", valid_add, NULL},
         {NULL}, 2, WANT_REPAIRED, NULL, NULL, 2},
        {"invented image", {"--answer", "invented-image", "--repair-answer", "tool", "--tool-calls", valid_add, NULL},
         {NULL}, 2, WANT_REPAIRED, NULL, NULL, 2},
        {"arguments not JSON", {"--answer", "args-not-json", "--repair-answer", "tool", "--tool-calls", valid_add, NULL},
         {NULL}, 2, WANT_REPAIRED, NULL, NULL, 2},
        {"length cut-off", {"--answer", "length", "--repair-answer", "tool", "--tool-calls", valid_add, NULL}, {NULL},
         2, WANT_REPAIRED, NULL, NULL, 2},
        {"unknown tool twice", {"--answer", "unknown-tool", "--repair-answer", "unknown-tool", NULL}, {NULL}, 2,
         WANT_FALLBACK, "llm_invalid_answer", "", 2},
        {"refusal twice", {"--answer", "refusal", "--repair-answer", "refusal", NULL}, {NULL}, 2, WANT_FALLBACK,
         "llm_refused", "", 2},
        {"prose, no call", {"--answer", "text", "--repair-answer", "text", NULL}, {NULL}, 2, WANT_FALLBACK,
         "llm_refused", "", 2},
        /* Not a chat completion at all: nothing to repair, straight to the rules. */
        {"malformed JSON body", {"--mode", "malformed", NULL}, {NULL}, 2, WANT_FALLBACK, "llm_invalid_answer", "", 1},
        {"empty body", {"--mode", "empty", NULL}, {NULL}, 2, WANT_FALLBACK, "llm_invalid_answer", "", 1},
        /* A cut-off transfer is a transport failure (retried), not an answer to parse. */
        {"truncated body", {"--mode", "truncated", NULL}, {"BRAINFLEET_LLM_RETRIES=1", NULL}, 2, WANT_FALLBACK,
         "llm_failed", "after 2 attempts", 2},
        /* A body labelled text/html: a proxy or web page, not the API. */
        {"wrong content type", {"--mode", "wrong-type", NULL}, {NULL}, 2, WANT_FALLBACK, "llm_failed", "text/html", 1},
        {"500 on every attempt", {"--mode", "500", NULL}, {"BRAINFLEET_LLM_RETRIES=1", NULL}, 2, WANT_FALLBACK,
         "llm_failed", "HTTP 500", 2},
        {"429 on every attempt", {"--mode", "429", "--retry-after", "1", NULL}, {"BRAINFLEET_LLM_RETRIES=1", NULL}, 2,
         WANT_FALLBACK, "llm_failed", "HTTP 429", 2},
        /* Half the answers are 500s; the client's retries get every request through. --seed fixes
         * the fake's draws and one project's requests are sequential, so the run is repeatable. */
        {"500s then success", {"--error-rate", "0.5", "--seed", "3", "--answer", "tool", "--tool-calls", valid_add, NULL},
         {"BRAINFLEET_LLM_RETRIES=8", NULL}, 6, WANT_SUCCESS, NULL, NULL, 0},
        {"timeout", {"--mode", "timeout", NULL}, {"BRAINFLEET_LLM_TIMEOUT=1s", "BRAINFLEET_LLM_RETRIES=0", NULL}, 2,
         WANT_FALLBACK, "llm_unavailable", "timeout", 1},
    };
    const size_t n_cases = sizeof cases / sizeof cases[0];
    worker ws[sizeof cases / sizeof cases[0]];
    for (size_t i = 0; i < n_cases; i++) worker_start(&ws[i], cases[i].fake_args, cases[i].env, 1);
    rd_kafka_t *rk = producer_new();
    for (size_t i = 0; i < n_cases; i++) {
        for (int k = 0; k < cases[i].n_requests; k++) {
            char rid[40];
            request_id(100 + k, rid);
            /* A scene selected, and a prompt the old keyword rules turned into a deletion. */
            produce_request(rk, &ws[i], "p-ctx", rid, "Remove the logo", "s2", NULL);
        }
    }
    producer_flush_free(rk);
    for (size_t i = 0; i < n_cases; i++) {
        answer_case *c = &cases[i];
        decisions d = read_decisions(&ws[i], (size_t)c->n_requests);
        /* Exactly one decision per request: an error never means silence, nor a second answer. */
        assert_int_equal(d.n, (size_t)c->n_requests);
        check_case(c, &ws[i], &d, 100);
        int recorded = bf_fake_server_recorded_count(&ws[i].fake);
        if (c->calls_per_request && recorded != c->calls_per_request * c->n_requests)
            fail_msg("%s: the fake saw %d chat requests, expected %d", c->name, recorded,
                     c->calls_per_request * c->n_requests);
        if (strncmp(c->name, "429", 3) == 0) {
            /* Retry-After: 1 is longer than the client's first backoff (<= 250 ms), so honouring it
             * puts at least a second into the LLM stage. */
            for (size_t k = 0; k < d.n; k++) assert_true(d.d[k].timings.llm_ms >= 1000);
        } else if (c->want == WANT_SUCCESS) {
            if (recorded <= c->n_requests) fail_msg("%s: no retry happened (%d calls)", c->name, recorded);
        }
        decisions_free(&d);
    }
    for (size_t i = 0; i < n_cases; i++) worker_stop_healthy(&ws[i]);
}

/* Issue 20's done-when: 100 requests, a fifth of the answers broken in every way the fake knows
 * (repairs answered at random too): 100 decisions, none destructive from fallback, and every
 * model-made call valid (the decoder checks the contract; the tool must be a real one). */
static void test_broken_mix_every_request_one_valid_decision(void **state) {
    (void)state;
    worker w;
    const char *fargs[] = {"--answer", "tool", "--tool-calls", valid_add, "--answer-mix",
                           "wrong-arg-type=0.04,unknown-scene=0.04,refusal=0.03,length=0.03,args-not-json=0.03,"
                           "unknown-tool=0.03",
                           "--seed", "11", NULL};
    worker_start(&w, fargs, NULL, 6);
    rd_kafka_t *rk = producer_new();
    /* BF_BROKEN_MIX_REQUESTS=1000 for issue 20's full run; 100 keeps the suite quick. */
    const char *nv = getenv("BF_BROKEN_MIX_REQUESTS");
    long asked = nv ? strtol(nv, NULL, 10) : 0;
    const int N = asked >= 100 && asked <= 100000 ? (int)asked : 100;
    for (int i = 0; i < N; i++) {
        char rid[40], project[32];
        request_id(50000 + i, rid);
        snprintf(project, sizeof project, "p-mix-%d", i % 25);
        produce_request(rk, &w, project, rid, i % 2 ? "Remove the logo" : "Add an outro", NULL, NULL);
    }
    producer_flush_free(rk);
    decisions d = read_decisions(&w, N);
    assert_int_equal(d.n, N);
    int by_reason[BF_DECIDED_REASONS] = {0};
    for (size_t i = 0; i < d.n; i++) {
        const bf_msg_brain_decision *x = &d.d[i];
        by_reason[x->decided_by.reason]++;
        for (size_t k = 0; k < x->n_steps; k++)
            if (x->decided_by.decider == BF_DECIDER_RULES && x->steps[k].tool == BF_TOOL_DELETE_SCENE)
                fail_msg("%s: a destructive call from the fallback", x->request_id);
        if (x->decided_by.reason == BF_REASON_LLM_REPAIRED) assert_true(x->decided_by.repair_round);
    }
    fprintf(stderr, "broken mix, %d requests:", N);
    for (int r = 0; r < BF_DECIDED_REASONS; r++)
        if (by_reason[r]) fprintf(stderr, " %s %d", bf_decided_reason_name((bf_decided_reason)r), by_reason[r]);
    fprintf(stderr, "\n");
    /* With a fifth broken and repairs drawn from the same mix, most broken answers are repaired. */
    assert_true(by_reason[BF_REASON_LLM_REPAIRED] > 0);
    assert_true(by_reason[BF_REASON_LLM_ANSWER] + by_reason[BF_REASON_LLM_REPAIRED] >= N * 9 / 10);
    decisions_free(&d);
    worker_stop_healthy(&w);
}

/* ---- per-project order at random LLM latency ---- */

static void test_order_200_requests_20_projects_random_latency(void **state) {
    (void)state;
    worker w;
    const char *fargs[] = {"--latency-ms", "50", "--latency-jitter-ms", "200", "--answer", "tool", "--tool-calls",
                           valid_add, NULL};
    worker_start(&w, fargs, NULL, 6);
    rd_kafka_t *rk = producer_new();
    for (int i = 0; i < 200; i++) {
        char rid[40], project[32], prompt[64];
        request_id(1000 + i, rid);
        snprintf(project, sizeof project, "p-order-%d", i % 20);
        snprintf(prompt, sizeof prompt, "Add scene number %d", i / 20);
        produce_request(rk, &w, project, rid, prompt, NULL, NULL);
    }
    producer_flush_free(rk);
    decisions d = read_decisions(&w, 200);
    assert_int_equal(d.n, 200);
    int last[20];
    for (int p = 0; p < 20; p++) last[p] = -1;
    /* Decisions are keyed by project, so a project's decisions sit on one partition in publish order. */
    for (size_t i = 0; i < d.n; i++) {
        const bf_msg_brain_decision *x = &d.d[i];
        if (x->error.present) fail_msg("%s: %s %s", x->request_id, x->error.code, x->error.message);
        assert_string_equal(x->model, MODEL);
        int seq = (int)strtol(x->request_id + 24, NULL, 10) - 1000;
        int p = (int)strtol(x->env.project_id + strlen("p-order-"), NULL, 10);
        assert_true(p >= 0 && p < 20);
        assert_int_equal(seq % 20, p);
        if (seq <= last[p]) fail_msg("project %d: request %d decided after %d", p, seq, last[p]);
        last[p] = seq;
    }
    for (int p = 0; p < 20; p++) assert_int_equal(last[p], 180 + p);
    assert_int_equal(bf_fake_server_recorded_count(&w.fake), 200);
    decisions_free(&d);
    worker_stop_healthy(&w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_context_reaches_llm_and_valid_answer_decides, kill_leftovers),
        cmocka_unit_test_teardown(test_broken_answers_repair_then_fallback, kill_leftovers),
        cmocka_unit_test_teardown(test_broken_mix_every_request_one_valid_decision, kill_leftovers),
        cmocka_unit_test_teardown(test_order_200_requests_20_projects_random_latency, kill_leftovers),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
