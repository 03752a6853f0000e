/* Malformed input against the real workers. memory-writer, brain-worker and image-worker run as
 * processes on the stack's broker and database (private topic prefix, fixed free HTTP ports); every
 * input topic gets the same barrage of broken messages: not JSON, wrong types, a huge string, deep
 * nesting, invalid UTF-8, an unknown schema version, missing keys, another topic's message, a NUL
 * byte, duplicate keys, trailing bytes, NaN, a tombstone, a binary key and a ~1 MB payload.
 * Checks: each broken message is in deadLetters exactly once (decoded with the consumers' codec,
 * matched by source topic/partition/offset), with a reason and the original key and bytes; no
 * other dead letter appears; every worker still answers /healthz and exits cleanly on SIGTERM; and
 * a valid message sent after the barrage is still processed (a decision, an imageFactsProcessed,
 * and for image-worker a fetch of a loopback/private/metadata URL refused by the SSRF guard: facts
 * that say fetch_blocked, not a dead letter, since the request itself was fine). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_dlq.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"

static const char *const all_topics[] = {"brainRequests",  "imageAnalysisRequested", "imageFactsReady",
                                         "imageFactsProcessed", "memoryUpdates", "brainDecisions",
                                         "deadLetters"};
#define N_ALL (sizeof all_topics / sizeof all_topics[0])

/* Input topics and the worker consuming each. */
static const struct {
    const char *topic;
    const char *worker;
} inputs[] = {{"brainRequests", "brain-worker"},          {"imageFactsProcessed", "brain-worker"},
              {"imageFactsReady", "memory-writer"},       {"memoryUpdates", "memory-writer"},
              {"imageAnalysisRequested", "image-worker"}};
#define N_INPUTS (sizeof inputs / sizeof inputs[0])

static const char *const workers[] = {"memory-writer", "brain-worker", "image-worker"};
#define N_WORKERS (sizeof workers / sizeof workers[0])

#define SECRET_KEY "bfSecretInBarrage4411"
#define BIG_LEN 990000 /* under librdkafka's default message.max.bytes (1000000) */

typedef struct worker_proc {
    pid_t pid;
    int port;
    char log[256];
} worker_proc;

typedef struct bad_msg {
    char name[48];
    char *key; /* NULL: no key */
    size_t key_len;
    char *bytes; /* NULL: tombstone */
    size_t len;
} bad_msg;

typedef struct sent {
    char topic[160];
    int32_t partition;
    int64_t offset;
    const bad_msg *msg; /* NULL for a valid message */
    int hits;
} sent;

static char g_prefix[32];
/* Started workers, so a failed assertion (which longjmps out of the test) still stops them. */
static pid_t g_pids[8];
static size_t g_n_pids;

static int stop_leftovers(void **state) {
    (void)state;
    for (size_t i = 0; i < g_n_pids; i++) {
        if (g_pids[i] > 0 && waitpid(g_pids[i], NULL, WNOHANG) == 0) {
            kill(g_pids[i], SIGKILL);
            waitpid(g_pids[i], NULL, 0);
        }
    }
    g_n_pids = 0;
    return 0;
}

static int free_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t l = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    close(s);
    return ntohs(a.sin_port);
}

static void start_worker(worker_proc *w, const char *name) {
    char rel[128], bin[1024], group[96], port[16];
    snprintf(rel, sizeof rel, "%s/%s", name, name);
    bf_test_binary(rel, bin, sizeof bin);
    if (access(bin, X_OK) != 0) fail_msg("%s is not built", bin);
    w->port = free_port();
    snprintf(w->log, sizeof w->log, "/tmp/bf-bad-input-%s%s.log", g_prefix, name);
    snprintf(group, sizeof group, "%s%s", g_prefix, name);
    snprintf(port, sizeof port, "%d", w->port);
    const char *brokers = bf_test_brokers();
    const char *dsn = bf_test_pg_dsn();
    w->pid = fork();
    assert_true(w->pid >= 0);
    if (w->pid == 0) {
        bf_test_child_dies_with_parent();
        int fd = open(w->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setenv("BRAINFLEET_KAFKA_BROKERS", brokers, 1);
        setenv("BRAINFLEET_PG_DSN", dsn, 1);
        setenv("BRAINFLEET_TOPIC_PREFIX", g_prefix, 1);
        setenv("BRAINFLEET_GROUP_ID", group, 1);
        setenv("BRAINFLEET_HTTP_PORT", port, 1);
        setenv("BRAINFLEET_LOG_LEVEL", "info", 1);
        setenv("BRAINFLEET_LLM_API_KEY", SECRET_KEY, 1);
        unsetenv("BRAINFLEET_LLM_URL");
        unsetenv("BRAINFLEET_VISION_URL");
        unsetenv("BRAINFLEET_FETCH_ALLOW_CIDRS");
        execl(bin, bin, (char *)NULL);
        perror(bin);
        _exit(127);
    }
    if (g_n_pids < sizeof g_pids / sizeof g_pids[0]) g_pids[g_n_pids++] = w->pid;
}

static void dump_log(const worker_proc *w) {
    FILE *f = fopen(w->log, "r");
    if (!f) return;
    char line[600];
    fprintf(stderr, "---- %s (last lines)\n", w->log);
    long n = 0;
    while (fgets(line, sizeof line, f)) n++;
    rewind(f);
    for (long i = 0; fgets(line, sizeof line, f); i++)
        if (i >= n - 15) fputs(line, stderr);
    fclose(f);
}

static size_t write_body(char *p, size_t size, size_t n, void *ctx) {
    (void)p;
    (void)ctx;
    return size * n;
}

static long healthz(int port) {
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/healthz", port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    *len = fread(b, 1, (size_t)n, f);
    b[*len] = '\0';
    fclose(f);
    return b;
}

/* The topic's first valid contract example, the base of the "almost valid" cases. */
static char *valid_example(const char *topic, size_t *len) {
    const char *src = getenv("BF_SOURCE_DIR");
    assert_non_null(src);
    static const char *const names[] = {"minimal.json", "builtin.json", "items_only.json"};
    for (size_t i = 0; i < 3; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/contracts/%s/valid/%s", src, topic, names[i]);
        size_t raw_len = 0;
        char *raw = read_file(path, &raw_len);
        if (!raw) continue;
        /* Compact, so the textual edits below find "key":value. */
        cJSON *j = cJSON_ParseWithLength(raw, raw_len);
        free(raw);
        assert_non_null(j);
        char *b = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        assert_non_null(b);
        *len = strlen(b);
        return b;
    }
    fail_msg("no valid example for %s", topic);
    return NULL;
}

/* s with the first occurrence of what replaced by with (malloc'd). */
static char *replace(const char *s, size_t len, const char *what, const char *with, size_t *out_len) {
    const char *at = strstr(s, what);
    if (!at) fail_msg("%s not in the example", what);
    size_t wl = strlen(what), nl = strlen(with), pre = (size_t)(at - s);
    char *o = malloc(len - wl + nl + 1);
    assert_non_null(o);
    memcpy(o, s, pre);
    memcpy(o + pre, with, nl);
    memcpy(o + pre + nl, at + wl, len - pre - wl);
    *out_len = len - wl + nl;
    o[*out_len] = '\0';
    return o;
}

static bad_msg *add(bad_msg *v, size_t *n, const char *name, const char *bytes, size_t len) {
    bad_msg *m = &v[(*n)++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->key = strdup("p-bad-input");
    m->key_len = strlen(m->key);
    if (bytes) {
        m->bytes = malloc(len ? len : 1);
        assert_non_null(m->bytes);
        memcpy(m->bytes, bytes, len);
    }
    m->len = len;
    return m;
}

static void add_owned(bad_msg *v, size_t *n, const char *name, char *bytes, size_t len) {
    add(v, n, name, bytes, len);
    free(bytes);
}

static void add_replaced(bad_msg *v, size_t *n, const char *name, const char *valid, size_t vl, const char *what,
                         const char *with) {
    size_t l = 0;
    char *b = replace(valid, vl, what, with, &l);
    add_owned(v, n, name, b, l);
}

/* The barrage for one topic; other is a valid message of a different topic. */
static size_t build_barrage(const char *topic, const char *other_topic, bad_msg *v) {
    size_t n = 0, vl = 0, ol = 0;
    char *valid = valid_example(topic, &vl);
    char *other = valid_example(other_topic, &ol);
    add(v, &n, "not_json", "this is not JSON", 16);
    add(v, &n, "empty_object", "{}", 2);
    add(v, &n, "top_level_array", "[1,2,3]", 7);
    static const char wrong[] = "{\"schema\":7,\"schema_version\":\"1\",\"event_id\":true,\"trace_id\":[],"
                                "\"project_id\":{},\"produced_at_ms\":\"x\",\"producer\":null,\"payload\":\"p\"}";
    add(v, &n, "wrong_types", wrong, sizeof wrong - 1);
    {
        size_t hl = 900000;
        char *h = malloc(hl + 64);
        assert_non_null(h);
        int k = snprintf(h, 64, "{\"schema\":\"%s\",\"junk\":\"", topic);
        memset(h + k, 'a', hl);
        memcpy(h + k + hl, "\"}", 2);
        add_owned(v, &n, "huge_string", h, (size_t)k + hl + 2);
    }
    {
        size_t dl = 100000;
        char *d = malloc(dl);
        assert_non_null(d);
        memset(d, '[', dl);
        add_owned(v, &n, "deep_nesting", d, dl);
    }
    add(v, &n, "invalid_utf8", "{\"schema\":\"\xc0\xaf\xff\xfe\"}", 15);
    add_replaced(v, &n, "schema_version_2", valid, vl, "\"schema_version\":1", "\"schema_version\":2");
    add_replaced(v, &n, "missing_payload", valid, vl, "\"payload\"", "\"payloax\"");
    add(v, &n, "other_topics_message", other, ol);
    {
        char *z = malloc(vl);
        assert_non_null(z);
        memcpy(z, valid, vl);
        z[vl / 2] = '\0';
        add_owned(v, &n, "nul_byte", z, vl);
    }
    add_replaced(v, &n, "duplicate_key", valid, vl, "{", "{\"project_id\":\"dup\",");
    {
        char *t = malloc(vl + 9);
        assert_non_null(t);
        memcpy(t, valid, vl);
        memcpy(t + vl, "}garbage", 8);
        add_owned(v, &n, "trailing_bytes", t, vl + 8);
    }
    add_replaced(v, &n, "nan", valid, vl, "\"produced_at_ms\":", "\"produced_at_ms\":NaN,\"x\":");
    add(v, &n, "tombstone", NULL, 0);
    {
        bad_msg *m = add(v, &n, "binary_key", "\x01\x02 binary key, text value", 25);
        free(m->key);
        m->key = malloc(5);
        assert_non_null(m->key);
        memcpy(m->key, "\x00\xff\x01\x80k", 5);
        m->key_len = 5;
    }
    {
        char *b = malloc(BIG_LEN);
        assert_non_null(b);
        memset(b, 'x', BIG_LEN);
        add_owned(v, &n, "oversized_not_json", b, BIG_LEN);
    }
    {
        bad_msg *m = add(v, &n, "no_key_not_json", "\xff\xfe", 2);
        free(m->key);
        m->key = NULL;
        m->key_len = 0;
    }
    free(valid);
    free(other);
    return n;
}

static void produce_raw(const char *topic, const bad_msg *m) {
    if (m->key && memchr(m->key, '\0', m->key_len)) {
        /* bf_test_produce takes a C string key; binary keys go through librdkafka directly. */
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), err, sizeof err);
        rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
        assert_non_null(p);
        rd_kafka_resp_err_t e =
            rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(m->key, m->key_len),
                              RD_KAFKA_V_VALUE(m->bytes, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        assert_int_equal(e, RD_KAFKA_RESP_ERR_NO_ERROR);
        assert_int_equal(rd_kafka_flush(p, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_destroy(p);
        return;
    }
    bf_test_produce(topic, -1, m->key, m->bytes, m->len, NULL);
}

static void full_topic(const char *base, char *out, size_t n) {
    snprintf(out, n, "%s%s", g_prefix, base);
}

static void test_bad_input_barrage(void **state) {
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    bf_test_unique_prefix(g_prefix, sizeof g_prefix);
    bf_test_create_topics(g_prefix, all_topics, N_ALL, 2);
    worker_proc w[N_WORKERS];
    for (size_t i = 0; i < N_WORKERS; i++) start_worker(&w[i], workers[i]);

    /* The barrage, topic by topic; then where each landed. */
    bad_msg *bad[N_INPUTS];
    size_t n_bad[N_INPUTS];
    sent *s = calloc(N_INPUTS * 32 + 16, sizeof *s);
    assert_non_null(s);
    size_t n_sent = 0, total_bad = 0;
    for (size_t t = 0; t < N_INPUTS; t++) {
        bad[t] = calloc(32, sizeof *bad[t]);
        n_bad[t] = build_barrage(inputs[t].topic, inputs[(t + 1) % N_INPUTS].topic, bad[t]);
        char topic[160];
        full_topic(inputs[t].topic, topic, sizeof topic);
        for (size_t i = 0; i < n_bad[t]; i++) produce_raw(topic, &bad[t][i]);
        size_t got = 0;
        bf_test_msg *in = bf_test_consume_all(topic, n_bad[t], 1000, 60000, &got);
        assert_int_equal(got, n_bad[t]);
        for (size_t i = 0; i < got; i++) {
            sent *x = &s[n_sent++];
            snprintf(x->topic, sizeof x->topic, "%s", topic);
            x->partition = in[i].partition;
            x->offset = in[i].offset;
            /* Match the consumed record to what was sent by its bytes and key. */
            for (size_t j = 0; j < n_bad[t]; j++) {
                const bad_msg *m = &bad[t][j];
                if (m->len == in[i].len && (m->len == 0 || memcmp(m->bytes, in[i].payload, m->len) == 0) &&
                    m->key_len == in[i].key_len && (m->key_len == 0 || memcmp(m->key, in[i].key, m->key_len) == 0))
                    x->msg = m;
            }
            assert_non_null(x->msg);
        }
        bf_test_msgs_free(in, got);
        total_bad += n_bad[t];
    }
    print_message("barrage: %zu malformed messages on %zu input topics\n", total_bad, N_INPUTS);

    /* Valid messages after the barrage. */
    char err[512];
    char rid[BF_UUID_LEN + 1];
    bf_uuid_v4(rid);
    {
        bf_msg_brain_request r;
        memset(&r, 0, sizeof r);
        assert_int_equal(bf_envelope_init(&r.env, BF_SCHEMA_BRAIN_REQUESTS, "p-after-barrage", NULL, "test",
                                          bf_test_now_ms(), err, sizeof err), 0);
        snprintf(r.request_id, sizeof r.request_id, "%s", rid);
        r.prompt = "Add an intro scene";
        r.await_image_facts_ms = -1;
        char *json = bf_msg_brain_request_encode(&r, err, sizeof err);
        if (!json) fail_msg("%s", err);
        char topic[160];
        full_topic("brainRequests", topic, sizeof topic);
        bf_test_produce(topic, -1, "p-after-barrage", json, strlen(json), NULL);
        free(json);
    }
    char facts_event[BF_UUID_LEN + 1];
    {
        bf_msg_image_facts_ready m;
        memset(&m, 0, sizeof m);
        assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_FACTS_READY, "p-after-barrage", NULL,
                                          "image-worker", bf_test_now_ms(), err, sizeof err), 0);
        memcpy(facts_event, m.env.event_id, sizeof facts_event);
        bf_image_facts *x = &m.facts;
        bf_trace_id_new(x->trace_id);
        snprintf(x->request_id, sizeof x->request_id, "%s", rid);
        memset(x->content_hash, 'b', 64);
        char *urls[] = {"https://example.com/after-barrage.png"};
        x->image_urls.v = urls;
        x->image_urls.n = 1;
        x->brightness = 0.5;
        x->contrast = 0.5;
        x->saturation = 0.5;
        x->temperature = BF_TEMP_NEUTRAL;
        x->mood = BF_MOOD_NEUTRAL;
        x->width = 10;
        x->height = 10;
        x->orientation = BF_ORIENT_SQUARE;
        x->analyser = BF_ANALYSER_BUILTIN;
        char *json = bf_msg_image_facts_ready_encode(&m, err, sizeof err);
        if (!json) fail_msg("%s", err);
        char topic[160];
        full_topic("imageFactsReady", topic, sizeof topic);
        bf_test_produce(topic, -1, "p-after-barrage", json, strlen(json), NULL);
        free(json);
    }
    /* image-worker: valid requests whose URLs the SSRF guard must refuse. */
    static const char *const ssrf_urls[] = {"http://127.0.0.1:9/a.png", "http://169.254.169.254/latest/meta-data/",
                                            "http://10.0.0.1/x.png", "http://[::1]:9/b.png",
                                            "http://[::ffff:127.0.0.1]:9/c.png"};
    size_t n_ssrf = sizeof ssrf_urls / sizeof ssrf_urls[0];
    for (size_t i = 0; i < n_ssrf; i++) {
        bf_msg_image_analysis_requested m;
        memset(&m, 0, sizeof m);
        assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, "p-after-barrage", NULL,
                                          "brain-worker", bf_test_now_ms(), err, sizeof err), 0);
        bf_uuid_v4(m.request_id);
        bf_trace_id_new(m.image_trace_id);
        m.url = (char *)ssrf_urls[i];
        char *json = bf_msg_image_analysis_requested_encode(&m, err, sizeof err);
        if (!json) fail_msg("%s", err);
        char topic[160];
        full_topic("imageAnalysisRequested", topic, sizeof topic);
        bf_test_produce(topic, -1, "p-after-barrage", json, strlen(json), NULL);
        free(json);
    }

    /* Dead letters: one per malformed message, nothing else. */
    char dlq[160];
    full_topic("deadLetters", dlq, sizeof dlq);
    size_t n_dl = 0;
    bf_test_msg *dl = bf_test_consume_all(dlq, total_bad, 3000, 240000, &n_dl);
    size_t unexpected = 0, blocked = 0;
    for (size_t i = 0; i < n_dl; i++) {
        bf_msg_dead_letter d;
        if (bf_msg_dead_letter_decode(dl[i].payload, dl[i].len, &d, err, sizeof err) != 0)
            fail_msg("deadLetters[%zu] does not decode: %s", i, err);
        sent *match = NULL;
        for (size_t j = 0; j < n_sent; j++)
            if (strcmp(s[j].topic, d.topic) == 0 && s[j].partition == d.partition && s[j].offset == d.offset)
                match = &s[j];
        if (!match) {
            print_error("unexpected dead letter: %s/%d@%lld %s: %s\n", d.topic, (int)d.partition, (long long)d.offset,
                        d.reason_code, d.reason_message ? d.reason_message : "");
            unexpected++;
        } else {
            const bad_msg *m = match->msg;
            match->hits++;
            if (!d.reason_code[0] || !d.reason_message || !d.reason_message[0])
                fail_msg("dead letter for %s on %s has no reason", m->name, d.topic);
            /* Originals above BF_DLQ_KEEP_MAX are kept as their prefix (the dead letter must fit the
             * broker's message limit), and the reason says so. */
            size_t kept = m->len > BF_DLQ_KEEP_MAX ? BF_DLQ_KEEP_MAX : m->len;
            if (kept != d.original_payload_len ||
                (kept && (!d.original_payload || memcmp(m->bytes, d.original_payload, kept) != 0)))
                fail_msg("dead letter for %s on %s: original payload differs (%zu vs %zu bytes)", m->name, d.topic,
                         kept, d.original_payload_len);
            if (kept < m->len && !strstr(d.reason_message, "truncated"))
                fail_msg("dead letter for %s on %s: cut original without saying so", m->name, d.topic);
            if (m->key_len != d.original_key_len ||
                (m->key_len && (!d.original_key || memcmp(m->key, d.original_key, m->key_len) != 0)))
                fail_msg("dead letter for %s on %s: original key differs", m->name, d.topic);
        }
        bf_msg_dead_letter_free(&d);
    }
    bf_test_msgs_free(dl, n_dl);
    size_t missing = 0;
    for (size_t j = 0; j < n_sent; j++) {
        if (s[j].hits != 1) {
            print_error("%s on %s (partition %d offset %lld): %d dead letters, want 1\n", s[j].msg->name, s[j].topic,
                        (int)s[j].partition, (long long)s[j].offset, s[j].hits);
            missing++;
        }
    }
    /* The refused URLs: facts saying so, from image-worker (the barrage on imageFactsReady is ours). */
    char facts_topic[160];
    full_topic("imageFactsReady", facts_topic, sizeof facts_topic);
    size_t n_facts = 0;
    size_t facts_in = n_ssrf + 1; /* the refused URLs' and the valid one above, after the barrage */
    for (size_t t = 0; t < N_INPUTS; t++)
        if (strcmp(inputs[t].topic, "imageFactsReady") == 0) facts_in += n_bad[t];
    bf_test_msg *facts = bf_test_consume_all(facts_topic, facts_in, 3000, 120000, &n_facts);
    for (size_t i = 0; i < n_facts; i++) {
        bf_msg_image_facts_ready f;
        if (bf_msg_image_facts_ready_decode(facts[i].payload, facts[i].len, &f, err, sizeof err) != 0) continue;
        if (f.facts.not_analysed && strcmp(f.facts.error.code, "fetch_blocked") == 0 &&
            strcmp(f.env.producer, "image-worker") == 0)
            blocked++;
        bf_msg_image_facts_ready_free(&f);
    }
    bf_test_msgs_free(facts, n_facts);
    print_message("dead letters: %zu read, %zu matched one to one, %zu unexpected, %zu wrong; %zu fetch_blocked facts\n",
                  n_dl, n_sent - missing, unexpected, missing, blocked);

    /* Still alive, still answering, still processing. */
    for (size_t i = 0; i < N_WORKERS; i++) {
        int status = 0;
        if (waitpid(w[i].pid, &status, WNOHANG) != 0) {
            dump_log(&w[i]);
            fail_msg("%s exited during the barrage (status %d)", workers[i], status);
        }
        long code = healthz(w[i].port);
        if (code != 200) {
            dump_log(&w[i]);
            fail_msg("%s /healthz on port %d answered %ld after the barrage", workers[i], w[i].port, code);
        }
    }
    char topic[160];
    full_topic("brainDecisions", topic, sizeof topic);
    size_t n_dec = 0;
    bf_test_msg *dec = bf_test_consume_all(topic, 1, 1500, 120000, &n_dec);
    bool decided = false;
    for (size_t i = 0; i < n_dec; i++) {
        bf_msg_brain_decision d;
        if (bf_msg_brain_decision_decode(dec[i].payload, dec[i].len, &d, err, sizeof err) == 0) {
            if (strcmp(d.request_id, rid) == 0) decided = true;
            bf_msg_brain_decision_free(&d);
        }
    }
    bf_test_msgs_free(dec, n_dec);
    full_topic("imageFactsProcessed", topic, sizeof topic);
    size_t n_proc = 0;
    bf_test_msg *proc = bf_test_consume_all(topic, 1, 1500, 120000, &n_proc);
    bool persisted = false;
    for (size_t i = 0; i < n_proc; i++) {
        bf_msg_image_facts_processed p;
        if (bf_msg_image_facts_processed_decode(proc[i].payload, proc[i].len, &p, err, sizeof err) == 0) {
            if (strcmp(p.source_event_id, facts_event) == 0) persisted = true;
            bf_msg_image_facts_processed_free(&p);
        }
    }
    bf_test_msgs_free(proc, n_proc);

    /* Clean shutdown, and the secret never printed. */
    for (size_t i = 0; i < N_WORKERS; i++) {
        kill(w[i].pid, SIGTERM);
        int status = 0;
        waitpid(w[i].pid, &status, 0);
        g_pids[i] = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            dump_log(&w[i]);
            fail_msg("%s did not exit cleanly on SIGTERM (status %d)", workers[i], status);
        }
        size_t ll = 0;
        char *logtext = read_file(w[i].log, &ll);
        if (logtext && strstr(logtext, SECRET_KEY)) fail_msg("%s printed BRAINFLEET_LLM_API_KEY", workers[i]);
        free(logtext);
        unlink(w[i].log);
    }
    for (size_t t = 0; t < N_INPUTS; t++) {
        for (size_t i = 0; i < n_bad[t]; i++) {
            free(bad[t][i].key);
            free(bad[t][i].bytes);
        }
        free(bad[t]);
    }
    free(s);
    curl_global_cleanup();
    assert_int_equal(missing, 0);
    assert_int_equal(unexpected, 0);
    assert_int_equal(blocked, n_ssrf);
    assert_true(decided);
    assert_true(persisted);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test_teardown(test_bad_input_barrage, stop_leftovers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
