/* image-worker's HEIC/AVIF decoder (image_heif_decode_new: libheif parses the boxes, our limits
 * are checked on the primary image's shown and coded sizes, then libheif decodes with libde265 or
 * dav1d) on hostile bytes. libheif and its codecs are the system's (uninstrumented) libraries: the
 * input sits at the end of a guarded page, so a read past it faults even inside them; our code
 * around them is instrumented. The first byte picks tight limits (odd) or the defaults.
 * Properties: a refusal has a status and a reason; an accepted image is within the limits, has the
 * size image_heif_declared_size reports, and every pixel byte is readable. */
#include "bf_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "image_heif.h"

int bf_fuzz_image_heif(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint64_t max_side = (data[0] & 1u) ? 256 : 65535, max_pixels = (data[0] & 1u) ? 4096 : 4000000;
    void *map = NULL;
    size_t map_len = 0;
    const uint8_t *in = (const uint8_t *)bf_fuzz_guarded_copy(data + 1, size - 1, &map, &map_len);
    if (!in) return 0;
    uint32_t w = 0, h = 0;
    image_decode_status st = IMAGE_DECODE_OK;
    char err[256];
    memset(err, 'x', sizeof err);
    uint8_t *px = image_heif_decode_new(in, size - 1, max_side, max_pixels, &w, &h, &st, err, sizeof err);
    bf_fuzz_check_decoded("image_heif_decode_new", px, st == IMAGE_DECODE_OK, w, h, max_side, max_pixels, err,
                          sizeof err);
    uint64_t dw = 0, dh = 0;
    if (px && (image_heif_declared_size(in, size - 1, &dw, &dh) != 0 || dw != w || dh != h))
        bf_fuzz_fail("image_heif_decode_new", "size differs from the container's");
    free(px);
    bf_fuzz_guarded_free(map, map_len);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_image_heif(data, size);
}
#endif
