/*
 * thumbgen.c — the library's public entry points: the pipeline glue.
 *
 *   tg_plan_make:  tg_analyze (analyze/: decode, signals, events, CNN, faces)
 *                  ──► tg_plan_from_analysis (select/: verdicts, groups, picks)
 *                  [──► analyze again, every sparse stretch ──► select again, only
 *                   when the first choice lacks clean positions: tg_plan_make]
 *   tg_render:     media open ──► render (targeted decode at output size)
 *
 * The analysis is data (analyze/analysis.h): it can be saved and re-planned
 * without decoding the video again.
 */
#include "thumbgen.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "analyze/analysis.h"
#include "core/error.h"
#include "media/media.h"
#include "render/render.h"
#include "select/plan.h"
#include "select/select.h"

int tg_plan_from_analysis(tg_ctx *ctx, const tg_analysis_data *a, const tg_options *o,
                          tg_plan **out)
{
    *out = NULL;
    int rc;
    tg_plan *p = tgi_plan_new();
    if (!p || !(p->path = strdup(a->path ? a->path : ""))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    p->duration = a->duration;
    p->width = a->width;
    p->height = a->height;
    p->fps = a->fps;
    p->analysis = a->mode;
    p->analysed = a->looked;
    p->cnn = a->cnn;
    p->crop = tgi_analysis_content_display(a);
    for (size_t i = 0; i < a->n_notes; i++)
        tgi_plan_add_warning(p, "%s", a->notes[i]);
    if ((rc = tgi_select(ctx, a, o, p)) < 0)
        goto fail;
    *out = p;
    return 0;
fail:
    tg_plan_free(&p);
    return rc;
}

/* Analysis and selection in rounds: a sparse analysis first decodes only clips + 1 of
 * its stretches as far as a clip needs (TGI_ROUND_FIRST, analysis.h); when the choice
 * from it lacks clean clip or still positions (fewer or shorter clips, fewer stills
 * than asked) and a whole analysis would see more, the video is analysed again, whole
 * (TGI_ROUND_ALL: tg_analyze's), and chosen from that. The stages keep their order:
 * the selection only reports, in its plan, what it could not find. Most videos need
 * one round: the 60-s benchmark decodes 32.1 -> 28.3 s densely (bench/RESULTS.md,
 * "Speed at every length", part 9). */
int tg_plan_make(tg_ctx *ctx, const char *path, const tg_options *o, tg_plan **out)
{
    tg_analysis_data *a = NULL;
    *out = NULL;
    int rc = tgi_analyze_round(ctx, path, o, TGI_ROUND_FIRST, &a);
    if (rc >= 0)
        rc = tg_plan_from_analysis(ctx, a, o, out);
    if (a && a->more && (rc == TG_EREFUSED || (rc >= 0 && tgi_select_short(*out, o)))) {
        if (getenv("TG_DEBUG_SELECT"))
            fprintf(stderr, "sparse: a second round, every stretch\n");
        tg_ctx_clear(ctx);
        tg_plan_free(out);
        tg_analysis_free(&a);
        rc = tgi_analyze_round(ctx, path, o, TGI_ROUND_ALL, &a);
        if (rc >= 0)
            rc = tg_plan_from_analysis(ctx, a, o, out);
    }
    if (rc >= 0)
        rc = tgi_progress(ctx, "select", 1);
    if (rc < 0)
        tg_plan_free(out);
    tg_analysis_free(&a);
    return rc;
}

int tg_render(tg_ctx *ctx, const char *path, const tg_plan *plan, const tg_options *o,
              tg_outputs *out)
{
    tgi_media *m = NULL;
    int rc = tgi_media_open(ctx, path, o->threads, &m);
    if (rc < 0)
        return rc;
    const tgi_media_info *in = tgi_media_get_info(m);
    if (plan->width != in->width || plan->height != in->height) {
        rc = tgi_fail(ctx, TG_EPLAN, "the plan is for a %dx%d video but '%s' is %dx%d", plan->width,
                      plan->height, path, in->width, in->height);
        tgi_media_close(&m);
        return rc;
    }
    rc = tgi_render_run(ctx, m, plan, o, out);
    tgi_media_close(&m);
    return rc;
}
