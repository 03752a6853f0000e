/* Retry pauses: exponential backoff with full jitter, and the server's Retry-After.
 *
 * Full jitter (a uniform pick in [0, min(cap, base * 2^attempt)]) spreads the retries of many
 * clients that failed together, so a recovering server is not hit by synchronised waves. The random
 * source is passed in, so the functions are pure and tests pin the sequence. */
#ifndef BF_BACKOFF_H
#define BF_BACKOFF_H

#include <stdint.h>

#include "bf_rng.h"

/* The pause before retry number `attempt` (1 = the pause after the first failure):
 * uniform in [0, min(cap_ms, base_ms * 2^(attempt-1))]. Never overflows; 0 when base_ms or cap_ms
 * is <= 0. */
int64_t bf_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, bf_rng *rng);

/* The pause actually taken: the server's Retry-After (when >= 0) if longer than the backoff, and
 * never more than cap_ms. */
int64_t bf_backoff_with_retry_after(int64_t backoff_ms, int64_t retry_after_ms, int64_t cap_ms);

#endif
