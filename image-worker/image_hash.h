/* The content hash that keys image analyses: identical bytes, fetched from any URL, are analysed
 * once and stored once (image_analysis.content_hash). */
#ifndef IMAGE_HASH_H
#define IMAGE_HASH_H

#include <stddef.h>

/* SHA-256 of data as 64 lowercase hex digits plus NUL. */
void image_hash(const void *data, size_t len, char out[65]);

#endif
