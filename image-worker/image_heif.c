#include "image_heif.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "image_heif_grid.h"

/* The parsed container and its primary image. */
typedef struct heif_file {
    struct heif_context *ctx;
    struct heif_image_handle *handle;
    const uint8_t *data; /* the file's bytes (borrowed), for our own checks */
    size_t len;
} heif_file;

static void heif_file_close(heif_file *f) {
    if (f->handle) heif_image_handle_release(f->handle);
    if (f->ctx) heif_context_free(f->ctx);
    memset(f, 0, sizeof *f);
}

/* Parses the boxes (libheif reads them in place: the bytes are not copied). max_side also bounds
 * what libheif itself accepts: a second guard for what it allocates inside (tiles). 0, or -1 with
 * *status and why. */
static int heif_file_open(heif_file *f, const void *data, size_t len, uint64_t max_side, image_decode_status *status,
                          char *why, size_t whylen) {
    memset(f, 0, sizeof *f);
    *status = IMAGE_DECODE_CORRUPT;
    f->data = data;
    f->len = len;
    f->ctx = heif_context_alloc();
    if (!f->ctx) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    heif_context_set_max_decoding_threads(f->ctx, 0);
    /* libheif refuses a side equal to its limit: one more, so the two limits agree. */
    heif_context_set_maximum_image_size_limit(f->ctx, max_side >= INT_MAX ? INT_MAX : (int)max_side + 1);
    struct heif_error e = heif_context_read_from_memory_without_copy(f->ctx, data, len, NULL);
    if (e.code == heif_error_Ok) e = heif_context_get_primary_image_handle(f->ctx, &f->handle);
    if (e.code != heif_error_Ok) {
        if (e.subcode == heif_suberror_Security_limit_exceeded) *status = IMAGE_DECODE_TOO_LARGE;
        snprintf(why, whylen, "cannot read the container (%s)", e.message ? e.message : "unknown error");
        heif_file_close(f);
        return -1;
    }
    return 0;
}

int image_heif_declared_size(const void *data, size_t len, uint64_t *width, uint64_t *height) {
    heif_file f;
    image_decode_status st;
    char why[16];
    if (!data || heif_file_open(&f, data, len, INT_MAX - 1, &st, why, sizeof why) != 0) return -1;
    int w = heif_image_handle_get_width(f.handle), h = heif_image_handle_get_height(f.handle);
    heif_file_close(&f);
    if (w <= 0 || h <= 0) return -1;
    *width = (uint64_t)w;
    *height = (uint64_t)h;
    return 0;
}

/* The shown size, the coded (ispe) size and any grid/overlay canvas must all be within the limits:
 * libheif decodes at the coded size before it rotates, and allocates a derived image's canvas at
 * the size the derived item declares. */
static int within_limits(const heif_file *f, uint64_t max_side, uint64_t max_pixels, uint64_t *w, uint64_t *h,
                         image_decode_status *status, char *why, size_t whylen) {
    int sw = heif_image_handle_get_width(f->handle), sh = heif_image_handle_get_height(f->handle);
    int cw = heif_image_handle_get_ispe_width(f->handle), ch = heif_image_handle_get_ispe_height(f->handle);
    if (sw <= 0 || sh <= 0) {
        *status = IMAGE_DECODE_CORRUPT;
        snprintf(why, whylen, "declares a zero dimension");
        return -1;
    }
    uint64_t dims[2][2] = {{(uint64_t)sw, (uint64_t)sh}, {cw > 0 ? (uint64_t)cw : 0, ch > 0 ? (uint64_t)ch : 0}};
    for (int i = 0; i < 2; i++) {
        uint64_t x = dims[i][0], y = dims[i][1];
        if (x > max_side || y > max_side || x * y > max_pixels) {
            *status = IMAGE_DECODE_TOO_LARGE;
            snprintf(why, whylen, "declares %llux%llu%s, above the limits", (unsigned long long)x,
                     (unsigned long long)y, i ? " coded" : "");
            return -1;
        }
    }
    /* A grid or overlay canvas is allocated at the size its own header declares (image_heif_grid.h
     * says why that is not the shown size). */
    uint64_t gw, gh;
    size_t derived;
    if (image_heif_grid_canvas(f->data, f->len, &gw, &gh, &derived) != 0) {
        *status = IMAGE_DECODE_CORRUPT;
        snprintf(why, whylen, "cannot read a grid or overlay item's header");
        return -1;
    }
    if (derived && (gw > max_side || gh > max_side || gw * gh > max_pixels)) {
        *status = IMAGE_DECODE_TOO_LARGE;
        snprintf(why, whylen, "declares a %llux%llu grid or overlay canvas, above the limits", (unsigned long long)gw,
                 (unsigned long long)gh);
        return -1;
    }
    *w = (uint64_t)sw;
    *h = (uint64_t)sh;
    return 0;
}

/* Copies the decoded interleaved plane (RGB or RGBA, rows of `stride` bytes) into a new tight RGB
 * buffer. */
static uint8_t *rgb_copy_new(const uint8_t *plane, int stride, uint32_t w, uint32_t h, int has_alpha) {
    uint8_t *px = malloc((size_t)w * h * 3);
    if (!px) return NULL;
    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *src = plane + (size_t)stride * y;
        uint8_t *dst = px + (size_t)w * 3 * y;
        if (!has_alpha) {
            memcpy(dst, src, (size_t)w * 3);
            continue;
        }
        for (uint32_t x = 0; x < w; x++) memcpy(dst + 3 * x, src + 4 * x, 3);
    }
    return px;
}

uint8_t *image_heif_decode_new(const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                               uint32_t *width, uint32_t *height, image_decode_status *status, char *err,
                               size_t errlen) {
    heif_file f;
    if (heif_file_open(&f, data, len, max_side, status, err, errlen) != 0) return NULL;
    uint64_t w = 0, h = 0;
    if (within_limits(&f, max_side, max_pixels, &w, &h, status, err, errlen) != 0) {
        heif_file_close(&f);
        return NULL;
    }
    int alpha = heif_image_handle_has_alpha_channel(f.handle);
    struct heif_decoding_options *opts = heif_decoding_options_alloc();
    if (!opts) {
        heif_file_close(&f);
        *status = IMAGE_DECODE_CORRUPT;
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    opts->convert_hdr_to_8bit = 1;
    opts->strict_decoding = 1;
    /* AV1 through libaom, not dav1d (libheif's first choice): with bookworm's libheif 1.15 the
     * dav1d path leaks 40 bytes on every corrupt AV1 stream (found by fuzz_image_heif; the input is
     * tests/fuzz/corpus/image_heif/regress-dav1d-leak). A decoder that does not handle the
     * format (libaom and HEVC) is passed over, so HEIC still goes to libde265. */
    opts->decoder_id = "aom";
    struct heif_image *img = NULL;
    struct heif_error e = heif_decode_image(f.handle, &img, heif_colorspace_RGB,
                                            alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, opts);
    heif_decoding_options_free(opts);
    *status = IMAGE_DECODE_CORRUPT;
    if (e.code != heif_error_Ok) {
        /* e.message lives in the context: read it before closing. */
        if (e.subcode == heif_suberror_Security_limit_exceeded) *status = IMAGE_DECODE_TOO_LARGE;
        snprintf(err, errlen, "cannot decode (%s)", e.message ? e.message : "unknown error");
        if (img) heif_image_release(img);
        heif_file_close(&f);
        return NULL;
    }
    heif_file_close(&f); /* img keeps what it needs */
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    int pw = heif_image_get_width(img, heif_channel_interleaved);
    int ph = heif_image_get_height(img, heif_channel_interleaved);
    int bits = heif_image_get_bits_per_pixel_range(img, heif_channel_interleaved);
    uint8_t *px = NULL;
    if (!plane || bits != 8 || (uint64_t)pw != w || (uint64_t)ph != h || stride < pw * (alpha ? 4 : 3)) {
        snprintf(err, errlen, "decoder returned a %dx%d, %d-bit plane for a %llux%llu image", pw, ph, bits,
                 (unsigned long long)w, (unsigned long long)h);
    } else if (!(px = rgb_copy_new(plane, stride, (uint32_t)w, (uint32_t)h, alpha))) {
        snprintf(err, errlen, "out of memory for %llux%llu pixels", (unsigned long long)w, (unsigned long long)h);
    }
    heif_image_release(img);
    if (!px) return NULL;
    *width = (uint32_t)w;
    *height = (uint32_t)h;
    *status = IMAGE_DECODE_OK;
    return px;
}
