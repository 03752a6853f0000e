/* `fleetctl topics ensure`: create the manifest's missing topics with the admin API. Existing
 * topics are left alone (a partition count that differs is reported, never changed: adding
 * partitions would move projects' keys to other partitions and break their ordering). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_cmds.h"
#include "fleet_kafka.h"
#include "fleet_manifest.h"
#include "fleet_time.h"

const char fleet_usage_topics[] =
    "usage: fleetctl topics ensure [--manifest FILE] [--replication-factor N] [--dry-run]\n"
    "       fleetctl topics list\n"
    "\n"
    "ensure: creates every topic of the manifest (default schemas/topics.tsv; columns name,\n"
    "partitions, retention_ms, description) that does not exist yet, with BRAINFLEET_TOPIC_PREFIX\n"
    "prepended to each name, its partition count and retention.ms. Existing topics are not\n"
    "changed; a partition count that differs from the manifest is reported. The replication\n"
    "factor defaults to the broker's default.replication.factor.\n"
    "list: prints the prefix's topics with their partition counts and record counts.\n";

static char *read_file(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open manifest %s", path);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* Topic -> partition count from one metadata call (all topics). */
static int all_topics(const fleet_ctx *c, rd_kafka_t *rk, const struct rd_kafka_metadata **md, char *err,
                      size_t errlen) {
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, md, c->timeout_ms);
    if (e) {
        snprintf(err, errlen, "cannot reach Kafka at %s within %d ms (%s); check BRAINFLEET_KAFKA_BROKERS",
                 c->cfg.kafka_brokers, c->timeout_ms, rd_kafka_err2str(e));
        return -1;
    }
    return 0;
}

static int find_topic(const struct rd_kafka_metadata *md, const char *name) {
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0 && md->topics[i].err == 0) return md->topics[i].partition_cnt;
    return -1;
}

static int topics_ensure(fleet_ctx *c, int argc, char **argv) {
    enum { O_MANIFEST = 1, O_RF, O_DRY };
    static const struct option opts[] = {
        {"manifest", required_argument, 0, O_MANIFEST},
        {"replication-factor", required_argument, 0, O_RF},
        {"dry-run", no_argument, 0, O_DRY},
        {0, 0, 0, 0},
    };
    const char *manifest = "schemas/topics.tsv";
    int64_t rf = -1;
    bool dry = false;
    char err[1024];
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_MANIFEST: manifest = optarg; break;
        case O_RF:
            if (fleet_parse_uint(optarg, 32767, &rf, err, sizeof err) || rf < 1)
                return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "--replication-factor: want 1..32767");
            break;
        case O_DRY: dry = true; break;
        default: return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "unexpected argument '%s'", argv[optind]);
    char *text = read_file(manifest, err, sizeof err);
    if (!text) return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "%s", err);
    fleet_topic_spec *specs = NULL;
    size_t n = 0;
    int perr = fleet_manifest_parse(text, &specs, &n, err, sizeof err);
    free(text);
    if (perr) return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "%s: %s", manifest, err);

    int rc = FLEET_EXIT_RUNTIME;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_NewTopic_t **nt = calloc(n ? n : 1, sizeof *nt);
    size_t nnew = 0;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    fleet_delivery dr = {0};
    rd_kafka_t *rk = fleet_kafka_producer(c, &dr, err, sizeof err);
    if (!rk || !nt) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "topics", "%s", rk ? "out of memory" : err);
        goto out;
    }
    if (all_topics(c, rk, &md, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "topics", "%s", err);
        goto out;
    }
    int exists = 0;
    for (size_t i = 0; i < n; i++) {
        char name[BF_CFG_STR_MAX + sizeof specs[i].name];
        snprintf(name, sizeof name, "%s%s", c->cfg.topic_prefix, specs[i].name);
        if (!fleet_topic_name_valid(name)) {
            fleet_fail(c, FLEET_EXIT_USAGE, "topics", "'%s' (with prefix) is not a valid topic name", name);
            rc = FLEET_EXIT_USAGE;
            goto out;
        }
        int have = find_topic(md, name);
        if (have >= 0) {
            exists++;
            if (have != specs[i].partitions)
                fprintf(c->out, "exists   %s (%d partitions; the manifest says %d - left unchanged)\n", name, have,
                        specs[i].partitions);
            else
                fprintf(c->out, "exists   %s\n", name);
            continue;
        }
        if (dry) {
            fprintf(c->out, "missing  %s (%d partitions, retention.ms %lld)\n", name, specs[i].partitions,
                    (long long)specs[i].retention_ms);
            continue;
        }
        nt[nnew] = rd_kafka_NewTopic_new(name, specs[i].partitions, (int)rf, err, sizeof err);
        if (!nt[nnew]) {
            fleet_fail(c, FLEET_EXIT_RUNTIME, "topics", "%s: %s", name, err);
            goto out;
        }
        char ret[32];
        snprintf(ret, sizeof ret, "%lld", (long long)specs[i].retention_ms);
        rd_kafka_NewTopic_set_config(nt[nnew], "retention.ms", ret);
        nnew++;
    }
    if (nnew > 0) {
        q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        rd_kafka_AdminOptions_set_request_timeout(ao, c->timeout_ms, err, sizeof err);
        rd_kafka_AdminOptions_set_operation_timeout(ao, c->timeout_ms, err, sizeof err);
        rd_kafka_CreateTopics(rk, nt, nnew, ao, q);
        rd_kafka_AdminOptions_destroy(ao);
        ev = rd_kafka_queue_poll(q, c->timeout_ms + 5000);
        if (!ev || rd_kafka_event_error(ev)) {
            fleet_fail(c, FLEET_EXIT_RUNTIME, "topics", "CreateTopics: %s",
                       ev ? rd_kafka_event_error_string(ev) : "no answer in time");
            goto out;
        }
        size_t cnt;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        int failed = 0;
        for (size_t i = 0; i < cnt; i++) {
            rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(c->out, "created  %s\n", rd_kafka_topic_result_name(res[i]));
            } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                /* Someone else (another ensure, the stack script) won the race: same outcome. */
                fprintf(c->out, "exists   %s\n", rd_kafka_topic_result_name(res[i]));
            } else {
                failed++;
                fprintf(c->err, "fleetctl topics: create %s: %s\n", rd_kafka_topic_result_name(res[i]),
                        rd_kafka_topic_result_error_string(res[i]));
            }
        }
        if (failed) goto out;
    }
    fprintf(c->err, "topics: %zu in manifest, %d existed, %zu created%s\n", n, exists, nnew,
            dry ? " (dry run)" : "");
    rc = FLEET_EXIT_OK;
out:
    if (ev) rd_kafka_event_destroy(ev);
    if (q) rd_kafka_queue_destroy(q);
    if (nt) {
        rd_kafka_NewTopic_destroy_array(nt, nnew);
        free(nt);
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (rk) rd_kafka_destroy(rk);
    free(specs);
    return rc;
}

static int topics_list(fleet_ctx *c) {
    char err[512];
    fleet_delivery dr = {0};
    rd_kafka_t *rk = fleet_kafka_producer(c, &dr, err, sizeof err);
    if (!rk) return fleet_fail(c, FLEET_EXIT_RUNTIME, "topics", "%s", err);
    const struct rd_kafka_metadata *md = NULL;
    int rc = FLEET_EXIT_RUNTIME;
    if (all_topics(c, rk, &md, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "topics", "%s", err);
        goto out;
    }
    size_t pl = strlen(c->cfg.topic_prefix);
    if (c->output == FLEET_OUT_TABLE) fprintf(c->out, "%-40s %10s %10s\n", "TOPIC", "PARTITIONS", "RECORDS");
    for (int i = 0; i < md->topic_cnt; i++) {
        const char *t = md->topics[i].topic;
        if (strncmp(t, c->cfg.topic_prefix, pl) != 0 || t[0] == '_') continue;
        int64_t records = 0;
        for (int p = 0; p < md->topics[i].partition_cnt; p++) {
            int64_t lo = 0, hi = 0;
            if (rd_kafka_query_watermark_offsets(rk, t, md->topics[i].partitions[p].id, &lo, &hi, c->timeout_ms) == 0)
                records += hi - lo;
        }
        if (c->output == FLEET_OUT_JSON) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "topic", t);
            cJSON_AddNumberToObject(o, "partitions", md->topics[i].partition_cnt);
            cJSON_AddNumberToObject(o, "records", (double)records);
            char *line = cJSON_PrintUnformatted(o);
            if (line) fprintf(c->out, "%s\n", line);
            free(line);
            cJSON_Delete(o);
        } else {
            fprintf(c->out, "%-40s %10d %10lld\n", t, md->topics[i].partition_cnt, (long long)records);
        }
    }
    rc = FLEET_EXIT_OK;
out:
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    return rc;
}

int fleet_cmd_topics(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv) || argc < 2) {
        fputs(fleet_usage_topics, argc < 2 ? c->err : c->out);
        return argc < 2 ? FLEET_EXIT_USAGE : FLEET_EXIT_OK;
    }
    if (c->output == FLEET_OUT_HTML) return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "-o html is only for report");
    if (strcmp(argv[1], "ensure") == 0) {
        if (c->output == FLEET_OUT_JSON)
            return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "ensure prints a table only (-o table)");
        return topics_ensure(c, argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "list") == 0) {
        if (argc > 2) return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "unexpected argument '%s'", argv[2]);
        return topics_list(c);
    }
    return fleet_fail(c, FLEET_EXIT_USAGE, "topics", "unknown subcommand '%s' (ensure, list)", argv[1]);
}
