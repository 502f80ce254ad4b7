/*
 * gif.h — the animated GIF encoder: RGBA frames in, a looping GIF89a out.
 *
 * Palettes come from libimagequant (up to 256 colours): the first frame's is the
 * global colour table, later frames reuse it (or the last local palette) while the
 * error stays small, else get their own. Pixels are packed by our LZW compressor
 * (lzw.h; lossy below quality 95) and the file is written with giflib. Frames after
 * the first are compared with the *displayed
 * canvas* (what a viewer shows so far); only the bounding box of the pixels that
 * changed is written, with the unchanged ones transparent (DISPOSE_DO_NOT). A frame
 * with no change is not written: its delay is added to the frame before it, which
 * the encoder holds back until the next change or tgi_gif_end().
 *
 * Each frame's per-pixel work (change search, palette mapping, LZW in segments) is
 * shared with worker threads that the encoder owns (tgi_gif_params.threads); the calls
 * below stay synchronous and single-caller. Frames held in memory and cut into clips
 * (tgi_gif_encode_frames) start each clip with a key frame, written whole, that does not
 * depend on the clips before but through the global palette, and so does a frame inside
 * a clip where a fade sweeps over it (its colours move on everywhere): the segments
 * between key frames are then encoded side by side, one per thread.
 *
 * Invariants: the output is deterministic (same frames and parameters give the same
 * bytes, whatever the number of threads); the encoder has no global state, so encoders
 * may run in parallel threads (one tgi_gif per thread); the fd is borrowed and never
 * closed; the input alpha channel is ignored (frames are treated as opaque). Called by
 * the render stage.
 */
#ifndef TG_RENDER_GIF_H
#define TG_RENDER_GIF_H

#include <stddef.h>
#include <stdint.h>

#include "thumbgen.h"

typedef struct tgi_gif tgi_gif;

/* Palettes: AUTO (the default) makes a new palette only when neither the global one
 * (the first frame's) nor the last one made fits the frame within the quality's error
 * limit; SHARED maps every frame to the global palette (smallest, can band on clips
 * whose colours change); LOCAL makes a new palette for every frame. */
enum { TG_GIF_PALETTE_AUTO = 0, TG_GIF_PALETTE_SHARED, TG_GIF_PALETTE_LOCAL };

typedef struct tgi_gif_params {
    int width, height; /* canvas size, 1..4096 */
    int quality;       /* 1..100: maps to libimagequant's quality limit, the lossy LZW
                          tolerance (exact at 95 and above) and the palette reuse limit,
                          each moving one way, so size and picture grow with it (gif.c) */
    int loop_count;    /* 0 = loop forever; N (1..65535) = the NETSCAPE2.0 repeat count */
    int palette;       /* TG_GIF_PALETTE_*: 0 = AUTO */
    int threads;       /* threads that work on each frame, the caller's included: 0 = one
                          per CPU (at most 4), 1 = the caller's only; 0..64. The output is
                          the same bytes whatever the number. */
} tgi_gif_params;

/* Start a GIF written to fd (borrowed: not closed by tgi_gif_end). Output is buffered:
 * the bytes reach fd at the latest in tgi_gif_end(). *out is owned by the caller
 * (tgi_gif_end or tgi_gif_free). */
int tgi_gif_begin(tg_ctx *ctx, int fd, const tgi_gif_params *p, tgi_gif **out);
/* Add one frame: rgba is width*height*4 bytes, tightly packed, borrowed. delay_cs >= 1
 * (centiseconds, at most 65535; delays below 2 are written as 2 because browsers
 * slow 0-1 down to 10). After a failure the encoder only accepts tgi_gif_end/free. */
int tgi_gif_add(tg_ctx *ctx, tgi_gif *g, const uint8_t *rgba, int delay_cs);
/* Write the trailer and free g (sets *g = NULL), also on error. Error if no frame was
 * added. */
int tgi_gif_end(tg_ctx *ctx, tgi_gif **g);
/* Abandon without finishing (frees, *g = NULL). Accepts NULL. */
void tgi_gif_free(tgi_gif **g);

/* Frames in memory, for tgi_gif_encode_frames. */
typedef struct tgi_gif_frames {
    size_t n;                   /* >= 1 */
    const uint8_t *const *rgba; /* n frames of width*height*4 bytes, borrowed */
    const int *delay_cs;        /* n delays, as tgi_gif_add's */
    const int *clip;            /* n clip numbers, or NULL (one clip): where the number changes
                                   (a cut) the frame is a key frame */
    /* called on the caller's thread with the number of frames encoded so far (not every
     * one: after the frames of the clips the caller's thread encodes, and with n at the
     * end); nonzero stops the encoding, which then returns that value. May be NULL. */
    int (*progress)(void *user, size_t done);
    void *user;
    size_t *segments; /* when not NULL: set to the segments encoded (key frames + 1; tests) */
} tgi_gif_frames;

/* The whole GIF of in's frames into fd (borrowed). The same bytes as tgi_gif_begin,
 * tgi_gif_add for each frame and tgi_gif_end when there is one clip and no fade in it;
 * else each clip after the first starts with a key frame: the whole frame, opaque, with
 * the global palette if it fits else a new one (the clip before's palette is not
 * reused), and so does a frame inside a clip where a fade sweeps over it, at least 5
 * frames from the clip's ends and the key frame before (gif.c, seg_cuts): the segments
 * between key frames are encoded side by side on up to p->threads threads. Where the
 * key frames are depends only on the frames: the bytes do not depend on the number of
 * threads. */
int tgi_gif_encode_frames(tg_ctx *ctx, int fd, const tgi_gif_params *p, const tgi_gif_frames *in);

#endif
