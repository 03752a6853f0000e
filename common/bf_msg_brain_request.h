/* brainRequests: a user prompt for a project (editor/fleetctl -> brain-worker). The project id is
 * the envelope's. Conventions: bf_msg.h. */
#ifndef BF_MSG_BRAIN_REQUEST_H
#define BF_MSG_BRAIN_REQUEST_H

#include "bf_envelope.h"
#include "bf_msg.h"

typedef struct bf_msg_brain_request {
    bf_envelope env;
    char request_id[BF_UUID_LEN + 1]; /* any UUID version: the editor mints it */
    char *prompt;                     /* 1..BF_PROMPT_MAX bytes, newlines allowed */
    bf_strlist image_urls;            /* 0..BF_MAX_IMAGE_URLS http(s) URLs */
    char *selected_scene_id;          /* NULL when absent */
    char *conversation_id;            /* NULL when absent */
    int64_t await_image_facts_ms;     /* 0..BF_AWAIT_FACTS_MAX_MS; -1 when absent */
} bf_msg_brain_request;

int bf_msg_brain_request_decode(const char *bytes, size_t len, bf_msg_brain_request *out, char *err,
                                size_t errlen);
char *bf_msg_brain_request_encode(const bf_msg_brain_request *m, char *err, size_t errlen);
void bf_msg_brain_request_free(bf_msg_brain_request *m);

#endif
