/* image-worker's WebP decoder (image_webp_decode_new: WebPGetFeatures, then WebPDecode for a still
 * image or libwebpdemux's first frame of an animation) on hostile bytes. libwebp is the system's
 * (uninstrumented) library: the input sits at the end of a guarded page, so a read past it faults
 * even inside libwebp, and our code around it (limits, canvas offsets, the in-place first-frame
 * decode) is instrumented. The first byte picks tight limits (odd) or the defaults. Properties: a
 * refusal has a status and a reason; an accepted image has the size the headers declare, within
 * the limits, and every pixel byte is readable. */
#include "bf_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "image_webp.h"

int bf_fuzz_image_webp(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint64_t max_side = (data[0] & 1u) ? 256 : 16383, max_pixels = (data[0] & 1u) ? 4096 : 4000000;
    void *map = NULL;
    size_t map_len = 0;
    const uint8_t *in = (const uint8_t *)bf_fuzz_guarded_copy(data + 1, size - 1, &map, &map_len);
    if (!in) return 0;
    uint64_t dw = 0, dh = 0;
    int declared = image_webp_declared_size(in, size - 1, &dw, &dh);
    uint32_t w = 0, h = 0;
    image_decode_status st = IMAGE_DECODE_OK;
    char err[256];
    memset(err, 'x', sizeof err);
    uint8_t *px = image_webp_decode_new(in, size - 1, max_side, max_pixels, &w, &h, &st, err, sizeof err);
    bf_fuzz_check_decoded("image_webp_decode_new", px, st == IMAGE_DECODE_OK, w, h, max_side, max_pixels, err,
                          sizeof err);
    if (px && (declared != 0 || dw != w || dh != h)) bf_fuzz_fail("image_webp_decode_new", "size differs from the headers");
    free(px);
    bf_fuzz_guarded_free(map, map_len);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_image_webp(data, size);
}
#endif
