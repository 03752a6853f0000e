#include "brain_decision.h"

#include <stdio.h>

#include "bf_sha256.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[BRAIN_TOOL_COUNT] = {
    "addScene",     "editScene",           "deleteScene",        "fixBrokenScene",  "analyzeImage",
    "createSceneFromImage", "editSceneWithImage", "changeDuration", "clarification",
};

const char *brain_tool_name(brain_tool t) { return (unsigned)t < BRAIN_TOOL_COUNT ? names[t] : "unknown"; }

int brain_tool_parse(const char *name, brain_tool *out) {
    if (!name) return -1;
    for (int i = 0; i < BRAIN_TOOL_CLARIFY; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (brain_tool)i;
            return 0;
        }
    }
    return -1;
}

int brain_tool_needs_scene(brain_tool t) {
    return t == BRAIN_TOOL_EDIT_SCENE || t == BRAIN_TOOL_DELETE_SCENE || t == BRAIN_TOOL_FIX_BROKEN_SCENE ||
           t == BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE || t == BRAIN_TOOL_CHANGE_DURATION;
}

int brain_tool_needs_image(brain_tool t) {
    return t == BRAIN_TOOL_ANALYZE_IMAGE || t == BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE ||
           t == BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE;
}

bool brain_tool_destructive(brain_tool t) { return t == BRAIN_TOOL_DELETE_SCENE || t == BRAIN_TOOL_CHANGE_DURATION; }

void brain_step_clear(brain_step *s) {
    free(s->summary);
    cJSON_Delete(s->params);
    memset(s, 0, sizeof *s);
}

static void clear_steps(brain_answer *a) {
    for (size_t i = 0; i < a->n_then; i++) brain_step_clear(&a->then[i]);
    free(a->then);
    a->then = NULL;
    a->n_then = 0;
}

int brain_answer_clarify(brain_answer *a, const char *question) {
    char *q = strdup(question);
    if (!q) return -1;
    free(a->question);
    a->question = q;
    a->tool = BRAIN_TOOL_CLARIFY;
    a->target_scene[0] = '\0';
    a->edit_complexity = 0;
    cJSON_Delete(a->params);
    a->params = NULL;
    clear_steps(a);
    return 0;
}

void brain_step_take(brain_answer *a, brain_step *s) {
    memset(s, 0, sizeof *s);
    s->tool = a->tool;
    memcpy(s->target_scene, a->target_scene, sizeof s->target_scene);
    s->edit_complexity = a->edit_complexity;
    s->summary = a->summary;
    s->params = a->params;
    a->summary = NULL;
    a->params = NULL;
    brain_answer_clear(a);
}

int brain_answer_add_step(brain_answer *a, brain_step *step) {
    brain_step *n = realloc(a->then, (a->n_then + 1) * sizeof *n);
    if (!n) {
        brain_step_clear(step);
        return -1;
    }
    a->then = n;
    a->then[a->n_then++] = *step;
    memset(step, 0, sizeof *step);
    return 0;
}

void brain_answer_clear(brain_answer *a) {
    free(a->summary);
    free(a->question);
    cJSON_Delete(a->params);
    clear_steps(a);
    memset(a, 0, sizeof *a);
}

void brain_new_scene_id(const char *request_id, size_t step, char out[BRAIN_NEW_SCENE_ID_LEN + 1]) {
    char name[128], hex[BF_SHA256_HEX_LEN + 1];
    int n = snprintf(name, sizeof name, "%s:%zu", request_id ? request_id : "", step);
    bf_sha256_hex(name, n < 0 ? 0 : (size_t)n, hex);
    snprintf(out, BRAIN_NEW_SCENE_ID_LEN + 1, "scene-%.12s", hex);
}

static int name_one(brain_tool tool, cJSON **params, const char *request_id, size_t step) {
    if (tool != BRAIN_TOOL_ADD_SCENE && tool != BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE) return 0;
    if (!*params && !(*params = cJSON_CreateObject())) return -1;
    char id[BRAIN_NEW_SCENE_ID_LEN + 1];
    brain_new_scene_id(request_id, step, id);
    cJSON_DeleteItemFromObjectCaseSensitive(*params, "new_scene_id"); /* the brain's, never the model's */
    return cJSON_AddStringToObject(*params, "new_scene_id", id) ? 0 : -1;
}

int brain_answer_name_new_scenes(brain_answer *a, const char *request_id) {
    if (name_one(a->tool, &a->params, request_id, 0) != 0) return -1;
    for (size_t i = 0; i < a->n_then; i++)
        if (name_one(a->then[i].tool, &a->then[i].params, request_id, i + 1) != 0) return -1;
    return 0;
}
