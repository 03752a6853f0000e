/* Read your own writes: the turns the brain decided that memory-writer may not have committed yet.
 *
 * A project's next request can start before memory-writer has written the previous turn (its
 * messages, the conversation's state, a scene the brain just created). The brain owns the
 * project's partition, so it remembers its own recent turns per project and lays them over the
 * packet it read: the messages of turns newer than the packet's, the conversation's state when the
 * remembered turn is newer than the stored one, and a scene the brain created that the storyboard
 * does not list yet (so "make it longer" can target it). Entries go when the packet shows them
 * committed, after a TTL, or (oldest project first) beyond a bound: memory is bounded, and after a
 * restart the database alone answers, as it does once memory-writer has caught up.
 *
 * Not thread-safe: the loop thread owns it. */
#ifndef BRAIN_OVERLAY_H
#define BRAIN_OVERLAY_H

#include <stddef.h>
#include <stdint.h>

#include "brain_context.h"

typedef struct brain_overlay brain_overlay;

/* One decided turn, as remembered (everything copied by brain_overlay_record). */
typedef struct brain_turn {
    const char *conversation_id;    /* "default" when the request had none */
    long long turn;
    const char *user_text, *assistant_text;
    const brain_conversation *state; /* the conversation's state after this turn (brain's fields) */
    const char *new_scene_id;       /* a scene this turn's decision created, or NULL */
    const char *new_scene_name;     /* its name as the decision put it */
} brain_turn;

brain_overlay *brain_overlay_new(size_t max_projects, int64_t ttl_ms);
void brain_overlay_free(brain_overlay *o);

/* Remembers t for project. Returns 0, or -1 when out of memory (then nothing is remembered; the
 * next request reads the database only). */
int brain_overlay_record(brain_overlay *o, const char *project, const brain_turn *t, int64_t now_ms);

/* Lays the project's remembered turns of conversation_id ("default" when NULL) over ctx (see
 * above). Returns how many turns were laid over (0 when the packet had them all). */
size_t brain_overlay_apply(brain_overlay *o, const char *project, const char *conversation_id, brain_context *ctx,
                           int64_t now_ms);

size_t brain_overlay_projects(const brain_overlay *o);

#endif
