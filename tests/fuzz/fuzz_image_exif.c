/* Our EXIF orientation reader (image_exif.c) on hostile bytes, both as a bare TIFF structure and
 * as a JPEG APP1 payload, and inside a JPEG through libjpeg-turbo's marker reader
 * (image_jpeg_decode_new keeps APP1 segments and reads the first EXIF one). The first byte picks
 * the entry point (mod 3). Properties: the orientation is 0..8; the APP1 form equals the TIFF form
 * on the bytes after "Exif\0\0"; a decoded JPEG's orientation is 0..8. The input sits at the end
 * of a guarded page, so a read one byte past it faults. */
#include "bf_fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "image_exif.h"
#include "image_jpeg.h"

int bf_fuzz_image_exif(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    void *map = NULL;
    size_t map_len = 0;
    const uint8_t *in = (const uint8_t *)bf_fuzz_guarded_copy(data + 1, size - 1, &map, &map_len);
    if (!in) return 0;
    size_t n = size - 1;
    switch (data[0] % 3u) {
    case 0: {
        int o = image_exif_tiff_orientation(in, n);
        if (o < 0 || o > 8) bf_fuzz_fail("image_exif_tiff_orientation", "outside 0..8");
        break;
    }
    case 1: {
        int o = image_exif_app1_orientation(in, n);
        if (o < 0 || o > 8) bf_fuzz_fail("image_exif_app1_orientation", "outside 0..8");
        if (n >= 6 && memcmp(in, "Exif\0\0", 6) == 0 && o != image_exif_tiff_orientation(in + 6, n - 6))
            bf_fuzz_fail("image_exif_app1_orientation", "differs from the TIFF reading");
        if ((n < 6 || memcmp(in, "Exif\0\0", 6) != 0) && o != 0)
            bf_fuzz_fail("image_exif_app1_orientation", "an orientation without the Exif header");
        break;
    }
    default: {
        uint32_t w = 0, h = 0;
        int o = -1;
        image_jpeg_status st;
        char err[256];
        uint8_t *px = image_jpeg_decode_new(in, n, 1024, 65536, &w, &h, &o, &st, err, sizeof err);
        if (px && (o < 0 || o > 8)) bf_fuzz_fail("image_jpeg_decode_new", "orientation outside 0..8");
        free(px);
        break;
    }
    }
    bf_fuzz_guarded_free(map, map_len);
    return 0;
}

#ifndef BF_FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return bf_fuzz_image_exif(data, size);
}
#endif
