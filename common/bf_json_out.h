/* JSON text written piece by piece into a growing buffer, for the encoder of a hot message of
 * fixed shape (imageFactsProcessed), where building a cJSON tree only to print it was a seventh
 * of the memory-writer's loop. Not a JSON library: no tree, no parsing, and the caller writes the
 * punctuation ('{', ',', ':'). Strings and numbers come out as exactly the bytes
 * cJSON_PrintUnformatted writes for them, so such an encoder is tested byte for byte against the
 * cJSON encoder of the same message (tests/unit/test_json_out.c, test_msg_facts_processed_write.c).
 *
 * Errors are sticky: after a failed allocation every call does nothing and bf_json_out_text
 * returns NULL, so writers check once at the end. */
#ifndef BF_JSON_OUT_H
#define BF_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bf_buf.h"

/* The buffer itself: buf, len and oom are bf_buf's. */
typedef bf_buf bf_json_out;

void bf_json_out_init(bf_json_out *w);
void bf_json_out_free(bf_json_out *w);
/* Empties w for reuse, keeping its buffer. */
void bf_json_out_reset(bf_json_out *w);

/* Starts an object member: a comma unless the member is the object's first (the last byte
 * written is its '{'), then "key":. key is a literal that needs no escaping. */
void bf_json_out_key(bf_json_out *w, const char *key);
/* n bytes as they are (punctuation, keys known to need no escaping, JSON text already printed). */
void bf_json_out_raw(bf_json_out *w, const char *s, size_t n);
/* A NUL-terminated literal as it is. */
void bf_json_out_lit(bf_json_out *w, const char *s);
/* s quoted and escaped as cJSON escapes it: \" \\ \b \f \n \r \t, other bytes below 0x20 as
 * \u00xx, everything else (UTF-8 included) as it is. NULL writes "" as cJSON does. */
void bf_json_out_string(bf_json_out *w, const char *s);
/* An array of strings: ["a","b"]. */
void bf_json_out_strings(bf_json_out *w, const char *const *v, size_t n);
/* cJSON's text for a number (bf_number_json). */
void bf_json_out_number(bf_json_out *w, double d);
/* Whole members: the key, then the value as the functions above write it. A NULL string writes
 * no member at all, as the cJSON encoders leave such a member out (bf_msg_add_string). */
void bf_json_out_member_string(bf_json_out *w, const char *key, const char *s);
void bf_json_out_member_number(bf_json_out *w, const char *key, double d);
void bf_json_out_member_int(bf_json_out *w, const char *key, int64_t v);
/* An integer's decimal digits. Equal to cJSON's text below 1e15; above, exact where cJSON writes
 * 15 significant digits ("1e+15"). */
void bf_json_out_int(bf_json_out *w, int64_t v);

/* Room for extra more bytes: a size hint, so a text of known size grows once. */
void bf_json_out_reserve(bf_json_out *w, size_t extra);

/* The text, NUL-terminated and owned by w, or NULL after an allocation failure. */
const char *bf_json_out_text(bf_json_out *w);
/* The text, NUL-terminated, now owned by the caller (free), or NULL after an allocation failure;
 * w is left empty, as after bf_json_out_init. *len receives the length. */
char *bf_json_out_take(bf_json_out *w, size_t *len);

#endif
