/*
 * mp4.h — the MP4 encoder: RGBA frames in, a muted H.264 MP4 out, for a page that
 * plays it as a looping <video autoplay muted loop>.
 *
 * H.264 by libx264 through libavcodec (yuv420p, constant quality CRF, preset
 * "medium", one thread), one video stream and no audio, moov atom before mdat
 * (+faststart) so playback starts before the whole file arrived. All frames last
 * 1/fps. Colour: BT.709 for HD (width >= 1280 or height >= 720), BT.601 below, limited
 * range; the conversion matrix and the tags written to the stream always agree. When
 * libavcodec has no libx264, another H.264 encoder and then MPEG-4 part 2 are tried
 * (tgi_mp4_encoder_name() says which one runs).
 *
 * Invariants: the same frames and parameters give the same bytes (x264 runs one
 * thread; see mp4.c); no global state, so encoders may run in parallel threads (one
 * tgi_mp4 per thread). The encoder writes to a path, not an fd: +faststart rewrites
 * the file at the end, which needs a seekable, re-openable file. The caller passes a
 * temp path and renames it. Same shape as gif.h/webp.h otherwise.
 */
#ifndef TG_RENDER_MP4_H
#define TG_RENDER_MP4_H

#include <stdint.h>

#include "thumbgen.h"

typedef struct tgi_mp4 tgi_mp4;

typedef struct tgi_mp4_params {
    int width, height; /* 2..4096, both even (yuv420p) */
    double fps;        /* 1..60, may be fractional (29.97) */
    int quality; /* 1..100 → x264 CRF 40..18 (linear: 100 → 18, 90 → 20.2, 75 → 23.6) */
} tgi_mp4_params;

/* Create (truncate) the file at path and start the MP4. *out is owned by the caller
 * (tgi_mp4_end or tgi_mp4_free). */
int tgi_mp4_begin(tg_ctx *ctx, const char *path, const tgi_mp4_params *p, tgi_mp4 **out);
/* Add one frame lasting 1/fps: rgba is width*height*4 bytes, tightly packed, borrowed;
 * alpha is ignored. After a failure the encoder only accepts tgi_mp4_end/free. */
int tgi_mp4_add(tg_ctx *ctx, tgi_mp4 *m, const uint8_t *rgba);
/* Flush the encoder, write the index (moving it to the front), close the file and free
 * *m (sets *m = NULL), also on error. Error (TG_EINVAL) if no frame was added. */
int tgi_mp4_end(tg_ctx *ctx, tgi_mp4 **m);
/* Abandon: close and free (*m = NULL); the partial file stays for the caller to delete.
 * Accepts NULL. */
void tgi_mp4_free(tgi_mp4 **m);

/* The libavcodec encoder in use ("libx264", or a fallback); static string. */
const char *tgi_mp4_encoder_name(const tgi_mp4 *m);

#endif
