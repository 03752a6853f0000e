/* bf_sha256 against the FIPS 180-4 / NIST example vectors, incremental feeding across block
 * boundaries, and the lowercase hex that keys image analyses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bf_sha256.h"

static void test_fips_vectors(void **state) {
    (void)state;
    char hex[65];
    bf_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    bf_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    bf_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    bf_sha256_hex(four, strlen(four), hex);
    assert_string_equal(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a_incremental(void **state) {
    (void)state;
    bf_sha256 s;
    bf_sha256_init(&s);
    char chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    /* Odd chunk sizes cross the 64-byte block boundary at every offset. */
    size_t left = 1000000;
    for (size_t step = 1; left > 0; step = step % 97 + 1) {
        size_t n = step < left ? step : left;
        bf_sha256_update(&s, chunk, n);
        left -= n;
    }
    uint8_t d[32];
    bf_sha256_final(&s, d);
    static const uint8_t want[32] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
                                     0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
                                     0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, want, 32);
}

static void test_padding_edges(void **state) {
    (void)state;
    /* 55, 56 and 64 bytes: the length fits in the last block, just does not, and a full block. */
    char a[64];
    memset(a, 'a', sizeof a);
    char hex[65];
    bf_sha256_hex(a, 55, hex);
    assert_string_equal(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    bf_sha256_hex(a, 56, hex);
    assert_string_equal(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    bf_sha256_hex(a, 64, hex);
    assert_string_equal(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_hex_is_lowercase(void **state) {
    (void)state;
    char hex[65];
    bf_sha256_hex("abc", 3, hex);
    assert_int_equal(strlen(hex), 64);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a_incremental),
        cmocka_unit_test(test_padding_edges),
        cmocka_unit_test(test_hex_is_lowercase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
