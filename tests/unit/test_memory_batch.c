/* Batch building: array literals for unnest(), the ledger's fresh ids, and the upsert plan that
 * puts each key at most once per statement, in arrival order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_rng.h"
#include "memory_batch.h"
#include "memory_pgarray.h"

static void test_pgarray_literals(void **state) {
    (void)state;
    memory_pgarray a;
    memory_pgarray_init(&a);
    assert_string_equal(memory_pgarray_text(&a), "{}");
    memory_pgarray_add(&a, "plain");
    memory_pgarray_add(&a, NULL);
    memory_pgarray_add(&a, "q\"uo\\te, {x}");
    memory_pgarray_add(&a, "");
    assert_string_equal(memory_pgarray_text(&a), "{\"plain\",NULL,\"q\\\"uo\\\\te, {x}\",\"\"}");
    memory_pgarray_free(&a);
    memory_pgarray_init(&a);
    memory_pgarray_add(&a, "\\\"\"\\");
    memory_pgarray_add(&a, "a\"b\\c\"");
    assert_string_equal(memory_pgarray_text(&a), "{\"\\\\\\\"\\\"\\\\\",\"a\\\"b\\\\c\\\"\"}");
    memory_pgarray_free(&a);
    memory_pgarray_init(&a);
    for (int i = 0; i < 1000; i++) memory_pgarray_add(&a, "0123456789");
    assert_int_equal(strlen(memory_pgarray_text(&a)), 1000 * 13 - 1 + 2);
    memory_pgarray_free(&a);
}

static void add_upsert(memory_batch *b, size_t item, const char *project, const char *key, double w) {
    memory_upsert_in u = {.project_id = project, .memory_type = "user_preference", .key = key,
                          .value = "{\"mood\":\"calm\"}", .weight = w, .source = "image",
                          .expires_at_ms = -1};
    assert_int_equal(memory_batch_add_upsert(b, item, &u), 0);
}

static void test_mark_fresh_first_duplicate_only(void **state) {
    (void)state;
    memory_batch b;
    memory_batch_init(&b, 2, 1);
    const char *ids[] = {"e1", "e2", "e1", "e3"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(memory_batch_add_item(&b, NULL, MEMORY_ITEM_IMAGE_FACTS, ids[i], 100 + (int64_t)i), i);
        b.items[i].active = true;
    }
    assert_int_equal(b.oldest_ms, 100);
    const char *fresh[] = {"e3", "e1"}; /* e2 was already in the ledger */
    memory_batch_mark_fresh(&b, fresh, 2);
    assert_true(b.items[0].fresh);
    assert_false(b.items[1].fresh);
    assert_false(b.items[2].fresh);
    assert_true(b.items[3].fresh);
    memory_batch_free(&b);
}

static void test_plan_rounds_in_arrival_order(void **state) {
    (void)state;
    memory_batch b;
    memory_batch_init(&b, 2, 1);
    for (size_t i = 0; i < 5; i++) {
        memory_batch_add_item(&b, NULL, MEMORY_ITEM_IMAGE_FACTS, "x", 0);
        b.items[i].active = b.items[i].fresh = true;
    }
    b.items[3].fresh = false; /* a duplicate: its upsert is not applied */
    add_upsert(&b, 0, "p2", "preferred_mood", 0.1);
    add_upsert(&b, 1, "p1", "preferred_mood", 0.2);
    add_upsert(&b, 2, "p2", "preferred_mood", 0.3);
    add_upsert(&b, 3, "p2", "preferred_mood", 0.4);
    add_upsert(&b, 4, "p2", "preferred_mood", 0.5);
    add_upsert(&b, 4, "p1", "preferred_colors", 0.6);
    size_t out[6], rounds = 0;
    size_t n = memory_batch_plan_upserts(&b, out, &rounds);
    assert_int_equal(n, 5);
    assert_int_equal(rounds, 3);
    /* round 0 sorted by key: p1/colors, p1/mood, p2/mood(first) */
    size_t want[] = {5, 1, 0, 2, 4};
    size_t want_round[] = {0, 0, 0, 1, 2};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i], want[i]);
        assert_int_equal(b.upserts[out[i]].round, want_round[i]);
    }
    memory_batch_free(&b);
}

/* The plan against the simplest statement of it: a stable insertion sort by (project, type,
 * key), each key's n-th update in round n, rounds in order. Large random batches with many
 * repeats of few keys, so ties, several rounds and inactive or duplicate items all occur. */
static int cmp_ref(const memory_upsert *x, const memory_upsert *y) {
    int c = strcmp(x->project_id, y->project_id);
    if (!c) c = strcmp(x->memory_type, y->memory_type);
    if (!c) c = strcmp(x->key, y->key);
    return c;
}

static void test_plan_matches_reference(void **state) {
    (void)state;
    bf_rng r;
    bf_rng_seed(&r, 11);
    const char *keys[] = {"preferred_mood", "preferred_colors", "style"};
    for (int trial = 0; trial < 20; trial++) {
        memory_batch b;
        memory_batch_init(&b, 2, 1);
        size_t n_items = 300 + (size_t)bf_rng_upto(&r, 700);
        for (size_t i = 0; i < n_items; i++) {
            memory_batch_add_item(&b, NULL, MEMORY_ITEM_IMAGE_FACTS, "x", 0);
            b.items[i].active = bf_rng_upto(&r, 9) != 0;
            b.items[i].fresh = bf_rng_upto(&r, 9) != 0;
            for (int k = (int)bf_rng_upto(&r, 3); k > 0; k--) {
                char project[16];
                snprintf(project, sizeof project, "p%d", (int)bf_rng_upto(&r, trial < 10 ? 20 : 400));
                add_upsert(&b, i, project, keys[bf_rng_upto(&r, 2)], 0.1);
            }
        }
        size_t *ref = malloc(b.n_upserts * sizeof *ref), *round = malloc(b.n_upserts * sizeof *round);
        size_t n_ref = 0;
        for (size_t i = 0; i < b.n_upserts; i++)
            if (b.items[b.upserts[i].item].active && b.items[b.upserts[i].item].fresh) {
                size_t j = n_ref++;
                while (j > 0 && cmp_ref(&b.upserts[ref[j - 1]], &b.upserts[i]) > 0) {
                    ref[j] = ref[j - 1];
                    j--;
                }
                ref[j] = i;
            }
        size_t max_round = 0;
        for (size_t i = 0; i < n_ref; i++) {
            round[i] = i && cmp_ref(&b.upserts[ref[i - 1]], &b.upserts[ref[i]]) == 0 ? round[i - 1] + 1 : 0;
            if (round[i] + 1 > max_round) max_round = round[i] + 1;
        }
        size_t *out = malloc(b.n_upserts * sizeof *out), rounds = 0;
        size_t n = memory_batch_plan_upserts(&b, out, &rounds);
        assert_int_equal(n, n_ref);
        assert_int_equal(rounds, max_round);
        size_t k = 0;
        for (size_t rd = 0; rd < max_round; rd++)
            for (size_t i = 0; i < n_ref; i++)
                if (round[i] == rd) {
                    assert_int_equal(out[k], ref[i]);
                    assert_int_equal(b.upserts[out[k]].round, rd);
                    k++;
                }
        assert_int_equal(k, n);
        free(out);
        free(ref);
        free(round);
        memory_batch_free(&b);
    }
}

static void test_rows_and_truncate(void **state) {
    (void)state;
    memory_batch b;
    memory_batch_init(&b, 2, 1);
    size_t i0 = memory_batch_add_item(&b, NULL, MEMORY_ITEM_IMAGE_FACTS, "a", 5);
    const char *cells[] = {"p", NULL};
    for (int k = 0; k < 100; k++) assert_int_equal(memory_rows_add(&b.analyses, i0, cells), 0);
    char *payload = strdup("{\"x\":1}");
    assert_non_null(payload);
    bf_envelope env = {.schema = "imageFactsProcessed", .project_id = "p"};
    assert_int_equal(memory_batch_take_output(&b, i0, &env, payload, 7), 0);
    size_t i1 = memory_batch_add_item(&b, NULL, MEMORY_ITEM_MEMORY_UPDATES, "b", 6);
    assert_int_equal(memory_rows_add(&b.analyses, i1, cells), 0);
    const char *msg[] = {"hello"};
    assert_int_equal(memory_rows_add(&b.messages, i1, msg), 0);
    add_upsert(&b, i1, "p", "k", 0.5);
    memory_batch_truncate(&b, 1);
    assert_int_equal(b.n_items, 1);
    assert_int_equal(b.analyses.n, 100);
    assert_int_equal(b.messages.n, 0);
    assert_int_equal(b.n_upserts, 0);
    assert_string_equal(b.analyses.cells[99 * 2], "p");
    assert_null(b.analyses.cells[99 * 2 + 1]);
    assert_string_equal(b.items[0].out_payload, "{\"x\":1}");
    memory_batch_clear(&b);
    assert_int_equal(b.n_items, 0);
    assert_int_equal(b.oldest_ms, 0);
    memory_batch_free(&b);
}

static void test_compact_keeps_rest_in_order(void **state) {
    (void)state;
    memory_batch b;
    memory_batch_init(&b, 1, 1);
    const char *names[] = {"a", "b", "c", "d"};
    for (size_t i = 0; i < 4; i++) {
        memory_batch_add_item(&b, NULL, MEMORY_ITEM_IMAGE_FACTS, names[i], 1);
        const char *cells[] = {names[i]};
        assert_int_equal(memory_rows_add(&b.analyses, i, cells), 0);
        assert_int_equal(memory_rows_add(&b.messages, i, cells), 0);
        add_upsert(&b, i, names[i], "k", 0.1);
    }
    b.items[0].done = b.items[2].done = true;
    memory_batch_compact(&b);
    assert_int_equal(b.n_items, 2);
    assert_string_equal(b.items[0].event_id, "b");
    assert_string_equal(b.items[1].event_id, "d");
    assert_int_equal(b.analyses.n, 2);
    assert_int_equal(b.messages.n, 2);
    assert_int_equal(b.n_upserts, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(b.analyses.item[i], i);
        assert_string_equal(b.analyses.cells[i], b.items[i].event_id);
        assert_string_equal(b.messages.cells[i], b.items[i].event_id);
        assert_int_equal(b.upserts[i].item, i);
        assert_string_equal(b.upserts[i].project_id, b.items[i].event_id);
    }
    memory_batch_free(&b);
}

/* ---- folding a batch's scene rows ---- */

/* One editor event's scene row: the parts it sets carry their version ("0": not set). */
static void add_scene_row(memory_batch *b, size_t item, const char *project, const char *scene, long cv, long pv,
                          long dv, const char *tag) {
    char v[3][24], pos[24];
    snprintf(v[0], sizeof v[0], "%ld", cv);
    snprintf(v[1], sizeof v[1], "%ld", pv);
    snprintf(v[2], sizeof v[2], "%ld", dv);
    snprintf(pos, sizeof pos, "%ld", pv * 10);
    const char *cells[MEMORY_SC_COLS] = {
        [MEMORY_SC_PROJECT_ID] = project, [MEMORY_SC_SCENE_ID] = scene, [MEMORY_SC_NAME] = cv ? tag : NULL,
        [MEMORY_SC_POSITION] = pv ? pos : NULL, [MEMORY_SC_DURATION_MS] = cv ? "5000" : NULL,
        [MEMORY_SC_DESCRIPTION] = cv ? tag : NULL, [MEMORY_SC_CONTENT_VERSION] = v[0],
        [MEMORY_SC_POSITION_VERSION] = v[1], [MEMORY_SC_DELETED_VERSION] = v[2],
    };
    assert_int_equal(memory_rows_add(&b->scenes, item, cells), 0);
}

static const char *cell_or(const char *c) { return c ? c : "(null)"; }

/* The folded rows as text, one line per scene, for comparing two folds. */
static void fold_text(const char **rows, size_t n, char *out, size_t len) {
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < MEMORY_SC_COLS; c++)
            at += (size_t)snprintf(out + at, len - at, "%s%c", cell_or(rows[i * MEMORY_SC_COLS + c]),
                                   c + 1 == MEMORY_SC_COLS ? '\n' : '|');
}

/* A scene's rows folded into one, per part the row with that part's highest version (the name
 * and description of the content's, the position of the position's); only active fresh items;
 * one row per (project, scene), sorted; and the same result whatever order the rows came in. */
static void test_fold_scenes_per_part(void **state) {
    (void)state;
    memory_batch b;
    memory_batch_init(&b, 1, 1);
    const char *ids[] = {"e0", "e1", "e2", "e3", "e4", "e5", "e6"};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(memory_batch_add_item(&b, NULL, MEMORY_ITEM_EDITOR_EVENTS, ids[i], 1), i);
        b.items[i].active = b.items[i].fresh = true;
    }
    add_scene_row(&b, 0, "p2", "a", 1, 1, 0, "a1");    /* created v1 */
    add_scene_row(&b, 1, "p1", "a", 3, 3, 0, "p1a3");  /* another project's scene of the same id */
    add_scene_row(&b, 2, "p2", "a", 0, 4, 0, NULL);    /* reordered v4 */
    add_scene_row(&b, 3, "p2", "a", 3, 3, 0, "a3");    /* updated v3 after it: content yes, position no */
    add_scene_row(&b, 4, "p2", "b", 0, 0, 2, NULL);    /* deleted v2 */
    add_scene_row(&b, 4, "p2", "b", 1, 1, 0, "b1");    /* (same item: rows of one event) */
    add_scene_row(&b, 5, "p2", "a", 9, 9, 0, "stale"); /* a duplicate: not fresh */
    add_scene_row(&b, 6, "p2", "a", 0, 0, 8, NULL);    /* not active */
    b.items[5].fresh = false;
    b.items[6].active = false;
    const char *out[8 * MEMORY_SC_COLS];
    size_t n = memory_batch_fold(&b, &b.scenes, false, out);
    char got[2048];
    fold_text(out, n, got, sizeof got);
    assert_string_equal(got, "p1|a|p1a3|30|5000|p1a3|3|3|0\n"
                             "p2|a|a3|40|5000|a3|3|4|0\n"
                             "p2|b|b1|10|5000|b1|1|1|2\n");

    /* Random batches of rows over a few scenes, folded in arrival order and shuffled: equal. */
    bf_rng r;
    bf_rng_seed(&r, 17);
    for (int round = 0; round < 200; round++) {
        memory_batch x, y;
        memory_batch_init(&x, 1, 1);
        memory_batch_init(&y, 1, 1);
        size_t rows = 1 + (size_t)bf_rng_upto(&r, 30), perm[31];
        long parts[31][3];
        char scene[31][4];
        for (size_t i = 0; i < rows; i++) {
            perm[i] = i;
            snprintf(scene[i], sizeof scene[i], "s%d", (int)bf_rng_upto(&r, 3));
            int kind = (int)bf_rng_upto(&r, 2); /* update, reorder, delete; versions distinct per part */
            long v = (long)(i + 1);
            parts[i][0] = kind == 0 ? v : 0;
            parts[i][1] = kind <= 1 ? v : 0;
            parts[i][2] = kind == 2 ? v : 0;
        }
        for (size_t i = rows; i > 1; i--) {
            size_t j = (size_t)bf_rng_upto(&r, (int64_t)i - 1), t = perm[i - 1];
            perm[i - 1] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < rows; i++) {
            char tag[16];
            snprintf(tag, sizeof tag, "t%zu", i);
            assert_int_equal(memory_batch_add_item(&x, NULL, MEMORY_ITEM_EDITOR_EVENTS, "e", 1), i);
            assert_int_equal(memory_batch_add_item(&y, NULL, MEMORY_ITEM_EDITOR_EVENTS, "e", 1), i);
            x.items[i].active = x.items[i].fresh = y.items[i].active = y.items[i].fresh = true;
            add_scene_row(&x, i, "p", scene[i], parts[i][0], parts[i][1], parts[i][2], tag);
            size_t k = perm[i];
            snprintf(tag, sizeof tag, "t%zu", k);
            add_scene_row(&y, i, "p", scene[k], parts[k][0], parts[k][1], parts[k][2], tag);
        }
        const char *fx[31 * MEMORY_SC_COLS], *fy[31 * MEMORY_SC_COLS];
        char tx[4096], ty[4096];
        size_t nx = memory_batch_fold(&x, &x.scenes, false, fx), ny = memory_batch_fold(&y, &y.scenes, false, fy);
        fold_text(fx, nx, tx, sizeof tx);
        fold_text(fy, ny, ty, sizeof ty);
        assert_string_equal(tx, ty);
        memory_batch_free(&x);
        memory_batch_free(&y);
    }

    /* Relations: the value of the highest version; from_image from whichever row has one. */
    const char *r1[MEMORY_REL_COLS] = {"p", "a", "2", "{\"version\":2}", NULL};
    const char *r2[MEMORY_REL_COLS] = {"p", "a", "1", "{\"version\":1}", "{\"url\":\"u\"}"};
    const char *r3[MEMORY_REL_COLS] = {"p", "a", "3", "{\"version\":3}", NULL};
    assert_int_equal(memory_rows_add(&b.relations, 0, r1), 0);
    assert_int_equal(memory_rows_add(&b.relations, 1, r2), 0);
    assert_int_equal(memory_rows_add(&b.relations, 2, r3), 0);
    const char *rel[3 * MEMORY_REL_COLS];
    assert_int_equal(memory_batch_fold(&b, &b.relations, true, rel), 1);
    assert_string_equal(rel[MEMORY_REL_VERSION], "3");
    assert_string_equal(rel[MEMORY_REL_VALUE], "{\"version\":3}");
    assert_string_equal(rel[MEMORY_REL_FROM_IMAGE], "{\"url\":\"u\"}");
    /* Compaction keeps the editor rows with their items. */
    b.items[0].done = true;
    memory_batch_compact(&b);
    assert_int_equal(b.scenes.n, 7);
    assert_int_equal(b.relations.n, 2);
    assert_int_equal(b.relations.item[0], 0);
    memory_batch_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgarray_literals),
        cmocka_unit_test(test_mark_fresh_first_duplicate_only),
        cmocka_unit_test(test_plan_rounds_in_arrival_order),
        cmocka_unit_test(test_plan_matches_reference),
        cmocka_unit_test(test_rows_and_truncate),
        cmocka_unit_test(test_compact_keeps_rest_in_order),
        cmocka_unit_test(test_fold_scenes_per_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
