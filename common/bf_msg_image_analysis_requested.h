/* imageAnalysisRequested: one image to analyse, fire and forget (brain-worker -> image-worker).
 * Conventions: bf_msg.h. */
#ifndef BF_MSG_IMAGE_ANALYSIS_REQUESTED_H
#define BF_MSG_IMAGE_ANALYSIS_REQUESTED_H

#include "bf_envelope.h"
#include "bf_msg.h"

typedef struct bf_msg_image_analysis_requested {
    bf_envelope env;
    char request_id[BF_UUID_LEN + 1];
    char image_trace_id[BF_TRACE_ID_LEN + 1]; /* random (bf_trace_id_new), never from user text */
    char *url;
    /* Optional context, all NULL when absent. */
    char *conversation_id;
    char *scene_id;
    char *prompt_excerpt; /* at most BF_CONTEXT_TEXT_MAX bytes */
} bf_msg_image_analysis_requested;

int bf_msg_image_analysis_requested_decode(const char *bytes, size_t len,
                                           bf_msg_image_analysis_requested *out, char *err,
                                           size_t errlen);
char *bf_msg_image_analysis_requested_encode(const bf_msg_image_analysis_requested *m, char *err,
                                             size_t errlen);
void bf_msg_image_analysis_requested_free(bf_msg_image_analysis_requested *m);

#endif
