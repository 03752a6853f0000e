#include "bf_net_guard.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *bf_net_class_name(bf_net_class c) {
    switch (c) {
    case BF_NET_PUBLIC: return "public";
    case BF_NET_UNSPECIFIED: return "unspecified";
    case BF_NET_LOOPBACK: return "loopback";
    case BF_NET_PRIVATE: return "private";
    case BF_NET_LINK_LOCAL: return "link-local";
    case BF_NET_METADATA: return "metadata";
    case BF_NET_CGNAT: return "cgnat";
    case BF_NET_MULTICAST: return "multicast";
    case BF_NET_RESERVED: return "reserved";
    case BF_NET_UNSUPPORTED: return "unsupported";
    }
    return "unknown";
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix) {
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, net, full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

static bf_net_class classify_v4(const uint8_t a[4]) {
    static const struct {
        uint8_t net[4];
        unsigned prefix;
        bf_net_class cls;
    } rules[] = {
        /* Most specific first: metadata sits inside link-local. */
        {{169, 254, 169, 254}, 32, BF_NET_METADATA},
        {{0, 0, 0, 0}, 8, BF_NET_UNSPECIFIED},
        {{127, 0, 0, 0}, 8, BF_NET_LOOPBACK},
        {{10, 0, 0, 0}, 8, BF_NET_PRIVATE},
        {{172, 16, 0, 0}, 12, BF_NET_PRIVATE},
        {{192, 168, 0, 0}, 16, BF_NET_PRIVATE},
        {{169, 254, 0, 0}, 16, BF_NET_LINK_LOCAL},
        {{100, 64, 0, 0}, 10, BF_NET_CGNAT},
        {{224, 0, 0, 0}, 4, BF_NET_MULTICAST},
        {{192, 0, 0, 0}, 24, BF_NET_RESERVED},
        {{198, 18, 0, 0}, 15, BF_NET_RESERVED},
        {{240, 0, 0, 0}, 4, BF_NET_RESERVED},
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (prefix_match(a, rules[i].net, rules[i].prefix)) return rules[i].cls;
    return BF_NET_PUBLIC;
}

/* The IPv4 address carried inside an IPv6 one, when packets to it end up at that IPv4 host. */
static const uint8_t *embedded_v4(const uint8_t a[16]) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t compat[12] = {0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) return a + 12;
    /* ::a.b.c.d, but :: and ::1 are IPv6's own unspecified and loopback. */
    if (memcmp(a, compat, 12) == 0 && !(a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1)) return a + 12;
    return NULL;
}

static bf_net_class classify_v6(const uint8_t a[16]) {
    static const uint8_t zero[16] = {0};
    if (memcmp(a, zero, 16) == 0) return BF_NET_UNSPECIFIED;
    if (memcmp(a, zero, 15) == 0 && a[15] == 1) return BF_NET_LOOPBACK;
    const uint8_t *v4 = embedded_v4(a);
    if (v4) return classify_v4(v4);
    if ((a[0] & 0xfe) == 0xfc) return BF_NET_PRIVATE;                  /* fc00::/7 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return BF_NET_LINK_LOCAL; /* fe80::/10 */
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return BF_NET_PRIVATE;    /* fec0::/10 */
    if (a[0] == 0xff) return BF_NET_MULTICAST;
    return BF_NET_PUBLIC;
}

/* Copies the address bytes out of sa; returns the family, or 0 when unsupported. */
static int addr_bytes(const struct sockaddr *sa, socklen_t len, uint8_t out[16]) {
    if (!sa) return 0;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof in);
        memcpy(out, &in.sin_addr, 4);
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, sa, sizeof in6);
        memcpy(out, &in6.sin6_addr, 16);
        return AF_INET6;
    }
    return 0;
}

bf_net_class bf_net_classify(const struct sockaddr *sa, socklen_t len) {
    uint8_t a[16];
    int fam = addr_bytes(sa, len, a);
    if (fam == AF_INET) return classify_v4(a);
    if (fam == AF_INET6) return classify_v6(a);
    return BF_NET_UNSUPPORTED;
}

static int parse_one(const char *text, bf_net_cidr *out, char *why, size_t whylen) {
    char buf[80];
    size_t n = strlen(text);
    if (n >= sizeof buf) {
        snprintf(why, whylen, "too long");
        return -1;
    }
    memcpy(buf, text, n + 1);
    char *slash = strchr(buf, '/');
    if (slash) *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
    } else {
        snprintf(why, whylen, "not an IPv4 or IPv6 address (host names cannot be allow-listed)");
        return -1;
    }
    unsigned max = out->family == AF_INET ? 32 : 128;
    out->prefix = max;
    if (slash) {
        const char *p = slash + 1;
        char *end = NULL;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (!isdigit((unsigned char)*p) || errno != 0 || *end != '\0') {
            snprintf(why, whylen, "prefix is not a number");
            return -1;
        }
        if (v > (long)max) {
            snprintf(why, whylen, "prefix above %u", max);
            return -1;
        }
        out->prefix = (unsigned)v;
    }
    return 0;
}

int bf_net_guard_parse(bf_net_guard *g, const char *cidrs, char *err, size_t errlen) {
    memset(g, 0, sizeof *g);
    if (!cidrs) return 0;
    const char *p = cidrs;
    size_t index = 0;
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *s = p;
        while (s < end && isspace((unsigned char)*s)) s++;
        const char *e = end;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        index++;
        if (e > s) {
            char entry[128];
            size_t n = (size_t)(e - s);
            if (n >= sizeof entry) n = sizeof entry - 1;
            memcpy(entry, s, n);
            entry[n] = '\0';
            char why[128];
            if (g->n_allow == BF_NET_GUARD_MAX_CIDRS) {
                snprintf(err, errlen, "allow-list: more than %d entries", BF_NET_GUARD_MAX_CIDRS);
                return -1;
            }
            if (parse_one(entry, &g->allow[g->n_allow], why, sizeof why) != 0) {
                snprintf(err, errlen, "allow-list entry %zu \"%s\": %s", index, entry, why);
                memset(g, 0, sizeof *g);
                return -1;
            }
            g->n_allow++;
        }
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

bool bf_net_guard_allowed(const bf_net_guard *g, const struct sockaddr *sa, socklen_t len) {
    uint8_t a[16];
    int fam = addr_bytes(sa, len, a);
    if (!fam) return false;
    const uint8_t *v4 = fam == AF_INET ? a : embedded_v4(a);
    for (size_t i = 0; i < g->n_allow; i++) {
        const bf_net_cidr *c = &g->allow[i];
        if (c->family == AF_INET6 && fam == AF_INET6 && prefix_match(a, c->addr, c->prefix)) return true;
        if (c->family == AF_INET && v4 && prefix_match(v4, c->addr, c->prefix)) return true;
    }
    return false;
}

int bf_net_guard_check(const bf_net_guard *g, const struct sockaddr *sa, socklen_t len, char *err,
                       size_t errlen) {
    bf_net_class cls = bf_net_classify(sa, len);
    if (cls == BF_NET_PUBLIC) return 0;
    if (cls != BF_NET_UNSUPPORTED && g && bf_net_guard_allowed(g, sa, len)) return 0;
    char text[INET6_ADDRSTRLEN] = "?";
    uint8_t a[16];
    int fam = addr_bytes(sa, len, a);
    if (fam) inet_ntop(fam, a, text, sizeof text);
    snprintf(err, errlen, "%s is %s, not allow-listed", text, bf_net_class_name(cls));
    return -1;
}
