/* `memory-writer cleanup` deletes exactly what is past retention: image analyses older than 30
 * days, conversation context and messages older than 90 days, any memory past expires_at, and
 * the worker's own ledger entries older than 30 days; preferences and scene relationships stay
 * however old. It deletes in bounded batches (BRAINFLEET_CLEANUP_BATCH=2 here, so every category
 * takes several statements) and prints the counts. */
#include "test_memory_util.h"

static char *run_cleanup(const mt_fixture *f) {
    int fds[2];
    if (pipe(fds) != 0) fail_msg("pipe");
    char bin[1024];
    bf_test_binary("memory-writer/memory-writer", bin, sizeof bin);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        setenv("BRAINFLEET_PG_DSN", bf_test_pg_dsn(), 1);
        setenv("BRAINFLEET_TOPIC_PREFIX", f->prefix, 1);
        setenv("BRAINFLEET_CLEANUP_BATCH", "2", 1);
        execl(bin, bin, "cleanup", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    static char out[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)r;
    out[n] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    return out;
}

static void analysis(PGconn *db, const char *project, int no, const char *age) {
    char hash[65], trace[33];
    snprintf(hash, sizeof hash, "%064x", (unsigned)no);
    bf_random_hex(trace, 16);
    const char *p[] = {project, trace, hash, age};
    PGresult *r = PQexecParams(db,
                               "INSERT INTO image_analysis (project_id, trace_id, request_id, content_hash, image_urls,"
                               " analyser, created_at) VALUES ($1, $2, 'r', $3, '{}', 'builtin', now() - $4::interval)",
                               4, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void memory(PGconn *db, const char *project, const char *type, const char *key, const char *age,
                   const char *expires_in) {
    const char *p[] = {project, type, key, age, expires_in};
    PGresult *r = PQexecParams(db,
                               "INSERT INTO project_memory (project_id, memory_type, key, value, confidence, source,"
                               " created_at, updated_at, expires_at) VALUES ($1, $2, $3, '1', 0.5, 'test',"
                               " now() - $4::interval, now() - $4::interval, now() + $5::interval)",
                               5, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void message(PGconn *db, const char *project, const char *age) {
    char id[BF_UUID_LEN + 1];
    bf_uuid_v4(id);
    const char *p[] = {id, project, age};
    PGresult *r = PQexecParams(db,
                               "INSERT INTO messages (message_id, project_id, conversation_id, role, content, created_at)"
                               " VALUES ($1, $2, 'c', 'user', 'hi', now() - $3::interval)",
                               3, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void ledger(PGconn *db, const char *consumer, const char *age, char id[BF_UUID_LEN + 1]) {
    bf_uuid_v4(id);
    const char *p[] = {consumer, id, age};
    PGresult *r = PQexecParams(db,
                               "INSERT INTO processed_events (consumer, event_id, processed_at)"
                               " VALUES ($1, $2, now() - $3::interval)",
                               3, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
}

static void test_cleanup_deletes_exactly_the_expired(void **state) {
    (void)state;
    mt_fixture f;
    memset(&f, 0, sizeof f);
    bf_test_unique_prefix(f.prefix, sizeof f.prefix);
    snprintf(f.project, sizeof f.project, "p-%scleanup", f.prefix);
    PGconn *db = mt_db();
    for (int i = 0; i < 5; i++) analysis(db, f.project, i, "31 days");          /* deleted */
    analysis(db, f.project, 10, "29 days");                                      /* kept */
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof key, "ctx%d", i);
        memory(db, f.project, "conversation_context", key, "91 days", "1000 days"); /* deleted */
    }
    memory(db, f.project, "conversation_context", "fresh", "89 days", "1000 days"); /* kept */
    memory(db, f.project, "user_preference", "old_pref", "400 days", "1000 days");  /* kept */
    memory(db, f.project, "scene_relationship", "old_rel", "400 days", "1000 days"); /* kept */
    memory(db, f.project, "user_preference", "expired", "1 day", "-1 minute");      /* deleted */
    memory(db, f.project, "scene_relationship", "expired_rel", "1 day", "-1 day");  /* deleted */
    for (int i = 0; i < 3; i++) message(db, f.project, "91 days");                /* deleted */
    message(db, f.project, "1 day");                                              /* kept */
    char old_own[BF_UUID_LEN + 1], new_own[BF_UUID_LEN + 1], other[BF_UUID_LEN + 1];
    ledger(db, "memory-writer", "31 days", old_own);                              /* deleted */
    ledger(db, "memory-writer", "1 day", new_own);                                /* kept */
    ledger(db, "someone-else", "400 days", other);                                /* kept */

    char *out = run_cleanup(&f);
    assert_string_equal(out, "image_analysis\t5\nconversation_context\t3\nmessages\t3\n"
                             "expired_memory\t2\nprocessed_events\t1\n");

    assert_int_equal(mt_scalar(db, "SELECT count(*) FROM image_analysis WHERE project_id = $1", f.project, NULL, NULL),
                     1);
    PGresult *r = PQexecParams(db, "SELECT string_agg(key, ',' ORDER BY key) FROM project_memory WHERE project_id = $1",
                               1, NULL, (const char *const[]){f.project}, NULL, NULL, 0);
    assert_string_equal(PQgetvalue(r, 0, 0), "fresh,old_pref,old_rel");
    PQclear(r);
    assert_int_equal(mt_scalar(db, "SELECT count(*) FROM messages WHERE project_id = $1", f.project, NULL, NULL), 1);
    const char q[] = "SELECT count(*) FROM processed_events WHERE event_id = $1::uuid";
    assert_int_equal(mt_scalar(db, q, old_own, NULL, NULL), 0);
    assert_int_equal(mt_scalar(db, q, new_own, NULL, NULL), 1);
    assert_int_equal(mt_scalar(db, q, other, NULL, NULL), 1);

    /* Nothing left to do: a second run deletes nothing. */
    out = run_cleanup(&f);
    assert_string_equal(out, "image_analysis\t0\nconversation_context\t0\nmessages\t0\n"
                             "expired_memory\t0\nprocessed_events\t0\n");
    mt_exec(db, "DELETE FROM processed_events WHERE event_id IN ($1::uuid, $2::uuid)", new_own, other);
    PQfinish(db);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cleanup_deletes_exactly_the_expired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
