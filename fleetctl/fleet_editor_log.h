/* The reference editor's log read back: the editorEvents topic folded into storyboards
 * (fleet_storyboard.h), from the beginning of every partition to its end, and again from there as
 * it grows. `fleetctl editor` folds it whenever it is given partitions (so a restart, or another
 * editor's work after a rebalance, is in its storyboard before it applies anything), `fleetctl
 * storyboard` to print a project's storyboard as the editor sees it. */
#ifndef FLEET_EDITOR_LOG_H
#define FLEET_EDITOR_LOG_H

#include <stdint.h>

#include "fleet_ctx.h"
#include "fleet_kafka.h"
#include "fleet_storyboard.h"

typedef struct fleet_editor_log {
    const fleet_ctx *c;
    rd_kafka_t *rk;          /* a group-less reader: it never commits */
    char topic[512];
    const char *project;     /* only this project's events (by key); NULL: all */
    fleet_part_range *r;
    size_t n;
    int64_t folded, skipped; /* events folded; records that are not editorEvents the codec accepts */
} fleet_editor_log;

/* Opens the reader on the configured editorEvents topic (project may be NULL). Returns 0, or -1
 * with err (broker unreachable, topic missing). */
int fleet_editor_log_open(fleet_editor_log *log, const fleet_ctx *c, const char *project, char *err, size_t errlen);
/* Folds every event from where the last call stopped to the partitions' ends as of now into sb.
 * Returns the number of events folded by this call, or -1 with err. */
int64_t fleet_editor_log_catch_up(fleet_editor_log *log, fleet_storyboards *sb, char *err, size_t errlen);
void fleet_editor_log_close(fleet_editor_log *log);

#endif
