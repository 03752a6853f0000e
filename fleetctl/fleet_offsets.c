#include "fleet_offsets.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fleet_time.h"

int fleet_offsets_target(fleet_offset_row *row, fleet_reset_mode mode, int64_t arg, char *err, size_t errlen) {
    int64_t t;
    switch (mode) {
    case FLEET_RESET_TO_OFFSET:
        t = arg == FLEET_OFFSET_EARLIEST ? row->low : arg == FLEET_OFFSET_LATEST ? row->high : arg;
        break;
    case FLEET_RESET_TO_TIME:
        /* No record that late: the group resumes at the end, as kafka-consumer-groups does. */
        t = arg < 0 ? row->high : arg;
        break;
    case FLEET_RESET_SHIFT_BY:
        if (row->current < 0) {
            /* Nothing committed to shift from: left as it is (the plan shows - -> -). */
            (void)err;
            (void)errlen;
            row->target = FLEET_OFFSET_NONE;
            return 0;
        }
        if ((arg > 0 && row->current > INT64_MAX - arg) || (arg < 0 && row->current < INT64_MIN - arg)) {
            t = arg > 0 ? row->high : row->low;
        } else {
            t = row->current + arg;
        }
        break;
    default:
        snprintf(err, errlen, "unknown reset mode");
        return -1;
    }
    if (t < row->low) t = row->low;
    if (t > row->high) t = row->high;
    row->target = t;
    return 0;
}

int64_t fleet_offsets_lag(const fleet_offset_row *row) {
    if (row->current < 0) return -1;
    return row->high > row->current ? row->high - row->current : 0;
}

static void off_text(int64_t v, char *buf, size_t len) {
    if (v < 0) snprintf(buf, len, "-");
    else snprintf(buf, len, "%lld", (long long)v);
}

/* Column width: the longest of the header and the values, as kafka-consumer-groups sizes them. */
static int topic_width(const fleet_offset_row *rows, size_t n) {
    size_t w = 5;
    for (size_t i = 0; i < n; i++)
        if (strlen(rows[i].topic) > w) w = strlen(rows[i].topic);
    return (int)w;
}

void fleet_offsets_plan_table(FILE *out, const char *group, const fleet_offset_row *rows, size_t n) {
    int gw = strlen(group) > 5 ? (int)strlen(group) : 5, tw = topic_width(rows, n);
    fprintf(out, "%-*s %-*s %9s %14s %14s %12s %12s %10s\n", gw, "GROUP", tw, "TOPIC", "PARTITION", "CURRENT-OFFSET",
            "NEW-OFFSET", "LOG-START", "LOG-END", "LAG-AFTER");
    for (size_t i = 0; i < n; i++) {
        const fleet_offset_row *r = &rows[i];
        char cur[24], tgt[24];
        off_text(r->current, cur, sizeof cur);
        off_text(r->target, tgt, sizeof tgt);
        fprintf(out, "%-*s %-*s %9d %14s %14s %12lld %12lld %10lld\n", gw, group, tw, r->topic, r->partition, cur, tgt,
                (long long)r->low, (long long)r->high, (long long)(r->target >= 0 ? r->high - r->target : 0));
    }
}

static cJSON *offset_json(int64_t v) {
    return v < 0 ? cJSON_CreateNull() : cJSON_CreateNumber((double)v);
}

char *fleet_offsets_plan_json(const char *group, const fleet_offset_row *rows, size_t n, bool executed) {
    cJSON *root = cJSON_CreateObject(), *parts = cJSON_AddArrayToObject(root, "partitions");
    cJSON_AddStringToObject(root, "group", group);
    cJSON_AddBoolToObject(root, "executed", executed);
    for (size_t i = 0; i < n; i++) {
        const fleet_offset_row *r = &rows[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "topic", r->topic);
        cJSON_AddNumberToObject(o, "partition", r->partition);
        cJSON_AddItemToObject(o, "current_offset", offset_json(r->current));
        cJSON_AddItemToObject(o, "new_offset", offset_json(r->target));
        cJSON_AddNumberToObject(o, "log_start_offset", (double)r->low);
        cJSON_AddNumberToObject(o, "log_end_offset", (double)r->high);
        cJSON_AddNumberToObject(o, "lag_after", (double)(r->target >= 0 ? r->high - r->target : 0));
        cJSON_AddItemToArray(parts, o);
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

void fleet_offsets_describe_table(FILE *out, const fleet_group_info *g, const fleet_offset_row *rows, size_t n) {
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) total += fleet_offsets_lag(&rows[i]) > 0 ? fleet_offsets_lag(&rows[i]) : 0;
    fprintf(out, "group %s: state %s, %zu member(s), coordinator %s, total lag %lld\n\n", g->group, g->state,
            g->n_members, g->coordinator, (long long)total);
    int tw = topic_width(rows, n), mw = 11, hw = 4;
    for (size_t i = 0; i < n; i++) {
        if ((int)strlen(rows[i].member) > mw) mw = (int)strlen(rows[i].member);
        if ((int)strlen(rows[i].host) > hw) hw = (int)strlen(rows[i].host);
    }
    for (size_t i = 0; i < g->n_members; i++) {
        if ((int)strlen(g->members[i].member_id) > mw) mw = (int)strlen(g->members[i].member_id);
        if ((int)strlen(g->members[i].host) > hw) hw = (int)strlen(g->members[i].host);
    }
    fprintf(out, "%-*s %9s %14s %14s %8s  %-*s %-*s %s\n", tw, "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
            "LAG", mw, "CONSUMER-ID", hw, "HOST", "CLIENT-ID");
    for (size_t i = 0; i < n; i++) {
        const fleet_offset_row *r = &rows[i];
        char cur[24], lag[24];
        off_text(r->current, cur, sizeof cur);
        off_text(fleet_offsets_lag(r), lag, sizeof lag);
        fprintf(out, "%-*s %9d %14s %14lld %8s  %-*s %-*s %s\n", tw, r->topic, r->partition, cur, (long long)r->high,
                lag, mw, r->member[0] ? r->member : "-", hw, r->host[0] ? r->host : "-",
                r->client_id[0] ? r->client_id : "-");
    }
    if (g->n_members) {
        fprintf(out, "\n%-*s %-*s %-24s %s\n", mw, "CONSUMER-ID", hw, "HOST", "CLIENT-ID", "#PARTITIONS");
        for (size_t i = 0; i < g->n_members; i++)
            fprintf(out, "%-*s %-*s %-24s %zu\n", mw, g->members[i].member_id, hw, g->members[i].host,
                    g->members[i].client_id, g->members[i].n_assigned);
    }
}

char *fleet_offsets_describe_json(const fleet_group_info *g, const fleet_offset_row *rows, size_t n) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "group", g->group);
    cJSON_AddStringToObject(root, "state", g->state);
    cJSON_AddStringToObject(root, "coordinator", g->coordinator);
    cJSON *members = cJSON_AddArrayToObject(root, "members");
    for (size_t i = 0; i < g->n_members; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "member_id", g->members[i].member_id);
        cJSON_AddStringToObject(m, "client_id", g->members[i].client_id);
        cJSON_AddStringToObject(m, "host", g->members[i].host);
        cJSON_AddNumberToObject(m, "partitions", (double)g->members[i].n_assigned);
        cJSON_AddItemToArray(members, m);
    }
    cJSON *parts = cJSON_AddArrayToObject(root, "partitions");
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const fleet_offset_row *r = &rows[i];
        int64_t lag = fleet_offsets_lag(r);
        if (lag > 0) total += lag;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "topic", r->topic);
        cJSON_AddNumberToObject(o, "partition", r->partition);
        cJSON_AddItemToObject(o, "committed_offset", offset_json(r->current));
        cJSON_AddNumberToObject(o, "log_start_offset", (double)r->low);
        cJSON_AddNumberToObject(o, "log_end_offset", (double)r->high);
        cJSON_AddItemToObject(o, "lag", offset_json(lag));
        if (r->member[0]) cJSON_AddStringToObject(o, "member_id", r->member);
        else cJSON_AddNullToObject(o, "member_id");
        cJSON_AddItemToArray(parts, o);
    }
    cJSON_AddNumberToObject(root, "total_lag", (double)total);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

int fleet_offsets_save(const char *path, const char *group, const fleet_offset_row *rows, size_t n, int64_t now_ms,
                       char *err, size_t errlen) {
    FILE *f = fopen(path, "wx"); /* never overwrite an earlier save: it may be the only way back */
    if (!f) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    char at[40];
    fleet_format_rfc3339(now_ms, at, sizeof at);
    fprintf(f, "# fleetctl group reset: offsets of group %s before the reset of %s\n", group, at);
    fprintf(f, "# restore with: fleetctl group reset %s --from-file %s --execute\n", group, path);
    fprintf(f, "group\ttopic\tpartition\toffset\n");
    for (size_t i = 0; i < n; i++) {
        if (rows[i].current < 0) fprintf(f, "%s\t%s\t%d\tnone\n", group, rows[i].topic, rows[i].partition);
        else fprintf(f, "%s\t%s\t%d\t%lld\n", group, rows[i].topic, rows[i].partition, (long long)rows[i].current);
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "writing %s failed", path);
        return -1;
    }
    return 0;
}

int fleet_offsets_load(const char *path, const char *group, fleet_offset_row **rows, size_t *n, char *err,
                       size_t errlen) {
    *rows = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#' || strcmp(line, "group\ttopic\tpartition\toffset") == 0) continue;
        char *fields[4] = {0}, *save = NULL, *p = line;
        int nf = 0;
        for (char *tok = strtok_r(p, "\t", &save); tok; tok = strtok_r(NULL, "\t", &save)) {
            if (nf == 4) {
                nf = 5; /* a field too many */
                break;
            }
            fields[nf++] = tok;
        }
        int64_t part, off = FLEET_OFFSET_NONE;
        char e[128];
        if (nf != 4 || fleet_parse_uint(fields[2], INT32_MAX, &part, e, sizeof e) ||
            (strcmp(fields[3], "none") != 0 && fleet_parse_uint(fields[3], INT64_MAX, &off, e, sizeof e)) ||
            strlen(fields[1]) >= sizeof((*rows)->topic) || !fields[1][0]) {
            snprintf(err, errlen, "%s:%d: want group<TAB>topic<TAB>partition<TAB>offset|none", path, lineno);
            rc = -1;
            break;
        }
        if (strcmp(fields[0], group) != 0) {
            snprintf(err, errlen, "%s:%d: offsets of group '%s', not '%s'", path, lineno, fields[0], group);
            rc = -1;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            fleet_offset_row *nr = realloc(*rows, cap * sizeof *nr);
            if (!nr) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            *rows = nr;
        }
        fleet_offset_row *r = &(*rows)[(*n)++];
        memset(r, 0, sizeof *r);
        snprintf(r->topic, sizeof r->topic, "%s", fields[1]);
        r->partition = (int32_t)part;
        r->current = FLEET_OFFSET_NONE;
        r->target = off;
    }
    fclose(f);
    if (rc == 0 && *n == 0) {
        snprintf(err, errlen, "%s holds no offsets", path);
        rc = -1;
    }
    if (rc != 0) {
        free(*rows);
        *rows = NULL;
        *n = 0;
    }
    return rc;
}
