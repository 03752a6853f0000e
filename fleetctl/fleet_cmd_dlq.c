/* `fleetctl dlq list|show|retry`: inspect dead letters and re-publish chosen ones, byte for byte,
 * to the topic they failed on. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bf_dlq.h"
#include "fleet_cmds.h"
#include "fleet_dlq_entry.h"
#include "fleet_kafka.h"
#include "fleet_time.h"

const char fleet_usage_dlq[] =
    "usage: fleetctl dlq list [--since DUR | --from-time TIME] [--to-time TIME] [--reason CODE] [--source TOPIC]\n"
    "                         [-o table|json]\n"
    "       fleetctl dlq show PARTITION:OFFSET...\n"
    "       fleetctl dlq retry PARTITION:OFFSET... [--to-topic T] [--dry-run]\n"
    "       fleetctl dlq retry [--reason CODE] [--source TOPIC] [--since DUR | --from-time TIME] [--to-time TIME]\n"
    "                          [--to-topic T] [--dry-run]\n"
    "\n"
    "Dead letters are on the deadLetters topic (with BRAINFLEET_TOPIC_PREFIX); PARTITION:OFFSET\n"
    "names one entry there, as `list` prints it.\n"
    "list:  one line per entry: where it is, when it failed, the reason code, the source\n"
    "       topic[partition]@offset, the worker and the reason message (-o json: the entries as JSON\n"
    "       lines with the original payload decoded when it is text).\n"
    "show:  everything about the entries: reason, source, consumer group, original key, headers\n"
    "       and payload (as text when it is UTF-8, else base64).\n"
    "retry: re-publishes each entry's original key, headers and value bytes to its source topic\n"
    "       (or --to-topic), partitioned by key like the original. Safe to repeat: every stage\n"
    "       is idempotent on the envelope's event id. Fix the cause first, or it fails again.\n"
    "       In bulk: without PARTITION:OFFSET it retries every entry matching all of --reason,\n"
    "       --source and the time window (when the entry failed; --since/--from-time, --to-time);\n"
    "       at least one of them is required. --dry-run lists what would be retried, and how many.\n";

static int fetch(const fleet_ctx *c, rd_kafka_t *rk, const char *topic, int32_t part, int64_t off,
                 int (*fn)(const fleet_record *, void *), void *ud, char *err, size_t errlen) {
    fleet_range_spec spec = {.from = FLEET_FROM_OFFSET, .from_offset = off, .to = FLEET_TO_OFFSET, .to_offset = off + 1};
    fleet_part_range *r = NULL;
    size_t n = 0;
    if (fleet_kafka_resolve(c, rk, topic, part, &spec, &r, &n, err, errlen)) return -1;
    if (r[0].start != off || r[0].end != off + 1) {
        snprintf(err, errlen, "%s has no entry %d:%lld (partition %d holds offsets %lld..%lld)", topic, part,
                 (long long)off, part, (long long)r[0].low, (long long)r[0].high - 1);
        free(r);
        return -1;
    }
    int64_t got = fleet_kafka_read(c, rk, topic, r, n, NULL, fn, ud, err, errlen);
    free(r);
    if (got < 0) return -1;
    if (got == 0) {
        snprintf(err, errlen, "%s has no record at %d:%lld (compacted or a transaction marker)", topic, part,
                 (long long)off);
        return -1;
    }
    return 0;
}

typedef struct list_state {
    const fleet_ctx *c;
    const char *reason;
    const char *source;
    int64_t from_ms, to_ms; /* failed_at window, -1: open */
    bool json;
    int64_t shown, unreadable;
    /* Bulk retry collects the matching entries instead of printing them. */
    bool collect;
    fleet_dlq_entry *entries;
    char (*refs)[48];
    size_t n, cap;
    int oom;
} list_state;

/* Whether an entry passes list/retry's filters (reason, source topic, failure time window). */
static bool entry_selected(const list_state *s, const fleet_dlq_entry *e, const fleet_record *r) {
    int64_t at = e->failed_at_ms >= 0 ? e->failed_at_ms : r->timestamp_ms;
    if (s->reason && strcmp(s->reason, e->reason_code) != 0) return false;
    if (s->source && strcmp(s->source, e->topic) != 0) return false;
    if (s->from_ms >= 0 && at < s->from_ms) return false;
    if (s->to_ms >= 0 && at >= s->to_ms) return false;
    return true;
}

static void print_bytes(FILE *out, const char *label, const unsigned char *b, size_t len) {
    if (!b) {
        fprintf(out, "%s: (none)\n", label);
    } else if (fleet_utf8_text(b, len)) {
        fprintf(out, "%s: %.*s\n", label, (int)len, (const char *)b);
    } else {
        char *s = bf_base64_encode(b, len);
        fprintf(out, "%s (base64, %zu bytes): %s\n", label, len, s ? s : "");
        free(s);
    }
}

static int on_list(const fleet_record *r, void *ud) {
    list_state *s = ud;
    fleet_dlq_entry e;
    char err[256];
    if (fleet_dlq_entry_parse(r->value, r->len, &e, err, sizeof err)) {
        s->unreadable++;
        fprintf(s->c->err, "dlq: %d:%lld is not a dead-letter entry (%s)\n", r->partition, (long long)r->offset, err);
        return 0;
    }
    if (!entry_selected(s, &e, r)) {
        fleet_dlq_entry_free(&e);
        return 0;
    }
    s->shown++;
    if (s->collect) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 32;
            fleet_dlq_entry *ne = realloc(s->entries, cap * sizeof *ne);
            if (ne) s->entries = ne;
            char (*nr)[48] = ne ? realloc(s->refs, cap * sizeof *nr) : NULL;
            if (nr) s->refs = nr;
            if (!ne || !nr) {
                s->oom = 1;
                fleet_dlq_entry_free(&e);
                return 1;
            }
            s->cap = cap;
        }
        snprintf(s->refs[s->n], sizeof s->refs[0], "%d:%lld", r->partition, (long long)r->offset);
        s->entries[s->n++] = e;
        return 0;
    }
    if (s->json) {
        char *line = fleet_record_json(r);
        if (line) fprintf(s->c->out, "%s\n", line);
        free(line);
    } else {
        char at[40];
        fleet_format_rfc3339(e.failed_at_ms >= 0 ? e.failed_at_ms : r->timestamp_ms, at, sizeof at);
        fprintf(s->c->out, "%d:%-6lld %s  %-20s %s[%d]@%lld  %s  %s\n", r->partition, (long long)r->offset, at,
                e.reason_code, e.topic, e.partition, (long long)e.offset, e.worker ? e.worker : "?",
                e.reason_message ? e.reason_message : "");
    }
    fleet_dlq_entry_free(&e);
    return 0;
}

/* The filters list and bulk retry share; retry also takes --to-topic and --dry-run (to_topic/dry
 * non-NULL). The window filters the entries' failure times; the log is read from its start bound
 * (dead letters are produced when they fail, so the record time is the failure time). */
static int parse_selection(fleet_ctx *c, int argc, char **argv, list_state *s, char *source, size_t sourcelen,
                           fleet_range_spec *spec, const char **to_topic, bool *dry) {
    enum { O_SINCE = 1, O_FROM_TIME, O_TO_TIME, O_REASON, O_SOURCE, O_TO_TOPIC, O_DRY };
    static const struct option opts[] = {
        {"since", required_argument, 0, O_SINCE},     {"from-time", required_argument, 0, O_FROM_TIME},
        {"to-time", required_argument, 0, O_TO_TIME}, {"reason", required_argument, 0, O_REASON},
        {"source", required_argument, 0, O_SOURCE},   {"to-topic", required_argument, 0, O_TO_TOPIC},
        {"dry-run", no_argument, 0, O_DRY},           {0, 0, 0, 0},
    };
    fleet_range_args ra = {0};
    const char *source_arg = NULL;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_SINCE: ra.since = optarg; break;
        case O_FROM_TIME: ra.from_time = optarg; break;
        case O_TO_TIME: ra.to_time = optarg; break;
        case O_REASON: s->reason = optarg; break;
        case O_SOURCE: source_arg = optarg; break;
        case O_TO_TOPIC:
            if (!to_topic) goto bad;
            *to_topic = optarg;
            break;
        case O_DRY:
            if (!dry) goto bad;
            *dry = true;
            break;
        default:
        bad:
            return fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (source_arg) {
        fleet_topic_name(c, source_arg, source, sourcelen);
        s->source = source;
    }
    char err[512];
    if (fleet_range_from_args(&ra, fleet_now_ms(), spec, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "%s", err);
    s->from_ms = spec->from == FLEET_FROM_TIME ? spec->from_ms : -1;
    s->to_ms = spec->to == FLEET_TO_TIME ? spec->to_ms : -1;
    /* Entries are selected by their failure time, so read the whole tail after the start. */
    spec->to = FLEET_TO_END;
    return 0;
}

static int dlq_list(fleet_ctx *c, rd_kafka_t *rk, const char *topic, int argc, char **argv) {
    list_state s = {.c = c, .json = c->output == FLEET_OUT_JSON};
    char err[512], source[512];
    fleet_range_spec spec;
    int prc = parse_selection(c, argc, argv, &s, source, sizeof source, &spec, NULL, NULL);
    if (prc) return prc;
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "unexpected argument '%s'", argv[optind]);
    fleet_part_range *r = NULL;
    size_t n = 0;
    if (fleet_kafka_resolve(c, rk, topic, -1, &spec, &r, &n, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s", err);
    int64_t read = fleet_kafka_read(c, rk, topic, r, n, NULL, on_list, &s, err, sizeof err);
    free(r);
    if (read < 0) return fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s", err);
    fprintf(c->err, "dlq: %lld entr%s in %s (%lld shown%s)\n", (long long)read, read == 1 ? "y" : "ies", topic,
            (long long)s.shown, s.unreadable ? ", some unreadable" : "");
    return FLEET_EXIT_OK;
}

typedef struct one_state {
    fleet_dlq_entry e;
    int parsed;
    char err[256];
} one_state;

static int on_one(const fleet_record *r, void *ud) {
    one_state *s = ud;
    s->parsed = fleet_dlq_entry_parse(r->value, r->len, &s->e, s->err, sizeof s->err) == 0;
    return 1;
}

static void show_entry(FILE *out, const char *ref, const fleet_dlq_entry *e) {
    char at[40], ts[40];
    fleet_format_rfc3339(e->failed_at_ms, at, sizeof at);
    fleet_format_rfc3339(e->timestamp_ms, ts, sizeof ts);
    fprintf(out, "dead letter %s\n", ref);
    fprintf(out, "reason: %s: %s\n", e->reason_code, e->reason_message ? e->reason_message : "");
    fprintf(out, "failed at: %s by %s (group %s)\n", e->failed_at_ms >= 0 ? at : "?", e->worker ? e->worker : "?",
            e->consumer_group ? e->consumer_group : "?");
    fprintf(out, "source: %s[%d]@%lld, produced %s\n", e->topic, e->partition, (long long)e->offset,
            e->timestamp_ms >= 0 ? ts : "?");
    if (*e->trace_id) fprintf(out, "trace: %s\n", e->trace_id);
    print_bytes(out, "key", e->key, e->key_len);
    for (size_t i = 0; i < e->n_headers; i++) {
        char label[300];
        snprintf(label, sizeof label, "header %s", e->headers[i].name);
        print_bytes(out, label, e->headers[i].value, e->headers[i].len);
    }
    print_bytes(out, "payload", e->payload, e->len);
    fputc('\n', out);
}

/* Re-publishes one entry's original bytes (or says it would). Returns 0 or -1 (reported). */
static int retry_one(fleet_ctx *c, rd_kafka_t *rk, rd_kafka_t *producer, const char *ref, const fleet_dlq_entry *e,
                     const char *to_arg, bool dry, int64_t *sent) {
    char dest[512], err[512];
    fleet_topic_name(c, to_arg ? to_arg : e->topic, dest, sizeof dest);
    if (dry) {
        fprintf(c->out, "would retry %s -> %s (%s, %zu bytes, %zu header(s))\n", ref, dest, e->reason_code, e->len,
                e->n_headers);
        return 0;
    }
    int32_t parts;
    fleet_record orig;
    fleet_dlq_entry_original(e, &orig);
    if (fleet_kafka_partitions(c, rk, dest, &parts, err, sizeof err) ||
        fleet_kafka_produce(producer, dest, -1, &orig, 0, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "retry %s: %s", ref, err);
        return -1;
    }
    (*sent)++;
    fprintf(c->out, "retried %s -> %s (%s, %zu bytes, %zu header(s))\n", ref, dest, e->reason_code, e->len,
            e->n_headers);
    return 0;
}

static int dlq_show_retry(fleet_ctx *c, rd_kafka_t *rk, const char *topic, int argc, char **argv, bool retry) {
    const char *to_arg = NULL;
    bool dry = false;
    list_state sel = {.c = c, .collect = true, .from_ms = -1, .to_ms = -1};
    char source[512], err[512];
    fleet_range_spec spec;
    if (retry) {
        int prc = parse_selection(c, argc, argv, &sel, source, sizeof source, &spec, &to_arg, &dry);
        if (prc) return prc;
    } else {
        optind = 1;
        for (int i = 1; i < argc; i++)
            if (argv[i][0] == '-') return fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "show takes no option ('%s')", argv[i]);
    }
    bool filtered = sel.reason || sel.source || sel.from_ms >= 0 || sel.to_ms >= 0;
    if (optind < argc && filtered)
        return fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "name entries as PARTITION:OFFSET or select them with "
                                                      "--reason/--source/--since/--from-time/--to-time, not both");
    if (optind >= argc && !filtered)
        return fleet_fail(c, FLEET_EXIT_USAGE, "dlq",
                          retry ? "name entries as PARTITION:OFFSET, or select them with --reason, --source, --since, "
                                  "--from-time or --to-time"
                                : "name at least one entry as PARTITION:OFFSET");
    for (int i = optind; i < argc; i++) {
        int32_t p;
        int64_t off;
        if (fleet_dlq_ref_parse(argv[i], &p, &off, err, sizeof err)) return fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "%s", err);
    }
    fleet_delivery dr = {0};
    rd_kafka_t *producer = NULL;
    if (retry && !dry) {
        producer = fleet_kafka_producer(c, &dr, err, sizeof err);
        if (!producer) return fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s", err);
    }
    int rc = FLEET_EXIT_OK;
    int64_t sent = 0;
    if (filtered) {
        fleet_part_range *r = NULL;
        size_t n = 0;
        if (fleet_kafka_resolve(c, rk, topic, -1, &spec, &r, &n, err, sizeof err) ||
            fleet_kafka_read(c, rk, topic, r, n, NULL, on_list, &sel, err, sizeof err) < 0) {
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s", err);
        } else if (sel.oom) {
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "out of memory");
        }
        free(r);
        for (size_t i = 0; i < sel.n && rc == FLEET_EXIT_OK; i++)
            if (retry_one(c, rk, producer, sel.refs[i], &sel.entries[i], to_arg, dry, &sent)) rc = FLEET_EXIT_RUNTIME;
        if (rc == FLEET_EXIT_OK && dry)
            fprintf(c->err, "dlq: %zu entr%s selected; nothing re-published (dry run)\n", sel.n, sel.n == 1 ? "y" : "ies");
        if (rc == FLEET_EXIT_OK && sel.n == 0) fprintf(c->err, "dlq: no entry matches\n");
        for (size_t i = 0; i < sel.n; i++) fleet_dlq_entry_free(&sel.entries[i]);
        free(sel.entries);
        free(sel.refs);
    }
    for (int i = optind; i < argc && rc == FLEET_EXIT_OK && !filtered; i++) {
        int32_t p;
        int64_t off;
        fleet_dlq_ref_parse(argv[i], &p, &off, err, sizeof err);
        one_state s = {0};
        if (fetch(c, rk, topic, p, off, on_one, &s, err, sizeof err)) {
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s", err);
            break;
        }
        if (!s.parsed) {
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s is not a dead-letter entry: %s", argv[i], s.err);
            break;
        }
        if (!retry) show_entry(c->out, argv[i], &s.e);
        else if (retry_one(c, rk, producer, argv[i], &s.e, to_arg, dry, &sent)) rc = FLEET_EXIT_RUNTIME;
        fleet_dlq_entry_free(&s.e);
    }
    if (producer) {
        if (fleet_kafka_flush(c, producer, &dr, err, sizeof err) && rc == FLEET_EXIT_OK)
            rc = fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s", err);
        else if (rc == FLEET_EXIT_OK)
            fprintf(c->err, "dlq: %lld entr%s re-published and acknowledged\n", (long long)sent, sent == 1 ? "y" : "ies");
        rd_kafka_destroy(producer);
    }
    return rc;
}

int fleet_cmd_dlq(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv) || argc < 2) {
        fputs(fleet_usage_dlq, argc < 2 ? c->err : c->out);
        return argc < 2 ? FLEET_EXIT_USAGE : FLEET_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "retry") != 0)
        return fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "unknown subcommand '%s' (list, show, retry)", sub);
    char err[512], topic[512];
    fleet_topic_name(c, "deadLetters", topic, sizeof topic);
    rd_kafka_t *rk = fleet_kafka_consumer(c, NULL, err, sizeof err);
    if (!rk) return fleet_fail(c, FLEET_EXIT_RUNTIME, "dlq", "%s", err);
    int rc;
    if (c->output == FLEET_OUT_HTML || (c->output == FLEET_OUT_JSON && strcmp(sub, "list") != 0))
        rc = fleet_fail(c, FLEET_EXIT_USAGE, "dlq", "-o %s: only `dlq list` has another format than a table",
                        c->output == FLEET_OUT_HTML ? "html" : "json");
    else if (strcmp(sub, "list") == 0) rc = dlq_list(c, rk, topic, argc - 1, argv + 1);
    else rc = dlq_show_retry(c, rk, topic, argc - 1, argv + 1, strcmp(sub, "retry") == 0);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return rc;
}
