/* What the brain decides, independent of who decided it (LLM or rules) and of the wire format:
 * one tool call on the storyboard, or a clarifying question. */
#ifndef BRAIN_DECISION_H
#define BRAIN_DECISION_H

#include <cjson/cJSON.h>
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
    BRAIN_TOOL_CLARIFY, /* not a tool: the answer is a question back to the user */
    BRAIN_TOOL_COUNT
} brain_tool;

typedef struct brain_answer {
    brain_tool tool;
    char target_scene[128]; /* empty when the tool needs none */
    char *summary;          /* owned: one sentence on what will be done (or why we ask) */
    char *question;         /* owned: the clarifying question, BRAIN_TOOL_CLARIFY only */
    cJSON *params;          /* owned: tool arguments (an object), may be NULL */
} brain_answer;

/* "addScene" ... "changeDuration"; "clarification" for BRAIN_TOOL_CLARIFY. */
const char *brain_tool_name(brain_tool t);
/* Exact, case-sensitive match of the eight tool names. Returns 0, or -1 when unknown. */
int brain_tool_parse(const char *name, brain_tool *out);
/* Tools that act on an existing scene and so need target_scene. */
int brain_tool_needs_scene(brain_tool t);
int brain_tool_needs_image(brain_tool t);

/* Turns a into a clarification asking question (copied); params and target are dropped. */
int brain_answer_clarify(brain_answer *a, const char *question);
void brain_answer_clear(brain_answer *a);

#endif
