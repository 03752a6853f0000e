/* The whole fleet, measured for real (the first version compared real timings with hard-coded
 * guesses). Three worker processes on the stack's Kafka and PostgreSQL, two fake models:
 *
 *   async vs blocking   requests with 2 images each (and, fewer, with 1 and with 0), under the first version's latency
 *                       assumptions: the brain LLM answers after 2000 ms, the vision model after
 *                       3000 ms, and the brain's context query costs 500 ms. The context cost is
 *                       real waiting, not a knob in the workers: brain-worker reaches PostgreSQL
 *                       through a TCP proxy in this process (tests/support/bf_test_proxy) that
 *                       holds each context statement (recognised by its SQL text) for 500 ms.
 *                       async:    the brain decides at once (await_image_facts_ms = 0); the facts
 *                                 arrive later as enrichments;
 *                       blocking: the brain waits for the facts first (await_image_facts_ms =
 *                                 60000), as the first version did.
 *                       Both kinds alternate through the same fleet (the wait is a field of the
 *                       request), so both pay the same context query, hops and machine load.
 *                       The brain reads context on its loop thread, so whatever another request
 *                       needs from that thread meanwhile (its LLM answer, its image facts) waits
 *                       up to the 500 ms. Requests are therefore paced 1800 ms apart: then every
 *                       event of a request (decision at ~2.5 s, facts at ~3.2 s, blocking
 *                       decision at ~5.3 s after it is sent) falls between other requests'
 *                       context reads, and the figure is one request's latency as the first
 *                       version modelled it. --pace-ms 0 (all at once) shows the queue instead.
 *                       Reported: request -> decision p50/p99 for both, the improvement ratio, and
 *                       async request -> last enrichment (when the editor has everything).
 *   fleet overhead      0 images, both models at 0 ms, no proxy: request -> decision is then
 *                       Kafka hops, context build and the brain's own work.
 *
 * Not a test: prints a table and one JSON line, asserts nothing.
 *   eval "$(scripts/stack env)"
 *   build/release/bench/e2e_bench [--quick] [--requests N] [--context-ms MS] [--pace-ms MS]
 * BF_BUILD_DIR (default: the bench binary's ../) locates the workers and fake_openai. The database
 * needs the migrations (scripts/stack up applies them). */
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "bf_fake_server.h"
#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_runtime.h"
#include "bf_test_kafka.h"
#include "brain_store.h"
#include "bf_test_proc.h"
#include "bf_test_proxy.h"

/* Text only brain-worker's context statement contains (brain-worker/brain_store.c); the proxy
 * holds the statements that contain it. If the SQL changes, the count of held statements drops
 * below the count of requests and the bench says so. */
#define CONTEXT_SQL_MARKER BRAIN_STORE_CONTEXT_STMT /* every context read carries its name */

static char build[512], prefix[32];
static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                     "imageFactsProcessed", "memoryUpdates", "brainDecisions", "deadLetters",
                                     "editorEvents"};

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static long long pct(long long *v, int n, double p) {
    if (n == 0) return -1;
    qsort(v, (size_t)n, sizeof *v, cmp_ll);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

/* Starts a worker; pg_dsn NULL means the stack's database directly. */
static pid_t spawn(const char *name, const char *pg_dsn, char *const *extra) {
    char bin[700], brokers[256], dsn[600], pfx[64], group[96];
    snprintf(bin, sizeof bin, "%s/%s/%s", build, name, name);
    snprintf(brokers, sizeof brokers, "BRAINFLEET_KAFKA_BROKERS=%s", bf_test_brokers());
    snprintf(dsn, sizeof dsn, "BRAINFLEET_PG_DSN=%s", pg_dsn ? pg_dsn : bf_test_pg_dsn());
    snprintf(pfx, sizeof pfx, "BRAINFLEET_TOPIC_PREFIX=%s", prefix);
    snprintf(group, sizeof group, "BRAINFLEET_GROUP_ID=%s%s", prefix, name);
    char *envp[24] = {brokers, dsn, pfx, group, "BRAINFLEET_HTTP_PORT=0", "BRAINFLEET_LOG_LEVEL=warn",
                      "BRAINFLEET_MAX_IN_FLIGHT=1000", "BRAINFLEET_BATCH_LINGER=5ms"};
    size_t n = 8;
    for (size_t i = 0; extra && extra[i] && n < 23; i++) envp[n++] = extra[i];
    envp[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        bf_test_child_dies_with_parent();
        execve(bin, (char *const[]){bin, NULL}, envp);
        _exit(127);
    }
    return pid;
}

typedef struct {
    char request_id[BF_UUID_LEN + 1];
    int64_t await_ms; /* 0: async; > 0: blocking */
    int64_t sent_ms;
    int64_t decided_ms, last_enriched_ms;
    int enrichments;
} req;

/* One long-lived producer: a client per message would add its own connection set-up to every
 * measured latency. */
static rd_kafka_t *producer(void) {
    static rd_kafka_t *rk;
    if (!rk) rk = bf_test_producer_new(0);
    return rk;
}

/* Sends one request for its own project (name) with images distinct to it: an image already
 * analysed for the project would be skipped, and its enrichment never come. */
static void send_request(req *r, const char *name, int images, const char *image_base) {
    char topic[128];
    snprintf(topic, sizeof topic, "%sbrainRequests", prefix);
    bf_msg_brain_request m = {0};
    char err[256], project[64], urls[2][256];
    char *uv[2] = {urls[0], urls[1]};
    snprintf(project, sizeof project, "%s%s", prefix, name);
    bf_envelope_init(&m.env, BF_SCHEMA_BRAIN_REQUESTS, project, NULL, "bench", bf_wall_ms(), err, sizeof err);
    bf_uuid_v7(m.request_id);
    snprintf(r->request_id, sizeof r->request_id, "%s", m.request_id);
    m.prompt = "Make a scene that looks like these images";
    for (int k = 0; k < images; k++) snprintf(urls[k], sizeof urls[k], "%s/images/bench.png?p=%s&k=%d", image_base, project, k);
    m.image_urls.v = uv;
    m.image_urls.n = (size_t)images;
    m.await_image_facts_ms = r->await_ms;
    char *json = bf_msg_brain_request_encode(&m, err, sizeof err);
    if (!json) {
        fprintf(stderr, "encode: %s\n", err);
        exit(1);
    }
    r->sent_ms = bf_wall_ms();
    if (rd_kafka_producev(producer(), RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(project, strlen(project)),
                          RD_KAFKA_V_VALUE(json, strlen(json)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_TIMESTAMP(r->sent_ms), RD_KAFKA_V_END) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "produce failed\n");
        exit(1);
    }
    free(json);
    rd_kafka_poll(producer(), 0);
}

/* Sends n requests, request i at i * pace_ms after the first (all at once when pace_ms is 0). */
static void send_paced(req *r, int n, int images, const char *image_base, int pace_ms) {
    int64_t start = bf_test_now_ms();
    for (int i = 0; i < n; i++) {
        int64_t due = start + (int64_t)i * pace_ms, now = bf_test_now_ms();
        if (due > now) bf_test_sleep_ms((int)(due - now));
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        send_request(&r[i], name, images, image_base);
    }
    rd_kafka_flush(producer(), 10000);
}

/* Reads brainDecisions until every request has its decision, and each async one its `images`
 * enrichments (a blocking request's facts are in its decision); `already` messages of earlier
 * requests are on the topic too. The count is exact, so a short idle wait after it is enough. */
static void collect(req *r, int n, int images, size_t already, int max_wait_ms) {
    char topic[128];
    snprintf(topic, sizeof topic, "%sbrainDecisions", prefix);
    size_t want = already, got = 0;
    for (int i = 0; i < n; i++) want += 1 + (r[i].await_ms > 0 ? 0 : (size_t)images);
    bf_test_msg *msgs = bf_test_consume_all(topic, want, 100, max_wait_ms, &got);
    if (got < want) fprintf(stderr, "e2e_bench: %zu of %zu decisions and enrichments arrived\n", got, want);
    for (size_t i = 0; i < got; i++) {
        bf_msg_brain_decision d;
        char err[256];
        if (bf_msg_brain_decision_decode(msgs[i].payload, msgs[i].len, &d, err, sizeof err) != 0) continue;
        for (int k = 0; k < n; k++) {
            if (strcmp(r[k].request_id, d.request_id) != 0) continue;
            if (d.kind == BF_DECISION_KIND_DECISION) r[k].decided_ms = msgs[i].timestamp_ms;
            else {
                r[k].enrichments++;
                if (msgs[i].timestamp_ms > r[k].last_enriched_ms) r[k].last_enriched_ms = msgs[i].timestamp_ms;
            }
        }
        bf_msg_brain_decision_free(&d);
    }
    bf_test_msgs_free(msgs, got);
}

typedef struct {
    long long p50, p99, enriched_p50, enriched_p99;
    int decided, n;
} result;

/* Figures of the requests whose kind (blocking or not) is `blocking`. */
static result summarise(req *r, int n, bool blocking) {
    long long *d = calloc((size_t)n, sizeof *d), *e = calloc((size_t)n, sizeof *e);
    int nd = 0, ne = 0, nk = 0;
    for (int i = 0; i < n; i++) {
        if ((r[i].await_ms > 0) != blocking) continue;
        nk++;
        if (r[i].decided_ms) d[nd++] = r[i].decided_ms - r[i].sent_ms;
        if (r[i].last_enriched_ms) e[ne++] = r[i].last_enriched_ms - r[i].sent_ms;
    }
    result out = {pct(d, nd, 0.5), pct(d, nd, 0.99), pct(e, ne, 0.5), pct(e, ne, 0.99), nd, nk};
    free(d);
    free(e);
    return out;
}

static void topics_fresh(void) {
    bf_test_unique_prefix(prefix, sizeof prefix);
    bf_test_create_topics(prefix, topics, sizeof topics / sizeof topics[0], 6);
}

static void stop(pid_t *pids, int n) {
    for (int i = 0; i < n; i++) kill(pids[i], SIGTERM);
    for (int i = 0; i < n; i++) waitpid(pids[i], NULL, 0);
}

typedef struct {
    const char *llm_url, *vision_url, *image_base;
    const char *brain_dsn; /* NULL: the stack's database directly */
    int requests, images, pace_ms;
    int blocking_every;     /* every k-th request (1-based) waits for its facts; 0: none */
} flow_opts;

/* One flow: fresh topics, three workers pointed at the fakes, o->requests requests, results in r
 * (o->requests of them). */
static void flow(const flow_opts *o, req *r) {
    topics_fresh();
    char llm[300], vision[300];
    snprintf(llm, sizeof llm, "BRAINFLEET_LLM_URL=%s", o->llm_url);
    snprintf(vision, sizeof vision, "BRAINFLEET_VISION_URL=%s/v1/chat/completions", o->vision_url);
    char *brain_env[] = {llm, "BRAINFLEET_LLM_MODEL=fake-brain", NULL};
    char *image_env[] = {vision, "BRAINFLEET_VISION_MODEL=fake-vision", "BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32",
                         "BRAINFLEET_CACHE_ENTRIES=0", NULL};
    pid_t pids[3] = {spawn("memory-writer", NULL, NULL), spawn("image-worker", NULL, image_env),
                     spawn("brain-worker", o->brain_dsn, brain_env)};
    /* One warm-up request through the whole path first: group joins and first connections are
     * not the flow's latency. */
    req warm = {0};
    send_request(&warm, "warm", o->images, o->image_base);
    rd_kafka_flush(producer(), 10000);
    collect(&warm, 1, o->images, 0, 60000);
    for (int i = 0; i < o->requests; i++)
        r[i].await_ms = o->blocking_every && (i + 1) % o->blocking_every == 0 ? 60000 : 0;
    send_paced(r, o->requests, o->images, o->image_base, o->pace_ms);
    collect(r, o->requests, o->images, (size_t)(1 + o->images), 120000);
    stop(pids, 3);
}

static void write_image(const char *dir) {
    unsigned char px[64 * 64 * 3];
    for (int i = 0; i < 64 * 64; i++) px[i * 3] = (unsigned char)(i & 255), px[i * 3 + 1] = 80, px[i * 3 + 2] = 160;
    char path[300];
    snprintf(path, sizeof path, "%s/bench.png", dir);
    stbi_write_png(path, 64, 64, 3, px, 64 * 3);
}

static void start_fake(bf_fake_server *fs, const char *latency, const char *content, const char *images_dir) {
    const char *args[] = {"--latency-ms", latency, "--content", content, "--images-dir", images_dir, NULL};
    char err[256];
    if (bf_fake_server_start_unrecorded(fs, args, err, sizeof err) != 0) {
        fprintf(stderr, "fake_openai: %s\n", err);
        exit(1);
    }
}

static int parse_ms(const char *s) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 0 || v > 600000) {
        fprintf(stderr, "e2e_bench: not a number of ms (or requests): %s\n", s);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv) {
    int n = 20, context_ms = 500, pace_ms = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) n = 4;
        else if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc) n = parse_ms(argv[++i]);
        else if (strcmp(argv[i], "--context-ms") == 0 && i + 1 < argc) context_ms = parse_ms(argv[++i]);
        else if (strcmp(argv[i], "--pace-ms") == 0 && i + 1 < argc) pace_ms = parse_ms(argv[++i]);
        else {
            fprintf(stderr, "usage: e2e_bench [--quick] [--requests N] [--context-ms MS] [--pace-ms MS]\n");
            return 2;
        }
    }
    if (n < 1) n = 1;
    if (pace_ms < 0) pace_ms = context_ms > 0 ? 1800 : 0;
    char self[512];
    snprintf(self, sizeof self, "%s", argv[0]);
    const char *env = getenv("BF_BUILD_DIR");
    snprintf(build, sizeof build, "%s", env && *env ? env : dirname(dirname(self)));
    char fake_bin[600];
    snprintf(fake_bin, sizeof fake_bin, "%s/tests/fake_openai", build);
    setenv("BF_FAKE_OPENAI", fake_bin, 1);
    char dir[] = "/tmp/bf-e2e-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    write_image(dir);
    /* The brain's calls offer tools, so its fake answers with function calls (an addScene) whatever
     * content it holds; the vision fake answers the facts below. */
    static const char facts[] = "{\"objects\":[\"gradient\"],\"style\":{\"aesthetic\":\"flat\"}}";

    /* The fake delays every answer, images included, so images come from a third, prompt one. */
    bf_fake_server brain, vision, images;
    start_fake(&images, "0", facts, dir);
    start_fake(&brain, "2000", facts, dir);
    start_fake(&vision, "3000", facts, dir);
    char slow_dsn[512];
    bf_test_proxy *px = bf_test_pg_proxy_start(context_ms, CONTEXT_SQL_MARKER, slow_dsn, sizeof slow_dsn);
    /* n async and n blocking requests, alternating, with 2 images; then fewer with 1 and with 0
     * images (the three cases; the 2-image flow is the headline). */
    req *mixed = calloc((size_t)(2 * n), sizeof *mixed);
    flow(&(flow_opts){.llm_url = brain.url, .vision_url = vision.url, .image_base = images.url,
                      .brain_dsn = slow_dsn, .requests = 2 * n, .images = 2, .pace_ms = pace_ms, .blocking_every = 2},
         mixed);
    result async = summarise(mixed, 2 * n, false), blocking = summarise(mixed, 2 * n, true);
    free(mixed);
    int n_few = n / 4 > 1 ? n / 4 : 1;
    result few_async[2], few_blocking[2];
    for (int k = 0; k < 2; k++) {
        req *rs = calloc((size_t)(2 * n_few), sizeof *rs);
        flow(&(flow_opts){.llm_url = brain.url, .vision_url = vision.url, .image_base = images.url,
                          .brain_dsn = slow_dsn, .requests = 2 * n_few, .images = k, .pace_ms = pace_ms,
                          .blocking_every = 2},
             rs);
        few_async[k] = summarise(rs, 2 * n_few, false);
        few_blocking[k] = summarise(rs, 2 * n_few, true);
        free(rs);
    }
    long held = bf_test_proxy_delayed(px);
    bf_test_proxy_stop(px);
    bf_fake_server_stop(&brain);
    bf_fake_server_stop(&vision);
    start_fake(&brain, "0", facts, dir);
    start_fake(&vision, "0", facts, dir);
    req *plain = calloc((size_t)n, sizeof *plain);
    flow(&(flow_opts){.llm_url = brain.url, .vision_url = vision.url, .image_base = images.url, .requests = n}, plain);
    result overhead = summarise(plain, n, false);
    free(plain);
    bf_fake_server_stop(&brain);
    bf_fake_server_stop(&vision);
    bf_fake_server_stop(&images);

    /* Every request of the first flow (and its warm-up) reads its context once; reads pipelined
     * together share a held chunk, so fewer chunks than reads is expected when requests overlap
     * (--pace-ms 0). None held means the marker no longer matches. */
    long want_held = context_ms > 0 ? 2L * n + 1 + 2 * (2L * n_few + 1) : 0;
    if (want_held > 0 && (held == 0 || (pace_ms >= 1000 && held < want_held)))
        fprintf(stderr, "e2e_bench: only %ld of %ld context reads were held %d ms: does brain_store.c's context SQL "
                        "still contain %s?\n", held, want_held, context_ms, CONTEXT_SQL_MARKER);
    else if (held < want_held)
        fprintf(stderr, "e2e_bench: %ld context reads went in %ld held chunks (pipelined together)\n", want_held, held);
    char label[96];
    printf("%-52s %10s %10s %9s\n", "flow (request -> ...)", "p50 ms", "p99 ms", "decided");
    snprintf(label, sizeof label, "async: decision (2 images, LLM 2 s, vision 3 s, ctx %d ms)", context_ms);
    printf("%-52s %10lld %10lld %5d/%d\n", label, async.p50, async.p99, async.decided, async.n);
    printf("%-52s %10lld %10lld\n", "async: decision + both image enrichments", async.enriched_p50, async.enriched_p99);
    printf("%-52s %10lld %10lld %5d/%d\n", "blocking: decision after the image facts", blocking.p50, blocking.p99,
           blocking.decided, blocking.n);
    for (int k = 1; k >= 0; k--) {
        snprintf(label, sizeof label, "async: decision (%d image%s)", k, k == 1 ? "" : "s");
        printf("%-52s %10lld %10lld %5d/%d\n", label, few_async[k].p50, few_async[k].p99, few_async[k].decided,
               few_async[k].n);
        snprintf(label, sizeof label, "blocking: decision (%d image%s)", k, k == 1 ? "" : "s");
        printf("%-52s %10lld %10lld %5d/%d\n", label, few_blocking[k].p50, few_blocking[k].p99, few_blocking[k].decided,
               few_blocking[k].n);
    }
    printf("%-52s %10lld %10lld %5d/%d\n", "fleet overhead: decision (no images, 0 ms, no proxy)", overhead.p50,
           overhead.p99, overhead.decided, overhead.n);
    double improvement = async.p50 > 0 ? (double)blocking.p50 / (double)async.p50 : 0;
    printf("time to decision, blocking / async (p50): %.2fx; context queries held %d ms: %ld; requests paced %d ms "
           "apart\n", improvement, context_ms, held, pace_ms);
    printf("{\"bench\":\"e2e\",\"requests\":%d,\"llm_ms\":2000,\"vision_ms\":3000,\"context_ms\":%d,\"pace_ms\":%d,"
           "\"context_queries_held\":%ld,\"async\":{\"p50_ms\":%lld,\"p99_ms\":%lld,\"enriched_p50_ms\":%lld,"
           "\"enriched_p99_ms\":%lld},\"blocking\":{\"p50_ms\":%lld,\"p99_ms\":%lld},\"overhead\":{\"p50_ms\":%lld,"
           "\"p99_ms\":%lld},\"blocking_over_async_p50\":%.3f,\"one_image\":{\"async_p50_ms\":%lld,"
           "\"blocking_p50_ms\":%lld},\"no_images\":{\"async_p50_ms\":%lld,\"blocking_p50_ms\":%lld}}\n",
           n, context_ms, pace_ms, held, async.p50, async.p99, async.enriched_p50, async.enriched_p99, blocking.p50,
           blocking.p99, overhead.p50, overhead.p99, improvement, few_async[1].p50, few_blocking[1].p50,
           few_async[0].p50, few_blocking[0].p50);
    rd_kafka_destroy(producer());
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
