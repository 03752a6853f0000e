/* Two memory-writer processes in one consumer group race on one project: every image is sent
 * twice, to different partitions (so the two copies can be handled by different replicas at the
 * same moment), and the second replica joins mid-stream (a rebalance while batches are in flight).
 * The database must end with each image once and the preference confidence equal to exactly one
 * application of each image's evidence: nothing duplicated, no update lost. */
#include "test_memory_util.h"

#include "memory_confidence.h"

#define IMAGES 200
#define PARTITIONS 6
#define WEIGHT 0.001 /* small, so one missing or extra application shows in the confidence */

static int64_t committed_total(const mt_fixture *f) {
    int64_t sum = 0;
    for (int p = 0; p < PARTITIONS; p++) {
        int64_t o = bf_test_committed_offset(f->group, f->facts_topic, p);
        if (o > 0) sum += o;
    }
    return sum;
}

static void test_two_replicas_one_project(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, PARTITIONS);
    PGconn *db = mt_db();
    const char *env[] = {"BRAINFLEET_INFERRED_WEIGHT=0.001", "BRAINFLEET_BATCH_SIZE=50", NULL};
    pid_t a = mt_spawn(&f, "run", NULL, env, NULL);
    rd_kafka_t *rk = mt_producer_new();
    pid_t b = 0;
    for (int i = 0; i < IMAGES; i++) {
        char ev[BF_UUID_LEN + 1];
        char *json = mt_image_facts(f.project, "calm", "#1f3a93", i, ev);
        mt_produce(rk, f.facts_topic, i % PARTITIONS, f.project, json);
        mt_produce(rk, f.facts_topic, (i + 3) % PARTITIONS, f.project, json);
        free(json);
        if (i == IMAGES / 2) {
            rd_kafka_flush(rk, 10000);
            b = mt_spawn(&f, "run", NULL, env, NULL);
        }
    }
    mt_producer_free(rk);
    int64_t end = bf_test_now_ms() + 120000;
    while (committed_total(&f) < 2 * IMAGES && bf_test_now_ms() < end) bf_test_sleep_ms(250);
    assert_int_equal(committed_total(&f), 2 * IMAGES);

    assert_int_equal(mt_scalar(db, "SELECT count(*) FROM image_analysis WHERE project_id = $1", f.project, NULL, NULL),
                     IMAGES);
    assert_int_equal(mt_scalar(db,
                               "SELECT count(*) FROM processed_events WHERE consumer = 'memory-writer' AND event_id"
                               " IN (SELECT source_event_id::uuid FROM image_analysis WHERE project_id = $1)",
                               f.project, NULL, NULL),
                     IMAGES);
    memory_belief want = {WEIGHT, false};
    for (int i = 1; i < IMAGES; i++) want = memory_confidence_merge(want, WEIGHT, false, true).belief;
    const char q[] = "SELECT confidence FROM project_memory WHERE project_id = $1 AND key = $2";
    double got = mt_scalar(db, q, f.project, "preferred_mood", NULL);
    if (got != want.confidence) fail_msg("preferred_mood confidence %.17g, want %.17g", got, want.confidence);
    got = mt_scalar(db, q, f.project, "preferred_colors", NULL);
    if (got != want.confidence) fail_msg("preferred_colors confidence %.17g, want %.17g", got, want.confidence);
    assert_int_equal(mt_scalar(db, "SELECT count(*) FROM project_memory WHERE project_id = $1", f.project, NULL, NULL),
                     2);
    assert_int_equal(mt_stop(a, SIGTERM), 0);
    assert_int_equal(mt_stop(b, SIGTERM), 0);
    PQfinish(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_replicas_one_project),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
