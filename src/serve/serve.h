/*
 * serve.h — the web app's entry points for the application (src/cli): its options,
 * running it, stopping it, and `thumbgen doctor`. Part of the application, not of
 * libthumbgen (thumbgen.h): the server uses the library through thumbgen.h, the store
 * (src/store) and yt-dlp (src/fetch). server.h is what serve's own files share.
 */
#ifndef TG_SERVE_SERVE_H
#define TG_SERVE_SERVE_H

#include <stdio.h>

#include "fetch/ytdlp.h"
#include "thumbgen.h"

/* The server's options; tgi_serve_opts_default gives every default (the one place
 * they are written: the CLI's --help reads them from it). */
typedef struct tgi_serve_opts {
    const char *host;     /* address to listen on */
    int port;             /* 0 picks a free one */
    const char *data_dir; /* database, videos/ and thumbnails/ */
    const char *web_dir;  /* the page's files */
    const char *ytdlp;    /* yt-dlp binary */
    int workers;          /* analyse/render workers */
    int downloaders;      /* download workers */
    int allow_private_urls;
    long long max_upload;          /* bytes */
    int max_queue;                 /* queued jobs before 429 */
    int max_video_seconds;         /* downloads longer than this are refused */
    int download_timeout;          /* seconds */
    int quiet;                     /* no request log on stderr */
    const char *ytdlp_cookies;     /* --cookies FILE for yt-dlp, or NULL */
    const char *const *ytdlp_args; /* extra yt-dlp arguments (borrowed) */
    int n_ytdlp_args;
    int ytdlp_update; /* enum tgi_ytdlp_update */
    /* Access (docs/api.md, "Access"): Host names besides the listening address
     * (NULL-terminated, or NULL), and the API token: read from token_file, or made at
     * start when require_token is set or the address is not loopback (no_auth: none). */
    const char *const *public_hosts;
    const char *token_file;
    int require_token;
    int no_auth;
    /* The job store (docs/deploy.md): NULL for sqlite:DATA/thumbgen.db, or
     * "sqlite:PATH" or "postgres://…", which many API processes and workers share. */
    const char *store;
    int no_http;      /* a worker only (thumbgen worker): no HTTP server */
    int lease_ms;     /* a claim's lease */
    int heartbeat_ms; /* lease renewal and reaping period */
    int max_attempts; /* lost leases before a job fails */
} tgi_serve_opts;

/* thumbgen doctor: one line per part on out (yt-dlp and its JavaScript runtime, the
 * ffmpeg libraries, the CNN weights, the data folder, Chromium for the browser test),
 * each "ok" or what is wrong and the command that fixes it. Returns the number of
 * required parts that are missing (0: all good). */
int tgi_doctor(const char *ytdlp, const char *data_dir, FILE *out);

void tgi_serve_opts_default(tgi_serve_opts *o);
/* Run the server until tgi_serve_stop() is called (for example from a SIGINT
 * handler). Running jobs are left to be resumed on the next start. */
int tgi_serve_run(tg_ctx *ctx, const tgi_serve_opts *o);
/* Async-signal-safe: ask a running tgi_serve_run to stop. */
void tgi_serve_stop(void);

#endif
