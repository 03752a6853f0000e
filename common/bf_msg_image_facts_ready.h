/* imageFactsReady: analysed image facts (image-worker -> memory-writer). Conventions: bf_msg.h. */
#ifndef BF_MSG_IMAGE_FACTS_READY_H
#define BF_MSG_IMAGE_FACTS_READY_H

#include "bf_envelope.h"
#include "bf_msg_image_facts.h"

typedef struct bf_msg_image_facts_ready {
    bf_envelope env;
    bf_image_facts facts; /* the payload */
} bf_msg_image_facts_ready;

int bf_msg_image_facts_ready_decode(const char *bytes, size_t len, bf_msg_image_facts_ready *out,
                                    char *err, size_t errlen);
char *bf_msg_image_facts_ready_encode(const bf_msg_image_facts_ready *m, char *err, size_t errlen);
void bf_msg_image_facts_ready_free(bf_msg_image_facts_ready *m);

#endif
