/* The production LLM transport: brain_llm_transport on bf_http_client (curl multi) registered with
 * the runtime's loop, so hundreds of decision calls stay in flight while the loop serves Kafka. */
#ifndef BRAIN_HTTP_H
#define BRAIN_HTTP_H

#include <stddef.h>

#include "bf_log.h"
#include "bf_loop.h"
#include "brain_config.h"
#include "brain_stage.h"

typedef struct brain_http brain_http;

/* Returns NULL with err. The chat-completions URL is derived from cfg->llm_url (see
 * bf_llm_chat_url, common/bf_llm_endpoint.h). log is borrowed. */
brain_http *brain_http_new(bf_loop *loop, const brain_cfg *cfg, long max_concurrent, bf_log *log, char *err,
                           size_t errlen);
void brain_http_free(brain_http *h);
/* The transport view of h (impl = h). */
brain_llm_transport brain_http_transport(brain_http *h);


#endif
