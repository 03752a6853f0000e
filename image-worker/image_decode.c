#include "image_decode.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>

#include "image_exif.h"
#include "image_heif.h"
#include "image_jpeg.h"
#include "image_webp.h"

#define DEFAULT_MAX_PIXELS 40000000ULL
#define DEFAULT_MAX_SIDE 65535U

const char *image_format_name(image_format f) {
    switch (f) {
    case IMAGE_FMT_PNG: return "png";
    case IMAGE_FMT_JPEG: return "jpeg";
    case IMAGE_FMT_GIF: return "gif";
    case IMAGE_FMT_BMP: return "bmp";
    case IMAGE_FMT_WEBP: return "webp";
    case IMAGE_FMT_HEIC: return "heic";
    case IMAGE_FMT_AVIF: return "avif";
    case IMAGE_FMT_UNKNOWN: break;
    }
    return "unknown";
}

const char *image_decode_status_code(image_decode_status s) {
    switch (s) {
    case IMAGE_DECODE_OK: return "ok";
    case IMAGE_DECODE_UNSUPPORTED: return "image_unsupported";
    case IMAGE_DECODE_TOO_LARGE: return "image_too_large";
    case IMAGE_DECODE_CORRUPT: return "image_corrupt";
    }
    return "image_corrupt";
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint32_t le16(const uint8_t *p) {
    return (uint32_t)p[1] << 8 | p[0];
}

/* ISO-BMFF brands (the `ftyp` box): which ones mean a still HEIC or AVIF image. */
static image_format brand_format(const uint8_t *b) {
    static const char heic[][5] = {"heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs"};
    static const char avif[][5] = {"avif", "avis"};
    for (size_t i = 0; i < sizeof heic / sizeof heic[0]; i++)
        if (memcmp(b, heic[i], 4) == 0) return IMAGE_FMT_HEIC;
    for (size_t i = 0; i < sizeof avif / sizeof avif[0]; i++)
        if (memcmp(b, avif[i], 4) == 0) return IMAGE_FMT_AVIF;
    return IMAGE_FMT_UNKNOWN;
}

/* An `ftyp` box first: its major brand, or for the generic HEIF brands (mif1, msf1, miaf) the
 * first compatible brand that names a codec. Videos (isom, mp42, qt) and JPEG-in-HEIF are not ours. */
static image_format sniff_bmff(const uint8_t *p, size_t len) {
    if (len < 16 || memcmp(p + 4, "ftyp", 4) != 0) return IMAGE_FMT_UNKNOWN;
    size_t box = be32(p);
    if (box < 16) return IMAGE_FMT_UNKNOWN;
    if (box > len) box = len;
    image_format f = brand_format(p + 8);
    if (f != IMAGE_FMT_UNKNOWN) return f;
    if (memcmp(p + 8, "mif1", 4) != 0 && memcmp(p + 8, "msf1", 4) != 0 && memcmp(p + 8, "miaf", 4) != 0)
        return IMAGE_FMT_UNKNOWN;
    for (size_t i = 16; i + 4 <= box; i += 4)
        if ((f = brand_format(p + i)) != IMAGE_FMT_UNKNOWN) return f;
    return IMAGE_FMT_UNKNOWN;
}

image_format image_format_sniff(const void *data, size_t len) {
    const uint8_t *p = data;
    if (!p) return IMAGE_FMT_UNKNOWN;
    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) return IMAGE_FMT_PNG;
    if (len >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return IMAGE_FMT_JPEG;
    if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0)) return IMAGE_FMT_GIF;
    if (len >= 2 && p[0] == 'B' && p[1] == 'M') return IMAGE_FMT_BMP;
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) return IMAGE_FMT_WEBP;
    return sniff_bmff(p, len);
}

int image_declared_size(const void *data, size_t len, image_format *fmt, uint64_t *width, uint64_t *height) {
    const uint8_t *p = data;
    image_format f = image_format_sniff(data, len);
    if (fmt) *fmt = f;
    switch (f) {
    case IMAGE_FMT_PNG:
        /* The IHDR chunk must come first: its width and height are big-endian at 16 and 20. */
        if (len < 24 || memcmp(p + 12, "IHDR", 4) != 0) return -1;
        *width = be32(p + 16);
        *height = be32(p + 20);
        return 0;
    case IMAGE_FMT_GIF:
        if (len < 10) return -1;
        *width = le16(p + 6);
        *height = le16(p + 8);
        return 0;
    case IMAGE_FMT_BMP: {
        if (len < 26) return -1;
        uint32_t hsize = le32(p + 14);
        if (hsize == 12) {
            *width = le16(p + 18);
            *height = le16(p + 20);
        } else {
            /* Height is negative for top-down bitmaps. */
            int64_t w = (int32_t)le32(p + 18), h = (int32_t)le32(p + 22);
            *width = (uint64_t)(w < 0 ? -w : w);
            *height = (uint64_t)(h < 0 ? -h : h);
        }
        return 0;
    }
    case IMAGE_FMT_JPEG: {
        /* Walk the markers to the first start-of-frame (SOF0..SOF15 except DHT/JPG/DAC). */
        size_t i = 2;
        while (i + 9 <= len) {
            if (p[i] != 0xff) return -1;
            uint8_t m = p[i + 1];
            if (m == 0xff) {
                i++;
                continue;
            }
            if (m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) {
                i += 2;
                continue;
            }
            size_t seg = (size_t)p[i + 2] << 8 | p[i + 3];
            if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
                *height = (uint64_t)p[i + 5] << 8 | p[i + 6];
                *width = (uint64_t)p[i + 7] << 8 | p[i + 8];
                return 0;
            }
            if (seg < 2) return -1;
            i += 2 + seg;
        }
        return -1;
    }
    case IMAGE_FMT_WEBP: return image_webp_declared_size(data, len, width, height);
    case IMAGE_FMT_HEIC:
    case IMAGE_FMT_AVIF: return image_heif_declared_size(data, len, width, height);
    case IMAGE_FMT_UNKNOWN: break;
    }
    return -1;
}

void image_rgb_shown_size(const image_rgb *img, uint32_t *width, uint32_t *height) {
    int swap = image_exif_swaps_sides(img->orientation);
    *width = swap ? img->height : img->width;
    *height = swap ? img->width : img->height;
}

static image_rgb *fail(image_decode_status st, image_decode_status *status, char *err, size_t errlen,
                       const char *fmt_name, const char *why) {
    if (status) *status = st;
    snprintf(err, errlen, "%s: %s", fmt_name, why);
    return NULL;
}

/* PNG, GIF and BMP through stb_image, whose own reading of the header must agree with the limits
 * before it allocates. Returns stb's pixels (stbi_image_free), or NULL with *st and why. */
static uint8_t *stb_pixels_new(const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                               uint32_t *width, uint32_t *height, image_decode_status *st, char *why,
                               size_t whylen) {
    int iw = 0, ih = 0, comp = 0;
    if (!stbi_info_from_memory(data, (int)len, &iw, &ih, &comp)) {
        *st = IMAGE_DECODE_CORRUPT;
        snprintf(why, whylen, "cannot read the header (%s)", stbi_failure_reason());
        return NULL;
    }
    if (iw <= 0 || ih <= 0 || (uint64_t)iw > max_side || (uint64_t)ih > max_side ||
        (uint64_t)iw * (uint64_t)ih > max_pixels) {
        *st = IMAGE_DECODE_TOO_LARGE;
        snprintf(why, whylen, "decoder sees %dx%d, above the limits", iw, ih);
        return NULL;
    }
    int x = 0, y = 0, n = 0;
    uint8_t *px = stbi_load_from_memory(data, (int)len, &x, &y, &n, 3);
    if (!px) {
        *st = IMAGE_DECODE_CORRUPT;
        snprintf(why, whylen, "cannot decode (%s)", stbi_failure_reason());
        return NULL;
    }
    *width = (uint32_t)x;
    *height = (uint32_t)y;
    return px;
}

/* Runs the format's decoder; every one returns a malloc'd buffer (stb_image's STBI_MALLOC is
 * malloc in Debian's build and in the fuzz build), so image_rgb_free needs no per-format free. */
static uint8_t *pixels_new(image_format f, const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                           uint32_t *w, uint32_t *h, int *orientation, image_decode_status *st, char *why,
                           size_t whylen) {
    switch (f) {
    case IMAGE_FMT_JPEG: {
        image_jpeg_status js = IMAGE_JPEG_CORRUPT;
        uint8_t *px = image_jpeg_decode_new(data, len, max_side, max_pixels, w, h, orientation, &js, why, whylen);
        *st = js == IMAGE_JPEG_TOO_LARGE ? IMAGE_DECODE_TOO_LARGE : IMAGE_DECODE_CORRUPT;
        return px;
    }
    case IMAGE_FMT_WEBP: return image_webp_decode_new(data, len, max_side, max_pixels, w, h, st, why, whylen);
    case IMAGE_FMT_HEIC:
    case IMAGE_FMT_AVIF: return image_heif_decode_new(data, len, max_side, max_pixels, w, h, st, why, whylen);
    case IMAGE_FMT_PNG:
    case IMAGE_FMT_GIF:
    case IMAGE_FMT_BMP: return stb_pixels_new(data, len, max_side, max_pixels, w, h, st, why, whylen);
    case IMAGE_FMT_UNKNOWN: break;
    }
    *st = IMAGE_DECODE_UNSUPPORTED;
    snprintf(why, whylen, "no decoder");
    return NULL;
}

image_rgb *image_decode_new(const void *data, size_t len, const image_decode_limits *limits,
                            image_decode_status *status, char *err, size_t errlen) {
    uint64_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : DEFAULT_MAX_PIXELS;
    uint64_t max_side = limits && limits->max_side ? limits->max_side : DEFAULT_MAX_SIDE;
    image_format f = image_format_sniff(data, len);
    if (f == IMAGE_FMT_UNKNOWN) {
        if (status) *status = IMAGE_DECODE_UNSUPPORTED;
        snprintf(err, errlen, "unsupported image format (PNG, JPEG, GIF, BMP, WebP, HEIC and AVIF are accepted)");
        return NULL;
    }
    const char *name = image_format_name(f);
    if (len > INT_MAX) return fail(IMAGE_DECODE_TOO_LARGE, status, err, errlen, name, "more than 2 GiB of bytes");
    char why[240];
    /* HEIC/AVIF sizes live in boxes anywhere in the container: their decoder parses it once and
     * checks the same limits before it decodes (image_heif.h). */
    if (f != IMAGE_FMT_HEIC && f != IMAGE_FMT_AVIF) {
        uint64_t w = 0, h = 0;
        if (image_declared_size(data, len, NULL, &w, &h) != 0)
            return fail(IMAGE_DECODE_CORRUPT, status, err, errlen, name, "header truncated or malformed");
        if (w == 0 || h == 0) return fail(IMAGE_DECODE_CORRUPT, status, err, errlen, name, "declares a zero dimension");
        if (w > max_side || h > max_side || w * h > max_pixels) {
            snprintf(why, sizeof why, "declares %llux%llu = %llu pixels, above the limit %llu (or a side above %llu)",
                     (unsigned long long)w, (unsigned long long)h, (unsigned long long)(w * h),
                     (unsigned long long)max_pixels, (unsigned long long)max_side);
            return fail(IMAGE_DECODE_TOO_LARGE, status, err, errlen, name, why);
        }
    }
    uint32_t pw = 0, ph = 0;
    int orientation = 0;
    image_decode_status st = IMAGE_DECODE_CORRUPT;
    uint8_t *px = pixels_new(f, data, len, max_side, max_pixels, &pw, &ph, &orientation, &st, why, sizeof why);
    if (!px) return fail(st, status, err, errlen, name, why);
    image_rgb *img = calloc(1, sizeof *img);
    if (!img) {
        free(px);
        return fail(IMAGE_DECODE_CORRUPT, status, err, errlen, name, "out of memory");
    }
    *img = (image_rgb){.pixels = px, .width = pw, .height = ph, .format = f, .orientation = orientation};
    if (status) *status = IMAGE_DECODE_OK;
    return img;
}

void image_rgb_free(image_rgb *img) {
    if (!img) return;
    free(img->pixels);
    free(img);
}
