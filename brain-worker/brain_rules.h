/* The rule-based decider used when no LLM is configured, so the fleet runs offline. Rules are
 * checked in this order (keywords are case-insensitive whole words):
 *   1. blank prompt and no image, or fewer than 2 letters          -> clarification
 *   2. "delete" / "remove"                                          -> deleteScene (selected scene)
 *   3. "fix" / "broken" / "repair"                                  -> fixBrokenScene (selected scene)
 *   4. "longer" / "shorter" / "seconds" / "duration" / "faster" / "slower"
 *                                                                   -> changeDuration (selected scene;
 *      "N seconds"/"Ns" sets duration_ms, otherwise +/- 2000 ms as delta_ms)
 *   5. images and "analyze"/"analyse"/"describe" and no selected scene -> analyzeImage
 *   6. images and no selected scene                                 -> createSceneFromImage
 *   7. images and a selected scene                                  -> editSceneWithImage
 *   8. a selected scene                                             -> editScene
 *   9. otherwise                                                    -> addScene
 * Rules 2-4 without a selected scene become a clarification asking which scene. */
#ifndef BRAIN_RULES_H
#define BRAIN_RULES_H

#include <stddef.h>

#include "brain_decision.h"

typedef struct brain_rules_input {
    const char *prompt;         /* may be NULL */
    size_t n_images;
    const char *selected_scene; /* NULL or "" when none */
} brain_rules_input;

/* Fills out (cleared first). Returns 0, or -1 when out of memory. */
int brain_rules_decide(const brain_rules_input *in, brain_answer *out);

/* Whole-word, case-insensitive search; exposed for the preference extractor and tests. */
int brain_text_has_word(const char *text, const char *word);

#endif
