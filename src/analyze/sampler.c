/*
 * sampler.c — the analysis decode: which frames of the video are looked at.
 *
 *   full:   every frame (up to 30 a second; the interval grows so that a video
 *           never gives more than MAX_SAMPLES samples) from start to end;
 *   sparse: the keyframes first (cheap: no reference chains), then every frame that
 *           other frames refer to (non-reference frames are skipped) of the most
 *           promising, mutually different stretches between keyframes, enough for
 *           the clips and stills asked for (see analyse_sparse), each decoded from
 *           its keyframe only as far as a clip needs (tgi_sampler_stretch_len), or,
 *           past the clips' share (a smaller one in a first round: FIRST_CLIP_SPARE),
 *           as far as a still needs (tgi_sampler_still_len: 1.2-1.7 s);
 *   auto:   sparse from SPARSE_AFTER seconds on, full below. Sparse looks inside a
 *           stretch that begins at a black keyframe too (a screen recording's programs
 *           start black, with no keyframe when their window appears): without that,
 *           screencast's scene coverage in the real-footage eval fell from 0.76 to 0.38
 *           (bench/RESULTS.md).
 * Each decoded frame becomes a tgi_sample (features.c); beside it the decoder hands
 * the CNN its 224x224 copy every CNN_INTERVAL seconds, and the subject detector its
 * own, larger copy (SUBJ_SIDE) every SUBJ_INTERVAL seconds. Only features are kept,
 * never frames: memory is bounded by the sample cap whatever the video's length.
 */
#include "analyze/sampler.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/events.h"
#include "core/error.h"
#include "media/ranges.h"

#define MAX_SAMPLES    20000
#define MIN_INTERVAL   (1.0 / 30.0)
#define SPARSE_AFTER   60.0 /* auto: sparse analysis for videos this long or longer */
#define SPARSE_MAX_GOP 10.0 /* keyframes further apart than this: sparse makes no sense */
#define REGION_MAX     8.0  /* seconds decoded densely per chosen stretch, at most */
/* How much of a stretch that starts at a clean keyframe is decoded: the decode must
 * begin at the keyframe but can stop early. The selection keeps a clip SPAN_GUARD
 * (0.5 s, select.c) from a stretch's start and GUARD (0.25 s) from its end, so
 * STRETCH_LEAD + STRETCH_CLIPS clip lengths (4.35 s for the default 1.2-s clips) leave
 * a clip two clip lengths of positions to choose from, and a still some 50 frames;
 * the rest of a long GOP (franck's are 10.4 s: 8-s stretches, REGION_MAX, for 1.2-s
 * clips) was decoded for nothing. Two clip lengths (3.15 s) and 2.5 (3.75 s) put a
 * clip of the real-footage eval's franck on the start of a blink its eyes did not show
 * yet: the selection needs room to move away from what it sees coming. A stretch that
 * starts black or white keeps REGION_MAX: what it shows comes later (EV_STRETCH_MIN
 * below). bench/RESULTS.md, "Speed at every length", part 6. */
#define STRETCH_LEAD  0.75
#define STRETCH_CLIPS 3.0
#define STRETCH_MIN   2.0
/* Not every stretch is there for a clip: of the clips + keyframes + STRETCH_SPARE
 * chosen, the first clips + CLIP_SPARE (every coarse shot first, best first) are
 * decoded as far as a clip needs; the others are there for stills, which need no
 * room to move a 1.2-s window in, only a few clean frames after the start's guard
 * (SPAN_GUARD, 0.5 s) and before the end's (KEY_GUARD, 0.2 s): STILL_LEN seconds,
 * shorter than a clip and its guards, so that no clip is put where it could not move
 * away from what it sees coming (part 6's blink). The 60-s benchmark's dense decode
 * falls from 43 to 32 s, franck's (real-footage eval) from 54 to 36 s, at the same
 * scores; fewer stretches (clips + keyframes + 2) lost screencast's scenes (coverage
 * 1.00 -> 0.85): every scene a still may show needs its stretch, just not a long one
 * (bench/RESULTS.md, "Speed at every length", part 7). */
#define STRETCH_SPARE 4
#define CLIP_SPARE    3
/* A first round (TGI_ROUND_FIRST, analysis.h) decodes only the first clips +
 * FIRST_CLIP_SPARE as far as a clip needs, the same stretches otherwise (the others
 * for stills): the clips of the 60-s benchmark and of the real-footage eval's sparse
 * videos come from the first few stretches chosen (best first), so the 4.35-s decodes
 * of the last two were mostly for nothing. When the selection then finds too few
 * clean clip or still positions, the orchestrator (api/thumbgen.c) analyses again with
 * every stretch as before (TGI_ROUND_ALL). bench/RESULTS.md, "Speed at every length",
 * part 9. */
#define FIRST_CLIP_SPARE 1
/* A stretch for stills needs, between the guards (SPAN_GUARD 0.5 s after its start,
 * KEY_GUARD 0.2 s before its end, select.c), a few clean frames and, in a shot with
 * faces, one the face model looked at (select takes no still whose eyes were not
 * checked there). The face model looks at a stretch's first frame, then every
 * faces->every seconds (FACE_INTERVAL, longer from 60 s on: 0.75 s at 180 s, 0.83 s
 * at franck's 200 s), so a look falls between the guards once the stretch lasts that
 * interval + KEY_GUARD + a frame (STILL_FACE_TAIL). STILL_MIN (0.5 s of positions,
 * ~8 samples, 3 face looks at 0.25 s) while faces are looked for every 0.9 s or more
 * often (up to 216 s); STILL_LEN (1.7 s, part 7's) at most: the stills the eval and the
 * benchmarks picked in 1.7-s stretches lay 0.53-0.93 s after their start, at a face look
 * where there were faces. The samples a stretch adds no longer weigh in the video's
 * levels by how far it was decoded (select/verdict.c weighs each stretch by the time to
 * its next keyframe): by sample, 1.2-s stretches had moved the median sharpness every
 * still and clip is judged against, and the eval's screencast lost its clip of vim
 * (coverage 1.00 -> 0.92; bench/RESULTS.md, "Speed at every length", part 10, and "The
 * video's levels weighed by the time each stretch stands for"). 1.1 s scored the same
 * on the eval, but leaves a still 0.4 s of positions for ~0.1 s of CPU: not taken. */
#define STILL_MIN       1.2
#define STILL_LEN       1.7
#define STILL_FACE_TAIL 0.3
/* A stretch that starts at a black or white keyframe is looked at when it lasts at
 * least EV_STRETCH_MIN seconds, scored EV_PRIOR x the median clean keyframe: on a
 * screen a program starts black and then draws its window, and x264 puts no new
 * keyframe there (the screencast of the real-footage eval: htop, vim and a directory
 * listing each begin with a black keyframe, 13-17 s before the next one). */
#define EV_STRETCH_MIN 1.5
#define EV_PRIOR       1.0
/* The CNN looks at one frame per CNN_INTERVAL seconds, and at most CNN_MAX frames
 * per pass: its cost stays a small part of a run (4-7 ms a frame, on a worker thread beside the
 * decoder). */
#define CNN_INTERVAL 0.5
#define CNN_MAX      600
#define CNN_BATCH    16
/* Long videos (LONG_AFTER seconds and more; below, nothing changes): the network is
 * a third of the analysis' CPU there (~35 ms a frame), and the keyframe pass gave it
 * every keyframe up to CNN_MAX, 600 frames at one hour: about 20 s of CPU, a third of
 * what decoding the keyframes costs. There its frames only say which content groups
 * the video has and how much of it each takes (select's clusters and shares): a
 * uniform CNN_KEY_LONG frames answer that as well (cluster.c ties a sample to a
 * network frame up to 1 s away). bench/RESULTS.md, "Speed at every length", part 4. */
#define LONG_AFTER   180.0
#define CNN_KEY_LONG 300
/* Inside sparse analysis' densely decoded stretches (every length: sparse is auto's
 * choice from one minute on) the CNN looks at one frame every CNN_STRETCH_INTERVAL
 * seconds, and not at one less than half that from a frame the keyframe pass showed
 * it (a stretch's own keyframe is the same pixels; a keyframe inside merged stretches
 * went through it twice). Every 0.5 s cost ~2 s more CPU on the 60-s benchmark for the
 * same clips and stills on the real-footage eval's sparse videos (franck, screencast);
 * the keyframes alone lost screencast's scenes (bench/RESULTS.md, "Speed at every
 * length", parts 4 and 5). */
#define CNN_STRETCH_INTERVAL 1.0
/* Sparse analysis' stretches are decoded STRETCH_LANES at a time (media/ranges.h), each
 * by a one-thread decoder, and handed to on_sample in time order, so that every plan is
 * the same as with one decoder: a stretch's P-frames depend on each other, and one
 * decoder's frame threads ran them at ~1.1 cores of two (bench/RESULTS.md, "Speed at
 * every length", part 11). Frames decoded ahead of on_sample wait as copies (an
 * analysis frame ~62 KB, the CNN's and the detector's inputs when due) up to about
 * STRETCH_BUDGET bytes: a few stretches, well inside the 200-MB goal. --threads 1 keeps
 * one decoder. */
#define STRETCH_LANES  2
#define STRETCH_BUDGET (8u << 20)
/* Faces: looked for in one analysis frame every FACE_INTERVAL seconds, at most
 * FACE_MAX frames a video (~3 ms each: bench/RESULTS.md, "Faces"). */
#define FACE_INTERVAL 0.25
#define FACE_MAX      240
/* Subjects (people, animals): the detector gets its own copy of a frame from the decoder,
 * SUBJ_SIDE px on the long side (the analysis frame is 192 px: a figure a tenth of the
 * frame high is ~10 px there, too small for it), one every SUBJ_INTERVAL seconds, at most
 * SUBJ_MAX frames a video, SUBJ_PER_FRAME subjects each. Measured on the Sintel trailer
 * and the 600-s benchmark (bench/RESULTS.md, "Subjects, part 2"): per frame 27 / 41 / 59 /
 * 86 ms of CPU at 256 / 320 / 384 / 448 px; the share of the trailer's clean main-content
 * frames with a sure subject 0.29 / 0.48 / 0.52 / 0.55 (every 0.5 s), 0.52 at 512x512 too;
 * 48 frames at 384 px cost +6-8 % of `thumbgen make` on a 10-minute video (+22 % on the
 * 52-s trailer), 64 cost +14 %, over the 10 % budget. */
#define SUBJ_SIDE      TGI_SAMPLER_SUBJ_SIDE
#define SUBJ_INTERVAL  TGI_SAMPLER_SUBJ_INTERVAL
#define SUBJ_MAX       TGI_SAMPLER_SUBJ_MAX
#define SUBJ_PER_FRAME 4
/* Inside sparse analysis' stretches, a frame due for the detector whose content is
 * that of the frame it last looked at in the same stretch (analysis samples closer
 * than SUBJ_SAME, tgi_sample_distance: the threshold under which sparse analysis takes
 * two stretches for alike), less than SUBJ_REUSE seconds earlier, is not looked at
 * when that look was decisive (nothing found, or a subject at TGI_SAMPLER_SUBJ_SURE or
 * more): it gets that look's observations at its own time. An unsure look (a peak
 * between the detector's threshold and TGI_SAMPLER_SUBJ_SURE) is repeated: such a
 * figure comes and goes from frame to frame (the 60-s benchmark's 8.6-s shot: a
 * "person" at 0.24, nothing 0.9 s later). A stretch starts at a keyframe (the
 * keyframe pass looked at it, or the stretch's first frame is looked at) and lasts a
 * few seconds of that keyframe's shot: the detector ran every 1.25 s there (60-s
 * video) on what it had just seen. The frames with observations, and so what select
 * counts per content group, stay those of before. Not across stretches, not in the
 * keyframe pass (consecutive looks are a GOP apart) and not in the full analysis:
 * there, passing looks on changed what select concluded (the Sintel trailer's short,
 * dim shots: the fraction of the group at 13.9-15.0 s fell from 0.79 to 0.39).
 * SUBJ_REUSE bounds what a look stands for where a shot does not change but for small
 * movers (a passer-by changes no descriptor). bench/RESULTS.md, "The subject detector
 * once a stretch". */
#define SUBJ_SAME  0.15f
#define SUBJ_REUSE 4.0

/* Faces of the sampled frames, shared by the passes of one analysis. */
typedef struct face_acc {
    tgi_faces *net; /* borrowed; NULL without the face model */
    tgi_face_obs *obs;
    size_t n, cap;
    double every, last_t; /* seconds between face frames; time of the last */
} face_acc;

/* A frame the detector ran on: its analysis sample (what it showed) and its entries in
 * subj_acc.obs. */
typedef struct subj_look {
    tgi_sample s;
    size_t obs, n_obs;
    int sure; /* nothing found, or a subject at TGI_SAMPLER_SUBJ_SURE or more */
} subj_look;

/* Subjects of the sampled frames, shared by the passes of one analysis. */
typedef struct subj_acc {
    tgi_subjects *net; /* borrowed; NULL without the detector */
    tgi_subject_obs *obs;
    size_t n, cap;
    double every;         /* seconds between looked-at frames (the decoder's side2_interval) */
    int iw, ih;           /* the detector's input: the decoder's second side copy */
    size_t frames;        /* frames with observations so far (at most SUBJ_MAX) */
    int given_w, given_h; /* the size of the frames it was given */
    subj_look *looks;     /* the frames the detector ran on (at most SUBJ_MAX) */
    size_t n_looks;
    double stretch_t0; /* the current sparse stretch's start; < 0: no reuse (see SUBJ_SAME) */
} subj_acc;

typedef struct sampling {
    face_acc *faces; /* NULL without the face model */
    subj_acc *subj;  /* NULL without the subject detector */
    tgi_sample *s;
    size_t n, cap;
    tgi_span *spans;
    size_t n_spans;
    tg_ctx *ctx;
    double p0, p1, t0, t1; /* progress: map times t0..t1 to fractions p0..p1 */
    tgi_cnn *cnn;          /* borrowed; NULL without a CNN */
    uint8_t *sent;         /* per sample: given to the CNN (sparse's keyframe pass) */
    /* sparse's stretches: the times the keyframe pass gave the CNN, in time order (the
     * stretches come in time order too: seen_cur walks the list once) */
    double *seen;
    size_t n_seen, seen_cur;
    int more; /* a first round decoded a clip's stretch for stills only (analysis.h) */
} sampling;

static void sampling_free(sampling *a)
{
    free(a->s);
    free(a->spans);
    free(a->sent);
    free(a->seen);
    memset(a, 0, sizeof(*a));
}

/* The biggest face of the analysis frame (frames keep coming in time order within a
 * pass; sparse analysis runs two passes, so the list is sorted at the end). */
static int look_for_faces(tg_ctx *ctx, face_acc *fa, const tgi_frame *f)
{
    tgi_face found[2];
    fa->last_t = f->t;
    int k = tgi_faces_detect(ctx, fa->net, f->data, f->width, f->height, f->stride, found, 2);
    if (k < 0)
        return k;
    const tgi_face *big = NULL;
    for (int i = 0; i < k; i++)
        if (!big || found[i].h > big->h)
            big = &found[i];
    if (fa->n == fa->cap) {
        size_t nc = fa->cap ? 2 * fa->cap : 256;
        tgi_face_obs *no = realloc(fa->obs, nc * sizeof(*no));
        if (!no)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory");
        fa->obs = no;
        fa->cap = nc;
    }
    /* a frame without a face is recorded too (h = 0): "looked, saw none" */
    tgi_face_obs o = {.t = f->t, .eyes = -1};
    if (big)
        o = (tgi_face_obs){f->t,
                           big->x / f->width,
                           big->y / f->height,
                           big->w / f->width,
                           big->h / f->height,
                           big->score,
                           0.5f * (big->ear[0] + big->ear[1]),
                           big->sharpness,
                           (uint8_t)(big->cut != 0)};
    fa->obs[fa->n++] = o;
    return 0;
}

/* Room in sa->obs for n more entries. */
static int subj_room(tg_ctx *ctx, subj_acc *sa, size_t n)
{
    if (sa->n + n <= sa->cap)
        return 0;
    size_t nc = sa->cap ? 2 * sa->cap : 256;
    while (nc < sa->n + n)
        nc *= 2;
    tgi_subject_obs *no = realloc(sa->obs, nc * sizeof(*no));
    if (!no)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    sa->obs = no;
    sa->cap = nc;
    return 0;
}

/* The look whose observations frame s (at t) can have (SUBJ_SAME, SUBJ_REUSE): the
 * latest one of the current stretch at or before t, if it showed the same; NULL: look. */
static const subj_look *subj_same(const subj_acc *sa, double t, const tgi_sample *s)
{
    if (sa->stretch_t0 < 0)
        return NULL;
    const subj_look *last = NULL;
    for (size_t i = 0; i < sa->n_looks; i++) {
        double ti = sa->looks[i].s.t;
        if (ti >= sa->stretch_t0 - 1e-6 && ti <= t && (!last || ti > last->s.t))
            last = &sa->looks[i];
    }
    if (!last || !last->sure || t - last->s.t >= SUBJ_REUSE ||
        tgi_sample_distance(&last->s, s) >= SUBJ_SAME)
        return NULL;
    return last;
}

/* People and animals in the analysis frame; "looked, saw none" is an entry too. s is
 * the frame's analysis sample. */
static int look_for_subjects(tg_ctx *ctx, subj_acc *sa, const tgi_frame *f, const tgi_sample *s)
{
    tgi_subject found[SUBJ_PER_FRAME];
    /* sparse analysis: a stretch's first frame is a keyframe the first pass may have
     * seen; and its stretches come on top of the first pass's frames: the cap holds */
    if (sa->frames >= SUBJ_MAX)
        return 0;
    for (size_t i = sa->n; i-- > 0;)
        if (fabs(sa->obs[i].t - f->t) < 1e-6)
            return 0;
    sa->frames++;
    const subj_look *same = subj_same(sa, f->t, s);
    if (same) {
        size_t from = same->obs, n = same->n_obs;
        int rc = subj_room(ctx, sa, n);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            sa->obs[sa->n] = sa->obs[from + i];
            sa->obs[sa->n++].t = f->t;
        }
        return 0;
    }
    if (!sa->looks && !(sa->looks = malloc(SUBJ_MAX * sizeof(*sa->looks))))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    sa->given_w = f->side2_w;
    sa->given_h = f->side2_h;
    int k = tgi_subjects_detect(ctx, sa->net, f->side2, f->side2_w, f->side2_h, f->side2_w * 3,
                                found, SUBJ_PER_FRAME);
    if (k < 0)
        return k;
    int rc = subj_room(ctx, sa, SUBJ_PER_FRAME + 1);
    if (rc < 0)
        return rc;
    float best = 0;
    for (int i = 0; i < k; i++)
        best = fmaxf(best, found[i].score);
    sa->looks[sa->n_looks++] =
        (subj_look){*s, sa->n, k ? (size_t)k : 1, k == 0 || best >= TGI_SAMPLER_SUBJ_SURE};
    if (k == 0)
        sa->obs[sa->n++] = (tgi_subject_obs){.t = f->t, .cls = -1};
    for (int i = 0; i < k; i++)
        sa->obs[sa->n++] = (tgi_subject_obs){f->t,       found[i].cls, found[i].score, found[i].x,
                                             found[i].y, found[i].w,   found[i].h};
    return 0;
}

/* Whether the keyframe pass gave the CNN a frame less than half a stretch interval
 * from t (see CNN_STRETCH_INTERVAL). */
static int cnn_seen(sampling *a, double t)
{
    double near = 0.5 * CNN_STRETCH_INTERVAL;
    while (a->seen_cur < a->n_seen && a->seen[a->seen_cur] <= t - near)
        a->seen_cur++;
    return a->seen_cur < a->n_seen && a->seen[a->seen_cur] < t + near;
}

static int on_sample(void *user, const tgi_frame *f)
{
    sampling *a = user;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 1024;
        tgi_sample *ns = realloc(a->s, nc * sizeof(*ns));
        if (!ns)
            return tgi_fail(a->ctx, TG_ENOMEM, "out of memory for %zu samples", nc);
        a->s = ns;
        if (a->sent) {
            uint8_t *nt = realloc(a->sent, nc);
            if (!nt)
                return tgi_fail(a->ctx, TG_ENOMEM, "out of memory for %zu samples", nc);
            a->sent = nt;
        }
        a->cap = nc;
    }
    tgi_sample *s = &a->s[a->n];
    /* the previous sample is a neighbour only inside the same span */
    int has_prev = a->n > 0 && (a->n_spans == 0 || a->spans[a->n_spans - 1].first < a->n);
    s->t = f->t;
    tgi_features_compute(f, has_prev ? &a->s[a->n - 1] : NULL, s);
    int sent = a->cnn && f->side && !cnn_seen(a, f->t);
    if (a->sent)
        a->sent[a->n] = (uint8_t)sent;
    a->n++;
    if (sent) {
        int rc = tgi_cnn_push(a->ctx, a->cnn, f->t, f->side);
        if (rc < 0)
            return rc;
    }
    if (a->faces && a->faces->net &&
        (f->t - a->faces->last_t >= a->faces->every - 1e-6 || f->t < a->faces->last_t)) {
        int rc = look_for_faces(a->ctx, a->faces, f);
        if (rc < 0)
            return rc;
    }
    if (a->subj && f->side2) {
        int rc = look_for_subjects(a->ctx, a->subj, f, s);
        if (rc < 0)
            return rc;
    }
    double span = a->t1 - a->t0;
    double frac = span > 0 ? (f->t - a->t0) / span : 0;
    return tgi_progress(a->ctx, "analyze", a->p0 + (a->p1 - a->p0) * frac);
}

static int push_span(sampling *a, size_t first, double end_t, double key_end)
{
    tgi_span *ns = realloc(a->spans, (a->n_spans + 1) * sizeof(*ns));
    if (!ns)
        return tgi_fail(a->ctx, TG_ENOMEM, "out of memory");
    a->spans = ns;
    a->spans[a->n_spans++] = (tgi_span){first, end_t, key_end};
    return 0;
}

double tgi_sampler_cnn_every(double duration, int pass)
{
    int long_video = duration >= LONG_AFTER;
    switch (pass) {
    case TGI_PASS_KEYS:
        return fmax(0.2, duration / (long_video ? CNN_KEY_LONG : CNN_MAX));
    case TGI_PASS_STRETCH:
        return CNN_STRETCH_INTERVAL;
    default:
        return fmax(CNN_INTERVAL, duration / CNN_MAX);
    }
}

double tgi_sampler_stretch_len(double clip_len, int blind)
{
    if (blind)
        return REGION_MAX;
    return fmin(REGION_MAX, fmax(STRETCH_MIN, STRETCH_LEAD + STRETCH_CLIPS * clip_len));
}

double tgi_sampler_still_len(double clip_len, int blind, double face_every)
{
    if (blind)
        return REGION_MAX;
    double len = fmin(STILL_LEN, fmax(STILL_MIN, face_every + STILL_FACE_TAIL));
    return fmin(len, tgi_sampler_stretch_len(clip_len, 0));
}

size_t tgi_sampler_stretches(int clips, int keyframes, int round, size_t *for_clips)
{
    *for_clips = (size_t)clips + (round == TGI_ROUND_FIRST ? FIRST_CLIP_SPARE : CLIP_SPARE);
    return (size_t)clips + (size_t)keyframes + STRETCH_SPARE;
}

/* Ask the decoder for the CNN's input beside the analysis frame, and for the subject
 * detector's, at its own size, every subj->every seconds. */
static void cnn_side(const sampling *an, tgi_decode_req *rq, double interval)
{
    if (an->subj) {
        rq->side2_w = an->subj->iw;
        rq->side2_h = an->subj->ih;
        rq->side2_interval = an->subj->every;
    }
    if (!an->cnn)
        return;
    rq->side_w = rq->side_h = tgi_cnn_side(an->cnn);
    rq->side_interval = interval;
}

/* Every frame (up to the sampling cap) from start to end. */
static int analyse_full(tg_ctx *ctx, tgi_media *m, tg_rect frame, int aw, int ah, sampling *an,
                        double *end_t)
{
    const tgi_media_info *in = tgi_media_get_info(m);
    double interval = fmax(MIN_INTERVAL, in->duration / MAX_SAMPLES), last_t = -1;
    tgi_decode_req rq = {.width = aw,
                         .height = ah,
                         .crop = frame,
                         .pix = TG_PIX_RGB24,
                         .flags = TG_DECODE_FAST,
                         .min_interval = interval};
    cnn_side(an, &rq, tgi_sampler_cnn_every(in->duration, TGI_PASS_FULL));
    an->p0 = 0;
    an->p1 = 1;
    an->t0 = 0;
    an->t1 = in->duration;
    int rc = push_span(an, 0, 0, 0);
    if (rc < 0 || (rc = tgi_media_decode(ctx, m, &rq, on_sample, an, &last_t)) < 0)
        return rc;
    double frame_dur = in->fps > 0 ? 1.0 / in->fps : 0.04;
    if (an->n > 1)
        frame_dur = fmin(frame_dur, an->s[an->n - 1].t - an->s[an->n - 2].t);
    *end_t = last_t + frame_dur;
    an->spans[0].end_t = *end_t;
    return 0;
}

typedef struct gop {
    double t0, t1, score;
    size_t key; /* index of its keyframe sample */
    int shot;   /* coarse shot of its first keyframe */
    int picked;
    int blind;     /* its keyframe is black or white: its look says nothing of the rest */
    double key_t1; /* the next keyframe (or the video's end) */
} gop;

/* Consecutive keyframes further apart than this are in different shots: measured
 * 0.09-0.26 within a panning or zooming shot and 0.34-1.25 across a cut on the
 * fixtures, with keyframes every 2-2.4 s. */
#define COARSE_CUT 0.3f

static int cmp_gop_t(const void *a, const void *b)
{
    double x = ((const gop *)a)->t0, y = ((const gop *)b)->t0;
    return (x > y) - (x < y);
}

/* Keyframes first (cheap), then every frame of the most promising, mutually
 * different stretches between keyframes. Returns 1 (and analyses nothing) when
 * the video does not suit it: too few keyframes, or no clean keyframe at all. */
static int analyse_sparse(tg_ctx *ctx, tgi_media *m, const tg_options *o, int round, tg_rect frame,
                          int aw, int ah, sampling *an, double *end_t)
{
    const tgi_media_info *in = tgi_media_get_info(m);
    double dur = in->duration;
    sampling keys = {.faces = an->faces,
                     .subj = an->subj,
                     .ctx = ctx,
                     .p0 = 0,
                     .p1 = 0.5,
                     .t0 = 0,
                     .t1 = dur,
                     .cnn = an->cnn,
                     .sent = malloc(1024),
                     .cap = 1024};
    gop *g = NULL;
    tgi_decode_req *dq = NULL;
    double *key_end = NULL;
    tgi_ranges *ranges = NULL;
    int rc = 0;
    if (!keys.sent || (keys.s = malloc(keys.cap * sizeof(*keys.s))) == NULL) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    if (dur <= 0) {
        rc = 1;
        goto done;
    }
    tgi_decode_req rq = {.width = aw,
                         .height = ah,
                         .crop = frame,
                         .pix = TG_PIX_RGB24,
                         .flags = TG_DECODE_FAST | TG_DECODE_KEYONLY,
                         .min_interval = 0.2};
    cnn_side(an, &rq, tgi_sampler_cnn_every(dur, TGI_PASS_KEYS));
    if ((rc = tgi_media_decode(ctx, m, &rq, on_sample, &keys, NULL)) < 0)
        goto done;
    size_t nk = keys.n;
    if (nk < 3 || dur / nk > SPARSE_MAX_GOP) {
        rc = 1;
        goto done;
    }
    /* what the stretches need not show the CNN again */
    free(an->seen);
    an->n_seen = an->seen_cur = 0;
    if ((an->seen = malloc(nk * sizeof(*an->seen))) == NULL) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nk; i++)
        if (keys.sent[i])
            an->seen[an->n_seen++] = keys.s[i].t;
    tgi_events_classify(keys.s, nk);
    g = calloc(nk, sizeof(*g));
    float *q = malloc(nk * sizeof(float)), q_med = 0.5f;
    if (q) {
        size_t nq = 0;
        for (size_t i = 0; i < nk; i++)
            if (!keys.s[i].ev)
                q[nq++] = keys.s[i].sharp;
        float med = nq ? tgi_median(q, nq) : 0.1f;
        for (size_t i = 0; i < nk; i++)
            q[i] = keys.s[i].ev ? 0 : tgi_signal_quality(&keys.s[i], med);
        float *qc = malloc(nk * sizeof(float));
        if (qc) {
            size_t nc = 0;
            for (size_t i = 0; i < nk; i++)
                if (!keys.s[i].ev)
                    qc[nc++] = q[i];
            q_med = nc ? tgi_median(qc, nc) : 0.5f;
            free(qc);
        }
    }
    if (!g || !q) {
        free(q);
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    size_t ng = 0;
    int cshot = 0;
    for (size_t i = 0; i < nk; i++) {
        if (i && tgi_sample_distance(&keys.s[i - 1], &keys.s[i]) > COARSE_CUT)
            cshot++;
        double t0 = keys.s[i].t, t1 = i + 1 < nk ? keys.s[i + 1].t : dur;
        int ev0 = keys.s[i].ev != 0, ev1 = i + 1 < nk && keys.s[i + 1].ev;
        /* keyframes closer than a clip, its guards and half a clip of room to move it
         * in: the stretch goes on over whole GOPs until it holds that (a teaser keyed
         * every 0.83 s had only 0.83-s stretches: every clip shortened to half its
         * length, and the title card was the best of them; an MPEG-1 animation keyed
         * every 0.48 s had 3 stretches at all, GOPs under 0.6 s being skipped) */
        for (size_t j = i + 1; t1 - t0 < STRETCH_LEAD + 1.5 * o->clip_len && j < nk; j++)
            t1 = j + 1 < nk ? keys.s[j + 1].t : dur;
        if (t1 - t0 < 0.6 || (ev0 && t1 - t0 < EV_STRETCH_MIN))
            continue;
        /* a black or white keyframe says nothing of what follows it (EV_STRETCH_MIN);
         * one at the end only closes the stretch; unknown, it counts as the median */
        double qi = ev0 ? EV_PRIOR * q_med : q[i];
        if (i + 1 < nk && !ev1)
            qi = fmin(qi, q[i + 1]);
        /* a stretch that looks like an earlier one of another coarse shot may be
         * a repeat (an intro returning as an outro): the first occurrence is what
         * the video shows first, so it goes first */
        for (size_t k = 0; k < ng && !ev0; k++)
            if (!g[k].blind && g[k].shot != cshot &&
                tgi_sample_distance(&keys.s[g[k].key], &keys.s[i]) < 0.15f) {
                qi *= 0.5;
                break;
            }
        g[ng++] = (gop){
            t0, fmin(t1, t0 + tgi_sampler_stretch_len(o->clip_len, ev0)), qi, i, cshot, 0, ev0, t1};
    }
    free(q);
    if (ng == 0) {
        rc = 1;
        goto done;
    }
    /* enough stretches for the clips and the stills: every coarse shot once before
     * any twice, each unlike the others */
    size_t for_clips = 0, want = tgi_sampler_stretches(o->clips, o->keyframes, round, &for_clips),
           picked = 0, all_for_clips = 0;
    tgi_sampler_stretches(o->clips, o->keyframes, TGI_ROUND_ALL, &all_for_clips);
    double face_every = an->faces && an->faces->net ? an->faces->every : 0;
    while (picked < want) {
        double best = -1;
        size_t bi = 0, best_uses = SIZE_MAX;
        for (size_t i = 0; i < ng; i++) {
            if (g[i].picked)
                continue;
            /* a stretch over several short GOPs overlaps the next ones' (their time is
             * decoded already): one of them is enough */
            int overlaps = 0;
            for (size_t j = 0; j < ng && !overlaps; j++)
                overlaps = g[j].picked && g[i].t0 < g[j].t1 - 1e-6 && g[j].t0 < g[i].t1 - 1e-6;
            if (overlaps)
                continue;
            size_t uses = 0;
            for (size_t j = 0; j < ng; j++)
                uses += g[j].picked && g[j].shot == g[i].shot;
            if (uses > best_uses)
                continue;
            float near = 1;
            for (size_t j = 0; j < ng; j++)
                if (g[j].picked && !g[i].blind && !g[j].blind)
                    near = fminf(near, tgi_sample_distance(&keys.s[g[i].key], &keys.s[g[j].key]));
            double sc = g[i].score * (0.4 + 0.6 * fmin(1.0, near / 0.15));
            if (uses < best_uses || sc > best) {
                best = sc;
                best_uses = uses;
                bi = i;
            }
        }
        if (best < 0)
            break;
        g[bi].picked = 1;
        /* past the clips' share: a stretch for stills (STILL_MIN to STILL_LEN) */
        if (picked >= for_clips) {
            double t1 = fmin(
                g[bi].t1, g[bi].t0 + tgi_sampler_still_len(o->clip_len, g[bi].blind, face_every));
            /* one a whole analysis decodes further: a later round has more to see */
            if (picked < all_for_clips && t1 < g[bi].t1 - 1e-6)
                an->more = 1;
            g[bi].t1 = t1;
        }
        picked++;
        if (getenv("TG_DEBUG_SELECT"))
            fprintf(stderr, "sparse: stretch %.2f-%.2f score %.3f adjusted %.3f\n", g[bi].t0,
                    g[bi].t1, g[bi].score, best);
    }
    qsort(g, ng, sizeof(*g), cmp_gop_t);
    /* the ranges to decode: neighbouring stretches decode as one; the shot a range ends
     * in goes on to the next keyframe at the latest (when x264 keys its cuts): the repeat
     * test (select/verdict.c) asks where it ends */
    dq = calloc(ng, sizeof(*dq));
    key_end = calloc(ng, sizeof(*key_end));
    if (!dq || !key_end) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    size_t nr = 0;
    double total = 0, done_t = 0;
    for (size_t i = 0; i < ng; i++) {
        if (!g[i].picked)
            continue;
        double t0 = g[i].t0, t1 = g[i].t1;
        /* (the stretches of the keyframes a picked one goes on over are not picked:
         * one after them that is continues the range) */
        for (size_t j = i + 1; j < ng && g[j].t0 <= t1 + 1e-6; j++)
            if (g[j].picked) {
                t1 = fmax(t1, g[j].t1);
                i = j;
            }
        key_end[nr] = g[i].key_t1;
        dq[nr] = (tgi_decode_req){.start = t0,
                                  .end = t1,
                                  .width = aw,
                                  .height = ah,
                                  .crop = frame,
                                  .pix = TG_PIX_RGB24,
                                  /* frames nothing refers to are not decoded: x264's
                                   * non-reference B-frames, -26 % of the analysis' CPU on
                                   * the 60-s benchmark; samples at 15 a second from 30 fps
                                   * video, the eval's scores unchanged (bench/RESULTS.md,
                                   * part 3) */
                                  .flags = TG_DECODE_FAST | TG_DECODE_NONREF,
                                  .min_interval = MIN_INTERVAL};
        cnn_side(an, &dq[nr], tgi_sampler_cnn_every(dur, TGI_PASS_STRETCH));
        total += t1 - t0;
        nr++;
    }
    /* side by side (STRETCH_LANES), handed to on_sample in time order all the same */
    if ((rc = tgi_ranges_start(ctx, m, dq, nr, o->threads == 1 ? 1 : STRETCH_LANES, STRETCH_BUDGET,
                               &ranges)) < 0)
        goto done;
    for (size_t i = 0; i < nr; i++) {
        double t0 = dq[i].start, t1 = dq[i].end;
        if ((rc = push_span(an, an->n, t1, key_end[i])) < 0)
            goto done;
        an->p0 = 0.5 + 0.5 * done_t / total;
        an->p1 = 0.5 + 0.5 * (done_t + (t1 - t0)) / total;
        an->t0 = t0;
        an->t1 = t1;
        if (an->subj)
            an->subj->stretch_t0 = t0;
        rc = tgi_ranges_take(ctx, ranges, i, on_sample, an);
        if (an->subj)
            an->subj->stretch_t0 = -1;
        if (rc < 0)
            goto done;
        if (an->spans[an->n_spans - 1].first == an->n)
            an->n_spans--; /* nothing decoded there */
        done_t += t1 - t0;
    }
    if (an->n == 0) {
        rc = 1;
        goto done;
    }
    *end_t = dur;
    rc = 0;
done:
    tgi_ranges_free(&ranges);
    free(dq);
    free(key_end);
    free(g);
    sampling_free(&keys);
    return rc;
}

static int cmp_obs(const void *x, const void *y)
{
    double a = ((const tgi_face_obs *)x)->t, b = ((const tgi_face_obs *)y)->t;
    return (a > b) - (a < b);
}

/* time order; within a frame, best first (the order the detector gave) */
static int cmp_subj(const void *x, const void *y)
{
    const tgi_subject_obs *a = x, *b = y;
    if (a->t != b->t)
        return (a->t > b->t) - (a->t < b->t);
    return (a->score < b->score) - (a->score > b->score);
}

int tgi_sampler_run(tg_ctx *ctx, tgi_media *m, const tg_options *o, int round, tg_rect frame,
                    int aw, int ah, tgi_cnn *cnn, tgi_faces *faces, tgi_subjects *subjects,
                    tg_analysis_data *a)
{
    const tgi_media_info *in = tgi_media_get_info(m);
    face_acc fa = {
        .net = faces, .every = fmax(FACE_INTERVAL, in->duration / FACE_MAX), .last_t = -1e9};
    subj_acc sa = {
        .net = subjects, .every = fmax(SUBJ_INTERVAL, in->duration / SUBJ_MAX), .stretch_t0 = -1};
    if (subjects) {
        int rc0 = tgi_subjects_set_side(ctx, subjects, SUBJ_SIDE);
        if (rc0 < 0)
            return rc0;
        tgi_subjects_input_size(SUBJ_SIDE, aw, ah, &sa.iw, &sa.ih);
    }
    sampling an = {
        .faces = faces ? &fa : NULL, .subj = subjects ? &sa : NULL, .ctx = ctx, .cnn = cnn};
    double end_t = 0;
    int rc = 0;
    int sparse = o->analysis == TG_ANALYSIS_SPARSE ||
                 (o->analysis == TG_ANALYSIS_AUTO && in->duration >= SPARSE_AFTER);
    if (sparse && (rc = analyse_sparse(ctx, m, o, round, frame, aw, ah, &an, &end_t)) < 0)
        goto fail;
    if (!sparse || rc == 1) {
        sampling_free(&an);
        an.ctx = ctx;
        an.cnn = cnn;
        an.faces = faces ? &fa : NULL;
        an.subj = subjects ? &sa : NULL;
        fa.n = 0;
        fa.last_t = -1e9;
        sa.n = 0;
        sa.frames = 0;
        sa.n_looks = 0;
        if (cnn)
            tgi_cnn_reset(cnn);
        if ((rc = analyse_full(ctx, m, frame, aw, ah, &an, &end_t)) < 0)
            goto fail;
        sparse = 0;
    }
    a->s = an.s;
    a->n = an.n;
    a->spans = an.spans;
    a->n_spans = an.n_spans;
    a->duration = end_t;
    a->mode = sparse ? TG_ANALYSIS_SPARSE : TG_ANALYSIS_FULL;
    a->more = sparse && an.more;
    a->looked = 0;
    for (size_t k = 0; k < an.n_spans; k++)
        a->looked += an.spans[k].end_t - an.s[an.spans[k].first].t;
    if (faces) {
        qsort(fa.obs, fa.n, sizeof(*fa.obs), cmp_obs);
        a->faces = fa.obs;
        a->n_faces = fa.n;
        a->faces_on = 1;
    }
    if (subjects) {
        qsort(sa.obs, sa.n, sizeof(*sa.obs), cmp_subj);
        a->subjects = sa.obs;
        a->n_subjects = sa.n;
        a->subjects_on = 1;
        a->subjects_in[0] = sa.given_w;
        a->subjects_in[1] = sa.given_h;
        a->subjects_looked = sa.n_looks;
        if (getenv("TG_DEBUG_SELECT"))
            fprintf(stderr, "subjects: %zu frames, the detector ran on %zu\n", sa.frames,
                    sa.n_looks);
    }
    free(sa.looks);
    free(an.seen);
    return 0;
fail:
    free(fa.obs);
    free(sa.obs);
    free(sa.looks);
    sampling_free(&an);
    return rc;
}
