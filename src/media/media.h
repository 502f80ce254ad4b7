/*
 * media.h — probe and decode a video file with libavformat/libavcodec/libswscale.
 *
 * tgi_media_open() probes the file and validates what thumbgen depends on (a video
 * stream, a decoder, sane size and frame rate); its info is in *display* terms: the
 * rotation from the container's display matrix and the sample aspect ratio are
 * applied, so callers never see storage geometry.
 *
 * tgi_media_decode() streams frames of a time range [start, end) to a callback,
 * scaled (and cropped, and rotated) to the size asked for. It is used twice: once
 * for the whole video at a small analysis size, then once per chosen clip at
 * output size. Times are seconds of the presentation timeline, first frame = 0,
 * taken from timestamps, never from frame counts (variable frame rate is fine).
 * A frame buffer handed to the callback is borrowed and valid only during the call.
 * A decode can also take stills on the way (tgi_still_req: a poster, a contact sheet's
 * cells): each the frame a decode of its own would give, at its own size, so one pass
 * from a keyframe serves a clip and the stills near it (tgi_media_seek_landing says which).
 */
#ifndef TG_MEDIA_MEDIA_H
#define TG_MEDIA_MEDIA_H

#include <stdint.h>

#include "thumbgen.h"

typedef struct tgi_media tgi_media;

typedef struct tgi_media_info {
    double duration;   /* seconds, from the container (may be refined by decoding) */
    double fps;        /* average frame rate */
    int width, height; /* display size */
    int coded_w, coded_h;
    int rotation; /* clockwise degrees applied for display: 0, 90, 180, 270 */
    double sar;   /* sample aspect ratio (1 = square pixels) */
    char codec[32];
    int still; /* a picture file (PNG, JPEG, …) rather than a video */
} tgi_media_info;

/* Limits enforced by tgi_media_open (TG_ELIMIT beyond them). */
#define TG_MEDIA_MIN_SIDE     16
#define TG_MEDIA_MAX_SIDE     8192
#define TG_MEDIA_MAX_FPS      1000.0
#define TG_MEDIA_MAX_DURATION (24.0 * 3600.0)

int tgi_media_open(tg_ctx *ctx, const char *path, int threads, tgi_media **out);
/* The same file opened again (its own demuxer: another thread may decode with it while
 * m is used), with the same info. */
int tgi_media_open_again(tg_ctx *ctx, const tgi_media *m, int threads, tgi_media **out);
const tgi_media_info *tgi_media_get_info(const tgi_media *m);
/* What the decodes on m did so far (for tests and benchmarks): decodes run, and packets
 * handed to the decoder (decoded, or skipped by it as nothing refers to them). */
void tgi_media_work(const tgi_media *m, unsigned long *decodes, unsigned long *packets);
void tgi_media_close(tgi_media **m);

enum tgi_pix { TG_PIX_RGB24 = 0, TG_PIX_RGBA = 1 };

enum tgi_decode_flags {
    TG_DECODE_FAST = 1,    /* analysis quality: skip the loop filter, bilinear scaling */
    TG_DECODE_NONREF = 2,  /* skip non-reference frames (coarse sampling) */
    TG_DECODE_KEYONLY = 4, /* keyframes only: a very cheap coarse pass */
};

typedef struct tgi_frame {
    double t;        /* presentation time, seconds */
    double duration; /* until the next frame (or an estimate for the last) */
    int width, height, stride;
    int pix; /* enum tgi_pix */
    const uint8_t *data;
    /* The side copy (RGB24, side_w x side_h, tightly packed) when the request asked
     * for one and it is due at this frame; NULL otherwise. */
    const uint8_t *side;
    /* The second side copy (RGB24, side2_w x side2_h as asked), likewise. */
    const uint8_t *side2;
    int side2_w, side2_h;
} tgi_frame;

/* Return 0 to go on, 1 to stop early (not an error), or a negative TG_E code. */
typedef int (*tgi_frame_fn)(void *user, const tgi_frame *f);

/* Whether the frame at t, followed by one at next_t (INFINITY after the last), is wanted:
 * 0 drops it before it is scaled. Frames then reach the callback one decoded frame late. */
typedef int (*tgi_need_fn)(void *user, double t, double next_t);

/* Whether a frame shown from t0 until t1 (t1 >= the next frame's time) could be wanted:
 * a pure function of its arguments (the caller's state must not depend on which frames it
 * was given). 0 lets the decoder skip a frame nothing refers to before decoding it. */
typedef int (*tgi_span_fn)(void *user, double t0, double t1);

/* What a decode did (counts of frames in [start, end)). */
typedef struct tgi_decode_stats {
    int decoded;     /* out of the decoder, in range, past the interval filter */
    int converted;   /* scaled and handed to the callback */
    int keys_spared; /* 1: stopped before a keyframe at the end (closed GOP), not decoded */
    int tail_spared; /* 1: stopped reading once nothing left could be shown before end */
    int relandings;  /* seeks further back: the keyframe landed on did not decode cleanly */
} tgi_decode_stats;

/* A still: the first frame in [t, until), scaled like the range's frames (same crop and
 * scaler) to width x height in pix, copied into buf (width * height * 3 or 4 bytes).
 * got is set when it was taken; a still not taken (no frame there, or the decode stopped
 * early) is the caller's to take another way. */
typedef struct tgi_still_req {
    double t, until;
    int width, height, pix;
    uint8_t *buf;
    int got;
} tgi_still_req;

typedef struct tgi_decode_req {
    double start, end;   /* [start, end) seconds; end <= 0 means to the end */
    int width, height;   /* output size in display orientation */
    tg_rect crop;        /* source area in display pixels; w == 0 means all */
    int pix;             /* enum tgi_pix */
    int flags;           /* enum tgi_decode_flags */
    double min_interval; /* drop frames closer than this to the last one delivered */
    const char *stage;   /* progress stage name, or NULL for none */
    /* A second copy of some frames at another size (e.g. a CNN's square input,
     * squashed like the whole picture): at most one per side_interval seconds, from
     * the same decode. side_w == 0: none. */
    int side_w, side_h;
    double side_interval;
    /* A second one, at its own size and interval (the subject detector's input beside
     * the CNN's: larger than the analysis frame, on fewer frames). side2_w == 0: none. */
    int side2_w, side2_h;
    double side2_interval;
    /* Optional (NULL: every frame is wanted): asked with the next frame's time before a
     * frame is scaled, for callers that show only some frames (an output frame rate
     * below the video's). */
    tgi_need_fn need;
    /* Optional, with need: asked per packet in [start, end) before it is decoded, with the
     * next frame's time as far as the packets sent before it tell (never earlier than the
     * true one). A frame no interval it could be shown in is wanted for,
     * and that no other frame refers to, is not decoded at all (AVDISCARD_NONREF). The
     * first frame of the range is always decoded. */
    tgi_span_fn span_needed;
    tgi_decode_stats *stats; /* optional: filled when not NULL */
    /* Stills taken on the way (n_stills 0: none). The decode starts early enough for the
     * earliest and goes on past end until each is taken or its `until` is passed. A
     * request with fn NULL takes stills only (start, end, width and height unused). */
    tgi_still_req *stills;
    size_t n_stills;
    /* Decoder threads for this decode; 0: the count the media was opened with. */
    int threads;
} tgi_decode_req;

/* Decode [start, end) and call fn for each frame. Reports progress as the fraction
 * of the range done. The last decoded time is in *last_t when not NULL.
 * Packets whose frames no one asked for are decoded only when other frames refer to them
 * (AVDISCARD_NONREF per packet): before start (the pre-roll from the keyframe), after the
 * first frame past end, and likewise around each still; the frames handed out are those
 * of a plain decode, byte for byte (tests/unit/test_render.c). */
int tgi_media_decode(tg_ctx *ctx, tgi_media *m, const tgi_decode_req *req, tgi_frame_fn fn,
                     void *user, double *last_t);

/* Where a decode starting at t begins reading: an opaque mark of the packet its seek lands
 * on (two decodes with equal marks read the same packets from the same keyframe, so a
 * frame is the same in either). Seeks the file (cheap: no decoding). *mark = -1 when it
 * cannot be told (a picture file, nothing read): then do not share decodes. */
int tgi_media_seek_landing(tg_ctx *ctx, tgi_media *m, double t, int64_t *mark);

#endif
