/* The confidence merge done by PostgreSQL (memory_store's ON CONFLICT DO UPDATE) equals the C rule
 * (memory_confidence_merge) for a sequence of explicit and inferred, agreeing and contradicting
 * updates, written in one batch (several updates of one key in one transaction) and across
 * batches, and per project when many projects are written through several connections at once.
 * A message the database refuses is dead-lettered alone; the rest of its batch lands. */
#include "test_memory_util.h"

#include <cjson/cJSON.h>

#include "bf_msg_dead_letter.h"
#include "memory_confidence.h"

typedef struct {
    const char *key, *value;
    double w;
    bool is_explicit;
} step;

static const step steps[] = {
    {"style", "\"a\"", 0.3, false}, {"style", "\"a\"", 0.5, false}, {"style", "\"b\"", 0.2, false},
    {"style", "\"c\"", 0.9, true},  {"style", "\"d\"", 1.0, false}, {"style", "\"c\"", 0.5, true},
    {"style", "\"c\"", 0.5, false}, {"pace", "\"slow\"", 0.3, false}, {"pace", "\"fast\"", 0.4, false},
    {"pace", "\"fast\"", 0.25, false}, {"pace", "{\"x\":[1,2]}", 0.1, false}, {"pace", "{\"x\": [1, 2]}", 0.1, false},
};
#define N_STEPS (sizeof steps / sizeof steps[0])

typedef struct {
    const char *value;
    memory_belief b;
    bool exists;
} expected;

/* Folds the steps of key through the C rule. Values compare as JSON (jsonb equality). */
static expected fold(const char *key) {
    expected e = {0};
    for (size_t i = 0; i < N_STEPS; i++) {
        if (strcmp(steps[i].key, key) != 0) continue;
        if (!e.exists) {
            e = (expected){steps[i].value, {steps[i].w, steps[i].is_explicit}, true};
            continue;
        }
        cJSON *a = cJSON_Parse(e.value), *b = cJSON_Parse(steps[i].value);
        bool same = cJSON_Compare(a, b, true);
        cJSON_Delete(a);
        cJSON_Delete(b);
        memory_merge_result r = memory_confidence_merge(e.b, steps[i].w, steps[i].is_explicit, same);
        e.b = r.belief;
        if (r.take_value) e.value = steps[i].value;
    }
    return e;
}

static void check_row(PGconn *db, const char *project, const char *key) {
    expected e = fold(key);
    const char *p[] = {project, key, e.value};
    PGresult *r = PQexecParams(db,
                               "SELECT confidence, is_explicit, value = $3::jsonb FROM project_memory"
                               " WHERE project_id = $1 AND memory_type = 'user_preference' AND key = $2",
                               3, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    double c = strtod(PQgetvalue(r, 0, 0), NULL);
    if (c != e.b.confidence) fail_msg("%s: database confidence %.17g, C rule %.17g", key, c, e.b.confidence);
    assert_string_equal(PQgetvalue(r, 0, 1), e.b.is_explicit ? "t" : "f");
    assert_string_equal(PQgetvalue(r, 0, 2), "t");
    PQclear(r);
}

static void run_steps(bool one_batch) {
    mt_fixture f;
    mt_fixture_init(&f, 1);
    PGconn *db = mt_db();
    /* One batch: a long linger so every step lands in the same transaction (several updates of
     * one key there: one statement per round). Else: a batch of one message each. */
    const char *env_one[] = {"BRAINFLEET_BATCH_LINGER=3s", NULL};
    const char *env_each[] = {"BRAINFLEET_BATCH_SIZE=1", NULL};
    pid_t w = mt_spawn(&f, "run", NULL, one_batch ? env_one : env_each, NULL);
    rd_kafka_t *rk = mt_producer_new();
    for (size_t i = 0; i < N_STEPS; i++) {
        char *json = mt_memory_update(f.project, steps[i].key, steps[i].value, steps[i].w, steps[i].is_explicit, NULL);
        mt_produce(rk, f.updates_topic, 0, f.project, json);
        free(json);
    }
    mt_producer_free(rk);
    /* Done when the group's offset passed every message (they are committed only after the
     * transaction that holds them). */
    int64_t end = bf_test_now_ms() + 60000;
    while (bf_test_committed_offset(f.group, f.updates_topic, 0) < (int64_t)N_STEPS && bf_test_now_ms() < end)
        bf_test_sleep_ms(200);
    assert_int_equal(bf_test_committed_offset(f.group, f.updates_topic, 0), N_STEPS);
    check_row(db, f.project, "style");
    check_row(db, f.project, "pace");
    assert_int_equal(mt_stop(w, SIGTERM), 0);
    PQfinish(db);
}

static void test_db_equals_c_rule_one_batch(void **state) {
    (void)state;
    run_steps(true);
}

static void test_db_equals_c_rule_batch_per_message(void **state) {
    (void)state;
    run_steps(false);
}

/* Many projects over four lanes with batches of three, the steps of all projects interleaved:
 * every project's rows must still equal the sequential C fold, which the order-sensitive steps
 * (contradictions, explicit over inferred) only give if each project's messages are applied in
 * arrival order, across transactions and while other lanes write. */
static void test_lanes_keep_each_projects_order(void **state) {
    (void)state;
    enum { PROJECTS = 24 };
    mt_fixture f;
    mt_fixture_init(&f, 1);
    PGconn *db = mt_db();
    const char *env[] = {"BRAINFLEET_BATCH_SIZE=3", "BRAINFLEET_WRITE_CONNECTIONS=4", "BRAINFLEET_MAX_IN_FLIGHT=64",
                         NULL};
    pid_t w = mt_spawn(&f, "run", NULL, env, NULL);
    rd_kafka_t *rk = mt_producer_new();
    char project[PROJECTS][128];
    for (int p = 0; p < PROJECTS; p++) snprintf(project[p], sizeof project[p], "%s-%d", f.project, p);
    for (size_t i = 0; i < N_STEPS; i++)
        for (int p = 0; p < PROJECTS; p++) {
            char *json =
                mt_memory_update(project[p], steps[i].key, steps[i].value, steps[i].w, steps[i].is_explicit, NULL);
            mt_produce(rk, f.updates_topic, 0, project[p], json);
            free(json);
        }
    mt_producer_free(rk);
    int64_t total = (int64_t)(N_STEPS * PROJECTS), end = bf_test_now_ms() + 60000;
    while (bf_test_committed_offset(f.group, f.updates_topic, 0) < total && bf_test_now_ms() < end)
        bf_test_sleep_ms(200);
    assert_int_equal(bf_test_committed_offset(f.group, f.updates_topic, 0), total);
    for (int p = 0; p < PROJECTS; p++) {
        check_row(db, project[p], "style");
        check_row(db, project[p], "pace");
    }
    assert_int_equal(mt_stop(w, SIGTERM), 0);
    PQfinish(db);
}

static void test_refused_message_dead_lettered_alone(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, 1);
    PGconn *db = mt_db();
    /* A constraint only this test's poison key violates stands for data the database refuses
     * although the contract accepts it. NOT VALID: existing rows are not checked. */
    char poison[96], ddl[384], drop[256];
    snprintf(poison, sizeof poison, "poison-%s", f.project);
    snprintf(ddl, sizeof ddl, "ALTER TABLE project_memory ADD CONSTRAINT \"%s\" CHECK (key <> '%s') NOT VALID",
             poison, poison);
    snprintf(drop, sizeof drop, "ALTER TABLE project_memory DROP CONSTRAINT \"%s\"", poison);
    mt_exec(db, ddl, NULL, NULL);
    const char *env[] = {"BRAINFLEET_BATCH_LINGER=2s", NULL};
    pid_t w = mt_spawn(&f, "run", NULL, env, NULL);
    rd_kafka_t *rk = mt_producer_new();
    for (int i = 0; i < 5; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        char *json = mt_memory_update(f.project, i == 2 ? poison : key, "1", 0.5, false, NULL);
        mt_produce(rk, f.updates_topic, 0, f.project, json);
        free(json);
    }
    mt_producer_free(rk);
    int64_t end = bf_test_now_ms() + 60000;
    while (bf_test_committed_offset(f.group, f.updates_topic, 0) < 5 && bf_test_now_ms() < end) bf_test_sleep_ms(200);
    mt_exec(db, drop, NULL, NULL);
    assert_int_equal(bf_test_committed_offset(f.group, f.updates_topic, 0), 5);
    assert_int_equal(mt_scalar(db, "SELECT count(*) FROM project_memory WHERE project_id = $1", f.project, NULL, NULL),
                     4);
    size_t n = 0;
    bf_test_msg *m = bf_test_consume_all(f.dlq_topic, 1, 1000, 30000, &n);
    assert_int_equal(n, 1);
    /* What deadLetters promises (docs/topics.md): the reason and the source in the payload. */
    bf_msg_dead_letter dl;
    char err[512];
    if (bf_msg_dead_letter_decode(m[0].payload, m[0].len, &dl, err, sizeof err) != 0) fail_msg("dead letter: %s", err);
    assert_string_equal(dl.reason_code, "db_rejected");
    assert_non_null(strstr(dl.reason_message, poison));
    assert_int_equal(dl.offset, 2);
    assert_string_equal(dl.topic, f.updates_topic);
    const char *schema = bf_test_msg_header(&m[0], "bf-schema");
    assert_non_null(schema);
    assert_string_equal(schema, "deadLetters");
    bf_msg_dead_letter_free(&dl);
    bf_test_msgs_free(m, n);
    assert_int_equal(mt_stop(w, SIGTERM), 0);
    PQfinish(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_equals_c_rule_one_batch),
        cmocka_unit_test(test_db_equals_c_rule_batch_per_message),
        cmocka_unit_test(test_lanes_keep_each_projects_order),
        cmocka_unit_test(test_refused_message_dead_lettered_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
