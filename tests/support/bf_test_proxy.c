#include "bf_test_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bf_test_kafka.h"

#define MAX_PAIRS 64

typedef struct pair {
    int fd[2];      /* [0] the client, [1] the upstream server */
    char *held;     /* client bytes waiting until due_ms; the client is not read meanwhile */
    size_t held_len;
    int64_t due_ms;
} pair;

struct bf_test_proxy {
    int port, up_port, delay_ms;
    char up_host[64];
    char *match;
    atomic_bool down, quit;
    atomic_long delayed;
    pthread_t thread;
    int lsn;
    pair pairs[MAX_PAIRS];
    size_t n;
};

/* Close-on-exec: a child the caller starts after the proxy (the worker it proxies for) must not
 * inherit the listening socket, or it would keep the port listening, unanswered, while the proxy
 * is "down". */
static int cloexec(int fd) {
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static int listen_on(int port) {
    int s = cloexec(socket(AF_INET, SOCK_STREAM, 0));
    if (s < 0) return -1;
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 64) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static int connect_upstream(const bf_test_proxy *p) {
    int s = cloexec(socket(AF_INET, SOCK_STREAM, 0));
    if (s < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->up_port)};
    if (inet_pton(AF_INET, p->up_host, &a.sin_addr) != 1 || connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static bool write_all(int fd, const char *buf, size_t len) {
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w <= 0) return false;
        off += (size_t)w;
    }
    return true;
}

static bool contains(const char *buf, size_t len, const char *needle) {
    size_t nl = strlen(needle);
    for (size_t i = 0; nl <= len && i <= len - nl; i++)
        if (memcmp(buf + i, needle, nl) == 0) return true;
    return false;
}

/* Closes pair i; the last pair takes its slot (callers walk the pairs from the end). */
static void drop(bf_test_proxy *p, size_t i) {
    close(p->pairs[i].fd[0]);
    close(p->pairs[i].fd[1]);
    free(p->pairs[i].held);
    p->pairs[i] = p->pairs[--p->n];
}

static void drop_all(bf_test_proxy *p) {
    while (p->n) drop(p, p->n - 1);
}

/* Forwards held chunks that are due; returns the poll timeout until the next one (at most 50 ms). */
static int release_due(bf_test_proxy *p) {
    int timeout = 50;
    int64_t now = bf_test_now_ms();
    for (size_t i = p->n; i-- > 0;) {
        pair *pr = &p->pairs[i];
        if (!pr->held) continue;
        if (pr->due_ms > now) {
            if (pr->due_ms - now < timeout) timeout = (int)(pr->due_ms - now);
            continue;
        }
        bool ok = write_all(pr->fd[1], pr->held, pr->held_len);
        free(pr->held);
        pr->held = NULL;
        if (!ok) drop(p, i);
    }
    return timeout;
}

/* One read from side of pair i, forwarded or held. Returns false when the pair is finished. */
static bool pump(bf_test_proxy *p, size_t i, int side) {
    pair *pr = &p->pairs[i];
    char buf[65536];
    ssize_t r = read(pr->fd[side], buf, sizeof buf);
    if (r <= 0) return false;
    if (side == 0 && p->delay_ms > 0 && (!p->match || contains(buf, (size_t)r, p->match))) {
        pr->held = malloc((size_t)r);
        if (!pr->held) return false;
        memcpy(pr->held, buf, (size_t)r);
        pr->held_len = (size_t)r;
        pr->due_ms = bf_test_now_ms() + p->delay_ms;
        atomic_fetch_add(&p->delayed, 1);
        return true;
    }
    return write_all(pr->fd[1 - side], buf, (size_t)r);
}

static void *proxy_main(void *arg) {
    bf_test_proxy *p = arg;
    while (!atomic_load(&p->quit)) {
        if (atomic_load(&p->down)) {
            drop_all(p);
            if (p->lsn >= 0) close(p->lsn);
            p->lsn = -1;
            bf_test_sleep_ms(20);
            continue;
        }
        if (p->lsn < 0 && (p->lsn = listen_on(p->port)) < 0) {
            bf_test_sleep_ms(20);
            continue;
        }
        int timeout = release_due(p);
        struct pollfd fds[1 + 2 * MAX_PAIRS];
        fds[0] = (struct pollfd){.fd = p->lsn, .events = POLLIN};
        for (size_t i = 0; i < p->n; i++) {
            fds[1 + 2 * i] = (struct pollfd){.fd = p->pairs[i].fd[0], .events = p->pairs[i].held ? 0 : POLLIN};
            fds[2 + 2 * i] = (struct pollfd){.fd = p->pairs[i].fd[1], .events = POLLIN};
        }
        if (poll(fds, 1 + 2 * p->n, timeout) <= 0) continue;
        for (size_t i = p->n; i-- > 0;) {
            for (int side = 0; side < 2; side++) {
                if (!(fds[1 + 2 * i + side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                /* A hang-up behind held bytes waits until they are forwarded. */
                if (side == 0 && p->pairs[i].held) continue;
                if (!pump(p, i, side)) {
                    drop(p, i);
                    break;
                }
            }
        }
        if ((fds[0].revents & POLLIN) && p->n < MAX_PAIRS) {
            int c = cloexec(accept(p->lsn, NULL, NULL));
            int u = c >= 0 ? connect_upstream(p) : -1;
            if (u < 0) {
                if (c >= 0) close(c);
            } else {
                p->pairs[p->n++] = (pair){.fd = {c, u}};
            }
        }
    }
    drop_all(p);
    if (p->lsn >= 0) close(p->lsn);
    return NULL;
}

bf_test_proxy *bf_test_proxy_start(const bf_test_proxy_opts *o, char *err, size_t errlen) {
    bf_test_proxy *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(p->up_host, sizeof p->up_host, "%s", strcmp(o->up_host, "localhost") == 0 ? "127.0.0.1" : o->up_host);
    p->up_port = o->up_port;
    p->delay_ms = o->delay_ms;
    p->match = o->delay_match && *o->delay_match ? strdup(o->delay_match) : NULL;
    /* Listening before the thread starts: the port is taken when this returns. */
    p->lsn = listen_on(0);
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    if (p->lsn < 0 || getsockname(p->lsn, (struct sockaddr *)&a, &l) != 0) {
        snprintf(err, errlen, "cannot listen on 127.0.0.1");
        bf_test_proxy_stop(p);
        return NULL;
    }
    p->port = ntohs(a.sin_port);
    if (pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
        snprintf(err, errlen, "pthread_create failed");
        close(p->lsn);
        free(p->match);
        free(p);
        return NULL;
    }
    return p;
}

int bf_test_proxy_port(const bf_test_proxy *p) { return p->port; }

void bf_test_proxy_set_down(bf_test_proxy *p, bool down) { atomic_store(&p->down, down); }

long bf_test_proxy_delayed(const bf_test_proxy *p) { return atomic_load(&p->delayed); }

void bf_test_proxy_stop(bf_test_proxy *p) {
    if (!p) return;
    if (p->port) {
        atomic_store(&p->quit, true);
        pthread_join(p->thread, NULL);
    } else if (p->lsn >= 0) {
        close(p->lsn);
    }
    free(p->match);
    free(p);
}

int bf_test_free_port(void) {
    int s = listen_on(0);
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int port = s >= 0 && getsockname(s, (struct sockaddr *)&a, &l) == 0 ? ntohs(a.sin_port) : 0;
    if (s >= 0) close(s);
    return port;
}

bf_test_proxy *bf_test_pg_proxy_start(int delay_ms, const char *delay_match, char *dsn, size_t dsnlen) {
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(bf_test_pg_dsn(), &perr);
    if (!opts) {
        fprintf(stderr, "BRAINFLEET_PG_DSN: %s\n", perr ? perr : "unparseable");
        abort();
    }
    const char *host = "127.0.0.1", *port = "5432", *dbname = "postgres", *user = "postgres", *password = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val) continue;
        if (!strcmp(o->keyword, "host") || !strcmp(o->keyword, "hostaddr")) host = o->val;
        else if (!strcmp(o->keyword, "port")) port = o->val;
        else if (!strcmp(o->keyword, "dbname")) dbname = o->val;
        else if (!strcmp(o->keyword, "user")) user = o->val;
        else if (!strcmp(o->keyword, "password")) password = o->val;
    }
    bf_test_proxy_opts po = {.up_host = host, .up_port = (int)strtol(port, NULL, 10), .delay_ms = delay_ms,
                             .delay_match = delay_match};
    char err[256];
    bf_test_proxy *p = bf_test_proxy_start(&po, err, sizeof err);
    if (!p) {
        fprintf(stderr, "proxy: %s\n", err);
        abort();
    }
    snprintf(dsn, dsnlen, "host=127.0.0.1 port=%d dbname=%s user=%s%s%s connect_timeout=2", p->port, dbname, user,
             password ? " password=" : "", password ? password : "");
    PQconninfoFree(opts);
    return p;
}
