/*
 * ytdlp.h — download a video with yt-dlp as a subprocess (argument vector, never a
 * shell), with progress, size/duration limits, a timeout and cancellation.
 *
 * Command (see shared notes §4): yt-dlp --no-playlist
 *   -f "bv[height<=?1080]/bv*[height<=?1080]/b[height<=?1080]/b" -S "+res:N"
 *   (video only, and of the renditions the smallest whose smaller side is at least N,
 *   never above 1080p: a 480-px GIF takes a 360p stream, the 1280-px poster 720p; with
 *   need_audio "bv*[…]+ba/b[…]/b" instead) --newline --progress --progress-template "download:PROG
 * …" --print after_move:filepath -o OUTDIR/NAME.%(ext)s --max-filesize N --match-filters
 * "duration<=?D & !is_live"
 *   --no-part --restrict-filenames --no-mtime --socket-timeout 20 --ignore-config
 *   [--js-runtimes NAME:PATH] [--cookies FILE] [operator's extra args] -- URL
 * ("<=?": a direct file has no known duration and must pass; the decoder enforces
 * the limit for it.)
 * When private addresses are not allowed, yt-dlp runs with --proxy pointing at an
 * egress guard (guard.h) that checks every connection it makes — redirects and
 * fresh DNS answers included — and a refusal there is TG_EREFUSED.
 * "exit 0 but no path printed" is a failure (max-filesize exceeded). yt-dlp's own
 * ERROR line becomes the message (one sentence, "ERROR: " and "[extractor] id:"
 * prefixes removed; YouTube's bot check, network failures and crashes get a sentence
 * of our own; never a traceback or a server path). A download that is not a video
 * container (a web page) is TG_EFORMAT and removed.
 *
 * tgi_ytdlp_probe runs `yt-dlp --version` and looks for a JavaScript runtime (deno
 * >= 2 beside yt-dlp or on PATH, then node >= 20): since 2025.11.12 yt-dlp needs one
 * for YouTube. tgi_ytdlp_update upgrades a yt-dlp that lives in a Python virtualenv
 * (BIN's folder holds `python`) with pip; Debian's is left to apt.
 */
#ifndef TG_FETCH_YTDLP_H
#define TG_FETCH_YTDLP_H

#include <stdint.h>

#include "thumbgen.h"

/* --ytdlp-update: upgrade the project's own yt-dlp (a virtualenv) with pip never, at
 * start (in the background), or at start and then every 24 h */
enum tgi_ytdlp_update {
    TG_YTDLP_UPDATE_NEVER = 0,
    TG_YTDLP_UPDATE_START = 1,
    TG_YTDLP_UPDATE_DAILY = 2
};

/* What a yt-dlp can do (tgi_ytdlp_probe): its version, the JavaScript runtime it would
 * use, and whether YouTube links can work (version >= TG_YTDLP_MIN_YOUTUBE and a
 * runtime); notice is the one sentence the page shows when they cannot. */
#define TG_YTDLP_MIN_YOUTUBE "2025.11.12"
typedef struct tgi_ytdlp_info {
    char version[32];    /* "2023.03.04"; "" when yt-dlp cannot be run */
    char js_name[8];     /* "deno" or "node"; "" when none was found */
    char js_version[32]; /* "2.5.6", "20.19.2" */
    char js_path[512];
    int youtube_ok;
    char notice[400]; /* "" when youtube_ok */
} tgi_ytdlp_info;

typedef struct tgi_ytdlp_opts {
    const char *binary;            /* path or name of yt-dlp ("yt-dlp" searched in PATH) */
    const char *out_dir;           /* folder for the download (must exist) */
    const char *out_name;          /* file name without extension (e.g. a job id): never a title */
    int64_t max_bytes;             /* --max-filesize */
    int max_seconds;               /* duration filter */
    int timeout_s;                 /* kill the download after this many seconds */
    int allow_private;             /* when 0, the URL's host must pass tgi_host_check first */
    int min_res;                   /* smallest rendition whose smaller side is >= this (0: 1080) */
    int need_audio;                /* 0: video only */
    const char *js_runtime;        /* "node:/usr/bin/node" → --js-runtimes; NULL: none */
    const char *cookies;           /* --cookies FILE, or NULL */
    const char *const *extra_args; /* operator's own arguments, before "--" */
    int n_extra;
    struct tgi_ytdlp_got *got; /* optional: filled on success */
} tgi_ytdlp_opts;

/* What was downloaded (from yt-dlp's own report of the chosen format). */
typedef struct tgi_ytdlp_got {
    char format_id[64];
    int width, height; /* 0 when yt-dlp did not know */
    int has_audio;
} tgi_ytdlp_got;

/* The smaller-side resolution that covers the largest output of o (the GIF's
 * width; the poster's 1280 px under upscale auto/hd; 1920 px for fullhd) on a
 * 16:9 source, capped at 1080; why (optional) gets a sentence saying so. */
int tgi_ytdlp_needed_res(const tg_options *o, char *why, size_t why_n);

/* The yt-dlp at binary and its JavaScript runtime (see thumbgen.h for the fields).
 * Never fails: a missing yt-dlp is info->version "" and a notice. ctx (optional):
 * cancelling it ends the probe early (what was not asked yet stays unknown). */
void tgi_ytdlp_probe(tg_ctx *ctx, const char *binary, tgi_ytdlp_info *info);

/* pip install --upgrade "yt-dlp[default]" in the virtualenv that holds binary, within
 * timeout_s. TG_ENOENT when binary is not in a virtualenv (Debian's: apt updates it),
 * TG_EIO with one sentence when pip fails (no network, index unreachable). */
int tgi_ytdlp_update(tg_ctx *ctx, const char *binary, int timeout_s);

/* Download url. Progress goes to tgi_progress(ctx, "download", fraction); a cancel
 * request (tg_ctx_cancel) kills yt-dlp within ~100 ms and returns TG_ECANCEL. On
 * success *path is the downloaded file (malloc'd, inside out_dir). Errors:
 * TG_EIO (yt-dlp missing or failed to start), TG_ELIMIT (too big, too long, live,
 * refused host), TG_EFORMAT (no video found at the URL), TG_ECANCEL, and TG_EIO
 * for other download failures — each with yt-dlp's reason in the message. */
int tgi_ytdlp_download(tg_ctx *ctx, const tgi_ytdlp_opts *o, const char *url, char **path);

#endif
