/* Reading a prompt for the rule-based decider (brain_rules.h): which scene it names, what duration
 * it states, what it asks for. Pure functions over text; internal to brain_rules.c and its tests. */
#ifndef BRAIN_RULES_TEXT_H
#define BRAIN_RULES_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "brain_context.h"

typedef enum {
    BRAIN_REF_NONE = 0,
    BRAIN_REF_WEAK,   /* a word only one scene's name has ("the quote"): loses to a selection */
    BRAIN_REF_STRONG, /* "scene 3", "the last scene", an id, a full name: wins over a selection */
} brain_ref_strength;

/* The scene text names (see brain_rules.h), or NULL; *strength says how sure. Two different
 * scenes named alike give NULL and BRAIN_REF_NONE. ctx may be NULL. */
const brain_scene *brain_rules_named_scene(const brain_context *ctx, const char *text, brain_ref_strength *strength);

/* The scene named right after "from/in/on/of/to the" ("... from the outro"), or NULL. */
const brain_scene *brain_rules_location_scene(const brain_context *ctx, const char *text);

/* A duration the text states: "5 seconds", "2.5 s", "8s", "one more second", "1500 ms", "1 minute".
 * *relative: it is a change ("by 2 seconds", "one more second", "5 seconds longer"), not a length. */
bool brain_rules_stated_duration(const char *text, long long *ms, bool *relative);

/* +1 when the text asks for longer (longer, extend, lengthen, more, slower, too short, hold),
 * -1 for shorter (shorter, shorten, trim, less, too long, drags, cut ... down), 0 neither. */
int brain_rules_direction(const char *text);

/* Intents. */
bool brain_rules_wants_new_scene(const char *text);
bool brain_rules_wants_fix(const char *text);
bool brain_rules_wants_timing(const char *text);
bool brain_rules_wants_analysis(const char *text);
bool brain_rules_mentions_image(const char *text);
bool brain_rules_wants_add(const char *text);

/* "delete/remove/cut/... X": true when the text removes something; *scene_itself tells whether X
 * is the scene (this scene, it, scene 3, a scene's full name) rather than an element of it. */
bool brain_rules_removal(const brain_context *ctx, const char *text, bool *scene_itself);

/* Splits a prompt of several steps ("X and then Y", "X, then Y", "X and <verb> Y") into at most
 * max parts (malloc'd copies, caller frees each). Returns the count (1: one step; 0: out of
 * memory). */
size_t brain_rules_split_steps(const char *text, char **parts, size_t max);

#endif
