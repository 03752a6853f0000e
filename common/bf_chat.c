#include "bf_chat.h"

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

/* The parsed body and its choices[0], or NULL with err. */
static cJSON *parse_choice(const char *body, size_t len, const cJSON **choice, char *err, size_t errlen) {
    char perr[256];
    cJSON *root = body ? bf_json_parse(body, len, CHAT_MAX_BYTES, CHAT_MAX_DEPTH, perr, sizeof perr) : NULL;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fail(err, errlen, "LLM response is not a JSON object");
        return NULL;
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    if (!cJSON_IsArray(choices) || cJSON_GetArraySize(choices) == 0) {
        cJSON_Delete(root);
        fail(err, errlen, "LLM response has no choices");
        return NULL;
    }
    *choice = cJSON_GetArrayItem(choices, 0);
    return root;
}

char *bf_chat_answer_object_new(const char *body, size_t len, char *err, size_t errlen) {
    const cJSON *choice = NULL;
    cJSON *root = parse_choice(body, len, &choice, err, errlen);
    if (!root) return NULL;
    char *out = NULL;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
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

static const char *nonempty_string(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

static long long usage_field(const cJSON *root, const char *field) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "usage"), field);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e12 ? (long long)v->valuedouble : -1;
}

static char *dup_or(const char *s, const char *dflt) { return s ? strdup(s) : (dflt ? strdup(dflt) : NULL); }

static int read_call(const cJSON *tc, bf_chat_tool_call *c) {
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tc, "function");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(tc, "id");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(tc, "type");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(fn, "name");
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(fn, "arguments");
    c->id = dup_or(cJSON_IsString(id) ? id->valuestring : NULL, "");
    c->type = dup_or(cJSON_IsString(type) ? type->valuestring : NULL, "");
    c->name = cJSON_IsString(name) ? strdup(name->valuestring) : NULL;
    if (cJSON_IsString(args)) c->arguments = strdup(args->valuestring);
    else if (args && !cJSON_IsNull(args)) c->arguments = cJSON_PrintUnformatted(args);
    if (!c->id || !c->type || (cJSON_IsString(name) && !c->name) || (args && !cJSON_IsNull(args) && !c->arguments))
        return -1;
    return 0;
}

int bf_chat_reply_parse(const char *body, size_t len, bf_chat_reply *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = -1;
    const cJSON *choice = NULL;
    cJSON *root = parse_choice(body, len, &choice, err, errlen);
    if (!root) return -1;
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    if (!cJSON_IsObject(msg)) {
        cJSON_Delete(root);
        fail(err, errlen, "LLM response has no message");
        return -1;
    }
    out->prompt_tokens = usage_field(root, "prompt_tokens");
    out->completion_tokens = usage_field(root, "completion_tokens");
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
    if (cJSON_IsString(fr) && !(out->finish_reason = strdup(fr->valuestring))) {
        cJSON_Delete(root);
        goto oom;
    }
    out->message = cJSON_DetachItemViaPointer((cJSON *)choice, msg);
    cJSON_Delete(root);
    out->content = nonempty_string(out->message, "content");
    out->refusal = nonempty_string(out->message, "refusal");
    const cJSON *tcs = cJSON_GetObjectItemCaseSensitive(out->message, "tool_calls");
    if (cJSON_IsArray(tcs)) {
        size_t n = (size_t)cJSON_GetArraySize(tcs);
        out->n_calls_seen = n;
        if (n > BF_CHAT_MAX_TOOL_CALLS) n = BF_CHAT_MAX_TOOL_CALLS;
        out->calls = n ? calloc(n, sizeof *out->calls) : NULL;
        if (n && !out->calls) goto oom;
        const cJSON *tc;
        cJSON_ArrayForEach(tc, tcs) {
            if (out->n_calls == n) break;
            if (read_call(tc, &out->calls[out->n_calls++]) != 0) goto oom;
        }
    }
    return 0;
oom:
    bf_chat_reply_free(out);
    fail(err, errlen, "out of memory");
    return -1;
}

void bf_chat_reply_free(bf_chat_reply *r) {
    for (size_t i = 0; i < r->n_calls; i++) {
        free(r->calls[i].id);
        free(r->calls[i].type);
        free(r->calls[i].name);
        free(r->calls[i].arguments);
    }
    free(r->calls);
    free(r->finish_reason);
    cJSON_Delete(r->message);
    memset(r, 0, sizeof *r);
    r->prompt_tokens = r->completion_tokens = -1;
}

long long bf_chat_usage_tokens(const char *body, size_t len, const char *field) {
    char perr[64];
    cJSON *root = body ? bf_json_parse(body, len, CHAT_MAX_BYTES, CHAT_MAX_DEPTH, perr, sizeof perr) : NULL;
    long long n = usage_field(root, field);
    cJSON_Delete(root);
    return n;
}
