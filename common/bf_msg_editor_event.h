/* editorEvents (the editor -> memory-writer, brain-worker): what the editor actually did to a
 * project's storyboard, and how it applied (or failed to apply) each brain decision.
 *
 * Kinds (payload.event):
 *   scene_created / scene_updated: the scene's whole state after the change (scene);
 *   scene_deleted: scene_id and the deletion's version;
 *   scenes_reordered: the scenes whose position changed, each with its new version (order);
 *   decision_applied / decision_failed: request_id and one outcome per tool call (steps); a
 *     failed decision also says why (error). A clarification has nothing to apply: no event.
 * Common optional fields: origin ("brain": the change applies a brain decision, then request_id
 * and step are set, and tool on created/updated/deleted; "user": an edit made by hand), and
 * conversation_id.
 *
 * Versions are per scene (1, 2, 3 ... : +1 on every change of that scene, deletion included). A
 * consumer applies a field only when the event's version is above the one it stored for that
 * field, so duplicates, replays and stale events change nothing and any order converges
 * (docs/topics.md, docs/memory-writer.md). Conventions: bf_msg.h. */
#ifndef BF_MSG_EDITOR_EVENT_H
#define BF_MSG_EDITOR_EVENT_H

#include "bf_envelope.h"
#include "bf_msg.h"
#include "bf_msg_brain_decision.h"

typedef enum {
    BF_EDITOR_SCENE_CREATED = 0,
    BF_EDITOR_SCENE_UPDATED,
    BF_EDITOR_SCENE_DELETED,
    BF_EDITOR_SCENES_REORDERED,
    BF_EDITOR_DECISION_APPLIED,
    BF_EDITOR_DECISION_FAILED,
} bf_editor_event_kind;
#define BF_EDITOR_EVENT_KINDS 6

typedef enum { BF_ORIGIN_NONE = 0 /* absent */, BF_ORIGIN_BRAIN, BF_ORIGIN_USER } bf_editor_origin;
typedef enum { BF_STEP_APPLIED = 0, BF_STEP_FAILED, BF_STEP_SKIPPED } bf_step_outcome;

/* The image a scene was created from (scene_created only): its URL, and the analysis' image trace
 * id and content hash when the editor knows them. */
typedef struct bf_editor_image {
    bool present;
    char *url;
    char trace_id[BF_TRACE_ID_LEN + 1]; /* "" when absent */
    char content_hash[65];              /* sha256 hex; "" when absent */
} bf_editor_image;

/* A scene's state. scene_deleted fills only scene_id and version. */
typedef struct bf_editor_scene {
    char *scene_id;
    char *name;          /* 1..BF_SCENE_NAME_MAX, single line */
    int64_t position;    /* 0-based storyboard index, 0..BF_SCENE_POSITION_MAX */
    int64_t duration_ms; /* 0..BF_SCENE_DURATION_MAX */
    char *description;   /* 0..BF_SCENE_DESCRIPTION_MAX bytes, newlines allowed; "" when empty */
    int64_t version;     /* 1..BF_SCENE_VERSION_MAX */
} bf_editor_scene;

typedef struct bf_editor_position {
    char *scene_id;
    int64_t position;
    int64_t version;
} bf_editor_position;

typedef struct bf_editor_step {
    int64_t step;            /* 0-based index of the tool call in the decision (0 for a single call) */
    bf_tool tool;
    bf_step_outcome outcome;
    char *scene_id;          /* the scene it created or changed; NULL when none */
    char *error;             /* required when failed; NULL when absent */
} bf_editor_step;

typedef struct bf_msg_editor_event {
    bf_envelope env;
    bf_editor_event_kind event;
    bf_editor_origin origin;
    char request_id[BF_UUID_LEN + 1]; /* "" when absent */
    int64_t step;                     /* -1 when absent */
    bool has_tool;
    bf_tool tool;                     /* when has_tool */
    char *conversation_id;            /* NULL when absent */

    bf_editor_scene scene;            /* scene_created, scene_updated, scene_deleted */
    bf_editor_image from_image;       /* scene_created only */
    bf_editor_position *order;        /* scenes_reordered: 1..BF_REORDER_MAX, scene ids unique */
    size_t n_order;
    bf_editor_step *steps;            /* decision_*: 1..BF_WORKFLOW_STEPS_MAX, step indices ascending */
    size_t n_steps;
    char *error;                      /* decision_failed: required; else absent */
} bf_msg_editor_event;

const char *bf_editor_event_kind_name(bf_editor_event_kind k);
int bf_editor_event_kind_parse(const char *s); /* -1 when unknown */
const char *bf_editor_origin_name(bf_editor_origin o); /* NULL for BF_ORIGIN_NONE */
const char *bf_step_outcome_name(bf_step_outcome o);
/* True for the four kinds that change the storyboard (scene_* and scenes_reordered). */
bool bf_editor_event_is_scene(bf_editor_event_kind k);

int bf_msg_editor_event_decode(const char *bytes, size_t len, bf_msg_editor_event *out, char *err, size_t errlen);
char *bf_msg_editor_event_encode(const bf_msg_editor_event *m, char *err, size_t errlen);
void bf_msg_editor_event_free(bf_msg_editor_event *m);

#endif
