/* Validation primitives for decoding messages: a bounded, UTF-8-checked parse of untrusted bytes,
 * and typed field readers that remember where they are, so every rejection names the exact place
 * ("payload.palette[2].hex: not a #RRGGBB colour"). The message decoders (bf_msg_*.c) are written
 * only in terms of these, which keeps one set of rules for every topic.
 *
 * Conventions of the readers: obj is the object holding the field, key its name; `required`
 * false means an absent (or JSON null) field is fine and leaves the output at its "absent" value.
 * They return 0, or -1 after writing "<path>: <reason>" into the context's error buffer; after the
 * first failure every later call fails at once, so decoders may check only at the end. Strings
 * are returned malloc'd (caller frees); lengths are in bytes. */
#ifndef BF_JSON_CHECK_H
#define BF_JSON_CHECK_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BF_JC_PATH_MAX 256

typedef struct bf_jc {
    char path[BF_JC_PATH_MAX]; /* "payload.palette[2]" while inside that element */
    size_t len;
    char *err;
    size_t errlen;
    bool failed;
} bf_jc;

/* Rejects, before cJSON sees them: more than max_len bytes, invalid UTF-8 (overlong forms,
 * surrogates, > U+10FFFF), NUL bytes and \u0000 escapes (cJSON strings are C strings, so either
 * would silently truncate), nesting deeper than max_depth, trailing bytes after the value, and
 * duplicate keys in any object (cJSON and JSON Schema tools disagree on which one wins).
 * bytes need not be NUL-terminated. Returns the parsed tree (caller cJSON_Delete's) or NULL. */
cJSON *bf_json_parse(const char *bytes, size_t len, size_t max_len, unsigned max_depth, char *err,
                     size_t errlen);
/* The UTF-8 check alone: true when bytes[0..len) is well-formed UTF-8. */
bool bf_utf8_valid(const char *bytes, size_t len);
/* The deepest nesting of objects and arrays in a JSON text (0 for a scalar), counted as
 * bf_json_parse counts it against max_depth, so an encoder embedding the text in a message can
 * tell whether the message stays within BF_MSG_MAX_DEPTH without parsing it. */
unsigned bf_json_depth(const char *text, size_t len);

void bf_jc_init(bf_jc *c, char *err, size_t errlen);
/* Enter a member / an array element; returns a mark for bf_jc_pop. */
size_t bf_jc_push_key(bf_jc *c, const char *key);
size_t bf_jc_push_index(bf_jc *c, size_t i);
void bf_jc_pop(bf_jc *c, size_t mark);
/* Records "<path>: <message>" (first failure wins) and returns -1. */
int bf_jc_fail(bf_jc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with key appended to the current path first. */
int bf_jc_fail_at(bf_jc *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The member key of obj, or NULL when absent or JSON null. */
const cJSON *bf_jc_get(const cJSON *obj, const char *key);

/* *out = the object (NULL when absent and optional). */
int bf_jc_object(bf_jc *c, const cJSON *obj, const char *key, bool required, const cJSON **out);
/* *out = the array, *n its length (NULL/0 when absent and optional); min..max elements. */
int bf_jc_array(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t min, size_t max,
                const cJSON **out, size_t *n);

/* A string of min..max bytes with no control characters except (when multiline) \n \r \t. */
int bf_jc_string(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t min, size_t max,
                 bool multiline, char **out);
/* Same for an array element / any item already located (path is the current one). */
int bf_jc_string_item(bf_jc *c, const cJSON *item, size_t min, size_t max, bool multiline, char **out);
/* One of names[0..n) -> *out = its index (left untouched when absent and optional). */
int bf_jc_enum(bf_jc *c, const cJSON *obj, const char *key, bool required, const char *const *names,
               size_t n, int *out);
/* A JSON number that is an integer in [min, max] (|v| <= 2^53, where doubles are exact). */
int bf_jc_int(bf_jc *c, const cJSON *obj, const char *key, bool required, int64_t min, int64_t max,
              int64_t *out);
int bf_jc_number(bf_jc *c, const cJSON *obj, const char *key, bool required, double min, double max,
                 double *out);
int bf_jc_bool(bf_jc *c, const cJSON *obj, const char *key, bool required, bool *out);

/* Formats, each into a fixed caller buffer (left "" when absent and optional). */
int bf_jc_uuid(bf_jc *c, const cJSON *obj, const char *key, bool required, bool v7_only, char out[37]);
int bf_jc_trace_id(bf_jc *c, const cJSON *obj, const char *key, bool required, char out[33]);
int bf_jc_trace_id_item(bf_jc *c, const cJSON *item, char out[33]);
int bf_jc_sha256(bf_jc *c, const cJSON *obj, const char *key, bool required, char out[65]);
int bf_jc_colour(bf_jc *c, const cJSON *obj, const char *key, bool required, char out[8]);
/* An identifier (project, scene, conversation ids): [A-Za-z0-9] then [A-Za-z0-9._:-], 1..128. */
int bf_jc_ident(bf_jc *c, const cJSON *obj, const char *key, bool required, char **out);
/* An http(s) URL with a host, no whitespace or control characters, at most max bytes. */
int bf_jc_url_item(bf_jc *c, const cJSON *item, size_t max, char **out);
int bf_jc_url(bf_jc *c, const cJSON *obj, const char *key, bool required, size_t max, char **out);
/* Any JSON value (objects only when object_only), kept as compact JSON text of at most max bytes. */
int bf_jc_json(bf_jc *c, const cJSON *obj, const char *key, bool required, bool object_only, size_t max,
               char **out);

/* Plain predicates the readers use, shared with the encoders' own checks. */
bool bf_ident_valid(const char *s);
bool bf_url_valid(const char *s, size_t max);
bool bf_colour_valid(const char *s);
bool bf_sha256_hex_valid(const char *s);

#endif
