/* W3C Trace Context (`traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`), carried
 * in a Kafka header from every input to every output, so one request can be followed across
 * stages. Ids come from getrandom(2). */
#ifndef BF_TRACE_H
#define BF_TRACE_H

#define BF_TRACEPARENT_LEN 55
#define BF_TRACE_ID_LEN 32

/* A new trace: out receives a NUL-terminated traceparent. */
void bf_trace_new(char out[BF_TRACEPARENT_LEN + 1]);
/* Same trace id as parent, new span id. parent must be valid (see bf_trace_parse). */
void bf_trace_child(const char *parent, char out[BF_TRACEPARENT_LEN + 1]);
/* The same from a caller's seeded source: for the per-message hot path (no syscall). */
struct bf_rng;
void bf_trace_new_rng(struct bf_rng *rng, char out[BF_TRACEPARENT_LEN + 1]);
void bf_trace_child_rng(const char *parent, struct bf_rng *rng, char out[BF_TRACEPARENT_LEN + 1]);
/* A new span in trace trace_id (32 lowercase hex, the caller has validated it) with flags (2 hex
 * characters): the per-message path, without parsing anything again. */
void bf_trace_span_in_rng(const char *trace_id, const char *flags, struct bf_rng *rng,
                          char out[BF_TRACEPARENT_LEN + 1]);
/* Validates a traceparent (version 00, lowercase hex, non-zero ids) and copies its trace id.
 * Returns 0, or -1 when malformed (trace_id untouched). trace_id may be NULL. */
int bf_trace_parse(const char *traceparent, char trace_id[BF_TRACE_ID_LEN + 1]);
/* True when s is exactly 32 lowercase hex digits and not all zero. */
int bf_trace_id_valid(const char *s);
/* A new random trace id (32 lowercase hex, non-zero): image trace ids, never derived from text. */
void bf_trace_id_new(char out[BF_TRACE_ID_LEN + 1]);
/* A traceparent for an existing trace id with a new span id (flags 01); -1 when trace_id is
 * not valid (out untouched). */
int bf_trace_from_id(const char *trace_id, char out[BF_TRACEPARENT_LEN + 1]);
/* Fills buf with n random bytes (getrandom; never fails for small n on Linux >= 3.17). */
void bf_random_bytes(void *buf, unsigned n);
/* n random bytes as 2n lowercase hex digits plus NUL into out. */
void bf_random_hex(char *out, unsigned n);

#endif
