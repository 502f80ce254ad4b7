/*
 * guard.h — the egress guard: a tiny HTTP forward proxy on 127.0.0.1 that yt-dlp
 * must use, so that every connection it makes is checked, not only the first.
 *
 * Why: ytdlp.c checks the host of a submitted link (tgi_host_check) before yt-dlp
 * runs, but yt-dlp then resolves the name again and follows HTTP redirects by
 * itself. A public link that redirects to http://169.254.169.254/ (or whose name
 * resolves to 127.0.0.1 the second time: DNS rebinding) would be fetched. With
 * `--proxy http://127.0.0.1:PORT` every request yt-dlp makes — the first one, each
 * redirect, each fragment, and ffmpeg's through http_proxy — comes here first.
 *
 * For each client connection (from 127.0.0.1 only) the guard reads one request:
 *   CONNECT host:port HTTP/1.1            → a tunnel (HTTPS)
 *   GET http://host[:port]/path HTTP/1.1  → sent on as "GET /path HTTP/1.1", with
 *                                           Proxy-* and Connection headers replaced by
 *                                           "Connection: close" (both ways): one
 *                                           upstream request per client connection
 * It resolves the host itself, refuses with "403 Forbidden" when ANY address is
 * private (tgi_addr_is_private; skipped when allow_private), and connects only to an
 * address it checked — never resolving again, so there is no rebinding window.
 * Then bytes are spliced both ways until the origin closes. Limits: 16 concurrent
 * connections (more wait in the listen queue), 10 s to connect, 60 s idle.
 *
 * Threads: one acceptor plus one per connection; tgi_guard_stop wakes and joins them
 * all (a connection inside getaddrinfo finishes that call first).
 */
#ifndef TG_FETCH_GUARD_H
#define TG_FETCH_GUARD_H

#include <stddef.h>

#include "thumbgen.h"

typedef struct tgi_guard tgi_guard;

/* Listen on 127.0.0.1 (ephemeral port) and serve in a thread of its own. *out is
 * owned by the caller (tgi_guard_stop). Errors: TG_EIO (socket, thread), TG_ENOMEM. */
int tgi_guard_start(tg_ctx *ctx, int allow_private, tgi_guard **out);

/* The port it listens on (the proxy is http://127.0.0.1:PORT). */
int tgi_guard_port(const tgi_guard *g);

/* The first refusal as one sentence ("refused to connect to 169.254.169.254:
 * link-local address 169.254.169.254"), or "" when nothing was refused; copied into
 * buf (always NUL-terminated when n > 0). Safe while the guard runs. */
void tgi_guard_refusal(tgi_guard *g, char *buf, size_t n);

/* How many requests were refused so far. */
unsigned tgi_guard_refused(tgi_guard *g);

/* Stop: close the listener and every connection, join the threads, free. Accepts
 * NULL and *g == NULL; sets *g to NULL. */
void tgi_guard_stop(tgi_guard **g);

#endif
