/* A deadLetters message read tolerantly: fleetctl must be able to show and retry an entry even
 * when some optional field is odd, so only what retry needs (source topic, original bytes) is
 * required here; the strict contract decoder is for the workers. */
#ifndef FLEET_DLQ_ENTRY_H
#define FLEET_DLQ_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fleet_record.h"

typedef struct fleet_dlq_header {
    char *name;
    unsigned char *value; /* NULL: no value */
    size_t len;
} fleet_dlq_header;

typedef struct fleet_dlq_entry {
    char reason_code[65];
    char *reason_message;
    char *topic;            /* full source topic name (prefix included) */
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;   /* -1 when unknown */
    char *consumer_group;
    char *worker;
    unsigned char *key;     /* NULL: the original had no key */
    size_t key_len;
    unsigned char *payload; /* NULL: the original had no value */
    size_t len;
    fleet_dlq_header headers[FLEET_MAX_HEADERS];
    size_t n_headers;
    int64_t failed_at_ms;   /* -1 when unknown */
    char trace_id[33];      /* the envelope's, "" when absent */
} fleet_dlq_entry;

/* Parses the deadLetters envelope. Returns 0, or -1 with err ("payload.source.topic: missing").
 * On failure nothing needs freeing. */
int fleet_dlq_entry_parse(const void *bytes, size_t len, fleet_dlq_entry *out, char *err, size_t errlen);
void fleet_dlq_entry_free(fleet_dlq_entry *e);

/* The original message as a record view (borrowing e's memory) for re-producing. */
void fleet_dlq_entry_original(const fleet_dlq_entry *e, fleet_record *r);

/* "P:OFFSET" -> partition/offset. Returns 0 or -1 with err. */
int fleet_dlq_ref_parse(const char *s, int32_t *partition, int64_t *offset, char *err, size_t errlen);

#endif
