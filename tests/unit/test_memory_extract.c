/* memory_extract: a decoded imageFactsReady becomes one image_analysis row, its preference
 * upserts and the imageFactsProcessed to publish. The row's JSON cells are written directly (no
 * cJSON tree): they must be what cJSON prints for the same values, its float8 cells must read back
 * as exactly the facts' doubles, and the output must decode and carry the input's facts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg_image_facts_processed.h"
#include "memory_extract.h"
#include "memory_store.h"

static char *slurp(const char *name, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/contracts/imageFactsReady/valid/%s.json", getenv("BF_SOURCE_DIR"), name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 16, f);
    fclose(f);
    return buf;
}

/* cJSON's printing of the member key of the facts as bf_image_facts_to_json builds them. */
static char *cjson_member(const bf_image_facts *f, const char *key) {
    cJSON *o = bf_image_facts_to_json(f);
    assert_non_null(o);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, key);
    char *s = m ? cJSON_PrintUnformatted(m) : strdup("[]");
    cJSON_Delete(o);
    return s;
}

static void assert_exact(const char *cell, double want) {
    char *end;
    double got = strtod(cell, &end);
    assert_int_equal(*end, '\0');
    assert_memory_equal(&got, &want, sizeof got);
}

static void check_file(const char *name) {
    size_t len;
    char err[512], *bytes = slurp(name, &len);
    bf_msg_image_facts_ready m;
    if (bf_msg_image_facts_ready_decode(bytes, len, &m, err, sizeof err) != 0) fail_msg("%s: %s", name, err);
    const bf_image_facts *f = &m.facts;
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    int cause;
    assert_int_equal(memory_extract_image_facts(&b, &cause, &m, 0.2, 5, 1718000000999, err, sizeof err), 0);
    assert_int_equal(b.n_items, 1);
    assert_int_equal(b.analyses.n, 1);
    assert_int_equal(b.n_upserts, f->n_palette ? 2 : 1);

    char *const *row = b.analyses.cells;
    assert_string_equal(row[MEMORY_AN_PROJECT_ID], m.env.project_id);
    assert_string_equal(row[MEMORY_AN_SOURCE_EVENT_ID], m.env.event_id);
    assert_exact(row[MEMORY_AN_BRIGHTNESS], f->brightness);
    assert_exact(row[MEMORY_AN_CONTRAST], f->contrast);
    assert_exact(row[MEMORY_AN_SATURATION], f->saturation);
    char want[32];
    snprintf(want, sizeof want, "%lld", (long long)f->width);
    assert_string_equal(row[MEMORY_AN_WIDTH], want);
    snprintf(want, sizeof want, "%lld", (long long)f->processing_ms);
    assert_string_equal(row[MEMORY_AN_PROCESSING_MS], want);
    const char *json_cells[] = {"palette", "objects", "visible_text", "error"};
    const int cols[] = {MEMORY_AN_PALETTE, MEMORY_AN_OBJECTS, MEMORY_AN_VISIBLE_TEXT, MEMORY_AN_ERROR};
    for (size_t i = 0; i < 4; i++) {
        if (cols[i] == MEMORY_AN_ERROR && !f->error.present) {
            assert_null(row[MEMORY_AN_ERROR]);
            continue;
        }
        char *c = cjson_member(f, json_cells[i]);
        if (strcmp(row[cols[i]], c) != 0) fail_msg("%s: %s cell %s, cJSON prints %s", name, json_cells[i], row[cols[i]], c);
        cJSON_free(c);
    }
    if (f->typography) assert_string_equal(row[MEMORY_AN_TYPOGRAPHY], f->typography);
    else assert_null(row[MEMORY_AN_TYPOGRAPHY]);

    const memory_item *it = &b.items[0];
    assert_ptr_equal(it->cause, &cause);
    assert_non_null(it->out_env);
    assert_string_equal(it->out_env->project_id, m.env.project_id);
    assert_string_equal(it->out_env->schema, BF_SCHEMA_IMAGE_FACTS_PROCESSED);
    assert_string_equal(it->out_env->trace_id, m.env.trace_id);
    assert_int_equal(it->out_len, strlen(it->out_payload));
    bf_msg_image_facts_processed out;
    if (bf_msg_image_facts_processed_decode(it->out_payload, it->out_len, &out, err, sizeof err) != 0)
        fail_msg("%s: output does not decode: %s", name, err);
    assert_string_equal(out.source_event_id, m.env.event_id);
    /* What the runtime puts on the record (key, headers) is the envelope the payload carries. */
    assert_string_equal(out.env.event_id, it->out_env->event_id);
    assert_int_equal(out.env.produced_at_ms, it->out_env->produced_at_ms);
    assert_string_equal(out.env.trace_id, m.env.trace_id);
    assert_string_equal(out.env.producer, MEMORY_PRODUCER);
    assert_int_equal(out.env.produced_at_ms, 1718000000999);
    cJSON *a = bf_image_facts_to_json(f), *o = bf_image_facts_to_json(&out.facts);
    char *as = cJSON_PrintUnformatted(a), *os = cJSON_PrintUnformatted(o);
    assert_string_equal(os, as);
    cJSON_free(as);
    cJSON_free(os);
    cJSON_Delete(a);
    cJSON_Delete(o);
    bf_msg_image_facts_processed_free(&out);
    memory_batch_free(&b);
    bf_msg_image_facts_ready_free(&m);
    free(bytes);
}

static void test_contract_files(void **state) {
    (void)state;
    check_file("builtin");
    check_file("vision");
    check_file("vision_failed");
    check_file("empty_palette_square");
}

/* A message whose output the contract refuses leaves the batch as it was. */
static void test_refused_output_leaves_batch(void **state) {
    (void)state;
    size_t len;
    char err[512], *bytes = slurp("vision", &len);
    bf_msg_image_facts_ready m;
    assert_int_equal(bf_msg_image_facts_ready_decode(bytes, len, &m, err, sizeof err), 0);
    memory_batch b;
    memory_batch_init(&b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
    assert_int_equal(memory_extract_image_facts(&b, NULL, &m, 0.2, 5, 1718000000999, err, sizeof err), 0);
    /* Typography nested 30 levels: fits imageFactsReady, one level too deep for the output. */
    free(m.facts.typography);
    char *deep = malloc(128);
    char *p = deep + snprintf(deep, 128, "{\"t\":");
    for (int i = 1; i < 30; i++) *p++ = '[';
    *p++ = '1';
    for (int i = 1; i < 30; i++) *p++ = ']';
    snprintf(p, 2, "}");
    m.facts.typography = deep;
    assert_int_equal(memory_extract_image_facts(&b, NULL, &m, 0.2, 6, 1718000000999, err, sizeof err), -1);
    assert_non_null(strstr(err, "nesting deeper than"));
    assert_int_equal(b.n_items, 1);
    assert_int_equal(b.analyses.n, 1);
    memory_batch_free(&b);
    bf_msg_image_facts_ready_free(&m);
    free(bytes);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_files),
        cmocka_unit_test(test_refused_output_leaves_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
