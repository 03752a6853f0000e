#include "bf_msg_memory_update.h"

#include <stdlib.h>
#include <string.h>

#include "bf_msg_codec.h"

static const char *const type_names[BF_MEMORY_TYPE_COUNT] = {"user_preference", "scene_relationship",
                                                             "conversation_context"};
static const char *const role_names[] = {"user", "assistant"};
#define MAX_TIME_MS 9007199254740991LL

const char *bf_memory_type_name(bf_memory_type t) {
    return (unsigned)t < BF_MEMORY_TYPE_COUNT ? type_names[t] : NULL;
}

int bf_memory_type_parse(const char *s) {
    for (int i = 0; s && i < BF_MEMORY_TYPE_COUNT; i++)
        if (strcmp(s, type_names[i]) == 0) return i;
    return -1;
}

const char *bf_message_role_name(bf_message_role r) { return (unsigned)r < 2 ? role_names[r] : NULL; }

void bf_msg_memory_update_free(bf_msg_memory_update *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_items; i++) {
        free(m->items[i].key);
        free(m->items[i].value);
        free(m->items[i].source);
    }
    free(m->items);
    for (size_t i = 0; i < m->n_messages; i++) {
        free(m->messages[i].content);
        free(m->messages[i].conversation_id);
    }
    free(m->messages);
    memset(m, 0, sizeof *m);
}

static void read_item(bf_jc *c, const cJSON *e, bf_memory_item *it) {
    int t;
    it->expires_at_ms = -1;
    if (!cJSON_IsObject(e)) {
        bf_jc_fail(c, "expected an object");
        return;
    }
    if (bf_jc_enum(c, e, "memory_type", true, type_names, BF_MEMORY_TYPE_COUNT, &t) == 0) it->memory_type = (bf_memory_type)t;
    bf_jc_string(c, e, "key", true, 1, BF_MEMORY_KEY_MAX, false, &it->key);
    bf_jc_json(c, e, "value", true, false, BF_MEMORY_VALUE_MAX, &it->value);
    bf_jc_number(c, e, "confidence", true, 0, 1, &it->confidence);
    bf_jc_string(c, e, "source", true, 1, BF_MEMORY_SOURCE_MAX, false, &it->source);
    bf_jc_bool(c, e, "explicit", true, &it->is_explicit);
    bf_jc_int(c, e, "expires_at_ms", false, 0, MAX_TIME_MS, &it->expires_at_ms);
}

static void read_message(bf_jc *c, const cJSON *e, bf_conversation_message *msg) {
    int r;
    if (!cJSON_IsObject(e)) {
        bf_jc_fail(c, "expected an object");
        return;
    }
    bf_jc_uuid(c, e, "message_id", true, false, msg->message_id);
    if (bf_jc_enum(c, e, "role", true, role_names, 2, &r) == 0) msg->role = (bf_message_role)r;
    bf_jc_string(c, e, "content", true, 1, BF_MESSAGE_CONTENT_MAX, true, &msg->content);
    bf_jc_ident(c, e, "conversation_id", true, &msg->conversation_id);
    bf_jc_int(c, e, "turn", false, 1, BF_TURN_MAX, &msg->turn);
}

int bf_msg_memory_update_decode(const char *bytes, size_t len, bf_msg_memory_update *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    bf_jc c;
    const cJSON *p, *arr;
    size_t n;
    cJSON *root = bf_msg_decode_begin(bytes, len, BF_SCHEMA_MEMORY_UPDATES, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    bf_jc_uuid(&c, p, "request_id", false, false, out->request_id);
    if (bf_jc_array(&c, p, "items", false, 0, BF_MEMORY_ITEMS_MAX, &arr, &n) == 0 && n) {
        out->items = calloc(n, sizeof *out->items);
        if (!out->items) bf_jc_fail(&c, "out of memory");
        size_t mk = bf_jc_push_key(&c, "items");
        for (const cJSON *e = arr->child; e && !c.failed; e = e->next) {
            size_t mi = bf_jc_push_index(&c, out->n_items);
            read_item(&c, e, &out->items[out->n_items++]);
            bf_jc_pop(&c, mi);
        }
        bf_jc_pop(&c, mk);
    }
    if (bf_jc_array(&c, p, "messages", false, 0, BF_MEMORY_MESSAGES_MAX, &arr, &n) == 0 && n) {
        out->messages = calloc(n, sizeof *out->messages);
        if (!out->messages) bf_jc_fail(&c, "out of memory");
        size_t mk = bf_jc_push_key(&c, "messages");
        for (const cJSON *e = arr->child; e && !c.failed; e = e->next) {
            size_t mi = bf_jc_push_index(&c, out->n_messages);
            read_message(&c, e, &out->messages[out->n_messages++]);
            bf_jc_pop(&c, mi);
        }
        bf_jc_pop(&c, mk);
    }
    if (!c.failed && out->n_items == 0 && out->n_messages == 0) bf_jc_fail(&c, "no items and no messages");
    cJSON_Delete(root);
    if (!c.failed) return 0;
    bf_msg_memory_update_free(out);
    return -1;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_memory_update m;
    int r = bf_msg_memory_update_decode(bytes, len, &m, err, errlen);
    bf_msg_memory_update_free(&m);
    return r;
}

static int add_item(cJSON *arr, const bf_memory_item *it) {
    cJSON *e = cJSON_CreateObject();
    if (!e) return -1;
    cJSON_AddItemToArray(arr, e);
    int r = bf_msg_add_string(e, "memory_type", bf_memory_type_name(it->memory_type));
    r |= bf_msg_add_string(e, "key", it->key);
    r |= bf_msg_add_json(e, "value", it->value);
    if (!cJSON_AddNumberToObject(e, "confidence", it->confidence)) r = -1;
    r |= bf_msg_add_string(e, "source", it->source);
    if (!cJSON_AddBoolToObject(e, "explicit", it->is_explicit)) r = -1;
    if (it->expires_at_ms >= 0 && !cJSON_AddNumberToObject(e, "expires_at_ms", (double)it->expires_at_ms)) r = -1;
    return r;
}

static int add_message(cJSON *arr, const bf_conversation_message *msg) {
    cJSON *e = cJSON_CreateObject();
    if (!e) return -1;
    cJSON_AddItemToArray(arr, e);
    int r = bf_msg_add_string(e, "message_id", msg->message_id);
    r |= bf_msg_add_string(e, "role", bf_message_role_name(msg->role));
    r |= bf_msg_add_string(e, "content", msg->content);
    r |= bf_msg_add_string(e, "conversation_id", msg->conversation_id);
    if (msg->turn > 0 && !cJSON_AddNumberToObject(e, "turn", (double)msg->turn)) r = -1;
    return r;
}

char *bf_msg_memory_update_encode(const bf_msg_memory_update *m, char *err, size_t errlen) {
    cJSON *p = cJSON_CreateObject();
    int r = p ? 0 : -1;
    if (m->request_id[0]) r |= bf_msg_add_string(p, "request_id", m->request_id);
    cJSON *items = cJSON_AddArrayToObject(p, "items");
    cJSON *msgs = cJSON_AddArrayToObject(p, "messages");
    if (!items || !msgs) r = -1;
    for (size_t i = 0; r == 0 && i < m->n_items; i++) r |= add_item(items, &m->items[i]);
    for (size_t i = 0; r == 0 && i < m->n_messages; i++) r |= add_message(msgs, &m->messages[i]);
    if (r != 0) {
        cJSON_Delete(p);
        p = NULL;
    }
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_MEMORY_UPDATES, p, verify, err, errlen);
}
