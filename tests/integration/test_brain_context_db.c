/* The context packet from a real, migrated PostgreSQL: preferences (with confidence), scene
 * relationships, scenes in order, image analyses newest first and bounded, the last N messages in
 * the order they were said; and all of it in the prompt the LLM would receive. Also the
 * known-image check behind the imageAnalysisRequested fan-out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_migrate.h"
#include "bf_test_kafka.h"
#include "bf_trace.h"
#include "brain_context.h"
#include "brain_prompt.h"
#include "brain_store.h"

/* The store answers from the loop: run it until the read's callback ran. */
typedef struct {
    bool done;
    char *doc;
    char err[512];
    int known[8];
} answer;

static void on_doc(void *ctx, char *doc, const char *err) {
    answer *a = ctx;
    a->done = true;
    a->doc = doc;
    snprintf(a->err, sizeof a->err, "%s", err ? err : "");
}

static void on_known(void *ctx, const int *known, size_t n, const char *err) {
    answer *a = ctx;
    a->done = true;
    for (size_t i = 0; i < n && i < 8; i++) a->known[i] = known[i];
    snprintf(a->err, sizeof a->err, "%s", err ? err : "");
}

static char *read_context(brain_store *s, bf_loop *l, const char *project, const char *conv, long long nconv,
                          long long nimg, char *err, size_t errlen) {
    brain_store_ops ops = brain_store_ops_of(s);
    answer a = {0};
    assert_int_equal(ops.context(ops.impl, project, conv, nconv, nimg, on_doc, &a), 0);
    for (int i = 0; i < 1000 && !a.done; i++) bf_loop_run_once(l, 100);
    assert_true(a.done);
    snprintf(err, errlen, "%s", a.err);
    return a.doc;
}

static int read_known(brain_store *s, bf_loop *l, const char *project, const char *const *urls, size_t n, int *known,
                      char *err, size_t errlen) {
    brain_store_ops ops = brain_store_ops_of(s);
    answer a = {0};
    assert_int_equal(ops.known_images(ops.impl, project, urls, n, on_known, &a), 0);
    for (int i = 0; i < 1000 && !a.done; i++) bf_loop_run_once(l, 100);
    assert_true(a.done);
    memcpy(known, a.known, n * sizeof *known);
    snprintf(err, errlen, "%s", a.err);
    return a.err[0] ? -1 : 0;
}

static char dsn_of_fresh[1024];

static bf_db *fresh_db(bf_log *log) {
    char hex[9], err[512], name[64];
    bf_random_hex(hex, 4);
    snprintf(name, sizeof name, "t_brain_%s", hex);
    bf_db *admin = bf_db_new(bf_test_pg_dsn(), log);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name); /* name is ours: random hex only */
    if (bf_db_exec(admin, sql, err, sizeof err) != 0) fail_msg("%s", err);
    bf_db_free(admin);
    char *dsn = dsn_of_fresh;
    snprintf(dsn, sizeof dsn_of_fresh, "%s dbname=%s", bf_test_pg_dsn(), name);
    bf_db *db = bf_db_new(dsn, log);
    if (bf_migrate_apply(db, bf_migrations, bf_migrations_n, NULL, err, sizeof err) != 0) fail_msg("%s", err);
    return db;
}

static void exec(bf_db *db, const char *sql) {
    char err[512];
    if (bf_db_exec(db, sql, err, sizeof err) != 0) fail_msg("%s: %s", sql, err);
}

static void seed(bf_db *db) {
    exec(db, "INSERT INTO project_memory (project_id, memory_type, key, value, confidence, source) VALUES "
             "('p1', 'user_preference', 'preferred_mood', '\"dark\"', 0.85, 'test'),"
             "('p1', 'user_preference', 'preferred_colors', '[\"teal\",\"black\"]', 0.4, 'test'),"
             "('p1', 'scene_relationship', 'scene:s2', '{\"follows\":\"s1\"}', 0.5, 'test'),"
             "('p2', 'user_preference', 'preferred_mood', '\"playful\"', 0.9, 'test')");
    exec(db, "INSERT INTO scenes (project_id, scene_id, name, position, duration_ms) VALUES "
             "('p1', 's2', 'Logo reveal', 2, 4000), ('p1', 's1', 'Intro', 1, 3000)");
    exec(db, "INSERT INTO image_analysis (project_id, trace_id, request_id, content_hash, image_urls, mood, "
             "analyser, created_at) VALUES "
             "('p1', '" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1" "', 'r', repeat('a', 64), '{https://x/old.png}', 'calm', "
             "'builtin', now() - interval '2 hours'),"
             "('p1', '" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2" "', 'r', repeat('b', 64), '{https://x/new.png}', "
             "'energetic', 'builtin', now() - interval '1 hour')");
    /* 12 messages; the packet keeps the newest 10, oldest of them first. */
    for (int i = 1; i <= 12; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT INTO messages (message_id, project_id, conversation_id, role, content, created_at) VALUES "
                 "('00000000-0000-4000-8000-%012d', 'p1', 'c1', '%s', 'message number %02d', "
                 "now() - interval '%d minutes')",
                 i, i % 2 ? "user" : "assistant", i, 100 - i);
        exec(db, sql);
    }
}

static void test_context_reaches_prompt(void **state) {
    (void)state;
    bf_log log;
    bf_log_init(&log, stderr, "test", BF_LOG_WARN);
    bf_db *db = fresh_db(&log);
    seed(db);
    char err[512];
    bf_loop *l = bf_loop_new(err, sizeof err);
    brain_store *s = brain_store_new(l, dsn_of_fresh, 2, 2000, &log, err, sizeof err);
    if (!s) fail_msg("%s", err);
    char *doc = read_context(s, l, "p1", "c1", 10, 20, err, sizeof err);
    if (!doc) fail_msg("%s", err);
    brain_context ctx;
    assert_int_equal(brain_context_parse(doc, strlen(doc), &ctx, err, sizeof err), 0);
    free(doc);
    assert_false(ctx.degraded);
    assert_int_equal(ctx.n_preferences, 2);
    assert_string_equal(ctx.preferences[0].key, "preferred_mood");
    assert_true(ctx.preferences[0].confidence > 0.84 && ctx.preferences[0].confidence < 0.86);
    assert_int_equal(ctx.n_relationships, 1);
    assert_int_equal(ctx.n_scenes, 2);
    assert_string_equal(ctx.scenes[0].id, "s1");
    assert_int_equal(ctx.scenes[1].duration_ms, 4000);
    assert_int_equal(ctx.n_images, 2);
    assert_string_equal(ctx.images[0].trace_id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2");
    assert_non_null(strstr(ctx.images[0].facts, "energetic"));
    assert_int_equal(ctx.n_messages, 10);
    assert_string_equal(ctx.messages[0].content, "message number 03");
    assert_string_equal(ctx.messages[9].content, "message number 12");

    brain_prompt p;
    brain_prompt_input in = {.user_prompt = "Make the logo pop", .selected_scene = "s2", .ctx = &ctx,
                             .token_budget = 120000};
    assert_int_equal(brain_prompt_build(&in, &p), 0);
    const char *expect[] = {"preferred_mood: dark (confidence 0.85)", "preferred_colors", "scene:s2",
                            "{\"follows\":\"s1\"}", "id=s1 name=\"Intro\"", "id=s2 name=\"Logo reveal\"",
                            "energetic", "calm", "message number 03", "message number 12", "Make the logo pop"};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
        if (!strstr(p.user, expect[i])) fail_msg("prompt lacks %s:\n%s", expect[i], p.user);
    assert_null(strstr(p.user, "playful")); /* another project's memory */
    assert_null(strstr(p.user, "message number 02"));
    brain_prompt_clear(&p);
    brain_context_clear(&ctx);

    /* Image limit: only the newest analysis. */
    doc = read_context(s, l, "p1", "c1", 10, 1, err, sizeof err);
    assert_non_null(doc);
    assert_int_equal(brain_context_parse(doc, strlen(doc), &ctx, err, sizeof err), 0);
    free(doc);
    assert_int_equal(ctx.n_images, 1);
    assert_string_equal(ctx.images[0].trace_id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2");
    brain_context_clear(&ctx);

    const char *urls[] = {"https://x/new.png", "https://x/unseen.png"};
    int known[2];
    assert_int_equal(read_known(s, l, "p1", urls, 2, known, err, sizeof err), 0);
    assert_int_equal(known[0], 1);
    assert_int_equal(known[1], 0);
    assert_int_equal(read_known(s, l, "p2", urls, 2, known, err, sizeof err), 0);
    assert_int_equal(known[0], 0);
    brain_store_free(s);
    assert_int_equal(bf_loop_ios(l), 0);
    bf_loop_free(l);
    bf_db_free(db);
}

static void test_unreachable_db_fails_fast(void **state) {
    (void)state;
    bf_log log;
    bf_log_init(&log, stderr, "test", BF_LOG_ERROR);
    char err[512] = "";
    bf_loop *l = bf_loop_new(err, sizeof err);
    brain_store *s = brain_store_new(l, "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=1", 1, 2000, &log, err,
                                     sizeof err);
    assert_non_null(s);
    assert_null(read_context(s, l, "p1", NULL, 10, 20, err, sizeof err));
    assert_true(err[0] != '\0');
    brain_store_free(s);
    bf_loop_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_context_reaches_prompt),
        cmocka_unit_test(test_unreachable_db_fails_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
