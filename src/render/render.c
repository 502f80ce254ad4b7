/*
 * render.c — drives the second, targeted decoding pass (see render.h).
 *
 *   for each segment: decode [start, end) at output size ──► resample to fps ──► GIF
 *   slideshow style:  one frame at each keyframe time (in time order) ──► GIF
 *   poster:           one frame at poster time at up to 1920 px ──► JPEG/PNG
 *
 * Stills (the poster, a contact sheet's cells, the slideshow's pictures) are taken with
 * a decode that passes them anyway: the clip's decode when it starts from the same
 * keyframe, else one decode for all the stills after one keyframe (render_stills).
 *
 * The frames are decoded once into memory; two or more formats are then encoded side by
 * side, the GIF on one lane and the others in turn on a second thread (encode_lanes).
 */
#include "render/render.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "core/pool.h"
#include "media/image.h"
#include "render/budget.h"
#include "render/frames.h"
#include "render/sheet.h"
#include "upscale/upscale.h"

const tg_opt tgi_render_opts[] = {
    {"width", TG_OPT_INT, offsetof(tg_options, width), 480, 16, 1920, NULL,
     "width of the animated thumbnail in pixels (never upscaled beyond the source)"},
    {"fps", TG_OPT_DOUBLE, offsetof(tg_options, fps), 12, 1, 50, NULL,
     "frame rate of the animated thumbnail"},
    {"quality", TG_OPT_INT, offsetof(tg_options, quality), 90, 1, 100, NULL,
     "encoding quality, 1..100: GIF colours, lossy LZW below 95, inter-frame tolerance; "
     "WebP quality (100 = lossless); MP4 CRF; poster JPEG"},
    {"still-len", TG_OPT_DOUBLE, offsetof(tg_options, still_len), 0.6, 0.1, 5, NULL,
     "seconds per still in the slideshow style"},
    {"crossfade", TG_OPT_DOUBLE, offsetof(tg_options, crossfade), 0, 0, 1, NULL,
     "seconds of cross-fade between stills in the slideshow style (0 = a plain cut)"},
    {"max-bytes", TG_OPT_BYTES, offsetof(tg_options, max_bytes), 0, 10240, 1073741824.0, NULL,
     "byte budget of the animation, e.g. 2M or 500k: the best quality that fits (lower "
     "quality first, then fps, then width, then clip length)"},
    {"upscale", TG_OPT_ENUM, offsetof(tg_options, upscale), TG_UPSCALE_AUTO, 0, 3,
     "off|auto|hd|fullhd",
     "hd: outputs 1280 px wide (720 tall for portrait), fullhd: 1920 (1080), upscaled from the "
     "source's own pixels when it is smaller (a larger source is only resized, never "
     "downscaled then upscaled); auto: only the poster, to HD, when the source is smaller"},
    {"upscale-method", TG_OPT_ENUM, offsetof(tg_options, upscale_method), TG_UPSCALE_METHOD_DEFAULT,
     0, TG_UPSCALE_N_METHODS - 1, TG_UPSCALE_METHOD_CHOICES,
     "lanczos: libswscale Lanczos (measured SSIM .918 at x2, .855 at x3 on clean input); "
     "lanczos+sharpen: the same plus a mild unsharp mask tied to the scale factor, or a mild "
     "denoise instead for a source measured as blocky (SSIM +.001 at x2, +.004 at x3 clean, "
     "equal on JPEG q40, -.0004 at x3 H.264; bench/RESULTS.md, Upscaling); cnn: the RDN "
     "network of @upscalerjs/esrgan-slim on thumbgen's CNN engine, measured BELOW lanczos on "
     "clean input (SSIM .908 vs .918 at x2, .850 vs .855 at x3), level on JPEG/H.264 sources "
     "(+.002 to -.002), and ~100x slower (0.94 s per 640x360 frame): offered, not advised"},
    {"formats", TG_OPT_SET, offsetof(tg_options, formats), 7, 1, 7, "gif|webp|mp4",
     "the animations the server makes, e.g. gif or gif,webp (all three by default; the CLI "
     "writes what -o, --format and --all name, and --formats is --format for each)"},
    {"threads", TG_OPT_INT, offsetof(tg_options, threads), 0, 0, 64, NULL,
     "decoder threads (0 = automatic: sparse analysis also decodes two stretches side by side; 1 = "
     "one thread, one stretch at a time)"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

#define POSTER_MAX_W 1920

/* A still's window: its frame is the first in [t, t + STILL_WINDOW). */
#define STILL_WINDOW 2.0

/* The stills a render needs besides its clips' frames, each the frame a decode of its own
 * at its time would give (grab_still's first attempt). mark: where a decode from the still's
 * time starts reading (tgi_media_seek_landing; -1 unknown), so that a still goes with the
 * clip or the other stills whose decode starts at the same keyframe: the same packets from
 * the same keyframe, so the same frame, and no stretch of the video decoded twice. */
typedef struct render_stills {
    tgi_still_req *r;
    int64_t *mark;
    size_t n, cap;
    int marked;
} render_stills;

static int stills_add(tg_ctx *ctx, render_stills *sv, double t, int w, int h, int pix)
{
    if (sv->n == sv->cap) {
        size_t nc = sv->cap ? sv->cap * 2 : 8;
        tgi_still_req *r = realloc(sv->r, nc * sizeof(*r));
        if (r)
            sv->r = r;
        int64_t *mk = realloc(sv->mark, nc * sizeof(*mk));
        if (mk)
            sv->mark = mk;
        if (!r || !mk)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory");
        sv->cap = nc;
    }
    uint8_t *buf = malloc((size_t)w * h * (pix == TG_PIX_RGBA ? 4 : 3) + TGI_SWS_SLACK);
    if (!buf)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d still", w, h);
    sv->r[sv->n] = (tgi_still_req){
        .t = t, .until = t + STILL_WINDOW, .width = w, .height = h, .pix = pix, .buf = buf};
    sv->mark[sv->n++] = -1;
    sv->marked = 0;
    return 0;
}

static void stills_free(render_stills *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->r[i].buf);
    free(sv->r);
    free(sv->mark);
    memset(sv, 0, sizeof(*sv));
}

static int stills_mark(tg_ctx *ctx, tgi_media *m, render_stills *sv)
{
    int rc;
    for (size_t i = 0; i < sv->n && !sv->marked; i++)
        if ((rc = tgi_media_seek_landing(ctx, m, sv->r[i].t, &sv->mark[i])) < 0)
            return rc;
    sv->marked = 1;
    return 0;
}

/* The stills of sv not taken yet whose mark is mark (>= 0) into sub (room for sv->n); their
 * count. */
static size_t stills_at_mark(const render_stills *sv, int64_t mark, tgi_still_req *sub, size_t *idx)
{
    size_t k = 0;
    for (size_t i = 0; i < sv->n; i++)
        if (!sv->r[i].got && sv->mark[i] >= 0 && sv->mark[i] == mark) {
            sub[k] = sv->r[i];
            idx[k++] = i;
        }
    return k;
}

/* Take the stills of sv not taken yet: one decode for each keyframe they start from (one
 * each where that cannot be told). A still with no frame in its window stays not taken. */
static int stills_take(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, render_stills *sv)
{
    size_t left = 0;
    for (size_t i = 0; i < sv->n; i++)
        left += !sv->r[i].got;
    if (left == 0)
        return 0;
    int rc = left > 1 ? stills_mark(ctx, m, sv) : 0;
    tgi_still_req *sub = malloc(sv->n * sizeof(*sub));
    size_t *idx = malloc(sv->n * sizeof(*idx));
    if (rc == 0 && (!sub || !idx))
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
    for (size_t i = 0; i < sv->n && rc == 0; i++) {
        if (sv->r[i].got || sv->mark[i] == -2) /* taken, or tried with others */
            continue;
        size_t k = 1;
        if (left > 1 && sv->mark[i] >= 0) {
            k = stills_at_mark(sv, sv->mark[i], sub, idx);
        } else {
            sub[0] = sv->r[i];
            idx[0] = i;
        }
        tgi_decode_req rq = {.crop = plan->crop, .stills = sub, .n_stills = k};
        rc = tgi_media_decode(ctx, m, &rq, NULL, NULL, NULL);
        for (size_t j = 0; j < k; j++) {
            sv->r[idx[j]].got = sub[j].got;
            sv->mark[idx[j]] = -2;
        }
    }
    free(sub);
    free(idx);
    return rc;
}

void tgi_render_size(int cw, int ch, int want_w, int *w, int *h)
{
    int ow = want_w < cw ? want_w : cw;
    ow &= ~1;
    if (ow < 2)
        ow = 2;
    int oh = (int)lround((double)ow * ch / cw);
    oh &= ~1;
    if (oh < 2)
        oh = 2;
    *w = ow;
    *h = oh;
}

/* The animation's size: --width (never above the source); with --upscale hd/fullhd
 * the HD size, upscaled from the source's own pixels when the source is smaller (*sw,
 * *sh = the size to decode at, the content's own; 0 = decode at the output size). */
static void anim_size(const tg_plan *plan, const tg_options *o, int *w, int *h, int *sw, int *sh)
{
    int cw = plan->crop.w, ch = plan->crop.h, tw, th;
    *sw = *sh = 0;
    if (o->upscale >= TG_UPSCALE_HD && tgi_upscale_fit(o->upscale, cw, ch, &tw, &th)) {
        *w = tw;
        *h = th;
        *sw = cw;
        *sh = ch;
    } else if (o->upscale >= TG_UPSCALE_HD) {
        tgi_render_size(cw, ch, tw, w, h); /* already HD or larger: a plain resize */
    } else {
        tgi_render_size(cw, ch, o->width, w, h);
    }
}

typedef struct clip_state {
    tg_ctx *ctx;
    tgi_frames *frames;
    int clip;
    uint8_t *prev; /* the source frame on screen, RGBA (at the decode size) */
    int have_prev;
    size_t frame_bytes; /* of prev */
    tgi_upscaler *up;   /* NULL: frames are decoded at output size */
    uint8_t *up_buf;    /* prev upscaled, when up_valid */
    int up_valid, sw, ow;
    double seg_start, seg_end, next_t, fps;
    double src_fps;           /* the video's frame rate, to explain an empty segment */
    long out_index;           /* frames written so far, over all clips */
    double done, total;       /* seconds rendered, for progress */
    double p0, p1;            /* the part of the render stage the decoding reports into */
    tg_ctx *report;           /* where progress goes (ctx, or NULL: a lane that does not report) */
    atomic_long *finished_ms; /* clips side by side: ms of the clips every lane finished */
    const tg_ctx *stop;       /* whose cancel stops the decode (a lane's own ctx has none) */
} clip_state;

/* Display time of the k-th output frame: whole centiseconds that add up to k / fps. */
static int frame_delay(long k, double fps)
{
    int d = (int)(lround((k + 1) * 100.0 / fps) - lround(k * 100.0 / fps));
    return d < 1 ? 1 : d;
}

/* prev at output size: upscaled once, however many output instants show it */
static int output_frame(clip_state *st, const uint8_t **img)
{
    int rc;
    *img = st->prev;
    if (!st->up)
        return 0;
    if (!st->up_valid &&
        (rc = tgi_upscaler_run(st->ctx, st->up, st->prev, st->sw * 4, st->up_buf, st->ow * 4)) < 0)
        return rc;
    st->up_valid = 1;
    *img = st->up_buf;
    return 0;
}

static int emit(clip_state *st)
{
    const uint8_t *rgba;
    int rc = output_frame(st, &rgba);
    if (rc < 0)
        return rc;
    return tgi_frames_add(st->ctx, st->frames, rgba, frame_delay(st->out_index++, st->fps),
                          st->clip);
}

static int on_clip_frame(void *user, const tgi_frame *f)
{
    clip_state *st = user;
    int rc;
    /* every output instant before this frame shows the previous one (or this one,
     * when the clip starts before the first decodable frame) */
    while (st->next_t < f->t - 1e-6 && st->next_t < st->seg_end - 1e-6) {
        if (!st->have_prev) {
            memcpy(st->prev, f->data, st->frame_bytes);
            st->have_prev = 1;
            st->up_valid = 0;
        }
        if ((rc = emit(st)) < 0)
            return rc;
        st->next_t += 1.0 / st->fps;
    }
    memcpy(st->prev, f->data, st->frame_bytes);
    st->have_prev = 1;
    st->up_valid = 0;
    if (tgi_cancelled(st->stop))
        return tgi_fail(st->ctx, TG_ECANCEL, "cancelled during render");
    if (!st->report)
        return 0;
    /* side by side, the caller's lane reports what every lane finished and its own clip so
     * far: never backwards, as its clips come in order */
    double done = st->finished_ms ? atomic_load(st->finished_ms) / 1000.0 : st->done;
    double part = (done + (f->t - st->seg_start)) / st->total;
    return tgi_progress(st->report, "render", st->p0 + (st->p1 - st->p0) * fmin(part, 1.0));
}

/* Whether the frame at t, the next one at next_t, is on screen at an output instant: the
 * instants on_clip_frame would give it (the first frame always, for the instants before
 * it). The others are dropped before they are scaled: at 12 fps from a 30 fps video, 3
 * frames in 5 (bench/RESULTS.md, "Speed at every length", part 3). */
static int clip_needs(void *user, double t, double next_t)
{
    const clip_state *st = user;
    if (!st->have_prev)
        return 1;
    double x = st->next_t; /* the same additions as on_clip_frame's, so the same instants */
    while (x < t - 1e-6 && x < st->seg_end - 1e-6)
        x += 1.0 / st->fps;
    return x < next_t - 1e-6 && x < st->seg_end - 1e-6;
}

/* Whether a frame shown from t0 until t1 could be on screen at an output instant: the
 * instants on_clip_frame gives (the same additions from the clip's start), with a margin.
 * Frames it rules out are not decoded when nothing refers to them: at 12 fps from x264's
 * 30 fps, about half of the non-reference B-frames inside a clip (media.h, span_needed). */
static int clip_span_needed(void *user, double t0, double t1)
{
    const clip_state *st = user;
    for (double x = st->seg_start; x < st->seg_end - 1e-6; x += 1.0 / st->fps)
        if (x >= t0 - 1e-3 && x < t1 + 1e-3)
            return 1;
    return 0;
}

/* The decode of clip g at dw x dh, taking the stills sub[0..k) on the way. */
static tgi_decode_req clip_request(const tg_plan *plan, const tg_segment *g, int dw, int dh,
                                   tgi_still_req *sub, size_t k)
{
    return (tgi_decode_req){.start = g->start,
                            .end = g->end,
                            .width = dw,
                            .height = dh,
                            .crop = plan->crop,
                            .pix = TG_PIX_RGBA,
                            .need = clip_needs,
                            .span_needed = clip_span_needed,
                            .stills = sub,
                            .n_stills = k};
}

static int finish_clip(clip_state *st)
{
    int rc;
    if (!st->have_prev && st->src_fps > 0 && st->seg_end - st->seg_start < 1 / st->src_fps)
        return tgi_fail(st->ctx, TG_EPLAN,
                        "the segment %.3f-%.3f s is shorter than one frame of the video (%.3f s "
                        "at %.4g fps): make it longer",
                        st->seg_start, st->seg_end, 1 / st->src_fps, st->src_fps);
    if (!st->have_prev)
        return tgi_fail(st->ctx, TG_ECORRUPT, "no frame could be decoded between %.3f s and %.3f s",
                        st->seg_start, st->seg_end);
    while (st->next_t < st->seg_end - 1e-6)
        if ((rc = emit(st)) < 0)
            return rc;
        else
            st->next_t += 1.0 / st->fps;
    return 0;
}

typedef struct still_state {
    uint8_t *buf;
    size_t bytes;
    int got;
} still_state;

static int on_still(void *user, const tgi_frame *f)
{
    still_state *st = user;
    memcpy(st->buf, f->data, st->bytes);
    st->got = 1;
    return 1; /* one frame is all we need */
}

/* The first frame at or after t (or, at the very end, the last one before it). */
static int grab_still(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, double t, int w, int h,
                      int pix, still_state *st)
{
    tgi_decode_req rq = {
        .start = t, .end = t + 2.0, .width = w, .height = h, .crop = plan->crop, .pix = pix};
    st->got = 0;
    int rc = tgi_media_decode(ctx, m, &rq, on_still, st, NULL);
    if (rc == 0 && !st->got) {
        rq.start = t > 1.0 ? t - 1.0 : 0;
        rc = tgi_media_decode(ctx, m, &rq, on_still, st, NULL);
    }
    if (rc == 0 && !st->got)
        rc = tgi_fail(ctx, TG_ECORRUPT, "no frame could be decoded at %.2f s", t);
    return rc;
}

/* Frames blending a into b over o->crossfade seconds at the output frame rate. */
static int crossfade(tg_ctx *ctx, tgi_frames *fr, const uint8_t *a, const uint8_t *b, uint8_t *out,
                     size_t bytes, const tg_options *o, int clip)
{
    int nf = (int)lround(o->crossfade * o->fps);
    nf = nf < 1 ? 1 : nf;
    int cs = (int)lround(o->crossfade * 100 / nf), rc;
    for (int k = 1; k <= nf; k++) {
        unsigned wb = (unsigned)(256 * k / (nf + 1)), wa = 256 - wb;
        for (size_t i = 0; i < bytes; i++)
            out[i] = (uint8_t)((a[i] * wa + b[i] * wb + 128) >> 8);
        if ((rc = tgi_frames_add(ctx, fr, out, cs < 2 ? 2 : cs, clip)) < 0)
            return rc;
    }
    return 0;
}

static int cmp_key_t(const void *a, const void *b)
{
    double x = ((const tg_keyframe *)a)->t, y = ((const tg_keyframe *)b)->t;
    return (x > y) - (x < y);
}

/* Decode the plan's clips (or stills) once into fr, at output size and frame rate;
 * progress from p0 to p1 of the render stage. The stills of sv (NULL: none) are taken too,
 * with the clips' decodes where they share a keyframe, else on their own. */
/* Clips are decoded CLIP_LANES at a time, each by a decoder of its own (the caller's media,
 * or the file opened again), into frames of their own, then joined in order with the delays
 * one decode after the other gives (frame_delay of the frame's place in the animation): the
 * same frames, stills and bytes (tests/unit/test_render.c). A clip's frames depend on each
 * other from its keyframe on, so one decoder's frame threads overlap little; the clips have
 * nothing in common (bench/RESULTS.md, "Speed at every length", part 13). One lane: with
 * --threads 1, a single clip, or clips whose frames could pass TG_FRAMES_MAX_BYTES before
 * they are joined (then the cap's error comes as before). */
#define CLIP_LANES 2

static int clip_lanes(const tg_plan *plan, const tg_options *o, int w, int h)
{
    if (plan->n_segments < 2 || o->threads == 1)
        return 1;
    double frames = 0;
    for (size_t i = 0; i < plan->n_segments; i++)
        frames += ceil((plan->segments[i].end - plan->segments[i].start) * o->fps) + 2;
    return frames * w * h * 4 > (double)TG_FRAMES_MAX_BYTES / 2 ? 1 : CLIP_LANES;
}

typedef struct clip_job {
    const tg_segment *g;
    tgi_still_req *sub; /* the stills its decode takes (sv's requests, sv's buffers) */
    size_t *idx;        /* their places in sv */
    size_t k;
    tgi_frames frames;
    tg_ctx *ctx; /* its own: lanes other than the caller's must not write the caller's */
    int rc;
} clip_job;

typedef struct clip_run {
    const tg_plan *plan;
    clip_job *job;
    clip_state st[CLIP_LANES]; /* a lane's: its previous frame, its upscaler */
    tgi_media *m[CLIP_LANES];
    int dw, dh;
    atomic_long finished_ms; /* for the caller's lane's progress */
} clip_run;

static void clip_part(void *user, int lane, int part)
{
    clip_run *R = user;
    clip_job *j = &R->job[part];
    clip_state *st = &R->st[lane];
    st->ctx = j->ctx;
    st->frames = &j->frames;
    st->out_index = 0; /* the delays are set again when the clips are joined */
    st->seg_start = st->next_t = j->g->start;
    st->seg_end = j->g->end;
    st->have_prev = 0;
    st->up_valid = 0;
    st->clip = part;
    tgi_decode_req rq = clip_request(R->plan, j->g, R->dw, R->dh, j->sub, j->k);
    int rc = tgi_media_decode(j->ctx, R->m[lane], &rq, on_clip_frame, st, NULL);
    if (rc >= 0)
        rc = finish_clip(st);
    j->rc = rc < 0 ? rc : 0;
    atomic_fetch_add(&R->finished_ms, lround((j->g->end - j->g->start) * 1000));
}

static int decode_clips(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, const tg_options *o,
                        int lanes, int dw, int dh, clip_state *st0, render_stills *sv)
{
    size_t n = plan->n_segments;
    clip_run R = {.plan = plan, .dw = dw, .dh = dh};
    tgi_pool *pool = NULL;
    uint8_t *taken = NULL;
    int rc = 0;
    R.job = calloc(n, sizeof(*R.job));
    if (!R.job || (sv->n && !(taken = calloc(sv->n, 1)))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    /* each still goes with the first clip whose decode starts where its own would */
    for (size_t i = 0; i < n; i++) {
        clip_job *j = &R.job[i];
        j->g = &plan->segments[i];
        j->frames = (tgi_frames){.w = st0->frames->w, .h = st0->frames->h, .cuts = 1};
        if (!(j->ctx = tg_ctx_new()) || (sv->n && (!(j->sub = malloc(sv->n * sizeof(*j->sub))) ||
                                                   !(j->idx = malloc(sv->n * sizeof(*j->idx)))))) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto done;
        }
        int64_t mark = -1;
        if (sv->n && (rc = tgi_media_seek_landing(ctx, m, j->g->start, &mark)) < 0)
            goto done;
        for (size_t s = 0; mark >= 0 && s < sv->n; s++)
            if (!sv->r[s].got && !taken[s] && sv->mark[s] == mark) {
                taken[s] = 1;
                j->sub[j->k] = sv->r[s];
                j->idx[j->k++] = s;
            }
    }
    /* the lanes: the caller's (its decoder, frame buffers and progress) and the others */
    atomic_init(&R.finished_ms, 0);
    R.m[0] = m;
    R.st[0] = *st0;
    R.st[0].finished_ms = &R.finished_ms;
    int have = 1;
    for (; have < lanes; have++) {
        clip_state *st = &R.st[have];
        *st = *st0;
        st->report = NULL;
        st->finished_ms = NULL;
        st->prev = NULL;
        st->up = NULL;
        st->up_buf = NULL;
        tg_ctx *tmp = tg_ctx_new();
        int ok = tmp && tgi_media_open_again(tmp, m, 1, &R.m[have]) == 0 &&
                 (st->prev = malloc(st->frame_bytes + TGI_SWS_SLACK)) != NULL;
        if (ok && st0->up)
            ok = tgi_upscaler_new(tmp, o->upscale_method, dw, dh, st->ow, st0->frames->h, 4,
                                  &st->up) == 0 &&
                 (st->up_buf = malloc((size_t)st->ow * st0->frames->h * 4 + TGI_SWS_SLACK)) != NULL;
        tg_ctx_free(&tmp);
        if (!ok) {
            free(st->prev);
            free(st->up_buf);
            tgi_upscaler_free(&st->up);
            tgi_media_close(&R.m[have]);
            break;
        }
    }
    if (have > 1 && (pool = tgi_pool_new(have)) != NULL)
        tgi_pool_run(pool, (int)n, have, clip_part, &R);
    else
        for (size_t i = 0; i < n; i++)
            clip_part(&R, 0, (int)i);
    /* joined in order: the first failure is the one a decode after the other meets */
    long k = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        clip_job *j = &R.job[i];
        for (size_t s = 0; s < j->k; s++)
            sv->r[j->idx[s]].got = j->sub[s].got;
        if (j->rc < 0) {
            rc = tgi_fail(ctx, j->rc, "%s", tg_ctx_message(j->ctx));
            break;
        }
        for (size_t f = 0; f < j->frames.n && rc == 0; f++)
            rc = tgi_frames_append(ctx, st0->frames, &j->frames, f, frame_delay(k++, st0->fps));
        tgi_frames_free(&j->frames);
    }
    if (rc == 0)
        rc = tgi_progress(ctx, "render", st0->p1);
done:
    tgi_pool_free(&pool);
    for (int l = 1; l < CLIP_LANES; l++) {
        if (!R.m[l])
            continue;
        free(R.st[l].prev);
        free(R.st[l].up_buf);
        tgi_upscaler_free(&R.st[l].up);
        tgi_media_close(&R.m[l]);
    }
    for (size_t i = 0; R.job && i < n; i++) {
        tgi_frames_free(&R.job[i].frames);
        free(R.job[i].sub);
        free(R.job[i].idx);
        tg_ctx_free(&R.job[i].ctx);
    }
    free(R.job);
    free(taken);
    return rc;
}

static int collect_frames(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, const tg_options *o,
                          tgi_frames *fr, double p0, double p1, render_stills *sv)
{
    int w, h, sw, sh, rc = 0;
    anim_size(plan, o, &w, &h, &sw, &sh);
    fr->w = w;
    fr->h = h;
    fr->cuts = 1; /* clips of the video, or stills */
    /* dw x dh: the decode size (the source's own when upscaling) */
    int dw = sw ? sw : w, dh = sw ? sh : h;
    size_t out_bytes = (size_t)w * h * 4;
    clip_state st = {.ctx = ctx,
                     .frames = fr,
                     .fps = o->fps,
                     .src_fps = tgi_media_get_info(m)->fps,
                     .frame_bytes = (size_t)dw * dh * 4,
                     .sw = dw,
                     .ow = w,
                     .p0 = p0,
                     .p1 = p1,
                     .report = ctx,
                     .stop = ctx};
    tg_keyframe *keys = NULL;
    uint8_t *first = NULL, *last = NULL, *blend = NULL;
    render_stills own = {0};
    tgi_still_req *sub = NULL;
    size_t *idx = NULL;
    if (!sv)
        sv = &own;
    st.prev = malloc(st.frame_bytes + TGI_SWS_SLACK); /* the upscaler's sws source */
    if (!st.prev)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory for %dx%d frames", w, h);
    if (sw) {
        if ((rc = tgi_upscaler_new(ctx, o->upscale_method, dw, dh, w, h, 4, &st.up)) < 0)
            goto done;
        if (!(st.up_buf = malloc(out_bytes + TGI_SWS_SLACK))) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for %dx%d frames", w, h);
            goto done;
        }
    }
    if (o->style == TG_STYLE_SLIDESHOW && plan->n_keyframes > 0) {
        keys = malloc(plan->n_keyframes * sizeof(*keys));
        if (!keys) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto done;
        }
        /* two stills of one shot a moment apart look like a stutter: keep only the
         * better ranked of them (keyframes are ranked best first) */
        size_t nk = 0;
        for (size_t i = 0; i < plan->n_keyframes; i++) {
            const tg_keyframe *k = &plan->keyframes[i];
            int dup = 0;
            for (size_t j = 0; j < nk; j++)
                dup |= k->shot >= 0 && keys[j].shot == k->shot && fabs(keys[j].t - k->t) < 4.0;
            if (!dup)
                keys[nk++] = *k;
        }
        qsort(keys, nk, sizeof(*keys), cmp_key_t);
        /* all the stills at once, those after one keyframe in one decode */
        size_t base = sv->n;
        for (size_t i = 0; i < nk; i++)
            if ((rc = stills_add(ctx, sv, keys[i].t, dw, dh, TG_PIX_RGBA)) < 0)
                goto done;
        if ((rc = stills_take(ctx, m, plan, sv)) < 0)
            goto done;
        still_state ss = {.buf = st.prev, .bytes = st.frame_bytes};
        int delay = (int)lround(o->still_len * 100);
        if (o->crossfade > 0 && nk > 1) {
            first = malloc(out_bytes + TGI_SWS_SLACK);
            last = malloc(out_bytes + TGI_SWS_SLACK);
            blend = malloc(out_bytes + TGI_SWS_SLACK);
            if (!first || !last || !blend) {
                rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
                goto done;
            }
        }
        for (size_t i = 0; i < nk; i++) {
            const uint8_t *cur;
            if (sv->r[base + i].got)
                memcpy(st.prev, sv->r[base + i].buf, st.frame_bytes);
            else if ((rc = grab_still(ctx, m, plan, keys[i].t, dw, dh, TG_PIX_RGBA, &ss)) < 0)
                goto done;
            st.up_valid = 0;
            if ((rc = output_frame(&st, &cur)) < 0)
                goto done;
            if (first && i > 0 &&
                (rc = crossfade(ctx, fr, last, cur, blend, out_bytes, o, (int)i - 1)) < 0)
                goto done;
            if ((rc = tgi_frames_add(ctx, fr, cur, delay, (int)i)) < 0 ||
                (rc = tgi_progress(ctx, "render", p0 + (p1 - p0) * (double)(i + 1) / nk)) < 0)
                goto done;
            if (first) {
                memcpy(last, cur, out_bytes);
                if (i == 0)
                    memcpy(first, cur, out_bytes);
            }
        }
        /* the GIF loops: fade from the last still back into the first */
        if (first && (rc = crossfade(ctx, fr, last, first, blend, out_bytes, o, (int)nk - 1)) < 0)
            goto done;
    } else {
        for (size_t i = 0; i < plan->n_segments; i++)
            st.total += plan->segments[i].end - plan->segments[i].start;
        if (sv->n && (rc = stills_mark(ctx, m, sv)) < 0)
            goto done;
        if (sv->n &&
            (!(sub = malloc(sv->n * sizeof(*sub))) || !(idx = malloc(sv->n * sizeof(*idx))))) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto done;
        }
        int lanes = clip_lanes(plan, o, w, h);
        if (lanes > 1) {
            if ((rc = decode_clips(ctx, m, plan, o, lanes, dw, dh, &st, sv)) < 0)
                goto done;
        } else {
            for (size_t i = 0; i < plan->n_segments; i++) {
                const tg_segment *g = &plan->segments[i];
                /* the stills whose decode would start where this clip's does */
                int64_t mark = -1;
                size_t k = 0;
                if (sv->n && (rc = tgi_media_seek_landing(ctx, m, g->start, &mark)) < 0)
                    goto done;
                if (mark >= 0)
                    k = stills_at_mark(sv, mark, sub, idx);
                st.seg_start = st.next_t = g->start;
                st.seg_end = g->end;
                st.have_prev = 0;
                st.clip = (int)i;
                tgi_decode_req rq = clip_request(plan, g, dw, dh, sub, k);
                rc = tgi_media_decode(ctx, m, &rq, on_clip_frame, &st, NULL);
                for (size_t j = 0; j < k; j++)
                    sv->r[idx[j]].got = sub[j].got;
                if (rc < 0 || (rc = finish_clip(&st)) < 0)
                    goto done;
                st.done += g->end - g->start;
            }
        }
        if ((rc = stills_take(ctx, m, plan, sv)) < 0)
            goto done;
    }
    rc = 0;
done:
    stills_free(&own);
    free(sub);
    free(idx);
    tgi_upscaler_free(&st.up);
    free(st.up_buf);
    free(st.prev);
    free(keys);
    free(first);
    free(last);
    free(blend);
    return rc;
}

/* The poster: its time, the size it is decoded at (dw x dh) and, when it is upscaled from
 * there, the size it is written at (*up set, tw x th); else it is written at dw x dh. */
static double poster_geometry(const tg_plan *plan, const tg_options *o, int *dw, int *dh, int *up,
                              int *tw, int *th)
{
    /* the source's size up to 1920 px; with --upscale auto, hd or fullhd, a smaller
     * source is upscaled to HD (auto, hd) or Full HD from its own pixels */
    int w, h, cw = plan->crop.w, ch = plan->crop.h;
    int mode = o->upscale == TG_UPSCALE_AUTO ? TG_UPSCALE_HD : o->upscale;
    *up = tgi_upscale_fit(mode, cw, ch, tw, th);
    tgi_render_size(cw, ch, POSTER_MAX_W, &w, &h);
    *dw = *up ? cw : w;
    *dh = *up ? ch : h;
    return plan->poster_t >= 0 ? plan->poster_t
           : plan->n_keyframes ? plan->keyframes[0].t
                               : plan->segments[0].start;
}

/* taken: the poster's still when another decode took it (NULL or not got: decoded here). */
static int write_poster(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, const tg_options *o, int fd,
                        int format, const tgi_still_req *taken)
{
    int dw, dh, up, tw, th, w, h, rc = 0;
    double t = poster_geometry(plan, o, &dw, &dh, &up, &tw, &th);
    w = dw;
    h = dh;
    tgi_upscaler *u = NULL;
    uint8_t *big = NULL;
    still_state ss = {.bytes = (size_t)dw * dh * 3};
    ss.buf = malloc(ss.bytes + TGI_SWS_SLACK);
    if (!ss.buf)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d poster", dw, dh);
    if (taken && taken->got)
        memcpy(ss.buf, taken->buf, ss.bytes);
    else if ((rc = grab_still(ctx, m, plan, t, dw, dh, TG_PIX_RGB24, &ss)) < 0)
        goto done;
    const uint8_t *img = ss.buf;
    if (up) {
        w = tw;
        h = th;
        if ((rc = tgi_upscaler_new(ctx, o->upscale_method, dw, dh, w, h, 3, &u)) < 0)
            goto done;
        if (!(big = malloc((size_t)w * h * 3 + TGI_SWS_SLACK))) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d poster", w, h);
            goto done;
        }
        if ((rc = tgi_upscaler_run(ctx, u, ss.buf, dw * 3, big, w * 3)) < 0)
            goto done;
        img = big;
    }
    rc = tgi_image_write(ctx, fd, format, img, w, h, o->quality);
done:
    tgi_upscaler_free(&u);
    free(big);
    free(ss.buf);
    return rc;
}

/* Encoding the formats side by side: two lanes (the GIF, the costliest, in one; the others in
 * turn in the other), each with its own context. Their progress is relayed to the caller's
 * context under one lock, so that the caller hears one rising value from one thread at a
 * time; a cancelled caller, or a failed lane, cancels both. */
struct lanes;
typedef struct lane {
    struct lanes *all;
    tg_ctx *ctx;
    int kinds[3], n;
    double cost; /* of its formats */
    double f;    /* its progress, 0..1 */
    int rc;
} lane;

typedef struct lanes {
    pthread_mutex_t mu;
    tg_ctx *parent;
    const tgi_frames *fr;
    const tg_options *o;
    tgi_atomic *anim;
    tg_output_report **reps;
    const double *cost_anim;
    double from, total; /* the render stage before the encoding; the stage's whole cost */
    lane lane[2];
} lanes;

static void relay(void *user, const char *stage, double f)
{
    lane *ln = user;
    lanes *L = ln->all;
    (void)stage;
    pthread_mutex_lock(&L->mu);
    ln->f = f;
    double p = L->from;
    for (int k = 0; k < 2; k++)
        p += L->lane[k].cost / L->total * L->lane[k].f;
    if (tgi_progress(L->parent, "render", p) < 0)
        for (int k = 0; k < 2; k++)
            tg_ctx_cancel(L->lane[k].ctx);
    pthread_mutex_unlock(&L->mu);
}

static void lane_main(void *user, int pool_lane, int part)
{
    (void)pool_lane;
    lane *ln = &((lane *)user)[part];
    lanes *L = ln->all;
    double at = 0;
    int rc = 0;
    for (int i = 0; i < ln->n && rc == 0; i++) {
        int k = ln->kinds[i];
        double next = at + L->cost_anim[k] / ln->cost;
        rc = tgi_budget_encode(ln->ctx, k, L->fr, L->o->quality, L->o->fps, L->o->max_bytes,
                               L->anim[k].tmp, L->anim[k].fd, L->reps[k], at, next, L->o->threads);
        at = next;
    }
    ln->rc = rc;
    if (rc < 0) /* the other lane's work is of no use now */
        for (int k = 0; k < 2; k++)
            tg_ctx_cancel(L->lane[k].ctx);
}

/* The outputs in paths (two or more), encoded in two lanes: the two parts of a run on a
 * pool of two (core/pool.h; without a second thread they run one after the other). */
static int encode_lanes(tg_ctx *ctx, const tgi_frames *fr, const tg_options *o, const char **paths,
                        tgi_atomic *anim, tg_output_report **reps, const double *cost_anim,
                        double from, double total)
{
    lanes L = {.parent = ctx,
               .fr = fr,
               .o = o,
               .anim = anim,
               .reps = reps,
               .cost_anim = cost_anim,
               .from = from,
               .total = total};
    int first = 1, rc = 0;
    for (int k = 0; k < 3; k++) {
        if (!paths[k])
            continue;
        lane *ln = &L.lane[first ? 0 : 1];
        ln->kinds[ln->n++] = k;
        ln->cost += cost_anim[k];
        first = 0;
    }
    pthread_mutex_init(&L.mu, NULL);
    for (int k = 0; k < 2; k++) {
        L.lane[k].all = &L;
        if (!(L.lane[k].ctx = tg_ctx_new()))
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        else
            tg_ctx_set_progress(L.lane[k].ctx, relay, &L.lane[k]);
    }
    tgi_pool *pool = rc == 0 ? tgi_pool_new(2) : NULL;
    if (rc == 0 && !pool)
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
    if (rc == 0) {
        tgi_pool_run(pool, 2, 0, lane_main, L.lane);
        tgi_pool_free(&pool);
        /* the first real error, else a cancellation (the caller's context says so) */
        for (int pass = 0; pass < 2 && rc == 0; pass++)
            for (int k = 0; k < 2 && rc == 0; k++) {
                int r = L.lane[k].rc;
                if (r < 0 && (pass == 1 || r != TG_ECANCEL))
                    rc = tgi_fail(ctx, r, "%s", tg_ctx_message(L.lane[k].ctx));
            }
        if (rc == 0 && (rc = tgi_progress(ctx, "render",
                                          from + (L.lane[0].cost + L.lane[1].cost) / total)) < 0)
            rc = TG_ECANCEL;
    }
    for (int k = 0; k < 2; k++)
        tg_ctx_free(&L.lane[k].ctx);
    pthread_mutex_destroy(&L.mu);
    return rc;
}

int tgi_render_run(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, const tg_options *o,
                   tg_outputs *out)
{
    const char *paths[3] = {out->gif, out->webp, out->mp4};
    tg_output_report *reps[3] = {&out->gif_report, &out->webp_report, &out->mp4_report};
    tgi_atomic anim[3] = {{.fd = -1}, {.fd = -1}, {.fd = -1}}, poster = {.fd = -1},
               sheet = {.fd = -1};
    tgi_frames frames = {0};
    render_stills sv = {0};
    size_t poster_i = 0, cell0 = 0;
    int rc = 0, pfmt = -1, sfmt = -1;
    if (out->poster && (pfmt = tgi_image_format_for(out->poster)) < 0)
        return tgi_fail(ctx, TG_EINVAL, "the poster '%s' must end in .jpg, .jpeg or .png",
                        out->poster);
    if (out->sheet && (sfmt = tgi_image_format_for(out->sheet)) < 0)
        return tgi_fail(ctx, TG_EINVAL, "the contact sheet '%s' must end in .jpg, .jpeg or .png",
                        out->sheet);
    if (plan->n_segments == 0 && plan->n_keyframes == 0)
        return tgi_fail(ctx, TG_EPLAN, "the plan has no segments and no keyframes");
    if (plan->crop.w < 2 || plan->crop.h < 2)
        return tgi_fail(ctx, TG_EPLAN, "the plan's crop is empty");
    /* progress: each step's share of the render stage, from its measured CPU time
     * (story.mp4, 3 clips at 480 px, quality 90: decoding 0.5 s, GIF 2.0, WebP 1.3,
     * MP4 0.5, poster 0.6), so that the bar moves at about the same speed throughout */
    static const double cost_anim[3] = {4.0, 2.6, 1.0};
    const double cost_decode = 1.0, cost_still = 1.2;
    double total = (out->poster ? cost_still : 0) + (out->sheet ? cost_still : 0), at = 0;
    if (paths[0] || paths[1] || paths[2])
        total += cost_decode;
    for (int k = 0; k < 3; k++)
        total += paths[k] ? cost_anim[k] : 0;
    total = total > 0 ? total : 1;
    /* the stills, taken with the decodes that pass them */
    if (out->poster) {
        int dw, dh, up, tw, th;
        double t = poster_geometry(plan, o, &dw, &dh, &up, &tw, &th);
        poster_i = sv.n;
        if ((rc = stills_add(ctx, &sv, t, dw, dh, TG_PIX_RGB24)) < 0)
            goto fail;
    }
    if (out->sheet) {
        int cw, ch;
        tgi_sheet_cell_size(plan, &cw, &ch);
        cell0 = sv.n;
        for (size_t i = 0; i < plan->n_keyframes; i++)
            if ((rc = stills_add(ctx, &sv, plan->keyframes[i].t, cw, ch, TG_PIX_RGB24)) < 0)
                goto fail;
    }
    /* decode once into memory; every format and every ladder trial reads it */
    if (paths[0] || paths[1] || paths[2]) {
        at = cost_decode / total;
        if ((rc = collect_frames(ctx, m, plan, o, &frames, 0, at, &sv)) < 0)
            goto fail;
        if (frames.n == 0) {
            rc = tgi_fail(ctx, TG_ECORRUPT, "no frame could be decoded for the animation");
            goto fail;
        }
    }
    int n_anim = 0;
    for (int k = 0; k < 3; k++)
        if (paths[k] && (n_anim++, rc = tgi_atomic_open(ctx, paths[k], &anim[k])) < 0)
            goto fail;
    if (n_anim >= 2 && o->threads != 1) {
        /* two or more formats: side by side (each encoder is one thread; one decoder thread
         * asked for means one thread in all) */
        if ((rc = encode_lanes(ctx, &frames, o, paths, anim, reps, cost_anim, at, total)) < 0)
            goto fail;
        for (int k = 0; k < 3; k++)
            at += paths[k] ? cost_anim[k] / total : 0;
    } else {
        for (int k = 0; k < 3; k++) {
            if (!paths[k])
                continue;
            double next = at + cost_anim[k] / total;
            if ((rc = tgi_budget_encode(ctx, k, &frames, o->quality, o->fps, o->max_bytes,
                                        anim[k].tmp, anim[k].fd, reps[k], at, next, o->threads)) <
                0)
                goto fail;
            at = next;
        }
    }
    tgi_frames_free(&frames);
    if ((rc = stills_take(ctx, m, plan, &sv)) < 0) /* without an animation */
        goto fail;
    if (out->poster) {
        if ((rc = tgi_atomic_open(ctx, out->poster, &poster)) < 0 ||
            (rc = write_poster(ctx, m, plan, o, poster.fd, pfmt, &sv.r[poster_i])) < 0 ||
            (rc = tgi_progress(ctx, "render", at += cost_still / total)) < 0)
            goto fail;
    }
    if (out->sheet) {
        if ((rc = tgi_atomic_open(ctx, out->sheet, &sheet)) < 0 ||
            (rc = tgi_sheet_write(ctx, m, plan, o, sheet.fd, sfmt,
                                  plan->n_keyframes ? &sv.r[cell0] : NULL)) < 0)
            goto fail;
    }
    stills_free(&sv);
    /* everything written: only now make the files visible */
    for (int k = 0; k < 3; k++)
        if (paths[k] && (rc = tgi_atomic_commit(ctx, &anim[k])) < 0)
            goto fail;
    if (out->poster && (rc = tgi_atomic_commit(ctx, &poster)) < 0)
        goto fail;
    if (out->sheet && (rc = tgi_atomic_commit(ctx, &sheet)) < 0)
        goto fail;
    return 0;
fail:
    stills_free(&sv);
    tgi_frames_free(&frames);
    for (int k = 0; k < 3; k++)
        tgi_atomic_abort(&anim[k]);
    tgi_atomic_abort(&poster);
    tgi_atomic_abort(&sheet);
    return rc;
}

/* One still from an image (or the first frame of anything) at w x h, into buf. */
static int read_image(tg_ctx *ctx, const char *path, int threads, int w, int h, uint8_t *buf)
{
    tgi_media *m = NULL;
    int rc = tgi_media_open(ctx, path, threads, &m);
    if (rc < 0)
        return rc;
    const tgi_media_info *in = tgi_media_get_info(m);
    tg_plan p = {.crop = {0, 0, in->width, in->height}};
    still_state ss = {.buf = buf, .bytes = (size_t)w * h * 4};
    rc = grab_still(ctx, m, &p, 0, w, h, TG_PIX_RGBA, &ss);
    tgi_media_close(&m);
    return rc;
}

/* Image files are read side by side: two a lane at a time (at most READ_BATCH) on a pool,
 * each with its own context and buffer, then added in order, so the frames are those read
 * one by one (the buffers: 2 x 4 x 8 MB at 1080p on 4 lanes).
 * Reading 48 PNG frames of 480x270 one by one took a fifth of `thumbgen encode`'s time
 * (bench/encoders.sh; bench/RESULTS.md, render9). */
#define READ_BATCH     16
#define READ_MAX_LANES 8

typedef struct read_run {
    const char *const *inputs;
    size_t first, n; /* this batch: inputs[first .. first + n - 1] */
    int w, h;
    int threads; /* each decoder's */
    uint8_t *buf[READ_BATCH];
    tg_ctx *ctx[READ_MAX_LANES]; /* a lane's (its failures: msg) */
    int rc[READ_BATCH];
    char msg[READ_BATCH][256];
} read_run;

static void read_part(void *user, int l, int part)
{
    read_run *R = user;
    R->rc[part] = read_image(R->ctx[l], R->inputs[R->first + (size_t)part], R->threads, R->w, R->h,
                             R->buf[part]);
    if (R->rc[part] < 0)
        snprintf(R->msg[part], sizeof(R->msg[part]), "%s", tg_ctx_message(R->ctx[l]));
}

/* inputs[0..n-1], each one frame at fr->w x fr->h (set), appended to fr in order. */
static int read_images(tg_ctx *ctx, const char *const *inputs, size_t n, const tg_options *o,
                       tgi_frames *fr)
{
    read_run R = {.inputs = inputs, .w = fr->w, .h = fr->h};
    int nlanes = o->threads > 0 ? o->threads : 0;
    nlanes = nlanes > READ_MAX_LANES ? READ_MAX_LANES : nlanes;
    tgi_pool *pool = nlanes != 1 && n > 1 ? tgi_pool_new(nlanes) : NULL;
    nlanes = pool ? tgi_pool_lanes(pool) : 1;
    /* side by side, a decoder each: one thread per image (frame threads would only start
     * and stop for one frame) */
    R.threads = nlanes > 1 ? 1 : o->threads;
    int rc = 0;
    for (int l = 0; l < nlanes && rc == 0; l++)
        if (!(R.ctx[l] = tg_ctx_new()))
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
    size_t batch = 2 * (size_t)nlanes < READ_BATCH ? 2 * (size_t)nlanes : READ_BATCH;
    for (size_t k = 0; k < batch && rc == 0; k++)
        if (!(R.buf[k] = malloc((size_t)fr->w * fr->h * 4)))
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == 0; i += batch) {
        R.first = i;
        R.n = n - i < batch ? n - i : batch;
        tgi_pool_run(pool, (int)R.n, 0, read_part, &R);
        for (size_t k = 0; k < R.n && rc == 0; k++) {
            long j = (long)fr->n;
            int d = (int)(lround((j + 1) * 100.0 / o->fps) - lround(j * 100.0 / o->fps));
            if (R.rc[k] < 0)
                rc = tgi_fail(ctx, R.rc[k], "%s", R.msg[k]);
            else if ((rc = tgi_frames_add(ctx, fr, R.buf[k], d < 1 ? 1 : d, (int)(i + k))) == 0)
                rc = tgi_progress(ctx, "read", (double)(i + k + 1) / n);
        }
    }
    for (size_t k = 0; k < READ_BATCH; k++)
        free(R.buf[k]);
    for (int l = 0; l < READ_MAX_LANES; l++)
        tg_ctx_free(&R.ctx[l]);
    tgi_pool_free(&pool);
    return rc;
}

int tg_render_files(tg_ctx *ctx, const char *const *inputs, size_t n, const tg_options *o,
                    tg_outputs *out)
{
    const char *paths[3] = {out->gif, out->webp, out->mp4};
    tg_output_report *reps[3] = {&out->gif_report, &out->webp_report, &out->mp4_report};
    tgi_atomic anim[3] = {{.fd = -1}, {.fd = -1}, {.fd = -1}};
    tgi_frames frames = {0};
    tgi_media *m = NULL;
    int rc = 0;
    if (n == 0)
        return tgi_fail(ctx, TG_EINVAL, "nothing to encode: give a video clip or image files");
    if (!paths[0] && !paths[1] && !paths[2])
        return tgi_fail(ctx, TG_EINVAL, "no output: give -o OUT.gif, .webp or .mp4");
    if (n == 1 && tgi_image_format_for(inputs[0]) < 0) {
        /* a clip: every frame of it, resampled to the output frame rate */
        if ((rc = tgi_media_open(ctx, inputs[0], o->threads, &m)) < 0)
            goto fail;
        const tgi_media_info *in = tgi_media_get_info(m);
        if (in->duration <= 0) {
            rc = tgi_fail(ctx, TG_EFORMAT, "'%s' does not say how long it is", inputs[0]);
            goto fail;
        }
        tg_segment seg = {.start = 0, .end = in->duration};
        tg_plan p = {.crop = {0, 0, in->width, in->height}, .segments = &seg, .n_segments = 1};
        tg_options clip = *o;
        clip.style = TG_STYLE_CLIPS;
        if ((rc = collect_frames(ctx, m, &p, &clip, &frames, 0, 0.2, NULL)) < 0)
            goto fail;
    } else {
        /* images: each one frame, in the order given, at the first one's output size */
        tgi_media *probe = NULL;
        if ((rc = tgi_media_open(ctx, inputs[0], o->threads, &probe)) < 0)
            goto fail;
        const tgi_media_info *in = tgi_media_get_info(probe);
        tgi_render_size(in->width, in->height, o->width, &frames.w, &frames.h);
        tgi_media_close(&probe);
        if ((rc = read_images(ctx, inputs, n, o, &frames)) < 0)
            goto fail;
    }
    if (frames.n == 0) {
        rc = tgi_fail(ctx, TG_ECORRUPT, "no frame could be decoded");
        goto fail;
    }
    /* the encodes share the render stage after the clip's decoding (its first 20 %) */
    int n_paths = !!paths[0] + !!paths[1] + !!paths[2], done_paths = 0;
    double from = m ? 0.2 : 0;
    for (int k = 0; k < 3; k++) {
        if (!paths[k])
            continue;
        double lo = from + (1 - from) * done_paths / n_paths,
               hi = from + (1 - from) * ++done_paths / n_paths;
        if ((rc = tgi_atomic_open(ctx, paths[k], &anim[k])) < 0 ||
            (rc = tgi_budget_encode(ctx, k, &frames, o->quality, o->fps, o->max_bytes, anim[k].tmp,
                                    anim[k].fd, reps[k], lo, hi, o->threads)) < 0)
            goto fail;
    }
    for (int k = 0; k < 3; k++)
        if (paths[k] && (rc = tgi_atomic_commit(ctx, &anim[k])) < 0)
            goto fail;
    rc = 0;
fail:
    tgi_media_close(&m);
    tgi_frames_free(&frames);
    for (int k = 0; k < 3; k++)
        tgi_atomic_abort(&anim[k]);
    return rc;
}
