/* The message decoders on untrusted bytes. The first input byte picks the decoder (mod 9: the seven
 * topic decoders of issue 1, the bare envelope decode/peek, then editorEvents); the rest is the message, placed against a
 * guard page. Properties beyond "no crash, no leak, no UB":
 *   - a rejection writes a NUL-terminated reason;
 *   - what a decoder accepts, the same type's encoder accepts (a worker that forwards a decoded
 *     message must never fail to re-publish it), and decode(encode(m)) succeeds and re-encodes to
 *     the same bytes;
 *   - imageFactsProcessed written by the memory-writer's direct writer (bf_json_out, no cJSON
 *     tree, no verifying decode) is byte for byte what the cJSON encoder makes of the same message,
 *     or both refuse it: for a decoded imageFactsProcessed, and for the one the memory-writer
 *     makes of a decoded imageFactsReady. */
#include "bf_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "bf_envelope.h"
#include "bf_msg.h"
#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_editor_event.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
#include "bf_msg_image_facts_write.h"
#include "bf_msg_image_facts_ready.h"
#include "bf_msg_memory_update.h"

static void check_err(const char *err, size_t cap) {
    if (memchr(err, '\0', cap) == NULL) bf_fuzz_fail("error message", "not NUL-terminated");
    if (err[0] == '\0') bf_fuzz_fail("error message", "empty on a rejection");
}

/* Decode; when accepted, encode, decode the encoding, encode again and compare. */
#define ROUNDTRIP(type, bytes, len)                                                                          \
    do {                                                                                                     \
        bf_msg_##type m;                                                                                     \
        char err[512];                                                                                       \
        memset(err, 'x', sizeof err);                                                                        \
        if (bf_msg_##type##_decode((bytes), (len), &m, err, sizeof err) != 0) {                              \
            check_err(err, sizeof err);                                                                      \
            break;                                                                                           \
        }                                                                                                    \
        char *enc = bf_msg_##type##_encode(&m, err, sizeof err);                                             \
        if (!enc) bf_fuzz_fail(#type ": decoded but does not encode", err);                                 \
        bf_msg_##type m2;                                                                                    \
        if (bf_msg_##type##_decode(enc, strlen(enc), &m2, err, sizeof err) != 0)                             \
            bf_fuzz_fail(#type ": own encoding does not decode", err);                                      \
        char *enc2 = bf_msg_##type##_encode(&m2, err, sizeof err);                                           \
        if (!enc2) bf_fuzz_fail(#type ": re-decoded but does not encode", err);                             \
        if (strcmp(enc, enc2) != 0) bf_fuzz_fail(#type ": encode(decode(encode(m))) differs", enc2);        \
        free(enc2);                                                                                          \
        free(enc);                                                                                           \
        bf_msg_##type##_free(&m2);                                                                           \
        bf_msg_##type##_free(&m);                                                                            \
    } while (0)

/* cJSON prints an integer of 1e15 or more as "1e+15"; the writer prints it exactly. Such an
 * envelope timestamp is the one allowed difference, and only before "payload". */
#define CJSON_EXACT_INT_LIMIT 1000000000000000LL

static void writer_equals_encoder(const bf_msg_image_facts_processed *p) {
    char err[512];
    char *ref = bf_msg_image_facts_processed_encode(p, err, sizeof err);
    bf_json_out w;
    bf_json_out_init(&w);
    int rc = bf_msg_image_facts_processed_write(p, &w, err, sizeof err);
    if (!ref && rc == 0) bf_fuzz_fail("facts writer", "accepts what the cJSON encoder refuses");
    if (ref && rc != 0) bf_fuzz_fail("facts writer: refuses what the cJSON encoder accepts", err);
    if (ref) {
        const char *got = bf_json_out_text(&w);
        if (!got) bf_fuzz_fail("facts writer", "out of memory");
        if (p->env.produced_at_ms < CJSON_EXACT_INT_LIMIT) {
            if (strcmp(got, ref) != 0) bf_fuzz_fail("facts writer: bytes differ from cJSON's", got);
        } else {
            const char *a = strstr(got, ",\"payload\":"), *b = strstr(ref, ",\"payload\":");
            if (!a || !b || strcmp(a, b) != 0) bf_fuzz_fail("facts writer: payload differs from cJSON's", got);
        }
    }
    free(ref);
    bf_json_out_free(&w);
}

/* Both ways the memory-writer's writer meets decoded facts. */
static void facts_writer(unsigned which, const char *bytes, size_t len) {
    char err[512];
    if (which == 3) {
        bf_msg_image_facts_processed p;
        if (bf_msg_image_facts_processed_decode(bytes, len, &p, err, sizeof err) != 0) return;
        writer_equals_encoder(&p);
        bf_msg_image_facts_processed_free(&p);
        return;
    }
    bf_msg_image_facts_ready r;
    if (bf_msg_image_facts_ready_decode(bytes, len, &r, err, sizeof err) != 0) return;
    bf_msg_image_facts_processed p;
    memset(&p, 0, sizeof p);
    if (bf_envelope_init_in_trace(&p.env, BF_SCHEMA_IMAGE_FACTS_PROCESSED, r.env.project_id, r.env.trace_id,
                                  "memory-writer", r.env.produced_at_ms, err, sizeof err) == 0) {
        memcpy(p.source_event_id, r.env.event_id, sizeof p.source_event_id);
        memcpy(p.trace_id, r.facts.trace_id, sizeof p.trace_id);
        memcpy(p.request_id, r.facts.request_id, sizeof p.request_id);
        memcpy(p.content_hash, r.facts.content_hash, sizeof p.content_hash);
        p.facts = r.facts; /* borrowed: r frees it */
        writer_equals_encoder(&p);
    }
    bf_msg_image_facts_ready_free(&r);
}

static void envelope_only(const char *bytes, size_t len) {
    bf_envelope env, env2;
    const cJSON *payload = NULL;
    char err[512];
    cJSON *root = bf_envelope_decode(bytes, len, NULL, &env, &payload, err, sizeof err);
    int peek = bf_envelope_peek(bytes, len, &env2, err, sizeof err);
    if (root) {
        if (!payload) bf_fuzz_fail("envelope", "decoded without a payload");
        if (bf_envelope_check(&env, err, sizeof err) != 0) bf_fuzz_fail("envelope: decoded but fails its check", err);
        if (peek != 0) bf_fuzz_fail("envelope: decode accepts what peek rejects", err);
        char *enc = bf_envelope_encode(&env, payload, err, sizeof err);
        if (!enc) bf_fuzz_fail("envelope: decoded but does not encode", err);
        free(enc);
        cJSON_Delete(root);
    }
}

int bf_fuzz_msg_decode(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned which = data[0] % 9u;
    void *map = NULL;
    size_t map_len = 0;
    const char *bytes = bf_fuzz_guarded_copy(data + 1, size - 1, &map, &map_len);
    if (!bytes) return 0;
    size_t len = size - 1;
    switch (which) {
    case 0: ROUNDTRIP(brain_request, bytes, len); break;
    case 1: ROUNDTRIP(image_analysis_requested, bytes, len); break;
    case 2:
        ROUNDTRIP(image_facts_ready, bytes, len);
        facts_writer(which, bytes, len);
        break;
    case 3:
        ROUNDTRIP(image_facts_processed, bytes, len);
        facts_writer(which, bytes, len);
        break;
    case 4: ROUNDTRIP(memory_update, bytes, len); break;
    case 5: ROUNDTRIP(brain_decision, bytes, len); break;
    case 6: ROUNDTRIP(dead_letter, bytes, len); break;
    case 8: ROUNDTRIP(editor_event, bytes, len); break;
    default: envelope_only(bytes, len); break;
    }
    bf_fuzz_guarded_free(map, map_len);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_msg_decode(data, size);
}
#endif
