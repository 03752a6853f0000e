/* memoryUpdates: memory items and conversation messages to persist (brain-worker -> memory-writer).
 * At least one item or message. Conventions: bf_msg.h. */
#ifndef BF_MSG_MEMORY_UPDATE_H
#define BF_MSG_MEMORY_UPDATE_H

#include "bf_envelope.h"
#include "bf_msg.h"

typedef enum {
    BF_MEMORY_USER_PREFERENCE = 0,
    BF_MEMORY_SCENE_RELATIONSHIP,
    BF_MEMORY_CONVERSATION_CONTEXT,
} bf_memory_type;
#define BF_MEMORY_TYPE_COUNT 3

typedef enum { BF_ROLE_USER = 0, BF_ROLE_ASSISTANT } bf_message_role;

typedef struct bf_memory_item {
    bf_memory_type memory_type;
    char *key;           /* 1..BF_MEMORY_KEY_MAX bytes, single line */
    char *value;         /* any JSON value as compact JSON text, at most BF_MEMORY_VALUE_MAX */
    double confidence;   /* 0..1: the evidence weight of this update */
    char *source;        /* who inferred it: "brain-worker:decision", "image:<trace id>" ... */
    bool is_explicit;    /* JSON "explicit": the user said so */
    int64_t expires_at_ms; /* Unix ms; -1 when absent (no expiry) */
} bf_memory_item;

typedef struct bf_conversation_message {
    char message_id[BF_UUID_LEN + 1]; /* idempotency key in the messages table */
    bf_message_role role;
    char *content;         /* 1..BF_MESSAGE_CONTENT_MAX bytes */
    char *conversation_id; /* identifier */
    /* The conversation's turn (1..BF_TURN_MAX): the user and assistant message of one turn share
     * it, and readers order by it, user before assistant. 0 when absent (messages written before
     * turns existed; readers put them before numbered ones, by time). */
    int64_t turn;
} bf_conversation_message;

typedef struct bf_msg_memory_update {
    bf_envelope env;
    char request_id[BF_UUID_LEN + 1]; /* the brainRequest that caused it; "" when absent */
    bf_memory_item *items;
    size_t n_items;                   /* 0..BF_MEMORY_ITEMS_MAX */
    bf_conversation_message *messages;
    size_t n_messages;                /* 0..BF_MEMORY_MESSAGES_MAX */
} bf_msg_memory_update;

const char *bf_memory_type_name(bf_memory_type t);
int bf_memory_type_parse(const char *s); /* -1 when unknown */
const char *bf_message_role_name(bf_message_role r);

int bf_msg_memory_update_decode(const char *bytes, size_t len, bf_msg_memory_update *out, char *err,
                                size_t errlen);
char *bf_msg_memory_update_encode(const bf_msg_memory_update *m, char *err, size_t errlen);
void bf_msg_memory_update_free(bf_msg_memory_update *m);

#endif
