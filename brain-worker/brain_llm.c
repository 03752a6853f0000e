#include "brain_llm.h"

#include "bf_chat.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *brain_llm_request_encode(const char *model, double temperature, const char *system, const char *user) {
    cJSON *root = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(root, "messages");
    cJSON *sys = cJSON_CreateObject(), *usr = cJSON_CreateObject();
    cJSON *fmt = cJSON_AddObjectToObject(root, "response_format");
    char *out = NULL;
    if (!root || !msgs || !sys || !usr || !fmt) goto done;
    cJSON_AddItemToArray(msgs, sys);
    cJSON_AddItemToArray(msgs, usr);
    sys = usr = NULL;
    cJSON *s = cJSON_GetArrayItem(msgs, 0), *u = cJSON_GetArrayItem(msgs, 1);
    if (!cJSON_AddStringToObject(root, "model", model ? model : "") ||
        !cJSON_AddStringToObject(s, "role", "system") || !cJSON_AddStringToObject(s, "content", system) ||
        !cJSON_AddStringToObject(u, "role", "user") || !cJSON_AddStringToObject(u, "content", user) ||
        !cJSON_AddStringToObject(fmt, "type", "json_object"))
        goto done;
    if (temperature >= 0 && !cJSON_AddNumberToObject(root, "temperature", temperature)) goto done;
    out = cJSON_PrintUnformatted(root);
done:
    cJSON_Delete(sys);
    cJSON_Delete(usr);
    cJSON_Delete(root);
    return out;
}

static const char *opt_string(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static brain_llm_result invalid(brain_answer *out, char *err, size_t errlen, const char *why) {
    brain_answer_clear(out);
    snprintf(err, errlen, "%s", why);
    return BRAIN_LLM_INVALID;
}

static brain_llm_result clarified(brain_answer *out, char *err, size_t errlen, const char *question,
                                  const char *why) {
    if (brain_answer_clarify(out, question) != 0) return invalid(out, err, errlen, "out of memory");
    snprintf(err, errlen, "%s", why);
    return BRAIN_LLM_CLARIFIED;
}

static brain_llm_result parse_decision(const cJSON *d, const brain_llm_check *chk, brain_answer *out, char *err,
                                       size_t errlen) {
    const char *tool = opt_string(d, "tool");
    if (!tool) return invalid(out, err, errlen, "answer has no \"tool\" string");
    const char *summary = opt_string(d, "summary");
    out->summary = strdup(summary ? summary : "");
    if (!out->summary) return invalid(out, err, errlen, "out of memory");
    if (strcmp(tool, "clarification") == 0) {
        const char *q = opt_string(d, "question");
        if (!q || !*q) q = summary && *summary ? summary : "Could you tell me more about what you want?";
        return brain_answer_clarify(out, q) == 0 ? BRAIN_LLM_OK : invalid(out, err, errlen, "out of memory");
    }
    if (brain_tool_parse(tool, &out->tool) != 0) {
        char why[200];
        snprintf(why, sizeof why, "unknown tool \"%.80s\"", tool);
        return invalid(out, err, errlen, why);
    }
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(d, "params");
    if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params))
        return invalid(out, err, errlen, "\"params\" is not an object");
    out->params = cJSON_IsObject(params) ? cJSON_Duplicate(params, 1) : cJSON_CreateObject();
    if (!out->params) return invalid(out, err, errlen, "out of memory");
    const char *target = opt_string(d, "target_scene");
    if (target && *target) {
        if (strlen(target) >= sizeof out->target_scene)
            return clarified(out, err, errlen, "Which scene do you mean?", "target_scene too long");
        memcpy(out->target_scene, target, strlen(target) + 1);
    }
    if (brain_tool_needs_scene(out->tool)) {
        if (!out->target_scene[0] && chk->selected_scene && *chk->selected_scene &&
            strlen(chk->selected_scene) < sizeof out->target_scene)
            memcpy(out->target_scene, chk->selected_scene, strlen(chk->selected_scene) + 1);
        if (!out->target_scene[0])
            return clarified(out, err, errlen, "Which scene do you mean? Select it in the storyboard.",
                             "scene tool without target_scene");
        if (chk->scenes_known && !brain_context_find_scene(chk->ctx, out->target_scene)) {
            char why[256];
            snprintf(why, sizeof why, "target_scene \"%.100s\" is not in the storyboard", out->target_scene);
            return clarified(out, err, errlen,
                             "I could not find that scene in your storyboard. Which scene do you mean?", why);
        }
    }
    if (brain_tool_needs_image(out->tool) && chk->n_request_images == 0 && chk->ctx->n_images == 0)
        return clarified(out, err, errlen, "Which image should I use? Please upload it.",
                         "image tool without any image");
    return BRAIN_LLM_OK;
}

brain_llm_result brain_llm_parse_response(const char *body, size_t len, const brain_llm_check *chk,
                                          brain_answer *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (errlen) err[0] = '\0';
    char *obj = bf_chat_answer_object_new(body, len, err, errlen);
    cJSON *d = obj ? cJSON_Parse(obj) : NULL;
    brain_llm_result r;
    if (d) {
        r = parse_decision(d, chk, out, err, errlen);
    } else {
        char why[256];
        snprintf(why, sizeof why, "%s", obj || !*err ? "LLM answer is not a JSON object" : err);
        r = invalid(out, err, errlen, why);
    }
    free(obj);
    cJSON_Delete(d);
    return r;
}

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
        cJSON *arr = tools ? brain_tools_openai_new(tools) : NULL;
        ok = arr != NULL;
        if (ok) cJSON_AddItemToObject(root, "tools", arr);
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
