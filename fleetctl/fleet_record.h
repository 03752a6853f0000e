/* One Kafka record as fleetctl sees it, independent of librdkafka so filters and output are
 * unit-tested on plain structs. Bytes are borrowed from the consumed message. */
#ifndef FLEET_RECORD_H
#define FLEET_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_MAX_HEADERS 64

typedef struct fleet_header {
    const char *name;
    const void *value; /* NULL: a header without a value */
    size_t len;
} fleet_header;

typedef struct fleet_record {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 when the broker gave none */
    const void *key;      /* NULL: no key */
    size_t key_len;
    const void *value;    /* NULL: a tombstone */
    size_t len;
    fleet_header headers[FLEET_MAX_HEADERS];
    size_t n_headers;
} fleet_record;

/* The record as one JSON line (no newline), malloc'd, caller frees; NULL when out of memory.
 * Fields: topic, partition, offset, timestamp_ms, timestamp (RFC 3339), key, headers
 * [{name, value}], value. A value (or key, header value) that is valid JSON is embedded as JSON,
 * other UTF-8 text as a string, anything else as *_base64 instead, so the line is always valid
 * JSON whatever the bytes were. */
char *fleet_record_json(const fleet_record *r);

/* The header's value by name (first match), or NULL. */
const fleet_header *fleet_record_header(const fleet_record *r, const char *name);

/* The trace id of a record: the traceparent header's, else the envelope's trace_id. Returns 0
 * with out filled, -1 when the record carries none. */
int fleet_record_trace_id(const fleet_record *r, char out[33]);

/* True when bytes[0..len) is well-formed UTF-8 without NUL bytes (JSON strings must be). */
bool fleet_utf8_text(const void *bytes, size_t len);

#endif
