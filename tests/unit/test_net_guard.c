/* bf_net_guard: the address classes refused against SSRF, IPv4 inside IPv6, and the allow-list
 * parser's errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "bf_net_guard.h"

typedef struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
} addr;

static addr mk(const char *text) {
    addr a;
    memset(&a, 0, sizeof a);
    struct sockaddr_in *in = (struct sockaddr_in *)&a.ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a.ss;
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        a.len = sizeof *in;
    } else if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        a.len = sizeof *in6;
    } else {
        fail_msg("bad test address %s", text);
    }
    return a;
}

static bf_net_class cls(const char *text) {
    addr a = mk(text);
    return bf_net_classify((struct sockaddr *)&a.ss, a.len);
}

static void test_classes(void **state) {
    (void)state;
    static const struct {
        const char *addr;
        bf_net_class cls;
    } cases[] = {
        {"8.8.8.8", BF_NET_PUBLIC},          {"93.184.216.34", BF_NET_PUBLIC},
        {"127.0.0.1", BF_NET_LOOPBACK},       {"127.255.255.254", BF_NET_LOOPBACK},
        {"10.0.0.1", BF_NET_PRIVATE},         {"172.16.0.1", BF_NET_PRIVATE},
        {"172.31.255.255", BF_NET_PRIVATE},   {"172.32.0.1", BF_NET_PUBLIC},
        {"172.15.255.255", BF_NET_PUBLIC},    {"192.168.1.1", BF_NET_PRIVATE},
        {"169.254.1.1", BF_NET_LINK_LOCAL},   {"169.254.169.254", BF_NET_METADATA},
        {"100.64.0.1", BF_NET_CGNAT},         {"100.127.255.255", BF_NET_CGNAT},
        {"100.128.0.1", BF_NET_PUBLIC},       {"0.0.0.0", BF_NET_UNSPECIFIED},
        {"0.1.2.3", BF_NET_UNSPECIFIED},      {"224.0.0.1", BF_NET_MULTICAST},
        {"239.255.255.250", BF_NET_MULTICAST}, {"255.255.255.255", BF_NET_RESERVED},
        {"::1", BF_NET_LOOPBACK},             {"::", BF_NET_UNSPECIFIED},
        {"fc00::1", BF_NET_PRIVATE},          {"fd12:3456::1", BF_NET_PRIVATE},
        {"fe80::1", BF_NET_LINK_LOCAL},       {"ff02::1", BF_NET_MULTICAST},
        {"2606:4700::1111", BF_NET_PUBLIC},   {"::ffff:127.0.0.1", BF_NET_LOOPBACK},
        {"::ffff:169.254.169.254", BF_NET_METADATA}, {"::ffff:10.1.2.3", BF_NET_PRIVATE},
        {"::ffff:8.8.8.8", BF_NET_PUBLIC},    {"64:ff9b::192.168.0.1", BF_NET_PRIVATE},
        {"::127.0.0.1", BF_NET_LOOPBACK},     {"fd00:ec2::254", BF_NET_PRIVATE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bf_net_class got = cls(cases[i].addr);
        if (got != cases[i].cls)
            fail_msg("%s: got %s, want %s", cases[i].addr, bf_net_class_name(got), bf_net_class_name(cases[i].cls));
    }
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_int_equal(bf_net_classify(&unix_sa, sizeof unix_sa), BF_NET_UNSUPPORTED);
    assert_int_equal(bf_net_classify(NULL, 0), BF_NET_UNSUPPORTED);
}

static int check(const bf_net_guard *g, const char *text, char *err, size_t errlen) {
    addr a = mk(text);
    return bf_net_guard_check(g, (struct sockaddr *)&a.ss, a.len, err, errlen);
}

static void test_check_and_allow_list(void **state) {
    (void)state;
    bf_net_guard g;
    char err[256];
    assert_int_equal(bf_net_guard_parse(&g, NULL, err, sizeof err), 0);
    assert_int_equal(check(&g, "8.8.8.8", err, sizeof err), 0);
    assert_int_equal(check(&g, "127.0.0.1", err, sizeof err), -1);
    assert_string_equal(err, "127.0.0.1 is loopback, not allow-listed");
    assert_int_equal(check(&g, "169.254.169.254", err, sizeof err), -1);
    assert_string_equal(err, "169.254.169.254 is metadata, not allow-listed");

    assert_int_equal(bf_net_guard_parse(&g, " 127.0.0.1/32 , ::1/128,10.1.0.0/16,", err, sizeof err), 0);
    assert_int_equal(g.n_allow, 3);
    assert_int_equal(check(&g, "127.0.0.1", err, sizeof err), 0);
    assert_int_equal(check(&g, "127.0.0.2", err, sizeof err), -1);
    assert_int_equal(check(&g, "::1", err, sizeof err), 0);
    assert_int_equal(check(&g, "::ffff:127.0.0.1", err, sizeof err), 0); /* mapped matches IPv4 entry */
    assert_int_equal(check(&g, "10.1.200.3", err, sizeof err), 0);
    assert_int_equal(check(&g, "10.2.0.1", err, sizeof err), -1);
    assert_string_equal(err, "10.2.0.1 is private, not allow-listed");

    assert_int_equal(bf_net_guard_parse(&g, "192.168.1.7", err, sizeof err), 0); /* bare address = host */
    assert_int_equal(check(&g, "192.168.1.7", err, sizeof err), 0);
    assert_int_equal(check(&g, "192.168.1.8", err, sizeof err), -1);
}

static void test_parse_errors(void **state) {
    (void)state;
    bf_net_guard g;
    char err[256];
    assert_int_equal(bf_net_guard_parse(&g, "127.0.0.0/8,10.0.0.0/33", err, sizeof err), -1);
    assert_string_equal(err, "allow-list entry 2 \"10.0.0.0/33\": prefix above 32");
    assert_int_equal(g.n_allow, 0);
    assert_int_equal(bf_net_guard_parse(&g, "::1/129", err, sizeof err), -1);
    assert_string_equal(err, "allow-list entry 1 \"::1/129\": prefix above 128");
    assert_int_equal(bf_net_guard_parse(&g, "10.0.0.0/x", err, sizeof err), -1);
    assert_string_equal(err, "allow-list entry 1 \"10.0.0.0/x\": prefix is not a number");
    assert_int_equal(bf_net_guard_parse(&g, "10.0.0.0/-1", err, sizeof err), -1);
    assert_int_equal(bf_net_guard_parse(&g, "localhost", err, sizeof err), -1);
    assert_non_null(strstr(err, "host names cannot be allow-listed"));
    assert_int_equal(bf_net_guard_parse(&g, "300.1.1.1/8", err, sizeof err), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_check_and_allow_list),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
