/* The canvas sizes HEIF derived images declare, read before libheif decodes anything.
 *
 * Why: a `grid` (tiles) or `iovl` (overlay) item carries its own output width and height, and
 * bookworm's libheif 1.15 allocates that canvas checking each side alone (below 65536), not the
 * area and not against the primary image's `ispe` size: a 700-byte file declaring a 65255x65527
 * grid made it allocate 4 GB (found by fuzz_image_heif; tests/fuzz/corpus/image_heif/
 * regress-grid-declares-65255x65527). libheif exposes neither item types nor grid data, so this
 * bounded ISO-BMFF reader finds every grid and iovl item (meta -> iinf/infe), locates its data
 * (iloc, in idat or in the file) and reads the canvas from its header. Every length and offset is
 * checked against the bytes at hand before it is read; nothing is allocated. */
#ifndef IMAGE_HEIF_GRID_H
#define IMAGE_HEIF_GRID_H

#include <stddef.h>
#include <stdint.h>

/* The largest canvas any grid or iovl item of the file declares: *width x *height (area first),
 * and how many such items there are in *count (0: no derived canvas, both sizes 0). Returns 0, or
 * -1 when the meta box or a derived item's data cannot be read (the file is then refused). */
int image_heif_grid_canvas(const uint8_t *data, size_t len, uint64_t *width, uint64_t *height, size_t *count);

#endif
