/*
 * thumbgen.c — the library's public entry points: the pipeline glue.
 *
 *   tg_plan_make:  media open ──► analysis decode (small, fast) ──► features per
 *                  sample ──► events ──► select ──► plan
 *   tg_render:     media open ──► render (targeted decode at output size)
 *
 * The analysis keeps features, never frames: the sample count is capped
 * (MAX_SAMPLES, by raising the sampling interval for long videos), so memory is
 * bounded whatever the video's length or resolution.
 */
#include "thumbgen.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analyze/cnn.h"
#include "analyze/events.h"
#include "analyze/features.h"
#include "core/error.h"
#include "media/media.h"
#include "render/render.h"
#include "select/plan.h"
#include "select/select.h"

#define MAX_SAMPLES    20000
#define MIN_INTERVAL   (1.0 / 30.0)
#define SPARSE_AFTER   120.0 /* auto: sparse analysis for videos longer than this */
#define SPARSE_MAX_GOP 10.0  /* keyframes further apart than this: sparse makes no sense */
#define REGION_MAX     8.0   /* seconds decoded densely per chosen stretch, at most */
/* The CNN looks at one frame per CNN_INTERVAL seconds, and at most CNN_MAX frames
 * per pass: its cost stays a small part of a run (4-7 ms a frame, on a worker thread beside the
 * decoder). */
#define CNN_INTERVAL 0.5
#define CNN_MAX      600
#define CNN_BATCH    16

typedef struct analysis {
    tg_sample *s;
    size_t n, cap;
    tg_span *spans;
    size_t n_spans;
    tg_ctx *ctx;
    double p0, p1, t0, t1; /* progress: map times t0..t1 to fractions p0..p1 */
    tg_cnn *cnn;           /* borrowed; NULL without a CNN */
    double cnn_skip_t;     /* a time the CNN has already seen (sparse: the keyframe) */
} analysis;

static void analysis_free(analysis *a)
{
    free(a->s);
    free(a->spans);
    memset(a, 0, sizeof(*a));
}

static int on_sample(void *user, const tg_frame *f)
{
    analysis *a = user;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 1024;
        tg_sample *ns = realloc(a->s, nc * sizeof(*ns));
        if (!ns)
            return tg_fail(a->ctx, TG_ENOMEM, "out of memory for %zu samples", nc);
        a->s = ns;
        a->cap = nc;
    }
    tg_sample *s = &a->s[a->n];
    /* the previous sample is a neighbour only inside the same span */
    int has_prev = a->n > 0 && (a->n_spans == 0 || a->spans[a->n_spans - 1].first < a->n);
    s->t = f->t;
    tg_features_compute(f, has_prev ? &a->s[a->n - 1] : NULL, s);
    a->n++;
    if (a->cnn && f->side && fabs(f->t - a->cnn_skip_t) > 1e-6) {
        int rc = tg_cnn_push(a->ctx, a->cnn, f->t, f->side);
        if (rc < 0)
            return rc;
    }
    double span = a->t1 - a->t0;
    double frac = span > 0 ? (f->t - a->t0) / span : 0;
    return tg_progress(a->ctx, "analyze", a->p0 + (a->p1 - a->p0) * frac);
}

static int push_span(analysis *a, size_t first, double end_t)
{
    tg_span *ns = realloc(a->spans, (a->n_spans + 1) * sizeof(*ns));
    if (!ns)
        return tg_fail(a->ctx, TG_ENOMEM, "out of memory");
    a->spans = ns;
    a->spans[a->n_spans++] = (tg_span){first, end_t};
    return 0;
}

/* Ask the decoder for the CNN's input beside the analysis frame. */
static void cnn_side(const analysis *an, tg_decode_req *rq, double interval)
{
    if (!an->cnn)
        return;
    rq->side_w = rq->side_h = tg_cnn_side(an->cnn);
    rq->side_interval = interval;
}

/* Every frame (up to the sampling cap) from start to end. */
static int analyse_full(tg_ctx *ctx, tg_media *m, int aw, int ah, analysis *an, double *end_t)
{
    const tg_media_info *in = tg_media_get_info(m);
    double interval = fmax(MIN_INTERVAL, in->duration / MAX_SAMPLES), last_t = -1;
    tg_decode_req rq = {.width = aw,
                        .height = ah,
                        .pix = TG_PIX_RGB24,
                        .flags = TG_DECODE_FAST,
                        .min_interval = interval};
    cnn_side(an, &rq, fmax(CNN_INTERVAL, in->duration / CNN_MAX));
    an->p0 = 0;
    an->p1 = 1;
    an->t0 = 0;
    an->t1 = in->duration;
    int rc = push_span(an, 0, 0);
    if (rc < 0 || (rc = tg_media_decode(ctx, m, &rq, on_sample, an, &last_t)) < 0)
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
static int analyse_sparse(tg_ctx *ctx, tg_media *m, const tg_options *o, int aw, int ah,
                          analysis *an, double *end_t)
{
    const tg_media_info *in = tg_media_get_info(m);
    double dur = in->duration;
    analysis keys = {
        .ctx = ctx, .p0 = 0, .p1 = 0.5, .t0 = 0, .t1 = dur, .cnn = an->cnn, .cnn_skip_t = -1};
    gop *g = NULL;
    int rc = 0;
    if (dur <= 0)
        return 1;
    tg_decode_req rq = {.width = aw,
                        .height = ah,
                        .pix = TG_PIX_RGB24,
                        .flags = TG_DECODE_FAST | TG_DECODE_KEYONLY,
                        .min_interval = 0.2};
    cnn_side(an, &rq, fmax(0.2, dur / CNN_MAX));
    if ((rc = tg_media_decode(ctx, m, &rq, on_sample, &keys, NULL)) < 0)
        goto done;
    size_t nk = keys.n;
    if (nk < 3 || dur / nk > SPARSE_MAX_GOP) {
        rc = 1;
        goto done;
    }
    tg_events_classify(keys.s, nk);
    tg_select_score(keys.s, nk);
    if (getenv("TG_DEBUG_SELECT"))
        for (size_t i = 0; i < nk; i++)
            fprintf(stderr, "sparse: keyframe %.2f bad %#x quality %.3f dist %.3f\n", keys.s[i].t,
                    (unsigned)keys.s[i].bad, keys.s[i].quality,
                    i ? tg_sample_distance(&keys.s[i - 1], &keys.s[i]) : 0.0);
    g = calloc(nk, sizeof(*g));
    if (!g) {
        rc = tg_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    size_t ng = 0;
    int cshot = 0;
    for (size_t i = 0; i < nk; i++) {
        if (i && tg_sample_distance(&keys.s[i - 1], &keys.s[i]) > COARSE_CUT)
            cshot++;
        double t0 = keys.s[i].t, t1 = i + 1 < nk ? keys.s[i + 1].t : dur;
        if (keys.s[i].bad || (i + 1 < nk && keys.s[i + 1].bad) || t1 - t0 < 0.6)
            continue;
        double q = keys.s[i].quality;
        if (i + 1 < nk)
            q = fmin(q, keys.s[i + 1].quality);
        g[ng++] = (gop){t0, fmin(t1, t0 + REGION_MAX), q, i, cshot, 0};
    }
    if (ng == 0) {
        rc = 1;
        goto done;
    }
    /* enough stretches for the clips and the stills: every coarse shot once before
     * any twice, each unlike the others */
    size_t want = (size_t)o->clips + (size_t)o->keyframes + 2, picked = 0;
    while (picked < want) {
        double best = -1;
        size_t bi = 0, best_uses = SIZE_MAX;
        for (size_t i = 0; i < ng; i++) {
            if (g[i].picked)
                continue;
            size_t uses = 0;
            for (size_t j = 0; j < ng; j++)
                uses += g[j].picked && g[j].shot == g[i].shot;
            if (uses > best_uses)
                continue;
            float near = 1;
            for (size_t j = 0; j < ng; j++)
                if (g[j].picked)
                    near = fminf(near, tg_sample_distance(&keys.s[g[i].key], &keys.s[g[j].key]));
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
        picked++;
        if (getenv("TG_DEBUG_SELECT"))
            fprintf(stderr, "sparse: stretch %.2f-%.2f score %.3f adjusted %.3f\n", g[bi].t0,
                    g[bi].t1, g[bi].score, best);
    }
    qsort(g, ng, sizeof(*g), cmp_gop_t);
    double total = 0, done_t = 0;
    for (size_t i = 0; i < ng; i++)
        if (g[i].picked)
            total += g[i].t1 - g[i].t0;
    for (size_t i = 0; i < ng; i++) {
        if (!g[i].picked)
            continue;
        /* neighbouring stretches decode as one */
        double t0 = g[i].t0, t1 = g[i].t1;
        while (i + 1 < ng && g[i + 1].picked && g[i + 1].t0 <= t1 + 1e-6)
            t1 = g[++i].t1;
        if ((rc = push_span(an, an->n, t1)) < 0)
            goto done;
        an->p0 = 0.5 + 0.5 * done_t / total;
        an->p1 = 0.5 + 0.5 * (done_t + (t1 - t0)) / total;
        an->t0 = t0;
        an->t1 = t1;
        tg_decode_req dq = {.start = t0,
                            .end = t1,
                            .width = aw,
                            .height = ah,
                            .pix = TG_PIX_RGB24,
                            .flags = TG_DECODE_FAST,
                            .min_interval = MIN_INTERVAL};
        cnn_side(an, &dq, CNN_INTERVAL);
        an->cnn_skip_t = t0; /* its keyframe went through the CNN in the first pass */
        if ((rc = tg_media_decode(ctx, m, &dq, on_sample, an, NULL)) < 0)
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
    free(g);
    analysis_free(&keys);
    return rc;
}

/* The CNN's frames in the plan, in time order: nsfw score and cluster. */
static int plan_cnn(tg_plan *p, const tg_cnn *cnn, const tg_clusters *cl)
{
    size_t n = tg_cnn_count(cnn);
    const tg_cnn_item *it = tg_cnn_items(cnn);
    p->cnn = tg_cnn_model(cnn);
    p->n_clusters = cl->n;
    p->cnn_samples = malloc((n + 1) * sizeof(*p->cnn_samples));
    if (!p->cnn_samples)
        return TG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        p->cnn_samples[i] = (tg_cnn_sample){it[i].t, it[i].nsfw, cl->item[i]};
    p->n_cnn_samples = n;
    for (size_t i = 1; i < n; i++) /* insertion sort: sparse runs are nearly sorted */
        for (size_t j = i; j > 0 && p->cnn_samples[j - 1].t > p->cnn_samples[j].t; j--) {
            tg_cnn_sample t = p->cnn_samples[j];
            p->cnn_samples[j] = p->cnn_samples[j - 1];
            p->cnn_samples[j - 1] = t;
        }
    return 0;
}

/* For tuning: TG_DEBUG_CNN=FILE writes every CNN frame (time, classes, cluster,
 * embedding) as CSV. */
static void dump_cnn(const tg_cnn *cnn, const tg_clusters *cl)
{
    const char *path = getenv("TG_DEBUG_CNN");
    FILE *f = path && *path && cnn ? fopen(path, "w") : NULL;
    if (!f)
        return;
    const tg_cnn_item *it = tg_cnn_items(cnn);
    for (size_t i = 0; i < tg_cnn_count(cnn); i++) {
        fprintf(f, "%.3f,%d", it[i].t, cl->item ? cl->item[i] : -1);
        for (int k = 0; k < TG_CNN_CLASSES; k++)
            fprintf(f, ",%.5f", it[i].classes[k]);
        const float *e = tg_cnn_embedding(cnn, i);
        for (int k = 0; k < tg_cnn_dim(cnn); k++)
            fprintf(f, ",%.5f", e[k]);
        fputc('\n', f);
    }
    fclose(f);
}

/* For tuning: TG_DEBUG_SAMPLES=FILE writes every sample's signals as CSV. */
static void dump_samples(const tg_sample *s, size_t n)
{
    const char *path = getenv("TG_DEBUG_SAMPLES");
    FILE *f = path && *path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    fprintf(f, "t,luma,contrast,sharp,entropy,colorful,motion,bgfrac,edges,cut,bad,shot,quality,"
               "nsfw,cluster\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%.3f,%.4f,%.3f,%#x,%d,%.3f,%.3f,%d\n",
                s[i].t, s[i].luma, s[i].contrast, s[i].sharp, s[i].entropy, s[i].colorful,
                s[i].motion, s[i].bgfrac, s[i].edges,
                i ? tg_sample_distance(&s[i - 1], &s[i]) : 0.0, (unsigned)s[i].bad, s[i].shot,
                s[i].quality, s[i].nsfw, s[i].cluster);
    fclose(f);
}

int tg_plan_make(tg_ctx *ctx, const char *path, const tg_options *o, tg_plan **out)
{
    *out = NULL;
    tg_media *m = NULL;
    tg_plan *p = NULL;
    analysis an = {0};
    tg_events ev = {0};
    tg_cnn *cnn = NULL;
    tg_clusters cl = {0};
    char cnn_missing[512] = "";
    int rc;
    if ((rc = tg_media_open(ctx, path, o->threads, &m)) < 0)
        goto fail;
    const tg_media_info *in = tg_media_get_info(m);
    int aw, ah;
    tg_analysis_size(in->width, in->height, &aw, &ah);
    if (o->cnn != TG_CNN_NONE && (rc = tg_cnn_open(ctx, o->cnn, CNN_BATCH, 0, &cnn)) < 0) {
        if (rc != TG_ENOENT)
            goto fail;
        /* without weights thumbgen still works, on the signal features alone */
        snprintf(cnn_missing, sizeof(cnn_missing), "%s", tg_ctx_message(ctx));
        tg_ctx_clear(ctx);
    }
    an.ctx = ctx;
    an.cnn = cnn;
    an.cnn_skip_t = -1;
    double end_t = 0;
    int sparse = o->analysis == TG_ANALYSIS_SPARSE ||
                 (o->analysis == TG_ANALYSIS_AUTO && in->duration > SPARSE_AFTER);
    if (sparse && (rc = analyse_sparse(ctx, m, o, aw, ah, &an, &end_t)) < 0)
        goto fail;
    if (!sparse || rc == 1) {
        analysis_free(&an);
        an.ctx = ctx;
        an.cnn = cnn;
        an.cnn_skip_t = -1;
        if (cnn)
            tg_cnn_reset(cnn);
        if ((rc = analyse_full(ctx, m, aw, ah, &an, &end_t)) < 0)
            goto fail;
        sparse = 0;
    }
    if (an.n == 0) {
        rc = tg_fail(ctx, TG_ECORRUPT,
                     "'%s': no video frame could be decoded (corrupt or "
                     "truncated file)",
                     path);
        goto fail;
    }
    if ((rc = tg_progress(ctx, "select", 0)) < 0)
        goto fail;
    if ((rc = tg_events_detect(ctx, an.s, an.n, end_t, an.spans, an.n_spans, aw, ah, &ev)) < 0)
        goto fail;
    if (cnn && ((rc = tg_cnn_flush(ctx, cnn)) < 0 ||
                (rc = tg_cluster_attach(ctx, cnn, an.s, an.n, &ev, end_t, o->safe, &cl)) < 0))
        goto fail;
    p = tg_plan_new();
    if (!p || !(p->path = strdup(path))) {
        rc = tg_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    p->duration = end_t;
    p->width = in->width;
    p->height = in->height;
    p->fps = in->fps;
    p->analysis = sparse ? TG_ANALYSIS_SPARSE : TG_ANALYSIS_FULL;
    if (cnn_missing[0])
        tg_plan_add_warning(p, "no CNN: %s; the choice used the signal features only", cnn_missing);
    if (cnn && (rc = plan_cnn(p, cnn, &cl)) < 0) {
        rc = tg_fail(ctx, rc, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < an.n_spans; k++)
        p->analysed += an.spans[k].end_t - an.s[an.spans[k].first].t;
    /* content area: analysis pixels → display pixels, rounded inwards */
    double sx = (double)in->width / aw, sy = (double)in->height / ah;
    int x0 = (int)ceil(ev.content.x * sx), y0 = (int)ceil(ev.content.y * sy);
    int x1 = (int)floor((ev.content.x + ev.content.w) * sx);
    int y1 = (int)floor((ev.content.y + ev.content.h) * sy);
    if (ev.content.x > 0)
        x0 += 1;
    if (ev.content.y > 0)
        y0 += 1;
    if (ev.content.x + ev.content.w < aw)
        x1 -= 1;
    if (ev.content.y + ev.content.h < ah)
        y1 -= 1;
    p->crop = (tg_rect){x0, y0, x1 - x0, y1 - y0};
    if (!sparse && in->duration > 0 && end_t < in->duration * 0.9 - 1.0)
        tg_plan_add_warning(p,
                            "the video stops at %.1f s although it claims %.1f s "
                            "(truncated?)",
                            end_t, in->duration);
    if ((rc = tg_select(ctx, an.s, an.n, &ev, cnn ? &cl : NULL, end_t, o, p)) < 0)
        goto fail;
    dump_samples(an.s, an.n);
    dump_cnn(cnn, &cl);
    if ((rc = tg_progress(ctx, "select", 1)) < 0)
        goto fail;
    *out = p;
    p = NULL;
    rc = 0;
fail:
    tg_plan_free(&p);
    tg_events_free(&ev);
    tg_clusters_free(&cl);
    tg_cnn_close(&cnn);
    analysis_free(&an);
    tg_media_close(&m);
    return rc;
}

int tg_render(tg_ctx *ctx, const char *path, const tg_plan *plan, const tg_options *o,
              tg_outputs *out)
{
    tg_media *m = NULL;
    int rc = tg_media_open(ctx, path, o->threads, &m);
    if (rc < 0)
        return rc;
    const tg_media_info *in = tg_media_get_info(m);
    if (plan->width != in->width || plan->height != in->height) {
        rc = tg_fail(ctx, TG_EPLAN, "the plan is for a %dx%d video but '%s' is %dx%d", plan->width,
                     plan->height, path, in->width, in->height);
        tg_media_close(&m);
        return rc;
    }
    rc = tg_render_run(ctx, m, plan, o, out);
    tg_media_close(&m);
    return rc;
}
