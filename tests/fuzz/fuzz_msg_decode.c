/* The message decoders on untrusted bytes. The first input byte picks the decoder (mod 8: the seven
 * topic decoders, then the bare envelope decode/peek); the rest is the message, placed against a
 * guard page. Properties beyond "no crash, no leak, no UB":
 *   - a rejection writes a NUL-terminated reason;
 *   - what a decoder accepts, the same type's encoder accepts (a worker that forwards a decoded
 *     message must never fail to re-publish it), and decode(encode(m)) succeeds and re-encodes to
 *     the same bytes. */
#include "bf_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "bf_envelope.h"
#include "bf_msg.h"
#include "bf_msg_brain_decision.h"
#include "bf_msg_brain_request.h"
#include "bf_msg_dead_letter.h"
#include "bf_msg_image_analysis_requested.h"
#include "bf_msg_image_facts_processed.h"
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
    unsigned which = data[0] % 8u;
    void *map = NULL;
    size_t map_len = 0;
    const char *bytes = bf_fuzz_guarded_copy(data + 1, size - 1, &map, &map_len);
    if (!bytes) return 0;
    size_t len = size - 1;
    switch (which) {
    case 0: ROUNDTRIP(brain_request, bytes, len); break;
    case 1: ROUNDTRIP(image_analysis_requested, bytes, len); break;
    case 2: ROUNDTRIP(image_facts_ready, bytes, len); break;
    case 3: ROUNDTRIP(image_facts_processed, bytes, len); break;
    case 4: ROUNDTRIP(memory_update, bytes, len); break;
    case 5: ROUNDTRIP(brain_decision, bytes, len); break;
    case 6: ROUNDTRIP(dead_letter, bytes, len); break;
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
