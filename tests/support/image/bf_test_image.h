/* Test images made at test time with the libraries' own encoders (libwebp, libwebpmux, libheif
 * with x265 and libaom, libjpeg-turbo) or assembled byte by byte here (animated GIF, EXIF): never
 * downloaded files. Used by tests/unit/test_image_* and tests/integration/test_image_worker.c.
 * Every function returns malloc'd bytes in *out (free with free()) and 0, or -1 when the encoder
 * failed (the test then fails with the reason in err). */
#ifndef BF_TEST_IMAGE_H
#define BF_TEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bf_test_bytes {
    uint8_t *data;
    size_t len;
} bf_test_bytes;

/* rgb: w*h*3 bytes, rows top to bottom. */
int bf_test_webp_encode(const uint8_t *rgb, int w, int h, int lossless, bf_test_bytes *out, char *err, size_t errlen);

/* An animated WebP of n frames (each w*h*3, lossless), 100 ms apart. */
int bf_test_webp_anim_encode(const uint8_t *const *frames, int n, int w, int h, bf_test_bytes *out, char *err,
                             size_t errlen);

/* An animation on a cw x ch canvas whose first frame (fw x fh, lossless, rgb) sits at x, y (even
 * numbers, as WebP requires) and whose second frame covers the canvas with `second` (cw*ch*3). */
int bf_test_webp_anim_offset_encode(const uint8_t *first, int fw, int fh, int x, int y, const uint8_t *second, int cw,
                                    int ch, bf_test_bytes *out, char *err, size_t errlen);

/* A HEIF file: HEVC (av1 = 0, a .heic) or AV1 (av1 = 1, a .avif), with the EXIF-style orientation
 * 1..8 written as the file's irot/imir boxes (0: none). */
int bf_test_heif_encode(const uint8_t *rgb, int w, int h, int av1, int orientation, bf_test_bytes *out, char *err,
                        size_t errlen);

/* The same from RGBA (w*h*4): the alpha goes into the file's alpha plane. */
int bf_test_heif_encode_rgba(const uint8_t *rgba, int w, int h, int av1, bf_test_bytes *out, char *err, size_t errlen);

/* A GIF89a animation of n solid frames (n <= 4), colours[i] = {r, g, b} of frame i, every frame
 * covering the w x h screen. */
int bf_test_gif_anim_encode(const uint8_t (*colours)[3], int n, int w, int h, bf_test_bytes *out);

/* The TIFF structure of an EXIF block holding a few IFD0 entries and Orientation = orientation
 * (written as an APP1 payload: "Exif\0\0" first), little- or big-endian. */
int bf_test_exif_app1(int orientation, int big_endian, bf_test_bytes *out);

/* A baseline JPEG (quality 95) of rgb carrying the given APP1 payload (NULL: none). */
int bf_test_jpeg_encode(const uint8_t *rgb, int w, int h, const bf_test_bytes *app1, bf_test_bytes *out, char *err,
                        size_t errlen);

/* rgb filled with one colour on the left `split` columns and another on the rest. */
/* A progressive JPEG (quality 95) with full-resolution chroma (4:4:4): the decoder keeps every
 * coefficient of the image until the last scan, its most memory (bench/image_worker_bench memory). */
int bf_test_jpeg_progressive_encode(const uint8_t *rgb, int w, int h, bf_test_bytes *out, char *err, size_t errlen);
uint8_t *bf_test_two_colour_new(int w, int h, int split, const uint8_t left[3], const uint8_t right[3]);

#endif
