/* memory_store against the real PostgreSQL, without Kafka: every kind of cell survives the
 * binary array parameters exactly (quotes, backslashes, braces, non-ASCII, NULLs, doubles that
 * have no short decimal, integers beyond a double's precision); a cell that is not what its
 * column needs is refused as the data's fault; a pipelined write takes only the items active
 * when it started, while more are appended behind it; a refused pipelined write leaves nothing
 * and its connection ready for the next; a reconnect prepares the statements again. */
#include "test_memory_util.h"

#include <poll.h>
#include <time.h>

#include "bf_db.h"
#include "bf_trace.h"
#include "bf_uuid.h"
#include "memory_pgarray.h"
#include "memory_store.h"

typedef struct {
    bf_log log;
    bf_db *db;
    PGconn *pipe;      /* the pipelined writes' connection: non-blocking, in pipeline mode */
    unsigned prepared; /* its session's prepared statements */
    PGconn *check;
    memory_batch b;
    char consumer[64], project[64];
} store_fixture;

static void fixture_init(store_fixture *f) {
    char prefix[32], err[512];
    bf_test_unique_prefix(prefix, sizeof prefix);
    snprintf(f->consumer, sizeof f->consumer, "test-%s", prefix);
    snprintf(f->project, sizeof f->project, "p-%s\"\\{},ü", prefix); /* what array literals had to escape */
    bf_log_init(&f->log, stderr, "test", BF_LOG_WARN);
    f->db = bf_db_new(bf_test_pg_dsn(), &f->log);
    if (!f->db || bf_db_connect(f->db, 1, 0, err, sizeof err) != 0) fail_msg("postgres: %s", err);
    f->pipe = NULL;
    f->check = mt_db();
    memory_batch_init(&f->b, MEMORY_AN_COLS, MEMORY_MSG_COLS);
}

static void fixture_free(store_fixture *f) {
    memory_batch_free(&f->b);
    bf_db_free(f->db);
    PQfinish(f->pipe);
    PQfinish(f->check);
}

/* A connection as memory_sink_pg keeps one (connected here the blocking way: the test's business). */
static PGconn *pipe_conn(store_fixture *f) {
    if (f->pipe && PQstatus(f->pipe) == CONNECTION_OK) return f->pipe;
    PQfinish(f->pipe);
    f->pipe = mt_db();
    f->prepared = 0;
    if (PQsetnonblocking(f->pipe, 1) != 0 || PQenterPipelineMode(f->pipe) != 1)
        fail_msg("pipeline mode: %s", PQerrorMessage(f->pipe));
    return f->pipe;
}

/* Sends b's active items pipelined and drives the write as the sink's loop would (flush, wait for
 * the socket, progress) until it ends; returns how it ended. After LOST the connection is closed,
 * as the sink does. */
static memory_store_status write_pipelined(store_fixture *f, memory_store_async *a) {
    PGconn *c = pipe_conn(f);
    memory_store_status st = memory_store_send(a, c, &f->prepared, &f->b, f->consumer);
    bool ended = st != MEMORY_STORE_OK;
    int64_t deadline = bf_test_now_ms() + 30000;
    while (!ended) {
        int fl = PQflush(c);
        if (fl < 0) fail_msg("flush: %s", PQerrorMessage(c));
        struct pollfd p = {.fd = PQsocket(c), .events = (short)(POLLIN | (fl == 1 ? POLLOUT : 0))};
        if (bf_test_now_ms() > deadline) fail_msg("the pipelined write never ended");
        if (poll(&p, 1, 1000) > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP))) ended = memory_store_progress(a, &f->b);
    }
    assert_false(memory_store_busy(a));
    if (a->status == MEMORY_STORE_LOST) {
        PQfinish(f->pipe);
        f->pipe = NULL;
    }
    return a->status;
}

static double count(store_fixture *f, const char *sql) {
    return mt_scalar(f->check, sql, f->project, f->consumer, NULL);
}

static const char count_ledger[] = "SELECT count(*) FROM processed_events WHERE consumer = $2 AND $1::text IS NOT NULL";
static const char count_analyses[] = "SELECT count(*) FROM image_analysis WHERE project_id = $1 AND $2::text IS NOT NULL";

/* Item with one image_analysis row whose cells come from cells (NULL: a plain row) and one
 * preference upsert. Returns the item's index. */
static size_t add_image_item(memory_batch *b, const char *project, const char *event_id, const char *const *cells) {
    size_t item = memory_batch_add_item(b, NULL, MEMORY_ITEM_IMAGE_FACTS, event_id, bf_test_now_ms());
    assert_int_not_equal(item, SIZE_MAX);
    char trace[33], hash[65];
    bf_random_hex(trace, 16);
    bf_random_hex(hash, 32);
    const char *plain[MEMORY_AN_COLS] = {
        [MEMORY_AN_PROJECT_ID] = project, [MEMORY_AN_TRACE_ID] = trace, [MEMORY_AN_REQUEST_ID] = "r",
        [MEMORY_AN_CONTENT_HASH] = hash, [MEMORY_AN_IMAGE_URLS] = "{\"https://example.com/a.png\"}",
        [MEMORY_AN_PALETTE] = "[]", [MEMORY_AN_OBJECTS] = "[]", [MEMORY_AN_VISIBLE_TEXT] = "[]",
        [MEMORY_AN_ANALYSER] = "builtin", [MEMORY_AN_SOURCE_EVENT_ID] = event_id,
    };
    const char *row[MEMORY_AN_COLS];
    for (size_t c = 0; c < MEMORY_AN_COLS; c++) row[c] = cells ? cells[c] : plain[c];
    if (cells) row[MEMORY_AN_TRACE_ID] = trace, row[MEMORY_AN_CONTENT_HASH] = hash;
    assert_int_equal(memory_rows_add(&b->analyses, item, row), 0);
    memory_upsert_in u = {project, "user_preference", "preferred_mood", "\"calm\"", 0.2, false, "image", -1, NULL};
    assert_int_equal(memory_batch_add_upsert(b, item, &u), 0);
    return item;
}

static void test_cells_survive_exactly(void **state) {
    (void)state;
    store_fixture f;
    fixture_init(&f);
    char ev[BF_UUID_LEN + 1], msg_id[BF_UUID_LEN + 1], err[1024];
    bf_uuid_v7(ev);
    bf_uuid_v4(msg_id);
    memory_pgarray urls;
    memory_pgarray_init(&urls);
    memory_pgarray_add(&urls, "https://example.com/a f.b.png");
    memory_pgarray_add(&urls, "q\"u\\o{t}e,");
    const char *cells[MEMORY_AN_COLS] = {
        [MEMORY_AN_PROJECT_ID] = f.project, [MEMORY_AN_REQUEST_ID] = "req \"x\" \\ {a,b} NULL",
        [MEMORY_AN_IMAGE_URLS] = memory_pgarray_text(&urls),
        [MEMORY_AN_PALETTE] = "[{\"hex\":\"#010203\",\"share\":0.30000000000000004}]",
        [MEMORY_AN_MOOD] = "calm", [MEMORY_AN_BRIGHTNESS] = "0.1", [MEMORY_AN_CONTRAST] = "0.30000000000000004",
        [MEMORY_AN_SATURATION] = NULL, [MEMORY_AN_TEMPERATURE] = NULL, [MEMORY_AN_WIDTH] = "2147483647",
        [MEMORY_AN_HEIGHT] = "1", [MEMORY_AN_ORIENTATION] = "square", [MEMORY_AN_TYPOGRAPHY] = NULL,
        [MEMORY_AN_STYLE] = "{\"k\":\"é \\\" q\"}", [MEMORY_AN_LAYOUT] = NULL, [MEMORY_AN_OBJECTS] = "[\"a\",\"b\"]",
        [MEMORY_AN_VISIBLE_TEXT] = "[]", [MEMORY_AN_ANALYSER] = "builtin", [MEMORY_AN_MODEL] = NULL,
        [MEMORY_AN_PROCESSING_MS] = "9007199254740993", [MEMORY_AN_SOURCE_EVENT_ID] = ev,
        [MEMORY_AN_ERROR] = "{\"code\":\"x\",\"message\":\"y\"}",
    };
    size_t item = add_image_item(&f.b, f.project, ev, cells);
    /* Now, so the retention test running beside this one finds nothing of ours to delete. */
    char created[32];
    snprintf(created, sizeof created, "%lld", (long long)time(NULL) * 1000 + 123);
    const char *msg[MEMORY_MSG_COLS] = {msg_id, f.project, "conv {1}", "user", "line 1\nline \"2\" \\", created};
    assert_int_equal(memory_rows_add(&f.b.messages, item, msg), 0);
    memory_upsert_in u = {f.project, "user_preference", "k\"{}", "{\"a\": [1, 2]}", 0.1 + 0.2, true, "user",
                          4102444800000, NULL};
    assert_int_equal(memory_batch_add_upsert(&f.b, item, &u), 0);
    f.b.items[item].active = true;
    assert_int_equal(memory_store_write(f.db, &f.b, f.consumer, err, sizeof err), MEMORY_STORE_OK);
    assert_true(f.b.items[item].fresh);

    const char *p[] = {f.project, ev, memory_pgarray_text(&urls)};
    PGresult *r = PQexecParams(
        f.check,
        "SELECT request_id = 'req \"x\" \\ {a,b} NULL', image_urls = $3::text[], cardinality(image_urls),"
        " palette = '[{\"hex\":\"#010203\",\"share\":0.30000000000000004}]'::jsonb, brightness = 0.1::float8,"
        " contrast = 0.30000000000000004::float8, saturation IS NULL AND temperature IS NULL AND typography IS NULL"
        "  AND layout IS NULL AND model IS NULL, width, height, style ->> 'k', objects = '[\"a\",\"b\"]'::jsonb,"
        " processing_ms, source_event_id = $2, error ->> 'code'"
        " FROM image_analysis WHERE project_id = $1",
        3, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    static const char *const want[] = {"t", "t", "2", "t", "t", "t", "t", "2147483647", "1", "é \" q", "t",
                                       "9007199254740993", "t", "x"};
    for (int c = 0; c < (int)(sizeof want / sizeof want[0]); c++)
        if (strcmp(PQgetvalue(r, 0, c), want[c]) != 0)
            fail_msg("column %d: %s, want %s", c + 1, PQgetvalue(r, 0, c), want[c]);
    PQclear(r);
    const char *pm[] = {msg_id, f.project, created};
    r = PQexecParams(f.check,
                     "SELECT conversation_id, content = E'line 1\\nline \"2\" \\\\', role,"
                     " created_at = to_timestamp($3::bigint / 1000.0) FROM messages WHERE message_id = $1::uuid"
                     " AND project_id = $2",
                     3, NULL, pm, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), "conv {1}");
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    assert_string_equal(PQgetvalue(r, 0, 2), "user");
    assert_string_equal(PQgetvalue(r, 0, 3), "t");
    PQclear(r);
    /* The new row's confidence is the weight itself: 0.1 + 0.2 is not 0.3, and must not become it. */
    r = PQexecParams(f.check,
                     "SELECT confidence = 0.30000000000000004::float8, is_explicit, value = '{\"a\":[1,2]}'::jsonb,"
                     " source, expires_at = to_timestamp(4102444800) FROM project_memory"
                     " WHERE project_id = $1 AND key = 'k\"{}'",
                     1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQntuples(r), 1);
    for (int c = 0; c < 5; c++) assert_string_equal(PQgetvalue(r, 0, c), c == 3 ? "user" : "t");
    PQclear(r);
    assert_int_equal(mt_scalar(f.check, "SELECT count(*) FROM project_memory WHERE project_id = $1 AND expires_at IS NULL",
                               f.project, NULL, NULL),
                     1); /* preferred_mood, no expiry */

    memory_pgarray_free(&urls);
    fixture_free(&f);
}

/* A cell the writer cannot turn into its column's type is the message's fault, like a server-side
 * input error: REJECTED (so the stage isolates and dead-letters that message), nothing written. */
static void test_unconvertible_cell_rejected(void **state) {
    (void)state;
    store_fixture f;
    fixture_init(&f);
    char err[1024];
    size_t item = add_image_item(&f.b, f.project, "01890a5d-ac96-774b-bcce-b302099a8057x", NULL);
    f.b.items[item].active = true;
    assert_int_equal(memory_store_write(f.db, &f.b, f.consumer, err, sizeof err), MEMORY_STORE_REJECTED);
    assert_non_null(strstr(err, "uuid"));
    memory_batch_clear(&f.b);

    char ev[BF_UUID_LEN + 1];
    bf_uuid_v7(ev);
    item = add_image_item(&f.b, f.project, ev, NULL);
    char id[BF_UUID_LEN + 1];
    bf_uuid_v4(id);
    const char *msg[MEMORY_MSG_COLS] = {id, f.project, "c", "user", "hi", "17e11"};
    assert_int_equal(memory_rows_add(&f.b.messages, item, msg), 0);
    f.b.items[item].active = true;
    assert_int_equal(memory_store_write(f.db, &f.b, f.consumer, err, sizeof err), MEMORY_STORE_REJECTED);
    assert_non_null(strstr(err, "messages"));
    assert_int_equal(count(&f, count_ledger), 0);
    assert_int_equal(count(&f, count_analyses), 0);
    fixture_free(&f);
}

/* The stage appends to a lane's batch while the server writes its oldest messages: the write
 * must take exactly the items active when it started, and leave the appended one for the next. */
static void test_pipelined_write_takes_only_active_items(void **state) {
    (void)state;
    store_fixture f;
    fixture_init(&f);
    char ev[3][BF_UUID_LEN + 1], err[1024];
    for (int i = 0; i < 2; i++) {
        bf_uuid_v7(ev[i]);
        size_t item = add_image_item(&f.b, f.project, ev[i], NULL);
        f.b.items[item].active = true;
    }
    memory_store_async a = {0};
    assert_int_equal(memory_store_send(&a, pipe_conn(&f), &f.prepared, &f.b, f.consumer), MEMORY_STORE_OK);
    bf_uuid_v7(ev[2]);
    size_t late = add_image_item(&f.b, f.project, ev[2], NULL); /* arrives while the write is under way */
    for (int64_t end = bf_test_now_ms() + 30000; !memory_store_progress(&a, &f.b) && bf_test_now_ms() < end;) {
        PQflush(f.pipe);
        struct pollfd p = {.fd = PQsocket(f.pipe), .events = POLLIN};
        poll(&p, 1, 100);
    }
    assert_int_equal(a.status, MEMORY_STORE_OK);
    assert_true(f.b.items[0].fresh && f.b.items[1].fresh);
    assert_false(f.b.items[late].fresh);
    assert_int_equal(count(&f, count_analyses), 2);
    assert_int_equal(count(&f, count_ledger), 2);
    assert_int_equal(mt_scalar(f.check,
                               "SELECT evidence_count FROM project_memory WHERE project_id = $1 AND key = 'preferred_mood'",
                               f.project, NULL, NULL),
                     2);
    for (size_t i = 0; i < f.b.n_items; i++) f.b.items[i].active = i == late;
    assert_int_equal(memory_store_write(f.db, &f.b, f.consumer, err, sizeof err), MEMORY_STORE_OK);
    assert_int_equal(count(&f, count_analyses), 3);
    assert_int_equal(count(&f, count_ledger), 3);
    memory_store_async_free(&a);
    fixture_free(&f);
}

/* The pipelined write inserts without ON CONFLICT: a batch holding an event id already in the
 * ledger, or an image already stored for that project and trace under another event id (an
 * image-worker redelivery), fails with a unique violation; the write rolls back and sends the
 * batch again at once with ON CONFLICT, which applies it once, and the next pipelined writes use
 * that form from the start. Without the fallback the duplicate would be applied twice or the
 * batch refused (and its messages dead-lettered one by one). */
static void test_pipelined_conflict_falls_back(void **state) {
    (void)state;
    store_fixture f;
    fixture_init(&f);
    char seen[BF_UUID_LEN + 1], ev[BF_UUID_LEN + 1], err[1024];
    bf_uuid_v7(seen);
    size_t item = add_image_item(&f.b, f.project, seen, NULL);
    f.b.items[item].active = true;
    assert_int_equal(memory_store_write(f.db, &f.b, f.consumer, err, sizeof err), MEMORY_STORE_OK);
    /* Keep the stored row's cells: the redelivery below repeats them under a new event id. */
    size_t stored = f.b.analyses.n - 1;

    memory_store_async a = {0};
    for (int kind = 0; kind < 2; kind++) {
        bf_uuid_v7(ev);
        if (kind == 0) {
            item = add_image_item(&f.b, f.project, seen, NULL); /* the same event again */
        } else {
            item = memory_batch_add_item(&f.b, NULL, MEMORY_ITEM_IMAGE_FACTS, ev, 0);
            /* A copy of the cell pointers: adding the row may move the array they sit in. */
            const char *cells[MEMORY_AN_COLS];
            memcpy(cells, &f.b.analyses.cells[stored * MEMORY_AN_COLS], sizeof cells);
            assert_int_equal(memory_rows_add(&f.b.analyses, item, cells), 0);
            bf_uuid_v7(ev);
        }
        size_t fresh = add_image_item(&f.b, f.project, ev, NULL);
        for (size_t i = 0; i < f.b.n_items; i++) f.b.items[i].active = i == item || i == fresh;
        a.safe_left = 0;
        assert_int_equal(write_pipelined(&f, &a), MEMORY_STORE_OK);
        assert_true(a.conflict);
        assert_int_equal(a.safe_left, MEMORY_STORE_SAFE_BATCHES);
        assert_int_equal(f.b.items[item].fresh, kind == 1); /* the redelivery's event id is new */
        assert_true(f.b.items[fresh].fresh);
        assert_int_equal(count(&f, count_analyses), 2 + kind); /* the duplicate image once */
    }
    /* The next pipelined write starts in the safe form: a duplicate in it costs no second try. */
    bf_uuid_v7(ev);
    item = add_image_item(&f.b, f.project, seen, NULL);
    size_t fresh = add_image_item(&f.b, f.project, ev, NULL);
    for (size_t i = 0; i < f.b.n_items; i++) f.b.items[i].active = i == item || i == fresh;
    assert_int_equal(write_pipelined(&f, &a), MEMORY_STORE_OK);
    assert_false(a.conflict);
    assert_false(f.b.items[item].fresh);
    assert_true(f.b.items[fresh].fresh);
    assert_int_equal(a.safe_left, MEMORY_STORE_SAFE_BATCHES - 1);
    assert_int_equal(count(&f, count_analyses), 4);
    memory_store_async_free(&a);
    fixture_free(&f);
}

/* A pipelined write the data fails, on the server (a CHECK constraint in the effects phase), before
 * it (a cell that does not convert, after the effects' first statement is queued), or both (the
 * server refuses a statement queued before the one that does not convert: a ROLLBACK in the same
 * sync would be skipped with the rest): REJECTED with the reason, nothing of it kept (the ledger
 * row of phase one rolled back too), and the same connection writes the next batch: the rollback
 * ended the transaction. */
static void test_pipelined_refusal_rolls_back(void **state) {
    (void)state;
    store_fixture f;
    fixture_init(&f);
    memory_store_async a = {0};
    for (int how = 0; how < 3; how++) {
        char ev[BF_UUID_LEN + 1];
        bf_uuid_v7(ev);
        size_t item;
        if (how != 1) {
            char trace[33], hash[65];
            bf_random_hex(trace, 16);
            bf_random_hex(hash, 32);
            const char *cells[MEMORY_AN_COLS] = {
                [MEMORY_AN_PROJECT_ID] = f.project, [MEMORY_AN_TRACE_ID] = trace, [MEMORY_AN_REQUEST_ID] = "r",
                [MEMORY_AN_CONTENT_HASH] = hash, [MEMORY_AN_IMAGE_URLS] = "{}", [MEMORY_AN_PALETTE] = "[]",
                [MEMORY_AN_BRIGHTNESS] = "2", /* CHECK (brightness BETWEEN 0 AND 1) */
                [MEMORY_AN_OBJECTS] = "[]", [MEMORY_AN_VISIBLE_TEXT] = "[]", [MEMORY_AN_ANALYSER] = "builtin",
                [MEMORY_AN_SOURCE_EVENT_ID] = ev,
            };
            item = add_image_item(&f.b, f.project, ev, cells);
        } else {
            item = add_image_item(&f.b, f.project, ev, NULL);
        }
        if (how != 0) {
            char id[BF_UUID_LEN + 1];
            bf_uuid_v4(id);
            const char *msg[MEMORY_MSG_COLS] = {id, f.project, "c", "user", "hi", "17e11"}; /* not a bigint */
            assert_int_equal(memory_rows_add(&f.b.messages, item, msg), 0);
        }
        f.b.items[item].active = true;
        assert_int_equal(write_pipelined(&f, &a), MEMORY_STORE_REJECTED);
        assert_non_null(strstr(a.err, how == 0 ? "brightness" : "messages"));
        assert_false(f.b.items[item].fresh);
        assert_int_equal(count(&f, count_ledger), 0);
        assert_int_equal(count(&f, count_analyses), 0);
        PGconn *before = f.pipe;
        memory_batch_clear(&f.b);
        bf_uuid_v7(ev);
        item = add_image_item(&f.b, f.project, ev, NULL);
        f.b.items[item].active = true;
        assert_int_equal(write_pipelined(&f, &a), MEMORY_STORE_OK);
        assert_ptr_equal(f.pipe, before); /* no reconnect */
        assert_int_equal(count(&f, count_ledger), 1);
        assert_int_equal(count(&f, count_analyses), 1);
        mt_exec(f.check, "DELETE FROM processed_events WHERE consumer = $1", f.consumer, NULL);
        mt_exec(f.check, "DELETE FROM image_analysis WHERE project_id = $1", f.project, NULL);
        memory_batch_clear(&f.b);
    }
    memory_store_async_free(&a);
    fixture_free(&f);
}

/* Prepared statements live in the server session: after the backend is gone, the write that
 * notices reports the connection lost, and the next one (a new session) prepares them again
 * instead of failing on a statement that no longer exists, pipelined or not. */
static void test_reconnect_prepares_again(void **state) {
    (void)state;
    store_fixture f;
    fixture_init(&f);
    char err[1024];
    for (int round = 0; round < 2; round++) {
        char ev[BF_UUID_LEN + 1], pid[16];
        bf_uuid_v7(ev);
        size_t item = add_image_item(&f.b, f.project, ev, NULL);
        f.b.items[item].active = true;
        if (round == 0) {
            assert_int_equal(memory_store_write(f.db, &f.b, f.consumer, err, sizeof err), MEMORY_STORE_OK);
            snprintf(pid, sizeof pid, "%d", PQbackendPID(bf_db_conn(f.db, err, sizeof err)));
        } else {
            memory_store_async a = {0};
            assert_int_equal(write_pipelined(&f, &a), MEMORY_STORE_OK);
            snprintf(pid, sizeof pid, "%d", PQbackendPID(f.pipe));
        }
        memory_batch_clear(&f.b);
        mt_exec(f.check, "SELECT pg_terminate_backend($1::int)", pid, NULL);
        bf_test_sleep_ms(200);
        bf_uuid_v7(ev);
        item = add_image_item(&f.b, f.project, ev, NULL);
        f.b.items[item].active = true;
        memory_store_status st;
        if (round == 0) {
            st = memory_store_write(f.db, &f.b, f.consumer, err, sizeof err);
            assert_int_equal(st, MEMORY_STORE_LOST);
            st = memory_store_write(f.db, &f.b, f.consumer, err, sizeof err);
        } else {
            memory_store_async a = {0};
            assert_int_equal(write_pipelined(&f, &a), MEMORY_STORE_LOST);
            st = write_pipelined(&f, &a); /* a new session: prepares the statements in its pipeline */
            memory_store_async_free(&a);
        }
        if (st != MEMORY_STORE_OK) fail_msg("write after reconnect (round %d): %s", round, round ? "pipelined" : err);
        memory_batch_clear(&f.b);
    }
    assert_int_equal(count(&f, count_analyses), 4);
    fixture_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells_survive_exactly),
        cmocka_unit_test(test_unconvertible_cell_rejected),
        cmocka_unit_test(test_pipelined_write_takes_only_active_items),
        cmocka_unit_test(test_pipelined_conflict_falls_back),
        cmocka_unit_test(test_pipelined_refusal_rolls_back),
        cmocka_unit_test(test_reconnect_prepares_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
