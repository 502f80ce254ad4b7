/*
 * http.c — see http.h. Plain sockets on 127.0.0.1; never any other address.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "util.h"

extern char **environ;

static int connect_local(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tgt_http(int port, const char *method, const char *path, const char *extra, const char *body,
             size_t blen, tgt_resp *out)
{
    memset(out, 0, sizeof(*out));
    int fd = connect_local(port);
    if (fd < 0)
        return -1;
    char head[4096], host[64];
    /* extra headers that start with their own Host replace ours */
    snprintf(host, sizeof(host), "Host: 127.0.0.1:%d\r\n", port);
    if (extra && !strncasecmp(extra, "Host:", 5))
        host[0] = '\0';
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\n%sConnection: close\r\n%s"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, host, extra ? extra : "", body ? blen : 0);
    if (send_all(fd, head, (size_t)hn) < 0 || (body && send_all(fd, body, blen) < 0)) {
        close(fd);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 120000) <= 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        free(buf);
        return -1;
    }
    size_t hl = (size_t)(sep - buf);
    out->headers = strndup(buf, hl);
    out->len = n - hl - 4;
    out->body = malloc(out->len + 1);
    memcpy(out->body, sep + 4, out->len);
    out->body[out->len] = '\0';
    /* chunked bodies (MHD uses them for unknown sizes): undo the framing */
    char *te = tgt_header(out, "Transfer-Encoding");
    if (te && !strcasecmp(te, "chunked")) {
        char *src = out->body, *dst = malloc(out->len + 1);
        size_t dn = 0;
        for (;;) {
            char *end;
            unsigned long len = strtoul(src, &end, 16);
            if (end == src || !len)
                break;
            src = strstr(end, "\r\n");
            if (!src)
                break;
            src += 2;
            memcpy(dst + dn, src, len);
            dn += len;
            src += len + 2;
        }
        dst[dn] = '\0';
        free(out->body);
        out->body = dst;
        out->len = dn;
    }
    free(te);
    free(buf);
    return 0;
}

void tgt_resp_free(tgt_resp *r)
{
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

char *tgt_header(const tgt_resp *r, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            return strndup(v, ll - (size_t)(v - p));
        }
        p = eol ? eol + 2 : p + ll;
    }
    return NULL;
}

char *tgt_multipart(const char *file, const char *filename, size_t *len, char **ctype, ...)
{
    size_t flen = 0;
    char *data = file ? tgt_read_file(file, &flen) : NULL;
    const char *b = "tgboundary7d1f3a";
    size_t cap = flen + 8192, n = 0;
    char *out = malloc(cap);
    va_list ap;
    va_start(ap, ctype);
    for (const char *k = va_arg(ap, const char *); k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        n += (size_t)snprintf(out + n, cap - n,
                              "--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n",
                              b, k, v);
    }
    va_end(ap);
    if (data) {
        n += (size_t)snprintf(out + n, cap - n,
                              "--%s\r\nContent-Disposition: form-data; name=\"video\"; "
                              "filename=\"%s\"\r\nContent-Type: application/octet-stream\r\n\r\n",
                              b, filename);
        memcpy(out + n, data, flen);
        n += flen;
        n += (size_t)snprintf(out + n, cap - n, "\r\n");
    }
    n += (size_t)snprintf(out + n, cap - n, "--%s--\r\n", b);
    free(data);
    *len = n;
    *ctype = malloc(128);
    snprintf(*ctype, 128, "Content-Type: multipart/form-data; boundary=%s\r\n", b);
    return out;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof(a);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0) {
        close(fd);
        return -1;
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int server_start(tgt_server *s, const char *data, const char *log, va_list ap)
{
    memset(s, 0, sizeof(*s));
    s->port = free_port();
    s->data = data ? strdup(data) : tgt_tmp_path(".data");
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    char *argv[32] = {(char *)tgt_bin(), "serve", "--port", port,
                      "--data",          s->data, "--web",  "web"};
    int n = 8;
    if (!log)
        argv[n++] = "--quiet";
    for (const char *a = va_arg(ap, const char *); a && n < 31; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0, 0);
    if (log)
        posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&s->pid, argv[0], &fa, NULL, argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    posix_spawn_file_actions_destroy(&fa);
    /* up to 30 s: before it listens the server asks yt-dlp, file, ldconfig and node what
     * they are (1.2 s on a warm machine, 10 s measured on a fresh clone's first start) */
    for (int i = 0; i < 600; i++) {
        tgt_resp r;
        if (tgt_http(s->port, "GET", "/healthz", NULL, NULL, 0, &r) == 0) {
            int ok = r.status == 200;
            tgt_resp_free(&r);
            if (ok)
                return 0;
        }
        usleep(50 * 1000);
    }
    tgt_server_stop(s);
    return -1;
}

int tgt_server_start(tgt_server *s, const char *data, ...)
{
    va_list ap;
    va_start(ap, data);
    int rc = server_start(s, data, NULL, ap);
    va_end(ap);
    return rc;
}

int tgt_server_start_log(tgt_server *s, const char *data, const char *log, ...)
{
    va_list ap;
    va_start(ap, log);
    int rc = server_start(s, data, log, ap);
    va_end(ap);
    return rc;
}

int tgt_server_stop(tgt_server *s)
{
    int st = 0;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 400; i++) {
            pid_t r = waitpid(s->pid, &st, WNOHANG);
            if (r == s->pid)
                break;
            if (i == 399) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, &st, 0);
                st = -1;
            }
            usleep(50 * 1000);
        }
        s->pid = 0;
    }
    return st < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- the mini origin ---- */

void tgt_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

int tgt_read_head(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    buf[0] = '\0';
    while (n < cap - 1) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            return -1;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return (int)n;
    }
    return (int)n; /* a full buffer: what came */
}

static void *origin_main(void *arg)
{
    tgt_origin *o = arg;
    while (!atomic_load(&o->stop)) {
        struct pollfd p = {o->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(o->fd, NULL, NULL);
        if (c < 0)
            continue;
        atomic_fetch_add(&o->accepted, 1);
        o->fn(o->user, c);
        shutdown(c, SHUT_WR);
        close(c);
    }
    return NULL;
}

void tgt_origin_start(tgt_origin *o, tgt_origin_fn fn, void *user)
{
    memset(o, 0, sizeof(*o));
    o->fn = fn;
    o->user = user;
    o->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(o->fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(o->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(o->fd, 16), 0);
    socklen_t al = sizeof(a);
    ck_assert_int_eq(getsockname(o->fd, (struct sockaddr *)&a, &al), 0);
    o->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&o->th, NULL, origin_main, o), 0);
}

void tgt_origin_stop(tgt_origin *o)
{
    atomic_store(&o->stop, 1);
    pthread_join(o->th, NULL);
    close(o->fd);
}
