#include "brain_flow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bf_msg.h"
#include "brain_rules.h"

static brain_tool_env env_of(const brain_flow *f, const char **urls) {
    for (size_t i = 0; i < f->in.n_images && i < BF_MAX_IMAGE_URLS; i++) urls[i] = f->in.images[i].url;
    return (brain_tool_env){.ctx = f->in.ctx, .scenes_known = !f->in.ctx->degraded,
                            .selected_scene = f->in.selected_scene, .request_images = urls,
                            .n_request_images = f->in.n_images < BF_MAX_IMAGE_URLS ? f->in.n_images : BF_MAX_IMAGE_URLS};
}

/* The rules decide; fallback: in place of the model (nothing destructive on a guess). */
static brain_flow_step rules(brain_flow *f, bool fallback, bf_decided_reason reason) {
    const char *urls[BF_MAX_IMAGE_URLS];
    brain_tool_env env = env_of(f, urls);
    brain_rules_input ri = {.prompt = f->in.user_prompt, .n_images = env.n_request_images,
                            .selected_scene = f->in.selected_scene, .image_urls = urls, .ctx = f->in.ctx,
                            .fallback = fallback};
    brain_answer_clear(&f->answer);
    f->decider = BF_DECIDER_RULES;
    f->reason = reason;
    return brain_rules_decide(&ri, &f->answer) == 0 ? BRAIN_FLOW_DONE : BRAIN_FLOW_NO_MEMORY;
}

static brain_flow_step fall_back(brain_flow *f, const char *code, bf_decided_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static brain_flow_step fall_back(brain_flow *f, const char *code, bf_decided_reason reason, const char *fmt, ...) {
    f->error_code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->error_message, sizeof f->error_message, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof f->error_message)
        snprintf(f->error_message + n, sizeof f->error_message - (size_t)n, "; decided by rules instead");
    return rules(f, true, reason);
}

brain_flow_step brain_flow_start(brain_flow *f, const brain_flow_input *in, char **body) {
    memset(f, 0, sizeof *f);
    f->in = *in;
    *body = NULL;
    if (!in->llm) return rules(f, false, BF_REASON_NO_LLM);
    brain_prompt_input pin = {.user_prompt = in->user_prompt, .selected_scene = in->selected_scene,
                              .images = in->images, .n_images = in->n_images, .ctx = in->ctx,
                              .token_budget = in->token_budget, .tools = in->tools, .mode = in->opts->mode};
    if (brain_prompt_build(&pin, &f->prompt) != 0) return BRAIN_FLOW_NO_MEMORY;
    f->prompt_tokens = f->prompt.tokens;
    if (f->prompt.over_budget)
        return fall_back(f, "prompt_over_budget", BF_REASON_PROMPT_OVER_BUDGET, "prompt not sent: %s", f->prompt.why);
    char err[256];
    f->first_body = brain_llm_request_new(in->opts, in->tools, f->prompt.system, f->prompt.user, err, sizeof err);
    *body = f->first_body ? strdup(f->first_body) : NULL;
    if (!*body) return BRAIN_FLOW_NO_MEMORY;
    f->rounds = 1;
    return BRAIN_FLOW_SEND;
}

/* The server's own error text, when its body has one ({"error":{"message"}}). */
static void server_error(const char *resp, size_t len, char *out, size_t outlen) {
    cJSON *j = resp ? cJSON_ParseWithLength(resp, len) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "error"), "message");
    if (cJSON_IsString(m)) snprintf(out, outlen, ": %.300s", m->valuestring);
    else out[0] = '\0';
    cJSON_Delete(j);
}

brain_flow_step brain_flow_answer(brain_flow *f, long status, const char *resp, size_t len, const char *transport_err,
                                  char **body) {
    *body = NULL;
    const char *after = f->rounds > 1 ? " (repair round)" : "";
    if (transport_err || status < 200 || status > 299) {
        char detail[320] = "";
        if (!transport_err) server_error(resp, len, detail, sizeof detail);
        if (status == 0)
            return fall_back(f, "llm_unavailable", BF_REASON_LLM_UNAVAILABLE, "LLM call failed%s: %s", after,
                             transport_err ? transport_err : "no response");
        return fall_back(f, "llm_failed", BF_REASON_LLM_FAILED, "LLM call failed%s (HTTP %ld%s%s)", after, status,
                         transport_err ? ": " : detail, transport_err ? transport_err : "");
    }
    const char *urls[BF_MAX_IMAGE_URLS];
    brain_tool_env env = env_of(f, urls);
    brain_llm_verdict v;
    brain_answer_clear(&f->answer);
    brain_llm_verdict_kind k = brain_llm_classify(resp, len, f->in.opts->mode, f->in.tools, &env, &f->answer, &v);
    /* The server's counts, summed over the rounds; the first round's estimate stands in for none. */
    if (v.prompt_tokens >= 0) {
        if (!f->server_usage) f->prompt_tokens = 0;
        f->server_usage = true;
        f->prompt_tokens += v.prompt_tokens;
    }
    if (v.completion_tokens >= 0) f->completion_tokens += v.completion_tokens;
    brain_flow_step step;
    if (k == BRAIN_LLM_VERDICT_OK) {
        f->decider = BF_DECIDER_LLM;
        f->reason = f->rounds > 1 ? BF_REASON_LLM_REPAIRED : BF_REASON_LLM_ANSWER;
        step = BRAIN_FLOW_DONE;
    } else if ((k == BRAIN_LLM_VERDICT_REPAIR || k == BRAIN_LLM_VERDICT_REFUSED) && f->rounds == 1) {
        char err[256];
        *body = brain_llm_repair_request_new(f->first_body, &v, err, sizeof err);
        f->repair_round = true;
        f->repair_code = v.code;
        f->rounds = 2;
        step = *body ? BRAIN_FLOW_SEND : BRAIN_FLOW_NO_MEMORY;
    } else if (k == BRAIN_LLM_VERDICT_REFUSED) {
        step = fall_back(f, "llm_refused", BF_REASON_LLM_REFUSED, "the model refused%s: %s", after, v.problem);
    } else {
        step = fall_back(f, "llm_invalid_answer", BF_REASON_LLM_INVALID_ANSWER, "no usable LLM answer%s: %s", after,
                         v.problem);
    }
    brain_llm_verdict_clear(&v);
    return step;
}

void brain_flow_clear(brain_flow *f) {
    brain_prompt_clear(&f->prompt);
    free(f->first_body);
    brain_answer_clear(&f->answer);
    memset(f, 0, sizeof *f);
}

void brain_flow_path(const brain_flow *f, char *out, size_t outlen) {
    const char *reason = bf_decided_reason_name(f->reason);
    if (f->decider == BF_DECIDER_LLM)
        snprintf(out, outlen, "%s", f->reason == BF_REASON_LLM_REPAIRED ? "llm_repaired" : "llm");
    else if (f->reason == BF_REASON_NO_LLM) snprintf(out, outlen, "rules");
    else snprintf(out, outlen, "fallback:%s", reason ? reason : "?");
}
