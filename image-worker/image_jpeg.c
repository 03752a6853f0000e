#include "image_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "image_exif.h"

/* libjpeg reports errors through callbacks that must not return (its default calls exit()), so
 * they jump back here with the reason already formatted. */
typedef struct jpeg_guard {
    struct jpeg_error_mgr mgr; /* first: libjpeg's callbacks get a pointer to it */
    struct jpeg_progress_mgr progress;
    jmp_buf escape;
    char reason[JMSG_LENGTH_MAX + 40];
} jpeg_guard;

static jpeg_guard *guard_of(j_common_ptr cinfo) {
    return (jpeg_guard *)cinfo->err;
}

static void on_error(j_common_ptr cinfo) {
    jpeg_guard *g = guard_of(cinfo);
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    snprintf(g->reason, sizeof g->reason, "%s", msg);
    longjmp(g->escape, 1);
}

/* Level -1 is a corrupt-data warning; levels >= 0 are trace messages, which stay silent. */
static void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;
    jpeg_guard *g = guard_of(cinfo);
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    snprintf(g->reason, sizeof g->reason, "damaged data (%s)", msg);
    longjmp(g->escape, 1);
}

static void on_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    int scans = ((j_decompress_ptr)cinfo)->input_scan_number;
    if (scans <= IMAGE_JPEG_MAX_SCANS) return;
    jpeg_guard *g = guard_of(cinfo);
    snprintf(g->reason, sizeof g->reason, "more than %d scans", IMAGE_JPEG_MAX_SCANS);
    longjmp(g->escape, 1);
}

/* Adobe writes CMYK inverted (0 = full ink), so the product is already the RGB value. */
static void cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned k = cmyk[4 * i + 3];
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = (uint8_t)((cmyk[4 * i + c] * k + 127) / 255);
    }
}

/* The first APP1 that is EXIF decides; XMP also lives in APP1 and is skipped. */
static int exif_orientation(j_decompress_ptr cinfo) {
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
        if (m->marker != JPEG_APP0 + 1 || m->data_length < 6 || memcmp(m->data, "Exif\0\0", 6) != 0) continue;
        return image_exif_app1_orientation(m->data, m->data_length);
    }
    return 0;
}

uint8_t *image_jpeg_decode_new(const void *data, size_t len, uint64_t max_side, uint64_t max_pixels,
                               uint32_t *width, uint32_t *height, int *orientation, image_jpeg_status *status,
                               char *err, size_t errlen) {
    struct jpeg_decompress_struct cinfo;
    jpeg_guard g;
    memset(&g, 0, sizeof g);
    cinfo.err = jpeg_std_error(&g.mgr);
    g.mgr.error_exit = on_error;
    g.mgr.emit_message = on_message;
    g.progress.progress_monitor = on_progress;
    /* Written after setjmp and read after the jump: volatile, so the jump does not lose them. */
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile row = NULL;
    if (setjmp(g.escape)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        *status = IMAGE_JPEG_CORRUPT;
        snprintf(err, errlen, "%s", g.reason);
        return NULL;
    }
    jpeg_create_decompress(&cinfo);
    cinfo.progress = &g.progress;
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    /* APP1 segments are kept (in libjpeg's pool, at most 64 KiB each) for their EXIF orientation. */
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(&cinfo, TRUE);
    int orient = exif_orientation(&cinfo);
    uint64_t w = cinfo.image_width, h = cinfo.image_height;
    if (w == 0 || h == 0 || w > max_side || h > max_side || w * h > max_pixels) {
        jpeg_destroy_decompress(&cinfo);
        *status = IMAGE_JPEG_TOO_LARGE;
        snprintf(err, errlen, "decoder sees %llux%llu, above the limits", (unsigned long long)w,
                 (unsigned long long)h);
        return NULL;
    }
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB; /* libjpeg turns grey and YCbCr into RGB itself */
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)w * 3;
    pixels = malloc(stride * (size_t)h);
    if (cmyk) row = malloc((size_t)w * 4);
    if (!pixels || (cmyk && !row)) {
        snprintf(g.reason, sizeof g.reason, "out of memory for %llux%llu pixels", (unsigned long long)w,
                 (unsigned long long)h);
        longjmp(g.escape, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = pixels + stride * cinfo.output_scanline;
        JSAMPROW target = cmyk ? row : dst;
        if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) {
            snprintf(g.reason, sizeof g.reason, "decoder returned no row at %u of %llu", cinfo.output_scanline,
                     (unsigned long long)h);
            longjmp(g.escape, 1);
        }
        if (cmyk) cmyk_row_to_rgb(row, dst, (size_t)w);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    *width = (uint32_t)w;
    *height = (uint32_t)h;
    if (orientation) *orientation = orient;
    *status = IMAGE_JPEG_OK;
    return pixels;
}
