/* A TCP proxy on 127.0.0.1, run by a thread of the calling process, in front of one upstream
 * server (in practice the stack's PostgreSQL):
 *
 *   - a test takes the server "down" (every proxied connection closed, new ones refused: what a
 *     stopped server looks like) and back up, while the shared stack keeps running;
 *   - a bench makes chosen round trips slow without touching the code under measurement: each
 *     client -> server chunk that contains `delay_match` is held for delay_ms before it is
 *     forwarded, and the connection's later client bytes wait behind it (order kept). With libpq,
 *     one statement is one chunk (Parse/Bind/Execute/Sync in one write), so a marker from a
 *     statement's SQL text slows exactly that statement's round trip.
 *
 * bf_test_proxy_delayed tells how many chunks were held, so a bench can check that its marker
 * still matches the SQL it means to slow down. */
#ifndef BF_TEST_PROXY_H
#define BF_TEST_PROXY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bf_test_proxy bf_test_proxy;

typedef struct bf_test_proxy_opts {
    const char *up_host; /* numeric IPv4 address; "localhost" is taken as 127.0.0.1 */
    int up_port;
    int delay_ms;            /* 0: forward at once */
    const char *delay_match; /* NULL or "": every client chunk is delayed (when delay_ms > 0) */
} bf_test_proxy_opts;

/* Listens on a free port and starts the thread. Returns NULL with a reason in err. */
bf_test_proxy *bf_test_proxy_start(const bf_test_proxy_opts *o, char *err, size_t errlen);
int bf_test_proxy_port(const bf_test_proxy *p);
/* down: closes every proxied connection and the listening socket; up: listens again (same port). */
void bf_test_proxy_set_down(bf_test_proxy *p, bool down);
/* Chunks held back so far. */
long bf_test_proxy_delayed(const bf_test_proxy *p);
/* Stops the thread, closes everything, frees p (NULL is fine). */
void bf_test_proxy_stop(bf_test_proxy *p);

/* A TCP port on 127.0.0.1 that was free a moment ago (for a child's HTTP port, say). */
int bf_test_free_port(void);

/* A proxy in front of BRAINFLEET_PG_DSN's server; dsn receives a libpq connection string that
 * goes through it (same database, user and password, connect_timeout=2). Aborts on failure. */
bf_test_proxy *bf_test_pg_proxy_start(int delay_ms, const char *delay_match, char *dsn, size_t dsnlen);

#endif
