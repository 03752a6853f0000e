/* The brain's tools as data. schemas/tools/<name>.json (one JSON Schema per tool's arguments,
 * compiled into the binary by cmake/embed_files.cmake) is the one source of:
 *   - the `tools` array sent to the model (native function calling), and the tool list of the
 *     JSON-mode system prompt;
 *   - argument validation: the schema (types, ranges, required, enums, no unknown properties),
 *     then the checks a schema cannot state (brain_tools_check_call);
 *   - docs/tools.md (scripts/gen-tools-docs, checked by a test).
 * The nine functions are the eight storyboard tools and askClarification, so every answer of the
 * model is a function call. */
#ifndef BRAIN_TOOLS_H
#define BRAIN_TOOLS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "brain_context.h"
#include "brain_decision.h"

typedef struct brain_tools brain_tools;

/* Compiles the embedded schemas; every brain_tool must have one. NULL with err otherwise. */
brain_tools *brain_tools_new(char *err, size_t errlen);
void brain_tools_free(brain_tools *t);

/* The function name the model sees: brain_tool_name(t), and "askClarification" for
 * BRAIN_TOOL_CLARIFY. */
const char *brain_tools_function_name(brain_tool t);
/* The inverse (exact match). Returns 0, or -1 for a name that is not one of the nine. */
int brain_tools_function_parse(const char *name, brain_tool *out);

/* The chat-completions `tools` array: [{"type":"function","function":{"name","description",
 * "parameters"}}] (a new tree; caller deletes). NULL when out of memory. */
cJSON *brain_tools_openai_new(const brain_tools *t);
/* The tool list of the JSON-mode system prompt: each name, description and argument schema.
 * malloc'd; NULL when out of memory. */
char *brain_tools_prompt_new(const brain_tools *t);
/* The same two, printed once by brain_tools_new: borrowed, valid while t lives. The array as
 * unformatted JSON text, and the JSON-mode tool list. */
const char *brain_tools_openai_json(const brain_tools *t);
const char *brain_tools_prompt_list(const brain_tools *t);
/* A schema's numeric bound (e.g. ("changeDuration", "duration_ms", "minimum")); dflt when absent. */
double brain_tools_bound(const brain_tools *t, brain_tool tool, const char *property, const char *keyword, double dflt);

/* What the semantic checks compare arguments with. */
typedef struct brain_tool_env {
    const brain_context *ctx;          /* storyboard and the project's analysed images */
    bool scenes_known;                 /* false on a degraded packet: scene ids cannot be checked */
    const char *selected_scene;        /* NULL or "": none */
    const char *const *request_images; /* URLs attached to the request */
    size_t n_request_images;
} brain_tool_env;

typedef enum {
    BRAIN_CALL_OK = 0,
    BRAIN_CALL_UNKNOWN_TOOL,      /* name is not one of the nine */
    BRAIN_CALL_INVALID_ARGUMENTS, /* the schema or a semantic check refused them */
    BRAIN_CALL_NO_MEMORY,
} brain_call_result;

/* Checks one call's arguments and turns it into out (cleared first; a one-step answer):
 *   1. a scene tool without scene_id gets the selected scene, when there is one;
 *   2. the tool's schema;
 *   3. scene_id names a scene of the storyboard (when known; else it must be a valid id);
 *      image_url is one of the request's images or the project's analysed images (the project's
 *      are unknown on a degraded packet: then any http(s) URL passes); changeDuration has exactly
 *      one of duration_ms and delta_ms, delta_ms is not 0 and the new length stays within
 *      duration_ms's bounds; position is at most one past the last scene.
 * On failure err holds the exact problem, worded for the model ("arguments.scene_id: \"s9\" is
 * not a scene of the storyboard (scenes: s1, s2)") and out is empty. */
brain_call_result brain_tools_check_call(const brain_tools *t, const char *name, const cJSON *args,
                                         const brain_tool_env *env, brain_answer *out, char *err, size_t errlen);

/* The arguments a (one-step) answer stands for, as the model would have sent them: params plus
 * scene_id, summary, edit_complexity (a question and reason for a clarification). New tree. */
cJSON *brain_tools_arguments_new(brain_tool tool, const char *target_scene, brain_complexity ec,
                                 const char *summary, const char *question, const cJSON *params);

/* Checks every call of an answer built by anyone (rules included) the way a model's is checked.
 * Returns BRAIN_CALL_OK or the first failure with err. */
brain_call_result brain_tools_check_answer(const brain_tools *t, const brain_answer *a, const brain_tool_env *env,
                                           char *err, size_t errlen);

#endif
