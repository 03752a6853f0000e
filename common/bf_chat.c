#include "bf_chat.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"

/* A completion is a few KiB; the bound only stops a hostile or broken endpoint. */
#define CHAT_MAX_BYTES (8u << 20)
#define CHAT_MAX_DEPTH 64u

char *bf_chat_extract_object(const char *content) {
    if (!content) return NULL;
    /* A brace inside a string value cannot move the outermost pair. */
    const char *start = strchr(content, '{');
    const char *end = strrchr(content, '}');
    if (!start || !end || end < start) return NULL;
    size_t n = (size_t)(end - start) + 1;
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, start, n);
    out[n] = '\0';
    return out;
}

static char *fail(char *err, size_t errlen, const char *why) {
    snprintf(err, errlen, "%s", why);
    return NULL;
}

char *bf_chat_answer_object_new(const char *body, size_t len, char *err, size_t errlen) {
    char perr[256];
    cJSON *root = body ? bf_json_parse(body, len, CHAT_MAX_BYTES, CHAT_MAX_DEPTH, perr, sizeof perr) : NULL;
    char *out = NULL;
    if (!cJSON_IsObject(root)) {
        fail(err, errlen, "LLM response is not a JSON object");
        goto done;
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (!cJSON_IsArray(choices) || cJSON_GetArraySize(choices) == 0) {
        fail(err, errlen, "LLM response has no choices");
        goto done;
    }
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(choices, 0), "message");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
    if (!cJSON_IsString(content) || !*content->valuestring) {
        fail(err, errlen, "LLM response has no message content");
        goto done;
    }
    out = bf_chat_extract_object(content->valuestring);
    cJSON *check = out ? cJSON_Parse(out) : NULL;
    if (!cJSON_IsObject(check)) {
        free(out);
        out = fail(err, errlen, "LLM answer is not a JSON object");
    }
    cJSON_Delete(check);
done:
    cJSON_Delete(root);
    return out;
}
