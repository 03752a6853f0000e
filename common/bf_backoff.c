#include "bf_backoff.h"

int64_t bf_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, bf_rng *rng) {
    if (base_ms <= 0 || cap_ms <= 0) return 0;
    if (attempt < 1) attempt = 1;
    int64_t ceiling = base_ms;
    /* Doubling stops at the cap, so large attempt numbers cannot overflow. */
    for (int i = 1; i < attempt && ceiling < cap_ms; i++) ceiling = ceiling > INT64_MAX / 2 ? cap_ms : ceiling * 2;
    if (ceiling > cap_ms) ceiling = cap_ms;
    return bf_rng_upto(rng, ceiling);
}

int64_t bf_backoff_with_retry_after(int64_t backoff_ms, int64_t retry_after_ms, int64_t cap_ms) {
    int64_t d = backoff_ms < 0 ? 0 : backoff_ms;
    if (retry_after_ms > d) d = retry_after_ms;
    if (cap_ms >= 0 && d > cap_ms) d = cap_ms;
    return d;
}
