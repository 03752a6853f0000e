/* SHA-256 (FIPS 180-4), for content hashes of image bytes: identical bytes are analysed once.
 * Small and dependency-free because no crypto library is linked; not for secrets (no constant-time
 * guarantees are needed for public content hashes). */
#ifndef BF_SHA256_H
#define BF_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define BF_SHA256_LEN 32
#define BF_SHA256_HEX_LEN 64

typedef struct bf_sha256 {
    uint32_t h[8];
    uint64_t total;      /* bytes fed so far */
    uint8_t block[64];
    size_t used;         /* bytes waiting in block */
} bf_sha256;

void bf_sha256_init(bf_sha256 *s);
void bf_sha256_update(bf_sha256 *s, const void *data, size_t len);
void bf_sha256_final(bf_sha256 *s, uint8_t out[BF_SHA256_LEN]);

/* One-shot digest as 64 lowercase hex digits plus NUL. */
void bf_sha256_hex(const void *data, size_t len, char out[BF_SHA256_HEX_LEN + 1]);

#endif
