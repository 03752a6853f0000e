#include "image_hash.h"

#include "bf_sha256.h"

void image_hash(const void *data, size_t len, char out[65]) {
    bf_sha256_hex(data, len, out);
}
