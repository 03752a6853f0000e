/* Runs every C decoder over the shared corpus (tests/contracts/<schema>/{valid,invalid}): valid
 * files must decode, invalid ones must be rejected with the error their .expect file names (a
 * prefix of the message, path first). check_schemas.py runs the same files through JSON Schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_editor_event.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_msg_memory_update.h"

typedef int (*decode_fn)(const char *bytes, size_t len, char *err, size_t errlen);

#define DECODER(type)                                                                \
    static int decode_##type(const char *bytes, size_t len, char *err, size_t errlen) { \
        bf_msg_##type m;                                                             \
        int r = bf_msg_##type##_decode(bytes, len, &m, err, errlen);                 \
        bf_msg_##type##_free(&m);                                                    \
        return r;                                                                    \
    }
DECODER(brain_request)
DECODER(image_analysis_requested)
DECODER(image_facts_ready)
DECODER(image_facts_processed)
DECODER(memory_update)
DECODER(brain_decision)
DECODER(dead_letter)
DECODER(editor_event)

typedef struct corpus {
    const char *schema;
    decode_fn decode;
} corpus;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    fclose(f);
    *len = n;
    /* Deliberately not NUL-terminated: decoders must honour len. Shrink so ASan sees overreads. */
    char *exact = malloc(n ? n : 1);
    if (exact && n) memcpy(exact, buf, n);
    free(buf);
    return exact;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static size_t run_dir(const corpus *c, const char *kind) {
    const char *src = getenv("BF_SOURCE_DIR");
    assert_non_null(src);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/contracts/%s/%s", src, c->schema, kind);
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_with(e->d_name, ".json")) continue;
        char path[2048], expect_path[2048], err[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *bytes = slurp(path, &len);
        assert_non_null(bytes);
        int r = c->decode(bytes, len, err, sizeof err);
        free(bytes);
        count++;
        if (strcmp(kind, "valid") == 0) {
            if (r != 0) fail_msg("%s: rejected: %s", path, err);
            continue;
        }
        if (r == 0) fail_msg("%s: accepted", path);
        snprintf(expect_path, sizeof expect_path, "%.*s.expect", (int)(strlen(path) - 5), path);
        size_t elen = 0;
        char *expect = slurp(expect_path, &elen);
        if (!expect) fail_msg("%s: no .expect file", path);
        size_t line = 0;
        while (line < elen && expect[line] != '\n') line++;
        if (strncmp(err, expect, line) != 0 || strlen(err) < line)
            fail_msg("%s: error \"%s\" does not start with \"%.*s\"", path, err, (int)line, expect);
        free(expect);
    }
    closedir(d);
    return count;
}

static void run_corpus(void **state) {
    const corpus *c = *state;
    size_t valid = run_dir(c, "valid");
    size_t invalid = run_dir(c, "invalid");
    print_message("%s: %zu valid, %zu invalid\n", c->schema, valid, invalid);
    assert_true(valid >= 1);
    assert_true(invalid >= 10);
}

static corpus corpora[] = {
    {BF_SCHEMA_BRAIN_REQUESTS, decode_brain_request},
    {BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED, decode_image_analysis_requested},
    {BF_SCHEMA_IMAGE_FACTS_READY, decode_image_facts_ready},
    {BF_SCHEMA_IMAGE_FACTS_PROCESSED, decode_image_facts_processed},
    {BF_SCHEMA_MEMORY_UPDATES, decode_memory_update},
    {BF_SCHEMA_BRAIN_DECISIONS, decode_brain_decision},
    {BF_SCHEMA_DEAD_LETTERS, decode_dead_letter},
    {BF_SCHEMA_EDITOR_EVENTS, decode_editor_event},
};

int main(void) {
    struct CMUnitTest tests[sizeof corpora / sizeof corpora[0]];
    for (size_t i = 0; i < sizeof corpora / sizeof corpora[0]; i++)
        tests[i] = (struct CMUnitTest){corpora[i].schema, run_corpus, NULL, NULL, &corpora[i]};
    return _cmocka_run_group_tests("msg_corpus", tests, sizeof tests / sizeof tests[0], NULL, NULL);
}
