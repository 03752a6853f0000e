/* image-worker's decode path (image_decode_new: magic sniff, declared-size check, stb_image) on
 * hostile image bytes, as fetched from any URL. The fuzz build compiles stb_image from the same
 * header the distribution's libstb is built from, with ASan/UBSan, so the decoder itself is
 * instrumented. Properties: a refusal has a status other than OK and a reason; an accepted image
 * has the sniffed format and dimensions within the limits, and every pixel byte is readable. The
 * first byte picks tight limits (64x64-ish, to reach the TOO_LARGE paths cheaply) or the defaults. */
#include "bf_fuzz.h"

#include <string.h>

#include "image_decode.h"

int bf_fuzz_image_decode(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    image_decode_limits tight = {.max_pixels = 4096, .max_side = 256};
    image_decode_limits dflt = {.max_pixels = 4000000, .max_side = 0};
    const image_decode_limits *lim = (data[0] & 1u) ? &tight : &dflt;
    image_decode_status st = IMAGE_DECODE_OK;
    char err[256];
    memset(err, 'x', sizeof err);
    uint64_t w = 0, h = 0;
    image_format fmt = IMAGE_FMT_UNKNOWN;
    (void)image_declared_size(data + 1, size - 1, &fmt, &w, &h);
    image_rgb *img = image_decode_new(data + 1, size - 1, lim, &st, err, sizeof err);
    if (!img) {
        if (st == IMAGE_DECODE_OK) bf_fuzz_fail("image_decode_new", "NULL with status OK");
        if (!memchr(err, '\0', sizeof err) || !err[0]) bf_fuzz_fail("image_decode_new", "refusal without a reason");
        (void)image_decode_status_code(st);
        return 0;
    }
    if (st != IMAGE_DECODE_OK) bf_fuzz_fail("image_decode_new", "image with a failure status");
    if (img->format != image_format_sniff(data + 1, size - 1)) bf_fuzz_fail("image_decode_new", "format differs");
    if (img->width == 0 || img->height == 0 || img->width > lim->max_side + (lim->max_side ? 0u : 65535u) ||
        (uint64_t)img->width * img->height > lim->max_pixels)
        bf_fuzz_fail("image_decode_new", "dimensions outside the limits");
    unsigned sum = 0;
    size_t n = (size_t)img->width * img->height * 3u;
    for (size_t i = 0; i < n; i += 61) sum += img->pixels[i];
    sum += img->pixels[n - 1];
    (void)sum;
    image_rgb_free(img);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_image_decode(data, size);
}
#endif
