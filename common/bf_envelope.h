/* The envelope every brainfleet message travels in (docs/topics.md, schemas/common.json):
 *
 *   {"schema":"brainRequests","schema_version":1,"event_id":"<uuidv7>","trace_id":"<32 hex>",
 *    "project_id":"p-123","produced_at_ms":1718000000000,"producer":"brain-worker","payload":{...}}
 *
 * The Kafka key is the project id (so one project's messages stay ordered on one partition) and
 * the headers repeat schema and version (BF_HDR_SCHEMA, BF_HDR_SCHEMA_VERSION) so routers and
 * replay tools can filter without parsing the body; traceparent travels as its own header. */
#ifndef BF_ENVELOPE_H
#define BF_ENVELOPE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_msg.h"

#define BF_HDR_SCHEMA "bf-schema"                 /* value: "brainRequests" ... */
#define BF_HDR_SCHEMA_VERSION "bf-schema-version" /* value: "1" */

typedef struct bf_envelope {
    char schema[BF_SCHEMA_NAME_MAX + 1];  /* one of the BF_SCHEMA_* names */
    int schema_version;                   /* BF_SCHEMA_VERSION for what we produce */
    char event_id[BF_UUID_LEN + 1];       /* UUIDv7, unique per message (idempotency key) */
    char trace_id[BF_TRACE_ID_LEN + 1];   /* W3C trace id shared by the whole request */
    char project_id[BF_ID_MAX + 1];       /* also the Kafka key */
    int64_t produced_at_ms;               /* Unix ms */
    char producer[BF_PRODUCER_MAX + 1];   /* "brain-worker" ... */
} bf_envelope;

/* Fills a new envelope: a fresh UUIDv7 event id, the trace id of traceparent (a fresh random trace
 * id when traceparent is NULL or invalid), schema version BF_SCHEMA_VERSION. Returns 0, or -1 with
 * err when schema, project_id or producer are not valid. */
int bf_envelope_init(bf_envelope *env, const char *schema, const char *project_id,
                     const char *traceparent, const char *producer, int64_t now_ms, char *err,
                     size_t errlen);

/* The same for an event that continues a known trace: trace_id (32 hex, checked) instead of a
 * traceparent, so no random trace id is minted only to be replaced. */
int bf_envelope_init_in_trace(bf_envelope *env, const char *schema, const char *project_id,
                              const char *trace_id, const char *producer, int64_t now_ms, char *err,
                              size_t errlen);

/* Checks an envelope's fields (names, formats, bounds). Returns 0 or -1 with err. */
int bf_envelope_check(const bf_envelope *env, char *err, size_t errlen);

/* The full message as malloc'd NUL-terminated compact JSON (caller frees): env's fields plus
 * payload (borrowed, not copied, not freed). NULL with err when env is invalid or out of memory. */
char *bf_envelope_encode(const bf_envelope *env, const cJSON *payload, char *err, size_t errlen);

/* Parses untrusted bytes (not NUL-terminated; bounded, UTF-8 and depth checked by bf_json_parse)
 * and validates the envelope. expect_schema may be NULL to accept any known schema. On success
 * returns the parsed tree (caller cJSON_Delete's) with *payload pointing into it; NULL with err
 * ("schema_version: unsupported version 2", "payload: missing") otherwise. */
cJSON *bf_envelope_decode(const char *bytes, size_t len, const char *expect_schema, bf_envelope *env,
                          const cJSON **payload, char *err, size_t errlen);

/* Only the envelope (routing, replay filters, DLQ tooling). Returns 0 or -1 with err. */
int bf_envelope_peek(const char *bytes, size_t len, bf_envelope *env, char *err, size_t errlen);

/* "1" for the version header; buf needs 12 bytes. */
const char *bf_envelope_version_header(const bf_envelope *env, char buf[12]);

#endif
