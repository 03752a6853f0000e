#include "bf_test_image.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <libheif/heif.h>
#include <webp/encode.h>
#include <webp/mux.h>

/* x265 (which libheif encodes HEVC with) leaves one small allocation behind per encoder it
 * creates; that is the encoder's, only tests encode, and the image-worker never does. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
    return "leak:libx265.so\n";
}

static int take(const uint8_t *data, size_t len, bf_test_bytes *out) {
    out->data = malloc(len ? len : 1);
    if (!out->data) return -1;
    memcpy(out->data, data, len);
    out->len = len;
    return 0;
}

int bf_test_webp_encode(const uint8_t *rgb, int w, int h, int lossless, bf_test_bytes *out, char *err, size_t errlen) {
    uint8_t *enc = NULL;
    size_t n = lossless ? WebPEncodeLosslessRGB(rgb, w, h, w * 3, &enc) : WebPEncodeRGB(rgb, w, h, w * 3, 90, &enc);
    if (n == 0) {
        snprintf(err, errlen, "WebPEncode failed");
        return -1;
    }
    int rc = take(enc, n, out);
    WebPFree(enc);
    return rc;
}

int bf_test_webp_anim_encode(const uint8_t *const *frames, int n, int w, int h, bf_test_bytes *out, char *err,
                             size_t errlen) {
    WebPAnimEncoderOptions eo;
    WebPConfig cfg;
    if (!WebPAnimEncoderOptionsInit(&eo) || !WebPConfigInit(&cfg)) {
        snprintf(err, errlen, "libwebp version mismatch");
        return -1;
    }
    cfg.lossless = 1;
    WebPAnimEncoder *enc = WebPAnimEncoderNew(w, h, &eo);
    WebPPicture pic;
    int rc = enc && WebPPictureInit(&pic) ? 0 : -1;
    for (int i = 0; rc == 0 && i < n; i++) {
        pic.width = w;
        pic.height = h;
        pic.use_argb = 1;
        if (!WebPPictureImportRGB(&pic, frames[i], w * 3) || !WebPAnimEncoderAdd(enc, &pic, i * 100, &cfg)) rc = -1;
        WebPPictureFree(&pic);
    }
    WebPData wd;
    WebPDataInit(&wd);
    if (rc == 0 && (!WebPAnimEncoderAdd(enc, NULL, n * 100, NULL) || !WebPAnimEncoderAssemble(enc, &wd))) rc = -1;
    if (rc != 0) snprintf(err, errlen, "WebPAnimEncoder: %s", enc ? WebPAnimEncoderGetError(enc) : "cannot create");
    if (rc == 0) rc = take(wd.bytes, wd.size, out);
    WebPDataClear(&wd);
    WebPAnimEncoderDelete(enc);
    return rc;
}

int bf_test_webp_anim_offset_encode(const uint8_t *first, int fw, int fh, int x, int y, const uint8_t *second, int cw,
                                    int ch, bf_test_bytes *out, char *err, size_t errlen) {
    uint8_t *a = NULL, *b = NULL;
    size_t na = WebPEncodeLosslessRGB(first, fw, fh, fw * 3, &a), nb = WebPEncodeLosslessRGB(second, cw, ch, cw * 3, &b);
    WebPMux *mux = WebPMuxNew();
    WebPMuxAnimParams anim = {.bgcolor = 0xffffffff, .loop_count = 0};
    WebPMuxFrameInfo f1 = {.bitstream = {a, na}, .x_offset = x, .y_offset = y, .duration = 100,
                           .id = WEBP_CHUNK_ANMF, .dispose_method = WEBP_MUX_DISPOSE_NONE, .blend_method = WEBP_MUX_NO_BLEND};
    WebPMuxFrameInfo f2 = f1;
    f2.bitstream = (WebPData){b, nb};
    f2.x_offset = f2.y_offset = 0;
    WebPData wd;
    WebPDataInit(&wd);
    int ok = na && nb && mux && WebPMuxSetCanvasSize(mux, cw, ch) == WEBP_MUX_OK &&
             WebPMuxSetAnimationParams(mux, &anim) == WEBP_MUX_OK && WebPMuxPushFrame(mux, &f1, 1) == WEBP_MUX_OK &&
             WebPMuxPushFrame(mux, &f2, 1) == WEBP_MUX_OK && WebPMuxAssemble(mux, &wd) == WEBP_MUX_OK;
    int rc = ok ? take(wd.bytes, wd.size, out) : -1;
    if (!ok) snprintf(err, errlen, "WebPMux failed");
    WebPDataClear(&wd);
    WebPMuxDelete(mux);
    WebPFree(a);
    WebPFree(b);
    return rc;
}

static struct heif_error heif_to_mem(struct heif_context *ctx, const void *data, size_t size, void *ud) {
    (void)ctx;
    bf_test_bytes *b = ud;
    struct heif_error ok = {heif_error_Ok, heif_suberror_Unspecified, "ok"};
    struct heif_error oom = {heif_error_Memory_allocation_error, heif_suberror_Unspecified, "out of memory"};
    return take(data, size, b) == 0 ? ok : oom;
}

/* px has `channels` bytes per pixel: 3 (RGB) or 4 (RGBA, written with an alpha plane). */
static int heif_encode(const uint8_t *px, int channels, int w, int h, int av1, int orientation, bf_test_bytes *out,
                       char *err, size_t errlen) {
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image *img = NULL;
    struct heif_encoder *enc = NULL;
    struct heif_encoding_options *opts = heif_encoding_options_alloc();
    struct heif_error e = heif_image_create(
        w, h, heif_colorspace_RGB, channels == 4 ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, &img);
    if (e.code == heif_error_Ok) e = heif_image_add_plane(img, heif_channel_interleaved, w, h, 8);
    if (e.code == heif_error_Ok) {
        int stride = 0;
        uint8_t *plane = heif_image_get_plane(img, heif_channel_interleaved, &stride);
        size_t row = (size_t)w * (size_t)channels;
        for (int y = 0; y < h; y++) memcpy(plane + (size_t)stride * y, px + row * y, row);
        e = heif_context_get_encoder_for_format(ctx, av1 ? heif_compression_AV1 : heif_compression_HEVC, &enc);
    }
    if (e.code == heif_error_Ok) e = heif_encoder_set_lossy_quality(enc, 95);
    if (e.code == heif_error_Ok) (void)heif_encoder_set_logging_level(enc, 0); /* x265's banner */
    if (e.code == heif_error_Ok) {
        /* libheif writes the orientation as irot/imir boxes (the pixels stay as given). */
        if (orientation >= 1 && orientation <= 8) opts->image_orientation = (enum heif_orientation)orientation;
        e = heif_context_encode_image(ctx, img, enc, opts, NULL);
    }
    bf_test_bytes b = {0};
    if (e.code == heif_error_Ok) {
        struct heif_writer wr = {.writer_api_version = 1, .write = heif_to_mem};
        e = heif_context_write(ctx, &wr, &b);
    }
    if (e.code != heif_error_Ok) snprintf(err, errlen, "libheif encode: %s", e.message);
    else *out = b;
    if (enc) heif_encoder_release(enc);
    if (img) heif_image_release(img);
    heif_encoding_options_free(opts);
    heif_context_free(ctx);
    return e.code == heif_error_Ok ? 0 : -1;
}

int bf_test_heif_encode(const uint8_t *rgb, int w, int h, int av1, int orientation, bf_test_bytes *out, char *err,
                        size_t errlen) {
    return heif_encode(rgb, 3, w, h, av1, orientation, out, err, errlen);
}

int bf_test_heif_encode_rgba(const uint8_t *rgba, int w, int h, int av1, bf_test_bytes *out, char *err, size_t errlen) {
    return heif_encode(rgba, 4, w, h, av1, 0, out, err, errlen);
}

/* ---- GIF: LZW with a clear code before every pair of literals, so the code size stays 3 bits
 * (a decoder adds one table entry per code after the first; two literals never reach entry 8). */

typedef struct bits {
    uint8_t *buf;
    size_t len, cap;
    uint32_t acc;
    int n;
} bits;

static void put_byte(bits *b, uint8_t v) {
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 256;
        b->buf = realloc(b->buf, b->cap);
    }
    b->buf[b->len++] = v;
}

static void put_code(bits *b, unsigned code) {
    b->acc |= (uint32_t)code << b->n;
    b->n += 3;
    while (b->n >= 8) {
        put_byte(b, (uint8_t)b->acc);
        b->acc >>= 8;
        b->n -= 8;
    }
}

static void put_bytes(bits *b, const void *p, size_t n) {
    for (size_t i = 0; i < n; i++) put_byte(b, ((const uint8_t *)p)[i]);
}

static void put_le16(bits *b, int v) {
    put_byte(b, (uint8_t)v);
    put_byte(b, (uint8_t)(v >> 8));
}

int bf_test_gif_anim_encode(const uint8_t (*colours)[3], int n, int w, int h, bf_test_bytes *out) {
    if (n < 1 || n > 4) return -1;
    bits f = {0};
    put_bytes(&f, "GIF89a", 6);
    put_le16(&f, w);
    put_le16(&f, h);
    put_byte(&f, 0x81); /* global colour table of 4 entries */
    put_byte(&f, 0);
    put_byte(&f, 0);
    for (int i = 0; i < 4; i++) put_bytes(&f, i < n ? colours[i] : (const uint8_t *)"\0\0\0", 3);
    put_bytes(&f, "!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00", 19); /* loop forever */
    for (int i = 0; i < n; i++) {
        put_bytes(&f, "!\xf9\x04\x04\x0a\x00\x00\x00", 8); /* 100 ms, keep the frame */
        put_byte(&f, ',');
        put_le16(&f, 0);
        put_le16(&f, 0);
        put_le16(&f, w);
        put_le16(&f, h);
        put_byte(&f, 0);
        put_byte(&f, 2); /* LZW minimum code size: clear = 4, end = 5 */
        bits lzw = {0};
        for (long p = 0; p < (long)w * h; p++) {
            if (p % 2 == 0) put_code(&lzw, 4);
            put_code(&lzw, (unsigned)i);
        }
        put_code(&lzw, 5);
        if (lzw.n) put_byte(&lzw, (uint8_t)lzw.acc);
        for (size_t at = 0; at < lzw.len; at += 255) {
            size_t k = lzw.len - at < 255 ? lzw.len - at : 255;
            put_byte(&f, (uint8_t)k);
            put_bytes(&f, lzw.buf + at, k);
        }
        put_byte(&f, 0);
        free(lzw.buf);
    }
    put_byte(&f, ';');
    out->data = f.buf;
    out->len = f.len;
    return 0;
}

/* ---- EXIF ---- */

static void put16(uint8_t *p, unsigned v, int be) {
    p[be ? 0 : 1] = (uint8_t)(v >> 8);
    p[be ? 1 : 0] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v, int be) {
    for (int i = 0; i < 4; i++) p[be ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
}

int bf_test_exif_app1(int orientation, int big_endian, bf_test_bytes *out) {
    /* "Exif\0\0", TIFF header, IFD0 with XResolution-free entries: ImageWidth (LONG), Make
     * (ASCII, out of line) and Orientation (SHORT), then no next IFD. */
    uint8_t b[6 + 8 + 2 + 3 * 12 + 4 + 8] = {'E', 'x', 'i', 'f', 0, 0};
    uint8_t *t = b + 6;
    int be = big_endian;
    t[0] = t[1] = be ? 'M' : 'I';
    put16(t + 2, 42, be);
    put32(t + 4, 8, be);
    put16(t + 8, 3, be);
    uint8_t *e = t + 10;
    put16(e, 0x0100, be), put16(e + 2, 4, be), put32(e + 4, 1, be), put32(e + 8, 640, be);
    e += 12;
    put16(e, 0x010f, be), put16(e + 2, 2, be), put32(e + 4, 8, be), put32(e + 8, 10 + 3 * 12 + 4, be);
    e += 12;
    put16(e, 0x0112, be), put16(e + 2, 3, be), put32(e + 4, 1, be), put16(e + 8, (unsigned)orientation, be);
    e += 12;
    put32(e, 0, be);
    memcpy(e + 4, "bftest\0\0", 8);
    return take(b, sizeof b, out);
}

static int jpeg_encode(const uint8_t *rgb, int w, int h, const bf_test_bytes *app1, bool progressive444,
                       bf_test_bytes *out, char *err, size_t errlen) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    if (progressive444) {
        for (int i = 0; i < 3; i++) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
        jpeg_simple_progression(&c);
    }
    jpeg_start_compress(&c, TRUE);
    if (app1) jpeg_write_marker(&c, JPEG_APP0 + 1, app1->data, (unsigned)app1->len);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * (size_t)w * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    int rc = mem && len ? take(mem, len, out) : -1;
    if (rc != 0) snprintf(err, errlen, "libjpeg encode failed");
    free(mem);
    return rc;
}

int bf_test_jpeg_encode(const uint8_t *rgb, int w, int h, const bf_test_bytes *app1, bf_test_bytes *out, char *err,
                        size_t errlen) {
    return jpeg_encode(rgb, w, h, app1, false, out, err, errlen);
}

int bf_test_jpeg_progressive_encode(const uint8_t *rgb, int w, int h, bf_test_bytes *out, char *err, size_t errlen) {
    return jpeg_encode(rgb, w, h, NULL, true, out, err, errlen);
}

uint8_t *bf_test_two_colour_new(int w, int h, int split, const uint8_t left[3], const uint8_t right[3]) {
    uint8_t *p = malloc((size_t)w * h * 3);
    if (!p) return NULL;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) memcpy(p + ((size_t)y * w + x) * 3, x < split ? left : right, 3);
    return p;
}
