/* The memory stage when the database fails (test_memory_stage_fake.h scripts it): down -> hold,
 * /readyz "postgres" not ready, retries with backoff (the waiting batch, or a probe when there is
 * none), resume at the first success; a transient failure retried; a batch the database refuses
 * written one message per transaction, the refused one dead-lettered and the others committed;
 * duplicates counted and still published. The clock is moved; nothing sleeps. */
#include "test_memory_stage_fake.h"

/* The database goes away under a batch: consumption held, not ready, the same batch retried after
 * 100, 200, 400 ms (capped at DB_RETRY_MAX), nothing published, dead-lettered or finished
 * meanwhile; when it is back the batch commits once, consumption resumes, ready again. */
static void test_down_holds_and_retries_with_backoff(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 2, .linger_ms = 10, .retry_max_ms = 400}, false);
    assert_int_equal(bf_fake_dependency(x.f, "postgres"), 1);
    assert_false(bf_fake_held(x.f));
    x.db.down = true;
    int64_t off[3];
    for (int i = 0; i < 3; i++) off[i] = fx_deliver_image(&x, "p-down", i, NULL);
    bf_fake_advance(x.f, 10);
    assert_int_equal(fx_writes(&x), 1);
    fx_answer(&x);
    assert_true(bf_fake_held(x.f));
    assert_int_equal(bf_fake_dependency(x.f, "postgres"), 0);
    const int64_t waits[] = {100, 200, 400, 400, 400};
    for (size_t k = 0; k < sizeof waits / sizeof waits[0]; k++) {
        size_t before = fx_writes(&x);
        bf_fake_advance(x.f, waits[k] - 1);
        assert_int_equal(fx_writes(&x), before); /* not yet */
        bf_fake_advance(x.f, 1);
        if (fx_writes(&x) != before + 1) fail_msg("retry %zu: not after %lld ms", k + 1, (long long)waits[k]);
        fx_answer(&x);
        assert_true(bf_fake_held(x.f));
    }
    assert_int_equal(bf_fake_published(x.f), 0);
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_PENDING);
    x.db.down = false;
    bf_fake_advance(x.f, 400);
    fx_answer(&x);
    assert_false(bf_fake_held(x.f));
    assert_int_equal(bf_fake_dependency(x.f, "postgres"), 1);
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    assert_int_equal(x.db.n_committed, 3);
    assert_int_equal(bf_fake_count(x.f, "imageFactsProcessed"), 3);
    assert_int_equal(bf_fake_count(x.f, "deadLetters"), 0);
    /* The backoff starts again from 100 ms at the next outage. */
    x.db.down = true;
    fx_deliver_image(&x, "p-down", 7, NULL);
    bf_fake_advance(x.f, 10);
    fx_answer(&x);
    size_t before = fx_writes(&x);
    bf_fake_advance(x.f, 100);
    assert_int_equal(fx_writes(&x), before + 1);
    x.db.down = false;
    fx_answer(&x);
    assert_false(bf_fake_held(x.f));
    fx_free_all(&x);
}

/* Down at start with nothing to write: consumption held and not ready; the retries are probes on
 * the same schedule, and the first that answers resumes consumption. */
static void test_down_at_start_probes_until_up(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1}, true);
    assert_true(bf_fake_held(x.f));
    assert_int_equal(bf_fake_dependency(x.f, "postgres"), 0);
    assert_int_equal(x.db.probes, 1);
    bf_fake_advance(x.f, 99);
    assert_int_equal(x.db.probes, 1);
    bf_fake_advance(x.f, 1);
    assert_int_equal(x.db.probes, 2);
    fx_answer(&x);
    bf_fake_advance(x.f, 200);
    assert_int_equal(x.db.probes, 3);
    x.db.down = false;
    fx_answer(&x);
    assert_false(bf_fake_held(x.f));
    assert_int_equal(bf_fake_dependency(x.f, "postgres"), 1);
    bf_fake_advance(x.f, 60000);
    assert_int_equal(x.db.probes, 3); /* no more probing once up */
    assert_int_equal(fx_writes(&x), 0);
    fx_free_all(&x);
}

/* A transient failure (a deadlock with another replica) is retried, 100 ms then 200 ms later,
 * without holding consumption; the batch then commits once, whole. */
static void test_transient_failure_retried(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .linger_ms = 10}, false);
    x.db.transient = 2;
    int64_t off[4];
    for (int i = 0; i < 4; i++) off[i] = fx_deliver_image(&x, "p-tr", i, NULL);
    bf_fake_advance(x.f, 10);
    fx_answer(&x);
    assert_false(bf_fake_held(x.f));
    assert_int_equal(bf_fake_dependency(x.f, "postgres"), 1);
    bf_fake_advance(x.f, 99);
    assert_int_equal(fx_writes(&x), 1);
    bf_fake_advance(x.f, 1);
    assert_int_equal(fx_writes(&x), 2);
    fx_answer(&x);
    bf_fake_advance(x.f, 199);
    assert_int_equal(fx_writes(&x), 2);
    bf_fake_advance(x.f, 1);
    assert_int_equal(fx_writes(&x), 3);
    assert_int_equal(x.db.write_sizes[0][2], 4); /* still the whole batch */
    fx_answer(&x);
    for (int i = 0; i < 4; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    assert_int_equal(x.db.n_commits, 1);
    assert_int_equal(bf_fake_count(x.f, "deadLetters"), 0);
    fx_free_all(&x);
}

/* The database refuses one message of a batch: the batch is rolled back and written one message
 * per transaction, in order; the refused one goes to deadLetters (db_rejected, its source offset)
 * and is finished, the others commit and are published. Afterwards batches are whole again. */
static void test_refused_message_isolated(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .linger_ms = 10}, false);
    char ids[5][BF_UUID_LEN + 1];
    int64_t off[5];
    for (int i = 0; i < 5; i++) off[i] = fx_deliver_image(&x, "p-bad", i, ids[i]);
    snprintf(x.db.refused[x.db.n_refused++], BF_UUID_LEN + 1, "%s", ids[2]);
    bf_fake_advance(x.f, 10);
    for (int round = 0; round < 10 && fx_busy(&x); round++) fx_answer(&x);
    assert_false(fx_busy(&x));
    assert_int_equal(x.db.write_sizes[0][0], 5);
    for (size_t w = 1; w < x.db.writes[0]; w++) assert_int_equal(x.db.write_sizes[0][w], 1);
    assert_int_equal(x.db.writes[0], 6);
    assert_int_equal(x.db.n_committed, 4);
    const int order[] = {0, 1, 3, 4};
    for (int k = 0; k < 4; k++) assert_string_equal(x.db.committed[k], ids[order[k]]);
    for (int i = 0; i < 5; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    assert_int_equal(bf_fake_count(x.f, "deadLetters"), 1);
    const bf_fake_record *dl = bf_fake_nth(x.f, "deadLetters", 0);
    assert_non_null(strstr(dl->payload, "\"db_rejected\""));
    assert_non_null(strstr(dl->payload, "violates check constraint"));
    assert_int_equal(dl->cause_offset, off[2]);
    assert_int_equal(bf_fake_count(x.f, "imageFactsProcessed"), 4);
    assert_int_equal(fx_metric(&x, "bf_memory_rejected_total"), 1);
    assert_false(bf_fake_held(x.f));
    /* The next batch is written whole. */
    for (int i = 0; i < 3; i++) fx_deliver_image(&x, "p-bad", 10 + i, NULL);
    bf_fake_advance(x.f, 10);
    assert_int_equal(x.db.write_sizes[0][6], 3);
    fx_answer(&x);
    assert_int_equal(x.db.n_committed, 7);
    fx_free_all(&x);
}

/* A batch that keeps failing transiently (three times) is written one message per transaction
 * too, so one message that keeps a lock conflict going cannot hold the others back for ever. */
static void test_persistent_transient_failure_isolates(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .linger_ms = 10}, false);
    x.db.transient = 3;
    int64_t off[3];
    for (int i = 0; i < 3; i++) off[i] = fx_deliver_image(&x, "p-tr", i, NULL);
    bf_fake_advance(x.f, 10);
    for (int round = 0; round < 20 && (fx_busy(&x) || bf_runtime_in_flight(x.rt)); round++) {
        fx_answer(&x);
        bf_fake_advance(x.f, 1000);
    }
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    assert_int_equal(x.db.writes[0], 6); /* 3 failed whole, then 3 alone */
    for (size_t w = 3; w < 6; w++) assert_int_equal(x.db.write_sizes[0][w], 1);
    assert_int_equal(bf_fake_count(x.f, "deadLetters"), 0);
    fx_free_all(&x);
}

/* A message already in the ledger (a replay, a redelivery) changes nothing, is counted as a
 * duplicate, and is still published (consumers recognise the source_event_id) and finished: in a
 * later batch, and twice in one batch. */
static void test_duplicates_counted_and_republished(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .linger_ms = 10}, false);
    char ev[BF_UUID_LEN + 1];
    char *json = fx_image_facts("p-dup", 1, ev);
    int64_t a = bf_fake_deliver(x.f, BF_SCHEMA_IMAGE_FACTS_READY, 0, "p-dup", json, NULL);
    bf_fake_advance(x.f, 10);
    fx_answer(&x);
    assert_int_equal(fx_metric(&x, "bf_memory_duplicates_total"), 0);
    int64_t b = bf_fake_deliver(x.f, BF_SCHEMA_IMAGE_FACTS_READY, 0, "p-dup", json, NULL);
    int64_t c = bf_fake_deliver(x.f, BF_SCHEMA_IMAGE_FACTS_READY, 0, "p-dup", json, NULL);
    bf_fake_advance(x.f, 10);
    assert_int_equal(x.db.write_sizes[0][1], 2);
    fx_answer(&x);
    free(json);
    assert_int_equal(fx_metric(&x, "bf_memory_duplicates_total"), 2);
    assert_int_equal(x.db.n_ledger, 1);
    assert_int_equal(fx_state(&x, a), BF_FAKE_COMPLETE);
    assert_int_equal(fx_state(&x, b), BF_FAKE_COMPLETE);
    assert_int_equal(fx_state(&x, c), BF_FAKE_COMPLETE);
    assert_int_equal(bf_fake_count(x.f, "imageFactsProcessed"), 3);
    assert_int_equal(fx_metric(&x, "bf_memory_messages_committed_total"), 3);

    /* Two copies in one batch: the first is fresh, the second a duplicate. */
    char ev2[BF_UUID_LEN + 1];
    json = fx_image_facts("p-dup", 2, ev2);
    bf_fake_deliver(x.f, BF_SCHEMA_IMAGE_FACTS_READY, 0, "p-dup", json, NULL);
    bf_fake_deliver(x.f, BF_SCHEMA_IMAGE_FACTS_READY, 0, "p-dup", json, NULL);
    free(json);
    bf_fake_advance(x.f, 10);
    fx_answer(&x);
    assert_int_equal(fx_metric(&x, "bf_memory_duplicates_total"), 3);
    assert_int_equal(x.db.n_ledger, 2);
    fx_free_all(&x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_down_holds_and_retries_with_backoff),
        cmocka_unit_test(test_down_at_start_probes_until_up),
        cmocka_unit_test(test_transient_failure_retried),
        cmocka_unit_test(test_refused_message_isolated),
        cmocka_unit_test(test_persistent_transient_failure_isolates),
        cmocka_unit_test(test_duplicates_counted_and_republished),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
