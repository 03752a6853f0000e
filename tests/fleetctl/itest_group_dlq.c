/* Against the real broker: moving a consumer group's offsets (works on an inactive group,
 * refused on an active one), dead-letter list/show/retry (retry re-publishes the original bytes,
 * key and headers), and topics ensure (creates what is missing, leaves what exists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bf_dlq.h"
#include "bf_test_kafka.h"
#include "fleet_time.h"
#include "support_fleet.h"

static char prefix[32];
static char events[128], dlq[128], requests[128];
static int64_t base_ms;

static int setup(void **state) {
    (void)state;
    bf_test_unique_prefix(prefix, sizeof prefix);
    const char *bases[] = {"events", "deadLetters", "brainRequests", "imageFactsReady"};
    bf_test_create_topics(prefix, bases, 4, 1);
    snprintf(events, sizeof events, "%sevents", prefix);
    snprintf(dlq, sizeof dlq, "%sdeadLetters", prefix);
    snprintf(requests, sizeof requests, "%sbrainRequests", prefix);
    base_ms = (fleet_it_wall_ms() - 3600000) / 1000 * 1000;
    rd_kafka_t *p = fleet_it_producer();
    for (int i = 0; i < 10; i++) fleet_it_produce(p, events, 0, "p-a", "x", 1, NULL, base_ms + i * 1000);
    fleet_it_producer_done(p);
    return 0;
}

/* A temp path that does not exist yet (reset --save-to refuses to overwrite). */
static void temp_path(char *buf, size_t len, const char *tag) {
    snprintf(buf, len, "/tmp/fleetctl-%s-%s-%lld.tsv", tag, prefix, (long long)fleet_it_wall_ms());
    unlink(buf);
}

static void group_move_inactive(void **state) {
    (void)state;
    char group[64], *out, save[256];
    snprintf(group, sizeof group, "%sstage", prefix);
    /* Issue 19: `replay --group` moved offsets at once. Now it plans, and only --execute moves. */
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--group", group, "--topic", "events", "--to-offset",
                                  "latest", NULL), 0);
    assert_non_null(strstr(out, "NEW-OFFSET"));
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), -1001); /* a plan changes nothing */
    temp_path(save, sizeof save, "move1");
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--group", group, "--topic", "events", "--to-offset",
                                  "latest", "--execute", "--save-to", save, NULL), 0);
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 10);
    unlink(save);
    char t[40];
    fleet_format_rfc3339(base_ms + 6000, t, sizeof t);
    temp_path(save, sizeof save, "move2");
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "-o", "json", "replay", "--group", group, "--topic", "events",
                                  "--to-time", t, "--execute", "--save-to", save, NULL), 0);
    assert_non_null(strstr(out, "\"current_offset\":10,\"new_offset\":6"));
    free(out);
    unlink(save);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 6);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--group", group, "--topic", "events", "--to-offset",
                                  "earliest", "--dry-run", NULL), 0);
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 6); /* dry run changed nothing */
    char *err;
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--group", group, "--topic", "events", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--group", group, "--topic", "events", "--to-time",
                                  "tomorrow", NULL), 2);
    assert_non_null(strstr(err, "--to-time"));
    free(err);
}

/* group reset: every mode, the saved file, and --from-file undoing an --execute. */
static void group_reset_modes_and_undo(void **state) {
    (void)state;
    char group[64], save[256], save2[256], *out, *err;
    snprintf(group, sizeof group, "%sreset", prefix);
    temp_path(save, sizeof save, "r0");
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "group", "reset", group, "--topic", "events", "--to-offset", "8",
                                  "--execute", "--save-to", save, NULL), 0);
    free(out);
    unlink(save);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 8);
    /* --shift-by: a plan first, then executed, saving 8. */
    assert_int_equal(fleet_it_run(prefix, &out, &err, "group", "reset", group, "--topic", "events", "--shift-by", "-3",
                                  NULL), 0);
    assert_non_null(strstr(err, "plan only"));
    free(out);
    free(err);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 8);
    temp_path(save, sizeof save, "r1");
    assert_int_equal(fleet_it_run(prefix, &out, &err, "group", "reset", group, "--topic", "events", "--shift-by", "-3",
                                  "--execute", "--save-to", save, NULL), 0);
    assert_non_null(strstr(err, save));
    free(out);
    free(err);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 5);
    FILE *f = fopen(save, "r");
    assert_non_null(f);
    char buf[2048];
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[got] = '\0';
    char want[256];
    snprintf(want, sizeof want, "%s\t%s\t0\t8\n", group, events);
    if (!strstr(buf, want)) fail_msg("saved file lacks '%s':\n%s", want, buf);
    /* Shifts are clamped to the log. */
    temp_path(save2, sizeof save2, "r2");
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "group", "reset", group, "--topic", "events", "--shift-by", "+100",
                                  "--execute", "--save-to", save2, NULL), 0);
    free(out);
    unlink(save2);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 10);
    /* --by-duration: every record is an hour old, so 30m ago is past them all: the end. */
    temp_path(save2, sizeof save2, "r3");
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "group", "reset", group, "--topic", "events", "--to-offset",
                                  "earliest", "--execute", "--save-to", save2, NULL), 0);
    free(out);
    unlink(save2);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 0);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "-o", "json", "group", "reset", group, "--topic", "events",
                                  "--by-duration", "30m", NULL), 0);
    assert_non_null(strstr(out, "\"current_offset\":0,\"new_offset\":10"));
    free(out);
    char t[40];
    fleet_format_rfc3339(base_ms + 4000, t, sizeof t);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "-o", "json", "group", "reset", group, "--topic", "events",
                                  "--to-datetime", t, NULL), 0);
    assert_non_null(strstr(out, "\"new_offset\":4"));
    free(out);
    /* --from-file restores what the shift saved (8), itself saving 0 first. */
    temp_path(save2, sizeof save2, "r4");
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "group", "reset", group, "--from-file", save, "--execute",
                                  "--save-to", save2, NULL), 0);
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 8);
    /* The save file is never overwritten; another group's file is refused. */
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "group", "reset", group, "--topic", "events", "--to-offset", "1",
                                  "--execute", "--save-to", save2, NULL), 1);
    assert_non_null(strstr(err, "nothing changed"));
    free(err);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 8);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "group", "reset", "someone-else", "--from-file", save, NULL), 2);
    assert_non_null(strstr(err, "not 'someone-else'"));
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "group", "reset", group, "--topic", "events", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "group", "reset", group, "--topic", "events", "--shift-by", "x",
                                  NULL), 2);
    free(err);
    unlink(save);
    unlink(save2);
}

/* -b/--bootstrap-server beats BRAINFLEET_KAFKA_BROKERS, like kcat's -b. */
static void bootstrap_flag(void **state) {
    (void)state;
    const char *brokers = getenv("BRAINFLEET_KAFKA_BROKERS");
    assert_non_null(brokers);
    char *keep = strdup(brokers), *out, *err;
    setenv("BRAINFLEET_KAFKA_BROKERS", "127.0.0.1:1", 1);
    int bad = fleet_it_run(prefix, NULL, &err, "--timeout", "2s", "topics", "list", NULL);
    free(err);
    int good = fleet_it_run(prefix, &out, NULL, "topics", "list", "-b", keep, "-o", "json", NULL);
    setenv("BRAINFLEET_KAFKA_BROKERS", keep, 1);
    assert_int_equal(bad, 1);
    assert_int_equal(good, 0);
    char want[160];
    snprintf(want, sizeof want, "{\"topic\":\"%s\",\"partitions\":1,\"records\":10}", events);
    if (!strstr(out, want)) fail_msg("topics list -o json lacks %s:\n%s", want, out);
    free(out);
    free(keep);
}

static void group_move_refused_when_active(void **state) {
    (void)state;
    char group[64], err[512];
    snprintf(group, sizeof group, "%slive", prefix);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, events, RD_KAFKA_PARTITION_UA);
    assert_int_equal(rd_kafka_subscribe(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    /* Joined once a record arrives: the group then has this member. */
    int got = 0;
    for (int i = 0; i < 300 && !got; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m) {
            got = !m->err;
            rd_kafka_message_destroy(m);
        }
    }
    assert_true(got);
    char *e;
    char save[256];
    temp_path(save, sizeof save, "active");
    int rc = fleet_it_run(prefix, NULL, &e, "replay", "--group", group, "--topic", "events", "--to-offset", "earliest",
                          "--execute", "--save-to", save, NULL);
    unlink(save);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(e, "is active"));
    free(e);
    assert_int_equal(bf_test_committed_offset(group, events, 0), -1001); /* nothing committed */
    /* group describe: the member, and per partition committed / end offsets and lag. */
    char *out;
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "group", "describe", group, NULL), 0);
    assert_non_null(strstr(out, "1 member(s)"));
    assert_non_null(strstr(out, "CONSUMER-ID"));
    assert_non_null(strstr(out, "rdkafka"));
    free(out);
    rd_kafka_topic_partition_list_t *c4 = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(c4, events, 0)->offset = 4;
    assert_int_equal(rd_kafka_commit(rk, c4, 0), 0);
    rd_kafka_topic_partition_list_destroy(c4);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "group", "describe", group, "-o", "json", NULL), 0);
    char want[256];
    snprintf(want, sizeof want, "\"topic\":\"%s\",\"partition\":0,\"committed_offset\":4,\"log_start_offset\":0,"
                                "\"log_end_offset\":10,\"lag\":6,\"member_id\":\"rdkafka-", events);
    if (!strstr(out, want)) fail_msg("describe -o json lacks %s:\n%s", want, out);
    assert_non_null(strstr(out, "\"state\":\"Stable\""));
    assert_non_null(strstr(out, "\"total_lag\":6"));
    free(out);
    assert_int_equal(fleet_it_run(prefix, NULL, &e, "group", "describe", "no-such-group-ever", NULL), 1);
    free(e);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

static void dlq_list_show_retry(void **state) {
    (void)state;
    static const char original[] = "{\"schema\":\"brainRequests\",\x01 broken \xff";
    const size_t olen = sizeof original - 1;
    const char *names[] = {"traceparent", "bf-schema"};
    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const char *values[] = {tp, "brainRequests"};
    size_t lens[] = {strlen(tp), strlen("brainRequests")};
    bf_dlq_source src = {.topic = requests, .partition = 0, .offset = 41, .timestamp_ms = base_ms, .key = "p-9",
                         .key_len = 3, .payload = original, .len = olen, .header_names = names,
                         .header_values = values, .header_lens = lens, .n_headers = 2, .traceparent = tp};
    char *entry = bf_dlq_build(&src, "p-9", "brain-worker", "brain-worker", "invalid_json", "not JSON at byte 27", base_ms + 5, NULL);
    rd_kafka_t *p = fleet_it_producer();
    fleet_it_produce(p, dlq, 0, "p-9", "garbage", 7, NULL, 0); /* 0:0 is not an entry */
    fleet_it_produce(p, dlq, 0, "p-9", entry, strlen(entry), NULL, 0);
    fleet_it_producer_done(p);
    free(entry);

    char *out, *err;
    assert_int_equal(fleet_it_run(prefix, &out, &err, "dlq", "list", NULL), 0);
    assert_non_null(strstr(out, "0:1"));
    assert_non_null(strstr(out, "invalid_json"));
    assert_non_null(strstr(out, "brainRequests[0]@41"));
    assert_non_null(strstr(err, "0:0 is not a dead-letter entry"));
    free(out);
    free(err);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "dlq", "list", "--reason", "other", NULL), 0);
    assert_int_equal(fleet_it_lines(out), 0);
    free(out);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "dlq", "show", "0:1", NULL), 0);
    assert_non_null(strstr(out, "reason: invalid_json: not JSON at byte 27"));
    assert_non_null(strstr(out, "payload (base64"));
    assert_non_null(strstr(out, "header bf-schema: brainRequests"));
    free(out);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "dlq", "show", "0:9", NULL), 1);
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "dlq", "show", "9", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "dlq", "retry", "0:1", NULL), 0);
    free(out);

    size_t n;
    bf_test_msg *m = bf_test_consume_all(requests, 1, 1000, 30000, &n);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].len, olen);
    assert_memory_equal(m[0].payload, original, olen);
    assert_string_equal(m[0].key, "p-9");
    assert_string_equal(bf_test_msg_header(&m[0], "traceparent"), tp);
    assert_string_equal(bf_test_msg_header(&m[0], "bf-schema"), "brainRequests");
    assert_int_equal(m[0].n_headers, 2);
    bf_test_msgs_free(m, n);

    /* Bulk retry (issue 19: only PARTITION:OFFSET lists were possible). Two more entries: one more
     * invalid_json from brainRequests, one schema_invalid from imageFactsReady. */
    char *e2 = bf_dlq_build(&src, "p-9", "brain-worker", "brain-worker", "invalid_json", "again", base_ms + 7, NULL);
    bf_dlq_source src3 = src;
    char facts[128];
    snprintf(facts, sizeof facts, "%simageFactsReady", prefix);
    src3.topic = facts;
    char *e3 = bf_dlq_build(&src3, "p-9", "memory-writer", "memory-writer", "schema_invalid", "no palette", base_ms + 9, NULL);
    p = fleet_it_producer();
    fleet_it_produce(p, dlq, 0, "p-9", e2, strlen(e2), NULL, 0);
    fleet_it_produce(p, dlq, 0, "p-9", e3, strlen(e3), NULL, 0);
    fleet_it_producer_done(p);
    free(e2);
    free(e3);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "dlq", "retry", NULL), 2); /* nothing selected */
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "dlq", "retry", "0:1", "--reason", "invalid_json", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(prefix, &out, &err, "dlq", "retry", "--reason", "invalid_json", "--source",
                                  "brainRequests", "--dry-run", NULL), 0);
    assert_int_equal(fleet_it_lines(out), 2);
    assert_non_null(strstr(out, "would retry 0:1 "));
    assert_non_null(strstr(out, "would retry 0:2 "));
    assert_non_null(strstr(err, "2 entries selected"));
    free(out);
    free(err);
    char to[40];
    fleet_format_rfc3339(base_ms + 6, to, sizeof to);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "dlq", "retry", "--reason", "invalid_json", "--to-time", to,
                                  "--dry-run", NULL), 0);
    assert_int_equal(fleet_it_lines(out), 1); /* the window: only the entry that failed at +5 ms */
    free(out);
    assert_int_equal(fleet_it_run(prefix, &out, &err, "dlq", "retry", "--reason", "invalid_json", NULL), 0);
    assert_int_equal(fleet_it_lines(out), 2);
    assert_non_null(strstr(err, "2 entries re-published"));
    free(out);
    free(err);
    m = bf_test_consume_all(requests, 1, 3000, 30000, &n);
    assert_int_equal(n, 3); /* the single retry above, then these two */
    bf_test_msgs_free(m, n);
    m = bf_test_consume_all(facts, 1, 0, 3000, &n);
    assert_int_equal(n, 0); /* the schema_invalid entry was not selected */
    bf_test_msgs_free(m, n);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "dlq", "list", "-o", "json", NULL), 0);
    assert_int_equal(fleet_it_lines(out), 3);
    assert_non_null(strstr(out, "\"topic\":\""));
    free(out);
}

static void topics_ensure(void **state) {
    (void)state;
    char path[] = "/tmp/fleetctl-manifest-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# test manifest\nalpha\t2\t3600000\tfirst\nevents\t1\t-1\talready there\n", f);
    fclose(f);
    char *out;
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "topics", "ensure", "--manifest", path, NULL), 0);
    assert_non_null(strstr(out, "created  "));
    assert_non_null(strstr(out, "alpha"));
    assert_non_null(strstr(out, "exists   "));
    free(out);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "topics", "ensure", "--manifest", path, NULL), 0);
    assert_null(strstr(out, "created"));
    free(out);
    char *err;
    assert_int_equal(fleet_it_run(prefix, &out, &err, "replay", "--topic", "alpha", NULL), 1); /* exists, empty */
    assert_non_null(strstr(err, "nothing to replay"));
    free(out);
    free(err);
    unlink(path);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "topics", "ensure", "--manifest", "/nonexistent", NULL), 2);
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(group_move_inactive),
        cmocka_unit_test(group_move_refused_when_active),
        cmocka_unit_test(group_reset_modes_and_undo),
        cmocka_unit_test(bootstrap_flag),
        cmocka_unit_test(dlq_list_show_retry),
        cmocka_unit_test(topics_ensure),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
