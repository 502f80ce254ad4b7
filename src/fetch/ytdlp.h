/*
 * ytdlp.h — download a video with yt-dlp as a subprocess (argument vector, never a
 * shell), with progress, size/duration limits, a timeout and cancellation.
 *
 * Command (see shared notes §4): yt-dlp --no-playlist -f "bv*[height<=?1080]/b[height<=?1080]/b"
 *   --newline --progress --progress-template "download:PROG …" --print after_move:filepath
 *   -o OUTDIR/NAME.%(ext)s --max-filesize N --match-filters "duration<=?D & !is_live"
 *   --no-part --restrict-filenames --no-mtime --socket-timeout 20 --ignore-config -- URL
 * ("<=?": a direct file has no known duration and must pass; the decoder enforces
 * the limit for it.)
 * When private addresses are not allowed, yt-dlp runs with --proxy pointing at an
 * egress guard (guard.h) that checks every connection it makes — redirects and
 * fresh DNS answers included — and a refusal there is TG_EREFUSED.
 * "exit 0 but no path printed" is a failure (max-filesize exceeded). yt-dlp's own
 * ERROR line becomes the message (one sentence, "ERROR: " and "[extractor] id:"
 * prefixes removed).
 */
#ifndef TG_FETCH_YTDLP_H
#define TG_FETCH_YTDLP_H

#include <stdint.h>

#include "thumbgen.h"

typedef struct tg_ytdlp_opts {
    const char *binary;   /* path or name of yt-dlp ("yt-dlp" searched in PATH) */
    const char *out_dir;  /* folder for the download (must exist) */
    const char *out_name; /* file name without extension (e.g. a job id): never a title */
    int64_t max_bytes;    /* --max-filesize */
    int max_seconds;      /* duration filter */
    int timeout_s;        /* kill the download after this many seconds */
    int allow_private;    /* when 0, the URL's host must pass tg_host_check first */
} tg_ytdlp_opts;

/* Download url. Progress goes to tg_progress(ctx, "download", fraction); a cancel
 * request (tg_ctx_cancel) kills yt-dlp within ~100 ms and returns TG_ECANCEL. On
 * success *path is the downloaded file (malloc'd, inside out_dir). Errors:
 * TG_EIO (yt-dlp missing or failed to start), TG_ELIMIT (too big, too long, live,
 * refused host), TG_EFORMAT (no video found at the URL), TG_ECANCEL, and TG_EIO
 * for other download failures — each with yt-dlp's reason in the message. */
int tg_ytdlp_download(tg_ctx *ctx, const tg_ytdlp_opts *o, const char *url, char **path);

/* Tests only: the same without the up-front check of the URL's host, to simulate a
 * public link that leads to a private address; the guard still checks every
 * connection when o->allow_private is 0. */
int tg_ytdlp_download_skip_precheck(tg_ctx *ctx, const tg_ytdlp_opts *o, const char *url,
                                    char **path);

#endif
