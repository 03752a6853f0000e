/* `fleetctl editor`: the reference editor (docs/editor-integration.md). Consumes brainDecisions in
 * a consumer group, applies each decision to its project's storyboard (fleet_editor.h), publishes
 * the editorEvents, waits for the broker to acknowledge them, and only then commits the decision's
 * offset: a crash never loses an applied change, and never applies one twice (the log says what
 * was done; fleet_editor.h resumes from it). Whenever the group gives it partitions it first folds
 * the editorEvents topic into its storyboards, so a restart, or another editor's work before a
 * rebalance, is in them before it applies anything. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bf_dlq.h"
#include "bf_kafka_conf.h"
#include "bf_msg_brain_decision.h"
#include "bf_trace.h"
#include "fleet_cmds.h"
#include "fleet_editor.h"
#include "fleet_editor_log.h"
#include "fleet_kafka.h"
#include "fleet_time.h"

const char fleet_usage_editor[] =
    "usage: fleetctl editor [--group G] [--project ID] [--print] [--until-idle DUR] [--max N]\n"
    "\n"
    "The reference editor: applies every brain decision of brainDecisions to its project's\n"
    "storyboard and reports on editorEvents what it did (scene_created, scene_updated,\n"
    "scene_deleted, scenes_reordered, then decision_applied or decision_failed; key = project id,\n"
    "the decision's trace). Image facts that arrive later describe the scenes made from the image.\n"
    "A decision's offset is committed once its events are acknowledged; a request is applied once.\n"
    "Its storyboards are the editorEvents topic folded, read again whenever it is given partitions.\n"
    "docs/editor-integration.md documents the rules; `fleetctl storyboard` prints a storyboard.\n"
    "  --group G        consumer group on brainDecisions (default editor)\n"
    "  --project ID     print (and count for --max) only this project's decisions; every decision\n"
    "                   is applied all the same, since the group's offsets move past them\n"
    "  --print          print the project's storyboard after each decision applied\n"
    "  --until-idle DUR exit once caught up and no decision came for DUR (e.g. 2s)\n"
    "  --max N          exit after N decisions (clarifications and repeats included)\n"
    "Prints one line per decision (-o json: one JSON object per line: project_id, request_id,\n"
    "outcome applied|failed|already_applied|clarification|enriched, steps, events, error,\n"
    "storyboard with --print), a summary on stderr. Stops on SIGINT/SIGTERM; exit 1 when the\n"
    "broker does not acknowledge its events (nothing is committed then: a restart resumes).\n";

#define EDITOR_PRODUCER "fleetctl-editor"

typedef struct editor {
    fleet_ctx *c;
    const char *group;
    const char *project;
    bool print;
    int64_t until_idle_ms; /* 0: run until stopped */
    int64_t max;           /* 0: no limit */
    char decisions[512], events[512], dead[512];
    rd_kafka_t *consumer, *producer;
    fleet_delivery dr;
    fleet_storyboards sb;
    /* Assigned partitions and whether each has been read to its end. */
    rd_kafka_topic_partition_list_t *assigned;
    bool *at_end;
    int64_t idle_since;    /* when every partition was last seen at its end; -1 not caught up */
    char fatal[512];       /* set by the rebalance callback; the loop stops on it */
    int64_t n_decisions, n_applied, n_failed, n_already, n_clarify, n_enriched, n_published, n_dead;
} editor;

/* Folds the whole log again: the storyboards are what the log says, whoever wrote it last. */
static int reload(editor *e, char *err, size_t errlen) {
    fleet_storyboards_free(&e->sb);
    fleet_editor_log log;
    if (fleet_editor_log_open(&log, e->c, NULL, err, errlen) != 0) return -1;
    int64_t n = fleet_editor_log_catch_up(&log, &e->sb, err, errlen);
    if (n >= 0)
        fprintf(e->c->err, "editor: %lld event(s) of %s folded into %zu storyboard(s)%s\n", (long long)n, log.topic,
                e->sb.n, log.skipped ? " (some records skipped)" : "");
    fleet_editor_log_close(&log);
    return n < 0 ? -1 : 0;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts, void *opaque) {
    editor *e = opaque;
    if (e->assigned) rd_kafka_topic_partition_list_destroy(e->assigned);
    free(e->at_end);
    e->assigned = NULL;
    e->at_end = NULL;
    e->idle_since = -1;
    if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        /* Every decision is committed as soon as its events are acknowledged: nothing to flush. */
        rd_kafka_assign(rk, NULL);
        return;
    }
    char why[512];
    if (reload(e, why, sizeof why) != 0) {
        snprintf(e->fatal, sizeof e->fatal, "reading %s before applying anything: %s", e->events, why);
        rd_kafka_assign(rk, NULL);
        return;
    }
    e->assigned = rd_kafka_topic_partition_list_copy(parts);
    e->at_end = calloc((size_t)parts->cnt + 1, sizeof *e->at_end);
    if (!e->assigned || !e->at_end) {
        snprintf(e->fatal, sizeof e->fatal, "out of memory");
        return;
    }
    rd_kafka_assign(rk, parts);
}

static void note_position(editor *e, int32_t partition, bool at_end) {
    bool all = e->assigned && e->assigned->cnt > 0;
    for (int i = 0; e->assigned && i < e->assigned->cnt; i++) {
        if (e->assigned->elems[i].partition == partition) e->at_end[i] = at_end;
        all = all && e->at_end[i];
    }
    if (!all) e->idle_since = -1;
    else if (e->idle_since < 0) e->idle_since = fleet_now_ms();
}

static rd_kafka_t *consumer_new(editor *e, char *err, size_t errlen) {
    bf_common_cfg cfg = e->c->cfg;
    snprintf(cfg.group_id, sizeof cfg.group_id, "%s", e->group);
    cfg.stats_interval_ms = 0;
    rd_kafka_conf_t *conf = bf_kafka_conf_new(&cfg, BF_KAFKA_CONSUMER, EDITOR_PRODUCER, e->c->envp, err, errlen);
    if (!conf) return NULL;
    char ms[32], e2[256];
    snprintf(ms, sizeof ms, "%d", e->c->timeout_ms);
    /* Commits are explicit, one per decision, after its events' acknowledgement. */
    static const char *const props[][2] = {{"enable.auto.commit", "false"},
                                           {"enable.partition.eof", "true"},
                                           {"allow.auto.create.topics", "false"}};
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], e2, sizeof e2) != RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "kafka property %s: %s", props[i][0], e2);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    if (rd_kafka_conf_set(conf, "socket.connection.setup.timeout.ms", ms, e2, sizeof e2) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property socket.connection.setup.timeout.ms: %s", e2);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (!e->c->verbose) rd_kafka_conf_set_log_cb(conf, NULL);
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, e);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e2, sizeof e2);
    if (!rk) {
        snprintf(err, errlen, "kafka consumer: %s", e2);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    return rk;
}

/* Produces one record with the fleet's headers; delivery is counted in e->dr. */
static int produce(editor *e, const char *topic, const char *key, const char *json, const char *traceparent,
                   const char *schema, int schema_version, char *err, size_t errlen) {
    char ver[12];
    snprintf(ver, sizeof ver, "%d", schema_version);
    fleet_record rec = {.key = key, .key_len = strlen(key), .value = json, .len = strlen(json), .n_headers = 3};
    rec.headers[0] = (fleet_header){"traceparent", traceparent, strlen(traceparent)};
    rec.headers[1] = (fleet_header){BF_HDR_SCHEMA, schema, strlen(schema)};
    rec.headers[2] = (fleet_header){BF_HDR_SCHEMA_VERSION, ver, strlen(ver)};
    return fleet_kafka_produce(e->producer, topic, -1, &rec, 0, err, errlen);
}

/* The trace the events continue: the decision's traceparent, a new span in it. */
static void child_trace(const rd_kafka_message_t *m, const char *trace_id, char out[BF_TRACEPARENT_LEN + 1]) {
    fleet_record rec;
    fleet_record_from_message(m, "", &rec);
    const fleet_header *h = fleet_record_header(&rec, "traceparent");
    char parent[BF_TRACEPARENT_LEN + 1] = "", id[BF_TRACE_ID_LEN + 1];
    if (h && h->value && h->len == BF_TRACEPARENT_LEN) memcpy(parent, h->value, BF_TRACEPARENT_LEN);
    if (parent[0] && bf_trace_parse(parent, id) == 0 && strcmp(id, trace_id) == 0) bf_trace_child(parent, out);
    else if (bf_trace_from_id(trace_id, out) != 0) bf_trace_new(out);
}

/* A message the editor cannot use goes to deadLetters, like any stage's. */
static int dead_letter(editor *e, const rd_kafka_message_t *m, const char *code, const char *why, char *err,
                       size_t errlen) {
    bf_envelope env;
    char tp[BF_TRACEPARENT_LEN + 1];
    fleet_record rec;
    fleet_record_from_message(m, "", &rec);
    const fleet_header *h = fleet_record_header(&rec, "traceparent");
    tp[0] = '\0';
    if (h && h->value && h->len == BF_TRACEPARENT_LEN) {
        memcpy(tp, h->value, BF_TRACEPARENT_LEN);
        tp[BF_TRACEPARENT_LEN] = '\0';
    }
    if (bf_trace_parse(tp, NULL) != 0) bf_trace_new(tp);
    char project[BF_ID_MAX + 1] = "unknown";
    if (m->key && m->key_len > 0 && m->key_len <= BF_ID_MAX) snprintf(project, sizeof project, "%.*s", (int)m->key_len, (const char *)m->key);
    char *json = bf_dlq_encode(m, e->decisions, project, tp, e->group, EDITOR_PRODUCER, code, why, fleet_now_ms(), &env);
    if (!json) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char tp2[BF_TRACEPARENT_LEN + 1];
    if (bf_trace_from_id(env.trace_id, tp2) != 0) memcpy(tp2, tp, sizeof tp2);
    int rc = produce(e, e->dead, env.project_id, json, tp2, BF_SCHEMA_DEAD_LETTERS, env.schema_version, err, errlen);
    free(json);
    fprintf(e->c->err, "editor: %s[%d]@%lld dead-lettered (%s: %s)\n", e->decisions, m->partition, (long long)m->offset,
            code, why);
    e->n_dead++;
    return rc;
}

static const char *verdict_name(fleet_editor_verdict v) {
    static const char *const names[] = {"applied", "failed", "already_applied", "clarification", "enriched"};
    return names[v];
}

static void report(editor *e, const bf_msg_brain_decision *d, const fleet_editor_out *out) {
    bool mine = !e->project || strcmp(e->project, d->env.project_id) == 0;
    if (!mine) return;
    const fleet_project *p = fleet_storyboards_find(&e->sb, d->env.project_id);
    const bf_msg_editor_event *rep = out->n_events ? &out->events[out->n_events - 1] : NULL;
    bool has_steps = rep && (rep->event == BF_EDITOR_DECISION_APPLIED || rep->event == BF_EDITOR_DECISION_FAILED);
    if (e->c->output == FLEET_OUT_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "project_id", d->env.project_id);
        cJSON_AddStringToObject(o, "request_id", d->request_id);
        cJSON_AddStringToObject(o, "outcome", verdict_name(out->verdict));
        cJSON *steps = cJSON_AddArrayToObject(o, "steps");
        for (size_t i = 0; has_steps && i < rep->n_steps; i++) {
            const bf_editor_step *s = &rep->steps[i];
            cJSON *j = cJSON_CreateObject();
            cJSON_AddNumberToObject(j, "step", (double)s->step);
            cJSON_AddStringToObject(j, "tool", bf_tool_name(s->tool));
            cJSON_AddStringToObject(j, "outcome", bf_step_outcome_name(s->outcome));
            if (s->scene_id) cJSON_AddStringToObject(j, "scene_id", s->scene_id);
            if (s->error) cJSON_AddStringToObject(j, "error", s->error);
            cJSON_AddItemToArray(steps, j);
        }
        cJSON_AddNumberToObject(o, "events", (double)out->n_events);
        if (out->error) cJSON_AddStringToObject(o, "error", out->error);
        if (d->type == BF_DECISION_CLARIFICATION && d->question) cJSON_AddStringToObject(o, "question", d->question);
        if (e->print && p) cJSON_AddItemToObject(o, "storyboard", fleet_storyboard_json(p));
        char *line = cJSON_PrintUnformatted(o);
        if (line) fprintf(e->c->out, "%s\n", line);
        free(line);
        cJSON_Delete(o);
    } else {
        fprintf(e->c->out, "%-15s %s %s", verdict_name(out->verdict), d->env.project_id, d->request_id);
        for (size_t i = 0; has_steps && i < rep->n_steps; i++) {
            const bf_editor_step *s = &rep->steps[i];
            fprintf(e->c->out, "%s%s", i ? ", " : "  ", bf_tool_name(s->tool));
            if (s->scene_id) fprintf(e->c->out, " %s", s->scene_id);
            if (s->outcome != BF_STEP_APPLIED) fprintf(e->c->out, " (%s: %s)", bf_step_outcome_name(s->outcome), s->error);
        }
        if (out->verdict == FLEET_EDITOR_CLARIFICATION && d->question) fprintf(e->c->out, "  asks: %s", d->question);
        if (out->verdict == FLEET_EDITOR_ENRICHED) fprintf(e->c->out, "  image %s: %zu scene(s) described", d->facts.trace_id, out->changes);
        fputc('\n', e->c->out);
        if (e->print && p && out->changes) fleet_storyboard_print(p, e->c->out);
    }
    fflush(e->c->out);
}

static void count(editor *e, const bf_msg_brain_decision *d, const fleet_editor_out *out) {
    e->n_published += (int64_t)out->n_events;
    switch (out->verdict) {
    case FLEET_EDITOR_APPLIED: e->n_applied++; break;
    case FLEET_EDITOR_FAILED: e->n_failed++; break;
    case FLEET_EDITOR_ALREADY: e->n_already++; break;
    case FLEET_EDITOR_CLARIFICATION: e->n_clarify++; break;
    case FLEET_EDITOR_ENRICHED: e->n_enriched++; return;
    }
    if (!e->project || strcmp(e->project, d->env.project_id) == 0) e->n_decisions++;
}

/* Publishes out's events in order, continuing the decision's trace. */
static int publish(editor *e, const rd_kafka_message_t *m, const bf_msg_brain_decision *d, const fleet_editor_out *out,
                   char *err, size_t errlen) {
    char tp[BF_TRACEPARENT_LEN + 1], why[512];
    child_trace(m, d->env.trace_id, tp);
    for (size_t i = 0; i < out->n_events; i++) {
        char *json = bf_msg_editor_event_encode(&out->events[i], why, sizeof why);
        if (!json) {
            snprintf(err, errlen, "encoding an editor event: %s", why);
            return -1;
        }
        int rc = produce(e, e->events, d->env.project_id, json, tp, BF_SCHEMA_EDITOR_EVENTS, BF_SCHEMA_VERSION, err,
                         errlen);
        free(json);
        if (rc) return -1;
    }
    return 0;
}

/* One brainDecisions record: applied, its events acknowledged, its offset committed, then
 * reported. Returns 0, or -1 with err when the editor must stop (events not acknowledged: nothing
 * is committed, and the restart resumes from the log). */
static int handle(editor *e, const rd_kafka_message_t *m, char *err, size_t errlen) {
    bf_msg_brain_decision d;
    fleet_editor_out out;
    memset(&out, 0, sizeof out);
    char why[1024];
    int rc = 0;
    bool decoded = m->payload && bf_msg_brain_decision_decode(m->payload, m->len, &d, why, sizeof why) == 0, applied = false;
    if (!decoded) {
        rc = dead_letter(e, m, "invalid_message", m->payload ? why : "no payload", err, errlen);
    } else {
        fleet_editor_opts o = {.producer = EDITOR_PRODUCER, .now_ms = fleet_now_ms()};
        if (fleet_editor_apply(&e->sb, &d, &o, &out, why, sizeof why) != 0) {
            /* Nothing was published: the storyboards go back to what the log says. */
            rc = dead_letter(e, m, "editor_refused", why, err, errlen);
            if (rc == 0) rc = reload(e, err, errlen);
        } else {
            applied = true;
            rc = publish(e, m, &d, &out, err, errlen);
        }
    }
    if (rc == 0) rc = fleet_kafka_flush(e->c, e->producer, &e->dr, err, errlen);
    if (rc == 0) {
        rd_kafka_resp_err_t ce = rd_kafka_commit_message(e->consumer, m, 0);
        /* A commit refused because the partition moved to another member is not ours to keep: the
         * new owner folds the log first and finds this decision reported. */
        if (ce && ce != RD_KAFKA_RESP_ERR__NO_OFFSET)
            fprintf(e->c->err, "editor: commit of %s[%d]@%lld: %s\n", e->decisions, m->partition, (long long)m->offset,
                    rd_kafka_err2str(ce));
    }
    if (rc == 0 && applied) {
        count(e, &d, &out);
        report(e, &d, &out);
    }
    fleet_editor_out_free(&out);
    if (decoded) bf_msg_brain_decision_free(&d);
    return rc;
}

static int parse(editor *e, int argc, char **argv) {
    enum { O_GROUP = 1, O_PROJECT, O_PRINT, O_IDLE, O_MAX };
    static const struct option opts[] = {
        {"group", required_argument, 0, O_GROUP}, {"project", required_argument, 0, O_PROJECT},
        {"print", no_argument, 0, O_PRINT},       {"until-idle", required_argument, 0, O_IDLE},
        {"max", required_argument, 0, O_MAX},     {0, 0, 0, 0},
    };
    char err[256];
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_GROUP: e->group = optarg; break;
        case O_PROJECT: e->project = optarg; break;
        case O_PRINT: e->print = true; break;
        case O_IDLE:
            if (fleet_parse_duration(optarg, &e->until_idle_ms, err, sizeof err) || e->until_idle_ms <= 0)
                return fleet_fail(e->c, FLEET_EXIT_USAGE, "editor", "--until-idle: %s",
                                  e->until_idle_ms <= 0 ? "want a duration above 0, e.g. 2s" : err);
            break;
        case O_MAX:
            if (fleet_parse_uint(optarg, 1000000000, &e->max, err, sizeof err) || e->max == 0)
                return fleet_fail(e->c, FLEET_EXIT_USAGE, "editor", "--max: want 1..1000000000");
            break;
        default: return fleet_fail(e->c, FLEET_EXIT_USAGE, "editor", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(e->c, FLEET_EXIT_USAGE, "editor", "unexpected argument '%s'", argv[optind]);
    if (!*e->group) return fleet_fail(e->c, FLEET_EXIT_USAGE, "editor", "--group: empty");
    if (e->c->output == FLEET_OUT_HTML) return fleet_fail(e->c, FLEET_EXIT_USAGE, "editor", "-o html: only table or json");
    return FLEET_EXIT_OK;
}

static int run(editor *e) {
    char err[1024];
    int32_t parts;
    if (!(e->producer = fleet_kafka_producer(e->c, &e->dr, err, sizeof err)) ||
        fleet_kafka_partitions(e->c, e->producer, e->events, &parts, err, sizeof err) ||
        fleet_kafka_partitions(e->c, e->producer, e->decisions, &parts, err, sizeof err) ||
        !(e->consumer = consumer_new(e, err, sizeof err)))
        return fleet_fail(e->c, FLEET_EXIT_RUNTIME, "editor", "%s", err);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, e->decisions, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t se = rd_kafka_subscribe(e->consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (se) return fleet_fail(e->c, FLEET_EXIT_RUNTIME, "editor", "subscribe %s: %s", e->decisions, rd_kafka_err2str(se));
    fprintf(e->c->err, "editor: group %s on %s, reporting to %s\n", e->group, e->decisions, e->events);
    int rc = FLEET_EXIT_OK;
    while (!*e->c->stop) {
        if (e->fatal[0]) {
            rc = fleet_fail(e->c, FLEET_EXIT_RUNTIME, "editor", "%s", e->fatal);
            break;
        }
        if (e->max && e->n_decisions >= e->max) break;
        if (e->until_idle_ms && e->idle_since >= 0 && fleet_now_ms() - e->idle_since >= e->until_idle_ms) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->consumer, 100);
        if (!m) continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            note_position(e, m->partition, true);
        } else if (m->err) {
            bool fatal = m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                         m->err == RD_KAFKA_RESP_ERR__FATAL;
            fprintf(e->c->err, "editor: %s\n", rd_kafka_message_errstr(m));
            if (fatal) rc = FLEET_EXIT_RUNTIME;
        } else {
            note_position(e, m->partition, false);
            if (handle(e, m, err, sizeof err) != 0) rc = fleet_fail(e->c, FLEET_EXIT_RUNTIME, "editor", "%s", err);
        }
        rd_kafka_message_destroy(m);
        if (rc != FLEET_EXIT_OK) break;
    }
    return rc;
}

int fleet_cmd_editor(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_editor, c->out);
        return FLEET_EXIT_OK;
    }
    editor e = {.c = c, .group = "editor", .idle_since = -1};
    int rc = parse(&e, argc, argv);
    if (rc != FLEET_EXIT_OK) return rc;
    fleet_topic_name(c, BF_SCHEMA_BRAIN_DECISIONS, e.decisions, sizeof e.decisions);
    fleet_topic_name(c, BF_SCHEMA_EDITOR_EVENTS, e.events, sizeof e.events);
    fleet_topic_name(c, BF_SCHEMA_DEAD_LETTERS, e.dead, sizeof e.dead);
    rc = run(&e);
    if (e.consumer) {
        rd_kafka_consumer_close(e.consumer);
        rd_kafka_destroy(e.consumer);
    }
    if (e.producer) {
        char err[512];
        if (fleet_kafka_flush(c, e.producer, &e.dr, err, sizeof err) != 0 && rc == FLEET_EXIT_OK)
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "editor", "%s", err);
        rd_kafka_destroy(e.producer);
    }
    fprintf(c->err,
            "editor: %lld decision(s): %lld applied, %lld failed, %lld already applied, %lld clarification(s); %lld "
            "enrichment(s); %lld event(s) published; %lld dead letter(s)\n",
            (long long)(e.n_applied + e.n_failed + e.n_already + e.n_clarify), (long long)e.n_applied,
            (long long)e.n_failed, (long long)e.n_already, (long long)e.n_clarify, (long long)e.n_enriched,
            (long long)e.n_published, (long long)e.n_dead);
    if (e.assigned) rd_kafka_topic_partition_list_destroy(e.assigned);
    free(e.at_end);
    fleet_storyboards_free(&e.sb);
    return rc;
}
