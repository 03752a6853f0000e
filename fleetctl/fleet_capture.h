/* A saved capture: the JSON lines `fleetctl replay` prints (one record each: topic, partition,
 * offset, timestamp_ms, key, headers, value), read back so `report --from-file` works without a
 * broker - on a laptop, in a ticket, after the topics' retention has passed. */
#ifndef FLEET_CAPTURE_H
#define FLEET_CAPTURE_H

#include <stdio.h>

#include "fleet_record.h"
#include "fleet_scan.h"

/* One capture line -> a record whose bytes (key, value, header values) are malloc'd into *owned
 * (free with fleet_capture_record_free). Returns 0, or -1 with err. */
typedef struct fleet_capture_record {
    fleet_record rec;
    void *blocks[2 + 2 * FLEET_MAX_HEADERS]; /* topic/key/value/header names and values */
    size_t n_blocks;
} fleet_capture_record;
int fleet_capture_parse_line(const char *line, fleet_capture_record *out, char *err, size_t errlen);
void fleet_capture_record_free(fleet_capture_record *r);

/* Reads every line of f into events (keep as in fleet_scan; records that are no envelope are
 * counted in out->scanned and skipped). A malformed line is an error naming its number. */
int fleet_capture_read(FILE *f, fleet_event_keep_fn keep, void *ud, fleet_events *out, char *err, size_t errlen);

#endif
