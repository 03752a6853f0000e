/* image-worker's memory budget (BRAINFLEET_IMAGE_MEMORY_BUDGET): the bytes of images the worker
 * may hold at once, so its memory limit follows from its settings (docs/image-analysis.md,
 * "Memory").
 *
 * What an image costs, worst case, from the settings alone (nothing about an image is known
 * before its bytes arrive):
 *   - per job, from the start of its fetch to its end: the body, up to BRAINFLEET_MAX_IMAGE_BYTES
 *     (or, with the vision model fed a data: URL, the base64 request body the HTTP client keeps
 *     while the call is in flight, if that is larger);
 *   - once, for the one image being decoded (decoding runs on the loop thread, one at a time):
 *     IMAGE_DECODE_PEAK_BPP bytes per pixel of BRAINFLEET_MAX_IMAGE_PIXELS plus
 *     IMAGE_DECODE_FIXED_BYTES, or the transient copies of building a vision request, whichever
 *     is larger.
 * The transient part is set aside; the rest is shared by jobs, each taking its per-job bytes
 * before its fetch starts. A job that cannot take them waits (its fetch is not started) until
 * another gives its bytes back. Pure: the stage holds the state. */
#ifndef IMAGE_BUDGET_H
#define IMAGE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image_config.h"

/* The decoders' peak: IMAGE_DECODE_PEAK_BPP bytes per pixel of the image plus
 * IMAGE_DECODE_FIXED_BYTES of their own state, as measured by bench/image_worker_bench memory
 * (which prints each format's per pixel): AVIF (libaom through libheif) 14.8-16.4 (the most on
 * the smallest pictures: its fixed part), HEIC 8-9.5, progressive 4:4:4 JPEG 9, lossless WebP
 * 5-7, PNG 6, baseline JPEG, lossy WebP and BMP 3. */
#define IMAGE_DECODE_PEAK_BPP 16
#define IMAGE_DECODE_FIXED_BYTES (16u << 20)
/* Building a vision request from the image's bytes (base64, the data: URL, cJSON's copy and its
 * printed text, the HTTP client's copy) peaks at about this many bytes per image byte. */
#define IMAGE_VISION_BUILD_FACTOR 6

typedef struct image_budget_plan {
    uint64_t budget;    /* BRAINFLEET_IMAGE_MEMORY_BUDGET */
    uint64_t per_job;   /* taken by each job before its fetch, until it ends */
    uint64_t transient; /* set aside for the one decode (or vision request build) at a time */
    uint64_t slots;     /* jobs that fit at once: (budget - transient) / per_job */
} image_budget_plan;

/* The plan for cfg. Returns 0, or -1 when not even one image fits (err names the numbers and
 * the settings to change): the worker refuses to start then (exit 2). More jobs than slots is not
 * an error: they wait. */
int image_budget_plan_make(const image_cfg *cfg, image_budget_plan *plan, char *err, size_t errlen);

/* The bytes jobs hold now, out of total (the budget less the transient part). */
typedef struct image_budget {
    uint64_t total, used, peak;
} image_budget;

/* Takes n bytes when they fit (true), else takes nothing (false). */
bool image_budget_take(image_budget *b, uint64_t n);
/* Gives n bytes back (never below zero). */
void image_budget_give(image_budget *b, uint64_t n);

#endif
