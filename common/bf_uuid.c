#include "bf_uuid.h"

#include <string.h>
#include <time.h>

#include "bf_sha256.h"
#include "bf_trace.h"

/* 8-4-4-4-12 lowercase hex, by table rather than a 16-argument snprintf (every event id). */
static void format_uuid(const unsigned char b[16], char out[BF_UUID_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 15];
    }
    *o = '\0';
}

void bf_uuid_v7_at(int64_t unix_ms, char out[BF_UUID_LEN + 1]) {
    unsigned char b[16];
    bf_random_bytes(b, sizeof b);
    uint64_t ms = unix_ms < 0 ? 0 : (uint64_t)unix_ms;
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format_uuid(b, out);
}

void bf_uuid_v7_derived(int64_t unix_ms, const char *name, char out[BF_UUID_LEN + 1]) {
    uint8_t digest[BF_SHA256_LEN];
    bf_sha256 h;
    bf_sha256_init(&h);
    bf_sha256_update(&h, name, strlen(name));
    bf_sha256_final(&h, digest);
    unsigned char b[16];
    memcpy(b, digest, sizeof b);
    uint64_t ms = unix_ms < 0 ? 0 : (uint64_t)unix_ms;
    for (int i = 0; i < 6; i++) b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format_uuid(b, out);
}

void bf_uuid_v7(char out[BF_UUID_LEN + 1]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    bf_uuid_v7_at((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, out);
}

void bf_uuid_v4(char out[BF_UUID_LEN + 1]) {
    unsigned char b[16];
    bf_random_bytes(b, sizeof b);
    b[6] = (unsigned char)(0x40 | (b[6] & 0x0f));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
    format_uuid(b, out);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool bf_uuid_valid(const char *s) {
    if (!s || strlen(s) != BF_UUID_LEN) return false;
    for (int i = 0; i < BF_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (hexval(s[i]) < 0) {
            return false;
        }
    }
    int version = hexval(s[14]);
    int variant = hexval(s[19]);
    return version >= 1 && version <= 8 && variant >= 8 && variant <= 11;
}

bool bf_uuid_v7_valid(const char *s) {
    return bf_uuid_valid(s) && s[14] == '7';
}

int64_t bf_uuid_v7_time_ms(const char *s) {
    if (!bf_uuid_v7_valid(s)) return -1;
    int64_t ms = 0;
    for (int i = 0; i < 13; i++) {
        if (i == 8) continue;
        ms = ms * 16 + hexval(s[i]);
    }
    return ms;
}
