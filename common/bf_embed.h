/* Data files compiled into a binary by cmake/embed_files.cmake (one table per directory). */
#ifndef BF_EMBED_H
#define BF_EMBED_H

#include <stddef.h>

typedef struct bf_embedded_file {
    const char *name; /* file name without directory, e.g. "addScene.json" */
    const char *data; /* the bytes, NUL-terminated */
    size_t len;
} bf_embedded_file;

#endif
