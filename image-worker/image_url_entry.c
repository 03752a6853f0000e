#include "image_url_entry.h"

#include <stdlib.h>
#include <string.h>

char *image_url_entry_new(const char *etag, const char *last_modified, const char *facts_json, size_t *len) {
    const char *part[3] = {etag ? etag : "", last_modified ? last_modified : "", facts_json};
    size_t n[3], total = 0;
    for (int i = 0; i < 3; i++) total += (n[i] = strlen(part[i]) + 1);
    char *v = malloc(total);
    if (!v) return NULL;
    char *p = v;
    for (int i = 0; i < 3; i++) p = (char *)memcpy(p, part[i], n[i]) + n[i];
    *len = total;
    return v;
}

int image_url_entry_split(const char *value, size_t len, const char **etag, const char **last_modified,
                          const char **facts_json) {
    const char **out[3] = {etag, last_modified, facts_json};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        const char *end = at < len ? memchr(value + at, '\0', len - at) : NULL;
        if (!end) return -1;
        *out[i] = value + at;
        at = (size_t)(end - value) + 1;
    }
    return at == len ? 0 : -1;
}
