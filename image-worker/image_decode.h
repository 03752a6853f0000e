/* Image bytes -> RGB pixels, for the built-in analyser.
 *
 * Accepted formats, recognised by their magic bytes only: PNG, JPEG (baseline/progressive), GIF
 * (first frame), BMP, WebP (still, or the first frame of an animation), HEIC and AVIF (the primary
 * image). JPEG goes to libjpeg-turbo (image_jpeg.h says why), WebP to libwebp (image_webp.h), HEIC
 * and AVIF to libheif (image_heif.h), PNG, GIF and BMP to stb_image, whose other decoders (PSD,
 * HDR, PIC, PNM, TGA) so never see untrusted input. The dimensions are read from the header (for
 * HEIC/AVIF: from the parsed container) and checked against the limits before any pixel memory is
 * allocated: a 100 kB PNG declaring 100000x100000 is refused, not decoded. */
#ifndef IMAGE_DECODE_H
#define IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    IMAGE_FMT_UNKNOWN = 0,
    IMAGE_FMT_PNG,
    IMAGE_FMT_JPEG,
    IMAGE_FMT_GIF,
    IMAGE_FMT_BMP,
    IMAGE_FMT_WEBP,
    IMAGE_FMT_HEIC,
    IMAGE_FMT_AVIF,
} image_format;

/* "png", "jpeg", "gif", "bmp", "webp", "heic", "avif" (each the subtype of the format's MIME type),
 * "unknown". */
const char *image_format_name(image_format f);
/* The format the magic bytes say, IMAGE_FMT_UNKNOWN for anything else. HEIC and AVIF are told
 * apart by the brands of the ISO-BMFF `ftyp` box. */
image_format image_format_sniff(const void *data, size_t len);

typedef enum {
    IMAGE_DECODE_OK = 0,
    IMAGE_DECODE_UNSUPPORTED, /* not one of the accepted formats (text, TIFF, SVG, a video ...) */
    IMAGE_DECODE_TOO_LARGE,   /* declared width*height or a side above the limits */
    IMAGE_DECODE_CORRUPT,     /* the right magic, but the decoder failed (truncated, damaged) */
} image_decode_status;

/* The error code word carried in messages: "image_unsupported", "image_too_large",
 * "image_corrupt" ("ok" for IMAGE_DECODE_OK). */
const char *image_decode_status_code(image_decode_status s);

typedef struct image_decode_limits {
    uint64_t max_pixels; /* declared width*height above this is refused; 0: 40 000 000 */
    uint32_t max_side;   /* either side above this is refused; 0: 65535 (the message contract's) */
} image_decode_limits;

typedef struct image_rgb {
    uint8_t *pixels;     /* width*height*3 bytes as stored, rows top to bottom; malloc'd, image_rgb_free frees it */
    uint32_t width, height; /* of the stored pixels */
    image_format format;
    /* EXIF orientation 1..8 (image_exif.h): how the stored pixels must be turned to show them
     * upright; 0 or 1: as stored. Only JPEG carries one here: libheif turns HEIC/AVIF pixels itself. */
    int orientation;
} image_rgb;

/* The size a person sees: the stored size with the sides swapped for orientations 5..8. */
void image_rgb_shown_size(const image_rgb *img, uint32_t *width, uint32_t *height);

/* Decodes data into a new image (caller frees with image_rgb_free), or returns NULL with the
 * reason in *status and err (e.g. "png: declares 100000x100000 = 10000000000 pixels, above the
 * limit 40000000"). limits may be NULL for the defaults. */
image_rgb *image_decode_new(const void *data, size_t len, const image_decode_limits *limits,
                            image_decode_status *status, char *err, size_t errlen);
void image_rgb_free(image_rgb *img);

/* The dimensions the header declares, without decoding pixels (for HEIC/AVIF the container's boxes
 * are parsed: the primary image's size as shown); 0 when read, -1 when the header is too short,
 * unreadable or not one of the formats. Exposed for tests. */
int image_declared_size(const void *data, size_t len, image_format *fmt, uint64_t *width, uint64_t *height);

#endif
