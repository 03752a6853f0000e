/* Decision quality, measured: a labelled set of requests (tests/eval/decisions.json) run through a
 * decider (the rules, or a model through the same request/classify/repair functions the worker
 * uses) and scored: accuracy per expected tool, and destructive misses (a deleteScene or
 * changeDuration the labels do not call for, or on another scene). `fleetctl eval` prints it; a
 * unit test holds the rules at >= 90 % with no destructive miss.
 *
 * The set's format: {"storyboard": [{"scene_id","name","position","duration_ms"}],
 * "project_images": [{"trace_id","url","facts"}], "preferences": [{"key","value","confidence"}],
 * "cases": [{"id","prompt","selected_scene"?,"images"?,"expect": tool | [tools in order],
 * "target"?: scene | [scene or null per step], "also_ok"?: [tools]}]}; askClarification is the
 * tool name of a question. */
#ifndef BRAIN_EVAL_H
#define BRAIN_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "brain_context.h"
#include "brain_decision.h"

typedef struct brain_eval_set brain_eval_set;

/* Parses and checks a set (tool names, scenes of the storyboard). NULL with err. */
brain_eval_set *brain_eval_load(const char *json, size_t len, char *err, size_t errlen);
void brain_eval_free(brain_eval_set *s);
size_t brain_eval_count(const brain_eval_set *s);

/* One request of the set, as a decider sees it. */
typedef struct brain_eval_case {
    const char *id;
    const char *prompt;
    const char *selected_scene;     /* NULL when none */
    const char *const *images;      /* attached image URLs */
    size_t n_images;
    const brain_context *ctx;       /* the set's storyboard, images and preferences */
} brain_eval_case;

/* Decides c into out. path names how ("rules", "llm", "llm_repaired", "fallback:<reason>");
 * returns 0, or -1 with path holding why nothing was decided (counted as wrong). */
typedef int (*brain_eval_decide_fn)(void *impl, const brain_eval_case *c, brain_answer *out, char *path,
                                    size_t pathlen);

/* The rules as a decider; impl points to a bool: decide in fallback (in place of a failed model). */
int brain_eval_rules(void *impl, const brain_eval_case *c, brain_answer *out, char *path, size_t pathlen);

#define BRAIN_EVAL_PATHS 16

typedef struct brain_eval_report {
    size_t total, correct, destructive_misses, failed;
    size_t per_total[BRAIN_TOOL_COUNT + 1], per_correct[BRAIN_TOOL_COUNT + 1]; /* [COUNT]: workflows */
    char paths[BRAIN_EVAL_PATHS][48];
    size_t path_counts[BRAIN_EVAL_PATHS];
    size_t n_paths;
} brain_eval_report;

/* Runs every case through decide. Each wrong case is printed to misses (may be NULL) with what
 * was decided. Returns 0, or -1 when out of memory. */
int brain_eval_run(const brain_eval_set *s, brain_eval_decide_fn decide, void *impl, brain_eval_report *rep,
                   FILE *misses);

/* The report as text: overall accuracy, per tool, destructive misses, decision paths. */
void brain_eval_print(const brain_eval_report *rep, FILE *out);

/* accuracy in percent (0 when the set is empty). */
double brain_eval_accuracy(const brain_eval_report *rep);

#endif
