/* Follow-ups, resolved from the conversation before anyone decides (rules or model), so both see
 * the same request:
 *   - an answer to the brain's open question ("the second one", "2", "option 3", "the intro", an
 *     option's scene id) is paired with it: the request becomes the question's pending prompt, on
 *     the chosen scene. A reply that is not such an answer leaves the question behind.
 *   - "it" / "that scene" / "this scene" / "the same scene" / "that one" with no scene selected
 *     refers to the scene the conversation is about: "make it longer" right after "add a title
 *     scene" is about that new scene.
 * Pure: strings in, strings out. */
#ifndef BRAIN_FOLLOWUP_H
#define BRAIN_FOLLOWUP_H

#include <stdbool.h>

#include "brain_context.h"
#include "brain_conversation.h"
#include "brain_decision.h"

typedef struct brain_followup {
    const char *prompt;         /* what to decide on: the request's, or the question's pending one */
    const char *selected_scene; /* the request's, the chosen option's, or the conversation's; may be NULL */
    bool answered;              /* the request answered the open question */
    bool from_conversation;     /* selected_scene came from the conversation ("it") */
} brain_followup;

/* Strings in out point into prompt, selected, conv (borrowed: keep them alive while out is used). */
void brain_followup_resolve(const char *prompt, const char *selected, const brain_conversation *conv,
                            brain_followup *out);

/* Where the conversation stands after deciding a (brain's fields of brain_conversation.h): turn,
 * request, tool, the scene acted on (a new scene's new_scene_id included, flagged new), and the
 * question asked, if a is a clarification: its pending prompt is asked_prompt, its options the
 * storyboard's scenes (up to 8, named) so "the second one" can answer it. out is cleared first.
 * Returns 0, or -1 when out of memory. */
int brain_followup_after(const brain_conversation *before, const brain_answer *a, const char *request_id,
                         long long turn, const char *asked_prompt, const brain_context *ctx, brain_conversation *out);

/* The id and name of the scene a's first new-scene call creates (input.new_scene_id, see
 * brain_decision.h), or NULL. The name is input.name, else the call's summary. */
const char *brain_followup_new_scene(const brain_answer *a, const char **name);

#endif
