/* The two clocks: monotonic ms for durations and deadlines, wall-clock ms for timestamps that
 * leave the process. Code on a loop uses the loop's clock (bf_loop_now, bf_runtime_now) instead, so
 * tests can move time. */
#ifndef BF_CLOCK_H
#define BF_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ms. */
int64_t bf_now_ms(void);
/* CLOCK_REALTIME in ms since the Unix epoch. */
int64_t bf_wall_ms(void);

#endif
