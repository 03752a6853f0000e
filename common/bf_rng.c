#include "bf_rng.h"

#include "bf_trace.h"

void bf_rng_seed(bf_rng *r, uint64_t seed) { r->state = seed; }

void bf_rng_seed_random(bf_rng *r) { bf_random_bytes(&r->state, sizeof r->state); }

uint64_t bf_rng_next(bf_rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int64_t bf_rng_upto(bf_rng *r, int64_t n) {
    if (n <= 0) return 0;
    /* Modulo bias is at most n / 2^64: irrelevant for what this is used for. */
    return (int64_t)(bf_rng_next(r) % ((uint64_t)n + 1));
}
