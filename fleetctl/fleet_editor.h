/* The reference editor's logic (`fleetctl editor`, docs/editor-integration.md): a brain decision in,
 * the editorEvents that apply it out. Pure: no Kafka, no clock; the caller publishes the events
 * in order and only then commits the decision's offset.
 *
 * A decision's tool calls are applied in order to the project's storyboard (fleet_storyboard.h):
 *   addScene              a scene under input.new_scene_id (or the id the brain would mint:
 *                         "scene-" + 12 hex of sha256("<request_id>:<step>")), at input.position
 *                         (1-based) or the end, duration input.duration_ms or 5000 ms, named by
 *                         fleet_text_scene_name_new, described by the instruction;
 *   createSceneFromImage  the same, named after the image file, from_image = the image, described
 *                         by the instruction and the image's facts when the editor has them;
 *   editScene, fixBrokenScene, editSceneWithImage
 *                         the scene's description gains a line ("Edit: ...", "Fix: ...",
 *                         "Restyle after <image>: ..."), its name changes when input.name is given;
 *   changeDuration        duration_ms = input.duration_ms, or + input.delta_ms, kept in 500..600000;
 *   deleteScene           the scene is deleted;
 *   analyzeImage          nothing changes; the call is applied.
 * Each change is one event with the scene's next version; a scene that moves because another was
 * inserted or deleted gets its new position (and version) in a scenes_reordered. A call on a scene
 * that is not in the storyboard fails, and the calls after a failed one are skipped (a workflow's
 * later steps may build on the earlier ones); what was applied stays. Then one decision_applied
 * (nothing failed) or decision_failed (with the error) with every call's outcome. A clarification
 * has nothing to apply: no event.
 *
 * Once: a request whose decision is reported in the log is not applied again (a redelivery, or the
 * brain deciding the same request twice: the first decision applied wins). A request the log shows
 * half applied (the editor stopped between its events) resumes at the first tool call without an
 * event. Event ids are derived from the decision (bf_uuid_v7_derived), so a change recomputed after
 * a crash carries the id it had.
 *
 * Enrichments (image_facts_enriched): the facts of an image describe the scenes the same request
 * made or restyled from it: one scene_updated (origin brain, that request and tool call) adding
 * the facts line, once per scene and image. */
#ifndef FLEET_EDITOR_H
#define FLEET_EDITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_msg_brain_decision.h"
#include "bf_msg_editor_event.h"
#include "fleet_storyboard.h"

#define FLEET_DEFAULT_DURATION_MS 5000
#define FLEET_DURATION_MIN_MS 500
#define FLEET_DURATION_MAX_MS 600000

typedef enum {
    FLEET_EDITOR_APPLIED = 0,  /* decision_applied published (with the changes before it) */
    FLEET_EDITOR_FAILED,       /* decision_failed: a tool call failed */
    FLEET_EDITOR_ALREADY,      /* this request was applied before: nothing published */
    FLEET_EDITOR_CLARIFICATION,/* a question for the user: nothing to apply */
    FLEET_EDITOR_ENRICHED,     /* facts described n scenes (n may be 0) */
} fleet_editor_verdict;

typedef struct fleet_editor_out {
    fleet_editor_verdict verdict;
    bf_msg_editor_event *events; /* to publish in this order; envelopes complete */
    size_t n_events, cap_events;
    size_t changes;              /* scene events among them */
    char *error;                 /* FAILED: why (the decision_failed error); else NULL */
} fleet_editor_out;

typedef struct fleet_editor_opts {
    const char *producer; /* the events' envelope producer, e.g. "fleetctl-editor" */
    int64_t now_ms;       /* the events' produced_at_ms */
} fleet_editor_opts;

/* Applies decision d (either kind) to sb, filling out (zeroed first; fleet_editor_out_free it).
 * The storyboard already holds the events' effect when this returns. Returns 0, or -1 with err
 * (out of memory, or an event the contract would refuse: a bug, reported rather than published). */
int fleet_editor_apply(fleet_storyboards *sb, const bf_msg_brain_decision *d, const fleet_editor_opts *o,
                       fleet_editor_out *out, char *err, size_t errlen);

void fleet_editor_out_free(fleet_editor_out *out);

/* The id the brain mints for the new scene of tool call step of request_id (docs/topics.md). */
void fleet_editor_new_scene_id(const char *request_id, size_t step, char out[BF_ID_MAX + 1]);

#endif
