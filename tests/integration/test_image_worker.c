/* image-worker end to end: the real binary against the real broker, images served by
 * fake_openai (which also plays the vision model). Known colours come out as facts; every bad
 * input class ends on deadLetters with its reason; the same URL is fetched once; identical bytes
 * are analysed (and sent to the vision model) once; a refused address never gets a request.
 * Images as users send them: WebP, animated WebP and GIF (their first frame), HEIC with a
 * rotation, AVIF, and a JPEG with EXIF orientation 6 come out with the colours, size and
 * orientation a person sees (the images made at test time with the libraries' own encoders). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stb/stb_image_write.h>

#include "bf_fake_server.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_test_image.h"
#include "bf_test_kafka.h"
#include "bf_test_proc.h"
#include "bf_test_proxy.h"
#include "bf_uuid.h"

static char dir[256], prefix[32];
static bf_fake_server fake;

static void write_png(const char *name, int w, int h, void (*px)(int x, int y, unsigned char *rgb)) {
    unsigned char *buf = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) px(x, y, buf + ((size_t)y * w + x) * 3);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_true(stbi_write_png(path, w, h, 3, buf, w * 3) != 0);
    free(buf);
}

static void half_red_blue(int x, int y, unsigned char *p) {
    (void)y;
    p[0] = x < 32 ? 255 : 0, p[1] = 0, p[2] = x < 32 ? 0 : 255;
}
static void noise(int x, int y, unsigned char *p) {
    unsigned v = ((unsigned)x * 73856093u) ^ ((unsigned)y * 19349663u);
    v ^= v >> 13, v *= 0x5bd1e995u, v ^= v >> 15;
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16);
}
static void black(int x, int y, unsigned char *p) {
    (void)x, (void)y;
    p[0] = p[1] = p[2] = 0;
}

static void write_file(const char *name, const void *data, size_t len) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(data, 1, len, f);
    fclose(f);
}

/* Produces a request for url `copies` times, byte for byte (a redelivery); its event id in
 * event_id when not NULL. */
static void send_request_n(const char *url, int copies, char *event_id) {
    bf_msg_image_analysis_requested m = {0};
    char err[256];
    assert_int_equal(bf_envelope_init(&m.env, BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, "proj-img", NULL, "test",
                                      1700000000000, err, sizeof err), 0);
    bf_uuid_v7(m.request_id);
    bf_trace_id_new(m.image_trace_id);
    m.url = (char *)url;
    char *json = bf_msg_image_analysis_requested_encode(&m, err, sizeof err);
    if (!json) fail_msg("encode: %s", err);
    char topic[128];
    snprintf(topic, sizeof topic, "%simageAnalysisRequested", prefix);
    for (int i = 0; i < copies; i++) bf_test_produce(topic, 0, "proj-img", json, strlen(json), NULL);
    free(json);
    if (event_id) snprintf(event_id, BF_UUID_LEN + 1, "%s", m.env.event_id);
}

static void send_request(const char *url, int64_t *offset_out) {
    (void)offset_out;
    send_request_n(url, 1, NULL);
}

static pid_t start_worker_with(const char *extra) {
    char bin[512], brokers[256], pfx[64], group[96], vision[128];
    bf_test_binary("image-worker/image-worker", bin, sizeof bin);
    snprintf(brokers, sizeof brokers, "BRAINFLEET_KAFKA_BROKERS=%s", bf_test_brokers());
    snprintf(pfx, sizeof pfx, "BRAINFLEET_TOPIC_PREFIX=%s", prefix);
    snprintf(group, sizeof group, "BRAINFLEET_GROUP_ID=%simage", prefix);
    snprintf(vision, sizeof vision, "BRAINFLEET_VISION_URL=%s/v1/chat/completions", fake.url);
    pid_t pid = fork();
    if (pid == 0) {
        bf_test_child_dies_with_parent();
        /* extra first: getenv takes the first of a name, so it overrides what follows. */
        char *const envp[] = {extra ? (char *)extra : brokers, brokers, pfx, group, vision, "BRAINFLEET_VISION_MODEL=fake-vision",
                              "BRAINFLEET_VISION_ATTEMPTS=1", "BRAINFLEET_HTTP_PORT=0",
                              "BRAINFLEET_FETCH_ALLOW_CIDRS=127.0.0.1/32", "BRAINFLEET_LOG_LEVEL=warn",
                              "BRAINFLEET_FETCH_TIMEOUT=2s", "BRAINFLEET_MAX_IMAGE_BYTES=64K",
                              "ASAN_OPTIONS=detect_leaks=1", NULL};
        execle(bin, bin, (char *)NULL, envp);
        _exit(127);
    }
    return pid;
}

static pid_t start_worker(void) { return start_worker_with(NULL); }

static bf_test_msg *wait_topic(const char *base, size_t n, size_t *got) {
    char topic[128];
    snprintf(topic, sizeof topic, "%s%s", prefix, base);
    return bf_test_consume_all(topic, n, 1500, 60000, got);
}

#define STATS_MAX 4096

static size_t collect(char *d, size_t s, size_t n, void *ud) {
    size_t have = strlen(ud), room = STATS_MAX - 1 - have;
    strncat(ud, d, s * n < room ? s * n : room);
    return s * n;
}

/* The fake's counters: all requests, chat requests, and 304s to conditional image GETs. */
static void fake_stats3(long *requests, long *chats, long *not_modified) {
    char url[128], body[STATS_MAX] = "";
    snprintf(url, sizeof url, "%s/_fake/stats", fake.url);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, (void *)body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    cJSON *j = cJSON_Parse(body);
    if (!j) fail_msg("stats: %s", body);
    *requests = (long)cJSON_GetObjectItem(j, "requests")->valuedouble;
    *chats = (long)cJSON_GetObjectItem(j, "chat_requests")->valuedouble;
    if (not_modified) *not_modified = (long)cJSON_GetObjectItem(j, "images_not_modified")->valuedouble;
    cJSON_Delete(j);
}

static const bf_image_facts *facts_for(bf_msg_image_facts_ready *all, size_t n, const char *url) {
    for (size_t i = 0; i < n; i++)
        if (all[i].facts.image_urls.n && strcmp(all[i].facts.image_urls.v[0], url) == 0) return &all[i].facts;
    fail_msg("no facts for %s", url);
    return NULL;
}

static double share_of(const bf_image_facts *f, const char *hex) {
    for (size_t i = 0; i < f->n_palette; i++)
        if (strcasecmp(f->palette[i].hex, hex) == 0) return f->palette[i].share;
    return 0;
}

/* SIGTERM: the worker must exit 0; then the fake and the images go. */
static void stop_all(pid_t worker) {
    kill(worker, SIGTERM);
    int status;
    waitpid(worker, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bf_fake_server_stop(&fake);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_image_worker_end_to_end(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bf-img-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_png("half.png", 64, 64, half_red_blue);
    write_png("half-copy.png", 64, 64, half_red_blue); /* same bytes, other URL */
    write_png("black.png", 32, 16, black);
    write_file("notimage.txt", "hello, not an image\n", 20);
    static const unsigned char corrupt[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                            0, 0, 0, 64, 0, 0, 0, 64, 8, 2, 0, 0, 0, 1, 2, 3, 4, 'g', 'a', 'r', 'b'};
    write_file("corrupt.png", corrupt, sizeof corrupt);
    write_file("text.png", "plain text, labelled a PNG\n", 27);
    static const unsigned char huge[54] = {'B', 'M', [10] = 54, [14] = 40, [18] = 0x20, [19] = 0x4e,
                                           [22] = 0x20, [23] = 0x4e, [26] = 1, [28] = 24}; /* 20000x20000 */
    write_file("huge.bmp", huge, sizeof huge);
    write_png("big.png", 300, 300, noise); /* above the worker's MAX_IMAGE_BYTES of 64K */
    const char *args[] = {"--images-dir", dir, "--content",
                          "{\"typography\":{\"weight\":\"bold\"},\"objects\":[\"stripe\"]}", NULL};
    char err[256];
    if (bf_fake_server_start(&fake, args, err, sizeof err) != 0) fail_msg("fake: %s", err);

    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *topics[] = {"imageAnalysisRequested", "imageFactsReady", "deadLetters"};
    bf_test_create_topics(prefix, topics, 3, 1);
    pid_t worker = start_worker();

    char half[256], copy[256], blk[256];
    snprintf(half, sizeof half, "%s/images/half.png", fake.url);
    snprintf(copy, sizeof copy, "%s/images/half-copy.png", fake.url);
    snprintf(blk, sizeof blk, "%s/images/black.png", fake.url);
    /* Each way an image can fail to be analysed, with the error its facts must carry and whether
     * bytes (so a content hash) came. */
    struct {
        char url[256];
        const char *code;
        bool hash;
    } fails[] = {
        {"", "fetch_status", false},      {"", "fetch_timeout", false},     {"", "fetch_connect", false},
        {"", "fetch_blocked", false},     {"", "fetch_protocol", false},    {"", "fetch_too_large", false},
        {"", "not_an_image", true},       {"", "image_unsupported", true},  {"", "image_too_large", true},
        {"", "image_corrupt", true},
    };
    enum { NF = sizeof fails / sizeof fails[0] };
    snprintf(fails[0].url, sizeof fails[0].url, "%s/images/missing.png", fake.url);
    /* Answers after 20 s; the worker gives up after 2 s, three times. */
    snprintf(fails[1].url, sizeof fails[1].url, "%s/images/half.png?fake-latency-ms=20000", fake.url);
    snprintf(fails[2].url, sizeof fails[2].url, "http://127.0.0.1:%d/images/half.png", bf_test_free_port());
    /* Loopback, but not the allow-listed 127.0.0.1: the guard must refuse it before connecting. */
    snprintf(fails[3].url, sizeof fails[3].url, "http://127.0.0.2:%d/images/half.png", fake.port);
    snprintf(fails[4].url, sizeof fails[4].url, "%s/redirect?to=ftp://127.0.0.1/half.png", fake.url);
    snprintf(fails[5].url, sizeof fails[5].url, "%s/images/big.png", fake.url);
    snprintf(fails[6].url, sizeof fails[6].url, "%s/images/notimage.txt", fake.url);
    snprintf(fails[7].url, sizeof fails[7].url, "%s/images/text.png", fake.url);
    snprintf(fails[8].url, sizeof fails[8].url, "%s/images/huge.bmp", fake.url);
    snprintf(fails[9].url, sizeof fails[9].url, "%s/images/corrupt.png", fake.url);

    send_request(half, NULL);
    size_t n;
    bf_test_msg *first = wait_topic("imageFactsReady", 1, &n);
    assert_int_equal(n, 1);
    bf_test_msgs_free(first, n);

    send_request(half, NULL); /* same URL: revalidated (304), not analysed again */
    send_request(copy, NULL); /* same bytes: fetched, not analysed or sent to the model again */
    send_request(blk, NULL);
    for (size_t i = 0; i < NF; i++) send_request(fails[i].url, NULL);
    char topic[128];
    snprintf(topic, sizeof topic, "%simageAnalysisRequested", prefix);
    bf_test_produce(topic, 0, "proj-img", "{not json", 9, NULL);

    enum { NOUT = 4 + NF };
    bf_test_msg *out = wait_topic("imageFactsReady", NOUT, &n);
    assert_int_equal(n, NOUT);
    bf_msg_image_facts_ready facts[NOUT];
    for (size_t i = 0; i < n; i++)
        if (bf_msg_image_facts_ready_decode(out[i].payload, out[i].len, &facts[i], err, sizeof err) != 0)
            fail_msg("facts %zu do not decode: %s", i, err);
    const bf_image_facts *h = facts_for(facts, n, half);
    assert_false(h->not_analysed);
    assert_true(share_of(h, "#ff0000") > 0.45 && share_of(h, "#ff0000") < 0.55);
    assert_true(share_of(h, "#0000ff") > 0.45 && share_of(h, "#0000ff") < 0.55);
    assert_int_equal(h->width, 64);
    assert_int_equal(h->orientation, BF_ORIENT_SQUARE);
    assert_int_equal(h->analyser, BF_ANALYSER_BUILTIN_VISION);
    assert_string_equal(h->model, "fake-vision");
    assert_string_equal(h->typography, "{\"weight\":\"bold\"}");
    assert_string_equal(h->objects.v[0], "stripe");
    const bf_image_facts *c = facts_for(facts, n, copy);
    assert_string_equal(c->content_hash, h->content_hash);
    const bf_image_facts *b = facts_for(facts, n, blk);
    assert_true(b->brightness < 0.05);
    assert_true(b->saturation < 0.01);
    assert_int_equal(b->mood, BF_MOOD_DARK);
    assert_int_equal(b->orientation, BF_ORIENT_LANDSCAPE);
    for (size_t i = 0; i < NF; i++) {
        const bf_image_facts *f = facts_for(facts, n, fails[i].url);
        if (!f->not_analysed || !f->error.present || strcmp(f->error.code, fails[i].code) != 0)
            fail_msg("%s: expected facts with error %s, got %s", fails[i].url, fails[i].code,
                     f->error.present ? f->error.code : "measurements");
        assert_true(f->n_palette == 0 && f->width == 0 && !f->typography);
        assert_int_equal(f->content_hash[0] != '\0', fails[i].hash);
        assert_true(strlen(f->error.message) > 0);
    }
    for (size_t i = 0; i < n; i++) bf_msg_image_facts_ready_free(&facts[i]);
    bf_test_msg *out4 = out; /* read again below for the black image's event id */

    /* Only the input that is not a request is a dead letter. */
    bf_test_msg *dl = wait_topic("deadLetters", 1, &n);
    assert_int_equal(n, 1);
    bf_msg_dead_letter d;
    if (bf_msg_dead_letter_decode(dl[0].payload, dl[0].len, &d, err, sizeof err) != 0) fail_msg("%s", err);
    assert_string_equal(d.reason_code, "invalid_message");
    bf_msg_dead_letter_free(&d);
    bf_test_msgs_free(dl, n);

    long requests, chats, not_modified;
    fake_stats3(&requests, &chats, &not_modified);
    /* GETs: half twice (the second conditional: 304), half-copy, black, missing, the slow one
     * three times, the redirect, big, notimage, text, huge, corrupt (14) + this stats call; the
     * refused address, the closed port and the ftp target never reached the server. Chats: half
     * and black only. */
    assert_int_equal(requests - chats, 15);
    assert_int_equal(not_modified, 1);
    assert_int_equal(chats, 2);

    /* A request delivered twice (the worker lost it before storing its offset) gives the same
     * imageFactsReady event both times, so memory-writer applies it once; another request for
     * the same image gives another event. */
    char blk_event[BF_UUID_LEN + 1] = "";
    for (size_t i = 0; i < NOUT; i++) {
        bf_msg_image_facts_ready f;
        if (bf_msg_image_facts_ready_decode(out4[i].payload, out4[i].len, &f, err, sizeof err) != 0) fail_msg("%s", err);
        if (strcmp(f.facts.image_urls.v[0], blk) == 0) snprintf(blk_event, sizeof blk_event, "%s", f.env.event_id);
        bf_msg_image_facts_ready_free(&f);
    }
    bf_test_msgs_free(out4, NOUT);
    assert_string_not_equal(blk_event, "");
    send_request_n(blk, 2, NULL);
    out = wait_topic("imageFactsReady", NOUT + 2, &n);
    assert_int_equal(n, NOUT + 2);
    bf_msg_image_facts_ready again[2];
    for (size_t i = 0; i < 2; i++)
        if (bf_msg_image_facts_ready_decode(out[NOUT + i].payload, out[NOUT + i].len, &again[i], err, sizeof err) != 0)
            fail_msg("%s", err);
    assert_string_equal(again[0].facts.image_urls.v[0], blk);
    assert_string_equal(again[0].env.event_id, again[1].env.event_id);
    assert_string_not_equal(again[0].env.event_id, blk_event);
    for (size_t i = 0; i < 2; i++) bf_msg_image_facts_ready_free(&again[i]);
    bf_test_msgs_free(out, n);

    stop_all(worker);
}

static void write_bytes(const char *name, bf_test_bytes b) {
    write_file(name, b.data, b.len);
    free(b.data);
}

/* The palette entry nearest to rgb (by squared sRGB distance), for lossy formats. */
static const bf_palette_entry *nearest(const bf_image_facts *f, const uint8_t rgb[3]) {
    const bf_palette_entry *best = NULL;
    long bd = 0;
    for (size_t i = 0; i < f->n_palette; i++) {
        unsigned r, g, b;
        if (sscanf(f->palette[i].hex, "#%02x%02x%02x", &r, &g, &b) != 3) fail_msg("hex %s", f->palette[i].hex);
        long d = ((long)r - rgb[0]) * ((long)r - rgb[0]) + ((long)g - rgb[1]) * ((long)g - rgb[1]) +
                 ((long)b - rgb[2]) * ((long)b - rgb[2]);
        if (!best || d < bd) best = &f->palette[i], bd = d;
    }
    assert_non_null(best);
    assert_true(bd < 40 * 40 * 3); /* near: lossy codecs move colours a little */
    return best;
}

static void test_image_worker_formats(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bf-img-XXXXXX");
    assert_non_null(mkdtemp(dir));
    static const uint8_t red[3] = {230, 20, 20}, green[3] = {20, 200, 20}, blue[3] = {20, 20, 230};
    char err[256];
    /* 64x32, stored landscape: red on the left quarter, blue on the rest. */
    uint8_t *two = bf_test_two_colour_new(64, 32, 16, red, blue);
    bf_test_bytes b = {0};
    if (bf_test_webp_encode(two, 64, 32, 1, &b, err, sizeof err) != 0) fail_msg("%s", err);
    write_bytes("two.webp", b);
    uint8_t *fr = bf_test_two_colour_new(20, 20, 20, red, red), *fg = bf_test_two_colour_new(20, 20, 20, green, green),
            *fb = bf_test_two_colour_new(20, 20, 20, blue, blue);
    const uint8_t *frames[] = {fr, fg, fb};
    if (bf_test_webp_anim_encode(frames, 3, 20, 20, &b, err, sizeof err) != 0) fail_msg("%s", err);
    write_bytes("anim.webp", b);
    const uint8_t colours[][3] = {{230, 20, 20}, {20, 200, 20}, {20, 20, 230}};
    assert_int_equal(bf_test_gif_anim_encode(colours, 3, 20, 20, &b), 0);
    write_bytes("anim.gif", b);
    /* The HEIC is marked "turn 90 degrees clockwise" (irot), like a phone held upright. */
    if (bf_test_heif_encode(two, 64, 32, 0, 6, &b, err, sizeof err) != 0) fail_msg("%s", err);
    write_bytes("photo.heic", b);
    if (bf_test_heif_encode(two, 64, 32, 1, 0, &b, err, sizeof err) != 0) fail_msg("%s", err);
    write_bytes("photo.avif", b);
    bf_test_bytes exif = {0};
    assert_int_equal(bf_test_exif_app1(6, 1, &exif), 0);
    if (bf_test_jpeg_encode(two, 64, 32, &exif, &b, err, sizeof err) != 0) fail_msg("%s", err);
    write_bytes("portrait.jpg", b);
    free(exif.data);
    free(two);
    free(fr);
    free(fg);
    free(fb);

    const char *args[] = {"--images-dir", dir, "--content", "{\"objects\":[\"thing\"]}", NULL};
    if (bf_fake_server_start(&fake, args, err, sizeof err) != 0) fail_msg("fake: %s", err);
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *topics[] = {"imageAnalysisRequested", "imageFactsReady", "deadLetters"};
    bf_test_create_topics(prefix, topics, 3, 1);
    pid_t worker = start_worker();

    const char *names[] = {"two.webp", "anim.webp", "anim.gif", "photo.heic", "photo.avif", "portrait.jpg"};
    enum { N = sizeof names / sizeof names[0] };
    char urls[N][256];
    for (size_t i = 0; i < N; i++) {
        snprintf(urls[i], sizeof urls[i], "%s/images/%s", fake.url, names[i]);
        send_request(urls[i], NULL);
    }
    size_t n;
    bf_test_msg *out = wait_topic("imageFactsReady", N, &n);
    if (n != N) {
        size_t nd = 0;
        bf_test_msg *dl = wait_topic("deadLetters", 1, &nd);
        for (size_t i = 0; i < nd; i++) print_message("dead letter: %.*s\n", (int)dl[i].len, (const char *)dl[i].payload);
        bf_test_msgs_free(dl, nd);
        fail_msg("%zu of %d facts", n, N);
    }
    bf_msg_image_facts_ready facts[N];
    for (size_t i = 0; i < n; i++)
        if (bf_msg_image_facts_ready_decode(out[i].payload, out[i].len, &facts[i], err, sizeof err) != 0)
            fail_msg("facts %zu do not decode: %s", i, err);

    /* Lossless WebP: the exact colours and shares. */
    const bf_image_facts *f = facts_for(facts, n, urls[0]);
    assert_int_equal(f->width, 64);
    assert_int_equal(f->height, 32);
    assert_int_equal(f->orientation, BF_ORIENT_LANDSCAPE);
    assert_true(fabs(share_of(f, "#e61414") - 0.25) < 0.01);
    assert_true(fabs(share_of(f, "#1414e6") - 0.75) < 0.01);
    /* Animations: the first frame (red) only. */
    for (int i = 1; i <= 2; i++) {
        f = facts_for(facts, n, urls[i]);
        assert_int_equal(f->width, 20);
        assert_int_equal(f->n_palette, 1);
        assert_string_equal(f->palette[0].hex, "#e61414");
        assert_int_equal(f->orientation, BF_ORIENT_SQUARE);
    }
    /* HEIC turned by its irot: shown 32x64, portrait; colours near the encoded ones. */
    f = facts_for(facts, n, urls[3]);
    assert_int_equal(f->width, 32);
    assert_int_equal(f->height, 64);
    assert_int_equal(f->orientation, BF_ORIENT_PORTRAIT);
    assert_true(nearest(f, blue)->share > 0.6);
    assert_true(nearest(f, red)->share > 0.15);
    /* AVIF, not turned. */
    f = facts_for(facts, n, urls[4]);
    assert_int_equal(f->width, 64);
    assert_int_equal(f->height, 32);
    assert_int_equal(f->orientation, BF_ORIENT_LANDSCAPE);
    assert_true(nearest(f, blue)->share > 0.6);
    /* JPEG stored landscape with EXIF orientation 6: what a person sees is portrait. */
    f = facts_for(facts, n, urls[5]);
    assert_int_equal(f->width, 32);
    assert_int_equal(f->height, 64);
    assert_int_equal(f->orientation, BF_ORIENT_PORTRAIT);
    assert_true(nearest(f, blue)->share > 0.6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(facts[i].facts.analyser, BF_ANALYSER_BUILTIN_VISION);
        bf_msg_image_facts_ready_free(&facts[i]);
    }
    bf_test_msgs_free(out, n);

    stop_all(worker);
}

static void fill_red(int x, int y, unsigned char *p) {
    (void)x, (void)y;
    p[0] = 230, p[1] = 20, p[2] = 20;
}
static void fill_blue(int x, int y, unsigned char *p) {
    (void)x, (void)y;
    p[0] = 20, p[1] = 20, p[2] = 230;
}

static bf_msg_image_facts_ready *decode_all(bf_test_msg *m, size_t n) {
    bf_msg_image_facts_ready *f = calloc(n, sizeof *f);
    char err[256];
    for (size_t i = 0; i < n; i++)
        if (bf_msg_image_facts_ready_decode(m[i].payload, m[i].len, &f[i], err, sizeof err) != 0) fail_msg("%s", err);
    return f;
}

/* The same URL again: a conditional GET, the server's 304, the same facts without a decode; the
 * image changed at that URL: analysed again, the new colours. Both kinds of validator. */
static void test_image_worker_revalidation(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bf-img-XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_png("photo.png", 16, 16, fill_red);
    const char *args[] = {"--images-dir", dir, NULL};
    char err[256];
    if (bf_fake_server_start(&fake, args, err, sizeof err) != 0) fail_msg("fake: %s", err);
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *topics[] = {"imageAnalysisRequested", "imageFactsReady", "deadLetters"};
    bf_test_create_topics(prefix, topics, 3, 1);
    pid_t worker = start_worker_with("BRAINFLEET_VISION_URL=");
    char etag_url[256], lm_url[256];
    snprintf(etag_url, sizeof etag_url, "%s/images/photo.png?fake-validators=etag", fake.url);
    snprintf(lm_url, sizeof lm_url, "%s/images/photo.png?fake-validators=last-modified", fake.url);
    const char *urls[] = {etag_url, lm_url};
    for (size_t i = 0; i < 2; i++) {
        send_request(urls[i], NULL);
        size_t n;
        bf_test_msg *m = wait_topic("imageFactsReady", 2 * i + 1, &n);
        assert_int_equal(n, 2 * i + 1);
        bf_test_msgs_free(m, n);
        send_request(urls[i], NULL); /* unchanged: 304 */
        m = wait_topic("imageFactsReady", 2 * i + 2, &n);
        assert_int_equal(n, 2 * i + 2);
        bf_msg_image_facts_ready *f = decode_all(m, n);
        assert_string_equal(f[n - 1].facts.palette[0].hex, "#e61414");
        assert_string_equal(f[n - 1].facts.content_hash, f[n - 2].facts.content_hash);
        for (size_t k = 0; k < n; k++) bf_msg_image_facts_ready_free(&f[k]);
        free(f);
        bf_test_msgs_free(m, n);
    }
    long requests, chats, not_modified;
    fake_stats3(&requests, &chats, &not_modified);
    assert_int_equal(not_modified, 2);

    /* The image changes at the same URLs (a later mtime: Last-Modified has seconds). */
    write_png("photo.png", 16, 16, fill_blue);
    char path[512];
    snprintf(path, sizeof path, "%s/photo.png", dir);
    struct timespec later[2] = {{.tv_sec = time(NULL) + 5}, {.tv_sec = time(NULL) + 5}};
    assert_int_equal(utimensat(AT_FDCWD, path, later, 0), 0);
    for (size_t i = 0; i < 2; i++) send_request(urls[i], NULL);
    size_t n;
    bf_test_msg *m = wait_topic("imageFactsReady", 6, &n);
    assert_int_equal(n, 6);
    bf_msg_image_facts_ready *f = decode_all(m, n);
    for (size_t k = 4; k < 6; k++) assert_string_equal(f[k].facts.palette[0].hex, "#1414e6");
    assert_string_not_equal(f[4].facts.content_hash, f[0].facts.content_hash);
    for (size_t k = 0; k < n; k++) bf_msg_image_facts_ready_free(&f[k]);
    free(f);
    bf_test_msgs_free(m, n);
    fake_stats3(&requests, &chats, &not_modified);
    assert_int_equal(not_modified, 2);
    stop_all(worker);
}

/* Runs image-worker with budget for at most 3 s; its output in out, its exit status returned. */
static int run_with_budget(const char *budget, char *out, size_t outlen) {
    char bin[512];
    bf_test_binary("image-worker/image-worker", bin, sizeof bin);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "env -i BRAINFLEET_KAFKA_BROKERS=%s BRAINFLEET_HTTP_PORT=0 BRAINFLEET_LOG_LEVEL=info "
             "BRAINFLEET_TOPIC_PREFIX=%s BRAINFLEET_IMAGE_MEMORY_BUDGET=%s "
             "timeout --preserve-status -s TERM 3 %s 2>&1",
             bf_test_brokers(), prefix, budget, bin);
    FILE *p = popen(cmd, "r");
    size_t got = fread(out, 1, outlen - 1, p);
    out[got] = '\0';
    return pclose(p);
}

/* A memory budget that cannot hold one image: the worker refuses to start, and says why. One that
 * holds fewer images than BRAINFLEET_FETCH_CONCURRENCY: it starts, and says the budget bounds the
 * downloads. */
static void test_image_worker_budget_at_start(void **state) {
    (void)state;
    bf_test_unique_prefix(prefix, sizeof prefix);
    char out[8192];
    int status = run_with_budget("64M", out, sizeof out);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
    if (!strstr(out, "configuration error: BRAINFLEET_IMAGE_MEMORY_BUDGET: 64.0M cannot hold one image"))
        fail_msg("unexpected output: %s", out);
    /* 700M less 626.4M set aside for decoding 40000000 pixels: three 20M images. */
    status = run_with_budget("700M", out, sizeof out);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0); /* SIGTERM from timeout: a clean stop */
    if (!strstr(out, "image memory budget 700.0M: 3 images at once (20.0M each), 626.4M set aside for decoding; "
                     "fewer than BRAINFLEET_FETCH_CONCURRENCY, so the budget bounds the downloads"))
        fail_msg("unexpected output: %s", out);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_image_worker_end_to_end),
                                       cmocka_unit_test(test_image_worker_formats),
                                       cmocka_unit_test(test_image_worker_revalidation),
                                       cmocka_unit_test(test_image_worker_budget_at_start)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
