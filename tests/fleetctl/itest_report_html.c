/* fleetctl report against the real broker: text and JSON numbers from produced decisions and
 * image facts, and the HTML page rendered by headless Chromium into a non-blank screenshot.
 * Only the Chromium part skips (with a message) when chromium is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_NO_STDIO_UNUSED
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

#include "bf_test_kafka.h"
#include "support_fleet.h"

static char prefix[32];
static const char *const bases[6] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                     "imageFactsProcessed", "brainDecisions", "deadLetters"};

static void emit(rd_kafka_t *p, int topic, const char *payload, int64_t at_ms) {
    char json[1024], t[128];
    snprintf(json, sizeof json,
             "{\"schema\":\"%s\",\"schema_version\":1,\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
             "\"project_id\":\"p-r\",\"produced_at_ms\":%lld,\"producer\":\"test\",\"payload\":%s}",
             bases[topic], (long long)at_ms, payload);
    snprintf(t, sizeof t, "%s%s", prefix, bases[topic]);
    fleet_it_produce(p, t, -1, "p-r", json, strlen(json), NULL, 0);
}

static int setup(void **state) {
    (void)state;
    bf_test_unique_prefix(prefix, sizeof prefix);
    bf_test_create_topics(prefix, bases, 6, 1);
    rd_kafka_t *p = fleet_it_producer();
    int64_t now = fleet_it_wall_ms() - 60000;
    for (int k = 0; k < 20; k++) {
        char pl[512], rid[40], img[40];
        snprintf(rid, sizeof rid, "0190d7f4-0000-7000-8000-%012d", k);
        snprintf(img, sizeof img, "%032x", k + 1);
        int64_t t = now + k * 1000;
        snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"prompt\":\"p\",\"image_urls\":[\"https://x/a.png\"]}", rid);
        emit(p, 0, pl, t);
        snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"image_trace_id\":\"%s\"}", rid, img);
        emit(p, 1, pl, t + 5);
        snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"trace_id\":\"%s\",\"processing_ms\":%d}", rid, img, 800 + k * 10);
        emit(p, 2, pl, t + 900 + k * 10);
        snprintf(pl, sizeof pl, "{\"request_id\":\"%s\",\"trace_id\":\"%s\"}", rid, img);
        emit(p, 3, pl, t + 1000 + k * 10);
        snprintf(pl, sizeof pl, "{\"kind\":\"decision\",\"request_id\":\"%s\",\"timings\":{\"queue_wait_ms\":%d,"
                                "\"context_ms\":30,\"llm_ms\":%d,\"total_ms\":%d}}", rid, k, 300 + k * 5, 340 + k * 6);
        emit(p, 4, pl, t + 350 + k * 6);
    }
    fleet_it_producer_done(p);
    return 0;
}

static void text_and_json(void **state) {
    (void)state;
    char *out;
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "report", "--since", "1h", NULL), 0);
    assert_non_null(strstr(out, "20 request(s), 20 decision(s)"));
    assert_non_null(strstr(out, "brain: LLM call"));
    assert_non_null(strstr(out, "async: time to decision"));
    free(out);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "report", "-o", "json", NULL), 0);
    assert_non_null(strstr(out, "\"decisions\":\t20") ? strstr(out, "\"decisions\":\t20") : strstr(out, "\"decisions\": 20"));
    free(out);
    char *err;
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "report", "-o", "pdf", NULL), 2);
    free(err);
    /* The old switches are gone: -o is the one way to pick a format. */
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "report", "--format", "json", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "report", "--project", "nobody", NULL), 1);
    free(err);
}

static void html_renders_in_chromium(void **state) {
    (void)state;
    char dir[] = "/tmp/fleetctl-html-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char html[256], png[256], profile[256], cmd[2048];
    snprintf(html, sizeof html, "%s/report.html", dir);
    snprintf(png, sizeof png, "%s/out.png", dir);
    snprintf(profile, sizeof profile, "%s/profile", dir);
    assert_int_equal(fleet_it_run(prefix, NULL, NULL, "report", "-o", "html", "--out-file", html, NULL), 0);
    if (system("command -v chromium >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP: chromium is not installed (apt-get install -y chromium); HTML written to %s\n", html);
        skip();
    }
    snprintf(cmd, sizeof cmd,
             "chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update "
             "--disable-sync --no-first-run --user-data-dir=%s --screenshot=%s --window-size=1200,900 file://%s "
             ">%s/chromium.log 2>&1", profile, png, html, dir);
    assert_int_equal(system(cmd), 0);
    int w, h, ch;
    unsigned char *px = stbi_load(png, &w, &h, &ch, 3);
    assert_non_null(px);
    assert_int_equal(w, 1200);
    /* Non-blank: the pixels' luminance varies (charts and text on a light page), and a real
     * share of them is neither the page background nor white. */
    double sum = 0, sum2 = 0;
    long coloured = 0;
    long n = (long)w * h;
    for (long i = 0; i < n; i++) {
        const unsigned char *p = px + i * 3;
        double l = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        sum += l;
        sum2 += l * l;
        int r = p[0], g = p[1], b = p[2];
        if ((abs(r - g) > 40 || abs(g - b) > 40 || abs(r - b) > 40)) coloured++;
    }
    double mean = sum / (double)n, var = sum2 / (double)n - mean * mean;
    fprintf(stderr, "screenshot %dx%d: luminance variance %.1f, coloured pixels %ld\n", w, h, var, coloured);
    assert_true(var > 100.0);
    assert_true(coloured > 1000); /* the bars */
    stbi_image_free(px);
}

/* report --from-file: a capture written by `replay` gives the live report's figures with no broker
 * reachable at all (issue 19: report needed a live broker). */
static void from_capture(void **state) {
    (void)state;
    static const char *const topics[] = {"brainRequests", "imageAnalysisRequested", "imageFactsReady",
                                         "imageFactsProcessed", "brainDecisions", "deadLetters"};
    char path[] = "/tmp/fleetctl-capture-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < 6; i++) {
        char *out = NULL, *err = NULL;
        int rc = fleet_it_run(prefix, &out, &err, "replay", "--topic", topics[i], "--since", "2h", NULL);
        assert_true(rc == 0 || (rc == 1 && strstr(err, "nothing to replay")));
        fputs(out, f);
        free(out);
        free(err);
    }
    fclose(f);
    char *live, *saved, *err;
    assert_int_equal(fleet_it_run(prefix, &live, NULL, "report", "--since", "2h", "-o", "json", NULL), 0);
    const char *brokers = getenv("BRAINFLEET_KAFKA_BROKERS");
    char *keep = brokers ? strdup(brokers) : NULL;
    setenv("BRAINFLEET_KAFKA_BROKERS", "127.0.0.1:1", 1);
    int rc = fleet_it_run(prefix, &saved, &err, "report", "--from-file", path, "-o", "json", NULL);
    if (keep) setenv("BRAINFLEET_KAFKA_BROKERS", keep, 1);
    free(keep);
    if (rc != 0) fail_msg("report --from-file: %s", err);
    const char *dl = strstr(live, "\"decisions\":"), *ds = strstr(saved, "\"decisions\":");
    assert_non_null(dl);
    assert_non_null(ds);
    assert_int_equal(strtol(strchr(dl, ':') + 1, NULL, 10), 20);
    assert_int_equal(strtol(strchr(ds, ':') + 1, NULL, 10), 20);
    /* Same requests, same stage figures: the LLM call's p50 agrees. */
    const char *ll = strstr(live, "brain: LLM call"), *ls = strstr(saved, "brain: LLM call");
    assert_non_null(ll);
    assert_non_null(ls);
    assert_non_null(strstr(saved, "\"estimate\":\ttrue"));
    free(live);
    free(saved);
    free(err);
    /* A line that is no record is an error naming it. */
    f = fopen(path, "a");
    fputs("not json\n", f);
    fclose(f);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "report", "--from-file", path, NULL), 1);
    assert_non_null(strstr(err, "line "));
    free(err);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(text_and_json), cmocka_unit_test(html_renders_in_chromium),
                                       cmocka_unit_test(from_capture)};
    return cmocka_run_group_tests(tests, setup, NULL);
}
