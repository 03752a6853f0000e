/* `fleetctl replay`: read a topic's range and print it as JSON lines, or re-produce it into
 * another topic with keys, headers and per-partition order intact. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet_cmds.h"
#include "fleet_filter.h"
#include "fleet_kafka.h"
#include "fleet_time.h"

const char fleet_usage_replay[] =
    "usage: fleetctl replay --topic T [range] [filters] [--to-topic T2 [--keep-timestamps]]\n"
    "       fleetctl replay --group G --topic T (--to-time TIME | --to-offset earliest|latest|N | --since DUR)\n"
    "                       [--partition P] [--execute [--save-to FILE]]\n"
    "\n"
    "Reads topic T (base name; BRAINFLEET_TOPIC_PREFIX is prepended) and prints each record as one\n"
    "JSON line {topic, partition, offset, timestamp_ms, timestamp, key, headers, value} on stdout,\n"
    "or, with --to-topic, re-produces it there with the same key, headers and value bytes, to the\n"
    "same partition number when the target has enough partitions (so per-partition order is kept).\n"
    "A progress bar is drawn when stderr is a terminal; a summary always goes to stderr.\n"
    "\n"
    "range (start defaults to the earliest offset, end to the end of the log at start-up):\n"
    "  --from-offset N|earliest|latest   first offset (on every partition read)\n"
    "  --from-time TIME                  first record with timestamp >= TIME (RFC 3339)\n"
    "  --since DUR                       same as --from-time now-DUR (DUR like 90s, 15m, 1h30m, 2d)\n"
    "  --to-offset N                     stop before offset N (exclusive)\n"
    "  --to-time TIME                    stop before the first record with timestamp >= TIME\n"
    "  --partition P                     only partition P\n"
    "filters:\n"
    "  --project ID                      only records whose key (the project id) is ID\n"
    "  --trace TRACE_ID                  only records of one trace (traceparent header or envelope)\n"
    "  --max N                           stop after N matching records\n"
    "output:\n"
    "  -o json (the default) / table     JSON lines, or a table of partition, offset, time and key\n"
    "  --to-topic T2                     re-produce instead of printing\n"
    "  --keep-timestamps                 keep the original record timestamps (default: now)\n"
    "\n"
    "With --group G it plans moving consumer group G's committed offsets on T instead, so a stage\n"
    "re-processes history: to the first record at/after --to-time (or now - --since), or to\n"
    "--to-offset. It prints the plan and changes nothing unless --execute (which saves the previous\n"
    "offsets first); the same as `fleetctl group reset G --topic T --to-datetime/--by-duration/\n"
    "--to-offset`. Refused while the group has members (stop the stage first). --dry-run is\n"
    "accepted and changes nothing (the default).\n"
    "\n"
    "Exit status: 0 done, 1 runtime error (broker unreachable, unknown topic, empty range),\n"
    "2 usage error (bad flag, bad time format).\n";

int fleet_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
    }
    return 0;
}

typedef struct replay_state {
    const fleet_ctx *c;
    fleet_filter filter;
    rd_kafka_t *producer; /* NULL: print */
    const char *to_topic;
    bool same_partition;
    bool keep_ts;
    bool table; /* -o table; JSON lines (a capture) otherwise */
    int64_t max;
    int64_t matched;
    fleet_progress *prog;
    char err[512];
    int failed;
} replay_state;

static int on_record(const fleet_record *r, void *ud) {
    replay_state *s = ud;
    if (!fleet_filter_match(&s->filter, r)) return 0;
    s->matched++;
    if (s->prog) fleet_progress_step(s->prog, 0, 1);
    if (s->producer) {
        if (fleet_kafka_produce(s->producer, s->to_topic, s->same_partition ? r->partition : -1, r,
                                s->keep_ts && r->timestamp_ms > 0 ? r->timestamp_ms : 0, s->err, sizeof s->err)) {
            s->failed = 1;
            return 1;
        }
    } else if (s->table) {
        char at[40];
        fleet_format_rfc3339(r->timestamp_ms, at, sizeof at);
        const char *key = "-", *val = "(binary or empty)";
        int kl = 1, vl = 17;
        if (r->key && r->key_len && fleet_utf8_text(r->key, r->key_len)) {
            key = r->key;
            kl = (int)(r->key_len > 40 ? 40 : r->key_len);
        }
        if (r->value && r->len && fleet_utf8_text(r->value, r->len)) {
            val = r->value;
            vl = (int)(r->len > 80 ? 80 : r->len);
        }
        fprintf(s->c->out, "%-9d %-10lld %-24s %-40.*s %.*s%s\n", r->partition, (long long)r->offset, at, kl, key, vl,
                val, val == r->value && r->len > 80 ? "..." : "");
    } else {
        char *line = fleet_record_json(r);
        if (!line) {
            snprintf(s->err, sizeof s->err, "out of memory");
            s->failed = 1;
            return 1;
        }
        fputs(line, s->c->out);
        fputc('\n', s->c->out);
        free(line);
    }
    return s->max > 0 && s->matched >= s->max;
}

int fleet_cmd_replay(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv)) {
        fputs(fleet_usage_replay, c->out);
        return FLEET_EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--group") == 0 || strncmp(argv[i], "--group=", 8) == 0) return fleet_cmd_group_move(c, argc, argv);

    enum { O_TOPIC = 1, O_PART, O_FROM_OFF, O_FROM_TIME, O_SINCE, O_TO_OFF, O_TO_TIME, O_PROJECT, O_TRACE,
           O_MAX, O_TO_TOPIC, O_KEEP_TS };
    static const struct option opts[] = {
        {"topic", required_argument, 0, O_TOPIC},         {"partition", required_argument, 0, O_PART},
        {"from-offset", required_argument, 0, O_FROM_OFF}, {"from-time", required_argument, 0, O_FROM_TIME},
        {"since", required_argument, 0, O_SINCE},         {"to-offset", required_argument, 0, O_TO_OFF},
        {"to-time", required_argument, 0, O_TO_TIME},     {"project", required_argument, 0, O_PROJECT},
        {"trace", required_argument, 0, O_TRACE},         {"max", required_argument, 0, O_MAX},
        {"to-topic", required_argument, 0, O_TO_TOPIC},   {"keep-timestamps", no_argument, 0, O_KEEP_TS},
        {0, 0, 0, 0},
    };
    fleet_range_args ra = {0};
    const char *topic_arg = NULL, *to_topic_arg = NULL, *part_arg = NULL, *max_arg = NULL;
    if (c->output == FLEET_OUT_HTML) return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "-o html is only for report");
    replay_state s = {.c = c, .table = c->output_set && c->output == FLEET_OUT_TABLE};
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_TOPIC: topic_arg = optarg; break;
        case O_PART: part_arg = optarg; break;
        case O_FROM_OFF: ra.from_offset = optarg; break;
        case O_FROM_TIME: ra.from_time = optarg; break;
        case O_SINCE: ra.since = optarg; break;
        case O_TO_OFF: ra.to_offset = optarg; break;
        case O_TO_TIME: ra.to_time = optarg; break;
        case O_PROJECT: s.filter.project = optarg; break;
        case O_TRACE: s.filter.trace_id = optarg; break;
        case O_MAX: max_arg = optarg; break;
        case O_TO_TOPIC: to_topic_arg = optarg; break;
        case O_KEEP_TS: s.keep_ts = true; break;
        default:
            return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "unexpected argument '%s'", argv[optind]);
    if (!topic_arg) return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--topic is required");
    char err[512];
    fleet_range_spec spec;
    if (fleet_range_from_args(&ra, fleet_now_ms(), &spec, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "%s", err);
    if (fleet_filter_validate(&s.filter, err, sizeof err)) return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "%s", err);
    int64_t part = -1;
    if (part_arg && fleet_parse_uint(part_arg, INT32_MAX, &part, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--partition: %s", err);
    if (max_arg && (fleet_parse_uint(max_arg, INT64_MAX, &s.max, err, sizeof err) || s.max == 0))
        return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--max: want a positive count");
    if (s.keep_ts && !to_topic_arg)
        return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--keep-timestamps only makes sense with --to-topic");

    char topic[512], to_topic[512];
    fleet_topic_name(c, topic_arg, topic, sizeof topic);
    int rc = FLEET_EXIT_RUNTIME;
    fleet_delivery dr = {0};
    fleet_part_range *ranges = NULL;
    size_t n = 0;
    rd_kafka_t *consumer = fleet_kafka_consumer(c, NULL, err, sizeof err);
    if (!consumer) return fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
    if (fleet_kafka_resolve(c, consumer, topic, (int32_t)part, &spec, &ranges, &n, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
        goto out;
    }
    char desc[128];
    fleet_range_describe(&spec, desc, sizeof desc);
    int64_t total = fleet_ranges_total(ranges, n);
    if (total == 0) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "nothing to replay: %s holds no records in %s", topic, desc);
        for (size_t i = 0; i < n; i++) {
            if (ranges[i].low >= ranges[i].high)
                fprintf(c->err, "  partition %d: empty (next offset %lld)\n", ranges[i].partition,
                        (long long)ranges[i].high);
            else
                fprintf(c->err, "  partition %d: log has offsets %lld..%lld\n", ranges[i].partition,
                        (long long)ranges[i].low, (long long)ranges[i].high - 1);
        }
        goto out;
    }
    if (to_topic_arg) {
        fleet_topic_name(c, to_topic_arg, to_topic, sizeof to_topic);
        int32_t src_parts, dst_parts;
        if (fleet_kafka_partitions(c, consumer, topic, &src_parts, err, sizeof err) ||
            fleet_kafka_partitions(c, consumer, to_topic, &dst_parts, err, sizeof err)) {
            fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
            goto out;
        }
        s.same_partition = dst_parts >= src_parts;
        if (!s.same_partition)
            fprintf(c->err, "fleetctl replay: %s has fewer partitions (%d) than %s (%d): records go by key, "
                            "so order is kept per project, not per source partition\n",
                    to_topic, dst_parts, topic, src_parts);
        s.to_topic = to_topic;
        s.producer = fleet_kafka_producer(c, &dr, err, sizeof err);
        if (!s.producer) {
            fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
            goto out;
        }
    }
    fleet_progress prog;
    fleet_progress_init(&prog, c->err, c->progress, "replay", total);
    s.prog = &prog;
    int64_t t0 = fleet_now_ms();
    int64_t read = fleet_kafka_read(c, consumer, topic, ranges, n, &prog, on_record, &s, err, sizeof err);
    fleet_progress_end(&prog);
    if (read < 0) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
        goto out;
    }
    if (s.failed) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", s.err);
        goto out;
    }
    if (s.producer && fleet_kafka_flush(c, s.producer, &dr, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
        goto out;
    }
    fflush(c->out);
    fprintf(c->err, "replay: %s %s: read %lld record(s), %lld matched, %s %lld in %.3f s%s\n", topic, desc,
            (long long)read, (long long)s.matched, s.producer ? "produced" : "printed",
            (long long)(s.producer ? dr.ok : s.matched), (double)(fleet_now_ms() - t0) / 1000.0,
            *c->stop ? " (interrupted)" : "");
    if (s.producer) fprintf(c->err, "replay: into %s\n", to_topic);
    for (size_t i = 0; i < n; i++)
        if (ranges[i].end > ranges[i].start)
            fprintf(c->err, "  partition %d: offsets %lld..%lld\n", ranges[i].partition, (long long)ranges[i].start,
                    (long long)ranges[i].end - 1);
    rc = *c->stop ? FLEET_EXIT_RUNTIME : FLEET_EXIT_OK;
out:
    free(ranges);
    if (s.producer) rd_kafka_destroy(s.producer);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return rc;
}
