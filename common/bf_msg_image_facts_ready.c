#include "bf_msg_image_facts_ready.h"

#include <string.h>

#include "bf_msg_codec.h"

void bf_msg_image_facts_ready_free(bf_msg_image_facts_ready *m) {
    if (!m) return;
    bf_image_facts_free(&m->facts);
    memset(m, 0, sizeof *m);
}

int bf_msg_image_facts_ready_decode(const char *bytes, size_t len, bf_msg_image_facts_ready *out, char *err,
                                    size_t errlen) {
    memset(out, 0, sizeof *out);
    bf_jc c;
    const cJSON *p;
    cJSON *root = bf_msg_decode_begin(bytes, len, BF_SCHEMA_IMAGE_FACTS_READY, &out->env, &p, &c, err, errlen);
    if (!root) return -1;
    int r = bf_image_facts_read(&c, p, &out->facts);
    cJSON_Delete(root);
    if (r != 0) memset(out, 0, sizeof *out);
    return r;
}

static int verify(const char *bytes, size_t len, char *err, size_t errlen) {
    bf_msg_image_facts_ready m;
    int r = bf_msg_image_facts_ready_decode(bytes, len, &m, err, errlen);
    bf_msg_image_facts_ready_free(&m);
    return r;
}

char *bf_msg_image_facts_ready_encode(const bf_msg_image_facts_ready *m, char *err, size_t errlen) {
    return bf_msg_encode_finish(&m->env, BF_SCHEMA_IMAGE_FACTS_READY, bf_image_facts_to_json(&m->facts), verify, err,
                                errlen);
}
