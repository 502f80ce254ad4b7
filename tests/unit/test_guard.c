/* test_guard.c — the egress guard proxy (guard.c) spoken to with raw sockets, an
 * origin and an echo server in the test; then tgi_ytdlp_download behind it with fake
 * yt-dlp scripts and, when it is installed, the real yt-dlp. Everything stays on
 * 127.0.0.1: a refused host is refused before any connection is made, and the only
 * name ever resolved is "localhost" (from /etc/hosts). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "fetch/addr.h"
#include "fetch/guard.h"
#include "fetch/ytdlp.h"
#include "http.h"
#include "util.h"

#define BIG_LEN (1024 * 1024 + 17)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- an origin server (HTTP or echo) on 127.0.0.1, one connection at a time ---- */

typedef struct origin {
    tgt_origin srv; /* accepted: connections */
    int port;
    int echo;         /* echo bytes back instead of answering HTTP */
    const char *file; /* served at /v.mp4 */
    char *big;        /* served at /big */
    atomic_int requests;
    pthread_mutex_t mu;
    char last[8192];  /* the last request head */
    char lines[2048]; /* the request lines seen, one per line */
} origin;

static void origin_http(origin *o, int c)
{
    char req[8192];
    if (tgt_read_head(c, req, sizeof(req), 5000) < 0)
        return;
    atomic_fetch_add(&o->requests, 1);
    pthread_mutex_lock(&o->mu);
    snprintf(o->last, sizeof(o->last), "%s", req);
    size_t ll = strlen(o->lines);
    snprintf(o->lines + ll, sizeof(o->lines) - ll, "%.*s\n", (int)strcspn(req, "\r\n"), req);
    pthread_mutex_unlock(&o->mu);

    char method[16] = "", path[1024] = "";
    sscanf(req, "%15s %1023s", method, path);
    int head = strcmp(method, "HEAD") == 0;
    char hdr[512];
    const char *body = NULL;
    char *file = NULL;
    size_t blen = 0;
    int hl;
    if (strcmp(path, "/big") == 0) {
        body = o->big;
        blen = BIG_LEN;
        hl = snprintf(hdr, sizeof(hdr),
                      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                      "Content-Length: %zu\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
                      "\r\n",
                      blen);
    } else if (strcmp(path, "/r") == 0) {
        hl = snprintf(hdr, sizeof(hdr),
                      "HTTP/1.1 302 Found\r\nLocation: /v.mp4\r\nContent-Length: 0\r\n\r\n");
    } else if (strcmp(path, "/a") == 0) {
        hl = snprintf(hdr, sizeof(hdr),
                      "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/b\r\n"
                      "Content-Length: 0\r\n\r\n",
                      o->port);
    } else if (strcmp(path, "/b") == 0) {
        body = "final";
        blen = 5;
        hl = snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
    } else if (strcmp(path, "/v.mp4") == 0 && o->file &&
               (file = tgt_read_file(o->file, &blen)) != NULL) {
        body = file;
        hl = snprintf(hdr, sizeof(hdr),
                      "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      blen);
    } else {
        body = "not found";
        blen = 9;
        hl = snprintf(hdr, sizeof(hdr), "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\n");
    }
    tgt_send_all(c, hdr, (size_t)hl);
    if (body && !head)
        tgt_send_all(c, body, blen);
    free(file);
}

static void origin_echo(int c)
{
    char buf[16384];
    for (;;) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, 5000) <= 0)
            return;
        ssize_t r = recv(c, buf, sizeof(buf), 0);
        if (r <= 0)
            return;
        tgt_send_all(c, buf, (size_t)r);
    }
}

static void origin_conn(void *user, int c)
{
    origin *o = user;
    if (o->echo)
        origin_echo(c);
    else
        origin_http(o, c);
}

static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fd, 16), 0);
    socklen_t al = sizeof(a);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void origin_start(origin *o, int echo, const char *file)
{
    memset(o, 0, sizeof(*o));
    o->echo = echo;
    o->file = file;
    o->big = malloc(BIG_LEN);
    ck_assert_ptr_nonnull(o->big);
    for (size_t i = 0; i < BIG_LEN; i++)
        o->big[i] = (char)((i * 31 + i / 4099 + 7) & 0xff);
    pthread_mutex_init(&o->mu, NULL);
    tgt_origin_start(&o->srv, origin_conn, o);
    o->port = o->srv.port;
}

static void origin_stop(origin *o)
{
    tgt_origin_stop(&o->srv);
    pthread_mutex_destroy(&o->mu);
    free(o->big);
}

/* A copy of the origin's last request head / request lines (caller frees). */
static char *origin_copy(origin *o, int lines)
{
    pthread_mutex_lock(&o->mu);
    char *s = strdup(lines ? o->lines : o->last);
    pthread_mutex_unlock(&o->mu);
    ck_assert_ptr_nonnull(s);
    return s;
}

/* ---- a client ---- */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Everything until the peer closes (NUL-terminated, malloc'd); fails the test after
 * 10 s without a byte. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *b = malloc(cap + 1);
    ck_assert_ptr_nonnull(b);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        ck_assert_msg(poll(&p, 1, 10000) == 1, "no answer within 10 s");
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
            ck_assert_ptr_nonnull(b);
        }
        ssize_t r = recv(fd, b + n, cap - n, 0);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

/* Send a request through the guard on port and read the whole answer. */
static char *ask(int port, const char *req, size_t *len)
{
    int fd = dial(port);
    tgt_send_all(fd, req, strlen(req));
    char *r = read_all(fd, len);
    close(fd);
    return r;
}

static int status_of(const char *resp)
{
    int st = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
        return -1;
    return st;
}

static int ask_status(int port, const char *req)
{
    size_t n;
    char *r = ask(port, req, &n);
    int st = status_of(r);
    free(r);
    return st;
}

/* The header block of a response, NUL-terminated in place; the body after it. */
static char *split_head(char *resp, size_t len, size_t *blen)
{
    char *e = strstr(resp, "\r\n\r\n");
    ck_assert_ptr_nonnull(e);
    e[2] = '\0';
    *blen = len - (size_t)(e + 4 - resp);
    return e + 4;
}

static int has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++)
        if (strncasecmp(s, w, n) == 0)
            return 1;
    return 0;
}

/* ---- refused ---- */

START_TEST(guard_refuses_private_addresses)
{
    origin o;
    origin_start(&o, 0, NULL);
    tg_ctx *ctx = tg_ctx_new();
    tgi_guard *g = NULL;
    ck_assert_int_eq(tgi_guard_start(ctx, 0, &g), 0);
    int gp = tgi_guard_port(g);
    ck_assert_int_gt(gp, 0);
    char why[512], req[512];
    tgi_guard_refusal(g, why, sizeof(why));
    ck_assert_str_eq(why, "");

    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/x HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
             o.port, o.port);
    size_t n;
    char *resp = ask(gp, req, &n);
    ck_assert_msg(status_of(resp) == 403, "answer: %s", resp);
    ck_assert_ptr_nonnull(strstr(resp, "127.0.0.1"));
    free(resp);
    tgi_guard_refusal(g, why, sizeof(why));
    ck_assert_str_eq(why, "refused to connect to 127.0.0.1: loopback address 127.0.0.1");
    ck_assert_uint_eq(tgi_guard_refused(g), 1);

    /* every spelling of a private address, both kinds of request */
    const char *forms[] = {
        "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n",
        "CONNECT localhost:80 HTTP/1.1\r\n\r\n",
        "GET http://[::1]/ HTTP/1.1\r\nHost: [::1]\r\n\r\n",
        "GET http://LOCALHOST:%d/x HTTP/1.1\r\n\r\n",
        "GET http://2130706433:%d/ HTTP/1.1\r\n\r\n",
        "GET http://0x7f000001:%d/ HTTP/1.1\r\n\r\n",
        "GET http://127.1:%d/ HTTP/1.1\r\n\r\n",
        "GET http://0.0.0.0:%d/ HTTP/1.1\r\n\r\n",
        "CONNECT [::ffff:127.0.0.1]:%d HTTP/1.1\r\n\r\n",
        "HEAD http://10.0.0.1/ HTTP/1.0\r\n\r\n",
        "GET http://192.168.1.1/ HTTP/1.1\r\n\r\n",
        "CONNECT [fe80::1]:443 HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        snprintf(req, sizeof(req), forms[i], o.port);
        int st = ask_status(gp, req);
        ck_assert_msg(st == 403, "%s: %d", req, st);
    }
    /* the metadata address: refused at once, without trying to connect */
    double t0 = now_s();
    ck_assert_int_eq(ask_status(gp, "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n"
                                    "Host: 169.254.169.254\r\n\r\n"),
                     403);
    ck_assert_msg(now_s() - t0 < 1.0, "took %.2f s", now_s() - t0);
    ck_assert_uint_eq(tgi_guard_refused(g), 2 + sizeof(forms) / sizeof(forms[0]));
    tgi_guard_refusal(g, why, sizeof(why));
    ck_assert_ptr_nonnull(strstr(why, "127.0.0.1")); /* still the first one */

    /* not proxy requests, or malformed: 400 (and not refusals) */
    const char *bad[] = {
        "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "GET https://127.0.0.1/ HTTP/1.1\r\n\r\n",
        "GET http://user@127.0.0.1:%d/ HTTP/1.1\r\n\r\n",
        "CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n",
        "GET http://127.0.0.1:99999/ HTTP/1.1\r\n\r\n",
        "GET http://127.0.0.1:0/ HTTP/1.1\r\n\r\n",
        "GET http://127.0.0.1:/ HTTP/1.1\r\n\r\n",
        "get http://127.0.0.1/ HTTP/1.1\r\n\r\n",
        "GET http://a%%2fb/ HTTP/1.1\r\n\r\n",
        "GET http://[::1/ HTTP/1.1\r\n\r\n",
        "GET http:/// HTTP/1.1\r\n\r\n",
        "GET http://127.0.0.1/ HTTP/2.0\r\n\r\n",
        "GET http://127.0.0.1/  HTTP/1.1\r\n\r\n",
        "GET http://127.0.0.1:%d/b HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
        "GET http://127.0.0.1:%d/b HTTP/1.1\r\nno colon\r\n\r\n",
        "\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(req, sizeof(req), bad[i], o.port);
        int st = ask_status(gp, req);
        ck_assert_msg(st == 400, "%s: %d", req, st);
    }
    /* a head that never ends */
    char *huge = malloc(20000);
    ck_assert_ptr_nonnull(huge);
    memset(huge, 'a', 19999);
    huge[19999] = '\0';
    memcpy(huge, "GET http://example.com/ HTTP/1.1\r\nX: ", 37);
    ck_assert_int_eq(ask_status(gp, huge), 431);
    free(huge);
    ck_assert_uint_eq(tgi_guard_refused(g), 2 + sizeof(forms) / sizeof(forms[0]));
    ck_assert_int_eq(atomic_load(&o.srv.accepted), 0);
    tgi_guard_stop(&g);
    ck_assert_ptr_null(g);
    tgi_guard_stop(&g); /* NULL is fine */

    /* a fresh guard names the kind of the first refusal */
    ck_assert_int_eq(tgi_guard_start(ctx, 0, &g), 0);
    ck_assert_int_eq(ask_status(tgi_guard_port(g), "GET http://169.254.169.254/ HTTP/1.1\r\n\r\n"),
                     403);
    tgi_guard_refusal(g, why, sizeof(why));
    ck_assert_str_eq(why, "refused to connect to 169.254.169.254: link-local address "
                          "169.254.169.254");
    ck_assert_int_eq(ask_status(tgi_guard_port(g), "CONNECT localhost:443 HTTP/1.1\r\n\r\n"), 403);
    tgi_guard_stop(&g);
    ck_assert_int_eq(tgi_guard_start(ctx, 0, &g), 0);
    ck_assert_int_eq(ask_status(tgi_guard_port(g), "CONNECT localhost:443 HTTP/1.1\r\n\r\n"), 403);
    tgi_guard_refusal(g, why, sizeof(why));
    ck_assert_str_eq(why, "refused to connect to localhost: it resolves to loopback address "
                          "127.0.0.1");
    tgi_guard_stop(&g);

    ck_assert_int_eq(atomic_load(&o.srv.accepted), 0);
    origin_stop(&o);
    tg_ctx_free(&ctx);
}
END_TEST

/* ---- the IANA special-purpose registries, entry by entry ---- */

typedef struct registry_row {
    const char *block; /* the registry entry (or, marked *, a block outside it) */
    const char *probe; /* an address in it */
    int refused;       /* the entry is not globally reachable (or decided by the IPv4 inside) */
} registry_row;

/* One row per entry of the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (iana-ipv4-special-registry, iana-ipv6-special-registry), then the translation
 * prefixes judged by the IPv4 address they carry, and blocks outside the registries
 * (marked *). Globally reachable entries are allowed. */
static const registry_row registry[] = {
    /* IPv4 */
    {"0.0.0.0/8 this network", "0.1.2.3", 1},
    {"0.0.0.0/32 this host on this network", "0.0.0.0", 1},
    {"10.0.0.0/8 private-use", "10.20.30.40", 1},
    {"100.64.0.0/10 shared address space", "100.127.255.254", 1},
    {"127.0.0.0/8 loopback", "127.0.0.1", 1},
    {"169.254.0.0/16 link local", "169.254.169.254", 1},
    {"172.16.0.0/12 private-use", "172.31.0.1", 1},
    {"192.0.0.0/24 IETF protocol assignments", "192.0.0.1", 1},
    {"192.0.0.0/29 IPv4 service continuity prefix", "192.0.0.7", 1},
    {"192.0.0.8/32 IPv4 dummy address", "192.0.0.8", 1},
    {"192.0.0.9/32 port control protocol anycast", "192.0.0.9", 0},
    {"192.0.0.10/32 TURN anycast", "192.0.0.10", 0},
    {"192.0.0.170/32 NAT64/DNS64 discovery", "192.0.0.170", 1},
    {"192.0.0.171/32 NAT64/DNS64 discovery", "192.0.0.171", 1},
    {"192.0.2.0/24 documentation (TEST-NET-1)", "192.0.2.55", 1},
    {"192.31.196.0/24 AS112-v4", "192.31.196.1", 0},
    {"192.52.193.0/24 AMT", "192.52.193.1", 0},
    {"192.88.99.0/24 deprecated 6to4 relay anycast", "192.88.99.1", 1},
    {"192.168.0.0/16 private-use", "192.168.255.255", 1},
    {"192.175.48.0/24 direct delegation AS112 service", "192.175.48.1", 0},
    {"198.18.0.0/15 benchmarking", "198.19.0.1", 1},
    {"198.51.100.0/24 documentation (TEST-NET-2)", "198.51.100.7", 1},
    {"203.0.113.0/24 documentation (TEST-NET-3)", "203.0.113.200", 1},
    {"240.0.0.0/4 reserved", "250.1.2.3", 1},
    {"255.255.255.255/32 limited broadcast", "255.255.255.255", 1},
    {"* 224.0.0.0/4 multicast", "239.1.2.3", 1},
    {"* 192.0.0.0/24 past its last entry", "192.0.0.11", 1},
    {"* public", "8.8.8.8", 0},
    /* IPv6 */
    {"::1/128 loopback", "::1", 1},
    {"::/128 unspecified", "::", 1},
    {"::ffff:0:0/96 IPv4-mapped (127.0.0.1)", "::ffff:127.0.0.1", 1},
    {"::ffff:0:0/96 IPv4-mapped (8.8.8.8)", "::ffff:8.8.8.8", 0},
    {"64:ff9b::/96 IPv4-IPv6 translation (127.0.0.1)", "64:ff9b::127.0.0.1", 1},
    {"64:ff9b::/96 IPv4-IPv6 translation (192.0.0.1)", "64:ff9b::192.0.0.1", 1},
    {"64:ff9b::/96 IPv4-IPv6 translation (8.8.8.8)", "64:ff9b::8.8.8.8", 0},
    {"64:ff9b:1::/48 local-use IPv4-IPv6 translation (127.0.0.1)", "64:ff9b:1::127.0.0.1", 1},
    {"64:ff9b:1::/48 local-use IPv4-IPv6 translation (8.8.8.8)", "64:ff9b:1::8.8.8.8", 1},
    {"100::/64 discard-only", "100::1", 1},
    {"100:0:0:1::/64 dummy IPv6 prefix", "100:0:0:1::1", 1},
    {"2001::/23 IETF protocol assignments", "2001:1ff::1", 1},
    {"2001::/32 Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", 1},
    {"2001:1::1/128 port control protocol anycast", "2001:1::1", 0},
    {"2001:1::2/128 TURN anycast", "2001:1::2", 0},
    {"2001:1::3/128 DNS-SD service registration anycast", "2001:1::3", 0},
    {"2001:2::/48 benchmarking", "2001:2::1", 1},
    {"2001:3::/32 AMT", "2001:3::1", 0},
    {"2001:4:112::/48 AS112-v6", "2001:4:112::1", 0},
    {"2001:10::/28 deprecated ORCHID", "2001:1f::1", 1},
    {"2001:20::/28 ORCHIDv2", "2001:20::1", 0},
    {"2001:30::/28 drone remote ID entity tags", "2001:3f::1", 0},
    {"2001:db8::/32 documentation", "2001:db8::1", 1},
    {"2002::/16 6to4 (127.0.0.1)", "2002:7f00:1::1", 1},
    {"2002::/16 6to4 (8.8.8.8)", "2002:808:808::1", 0},
    {"2620:4f:8000::/48 direct delegation AS112 service", "2620:4f:8000::1", 0},
    {"3fff::/20 documentation", "3fff:fff::1", 1},
    {"5f00::/16 segment routing SIDs", "5f00::1", 1},
    {"fc00::/7 unique-local", "fd12:3456::1", 1},
    {"fe80::/10 link-local unicast", "fe80::1", 1},
    {"* ::ffff:0:0:0/96 IPv4-translated (127.0.0.1)", "::ffff:0:127.0.0.1", 1},
    {"* ::ffff:0:0:0/96 IPv4-translated (8.8.8.8)", "::ffff:0:8.8.8.8", 0},
    {"* ::/96 IPv4-compatible (10.0.0.1)", "::10.0.0.1", 1},
    {"* 2001::/23 past the anycast entries", "2001:1::4", 1},
    {"* fec0::/10 deprecated site-local", "fec0::1", 1},
    {"* ff00::/8 multicast", "ff02::1", 1},
    {"* public", "2606:4700:4700::1111", 0},
};

START_TEST(guard_special_purpose_registries)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_guard *g = NULL;
    ck_assert_int_eq(tgi_guard_start(ctx, 0, &g), 0);
    size_t refused = 0;
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
        const registry_row *r = &registry[i];
        int rc = tgi_host_check(ctx, r->probe, 0);
        ck_assert_msg(rc == (r->refused ? TG_ELIMIT : 0), "%s: %s gives %d (%s), want %s", r->block,
                      r->probe, rc, tg_ctx_message(ctx), r->refused ? "refused" : "allowed");
        /* the same through the socket-address form the guard uses on every connection */
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, r->probe, &s4->sin_addr) == 1)
            s4->sin_family = AF_INET;
        else if (inet_pton(AF_INET6, r->probe, &s6->sin6_addr) == 1)
            s6->sin6_family = AF_INET6;
        else
            ck_abort_msg("%s: %s is not an address", r->block, r->probe);
        ck_assert_msg(tgi_addr_is_private((struct sockaddr *)&ss) == r->refused, "%s: %s", r->block,
                      r->probe);
        /* refused ones are refused by the running guard too (it never connects) */
        if (r->refused) {
            char req[256];
            snprintf(req, sizeof(req),
                     strchr(r->probe, ':') ? "CONNECT [%s]:443 HTTP/1.1\r\n\r\n"
                                           : "CONNECT %s:443 HTTP/1.1\r\n\r\n",
                     r->probe);
            int st = ask_status(tgi_guard_port(g), req);
            ck_assert_msg(st == 403, "%s: the guard answers %d for %s", r->block, st, r->probe);
            refused++;
        }
    }
    ck_assert_uint_eq(tgi_guard_refused(g), refused);
    /* the three of issue 12, with the kind named */
    ck_assert_int_eq(tgi_host_check(ctx, "[::ffff:0:127.0.0.1]", 0), TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "loopback"));
    ck_assert_int_eq(tgi_host_check(ctx, "[64:ff9b:1::127.0.0.1]", 0), TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "local-use NAT64"));
    ck_assert_int_eq(tgi_host_check(ctx, "192.0.0.1", 0), TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "IETF protocol assignment"));
    tgi_guard_stop(&g);
    tg_ctx_free(&ctx);
}
END_TEST

/* ---- forwarded ---- */

START_TEST(guard_forwards_http)
{
    origin o;
    origin_start(&o, 0, NULL);
    tg_ctx *ctx = tg_ctx_new();
    tgi_guard *g = NULL;
    ck_assert_int_eq(tgi_guard_start(ctx, 1, &g), 0);
    int gp = tgi_guard_port(g);
    char req[1024];

    /* 1 MB, byte for byte; hop-by-hop headers replaced both ways */
    snprintf(req, sizeof(req),
             "GET http://127.0.0.1:%d/big HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eDp5\r\n"
             "Connection: keep-alive\r\nX-Test: 1\r\nUser-Agent: test\r\n\r\n",
             o.port, o.port);
    size_t n, blen;
    char *resp = ask(gp, req, &n);
    ck_assert_msg(status_of(resp) == 200, "answer: %.300s", resp);
    char *body = split_head(resp, n, &blen);
    ck_assert_uint_eq(blen, BIG_LEN);
    ck_assert_mem_eq(body, o.big, BIG_LEN);
    ck_assert_msg(strstr(resp, "\r\nConnection: close\r\n"), "head: %s", resp);
    ck_assert_msg(!has_word(resp, "keep-alive"), "head: %s", resp);
    ck_assert_ptr_nonnull(strstr(resp, "Content-Length: 1048593\r\n"));
    free(resp);
    char *seen = origin_copy(&o, 0);
    ck_assert_msg(strncmp(seen, "GET /big HTTP/1.1\r\n", 19) == 0, "origin saw: %s", seen);
    ck_assert_msg(strstr(seen, "\r\nX-Test: 1\r\n") && strstr(seen, "\r\nConnection: close\r\n") &&
                      strstr(seen, "\r\nHost: 127.0.0.1:") && !has_word(seen, "proxy-") &&
                      !has_word(seen, "keep-alive"),
                  "origin saw: %s", seen);
    free(seen);

    /* HEAD: the head only */
    snprintf(req, sizeof(req), "HEAD http://127.0.0.1:%d/big HTTP/1.1\r\nHost: x\r\n\r\n", o.port);
    resp = ask(gp, req, &n);
    ck_assert_int_eq(status_of(resp), 200);
    split_head(resp, n, &blen);
    ck_assert_uint_eq(blen, 0);
    free(resp);

    /* origin form: "/" added before a query, the fragment dropped, Host added */
    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d?q=1 HTTP/1.0\r\n\r\n", o.port);
    ck_assert_int_eq(ask_status(gp, req), 404);
    seen = origin_copy(&o, 0);
    char want[128];
    snprintf(want, sizeof(want), "GET /?q=1 HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n", o.port);
    ck_assert_msg(strncmp(seen, want, strlen(want)) == 0, "origin saw: %s", seen);
    free(seen);
    snprintf(req, sizeof(req), "GET http://localhost:%d/b#frag HTTP/1.1\r\nHost: h\r\n\r\n",
             o.port);
    resp = ask(gp, req, &n);
    ck_assert_int_eq(status_of(resp), 200);
    ck_assert_str_eq(split_head(resp, n, &blen), "final");
    free(resp);
    seen = origin_copy(&o, 0);
    ck_assert_msg(strncmp(seen, "GET /b HTTP/1.1\r\nHost: h\r\n", 26) == 0, "origin saw: %s", seen);
    free(seen);

    /* a folded header line is refused; a closed port is a 502 */
    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/b HTTP/1.1\r\nX: a\r\n b\r\n\r\n", o.port);
    ck_assert_int_eq(ask_status(gp, req), 400);
    int closed_port;
    close(listen_local(&closed_port));
    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/ HTTP/1.1\r\n\r\n", closed_port);
    ck_assert_int_eq(ask_status(gp, req), 502);
    snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n", closed_port);
    ck_assert_int_eq(ask_status(gp, req), 502);

    char why[64];
    tgi_guard_refusal(g, why, sizeof(why));
    ck_assert_str_eq(why, "");
    ck_assert_uint_eq(tgi_guard_refused(g), 0);
    tgi_guard_stop(&g);
    origin_stop(&o);
    tg_ctx_free(&ctx);
}
END_TEST

/* Read exactly n bytes (10 s limit). */
static void read_n(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        ck_assert_msg(poll(&p, 1, 10000) == 1, "stalled after %zu of %zu bytes", got, n);
        ssize_t r = recv(fd, buf + got, n - got, 0);
        ck_assert_msg(r > 0, "closed after %zu of %zu bytes", got, n);
        got += (size_t)r;
    }
}

START_TEST(guard_tunnels_connect)
{
    origin e;
    origin_start(&e, 1, NULL);
    tg_ctx *ctx = tg_ctx_new();
    tgi_guard *g = NULL;
    ck_assert_int_eq(tgi_guard_start(ctx, 1, &g), 0);
    int fd = dial(tgi_guard_port(g));
    char req[256];
    /* early bytes in the same packet as the head go through too */
    int rl = snprintf(req, sizeof(req),
                      "CONNECT 127.0.0.1:%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\nearly", e.port,
                      e.port);
    tgt_send_all(fd, req, (size_t)rl);
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    char head[sizeof(ok) + 5];
    read_n(fd, head, sizeof(ok) - 1 + 5);
    ck_assert_mem_eq(head, ok, sizeof(ok) - 1);
    ck_assert_mem_eq(head + sizeof(ok) - 1, "early", 5);

    /* no HTTP rewriting inside a tunnel */
    static const char fake[] = "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n";
    char back[256];
    tgt_send_all(fd, fake, sizeof(fake) - 1);
    read_n(fd, back, sizeof(fake) - 1);
    ck_assert_mem_eq(back, fake, sizeof(fake) - 1);

    /* 1 MB both ways, in chunks */
    size_t total = 1024 * 1024, chunk = 32768;
    char *out = malloc(total), *in = malloc(total);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(in);
    for (size_t i = 0; i < total; i++)
        out[i] = (char)((i * 131 + 11) & 0xff);
    for (size_t at = 0; at < total; at += chunk) {
        tgt_send_all(fd, out + at, chunk);
        read_n(fd, in + at, chunk);
    }
    ck_assert_mem_eq(in, out, total);
    free(out);
    free(in);
    /* the client ends: the echo server sees the end, closes, and so does the guard */
    shutdown(fd, SHUT_WR);
    size_t n;
    char *rest = read_all(fd, &n);
    ck_assert_uint_eq(n, 0);
    free(rest);
    close(fd);
    ck_assert_int_eq(atomic_load(&e.srv.accepted), 1);
    tgi_guard_stop(&g);
    origin_stop(&e);
    tg_ctx_free(&ctx);
}
END_TEST

/* The value of the Location header (malloc'd). */
static char *location(const char *resp)
{
    const char *l = strstr(resp, "\r\nLocation: ");
    ck_assert_ptr_nonnull(l);
    l += 12;
    return strndup(l, strcspn(l, "\r\n"));
}

START_TEST(guard_redirect_chain)
{
    origin o;
    origin_start(&o, 0, NULL);
    tg_ctx *ctx = tg_ctx_new();
    tgi_guard *g = NULL, *strict = NULL;
    ck_assert_int_eq(tgi_guard_start(ctx, 1, &g), 0);
    ck_assert_int_eq(tgi_guard_start(ctx, 0, &strict), 0);
    ck_assert_int_ne(tgi_guard_port(g), tgi_guard_port(strict));
    char req[512];
    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/a HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n",
             o.port, o.port);
    size_t n;
    char *resp = ask(tgi_guard_port(g), req, &n);
    ck_assert_int_eq(status_of(resp), 302);
    char *loc = location(resp);
    free(resp);
    char want[64];
    snprintf(want, sizeof(want), "http://127.0.0.1:%d/b", o.port);
    ck_assert_str_eq(loc, want);

    /* follow it through the guard: every hop is a request of its own */
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", loc, o.port);
    resp = ask(tgi_guard_port(g), req, &n);
    size_t blen;
    ck_assert_int_eq(status_of(resp), 200);
    ck_assert_str_eq(split_head(resp, n, &blen), "final");
    free(resp);
    char *lines = origin_copy(&o, 1);
    ck_assert_str_eq(lines, "GET /a HTTP/1.1\nGET /b HTTP/1.1\n");
    free(lines);

    /* the same hop through a strict guard: refused, and the origin sees nothing more */
    int before = atomic_load(&o.srv.accepted);
    ck_assert_int_eq(ask_status(tgi_guard_port(strict), req), 403);
    char why[512];
    tgi_guard_refusal(strict, why, sizeof(why));
    ck_assert_ptr_nonnull(strstr(why, "127.0.0.1"));
    ck_assert_int_eq(atomic_load(&o.srv.accepted), before);
    free(loc);
    tgi_guard_stop(&g);
    tgi_guard_stop(&strict);
    origin_stop(&o);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(guard_bounded_and_stops)
{
    origin o;
    origin_start(&o, 0, NULL);
    tg_ctx *ctx = tg_ctx_new();
    tgi_guard *g = NULL;
    ck_assert_int_eq(tgi_guard_start(ctx, 1, &g), 0);
    int gp = tgi_guard_port(g);
    /* 16 clients that say nothing take every slot */
    int idle[16];
    for (int i = 0; i < 16; i++)
        idle[i] = dial(gp);
    usleep(300 * 1000);
    int fd = dial(gp); /* the 17th waits in the listen queue */
    char req[256];
    snprintf(req, sizeof(req), "GET http://127.0.0.1:%d/b HTTP/1.1\r\n\r\n", o.port);
    tgt_send_all(fd, req, strlen(req));
    struct pollfd p = {fd, POLLIN, 0};
    ck_assert_int_eq(poll(&p, 1, 500), 0);
    ck_assert_int_eq(atomic_load(&o.srv.accepted), 0);
    close(idle[0]); /* a slot frees: the 17th is served */
    size_t n;
    char *resp = read_all(fd, &n);
    ck_assert_int_eq(status_of(resp), 200);
    free(resp);
    close(fd);

    /* stopping closes the waiting clients promptly and frees everything */
    double t0 = now_s();
    tgi_guard_stop(&g);
    ck_assert_msg(now_s() - t0 < 2.0, "stop took %.2f s", now_s() - t0);
    for (int i = 1; i < 16; i++) {
        char b;
        struct pollfd q = {idle[i], POLLIN, 0};
        ck_assert_int_eq(poll(&q, 1, 2000), 1);
        ck_assert_int_le(recv(idle[i], &b, 1, 0), 0);
        close(idle[i]);
    }
    /* and nothing listens on the port any more */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)gp);
    ck_assert_int_ne(connect(s, (struct sockaddr *)&a, sizeof(a)), 0);
    close(s);

    /* stopped while a tunnel is open */
    origin e;
    origin_start(&e, 1, NULL);
    ck_assert_int_eq(tgi_guard_start(ctx, 1, &g), 0);
    fd = dial(tgi_guard_port(g));
    int rl = snprintf(req, sizeof(req), "CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n", e.port);
    tgt_send_all(fd, req, (size_t)rl);
    char head[64];
    read_n(fd, head, 39);
    ck_assert_int_eq(strncmp(head, "HTTP/1.1 200", 12), 0);
    t0 = now_s();
    tgi_guard_stop(&g);
    ck_assert_msg(now_s() - t0 < 2.0, "stop took %.2f s", now_s() - t0);
    resp = read_all(fd, &n);
    ck_assert_uint_eq(n, 0);
    free(resp);
    close(fd);
    origin_stop(&e);
    origin_stop(&o);

    ck_assert_int_eq(tgi_guard_start(ctx, 0, NULL), TG_EINVAL);
    ck_assert_int_eq(tgi_guard_port(NULL), 0);
    ck_assert_uint_eq(tgi_guard_refused(NULL), 0);
    tg_ctx_free(&ctx);
}
END_TEST

/* ---- behind tgi_ytdlp_download ---- */

/* The path of a program in PATH (malloc'd), or NULL. */
static char *find_prog(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    char *copy = strdup(path), *save = NULL, *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", d, name);
        if (access(p, X_OK) == 0)
            found = strdup(p);
    }
    free(copy);
    return found;
}

typedef struct fake {
    char *dir, *script, *args, *env, *status;
    tg_ctx *ctx;
    tgi_ytdlp_opts o;
} fake;

/* A scratch folder and a fake yt-dlp that records its arguments in $ARGS and its
 * environment in $ENVF, finds $OUTDIR and $proxy in its arguments, then runs body
 * (which may write to $STATUS). */
static void fake_make(fake *f, const char *body)
{
    f->dir = tgt_tmp_path(".d");
    ck_assert_int_eq(mkdir(f->dir, 0755), 0);
    f->script = tgt_tmp_path(".sh");
    f->args = tgt_tmp_path(".args");
    f->env = tgt_tmp_path(".env");
    f->status = tgt_tmp_path(".status");
    f->ctx = tg_ctx_new();
    FILE *fp = fopen(f->script, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp,
            "#!/bin/sh\n"
            "ARGS='%s'; ENVF='%s'; STATUS='%s'\n"
            "prev=; for a in \"$@\"; do [ \"$prev\" = -o ] && o=\"$a\"; "
            "[ \"$prev\" = --proxy ] && proxy=\"$a\"; prev=\"$a\"; done\n"
            "OUTDIR=$(dirname \"$o\")\n"
            "for a in \"$@\"; do printf '%%s\\n' \"$a\"; done > \"$ARGS\"\n"
            "env > \"$ENVF\"\n"
            "%s\n",
            f->args, f->env, f->status, body);
    fclose(fp);
    ck_assert_int_eq(chmod(f->script, 0755), 0);
    memset(&f->o, 0, sizeof(f->o));
    f->o.binary = f->script;
    f->o.out_dir = f->dir;
    f->o.out_name = "job1";
    f->o.max_bytes = 10 * 1024 * 1024;
    f->o.max_seconds = 600;
    f->o.timeout_s = 30;
}

static void fake_free(fake *f)
{
    char *argv[] = {(char *)"/bin/rm", (char *)"-rf", f->dir, NULL};
    tgt_run r;
    tgt_run_cmd(&r, argv);
    tgt_run_free(&r);
    unlink(f->script);
    unlink(f->args);
    unlink(f->env);
    unlink(f->status);
    free(f->dir);
    free(f->script);
    free(f->args);
    free(f->env);
    free(f->status);
    tg_ctx_free(&f->ctx);
}

/* The port of "--proxy http://127.0.0.1:PORT" in the recorded arguments, or 0. */
static int proxy_port(const char *args)
{
    const char *p = strstr(args, "\n--proxy\nhttp://127.0.0.1:");
    return p ? (int)strtol(p + 26, NULL, 10) : 0;
}

static int port_open(int port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

START_TEST(ytdlp_runs_behind_the_guard)
{
    origin o;
    origin_start(&o, 0, NULL);
    char *curl = find_prog("curl");
    if (!curl)
        fprintf(stderr, "ytdlp_runs_behind_the_guard: curl not installed, requests skipped\n");
    /* variables that would send yt-dlp (or ffmpeg) around the proxy */
    setenv("no_proxy", "*", 1);
    setenv("HTTPS_PROXY", "http://192.0.2.1:3128", 1);

    /* the fake asks the guard for a private address, then reports yt-dlp's 403 error */
    char req[512], body[2048];
    snprintf(req, sizeof(req),
             "'%s' -q -s -o /dev/null -w '%%{http_code}' -x \"$proxy\" http://127.0.0.1:%d/secret "
             "> \"$STATUS\"",
             curl ? curl : "false", o.port);
    snprintf(body, sizeof(body),
             "%s\n"
             "echo 'ERROR: [generic] None: Unable to download webpage: HTTP Error 403: Forbidden' "
             ">&2; exit 1",
             curl ? req : "true");
    fake f;
    fake_make(&f, body);
    f.o.allow_private = 0;
    char *path = NULL;
    /* a public literal (AS112, globally reachable; not documentation space, which is
     * refused) passes the first check without DNS; the fake never goes there */
    int rc = tgi_ytdlp_download(f.ctx, &f.o, "http://192.31.196.10/v.mp4", &path);
    const char *msg = tg_ctx_message(f.ctx);
    if (curl) {
        ck_assert_msg(rc == TG_EREFUSED, "rc %d (%s)", rc, msg);
        ck_assert_msg(strstr(msg, "refused to connect to 127.0.0.1: loopback address 127.0.0.1"),
                      "message: %s", msg);
        char *st = tgt_read_file(f.status, NULL);
        ck_assert_ptr_nonnull(st);
        ck_assert_str_eq(st, "403");
        free(st);
    } else {
        ck_assert_msg(rc == TG_EIO, "rc %d (%s)", rc, msg);
    }
    ck_assert_ptr_null(path);
    char *args = tgt_read_file(f.args, NULL), *env = tgt_read_file(f.env, NULL);
    ck_assert_ptr_nonnull(args);
    ck_assert_ptr_nonnull(env);
    int port = proxy_port(args);
    ck_assert_msg(port > 0 && port != o.port, "arguments:\n%s", args);
    char want[128];
    snprintf(want, sizeof(want), "\n--proxy\nhttp://127.0.0.1:%d\n--\nhttp://192.31.196.10/v.mp4\n",
             port);
    ck_assert_msg(strstr(args, want), "arguments:\n%s", args);
    snprintf(want, sizeof(want), "http_proxy=http://127.0.0.1:%d\n", port);
    ck_assert_msg(strstr(env, want), "environment:\n%s", env);
    snprintf(want, sizeof(want), "https_proxy=http://127.0.0.1:%d\n", port);
    ck_assert_msg(strstr(env, want), "environment:\n%s", env);
    ck_assert_msg(!strstr(env, "no_proxy=") && !strstr(env, "HTTPS_PROXY="), "environment:\n%s",
                  env);
    ck_assert_ptr_nonnull(strstr(env, "PATH="));
    free(args);
    free(env);
    ck_assert_msg(!port_open(port), "the guard still listens after the download");
    fake_free(&f);

    /* a refusal wins even over a "successful" download, whose file is removed */
    if (curl) {
        snprintf(body, sizeof(body),
                 "%s\nprintf data > \"$OUTDIR/job1.mp4\"\necho \"$OUTDIR/job1.mp4\"", req);
        fake_make(&f, body);
        f.o.allow_private = 0;
        rc = tgi_ytdlp_download(f.ctx, &f.o, "http://192.31.196.10/v.mp4", &path);
        ck_assert_msg(rc == TG_EREFUSED, "rc %d (%s)", rc, tg_ctx_message(f.ctx));
        ck_assert_ptr_null(path);
        char file[1100];
        snprintf(file, sizeof(file), "%s/job1.mp4", f.dir);
        ck_assert_int_eq(tgt_file_exists(file), 0);
        fake_free(&f);
    }

    /* private addresses allowed: no guard, the environment as it is */
    fake_make(&f, "exit 1");
    f.o.allow_private = 1;
    ck_assert_int_eq(tgi_ytdlp_download(f.ctx, &f.o, "http://127.0.0.1:1/v.mp4", &path), TG_EIO);
    args = tgt_read_file(f.args, NULL);
    env = tgt_read_file(f.env, NULL);
    ck_assert_ptr_nonnull(args);
    ck_assert_ptr_nonnull(env);
    ck_assert_msg(!strstr(args, "--proxy"), "arguments:\n%s", args);
    ck_assert_ptr_nonnull(strstr(env, "no_proxy=*\n"));
    free(args);
    free(env);
    fake_free(&f);

    unsetenv("no_proxy");
    unsetenv("HTTPS_PROXY");
    free(curl);
    ck_assert_int_eq(atomic_load(&o.srv.accepted), 0);
    origin_stop(&o);
}
END_TEST

/* Run the real yt-dlp on url through the guard g, saving to DIR/NAME.EXT; *run holds
 * its exit status and output (the caller frees it). */
static void ytdlp_via(char *ytdlp, tgi_guard *g, const char *dir, const char *name, char *url,
                      tgt_run *run)
{
    char proxy[64], out[1100];
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", tgi_guard_port(g));
    snprintf(out, sizeof(out), "%s/%s.%%(ext)s", dir, name);
    char *argv[] = {ytdlp,
                    (char *)"--ignore-config",
                    (char *)"--no-playlist",
                    (char *)"--proxy",
                    proxy,
                    (char *)"--no-part",
                    (char *)"-o",
                    out,
                    (char *)"--",
                    url,
                    NULL};
    ck_assert_int_eq(tgt_run_cmd(run, argv), 0);
}

START_TEST(ytdlp_real_redirect_refused)
{
    char *ytdlp = find_prog("yt-dlp");
    if (!ytdlp) {
        fprintf(stderr, "ytdlp_real_redirect_refused: yt-dlp not installed, skipped\n");
        return;
    }
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    const char *fixture = tgt_fixture("short.mp4");
    ck_assert_msg(tgt_file_exists(fixture), "no fixture %s", fixture);
    origin o;
    origin_start(&o, 0, fixture);
    fake f;
    fake_make(&f, "exit 1"); /* only for the folder and the context */
    f.o.binary = NULL;       /* "yt-dlp" from PATH */
    f.o.timeout_s = 120;
    f.o.allow_private = 0;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/r", o.port);

    /* the real yt-dlp behind a guard that refuses private addresses, as
     * tgi_ytdlp_download runs it for a public link that leads here (the mapping of the
     * refusal to TG_EREFUSED: ytdlp_runs_behind_the_guard): its first request is
     * refused, the origin sees nothing */
    tgi_guard *deny = NULL;
    ck_assert_int_eq(tgi_guard_start(f.ctx, 0, &deny), 0);
    tgt_run denied;
    ytdlp_via(ytdlp, deny, f.dir, "denied", url, &denied);
    ck_assert_msg(denied.status != 0, "yt-dlp got through a refusing guard: %s", denied.out);
    tgt_run_free(&denied);
    ck_assert_uint_ge(tgi_guard_refused(deny), 1);
    char why[512];
    tgi_guard_refusal(deny, why, sizeof(why));
    ck_assert_msg(strstr(why, "127.0.0.1"), "refusal: %s", why);
    tgi_guard_stop(&deny);
    ck_assert_int_eq(atomic_load(&o.srv.accepted), 0);
    char *path = NULL;
    /* with the check first, yt-dlp does not even run */
    ck_assert_int_eq(tgi_ytdlp_download(f.ctx, &f.o, url, &path), TG_ELIMIT);
    ck_assert_int_eq(atomic_load(&o.srv.accepted), 0);

    /* the real yt-dlp through a guard that allows the origin: the redirect is
     * followed, each request in origin form */
    tgi_guard *g = NULL;
    ck_assert_int_eq(tgi_guard_start(f.ctx, 1, &g), 0);
    tgt_run run;
    ytdlp_via(ytdlp, g, f.dir, "manual", url, &run);
    ck_assert_msg(run.status == 0, "yt-dlp through the guard: %s", run.err);
    tgt_run_free(&run);
    char manual[1100];
    snprintf(manual, sizeof(manual), "%s/manual.mp4", f.dir);
    ck_assert_int_eq(tgt_file_size(manual), tgt_file_size(fixture));
    ck_assert_uint_eq(tgi_guard_refused(g), 0);
    tgi_guard_stop(&g);
    char *lines = origin_copy(&o, 1);
    ck_assert_msg(strstr(lines, " /r HTTP/1.1\n") && strstr(lines, "GET /v.mp4 HTTP/1.1\n") &&
                      !strstr(lines, "http://"),
                  "origin saw:\n%s", lines);
    free(lines);

    /* private addresses allowed: the same link downloads */
    f.o.allow_private = 1;
    int rc = tgi_ytdlp_download(f.ctx, &f.o, url, &path);
    ck_assert_msg(rc == 0, "rc %d (%s)", rc, tg_ctx_message(f.ctx));
    ck_assert_ptr_nonnull(path);
    ck_assert_int_eq(tgt_file_size(path), tgt_file_size(fixture));
    free(path);
    free(ytdlp);
    fake_free(&f);
    origin_stop(&o);
}
END_TEST

Suite *suite_guard(void);
Suite *suite_guard(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("proxy");
    tcase_add_test(tc, guard_refuses_private_addresses);
    tcase_add_test(tc, guard_special_purpose_registries);
    tcase_add_test(tc, guard_forwards_http);
    tcase_add_test(tc, guard_tunnels_connect);
    tcase_add_test(tc, guard_redirect_chain);
    tcase_add_test(tc, guard_bounded_and_stops);
    suite_add_tcase(s, tc);
    tc = tcase_create("ytdlp");
    tcase_add_test(tc, ytdlp_runs_behind_the_guard);
    tcase_add_test(tc, ytdlp_real_redirect_refused);
    suite_add_tcase(s, tc);
    return s;
}
