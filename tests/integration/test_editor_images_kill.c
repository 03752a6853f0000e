/* brain-worker SIGKILLed while requests with images are in flight (issue 17, item 6): every image
 * is analysed once and counts as evidence once. The whole fleet (rule-based brain) on its own
 * topics and database; 6 projects, each uploading its own image in 4 requests (under 4 URLs); brain-worker is
 * killed (SIGKILL) and restarted while they flow, until a kill has caught decided but uncommitted
 * requests (they are decided again: the case under test). Then tests/faults/fault_checker reads the
 * topics and the database: nothing lost or applied twice, no request's image fanned out under a
 * second trace id (--images-once), and, with the storyboard of record's memory-writer in the build
 * (issue 17 §4), no project's image evidence counting an image twice (--evidence-once: four uploads
 * of the same bytes are one piece of evidence). */
#include "test_editor_fleet.h"

#define PROJECTS 6
#define PER_PROJECT 4

static ef_fleet F;
/* brain-worker commits its offsets only when it stops cleanly or loses partitions, never on the
 * clock: whatever it decided before a SIGKILL is certain to come back to its successor. */
static const char *const brain_env[] = {"BRAINFLEET_KAFKA_AUTO_COMMIT_INTERVAL_MS=600000", NULL};

static int group_setup(void **state) {
    (void)state;
    ef_fleet_start(&F, NULL, brain_env);
    return 0;
}

static int group_teardown(void **state) {
    ef_fleet_stop(&F);
    return ef_kill_leftovers(state);
}

/* Produces requests [from, to) of the plan; lines go to the checker's file; the last request id
 * into last. */
static void send_range(int from, int to, FILE *plan, char last[BF_UUID_LEN + 1]) {
    for (int i = from; i < to; i++) {
        int p = i % PROJECTS;
        char project[64], url[256], prompt[200], rid[BF_UUID_LEN + 1];
        snprintf(project, sizeof project, "%sp%d", F.prefix, p);
        /* The project's image under a name of its own per upload: the same bytes every time, so
         * only the content hash tells they are one image. */
        snprintf(url, sizeof url, "%s/project-%d-%d.bmp", F.image_base, p, i / PROJECTS);
        /* The checker's convention: a preference unique to the request, so its memory row's
         * evidence_count says how often the request's memory update was applied. */
        bf_uuid_v7(rid);
        snprintf(prompt, sizeof prompt, "I prefer palette %s. Make a scene that looks like this image.", rid);
        ef_send_id(&F, project, prompt, url, NULL, rid);
        fprintf(plan, "%s\t%s\t1\n", rid, project);
        memcpy(last, rid, sizeof rid);
    }
    fflush(plan);
}

static long json_field(const char *text, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(text, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

static void every_image_analysed_and_counted_once(void **state) {
    (void)state;
    for (int p = 0; p < PROJECTS; p++)
        for (int k = 0; k < PER_PROJECT; k++) {
            char path[400];
            snprintf(path, sizeof path, "%s/project-%d-%d.bmp", F.dir, p, k);
            const unsigned char a[3] = {(unsigned char)(40 * p), 120, (unsigned char)(250 - 30 * p)},
                                b[3] = {250, (unsigned char)(20 * p), 60};
            ef_write_bmp(path, 64, 48, a, b);
        }
    char plan_path[400];
    snprintf(plan_path, sizeof plan_path, "%s/requests.tsv", F.dir);
    FILE *plan = fopen(plan_path, "w");
    assert_non_null(plan);
    /* Each round sends a batch and kills brain-worker: every other round once the batch is
     * decided (decisions, fan-out, memory updates published; offsets not committed: all of it
     * comes back to its successor), else a moment after sending, while requests are in flight. */
    int total = PROJECTS * PER_PROJECT, sent = 0, kills = 0;
    for (int round = 0; round < PER_PROJECT; round++) {
        char last[BF_UUID_LEN + 1];
        send_range(sent, sent + PROJECTS, plan, last);
        sent += PROJECTS;
        if (round % 2 == 0) {
            bf_msg_brain_decision d;
            ef_decision(&F, last, &d);
            bf_msg_brain_decision_free(&d);
        } else {
            bf_test_sleep_ms(100);
        }
        ef_stop(&F, &F.brain, SIGKILL);
        kills++;
        ef_start_worker(&F, &F.brain, "brain-worker");
    }
    assert_int_equal(sent, total);
    fclose(plan);

    char bin[1024], out_path[400];
    bf_test_binary("tests/fault_checker", bin, sizeof bin);
    snprintf(out_path, sizeof out_path, "%s/checker.out", F.dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bf_test_child_dies_with_parent();
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) dup2(fd, STDOUT_FILENO);
        setenv("BRAINFLEET_PG_DSN", F.dsn, 1);
        execl(bin, bin, "--prefix", F.prefix, "--requests", plan_path, "--wait-ms", "120000", "--images-once",
              "--evidence-once", (char *)NULL);
        _exit(127);
    }
    ef_track(pid);
    int status = 0;
    waitpid(pid, &status, 0);
    ef_untrack(pid);
    FILE *fp = fopen(out_path, "r");
    char text[8192] = "";
    size_t n = fp ? fread(text, 1, sizeof text - 1, fp) : 0;
    text[n] = '\0';
    if (fp) fclose(fp);
    fprintf(stderr, "%d SIGKILLs of brain-worker; fault_checker says:\n%s", kills, text);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ef_fail(&F, "fault_checker failed (logs in %s)", F.dir);
    assert_int_equal(json_field(text, "sent"), total);
    assert_int_equal(json_field(text, "decided"), total);
    assert_int_equal(json_field(text, "reanalysed"), 0);
    assert_int_equal(json_field(text, "fanouts"), total);
    /* The kills caught decided, uncommitted requests (else this run proved nothing): at least
     * the batches killed once decided were decided again. */
    if (json_field(text, "redelivered_duplicate_decisions") < PROJECTS)
        fail_msg("fewer than %d requests decided twice: the kills missed the requests in flight", PROJECTS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_image_analysed_and_counted_once),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
