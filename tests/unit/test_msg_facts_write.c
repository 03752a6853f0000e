/* bf_msg_image_facts_processed_write (the memory-writer's direct encoder, which does not decode
 * its output again) against bf_msg_image_facts_processed_encode (cJSON tree, then a full decode):
 * for facts a decoder filled, both must give the same bytes, and those bytes must decode. Facts
 * come from the contract corpus, from every file of the fuzz corpus that decodes as
 * imageFactsReady or imageFactsProcessed, and from generated messages full of what is easy to get
 * wrong: escapes, control characters, multi-byte UTF-8, vision JSON, doubles at every scale and
 * at the bounds, integers at their limits. Also: what writing can change (nesting, the outer ids)
 * is refused as the cJSON encoder refuses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_image_facts_processed.h"
#include "bf_msg_image_facts_write.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_rng.h"

#define GENERATED 3000
/* produced_at_ms from here on is printed exactly by the writer but as "1e+15"-style by cJSON. */
#define CJSON_EXACT_INT_LIMIT 1000000000000000LL

/* ---- the comparison ---- */

/* The envelope members differ only in how an integer >= 1e15 is printed; from "payload" on the
 * two encodings must be identical whatever the numbers. */
static void compare(const bf_msg_image_facts_processed *p, const char *what) {
    char err[512];
    char *ref = bf_msg_image_facts_processed_encode(p, err, sizeof err);
    bf_json_out w;
    bf_json_out_init(&w);
    int rc = bf_msg_image_facts_processed_write(p, &w, err, sizeof err);
    if (!ref) {
        if (rc == 0) fail_msg("%s: the cJSON encoder refuses (%s) what the writer accepts", what, err);
        bf_json_out_free(&w);
        return;
    }
    if (rc != 0) fail_msg("%s: the writer refuses what the cJSON encoder accepts: %s", what, err);
    const char *got = bf_json_out_text(&w);
    assert_non_null(got);
    assert_int_equal(w.len, strlen(got));
    if (p->env.produced_at_ms < CJSON_EXACT_INT_LIMIT) {
        if (strcmp(got, ref) != 0) fail_msg("%s: bytes differ\nwriter: %s\ncJSON:  %s", what, got, ref);
    } else {
        const char *a = strstr(got, ",\"payload\":"), *b = strstr(ref, ",\"payload\":");
        assert_non_null(a);
        assert_non_null(b);
        if (strcmp(a, b) != 0) fail_msg("%s: payloads differ\nwriter: %s\ncJSON:  %s", what, a, b);
    }
    bf_msg_image_facts_processed back;
    if (bf_msg_image_facts_processed_decode(got, w.len, &back, err, sizeof err) != 0)
        fail_msg("%s: the writer's output does not decode: %s\n%s", what, err, got);
    assert_memory_equal(&back.env, &p->env, sizeof back.env);
    bf_msg_image_facts_processed_free(&back);
    bf_json_out_free(&w);
    free(ref);
}

/* The output the memory-writer makes of a decoded imageFactsReady (facts borrowed from r). */
static void processed_from(const bf_msg_image_facts_ready *r, int64_t now_ms, bf_msg_image_facts_processed *p) {
    char err[256];
    memset(p, 0, sizeof *p);
    assert_int_equal(bf_envelope_init(&p->env, BF_SCHEMA_IMAGE_FACTS_PROCESSED, r->env.project_id, NULL,
                                      "memory-writer", now_ms, err, sizeof err),
                     0);
    memcpy(p->env.trace_id, r->env.trace_id, sizeof p->env.trace_id);
    memcpy(p->source_event_id, r->env.event_id, sizeof p->source_event_id);
    memcpy(p->trace_id, r->facts.trace_id, sizeof p->trace_id);
    memcpy(p->request_id, r->facts.request_id, sizeof p->request_id);
    memcpy(p->content_hash, r->facts.content_hash, sizeof p->content_hash);
    p->facts = r->facts;
}

/* Bytes that decode as either message are compared; returns how many did. */
static int compare_bytes(const char *bytes, size_t len, const char *what) {
    char err[512];
    int n = 0;
    bf_msg_image_facts_ready r;
    if (bf_msg_image_facts_ready_decode(bytes, len, &r, err, sizeof err) == 0) {
        bf_msg_image_facts_processed p;
        processed_from(&r, r.env.produced_at_ms, &p);
        compare(&p, what);
        bf_msg_image_facts_ready_free(&r);
        n++;
    }
    bf_msg_image_facts_processed d;
    if (bf_msg_image_facts_processed_decode(bytes, len, &d, err, sizeof err) == 0) {
        compare(&d, what);
        bf_msg_image_facts_processed_free(&d);
        n++;
    }
    return n;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Every file of dir (skipping `skip` leading bytes, the fuzz target's selector byte). */
static int compare_dir(const char *dir, size_t skip) {
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *bytes = slurp(path, &len);
        if (len >= skip) n += compare_bytes(bytes + skip, len - skip, path);
        free(bytes);
    }
    closedir(d);
    return n;
}

static void test_contract_corpus(void **state) {
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/contracts/imageFactsReady/valid", getenv("BF_SOURCE_DIR"));
    int n = compare_dir(dir, 0);
    snprintf(dir, sizeof dir, "%s/tests/contracts/imageFactsProcessed/valid", getenv("BF_SOURCE_DIR"));
    n += compare_dir(dir, 0);
    assert_true(n >= 6);
}

static void test_fuzz_corpus(void **state) {
    (void)state;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/msg_decode", getenv("BF_SOURCE_DIR"));
    /* The seeds alone hold a dozen valid image facts messages; the corpus grows with fuzzing. */
    assert_true(compare_dir(dir, 1) >= 4);
}

/* ---- generated facts ---- */

/* One code point of a kind that matters to escaping: ASCII (quote, backslash, slash often),
 * controls (when allowed), 2-, 3- and 4-byte UTF-8. Returns the bytes written. */
static size_t random_char(bf_rng *r, bool controls, char *out) {
    switch (bf_rng_upto(r, controls ? 6 : 4)) {
    case 0: out[0] = "\"\\/{}[],:"[bf_rng_upto(r, 8)]; return 1;
    case 1: out[0] = (char)(0x20 + bf_rng_upto(r, 0x7e - 0x20)); return 1;
    case 2: memcpy(out, "\xc3\xa9", 2); return 2;                   /* é */
    case 3: memcpy(out, bf_rng_upto(r, 1) ? "\xe2\x82\xac" : "\xe6\x97\xa5", 3); return 3; /* € 日 */
    case 4: memcpy(out, "\xf0\x9f\x8e\xa8", 4); return 4;           /* 🎨 */
    case 5: out[0] = "\n\r\t"[bf_rng_upto(r, 2)]; return 1;
    default: out[0] = (char)(bf_rng_upto(r, 0x1f) ? bf_rng_upto(r, 0x1e) + 1 : 0x7f); return 1; /* any control */
    }
}

/* A malloc'd string of 1..max bytes (at least min), valid UTF-8. */
static char *random_text(bf_rng *r, size_t min, size_t max, bool controls) {
    size_t want = min + (size_t)bf_rng_upto(r, (int64_t)(max - min));
    char *s = malloc(want + 1);
    size_t n = 0;
    char c[4];
    while (n < want) {
        size_t k = random_char(r, controls, c);
        if (n + k > want) k = 0;
        if (k == 0) {
            s[n++] = 'x';
            continue;
        }
        memcpy(s + n, c, k);
        n += k;
    }
    s[n] = '\0';
    return s;
}

static char *random_url(bf_rng *r) {
    char *path = random_text(r, 1, 200, false);
    size_t n = strlen(path) + 40;
    char *u = malloc(n);
    /* A URL may hold no space (and, being a string the decoder checked, no control character). */
    for (char *p = path; *p; p++)
        if (*p == ' ') *p = '_';
    snprintf(u, n, "https://img%d.example.com/%s", (int)bf_rng_upto(r, 99), path);
    free(path);
    return u;
}

/* A double in [0, 1] from the cases that print differently. */
static double random_unit(bf_rng *r) {
    switch (bf_rng_upto(r, 9)) {
    case 0: return 0.0;
    case 1: return bf_rng_upto(r, 1) ? -0.0 : 1.0;
    case 2: return (double)bf_rng_upto(r, 1000000) / 1e6;      /* short decimals */
    case 3: return (double)bf_rng_upto(r, 100000000) / 1e8;    /* just past the short form */
    case 4: return DBL_TRUE_MIN * (double)(1 + bf_rng_upto(r, 1000));
    case 5: return 1.0 - DBL_EPSILON / 2 * (double)(1 + bf_rng_upto(r, 3));
    case 6: return 0.1 * (double)bf_rng_upto(r, 7) + 0.2 * (double)bf_rng_upto(r, 1); /* 0.1 + 0.2 ... */
    case 7: return pow(10, -(double)bf_rng_upto(r, 300));
    default: return (double)(bf_rng_next(r) >> 11) / 9007199254740992.0;
    }
}

/* A random JSON value of at most `depth` levels, keys unique within each object. */
static cJSON *random_json(bf_rng *r, int depth) {
    switch (depth > 0 ? bf_rng_upto(r, 6) : bf_rng_upto(r, 3)) {
    case 0: {
        double d;
        uint64_t bits = bf_rng_next(r);
        memcpy(&d, &bits, sizeof d);
        return cJSON_CreateNumber(isfinite(d) ? d : random_unit(r) * 1e6 - 5e5);
    }
    case 1: {
        char *t = random_text(r, 0, 40, true);
        cJSON *s = cJSON_CreateString(t);
        free(t);
        return s;
    }
    case 2: return bf_rng_upto(r, 2) == 0 ? cJSON_CreateNull() : cJSON_CreateBool(bf_rng_upto(r, 1));
    case 3: {
        cJSON *a = cJSON_CreateArray();
        for (int i = (int)bf_rng_upto(r, 4); i > 0; i--) cJSON_AddItemToArray(a, random_json(r, depth - 1));
        return a;
    }
    default: {
        cJSON *o = cJSON_CreateObject();
        for (int i = (int)bf_rng_upto(r, 4); i > 0; i--) {
            char *t = random_text(r, 0, 12, true);
            char key[64];
            snprintf(key, sizeof key, "%s%d", t, i);
            free(t);
            cJSON_AddItemToObject(o, key, random_json(r, depth - 1));
        }
        return o;
    }
    }
}

/* A vision object within the contract's size (drawn again until it fits). */
static char *random_object_text(bf_rng *r) {
    for (;;) {
        cJSON *o = cJSON_CreateObject();
        for (int i = (int)bf_rng_upto(r, 5); i > 0; i--) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            cJSON_AddItemToObject(o, key, random_json(r, 3));
        }
        char *t = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (strlen(t) <= BF_VISION_JSON_MAX) return t;
        cJSON_free(t);
    }
}

static void random_list(bf_rng *r, bf_strlist *l) {
    l->n = (size_t)bf_rng_upto(r, 1) ? (size_t)bf_rng_upto(r, BF_VISION_LIST_MAX) : 0;
    l->v = l->n ? calloc(l->n, sizeof *l->v) : NULL;
    for (size_t i = 0; i < l->n; i++) l->v[i] = random_text(r, 1, BF_VISION_ITEM_MAX, false);
}

/* Valid facts with every optional part present or not; owned by f (bf_image_facts_free). */
static void random_facts(bf_rng *r, bf_image_facts *f) {
    memset(f, 0, sizeof *f);
    bf_trace_id_new(f->trace_id);
    bf_uuid_v4(f->request_id);
    bf_random_hex(f->content_hash, 32);
    f->image_urls.n = 1 + (size_t)bf_rng_upto(r, BF_MAX_IMAGE_URLS - 1);
    f->image_urls.v = calloc(f->image_urls.n, sizeof *f->image_urls.v);
    for (size_t i = 0; i < f->image_urls.n; i++) f->image_urls.v[i] = random_url(r);
    f->n_palette = (size_t)bf_rng_upto(r, BF_PALETTE_MAX);
    for (size_t i = 0; i < f->n_palette; i++) {
        snprintf(f->palette[i].hex, sizeof f->palette[i].hex, bf_rng_upto(r, 1) ? "#%06x" : "#%06X",
                 (unsigned)bf_rng_upto(r, 0xffffff));
        f->palette[i].share = random_unit(r);
    }
    f->brightness = random_unit(r);
    f->contrast = random_unit(r);
    f->saturation = random_unit(r);
    f->temperature = (bf_colour_temperature)bf_rng_upto(r, 2);
    f->mood = (bf_mood)bf_rng_upto(r, BF_MOOD_COUNT - 1);
    const int64_t px[] = {1, 2, 65534, 65535};
    f->width = bf_rng_upto(r, 1) ? px[bf_rng_upto(r, 3)] : 1 + bf_rng_upto(r, 65534);
    f->height = bf_rng_upto(r, 1) ? px[bf_rng_upto(r, 3)] : 1 + bf_rng_upto(r, 65534);
    f->orientation = (bf_orientation)bf_rng_upto(r, 2);
    if (bf_rng_upto(r, 1)) {
        f->typography = random_object_text(r);
        f->style = bf_rng_upto(r, 1) ? random_object_text(r) : NULL;
        f->layout = random_object_text(r);
        random_list(r, &f->objects);
        random_list(r, &f->visible_text);
        f->analyser = BF_ANALYSER_BUILTIN_VISION;
        f->model = random_text(r, 1, BF_MODEL_MAX, false);
    }
    f->processing_ms = bf_rng_upto(r, 2) == 0 ? 3600000 : bf_rng_upto(r, 3600000);
    if (bf_rng_upto(r, 2) == 0) {
        f->error.present = true;
        snprintf(f->error.code, sizeof f->error.code, "vision_%s", bf_rng_upto(r, 1) ? "failed" : "timeout_2");
        f->error.message = random_text(r, 1, 600, true);
        /* multiline allows \n \r \t, no other control character */
        for (char *p = f->error.message; *p; p++)
            if (((unsigned char)*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f) *p = '?';
    }
    if (bf_rng_upto(r, 4) == 0) {
        /* An image that could not be analysed: the error, no measurements, a hash only when bytes
         * were fetched. */
        bf_strlist urls = f->image_urls;
        bf_msg_error e = f->error;
        char hash[sizeof f->content_hash], trace[sizeof f->trace_id], request[sizeof f->request_id];
        memcpy(hash, f->content_hash, sizeof hash);
        memcpy(trace, f->trace_id, sizeof trace);
        memcpy(request, f->request_id, sizeof request);
        int64_t ms = f->processing_ms;
        f->image_urls = (bf_strlist){0};
        f->error = (bf_msg_error){0};
        bf_image_facts_free(f);
        f->not_analysed = true;
        f->image_urls = urls;
        memcpy(f->trace_id, trace, sizeof trace);
        memcpy(f->request_id, request, sizeof request);
        if (bf_rng_upto(r, 1)) memcpy(f->content_hash, hash, sizeof hash);
        f->processing_ms = ms;
        f->error.present = true;
        snprintf(f->error.code, sizeof f->error.code, "%s", bf_rng_upto(r, 1) ? "fetch_status" : "image_corrupt");
        f->error.message = e.present ? e.message : random_text(r, 1, 300, false);
    }
}

static void test_generated(void **state) {
    (void)state;
    bf_rng r;
    bf_rng_seed(&r, 5);
    const int64_t times[] = {0, 1, 1718000000123, CJSON_EXACT_INT_LIMIT - 1, CJSON_EXACT_INT_LIMIT,
                             9007199254740991};
    for (int i = 0; i < GENERATED; i++) {
        bf_msg_image_facts_ready g, decoded;
        char err[512], project[32], what[64];
        snprintf(project, sizeof project, "proj-%d", i % 97);
        int64_t now = bf_rng_upto(&r, 3) ? 1718000000000 + bf_rng_upto(&r, 1000000) : times[bf_rng_upto(&r, 5)];
        assert_int_equal(bf_envelope_init(&g.env, BF_SCHEMA_IMAGE_FACTS_READY, project, NULL, "image-worker", now, err,
                                          sizeof err),
                         0);
        random_facts(&r, &g.facts);
        char *json = bf_msg_image_facts_ready_encode(&g, err, sizeof err);
        if (!json) fail_msg("generated facts %d do not encode: %s", i, err);
        if (bf_msg_image_facts_ready_decode(json, strlen(json), &decoded, err, sizeof err) != 0)
            fail_msg("generated facts %d do not decode: %s", i, err);
        bf_msg_image_facts_processed p;
        processed_from(&decoded, times[bf_rng_upto(&r, 5)], &p);
        snprintf(what, sizeof what, "generated %d", i);
        compare(&p, what);
        bf_msg_image_facts_ready_free(&decoded);
        bf_image_facts_free(&g.facts);
        free(json);
    }
}

/* ---- what writing can change ---- */

/* Typography nested `levels` deep: [[...[1]...]] inside {"t": }. */
static char *nested(int levels) {
    size_t n = (size_t)levels * 2 + 16;
    char *t = malloc(n), *p = t;
    p += snprintf(p, n, "{\"t\":");
    for (int i = 1; i < levels; i++) *p++ = '[';
    *p++ = '1';
    for (int i = 1; i < levels; i++) *p++ = ']';
    snprintf(p, 2, "}");
    return t;
}

static void test_depth(void **state) {
    (void)state;
    /* imageFactsReady holds typography at level 3, imageFactsProcessed at level 4: 30 levels of
     * its own fit the first (3 + 30 - 1 = 32) and not the second. */
    for (int levels = 28; levels <= 30; levels++) {
        char err[512];
        bf_msg_image_facts_ready g, decoded;
        bf_rng r;
        bf_rng_seed(&r, (uint64_t)levels);
        assert_int_equal(bf_envelope_init(&g.env, BF_SCHEMA_IMAGE_FACTS_READY, "p", NULL, "image-worker",
                                          1718000000000, err, sizeof err),
                         0);
        random_facts(&r, &g.facts);
        free(g.facts.typography);
        g.facts.typography = nested(levels);
        char *json = bf_msg_image_facts_ready_encode(&g, err, sizeof err);
        if (!json) fail_msg("%d levels: %s", levels, err);
        assert_int_equal(bf_msg_image_facts_ready_decode(json, strlen(json), &decoded, err, sizeof err), 0);
        bf_msg_image_facts_processed p;
        processed_from(&decoded, 1718000000001, &p);
        compare(&p, "nested"); /* both accept, or both refuse */
        bf_json_out w;
        bf_json_out_init(&w);
        int rc = bf_msg_image_facts_processed_write(&p, &w, err, sizeof err);
        if (levels == 30) {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "nesting deeper than 32"));
        } else {
            assert_int_equal(rc, 0);
        }
        bf_json_out_free(&w);
        bf_msg_image_facts_ready_free(&decoded);
        bf_image_facts_free(&g.facts);
        free(json);
    }
}

static void test_refusals(void **state) {
    (void)state;
    char err[512];
    bf_msg_image_facts_ready g, decoded;
    bf_rng r;
    bf_rng_seed(&r, 99);
    assert_int_equal(bf_envelope_init(&g.env, BF_SCHEMA_IMAGE_FACTS_READY, "p", NULL, "image-worker", 1718000000000,
                                      err, sizeof err),
                     0);
    random_facts(&r, &g.facts);
    char *json = bf_msg_image_facts_ready_encode(&g, err, sizeof err);
    assert_non_null(json);
    assert_int_equal(bf_msg_image_facts_ready_decode(json, strlen(json), &decoded, err, sizeof err), 0);
    bf_json_out w;
    bf_json_out_init(&w);
    bf_msg_image_facts_processed p;

    processed_from(&decoded, 1718000000001, &p);
    p.trace_id[0] = p.trace_id[0] == 'a' ? 'b' : 'a';
    assert_int_equal(bf_msg_image_facts_processed_write(&p, &w, err, sizeof err), -1);
    assert_string_equal(err, "payload.facts.trace_id: differs from payload.trace_id");
    compare(&p, "trace id differs");

    processed_from(&decoded, 1718000000001, &p);
    p.content_hash[63] = p.content_hash[63] == '0' ? '1' : '0';
    assert_int_equal(bf_msg_image_facts_processed_write(&p, &w, err, sizeof err), -1);
    assert_string_equal(err, "payload.facts.content_hash: differs from payload.content_hash");

    processed_from(&decoded, 1718000000001, &p);
    bf_uuid_v4(p.source_event_id);
    assert_int_equal(bf_msg_image_facts_processed_write(&p, &w, err, sizeof err), -1);
    assert_non_null(strstr(err, "source_event_id"));
    compare(&p, "source event id not v7");

    processed_from(&decoded, 1718000000001, &p);
    snprintf(p.env.schema, sizeof p.env.schema, "%s", BF_SCHEMA_IMAGE_FACTS_READY);
    assert_int_equal(bf_msg_image_facts_processed_write(&p, &w, err, sizeof err), -1);
    compare(&p, "schema");

    processed_from(&decoded, 1718000000001, &p);
    snprintf(p.env.producer, sizeof p.env.producer, "Memory Writer");
    assert_int_equal(bf_msg_image_facts_processed_write(&p, &w, err, sizeof err), -1);
    assert_string_equal(err, "producer: not a worker name ([a-z][a-z0-9-]*, at most 48)");
    compare(&p, "producer");

    bf_json_out_free(&w);
    bf_msg_image_facts_ready_free(&decoded);
    bf_image_facts_free(&g.facts);
    free(json);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_corpus), cmocka_unit_test(test_fuzz_corpus),
        cmocka_unit_test(test_generated),       cmocka_unit_test(test_depth),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
