/* imageFactsProcessed, and the facts it carries, written straight into a bf_json_out: no cJSON
 * tree, and the result is not decoded again. The memory-writer publishes one per stored image,
 * and building the tree and then decoding the printed message to verify it were a third of its
 * loop thread. The bytes are those of the cJSON encoders (bf_msg_image_facts_processed_encode,
 * bf_image_facts_to_json printed), held to them byte for byte by tests/unit/test_msg_facts_write.c.
 * Apart from the codecs, which stay cJSON only (the fuzz targets build them on their own). */
#ifndef BF_MSG_IMAGE_FACTS_WRITE_H
#define BF_MSG_IMAGE_FACTS_WRITE_H

#include "bf_json_out.h"
#include "bf_msg_image_facts_processed.h"

/* The bytes bf_msg_image_facts_processed_encode returns, written into w (reset first). Only for
 * facts a decoder filled (bf_image_facts_read, e.g. through bf_msg_image_facts_ready_decode).
 * Returns 0, or -1 with err (then w holds nothing useful). The text is bf_json_out_text(w), its
 * length w->len. */
int bf_msg_image_facts_processed_write(const bf_msg_image_facts_processed *m, bf_json_out *w, char *err,
                                       size_t errlen);

/* The facts object as printing bf_image_facts_to_json's tree would write it (same keys, order
 * and bytes). The vision texts (typography, style, layout) are copied as they are, so they must
 * be cJSON's compact printing of a JSON value, as bf_image_facts_read leaves them (cJSON prints
 * its own output again byte for byte). */
void bf_image_facts_write(bf_json_out *w, const bf_image_facts *f);
/* The palette as the facts hold it: [{"hex":"#1f3a93","share":0.6},...]. */
void bf_palette_write(bf_json_out *w, const bf_palette_entry *p, size_t n);
/* The facts' error as the facts object holds it: {"code":"...","message":"..."} (a NULL message
 * as ""). */
void bf_facts_error_write(bf_json_out *w, const bf_msg_error *e);

#endif
