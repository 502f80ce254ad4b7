/*
 * verdict.h — what is a defect *for this video*, per sample.
 *
 * The analysis reports facts (signals, events such as fades and black frames);
 * whether a dim frame is too dark, a soft frame blurred or a screen of text a title
 * card depends on the video around it. tgi_verdicts() decides, relative to the
 * video's own levels (its medians, each sample weighed by the time it stands for: a
 * sparse stretch its time to the next keyframe, however far it was decoded):
 *   - exposure: nothing bright in a frame of a video that has highlights (a night
 *     scene is judged against the night, not against daylight);
 *   - blur: far below the sharpest frames of its own shot, or a whole shot far
 *     softer than the video and poor in edges;
 *   - text: title or credit cards (a mostly flat, grey ground with text), only
 *     while such cards are a small part of the video (in a screen recording or a
 *     slide deck text *is* the content);
 *   - repeat: a short shot near the end that shows again what a shot near the
 *     start showed, after different content (an intro returning as an outro);
 *     never one long continuous shot, never the first occurrence;
 *   - with a CNN (select/cluster.c): nsfw, CNN repeats, content clusters;
 *   - faces: the eye openness and sharpness of the main face in the frame.
 * Then a quality in [0,1] per sample. Pure computation over the analysis.
 */
#ifndef TG_SELECT_VERDICT_H
#define TG_SELECT_VERDICT_H

#include <stdint.h>

#include "analyze/analysis.h"
#include "select/cluster.h"

typedef struct tgi_verdict {
    uint16_t bad;    /* enum tgi_bad: the analysis's events and this video's defects */
    int16_t cluster; /* CNN content cluster, -1 when none */
    int32_t item;    /* the CNN frame nearest in time within the shot, -1 when none */
    float quality;   /* 0..1, near 0 when flagged */
    float nsfw;      /* the CNN's nsfw score, 0 without one */
    float eyes;      /* eye aspect ratio of the main face nearby (<0: no face seen near) */
    float face;      /* the main face's height (share of the frame's), negative when the
                      * frame edge cuts it, 0: none */
    uint8_t shut;    /* its eyes are closed or cast down, for this shot */
    float open;      /* its eye aspect ratio against the shot's median (1 = typical) */
    uint8_t checked; /* a face frame was looked at right here (stills need one) */
} tgi_verdict;

/* Fill v[0..a->n) and the CNN clusters (*cl, free with tgi_clusters_free; empty
 * without a CNN). safe is enum tg_safe. */
int tgi_verdicts(tg_ctx *ctx, const tg_analysis_data *a, int safe, tgi_verdict *v,
                 tgi_clusters *cl);

/* Could shot j be a returning intro (a short shot near the end, after the start,
 * not a fragment)? The seconds from either end that count as "near". */
int tgi_repeat_tail(const tg_analysis_data *a, size_t j);
double tgi_repeat_edge(const tg_analysis_data *a);
/* ... and a repeat of shot i, a shot near the start (j > i + 1)? */
int tgi_repeat_candidate(const tg_analysis_data *a, size_t i, size_t j);

#endif
