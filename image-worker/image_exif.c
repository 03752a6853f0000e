#include "image_exif.h"

#include <string.h>

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT 3

typedef struct tiff {
    const uint8_t *p;
    size_t len;
    int big_endian;
} tiff;

static uint32_t rd16(const tiff *t, size_t at) {
    const uint8_t *q = t->p + at;
    return t->big_endian ? (uint32_t)q[0] << 8 | q[1] : (uint32_t)q[1] << 8 | q[0];
}

static uint32_t rd32(const tiff *t, size_t at) {
    const uint8_t *q = t->p + at;
    return t->big_endian ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3]
                         : (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 | (uint32_t)q[1] << 8 | q[0];
}

int image_exif_tiff_orientation(const uint8_t *p, size_t len) {
    if (!p || len < 8) return 0;
    tiff t = {.p = p, .len = len};
    if (p[0] == 'I' && p[1] == 'I') t.big_endian = 0;
    else if (p[0] == 'M' && p[1] == 'M') t.big_endian = 1;
    else return 0;
    if (rd16(&t, 2) != 42) return 0;
    uint32_t ifd = rd32(&t, 4);
    /* Written as two comparisons so a huge offset cannot wrap the sum. */
    if (ifd < 8 || ifd > len || len - ifd < 2) return 0;
    size_t count = rd16(&t, ifd);
    size_t room = (len - ifd - 2) / 12; /* entries that fit: a count beyond that is a lie */
    if (count > room) count = room;
    for (size_t i = 0; i < count; i++) {
        size_t e = ifd + 2 + 12 * i;
        if (rd16(&t, e) != TAG_ORIENTATION) continue;
        /* A SHORT with count 1 sits in the first two bytes of the 4-byte value field. */
        if (rd16(&t, e + 2) != TYPE_SHORT || rd32(&t, e + 4) != 1) return 0;
        uint32_t v = rd16(&t, e + 8);
        return v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}

int image_exif_app1_orientation(const uint8_t *app1, size_t len) {
    if (!app1 || len < 6 || memcmp(app1, "Exif\0\0", 6) != 0) return 0;
    return image_exif_tiff_orientation(app1 + 6, len - 6);
}

int image_exif_swaps_sides(int orientation) {
    return orientation >= 5 && orientation <= 8;
}
