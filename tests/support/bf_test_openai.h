/* OpenAI's published schema of chat-completions requests (tests/fakes/openai, extracted from the
 * OpenAPI description), for tests that check the requests a worker builds without a server. */
#ifndef BF_TEST_OPENAI_H
#define BF_TEST_OPENAI_H

#include <cjson/cJSON.h>

#include "bf_json_schema.h"

/* Loads $BF_SOURCE_DIR/tests/fakes/openai/chat_completions.schema.json (root: the request).
 * NULL (with the reason on stderr) when it cannot. */
bf_json_schema *bf_test_openai_schema_new(void);

/* 0 when body is a valid CreateChatCompletionRequest; else -1 with the violation in err. */
int bf_test_openai_check_request(const bf_json_schema *s, const char *body, char *err, size_t errlen);

#endif
