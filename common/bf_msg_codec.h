/* Internal to the bf_msg_*.c codecs: the pieces every message shares (envelope framing, lists,
 * errors, embedded JSON text) so each codec file holds only its own payload's rules. Not for
 * workers: they use bf_msg_<type>.h. */
#ifndef BF_MSG_CODEC_H
#define BF_MSG_CODEC_H

#include <cjson/cJSON.h>

#include "bf_envelope.h"
#include "bf_json_check.h"
#include "bf_msg.h"

typedef enum { BF_LIST_TEXT, BF_LIST_URL, BF_LIST_TRACE_ID } bf_list_kind;

/* Parses and checks the envelope, then leaves c positioned at "payload". Returns the tree (caller
 * deletes) or NULL with err already written. */
cJSON *bf_msg_decode_begin(const char *bytes, size_t len, const char *schema, bf_envelope *env,
                           const cJSON **payload, bf_jc *c, char *err, size_t errlen);

int bf_msg_list_read(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t min, size_t max,
                     size_t item_max, bf_list_kind kind, bf_strlist *out);
int bf_msg_error_read(bf_jc *c, const cJSON *obj, const char *key, bf_msg_error *out);

/* Builders: return 0, or -1 when out of memory or (add_json) text is not JSON. NULL values skip. */
int bf_msg_add_list(cJSON *obj, const char *key, const bf_strlist *l);
int bf_msg_add_error(cJSON *obj, const char *key, const bf_msg_error *e);
int bf_msg_add_string(cJSON *obj, const char *key, const char *s);
int bf_msg_add_json(cJSON *obj, const char *key, const char *json_text);

typedef int (*bf_msg_verify_fn)(const char *bytes, size_t len, char *err, size_t errlen);
/* Wraps payload (consumed; NULL means a builder ran out of memory) in env, then runs verify over
 * the result so nothing leaves a producer that a consumer would reject. */
char *bf_msg_encode_finish(const bf_envelope *env, const char *schema, cJSON *payload, bf_msg_verify_fn verify,
                           char *err, size_t errlen);

#endif
