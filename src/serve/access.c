/*
 * access.c — Host, Origin and token checks and the security headers (see
 * access.h). http.c calls tgi_access_check on the first call for a request, before
 * any body is read, and answers the refusal once the body (if any) is drained.
 *
 * The token is compared by its SHA-256 (so neither its bytes nor its length leak
 * through timing), and a wrong token costs its sender a quarter of a second.
 */
#include "serve/access.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include <libavutil/mem.h>
#include <libavutil/sha.h>

#include "core/error.h"

#define COOKIE_NAME "thumbgen_token"
#define TOKEN_MIN   16

/* The page needs nothing from elsewhere: its script and style are files under
 * /static/ (no inline script or style), media come from /media/, the favicon is a
 * data: URL. */
static const char CSP[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; media-src 'self'; connect-src 'self'; "
                          "object-src 'none'; base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'";

void tgi_access_headers(struct MHD_Response *rs)
{
    MHD_add_response_header(rs, "Content-Security-Policy", CSP);
    MHD_add_response_header(rs, "X-Frame-Options", "DENY");
    MHD_add_response_header(rs, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(rs, "Referrer-Policy", "no-referrer");
}

static int token_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           strchr("._~+/=-", ch) != NULL;
}

static int read_token_file(tg_ctx *ctx, const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return tgi_fail(ctx, TG_EINVAL, "cannot read the token file '%s': %s", path,
                        strerror(errno));
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0'; /* the first line */
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    if (n < TOKEN_MIN || n >= cap)
        return tgi_fail(ctx, TG_EINVAL,
                        "the token file '%s' must hold a token of %d to %zu characters on its "
                        "first line",
                        path, TOKEN_MIN, cap - 1);
    for (size_t i = 0; i < n; i++)
        if (!token_char(buf[i]))
            return tgi_fail(ctx, TG_EINVAL,
                            "the token in '%s' may only use letters, digits and . _ ~ + / = -",
                            path);
    memcpy(out, buf, n + 1);
    return 0;
}

static int is_loopback(const char *host)
{
    unsigned char a[16];
    if (!strcmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, a) == 1)
        return a[0] == 127;
    static const unsigned char one[16] = {[15] = 1};
    return inet_pton(AF_INET6, host, a) == 1 && !memcmp(a, one, 16);
}

static int is_wildcard(const char *host)
{
    unsigned char a[16];
    static const unsigned char zero[16];
    if (inet_pton(AF_INET, host, a) == 1)
        return !memcmp(a, zero, 4);
    return inet_pton(AF_INET6, host, a) == 1 && !memcmp(a, zero, 16);
}

int tgi_access_setup(tg_ctx *ctx, tgi_server *sv, int *generated)
{
    const tgi_serve_opts *o = &sv->opt;
    *generated = 0;
    sv->token[0] = '\0';
    if (o->no_auth && (o->token_file || o->require_token))
        return tgi_fail(ctx, TG_EINVAL,
                        "--no-auth cannot be used with --token-file or "
                        "--require-token");
    if (o->token_file)
        return read_token_file(ctx, o->token_file, sv->token, sizeof(sv->token));
    if (o->no_auth || (!o->require_token && is_loopback(o->host)))
        return 0; /* open: loopback by default, or asked for explicitly */
    unsigned char rnd[24];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return tgi_fail(ctx, TG_EIO, "cannot make a token: %s", strerror(errno));
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(sv->token + 2 * i, 3, "%02x", rnd[i]);
    *generated = 1;
    return 0;
}

/* ---- Host and Origin ---- */

/* Split "name", "name:port", "[v6]", "[v6]:port" into name (lowercase, no
 * brackets) and port (-1 when absent). 0 ok, -1 malformed. */
static int split_host(const char *in, char *name, size_t cap, long *port)
{
    const char *end, *colon;
    int bracketed = in[0] == '[';
    *port = -1;
    if (bracketed) {
        end = strchr(in, ']');
        if (!end)
            return -1;
        colon = end[1] == ':' ? end + 1 : NULL;
        if (end[1] && !colon)
            return -1;
        in++;
    } else {
        colon = strchr(in, ':');
        if (colon && strchr(colon + 1, ':'))
            return -1;
        end = colon ? colon : in + strlen(in);
    }
    size_t n = (size_t)(end - in);
    if (n == 0 || n >= cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        name[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
    }
    name[n] = '\0';
    unsigned char a6[16];
    if (bracketed && inet_pton(AF_INET6, name, a6) != 1)
        return -1; /* brackets hold an IPv6 address, nothing else (fuzz: "[thumbs.example]") */
    if (colon) {
        char *e;
        errno = 0;
        /* digits only, no leading zero: the form browsers send (and Origin matching
         * compares), found by fuzz/fuzz_host.c ("localhost:08000") */
        if (!colon[1] || colon[1] < '0' || colon[1] > '9' || (colon[1] == '0' && colon[2]))
            return -1;
        long p = strtol(colon + 1, &e, 10);
        if (errno || *e || p < 0 || p > 65535)
            return -1;
        *port = p;
    }
    return 0;
}

/* the same name, or two spellings of one address literal */
static int same_address(const char *a, const char *b)
{
    unsigned char x[16], y[16];
    if (!strcasecmp(a, b))
        return 1;
    if (inet_pton(AF_INET, a, x) == 1 && inet_pton(AF_INET, b, y) == 1)
        return !memcmp(x, y, 4);
    return inet_pton(AF_INET6, a, x) == 1 && inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
}

int tgi_access_host_ok(const tgi_server *sv, const char *host)
{
    char name[256];
    long port;
    if (!host || split_host(host, name, sizeof(name), &port) < 0)
        return 0;
    /* a public name, at any port (a reverse proxy in front may use its own) */
    for (const char *const *p = sv->opt.public_hosts; p && *p; p++)
        if (!strcasecmp(*p, name))
            return 1;
    /* the listening address: the port must be ours (absent only for port 80) */
    if (port != sv->opt.port && !(port < 0 && sv->opt.port == 80))
        return 0;
    if (!strcmp(name, "localhost") || !strcmp(name, "127.0.0.1") || !strcmp(name, "::1"))
        return 1;
    if (same_address(name, sv->opt.host))
        return 1;
    /* bound to every address: any address literal of this machine (a literal cannot
     * be re-pointed by DNS, so it cannot carry a rebinding attack) */
    unsigned char a[16];
    if (is_wildcard(sv->opt.host) &&
        (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1))
        return 1;
    return 0;
}

static int origin_ok(const tgi_server *sv, const char *origin)
{
    const char *rest = NULL;
    if (!strncasecmp(origin, "http://", 7))
        rest = origin + 7;
    else if (!strncasecmp(origin, "https://", 8))
        rest = origin + 8;
    if (!rest || strchr(rest, '/'))
        return 0; /* "null", another scheme, or not an origin */
    return tgi_access_host_ok(sv, rest);
}

static int state_changing(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "DELETE") ||
           !strcmp(method, "PATCH");
}

/* ---- the token ---- */

static void sha256(const char *s, size_t n, uint8_t out[32])
{
    struct AVSHA *h = av_sha_alloc();
    memset(out, 0, 32);
    if (!h)
        return;
    av_sha_init(h, 256);
    av_sha_update(h, (const uint8_t *)s, (unsigned)n);
    av_sha_final(h, out);
    av_free(h);
}

/* 1 when given (of length n) is the token: the digests are compared in full */
static int token_matches(const tgi_server *sv, const char *given, size_t n)
{
    uint8_t a[32], b[32];
    sha256(sv->token, strlen(sv->token), a);
    sha256(given, n, b);
    volatile uint8_t diff = 0;
    for (int i = 0; i < 32; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0 && n > 0;
}

/* 1 authorised, 0 no credentials, -1 wrong credentials */
static int authorised(const tgi_server *sv, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (h) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return -1;
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        return token_matches(sv, t, strlen(t)) ? 1 : -1;
    }
    const char *ck = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_NAME);
    if (ck)
        return token_matches(sv, ck, strlen(ck)) ? 1 : -1;
    return 0;
}

static unsigned refuse(const char **code, char *msg, size_t n, unsigned status, const char *c,
                       const char *m)
{
    *code = c;
    snprintf(msg, n, "%s", m);
    return status;
}

unsigned tgi_access_check(const tgi_server *sv, struct MHD_Connection *c, const char *method,
                          const char *url, const char **code, char *msg, size_t n)
{
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (!tgi_access_host_ok(sv, host))
        return refuse(code, msg, n, MHD_HTTP_MISDIRECTED_REQUEST, "EHOST",
                      "This server does not answer to that host name; use its own address "
                      "or a name given with --public-host.");
    if (state_changing(method)) {
        const char *site = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
        const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
        if ((site && !strcasecmp(site, "cross-site")) || (origin && !origin_ok(sv, origin)))
            return refuse(code, msg, n, MHD_HTTP_FORBIDDEN, "EFORBIDDEN",
                          "Requests from other sites are refused.");
    }
    int needs = sv->token[0] && (!strncmp(url, "/api/", 5) || !strncmp(url, "/media/", 7)) &&
                strcmp(url, "/api/login") != 0;
    if (needs) {
        int a = authorised(sv, c);
        if (a == 0)
            return refuse(code, msg, n, MHD_HTTP_UNAUTHORIZED, "EAUTH",
                          "This server needs its access token.");
        if (a < 0) {
            usleep(250 * 1000); /* slow down guessing */
            return refuse(code, msg, n, MHD_HTTP_UNAUTHORIZED, "EAUTH",
                          "The access token is wrong.");
        }
    }
    return 0;
}

enum MHD_Result tgi_access_session(const tgi_server *sv, struct MHD_Connection *c)
{
    int auth = sv->token[0] != '\0';
    int ok = !auth || authorised(sv, c) == 1;
    return tgi_reply_json(c, MHD_HTTP_OK, json_pack("{s:b,s:b}", "ok", ok, "auth", auth));
}

enum MHD_Result tgi_access_login(tgi_req *r, struct MHD_Connection *c)
{
    const tgi_server *sv = r->sv;
    if (!sv->token[0])
        return tgi_reply_json(c, MHD_HTTP_OK, json_pack("{s:b,s:b}", "ok", 1, "auth", 0));
    json_t *body = json_loads(r->body ? r->body : "", 0, NULL);
    const char *t = json_string_value(json_object_get(body, "token"));
    int ok = t && token_matches(sv, t, strlen(t));
    json_decref(body);
    if (!ok) {
        usleep(250 * 1000);
        return tgi_reply_status(c, MHD_HTTP_UNAUTHORIZED, "EAUTH", "The access token is wrong.");
    }
    char cookie[400];
    snprintf(cookie, sizeof(cookie), COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict",
             sv->token);
    json_t *j = json_pack("{s:b,s:b}", "ok", 1, "auth", 1);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return MHD_NO;
    struct MHD_Response *rs = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
    if (!rs) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(rs, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(rs, "Cache-Control", "no-store");
    MHD_add_response_header(rs, "Set-Cookie", cookie);
    return tgi_queue(c, MHD_HTTP_OK, rs);
}
