#include "brain_rules.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brain_rules_text.h"
#include "brain_strbuf.h"

/* The bounds of schemas/tools/changeDuration.json and addScene.json (test_brain_rules checks every
 * decision against the schemas, so a drift fails there). */
#define DURATION_MIN_MS 500
#define DURATION_MAX_MS 600000
#define INSTRUCTION_MAX 4000 /* characters */
#define MAX_STEPS 4

int brain_text_has_word(const char *text, const char *word) {
    if (!text || !word || !*word) return 0;
    size_t wl = strlen(word);
    for (const char *p = text; *p; p++) {
        if (p != text && isalnum((unsigned char)p[-1])) continue;
        if (strncasecmp(p, word, wl) == 0 && !isalnum((unsigned char)p[wl])) return 1;
    }
    return 0;
}

static size_t count_letters(const char *s) {
    size_t n = 0;
    for (; s && *s; s++)
        if (isalpha((unsigned char)*s) || ((unsigned char)*s >= 0xC0)) n++;
    return n;
}

typedef struct rules {
    const brain_rules_input *in;
    const brain_context *ctx;
    const char *selected; /* NULL when none */
    const char *image;    /* the image an image tool acts on; NULL: none */
    bool image_known;     /* an image exists even if its URL is unknown (legacy callers) */
} rules;

static const brain_scene *find(const rules *r, const char *id) {
    return r->ctx && id ? brain_context_find_scene(r->ctx, id) : NULL;
}

/* "scene "Outro" (s5)" or "scene s5". */
static void scene_label(const rules *r, const char *id, char *out, size_t outlen) {
    const brain_scene *s = find(r, id);
    if (s && s->name && *s->name) snprintf(out, outlen, "scene \"%.60s\" (%s)", s->name, id);
    else snprintf(out, outlen, "scene %s", id);
}

static int clarify(brain_answer *a, const char *question, const char *why) {
    free(a->summary);
    a->summary = strdup(why);
    if (!a->summary || brain_answer_clarify(a, question) != 0) return -1;
    return 0;
}

static int ask_which_scene(brain_answer *a) {
    return clarify(a, "Which scene do you mean? Select it in the storyboard (or name it) and ask again.",
                   "Asked which scene the request is about.");
}

/* The prompt as the editor's instruction: at most INSTRUCTION_MAX characters, never empty, with
 * the project's strongest stated preferences after it. */
static int add_instruction(const rules *r, cJSON *params, const char *text, const char *dflt) {
    brain_strbuf b = {0};
    size_t chars = 0;
    const char *p = text ? text : "";
    while (*p && isspace((unsigned char)*p)) p++;
    for (; *p && chars < INSTRUCTION_MAX - 200; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80) chars++;
        if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') continue;
        brain_strbuf_appendn(&b, p, 1);
    }
    while (*p && ((unsigned char)*p & 0xC0) == 0x80) brain_strbuf_appendn(&b, p++, 1);
    if (!chars) brain_strbuf_append(&b, dflt);
    size_t used = 0;
    for (size_t i = 0; r->ctx && i < r->ctx->n_preferences && used < 3; i++) {
        const brain_memory_item *m = &r->ctx->preferences[i];
        if (m->confidence < 0.7) continue;
        cJSON *v = cJSON_Parse(m->value);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(v, "statement");
        brain_strbuf_append(&b, used ? "; " : "\n\nStated preferences: ");
        if (cJSON_IsString(st)) brain_strbuf_printf(&b, "%.120s", st->valuestring);
        else brain_strbuf_printf(&b, "%.60s: %.80s", m->key, m->value);
        cJSON_Delete(v);
        used++;
    }
    char *s = brain_strbuf_take(&b);
    bool ok = s && cJSON_AddStringToObject(params, "instruction", s);
    free(s);
    return ok ? 0 : -1;
}

static int act(const rules *r, brain_answer *a, brain_tool t, const char *scene, const char *summary) {
    a->tool = t;
    if (scene) snprintf(a->target_scene, sizeof a->target_scene, "%s", scene);
    a->params = cJSON_CreateObject();
    a->summary = strdup(summary);
    if (!a->params || !a->summary) return -1;
    if (brain_tool_needs_image(t) && r->image && !cJSON_AddStringToObject(a->params, "image_url", r->image)) return -1;
    return 0;
}

static long long clamp_ms(long long v) {
    return v < DURATION_MIN_MS ? DURATION_MIN_MS : v > DURATION_MAX_MS ? DURATION_MAX_MS : v;
}

/* position for a new scene: "after the X" -> X's place + 1, "before the X" -> X's place, "at the
 * start/beginning" -> 1; 0: append (left out). */
static long new_position(const rules *r, const char *text) {
    if (!r->ctx) return 0;
    static const char *const first[] = {"at the start", "at the beginning", "as the first scene", NULL};
    for (size_t i = 0; first[i]; i++)
        if (brain_text_has_word(text, first[i])) return 1;
    static const char *const rel[] = {"after", "before", NULL};
    for (size_t i = 0; rel[i]; i++) {
        const char *p = text;
        size_t wl = strlen(rel[i]);
        for (; *p; p++) {
            if ((p != text && isalnum((unsigned char)p[-1])) || strncasecmp(p, rel[i], wl) != 0 ||
                isalnum((unsigned char)p[wl]))
                continue;
            brain_ref_strength st;
            const brain_scene *s = brain_rules_named_scene(r->ctx, p + wl, &st);
            if (!s) continue;
            long at = (long)(s - r->ctx->scenes) + 1;
            return i == 0 ? at + 1 : at;
        }
    }
    return 0;
}

static int add_scene(const rules *r, brain_answer *a, const char *text, bool from_image) {
    brain_tool t = from_image ? BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE : BRAIN_TOOL_ADD_SCENE;
    if (act(r, a, t, NULL, from_image ? "Create a new scene from the image." : "Add a new scene as asked.") != 0 ||
        add_instruction(r, a->params, text, from_image ? "Create a scene from the image." : "A new scene.") != 0)
        return -1;
    long long ms;
    bool rel;
    if (brain_rules_stated_duration(text, &ms, &rel) && !rel &&
        !cJSON_AddNumberToObject(a->params, "duration_ms", (double)clamp_ms(ms)))
        return -1;
    long pos = new_position(r, text);
    if (pos > 0 && !cJSON_AddNumberToObject(a->params, "position", (double)pos)) return -1;
    return 0;
}

static int change_duration(const rules *r, brain_answer *a, const char *text, const char *scene) {
    const brain_scene *s = find(r, scene);
    long long ms;
    bool rel;
    int dir = brain_rules_direction(text);
    const char *field = "delta_ms";
    long long value = dir < 0 ? -2000 : 2000;
    if (brain_rules_stated_duration(text, &ms, &rel)) {
        field = rel ? "delta_ms" : "duration_ms";
        value = rel ? (dir < 0 ? -ms : ms) : clamp_ms(ms);
    } else if (s && (brain_text_has_word(text, "double") || brain_text_has_word(text, "twice"))) {
        field = "duration_ms";
        value = clamp_ms(2 * s->duration_ms);
    } else if (s && (brain_text_has_word(text, "half") || brain_text_has_word(text, "halve"))) {
        field = "duration_ms";
        value = clamp_ms(s->duration_ms / 2);
    }
    /* A change that would leave the bounds becomes the bound itself. */
    if (s && strcmp(field, "delta_ms") == 0 && clamp_ms(s->duration_ms + value) != s->duration_ms + value) {
        field = "duration_ms";
        value = clamp_ms(s->duration_ms + value);
    }
    if (strcmp(field, "delta_ms") == 0 && value == 0) value = dir < 0 ? -1000 : 1000;
    char label[200], summary[300];
    scene_label(r, scene, label, sizeof label);
    if (strcmp(field, "duration_ms") == 0) snprintf(summary, sizeof summary, "Set %s to %lld ms.", label, value);
    else snprintf(summary, sizeof summary, "Make %s %lld ms %s.", label, value < 0 ? -value : value,
                  value < 0 ? "shorter" : "longer");
    if (act(r, a, BRAIN_TOOL_CHANGE_DURATION, scene, summary) != 0) return -1;
    return cJSON_AddNumberToObject(a->params, field, (double)value) ? 0 : -1;
}

static int scene_tool(const rules *r, brain_answer *a, brain_tool t, const char *text, const char *scene,
                      const char *what) {
    char label[200], summary[300];
    scene_label(r, scene, label, sizeof label);
    snprintf(summary, sizeof summary, "%s %s%s", what, label, t == BRAIN_TOOL_DELETE_SCENE ? "." : " as asked.");
    if (act(r, a, t, scene, summary) != 0) return -1;
    if (t == BRAIN_TOOL_DELETE_SCENE) return 0;
    return add_instruction(r, a->params, text, "Repair the scene.");
}

/* The scene a request acts on: a strong reference wins over the selection, the selection over a
 * weak one. For an element ("the logo from the outro"), where it is comes first. */
static const char *target(const rules *r, const char *text, bool element) {
    if (element) {
        const brain_scene *at = brain_rules_location_scene(r->ctx, text);
        if (at) return at->id;
    }
    brain_ref_strength st;
    const brain_scene *named = brain_rules_named_scene(r->ctx, text, &st);
    if (named && st == BRAIN_REF_STRONG) return named->id;
    if (r->selected) return r->selected;
    return named ? named->id : NULL;
}

static int decide_one(const rules *r, const char *text, brain_answer *a) {
    size_t letters = count_letters(text);
    bool has_image = r->image || r->image_known;
    if ((letters < 2 && !has_image) || (letters == 0 && !has_image))
        return clarify(a, "What would you like to change in your video?", "Asked what the user wants.");
    if (letters < 2) return add_scene(r, a, text, true);
    bool new_scene = brain_rules_wants_new_scene(text);
    if (new_scene && !has_image) return add_scene(r, a, text, false);
    if (has_image) {
        if (brain_rules_wants_analysis(text)) {
            if (act(r, a, BRAIN_TOOL_ANALYZE_IMAGE, NULL, "Analyse the image.") != 0) return -1;
            return 0;
        }
        const char *scene = new_scene ? NULL : target(r, text, false);
        if (!scene) return add_scene(r, a, text, true);
        char label[200], summary[300];
        scene_label(r, scene, label, sizeof label);
        snprintf(summary, sizeof summary, "Restyle %s after the image.", label);
        if (act(r, a, BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE, scene, summary) != 0) return -1;
        return add_instruction(r, a->params, text, "Restyle the scene after the image.");
    }
    if (brain_rules_wants_fix(text)) {
        const char *scene = target(r, text, false);
        return scene ? scene_tool(r, a, BRAIN_TOOL_FIX_BROKEN_SCENE, text, scene, "Repair") : ask_which_scene(a);
    }
    if (brain_rules_wants_timing(text)) {
        const char *scene = target(r, text, false);
        return scene ? change_duration(r, a, text, scene) : ask_which_scene(a);
    }
    bool scene_itself = false;
    if (brain_rules_removal(r->ctx, text, &scene_itself)) {
        const char *scene = target(r, text, !scene_itself);
        if (!scene) return ask_which_scene(a);
        if (scene_itself) return scene_tool(r, a, BRAIN_TOOL_DELETE_SCENE, text, scene, "Delete");
        if (scene_tool(r, a, BRAIN_TOOL_EDIT_SCENE, text, scene, "Remove it from") != 0) return -1;
        a->edit_complexity = 1; /* surgical: one element goes */
        return 0;
    }
    const char *scene = target(r, text, true);
    if (scene) return scene_tool(r, a, BRAIN_TOOL_EDIT_SCENE, text, scene, "Edit");
    if (brain_rules_wants_add(text)) return add_scene(r, a, text, false);
    return clarify(a, "What should I do: add a new scene, or change an existing one? Select a scene to change it.",
                   "Asked what the user wants: the request names no scene and no new one.");
}

/* Several steps: a workflow when every step is a different action; else the prompt as one request. */
static int decide(const rules *r, brain_answer *out) {
    const char *prompt = r->in->prompt ? r->in->prompt : "";
    char *parts[MAX_STEPS];
    size_t n = brain_rules_split_steps(prompt, parts, MAX_STEPS);
    if (n == 0) return -1;
    int rc = 0;
    bool workflow = n > 1;
    brain_answer steps[MAX_STEPS];
    memset(steps, 0, sizeof steps);
    for (size_t i = 0; workflow && i < n; i++) {
        if (decide_one(r, parts[i], &steps[i]) != 0) rc = -1;
        if (rc || steps[i].tool == BRAIN_TOOL_CLARIFY) workflow = false;
        /* The same call twice is one request said twice ("this drags; make it shorter"). */
        for (size_t k = 0; workflow && k < i; k++)
            if (steps[k].tool == steps[i].tool && strcmp(steps[k].target_scene, steps[i].target_scene) == 0)
                workflow = false;
    }
    if (workflow) {
        *out = steps[0];
        memset(&steps[0], 0, sizeof steps[0]);
        for (size_t i = 1; rc == 0 && i < n; i++) {
            brain_step s;
            brain_step_take(&steps[i], &s);
            rc = brain_answer_add_step(out, &s);
        }
    } else if (rc == 0) {
        rc = decide_one(r, prompt, out);
    }
    for (size_t i = 0; i < n; i++) {
        brain_answer_clear(&steps[i]);
        free(parts[i]);
    }
    return rc;
}

/* ---- in place of a failed model ------------------------------------------------------------- */

static const char confirm_format[] = "Reply \"yes, delete %s\" to confirm.";

/* The user answers "yes, delete <id>" to the question the rules asked last time. */
static bool confirmed_delete(const rules *r, const char *id) {
    const char *p = r->in->prompt ? r->in->prompt : "";
    while (*p && isspace((unsigned char)*p)) p++;
    char want[200], reply[220];
    snprintf(want, sizeof want, "delete %s", id);
    if (strncasecmp(p, "yes", 3) != 0 || !brain_text_has_word(p, want) || !r->ctx) return false;
    snprintf(reply, sizeof reply, confirm_format, id);
    for (size_t i = r->ctx->n_messages; i-- > 0;) {
        const brain_message *m = &r->ctx->messages[i];
        if (strcmp(m->role, "assistant") != 0) continue;
        return strstr(m->content, reply) != NULL; /* only the last assistant message counts */
    }
    return false;
}

static bool allowed_in_fallback(const rules *r, brain_tool t, const char *scene) {
    if (t == BRAIN_TOOL_DELETE_SCENE) return confirmed_delete(r, scene);
    if (t == BRAIN_TOOL_CHANGE_DURATION) return r->selected && strcmp(scene, r->selected) == 0;
    return true;
}

static int guard_fallback(const rules *r, brain_answer *a) {
    if (a->tool == BRAIN_TOOL_CLARIFY) return 0;
    const char *bad_scene = NULL;
    brain_tool bad = a->tool;
    if (!allowed_in_fallback(r, a->tool, a->target_scene)) bad_scene = a->target_scene;
    for (size_t i = 0; !bad_scene && i < a->n_then; i++)
        if (!allowed_in_fallback(r, a->then[i].tool, a->then[i].target_scene)) {
            bad_scene = a->then[i].target_scene;
            bad = a->then[i].tool;
        }
    if (!bad_scene) return 0;
    char id[sizeof a->target_scene], label[200], q[700], tail[240];
    snprintf(id, sizeof id, "%s", bad_scene);
    scene_label(r, id, label, sizeof label);
    if (bad == BRAIN_TOOL_DELETE_SCENE) {
        snprintf(tail, sizeof tail, confirm_format, id);
        snprintf(q, sizeof q,
                 "I could not reach the AI model, so I have not deleted anything. Do you want to delete %s? %s",
                 label, tail);
    } else {
        snprintf(q, sizeof q,
                 "I could not reach the AI model, so I have not changed any timing. Should I change the length of "
                 "%s? Select it in the storyboard and ask again to confirm.",
                 label);
    }
    return clarify(a, q, "Asked the user to confirm: the model was unavailable and the change cannot be undone.");
}

int brain_rules_decide(const brain_rules_input *in, brain_answer *out) {
    memset(out, 0, sizeof *out);
    rules r = {.in = in, .ctx = in->ctx};
    if (in->selected_scene && *in->selected_scene) r.selected = in->selected_scene;
    if (in->n_images > 0) {
        r.image_known = true;
        r.image = in->image_urls ? in->image_urls[0] : NULL;
    } else if (in->ctx && brain_rules_mentions_image(in->prompt ? in->prompt : "")) {
        /* The project's newest analysed image, when the prompt speaks of one. */
        for (size_t i = 0; i < in->ctx->n_images && !r.image; i++)
            if (in->ctx->images[i].urls.n) r.image = in->ctx->images[i].urls.v[0];
    }
    int rc = decide(&r, out);
    if (rc == 0 && in->fallback) rc = guard_fallback(&r, out);
    if (rc != 0) brain_answer_clear(out);
    return rc;
}
