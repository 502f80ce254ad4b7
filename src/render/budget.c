/*
 * budget.c — the byte-budget ladder (see budget.h).
 *
 *   rungs:  Q q→80→70→60→50→40→30→20→10 | F step 2, 3 | W 80 %, 65 %, 50 %, 35 % |
 *           K 75 %, 50 %, 35 %
 *   trial 0 = the asked quality; if it fits, done. Else predict each later rung's size
 *   as trial0 × model(rung)/model(rung0), corrected by the last trial's error, encode
 *   the first rung predicted to fit, and walk on from there until one fits. Then
 *   bisect between the last rung that did not fit and the one that did: the result
 *   is the earliest (best) rung that fits, in about log2(ladder) more trials.
 */
#include "render/budget.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "render/gif.h"
#include "render/mp4.h"
#include "render/webp.h"

#define TG_WEBP_LOSSLESS_EFFORT 25

typedef struct rung {
    int quality, step;
    double scale, keep;
} rung;

/* The GIF's size at a quality over its size at 90: the geometric mean over
 * bench/encoders.sh's five clips (pans, slow zooms, handheld footage; 480 px, 12 fps)
 * with gif.c's quality table of 2026-12-05 (bench/RESULTS.md), linear in between. The
 * step from 50 to 60 is the palette's (gif.c); the clips spread by up to 1.4x around
 * these at the low end, which the correction from each trial absorbs. */
static const double gif_share[][2] = {
    {1, 0.235},  {10, 0.259}, {20, 0.302}, {30, 0.352}, {40, 0.384}, {50, 0.416},
    {60, 0.686}, {70, 0.832}, {80, 0.945}, {90, 1.0},   {100, 1.10},
};

double tgi_budget_quality_share(int kind, int quality)
{
    double q = quality < 1 ? 1 : quality > 100 ? 100 : quality;
    if (kind != TG_ANIM_GIF) /* WebP and MP4: a rough curve, corrected by the trials */
        return q >= 90 ? 1.0 : q >= 50 ? 0.5 + 0.5 * (q - 50) / 40.0 : 0.3 + 0.2 * (q - 10) / 40.0;
    size_t n = sizeof(gif_share) / sizeof(gif_share[0]);
    for (size_t i = 1; i < n; i++)
        if (q <= gif_share[i][0]) {
            const double *a = gif_share[i - 1], *b = gif_share[i];
            return a[1] + (b[1] - a[1]) * (q - a[0]) / (b[0] - a[0]);
        }
    return gif_share[n - 1][1];
}

/* Relative size of a rung: size roughly follows area, frame count^0.85 and the
 * quality's share (measured on natural video: the fixtures and bench/encoders.sh's
 * clips). */
static double model(int kind, const rung *r)
{
    return tgi_budget_quality_share(kind, r->quality) * r->scale * r->scale *
           pow(1.0 / r->step, 0.85) * r->keep;
}

/* The part of the render stage one trial's frames report into. */
typedef struct span {
    double lo, hi, end; /* this trial's part; end: the whole encode's */
} span;

static int frame_done(tg_ctx *ctx, const span *sp, size_t i, size_t n)
{
    return tgi_progress(ctx, "render", sp->lo + (sp->hi - sp->lo) * (double)(i + 1) / (double)n);
}

typedef struct gif_span {
    tg_ctx *ctx;
    const span *sp;
    size_t n;
} gif_span;

static int gif_frame_done(void *user, size_t done)
{
    const gif_span *g = user;
    return frame_done(g->ctx, g->sp, done - 1, g->n);
}

/* The clips (when the frames' clips are cuts) are encoded side by side (gif.h). */
static int encode_gif(tg_ctx *ctx, const tgi_frames *use, int quality, int threads, int fd,
                      const span *sp)
{
    tgi_gif_params gp = {.width = use->w, .height = use->h, .quality = quality, .threads = threads};
    gif_span gs = {ctx, sp, use->n};
    tgi_gif_frames in = {.n = use->n,
                         .rgba = (const uint8_t *const *)use->rgba,
                         .delay_cs = use->delay_cs,
                         .clip = use->cuts ? use->clip : NULL,
                         .progress = gif_frame_done,
                         .user = &gs};
    return tgi_gif_encode_frames(ctx, fd, &gp, &in);
}

static int encode_webp(tg_ctx *ctx, const tgi_frames *use, int quality, int fd, const span *sp)
{
    /* quality 100 is lossless (VP8L); below, lossy VP8 at that quality. Lossless
     * effort 100 took 36-45 s on bench/encoders.sh's 48-frame clips; effort 25 is the
     * speed of the lossy encodes for a few % more bytes (bench/RESULTS.md) */
    bool lossless = quality >= 100;
    tgi_webp_params wp = {.width = use->w,
                          .height = use->h,
                          .quality = lossless ? TG_WEBP_LOSSLESS_EFFORT : quality,
                          .lossless = lossless};
    tgi_webp *w = NULL;
    int rc = tgi_webp_begin(ctx, fd, &wp, &w);
    for (size_t i = 0; rc == 0 && i < use->n; i++)
        if ((rc = tgi_webp_add(ctx, w, use->rgba[i], use->delay_cs[i] * 10)) == 0)
            rc = frame_done(ctx, sp, i, use->n);
    if (rc < 0) {
        tgi_webp_free(&w);
        return rc;
    }
    return tgi_webp_end(ctx, &w);
}

/* MP4 has a constant frame rate: a frame shown longer (a still, merged frames) is
 * repeated for its display time. */
static int encode_mp4(tg_ctx *ctx, const tgi_frames *use, int quality, double fps, const char *path,
                      const span *sp)
{
    tgi_mp4_params mp = {.width = use->w, .height = use->h, .fps = fps, .quality = quality};
    tgi_mp4 *m = NULL;
    int rc = tgi_mp4_begin(ctx, path, &mp, &m);
    double shown = 0, due = 0;
    for (size_t i = 0; rc == 0 && i < use->n; i++) {
        due += use->delay_cs[i] / 100.0;
        do {
            rc = tgi_mp4_add(ctx, m, use->rgba[i]);
            shown += 1.0 / fps;
        } while (rc == 0 && shown < due - 0.5 / fps);
        if (rc == 0)
            rc = frame_done(ctx, sp, i, use->n);
    }
    if (rc < 0) {
        tgi_mp4_free(&m);
        return rc;
    }
    return tgi_mp4_end(ctx, &m);
}

static int encode(tg_ctx *ctx, int kind, const tgi_frames *fr, const rung *r, double fps,
                  int threads, const char *path, int fd, long long *bytes, tgi_frames *tmp,
                  span *sp)
{
    const tgi_frames *use = fr;
    int rc;
    tgi_frames_free(tmp);
    if (r->step > 1 || r->keep < 1 || r->scale < 1) {
        int w2 = r->scale < 1 ? (int)lround(fr->w * r->scale) : 0;
        if ((rc = tgi_frames_derive(ctx, fr, r->step, r->keep, w2, tmp)) < 0)
            return rc;
        use = tmp;
    }
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
        return tgi_fail(ctx, TG_EIO, "cannot rewrite the output: %s", strerror(errno));
    if (kind == TG_ANIM_WEBP)
        rc = encode_webp(ctx, use, r->quality, fd, sp);
    else if (kind == TG_ANIM_MP4)
        rc = encode_mp4(ctx, use, r->quality, fps / r->step, path, sp);
    else
        rc = encode_gif(ctx, use, r->quality, threads, fd, sp);
    /* the next trial (a budget's) reports into half of what is left */
    sp->lo = sp->hi;
    sp->hi = sp->lo + (sp->end - sp->lo) / 2;
    if (rc < 0)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return tgi_fail(ctx, TG_EIO, "cannot read the output size: %s", strerror(errno));
    *bytes = (long long)st.st_size;
    return 0;
}

int tgi_budget_encode(tg_ctx *ctx, int kind, const tgi_frames *fr, int quality, double fps,
                      double max_bytes, const char *path, int fd, tg_output_report *rep,
                      double p_lo, double p_hi, int threads)
{
    /* without a budget one trial is all; with one, the first trial takes 60 % */
    span sp = {p_lo, max_bytes > 0 ? p_lo + 0.6 * (p_hi - p_lo) : p_hi, p_hi};
    rung ladder[32];
    int n = 0;
    static const int qs[] = {80, 70, 60, 50, 40, 30, 20, 10};
    ladder[n++] = (rung){quality, 1, 1, 1};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        if (qs[i] < quality)
            ladder[n++] = (rung){qs[i], 1, 1, 1};
    int qmin = ladder[n - 1].quality;
    ladder[n++] = (rung){qmin, 2, 1, 1};
    ladder[n++] = (rung){qmin, 3, 1, 1};
    static const double ws[] = {0.8, 0.65, 0.5, 0.35};
    for (size_t i = 0; i < 4; i++)
        ladder[n++] = (rung){qmin, 3, ws[i], 1};
    static const double ks[] = {0.75, 0.5, 0.35};
    for (size_t i = 0; i < 3; i++)
        ladder[n++] = (rung){qmin, 3, 0.35, ks[i]};

    tgi_frames tmp = {0};
    long long bytes = 0, first = 0;
    int rc, at = 0, fail = 0; /* fail: the last rung encoded that did not fit */
    double correction = 1.0;
    if ((rc = encode(ctx, kind, fr, &ladder[0], fps, threads, path, fd, &bytes, &tmp, &sp)) < 0)
        goto done;
    first = bytes;
    while (max_bytes > 0 && bytes > (long long)max_bytes) {
        /* the first later rung predicted to fit (with a 5 % margin) */
        double base = model(kind, &ladder[0]);
        int next = at + 1;
        if (next >= n) {
            rc = tgi_fail(ctx, TG_ELIMIT,
                          "the animation cannot fit in %.0f bytes: even the smallest setting "
                          "(quality %d, 1/%d of the frames, %d%% width, %d%% of each clip) makes "
                          "%lld bytes",
                          max_bytes, ladder[at].quality, ladder[at].step,
                          (int)lround(ladder[at].scale * 100), (int)lround(ladder[at].keep * 100),
                          bytes);
            goto done;
        }
        while (next < n - 1 &&
               first * model(kind, &ladder[next]) / base * correction > 0.95 * max_bytes)
            next++;
        fail = at;
        at = next;
        if ((rc = encode(ctx, kind, fr, &ladder[at], fps, threads, path, fd, &bytes, &tmp, &sp)) <
            0)
            goto done;
        double predicted = first * model(kind, &ladder[at]) / base;
        correction = predicted > 0 ? bytes / predicted : 1.0;
    }
    /* bisect back towards quality: lo does not fit, at does */
    int lo = fail, last = at;
    if (max_bytes > 0 && at > 0) {
        int hi = at;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            long long b;
            if ((rc = encode(ctx, kind, fr, &ladder[mid], fps, threads, path, fd, &b, &tmp, &sp)) <
                0)
                goto done;
            last = mid;
            if (b <= (long long)max_bytes) {
                hi = mid;
                bytes = b;
            } else {
                lo = mid;
            }
        }
        at = hi;
        if (last != at && (rc = encode(ctx, kind, fr, &ladder[at], fps, threads, path, fd, &bytes,
                                       &tmp, &sp)) < 0)
            goto done;
    }
    const tgi_frames *used = tmp.n ? &tmp : fr;
    rep->bytes = bytes;
    rep->quality = ladder[at].quality;
    rep->fps = fps / ladder[at].step;
    rep->width = used->w;
    rep->height = used->h;
    rep->clip_share = ladder[at].keep;
    rc = 0;
done:
    tgi_frames_free(&tmp);
    return rc;
}
