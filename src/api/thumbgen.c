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
#include <stdio.h>
#include <string.h>

#include "analyze/events.h"
#include "analyze/features.h"
#include "core/error.h"
#include "media/media.h"
#include "render/render.h"
#include "select/plan.h"
#include "select/select.h"

#define MAX_SAMPLES 20000
#define MIN_INTERVAL (1.0 / 30.0)

typedef struct analysis {
    tg_sample *s;
    size_t n, cap;
    int failed;
} analysis;

static int on_sample(void *user, const tg_frame *f)
{
    analysis *a = user;
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 1024;
        tg_sample *ns = realloc(a->s, nc * sizeof(*ns));
        if (!ns)
            return TG_ENOMEM;
        a->s = ns;
        a->cap = nc;
    }
    tg_sample *s = &a->s[a->n];
    s->t = f->t;
    tg_features_compute(f, a->n ? &a->s[a->n - 1] : NULL, s);
    a->n++;
    return 0;
}

/* For tuning: TG_DEBUG_SAMPLES=FILE writes every sample's signals as CSV. */
static void dump_samples(const tg_sample *s, size_t n)
{
    const char *path = getenv("TG_DEBUG_SAMPLES");
    FILE *f = path && *path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    fprintf(f, "t,luma,contrast,sharp,entropy,colorful,motion,bgfrac,edges,cut,bad,shot,quality\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%.3f,%.4f,%.3f,%#x,%d,%.3f\n", s[i].t,
                s[i].luma, s[i].contrast, s[i].sharp, s[i].entropy, s[i].colorful, s[i].motion,
                s[i].bgfrac, s[i].edges, i ? tg_cut_distance(&s[i - 1], &s[i]) : 0.0,
                (unsigned)s[i].bad, s[i].shot, s[i].quality);
    fclose(f);
}

int tg_plan_make(tg_ctx *ctx, const char *path, const tg_options *o, tg_plan **out)
{
    *out = NULL;
    tg_media *m = NULL;
    tg_plan *p = NULL;
    analysis an = {0};
    tg_events ev = {0};
    int rc;
    if ((rc = tg_media_open(ctx, path, o->threads, &m)) < 0)
        goto fail;
    const tg_media_info *in = tg_media_get_info(m);
    int aw, ah;
    tg_analysis_size(in->width, in->height, &aw, &ah);
    double interval = fmax(MIN_INTERVAL, in->duration / MAX_SAMPLES);
    tg_decode_req rq = {.start = 0, .end = 0, .width = aw, .height = ah, .pix = TG_PIX_RGB24,
                        .flags = TG_DECODE_FAST, .min_interval = interval, .stage = "analyze"};
    double last_t = -1;
    if ((rc = tg_media_decode(ctx, m, &rq, on_sample, &an, &last_t)) < 0) {
        if (rc == TG_ENOMEM)
            tg_fail(ctx, rc, "out of memory while analysing '%s'", path);
        goto fail;
    }
    if (an.n == 0) {
        rc = tg_fail(ctx, TG_ECORRUPT, "'%s': no video frame could be decoded (corrupt or "
                     "truncated file)", path);
        goto fail;
    }
    double frame_dur = in->fps > 0 ? 1.0 / in->fps : 0.04;
    if (an.n > 1)
        frame_dur = fmin(frame_dur, an.s[an.n - 1].t - an.s[an.n - 2].t);
    double end_t = last_t + frame_dur;
    if ((rc = tg_progress(ctx, "select", 0)) < 0)
        goto fail;
    if ((rc = tg_events_detect(ctx, an.s, an.n, end_t, aw, ah, &ev)) < 0)
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
    if (in->duration > 0 && end_t < in->duration * 0.9 - 1.0)
        tg_plan_add_warning(p, "the video stops at %.1f s although it claims %.1f s "
                            "(truncated?)", end_t, in->duration);
    if ((rc = tg_select(ctx, an.s, an.n, &ev, end_t, o, p)) < 0)
        goto fail;
    dump_samples(an.s, an.n);
    if ((rc = tg_progress(ctx, "select", 1)) < 0)
        goto fail;
    *out = p;
    p = NULL;
    rc = 0;
fail:
    tg_plan_free(&p);
    tg_events_free(&ev);
    free(an.s);
    tg_media_close(&m);
    return rc;
}

int tg_render(tg_ctx *ctx, const char *path, const tg_plan *plan, const tg_options *o,
              const tg_outputs *out)
{
    tg_media *m = NULL;
    int rc = tg_media_open(ctx, path, o->threads, &m);
    if (rc < 0)
        return rc;
    const tg_media_info *in = tg_media_get_info(m);
    if (plan->width != in->width || plan->height != in->height) {
        tg_media_close(&m);
        return tg_fail(ctx, TG_EPLAN, "the plan is for a %dx%d video but '%s' is %dx%d",
                       plan->width, plan->height, path, in->width, in->height);
    }
    rc = tg_render_run(ctx, m, plan, o, out);
    tg_media_close(&m);
    return rc;
}
