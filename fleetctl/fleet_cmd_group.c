/* `fleetctl group describe|reset`, as kafka-consumer-groups users expect: describe shows the
 * members and per-partition committed/end offsets and lag; reset prints a plan and changes
 * nothing unless --execute, saving the previous offsets to a file that --from-file restores.
 * `replay --group` is the same reset under its older flag names. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_cmds.h"
#include "fleet_kafka.h"
#include "fleet_offsets.h"
#include "fleet_time.h"

const char fleet_usage_group[] =
    "usage: fleetctl group describe GROUP [-o table|json]\n"
    "       fleetctl group reset GROUP --topic T [--partition P]\n"
    "                (--to-datetime TIME | --by-duration DUR | --shift-by N | --to-offset N|earliest|latest)\n"
    "                [--execute [--save-to FILE]] [-o table|json]\n"
    "       fleetctl group reset GROUP --from-file FILE [--execute [--save-to FILE]]\n"
    "\n"
    "describe: the group's state, coordinator and members, and for every partition it has committed\n"
    "          offsets on or is assigned: the committed offset, the log-end offset, the lag and the\n"
    "          member holding it ('-' where nothing is committed or nobody is assigned).\n"
    "reset:    moves GROUP's committed offsets on topic T (base name; BRAINFLEET_TOPIC_PREFIX is\n"
    "          prepended), all partitions or --partition P:\n"
    "  --to-datetime TIME   to the first record with timestamp >= TIME (RFC 3339)\n"
    "  --by-duration DUR    the same for now - DUR (DUR like 90s, 15m, 1h30m, 2d)\n"
    "  --shift-by N         N records forward (or back, N < 0) from the committed offset\n"
    "  --to-offset X        to offset N, or earliest / latest\n"
    "  --from-file FILE     to the offsets saved in FILE by an earlier --execute (undoes it)\n"
    "          Targets are clamped to what the log holds. Without --execute it prints the plan and\n"
    "          changes nothing. With --execute it first writes the current offsets to --save-to\n"
    "          (default ./fleetctl-offsets-GROUP-<UTC time>.tsv; never overwritten), then commits.\n"
    "          Refused while the group has members: a running member would overwrite the offsets.\n"
    "          --dry-run is accepted and changes nothing (the default).\n"
    "\n"
    "Exit status: 0 done, 1 runtime error (broker unreachable, group active), 2 usage error.\n";

/* ---- Admin round trips ----------------------------------------------------------------------- */

/* Waits for one admin result event of type want on q; NULL with err on timeout or error. */
static rd_kafka_event_t *admin_wait(const fleet_ctx *c, rd_kafka_queue_t *q, rd_kafka_event_type_t want,
                                    const char *what, char *err, size_t errlen) {
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, c->timeout_ms + 1000);
    if (!ev) {
        snprintf(err, errlen, "%s: no answer within %d ms; check BRAINFLEET_KAFKA_BROKERS / -b", what, c->timeout_ms);
        return NULL;
    }
    if (rd_kafka_event_type(ev) != want || rd_kafka_event_error(ev)) {
        snprintf(err, errlen, "%s: %s", what, rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    return ev;
}

static rd_kafka_AdminOptions_t *admin_opts(const fleet_ctx *c, rd_kafka_t *rk, rd_kafka_admin_op_t op) {
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    char e[256];
    rd_kafka_AdminOptions_set_request_timeout(o, c->timeout_ms, e, sizeof e);
    return o;
}

typedef struct group_view {
    fleet_group_info info;
    fleet_group_member *members;
    /* Which member holds which partition. */
    struct { char topic[256]; int32_t partition; size_t member; } *owned;
    size_t n_owned;
} group_view;

static void group_view_free(group_view *v) {
    free(v->members);
    free(v->owned);
}

/* DescribeConsumerGroups: state, coordinator, members and their assignments. */
static int describe_group(const fleet_ctx *c, rd_kafka_t *rk, const char *group, group_view *v, char *err,
                          size_t errlen) {
    memset(v, 0, sizeof *v);
    snprintf(v->info.group, sizeof v->info.group, "%s", group);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(c, rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS);
    const char *groups[] = {group};
    rd_kafka_DescribeConsumerGroups(rk, groups, 1, o, q);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev = admin_wait(c, q, RD_KAFKA_EVENT_DESCRIBECONSUMERGROUPS_RESULT, "describe group", err, errlen);
    int rc = -1;
    if (ev) {
        size_t n = 0;
        const rd_kafka_ConsumerGroupDescription_t **d =
            rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev), &n);
        const rd_kafka_error_t *ge = n ? rd_kafka_ConsumerGroupDescription_error(d[0]) : NULL;
        if (n != 1) {
            snprintf(err, errlen, "describe group '%s': no answer for it", group);
        } else if (ge) {
            snprintf(err, errlen, "describe group '%s': %s", group, rd_kafka_error_string(ge));
        } else {
            snprintf(v->info.state, sizeof v->info.state, "%s",
                     rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d[0])));
            const rd_kafka_Node_t *coord = rd_kafka_ConsumerGroupDescription_coordinator(d[0]);
            if (coord)
                snprintf(v->info.coordinator, sizeof v->info.coordinator, "%s:%u (id %d)", rd_kafka_Node_host(coord),
                         (unsigned)rd_kafka_Node_port(coord), rd_kafka_Node_id(coord));
            else
                snprintf(v->info.coordinator, sizeof v->info.coordinator, "-");
            size_t nm = rd_kafka_ConsumerGroupDescription_member_count(d[0]);
            v->members = calloc(nm ? nm : 1, sizeof *v->members);
            rc = v->members ? 0 : -1;
            for (size_t i = 0; i < nm && rc == 0; i++) {
                const rd_kafka_MemberDescription_t *m = rd_kafka_ConsumerGroupDescription_member(d[0], i);
                fleet_group_member *gm = &v->members[i];
                snprintf(gm->member_id, sizeof gm->member_id, "%s", rd_kafka_MemberDescription_consumer_id(m));
                snprintf(gm->client_id, sizeof gm->client_id, "%s", rd_kafka_MemberDescription_client_id(m));
                snprintf(gm->host, sizeof gm->host, "%s", rd_kafka_MemberDescription_host(m));
                const rd_kafka_topic_partition_list_t *a =
                    rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
                for (int k = 0; a && k < a->cnt; k++) {
                    void *no = realloc(v->owned, (v->n_owned + 1) * sizeof *v->owned);
                    if (!no) {
                        rc = -1;
                        break;
                    }
                    v->owned = no;
                    snprintf(v->owned[v->n_owned].topic, sizeof v->owned[0].topic, "%s", a->elems[k].topic);
                    v->owned[v->n_owned].partition = a->elems[k].partition;
                    v->owned[v->n_owned].member = i;
                    v->n_owned++;
                    gm->n_assigned++;
                }
            }
            v->info.members = v->members;
            v->info.n_members = nm;
            if (rc) snprintf(err, errlen, "out of memory");
        }
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    if (rc) group_view_free(v);
    return rc;
}

/* Committed offsets of the group: every partition it committed on (parts == NULL), or parts. */
static rd_kafka_topic_partition_list_t *committed_offsets(const fleet_ctx *c, rd_kafka_t *rk, const char *group,
                                                          const rd_kafka_topic_partition_list_t *parts, char *err,
                                                          size_t errlen) {
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(c, rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS);
    rd_kafka_ListConsumerGroupOffsets_t *req = rd_kafka_ListConsumerGroupOffsets_new(group, parts);
    rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_ListConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_topic_partition_list_t *out = NULL;
    rd_kafka_event_t *ev = admin_wait(c, q, RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, "committed offsets", err,
                                      errlen);
    if (ev) {
        size_t n = 0;
        const rd_kafka_group_result_t **g =
            rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev), &n);
        if (n == 1 && rd_kafka_group_result_error(g[0]))
            snprintf(err, errlen, "committed offsets of '%s': %s", group,
                     rd_kafka_error_string(rd_kafka_group_result_error(g[0])));
        else if (n == 1 && rd_kafka_group_result_partitions(g[0]))
            out = rd_kafka_topic_partition_list_copy(rd_kafka_group_result_partitions(g[0]));
        else
            snprintf(err, errlen, "committed offsets of '%s': empty answer", group);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    return out;
}

static int row_cmp(const void *a, const void *b) {
    const fleet_offset_row *x = a, *y = b;
    int t = strcmp(x->topic, y->topic);
    return t ? t : (x->partition > y->partition) - (x->partition < y->partition);
}

static fleet_offset_row *find_row(fleet_offset_row *rows, size_t n, const char *topic, int32_t p) {
    for (size_t i = 0; i < n; i++)
        if (rows[i].partition == p && strcmp(rows[i].topic, topic) == 0) return &rows[i];
    return NULL;
}

static int add_row(fleet_offset_row **rows, size_t *n, const char *topic, int32_t p) {
    if (find_row(*rows, *n, topic, p)) return 0;
    fleet_offset_row *nr = realloc(*rows, (*n + 1) * sizeof *nr);
    if (!nr) return -1;
    *rows = nr;
    fleet_offset_row *r = &nr[(*n)++];
    memset(r, 0, sizeof *r);
    snprintf(r->topic, sizeof r->topic, "%s", topic);
    r->partition = p;
    r->current = r->target = FLEET_OFFSET_NONE;
    return 0;
}

static int group_describe(fleet_ctx *c, int argc, char **argv) {
    if (argc != 2 || argv[1][0] == '-')
        return fleet_fail(c, FLEET_EXIT_USAGE, "group", "describe takes exactly one GROUP");
    if (c->output == FLEET_OUT_HTML) return fleet_fail(c, FLEET_EXIT_USAGE, "group", "-o html is only for report");
    const char *group = argv[1];
    char err[1024];
    rd_kafka_t *rk = fleet_kafka_consumer(c, NULL, err, sizeof err);
    if (!rk) return fleet_fail(c, FLEET_EXIT_RUNTIME, "group", "%s", err);
    int rc = FLEET_EXIT_RUNTIME;
    group_view v;
    fleet_offset_row *rows = NULL;
    size_t n = 0;
    rd_kafka_topic_partition_list_t *committed = NULL;
    if (describe_group(c, rk, group, &v, err, sizeof err)) {
        fleet_fail(c, rc, "group", "%s", err);
        goto out_rk;
    }
    committed = committed_offsets(c, rk, group, NULL, err, sizeof err);
    if (!committed) {
        fleet_fail(c, rc, "group", "%s", err);
        goto out;
    }
    for (int i = 0; i < committed->cnt; i++)
        if (add_row(&rows, &n, committed->elems[i].topic, committed->elems[i].partition)) goto oom;
    for (size_t i = 0; i < v.n_owned; i++)
        if (add_row(&rows, &n, v.owned[i].topic, v.owned[i].partition)) goto oom;
    if (n == 0 && v.info.n_members == 0 && strcmp(v.info.state, "Dead") == 0) {
        fleet_fail(c, rc, "group", "group '%s' does not exist (no members, no committed offsets)", group);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        fleet_offset_row *r = &rows[i];
        for (int k = 0; k < committed->cnt; k++)
            if (committed->elems[k].partition == r->partition && strcmp(committed->elems[k].topic, r->topic) == 0)
                r->current = committed->elems[k].offset >= 0 ? committed->elems[k].offset : FLEET_OFFSET_NONE;
        for (size_t k = 0; k < v.n_owned; k++)
            if (v.owned[k].partition == r->partition && strcmp(v.owned[k].topic, r->topic) == 0) {
                const fleet_group_member *m = &v.members[v.owned[k].member];
                snprintf(r->member, sizeof r->member, "%s", m->member_id);
                snprintf(r->host, sizeof r->host, "%s", m->host);
                snprintf(r->client_id, sizeof r->client_id, "%s", m->client_id);
            }
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(rk, r->topic, r->partition, &r->low, &r->high, c->timeout_ms);
        if (e) {
            fleet_fail(c, rc, "group", "end offset of %s[%d]: %s", r->topic, r->partition, rd_kafka_err2str(e));
            goto out;
        }
    }
    qsort(rows, n, sizeof *rows, row_cmp);
    if (c->output == FLEET_OUT_JSON) {
        char *s = fleet_offsets_describe_json(&v.info, rows, n);
        if (!s) goto oom;
        fprintf(c->out, "%s\n", s);
        free(s);
    } else {
        fleet_offsets_describe_table(c->out, &v.info, rows, n);
    }
    rc = FLEET_EXIT_OK;
    goto out;
oom:
    fleet_fail(c, rc, "group", "out of memory");
out:
    if (committed) rd_kafka_topic_partition_list_destroy(committed);
    free(rows);
    group_view_free(&v);
out_rk:
    rd_kafka_destroy(rk);
    return rc;
}

/* 0 when the group has no members (or does not exist yet); -1 with err otherwise. */
static int check_inactive(const fleet_ctx *c, rd_kafka_t *rk, const char *group, char *err, size_t errlen) {
    group_view v;
    if (describe_group(c, rk, group, &v, err, errlen)) return -1;
    int rc = 0;
    if (v.info.n_members > 0) {
        size_t l = (size_t)snprintf(err, errlen, "group '%s' is active (state %s, %zu member(s):", group, v.info.state,
                                    v.info.n_members);
        for (size_t m = 0; m < v.info.n_members && l < errlen; m++)
            l += (size_t)snprintf(err + l, errlen - l, " %s", v.members[m].client_id);
        if (l < errlen)
            snprintf(err + l, errlen - l,
                     "); stop its consumers first - a running member would overwrite the moved offsets");
        rc = -1;
    }
    group_view_free(&v);
    return rc;
}

/* Restoring "none": the saved state had no commit there, so the commit is deleted. */
static int delete_offsets(const fleet_ctx *c, rd_kafka_t *rk, const char *group,
                          const rd_kafka_topic_partition_list_t *parts, char *err, size_t errlen) {
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o = admin_opts(c, rk, RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS);
    rd_kafka_DeleteConsumerGroupOffsets_t *req = rd_kafka_DeleteConsumerGroupOffsets_new(group, parts);
    rd_kafka_DeleteConsumerGroupOffsets(rk, &req, 1, o, q);
    rd_kafka_DeleteConsumerGroupOffsets_destroy(req);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev =
        admin_wait(c, q, RD_KAFKA_EVENT_DELETECONSUMERGROUPOFFSETS_RESULT, "delete committed offsets", err, errlen);
    int rc = ev ? 0 : -1;
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    return rc;
}

typedef struct reset_args {
    const char *group, *topic, *partition, *to_datetime, *by_duration, *shift_by, *to_offset, *from_file, *save_to;
    bool execute;
} reset_args;

/* Shared by `group reset` and `replay --group`; cmd names the command in messages. */
static int group_reset_run(fleet_ctx *c, const char *cmd, const reset_args *a) {
    if (c->output == FLEET_OUT_HTML) return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "-o html is only for report");
    if (!a->group || !*a->group) return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "name the GROUP to reset");
    int modes = !!a->to_datetime + !!a->by_duration + !!a->shift_by + !!a->to_offset + !!a->from_file;
    if (modes != 1)
        return fleet_fail(c, FLEET_EXIT_USAGE, cmd,
                          "give exactly one of --to-datetime, --by-duration, --shift-by, --to-offset, --from-file");
    if (a->from_file && (a->topic || a->partition))
        return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--from-file names its own topics and partitions");
    if (!a->from_file && !a->topic) return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--topic is required");
    if (a->save_to && !a->execute) return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--save-to only makes sense with --execute");
    char err[1024];
    fleet_reset_mode mode = FLEET_RESET_TO_OFFSET;
    int64_t arg = 0, part = -1;
    fleet_range_spec spec = {.from = FLEET_FROM_EARLIEST};
    if (a->to_offset) {
        if (fleet_parse_offset(a->to_offset, 1, &arg, err, sizeof err))
            return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--to-offset: %s", err);
    } else if (a->shift_by) {
        const char *s = a->shift_by;
        int neg = *s == '-';
        if (fleet_parse_uint(s + (neg || *s == '+'), INT64_MAX, &arg, err, sizeof err))
            return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--shift-by: want a whole number, e.g. -100 or 50");
        if (neg) arg = -arg;
        mode = FLEET_RESET_SHIFT_BY;
    } else if (a->to_datetime || a->by_duration) {
        fleet_range_args ra = {.from_time = a->to_datetime, .since = a->by_duration};
        if (fleet_range_from_args(&ra, fleet_now_ms(), &spec, err, sizeof err)) {
            bool replay = strcmp(cmd, "replay") == 0; /* replay --group keeps its older flag names */
            const char *flag = a->to_datetime ? (replay ? "--to-time" : "--to-datetime") : (replay ? "--since" : "--by-duration");
            const char *msg = strncmp(err, "--from-time", 11) == 0 ? err + 11 : strncmp(err, "--since", 7) == 0 ? err + 7 : err;
            return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "%s%s", flag, msg);
        }
        mode = FLEET_RESET_TO_TIME;
    }
    if (a->partition && fleet_parse_uint(a->partition, INT32_MAX, &part, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--partition: %s", err);

    fleet_offset_row *rows = NULL;
    size_t n = 0;
    if (a->from_file && fleet_offsets_load(a->from_file, a->group, &rows, &n, err, sizeof err))
        return fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--from-file: %s", err);
    int rc = FLEET_EXIT_RUNTIME;
    rd_kafka_topic_partition_list_t *cur = NULL, *commit = NULL, *del = NULL;
    rd_kafka_t *rk = fleet_kafka_consumer(c, a->group, err, sizeof err);
    if (!rk) {
        free(rows);
        return fleet_fail(c, rc, cmd, "%s", err);
    }
    if (!a->from_file) {
        char topic[512];
        fleet_topic_name(c, a->topic, topic, sizeof topic);
        fleet_part_range *r = NULL;
        size_t nr = 0;
        if (fleet_kafka_resolve(c, rk, topic, (int32_t)part, &spec, &r, &nr, err, sizeof err)) {
            fleet_fail(c, rc, cmd, "%s", err);
            goto out;
        }
        rows = calloc(nr ? nr : 1, sizeof *rows);
        if (!rows) {
            free(r);
            fleet_fail(c, rc, cmd, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < nr; i++) {
            snprintf(rows[i].topic, sizeof rows[i].topic, "%s", topic);
            rows[i].partition = r[i].partition;
            rows[i].low = r[i].low;
            rows[i].high = r[i].high;
            rows[i].target = r[i].start; /* the time lookup's answer, clamped */
        }
        n = nr;
        free(r);
    } else {
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, rows[i].topic, rows[i].partition, &rows[i].low,
                                                                     &rows[i].high, c->timeout_ms);
            if (e) {
                fleet_fail(c, rc, cmd, "%s[%d]: %s", rows[i].topic, rows[i].partition, rd_kafka_err2str(e));
                goto out;
            }
        }
    }
    cur = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) rd_kafka_topic_partition_list_add(cur, rows[i].topic, rows[i].partition);
    rd_kafka_resp_err_t e = rd_kafka_committed(rk, cur, c->timeout_ms);
    if (e) {
        fleet_fail(c, rc, cmd, "committed offsets of '%s': %s", a->group, rd_kafka_err2str(e));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t off = cur->elems[i].offset;
        rows[i].current = off >= 0 ? off : FLEET_OFFSET_NONE;
        if (a->from_file) {
            /* A saved offset beyond what the log now holds is clamped like any target. */
            if (rows[i].target >= 0 && fleet_offsets_target(&rows[i], FLEET_RESET_TO_OFFSET, rows[i].target, err,
                                                            sizeof err)) {
                fleet_fail(c, rc, cmd, "%s", err);
                goto out;
            }
        } else if (mode != FLEET_RESET_TO_TIME &&
                   fleet_offsets_target(&rows[i], mode, arg, err, sizeof err)) {
            fleet_fail(c, FLEET_EXIT_RUNTIME, cmd, "%s", err);
            goto out;
        }
    }
    if (c->output == FLEET_OUT_JSON) {
        char *s = fleet_offsets_plan_json(a->group, rows, n, a->execute);
        if (s) fprintf(c->out, "%s\n", s);
        free(s);
    } else {
        fleet_offsets_plan_table(c->out, a->group, rows, n);
    }
    if (!a->execute) {
        fprintf(c->err, "fleetctl %s: plan only, nothing changed; add --execute to apply it\n", cmd);
        rc = FLEET_EXIT_OK;
        goto out;
    }
    if (check_inactive(c, rk, a->group, err, sizeof err)) {
        fleet_fail(c, rc, cmd, "%s", err);
        goto out;
    }
    char save[1024];
    if (a->save_to) {
        snprintf(save, sizeof save, "%s", a->save_to);
    } else {
        char at[40];
        fleet_format_rfc3339(fleet_now_ms(), at, sizeof at);
        for (char *p = at; *p; p++)
            if (*p == ':') *p = '-';
        snprintf(save, sizeof save, "fleetctl-offsets-%s-%s.tsv", a->group, at);
    }
    if (fleet_offsets_save(save, a->group, rows, n, fleet_now_ms(), err, sizeof err)) {
        fleet_fail(c, rc, cmd, "%s (nothing changed)", err);
        goto out;
    }
    fprintf(c->err, "fleetctl %s: previous offsets saved to %s (undo: fleetctl group reset %s --from-file %s --execute)\n",
            cmd, save, a->group, save);
    commit = rd_kafka_topic_partition_list_new((int)n);
    del = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].target == rows[i].current) continue; /* unchanged */
        if (rows[i].target >= 0) rd_kafka_topic_partition_list_add(commit, rows[i].topic, rows[i].partition)->offset = rows[i].target;
        else rd_kafka_topic_partition_list_add(del, rows[i].topic, rows[i].partition);
    }
    if (commit->cnt) {
        /* A synchronous commit outside any generation: the coordinator accepts it only while the
         * group is empty, which closes the race with a member joining after our check. */
        e = rd_kafka_commit(rk, commit, 0);
        for (int i = 0; !e && i < commit->cnt; i++) e = commit->elems[i].err;
        if (e) {
            fleet_fail(c, rc, cmd, "moving offsets of '%s' failed: %s%s", a->group, rd_kafka_err2str(e),
                       e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION
                           ? " (a member joined meanwhile; stop the stage and retry)" : "");
            goto out;
        }
    }
    if (del->cnt && delete_offsets(c, rk, a->group, del, err, sizeof err)) {
        fleet_fail(c, rc, cmd, "%s", err);
        goto out;
    }
    fprintf(c->err, "fleetctl %s: done: group %s resumes from the new offsets when its consumers start\n", cmd,
            a->group);
    rc = FLEET_EXIT_OK;
out:
    free(rows);
    if (cur) rd_kafka_topic_partition_list_destroy(cur);
    if (commit) rd_kafka_topic_partition_list_destroy(commit);
    if (del) rd_kafka_topic_partition_list_destroy(del);
    rd_kafka_destroy(rk);
    return rc;
}

static int parse_reset(fleet_ctx *c, const char *cmd, int argc, char **argv, bool replay_names, reset_args *a) {
    enum { O_GROUP = 1, O_TOPIC, O_PART, O_DT, O_DUR, O_SHIFT, O_OFF, O_FILE, O_EXEC, O_SAVE, O_DRY };
    /* replay --group keeps its older names: --to-time, --since, --dry-run (the default now). */
    static const struct option reset_opts[] = {
        {"topic", required_argument, 0, O_TOPIC},        {"partition", required_argument, 0, O_PART},
        {"to-datetime", required_argument, 0, O_DT},     {"by-duration", required_argument, 0, O_DUR},
        {"shift-by", required_argument, 0, O_SHIFT},     {"to-offset", required_argument, 0, O_OFF},
        {"from-file", required_argument, 0, O_FILE},     {"execute", no_argument, 0, O_EXEC},
        {"save-to", required_argument, 0, O_SAVE},       {"dry-run", no_argument, 0, O_DRY},
        {0, 0, 0, 0},
    };
    static const struct option replay_opts[] = {
        {"group", required_argument, 0, O_GROUP},        {"topic", required_argument, 0, O_TOPIC},
        {"partition", required_argument, 0, O_PART},     {"to-time", required_argument, 0, O_DT},
        {"since", required_argument, 0, O_DUR},          {"to-offset", required_argument, 0, O_OFF},
        {"execute", no_argument, 0, O_EXEC},             {"save-to", required_argument, 0, O_SAVE},
        {"dry-run", no_argument, 0, O_DRY},              {0, 0, 0, 0},
    };
    memset(a, 0, sizeof *a);
    bool dry = false;
    optind = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", replay_names ? replay_opts : reset_opts, NULL)) != -1) {
        switch (o) {
        case O_GROUP: a->group = optarg; break;
        case O_TOPIC: a->topic = optarg; break;
        case O_PART: a->partition = optarg; break;
        case O_DT: a->to_datetime = optarg; break;
        case O_DUR: a->by_duration = optarg; break;
        case O_SHIFT: a->shift_by = optarg; break;
        case O_OFF: a->to_offset = optarg; break;
        case O_FILE: a->from_file = optarg; break;
        case O_EXEC: a->execute = true; break;
        case O_SAVE: a->save_to = optarg; break;
        case O_DRY: dry = true; break;
        default:
            fleet_fail(c, FLEET_EXIT_USAGE, cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
            return -1;
        }
    }
    if (dry && a->execute) {
        fleet_fail(c, FLEET_EXIT_USAGE, cmd, "--dry-run and --execute contradict each other");
        return -1;
    }
    if (!replay_names) {
        if (optind >= argc) {
            fleet_fail(c, FLEET_EXIT_USAGE, cmd, "name the GROUP to reset");
            return -1;
        }
        a->group = argv[optind++];
    }
    if (optind < argc) {
        fleet_fail(c, FLEET_EXIT_USAGE, cmd, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    return 0;
}

int fleet_cmd_group_move(fleet_ctx *c, int argc, char **argv) {
    reset_args a;
    if (parse_reset(c, "replay", argc, argv, true, &a)) return FLEET_EXIT_USAGE;
    return group_reset_run(c, "replay", &a);
}

int fleet_cmd_group(fleet_ctx *c, int argc, char **argv) {
    if (fleet_wants_help(argc, argv) || argc < 2) {
        fputs(fleet_usage_group, argc < 2 ? c->err : c->out);
        return argc < 2 ? FLEET_EXIT_USAGE : FLEET_EXIT_OK;
    }
    if (strcmp(argv[1], "describe") == 0) return group_describe(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "reset") == 0) {
        reset_args a;
        if (parse_reset(c, "group", argc - 1, argv + 1, false, &a)) return FLEET_EXIT_USAGE;
        return group_reset_run(c, "group", &a);
    }
    return fleet_fail(c, FLEET_EXIT_USAGE, "group", "unknown subcommand '%s' (describe, reset)", argv[1]);
}
