#include "bf_loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bf_clock.h"

#define EVENTS_PER_TURN 256

struct bf_loop {
    int epfd;
    /* Watchers by descriptor: epoll reports the fd, and a watcher stopped by an earlier callback
     * of the same turn is found missing here instead of being called through a stale pointer. */
    bf_io **by_fd;
    size_t cap_fd, n_ios;
    /* Binary min-heap on (due_ms, seq). */
    bf_timer **heap;
    size_t n_timers, cap_timers;
    uint64_t seq;
    bf_clock_fn clock;
    void *clock_ctx;
};

static int64_t mono_clock(void *ctx) {
    (void)ctx;
    return bf_now_ms();
}

bf_loop *bf_loop_new(char *err, size_t errlen) {
    bf_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        free(l);
        return NULL;
    }
    l->clock = mono_clock;
    return l;
}

void bf_loop_free(bf_loop *l) {
    if (!l) return;
    close(l->epfd);
    for (size_t i = 0; i < l->n_timers; i++) l->heap[i]->slot = 0;
    for (size_t i = 0; i < l->cap_fd; i++)
        if (l->by_fd[i]) l->by_fd[i]->events = 0;
    free(l->by_fd);
    free(l->heap);
    free(l);
}

void bf_loop_set_clock(bf_loop *l, bf_clock_fn fn, void *ctx) {
    l->clock = fn ? fn : mono_clock;
    l->clock_ctx = fn ? ctx : NULL;
}

int64_t bf_loop_now(const bf_loop *l) { return l->clock(l->clock_ctx); }

size_t bf_loop_ios(const bf_loop *l) { return l->n_ios; }
size_t bf_loop_timers(const bf_loop *l) { return l->n_timers; }

/* ---- descriptors ---- */

void bf_io_init(bf_io *io, int fd, bf_io_cb cb, void *data) {
    *io = (bf_io){.fd = fd, .cb = cb, .data = data};
}

static uint32_t epoll_mask(unsigned events) {
    return (events & BF_IO_READ ? EPOLLIN : 0u) | (events & BF_IO_WRITE ? EPOLLOUT : 0u);
}

int bf_io_start(bf_loop *l, bf_io *io, unsigned events) {
    events &= BF_IO_READ | BF_IO_WRITE;
    if (events == 0) {
        bf_io_stop(l, io);
        return 0;
    }
    if (io->fd < 0) {
        errno = EBADF;
        return -1;
    }
    size_t fd = (size_t)io->fd;
    if (fd >= l->cap_fd) {
        size_t cap = l->cap_fd ? l->cap_fd : 64;
        while (cap <= fd) cap *= 2;
        bf_io **n = realloc(l->by_fd, cap * sizeof *n);
        if (!n) {
            errno = ENOMEM;
            return -1;
        }
        memset(n + l->cap_fd, 0, (cap - l->cap_fd) * sizeof *n);
        l->by_fd = n;
        l->cap_fd = cap;
    }
    if (l->by_fd[fd] && l->by_fd[fd] != io) {
        errno = EEXIST;
        return -1;
    }
    if (io->events == events && l->by_fd[fd] == io) return 0;
    struct epoll_event ev = {.events = epoll_mask(events), .data.fd = io->fd};
    int op = l->by_fd[fd] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, io->fd, &ev) != 0) {
        /* The descriptor was closed and its number reused without a stop: start afresh. */
        if (op == EPOLL_CTL_MOD && errno == ENOENT) op = EPOLL_CTL_ADD;
        else if (op == EPOLL_CTL_ADD && errno == EEXIST) op = EPOLL_CTL_MOD;
        else return -1;
        if (epoll_ctl(l->epfd, op, io->fd, &ev) != 0) return -1;
    }
    if (!l->by_fd[fd]) l->n_ios++;
    l->by_fd[fd] = io;
    io->events = events;
    return 0;
}

void bf_io_stop(bf_loop *l, bf_io *io) {
    if (io->events == 0 || io->fd < 0 || (size_t)io->fd >= l->cap_fd || l->by_fd[io->fd] != io) {
        io->events = 0;
        return;
    }
    /* Fails harmlessly when the descriptor is already closed (the kernel dropped it then). */
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    l->by_fd[io->fd] = NULL;
    l->n_ios--;
    io->events = 0;
}

/* ---- timers ---- */

void bf_timer_init(bf_timer *t, bf_timer_cb cb, void *data) { *t = (bf_timer){.cb = cb, .data = data}; }

bool bf_timer_active(const bf_timer *t) { return t->slot != 0; }

static bool earlier(const bf_timer *a, const bf_timer *b) {
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_set(bf_loop *l, size_t i, bf_timer *t) {
    l->heap[i] = t;
    t->slot = i + 1;
}

static void sift_up(bf_loop *l, size_t i) {
    bf_timer *t = l->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(t, l->heap[p])) break;
        heap_set(l, i, l->heap[p]);
        i = p;
    }
    heap_set(l, i, t);
}

static void sift_down(bf_loop *l, size_t i) {
    bf_timer *t = l->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->n_timers) break;
        if (c + 1 < l->n_timers && earlier(l->heap[c + 1], l->heap[c])) c++;
        if (!earlier(l->heap[c], t)) break;
        heap_set(l, i, l->heap[c]);
        i = c;
    }
    heap_set(l, i, t);
}

void bf_timer_stop(bf_loop *l, bf_timer *t) {
    if (!t->slot) return;
    size_t i = t->slot - 1;
    t->slot = 0;
    bf_timer *last = l->heap[--l->n_timers];
    if (i == l->n_timers) return;
    heap_set(l, i, last);
    sift_up(l, i);
    sift_down(l, last->slot - 1);
}

int bf_timer_start(bf_loop *l, bf_timer *t, int64_t due_ms) {
    bf_timer_stop(l, t);
    if (l->n_timers == l->cap_timers) {
        size_t cap = l->cap_timers ? l->cap_timers * 2 : 64;
        bf_timer **n = realloc(l->heap, cap * sizeof *n);
        if (!n) return -1;
        l->heap = n;
        l->cap_timers = cap;
    }
    /* A deadline already past counts as now, so it queues behind timers that were due first
     * (and bf_loop_run_timers, which stops at timers started during its run, is not held up by
     * it). */
    int64_t now = bf_loop_now(l);
    t->due_ms = due_ms < now ? now : due_ms;
    t->seq = l->seq++;
    l->heap[l->n_timers] = t;
    t->slot = ++l->n_timers;
    sift_up(l, l->n_timers - 1);
    return 0;
}

int bf_timer_start_in(bf_loop *l, bf_timer *t, int64_t delay_ms) {
    return bf_timer_start(l, t, bf_loop_now(l) + (delay_ms > 0 ? delay_ms : 0));
}

int64_t bf_loop_next_timeout(const bf_loop *l) {
    if (l->n_timers == 0) return -1;
    int64_t left = l->heap[0]->due_ms - bf_loop_now(l);
    return left > 0 ? left : 0;
}

size_t bf_loop_run_timers(bf_loop *l) {
    /* Timers started by these callbacks wait for the next turn, even when already due: a
     * callback that re-arms itself at "now" must not spin here forever. */
    uint64_t limit = l->seq;
    int64_t now = bf_loop_now(l);
    size_t ran = 0;
    while (l->n_timers > 0) {
        bf_timer *t = l->heap[0];
        if (t->due_ms > now || t->seq >= limit) break;
        bf_timer_stop(l, t);
        t->cb(t);
        ran++;
    }
    return ran;
}

/* ---- one turn ---- */

int bf_loop_run_once(bf_loop *l, int max_wait_ms) {
    int64_t next = bf_loop_next_timeout(l);
    int wait = max_wait_ms;
    if (next >= 0 && (wait < 0 || next < wait)) wait = next > 1000000 ? 1000000 : (int)next;
    struct epoll_event evs[EVENTS_PER_TURN];
    int n = epoll_wait(l->epfd, evs, EVENTS_PER_TURN, wait);
    if (n < 0) {
        if (errno != EINTR) return -1;
        n = 0;
    }
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        bf_io *io = (size_t)fd < l->cap_fd ? l->by_fd[fd] : NULL;
        if (!io) continue; /* stopped by an earlier callback of this turn */
        unsigned got = 0;
        if (evs[i].events & (EPOLLERR | EPOLLHUP)) got = BF_IO_READ | BF_IO_WRITE | BF_IO_ERROR;
        if (evs[i].events & EPOLLIN) got |= BF_IO_READ;
        if (evs[i].events & EPOLLOUT) got |= BF_IO_WRITE;
        /* Report only what is watched (an error is news to anyone). */
        got &= io->events | BF_IO_ERROR;
        if (!got) continue;
        io->cb(io, got);
        ran++;
    }
    ran += (int)bf_loop_run_timers(l);
    return ran;
}
