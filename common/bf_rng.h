/* A small seeded random source (splitmix64) for things that need spread, not secrecy: retry
 * jitter, and trace span ids on the hot path (a getrandom call per message showed up as a fifth
 * of a no-op stage's time). Callers own the state, so tests can pin sequences. Never for secrets. */
#ifndef BF_RNG_H
#define BF_RNG_H

#include <stdint.h>

typedef struct bf_rng {
    uint64_t state;
} bf_rng;

void bf_rng_seed(bf_rng *r, uint64_t seed);
/* Seeds from getrandom(2). */
void bf_rng_seed_random(bf_rng *r);
uint64_t bf_rng_next(bf_rng *r);
/* Uniform in [0, n] (inclusive); 0 when n <= 0. */
int64_t bf_rng_upto(bf_rng *r, int64_t n);

#endif
