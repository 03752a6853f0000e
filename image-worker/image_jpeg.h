/* JPEG bytes -> RGB pixels with libjpeg-turbo.
 *
 * Why not stb_image for JPEG too: Debian 12's stb_image (a 2022-09 snapshot) predates upstream's
 * JPEG hardening. Our fuzzer found two defects in its JPEG decoder: a Huffman table overflowing its
 * arrays (memory corruption) and a bit reader that shifts by 32 or more on a corrupt entropy
 * stream (undefined behaviour). libjpeg-turbo is the reference decoder, fuzzed continuously by
 * OSS-Fuzz and security-supported in Debian; stb_image keeps PNG, GIF and BMP. */
#ifndef IMAGE_JPEG_H
#define IMAGE_JPEG_H

#include <stddef.h>
#include <stdint.h>

/* A progressive JPEG may carry any number of scans, each a full pass over the coefficients: a
 * small corrupt file could keep the decoder busy for minutes. Real encoders write about ten. */
#define IMAGE_JPEG_MAX_SCANS 500

typedef enum {
    IMAGE_JPEG_OK = 0,
    IMAGE_JPEG_TOO_LARGE, /* the decoder's reading of the frame header is above the limits */
    IMAGE_JPEG_CORRUPT,   /* anything libjpeg refuses or warns about, or too many scans */
} image_jpeg_status;

/* Decodes a JPEG into a new malloc'd buffer of *width x *height x 3 bytes (RGB, rows top to
 * bottom as stored; the caller frees it with free()). *orientation (when not NULL) gets the EXIF
 * orientation of the first APP1 "Exif" segment, 1..8, or 0 when there is none (image_exif.h).
 * Greyscale is expanded to RGB; CMYK and YCCK (Adobe, stored inverted) are converted with
 * R = C*K/255 and so on. Returns NULL with *status and a reason in err when the frame header
 * declares a side above max_side or more than max_pixels pixels, or when libjpeg reports an error
 * or a warning: a warning means damaged data (a truncated file, bytes where a marker belongs) and
 * would turn into facts about grey filler, not the image. */
uint8_t *image_jpeg_decode_new(const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                               uint32_t *width, uint32_t *height, int *orientation, image_jpeg_status *status,
                               char *err, size_t errlen);

#endif
