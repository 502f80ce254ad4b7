/*
 * select.h — the heart of thumbgen: from the analysis (analyze/analysis.h) to the
 * chosen moments (the plan's segments, ranked keyframes and poster).
 *
 * Every chosen clip lies inside one shot, at least a guard distance away from cuts,
 * transitions and every flagged sample; clips come from different shots and
 * visibly different content and are returned in time order. Keyframes are the best
 * clean stills, spread over shots before any shot gets a second pick. When nothing
 * clean exists the best available moment is still chosen and a warning says so.
 * Pure computation over arrays (no I/O): unit-testable on synthetic series.
 */
#ifndef TG_SELECT_SELECT_H
#define TG_SELECT_SELECT_H

#include "analyze/analysis.h"
#include "select/plan.h"

/* Options of this stage (in tg_option_stages). */
extern const tg_opt tgi_select_opts[];

/* Judge the analysis's samples for this video (select/verdict.h) and fill plan's
 * shots, segments, keyframes, poster, CNN samples (when plan->cnn is set) and
 * warnings. Pure: reads the analysis, writes only the plan. */
int tgi_select(tg_ctx *ctx, const tg_analysis_data *a, const tg_options *o, tg_plan *plan);

/* 1 when plan (tgi_select's) lacks clean positions for what o asks: fewer clips or
 * stills than asked, or clips shorter than asked. A pure look at the plan, for an
 * orchestrator that may analyse more of the video and select again (tg_plan_make). */
int tgi_select_short(const tg_plan *plan, const tg_options *o);

/* The weight --safe soft gives a moment whose nsfw score is nsfw: 1 up to 0.3, falling
 * evenly to 0.75 at 0.7 and above (a continuous function of a noisy score). */
double tgi_select_soft_weight(float nsfw);

#endif
