/* deadLetters: a message a stage could not process, with why and where it came from, and its
 * original bytes (base64 on the wire, decoded here) so it can be re-published exactly.
 * Conventions: bf_msg.h. */
#ifndef BF_MSG_DEAD_LETTER_H
#define BF_MSG_DEAD_LETTER_H

#include "bf_envelope.h"
#include "bf_msg.h"

typedef struct bf_dead_letter_header {
    char *name;
    unsigned char *value; /* NULL for a header with no value */
    size_t value_len;
} bf_dead_letter_header;

typedef struct bf_msg_dead_letter {
    bf_envelope env;
    char reason_code[BF_ERROR_CODE_MAX + 1]; /* "invalid_json", "schema_invalid" ... */
    char *reason_message;
    char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms;  /* -1 when absent */
    char *consumer_group;
    char *worker;
    unsigned char *original_key; /* NULL when the original had no key */
    size_t original_key_len;
    unsigned char *original_payload; /* NULL when the original had no payload */
    size_t original_payload_len;
    bf_dead_letter_header *headers;
    size_t n_headers;
    int64_t failed_at_ms;
} bf_msg_dead_letter;

int bf_msg_dead_letter_decode(const char *bytes, size_t len, bf_msg_dead_letter *out, char *err,
                              size_t errlen);
char *bf_msg_dead_letter_encode(const bf_msg_dead_letter *m, char *err, size_t errlen);
void bf_msg_dead_letter_free(bf_msg_dead_letter *m);

#endif
