/* memory-writer throughput, measured for real against the stack's Kafka and PostgreSQL:
 *
 *   writer       rows/s persisted by one memory-writer process (the real binary, default
 *                settings but BATCH_SIZE/MAX_IN_FLIGHT as given), and again (same messages, own
 *                topics) with WRITE_CONNECTIONS=2 for N imageFactsReady messages
 *                already waiting on the topic, from its first committed batch to its last
 *                (commit times read from the imageFactsProcessed it publishes after each COMMIT);
 *   copy         a plain COPY of the same rows (image_analysis + processed_events) in one
 *                transaction: the ceiling for getting these bytes into these tables;
 *   per-message  the same store code with one transaction per message (what a writer without
 *                batching does), on min(N / 10, 5000) messages: each costs a commit, so the rate
 *                is flat after a few hundred and more only add time;
 *   store only   the store code alone on prebuilt 500-message batches over 1 and over 2
 *                connections (separate projects each): the database's ceiling for the writer.
 *
 * The two-connection writer and COPY run --reps times in pairs (3; --quick: 1): rates are medians,
 * and the ratio is the median of each pair's ratio.
 *
 * Not a test: it prints a table and one JSON line, and asserts nothing.
 *   eval "$(scripts/stack env)"; build/<dir>/bench/memory_writer_bench [--quick] [--only=LIST] [N]
 * --only=writer,copy (any of writer, writer1, copy, one, store, store2) runs those parts alone,
 * for experiments; the others print as 0.
 * BF_BUILD_DIR (default: the bench binary's ../) locates memory-writer/memory-writer. */
#include <errno.h>
#include <libgen.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bf_db.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"
#include "bf_trace.h"
#include "memory_extract.h"
#include "memory_stage.h"
#include "memory_store.h"

#define PROJECTS 1000

static const char *const moods[] = {"calm", "energetic", "dramatic", "playful", "elegant"};
static const char *const colours[] = {"#1f3a93", "#ff0000", "#00c000", "#f39c12", "#8000ff"};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "memory_writer_bench: %s: %s\n", what, detail);
    exit(1);
}

/* Message i of a run: project, mood and colour vary so preferences see agreeing and
 * contradicting evidence. */
static char *message(const char *run, long i, bf_msg_image_facts_ready *m, char *url, size_t urllen) {
    memset(m, 0, sizeof *m);
    char project[96], err[512];
    snprintf(project, sizeof project, "%s-%ld", run, i % PROJECTS);
    if (bf_envelope_init(&m->env, BF_SCHEMA_IMAGE_FACTS_READY, project, NULL, "image-worker", 1700000000000, err,
                         sizeof err) != 0)
        die("envelope", err);
    bf_image_facts *f = &m->facts;
    bf_random_hex(f->trace_id, 16);
    bf_uuid_v7(f->request_id);
    bf_random_hex(f->content_hash, 32);
    snprintf(url, urllen, "https://example.com/%s/%ld.png", run, i);
    static char *urls[1];
    urls[0] = url;
    f->image_urls = (bf_strlist){urls, 1};
    snprintf(f->palette[0].hex, sizeof f->palette[0].hex, "%s", colours[(i / 7) % 5]);
    f->palette[0].share = 0.6;
    snprintf(f->palette[1].hex, sizeof f->palette[1].hex, "#fafafa");
    f->palette[1].share = 0.4;
    f->n_palette = 2;
    f->brightness = 0.5;
    f->contrast = 0.4;
    f->saturation = 0.6;
    f->temperature = BF_TEMP_COOL;
    f->mood = (bf_mood)bf_mood_parse(moods[(i / 3) % 5]);
    f->width = 1280;
    f->height = 720;
    f->orientation = BF_ORIENT_LANDSCAPE;
    f->analyser = BF_ANALYSER_BUILTIN;
    f->processing_ms = 40;
    char *json = bf_msg_image_facts_ready_encode(m, err, sizeof err);
    if (!json) die("encode", err);
    return json;
}

static long long count_rows(PGconn *c, const char *run) {
    char like[128];
    snprintf(like, sizeof like, "%s-%%", run);
    const char *p[] = {like};
    PGresult *r = PQexecParams(c, "SELECT count(*) FROM image_analysis WHERE project_id LIKE $1", 1, NULL, p, NULL,
                               NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) die("count", PQresultErrorMessage(r));
    long long n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return n;
}

static double bench_writer(const char *prefix, long n, const char *bin, const char *conns) {
    char topic[128], run[64];
    snprintf(topic, sizeof topic, "%simageFactsReady", prefix);
    snprintf(run, sizeof run, "%swriter", prefix);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "linger.ms", "20", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "compression.codec", "lz4", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) die("producer", errstr);
    for (long i = 0; i < n; i++) {
        bf_msg_image_facts_ready m;
        char url[256];
        char *json = message(run, i, &m, url, sizeof url);
        /* The headers image-worker's runtime puts on every message: without a traceparent the
         * runtime reads each envelope once more to continue its trace, which real inputs never
         * cost. */
        char tp[BF_TRACEPARENT_LEN + 1], version[12];
        snprintf(tp, sizeof tp, "00-%s-%016lx-01", m.env.trace_id, (unsigned long)i + 1);
        snprintf(version, sizeof version, "%d", BF_SCHEMA_VERSION);
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(m.env.project_id, strlen(m.env.project_id)),
                                 RD_KAFKA_V_VALUE(json, strlen(json)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_HEADER("traceparent", tp, -1),
                                 RD_KAFKA_V_HEADER(BF_HDR_SCHEMA, BF_SCHEMA_IMAGE_FACTS_READY, -1),
                                 RD_KAFKA_V_HEADER(BF_HDR_SCHEMA_VERSION, version, -1),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 50);
        free(json);
    }
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) die("produce", "not acknowledged");
    rd_kafka_destroy(rk);

    pid_t pid = fork();
    if (pid == 0) {
        bf_test_child_dies_with_parent(); /* a bench killed midway must not leave a writer behind */
        char group[96];
        snprintf(group, sizeof group, "%sbench", prefix);
        setenv("BRAINFLEET_TOPIC_PREFIX", prefix, 1);
        setenv("BRAINFLEET_GROUP_ID", group, 1);
        setenv("BRAINFLEET_HTTP_PORT", "0", 1);
        setenv("BRAINFLEET_LOG_LEVEL", "warn", 1);
        if (!getenv("BRAINFLEET_MAX_IN_FLIGHT")) setenv("BRAINFLEET_MAX_IN_FLIGHT", "2000", 1);
        setenv("BRAINFLEET_WRITE_CONNECTIONS", conns, 1);
        execl(bin, bin, "run", (char *)NULL);
        _exit(127);
    }
    /* The clock is read from imageFactsProcessed, which the writer publishes only after each
     * batch's COMMIT: its message timestamps are the commit times, at no cost to the database.
     * (Polling count(*) every 20 ms, as this bench first did, took ~40% of a core of PostgreSQL
     * away from the writer it was measuring.) */
    char out_topic[128];
    snprintf(out_topic, sizeof out_topic, "%simageFactsProcessed", prefix);
    size_t got = 0;
    bf_test_msg *out = bf_test_consume_all(out_topic, (size_t)n, 3000, 600000, &got);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    int64_t t_first = INT64_MAX, t_last = 0;
    for (size_t i = 0; i < got; i++) {
        if (out[i].timestamp_ms < t_first) t_first = out[i].timestamp_ms;
        if (out[i].timestamp_ms > t_last) t_last = out[i].timestamp_ms;
    }
    size_t after_first = 0; /* rows committed after the first batch's commit */
    for (size_t i = 0; i < got; i++) after_first += out[i].timestamp_ms > t_first;
    bf_test_msgs_free(out, got);
    PGconn *c = PQconnectdb(bf_test_pg_dsn());
    long long rows = count_rows(c, run);
    PQfinish(c);
    if (rows != n || got < (size_t)n) die("writer", "did not persist every message within 10 minutes");
    return t_last > t_first ? (double)after_first * 1000.0 / (double)(t_last - t_first) : 0;
}

static void put(PGconn *c, const char *s) {
    if (PQputCopyData(c, s, (int)strlen(s)) != 1) die("copy", PQerrorMessage(c));
}

static void exec_ok(PGconn *c, const char *sql) {
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_COPY_IN) die(sql, PQresultErrorMessage(r));
    PQclear(r);
}

static void end_copy(PGconn *c) {
    if (PQputCopyEnd(c, NULL) != 1) die("copy end", PQerrorMessage(c));
    PGresult *r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) die("copy", PQresultErrorMessage(r));
    PQclear(r);
    while ((r = PQgetResult(c))) PQclear(r);
}

static double bench_copy(const char *prefix, long n) {
    char run[64];
    snprintf(run, sizeof run, "%scopy", prefix);
    /* Rows are built before the clock starts: COPY's rate is the database's, not our printf's. */
    char **an = malloc((size_t)n * sizeof *an), **ev = malloc((size_t)n * sizeof *ev);
    for (long i = 0; i < n; i++) {
        bf_msg_image_facts_ready m;
        char url[256], line[2048];
        free(message(run, i, &m, url, sizeof url));
        snprintf(line, sizeof line,
                 "%s\t%s\t%s\t%s\t{\"%s\"}\t[{\"hex\":\"%s\",\"share\":0.6},{\"hex\":\"#fafafa\",\"share\":0.4}]\t"
                 "0.5\t0.4\t0.6\tcool\t%s\t1280\t720\tlandscape\t[]\t[]\tbuiltin\t40\t%s\n",
                 m.env.project_id, m.facts.trace_id, m.facts.request_id, m.facts.content_hash, url,
                 m.facts.palette[0].hex, bf_mood_name(m.facts.mood), m.env.event_id);
        an[i] = strdup(line);
        snprintf(line, sizeof line, "%s\t%s\n", MEMORY_CONSUMER, m.env.event_id);
        ev[i] = strdup(line);
    }
    PGconn *c = PQconnectdb(bf_test_pg_dsn());
    if (PQstatus(c) != CONNECTION_OK) die("postgres", PQerrorMessage(c));
    double t0 = now_s();
    exec_ok(c, "BEGIN");
    exec_ok(c, "COPY processed_events (consumer, event_id) FROM STDIN");
    for (long i = 0; i < n; i++) put(c, ev[i]);
    end_copy(c);
    exec_ok(c, "COPY image_analysis (project_id, trace_id, request_id, content_hash, image_urls, palette, brightness,"
               " contrast, saturation, temperature, mood, width, height, orientation, objects, visible_text, analyser,"
               " processing_ms, source_event_id) FROM STDIN");
    for (long i = 0; i < n; i++) put(c, an[i]);
    end_copy(c);
    exec_ok(c, "COMMIT");
    double dt = now_s() - t0;
    PQfinish(c);
    for (long i = 0; i < n; i++) free(an[i]), free(ev[i]);
    free(an);
    free(ev);
    return (double)n / dt;
}

/* A connection for the store code; log must outlive it. */
static bf_db *store_db(bf_log *log) {
    char err[1024];
    bf_log_init(log, stderr, "bench", BF_LOG_WARN);
    bf_db *db = bf_db_new(bf_test_pg_dsn(), log);
    if (!db || bf_db_connect(db, 1, 0, err, sizeof err) != 0) die("postgres", db ? err : "out of memory");
    return db;
}

/* Appends message i of run to b as the writer's handler would, selected for the next write. */
static void add_message(memory_batch *b, const char *run, long i) {
    char err[1024], url[256];
    bf_msg_image_facts_ready m, decoded;
    char *json = message(run, i, &m, url, sizeof url);
    if (bf_msg_image_facts_ready_decode(json, strlen(json), &decoded, err, sizeof err) != 0) die("decode", err);
    free(json);
    if (memory_extract_image_facts(b, NULL, &decoded, 0.2, 0, 0, err, sizeof err) != 0) die("extract", err);
    bf_msg_image_facts_ready_free(&decoded);
    b->items[b->n_items - 1].active = true;
}

static double bench_per_message(const char *prefix, long n) {
    char run[64], err[1024];
    snprintf(run, sizeof run, "%sone", prefix);
    bf_log log;
    bf_db *db = store_db(&log);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    double busy = 0;
    for (long i = 0; i < n; i++) {
        add_message(&b, run, i);
        double t0 = now_s();
        if (memory_store_write(db, &b, MEMORY_CONSUMER, err, sizeof err) != MEMORY_STORE_OK) die("write", err);
        busy += now_s() - t0;
        memory_batch_clear(&b);
    }
    memory_batch_free(&b);
    bf_db_free(db);
    return (double)n / busy;
}

/* The store alone: the writer's statements for BATCH_SIZE-message batches built beforehand,
 * timed around memory_store_write only; no Kafka, no decoding, no encoding. With conns > 1,
 * that many processes each write their own projects over their own connection, as the
 * writer's lanes do: the ceiling the database puts on a writer with that many connections. */
static void store_part(const char *run, long n, long batch, int conns, int part, double start_at) {
    char err[1024];
    bf_log log;
    bf_db *db = store_db(&log);
    long nb = (n / conns + batch - 1) / batch + 1, k = 0;
    memory_batch *bs = calloc((size_t)nb, sizeof *bs);
    if (!bs) die("store", "out of memory");
    memory_batch_init(&bs[0], MEMORY_AN_COLS, MEMORY_MSG_COLS);
    for (long i = 0; i < n; i++) {
        if (i % PROJECTS % conns != part) continue; /* message i belongs to project i % PROJECTS */
        if ((long)bs[k].n_items == batch) memory_batch_init(&bs[++k], MEMORY_AN_COLS, MEMORY_MSG_COLS);
        add_message(&bs[k], run, i);
    }
    while (now_s() < start_at) usleep(1000);
    for (long j = 0; j <= k; j++)
        if (memory_store_write(db, &bs[j], MEMORY_CONSUMER, err, sizeof err) != MEMORY_STORE_OK) die("write", err);
    for (long j = 0; j <= k; j++) memory_batch_free(&bs[j]);
    free(bs);
    bf_db_free(db);
}

static double bench_store_only(const char *prefix, long n, long batch, int conns) {
    char run[64];
    snprintf(run, sizeof run, "%sstore%d", prefix, conns);
    /* Every part builds its batches first; the clock starts when the slowest surely has. */
    double start_at = now_s() + 3.0 + (double)n / 20000.0;
    pid_t pids[8];
    for (int c = 0; c < conns; c++) {
        pids[c] = fork();
        if (pids[c] < 0) die("fork", "failed");
        if (pids[c] == 0) {
            store_part(run, n, batch, conns, c, start_at);
            _exit(0);
        }
    }
    for (int c = 0; c < conns; c++) {
        int st = 0;
        waitpid(pids[c], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("store", "a writing process failed");
    }
    if (now_s() <= start_at + 0.01) die("store", "the batches took longer to build than allowed for");
    return (double)n / (now_s() - start_at);
}

/* Whether part is in the --only list (every part when there is none). */
static bool wanted(const char *only, const char *part) {
    if (!only) return true;
    size_t l = strlen(part);
    for (const char *p = only; *p;) {
        size_t k = strcspn(p, ",");
        if (k == l && strncmp(p, part, l) == 0) return true;
        p += k + (p[k] == ',');
    }
    return false;
}

static double vs(double rate, double copy) { return copy > 0 ? rate / copy : 0; }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double s[16];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv) {
    long n = 100000;
    int reps = 3;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) n = 10000, reps = 1;
        else if (strncmp(argv[i], "--only=", 7) == 0) only = argv[i] + 7;
        else if (strncmp(argv[i], "--reps=", 7) == 0) {
            char *end;
            errno = 0;
            long v = strtol(argv[i] + 7, &end, 10);
            if (errno || *end || v < 1 || v > 16) die("usage", "--reps=1..16");
            reps = (int)v;
        }
        else {
            char *end;
            errno = 0;
            long v = strtol(argv[i], &end, 10);
            if (errno || *end || v <= 0) die("usage", "memory_writer_bench [--quick] [--reps=K] [--only=LIST] [N]");
            n = v;
        }
    }
    char bin[2048];
    const char *build = getenv("BF_BUILD_DIR");
    if (build) snprintf(bin, sizeof bin, "%s/memory-writer/memory-writer", build);
    else {
        char self[1024];
        snprintf(self, sizeof self, "%s", argv[0]);
        snprintf(bin, sizeof bin, "%s/../memory-writer/memory-writer", dirname(self));
    }
    if (access(bin, X_OK) != 0) die(bin, "not found (set BF_BUILD_DIR)");
    char prefix[32];
    bf_test_unique_prefix(prefix, sizeof prefix);
    static const char *const topics[] = {"imageFactsReady", "memoryUpdates", "editorEvents", "imageFactsProcessed",
                                         "deadLetters"};
    const size_t n_topics = sizeof topics / sizeof topics[0];
    bf_test_create_topics(prefix, topics, n_topics, 6);

    long n_one = n / 10 < 5000 ? (n / 10 > 0 ? n / 10 : 1) : 5000;
    fprintf(stderr, "memory_writer_bench: %ld messages (%d projects), prefix %s\n", n, PROJECTS, prefix);
    double writer = wanted(only, "writer1") ? bench_writer(prefix, n, bin, "1") : 0;
    /* The default writer (two lanes) and COPY, each run reps times in pairs, on topics of their
     * own: the ratio is taken per pair (the two ran a few seconds apart) and its median reported,
     * so one slow moment of a shared machine moves neither the figure nor the baseline alone. */
    double w2[16] = {0}, cp[16] = {0}, ratio[16] = {0};
    for (int r = 0; r < reps; r++) {
        char prefix2[48];
        snprintf(prefix2, sizeof prefix2, "%s2-%d-", prefix, r);
        if (wanted(only, "writer")) {
            bf_test_create_topics(prefix2, topics, n_topics, 6);
            w2[r] = bench_writer(prefix2, n, bin, "2");
        }
        if (wanted(only, "copy")) cp[r] = bench_copy(prefix, n);
        ratio[r] = vs(w2[r], cp[r]);
    }
    double writer2 = median(w2, reps), copy = median(cp, reps), writer_vs_copy = median(ratio, reps);
    double one = wanted(only, "one") ? bench_per_message(prefix, n_one) : 0;
    double store = wanted(only, "store") ? bench_store_only(prefix, n, 500, 1) : 0;
    double store2 = wanted(only, "store2") ? bench_store_only(prefix, n, 500, 2) : 0;
    printf("%-34s %12s %10s\n", "method", "rows/s", "vs COPY");
    printf("%-34s %12.0f %9.2fx\n", "memory-writer, 2 connections (default)", writer2, writer_vs_copy);
    printf("%-34s %12.0f %9.2fx\n", "memory-writer, 1 connection", writer, vs(writer, copy));
    printf("%-34s %12.0f %9.2fx\n", "plain COPY (same rows, 1 tx)", copy, vs(copy, copy));
    printf("%-34s %12.0f %9.2fx\n", "one transaction per message", one, vs(one, copy));
    printf("%-34s %12.0f %9.2fx\n", "store only (500/tx, 1 connection)", store, vs(store, copy));
    printf("%-34s %12.0f %9.2fx\n", "store only (500/tx, 2 connections)", store2, vs(store2, copy));
    if (reps > 1) {
        printf("(2 connections and COPY: medians of %d pairs; ratio per pair:", reps);
        for (int r = 0; r < reps; r++) printf(" %.2fx", ratio[r]);
        printf(", median %.2fx)\n", writer_vs_copy);
    }
    printf("{\"bench\":\"memory_writer\",\"messages\":%ld,\"projects\":%d,\"reps\":%d,\"writer_rows_per_s\":%.0f,"
           "\"copy_rows_per_s\":%.0f,\"per_message_rows_per_s\":%.0f,\"per_message_messages\":%ld,"
           "\"store_only_rows_per_s\":%.0f,\"store_only_2conn_rows_per_s\":%.0f,\"writer_1conn_rows_per_s\":%.0f,"
           "\"writer_vs_copy\":%.3f,\"writer_vs_copy_runs\":[",
           n, PROJECTS, reps, writer2, copy, one, n_one, store, store2, writer, writer_vs_copy);
    for (int r = 0; r < reps; r++) printf("%s%.3f", r ? "," : "", ratio[r]);
    printf("]}\n");
    return 0;
}
