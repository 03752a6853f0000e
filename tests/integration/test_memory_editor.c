/* memory-writer turns the editor's reports into the storyboard of record, scene relationships and
 * conversation context, against the real broker and database, with the real binary; and the
 * brain's context read (brain_store.c) shows what it wrote:
 *   - one project's 14 editor events in order, then all of them twice more: the storyboard and
 *     the memory are what the events say, and the replays change nothing;
 *   - the same events for other projects shuffled (one delivered at once, one event at a time),
 *     with duplicates and stale copies under new event ids: the same storyboard and memory;
 *   - a deleted scene: a tombstone, gone from the context read and from scene relationships,
 *     also after a stale update of it arrives; the conversation's current scene is no longer
 *     offered once deleted; a newer creation undoes the deletion;
 *   - conversation context merged field by field from the brain and the editor, expiring
 *     RETENTION_CONVERSATION after its last write; messages in turn order in the context read;
 *   - an image's evidence counted once for the same bytes under two trace ids and a re-analysis
 *     under a new event id. */
#include "test_memory_util.h"

#include "bf_log.h"
#include "bf_loop.h"
#include "brain_context.h"
#include "brain_store.h"

#define REQ(n) "0190a4b2-7c3d-4e5f-8a6b-1c2d3e4f5a0" #n
#define T0 1750000000000LL
#define N_EVENTS 14

/* The scenario: three scenes of a storyboard through creation by the brain (one from an image),
 * edits by the brain and by hand, a reorder, a deletion, and the outcome of each decision. Event
 * i is produced at T0 + i seconds (the editor's clock, which orders decision reports). Returns
 * malloc'd JSON. The final state it implies (asserted in check_storyboard / check_memory):
 *   title (content v2: 8000 ms) at position 1 (v3), logo (v3: edited by the brain) at 0 (v3:
 *   an update carries the position too),
 *   beach deleted at v4; conversation conv-1 about logo, last failure R5. */
static char *scenario_event(const char *project, int i, char event_id[BF_UUID_LEN + 1]) {
    bf_msg_editor_event m = {.step = -1, .conversation_id = (char *)"conv-1"};
    bf_editor_position order[3];
    bf_editor_step steps[2];
    const char *req = NULL;
#define BRAIN(r, st, t) (m.origin = BF_ORIGIN_BRAIN, req = (r), m.step = (st), m.has_tool = true, m.tool = (t))
#define SCENE(k, id, nm, pos, dur, desc, v)                                                                        \
    (m.event = (k), m.scene = (bf_editor_scene){.scene_id = (char *)(id), .name = (char *)(nm), .position = (pos), \
                                                .duration_ms = (dur), .description = (char *)(desc), .version = (v)})
#define DECISION(k, r, n) (m.event = (k), req = (r), m.steps = steps, m.n_steps = (n))
    switch (i) {
    case 0:
        BRAIN(REQ(1), 0, BF_TOOL_ADD_SCENE);
        SCENE(BF_EDITOR_SCENE_CREATED, "title", "Title", 0, 5000, "Big white title on black.", 1);
        break;
    case 1:
        steps[0] = (bf_editor_step){0, BF_TOOL_ADD_SCENE, BF_STEP_APPLIED, (char *)"title", NULL};
        DECISION(BF_EDITOR_DECISION_APPLIED, REQ(1), 1);
        break;
    case 2:
        BRAIN(REQ(2), 0, BF_TOOL_CREATE_SCENE_FROM_IMAGE);
        SCENE(BF_EDITOR_SCENE_CREATED, "beach", "Beach", 1, 5000, "Beach at golden hour.", 1);
        m.from_image = (bf_editor_image){.present = true, .url = (char *)"https://cdn.example.com/beach.jpg",
                                         .trace_id = "0af7651916cd43dd8448eb211c80319c"};
        break;
    case 3:
        steps[0] = (bf_editor_step){0, BF_TOOL_CREATE_SCENE_FROM_IMAGE, BF_STEP_APPLIED, (char *)"beach", NULL};
        DECISION(BF_EDITOR_DECISION_APPLIED, REQ(2), 1);
        break;
    case 4:
        BRAIN(REQ(3), 0, BF_TOOL_CHANGE_DURATION);
        SCENE(BF_EDITOR_SCENE_UPDATED, "title", "Title", 0, 8000, "Big white title on black.", 2);
        break;
    case 5:
        steps[0] = (bf_editor_step){0, BF_TOOL_CHANGE_DURATION, BF_STEP_APPLIED, (char *)"title", NULL};
        DECISION(BF_EDITOR_DECISION_APPLIED, REQ(3), 1);
        break;
    case 6:
        m.origin = BF_ORIGIN_USER;
        SCENE(BF_EDITOR_SCENE_CREATED, "logo", "Logo", 2, 3000, "Logo with a glow.", 1);
        break;
    case 7:
        m.origin = BF_ORIGIN_USER;
        m.event = BF_EDITOR_SCENES_REORDERED;
        order[0] = (bf_editor_position){(char *)"logo", 0, 2};
        order[1] = (bf_editor_position){(char *)"title", 1, 3};
        order[2] = (bf_editor_position){(char *)"beach", 2, 2};
        m.order = order;
        m.n_order = 3;
        break;
    case 8:
        m.origin = BF_ORIGIN_USER;
        SCENE(BF_EDITOR_SCENE_UPDATED, "beach", "Beach", 2, 6000, "Beach at dusk.", 3);
        break;
    case 9:
        BRAIN(REQ(4), 0, BF_TOOL_DELETE_SCENE);
        m.event = BF_EDITOR_SCENE_DELETED;
        m.scene = (bf_editor_scene){.scene_id = (char *)"beach", .version = 4};
        break;
    case 10:
        steps[0] = (bf_editor_step){0, BF_TOOL_DELETE_SCENE, BF_STEP_APPLIED, (char *)"beach", NULL};
        DECISION(BF_EDITOR_DECISION_APPLIED, REQ(4), 1);
        break;
    case 11:
        steps[0] = (bf_editor_step){0, BF_TOOL_EDIT_SCENE, BF_STEP_FAILED, (char *)"beach",
                                    (char *)"beach is not in the storyboard"};
        DECISION(BF_EDITOR_DECISION_FAILED, REQ(5), 1);
        m.error = (char *)"1 of 1 tool calls failed";
        break;
    case 12:
        BRAIN(REQ(6), 1, BF_TOOL_EDIT_SCENE);
        SCENE(BF_EDITOR_SCENE_UPDATED, "logo", "Logo", 0, 3000, "Logo without the glow.", 3);
        break;
    case 13:
        steps[0] = (bf_editor_step){0, BF_TOOL_ANALYZE_IMAGE, BF_STEP_SKIPPED, NULL, NULL};
        steps[1] = (bf_editor_step){1, BF_TOOL_EDIT_SCENE, BF_STEP_APPLIED, (char *)"logo", NULL};
        DECISION(BF_EDITOR_DECISION_APPLIED, REQ(6), 2);
        break;
    default: fail_msg("no event %d", i);
    }
    if (req) snprintf(m.request_id, sizeof m.request_id, "%s", req);
    return mt_editor_event(project, &m, T0 + i * 1000LL, event_id);
#undef BRAIN
#undef SCENE
#undef DECISION
}

/* ---- waiting for the writer ---- */

typedef struct sent {
    const mt_fixture *f;
    int64_t n; /* messages produced to the editor topic's partition 0 */
} sent;

static void put(sent *s, const char *project, const char *json) {
    bf_test_produce(s->f->editor_topic, 0, project, json, strlen(json), NULL);
    s->n++;
}

/* Every message produced so far has been handled and its offset committed (the writer commits an
 * offset only after the message's transaction). */
static void wait_done(const sent *s) {
    int64_t end = bf_test_now_ms() + 60000;
    while (bf_test_committed_offset(s->f->group, s->f->editor_topic, 0) < s->n && bf_test_now_ms() < end)
        bf_test_sleep_ms(100);
    assert_int_equal(bf_test_committed_offset(s->f->group, s->f->editor_topic, 0), s->n);
}

/* ---- what the database holds ---- */

/* The text of a one-row, one-column query with one text parameter (malloc'd; "" for NULL). */
static char *text_of(PGconn *db, const char *sql, const char *p1) {
    const char *p[] = {p1};
    PGresult *r = PQexecParams(db, sql, 1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    char *t = strdup(PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return t;
}

/* A project's storyboard, tombstones included, every column the events set. */
static char *storyboard(PGconn *db, const char *project) {
    return text_of(db,
                   "SELECT string_agg(concat_ws('|', scene_id, name, position, duration_ms, description,"
                   " content_version, position_version, deleted_version, version, deleted), E'\\n'"
                   " ORDER BY scene_id) FROM scenes WHERE project_id = $1",
                   project);
}

/* A project's memory of the editor's reports: every relationship and conversation row, its value
 * and how it would be read (confidence, source, expiry set or not). evidence_count is left out for
 * conversation context: it counts writes, and a stale copy is one more write that changes nothing. */
static char *memory(PGconn *db, const char *project) {
    return text_of(db,
                   "SELECT string_agg(concat_ws('|', memory_type, key, value::text, confidence, source, is_explicit,"
                   " CASE WHEN memory_type = 'conversation_context' THEN NULL ELSE evidence_count END,"
                   " expires_at IS NULL), E'\\n' ORDER BY memory_type, key) FROM project_memory WHERE project_id = $1",
                   project);
}

/* s with every occurrence of from replaced by to (malloc'd). */
static char *replace_all(const char *s, const char *from, const char *to) {
    size_t n = 0, lf = strlen(from), lt = strlen(to);
    for (const char *p = s; (p = strstr(p, from)); p += lf) n++;
    char *out = malloc(strlen(s) + n * (lt > lf ? lt - lf : 0) + 1), *o = out;
    assert_non_null(out);
    for (const char *p = s, *q; ; p = q + lf) {
        q = strstr(p, from);
        size_t l = q ? (size_t)(q - p) : strlen(p);
        memcpy(o, p, l);
        o += l;
        if (!q) break;
        memcpy(o, to, lt);
        o += lt;
    }
    *o = '\0';
    return out;
}

/* ---- the brain's read ---- */

typedef struct {
    bool done;
    char *doc;
    char err[512];
} answer;

static void on_doc(void *ctx, char *doc, const char *err) {
    answer *a = ctx;
    a->done = true;
    a->doc = doc;
    snprintf(a->err, sizeof a->err, "%s", err ? err : "");
}

/* brain_store's context read (the newest n_messages of the conversation), parsed as the brain
 * parses it. */
static void read_context_n(const char *project, const char *conversation, long long n_messages, brain_context *ctx) {
    char err[512];
    bf_log log;
    bf_log_init(&log, stderr, "test", BF_LOG_WARN);
    bf_loop *loop = bf_loop_new(err, sizeof err);
    assert_non_null(loop);
    brain_store *s = brain_store_new(loop, bf_test_pg_dsn(), 1, 5000, &log, err, sizeof err);
    if (!s) fail_msg("brain_store_new: %s", err);
    brain_store_ops ops = brain_store_ops_of(s);
    answer a = {0};
    assert_int_equal(ops.context(ops.impl, project, conversation, n_messages, 5, on_doc, &a), 0);
    for (int i = 0; i < 1000 && !a.done; i++) bf_loop_run_once(loop, 100);
    assert_true(a.done);
    if (!a.doc) fail_msg("context read: %s", a.err);
    if (brain_context_parse(a.doc, strlen(a.doc), ctx, err, sizeof err) != 0) fail_msg("parse: %s", err);
    free(a.doc);
    brain_store_free(s);
    bf_loop_free(loop);
}

static void read_context(const char *project, const char *conversation, brain_context *ctx) {
    read_context_n(project, conversation, 20, ctx);
}

static const brain_memory_item *relationship(const brain_context *c, const char *key) {
    for (size_t i = 0; i < c->n_relationships; i++)
        if (strcmp(c->relationships[i].key, key) == 0) return &c->relationships[i];
    return NULL;
}

/* ---- the tests ---- */

/* What the scenario must leave, read back from the rows (not from anything the test wrote). */
static void check_storyboard(PGconn *db, const char *project) {
    char *got = storyboard(db, project);
    static const char want[] = "beach|Beach|2|6000|Beach at dusk.|3|3|4|4|t\n"
                               "logo|Logo|0|3000|Logo without the glow.|3|3|0|3|f\n"
                               "title|Title|1|8000|Big white title on black.|2|3|0|3|f";
    if (strcmp(got, want) != 0) fail_msg("storyboard of %s:\n%s\nwanted:\n%s", project, got, want);
    free(got);
}

static void check_memory(PGconn *db, const char *project) {
    char *got = memory(db, project);
    /* jsonb prints keys shortest first, then by bytes. */
    static const char want[] =
        "conversation_context|conversation:conv-1|{\"last_error\": \"1 of 1 tool calls failed\", \"reported_at\": "
        "{\"last_error\": 1750000011000, \"current_scene_id\": 1750000013000, \"last_tool_applied\": 1750000013000, "
        "\"last_failed_request_id\": 1750000011000, \"last_applied_request_id\": 1750000013000}, "
        "\"current_scene_id\": \"logo\", \"last_tool_applied\": \"editScene\", \"last_failed_request_id\": "
        "\"" REQ(5) "\", \"last_applied_request_id\": \"" REQ(6) "\"}|1|editor|f|f\n"
        "scene_relationship|scene:logo|{\"origin\": \"brain\", \"follows\": null, \"version\": 3, \"last_tool\": "
        "\"editScene\", \"last_change\": \"scene_updated\", \"last_request_id\": \"" REQ(6) "\"}|1|editor|f|1|t\n"
        "scene_relationship|scene:title|{\"origin\": \"brain\", \"follows\": \"logo\", \"version\": 2, \"last_tool\": "
        "\"changeDuration\", \"last_change\": \"scene_updated\", \"last_request_id\": \"" REQ(3) "\"}|1|editor|f|1|t";
    if (strcmp(got, want) != 0) fail_msg("memory of %s:\n%s\nwanted:\n%s", project, got, want);
    free(got);
}

static void test_replayed_shuffled_and_stale_events_converge(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, 1);
    PGconn *db = mt_db();
    pid_t w = mt_spawn(&f, "run", NULL, NULL, NULL);
    sent s = {.f = &f};
    char p1[80], p2[80], p3[80];
    snprintf(p1, sizeof p1, "%s-a", f.project);
    snprintf(p2, sizeof p2, "%s-b", f.project);
    snprintf(p3, sizeof p3, "%s-c", f.project);

    /* 1. In order. */
    char *json[N_EVENTS];
    for (int i = 0; i < N_EVENTS; i++) json[i] = scenario_event(p1, i, NULL);
    for (int i = 0; i < N_EVENTS; i++) put(&s, p1, json[i]);
    wait_done(&s);
    check_storyboard(db, p1);
    check_memory(db, p1);
    char *board1 = storyboard(db, p1), *mem1 = memory(db, p1);

    /* 2. Replayed twice (the same messages): nothing changes. */
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < N_EVENTS; i++) put(&s, p1, json[i]);
    wait_done(&s);
    char *board = storyboard(db, p1), *mem = memory(db, p1);
    assert_string_equal(board, board1);
    assert_string_equal(mem, mem1);
    free(board);
    free(mem);
    for (int i = 0; i < N_EVENTS; i++) free(json[i]);

    /* 3. Shuffled, with each event twice (the second a copy under a new event id, as an editor
     * re-sending it would make) and stale copies of three older versions, all at once (a batch or
     * two), then again for another project one event per transaction. */
    unsigned seed = (unsigned)bf_test_now_ms();
    print_message("shuffle seed %u\n", seed);
    srand(seed);
    const char *projects[] = {p2, p3};
    for (int pr = 0; pr < 2; pr++) {
        enum { N = 2 * N_EVENTS };
        int order[N];
        for (int i = 0; i < N; i++) order[i] = i % N_EVENTS;
        for (int i = N - 1; i > 0; i--) {
            int j = rand() % (i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int i = 0; i < N; i++) {
            char *e = scenario_event(projects[pr], order[i], NULL);
            put(&s, projects[pr], e);
            /* Stale: title's first version after its second, beach's update after its deletion. */
            if (order[i] == 9 || order[i] == 4) {
                char *stale = scenario_event(projects[pr], order[i] == 9 ? 8 : 0, NULL);
                put(&s, projects[pr], stale);
                free(stale);
            }
            free(e);
            if (pr == 1) wait_done(&s);
        }
        wait_done(&s);
        char *b = storyboard(db, projects[pr]), *m = memory(db, projects[pr]);
        char *b1 = replace_all(board1, p1, projects[pr]), *m1 = replace_all(mem1, p1, projects[pr]);
        if (strcmp(b, b1) != 0) fail_msg("seed %u: storyboard of %s:\n%s\nin order:\n%s", seed, projects[pr], b, b1);
        if (strcmp(m, m1) != 0) fail_msg("seed %u: memory of %s:\n%s\nin order:\n%s", seed, projects[pr], m, m1);
        free(b);
        free(m);
        free(b1);
        free(m1);
    }

    /* 4. What the brain reads: live scenes in order with their descriptions; no relationship of
     * the deleted scene; the conversation about logo. */
    brain_context c;
    read_context(p1, "conv-1", &c);
    assert_int_equal(c.n_scenes, 2);
    assert_string_equal(c.scenes[0].id, "logo");
    assert_string_equal(c.scenes[0].description, "Logo without the glow.");
    assert_int_equal(c.scenes[0].version, 3);
    assert_string_equal(c.scenes[1].id, "title");
    assert_int_equal(c.scenes[1].duration_ms, 8000);
    assert_null(brain_context_find_scene(&c, "beach"));
    assert_int_equal(c.n_relationships, 2);
    assert_null(relationship(&c, "scene:beach"));
    assert_non_null(strstr(relationship(&c, "scene:title")->value, "\"follows\":\"logo\""));
    assert_string_equal(c.conv.current_scene_id, "logo");
    brain_context_clear(&c);

    /* 5. logo deleted by hand: gone from the read and from relationships, and no longer the
     * conversation's current scene; title now follows nothing. A stale update of logo after it
     * brings back neither the scene nor its relationship. */
    bf_msg_editor_event del = {.event = BF_EDITOR_SCENE_DELETED, .step = -1, .origin = BF_ORIGIN_USER,
                               .scene = {.scene_id = (char *)"logo", .version = 4}};
    char *e = mt_editor_event(p1, &del, T0 + 20000, NULL);
    put(&s, p1, e);
    free(e);
    e = scenario_event(p1, 12, NULL); /* logo v3 again, under a new event id */
    put(&s, p1, e);
    free(e);
    wait_done(&s);
    read_context(p1, "conv-1", &c);
    assert_int_equal(c.n_scenes, 1);
    assert_string_equal(c.scenes[0].id, "title");
    assert_int_equal(c.n_relationships, 1);
    assert_non_null(relationship(&c, "scene:title"));
    assert_non_null(strstr(relationship(&c, "scene:title")->value, "\"follows\":null"));
    assert_string_equal(c.conv.current_scene_id, "");
    brain_context_clear(&c);
    assert_int_equal(mt_scalar(db, "SELECT count(*) FROM scenes WHERE project_id = $1 AND deleted", p1, NULL, NULL), 2);

    /* 6. The deletion undone: logo created again with the next version, live, first again. */
    bf_msg_editor_event undo = {.event = BF_EDITOR_SCENE_CREATED, .step = -1, .origin = BF_ORIGIN_USER,
                                .scene = {.scene_id = (char *)"logo", .name = (char *)"Logo", .position = 0,
                                          .duration_ms = 3000, .description = (char *)"Logo back.", .version = 5}};
    e = mt_editor_event(p1, &undo, T0 + 21000, NULL);
    put(&s, p1, e);
    free(e);
    wait_done(&s);
    read_context(p1, "conv-1", &c);
    assert_int_equal(c.n_scenes, 2);
    assert_string_equal(c.scenes[0].id, "logo");
    assert_string_equal(c.scenes[0].description, "Logo back.");
    assert_int_equal(c.scenes[0].version, 5);
    assert_non_null(relationship(&c, "scene:logo"));
    assert_non_null(strstr(relationship(&c, "scene:title")->value, "\"follows\":\"logo\""));
    brain_context_clear(&c);

    assert_int_equal(mt_scalar(db, "SELECT count(*) FROM project_memory WHERE project_id = $1 AND memory_type ="
                                   " 'user_preference'", p1, NULL, NULL), 0);
    assert_int_equal(mt_stop(w, SIGTERM), 0);
    free(board1);
    free(mem1);
    PQfinish(db);
}

/* The brain's memoryUpdates and the editor's reports merge into one conversation_context row,
 * field by field, its expiry RETENTION_CONVERSATION after the last write; a brain's
 * scene_relationship is not stored; the context read gives the conversation's messages by turn,
 * user before assistant, after those written without a turn. */
static void test_conversation_context_and_turns(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, 1);
    PGconn *db = mt_db();
    const char *env[] = {"BRAINFLEET_RETENTION_CONVERSATION=7d", NULL};
    pid_t w = mt_spawn(&f, "run", NULL, env, NULL);
    char err[512];

    /* Turn 2's messages first, turn 1's after, each pair assistant first; two old messages
     * without a turn; a conversation_context item, and a scene_relationship the writer drops. */
    bf_msg_memory_update u = {0};
    assert_int_equal(bf_envelope_init(&u.env, BF_SCHEMA_MEMORY_UPDATES, f.project, NULL, "brain-worker", T0, err,
                                      sizeof err), 0);
    bf_conversation_message msgs[6];
    const struct {
        bf_message_role role;
        const char *content;
        int64_t turn;
    } spec[6] = {{BF_ROLE_ASSISTANT, "turn 2 answer", 2}, {BF_ROLE_USER, "turn 2 ask", 2},
                 {BF_ROLE_ASSISTANT, "turn 1 answer", 1}, {BF_ROLE_USER, "turn 1 ask", 1},
                 {BF_ROLE_ASSISTANT, "old answer", 0},    {BF_ROLE_USER, "old ask", 0}};
    for (int i = 0; i < 6; i++) {
        msgs[i] = (bf_conversation_message){.role = spec[i].role, .content = (char *)spec[i].content,
                                            .conversation_id = (char *)"conv-9", .turn = spec[i].turn};
        /* Each assistant message's id sorts before its user message's, and the two of a turn share
         * created_at: only the role can put the user first. */
        bf_uuid_v4(msgs[i].message_id);
        msgs[i].message_id[0] = spec[i].role == BF_ROLE_ASSISTANT ? '0' : 'f';
    }
    u.messages = msgs;
    u.n_messages = 4; /* the old ones go in a message of their own, earlier */
    bf_memory_item items[] = {
        {BF_MEMORY_CONVERSATION_CONTEXT, (char *)"conversation:conv-9",
         (char *)"{\"turn_count\":2,\"open_question\":{\"question\":\"Which one?\"},\"last_request_id\":\"r2\"}", 1,
         (char *)"brain-worker:conversation", false, T0 /* ignored: the writer sets the expiry */},
        {BF_MEMORY_CONVERSATION_CONTEXT, (char *)"conversation:conv-other", (char *)"{\"turn_count\":1}", 1,
         (char *)"brain-worker:conversation", false, -1},
        {BF_MEMORY_SCENE_RELATIONSHIP, (char *)"scene:ghost", (char *)"{\"last_tool\":\"addScene\"}", 0.5,
         (char *)"brain-worker:decision", false, -1},
    };
    u.items = items;
    u.n_items = 3;
    bf_msg_memory_update old = {.env = u.env, .messages = &msgs[4], .n_messages = 2};
    assert_int_equal(bf_envelope_init(&old.env, BF_SCHEMA_MEMORY_UPDATES, f.project, NULL, "brain-worker", T0 - 5000,
                                      err, sizeof err), 0);
    char *j_old = bf_msg_memory_update_encode(&old, err, sizeof err), *j = bf_msg_memory_update_encode(&u, err, sizeof err);
    assert_non_null(j_old);
    assert_non_null(j);
    bf_test_produce(f.updates_topic, 0, f.project, j_old, strlen(j_old), NULL);
    bf_test_produce(f.updates_topic, 0, f.project, j, strlen(j), NULL);
    free(j_old);
    free(j);

    /* The editor applies the turn's decision: the scene it made, the tool. */
    bf_msg_editor_event ev = {.event = BF_EDITOR_SCENE_CREATED, .origin = BF_ORIGIN_BRAIN, .step = 0, .has_tool = true,
                              .tool = BF_TOOL_ADD_SCENE, .conversation_id = (char *)"conv-9",
                              .scene = {.scene_id = (char *)"title", .name = (char *)"Title", .position = 0,
                                        .duration_ms = 5000, .description = (char *)"", .version = 1}};
    snprintf(ev.request_id, sizeof ev.request_id, "%s", REQ(7));
    bf_editor_step st = {0, BF_TOOL_ADD_SCENE, BF_STEP_APPLIED, (char *)"title", NULL};
    bf_msg_editor_event done = {.event = BF_EDITOR_DECISION_APPLIED, .step = -1, .conversation_id = (char *)"conv-9",
                                .steps = &st, .n_steps = 1};
    memcpy(done.request_id, ev.request_id, sizeof done.request_id);
    char *e1 = mt_editor_event(f.project, &ev, T0, NULL), *e2 = mt_editor_event(f.project, &done, T0 + 1, NULL);
    bf_test_produce(f.editor_topic, 0, f.project, e1, strlen(e1), NULL);
    bf_test_produce(f.editor_topic, 0, f.project, e2, strlen(e2), NULL);
    free(e1);
    free(e2);

    /* Then the brain's next turn changes two fields and leaves the others. */
    bf_msg_memory_update next = {0};
    assert_int_equal(bf_envelope_init(&next.env, BF_SCHEMA_MEMORY_UPDATES, f.project, NULL, "brain-worker", T0 + 9,
                                      err, sizeof err), 0);
    bf_memory_item item = {BF_MEMORY_CONVERSATION_CONTEXT, (char *)"conversation:conv-9",
                           (char *)"{\"turn_count\":3,\"open_question\":null}", 1, (char *)"brain-worker:conversation",
                           false, -1};
    next.items = &item;
    next.n_items = 1;
    j = bf_msg_memory_update_encode(&next, err, sizeof err);
    assert_non_null(j);
    bf_test_produce(f.updates_topic, 0, f.project, j, strlen(j), NULL);
    free(j);

    const char *conv_sql = "SELECT count(*) FROM project_memory WHERE project_id = $1 AND key = 'conversation:conv-9'"
                           " AND value->>'turn_count' = '3' AND value ? 'current_scene_id'";
    assert_int_equal(mt_wait_count(db, conv_sql, f.project, 1, 60000), 1);
    char *value = text_of(db,
                          "SELECT value - 'reported_at' FROM project_memory WHERE project_id = $1"
                          " AND key = 'conversation:conv-9'",
                          f.project);
    assert_string_equal(value, "{\"turn_count\": 3, \"open_question\": null, \"last_request_id\": \"r2\", "
                               "\"current_scene_id\": \"title\", \"last_tool_applied\": \"addScene\", "
                               "\"last_applied_request_id\": \"" REQ(7) "\"}");
    free(value);
    /* Expires 7 days after the last write (the writer's clock and the database's are one machine's),
     * whether the brain (conv-other) or the editor and the brain (conv-9) wrote last. */
    assert_int_equal(mt_scalar(db,
                               "SELECT count(*) FROM project_memory WHERE project_id = $1 AND memory_type ="
                               " 'conversation_context' AND expires_at BETWEEN now() + interval '6 days 23 hours'"
                               " AND now() + interval '7 days'",
                               f.project, NULL, NULL),
                     2);
    /* The brain's relationship was not stored; the editor's report made the one there is. */
    char *rel = text_of(db, "SELECT string_agg(key || ' ' || (value->>'last_tool') || ' ' || source, ',')"
                            " FROM project_memory WHERE project_id = $1 AND memory_type = 'scene_relationship'",
                        f.project);
    assert_string_equal(rel, "scene:title addScene editor");
    free(rel);

    brain_context c;
    read_context(f.project, "conv-9", &c);
    static const char *const want[] = {"old ask", "old answer", "turn 1 ask", "turn 1 answer", "turn 2 ask",
                                       "turn 2 answer"};
    assert_int_equal(c.n_messages, 6);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(c.messages[i].content, want[i]);
        assert_int_equal(c.messages[i].turn, i < 2 ? 0 : 1 + (i - 2) / 2);
        assert_non_null(c.messages[i].message_id);
    }
    assert_int_equal(c.conv.turn_count, 3);
    assert_string_equal(c.conv.current_scene_id, "title");
    brain_context_clear(&c);
    /* Only the newest 3: the last turn and a half, still in order. */
    read_context_n(f.project, "conv-9", 3, &c);
    assert_int_equal(c.n_messages, 3);
    assert_string_equal(c.messages[0].content, "turn 1 answer");
    assert_string_equal(c.messages[2].content, "turn 2 answer");
    brain_context_clear(&c);

    assert_int_equal(mt_stop(w, SIGTERM), 0);
    PQfinish(db);
}

/* One image's bytes count once as preference evidence in a project: analysed under two trace ids
 * (two requests, or a request decided again), and analysed again under a new event id, in one
 * batch and across batches; other bytes count. Each application of w = 0.2 to the same value
 * moves the confidence c -> c + (1 - c) * 0.2, so the confidence says how many counted. */
static void test_evidence_counted_once_per_content_hash(void **state) {
    (void)state;
    mt_fixture f;
    mt_fixture_init(&f, 1);
    PGconn *db = mt_db();
    pid_t w = mt_spawn(&f, "run", NULL, NULL, NULL);
    const char *conf_sql = "SELECT confidence FROM project_memory WHERE project_id = $1 AND key = 'preferred_mood'";
    const char *rows_sql = "SELECT count(*) FROM image_analysis WHERE project_id = $1";

    /* Image 1 under two trace ids, in one burst (one batch or two). */
    for (int i = 0; i < 2; i++) {
        char *j = mt_image_facts(f.project, "calm", "#1f3a93", 1, NULL);
        bf_test_produce(f.facts_topic, 0, f.project, j, strlen(j), NULL);
        free(j);
    }
    assert_int_equal(mt_wait_count(db, rows_sql, f.project, 2, 60000), 2);
    /* Then once more, alone, under a third: a later batch. */
    char *j = mt_image_facts(f.project, "calm", "#1f3a93", 1, NULL);
    bf_test_produce(f.facts_topic, 0, f.project, j, strlen(j), NULL);
    free(j);
    assert_int_equal(mt_wait_count(db, rows_sql, f.project, 3, 60000), 3);
    assert_float_equal(mt_scalar(db, conf_sql, f.project, NULL, NULL), 0.2, 1e-12);
    assert_int_equal(mt_scalar(db, "SELECT evidence_count FROM project_memory WHERE project_id = $1 AND key ="
                                   " 'preferred_mood'", f.project, NULL, NULL), 1);

    /* Image 2, and the same facts again under a new event id (a re-analysis published again): the
     * analysis row is stored once (same bytes, same trace id) and the evidence counted once. */
    char err[512];
    j = mt_image_facts(f.project, "calm", "#1f3a93", 2, NULL);
    bf_msg_image_facts_ready m;
    if (bf_msg_image_facts_ready_decode(j, strlen(j), &m, err, sizeof err) != 0) fail_msg("%s", err);
    bf_uuid_v7(m.env.event_id);
    char again[BF_UUID_LEN + 1];
    memcpy(again, m.env.event_id, sizeof again);
    char *j2 = bf_msg_image_facts_ready_encode(&m, err, sizeof err);
    assert_non_null(j2);
    bf_msg_image_facts_ready_free(&m);
    bf_test_produce(f.facts_topic, 0, f.project, j, strlen(j), NULL);
    bf_test_produce(f.facts_topic, 0, f.project, j2, strlen(j2), NULL);
    free(j);
    free(j2);
    /* Both handled: the second's event id is in the ledger (committed with its effects). */
    const char *ledger = "SELECT count(*) FROM processed_events WHERE consumer = 'memory-writer' AND event_id = $1";
    assert_int_equal(mt_wait_count(db, ledger, again, 1, 60000), 1);
    const char *counted = "SELECT count(*) FROM preference_evidence WHERE project_id = $1";
    assert_int_equal(mt_scalar(db, counted, f.project, NULL, NULL), 2);
    assert_int_equal(mt_scalar(db, rows_sql, f.project, NULL, NULL), 4);
    assert_float_equal(mt_scalar(db, conf_sql, f.project, NULL, NULL), 0.2 + 0.8 * 0.2, 1e-12);

    /* Other bytes: counted. */
    j = mt_image_facts(f.project, "calm", "#1f3a93", 3, NULL);
    bf_test_produce(f.facts_topic, 0, f.project, j, strlen(j), NULL);
    free(j);
    assert_int_equal(mt_wait_count(db, counted, f.project, 3, 60000), 3);
    double c2 = 0.2 + 0.8 * 0.2;
    assert_float_equal(mt_scalar(db, conf_sql, f.project, NULL, NULL), c2 + (1 - c2) * 0.2, 1e-12);
    assert_int_equal(mt_stop(w, SIGTERM), 0);
    PQfinish(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replayed_shuffled_and_stale_events_converge),
        cmocka_unit_test(test_conversation_context_and_turns),
        cmocka_unit_test(test_evidence_counted_once_per_content_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
