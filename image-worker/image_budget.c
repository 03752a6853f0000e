#include "image_budget.h"

#include <stdio.h>
#include <string.h>


/* The request body a data: URL vision call keeps in flight: base64 of n bytes plus the JSON and
 * the prompt around it. */
static uint64_t vision_body_bound(uint64_t n) { return (n + 2) / 3 * 4 + 4096; }

int image_budget_plan_make(const image_cfg *cfg, image_budget_plan *plan, char *err, size_t errlen) {
    memset(plan, 0, sizeof *plan);
    uint64_t bytes = (uint64_t)cfg->max_image_bytes, pixels = (uint64_t)cfg->max_pixels;
    bool vision_data = cfg->vision_url[0] && strcmp(cfg->vision_image_mode, "data") == 0;
    plan->budget = (uint64_t)cfg->memory_budget;
    plan->per_job = bytes;
    if (vision_data && vision_body_bound(bytes) > plan->per_job) plan->per_job = vision_body_bound(bytes);
    plan->transient = pixels * IMAGE_DECODE_PEAK_BPP + IMAGE_DECODE_FIXED_BYTES;
    if (vision_data && bytes * IMAGE_VISION_BUILD_FACTOR > plan->transient)
        plan->transient = bytes * IMAGE_VISION_BUILD_FACTOR;
    if (plan->budget < plan->transient + plan->per_job) {
        const double mib = 1048576.0;
        snprintf(err, errlen,
                 "BRAINFLEET_IMAGE_MEMORY_BUDGET: %.1fM cannot hold one image: %.1fM to fetch it "
                 "(BRAINFLEET_MAX_IMAGE_BYTES%s) and %.1fM to decode it (%d bytes per pixel of "
                 "BRAINFLEET_MAX_IMAGE_PIXELS %lld and %uM%s) need %.1fM; raise the budget or lower those",
                 (double)plan->budget / mib, (double)plan->per_job / mib,
                 vision_data ? ", as the vision call's base64 body" : "", (double)plan->transient / mib,
                 IMAGE_DECODE_PEAK_BPP, cfg->max_pixels, IMAGE_DECODE_FIXED_BYTES >> 20,
                 vision_data ? ", or the vision request's copies if larger" : "",
                 (double)(plan->transient + plan->per_job) / mib);
        return -1;
    }
    plan->slots = (plan->budget - plan->transient) / plan->per_job;
    return 0;
}

bool image_budget_take(image_budget *b, uint64_t n) {
    if (n > b->total - b->used) return false;
    b->used += n;
    if (b->used > b->peak) b->peak = b->used;
    return true;
}

void image_budget_give(image_budget *b, uint64_t n) { b->used -= n < b->used ? n : b->used; }
