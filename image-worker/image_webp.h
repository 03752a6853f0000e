/* WebP bytes -> RGB pixels with libwebp (Debian's libwebp7 and libwebpdemux2).
 *
 * A still WebP (lossy VP8, lossless VP8L, or VP8X with alpha/ICC/EXIF) goes to WebPDecode; an
 * animated one through libwebpdemux, whose first frame is decoded in place onto the canvas (what a
 * browser shows before the animation starts; the part of the canvas the first frame does not
 * cover stays black, the "transparent black" libwebp's own animation decoder starts from). Alpha
 * is dropped like for the other formats. The canvas size comes from WebPGetFeatures, which reads
 * the headers only, and is checked against the limits before any pixel memory is allocated. */
#ifndef IMAGE_WEBP_H
#define IMAGE_WEBP_H

#include <stddef.h>
#include <stdint.h>

#include "image_decode.h"

/* The canvas size the headers declare, without decoding: 0, or -1 when they cannot be read. */
int image_webp_declared_size(const void *data, size_t len, uint64_t *width, uint64_t *height);

/* Decodes data into a new malloc'd buffer of *width x *height x 3 bytes (the caller frees it with
 * free()), or returns NULL with *status (IMAGE_DECODE_TOO_LARGE or IMAGE_DECODE_CORRUPT) and a
 * reason. A truncated file is refused, not decoded in part. */
uint8_t *image_webp_decode_new(const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                               uint32_t *width, uint32_t *height, image_decode_status *status, char *err,
                               size_t errlen);

#endif
