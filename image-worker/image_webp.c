#include "image_webp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

static const char *vp8_status_text(VP8StatusCode s) {
    switch (s) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated";
    }
    return "unknown error";
}

int image_webp_declared_size(const void *data, size_t len, uint64_t *width, uint64_t *height) {
    WebPBitstreamFeatures f;
    if (!data || WebPGetFeatures(data, len, &f) != VP8_STATUS_OK || f.width <= 0 || f.height <= 0) return -1;
    *width = (uint64_t)f.width;
    *height = (uint64_t)f.height;
    return 0;
}

/* Decodes one bitstream (a whole still file, or an animation frame's ALPH+VP8/VP8L data) as RGB
 * straight into out, w x h pixels with the given row stride. 0, or -1 with why. */
static int decode_into(const uint8_t *data, size_t len, uint8_t *out, size_t stride, int w, int h, char *why,
                       size_t whylen) {
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg)) {
        snprintf(why, whylen, "libwebp version mismatch");
        return -1;
    }
    cfg.output.colorspace = MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = out;
    cfg.output.u.RGBA.stride = (int)stride;
    cfg.output.u.RGBA.size = stride * (size_t)(h - 1) + (size_t)w * 3;
    VP8StatusCode st = WebPDecode(data, len, &cfg);
    int got_w = cfg.output.width, got_h = cfg.output.height;
    WebPFreeDecBuffer(&cfg.output); /* frees nothing of ours: the memory is external */
    if (st != VP8_STATUS_OK) {
        snprintf(why, whylen, "cannot decode (%s)", vp8_status_text(st));
        return -1;
    }
    if (got_w != w || got_h != h) {
        snprintf(why, whylen, "decoded %dx%d where the headers declare %dx%d", got_w, got_h, w, h);
        return -1;
    }
    return 0;
}

/* The first frame of an animation, placed on a black canvas of w x h. */
static int first_frame_into(const uint8_t *data, size_t len, uint8_t *canvas, int w, int h, char *why,
                            size_t whylen) {
    WebPData wd = {.bytes = data, .size = len};
    WebPDemuxer *dmx = WebPDemux(&wd); /* NULL for a malformed or truncated container */
    if (!dmx) {
        snprintf(why, whylen, "malformed or truncated animation container");
        return -1;
    }
    int rc = -1;
    WebPIterator it;
    memset(&it, 0, sizeof it);
    if ((int)WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH) != w || (int)WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT) != h) {
        snprintf(why, whylen, "the animation's canvas differs from its header");
    } else if (!WebPDemuxGetFrame(dmx, 1, &it) || !it.complete) {
        snprintf(why, whylen, "no complete first frame");
    } else if (it.width <= 0 || it.height <= 0 || it.x_offset < 0 || it.y_offset < 0 || it.x_offset > w - it.width ||
               it.y_offset > h - it.height) {
        snprintf(why, whylen, "first frame %dx%d at %d,%d outside the %dx%d canvas", it.width, it.height, it.x_offset,
                 it.y_offset, w, h);
    } else {
        size_t stride = (size_t)w * 3;
        memset(canvas, 0, stride * (size_t)h);
        uint8_t *at = canvas + stride * (size_t)it.y_offset + (size_t)it.x_offset * 3;
        rc = decode_into(it.fragment.bytes, it.fragment.size, at, stride, it.width, it.height, why, whylen);
    }
    WebPDemuxReleaseIterator(&it);
    WebPDemuxDelete(dmx);
    return rc;
}

uint8_t *image_webp_decode_new(const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                               uint32_t *width, uint32_t *height, image_decode_status *status, char *err,
                               size_t errlen) {
    WebPBitstreamFeatures f;
    VP8StatusCode fs = data ? WebPGetFeatures(data, len, &f) : VP8_STATUS_INVALID_PARAM;
    if (fs != VP8_STATUS_OK) {
        *status = IMAGE_DECODE_CORRUPT;
        snprintf(err, errlen, "cannot read the headers (%s)", vp8_status_text(fs));
        return NULL;
    }
    uint64_t w = f.width > 0 ? (uint64_t)f.width : 0, h = f.height > 0 ? (uint64_t)f.height : 0;
    if (w == 0 || h == 0 || w > max_side || h > max_side || w * h > max_pixels) {
        *status = w && h ? IMAGE_DECODE_TOO_LARGE : IMAGE_DECODE_CORRUPT;
        snprintf(err, errlen, "decoder sees %llux%llu, %s", (unsigned long long)w, (unsigned long long)h,
                 w && h ? "above the limits" : "a zero dimension");
        return NULL;
    }
    uint8_t *px = malloc((size_t)(w * h * 3));
    if (!px) {
        *status = IMAGE_DECODE_CORRUPT;
        snprintf(err, errlen, "out of memory for %llux%llu pixels", (unsigned long long)w, (unsigned long long)h);
        return NULL;
    }
    int rc = f.has_animation ? first_frame_into(data, len, px, (int)w, (int)h, err, errlen)
                             : decode_into(data, len, px, (size_t)w * 3, (int)w, (int)h, err, errlen);
    if (rc != 0) {
        free(px);
        *status = IMAGE_DECODE_CORRUPT;
        return NULL;
    }
    *width = (uint32_t)w;
    *height = (uint32_t)h;
    *status = IMAGE_DECODE_OK;
    return px;
}
