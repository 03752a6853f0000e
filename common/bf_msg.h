/* Message contracts shared by every topic: names, versions, the bounds every decoder enforces
 * (documented in docs/schema.md, mirrored in schemas/<topic>.json), and small shared value types.
 *
 * Each topic message has its own header (bf_msg_<type>.h) with a typed struct and
 *   int   bf_msg_<type>_decode(const char *bytes, size_t len, bf_msg_<type> *out, char *err, size_t errlen);
 *   char *bf_msg_<type>_encode(const bf_msg_<type> *m, char *err, size_t errlen);
 *   void  bf_msg_<type>_free(bf_msg_<type> *m);
 * decode takes untrusted bytes (not NUL-terminated, maybe not UTF-8) and returns 0, or -1 with the
 * exact path of the first problem in err ("payload.palette[2].hex: not a #RRGGBB colour"); on
 * failure *out holds nothing to free. A decoded struct owns all its memory; _free releases it and
 * zeroes the struct. encode validates the struct against the same rules (a producer can never
 * publish what consumers would reject) and returns malloc'd NUL-terminated JSON or NULL with err.
 * Structs filled by hand for encode may point at any strings; only decoded structs go to _free. */
#ifndef BF_MSG_H
#define BF_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_trace.h"
#include "bf_uuid.h"

#define BF_SCHEMA_VERSION 1

#define BF_SCHEMA_BRAIN_REQUESTS "brainRequests"
#define BF_SCHEMA_IMAGE_ANALYSIS_REQUESTED "imageAnalysisRequested"
#define BF_SCHEMA_IMAGE_FACTS_READY "imageFactsReady"
#define BF_SCHEMA_IMAGE_FACTS_PROCESSED "imageFactsProcessed"
#define BF_SCHEMA_MEMORY_UPDATES "memoryUpdates"
#define BF_SCHEMA_BRAIN_DECISIONS "brainDecisions"
#define BF_SCHEMA_DEAD_LETTERS "deadLetters"
#define BF_SCHEMA_EDITOR_EVENTS "editorEvents"

/* Bounds (bytes unless noted). */
#define BF_MSG_MAX_BYTES (2u * 1024 * 1024) /* a whole message; Kafka's message.max.bytes is above */
#define BF_MSG_MAX_DEPTH 32u               /* JSON nesting, envelope included */
#define BF_SCHEMA_NAME_MAX 32
#define BF_PRODUCER_MAX 48
#define BF_ID_MAX 128                  /* project, scene, conversation ids */
#define BF_URL_MAX 2048
#define BF_PROMPT_MAX 16384            /* brainRequests.prompt */
#define BF_MAX_IMAGE_URLS 8
#define BF_PALETTE_MAX 6
#define BF_MODEL_MAX 128
#define BF_TEXT_MAX 4096               /* reasoning, clarification question, error message */
#define BF_CONTEXT_TEXT_MAX 1024       /* imageAnalysisRequested.context.prompt_excerpt */
#define BF_VISION_JSON_MAX 8192        /* each of typography/style/layout as compact JSON */
#define BF_VISION_LIST_MAX 32          /* objects, visible_text entries */
#define BF_VISION_ITEM_MAX 256         /* one object label / one visible text line */
#define BF_TOOL_INPUT_MAX 65536        /* a tool call's input as compact JSON */
#define BF_WORKFLOW_STEPS_MAX 16
#define BF_DECISION_IMAGES_MAX 32      /* image trace ids a decision's context referenced */
#define BF_DROPPED_SECTIONS_MAX 16     /* prompt sections left out to fit the token budget */
#define BF_SECTION_NAME_MAX 64
#define BF_TOKENS_MAX 10000000
#define BF_TIMING_MAX_MS 86400000
#define BF_MEMORY_ITEMS_MAX 64
#define BF_MEMORY_KEY_MAX 256
#define BF_MEMORY_VALUE_MAX 16384      /* a memory item's value as compact JSON */
#define BF_MEMORY_SOURCE_MAX 128
#define BF_MEMORY_MESSAGES_MAX 32
#define BF_MESSAGE_CONTENT_MAX 32768   /* one conversation message */
#define BF_TURN_MAX 1000000000         /* memoryUpdates.messages[].turn: 1..this */
#define BF_SCENE_NAME_MAX 200          /* editorEvents scene name: 1..this */
#define BF_SCENE_DESCRIPTION_MAX 2000  /* editorEvents scene description: 0..this */
#define BF_SCENE_POSITION_MAX 9999     /* 0-based storyboard index (the tools' 1..10000) */
#define BF_SCENE_DURATION_MAX 3600000  /* ms */
#define BF_SCENE_VERSION_MAX 2147483647 /* per-scene version: 1..2^31-1 (cJSON prints 15 digits) */
#define BF_REORDER_MAX 500             /* editorEvents scenes_reordered.order entries */
#define BF_ERROR_CODE_MAX 64           /* [a-z][a-z0-9_]* */
#define BF_AWAIT_FACTS_MAX_MS 60000
#define BF_DLQ_TOPIC_MAX 249           /* Kafka's own topic name limit */
#define BF_DLQ_HEADERS_MAX 64
#define BF_DLQ_HEADER_NAME_MAX 256
#define BF_DLQ_ORIGINAL_MAX (1024u * 1024) /* original payload bytes (before base64) */

/* A list of owned strings. */
typedef struct bf_strlist {
    char **v;
    size_t n;
} bf_strlist;

/* An optional {code, message} error. present false: no error. */
typedef struct bf_msg_error {
    bool present;
    char code[BF_ERROR_CODE_MAX + 1]; /* machine-readable: "vision_failed", "llm_timeout" */
    char *message;                    /* for humans, at most BF_TEXT_MAX */
} bf_msg_error;

void bf_strlist_free(bf_strlist *l);
void bf_msg_error_free(bf_msg_error *e);

#endif
