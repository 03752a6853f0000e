/* The event loop every worker runs on: file descriptors and timers, one thread.
 *
 * Modelled on libuv's handles: the caller owns each watcher (bf_io, bf_timer), usually embedded in
 * the object it serves, so starting or stopping one never allocates, and a callback may start or
 * stop any watcher, its own included, or free the object that holds it once it has stopped it.
 * Descriptors are watched level-triggered with epoll: no cap on their number, and a callback that
 * leaves data unread is simply called again on the next turn.
 *
 * Time is the loop's clock (CLOCK_MONOTONIC in ms unless bf_loop_set_clock replaces it, which is
 * how tests drive timers without sleeping). Timers with the same deadline fire in the order they
 * were started. */
#ifndef BF_LOOP_H
#define BF_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bf_loop bf_loop;

/* Events: what to watch for (bf_io_start) and what happened (the callback). BF_IO_ERROR is only
 * reported, with READ and WRITE set too, so a callback reading or writing finds the error itself. */
enum { BF_IO_READ = 1u, BF_IO_WRITE = 2u, BF_IO_ERROR = 4u };

typedef struct bf_io bf_io;
typedef void (*bf_io_cb)(bf_io *io, unsigned events);

/* Fields are read-only for the owner but for data. */
struct bf_io {
    int fd;
    unsigned events; /* watched now; 0 when stopped */
    bf_io_cb cb;
    void *data;      /* the owner's */
};

/* Sets the fields; does not start watching. */
void bf_io_init(bf_io *io, int fd, bf_io_cb cb, void *data);
/* Starts watching io->fd for events, or changes what is watched; events 0 stops. Returns 0, or -1
 * with errno (EEXIST when another bf_io watches the fd). */
int bf_io_start(bf_loop *l, bf_io *io, unsigned events);
/* Stops watching (idempotent). Call it before closing the descriptor. */
void bf_io_stop(bf_loop *l, bf_io *io);

typedef struct bf_timer bf_timer;
typedef void (*bf_timer_cb)(bf_timer *t);

struct bf_timer {
    int64_t due_ms; /* the loop clock's ms; valid while active */
    bf_timer_cb cb;
    void *data;     /* the owner's */
    size_t slot;    /* private: heap index + 1, 0 when not active */
    uint64_t seq;   /* private: start order, for ties */
};

void bf_timer_init(bf_timer *t, bf_timer_cb cb, void *data);
/* Arms (or re-arms) t to fire once at due_ms on the loop's clock; a deadline in the past fires on
 * the next turn, never inside this call. Returns 0, or -1 when out of memory. */
int bf_timer_start(bf_loop *l, bf_timer *t, int64_t due_ms);
/* The same, delay_ms from now. */
int bf_timer_start_in(bf_loop *l, bf_timer *t, int64_t delay_ms);
void bf_timer_stop(bf_loop *l, bf_timer *t); /* idempotent */
bool bf_timer_active(const bf_timer *t);

/* Returns NULL with err. */
bf_loop *bf_loop_new(char *err, size_t errlen);
/* Watchers still started are forgotten, not called. */
void bf_loop_free(bf_loop *l);

typedef int64_t (*bf_clock_fn)(void *ctx);
/* Replaces the loop's clock (tests). NULL restores the monotonic clock. */
void bf_loop_set_clock(bf_loop *l, bf_clock_fn fn, void *ctx);
int64_t bf_loop_now(const bf_loop *l);

/* One turn: waits for descriptors until the nearest timer, at most max_wait_ms (0: do not wait;
 * -1: no bound but the timers), then runs the callbacks of ready descriptors and of due timers.
 * Returns how many callbacks ran, or -1 with errno when epoll failed (EINTR is not a failure). */
int bf_loop_run_once(bf_loop *l, int max_wait_ms);
/* Runs only the timers due on the loop's clock (with a test clock, after moving it). Returns how
 * many ran. */
size_t bf_loop_run_timers(bf_loop *l);
/* ms until the nearest timer (0 when one is due), -1 when none is armed. */
int64_t bf_loop_next_timeout(const bf_loop *l);
/* Descriptors and timers watched now (for metrics and tests). */
size_t bf_loop_ios(const bf_loop *l);
size_t bf_loop_timers(const bf_loop *l);

#endif
