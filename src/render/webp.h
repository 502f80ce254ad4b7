/*
 * webp.h — the animated WebP encoder: RGBA frames in, a looping animated WebP out.
 *
 * A thin adapter over libwebp's WebPAnimEncoder (libwebpmux). Each frame is encoded
 * lossy (VP8, at `quality`) or lossless (VP8L); the animation encoder itself decides
 * which sub-rectangle of a frame changed and writes only that (ANMF chunks). The whole
 * file is assembled in memory and written to the fd in tgi_webp_end().
 *
 * Invariants: the same frames and parameters give the same bytes; no global state,
 * so encoders may run in parallel threads (one tgi_webp per thread); libwebp runs on
 * the calling thread only (jobs are parallel at a higher level); the fd is borrowed
 * and never closed; the input alpha channel is ignored (frames are opaque). Same
 * shape as gif.h, so the render stage drives either the same way.
 */
#ifndef TG_RENDER_WEBP_H
#define TG_RENDER_WEBP_H

#include <stdint.h>

#include "thumbgen.h"

typedef struct tgi_webp tgi_webp;

typedef struct tgi_webp_params {
    int width, height; /* canvas size, 1..4096 */
    int quality;       /* 1..100: the lossy quality; with lossless, the compression effort */
    int lossless;      /* non-zero: every frame lossless (VP8L) */
    int loop_count;    /* 0 = loop forever; N (1..65535) = play N times */
} tgi_webp_params;

/* Start an animated WebP for fd (borrowed: not closed by tgi_webp_end). Nothing is
 * written before tgi_webp_end(). *out is owned by the caller (tgi_webp_end/tgi_webp_free). */
int tgi_webp_begin(tg_ctx *ctx, int fd, const tgi_webp_params *p, tgi_webp **out);
/* Add one frame shown for duration_ms (1..65535): rgba is width*height*4 bytes, tightly
 * packed, borrowed. After a failure the encoder only accepts tgi_webp_end/free. */
int tgi_webp_add(tg_ctx *ctx, tgi_webp *w, const uint8_t *rgba, int duration_ms);
/* Assemble the file, write all of it to fd and free *w (sets *w = NULL), also on error.
 * Error (TG_EINVAL) if no frame was added; TG_EIO when writing fails. */
int tgi_webp_end(tg_ctx *ctx, tgi_webp **w);
/* Abandon without writing anything (frees, *w = NULL). Accepts NULL. */
void tgi_webp_free(tgi_webp **w);

#endif
