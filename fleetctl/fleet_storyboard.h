/* The reference editor's storyboards (`fleetctl editor`, `fleetctl storyboard`): one per project,
 * kept only as the fold of editorEvents. Every change the editor makes is an event first and is
 * applied here by the same function that replays the editorEvents topic at start, so the editor's
 * storyboard is by construction what its log says, and what memory-writer folds the same log into.
 *
 * The fold follows the contract (docs/topics.md, editorEvents): per scene, the highest version
 * wins field by field (content: name, duration, description; position; deletion), so duplicates,
 * stale events and any order end in the same storyboard; a deletion is a tombstone that keeps the
 * scene's version, which only a newer scene_created brings back.
 *
 * Besides the scenes it remembers, per project, what each brain request already did (which tool
 * calls have their event in the log, whether the decision was reported): that is what makes the
 * editor apply a decision once, whether it comes back as a redelivery, a re-decided request or
 * after the editor crashed half-way through it (fleet_editor.h). Pure data, no Kafka. */
#ifndef FLEET_STORYBOARD_H
#define FLEET_STORYBOARD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bf_msg_editor_event.h"

typedef struct fleet_scene {
    char *id;
    char *name;
    char *description;
    int64_t position;         /* as the last event that set it said; the order is by position */
    int64_t duration_ms;
    int64_t version;          /* the highest version any event of this scene had */
    int64_t content_version;  /* of name, duration, description */
    int64_t position_version;
    int64_t deleted_version;  /* the highest scene_deleted version; 0: none */
    int64_t created_version;  /* the highest scene_created version: above deleted_version, it
                               * brought the scene back (an undo) */
    char *image_url;          /* from_image.url of its scene_created; NULL when none */
} fleet_scene;

/* What one brain request already did to this project. */
#define FLEET_STEPS_MAX BF_WORKFLOW_STEPS_MAX
typedef struct fleet_request_mark {
    char request_id[BF_UUID_LEN + 1];
    bool reported;                      /* its decision_applied / decision_failed is in the log */
    bool failed;                        /* ... and it was a decision_failed */
    uint32_t done;                      /* bit k: tool call k's scene event is in the log */
    char *scene_ids[FLEET_STEPS_MAX];   /* the scene tool call k created or changed */
    char *images[FLEET_STEPS_MAX];      /* the image it was made or restyled from, when known */
    bf_tool tools[FLEET_STEPS_MAX];
} fleet_request_mark;

/* Marks kept per project: the most recent ones. A decision redelivered after this many later
 * decisions of the same project would be applied again; 7 days of retention hold far fewer for a
 * project a person edits by hand. */
#define FLEET_MARKS_MAX 4096

typedef struct fleet_project {
    char *id;
    fleet_scene *scenes;    /* live and deleted, in no particular order */
    size_t n_scenes, cap_scenes;
    fleet_request_mark *marks; /* grows to FLEET_MARKS_MAX, then a ring: the oldest goes */
    size_t n_marks, cap_marks, next_mark;
    int64_t events;         /* events folded in */
} fleet_project;

typedef struct fleet_storyboards {
    fleet_project *projects;
    size_t n, cap;
} fleet_storyboards;

void fleet_storyboards_free(fleet_storyboards *sb);

/* The project, created empty when absent (NULL only when out of memory). */
fleet_project *fleet_storyboards_project(fleet_storyboards *sb, const char *project_id);
/* The project or NULL. */
const fleet_project *fleet_storyboards_find(const fleet_storyboards *sb, const char *project_id);

/* Folds one decoded event into its project (ev->env.project_id). Returns 0, or -1 when out of
 * memory. Events that change nothing (stale, duplicate) return 0 too. */
int fleet_storyboard_apply(fleet_storyboards *sb, const bf_msg_editor_event *ev);

/* A scene is live when an event gave it content and no deletion is newer than its newest
 * scene_created. */
bool fleet_scene_live(const fleet_scene *s);

/* The scene with this id, live or deleted, or NULL. */
fleet_scene *fleet_project_scene(const fleet_project *p, const char *scene_id);
/* The live scene with this id, or NULL. */
fleet_scene *fleet_project_live_scene(const fleet_project *p, const char *scene_id);
/* The live scenes in storyboard order (by position, then id): a malloc'd array of n_live
 * pointers into p (caller frees the array only); NULL with *n_live 0 when there are none or
 * out of memory (*oom says which; may be NULL). */
fleet_scene **fleet_project_order(const fleet_project *p, size_t *n_live, bool *oom);

/* The request's mark, or NULL. */
const fleet_request_mark *fleet_project_mark(const fleet_project *p, const char *request_id);
/* Remembers the image tool call k of request_id used (an edit's image is in no event). Returns 0,
 * or -1 when out of memory. */
int fleet_project_mark_image(fleet_project *p, const char *request_id, size_t k, const char *url);

/* The storyboard as JSON: {"project_id", "scenes": [{"scene_id","name","position","duration_ms",
 * "description","version"}] in order}. Caller deletes; NULL when out of memory. */
cJSON *fleet_storyboard_json(const fleet_project *p);
/* The storyboard as a table for people, to out: one line per scene (position, id, duration,
 * version, name) and its description indented under it. */
void fleet_storyboard_print(const fleet_project *p, FILE *out);

#endif
