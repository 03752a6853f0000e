/* EXIF orientation: how a camera's stored pixels must be turned to show what the person saw.
 *
 * Why our own reader: none of the libraries we use parses EXIF for a JPEG (libjpeg-turbo hands
 * over the APP1 bytes, libheif only for HEIF files, where it applies irot/imir itself, and
 * stb_image ignores it), and the one value we need sits in IFD0 of a small TIFF structure. The
 * reader is bounded by the segment's length (every offset checked before it is read, at most one
 * pass over IFD0's entries) and fuzzed (tests/fuzz/fuzz_image_exif.c). */
#ifndef IMAGE_EXIF_H
#define IMAGE_EXIF_H

#include <stddef.h>
#include <stdint.h>

/* The EXIF Orientation tag (0x0112) of IFD0 in a TIFF structure ("II*\0" or "MM\0*" ...): 1..8, or
 * 0 when the structure is malformed, the tag is absent, or its value is not 1..8 (all of which mean
 * "show as stored"). */
int image_exif_tiff_orientation(const uint8_t *tiff, size_t len);

/* The same from a JPEG APP1 segment's payload, which starts "Exif\0\0" followed by the TIFF
 * structure; 0 for anything else (XMP's APP1 among them). */
int image_exif_app1_orientation(const uint8_t *app1, size_t len);

/* 1 when orientation (1..8) turns the picture by a quarter (5..8): the shown width is the stored
 * height. */
int image_exif_swaps_sides(int orientation);

#endif
