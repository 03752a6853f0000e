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
    const char *bases[] = {"events", "deadLetters", "brainRequests"};
    bf_test_create_topics(prefix, bases, 3, 1);
    snprintf(events, sizeof events, "%sevents", prefix);
    snprintf(dlq, sizeof dlq, "%sdeadLetters", prefix);
    snprintf(requests, sizeof requests, "%sbrainRequests", prefix);
    base_ms = (fleet_it_wall_ms() - 3600000) / 1000 * 1000;
    rd_kafka_t *p = fleet_it_producer();
    for (int i = 0; i < 10; i++) fleet_it_produce(p, events, 0, "p-a", "x", 1, NULL, base_ms + i * 1000);
    fleet_it_producer_done(p);
    return 0;
}

static void group_move_inactive(void **state) {
    (void)state;
    char group[64], *out;
    snprintf(group, sizeof group, "%sstage", prefix);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--group", group, "--topic", "events", "--to-offset",
                                  "latest", NULL), 0);
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 10);
    char t[40];
    fleet_format_rfc3339(base_ms + 6000, t, sizeof t);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--group", group, "--topic", "events", "--to-time", t, NULL), 0);
    assert_non_null(strstr(out, "10 -> 6"));
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 6);
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--group", group, "--topic", "events", "--to-offset",
                                  "earliest", "--dry-run", NULL), 0);
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 6); /* dry run changed nothing */
    assert_int_equal(fleet_it_run(prefix, &out, NULL, "replay", "--group", group, "--topic", "events", "--to-offset",
                                  "earliest", NULL), 0);
    free(out);
    assert_int_equal(bf_test_committed_offset(group, events, 0), 0);
    char *err;
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--group", group, "--topic", "events", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(prefix, NULL, &err, "replay", "--group", group, "--topic", "events", "--to-time",
                                  "tomorrow", NULL), 2);
    assert_non_null(strstr(err, "--to-time"));
    free(err);
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
    int rc = fleet_it_run(prefix, NULL, &e, "replay", "--group", group, "--topic", "events", "--to-offset", "earliest", NULL);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(e, "is active"));
    free(e);
    assert_int_equal(bf_test_committed_offset(group, events, 0), -1001); /* nothing committed */
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
        cmocka_unit_test(dlq_list_show_retry),
        cmocka_unit_test(topics_ensure),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
