/* The rule-based decider: decides offline (no LLM configured) and in place of a model that failed.
 * Its decisions are measured by `fleetctl eval` over tests/eval/decisions.json (>= 90 % right, no
 * destructive miss; a unit test holds it there). Keywords are whole words, case-insensitive.
 *
 * Which scene: the selected scene; or one the prompt names: "scene 3", "the third/last scene", a
 * scene id, a scene's name ("the outro") or a word only one scene's name has ("the quote"). A name
 * after "from/in/on/of the" is where an element is ("remove the logo from the outro").
 *
 * In this order (a prompt of several steps joined by "and"/"then" is decided step by step into a
 * workflow when every step is an action):
 *   1. blank and no image, or fewer than 2 letters                      -> clarification
 *   2. a new scene ("a/an/another/new ... scene", "add an outro", "create a title card") and no
 *      image                                                            -> addScene ("N seconds":
 *      duration_ms; "after the intro": position)
 *   3. an image (attached, or the project's when the prompt mentions an image or the moodboard):
 *      analysis ("analyze", "describe", "what ...?")                    -> analyzeImage
 *      a new scene, or no scene to act on                               -> createSceneFromImage
 *      otherwise                                                        -> editSceneWithImage
 *   4. broken ("broken", "fix", "repair", "glitch", "black screen", "doesn't render" ...; not "fix
 *      the typo")                                                       -> fixBrokenScene
 *   5. timing ("N seconds", "longer", "shorter", "too long", "extend", "duration", "length" ...;
 *      not "the second line")                                          -> changeDuration ("to N
 *      seconds" / "N seconds": duration_ms; "by N seconds", "N seconds longer": delta_ms; else
 *      +/-2000 ms; "double": twice the scene's length)
 *   6. "delete/remove/cut/drop/erase/get rid of/take out X": X is the scene ("this scene", "it",
 *      "scene 3", a scene's full name) -> deleteScene; X is anything else (a logo, a line, a
 *      bullet point) -> editScene of the scene it is in
 *   7. a scene to act on                                                -> editScene
 *   8. "add/create/insert ..." with no scene to act on                   -> addScene
 *   9. otherwise                                                        -> clarification
 * A scene tool without a scene to act on asks which scene. Tool calls carry the prompt as
 * params.instruction where the tool takes one, with the project's strongest stated preferences
 * appended; image tools carry the image's URL.
 *
 * In place of a failed model (fallback), nothing irreversible is published on a guess: a
 * deleteScene, or a changeDuration of a scene other than the selected one, becomes a question
 * asking the user to confirm. A reply "yes, delete <id>" to exactly that question deletes. */
#ifndef BRAIN_RULES_H
#define BRAIN_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "brain_context.h"
#include "brain_decision.h"

typedef struct brain_rules_input {
    const char *prompt;                /* may be NULL */
    size_t n_images;                   /* images attached to the request */
    const char *selected_scene;        /* NULL or "" when none */
    const char *const *image_urls;     /* the n_images URLs; NULL: unknown (no image_url param) */
    const brain_context *ctx;          /* storyboard, the project's images, preferences and
                                        * conversation; NULL: none known */
    bool fallback;                     /* deciding because the model failed */
} brain_rules_input;

/* Fills out (cleared first). Returns 0, or -1 when out of memory. */
int brain_rules_decide(const brain_rules_input *in, brain_answer *out);

/* Whole-word, case-insensitive search (word may be several words); exposed for the preference
 * extractor and tests. */
int brain_text_has_word(const char *text, const char *word);

#endif
