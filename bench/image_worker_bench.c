/* image-worker figures, each beside its baseline in the same run:
 *
 *   analyse   built-in analyses/s (decode + analysis) on one core (this process, one thread) for
 *             256x256, 1024x768 and 4000x3000 JPEGs, beside the decoder alone on the same bytes
 *             (libjpeg-turbo, as in the worker): the ratio is the target (>= 0.5 at 1024x768,
 *             >= 0.25 at 256x256) and the analysis' own cost is the difference. Beside them a
 *             peer on the same bytes: Pillow's decode + quantize(6) + ImageStat, with its default
 *             (median cut) and its fastest (octree) quantizer, and its decode alone. Median of
 *             several repetitions.
 *   pipeline  images/s through one image-worker process (the real binary, real broker) with the
 *             fake vision model answering after 0 ms and after 1500 ms, beside the same binary
 *             limited to one transfer at a time (BRAINFLEET_FETCH_CONCURRENCY=1): with 1500 ms per
 *             call a sequential worker cannot beat 0.67 images/s, so concurrency is the point.
 *   memory    the memory budget (docs/image-analysis.md, "Memory"): first each decoder's peak,
 *             bytes per pixel (a child process per format, its peak RSS reset before the decode),
 *             beside the IMAGE_DECODE_PEAK_BPP the budget plans with; then peak RSS (VmHWM) of one
 *             image-worker process (the real binary, real broker) while 64 requests for distinct
 *             4000x3000 JPEGs arrive at once (the image server answers each after 1.5 s, so the
 *             downloads overlap), with a budget that holds all 64, one that holds 16, and the base
 *             manifest's defaults (1G: 20 at once; not with --quick), beside the same process
 *             idle: peak - idle must stay within the budget.
 *
 * Not a test: it prints a table and one JSON line, asserts nothing.
 *   build/release/bench/image_worker_bench analyse [--quick]
 *   eval "$(scripts/stack env)"; build/release/bench/image_worker_bench pipeline|memory [--quick]
 * BF_BUILD_DIR (default: the bench binary's ../) locates image-worker and fake_openai. */
#include <curl/curl.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "bf_fake_server.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_runtime.h"
#include "bf_test_image.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"
#include "bf_test_proxy.h"
#include "image_analyse.h"
#include "image_budget.h"
#include "image_decode.h"
#include "image_jpeg.h"

/* Seconds, from the test support clock. */
static double now_s(void) { return (double)bf_test_now_ms() / 1000.0; }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct { unsigned char *data; size_t len, cap; } membuf;

static void to_mem(void *ctx, void *data, int size) {
    membuf *m = ctx;
    if (m->len + (size_t)size > m->cap) {
        m->cap = (m->len + (size_t)size) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->len, data, (size_t)size);
    m->len += (size_t)size;
}

/* A photo-like test image: smooth gradients plus texture, so JPEG and the palette both work. */
static membuf make_jpeg(int w, int h) {
    unsigned char *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)(255 * x / w);
            p[1] = (unsigned char)(255 * y / h);
            p[2] = (unsigned char)((x * 7 + y * 13) & 255);
        }
    membuf m = {0};
    stbi_write_jpg_to_func(to_mem, &m, w, h, 3, px, 90);
    free(px);
    return m;
}

/* The peer: Pillow (Debian's python3-pil) on the same JPEG bytes, in a python3 process pinned
 * like this one (taskset is inherited). One analysis = decode, quantize to 6 colours with the
 * colour counts, and ImageStat's per-channel mean and deviation: fewer measures than ours (no
 * luma, no HSV saturation), which favours Pillow. Two quantizers: `Image.quantize(6)` as is
 * (median cut, Pillow's default for RGB) and the fast octree (Pillow's fastest). Its decode alone
 * is timed too. Each repetition runs for at least 0.3 s (one call at least), and a measure whose
 * first repetition took over 2 s is not repeated. Prints "<median-cut/s> <octree/s> <decodes/s>",
 * medians over the repetitions. */
static const char pillow_script[] =
    "import io, statistics, sys, time\n"
    "from PIL import Image, ImageStat\n"
    "data = open(sys.argv[1], 'rb').read()\n"
    "reps = int(sys.argv[2])\n"
    "def decode():\n"
    "    im = Image.open(io.BytesIO(data))\n"
    "    im.load()\n"
    "    return im\n"
    "def analyse(method):\n"
    "    im = decode()\n"
    "    q = im.quantize(6) if method is None else im.quantize(6, method=method)\n"
    "    st = ImageStat.Stat(im)\n"
    "    return q.getcolors(), st.mean, st.stddev\n"
    "def rate(fn):\n"
    "    out = []\n"
    "    for r in range(reps):\n"
    "        n, t0 = 0, time.perf_counter()\n"
    "        while n == 0 or time.perf_counter() - t0 < 0.3:\n"
    "            fn()\n"
    "            n += 1\n"
    "        took = time.perf_counter() - t0\n"
    "        out.append(n / took)\n"
    "        if r == 0 and took > 2:\n"
    "            break\n"
    "    return statistics.median(out)\n"
    "print('%.3f %.3f %.3f' % (rate(lambda: analyse(None)), rate(lambda: analyse(Image.Quantize.FASTOCTREE)),\n"
    "                          rate(decode)))\n";

/* Pillow's analyses/s (median cut, octree) and decodes/s on jpg; -1 when python3 or Pillow is
 * missing. */
static void pillow_rates(const membuf *jpg, int reps, double rates[3]) {
    rates[0] = rates[1] = rates[2] = -1;
    char dir[] = "/tmp/bf-img-peer-XXXXXX";
    if (!mkdtemp(dir)) return;
    char img[64], py[64], cmd[512];
    snprintf(img, sizeof img, "%s/in.jpg", dir);
    snprintf(py, sizeof py, "%s/peer.py", dir);
    FILE *f = fopen(img, "wb"), *g = fopen(py, "w");
    int ok = f && g && fwrite(jpg->data, 1, jpg->len, f) == jpg->len && fputs(pillow_script, g) >= 0;
    if (f) fclose(f);
    if (g) fclose(g);
    if (ok) {
        /* Debian's interpreter first: python3-pil is installed for it, and PATH may name another. */
        snprintf(cmd, sizeof cmd,
                 "{ test -x /usr/bin/python3 && exec /usr/bin/python3 %s %s %d || exec python3 %s %s %d; }"
                 " 2>/dev/null",
                 py, img, reps, py, img, reps);
        FILE *p = popen(cmd, "r");
        if (p) {
            if (fscanf(p, "%lf %lf %lf", &rates[0], &rates[1], &rates[2]) != 3) rates[0] = rates[1] = rates[2] = -1;
            pclose(p);
        }
    }
    unlink(img);
    unlink(py);
    rmdir(dir);
}

static void bench_analyse(bool quick) {
    static const int sizes[][2] = {{256, 256}, {1024, 768}, {4000, 3000}};
    int reps = quick ? 3 : 7;
    printf("%-10s %11s %13s %6s %10s | %13s %11s %12s %9s\n", "image", "analyses/s", "decode-only/s", "ratio",
           "analyse ms", "pillow mcut/s", "pillow oct/s", "pillow dec/s", "vs best");
    char json[3072] = "";
    for (int s = 0; s < 3; s++) {
        membuf jpg = make_jpeg(sizes[s][0], sizes[s][1]);
        /* Enough iterations per repetition for ~0.3 s of work on the small sizes. */
        int iters = s == 0 ? (quick ? 50 : 200) : s == 1 ? (quick ? 10 : 30) : (quick ? 2 : 4);
        double full[9], dec[9];
        for (int r = 0; r < reps; r++) {
            double t0 = now_s();
            for (int i = 0; i < iters; i++) {
                uint32_t w, h;
                image_jpeg_status st;
                char err[256];
                free(image_jpeg_decode_new(jpg.data, jpg.len, 65535, UINT64_MAX, &w, &h, NULL, &st, err, sizeof err));
            }
            dec[r] = iters / (now_s() - t0);
            t0 = now_s();
            for (int i = 0; i < iters; i++) {
                image_decode_status st;
                char err[256];
                image_rgb *img = image_decode_new(jpg.data, jpg.len, NULL, &st, err, sizeof err);
                image_facts f;
                if (!img || image_analyse(img, &f, err, sizeof err) != 0) {
                    fprintf(stderr, "analyse failed: %s\n", err);
                    exit(1);
                }
                image_rgb_free(img);
            }
            full[r] = iters / (now_s() - t0);
        }
        double a = median(full, reps), d = median(dec, reps);
        /* The analysis' own cost: what a decode plus analysis takes beyond the decode. */
        double own_ms = (1.0 / a - 1.0 / d) * 1000.0;
        double peer[3];
        pillow_rates(&jpg, reps, peer);
        double best = peer[0] > peer[1] ? peer[0] : peer[1];
        char label[32], cols[96] = "n/a (python3-pil missing)";
        snprintf(label, sizeof label, "%dx%d", sizes[s][0], sizes[s][1]);
        if (best > 0) snprintf(cols, sizeof cols, "%13.2f %11.2f %12.1f %8.1fx", peer[0], peer[1], peer[2], a / best);
        printf("%-10s %11.1f %13.1f %6.2f %10.2f | %s\n", label, a, d, a / d, own_ms, cols);
        fflush(stdout);
        size_t l = strlen(json);
        snprintf(json + l, sizeof json - l,
                 "%s{\"size\":\"%s\",\"analyses_per_s\":%.1f,\"decode_only_per_s\":%.1f,\"ratio\":%.3f,"
                 "\"analyse_only_ms\":%.3f,\"pillow_mediancut_per_s\":%.3f,\"pillow_octree_per_s\":%.3f,"
                 "\"pillow_decode_per_s\":%.1f}",
                 s ? "," : "", label, a, d, a / d, own_ms, peer[0], peer[1], peer[2]);
        free(jpg.data);
    }
    printf("{\"bench\":\"image_analyse\",\"results\":[%s],\"repetitions\":%d,\"statistic\":\"median\","
           "\"targets\":\"ratio >= 0.5 at 1024x768, >= 0.25 at 256x256; analyses/s above pillow's\"}\n",
           json, reps);
}

/* ---- pipeline ---- */

/* image-worker on the stack's broker under prefix, with settings (NULL-terminated "NAME=value"
 * lines; they come first, so they win over the defaults after them). */
static pid_t spawn_worker(const char *bin, const char *prefix, const char *const *settings) {
    char brokers[256], pfx[64], group[96];
    snprintf(brokers, sizeof brokers, "BRAINFLEET_KAFKA_BROKERS=%s", bf_test_brokers());
    snprintf(pfx, sizeof pfx, "BRAINFLEET_TOPIC_PREFIX=%s", prefix);
    snprintf(group, sizeof group, "BRAINFLEET_GROUP_ID=%simage", prefix);
    pid_t pid = fork();
    if (pid == 0) {
        bf_test_child_dies_with_parent();
        char *envp[32];
        size_t n = 0;
        for (size_t i = 0; settings && settings[i] && n < 20; i++) envp[n++] = (char *)settings[i];
        const char *const base[] = {brokers, pfx, group, "BRAINFLEET_HTTP_PORT=0",
                                    "BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32", "BRAINFLEET_LOG_LEVEL=warn",
                                    "BRAINFLEET_MAX_IN_FLIGHT=1000", "BRAINFLEET_CACHE_ENTRIES=0", NULL};
        for (size_t i = 0; base[i]; i++) envp[n++] = (char *)base[i];
        envp[n] = NULL;
        execle(bin, bin, (char *)NULL, envp);
        _exit(127);
    }
    return pid;
}

/* Produces request i (a distinct URL of one small image: the cache is off anyway). */
static void send_analysis_request(rd_kafka_t *rk, const char *topic, const char *image_base, int i) {
    bf_msg_image_analysis_requested m = {0};
    char err[256], url[256], project[32];
    snprintf(project, sizeof project, "bench-%d", i % 50);
    bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, project, NULL, "bench", bf_wall_ms(), err, sizeof err);
    bf_uuid_v7(m.request_id);
    bf_trace_id_new(m.image_trace_id);
    snprintf(url, sizeof url, "%s/images/bench.jpg?n=%d", image_base, i);
    m.url = url;
    char *json = bf_msg_image_analysis_requested_encode(&m, err, sizeof err);
    while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(project, strlen(project)),
                             RD_KAFKA_V_VALUE(json, strlen(json)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 10);
    rd_kafka_poll(rk, 0);
    free(json);
}

/* Images/s for n requests through one worker: from the first request produced to the last
 * facts' timestamp. One warm-up image goes through first, so the worker's start, its group join
 * and first connections are not counted (with a few images they would be most of the time). */
static double pipeline_run(const char *bin, const char *image_base, const char *vision_url, int concurrency, int n) {
    char prefix[32];
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *topics[] = {"imageAnalysisRequested", "imageFactsReady", "deadLetters"};
    bf_test_create_topics(prefix, topics, 3, 6);
    char topic[128], out[128];
    snprintf(topic, sizeof topic, "%simageAnalysisRequested", prefix);
    snprintf(out, sizeof out, "%simageFactsReady", prefix);
    char vision[256], conc[64];
    snprintf(vision, sizeof vision, "BRAINFLEET_VISION_URL=%s", vision_url);
    snprintf(conc, sizeof conc, "BRAINFLEET_FETCH_CONCURRENCY=%d", concurrency);
    const char *const settings[] = {vision, conc, "BRAINFLEET_VISION_MODEL=fake", NULL};
    pid_t pid = spawn_worker(bin, prefix, settings);
    rd_kafka_t *rk = bf_test_producer_new(5);
    send_analysis_request(rk, topic, image_base, -1);
    rd_kafka_flush(rk, 10000);
    size_t got = 0;
    bf_test_msgs_free(bf_test_consume_all(out, 1, 0, 60000, &got), got);
    if (got < 1) fprintf(stderr, "pipeline: the warm-up image was not analysed in 60 s\n");
    int64_t t0 = bf_wall_ms();
    for (int i = 0; i < n; i++) send_analysis_request(rk, topic, image_base, i);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    bf_test_msg *msgs = bf_test_consume_all(out, (size_t)n + 1, 100, 600000, &got);
    int64_t last = t0;
    for (size_t i = 0; i < got; i++)
        if (msgs[i].timestamp_ms > last) last = msgs[i].timestamp_ms;
    bf_test_msgs_free(msgs, got);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    got = got ? got - 1 : 0; /* the warm-up */
    if ((int)got < n) fprintf(stderr, "pipeline: only %zu of %d facts arrived\n", got, n);
    return last > t0 ? (double)got * 1000.0 / (double)(last - t0) : 0;
}

static void start_fake(bf_fake_server *fs, const char *images_dir, const char *latency_ms) {
    const char *args[] = {"--images-dir", images_dir, "--latency-ms", latency_ms, "--content",
                          "{\"objects\":[\"gradient\"]}", "--max-connections", "2048", NULL};
    char err[256];
    if (bf_fake_server_start_unrecorded(fs, args, err, sizeof err) != 0) {
        fprintf(stderr, "fake: %s\n", err);
        exit(1);
    }
}

static void bench_pipeline(const char *build, bool quick) {
    char bin[600], dir[256];
    snprintf(bin, sizeof bin, "%s/image-worker/image-worker", build);
    snprintf(dir, sizeof dir, "/tmp/bf-img-bench-XXXXXX");
    if (!mkdtemp(dir)) exit(1);
    membuf jpg = make_jpeg(320, 240);
    char path[300];
    snprintf(path, sizeof path, "%s/bench.jpg", dir);
    FILE *f = fopen(path, "wb");
    fwrite(jpg.data, 1, jpg.len, f);
    fclose(f);
    free(jpg.data);
    setenv("BF_FAKE_OPENAI", "", 0);
    char fake_bin[600];
    snprintf(fake_bin, sizeof fake_bin, "%s/tests/fake_openai", build);
    setenv("BF_FAKE_OPENAI", fake_bin, 1);
    int n = quick ? 40 : 200, seq_slow = quick ? 4 : 6;
    static const int latencies[] = {0, 1500};
    printf("%-22s %12s %12s\n", "vision latency", "images/s", "sequential");
    char json[1024] = "";
    /* The fake delays every answer, so the images come from a prompt one of their own: only the
     * vision call costs the latency, and one at a time cannot beat 1 / latency. */
    bf_fake_server images;
    start_fake(&images, dir, "0");
    for (int li = 0; li < 2; li++) {
        char lat[16];
        snprintf(lat, sizeof lat, "%d", latencies[li]);
        bf_fake_server fs;
        start_fake(&fs, dir, lat);
        char vision[128];
        snprintf(vision, sizeof vision, "%s/v1/chat/completions", fs.url);
        double conc = pipeline_run(bin, images.url, vision, 256, n);
        /* Sequential: few images, it is slow by construction. */
        double seq = pipeline_run(bin, images.url, vision, 1, latencies[li] ? seq_slow : n / 4);
        bf_fake_server_stop(&fs);
        printf("%-22s %12.1f %12.2f\n", lat, conc, seq);
        size_t l = strlen(json);
        snprintf(json + l, sizeof json - l, "%s{\"vision_latency_ms\":%d,\"images_per_s\":%.2f,\"sequential_images_per_s\":%.2f}",
                 li ? "," : "", latencies[li], conc, seq);
    }
    bf_fake_server_stop(&images);
    printf("{\"bench\":\"image_pipeline\",\"images\":%d,\"results\":[%s]}\n", n, json);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

/* ---- memory ---- */

/* A field of /proc/<pid>/status in kB ("VmHWM"), -1 when unreadable. */
static long proc_kb(pid_t pid, const char *key) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* Resets this process's peak RSS to its current RSS (Linux: clear_refs 5). */
static void reset_peak(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0 || write(fd, "5", 1) != 1) perror("clear_refs");
    if (fd >= 0) close(fd);
}

static void to_mem_png(void *ctx, void *data, int size) { to_mem(ctx, data, size); }

enum { N_FORMATS = 8 };
static const char *const format_names[N_FORMATS] = {"avif", "heic", "jpeg-prog444", "webp-lossless",
                                                     "png",  "jpeg", "webp",         "bmp"};

/* Encodes the photo-like w x h image as format k, in this (child) process. */
static int encode_as(int k, int w, int h, bf_test_bytes *out) {
    uint8_t *rgb = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)(255 * x / w), p[1] = (uint8_t)(255 * y / h), p[2] = (uint8_t)((x * 7 + y * 13) & 255);
        }
    char err[256] = "";
    membuf m = {0};
    int rc = 0;
    switch (k) {
    case 0: rc = bf_test_heif_encode(rgb, w, h, 1, 0, out, err, sizeof err); break;
    case 1: rc = bf_test_heif_encode(rgb, w, h, 0, 0, out, err, sizeof err); break;
    case 2: rc = bf_test_jpeg_progressive_encode(rgb, w, h, out, err, sizeof err); break;
    case 3: rc = bf_test_webp_encode(rgb, w, h, 1, out, err, sizeof err); break;
    case 4: stbi_write_png_to_func(to_mem_png, &m, w, h, 3, rgb, w * 3); break;
    case 5: rc = bf_test_jpeg_encode(rgb, w, h, NULL, out, err, sizeof err); break;
    case 6: rc = bf_test_webp_encode(rgb, w, h, 0, out, err, sizeof err); break;
    case 7: stbi_write_bmp_to_func(to_mem_png, &m, w, h, 3, rgb); break;
    }
    if (m.data) out->data = m.data, out->len = m.len;
    free(rgb);
    if (rc != 0 || !out->data) fprintf(stderr, "%s: encode failed: %s\n", format_names[k], err);
    return rc != 0 || !out->data ? -1 : 0;
}

/* Bytes per pixel at the decoder's peak for each format, each decoded in a child of its own
 * whose peak RSS was reset just before; -1 for a format that failed. */
static void decode_peaks(int w, int h, double bpp[N_FORMATS]) {
    for (int k = 0; k < N_FORMATS; k++) {
        int fds[2];
        bpp[k] = -1;
        if (pipe(fds) != 0) continue;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            bf_test_bytes b = {0};
            double r = -1;
            if (encode_as(k, w, h, &b) == 0) {
                long before = proc_kb(getpid(), "VmRSS");
                reset_peak();
                image_decode_limits lim = {.max_pixels = (uint64_t)w * (uint64_t)h};
                image_decode_status st;
                char err[256];
                image_rgb *img = image_decode_new(b.data, b.len, &lim, &st, err, sizeof err);
                long peak = proc_kb(getpid(), "VmHWM");
                if (img) r = (double)(peak - before) * 1024.0 / ((double)w * h);
                else fprintf(stderr, "%s: %s\n", format_names[k], err);
            }
            if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
            _exit(0);
        }
        close(fds[1]);
        double r;
        if (pid > 0 && read(fds[0], &r, sizeof r) == (ssize_t)sizeof r) bpp[k] = r;
        close(fds[0]);
        if (pid > 0) waitpid(pid, NULL, 0);
    }
}

static size_t collect_text(char *d, size_t s, size_t n, void *ud) {
    membuf *m = ud;
    to_mem(m, d, (int)(s * n));
    return s * n;
}

/* A gauge's value from the worker's /metrics, -1 when absent. */
static double worker_gauge(int port, const char *name) {
    char url[96];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    membuf m = {0};
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_text);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    to_mem(&m, "", 1);
    double v = -1;
    size_t n = strlen(name);
    for (char *line = (char *)m.data; rc == CURLE_OK && line && *line;) {
        char *next = strchr(line, '\n');
        if (strncmp(line, name, n) == 0 && line[n] == ' ') v = strtod(line + n + 1, NULL);
        line = next ? next + 1 : NULL;
    }
    free(m.data);
    return v;
}

typedef struct mem_run {
    long long budget, slots;
    long idle_kb, peak_kb;
    double budgeted_peak; /* bf_image_memory_peak_bytes */
    int facts;
    double seconds;
} mem_run;

/* One image-worker with this budget: its idle RSS, then 64 requests at once, then its peak. */
static mem_run memory_run(const char *bin, const char *image_base, long long budget, long long max_bytes,
                          long long max_pixels, int n) {
    mem_run r = {.budget = budget};
    char prefix[32];
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *topics[] = {"imageAnalysisRequested", "imageFactsReady", "deadLetters"};
    bf_test_create_topics(prefix, topics, 3, 6);
    char bud[64], maxb[64], maxp[64], port_env[48];
    int port = bf_test_free_port();
    snprintf(bud, sizeof bud, "BRAINFLEET_IMAGE_MEMORY_BUDGET=%lld", budget);
    snprintf(maxb, sizeof maxb, "BRAINFLEET_MAX_IMAGE_BYTES=%lld", max_bytes);
    snprintf(maxp, sizeof maxp, "BRAINFLEET_MAX_IMAGE_PIXELS=%lld", max_pixels);
    snprintf(port_env, sizeof port_env, "BRAINFLEET_HTTP_PORT=%d", port);
    const char *const settings[] = {bud, maxb, maxp, port_env, "BRAINFLEET_FETCH_CONCURRENCY=64",
                                    "BRAINFLEET_FETCH_TIMEOUT=60s", NULL};
    pid_t pid = spawn_worker(bin, prefix, settings);
    /* Idle: joined the group (the first poll turns), nothing fetched yet. */
    for (int i = 0; i < 100 && worker_gauge(port, "bf_image_memory_slots") < 0; i++) usleep(100000);
    r.slots = (long long)worker_gauge(port, "bf_image_memory_slots");
    sleep(2);
    r.idle_kb = proc_kb(pid, "VmHWM");
    char topic[128], out[128];
    snprintf(topic, sizeof topic, "%simageAnalysisRequested", prefix);
    snprintf(out, sizeof out, "%simageFactsReady", prefix);
    rd_kafka_t *rk = bf_test_producer_new(5);
    double t0 = now_s();
    for (int i = 0; i < n; i++) send_analysis_request(rk, topic, image_base, i);
    rd_kafka_flush(rk, 10000);
    rd_kafka_destroy(rk);
    size_t got = 0;
    bf_test_msg *msgs = bf_test_consume_all(out, (size_t)n, 100, 300000, &got);
    r.seconds = now_s() - t0;
    /* Facts with measurements: an error would mean the image was not analysed. */
    for (size_t i = 0; i < got; i++) {
        static const char needle[] = "\"error\"";
        bool err = false;
        for (size_t k = 0; k + sizeof needle - 1 <= msgs[i].len && !err; k++)
            err = memcmp((const char *)msgs[i].payload + k, needle, sizeof needle - 1) == 0;
        r.facts += !err;
    }
    bf_test_msgs_free(msgs, got);
    r.peak_kb = proc_kb(pid, "VmHWM");
    r.budgeted_peak = worker_gauge(port, "bf_image_memory_peak_bytes");
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    return r;
}

static void bench_memory(const char *build, bool quick) {
    /* Decoders first, on a smaller picture (bytes per pixel do not depend on the size). */
    int dw = quick ? 1000 : 2000, dh = quick ? 750 : 1500;
    double bpp[N_FORMATS];
    decode_peaks(dw, dh, bpp);
    printf("decoder peak at %dx%d, bytes per pixel (the budget plans with %d per pixel + %uM):\n", dw, dh,
           IMAGE_DECODE_PEAK_BPP, IMAGE_DECODE_FIXED_BYTES >> 20);
    char json[4096] = "";
    for (int k = 0; k < N_FORMATS; k++) {
        printf("  %-14s %6.2f\n", format_names[k], bpp[k]);
        size_t l = strlen(json);
        snprintf(json + l, sizeof json - l, "%s\"%s\":%.2f", k ? "," : "", format_names[k], bpp[k]);
    }
    fflush(stdout);

    char bin[600], dir[256], path[300];
    snprintf(bin, sizeof bin, "%s/image-worker/image-worker", build);
    snprintf(dir, sizeof dir, "/tmp/bf-img-mem-XXXXXX");
    if (!mkdtemp(dir)) exit(1);
    membuf jpg = make_jpeg(4000, 3000);
    snprintf(path, sizeof path, "%s/bench.jpg", dir);
    FILE *f = fopen(path, "wb");
    fwrite(jpg.data, 1, jpg.len, f);
    fclose(f);
    /* The per-image reservation as tight as the image allows: a whole MiB above its size. */
    long long max_bytes = ((long long)jpg.len / (1 << 20) + 1) << 20;
    size_t jpg_len = jpg.len;
    free(jpg.data);
    char fake_bin[600];
    snprintf(fake_bin, sizeof fake_bin, "%s/tests/fake_openai", build);
    setenv("BF_FAKE_OPENAI", fake_bin, 1);
    bf_fake_server images;
    start_fake(&images, dir, "1500");
    const int n = 64;
    /* Tight settings for these images, with a budget for all 64 and one for 16; then the
     * defaults of the base manifest (1G, 20M, 40000000 pixels). */
    struct {
        const char *label;
        long long budget, max_bytes, max_pixels;
    } runs[] = {
        {"all 64", 12000000LL * IMAGE_DECODE_PEAK_BPP + IMAGE_DECODE_FIXED_BYTES + 64 * max_bytes, max_bytes, 12000000},
        {"16", 12000000LL * IMAGE_DECODE_PEAK_BPP + IMAGE_DECODE_FIXED_BYTES + 16 * max_bytes, max_bytes, 12000000},
        {"defaults", 1LL << 30, 20LL << 20, 40000000},
    };
    printf("\n%d requests at once for distinct 4000x3000 JPEGs of %.1f MB; tight settings: MAX_IMAGE_BYTES %lldM, "
           "MAX_IMAGE_PIXELS 12000000\n",
           n, (double)jpg_len / 1e6, max_bytes >> 20);
    printf("%-9s %9s %6s %9s %9s %10s %13s %10s %7s %6s\n", "settings", "budget", "slots", "idle MiB", "peak MiB",
           "peak-idle", "budgeted max", "of budget", "facts", "s");
    size_t l = strlen(json);
    snprintf(json + l, sizeof json - l, "},\"image_bytes\":%zu,\"runs\":[", jpg_len);
    for (int i = 0; i < (quick ? 2 : 3); i++) {
        long long budget = runs[i].budget;
        mem_run r = memory_run(bin, images.url, budget, runs[i].max_bytes, runs[i].max_pixels, n);
        double used_mib = (double)(r.peak_kb - r.idle_kb) / 1024.0, budget_mib = (double)budget / 1048576.0;
        printf("%-9s %8.0fM %6lld %9.1f %9.1f %10.1f %12.1fM %9.0f%% %4d/%d %6.1f\n", runs[i].label, budget_mib,
               r.slots, r.idle_kb / 1024.0, r.peak_kb / 1024.0, used_mib, r.budgeted_peak / 1048576.0,
               100.0 * used_mib / budget_mib, r.facts, n, r.seconds);
        fflush(stdout);
        l = strlen(json);
        snprintf(json + l, sizeof json - l,
                 "%s{\"settings\":\"%s\",\"budget_bytes\":%lld,\"slots\":%lld,\"idle_rss_kb\":%ld,\"peak_rss_kb\":%ld,"
                 "\"budgeted_peak_bytes\":%.0f,\"facts\":%d,\"seconds\":%.1f}",
                 i ? "," : "", runs[i].label, budget, r.slots, r.idle_kb, r.peak_kb, r.budgeted_peak, r.facts, r.seconds);
    }
    bf_fake_server_stop(&images);
    printf("{\"bench\":\"image_memory\",\"decode_peak_bytes_per_pixel\":{%s],\"requests\":%d,"
           "\"planned_bytes_per_pixel\":%d,\"target\":\"peak RSS - idle RSS <= budget\"}\n",
           json, n, IMAGE_DECODE_PEAK_BPP);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(int argc, char **argv) {
    bool quick = false;
    const char *mode = "analyse";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = true;
        else if (strcmp(argv[i], "analyse") == 0 || strcmp(argv[i], "pipeline") == 0 ||
                 strcmp(argv[i], "memory") == 0)
            mode = argv[i];
        else {
            fprintf(stderr, "usage: image_worker_bench [analyse|pipeline|memory] [--quick]\n");
            return 2;
        }
    }
    if (strcmp(mode, "analyse") == 0) {
        bench_analyse(quick);
        return 0;
    }
    char self[512], build[512];
    snprintf(self, sizeof self, "%s", argv[0]);
    const char *env = getenv("BF_BUILD_DIR");
    snprintf(build, sizeof build, "%s", env && *env ? env : dirname(dirname(self)));
    if (strcmp(mode, "memory") == 0) bench_memory(build, quick);
    else bench_pipeline(build, quick);
    return 0;
}
