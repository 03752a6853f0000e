/* Address rules against SSRF: which addresses an outbound fetch may connect to.
 *
 * Pure: parse an allow-list of CIDRs once, then classify and check socket addresses. The HTTP client
 * calls bf_net_guard_check from curl's open-socket hook, i.e. on the address actually connected to,
 * so a hostname that resolves (or re-resolves, DNS rebinding) to a private address, or a redirect to
 * one, is refused just like a literal IP. Hostnames cannot be allow-listed, only addresses: the
 * address is what reaches the internal network. */
#ifndef BF_NET_GUARD_H
#define BF_NET_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef enum {
    BF_NET_PUBLIC = 0,
    BF_NET_UNSPECIFIED, /* 0.0.0.0/8, :: (reaches the local host on Linux) */
    BF_NET_LOOPBACK,    /* 127.0.0.0/8, ::1 */
    BF_NET_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10 */
    BF_NET_LINK_LOCAL,  /* 169.254/16, fe80::/10 */
    BF_NET_METADATA,    /* 169.254.169.254: cloud instance metadata (credentials) */
    BF_NET_CGNAT,       /* 100.64.0.0/10: carrier-grade NAT, often internal in clouds */
    BF_NET_MULTICAST,   /* 224/4, ff00::/8 */
    BF_NET_RESERVED,    /* 192.0.0.0/24, 198.18/15, 240/4 incl. broadcast */
    BF_NET_UNSUPPORTED, /* not AF_INET/AF_INET6 (e.g. a Unix socket) */
} bf_net_class;

/* "public", "unspecified", "loopback", "private", "link-local", "metadata", "cgnat", "multicast",
 * "reserved", "unsupported". */
const char *bf_net_class_name(bf_net_class c);

/* IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) IPv6
 * addresses are classified by the IPv4 address inside, as that is where the packets go. */
bf_net_class bf_net_classify(const struct sockaddr *sa, socklen_t len);

#define BF_NET_GUARD_MAX_CIDRS 32

typedef struct bf_net_cidr {
    int family;          /* AF_INET or AF_INET6 */
    uint8_t addr[16];    /* network bytes; first 4 for AF_INET */
    unsigned prefix;     /* 0..32 or 0..128 */
} bf_net_cidr;

typedef struct bf_net_guard {
    bf_net_cidr allow[BF_NET_GUARD_MAX_CIDRS];
    size_t n_allow;
} bf_net_guard;

/* Parses "127.0.0.0/8, ::1/128, 10.1.2.3" (a bare address means the host alone; empty or NULL: no
 * exceptions) into g. Returns 0, or -1 with a message naming the entry, e.g.
 * "allow-list entry 2 \"10.0.0.0/33\": prefix above 32". */
int bf_net_guard_parse(bf_net_guard *g, const char *cidrs, char *err, size_t errlen);

/* True when sa lies in one of the allow-listed CIDRs (IPv4-mapped IPv6 also match IPv4 entries). */
bool bf_net_guard_allowed(const bf_net_guard *g, const struct sockaddr *sa, socklen_t len);

/* 0 when sa is public or allow-listed; -1 with e.g. "169.254.169.254 is metadata, not
 * allow-listed" in err. */
int bf_net_guard_check(const bf_net_guard *g, const struct sockaddr *sa, socklen_t len, char *err,
                       size_t errlen);

#endif
