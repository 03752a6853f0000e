/* Where a conversation stands, as the brain needs it to understand a follow-up: the scene it is
 * about, the last tool, how many turns it has had, and the question the brain asked and is waiting
 * for an answer to.
 *
 * Stored as the conversation_context memory item "conversation:<conversation id>" (docs/topics.md),
 * whose value memory-writer merges field by field from two writers:
 *   the brain, when it decides:      turn_count, last_request_id, last_decision {tool, scene_id},
 *                                    open_question {request_id, question, pending_prompt,
 *                                    options [{label, scene_id}]} or null;
 *   memory-writer, from what the editor applied:
 *                                    current_scene_id, last_tool_applied, last_applied_request_id.
 * The scene a conversation is about is the editor's current scene once it has applied the brain's
 * last decision, else the scene of that decision (a new scene's new_scene_id included): the brain
 * knows what it just did before the editor reports it. */
#ifndef BRAIN_CONVERSATION_H
#define BRAIN_CONVERSATION_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BRAIN_OPTIONS_MAX 8
#define BRAIN_SCENE_ID_MAX 128

typedef struct brain_option {
    char label[128];
    char scene_id[BRAIN_SCENE_ID_MAX];
} brain_option;

typedef struct brain_open_question {
    bool present;
    char request_id[37];
    char *question;       /* owned */
    char *pending_prompt; /* owned: what the user asked that the question is about */
    brain_option options[BRAIN_OPTIONS_MAX];
    size_t n_options;
} brain_open_question;

typedef struct brain_conversation {
    int64_t turn_count;                         /* turns this conversation has had; 0: none known */
    char current_scene_id[BRAIN_SCENE_ID_MAX];  /* the scene it is about; "" none */
    char last_tool[32];                         /* of the brain's last decision; "" none */
    char last_request_id[37];
    bool new_scene;                             /* current_scene_id is a scene the last decision created */
    brain_open_question open;
} brain_conversation;

/* Reads a stored conversation_context value (see above) into c (cleared first). Unknown or
 * malformed fields are skipped: the state helps, it never refuses a request. 0, or -1 when out of
 * memory. */
int brain_conversation_parse(const cJSON *value, brain_conversation *c);
int brain_conversation_copy(brain_conversation *dst, const brain_conversation *src);
void brain_conversation_clear(brain_conversation *c);

/* The brain's fields of the value for a turn (turn_count, last_request_id, last_decision,
 * open_question or null), as a new cJSON object (caller deletes), NULL when out of memory. */
cJSON *brain_conversation_brain_fields_new(const brain_conversation *c);

#endif
