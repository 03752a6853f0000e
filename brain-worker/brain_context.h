/* The context packet: everything the brain knows about a project when it decides. Built from one
 * JSON document that brain_store reads from PostgreSQL in one round trip, or degraded (the
 * conversation carried by the request only) when the database cannot be read. */
#ifndef BRAIN_CONTEXT_H
#define BRAIN_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "brain_conversation.h"

#include "bf_msg.h"

typedef struct brain_memory_item {
    char *key;
    char *value; /* JSON text */
    double confidence;
} brain_memory_item;

typedef struct brain_scene {
    char *id;
    char *name;
    long long position;
    long long duration_ms;
    char *description; /* what the editor says the scene shows; "" when none (never NULL once parsed) */
    long long version; /* the scene's version in the storyboard of record; 0 when unknown */
} brain_scene;

typedef struct brain_image_facts {
    char *trace_id;
    char *facts;      /* JSON text: palette, mood, typography, layout ... */
    char *created_at; /* as the database printed it */
    bf_strlist urls;  /* the image's URLs (facts.image_urls); empty for facts merged by the stage */
} brain_image_facts;

typedef struct brain_message {
    char *role; /* "user" | "assistant" */
    char *content;
    char *message_id; /* UUID text; NULL when unknown (a degraded packet's messages) */
    long long turn;   /* the conversation's turn; 0 when the message has none */
} brain_message;

typedef struct brain_context {
    bool degraded;
    char degraded_reason[256];
    brain_memory_item *preferences; /* highest confidence first */
    size_t n_preferences;
    brain_memory_item *relationships;
    size_t n_relationships;
    brain_scene *scenes; /* storyboard order */
    size_t n_scenes;
    brain_image_facts *images; /* newest first */
    size_t n_images;
    brain_message *messages; /* oldest first */
    size_t n_messages;
    brain_conversation conv; /* where the request's conversation stands (brain_conversation.h) */
} brain_context;

/* Parses the document brain_store returns:
 *   {"preferences":[{"key","value","confidence"}], "relationships":[...same...],
 *    "scenes":[{"scene_id","name","position","duration_ms","description","version"}]
 *                                                             (live scenes, storyboard order),
 *    "images":[{"trace_id","facts","created_at"}]            (newest first; facts.image_urls
 *                                                              become the image's urls),
 *    "messages":[{"message_id","role","content","turn"}]     (newest first in the conversation's
 *                                                              order; reversed here; turn null
 *                                                              when the message has none),
 *    "conversation":{...} or null}                           (the conversation_context value of
 *                                                              the request's conversation, read
 *                                                              into conv: brain_conversation.h)
 * Missing arrays are empty; missing description "", version and turn 0, conversation cleared.
 * Returns 0, or -1 with err (ctx is then empty). */
int brain_context_parse(const char *json, size_t len, brain_context *ctx, char *err, size_t errlen);

/* A degraded packet: no memory, no scenes, only the conversation that came with the request
 * (messages, n: oldest first; copied). reason says why (logged and published). */
int brain_context_degraded(brain_context *ctx, const char *reason, const brain_message *messages, size_t n);

/* Deep copy, for the per-project cache. Returns 0 or -1 (out of memory). */
int brain_context_copy(brain_context *dst, const brain_context *src);
void brain_context_clear(brain_context *ctx);

const brain_scene *brain_context_find_scene(const brain_context *ctx, const char *scene_id);
/* True when one of the project's analysed images has url among its URLs. */
bool brain_context_has_image_url(const brain_context *ctx, const char *url);

#endif
