/*
 * playable.h — a copy of a video that every browser plays, for the page's player.
 *
 * The page shows the original beside its GIF and seeks it to each clip. Browsers
 * play H.264/VP8/VP9/AV1 in MP4 or WebM, and nothing else: an AVI, WMV, MPEG-TS, an
 * MKV with MPEG-4 part 2, or HEVC shows a black box. tgi_playable_needed says whether
 * a file needs a copy; tgi_playable_make writes one: H.264 (libx264 through
 * libavcodec, preset veryfast, CRF 23), yuv420p, at most 720 px tall (never
 * upscaled), timestamps from the source's start so clip times match, MP4 with the
 * index in front (+faststart), and no audio (the page plays it muted).
 */
#ifndef TG_MEDIA_PLAYABLE_H
#define TG_MEDIA_PLAYABLE_H

#include "thumbgen.h"

/* 1 when a browser cannot play path as it is (or it cannot be opened), 0 when it can. */
int tgi_playable_needed(const char *path);

/* Write the copy of src to dst (created or replaced; removed on failure). Progress
 * goes to tgi_progress(ctx, "playable", fraction); cancel returns TG_ECANCEL. */
int tgi_playable_make(tg_ctx *ctx, const char *src, const char *dst);

#endif
