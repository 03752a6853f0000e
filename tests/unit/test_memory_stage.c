/* The memory stage through the fake runtime and a scripted database (test_memory_stage_fake.h):
 * lanes (a project stays on its lane, in order), batching by size, by linger, and at once when no
 * message can arrive; imageFactsProcessed published only after the commit and the input finished
 * only after its acknowledgement; the revocation. No broker, no PostgreSQL, no sleeping: the
 * clock is moved. The database's failures are in test_memory_stage_db.c. */
#include "test_memory_stage_fake.h"

/* Six projects over two lanes, their messages interleaved, written in several batches of at most
 * five with more waiting behind each: each project's messages are committed on the lane FNV-1a
 * gives its project id, in delivery order, and both lanes write. */
static void test_lanes_keep_each_projects_order(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 2, .batch_size = 5, .linger_ms = 50}, false);
    const char *projects[] = {"p-alpha", "p-bravo", "p-charlie", "p-delta", "p-echo", "p-foxtrot"};
    char ids[6][4][BF_UUID_LEN + 1];
    for (int k = 0; k < 4; k++)
        for (int p = 0; p < 6; p++) {
            fx_deliver_image(&x, projects[p], k * 6 + p, ids[p][k]);
            /* A write ends while messages arrive, once: the lanes still hold more than a write. */
            if (k == 2 && p == 0) fx_answer(&x);
        }
    for (int round = 0; round < 20 && (fx_busy(&x) || bf_runtime_in_flight(x.rt) > 0); round++) {
        fx_answer(&x);
        bf_fake_advance(x.f, 50);
    }
    assert_int_equal(bf_runtime_in_flight(x.rt), 0);
    assert_int_equal(x.db.n_committed, 24);
    assert_true(x.db.writes[0] > 0 && x.db.writes[1] > 0);
    for (int p = 0; p < 6; p++) {
        int next = 0;
        for (size_t c = 0; c < x.db.n_commits; c++) {
            const fx_commit *cm = &x.db.commits[c];
            for (size_t i = cm->first; i < cm->first + cm->n; i++) {
                for (int k = 0; k < 4; k++) {
                    if (strcmp(x.db.committed[i], ids[p][k]) != 0) continue;
                    if (k != next) fail_msg("%s: message %d committed as its %d-th", projects[p], k, next);
                    if (cm->lane != fx_lane_of(projects[p], 2))
                        fail_msg("%s: committed on lane %zu", projects[p], cm->lane);
                    next++;
                }
            }
        }
        assert_int_equal(next, 4);
    }
    assert_int_equal(bf_fake_count(x.f, "imageFactsProcessed"), 24);
    fx_free_all(&x);
}

/* BATCH_SIZE messages make a write at once; fewer wait for BATCH_LINGER (counted from the oldest),
 * and a lane has one write under way, the next batch filling behind it. */
static void test_batch_by_size_and_linger(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .batch_size = 3, .linger_ms = 1000}, false);
    int64_t off[5];
    for (int i = 0; i < 2; i++) off[i] = fx_deliver_image(&x, "p-one", i, NULL);
    bf_fake_advance(x.f, 999);
    assert_int_equal(fx_writes(&x), 0);
    off[2] = fx_deliver_image(&x, "p-one", 2, NULL);
    assert_int_equal(fx_writes(&x), 1); /* full: at once */
    assert_int_equal(x.db.write_sizes[0][0], 3);
    off[3] = fx_deliver_image(&x, "p-one", 3, NULL);
    off[4] = fx_deliver_image(&x, "p-one", 4, NULL);
    bf_fake_advance(x.f, 5000);
    assert_int_equal(fx_writes(&x), 1); /* one write at a time */
    fx_answer(&x);
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    /* The two behind it arrived long ago (their linger has passed): written on the next turn. */
    assert_int_equal(fx_writes(&x), 2);
    assert_int_equal(x.db.write_sizes[0][1], 2);
    fx_answer(&x);
    for (int i = 3; i < 5; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);

    /* Alone on a quiet topic: the linger, to the millisecond. */
    int64_t o = fx_deliver_image(&x, "p-one", 5, NULL);
    bf_fake_advance(x.f, 999);
    assert_int_equal(fx_writes(&x), 2);
    assert_int_equal(fx_state(&x, o), BF_FAKE_PENDING);
    bf_fake_advance(x.f, 1);
    assert_int_equal(fx_writes(&x), 3);
    assert_int_equal(x.db.write_sizes[0][2], 1);
    fx_answer(&x);
    assert_int_equal(fx_state(&x, o), BF_FAKE_COMPLETE);

    /* Stopping: what waits is written at once. */
    o = fx_deliver_image(&x, "p-one", 6, NULL);
    assert_int_equal(fx_writes(&x), 3);
    bf_runtime_stop(x.rt);
    bf_fake_run_once(x.f, 0);
    assert_int_equal(fx_writes(&x), 4);
    fx_free_all(&x);
}

/* A write takes at most min(BATCH_SIZE, MAX_IN_FLIGHT / (2 x lanes)) messages: a larger batch could
 * never fill, the runtime handing out no more than MAX_IN_FLIGHT. And when a topic is at
 * MAX_IN_FLIGHT no message can arrive until a write ends: an idle lane writes what it has at once
 * rather than after the linger, even though the other input topic (memoryUpdates, quiet) could
 * take more. */
static void test_no_waiting_when_nothing_can_arrive(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 2, .batch_size = 500, .linger_ms = 10000, .max_in_flight = 8}, false);
    /* The quiet topic has been seen and is under its budget. */
    fx_deliver_update(&x, "p-quiet", "k", NULL);
    bf_fake_advance(x.f, 10000);
    fx_answer(&x);
    assert_int_equal(bf_runtime_in_flight(x.rt), 0);
    size_t w0 = fx_writes(&x);
    /* Two projects, one per lane. */
    const char *busy = "p-a", *idle = NULL, *candidates[] = {"p-b", "p-c", "p-d", "p-e", "p-f", "p-g"};
    for (size_t i = 0; !idle && i < sizeof candidates / sizeof candidates[0]; i++)
        if (fx_lane_of(candidates[i], 2) != fx_lane_of(busy, 2)) idle = candidates[i];
    assert_non_null(idle);
    size_t lb = fx_lane_of(busy, 2), li = fx_lane_of(idle, 2), wb = x.db.writes[lb], wi = x.db.writes[li];
    for (int i = 0; i < 2; i++) fx_deliver_image(&x, busy, i, NULL); /* full at 8 / (2 x 2) = 2 */
    assert_int_equal(x.db.writes[lb], wb + 1);
    assert_int_equal(x.db.write_sizes[lb][wb], 2);
    for (int i = 2; i < 7; i++) fx_deliver_image(&x, busy, i, NULL); /* behind the write */
    int64_t lone = fx_deliver_image(&x, idle, 99, NULL);
    /* 8 imageFactsReady pending: the topic is at its budget. */
    assert_int_equal(bf_runtime_in_flight(x.rt), 8);
    assert_int_equal(x.db.writes[li], wi + 1);
    assert_int_equal(x.db.write_sizes[li][wi], 1);
    assert_int_equal(fx_writes(&x), w0 + 2);
    fx_answer(&x);
    assert_int_equal(fx_state(&x, lone), BF_FAKE_COMPLETE);
    /* The busy lane's next write takes at most 2 of its 5 waiting. */
    assert_int_equal(x.db.write_sizes[lb][wb + 1], 2);
    fx_free_all(&x);
}

/* imageFactsProcessed goes out only after the commit, with the input as its cause, keyed by the
 * project, in the input's trace, with the schema headers; the input is finished only once that
 * output is acknowledged. A memoryUpdates input has no output: complete at the commit. */
static void test_published_after_commit_finished_after_ack(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .linger_ms = 20}, false);
    bf_fake_set_auto_ack(x.f, false);
    char ev[BF_UUID_LEN + 1], trace[BF_TRACE_ID_LEN + 1], tp[BF_TRACEPARENT_LEN + 1];
    char *json = fx_image_facts_traced("p-pub", 1, ev, trace);
    snprintf(tp, sizeof tp, "00-%s-00f067aa0ba902b7-01", trace);
    int64_t off = bf_fake_deliver(x.f, BF_SCHEMA_IMAGE_FACTS_READY, 0, "p-pub", json, tp);
    free(json);
    int64_t upd = fx_deliver_update(&x, "p-pub", "k", NULL);
    bf_fake_advance(x.f, 20);
    assert_int_equal(fx_writes(&x), 1);
    assert_int_equal(bf_fake_published(x.f), 0); /* written, not committed yet */
    assert_int_equal(fx_state(&x, off), BF_FAKE_PENDING);
    fx_answer(&x);
    assert_int_equal(bf_fake_count(x.f, "imageFactsProcessed"), 1);
    const bf_fake_record *r = bf_fake_nth(x.f, "imageFactsProcessed", 0);
    assert_string_equal(r->key, "p-pub");
    assert_string_equal(r->schema, "imageFactsProcessed");
    assert_string_equal(r->cause_topic, BF_SCHEMA_IMAGE_FACTS_READY);
    assert_int_equal(r->cause_offset, off);
    assert_memory_equal(r->traceparent + 3, trace, BF_TRACE_ID_LEN); /* the input's trace */
    assert_memory_not_equal(r->traceparent + 36, tp + 36, 16);      /* a span of its own */
    assert_non_null(strstr(r->payload, ev));             /* source_event_id */
    assert_int_equal(fx_state(&x, off), BF_FAKE_UNACKED);
    assert_int_equal(bf_fake_state_of(x.f, BF_SCHEMA_MEMORY_UPDATES, 0, upd), BF_FAKE_COMPLETE);
    assert_int_equal(bf_fake_ack_all(x.f), 1);
    assert_int_equal(fx_state(&x, off), BF_FAKE_COMPLETE);
    fx_free_all(&x);
}

/* Invalid input never reaches the database: deadLetters (invalid_message), finished. */
static void test_invalid_message_dead_lettered(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .linger_ms = 20}, false);
    int64_t off = bf_fake_deliver(x.f, BF_SCHEMA_IMAGE_FACTS_READY, 0, "p-x", "{\"schema\":", NULL);
    bf_fake_advance(x.f, 1000);
    assert_int_equal(fx_writes(&x), 0);
    assert_int_equal(bf_fake_count(x.f, "deadLetters"), 1);
    assert_non_null(strstr(bf_fake_nth(x.f, "deadLetters", 0)->payload, "invalid_message"));
    assert_int_equal(fx_state(&x, off), BF_FAKE_COMPLETE);
    fx_free_all(&x);
}

/* Revocation with the database up: the write under way ends, what waits behind it is written, and
 * so is the batch of an idle lane still waiting for its linger, all before revoked returns, so
 * their offsets are committed with the revocation. */
static void test_revocation_writes_what_it_holds(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 2, .batch_size = 2, .linger_ms = 10000}, false);
    const char *a = "p-a", *b = NULL, *candidates[] = {"p-b", "p-c", "p-d", "p-e", "p-f", "p-g"};
    for (size_t i = 0; !b && i < sizeof candidates / sizeof candidates[0]; i++)
        if (fx_lane_of(candidates[i], 2) != fx_lane_of(a, 2)) b = candidates[i];
    assert_non_null(b);
    int64_t off[6];
    for (int i = 0; i < 5; i++) off[i] = fx_deliver_image(&x, a, i, NULL); /* 2 written, 3 behind */
    off[5] = fx_deliver_image(&x, b, 5, NULL);                             /* idle lane, lingering */
    assert_int_equal(fx_writes(&x), 1);
    x.ops.revoked(x.stage);
    assert_int_equal(x.db.settles, 1);
    for (int i = 0; i < 6; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    assert_int_equal(x.db.n_committed, 6);
    assert_int_equal(bf_fake_count(x.f, "imageFactsProcessed"), 6);
    /* And the stage goes on with the next assignment. */
    int64_t o = fx_deliver_image(&x, b, 8, NULL);
    bf_fake_advance(x.f, 10000);
    fx_answer(&x);
    assert_int_equal(fx_state(&x, o), BF_FAKE_COMPLETE);
    fx_free_all(&x);
}

/* Revocation with the database down: nothing is attempted and nothing is finished before revoked
 * returns (the offsets committed then must not cover unwritten messages); the runtime has moved
 * on at the next turn, where the stage lets them go. Nothing published, nothing dead-lettered. */
static void test_revocation_with_database_down_gives_up(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .batch_size = 2, .linger_ms = 10000}, false);
    x.db.down = true;
    int64_t off[3];
    for (int i = 0; i < 3; i++) off[i] = fx_deliver_image(&x, "p-down", i, NULL);
    fx_answer(&x); /* the first write: connection refused */
    assert_true(bf_fake_held(x.f));
    size_t writes = fx_writes(&x);
    x.ops.revoked(x.stage);
    assert_int_equal(fx_writes(&x), writes);
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_PENDING);
    bf_fake_run_once(x.f, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    assert_int_equal(bf_fake_published(x.f), 0);
    /* Back up: new messages are written (the held state resumes with the next success). */
    x.db.down = false;
    bf_fake_advance(x.f, 60000);
    fx_answer(&x);
    assert_false(bf_fake_held(x.f));
    int64_t o = fx_deliver_image(&x, "p-down", 9, NULL);
    bf_fake_advance(x.f, 10000);
    fx_answer(&x);
    assert_int_equal(fx_state(&x, o), BF_FAKE_COMPLETE);
    assert_int_equal(x.db.n_committed, 1);
    fx_free_all(&x);
}

/* Revocation while a write never ends (the bound passes): the write is cancelled, its messages
 * and those behind it are let go at the next turn, not finished before; a late answer is never
 * delivered to the stage. */
static void test_revocation_cancels_a_write_that_does_not_end(void **state) {
    (void)state;
    fx x;
    fx_init(&x, (fx_opts){.lanes = 1, .batch_size = 2, .linger_ms = 10000}, false);
    int64_t off[3];
    for (int i = 0; i < 3; i++) off[i] = fx_deliver_image(&x, "p-hang", i, NULL);
    assert_true(fx_busy(&x));
    x.db.hang = true;
    x.ops.revoked(x.stage);
    assert_int_equal(x.db.cancels, 1);
    assert_false(fx_busy(&x));
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_PENDING);
    bf_fake_run_once(x.f, 0);
    for (int i = 0; i < 3; i++) assert_int_equal(fx_state(&x, off[i]), BF_FAKE_COMPLETE);
    assert_int_equal(bf_fake_published(x.f), 0);
    assert_int_equal(x.db.n_committed, 0);
    fx_free_all(&x);
}

/* editorEvents is an input: an event goes into its project's lane with the rows it implies, is
 * written with that lane's other messages and finished after the commit, publishing nothing; the
 * same bytes again are a duplicate; an event the contract refuses is dead-lettered with the
 * decoder's path. */
static void test_editor_events_through_the_lanes(void **state) {
    (void)state;
    bool listed = false;
    for (size_t i = 0; i < memory_stage_n_inputs; i++) listed |= strcmp(memory_stage_inputs[i], "editorEvents") == 0;
    assert_true(listed);
    fx x;
    fx_init(&x, (fx_opts){.lanes = 2, .batch_size = 3, .linger_ms = 20}, false);
    const char *project = "p-editor";
    size_t lane = fx_lane_of(project, 2);
    bf_msg_editor_event m = {.event = BF_EDITOR_SCENE_CREATED, .step = -1, .origin = BF_ORIGIN_USER,
                             .scene = {.scene_id = (char *)"intro", .name = (char *)"Intro", .position = 0,
                                       .duration_ms = 4000, .description = (char *)"Logo on black.", .version = 1}};
    char ev[BF_UUID_LEN + 1];
    char *json = mt_editor_event(project, &m, 1718000000000, ev);
    int64_t o1 = bf_fake_deliver(x.f, BF_SCHEMA_EDITOR_EVENTS, 0, project, json, NULL);
    int64_t o2 = fx_deliver_image(&x, project, 1, NULL);
    int64_t o3 = bf_fake_deliver(x.f, BF_SCHEMA_EDITOR_EVENTS, 0, project, json, NULL); /* again */
    assert_int_equal(x.db.writes[lane], 1); /* three: a full batch, on the project's lane */
    const memory_batch *b = x.db.lanes[lane].b;
    assert_int_equal(fx_active(b), 3);
    assert_int_equal(b->items[0].kind, MEMORY_ITEM_EDITOR_EVENTS);
    assert_string_equal(b->items[0].event_id, ev);
    assert_int_equal(b->scenes.n, 2);
    assert_string_equal(b->scenes.cells[MEMORY_SC_SCENE_ID], "intro");
    assert_string_equal(b->scenes.cells[MEMORY_SC_PROJECT_ID], project);
    assert_int_equal(b->relations.n, 2);
    assert_int_equal(b->evidence.n, 1); /* the image's */
    assert_int_equal(bf_fake_state_of(x.f, BF_SCHEMA_EDITOR_EVENTS, 0, o1), BF_FAKE_PENDING);
    fx_answer(&x);
    assert_int_equal(bf_fake_state_of(x.f, BF_SCHEMA_EDITOR_EVENTS, 0, o1), BF_FAKE_COMPLETE);
    assert_int_equal(bf_fake_state_of(x.f, BF_SCHEMA_EDITOR_EVENTS, 0, o3), BF_FAKE_COMPLETE);
    assert_int_equal(fx_state(&x, o2), BF_FAKE_COMPLETE);
    assert_int_equal(bf_fake_count(x.f, "imageFactsProcessed"), 1); /* the image's; none for the editor */
    assert_int_equal(bf_fake_published(x.f), 1);
    assert_int_equal(fx_metric(&x, "bf_memory_duplicates_total"), 1);
    free(json);

    /* origin brain without its request: refused, with the path, never written. */
    bf_msg_editor_event bad = m;
    bad.origin = BF_ORIGIN_NONE;
    json = mt_editor_event(project, &bad, 1718000000001, NULL);
    char *at = strstr(json, "\"event\":");
    assert_non_null(at);
    char *broken = malloc(strlen(json) + 32);
    assert_non_null(broken);
    snprintf(broken, strlen(json) + 32, "%.*s\"origin\":\"brain\",%s", (int)(at - json), json, at);
    int64_t o4 = bf_fake_deliver(x.f, BF_SCHEMA_EDITOR_EVENTS, 0, project, broken, NULL);
    bf_fake_advance(x.f, 1000);
    assert_int_equal(x.db.writes[lane], 1);
    assert_int_equal(bf_fake_count(x.f, "deadLetters"), 1);
    assert_non_null(strstr(bf_fake_nth(x.f, "deadLetters", 0)->payload, "payload.request_id: missing"));
    assert_int_equal(bf_fake_state_of(x.f, BF_SCHEMA_EDITOR_EVENTS, 0, o4), BF_FAKE_COMPLETE);
    free(json);
    free(broken);
    fx_free_all(&x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lanes_keep_each_projects_order),
        cmocka_unit_test(test_batch_by_size_and_linger),
        cmocka_unit_test(test_no_waiting_when_nothing_can_arrive),
        cmocka_unit_test(test_published_after_commit_finished_after_ack),
        cmocka_unit_test(test_invalid_message_dead_lettered),
        cmocka_unit_test(test_editor_events_through_the_lanes),
        cmocka_unit_test(test_revocation_writes_what_it_holds),
        cmocka_unit_test(test_revocation_with_database_down_gives_up),
        cmocka_unit_test(test_revocation_cancels_a_write_that_does_not_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
