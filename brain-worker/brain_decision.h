/* What the brain decides, independent of who decided it (LLM or rules) and of the wire format:
 * one tool call on the storyboard, an ordered workflow of tool calls, or a clarifying question. */
#ifndef BRAIN_DECISION_H
#define BRAIN_DECISION_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    BRAIN_TOOL_ADD_SCENE,
    BRAIN_TOOL_EDIT_SCENE,
    BRAIN_TOOL_DELETE_SCENE,
    BRAIN_TOOL_FIX_BROKEN_SCENE,
    BRAIN_TOOL_ANALYZE_IMAGE,
    BRAIN_TOOL_CREATE_SCENE_FROM_IMAGE,
    BRAIN_TOOL_EDIT_SCENE_WITH_IMAGE,
    BRAIN_TOOL_CHANGE_DURATION,
    BRAIN_TOOL_CLARIFY, /* not a storyboard tool: the answer is a question back to the user */
    BRAIN_TOOL_COUNT
} brain_tool;

/* bf_edit_complexity's values: 0 none, 1 surgical, 2 creative, 3 structural. */
typedef int brain_complexity;

/* One tool call of a workflow after the first. */
typedef struct brain_step {
    brain_tool tool;        /* never BRAIN_TOOL_CLARIFY */
    char target_scene[128];
    brain_complexity edit_complexity;
    char *summary;          /* owned */
    cJSON *params;          /* owned: tool arguments without scene_id, summary, edit_complexity */
} brain_step;

typedef struct brain_answer {
    brain_tool tool;
    char target_scene[128]; /* empty when the tool needs none */
    char *summary;          /* owned: one sentence on what will be done (or why we ask) */
    char *question;         /* owned: the clarifying question, BRAIN_TOOL_CLARIFY only */
    cJSON *params;          /* owned: tool arguments (an object), may be NULL */
    brain_complexity edit_complexity;
    brain_step *then;       /* owned: a workflow's further steps, in order (NULL: one call) */
    size_t n_then;
} brain_answer;

/* "addScene" ... "changeDuration"; "clarification" for BRAIN_TOOL_CLARIFY. */
const char *brain_tool_name(brain_tool t);
/* Exact, case-sensitive match of the eight tool names. Returns 0, or -1 when unknown. */
int brain_tool_parse(const char *name, brain_tool *out);
/* Tools that act on an existing scene and so need target_scene. */
int brain_tool_needs_scene(brain_tool t);
int brain_tool_needs_image(brain_tool t);
/* Tools whose effect the user cannot simply take back: deleteScene and changeDuration. Rules
 * deciding in place of a failed model never publish them on a guess (brain_rules.h). */
bool brain_tool_destructive(brain_tool t);

/* Turns a into a clarification asking question (copied); params, target and workflow steps are
 * dropped, the summary kept. Returns 0 or -1 (out of memory; a is then unchanged). */
int brain_answer_clarify(brain_answer *a, const char *question);
/* Moves one-step answer a into step s (a is cleared): a workflow's later calls start as answers. */
void brain_step_take(brain_answer *a, brain_step *s);
/* Appends a workflow step (its summary and params are taken over, even on failure). 0 or -1. */
int brain_answer_add_step(brain_answer *a, brain_step *step);
void brain_step_clear(brain_step *s);

/* The id the editor should give the scene that step `step` of request_id's decision creates:
 * "scene-" + 12 hex of sha256("<request_id>:<step>"), the same on every redelivery, so the brain
 * can point at the new scene in the next turn before the editor's report is committed
 * (docs/editor-integration.md). out needs BRAIN_NEW_SCENE_ID_LEN + 1 bytes. */
#define BRAIN_NEW_SCENE_ID_LEN 18
void brain_new_scene_id(const char *request_id, size_t step, char out[BRAIN_NEW_SCENE_ID_LEN + 1]);
/* Adds input.new_scene_id to every addScene / createSceneFromImage call of a (its first call is
 * step 0, a workflow's further ones 1, 2 ...). Returns 0, or -1 when out of memory. */
int brain_answer_name_new_scenes(brain_answer *a, const char *request_id);
void brain_answer_clear(brain_answer *a);

#endif
