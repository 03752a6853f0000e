/* imageFactsProcessed: facts committed to PostgreSQL (memory-writer -> brain-worker). Carries the
 * facts themselves so brain-worker can enrich a waiting request without a database read.
 * trace_id, request_id and content_hash must equal the embedded facts' (checked on decode);
 * content_hash is "" (absent on the wire) when the facts have none: an image that could not be
 * fetched.
 * Conventions: bf_msg.h. */
#ifndef BF_MSG_IMAGE_FACTS_PROCESSED_H
#define BF_MSG_IMAGE_FACTS_PROCESSED_H

#include "bf_envelope.h"
#include "bf_msg_image_facts.h"

typedef struct bf_msg_image_facts_processed {
    bf_envelope env;
    char source_event_id[BF_UUID_LEN + 1]; /* the imageFactsReady event id (UUIDv7) */
    char trace_id[BF_TRACE_ID_LEN + 1];    /* the image trace id */
    char request_id[BF_UUID_LEN + 1];
    char content_hash[65];                 /* "" when the facts have none */
    bf_image_facts facts;
} bf_msg_image_facts_processed;

int bf_msg_image_facts_processed_decode(const char *bytes, size_t len,
                                        bf_msg_image_facts_processed *out, char *err, size_t errlen);
char *bf_msg_image_facts_processed_encode(const bf_msg_image_facts_processed *m, char *err,
                                          size_t errlen);
void bf_msg_image_facts_processed_free(bf_msg_image_facts_processed *m);

#endif
