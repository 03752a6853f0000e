#include "brain_followup.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "brain_rules.h"

static const char *const ordinals[] = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"};

static size_t count_words(const char *s) {
    size_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool w = isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80;
        if (w && !in) n++;
        in = w;
    }
    return n;
}

/* The option a short reply picks, or -1. An answer is a short reply: a new request of its own
 * ("add a scene with the second logo") is not one, and leaves the question behind. */
static int picked_option(const char *prompt, const brain_open_question *q) {
    if (!q->present || q->n_options == 0 || !prompt || count_words(prompt) > 8) return -1;
    for (size_t i = 0; i < q->n_options; i++)
        if (brain_text_has_word(prompt, q->options[i].scene_id)) return (int)i;
    if (brain_text_has_word(prompt, "last") && !brain_text_has_word(prompt, "last time")) return (int)q->n_options - 1;
    for (size_t i = 0; i < q->n_options && i < sizeof ordinals / sizeof ordinals[0]; i++)
        if (brain_text_has_word(prompt, ordinals[i])) return (int)i;
    /* A number alone or after "option"/"number"/"scene": 1-based. */
    for (const char *p = prompt; *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > prompt && isalnum((unsigned char)p[-1]))) continue;
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end && isalnum((unsigned char)*end)) continue; /* "2nd", "10s" */
        if (v >= 1 && (size_t)v <= q->n_options) return (int)v - 1;
        break;
    }
    /* An option's label ("the intro"): whole words, the longest label that matches. */
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < q->n_options; i++) {
        const char *label = q->options[i].label;
        size_t len = strlen(label);
        if (len > best_len && len >= 3 && brain_text_has_word(prompt, label)) {
            best = (int)i;
            best_len = len;
        }
    }
    return best;
}

static bool refers_back(const char *prompt) {
    static const char *const words[] = {"it", "its", "it's", "that scene", "this scene", "the same scene", "that one",
                                        "the new scene", "the scene you just", "the one you just"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (brain_text_has_word(prompt, words[i])) return true;
    return false;
}

void brain_followup_resolve(const char *prompt, const char *selected, const brain_conversation *conv,
                            brain_followup *out) {
    *out = (brain_followup){.prompt = prompt, .selected_scene = selected};
    if (!conv) return;
    int pick = picked_option(prompt, &conv->open);
    if (pick >= 0 && conv->open.pending_prompt && *conv->open.pending_prompt) {
        out->prompt = conv->open.pending_prompt;
        out->selected_scene = conv->open.options[pick].scene_id;
        out->answered = true;
        return;
    }
    bool none_selected = !selected || !*selected;
    if (none_selected && conv->current_scene_id[0] && prompt && refers_back(prompt)) {
        out->selected_scene = conv->current_scene_id;
        out->from_conversation = true;
    }
}

static const char *param_str(const cJSON *params, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *brain_followup_new_scene(const brain_answer *a, const char **name) {
    for (size_t k = 0; a->tool != BRAIN_TOOL_CLARIFY && k <= a->n_then; k++) {
        const cJSON *p = k ? a->then[k - 1].params : a->params;
        const char *id = param_str(p, "new_scene_id");
        if (!id) continue;
        const char *n = param_str(p, "name");
        if (name) *name = n ? n : (k ? a->then[k - 1].summary : a->summary);
        return id;
    }
    return NULL;
}

int brain_followup_after(const brain_conversation *before, const brain_answer *a, const char *request_id,
                         long long turn, const char *asked_prompt, const brain_context *ctx, brain_conversation *out) {
    memset(out, 0, sizeof *out);
    out->turn_count = turn;
    snprintf(out->last_request_id, sizeof out->last_request_id, "%s", request_id ? request_id : "");
    snprintf(out->last_tool, sizeof out->last_tool, "%s", brain_tool_name(a->tool));
    /* The scene acted on: the last step's target, a new scene, or the one it was about already. */
    const char *scene = NULL;
    for (size_t k = 0; a->tool != BRAIN_TOOL_CLARIFY && k <= a->n_then; k++) {
        const char *t = k ? a->then[k - 1].target_scene : a->target_scene;
        if (t && *t) scene = t;
    }
    const char *created = brain_followup_new_scene(a, NULL);
    if (created && !scene) {
        scene = created;
        out->new_scene = true;
    }
    if (!scene && before) scene = before->current_scene_id;
    snprintf(out->current_scene_id, sizeof out->current_scene_id, "%s", scene ? scene : "");
    if (a->tool != BRAIN_TOOL_CLARIFY) return 0;
    brain_open_question *q = &out->open;
    q->present = true;
    snprintf(q->request_id, sizeof q->request_id, "%s", request_id ? request_id : "");
    q->question = strdup(a->question ? a->question : (a->summary ? a->summary : ""));
    q->pending_prompt = strdup(asked_prompt ? asked_prompt : "");
    if (!q->question || !q->pending_prompt) {
        brain_conversation_clear(out);
        return -1;
    }
    for (size_t i = 0; ctx && i < ctx->n_scenes && q->n_options < BRAIN_OPTIONS_MAX; i++) {
        brain_option *o = &q->options[q->n_options++];
        snprintf(o->label, sizeof o->label, "%s", ctx->scenes[i].name ? ctx->scenes[i].name : "");
        snprintf(o->scene_id, sizeof o->scene_id, "%s", ctx->scenes[i].id);
    }
    return 0;
}
