/* `fleetctl editor` and `fleetctl storyboard` against the real broker, with decisions the test
 * produces (no workers): what the editor publishes (keys, trace, headers, the contract), its
 * commits, its storyboard after a restart (the log folded), a redelivered decision applied once,
 * an invalid decision dead-lettered, and no commit while the broker refuses its events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_editor_event.h"
#include "bf_test_kafka.h"
#include "support_fleet.h"

static const char *const bases[] = {"brainDecisions", "editorEvents", "deadLetters"};

typedef struct env {
    char prefix[32];
    char decisions[128], events[128], dead[128];
    char group[96];
} env;

static void env_new(env *e, const char *tag) {
    bf_test_unique_prefix(e->prefix, sizeof e->prefix);
    bf_test_create_topics(e->prefix, bases, 3, 2);
    snprintf(e->decisions, sizeof e->decisions, "%sbrainDecisions", e->prefix);
    snprintf(e->events, sizeof e->events, "%seditorEvents", e->prefix);
    snprintf(e->dead, sizeof e->dead, "%sdeadLetters", e->prefix);
    snprintf(e->group, sizeof e->group, "%s%s", e->prefix, tag);
}

static const char tail[] = ",\"context_degraded\":false,\"image_trace_ids\":[],\"model\":\"rule-based\","
                           "\"tokens\":{\"prompt\":0,\"completion\":0},\"prompt_truncation\":{\"truncated\":false,"
                           "\"budget_tokens\":6000},\"timings\":{\"queue_wait_ms\":1,\"context_ms\":1,\"llm_ms\":0,"
                           "\"total_ms\":2}}";

/* Produces a brainDecisions message (payload given) for project in trace, as brain-worker would:
 * key = project, traceparent header in the trace. */
static void produce_payload(const env *e, const char *project, const char *trace, const char *payload) {
    char json[8192], tp[64];
    snprintf(json, sizeof json,
             "{\"schema\":\"brainDecisions\",\"schema_version\":1,\"event_id\":\"01907f3a-5b2c-7d1e-9f0a-1b2c3d4e5f60\","
             "\"trace_id\":\"%s\",\"project_id\":\"%s\",\"produced_at_ms\":1718000000000,\"producer\":\"brain-worker\","
             "\"payload\":%s}",
             trace, project, payload);
    snprintf(tp, sizeof tp, "00-%s-00f067aa0ba902b7-01", trace);
    const char *h[] = {"traceparent", tp, "bf-schema", "brainDecisions", "bf-schema-version", "1", NULL};
    bf_test_produce(e->decisions, -1, project, json, strlen(json), h);
}

static void produce_decision(const env *e, const char *project, const char *rid, const char *trace, const char *decision) {
    char payload[6000];
    snprintf(payload, sizeof payload, "{\"kind\":\"decision\",\"request_id\":\"%s\",\"decision\":%s%s", rid, decision,
             tail);
    produce_payload(e, project, trace, payload);
}

static int run_editor(const env *e, const char *group, char **out, char **err) {
    return fleet_it_run(e->prefix, out, err, "editor", "--group", group, "--until-idle", "2s", "-o", "json", NULL);
}

/* The editor's events, decoded (every one must decode), with their Kafka records. */
typedef struct events {
    bf_test_msg *msgs;
    bf_msg_editor_event *ev;
    size_t n;
} events;

static events read_events(const env *e, size_t min) {
    events out = {0};
    out.msgs = bf_test_consume_all(e->events, min, 1500, 60000, &out.n);
    out.ev = calloc(out.n + 1, sizeof *out.ev);
    for (size_t i = 0; i < out.n; i++) {
        char err[512];
        if (bf_msg_editor_event_decode(out.msgs[i].payload, out.msgs[i].len, &out.ev[i], err, sizeof err) != 0)
            fail_msg("editorEvents[%zu] refused by the contract: %s", i, err);
    }
    return out;
}

static void events_free(events *x) {
    for (size_t i = 0; i < x->n; i++) bf_msg_editor_event_free(&x->ev[i]);
    free(x->ev);
    bf_test_msgs_free(x->msgs, x->n);
}

/* The JSON line of out whose request_id is rid (caller deletes). */
static cJSON *line_of(const char *out, const char *rid) {
    for (const char *p = out; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        cJSON *j = cJSON_ParseWithLength(p, len);
        const cJSON *r = cJSON_GetObjectItem(j, "request_id");
        if (cJSON_IsString(r) && strcmp(r->valuestring, rid) == 0) return j;
        cJSON_Delete(j);
        p = nl ? nl + 1 : NULL;
    }
    fail_msg("no output line for request %s in:\n%s", rid, out);
    return NULL;
}

static const char *outcome_of(const char *out, const char *rid, char buf[32]) {
    cJSON *j = line_of(out, rid);
    snprintf(buf, 32, "%s", cJSON_GetObjectItem(j, "outcome")->valuestring);
    cJSON_Delete(j);
    return buf;
}

#define T1 "4bf92f3577b34da6a3ce929d0e0e4701"
#define T2 "4bf92f3577b34da6a3ce929d0e0e4702"
#define T3 "4bf92f3577b34da6a3ce929d0e0e4703"
#define R1 "0190a4b2-7c3d-4e5f-8a6b-100000000001"
#define R2 "0190a4b2-7c3d-4e5f-8a6b-100000000002"
#define R3 "0190a4b2-7c3d-4e5f-8a6b-100000000003"
#define R4 "0190a4b2-7c3d-4e5f-8a6b-100000000004"
#define R5 "0190a4b2-7c3d-4e5f-8a6b-100000000005"
#define IMG "https://cdn.example.com/up/warm-sunset.webp"

static void applies_reports_commits_and_survives_a_restart(void **state) {
    (void)state;
    env e;
    env_new(&e, "editor");
    produce_decision(&e, "p-ed", R1, T1,
                     "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Add a title "
                     "scene\",\"new_scene_id\":\"scene-title0000001\"}}}");
    produce_decision(&e, "p-ed", R2, T2,
                     "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"createSceneFromImage\",\"input\":{\"image_url\":\"" IMG
                     "\",\"instruction\":\"Make the next scene look like this\",\"new_scene_id\":\"scene-image000002\"}}}");
    char facts[2048];
    snprintf(facts, sizeof facts,
             "{\"kind\":\"image_facts_enriched\",\"request_id\":\"" R2 "\",\"facts\":{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\","
             "\"request_id\":\"" R2 "\",\"content_hash\":\"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b\","
             "\"image_urls\":[\"" IMG "\"],\"palette\":[{\"hex\":\"#ff8c28\",\"share\":0.42}],\"brightness\":0.7,"
             "\"contrast\":0.4,\"saturation\":0.6,\"temperature\":\"warm\",\"mood\":\"energetic\",\"width\":320,"
             "\"height\":180,\"orientation\":\"landscape\",\"analyser\":\"builtin\",\"processing_ms\":12}}");
    produce_payload(&e, "p-ed", T2, facts);
    produce_decision(&e, "p-ed", R3, T3, "{\"type\":\"clarification\",\"question\":\"Which scene?\"}");
    /* Not a decision the contract accepts: a dead letter, and the editor goes on. */
    static const char broken[] = "{\"schema\":\"brainDecisions\"";
    bf_test_produce(e.decisions, -1, "p-ed", broken, strlen(broken), NULL);
    /* Another project, on its own storyboard. */
    produce_decision(&e, "p-other", R4, T1,
                     "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Outro\"}}}");

    char *out, *err, buf[32];
    assert_int_equal(run_editor(&e, e.group, &out, &err), 0);
    assert_string_equal(outcome_of(out, R1, buf), "applied");
    assert_string_equal(outcome_of(out, R2, buf), "applied"); /* and its enrichment: a second line */
    assert_string_equal(outcome_of(out, R3, buf), "clarification");
    assert_string_equal(outcome_of(out, R4, buf), "applied");
    assert_non_null(strstr(out, "\"outcome\":\"enriched\""));
    assert_non_null(strstr(err, "4 decision(s): 3 applied, 0 failed, 0 already applied, 1 clarification(s); 1 enrichment(s)"));
    assert_non_null(strstr(err, "1 dead letter(s)"));
    free(out);
    free(err);

    /* p-ed: created, applied; created, applied; updated (facts). p-other: created, applied. */
    events x = read_events(&e, 7);
    assert_int_equal(x.n, 7);
    size_t kinds[BF_EDITOR_EVENT_KINDS] = {0};
    for (size_t i = 0; i < x.n; i++) {
        const bf_msg_editor_event *ev = &x.ev[i];
        kinds[ev->event]++;
        /* Key = project id; the decision's trace, in the envelope and the traceparent header. */
        assert_string_equal(x.msgs[i].key, ev->env.project_id);
        const char *tp = bf_test_msg_header(&x.msgs[i], "traceparent");
        assert_non_null(tp);
        assert_int_equal(strncmp(tp + 3, ev->env.trace_id, 32), 0);
        assert_string_equal(bf_test_msg_header(&x.msgs[i], "bf-schema"), "editorEvents");
        assert_string_equal(bf_test_msg_header(&x.msgs[i], "bf-schema-version"), "1");
        assert_string_equal(ev->env.producer, "fleetctl-editor");
        assert_int_equal(ev->origin, BF_ORIGIN_BRAIN);
        if (strcmp(ev->request_id, R1) == 0) assert_string_equal(ev->env.trace_id, T1);
        if (strcmp(ev->request_id, R2) == 0) assert_string_equal(ev->env.trace_id, T2);
        if (ev->event == BF_EDITOR_SCENE_UPDATED) {
            assert_string_equal(ev->scene.scene_id, "scene-image000002");
            assert_non_null(strstr(ev->scene.description, "Image: warm, energetic mood"));
        }
    }
    assert_int_equal(kinds[BF_EDITOR_SCENE_CREATED], 3);
    assert_int_equal(kinds[BF_EDITOR_SCENE_UPDATED], 1);
    assert_int_equal(kinds[BF_EDITOR_DECISION_APPLIED], 3);
    events_free(&x);

    /* Committed: every decision partition at its end. */
    size_t nd;
    bf_test_msg *d = bf_test_consume_all(e.decisions, 6, 500, 20000, &nd);
    int64_t end[2] = {0, 0};
    for (size_t i = 0; i < nd; i++)
        if (d[i].offset + 1 > end[d[i].partition]) end[d[i].partition] = d[i].offset + 1;
    bf_test_msgs_free(d, nd);
    for (int p = 0; p < 2; p++)
        if (end[p]) assert_int_equal(bf_test_committed_offset(e.group, e.decisions, p), end[p]);

    size_t ndl;
    bf_test_msg *dl = bf_test_consume_all(e.dead, 1, 1000, 20000, &ndl);
    assert_int_equal(ndl, 1);
    bf_msg_dead_letter dead;
    char derr[256];
    assert_int_equal(bf_msg_dead_letter_decode(dl[0].payload, dl[0].len, &dead, derr, sizeof derr), 0);
    assert_string_equal(dead.reason_code, "invalid_message");
    assert_string_equal(dead.topic, e.decisions);
    assert_string_equal(dead.worker, "fleetctl-editor");
    assert_string_equal(dead.consumer_group, e.group);
    assert_int_equal(dead.original_payload_len, strlen(broken));
    assert_memory_equal(dead.original_payload, broken, strlen(broken));
    bf_msg_dead_letter_free(&dead);
    bf_test_msgs_free(dl, ndl);

    /* The storyboard as `fleetctl storyboard` folds it. */
    assert_int_equal(fleet_it_run(e.prefix, &out, NULL, "storyboard", "--project", "p-ed", "--request", R2, "-o", "json",
                                  NULL), 0);
    cJSON *sb = cJSON_Parse(out);
    assert_non_null(sb);
    free(out);
    cJSON *scenes = cJSON_GetObjectItem(sb, "scenes");
    assert_int_equal(cJSON_GetArraySize(scenes), 2);
    cJSON *s0 = cJSON_GetArrayItem(scenes, 0), *s1 = cJSON_GetArrayItem(scenes, 1);
    assert_string_equal(cJSON_GetObjectItem(s0, "scene_id")->valuestring, "scene-title0000001");
    assert_string_equal(cJSON_GetObjectItem(s0, "name")->valuestring, "Title scene");
    assert_string_equal(cJSON_GetObjectItem(s1, "scene_id")->valuestring, "scene-image000002");
    assert_string_equal(cJSON_GetObjectItem(s1, "name")->valuestring, "Warm sunset (image)");
    assert_int_equal(cJSON_GetObjectItem(s1, "version")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sb, "request"), "outcome")->valuestring, "applied");
    cJSON_Delete(sb);
    /* A clarification is never reported. */
    assert_int_equal(fleet_it_run(e.prefix, &out, &err, "storyboard", "--project", "p-ed", "--request", R3, NULL), 1);
    assert_non_null(strstr(out, "not reported"));
    assert_non_null(strstr(err, "has not reported request " R3));
    free(out);
    free(err);

    /* A restart: the storyboard comes back from the log, so a change of a scene made before it
     * continues that scene's versions and a new scene goes after the old ones. */
    produce_decision(&e, "p-ed", R5, T3,
                     "{\"type\":\"workflow\",\"steps\":[{\"tool\":\"changeDuration\",\"target_scene_id\":"
                     "\"scene-title0000001\",\"input\":{\"delta_ms\":3000}},{\"tool\":\"addScene\",\"input\":{"
                     "\"instruction\":\"End card\",\"new_scene_id\":\"scene-end000000003\"}}]}");
    assert_int_equal(run_editor(&e, e.group, &out, &err), 0);
    assert_string_equal(outcome_of(out, R5, buf), "applied");
    assert_non_null(strstr(err, "1 decision(s): 1 applied")); /* only the new one: the rest was committed */
    assert_non_null(strstr(err, "7 event(s) of " ));
    free(out);
    free(err);
    x = read_events(&e, 10);
    assert_int_equal(x.n, 10);
    int seen = 0;
    for (size_t i = 0; i < x.n; i++) {
        const bf_msg_editor_event *ev = &x.ev[i];
        if (strcmp(ev->request_id, R5) != 0) continue;
        if (ev->event == BF_EDITOR_SCENE_UPDATED) {
            assert_int_equal(ev->scene.duration_ms, 8000);
            assert_int_equal(ev->scene.version, 2);
            seen |= 1;
        } else if (ev->event == BF_EDITOR_SCENE_CREATED) {
            assert_int_equal(ev->scene.position, 2);
            seen |= 2;
        } else {
            assert_int_equal(ev->event, BF_EDITOR_DECISION_APPLIED);
            seen |= 4;
        }
    }
    assert_int_equal(seen, 7);
    events_free(&x);

    /* Every decision delivered again (a new group from the start): each request applied once. */
    char again[96];
    snprintf(again, sizeof again, "%sagain", e.prefix);
    assert_int_equal(run_editor(&e, again, &out, &err), 0);
    assert_string_equal(outcome_of(out, R1, buf), "already_applied");
    assert_string_equal(outcome_of(out, R5, buf), "already_applied");
    assert_non_null(strstr(err, "0 event(s) published"));
    free(out);
    free(err);
    x = read_events(&e, 10);
    assert_int_equal(x.n, 10);
    events_free(&x);
}

/* Creates topic name with one partition and the given max.message.bytes. */
static void create_small_topic(const char *name, const char *max_bytes) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(name, 1, 1, err, sizeof err);
    rd_kafka_NewTopic_set_config(nt, "max.message.bytes", max_bytes);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    assert_non_null(ev);
    size_t n;
    const rd_kafka_topic_result_t **res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    assert_int_equal(n, 1);
    assert_int_equal(rd_kafka_topic_result_error(res[0]), 0);
    rd_kafka_event_destroy(ev);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

static void alter_max_bytes(const char *name, const char *max_bytes) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bf_test_brokers(), err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rd_kafka_ConfigResource_t *r = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name);
    rd_kafka_ConfigResource_set_config(r, "max.message.bytes", max_bytes);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AlterConfigs(rk, &r, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    assert_non_null(ev);
    assert_int_equal(rd_kafka_event_error(ev), 0);
    size_t n;
    const rd_kafka_ConfigResource_t **res = rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
    assert_int_equal(n, 1);
    assert_int_equal(rd_kafka_ConfigResource_error(res[0]), 0);
    rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(r);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

/* The broker refuses the editor's events: it stops with exit 1 and commits nothing, so the
 * decision is applied when the broker takes them again. */
static void no_commit_before_the_events_are_acknowledged(void **state) {
    (void)state;
    env e;
    bf_test_unique_prefix(e.prefix, sizeof e.prefix);
    const char *some[] = {"brainDecisions", "deadLetters"};
    bf_test_create_topics(e.prefix, some, 2, 1);
    snprintf(e.decisions, sizeof e.decisions, "%sbrainDecisions", e.prefix);
    snprintf(e.events, sizeof e.events, "%seditorEvents", e.prefix);
    snprintf(e.group, sizeof e.group, "%seditor", e.prefix);
    create_small_topic(e.events, "200"); /* every editor event is larger */
    produce_decision(&e, "p-ack", R1, T1,
                     "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Intro\"}}}");
    char *out, *err;
    assert_int_equal(fleet_it_run(e.prefix, &out, &err, "--timeout", "5s", "editor", "--group", e.group, "--until-idle",
                                  "2s", NULL), 1);
    assert_non_null(strstr(err, "failed to deliver"));
    assert_string_equal(out, ""); /* nothing reported as applied */
    free(out);
    free(err);
    assert_int_equal(bf_test_committed_offset(e.group, e.decisions, 0), -1001);

    alter_max_bytes(e.events, "1048576");
    char buf[32];
    assert_int_equal(run_editor(&e, e.group, &out, &err), 0);
    assert_string_equal(outcome_of(out, R1, buf), "applied");
    free(out);
    free(err);
    assert_int_equal(bf_test_committed_offset(e.group, e.decisions, 0), 1);
    events x = read_events(&e, 2);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.ev[0].event, BF_EDITOR_SCENE_CREATED);
    assert_int_equal(x.ev[1].event, BF_EDITOR_DECISION_APPLIED);
    events_free(&x);
}

/* --max stops after N decisions of the followed project; --print shows its storyboard. */
static void one_shot_max_and_print(void **state) {
    (void)state;
    env e;
    env_new(&e, "editor");
    produce_decision(&e, "p-a", R1, T1,
                     "{\"type\":\"tool\",\"tool_call\":{\"tool\":\"addScene\",\"input\":{\"instruction\":\"Add an intro\","
                     "\"new_scene_id\":\"scene-intro\"}}}");
    char *out, *err;
    assert_int_equal(fleet_it_run(e.prefix, &out, &err, "editor", "--group", e.group, "--project", "p-a", "--max", "1",
                                  "--print", NULL), 0);
    assert_non_null(strstr(out, "applied"));
    assert_non_null(strstr(out, "storyboard of p-a: 1 scene"));
    assert_non_null(strstr(out, "scene-intro"));
    assert_non_null(strstr(out, "Intro"));
    free(out);
    free(err);
    assert_int_equal(fleet_it_run(e.prefix, NULL, &err, "editor", "--max", "0", NULL), 2);
    free(err);
    assert_int_equal(fleet_it_run(e.prefix, NULL, &err, "storyboard", NULL), 2);
    assert_non_null(strstr(err, "--project is required"));
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(applies_reports_commits_and_survives_a_restart),
        cmocka_unit_test(no_commit_before_the_events_are_acknowledged),
        cmocka_unit_test(one_shot_max_and_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
