/*
 * events.h — from the per-sample signals to the video's structure: hard cuts,
 * fades, dissolves, flash frames, empty (black/white/blank) frames, shots, and
 * letterbox/pillarbox bars.
 *
 * Input is the whole sample series of a video (features.h); output is an event
 * flag set on every sample (tgi_sample.ev, TG_EVENT_FLAGS only), a shot id on every
 * sample (-1 inside transitions), the shot list, and the content rectangle. Pure
 * functions over arrays: testable on synthetic series without any video.
 *
 * Thresholds live in one table at the top of events.c, each with the reason for
 * its value.
 */
#ifndef TG_ANALYZE_EVENTS_H
#define TG_ANALYZE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/features.h"

typedef struct tgi_events {
    tg_shot *shots; /* owned; in time order, shot i = samples with .shot == i */
    size_t n_shots;
    double *cuts; /* owned; hard cut times (first frame of the new shot) */
    size_t n_cuts;
    tg_rect content; /* content area in analysis pixels (bars removed) */
} tgi_events;

/* A stretch of contiguous samples: samples [first, next span's first) cover the
 * time up to end_t. Sparse analysis decodes separate stretches of the video; no
 * event is looked for across the gap between two spans, and a span starts a shot. */
typedef struct tgi_span {
    size_t first;
    double end_t;
    /* sparse analysis: the next keyframe after the span (or the video's end), where its
     * last shot ends at the latest when x264 keys its cuts; 0: not known (end_t) */
    double key_end;
} tgi_span;

/* Analyse n samples (in time order) of an aw x ah analysis frame; end_t is the
 * time just past the last sample. spans may be NULL (one span: all samples).
 * Fills *ev (free with tgi_events_free). */
int tgi_events_detect(tg_ctx *ctx, tgi_sample *s, size_t n, double end_t, const tgi_span *spans,
                      size_t n_spans, int aw, int ah, tgi_events *ev);

/* Only the per-sample events (black, white, blank): for samples with no
 * neighbours, such as the keyframes of a coarse pass. */
void tgi_events_classify(tgi_sample *s, size_t n);
/* The picture inside padding other than black bars (padding.h) that samples s (events
 * classified) agree on, in analysis pixels of an aw x ah frame; 0 when there is none. */
int tgi_events_fill(const tgi_sample *s, size_t n, int aw, int ah, tg_rect *picture);
void tgi_events_free(tgi_events *ev);

/* The kind of empty ground a sample shows (TG_BAD_BLACK, _WHITE or _UNIFORM; 0 when
 * the picture is not empty), ignoring any marks on it; and whether it has marks
 * (strong edges: glyphs, lines). An empty ground without marks is an empty frame;
 * with marks it is a card or a screen of text (tgi_sample.ev has no flag for it). */
uint16_t tgi_empty_ground(const tgi_sample *x);
int tgi_has_marks(const tgi_sample *x);

#endif
