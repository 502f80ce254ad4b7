/*
 * addr.c — the server-side request forgery guard (see addr.h). Called by ytdlp.c
 * before a download and by the server when a link is submitted.
 *
 * classify() names the kind of a refused address (or NULL when it is public).
 * IPv6 forms that carry an IPv4 address — mapped ::ffff:a.b.c.d, compatible
 * ::a.b.c.d, NAT64 64:ff9b::a.b.c.d and 6to4 2002:AABB:CCDD:: — are judged by the
 * IPv4 address inside them.
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

/* v is in a.b.c.d/bits */
static int in4(uint32_t v, uint32_t net, int bits)
{
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (v & mask) == (net & mask);
}

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static const char *classify4(uint32_t v) /* host byte order */
{
    if (in4(v, IP4(0, 0, 0, 0), 8))
        return "\"this network\"";
    if (in4(v, IP4(127, 0, 0, 0), 8))
        return "loopback";
    if (in4(v, IP4(10, 0, 0, 0), 8) || in4(v, IP4(172, 16, 0, 0), 12) ||
        in4(v, IP4(192, 168, 0, 0), 16))
        return "private";
    if (in4(v, IP4(169, 254, 0, 0), 16))
        return "link-local";
    if (in4(v, IP4(100, 64, 0, 0), 10))
        return "carrier-grade NAT";
    if (in4(v, IP4(198, 18, 0, 0), 15))
        return "benchmarking";
    if (in4(v, IP4(224, 0, 0, 0), 4))
        return "multicast";
    if (in4(v, IP4(240, 0, 0, 0), 4))
        return "reserved";
    return NULL;
}

static uint32_t be32(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static const char *classify6(const uint8_t a[16])
{
    static const uint8_t zero[12];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (memcmp(a, zero, 12) == 0) {
        uint32_t v = be32(a + 12);
        if (v == 0)
            return "unspecified";
        if (v == 1)
            return "loopback";
        return classify4(v); /* IPv4-compatible ::a.b.c.d */
    }
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return classify4(be32(a + 12));
    if (a[0] == 0x20 && a[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 */
        return classify4(be32(a + 2));
    if ((a[0] & 0xfe) == 0xfc)
        return "unique local";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "link-local";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0)
        return "site-local";
    if (a[0] == 0xff)
        return "multicast";
    return NULL;
}

static const char *classify(const struct sockaddr *sa)
{
    if (!sa)
        return "unknown";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        return classify4(ntohl(s4->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        return classify6(s6->sin6_addr.s6_addr);
    }
    return "non-IP"; /* we only ever connect over IP */
}

int tg_addr_is_private(const struct sockaddr *sa)
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
        return tg_fail(ctx, TG_ELIMIT, "refused to connect to %.*s: %s address %s",
                       TG_CUT(host, 200), kind, text);
    return tg_fail(ctx, TG_ELIMIT, "refused to connect to %.*s: it resolves to %s address %s",
                   TG_CUT(host, 200), kind, text);
}

int tg_host_check(tg_ctx *ctx, const char *host, int allow_private)
{
    if (!host || !*host)
        return tg_fail(ctx, TG_EINVAL, "empty host name");
    char buf[256];
    size_t n = strlen(host);
    if (n >= sizeof(buf))
        return tg_fail(ctx, TG_EINVAL, "host name too long");
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
        return tg_fail(ctx, TG_EINVAL, "cannot resolve host %.*s: %s", TG_CUT(host, 200),
                       g ? gai_strerror(g) : "no address");
    }
    int rc = 0;
    for (struct addrinfo *ai = res; ai && !allow_private && rc == 0; ai = ai->ai_next)
        rc = check_one(ctx, host, ai->ai_addr, 0);
    freeaddrinfo(res);
    return rc;
}
