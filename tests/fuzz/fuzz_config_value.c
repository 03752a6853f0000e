/* bf_config_parse_value for every variable type, on arbitrary text (environment values are
 * operator input, but also reach fleetctl flags). The first byte picks the type (mod 8) and whether
 * the variable has bounds; the rest, cut at the first NUL as an environment value would be, is the
 * text. Properties: a rejection has a NUL-terminated reason naming the variable; an accepted value
 * is within the bounds, a string field is NUL-terminated and below BF_CFG_STR_MAX, an enum is one
 * of the choices, a URL is empty or http(s) with a host. bf_parse_duration_ms is checked too. */
#include "bf_fuzz.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bf_config.h"

static const bf_cfg_type types[] = {BF_CFG_STRING, BF_CFG_INT, BF_CFG_BOOL, BF_CFG_MS,
                                    BF_CFG_BYTES,  BF_CFG_ENUM, BF_CFG_URL, BF_CFG_DOUBLE};

int bf_fuzz_config_value(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    bf_cfg_var var = {.name = "FUZZ_VALUE", .type = types[data[0] % 8u], .offset = 0, .default_value = "",
                      .min = 1, .max = 0, .choices = "debug|info|warn|error", .flags = 0, .doc = "fuzzed"};
    bool bounded = (data[0] & 8u) != 0;
    if (bounded) {
        var.min = (data[0] & 16u) ? -1000.0 : 0.0;
        var.max = (data[0] & 32u) ? 9007199254740992.0 : 86400000.0;
    }
    char *text = malloc(size);
    if (!text) return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    union {
        char s[BF_CFG_STR_MAX];
        long long ll;
        bool b;
        double d;
    } field;
    memset(&field, 0x5a, sizeof field);
    char err[256];
    memset(err, 'x', sizeof err);
    int rc = bf_config_parse_value(&var, text, &field, err, sizeof err);
    if (rc != 0) {
        if (!memchr(err, '\0', sizeof err)) bf_fuzz_fail("bf_config_parse_value", "error not NUL-terminated");
        if (strncmp(err, "BRAINFLEET_FUZZ_VALUE", 21) != 0) bf_fuzz_fail("bf_config_parse_value: reason", err);
    } else {
        switch (var.type) {
        case BF_CFG_STRING:
        case BF_CFG_ENUM:
        case BF_CFG_URL:
            if (!memchr(field.s, '\0', sizeof field.s)) bf_fuzz_fail("bf_config_parse_value", "string not terminated");
            if (strcmp(field.s, text) != 0) bf_fuzz_fail("bf_config_parse_value", "string differs from the text");
            if (var.type == BF_CFG_ENUM && strcmp(field.s, "debug") != 0 && strcmp(field.s, "info") != 0 &&
                strcmp(field.s, "warn") != 0 && strcmp(field.s, "error") != 0)
                bf_fuzz_fail("bf_config_parse_value: enum outside its choices", field.s);
            if (var.type == BF_CFG_URL && field.s[0]) {
                const char *host = strncmp(field.s, "https://", 8) == 0 ? field.s + 8
                                   : strncmp(field.s, "http://", 7) == 0 ? field.s + 7
                                                                          : NULL;
                if (!host || !*host || *host == '/' || *host == ':')
                    bf_fuzz_fail("bf_config_parse_value: URL without scheme or host", field.s);
            }
            break;
        case BF_CFG_INT:
        case BF_CFG_MS:
        case BF_CFG_BYTES:
            if (bounded && ((double)field.ll < var.min || (double)field.ll > var.max))
                bf_fuzz_fail("bf_config_parse_value: integer outside bounds", text);
            if (var.type != BF_CFG_INT && field.ll < 0) bf_fuzz_fail("bf_config_parse_value: negative", text);
            break;
        case BF_CFG_DOUBLE:
            if (!isfinite(field.d)) bf_fuzz_fail("bf_config_parse_value: not finite", text);
            if (bounded && (field.d < var.min || field.d > var.max))
                bf_fuzz_fail("bf_config_parse_value: number outside bounds", text);
            break;
        case BF_CFG_BOOL:
            break;
        }
    }
    long long ms = bf_parse_duration_ms(text);
    if (ms < -1) bf_fuzz_fail("bf_parse_duration_ms: below -1", text);
    free(text);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_config_value(data, size);
}
#endif
