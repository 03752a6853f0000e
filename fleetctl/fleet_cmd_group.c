/* `fleetctl replay --group G`: move a consumer group's committed offsets so the stage that owns
 * the group re-processes history. Only for an inactive group: a running member would overwrite
 * the new offsets with its next commit (and the broker refuses a memberless commit anyway). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_cmds.h"
#include "fleet_kafka.h"
#include "fleet_time.h"

/* 0 when the group has no members (or does not exist yet); -1 with err otherwise. */
static int check_inactive(const fleet_ctx *c, rd_kafka_t *rk, const char *group, char *err, size_t errlen) {
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t e = rd_kafka_list_groups(rk, group, &gl, c->timeout_ms);
    if (e) {
        snprintf(err, errlen, "cannot describe group '%s': %s", group, rd_kafka_err2str(e));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < gl->group_cnt; i++) {
        const struct rd_kafka_group_info *g = &gl->groups[i];
        if (strcmp(g->group, group) != 0) continue;
        if (g->err && g->err != RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
            snprintf(err, errlen, "cannot describe group '%s': %s", group, rd_kafka_err2str(g->err));
            rc = -1;
        } else if (g->member_cnt > 0) {
            size_t l = (size_t)snprintf(err, errlen,
                                        "group '%s' is active (state %s, %d member(s):", group,
                                        g->state ? g->state : "?", g->member_cnt);
            for (int m = 0; m < g->member_cnt && l < errlen; m++)
                l += (size_t)snprintf(err + l, errlen - l, " %s", g->members[m].client_id);
            if (l < errlen)
                snprintf(err + l, errlen - l,
                         "); stop its consumers first - a running member would overwrite the moved offsets");
            rc = -1;
        }
    }
    rd_kafka_group_list_destroy(gl);
    return rc;
}

int fleet_cmd_group_move(fleet_ctx *c, int argc, char **argv) {
    enum { O_GROUP = 1, O_TOPIC, O_PART, O_TO_OFF, O_TO_TIME, O_SINCE, O_DRY };
    static const struct option opts[] = {
        {"group", required_argument, 0, O_GROUP},     {"topic", required_argument, 0, O_TOPIC},
        {"partition", required_argument, 0, O_PART},  {"to-offset", required_argument, 0, O_TO_OFF},
        {"to-time", required_argument, 0, O_TO_TIME}, {"since", required_argument, 0, O_SINCE},
        {"dry-run", no_argument, 0, O_DRY},           {0, 0, 0, 0},
    };
    const char *group = NULL, *topic_arg = NULL, *part_arg = NULL, *to_off = NULL, *to_time = NULL, *since = NULL;
    bool dry = false;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_GROUP: group = optarg; break;
        case O_TOPIC: topic_arg = optarg; break;
        case O_PART: part_arg = optarg; break;
        case O_TO_OFF: to_off = optarg; break;
        case O_TO_TIME: to_time = optarg; break;
        case O_SINCE: since = optarg; break;
        case O_DRY: dry = true; break;
        default:
            return fleet_fail(c, FLEET_EXIT_USAGE, "replay",
                              "'%s' is not an option of replay --group (which takes --topic, --partition, "
                              "--to-offset, --to-time, --since, --dry-run)", argv[optind - 1]);
        }
    }
    if (optind < argc) return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "unexpected argument '%s'", argv[optind]);
    if (!group || !*group) return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--group needs a group id");
    if (!topic_arg) return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--group needs --topic");
    if (!!to_off + !!to_time + !!since != 1)
        return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--group needs exactly one of --to-offset, --to-time, --since");
    char err[1024];
    fleet_range_spec spec = {0};
    if (to_off) {
        int64_t off;
        if (fleet_parse_offset(to_off, 1, &off, err, sizeof err))
            return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--to-offset: %s", err);
        if (off == FLEET_OFFSET_EARLIEST) spec.from = FLEET_FROM_EARLIEST;
        else if (off == FLEET_OFFSET_LATEST) spec.from = FLEET_FROM_LATEST;
        else {
            spec.from = FLEET_FROM_OFFSET;
            spec.from_offset = off;
        }
    } else {
        fleet_range_args ra = {.from_time = to_time, .since = since};
        if (fleet_range_from_args(&ra, fleet_now_ms(), &spec, err, sizeof err)) {
            /* The flags are named --to-time here; say so rather than --from-time. */
            if (to_time && strncmp(err, "--from-time", 11) == 0)
                return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--to-time%s", err + 11);
            return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "%s", err);
        }
    }
    int64_t part = -1;
    if (part_arg && fleet_parse_uint(part_arg, INT32_MAX, &part, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, "replay", "--partition: %s", err);

    char topic[512];
    fleet_topic_name(c, topic_arg, topic, sizeof topic);
    int rc = FLEET_EXIT_RUNTIME;
    fleet_part_range *r = NULL;
    size_t n = 0;
    rd_kafka_topic_partition_list_t *cur = NULL, *target = NULL;
    rd_kafka_t *rk = fleet_kafka_consumer(c, group, err, sizeof err);
    if (!rk) return fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
    if (fleet_kafka_resolve(c, rk, topic, (int32_t)part, &spec, &r, &n, err, sizeof err) ||
        check_inactive(c, rk, group, err, sizeof err)) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "%s", err);
        goto out;
    }
    cur = rd_kafka_topic_partition_list_new((int)n);
    target = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(cur, topic, r[i].partition);
        rd_kafka_topic_partition_list_add(target, topic, r[i].partition)->offset = r[i].start;
    }
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, cur, c->timeout_ms);
    if (e) {
        fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "committed offsets of '%s': %s", group, rd_kafka_err2str(e));
        goto out;
    }
    fprintf(c->out, "group %s on %s%s:\n", group, topic, dry ? " (dry run, nothing changed)" : "");
    for (size_t i = 0; i < n; i++) {
        int64_t was = cur->elems[i].offset;
        char wbuf[32];
        if (was < 0) snprintf(wbuf, sizeof wbuf, "none");
        else snprintf(wbuf, sizeof wbuf, "%lld", (long long)was);
        fprintf(c->out, "  partition %d: %s -> %lld (log %lld..%lld, %lld to re-process)\n", r[i].partition, wbuf,
                (long long)r[i].start, (long long)r[i].low, (long long)r[i].high,
                (long long)(r[i].high - r[i].start));
    }
    if (!dry) {
        /* A synchronous commit outside any generation: the coordinator accepts it only while the
         * group is empty, which closes the race with a member joining after our check. */
        e = rd_kafka_commit(rk, target, 0);
        if (e) {
            fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "moving offsets of '%s' failed: %s%s", group,
                       rd_kafka_err2str(e),
                       e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION
                           ? " (a member joined meanwhile; stop the stage and retry)" : "");
            goto out;
        }
        for (int i = 0; i < target->cnt; i++) {
            if (target->elems[i].err) {
                fleet_fail(c, FLEET_EXIT_RUNTIME, "replay", "partition %d: %s", target->elems[i].partition,
                           rd_kafka_err2str(target->elems[i].err));
                goto out;
            }
        }
        fprintf(c->out, "moved: the group resumes from these offsets when its consumers start\n");
    }
    rc = FLEET_EXIT_OK;
out:
    free(r);
    if (cur) rd_kafka_topic_partition_list_destroy(cur);
    if (target) rd_kafka_topic_partition_list_destroy(target);
    rd_kafka_destroy(rk);
    return rc;
}
