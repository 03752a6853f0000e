#include "image_heif_grid.h"

#include <string.h>

/* A byte range of the file being read: [at, end). */
typedef struct span {
    const uint8_t *p; /* the whole file */
    size_t at, end;
} span;

static uint64_t be(const uint8_t *q, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | q[i];
    return v;
}

/* Reads an n-byte big-endian number (n 0..8) from s, advancing; -1 when the span is too short. */
static int take(span *s, size_t n, uint64_t *v) {
    if (n > s->end - s->at) return -1;
    *v = be(s->p + s->at, n);
    s->at += n;
    return 0;
}

/* The next box in s: its type and its payload as a span (s advances past it). */
static int next_box(span *s, char type[4], span *payload) {
    uint64_t size, t;
    size_t start = s->at;
    if (take(s, 4, &size) != 0 || take(s, 4, &t) != 0) return -1;
    for (int i = 0; i < 4; i++) type[i] = (char)(t >> (24 - 8 * i));
    size_t header = 8;
    if (size == 1) {
        if (take(s, 8, &size) != 0) return -1;
        header = 16;
    } else if (size == 0) {
        size = s->end - start;
    }
    if (size < header || size > s->end - start) return -1;
    *payload = (span){s->p, start + header, start + (size_t)size};
    s->at = start + (size_t)size;
    return 0;
}

/* The first child box of type `want` in s (a list of boxes), or -1. */
static int find_box(span s, const char *want, span *out) {
    char type[4];
    span b;
    while (s.at < s.end) {
        if (next_box(&s, type, &b) != 0) return -1;
        if (memcmp(type, want, 4) == 0) {
            *out = b;
            return 0;
        }
    }
    return -1;
}

/* Version and flags of a full box, advancing past them. */
static int full_box(span *s, unsigned *version, unsigned *flags) {
    uint64_t v;
    if (take(s, 4, &v) != 0) return -1;
    *version = (unsigned)(v >> 24);
    *flags = (unsigned)(v & 0xffffff);
    return 0;
}

/* Where item `id`'s data starts and how long it is (the first extent: a grid or overlay header
 * is a dozen bytes), from iloc; construction method 0 (in the file) or 1 (in idat). */
static int item_data(span iloc, size_t file_len, span idat, int have_idat, uint64_t id, span *data) {
    unsigned version, flags;
    uint64_t sizes, sizes2, count;
    if (full_box(&iloc, &version, &flags) != 0 || version > 2) return -1;
    if (take(&iloc, 1, &sizes) != 0 || take(&iloc, 1, &sizes2) != 0) return -1;
    size_t offset_size = (size_t)(sizes >> 4), length_size = (size_t)(sizes & 15);
    size_t base_size = (size_t)(sizes2 >> 4), index_size = version >= 1 ? (size_t)(sizes2 & 15) : 0;
    if (offset_size > 8 || length_size > 8 || base_size > 8 || index_size > 8) return -1;
    if (take(&iloc, version < 2 ? 2 : 4, &count) != 0) return -1;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t item, method = 0, ref, base, extents;
        if (take(&iloc, version < 2 ? 2 : 4, &item) != 0) return -1;
        if (version >= 1 && take(&iloc, 2, &method) != 0) return -1;
        if (take(&iloc, 2, &ref) != 0 || take(&iloc, base_size, &base) != 0 || take(&iloc, 2, &extents) != 0)
            return -1;
        for (uint64_t e = 0; e < extents; e++) {
            uint64_t index, off, length;
            if (take(&iloc, index_size, &index) != 0 || take(&iloc, offset_size, &off) != 0 ||
                take(&iloc, length_size, &length) != 0)
                return -1;
            if (item != id || e > 0) continue;
            method &= 15;
            span in = method == 0 ? (span){iloc.p, 0, file_len} : idat;
            if ((method != 0 && method != 1) || (method == 1 && !have_idat)) return -1;
            uint64_t room = in.end - in.at;
            if (base > room || off > room - base) return -1;
            uint64_t start = in.at + base + off;
            uint64_t avail = in.end - start;
            if (length == 0 || length > avail) length = avail; /* 0: to the end */
            *data = (span){iloc.p, (size_t)start, (size_t)(start + length)};
            return 0;
        }
    }
    return -1;
}

/* The output canvas of a grid (ImageGrid) or iovl (ImageOverlay) header. */
static int canvas_of(const char type[4], span d, uint64_t *w, uint64_t *h) {
    uint64_t version, flags, skip;
    if (take(&d, 1, &version) != 0 || take(&d, 1, &flags) != 0 || version != 0) return -1;
    size_t field = (flags & 1) ? 4 : 2;
    if (memcmp(type, "grid", 4) == 0) {
        if (take(&d, 2, &skip) != 0) return -1; /* rows and columns minus one */
    } else {
        for (int i = 0; i < 4; i++) /* the fill colour, RGBA */
            if (take(&d, 2, &skip) != 0) return -1;
    }
    return take(&d, field, w) == 0 && take(&d, field, h) == 0 ? 0 : -1;
}

int image_heif_grid_canvas(const uint8_t *data, size_t len, uint64_t *width, uint64_t *height, size_t *count) {
    *width = *height = 0;
    *count = 0;
    span file = {data, 0, len}, meta, iinf, iloc = {data, 0, 0}, idat = {data, 0, 0};
    unsigned version, flags;
    if (!data || find_box(file, "meta", &meta) != 0 || full_box(&meta, &version, &flags) != 0) return -1;
    if (find_box(meta, "iinf", &iinf) != 0 || full_box(&iinf, &version, &flags) != 0) return -1;
    int have_iloc = find_box(meta, "iloc", &iloc) == 0;
    int have_idat = find_box(meta, "idat", &idat) == 0;
    uint64_t entries;
    if (take(&iinf, version == 0 ? 2 : 4, &entries) != 0) return -1;
    char type[4];
    span infe;
    for (uint64_t i = 0; i < entries; i++) {
        if (next_box(&iinf, type, &infe) != 0 || memcmp(type, "infe", 4) != 0) return -1;
        unsigned v, f;
        uint64_t id, protection, item_type;
        if (full_box(&infe, &v, &f) != 0) return -1;
        if (v < 2) continue; /* versions 0 and 1 have no item type: not an image item */
        if (take(&infe, v == 2 ? 2 : 4, &id) != 0 || take(&infe, 2, &protection) != 0 ||
            take(&infe, 4, &item_type) != 0)
            return -1;
        char t[4];
        for (int k = 0; k < 4; k++) t[k] = (char)(item_type >> (24 - 8 * k));
        if (memcmp(t, "grid", 4) != 0 && memcmp(t, "iovl", 4) != 0) continue;
        span d;
        uint64_t w, h;
        if (!have_iloc || item_data(iloc, len, idat, have_idat, id, &d) != 0 || canvas_of(t, d, &w, &h) != 0)
            return -1;
        (*count)++;
        if (w * h >= *width * *height) *width = w, *height = h;
    }
    return 0;
}
