/* What the analysis cache keeps for a URL (key "url:<url>"): the validators of the response the
 * facts came from (ETag, Last-Modified) and the facts, so the next request for the URL is a
 * conditional GET and a 304 reuses the facts (docs/image-analysis.md, "Revalidation"). Pure. */
#ifndef IMAGE_URL_ENTRY_H
#define IMAGE_URL_ENTRY_H

#include <stddef.h>

/* The entry as one value: etag, last_modified and facts_json, each NUL-terminated, one after the
 * other ("" for an absent validator). Returns malloc'd bytes and their length in *len, or NULL
 * when out of memory. */
char *image_url_entry_new(const char *etag, const char *last_modified, const char *facts_json, size_t *len);

/* Splits a value image_url_entry_new made; the pointers point into value. Returns 0, or -1 when
 * it is not such a value. */
int image_url_entry_split(const char *value, size_t len, const char **etag, const char **last_modified,
                          const char **facts_json);

#endif
