/*
 * addr.c — the server-side request forgery guard (see addr.h). Called by ytdlp.c
 * before a download and by the server when a link is submitted.
 *
 * classify() names the kind of a refused address (or NULL when it is public),
 * from two tables written entry by entry from the IANA IPv4 and IPv6
 * Special-Purpose Address Registries (tests/unit/test_guard.c has one row per
 * registry entry). IPv6 forms that carry an IPv4 address — mapped ::ffff:a.b.c.d,
 * translated ::ffff:0:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::a.b.c.d and
 * 6to4 2002:AABB:CCDD:: — are judged by the IPv4 address inside them; the
 * local-use NAT64 prefix 64:ff9b:1::/48 and Teredo 2001::/32 are refused.
 *
 * Limits (by design, noted for callers): the check is made on the addresses the
 * name resolves to *now*; the program that connects later (yt-dlp) resolves again
 * and follows redirects itself, so a DNS answer that changes in between, or a
 * redirect to a private address, is not caught here.
 */
#include "fetch/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"

/* One rule of the special-purpose tables: an address block and what it is. The
 * first rule that holds the address decides: kind names a refused block, NULL an
 * allowed one (a globally reachable entry inside a refused block), and embed >= 0
 * says "judge by the IPv4 address at this byte offset" (translation prefixes). */
typedef struct rule {
    const char *net;
    int bits;
    const char *kind;
    int embed;
} rule;

#define REFUSE(net, bits, kind)                                                                    \
    {                                                                                              \
        net, bits, kind, -1                                                                        \
    }
#define ALLOW(net, bits)                                                                           \
    {                                                                                              \
        net, bits, NULL, -1                                                                        \
    }
#define EMBED(net, bits, off)                                                                      \
    {                                                                                              \
        net, bits, NULL, off                                                                       \
    }

/* The IANA IPv4 Special-Purpose Address Registry, every entry whose "Globally
 * Reachable" is False (or N/A), plus multicast; entries that are globally reachable
 * (192.0.0.9, 192.0.0.10, AS112 192.31.196/24 and 192.175.48/24, AMT 192.52.193/24)
 * are allowed. */
static const rule rules4[] = {
    REFUSE("0.0.0.0", 8, "\"this network\""), /* and 0.0.0.0/32 "this host" */
    REFUSE("10.0.0.0", 8, "private"),
    REFUSE("100.64.0.0", 10, "carrier-grade NAT"),
    REFUSE("127.0.0.0", 8, "loopback"),
    REFUSE("169.254.0.0", 16, "link-local"),
    REFUSE("172.16.0.0", 12, "private"),
    ALLOW("192.0.0.9", 32),                              /* Port Control Protocol anycast */
    ALLOW("192.0.0.10", 32),                             /* TURN anycast */
    REFUSE("192.0.0.0", 24, "IETF protocol assignment"), /* /29, .8, .170, .171 */
    REFUSE("192.0.2.0", 24, "documentation"),
    REFUSE("192.88.99.0", 24, "deprecated 6to4 relay"),
    REFUSE("192.168.0.0", 16, "private"),
    REFUSE("198.18.0.0", 15, "benchmarking"),
    REFUSE("198.51.100.0", 24, "documentation"),
    REFUSE("203.0.113.0", 24, "documentation"),
    REFUSE("224.0.0.0", 4, "multicast"),
    REFUSE("255.255.255.255", 32, "broadcast"),
    REFUSE("240.0.0.0", 4, "reserved"),
};

/* The IANA IPv6 Special-Purpose Address Registry likewise, plus the deprecated
 * site-local block and multicast. Translation prefixes that carry an IPv4
 * address (mapped, translated, compatible, well-known NAT64, 6to4) are judged by
 * it; the local-use NAT64 prefix and Teredo are refused outright. */
static const rule rules6[] = {
    REFUSE("::", 128, "unspecified"),
    REFUSE("::1", 128, "loopback"),
    EMBED("::ffff:0:0", 96, 12),   /* IPv4-mapped */
    EMBED("::ffff:0:0:0", 96, 12), /* IPv4-translated (SIIT) */
    EMBED("::", 96, 12),           /* IPv4-compatible (deprecated) */
    EMBED("64:ff9b::", 96, 12),    /* well-known NAT64 prefix */
    REFUSE("64:ff9b:1::", 48, "local-use NAT64"),
    REFUSE("100::", 64, "discard-only"),
    REFUSE("100:0:0:1::", 64, "dummy"),
    ALLOW("2001:1::1", 128),   /* Port Control Protocol anycast */
    ALLOW("2001:1::2", 128),   /* TURN anycast */
    ALLOW("2001:1::3", 128),   /* DNS-SD service registration anycast */
    ALLOW("2001:3::", 32),     /* AMT */
    ALLOW("2001:4:112::", 48), /* AS112-v6 */
    ALLOW("2001:20::", 28),    /* ORCHIDv2 */
    ALLOW("2001:30::", 28),    /* drone remote ID entity tags */
    REFUSE("2001::", 32, "Teredo"),
    REFUSE("2001:2::", 48, "benchmarking"),
    REFUSE("2001:10::", 28, "deprecated ORCHID"),
    REFUSE("2001::", 23, "IETF protocol assignment"),
    REFUSE("2001:db8::", 32, "documentation"),
    EMBED("2002::", 16, 2), /* 6to4: 2002:AABB:CCDD::/48 */
    REFUSE("3fff::", 20, "documentation"),
    REFUSE("5f00::", 16, "segment routing"),
    REFUSE("fc00::", 7, "unique local"),
    REFUSE("fe80::", 10, "link-local"),
    REFUSE("fec0::", 10, "site-local"),
    REFUSE("ff00::", 8, "multicast"),
};

/* the first bits of a equal those of net */
static int in_block(const uint8_t *a, const uint8_t *net, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

static const char *classify4(const uint8_t a[4])
{
    for (size_t i = 0; i < sizeof(rules4) / sizeof(rules4[0]); i++) {
        uint8_t net[4];
        if (inet_pton(AF_INET, rules4[i].net, net) == 1 && in_block(a, net, rules4[i].bits))
            return rules4[i].kind;
    }
    return NULL;
}

static const char *classify6(const uint8_t a[16])
{
    for (size_t i = 0; i < sizeof(rules6) / sizeof(rules6[0]); i++) {
        uint8_t net[16];
        if (inet_pton(AF_INET6, rules6[i].net, net) != 1 || !in_block(a, net, rules6[i].bits))
            continue;
        return rules6[i].embed >= 0 ? classify4(a + rules6[i].embed) : rules6[i].kind;
    }
    return NULL;
}

static const char *classify(const struct sockaddr *sa)
{
    if (!sa)
        return "unknown";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        return classify4((const uint8_t *)&s4->sin_addr.s_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        return classify6(s6->sin6_addr.s6_addr);
    }
    return "non-IP"; /* we only ever connect over IP */
}

int tgi_addr_is_private(const struct sockaddr *sa)
{
    return classify(sa) != NULL;
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t n)
{
    const void *a = NULL;
    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, buf, (socklen_t)n))
        snprintf(buf, n, "?");
}

/* Refuse sa when it is private: TG_ELIMIT naming the host and the kind. */
static int check_one(tg_ctx *ctx, const char *host, const struct sockaddr *sa, int literal)
{
    const char *kind = classify(sa);
    if (!kind)
        return 0;
    char text[INET6_ADDRSTRLEN];
    addr_text(sa, text, sizeof(text));
    if (literal)
        return tgi_fail(ctx, TG_ELIMIT, "refused to connect to %.*s: %s address %s",
                        TG_CUT(host, 200), kind, text);
    return tgi_fail(ctx, TG_ELIMIT, "refused to connect to %.*s: it resolves to %s address %s",
                    TG_CUT(host, 200), kind, text);
}

int tgi_host_check(tg_ctx *ctx, const char *host, int allow_private)
{
    if (!host || !*host)
        return tgi_fail(ctx, TG_EINVAL, "empty host name");
    char buf[256];
    size_t n = strlen(host);
    if (n >= sizeof(buf))
        return tgi_fail(ctx, TG_EINVAL, "host name too long");
    /* accept "[v6]" as well as "v6" */
    if (host[0] == '[' && n >= 2 && host[n - 1] == ']') {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
    } else {
        memcpy(buf, host, n + 1);
    }

    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof(s6));
    if (inet_pton(AF_INET6, buf, &s6.sin6_addr) == 1) {
        s6.sin6_family = AF_INET6;
        return allow_private ? 0 : check_one(ctx, host, (struct sockaddr *)&s6, 1);
    }
    /* inet_aton reads every numeric spelling the resolver (and so curl and Python)
     * accept: 2130706433, 0x7f000001, 0177.0.0.1, 127.1 */
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof(s4));
    if (inet_aton(buf, &s4.sin_addr)) {
        s4.sin_family = AF_INET;
        return allow_private ? 0 : check_one(ctx, host, (struct sockaddr *)&s4, 1);
    }

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(buf, NULL, &hints, &res);
    if (g != 0 || !res) {
        if (res)
            freeaddrinfo(res);
        return tgi_fail(ctx, TG_EINVAL, "cannot resolve host %.*s: %s", TG_CUT(host, 200),
                        g ? gai_strerror(g) : "no address");
    }
    int rc = 0;
    for (struct addrinfo *ai = res; ai && !allow_private && rc == 0; ai = ai->ai_next)
        rc = check_one(ctx, host, ai->ai_addr, 0);
    freeaddrinfo(res);
    return rc;
}
