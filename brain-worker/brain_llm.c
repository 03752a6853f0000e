#include "brain_llm.h"

#include "bf_chat.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long brain_llm_completion_tokens(const char *body, size_t len) {
    long long n = bf_chat_usage_tokens(body, len, "completion_tokens");
    return n < 0 ? 0 : n;
}

long long brain_llm_prompt_tokens(const char *body, size_t len) {
    long long n = bf_chat_usage_tokens(body, len, "prompt_tokens");
    return n < 0 ? 0 : n;
}

int brain_llm_mode_parse(const char *s, brain_llm_mode *out) {
    if (s && strcmp(s, "tools") == 0) *out = BRAIN_LLM_MODE_TOOLS;
    else if (s && strcmp(s, "json") == 0) *out = BRAIN_LLM_MODE_JSON;
    else return -1;
    return 0;
}

static cJSON *message_new(const char *role, const char *content) {
    cJSON *m = cJSON_CreateObject();
    if (m && cJSON_AddStringToObject(m, "role", role) && cJSON_AddStringToObject(m, "content", content)) return m;
    cJSON_Delete(m);
    return NULL;
}

static char *print_or_fail(cJSON *root, char *err, size_t errlen) {
    char *out = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    if (!out) snprintf(err, errlen, "out of memory building the LLM request");
    return out;
}

char *brain_llm_request_new(const brain_llm_opts *o, const brain_tools *tools, const char *system, const char *user,
                            char *err, size_t errlen) {
    cJSON *root = cJSON_CreateObject();
    cJSON *msgs = root ? cJSON_AddArrayToObject(root, "messages") : NULL;
    cJSON *sys = message_new("system", system ? system : ""), *usr = message_new("user", user ? user : "");
    bool ok = msgs && sys && usr && cJSON_AddStringToObject(root, "model", o->model ? o->model : "");
    if (ok) {
        cJSON_AddItemToArray(msgs, sys);
        cJSON_AddItemToArray(msgs, usr);
        sys = usr = NULL;
    }
    if (ok && o->mode == BRAIN_LLM_MODE_TOOLS) {
        ok = tools && cJSON_AddRawToObject(root, "tools", brain_tools_openai_json(tools)) != NULL;
        /* "required": the model must call a function; a question is askClarification. */
        ok = ok && cJSON_AddStringToObject(root, "tool_choice", "required");
    } else if (ok) {
        cJSON *fmt = cJSON_AddObjectToObject(root, "response_format");
        ok = fmt && cJSON_AddStringToObject(fmt, "type", "json_object");
    }
    if (ok && o->temperature >= 0) ok = cJSON_AddNumberToObject(root, "temperature", o->temperature) != NULL;
    if (ok && o->max_tokens > 0)
        ok = cJSON_AddNumberToObject(root, o->max_tokens_field && *o->max_tokens_field ? o->max_tokens_field
                                                                                         : "max_tokens",
                                     (double)o->max_tokens) != NULL;
    cJSON_Delete(sys);
    cJSON_Delete(usr);
    if (!ok) {
        cJSON_Delete(root);
        root = NULL;
    }
    return print_or_fail(root, err, errlen);
}

char *brain_llm_repair_request_new(const char *first_body, const brain_llm_verdict *v, char *err, size_t errlen) {
    cJSON *root = first_body ? cJSON_Parse(first_body) : NULL;
    cJSON *msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!cJSON_IsArray(msgs) || !cJSON_IsArray(v->followup) || cJSON_GetArraySize(v->followup) == 0) {
        cJSON_Delete(root);
        snprintf(err, errlen, "%s", cJSON_IsArray(msgs) ? "nothing to repair" : "first request is not a chat request");
        return NULL;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, v->followup) {
        cJSON *copy = cJSON_Duplicate(m, true);
        if (!copy) {
            cJSON_Delete(root);
            root = NULL;
            break;
        }
        cJSON_AddItemToArray(msgs, copy);
    }
    return print_or_fail(root, err, errlen);
}
