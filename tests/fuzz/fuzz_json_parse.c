/* bf_json_parse, the bounded parse under every decoder, on raw bytes against a guard page (so an
 * over-read inside the distribution's uninstrumented libcjson faults too). Properties: a rejection
 * has a reason; an accepted tree is within the depth bound, and its compact printing is accepted
 * again (what we parsed, we can forward). */
#include "bf_fuzz.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "bf_json_check.h"
#include "bf_msg.h"

static unsigned depth_of(const cJSON *j) {
    unsigned best = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        unsigned d = depth_of(c);
        if (d > best) best = d;
    }
    return (cJSON_IsArray(j) || cJSON_IsObject(j)) ? best + 1 : best;
}

int bf_fuzz_json_parse(const uint8_t *data, size_t size) {
    void *map = NULL;
    size_t map_len = 0;
    const char *bytes = bf_fuzz_guarded_copy(data, size, &map, &map_len);
    if (!bytes) return 0;
    char err[256];
    memset(err, 'x', sizeof err);
    cJSON *root = bf_json_parse(bytes, size, BF_MSG_MAX_BYTES, BF_MSG_MAX_DEPTH, err, sizeof err);
    if (!root) {
        if (!memchr(err, '\0', sizeof err) || !err[0]) bf_fuzz_fail("bf_json_parse", "rejection without a reason");
    } else {
        if (depth_of(root) > BF_MSG_MAX_DEPTH) bf_fuzz_fail("bf_json_parse", "accepted a tree deeper than the bound");
        char *text = cJSON_PrintUnformatted(root);
        if (text) {
            cJSON *again = bf_json_parse(text, strlen(text), BF_MSG_MAX_BYTES * 2, BF_MSG_MAX_DEPTH, err, sizeof err);
            if (!again) bf_fuzz_fail("bf_json_parse: own printing of an accepted value is rejected", err);
            cJSON_Delete(again);
            free(text);
        }
        if (!bf_utf8_valid(bytes, size)) bf_fuzz_fail("bf_json_parse", "accepted invalid UTF-8");
        if (memchr(bytes, '\0', size)) bf_fuzz_fail("bf_json_parse", "accepted a NUL byte");
        cJSON_Delete(root);
    }
    bf_fuzz_guarded_free(map, map_len);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_json_parse(data, size);
}
#endif
