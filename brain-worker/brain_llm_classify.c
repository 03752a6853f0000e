/* brain_llm_classify and the repair round's follow-up messages (brain_llm.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_chat.h"
#include "bf_json_check.h"
#include "bf_msg.h"
#include "brain_llm.h"

/* Arguments are a few hundred bytes; the bounds only stop a runaway model. */
#define ARGS_MAX_BYTES (64u << 10)
#define ARGS_MAX_DEPTH 16u

/* One function call, from tool_calls (args_text) or from a JSON-mode answer object (args). */
typedef struct call_in {
    const char *id;
    const char *type;
    const char *name;
    const char *args_text;
    const cJSON *args;
} call_in;

static brain_llm_verdict_kind verdict(brain_llm_verdict *v, brain_llm_verdict_kind kind, const char *code,
                                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static brain_llm_verdict_kind verdict(brain_llm_verdict *v, brain_llm_verdict_kind kind, const char *code,
                                      const char *fmt, ...) {
    v->kind = kind;
    v->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->problem, sizeof v->problem, fmt, ap);
    va_end(ap);
    return kind;
}

void brain_llm_verdict_clear(brain_llm_verdict *v) {
    cJSON_Delete(v->followup);
    memset(v, 0, sizeof *v);
}

/* ---- follow-up messages ---------------------------------------------------------------------- */

static cJSON *text_message(const char *role, const char *content) {
    cJSON *m = cJSON_CreateObject();
    if (m && cJSON_AddStringToObject(m, "role", role) && cJSON_AddStringToObject(m, "content", content)) return m;
    cJSON_Delete(m);
    return NULL;
}

static bool is_json(const char *text) {
    char err[32];
    cJSON *j = text ? bf_json_parse(text, strlen(text), ARGS_MAX_BYTES, ARGS_MAX_DEPTH, err, sizeof err) : NULL;
    bool ok = j != NULL;
    cJSON_Delete(j);
    return ok;
}

/* The assistant turn with its calls, then one tool result per call: the problem for the call at
 * fault (all of them when bad is -1), a pointer to it for the others. Servers refuse an assistant
 * turn whose calls are not all answered. A call's arguments that are not JSON are echoed as "{}"
 * (some servers re-parse them), which the problem text says. */
static cJSON *followup_calls(const call_in *calls, size_t n, const char *content, long bad, const char *problem) {
    cJSON *out = cJSON_CreateArray();
    cJSON *asst = cJSON_CreateObject();
    cJSON *tcs = asst ? cJSON_AddArrayToObject(asst, "tool_calls") : NULL;
    bool ok = out && tcs && cJSON_AddStringToObject(asst, "role", "assistant") &&
              (content ? cJSON_AddStringToObject(asst, "content", content) : cJSON_AddNullToObject(asst, "content"));
    if (ok) {
        cJSON_AddItemToArray(out, asst);
        asst = NULL;
    }
    char ids[BF_CHAT_MAX_TOOL_CALLS][64];
    for (size_t i = 0; ok && i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "%.60s", calls[i].id && *calls[i].id ? calls[i].id : "");
        if (!ids[i][0]) snprintf(ids[i], sizeof ids[i], "call_%zu", i + 1);
        cJSON *tc = cJSON_CreateObject();
        cJSON *fn = tc ? cJSON_AddObjectToObject(tc, "function") : NULL;
        char *args = calls[i].args ? cJSON_PrintUnformatted(calls[i].args) : NULL;
        const char *args_text = args ? args : is_json(calls[i].args_text) ? calls[i].args_text : "{}";
        ok = fn && cJSON_AddStringToObject(tc, "id", ids[i]) && cJSON_AddStringToObject(tc, "type", "function") &&
             cJSON_AddStringToObject(fn, "name", calls[i].name ? calls[i].name : "") &&
             cJSON_AddStringToObject(fn, "arguments", args_text);
        free(args);
        if (tc) cJSON_AddItemToArray(tcs, tc);
    }
    for (size_t i = 0; ok && i < n; i++) {
        char other[256];
        snprintf(other, sizeof other,
                 "Not applied: the answer was rejected as a whole because of call %ld (see its result). Send all "
                 "calls again, corrected.",
                 bad + 1);
        cJSON *tm = text_message("tool", bad < 0 || (size_t)bad == i ? problem : other);
        ok = tm && cJSON_AddStringToObject(tm, "tool_call_id", ids[i]);
        if (tm) cJSON_AddItemToArray(out, tm);
    }
    cJSON_Delete(asst);
    if (ok) return out;
    cJSON_Delete(out);
    return NULL;
}

/* No call to answer: the model's text as the assistant turn, the problem as the user's reply. */
static cJSON *followup_text(const char *said, const char *problem) {
    cJSON *out = cJSON_CreateArray();
    cJSON *a = text_message("assistant", said ? said : "");
    cJSON *u = text_message("user", problem);
    if (out && a && u) {
        cJSON_AddItemToArray(out, a);
        cJSON_AddItemToArray(out, u);
        return out;
    }
    cJSON_Delete(out);
    cJSON_Delete(a);
    cJSON_Delete(u);
    return NULL;
}

/* ---- calls ----------------------------------------------------------------------------------- */

/* Checks every call; on OK the answer is in out. On failure *bad is the index at fault (-1: the
 * answer as a whole) and the verdict holds the problem. */
static brain_llm_verdict_kind check_calls(const call_in *calls, size_t n, size_t n_seen, const brain_tools *tools,
                                          const brain_tool_env *env, bool cut, brain_answer *out, brain_llm_verdict *v,
                                          long *bad) {
    const char *cut_note = cut ? "your answer was cut off at the token limit (finish_reason \"length\"), so " : "";
    const char *cut_code = cut ? "length" : NULL;
    *bad = -1;
    v->n_calls = n_seen;
    if (n_seen > BF_WORKFLOW_STEPS_MAX)
        return verdict(v, BRAIN_LLM_VERDICT_REPAIR, "too_many_calls",
                       "%syou made %zu function calls; at most %d are allowed in one answer", cut_note, n_seen,
                       BF_WORKFLOW_STEPS_MAX);
    for (size_t i = 0; i < n; i++) {
        char at[160] = "";
        if (n > 1) snprintf(at, sizeof at, "call %zu (%.80s): ", i + 1, calls[i].name ? calls[i].name : "?");
        *bad = (long)i;
        if (calls[i].type && *calls[i].type && strcmp(calls[i].type, "function") != 0)
            return verdict(v, BRAIN_LLM_VERDICT_REPAIR, cut_code ? cut_code : "unknown_tool",
                           "%s%stool type \"%.40s\" is not supported: call a function", cut_note, at, calls[i].type);
        cJSON *parsed = NULL;
        const cJSON *args = calls[i].args;
        if (!args) {
            char perr[200] = "missing";
            parsed = calls[i].args_text ? bf_json_parse(calls[i].args_text, strlen(calls[i].args_text),
                                                        ARGS_MAX_BYTES, ARGS_MAX_DEPTH, perr, sizeof perr)
                                        : NULL;
            if (!cJSON_IsObject(parsed)) {
                cJSON_Delete(parsed);
                return verdict(v, BRAIN_LLM_VERDICT_REPAIR, cut_code ? cut_code : "arguments_not_json",
                               "%s%sarguments are not a JSON object (%s); they were not applied", cut_note, at,
                               parsed ? "a JSON value, but not an object" : perr);
            }
            args = parsed;
        }
        brain_answer one;
        char why[700];
        brain_call_result r = brain_tools_check_call(tools, calls[i].name, args, env, &one, why, sizeof why);
        cJSON_Delete(parsed);
        if (r == BRAIN_CALL_NO_MEMORY)
            return verdict(v, BRAIN_LLM_VERDICT_FAILED, "out_of_memory", "out of memory checking the answer");
        if (r != BRAIN_CALL_OK)
            return verdict(v, BRAIN_LLM_VERDICT_REPAIR,
                           cut_code ? cut_code : r == BRAIN_CALL_UNKNOWN_TOOL ? "unknown_tool" : "invalid_arguments",
                           "%s%s%s", cut_note, at, why);
        if (one.tool == BRAIN_TOOL_CLARIFY && n > 1) {
            brain_answer_clear(&one);
            return verdict(v, BRAIN_LLM_VERDICT_REPAIR, "clarification_not_alone",
                           "%sask with askClarification alone, or act without asking: not both in one answer", at);
        }
        if (i == 0) {
            *out = one;
        } else {
            brain_step s;
            brain_step_take(&one, &s);
            if (brain_answer_add_step(out, &s) != 0)
                return verdict(v, BRAIN_LLM_VERDICT_FAILED, "out_of_memory", "out of memory");
        }
    }
    *bad = -1;
    v->kind = BRAIN_LLM_VERDICT_OK;
    v->code = "ok";
    return BRAIN_LLM_VERDICT_OK;
}

static brain_llm_verdict_kind tool_calls(const bf_chat_reply *r, const brain_tools *tools, const brain_tool_env *env,
                                         bool cut, brain_answer *out, brain_llm_verdict *v) {
    call_in calls[BF_CHAT_MAX_TOOL_CALLS];
    for (size_t i = 0; i < r->n_calls; i++)
        calls[i] = (call_in){.id = r->calls[i].id, .type = r->calls[i].type, .name = r->calls[i].name,
                             .args_text = r->calls[i].arguments};
    long bad;
    brain_llm_verdict_kind k = check_calls(calls, r->n_calls, r->n_calls_seen, tools, env, cut, out, v, &bad);
    if (k == BRAIN_LLM_VERDICT_OK) {
        v->content_ignored = r->content != NULL;
        return k;
    }
    brain_answer_clear(out);
    if (k == BRAIN_LLM_VERDICT_REPAIR && !(v->followup = followup_calls(calls, r->n_calls, r->content, bad, v->problem)))
        return verdict(v, BRAIN_LLM_VERDICT_FAILED, "out_of_memory", "out of memory building the repair");
    return k;
}

/* JSON mode: {"tool", "arguments"} or {"calls": [{"tool", "arguments"}, ...]} in the content. */
static brain_llm_verdict_kind json_answer(const bf_chat_reply *r, const brain_tools *tools, const brain_tool_env *env,
                                          bool cut, brain_answer *out, brain_llm_verdict *v) {
    char *text = bf_chat_extract_object(r->content);
    char perr[200] = "no {...} in it";
    cJSON *obj = text ? bf_json_parse(text, strlen(text), ARGS_MAX_BYTES, ARGS_MAX_DEPTH + 2, perr, sizeof perr) : NULL;
    free(text);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "calls");
    const cJSON *tool = cJSON_GetObjectItemCaseSensitive(obj, "tool");
    brain_llm_verdict_kind k;
    if (!cJSON_IsObject(obj) || (!cJSON_IsArray(list) && !cJSON_IsString(tool))) {
        k = verdict(v, BRAIN_LLM_VERDICT_REPAIR, cut ? "length" : "no_answer_object",
                    "%syour answer is not the JSON object asked for (%s): answer with {\"tool\": \"<function name>\", "
                    "\"arguments\": {...}} and nothing else",
                    cut ? "your answer was cut off at the token limit (finish_reason \"length\"), so " : "",
                    !cJSON_IsObject(obj) ? perr : "it has no \"tool\" string");
    } else {
        call_in calls[BF_CHAT_MAX_TOOL_CALLS];
        size_t n = 0, seen = 0;
        const cJSON *one = cJSON_IsArray(list) ? list->child : obj;
        for (; one; one = cJSON_IsArray(list) ? one->next : NULL) {
            seen++;
            if (n == BF_CHAT_MAX_TOOL_CALLS) continue;
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(one, "tool");
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(one, "arguments");
            calls[n++] = (call_in){.name = cJSON_IsString(name) ? name->valuestring : NULL,
                                   .args = args && !cJSON_IsNull(args) ? args : NULL};
        }
        long bad;
        k = n ? check_calls(calls, n, seen, tools, env, cut, out, v, &bad)
              : verdict(v, BRAIN_LLM_VERDICT_REPAIR, "no_answer_object", "\"calls\" is empty: make at least one call");
    }
    cJSON_Delete(obj);
    if (k == BRAIN_LLM_VERDICT_OK) return k;
    brain_answer_clear(out);
    if (k == BRAIN_LLM_VERDICT_REPAIR) {
        char ask[1200];
        snprintf(ask, sizeof ask, "Your answer could not be used: %s. Answer again with the JSON object only.", v->problem);
        if (!(v->followup = followup_text(r->content, ask)))
            return verdict(v, BRAIN_LLM_VERDICT_FAILED, "out_of_memory", "out of memory building the repair");
    }
    return k;
}

brain_llm_verdict_kind brain_llm_classify(const char *body, size_t len, brain_llm_mode mode, const brain_tools *tools,
                                          const brain_tool_env *env, brain_answer *out, brain_llm_verdict *v) {
    memset(out, 0, sizeof *out);
    memset(v, 0, sizeof *v);
    v->prompt_tokens = v->completion_tokens = -1;
    bf_chat_reply r;
    char err[256];
    if (bf_chat_reply_parse(body, len, &r, err, sizeof err) != 0)
        return verdict(v, BRAIN_LLM_VERDICT_FAILED, strcmp(err, "out of memory") == 0 ? "out_of_memory" : "not_a_completion",
                       "%s", err);
    v->prompt_tokens = r.prompt_tokens;
    v->completion_tokens = r.completion_tokens;
    bool cut = r.finish_reason && strcmp(r.finish_reason, "length") == 0;
    brain_llm_verdict_kind k;
    const char *problem = NULL;
    if (r.n_calls_seen > 0) {
        k = tool_calls(&r, tools, env, cut, out, v);
    } else if (r.refusal) {
        k = verdict(v, BRAIN_LLM_VERDICT_REFUSED, "refusal",
                    "You declined (\"%.300s\"), but this is the user's own request about their video: call one of the "
                    "functions, or askClarification with a question for the user if you should not act",
                    r.refusal);
        problem = v->problem;
    } else if (mode == BRAIN_LLM_MODE_JSON && r.content) {
        k = json_answer(&r, tools, env, cut, out, v);
    } else if (cut) {
        k = verdict(v, BRAIN_LLM_VERDICT_REPAIR, "length",
                    "Your answer was cut off at the token limit (finish_reason \"length\") before any function call: "
                    "answer again with one short function call");
        problem = v->problem;
    } else {
        k = verdict(v, BRAIN_LLM_VERDICT_REFUSED, "no_tool_call",
                    mode == BRAIN_LLM_MODE_TOOLS
                        ? "You answered with text instead of calling a function: call one of the functions (several, in "
                          "order, for a request with several steps); to ask the user something, call askClarification"
                        : "Your answer is empty: answer with {\"tool\": \"<function name>\", \"arguments\": {...}}");
        problem = v->problem;
    }
    if (problem && !(v->followup = followup_text(r.content ? r.content : r.refusal, problem)))
        k = verdict(v, BRAIN_LLM_VERDICT_FAILED, "out_of_memory", "out of memory building the repair");
    bf_chat_reply_free(&r);
    return k;
}
