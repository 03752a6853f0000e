/* HEIC and AVIF bytes -> RGB pixels with libheif (Debian's libheif1, which decodes HEVC with
 * libde265 and AV1 with libaom or dav1d: we choose libaom, image_heif.c says why).
 *
 * The container is parsed first (boxes only, no pixels); the primary image's size, both as coded
 * (ispe) and as shown, is checked against the limits before heif_decode_image allocates anything
 * for pixels. libheif applies the file's own transformations (irot rotation, imir mirroring, clap
 * crop) as it decodes, so the pixels come out as a person sees them: a portrait phone photo stored
 * landscape with irot comes out taller than wide. The EXIF orientation that phones also write into
 * HEIC files is deliberately not applied on top: the HEIF standard makes irot/imir the authority and
 * the EXIF value informative, and applying both would turn the picture twice. Decoding is strict
 * (a damaged file is refused, not decoded in part), high bit depths are reduced to 8 bits, alpha
 * is dropped, and tiles are decoded on the calling thread. */
#ifndef IMAGE_HEIF_H
#define IMAGE_HEIF_H

#include <stddef.h>
#include <stdint.h>

#include "image_decode.h"

/* The primary image's size as shown (after rotation), read by parsing the container's boxes
 * without decoding: 0, or -1 when the container cannot be read. */
int image_heif_declared_size(const void *data, size_t len, uint64_t *width, uint64_t *height);

/* Decodes the primary image into a new malloc'd buffer of *width x *height x 3 bytes, rows top to
 * bottom as shown (the caller frees it with free()), or returns NULL with *status
 * (IMAGE_DECODE_TOO_LARGE, IMAGE_DECODE_CORRUPT) and a reason. */
uint8_t *image_heif_decode_new(const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                               uint32_t *width, uint32_t *height, image_decode_status *status, char *err,
                               size_t errlen);

#endif
