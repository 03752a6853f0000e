/* image-worker's decode path (image_decode_new: magic sniff, declared-size check, then stb_image,
 * libjpeg-turbo, libwebp or libheif by format) on hostile image bytes, as fetched from any URL.
 * The fuzz build compiles stb_image from the same header the distribution's libstb is built from,
 * with ASan/UBSan, so that decoder itself is instrumented. Properties: a refusal has a status other than OK and a reason; an accepted image
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
    uint64_t max_side = lim->max_side ? lim->max_side : 65535;
    bf_fuzz_check_decoded("image_decode_new", img ? img->pixels : NULL, st == IMAGE_DECODE_OK, img ? img->width : 0,
                          img ? img->height : 0, max_side, lim->max_pixels, err, sizeof err);
    (void)image_decode_status_code(st);
    if (!img) return 0;
    if (img->format != image_format_sniff(data + 1, size - 1)) bf_fuzz_fail("image_decode_new", "format differs");
    if (img->orientation < 0 || img->orientation > 8) bf_fuzz_fail("image_decode_new", "orientation outside 0..8");
    image_rgb_free(img);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_image_decode(data, size);
}
#endif
