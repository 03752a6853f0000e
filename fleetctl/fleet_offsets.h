/* Consumer-group offset plans (`fleetctl group reset`) and the lag table (`group describe`), as
 * pure functions over plain structs: target offsets for each reset mode, clamped to what the log
 * holds; the plan and lag tables as text or JSON; and the file of previous offsets a reset saves
 * and `--from-file` restores. */
#ifndef FLEET_OFFSETS_H
#define FLEET_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* No committed offset (librdkafka's RD_KAFKA_OFFSET_INVALID). */
#define FLEET_OFFSET_NONE (-1001)

typedef struct fleet_offset_row {
    char topic[256];
    int32_t partition;
    int64_t current;      /* committed offset, FLEET_OFFSET_NONE when none */
    int64_t target;       /* the plan's new offset (FLEET_OFFSET_NONE: delete the commit) */
    int64_t low, high;    /* log start and end (watermarks) */
    char member[256];     /* describe: the consumer holding the partition, "" when unassigned */
    char host[256];
    char client_id[256];
} fleet_offset_row;

typedef enum {
    FLEET_RESET_TO_OFFSET,  /* arg: an offset, or FLEET_OFFSET_EARLIEST / FLEET_OFFSET_LATEST */
    FLEET_RESET_TO_TIME,    /* arg: the offset offsets-for-times answered, -1 when none is that late */
    FLEET_RESET_SHIFT_BY,   /* arg: signed shift from the committed offset */
} fleet_reset_mode;

/* Sets row->target for mode/arg, clamped to [low, high]. A shift on a partition without a
 * committed offset leaves it alone (target FLEET_OFFSET_NONE, like its current). Returns 0, or -1
 * with err for an unknown mode. */
int fleet_offsets_target(fleet_offset_row *row, fleet_reset_mode mode, int64_t arg, char *err, size_t errlen);

/* Lag of a row: high - current, or -1 when nothing is committed. */
int64_t fleet_offsets_lag(const fleet_offset_row *row);

/* The plan (current -> target) as an aligned table, or as one JSON document (malloc'd, caller
 * frees; NULL when out of memory). */
void fleet_offsets_plan_table(FILE *out, const char *group, const fleet_offset_row *rows, size_t n);
char *fleet_offsets_plan_json(const char *group, const fleet_offset_row *rows, size_t n, bool executed);

/* `group describe`: per-partition committed/end offsets, lag and owner. */
typedef struct fleet_group_member {
    char member_id[256], client_id[256], host[256];
    size_t n_assigned;
} fleet_group_member;

typedef struct fleet_group_info {
    char group[256];
    char state[32];
    char coordinator[300];
    const fleet_group_member *members;
    size_t n_members;
} fleet_group_info;

void fleet_offsets_describe_table(FILE *out, const fleet_group_info *g, const fleet_offset_row *rows, size_t n);
char *fleet_offsets_describe_json(const fleet_group_info *g, const fleet_offset_row *rows, size_t n);

/* The saved offsets file (tab-separated: group, topic, partition, offset or "none"). Writes the
 * rows' *current* offsets; returns 0 or -1 with err. */
int fleet_offsets_save(const char *path, const char *group, const fleet_offset_row *rows, size_t n, int64_t now_ms,
                       char *err, size_t errlen);
/* Reads a saved file into *rows (malloc'd, caller frees; topic, partition and target set).
 * Refuses lines of another group, malformed lines and an empty file. Returns 0 or -1 with err
 * naming the line. */
int fleet_offsets_load(const char *path, const char *group, fleet_offset_row **rows, size_t *n, char *err,
                       size_t errlen);

#endif
