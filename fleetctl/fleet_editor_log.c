#include "fleet_editor_log.h"

#include <stdlib.h>
#include <string.h>

#include "bf_msg_editor_event.h"

typedef struct fold {
    fleet_editor_log *log;
    fleet_storyboards *sb;
    int64_t folded;
    int oom;
} fold;

static int on_event(const fleet_record *rec, void *ud) {
    fold *f = ud;
    fleet_editor_log *log = f->log;
    if (log->project && (!rec->key || rec->key_len != strlen(log->project) ||
                         memcmp(rec->key, log->project, rec->key_len) != 0))
        return 0;
    bf_msg_editor_event ev;
    char err[512];
    if (!rec->value || bf_msg_editor_event_decode(rec->value, rec->len, &ev, err, sizeof err) != 0) {
        /* Someone else's mistake in the log: told once each, never folded. */
        if (log->skipped++ < 5)
            fprintf(log->c->err, "fleetctl: %s[%d]@%lld is not an editor event the contract accepts (%s); skipped\n",
                    log->topic, rec->partition, (long long)rec->offset, rec->value ? err : "no value");
        return 0;
    }
    if (fleet_storyboard_apply(f->sb, &ev) != 0) f->oom = 1;
    else f->folded++;
    bf_msg_editor_event_free(&ev);
    return f->oom;
}

int fleet_editor_log_open(fleet_editor_log *log, const fleet_ctx *c, const char *project, char *err, size_t errlen) {
    memset(log, 0, sizeof *log);
    log->c = c;
    log->project = project;
    fleet_topic_name(c, BF_SCHEMA_EDITOR_EVENTS, log->topic, sizeof log->topic);
    if (!(log->rk = fleet_kafka_consumer(c, NULL, err, errlen))) return -1;
    fleet_range_spec all = {.from = FLEET_FROM_EARLIEST};
    if (fleet_kafka_resolve(c, log->rk, log->topic, -1, &all, &log->r, &log->n, err, errlen) != 0) {
        fleet_editor_log_close(log);
        return -1;
    }
    for (size_t i = 0; i < log->n; i++) log->r[i].next = log->r[i].start;
    return 0;
}

int64_t fleet_editor_log_catch_up(fleet_editor_log *log, fleet_storyboards *sb, char *err, size_t errlen) {
    for (size_t i = 0; i < log->n; i++) {
        fleet_part_range *r = &log->r[i];
        rd_kafka_resp_err_t e =
            rd_kafka_query_watermark_offsets(log->rk, log->topic, r->partition, &r->low, &r->high, log->c->timeout_ms);
        if (e) {
            snprintf(err, errlen, "watermarks of %s[%d]: %s", log->topic, r->partition, rd_kafka_err2str(e));
            return -1;
        }
        /* Retention may have removed what was not read yet: start at what is left. */
        r->start = r->next > r->low ? r->next : r->low;
        r->end = r->high;
        r->done = r->start >= r->end;
    }
    fold f = {.log = log, .sb = sb};
    if (fleet_kafka_read(log->c, log->rk, log->topic, log->r, log->n, NULL, on_event, &f, err, errlen) < 0) return -1;
    if (f.oom) {
        snprintf(err, errlen, "out of memory folding %s", log->topic);
        return -1;
    }
    for (size_t i = 0; i < log->n; i++)
        if (log->r[i].next < log->r[i].start) log->r[i].next = log->r[i].start;
    log->folded += f.folded;
    return f.folded;
}

void fleet_editor_log_close(fleet_editor_log *log) {
    if (log->rk) {
        rd_kafka_consumer_close(log->rk);
        rd_kafka_destroy(log->rk);
    }
    free(log->r);
    log->rk = NULL;
    log->r = NULL;
    log->n = 0;
}
