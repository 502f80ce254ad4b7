/*
 * url.c — classify a submitted link (see url.h). Called by the server before a job
 * is created and by ytdlp.c to find the host to check. Pure string work.
 *
 * The parse is deliberately strict and simple, so that it cannot disagree with the
 * parser that later fetches the URL (Python's urllib inside yt-dlp) about which host
 * is meant: the authority ends at the first '/', '?' or '#'; any '@' in it is refused
 * (credentials, or a trick like http://good.com\@evil.com); the host is an ASCII
 * name of [A-Za-z0-9.-_] or a bracketed IPv6 literal without a zone; the port is
 * 1..65535 in decimal. Percent-escapes, backslashes and non-ASCII bytes are refused
 * in the host (they are allowed, untouched, in the path and query).
 *
 * YouTube: a known host plus a known path shape gives the 11-character video id;
 * a known host without one (channel, playlist, search) is refused, because a job
 * is one video.
 */
#include "fetch/url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"

#define URL_MAX   2000
#define YT_ID_LEN 11

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int is_id_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

/* s[0..n) equals the NUL-terminated lit, ignoring ASCII case. */
static int eq_nocase(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n && lit[i]; i++)
        if (lower((unsigned char)s[i]) != lit[i])
            return 0;
    return i == n && lit[i] == '\0';
}

/* A video id: exactly 11 id characters, ending at '/', '?', '#', '&' or the end. */
static int take_id(const char *p, const char *end, char id[YT_ID_LEN + 1])
{
    size_t n = 0;
    while (p + n < end && is_id_char((unsigned char)p[n]))
        n++;
    if (n != YT_ID_LEN)
        return 0;
    if (p + n < end && !strchr("/?#&", p[n]))
        return 0;
    if (memcmp(p, "videoseries", YT_ID_LEN) == 0) /* /embed/videoseries?list=… */
        return 0;
    memcpy(id, p, YT_ID_LEN);
    id[YT_ID_LEN] = '\0';
    return 1;
}

enum { YT_NONE, YT_MAIN, YT_SHORT };

/* Which YouTube host this is (host is lowercase, may end with one dot). */
static int youtube_host(const char *host)
{
    static const char *const main_hosts[] = {
        "youtube.com",       "www.youtube.com",      "m.youtube.com",
        "music.youtube.com", "youtube-nocookie.com", "www.youtube-nocookie.com",
    };
    size_t n = strlen(host);
    if (n && host[n - 1] == '.')
        n--;
    for (size_t i = 0; i < sizeof(main_hosts) / sizeof(main_hosts[0]); i++)
        if (eq_nocase(host, n, main_hosts[i]))
            return YT_MAIN;
    if (eq_nocase(host, n, "youtu.be") || eq_nocase(host, n, "www.youtu.be"))
        return YT_SHORT;
    return YT_NONE;
}

/* The v= parameter anywhere in the query q[0..end). */
static int query_v(const char *q, const char *end, char id[YT_ID_LEN + 1])
{
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        if (stop - q > 2 && q[0] == 'v' && q[1] == '=')
            return take_id(q + 2, stop, id) && (stop == end || *stop == '&');
        q = amp ? amp + 1 : end;
    }
    return 0;
}

/* The video id from the path and query of a YouTube link, or 0. path starts at the
 * first '/' after the host (or is empty); it ends at end. */
static int youtube_id(int kind, const char *path, const char *end, char id[YT_ID_LEN + 1])
{
    const char *q = memchr(path, '?', (size_t)(end - path));
    const char *frag = memchr(path, '#', (size_t)(end - path));
    if (q && frag && frag < q)
        q = NULL; /* a '?' inside the fragment is not the query */
    const char *path_end = q ? q : frag ? frag : end;
    const char *query_end = frag ? frag : end;

    if (kind == YT_SHORT) /* youtu.be/ID */
        return path_end - path > 1 && take_id(path + 1, path_end, id);

    static const char *const prefixes[] = {"/shorts/", "/embed/", "/live/", "/v/", "/e/"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t n = strlen(prefixes[i]);
        if ((size_t)(path_end - path) > n && memcmp(path, prefixes[i], n) == 0)
            return take_id(path + n, path_end, id);
    }
    size_t plen = (size_t)(path_end - path);
    if (((plen == 6 && memcmp(path, "/watch", 6) == 0) ||
         (plen == 7 && memcmp(path, "/watch/", 7) == 0)) &&
        q)
        return query_v(q + 1, query_end, id);
    return 0;
}

static int parse(tg_ctx *ctx, const char *url, tgi_url *out)
{
    if (!url || !*url)
        return tgi_fail(ctx, TG_EINVAL, "empty link");
    size_t len = strlen(url);
    if (len > URL_MAX)
        return tgi_fail(ctx, TG_EINVAL, "the link is longer than %d bytes", URL_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c < 0x20 || c == 0x7f)
            return tgi_fail(ctx, TG_EINVAL, "the link contains control characters");
        if (c == ' ')
            return tgi_fail(ctx, TG_EINVAL, "the link contains spaces");
    }

    /* scheme ":" "//" */
    const char *p = url;
    while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) || *p == '+' || *p == '-' ||
           *p == '.')
        p++;
    if (*p != ':' || p == url)
        return tgi_fail(ctx, TG_EINVAL, "not a link: it must start with http:// or https://");
    size_t slen = (size_t)(p - url);
    if (eq_nocase(url, slen, "http"))
        snprintf(out->scheme, sizeof(out->scheme), "http");
    else if (eq_nocase(url, slen, "https"))
        snprintf(out->scheme, sizeof(out->scheme), "https");
    else
        return tgi_fail(ctx, TG_EINVAL, "only http and https links are accepted, not %.*s:",
                        (int)(slen > 16 ? 16 : slen), url);
    if (p[1] != '/' || p[2] != '/')
        return tgi_fail(ctx, TG_EINVAL, "the link has no host");
    const char *auth = p + 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *end = url + len;

    if (memchr(auth, '@', (size_t)(auth_end - auth)))
        return tgi_fail(ctx, TG_EINVAL, "links with a user name or password are refused");

    /* host */
    const char *h = auth, *h_end, *after;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(auth_end - h));
        if (!rb)
            return tgi_fail(ctx, TG_EINVAL, "the link has an unterminated IPv6 address");
        h++;
        h_end = rb;
        after = rb + 1;
        size_t n = (size_t)(h_end - h);
        char tmp[64];
        struct in6_addr a6;
        if (n == 0 || n >= sizeof(tmp))
            return tgi_fail(ctx, TG_EINVAL, "the link has an invalid IPv6 address");
        memcpy(tmp, h, n);
        tmp[n] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return tgi_fail(ctx, TG_EINVAL, "the link has an invalid IPv6 address");
    } else {
        h_end = memchr(h, ':', (size_t)(auth_end - h));
        if (!h_end)
            h_end = auth_end;
        after = h_end;
        for (const char *c = h; c < h_end; c++)
            if (!is_alpha((unsigned char)*c) && !is_digit((unsigned char)*c) && *c != '.' &&
                *c != '-' && *c != '_')
                return tgi_fail(ctx, TG_EINVAL, "the link's host name contains '%.*s'",
                                (int)tgi_utf8_char_len(c), c); /* the whole character */
    }
    size_t hlen = (size_t)(h_end - h);
    if (hlen == 0)
        return tgi_fail(ctx, TG_EINVAL, "the link has no host");
    if (hlen > 253)
        return tgi_fail(ctx, TG_EINVAL, "the link's host name is too long");
    for (size_t i = 0; i < hlen; i++)
        out->host[i] = (char)lower((unsigned char)h[i]);
    out->host[hlen] = '\0';

    /* port */
    out->port = out->scheme[4] == 's' ? 443 : 80;
    if (after < auth_end) {
        if (*after != ':')
            return tgi_fail(ctx, TG_EINVAL, "the link has junk after its host");
        const char *d = after + 1;
        if (d == auth_end)
            return tgi_fail(ctx, TG_EINVAL, "the link has an empty port");
        long port = 0;
        for (; d < auth_end; d++) {
            if (!is_digit((unsigned char)*d))
                return tgi_fail(ctx, TG_EINVAL, "the link's port is not a number");
            port = port * 10 + (*d - '0');
            if (port > 65535)
                return tgi_fail(ctx, TG_EINVAL, "the link's port is out of range");
        }
        if (port < 1)
            return tgi_fail(ctx, TG_EINVAL, "the link's port is out of range");
        out->port = (int)port;
    }

    int yt = youtube_host(out->host);
    if (yt != YT_NONE) {
        if (!youtube_id(yt, auth_end, end, out->youtube_id))
            return tgi_fail(ctx, TG_EINVAL, "not a link to a single YouTube video");
        out->kind = TG_URL_YOUTUBE;
        snprintf(out->canonical, sizeof(out->canonical), "https://www.youtube.com/watch?v=%s",
                 out->youtube_id);
        return 0;
    }
    out->kind = TG_URL_DIRECT;
    memcpy(out->canonical, url, len + 1);
    return 0;
}

int tgi_url_parse(tg_ctx *ctx, const char *url, tgi_url *out)
{
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "no output for the parsed link");
    memset(out, 0, sizeof(*out));
    int rc = parse(ctx, url, out);
    if (rc)
        memset(out, 0, sizeof(*out)); /* nothing half-filled on failure */
    return rc;
}
