/* memory-writer changes the database exactly once per event, against the real broker and
 * database: a message delivered three times, a replay of the whole topic from offset 0 by a new
 * group, and a SIGKILL after the database commit but before the offset commit. Every delivery
 * still yields an imageFactsProcessed carrying the original event id. */
#include "test_memory_util.h"

#include "bf_msg_image_facts_processed.h"

static const char count_analyses[] = "SELECT count(*) FROM image_analysis WHERE project_id = $1";
static const char count_ledger[] =
    "SELECT count(*) FROM processed_events WHERE consumer = 'memory-writer' AND event_id = $1";
static const char mood_confidence[] =
    "SELECT confidence FROM project_memory WHERE project_id = $1 AND memory_type = 'user_preference'"
    " AND key = 'preferred_mood'";

/* How many imageFactsProcessed on the topic carry source_event_id event_id; reads again until
 * there are want of them (or a minute passed, so a broken run fails instead of hanging). */
static size_t processed_for(const mt_fixture *f, const char *event_id, size_t want) {
    int64_t end = bf_test_now_ms() + 60000;
    size_t hits;
    do {
        hits = 0;
        size_t n = 0;
        bf_test_msg *m = bf_test_consume_all(f->processed_topic, want, 1000, 20000, &n);
        for (size_t i = 0; i < n; i++) {
            bf_msg_image_facts_processed p;
            char err[512];
            if (bf_msg_image_facts_processed_decode(m[i].payload, m[i].len, &p, err, sizeof err) != 0)
                fail_msg("imageFactsProcessed does not decode: %s", err);
            hits += strcmp(p.source_event_id, event_id) == 0;
            bf_msg_image_facts_processed_free(&p);
        }
        bf_test_msgs_free(m, n);
    } while (hits < want && bf_test_now_ms() < end);
    return hits;
}

static void test_duplicates_replay_and_kill(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, 3);
    PGconn *db = mt_db();
    char ev[BF_UUID_LEN + 1];
    char *json = mt_image_facts(f.project, "calm", "#1f3a93", 1, ev);

    /* 1. The same message three times: one row, evidence counted once, three publications. */
    pid_t w = mt_spawn(&f, "run", NULL, NULL, NULL);
    for (int i = 0; i < 3; i++) bf_test_produce(f.facts_topic, 0, f.project, json, strlen(json), NULL);
    assert_int_equal(processed_for(&f, ev, 3), 3);
    assert_int_equal(mt_scalar(db, count_analyses, f.project, NULL, NULL), 1);
    assert_int_equal(mt_scalar(db, count_ledger, ev, NULL, NULL), 1);
    double conf = mt_scalar(db, mood_confidence, f.project, NULL, NULL);
    assert_float_equal(conf, 0.2, 1e-12); /* one image's weight, applied once */
    assert_int_equal(mt_stop(w, SIGTERM), 0);

    /* 2. A new group replays the topic from offset 0: nothing changes, everything re-published. */
    char group2[96];
    snprintf(group2, sizeof group2, "BRAINFLEET_GROUP_ID=%sreplay", f.prefix);
    const char *replay_env[] = {group2, NULL};
    w = mt_spawn(&f, "run", NULL, replay_env, NULL);
    assert_int_equal(processed_for(&f, ev, 6), 6);
    assert_int_equal(mt_scalar(db, count_analyses, f.project, NULL, NULL), 1);
    assert_int_equal(mt_scalar(db, count_ledger, ev, NULL, NULL), 1);
    assert_float_equal(mt_scalar(db, mood_confidence, f.project, NULL, NULL), conf, 1e-12);
    assert_int_equal(mt_stop(w, SIGTERM), 0);

    /* 3. SIGKILL between the database commit and the offset commit. Auto-commit is pushed out so
     * the kill lands in that window every time, not by luck. */
    const char *slow_commit[] = {"BRAINFLEET_KAFKA_AUTO_COMMIT_INTERVAL_MS=600000", NULL};
    w = mt_spawn(&f, "run", NULL, slow_commit, NULL);
    char ev2[BF_UUID_LEN + 1];
    char *json2 = mt_image_facts(f.project, "calm", "#1f3a93", 2, ev2);
    bf_test_produce(f.facts_topic, 0, f.project, json2, strlen(json2), NULL);
    assert_int_equal(mt_wait_count(db, count_ledger, ev2, 1, 60000), 1);
    assert_int_equal(mt_stop(w, SIGKILL), 128 + SIGKILL);
    int64_t committed = bf_test_committed_offset(f.group, f.facts_topic, 0);
    assert_true(committed <= 3); /* offset 3 (the new message) is not committed */
    double conf2 = mt_scalar(db, mood_confidence, f.project, NULL, NULL);
    assert_float_equal(conf2, 0.2 + 0.8 * 0.2, 1e-12);

    w = mt_spawn(&f, "run", NULL, NULL, NULL);
    /* Re-delivered after the restart: the group's offset moves past it only once it was handled
     * again (a duplicate to the ledger) and re-published. */
    int64_t end = bf_test_now_ms() + 60000;
    while (bf_test_committed_offset(f.group, f.facts_topic, 0) < 4 && bf_test_now_ms() < end) bf_test_sleep_ms(200);
    assert_int_equal(bf_test_committed_offset(f.group, f.facts_topic, 0), 4);
    assert_true(processed_for(&f, ev2, 1) >= 1);
    assert_int_equal(mt_scalar(db, count_analyses, f.project, NULL, NULL), 2);
    assert_int_equal(mt_scalar(db, count_ledger, ev2, NULL, NULL), 1);
    assert_float_equal(mt_scalar(db, mood_confidence, f.project, NULL, NULL), conf2, 1e-12);
    assert_int_equal(mt_stop(w, SIGTERM), 0);

    free(json);
    free(json2);
    PQfinish(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicates_replay_and_kill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
