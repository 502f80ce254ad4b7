/*
 * select.h — the heart of thumbgen: from analysed samples and events to the
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

#include "analyze/events.h"
#include "select/cluster.h"
#include "select/plan.h"

/* Options of this stage (in tg_option_stages). */
extern const tg_opt tg_select_opts[];

/* Set s[i].quality in [0,1] from the signals (near 0 for flagged samples). */
void tg_select_score(tg_sample *s, size_t n);

/* Score samples (sets s[i].quality) and fill plan's shots, segments, keyframes,
 * poster and warnings. end_t is the time just past the last sample. cl: the CNN's
 * content clusters (tg_cluster_attach), or NULL without a CNN. */
int tg_select(tg_ctx *ctx, tg_sample *s, size_t n, const tg_events *ev, const tg_clusters *cl,
              double end_t, const tg_options *o, tg_plan *plan);

#endif
