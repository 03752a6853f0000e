/* BRAINFLEET_KAFKA_* pass-through to librdkafka, and our at-least-once defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_kafka_conf.h"

static void test_property_names(void **state) {
    (void)state;
    char p[128];
    assert_int_equal(bf_kafka_conf_property_name("BRAINFLEET_KAFKA_SASL_MECHANISMS", p, sizeof p), 0);
    assert_string_equal(p, "sasl.mechanisms");
    assert_int_equal(bf_kafka_conf_property_name("BRAINFLEET_KAFKA_SSL_CA_LOCATION", p, sizeof p), 0);
    assert_string_equal(p, "ssl.ca.location");
    assert_int_equal(bf_kafka_conf_property_name("BRAINFLEET_KAFKA_BROKERS", p, sizeof p), -1);
    assert_int_equal(bf_kafka_conf_property_name("BRAINFLEET_KAFKA_STATS_INTERVAL", p, sizeof p), -1);
    assert_int_equal(bf_kafka_conf_property_name("BRAINFLEET_PG_DSN", p, sizeof p), -1);
    assert_int_equal(bf_kafka_conf_property_name("BRAINFLEET_KAFKA_", p, sizeof p), -1);
}

static const char *get(rd_kafka_conf_t *c, const char *k, char *buf, size_t len) {
    assert_int_equal(rd_kafka_conf_get(c, k, buf, &len), RD_KAFKA_CONF_OK);
    return buf;
}

static void test_consumer_defaults_and_passthrough(void **state) {
    (void)state;
    bf_common_cfg cfg = {.stats_interval_ms = 5000};
    snprintf(cfg.kafka_brokers, sizeof cfg.kafka_brokers, "127.0.0.1:1");
    snprintf(cfg.group_id, sizeof cfg.group_id, "g1");
    char *envp[] = {"PATH=/bin", "BRAINFLEET_KAFKA_SESSION_TIMEOUT_MS=12345", "BRAINFLEET_KAFKA_BROKERS=ignored:1", NULL};
    char err[256], buf[256];
    rd_kafka_conf_t *c = bf_kafka_conf_new(&cfg, BF_KAFKA_CONSUMER, "w", envp, err, sizeof err);
    assert_non_null(c);
    assert_string_equal(get(c, "enable.auto.offset.store", buf, sizeof buf), "false");
    assert_string_equal(get(c, "enable.auto.commit", buf, sizeof buf), "true");
    assert_string_equal(get(c, "group.id", buf, sizeof buf), "g1");
    assert_string_equal(get(c, "session.timeout.ms", buf, sizeof buf), "12345");
    assert_string_equal(get(c, "bootstrap.servers", buf, sizeof buf), "127.0.0.1:1");
    rd_kafka_conf_destroy(c);
}

static void test_bad_passthrough_names_variable(void **state) {
    (void)state;
    bf_common_cfg cfg = {.stats_interval_ms = 0};
    snprintf(cfg.kafka_brokers, sizeof cfg.kafka_brokers, "127.0.0.1:1");
    char *envp[] = {"BRAINFLEET_KAFKA_NOT_A_PROPERTY=1", NULL};
    char err[256] = "";
    assert_null(bf_kafka_conf_new(&cfg, BF_KAFKA_PRODUCER, "w", envp, err, sizeof err));
    assert_non_null(strstr(err, "BRAINFLEET_KAFKA_NOT_A_PROPERTY"));
    char *envp2[] = {"BRAINFLEET_KAFKA_SESSION_TIMEOUT_MS=abc", NULL};
    assert_null(bf_kafka_conf_new(&cfg, BF_KAFKA_CONSUMER, "w", envp2, err, sizeof err));
    assert_non_null(strstr(err, "session.timeout.ms"));
}

static void test_producer_is_idempotent(void **state) {
    (void)state;
    bf_common_cfg cfg = {.stats_interval_ms = 0};
    char err[256], buf[64];
    rd_kafka_conf_t *c = bf_kafka_conf_new(&cfg, BF_KAFKA_PRODUCER, "w", NULL, err, sizeof err);
    assert_non_null(c);
    assert_string_equal(get(c, "enable.idempotence", buf, sizeof buf), "true");
    rd_kafka_conf_destroy(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property_names),
        cmocka_unit_test(test_consumer_defaults_and_passthrough),
        cmocka_unit_test(test_bad_passthrough_names_variable),
        cmocka_unit_test(test_producer_is_idempotent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
