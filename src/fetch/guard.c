/*
 * guard.c — the egress guard proxy (see guard.h). Started by ytdlp.c for each
 * download when private addresses are not allowed; yt-dlp is its only client.
 *
 *   acceptor thread: poll(listener, wake) ─► accept4 (127.0.0.1 peers only)
 *        │                                  ─► a free slot? its own thread
 *        ▼ (16 slots; when all are busy the listener is not polled: the kernel queues)
 *   connection thread:
 *     read the request head (≤ 16 KiB) ─► parse: CONNECT host:port | GET http://…
 *       ─► getaddrinfo ─► any address private? ─► 403 + record the first refusal
 *       ─► connect to one of *those* addresses (10 s) ─► 502/504 when it fails
 *       ─► CONNECT: "200 Connection established"; else the head in origin form
 *       ─► splice both ways (poll, 60 s idle) until the origin is done
 *
 * Invariants: every socket is created close-on-exec (downloads spawn yt-dlp in
 * parallel threads: an inherited socket would outlive us); every wait is a poll()
 * that includes the wake socket, and tgi_guard_stop makes that socket readable for
 * good, so every thread ends promptly (except one inside getaddrinfo, which ends
 * when the resolver returns); the name is resolved exactly once per request and
 * only checked addresses are connected to; only the acceptor creates and joins
 * connection threads, and the slot state is guarded by the mutex.
 */
#define _GNU_SOURCE /* accept4: close-on-exec from the start */
#include "fetch/guard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/utf8.h"
#include "fetch/addr.h"

#define MAX_CONNS  16
#define CONNECT_MS 10000
#define IDLE_MS    60000
#define HEAD_CAP   16384 /* the request head */
#define BUF_CAP    65536 /* each direction of a splice; also the response head limit */
#define BUF_SLACK  64    /* room for "Connection: close" when the response head is rewritten */

enum { SLOT_FREE, SLOT_RUNNING, SLOT_DONE };

typedef struct slot {
    tgi_guard *g;
    int fd;
    int state; /* enum, under g->mu */
    pthread_t th;
} slot;

struct tgi_guard {
    int lfd;
    int wake[2]; /* a byte written to wake[1] makes wake[0] readable for every poll */
    int port;
    int allow_private;
    int mu_init, started;
    pthread_t acceptor;
    pthread_mutex_t mu;
    char refusal[512]; /* under mu */
    unsigned refused;  /* under mu */
    slot slots[MAX_CONNS];
};

/* Wait until fd is ready for ev: 1 ready, 0 deadline passed, -1 stopping or error. */
static int wait_fd(tgi_guard *g, int fd, short ev, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - tgi_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[2] = {{fd, ev, 0}, {g->wake[0], POLLIN, 0}};
        int r = poll(p, 2, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0 && p[1].revents)
            return -1;
        if (r > 0 && p[0].revents)
            return 1;
    }
}

static int send_all(tgi_guard *g, int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(g, fd, POLLOUT, tgi_mono_ms() + IDLE_MS) <= 0)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* A short plain-text answer; the connection is closed after it. */
static void reply(tgi_guard *g, int fd, int status, const char *reason, const char *body)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                     status, reason, strlen(body) + 1, body);
    if (n > 0 && (size_t)n < sizeof(buf))
        send_all(g, fd, buf, (size_t)n);
}

static const char *find_crlf2(const char *p, size_t n)
{
    for (size_t i = 0; i + 3 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n')
            return p + i;
    return NULL;
}

/* ---- the request ---- */

typedef struct req {
    int is_connect;
    char host[256]; /* without brackets */
    int port;
    const char *method, *path, *version, *headers;
    size_t method_len, path_len, version_len, headers_len; /* headers: CRLF-ended lines */
} req;

typedef struct conn {
    tgi_guard *g;
    int cfd, ufd;
    char head[HEAD_CAP + 1];
    size_t len, end; /* bytes read; length of the head including the blank line */
} conn;

/* Read until the blank line: 0, 1 when the head is too long, -1 closed/stopping. */
static int read_head(conn *c)
{
    int64_t deadline = tgi_mono_ms() + IDLE_MS;
    size_t from = 0; /* the blank line is not before this */
    for (;;) {
        const char *e = find_crlf2(c->head + from, c->len - from);
        if (e) {
            c->end = (size_t)(e - c->head) + 4;
            c->head[c->len] = '\0';
            return 0;
        }
        from = c->len > 3 ? c->len - 3 : 0;
        if (c->len == HEAD_CAP)
            return 1;
        ssize_t r = recv(c->cfd, c->head + c->len, HEAD_CAP - c->len, 0);
        if (r > 0) {
            c->len += (size_t)r;
            deadline = tgi_mono_ms() + IDLE_MS;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (wait_fd(c->g, c->cfd, POLLIN, deadline) <= 0)
                return -1;
        } else {
            return -1;
        }
    }
}

static int is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static int is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* "host:port", "[v6]:port", or without the port when def_port > 0. */
static int parse_authority(const char *s, size_t n, int def_port, req *r)
{
    const char *h = s, *colon = NULL;
    size_t hl;
    if (n && s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return -1;
        h = s + 1;
        hl = (size_t)(rb - h);
        for (size_t i = 0; i < hl; i++)
            if (!is_hex(h[i]) && h[i] != ':' && h[i] != '.')
                return -1;
        if (rb + 1 < s + n) {
            if (rb[1] != ':')
                return -1;
            colon = rb + 1;
        }
    } else {
        colon = memchr(s, ':', n);
        hl = colon ? (size_t)(colon - s) : n;
        for (size_t i = 0; i < hl; i++)
            if (!is_alnum(h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
                return -1;
    }
    if (hl == 0 || hl >= sizeof(r->host))
        return -1;
    memcpy(r->host, h, hl);
    r->host[hl] = '\0';
    if (!colon) {
        r->port = def_port;
        return def_port > 0 ? 0 : -1;
    }
    const char *p = colon + 1, *pe = s + n;
    if (p == pe || pe - p > 5)
        return -1;
    long port = 0;
    for (; p < pe; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535)
        return -1;
    r->port = (int)port;
    return 0;
}

/* The request line and where the header lines are; *why says what is wrong. */
static int parse_request(const conn *c, req *r, const char **why)
{
    memset(r, 0, sizeof(*r));
    *why = "malformed request";
    if (memchr(c->head, '\0', c->end))
        return -1;
    const char *line = c->head, *le = strstr(line, "\r\n");
    const char *sp1 = memchr(line, ' ', (size_t)(le - line));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == line || sp1 - line > 15 || sp2 == sp1 + 1)
        return -1;
    for (const char *p = line; p < sp1; p++)
        if (*p < 'A' || *p > 'Z')
            return -1;
    r->method = line;
    r->method_len = (size_t)(sp1 - line);
    r->version = sp2 + 1;
    r->version_len = (size_t)(le - r->version);
    if (r->version_len != 8 ||
        (memcmp(r->version, "HTTP/1.1", 8) != 0 && memcmp(r->version, "HTTP/1.0", 8) != 0))
        return -1;
    r->headers = le + 2;
    r->headers_len = (size_t)(c->head + c->end - 2 - r->headers);
    const char *t = sp1 + 1;
    size_t tl = (size_t)(sp2 - t);
    if (r->method_len == 7 && memcmp(line, "CONNECT", 7) == 0) {
        r->is_connect = 1;
        *why = "CONNECT needs host:port";
        return parse_authority(t, tl, 0, r);
    }
    if (tl >= 8 && strncasecmp(t, "https://", 8) == 0) {
        *why = "https:// goes through CONNECT";
        return -1;
    }
    if (tl < 7 || strncasecmp(t, "http://", 7) != 0) {
        *why = "this is a proxy: the request needs an absolute http:// URL";
        return -1;
    }
    const char *a = t + 7, *te = t + tl, *ae = a;
    while (ae < te && *ae != '/' && *ae != '?' && *ae != '#')
        ae++;
    if (memchr(a, '@', (size_t)(ae - a))) {
        *why = "user names in URLs are not supported";
        return -1;
    }
    *why = "bad host or port in the URL";
    if (parse_authority(a, (size_t)(ae - a), 80, r) != 0)
        return -1;
    const char *frag = memchr(ae, '#', (size_t)(te - ae));
    r->path = ae;
    r->path_len = (size_t)((frag ? frag : te) - ae);
    return 0;
}

static int name_is(const char *line, size_t name_len, const char *want)
{
    return name_len == strlen(want) && strncasecmp(line, want, name_len) == 0;
}

/* Hop-by-hop headers the guard replaces with its own "Connection: close". */
static int hop_header(const char *line, size_t name_len)
{
    return name_is(line, name_len, "connection") || name_is(line, name_len, "keep-alive") ||
           name_is(line, name_len, "proxy-connection") ||
           name_is(line, name_len, "proxy-authorization");
}

static size_t put(char *dst, size_t at, const char *src, size_t n)
{
    memcpy(dst + at, src, n);
    return at + n;
}

/* The request in origin form into out (room for HEAD_CAP + 512 bytes): its length,
 * or 0 when a header line is malformed. Checked before anything is resolved. */
static size_t rewrite_request(const req *r, char *out)
{
    size_t n = put(out, 0, r->method, r->method_len);
    n = put(out, n, " ", 1);
    if (r->path_len == 0 || r->path[0] != '/')
        n = put(out, n, "/", 1);
    n = put(out, n, r->path, r->path_len);
    n = put(out, n, " ", 1);
    n = put(out, n, r->version, r->version_len);
    n = put(out, n, "\r\n", 2);
    int have_host = 0;
    const char *p = r->headers, *end = r->headers + r->headers_len;
    while (p < end) {
        const char *le = strstr(p, "\r\n");
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (!colon || colon == p || *p == ' ' || *p == '\t')
            return 0; /* no name, or an obsolete folded line */
        size_t nl = (size_t)(colon - p);
        if (name_is(p, nl, "host"))
            have_host = 1;
        if (!hop_header(p, nl))
            n = put(out, n, p, (size_t)(le + 2 - p));
        p = le + 2;
    }
    if (!have_host) {
        char h[300];
        int hl = strchr(r->host, ':')
                     ? snprintf(h, sizeof(h), "Host: [%s]:%d\r\n", r->host, r->port)
                     : snprintf(h, sizeof(h), "Host: %s:%d\r\n", r->host, r->port);
        if (hl > 0 && (size_t)hl < sizeof(h))
            n = put(out, n, h, (size_t)hl);
    }
    return put(out, n, "Connection: close\r\n\r\n", 21);
}

/* ---- refusals ---- */

/* "refused to connect to HOST: [it resolves to ]KIND address TEXT". The kind comes
 * from tgi_host_check on the numeric address (no resolution), so it matches the
 * wording of the check made before yt-dlp runs. */
static void describe(const char *host, const struct sockaddr *sa, char *out, size_t n)
{
    char text[INET6_ADDRSTRLEN] = "?", what[256] = "";
    const void *a = NULL;
    if (sa->sa_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa->sa_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!a || !inet_ntop(sa->sa_family, a, text, sizeof(text)))
        snprintf(text, sizeof(text), "?");
    tg_ctx *t = tg_ctx_new();
    if (t && tgi_host_check(t, text, 0) < 0) {
        char prefix[INET6_ADDRSTRLEN + 32];
        int pl = snprintf(prefix, sizeof(prefix), "refused to connect to %s: ", text);
        const char *m = tg_ctx_message(t);
        if (pl > 0 && strncmp(m, prefix, (size_t)pl) == 0)
            tgi_utf8_copy(what, sizeof(what), m + pl);
    }
    tg_ctx_free(&t);
    if (!what[0])
        snprintf(what, sizeof(what), "non-public address %s", text);
    if (strcmp(host, text) == 0)
        snprintf(out, n, "refused to connect to %.*s: %s", TG_CUT(host, 200), what);
    else
        snprintf(out, n, "refused to connect to %.*s: it resolves to %s", TG_CUT(host, 200), what);
}

static void refuse(conn *c, const req *r, const struct sockaddr *sa)
{
    tgi_guard *g = c->g;
    char why[512];
    describe(r->host, sa, why, sizeof(why));
    pthread_mutex_lock(&g->mu);
    if (g->refused++ == 0)
        tgi_utf8_copy(g->refusal, sizeof(g->refusal), why);
    pthread_mutex_unlock(&g->mu);
    char body[600];
    snprintf(body, sizeof(body), "thumbgen: %s", why);
    reply(g, c->cfd, 403, "Forbidden", body);
}

/* ---- upstream ---- */

/* Connect to one of the (checked) addresses in res, within CONNECT_MS in all:
 * 0 with *fd, or an errno value (ETIMEDOUT, ECANCELED when stopping). */
static int connect_checked(tgi_guard *g, const struct addrinfo *res, int *fd)
{
    int64_t deadline = tgi_mono_ms() + CONNECT_MS;
    int err = EHOSTUNREACH;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            err = errno;
            continue;
        }
        if (connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
            *fd = s;
            return 0;
        }
        err = errno;
        if (err == EINPROGRESS) {
            int w = wait_fd(g, s, POLLOUT, deadline);
            if (w <= 0) {
                close(s);
                return w == 0 ? ETIMEDOUT : ECANCELED;
            }
            socklen_t l = sizeof(err);
            if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
                err = errno;
            if (err == 0) {
                *fd = s;
                return 0;
            }
        }
        close(s);
    }
    return err;
}

/* ---- splicing ---- */

typedef struct dir {
    int from, to;
    char *buf;
    size_t len, off; /* bytes buf[off..len) wait to be sent */
    int eof;         /* `from` is done and `to` got shutdown(SHUT_WR) */
    /* the response head filter (plain HTTP, origin → client): while on, bytes
     * before `scan` are finished interim (1xx) heads and may be sent */
    int filter;
    size_t scan;
} dir;

/* Rewrite the response head once it is complete: Connection/Keep-Alive headers
 * are replaced with "Connection: close". 1xx heads pass as they are. */
static void filter_head(dir *d)
{
    while (d->filter) {
        const char *e = find_crlf2(d->buf + d->scan, d->len - d->scan);
        if (!e) {
            if (d->len >= BUF_CAP)
                d->filter = 0; /* too long to be a head we understand: pass it on */
            return;
        }
        char *h = d->buf + d->scan;
        size_t hend = (size_t)(e - d->buf) + 4;
        if (hend - d->scan >= 12 && memcmp(h, "HTTP/1.", 7) == 0 && h[8] == ' ' && h[9] == '1') {
            d->scan = hend;
            continue;
        }
        size_t rest = d->len - hend, hl = hend - d->scan;
        char *tmp = malloc(hl + BUF_SLACK);
        if (!tmp) {
            d->filter = 0;
            return;
        }
        /* the buffer is not NUL-terminated, but every line of [scan, hend) ends in CRLF */
        const char *p = h, *end = d->buf + hend - 2;
        const char *le = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        size_t n = put(tmp, 0, p, (size_t)(le + 2 - p)); /* status line */
        for (p = le + 2; p < end; p = le + 2) {
            le = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
            const char *colon = memchr(p, ':', (size_t)(le - p));
            if (!colon || !hop_header(p, (size_t)(colon - p)))
                n = put(tmp, n, p, (size_t)(le + 2 - p));
        }
        n = put(tmp, n, "Connection: close\r\n\r\n", 21);
        memmove(d->buf + d->scan + n, d->buf + hend, rest);
        memcpy(d->buf + d->scan, tmp, n);
        d->len = d->scan + n + rest;
        free(tmp);
        d->filter = 0;
    }
}

/* Bytes of d that may be sent now. */
static size_t sendable(const dir *d)
{
    return (d->filter ? d->scan : d->len) - d->off;
}

/* 1 when d wants to read from its source. */
static int wants_read(const dir *d)
{
    if (d->eof)
        return 0;
    return d->filter ? d->len < BUF_CAP : d->len == 0;
}

/* One step of a direction after poll: 0 ok, -1 the connection is over (a read
 * failed). When `to` can take no more, the direction is over: the origin may still
 * answer a request it did not read to the end; the client gone ends the loop. */
static int step(dir *d, short rev_from, short rev_to, int *progress)
{
    if (sendable(d) && (rev_to & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t w = send(d->to, d->buf + d->off, sendable(d), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            d->off = d->len = d->scan = 0;
            d->filter = 0;
            d->eof = 2;
            *progress = 1;
            return 0;
        }
        if (w > 0) {
            d->off += (size_t)w;
            *progress = 1;
            if (d->off == d->len) {
                d->off = d->len = d->scan = 0;
            } else if (d->filter && d->off == d->scan) {
                memmove(d->buf, d->buf + d->off, d->len - d->off);
                d->len -= d->off;
                d->scan = d->off = 0;
            }
        }
    }
    if (wants_read(d) && (rev_from & (POLLIN | POLLERR | POLLHUP))) {
        ssize_t r = recv(d->from, d->buf + d->len, BUF_CAP - d->len, 0);
        if (r > 0) {
            d->len += (size_t)r;
            *progress = 1;
            if (d->filter)
                filter_head(d);
        } else if (r == 0) {
            d->filter = 0; /* the origin ended inside a head: pass on what came */
            d->eof = 1;
            *progress = 1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        }
    }
    if (d->eof == 1 && d->off == d->len) {
        shutdown(d->to, SHUT_WR);
        d->eof = 2;
    }
    return 0;
}

/* Copy both ways until the origin is done and its bytes are delivered, either side
 * fails, the guard stops, or nothing moves for IDLE_MS. */
static void splice_conn(conn *c, dir *up, dir *down)
{
    int64_t deadline = tgi_mono_ms() + IDLE_MS;
    while (down->eof != 2) {
        short ce = 0, ue = 0;
        if (wants_read(up))
            ce |= POLLIN;
        if (sendable(down))
            ce |= POLLOUT;
        if (wants_read(down))
            ue |= POLLIN;
        if (sendable(up))
            ue |= POLLOUT;
        /* a socket with nothing to wait for is left out: its POLLHUP would spin */
        struct pollfd p[3] = {
            {ce ? c->cfd : -1, ce, 0}, {ue ? c->ufd : -1, ue, 0}, {c->g->wake[0], POLLIN, 0}};
        int64_t left = deadline - tgi_mono_ms();
        if (left <= 0)
            return;
        int r = poll(p, 3, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno != EINTR)
            return;
        if (r <= 0)
            continue;
        if (p[2].revents)
            return;
        int progress = 0;
        if (step(up, p[0].revents, p[1].revents, &progress) != 0 ||
            step(down, p[1].revents, p[0].revents, &progress) != 0)
            return;
        if (progress)
            deadline = tgi_mono_ms() + IDLE_MS;
    }
}

/* ---- one connection ---- */

static void serve_conn(tgi_guard *g, int cfd)
{
    conn *c = calloc(1, sizeof(*c));
    char *ubuf = NULL, *dbuf = NULL;
    struct addrinfo *res = NULL;
    if (!c) {
        reply(g, cfd, 503, "Service Unavailable", "thumbgen: out of memory");
        return;
    }
    c->g = g;
    c->cfd = cfd;
    c->ufd = -1;
    int st = read_head(c);
    if (st != 0) {
        if (st > 0)
            reply(g, cfd, 431, "Request Header Fields Too Large", "thumbgen: request too large");
        goto done;
    }
    req r;
    const char *why;
    if (parse_request(c, &r, &why) != 0) {
        char body[128];
        snprintf(body, sizeof(body), "thumbgen: %s", why);
        reply(g, cfd, 400, "Bad Request", body);
        goto done;
    }
    ubuf = malloc(BUF_CAP + BUF_SLACK);
    dbuf = malloc(BUF_CAP + BUF_SLACK);
    if (!ubuf || !dbuf) {
        reply(g, cfd, 503, "Service Unavailable", "thumbgen: out of memory");
        goto done;
    }
    /* the head in origin form (it only loses bytes, plus a Host line and "Connection:
     * close": BUF_CAP holds it and the rest of what was read) */
    size_t head_len = r.is_connect ? 0 : rewrite_request(&r, ubuf);
    if (!r.is_connect && head_len == 0) {
        reply(g, cfd, 400, "Bad Request", "thumbgen: malformed header line");
        goto done;
    }

    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    char port[8], msg[400];
    snprintf(port, sizeof(port), "%d", r.port);
    int ge = getaddrinfo(r.host, port, &hints, &res);
    if (ge != 0 || !res) {
        snprintf(msg, sizeof(msg), "thumbgen: cannot resolve %.*s: %s", TG_CUT(r.host, 200),
                 ge ? gai_strerror(ge) : "no address");
        reply(g, cfd, 502, "Bad Gateway", msg);
        goto done;
    }
    if (!g->allow_private)
        for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
            if (tgi_addr_is_private(ai->ai_addr)) {
                refuse(c, &r, ai->ai_addr);
                goto done;
            }
    int err = connect_checked(g, res, &c->ufd);
    if (err == ECANCELED)
        goto done;
    if (err != 0) {
        snprintf(msg, sizeof(msg), "thumbgen: cannot connect to %.*s port %d: %s",
                 TG_CUT(r.host, 200), r.port, strerror(err));
        if (err == ETIMEDOUT)
            reply(g, cfd, 504, "Gateway Timeout", msg);
        else
            reply(g, cfd, 502, "Bad Gateway", msg);
        goto done;
    }

    dir up = {.from = cfd, .to = c->ufd, .buf = ubuf, .len = head_len};
    dir down = {.from = c->ufd, .to = cfd, .buf = dbuf, .filter = !r.is_connect};
    if (r.is_connect) {
        static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
        if (send_all(g, cfd, ok, sizeof(ok) - 1) != 0)
            goto done;
    }
    /* bytes after the head: the start of a body, or early tunnel data */
    memcpy(ubuf + up.len, c->head + c->end, c->len - c->end);
    up.len += c->len - c->end;
    splice_conn(c, &up, &down);

done:
    if (res)
        freeaddrinfo(res);
    if (c->ufd >= 0)
        close(c->ufd);
    free(ubuf);
    free(dbuf);
    free(c);
}

static void *conn_main(void *arg)
{
    slot *s = arg;
    tgi_guard *g = s->g;
    serve_conn(g, s->fd);
    close(s->fd);
    pthread_mutex_lock(&g->mu);
    s->state = SLOT_DONE;
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Join finished connection threads (all of them when `all`); a free slot or -1. */
static int reap(tgi_guard *g, int all)
{
    int free_i = -1;
    for (int i = 0; i < MAX_CONNS; i++) {
        pthread_mutex_lock(&g->mu);
        int st = g->slots[i].state;
        pthread_mutex_unlock(&g->mu);
        if (st == SLOT_DONE || (all && st == SLOT_RUNNING)) {
            pthread_join(g->slots[i].th, NULL);
            g->slots[i].state = SLOT_FREE; /* the thread has ended: no lock needed */
            st = SLOT_FREE;
        }
        if (st == SLOT_FREE && free_i < 0)
            free_i = i;
    }
    return free_i;
}

static int from_loopback(const struct sockaddr_storage *ss)
{
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)ss;
    return ss->ss_family == AF_INET && s4->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
}

static void *acceptor_main(void *arg)
{
    tgi_guard *g = arg;
    for (;;) {
        int free_i = reap(g, 0);
        /* all slots busy: leave new connections in the listen queue, look again soon */
        struct pollfd p[2] = {{g->wake[0], POLLIN, 0}, {free_i >= 0 ? g->lfd : -1, POLLIN, 0}};
        int r = poll(p, 2, free_i >= 0 ? -1 : 50);
        if (r < 0 && errno != EINTR)
            break;
        if (r > 0 && p[0].revents)
            break;
        if (free_i < 0 || r <= 0 || !(p[1].revents & POLLIN))
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(g->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
                poll(NULL, 0, 50); /* out of descriptors: don't spin */
            continue;
        }
        if (!from_loopback(&ss)) {
            close(fd);
            continue;
        }
        slot *s = &g->slots[free_i];
        s->g = g;
        s->fd = fd;
        pthread_mutex_lock(&g->mu);
        s->state = SLOT_RUNNING;
        pthread_mutex_unlock(&g->mu);
        if (pthread_create(&s->th, NULL, conn_main, s) != 0) {
            reply(g, fd, 503, "Service Unavailable", "thumbgen: cannot start a thread");
            close(fd);
            pthread_mutex_lock(&g->mu);
            s->state = SLOT_FREE;
            pthread_mutex_unlock(&g->mu);
        }
    }
    reap(g, 1);
    return NULL;
}

/* ---- the interface ---- */

int tgi_guard_start(tg_ctx *ctx, int allow_private, tgi_guard **out)
{
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "guard: missing argument");
    *out = NULL;
    tgi_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    g->lfd = g->wake[0] = g->wake[1] = -1;
    g->allow_private = allow_private;
    int rc = 0;
    if (pthread_mutex_init(&g->mu, NULL) != 0) {
        rc = tgi_fail(ctx, TG_EIO, "cannot start the download guard: no mutex");
        goto fail;
    }
    g->mu_init = 1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    g->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (g->lfd < 0 || bind(g->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(g->lfd, MAX_CONNS) != 0 || getsockname(g->lfd, (struct sockaddr *)&a, &al) != 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g->wake) != 0) {
        rc = tgi_fail(ctx, TG_EIO, "cannot start the download guard: %s", strerror(errno));
        goto fail;
    }
    g->port = ntohs(a.sin_port);
    int e = pthread_create(&g->acceptor, NULL, acceptor_main, g);
    if (e != 0) {
        rc = tgi_fail(ctx, TG_EIO, "cannot start the download guard: %s", strerror(e));
        goto fail;
    }
    g->started = 1;
    *out = g;
    return 0;
fail:
    tgi_guard_stop(&g);
    return rc;
}

int tgi_guard_port(const tgi_guard *g)
{
    return g ? g->port : 0;
}

void tgi_guard_refusal(tgi_guard *g, char *buf, size_t n)
{
    if (!buf || !n)
        return;
    buf[0] = '\0';
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    tgi_utf8_copy(buf, n, g->refusal);
    pthread_mutex_unlock(&g->mu);
}

unsigned tgi_guard_refused(tgi_guard *g)
{
    if (!g)
        return 0;
    pthread_mutex_lock(&g->mu);
    unsigned n = g->refused;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void tgi_guard_stop(tgi_guard **gp)
{
    if (!gp || !*gp)
        return;
    tgi_guard *g = *gp;
    *gp = NULL;
    if (g->started) {
        static const char one = 1;
        while (send(g->wake[1], &one, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
            ;
        pthread_join(g->acceptor, NULL);
    }
    if (g->lfd >= 0)
        close(g->lfd);
    for (int i = 0; i < 2; i++)
        if (g->wake[i] >= 0)
            close(g->wake[i]);
    if (g->mu_init)
        pthread_mutex_destroy(&g->mu);
    free(g);
}
