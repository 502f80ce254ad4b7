/*
 * frames.h — the animation as a list of frames in memory: RGBA at output size,
 * each with its display time and the clip it belongs to. The renderer fills it
 * once from the video; every encoder (GIF, WebP, MP4) and every rung of the
 * byte-budget ladder reads it, so the video is decoded once whatever is asked.
 * Memory is capped (TG_FRAMES_MAX_BYTES): options that would need more fail with
 * a clear message instead of swapping.
 */
#ifndef TG_RENDER_FRAMES_H
#define TG_RENDER_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "thumbgen.h"

#define TG_FRAMES_MAX_BYTES ((size_t)768 << 20)

typedef struct tgi_frames {
    int w, h;
    size_t n, cap;
    uint8_t **rgba; /* n frames of w*h*4 bytes, owned */
    int *delay_cs;  /* display time of each frame, centiseconds */
    int *clip;      /* index of the clip (or still) each frame belongs to */
    int cuts;       /* 1: a change of clip is a cut (clips of a video, slideshow stills): the
                       GIF starts each with a key frame and encodes them side by side;
                       0: the clips are one animation (image files) */
} tgi_frames;

/* Append a copy of rgba (w*h*4 bytes, borrowed). */
int tgi_frames_add(tg_ctx *ctx, tgi_frames *f, const uint8_t *rgba, int delay_cs, int clip);
/* Move frame i of `from` (the same size) to the end of f with delay_cs, as tgi_frames_add
 * would copy it (the same cap); from keeps a NULL in its place. */
int tgi_frames_append(tg_ctx *ctx, tgi_frames *f, tgi_frames *from, size_t i, int delay_cs);
void tgi_frames_free(tgi_frames *f);

/* A derived animation for a rung of the byte-budget ladder: every `step`-th frame
 * (delays merged, so the timing holds), each clip cut to its first `keep` share
 * (0 < keep <= 1), scaled to width w2 (even; 0 = same size). *out is freed with
 * tgi_frames_free. */
int tgi_frames_derive(tg_ctx *ctx, const tgi_frames *in, int step, double keep, int w2,
                      tgi_frames *out);

#endif
