/* image-worker's own configuration (the shared Kafka/HTTP/logging variables are in
 * bf_common_config.h). One table drives parsing, --help and docs/configuration.md. */
#ifndef IMAGE_CONFIG_H
#define IMAGE_CONFIG_H

#include <stddef.h>

#include "bf_config.h"

typedef struct image_cfg {
    long long fetch_timeout_ms;      /* whole fetch, connect included */
    long long connect_timeout_ms;
    long long max_image_bytes;
    long long max_redirects;
    long long max_pixels;            /* declared width*height refused above this (decompression bombs) */
    char allow_cidrs[BF_CFG_STR_MAX]; /* private ranges the fetcher may reach anyway */
    long long fetch_concurrency;     /* transfers in flight at once (fetch + vision) */
    long long memory_budget;         /* bytes of images held at once (image_budget.h) */
    long long cache_entries, cache_bytes, cache_ttl_ms;
    char vision_url[BF_CFG_STR_MAX];
    char vision_model[BF_CFG_STR_MAX];
    char vision_api_key[BF_CFG_STR_MAX];
    long long vision_timeout_ms;
    long long vision_attempts;
    long long vision_retry_max_ms;
    char vision_image_mode[BF_CFG_STR_MAX]; /* url | data */
} image_cfg;

extern const bf_cfg_var image_cfg_vars[];
extern const size_t image_cfg_n;

#endif
