/* The rules every published message follows, shared by the runtime and the test runtime so both
 * put the same trace, key and headers on a message: which trace an input belongs to, which span
 * an output descends from, and which project a dead letter is filed under. Pure functions. */
#ifndef BF_PUBLISH_H
#define BF_PUBLISH_H

#include <stddef.h>

#include "bf_msg.h"
#include "bf_rng.h"
#include "bf_trace.h"

/* The traceparent of an input: header (NULL when absent) when it is a valid traceparent; else a
 * new span in the trace the payload's envelope names (an editor producing with kcat or any plain
 * client sends no headers, and its trace must continue, not restart); else a new trace. */
void bf_publish_input_trace(const char *header, const char *payload, size_t len, bf_rng *rng,
                            char out[BF_TRACEPARENT_LEN + 1]);

/* The traceparent of an output in trace trace_id: a child of cause_traceparent's span when that
 * belongs to the same trace, else a new span (an output for another request than the message
 * that caused it, such as an enrichment caused by image facts). cause_traceparent may be NULL;
 * an invalid trace_id starts a new trace. */
void bf_publish_output_trace(const char *cause_traceparent, const char *trace_id, bf_rng *rng,
                             char out[BF_TRACEPARENT_LEN + 1]);

/* The project a dead letter is keyed and filed by: the failed message's envelope project_id when
 * it is a valid id, else its Kafka key when that is one, else "unknown" (never raw bytes: a key
 * like `x'); DROP TABLE messages;--` must not travel on as a record key). */
void bf_publish_dead_letter_project(const char *key, size_t key_len, const char *payload, size_t len,
                                    char out[BF_ID_MAX + 1]);

/* The fields of an envelope that bf_runtime_publish reads (schema, version, project, trace), for a
 * payload a stage encoded with its own envelope inside: the trace is traceparent's. */
struct bf_envelope;
void bf_publish_route(struct bf_envelope *env, const char *schema, const char *project_id, const char *traceparent);

#endif
