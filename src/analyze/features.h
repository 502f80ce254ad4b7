/*
 * features.h — per-sample signals measured on one small analysis frame.
 *
 * The analysis pass decodes the video at a small size (TG_ANALYSIS_SIDE on the long
 * side) and keeps, for every sample, a tgi_sample: a few numbers and a compact
 * descriptor — never the frame itself, so memory stays bounded by the sample count
 * (which the caller caps) whatever the video's resolution.
 *
 * Signals (all in [0,1] unless noted): luma mean, contrast (luma std), sharpness
 * (mean Laplacian energy, normalised by contrast), entropy of the luma histogram,
 * colourfulness (Hasler–Süsstrunk), motion (mean absolute difference of the luma
 * thumbnail to the previous sample), background fraction (pixels near the dominant
 * grey level) and strong-edge density (both for text-card and blank detection),
 * the 2nd/98th luma percentiles (a dim frame with highlights is legible, a black one
 * has none), black bars, a blurred fill's width (padding.h), a colour+edge descriptor
 * and a 32x18 luma thumbnail for similarity. The events module later sets event flags
 * and shot ids.
 */
#ifndef TG_ANALYZE_FEATURES_H
#define TG_ANALYZE_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "media/media.h"

#define TG_ANALYSIS_SIDE 192
#define TG_THUMB_W       32
#define TG_THUMB_H       18
#define TG_DESC_COLOR    64 /* 4x4x4 RGB histogram */
#define TG_DESC_EDGE     16 /* 8 orientations x 2 halves (top/bottom) */
#define TG_DESC_N        (TG_DESC_COLOR + TG_DESC_EDGE)

/* Why a sample must not be shown (set by analyze/events.c). */
enum tgi_bad {
    TG_BAD_BLACK = 1 << 0,     /* black or near-black frame */
    TG_BAD_WHITE = 1 << 1,     /* blown-out white frame */
    TG_BAD_UNIFORM = 1 << 2,   /* blank / near-uniform frame */
    TG_BAD_BLUR = 1 << 3,      /* blurred */
    TG_BAD_TEXT = 1 << 4,      /* title card or credits */
    TG_BAD_FADE = 1 << 5,      /* inside a fade to or from black/white */
    TG_BAD_DISSOLVE = 1 << 6,  /* inside a cross-fade */
    TG_BAD_FLASH = 1 << 7,     /* flash frame (and its neighbours) */
    TG_BAD_CUT = 1 << 8,       /* within the guard distance of a cut */
    TG_BAD_REPEAT = 1 << 9,    /* a shot that repeats earlier content (intro/outro) */
    TG_BAD_EXPOSURE = 1 << 10, /* badly under- or over-exposed */
    TG_BAD_NSFW = 1 << 11      /* flagged by the CNN's nsfw score (--safe strict) */
};
/* The flags the analysis sets (structure of the video, the same for any selection). */
#define TG_EVENT_FLAGS                                                                             \
    (TG_BAD_BLACK | TG_BAD_WHITE | TG_BAD_UNIFORM | TG_BAD_FADE | TG_BAD_DISSOLVE | TG_BAD_FLASH)

typedef struct tgi_sample {
    double t;
    float luma, contrast, sharp, entropy, colorful, motion, bgfrac, edges;
    float lo, hi; /* 2nd and 98th percentile of luma: is anything bright, anything dark */
    float desc[TG_DESC_N];
    uint8_t thumb[TG_THUMB_W * TG_THUMB_H];
    int16_t bar[4];    /* black bar thickness top, bottom, left, right (analysis pixels) */
    int16_t pad[2];    /* other padding's width left and right, top and bottom; -1: cannot
                        * tell (padding.h) */
    int16_t pad_in[2]; /* black bar lines inside that padding (padding.h) */
    uint16_t ev;       /* what analyze/events.c found: TG_EVENT_FLAGS only (black, white,
                        * blank, fade, dissolve, flash); defects relative to the video are
                        * select's verdicts (select/verdict.h) */
    int16_t shot;      /* shot index, -1 inside a transition */
} tgi_sample;

/* Options of the analyze stage (in tg_option_stages). */
extern const tg_opt tgi_analyze_opts[];

/* Analysis size for a display size: long side TG_ANALYSIS_SIDE, even sides. */
void tgi_analysis_size(int w, int h, int *aw, int *ah);

/* Fill s from one RGB24 frame. prev (the previous sample, or NULL) gives motion. The
 * luma's spread (lo, hi, contrast, entropy, bgfrac) and the strong edges are the
 * picture's: inside the frame's black bars when they frame it as a letterbox or a
 * pillarbox does (the same on two opposite sides, none on the others). The mean luma
 * (fades and flashes dim or light the frame as a whole), sharpness, the descriptor,
 * the thumbnail and motion are the whole frame's. */
void tgi_features_compute(const tgi_frame *f, const tgi_sample *prev, tgi_sample *s);

/* Distance between two samples' descriptors in [0,1] (0 = same content). */
float tgi_desc_distance(const tgi_sample *a, const tgi_sample *b);
/* Mean absolute difference of the luma thumbnails in [0,1]. */
float tgi_thumb_diff(const tgi_sample *a, const tgi_sample *b);
/* How different two samples look: descriptor and thumbnail together (a cut between
 * consecutive samples, or two picks that would look alike). */
float tgi_sample_distance(const tgi_sample *a, const tgi_sample *b);

/* How good a sample looks from its signals alone, in [0,1]: sharpness (against the
 * video's median med_sharp), exposure, contrast, colour, detail and a little motion. */
float tgi_signal_quality(const tgi_sample *x, float med_sharp);

/* Index of the first sample at or after time t (n when there is none); the samples
 * are in time order. */
size_t tgi_sample_at(const tgi_sample *s, size_t n, double t);
/* Median of v (reorders v); 0 for n == 0. */
float tgi_median(float *v, size_t n);

#endif
