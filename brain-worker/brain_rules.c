#include "brain_rules.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int brain_text_has_word(const char *text, const char *word) {
    if (!text || !word || !*word) return 0;
    size_t wl = strlen(word);
    for (const char *p = text; *p; p++) {
        if (p != text && isalnum((unsigned char)p[-1])) continue;
        if (strncasecmp(p, word, wl) == 0 && !isalnum((unsigned char)p[wl])) return 1;
    }
    return 0;
}

static int has_any(const char *text, const char *const *words) {
    for (; *words; words++)
        if (brain_text_has_word(text, *words)) return 1;
    return 0;
}

static size_t count_letters(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        if (isalpha((unsigned char)*s)) n++;
    return n;
}

/* "5 seconds", "5s", "5 sec", "2.5 seconds" -> ms; -1 when the prompt states no duration. */
static long long stated_duration_ms(const char *text) {
    for (const char *p = text; p && *p; p++) {
        if (!isdigit((unsigned char)*p) || (p != text && (isalnum((unsigned char)p[-1]) || p[-1] == '.'))) continue;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (errno || end == p || v <= 0 || v > 3600) continue;
        while (*end == ' ') end++;
        if (strncasecmp(end, "second", 6) == 0 || strncasecmp(end, "sec", 3) == 0 ||
            (tolower((unsigned char)end[0]) == 's' && !isalpha((unsigned char)end[1])))
            return (long long)(v * 1000.0 + 0.5);
    }
    return -1;
}

/* "<what> <scene>." or "<what>." */
static int set_summary(brain_answer *a, const char *what, const char *scene) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s%s.", what, scene ? " " : "", scene ? scene : "");
    a->summary = strdup(buf);
    return a->summary ? 0 : -1;
}

static int clarify(brain_answer *a, const char *question) {
    if (brain_answer_clarify(a, question) != 0) return -1;
    return set_summary(a, "Asked the user to clarify the request", NULL);
}

static int act(brain_answer *a, brain_tool t, const char *scene, const char *what) {
    a->tool = t;
    if (scene) snprintf(a->target_scene, sizeof a->target_scene, "%s", scene);
    a->params = cJSON_CreateObject();
    if (!a->params) return -1;
    return set_summary(a, what, scene);
}

static int decide(const brain_rules_input *in, brain_answer *out) {
    const char *prompt = in->prompt ? in->prompt : "";
    const char *scene = in->selected_scene && *in->selected_scene ? in->selected_scene : NULL;
    static const char *const del[] = {"delete", "remove", NULL};
    static const char *const fix[] = {"fix", "broken", "repair", NULL};
    static const char *const dur[] = {"longer", "shorter", "seconds", "second", "duration", "faster", "slower", NULL};
    static const char *const analyze[] = {"analyze", "analyse", "describe", NULL};
    static const char *const which = "Which scene do you mean? Select it in the storyboard and ask again.";

    if ((count_letters(prompt) < 2 && in->n_images == 0) || (count_letters(prompt) == 0 && in->n_images == 0))
        return clarify(out, "What would you like to change in your video?");
    if (has_any(prompt, del))
        return scene ? act(out, BRAIN_TOOL_DELETE_SCENE, scene, "Delete scene") : clarify(out, which);
    if (has_any(prompt, fix))
        return scene ? act(out, BRAIN_TOOL_FIX_BROKEN_SCENE, scene, "Fix scene") : clarify(out, which);
    if (has_any(prompt, dur)) {
        if (!scene) return clarify(out, which);
        if (act(out, BRAIN_TOOL_CHANGE_DURATION, scene, "Change the duration of scene") != 0) return -1;
        long long ms = stated_duration_ms(prompt);
        int ok;
        if (ms > 0) ok = cJSON_AddNumberToObject(out->params, "duration_ms", (double)ms) != NULL;
        else {
            int shorter = brain_text_has_word(prompt, "shorter") || brain_text_has_word(prompt, "faster");
            ok = cJSON_AddNumberToObject(out->params, "delta_ms", shorter ? -2000 : 2000) != NULL;
        }
        return ok ? 0 : -1;
    }
    if (in->n_images > 0 && !scene && has_any(prompt, analyze))
        return act(out, BRAIN_TOOL_ANALYZE_IMAGE, NULL, "Analyse the uploaded image");
    if (in->n_images > 0 && !scene)
        return act(out, BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE, NULL, "Create a new scene from the uploaded image");
    if (in->n_images > 0)
        return act(out, BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE, scene, "Restyle after the uploaded image: scene");
    if (scene) return act(out, BRAIN_TOOL_EDIT_SCENE, scene, "Edit as asked: scene");
    return act(out, BRAIN_TOOL_ADD_SCENE, NULL, "Add a new scene as asked");
}

int brain_rules_decide(const brain_rules_input *in, brain_answer *out) {
    memset(out, 0, sizeof *out);
    if (decide(in, out) != 0) {
        brain_answer_clear(out);
        return -1;
    }
    /* The editor applies the tool with the user's own words as the instruction. */
    if (out->params && !cJSON_AddStringToObject(out->params, "instruction", in->prompt ? in->prompt : "")) {
        brain_answer_clear(out);
        return -1;
    }
    return 0;
}
