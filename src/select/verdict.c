/*
 * verdict.c — per-sample defects relative to the video (see verdict.h).
 *
 * Every line below compares a sample with the video or the shot it is in; the few
 * absolute numbers are floors (a frame whose brightest pixels are dark grey is too
 * dark anywhere). Values were measured on the fixtures and the real footage of
 * eval/ (eval/RESULTS.md).
 */
#include "select/verdict.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/events.h"
#include "core/error.h"

static const struct {
    float dark_hi_abs, dark_hi_rel; /* under-exposed: hi below both (rel: of the video's) */
    float bright_lo, bright_luma;   /* over-exposed: even the dark 2 % is bright */
    float card_bgfrac, card_edges, card_color; /* card: flat ground, glyph edges, grey */
    float card_share;                          /* cards over this share of time are content */
    float still_share;         /* ...and in a video still over this share of its picture's time */
    float blur_shot, blur_abs; /* blur: vs the shot's sharp frames, absolute */
    float blur_video, blur_edges;   /* a soft shot: vs the video's sharpness and edges */
    float repeat_dist;              /* pixel descriptors this close: the same picture */
    double repeat_edge, repeat_len; /* near the start/end; a repeat is short */
    double repeat_min;              /* ...but a shot, not a fragment (seconds) */
} K = {
    .dark_hi_abs = 0.2f,
    .dark_hi_rel = 0.3f,
    .bright_lo = 0.8f,
    .bright_luma = 0.93f,
    .card_bgfrac = 0.8f,
    .card_edges = 0.002f,
    .card_color = 0.12f,
    .card_share = 0.35f,
    .still_share = 0.5f,
    .blur_shot = 0.4f,
    .blur_abs = 0.02f,
    .blur_video = 0.45f,
    .blur_edges = 0.35f,
    .repeat_dist = 0.06f,
    .repeat_edge = 20.0,
    .repeat_len = 0.2,
    .repeat_min = 0.5,
};

/* The q-quantile of the values of samples with keep[i] (reorders nothing). */
static float quantile(const tgi_sample *s, size_t n, const uint8_t *keep, size_t off, float q)
{
    float *v = malloc((n + 1) * sizeof(float));
    size_t m = 0;
    if (!v)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!keep || keep[i])
            v[m++] = *(const float *)((const char *)&s[i] + off);
    float r = 0;
    if (m) {
        tgi_median(v, m); /* sorts */
        size_t k = (size_t)(q * (float)(m - 1) + 0.5f);
        r = v[k < m ? k : m - 1];
    }
    free(v);
    return r;
}

static double sample_dur(const tg_analysis_data *a, size_t i)
{
    const tgi_sample *s = a->s;
    double next = i + 1 < a->n ? s[i + 1].t : a->duration;
    double d = next - s[i].t;
    return d > 0 && d < 1.0 ? d : 0.04; /* sparse gaps count as one frame */
}

/* What each sample weighs in the video's own levels (its median brightness, sharpness
 * and edges, the quality's reference sharpness, the share of cards and of stillness):
 * the time it stands for. A full analysis looks at every frame: one span, each sample
 * weighs 1 (by_time: its duration), as ever. A sparse one decodes a few stretches, each
 * from a keyframe only as far as it needs (a clip's room, a still's STILL_MIN-STILL_LEN,
 * 8 s where it starts black: sampler.c); a stretch stands for the time to the keyframe
 * after it (its span's key_end), however far it was decoded, and its samples share that
 * time alike (by_time: by their durations). Counted by sample, a still's stretch
 * decoded 1.2 s instead of 1.3 weighed less, the median sharpness of the eval's
 * screencast jumped from 0.85 to 1.08 (its samples are screens of text near 1.3 and
 * photos under 0.8, the median fell between them) and it lost its clip of vim; weighed
 * by stretch alike it moved 0.79 - 1.31 with the stretches the options chose; by the
 * time each stands for, 1.313-1.319 at every option set and length (bench/RESULTS.md,
 * "The video's levels weighed by the time each stretch stands for"). NULL when out of
 * memory. */
static double *sample_weights(const tg_analysis_data *a, int by_time)
{
    size_t n = a->n;
    double *w = malloc((n + 1) * sizeof(double));
    if (!w)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        while (k + 1 < a->n_spans && a->spans[k + 1].first <= i)
            k++;
        size_t end = k + 1 < a->n_spans && a->spans[k + 1].first > i ? a->spans[k + 1].first : n;
        double sum = 0;
        for (size_t j = i; j < end; j++)
            sum += w[j] = by_time ? sample_dur(a, j) : 1.0;
        if (a->n_spans > 1 && sum > 0) {
            const tgi_span *sp = &a->spans[k];
            double stands = fmax(sp->key_end, sp->end_t) - a->s[i].t;
            for (size_t j = i; j < end; j++)
                w[j] *= fmax(stands, 1e-3) / sum;
        }
        i = end;
    }
    return w;
}

typedef struct weighed {
    float v;
    double w;
} weighed;

static int cmp_weighed(const void *x, const void *y)
{
    float a = ((const weighed *)x)->v, b = ((const weighed *)y)->v;
    return (a > b) - (a < b);
}

/* The weighted median of the values of samples with keep[i]: the first value, in
 * order, past half the weight. With equal weights it is the plain median (the middle
 * one, or the upper of the two middle ones: tgi_median's v[m / 2]). 0 when none.
 * v: room for n values. */
static float median_weighed(const tgi_sample *s, size_t n, const uint8_t *keep, const double *w,
                            size_t off, weighed *v)
{
    size_t m = 0;
    double all = 0;
    for (size_t i = 0; i < n; i++)
        if (keep[i] && w[i] > 0) {
            v[m++] = (weighed){*(const float *)((const char *)&s[i] + off), w[i]};
            all += w[i];
        }
    float r = 0;
    if (m) {
        qsort(v, m, sizeof(*v), cmp_weighed);
        /* past half, not at it: the sums of equal weights are not exact */
        double half = 0.5 * all * (1 + 1e-9), c = 0;
        size_t k = 0;
        while (k + 1 < m && (c += v[k].w) <= half)
            k++;
        r = v[k].v;
    }
    return r;
}

double tgi_repeat_edge(const tg_analysis_data *a)
{
    return fmin(K.repeat_edge, 0.3 * a->duration);
}

/* Where shot j ends at the latest: its end, or, for the last shot of a sparse
 * analysis' stretch, the next keyframe (the stretch's span says; the decode stopped
 * early, the shot did not: stretches for stills are 1.2-1.3 s since "Speed at every
 * length", part 10, and a returning outro then ended "too early" to be one). */
static double shot_latest_end(const tg_analysis_data *a, size_t j)
{
    double e = a->shots[j].end;
    for (size_t k = 0; k < a->n_spans; k++)
        if (a->spans[k].key_end > e && fabs(a->spans[k].end_t - e) < 1e-6)
            return a->spans[k].key_end;
    return e;
}

int tgi_repeat_tail(const tg_analysis_data *a, size_t j)
{
    double end = a->duration, edge = tgi_repeat_edge(a);
    if (j >= a->n_shots)
        return 0;
    const tg_shot *sj = &a->shots[j];
    /* near the end and after the start; one long continuous shot is the video's
     * content, not a returning intro; a fragment of a shot (a transition's edge) is
     * neither */
    return shot_latest_end(a, j) >= end - edge && sj->start > edge &&
           sj->end - sj->start >= K.repeat_min && sj->end - sj->start <= K.repeat_len * end;
}

int tgi_repeat_candidate(const tg_analysis_data *a, size_t i, size_t j)
{
    if (j < i + 2 || !tgi_repeat_tail(a, j))
        return 0;
    const tg_shot *si = &a->shots[i];
    return si->start <= tgi_repeat_edge(a) && si->end - si->start >= K.repeat_min;
}

/* The intro that returns as an outro, by pixel descriptors (the CNN finds re-graded
 * or re-framed ones: select/cluster.c). Between the two there must be something
 * else: some shot unlike shot i, every frame of it (one scene that goes on, seen by
 * sparse analysis in stretches, has frames that move far from its first ones: a
 * teaser's two minions, on one grey ground for 36 s, were called its intro's repeat). */
static void mark_repeats(const tg_analysis_data *a, tgi_verdict *v)
{
    const tgi_sample *s = a->s;
    size_t n = a->n, step = 1 + n / 4000;
    float *nearest = malloc((a->n_shots + 1) * sizeof(float));
    if (!nearest)
        return; /* no memory: no repeats marked, as for a video without them */
    for (size_t j = 1; j < a->n_shots; j++) {
        for (size_t i = 0; i + 1 < j; i++) {
            if (!tgi_repeat_candidate(a, i, j))
                continue;
            float best = 1, between = 0;
            for (size_t k = i + 1; k < j; k++)
                nearest[k] = 1;
            for (size_t q = 0; q < n; q += step) {
                if (s[q].shot != (int)i)
                    continue;
                for (size_t p = 0; p < n; p += step) {
                    if (s[p].shot == (int)j)
                        best = fminf(best, tgi_sample_distance(&s[p], &s[q]));
                    else if (s[p].shot > (int)i && s[p].shot < (int)j)
                        nearest[s[p].shot] =
                            fminf(nearest[s[p].shot], tgi_sample_distance(&s[p], &s[q]));
                }
            }
            for (size_t k = i + 1; k < j; k++)
                between = fmaxf(between, nearest[k] < 1 ? nearest[k] : 0);
            if (best < K.repeat_dist && between > 4 * K.repeat_dist) {
                for (size_t p = 0; p < n; p++)
                    if (s[p].shot == (int)j)
                        v[p].bad |= TG_BAD_REPEAT;
                break;
            }
        }
    }
    free(nearest);
}

/* A card: text or lines on a flat, grey ground (a title, credits, a terminal), or
 * marks on an empty one (a few lines on black). */
static int is_card(const tgi_sample *x)
{
    return (x->bgfrac > K.card_bgfrac && x->edges > K.card_edges && x->colorful < K.card_color) ||
           (tgi_empty_ground(x) && tgi_has_marks(x));
}

/* How much of the video's picture (its event-free time that is not a card) stands
 * perfectly still: no change at all between samples within STILL_WIN either side.
 * A screen recording or a slide deck is still most of the time (the screencast of
 * eval/: 0.92), filmed footage almost never is (sensor noise, grain, a moving
 * camera: 0.00-0.19 over the other eval videos, webcams included). */
#define STILL_WIN    0.25
#define STILL_MOTION 1e-4f
static double still_share(const tg_analysis_data *a, const uint8_t *keep, const double *tw)
{
    const tgi_sample *s = a->s;
    size_t n = a->n, lo = 0, hi = 0;
    double still = 0, all = 0;
    for (size_t i = 0; i < n; i++) {
        if (!keep[i] || is_card(&s[i]))
            continue;
        while (s[lo].t < s[i].t - STILL_WIN)
            lo++;
        if (hi < i)
            hi = i;
        while (hi + 1 < n && s[hi + 1].t <= s[i].t + STILL_WIN)
            hi++;
        float m = 0;
        for (size_t k = lo + 1; k <= hi; k++)
            m = fmaxf(m, s[k].motion);
        double d = tw[i];
        all += d;
        if (lo < hi && m < STILL_MOTION)
            still += d;
    }
    return all > 0 ? still / all : 0;
}

/* Faces near each sample: the face frame nearest in time (within FACE_NEAR) in the
 * same shot. Eyes are judged against the same shot's faces: this landmark net's
 * eye aspect ratio is ~0.32 open and ~0.25 shut on one talking head but 0.22 open
 * on a smiling face elsewhere, so a fixed line fails across people (faces.h); an
 * EAR 10 % under the shot's median is a blink or a downcast look. */
#define FACE_NEAR 0.35
#define FACE_SEEN 0.02 /* a still is "checked" when the face model saw that very frame */
#define EYES_SHUT 0.9f /* EAR under this share of the shot's median: closed or cast down */
static int attach_faces(const tg_analysis_data *a, tgi_verdict *v)
{
    for (size_t i = 0; i < a->n; i++) {
        v[i].eyes = -1;
        v[i].face = 0;
        v[i].shut = 0;
        v[i].checked = 0;
        v[i].open = 1;
    }
    if (!a->faces_on || a->n_faces == 0)
        return 0;
    float *med = calloc(a->n_shots + 1, sizeof(float));
    float *tmp = malloc((a->n_faces + 1) * sizeof(float));
    if (!med || !tmp) {
        free(med);
        free(tmp);
        return TG_ENOMEM;
    }
    const tgi_sample *s = a->s;
    int16_t *fshot = malloc((a->n_faces + 1) * sizeof(int16_t));
    if (!fshot) {
        free(med);
        free(tmp);
        return TG_ENOMEM;
    }
    for (size_t k = 0; k < a->n_faces; k++) {
        size_t j = tgi_sample_at(s, a->n, a->faces[k].t - 1e-6);
        fshot[k] = j < a->n && fabs(s[j].t - a->faces[k].t) < 0.05 ? s[j].shot : -1;
    }
    for (size_t sh = 0; sh < a->n_shots; sh++) {
        size_t m = 0;
        for (size_t k = 0; k < a->n_faces; k++)
            if (fshot[k] == (int)sh && a->faces[k].h > 0 && a->faces[k].eyes > 0)
                tmp[m++] = a->faces[k].eyes;
        med[sh] = m >= 3 ? tgi_median(tmp, m) : 0;
    }
    size_t f = 0;
    for (size_t i = 0; i < a->n; i++) {
        double t = s[i].t;
        while (f < a->n_faces && a->faces[f].t < t - FACE_NEAR)
            f++;
        const tgi_face_obs *best = NULL;
        double best_dt = 1e9;
        for (size_t k = f; k < a->n_faces && a->faces[k].t <= t + FACE_NEAR; k++) {
            if (fshot[k] != s[i].shot)
                continue;
            double dt = fabs(a->faces[k].t - t);
            if (dt < best_dt) {
                best = &a->faces[k];
                best_dt = dt;
            }
        }
        if (!best)
            continue;
        v[i].checked = best_dt <= FACE_SEEN;
        if (best->h <= 0)
            continue;
        v[i].eyes = best->eyes;
        v[i].face = best->cut ? -best->h : best->h;
        float m = s[i].shot >= 0 ? med[s[i].shot] : 0;
        v[i].shut = m > 0 && best->eyes < EYES_SHUT * m;
        v[i].open = m > 0 ? best->eyes / m : 1;
    }
    free(fshot);
    free(med);
    free(tmp);
    return 0;
}

int tgi_verdicts(tg_ctx *ctx, const tg_analysis_data *a, int safe, tgi_verdict *v, tgi_clusters *cl)
{
    const tgi_sample *s = a->s;
    size_t n = a->n;
    memset(cl, 0, sizeof(*cl));
    uint8_t *keep = calloc(n + 1, 1);
    float *shot_sharp = calloc(a->n_shots + 1, sizeof(float));
    float *shot_edges = calloc(a->n_shots + 1, sizeof(float));
    if (!keep || !shot_sharp || !shot_edges) {
        free(keep);
        free(shot_sharp);
        free(shot_edges);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        memset(&v[i], 0, sizeof(v[i]));
        v[i].bad = s[i].ev & TG_EVENT_FLAGS;
        v[i].cluster = -1;
        v[i].item = -1;
        keep[i] = !(s[i].ev & TG_EVENT_FLAGS);
    }
    /* the video's own levels, over its event-free samples */
    double *w = sample_weights(a, 0), *tw = sample_weights(a, 1);
    weighed *scratch = malloc((n + 1) * sizeof(*scratch));
    if (!w || !tw || !scratch) {
        free(w);
        free(tw);
        free(scratch);
        free(keep);
        free(shot_sharp);
        free(shot_edges);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    float v_hi = median_weighed(s, n, keep, w, offsetof(tgi_sample, hi), scratch);
    float v_sharp = median_weighed(s, n, keep, w, offsetof(tgi_sample, sharp), scratch);
    float v_edges = median_weighed(s, n, keep, w, offsetof(tgi_sample, edges), scratch);
    /* cards: how much of the video they are */
    double card_t = 0, all_t = 0;
    for (size_t i = 0; i < n; i++) {
        double d = tw[i];
        all_t += d;
        if (keep[i] && is_card(&s[i]))
            card_t += d;
    }
    /* text is a defect where it interrupts the video's pictures: not when cards are
     * a big part of it, nor in a video of screens (software, slides), where a screen
     * of text is what the video shows */
    int cards_are_content =
        all_t > 0 && (card_t > K.card_share * all_t || still_share(a, keep, tw) > K.still_share);
    if (getenv("TG_DEBUG_SELECT"))
        fprintf(stderr, "video: cards %.3f of its time, still %.3f\n",
                all_t > 0 ? card_t / all_t : 0, still_share(a, keep, tw));
    free(tw);
    /* each shot's sharp frames (90th percentile) and typical edges */
    uint8_t *in_shot = calloc(n + 1, 1);
    for (size_t k = 0; in_shot && k < a->n_shots; k++) {
        for (size_t i = 0; i < n; i++)
            in_shot[i] = keep[i] && s[i].shot == (int)k;
        shot_sharp[k] = quantile(s, n, in_shot, offsetof(tgi_sample, sharp), 0.9f);
        shot_edges[k] = quantile(s, n, in_shot, offsetof(tgi_sample, edges), 0.5f);
    }
    free(in_shot);
    if (getenv("TG_DEBUG_SELECT"))
        for (size_t k = 0; k < a->n_shots; k++)
            fprintf(stderr,
                    "shot %zu %.2f-%.2f: sharp p90 %.3f (video %.3f) edges %.4f (video %.4f)\n", k,
                    a->shots[k].start, a->shots[k].end, shot_sharp[k], v_sharp, shot_edges[k],
                    v_edges);
    for (size_t i = 0; i < n; i++) {
        const tgi_sample *x = &s[i];
        uint16_t b = 0;
        if (v[i].bad & (TG_BAD_BLACK | TG_BAD_WHITE | TG_BAD_UNIFORM)) {
            v[i].bad |= b;
            continue;
        }
        if (tgi_empty_ground(x))
            ; /* a card's ground is dark or light by design */
        else if (x->hi < K.dark_hi_abs && x->hi < K.dark_hi_rel * v_hi + 0.02f)
            b |= TG_BAD_EXPOSURE; /* nothing in the frame is bright, for this video */
        else if (x->hi < 0.5f * K.dark_hi_abs)
            b |= TG_BAD_EXPOSURE; /* too dark in any video */
        if (!tgi_empty_ground(x) && (x->lo > K.bright_lo || x->luma > K.bright_luma))
            b |= TG_BAD_EXPOSURE;
        if (!cards_are_content && is_card(x))
            b |= TG_BAD_TEXT;
        int sh = x->shot;
        if (x->sharp < K.blur_abs)
            b |= TG_BAD_BLUR;
        else if (sh >= 0 && (size_t)sh < a->n_shots) {
            if (x->sharp < K.blur_shot * shot_sharp[sh])
                b |= TG_BAD_BLUR; /* far softer than the same shot's sharp frames */
            else if (shot_sharp[sh] < K.blur_video * v_sharp &&
                     shot_edges[sh] <= K.blur_edges * v_edges && !(b & TG_BAD_TEXT))
                b |= TG_BAD_BLUR; /* a whole shot far softer than the video */
        }
        v[i].bad |= b;
    }
    free(shot_sharp);
    free(shot_edges);
    mark_repeats(a, v);
    int rc = attach_faces(a, v) < 0 ? tgi_fail(ctx, TG_ENOMEM, "out of memory") : 0;
    if (rc == 0 && a->cnn != TG_CNN_NONE && a->n_items > 0)
        rc = tgi_cluster_attach(ctx, a, v, safe, cl);
    if (rc < 0) {
        free(keep);
        free(w);
        free(scratch);
        return rc;
    }
    /* quality: the signals, against the video's median sharpness of clean samples */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += keep[i] = !v[i].bad;
    float med = m ? median_weighed(s, n, keep, w, offsetof(tgi_sample, sharp), scratch) : 0.1f;
    free(keep);
    free(w);
    free(scratch);
    if (getenv("TG_DEBUG_SELECT"))
        fprintf(stderr, "video levels: hi %.4f sharp %.4f edges %.4f; clean sharpness %.4f\n", v_hi,
                v_sharp, v_edges, med);
    for (size_t i = 0; i < n; i++) {
        tgi_sample x = s[i];
        if (!v[i].bad && tgi_empty_ground(&x) && tgi_has_marks(&x)) {
            /* a screen of text kept as content: its black (or white) ground is its
             * design, not an exposure fault; judge it as if exposed right */
            x.luma = 0.47f;
            x.contrast = fmaxf(x.contrast, 0.22f);
        }
        float q = tgi_signal_quality(&x, med);
        if (v[i].shut)
            q *= 0.6f;              /* a face with closed eyes: the classic bad still */
        else if (v[i].face > 0.08f) /* a whole face, eyes wide open: what people look at */
            q = fminf(1.0f, q * 1.1f * fminf(1.1f, v[i].open));
        v[i].quality = v[i].bad ? 0.05f * q : q;
    }
    return 0;
}
