/*
 * budget.h — fit an animation into a byte budget at the best quality it allows.
 *
 * The ladder, in the order that keeps the most perceived quality: lower quality
 * first (palette and dithering), then fewer frames per second, then a smaller
 * width, then shorter clips. Sizes are predicted from the first trial with a size
 * model per rung (quality, frame step, area, kept share) and corrected by every
 * trial after, so only a few rungs are encoded rather than all of them. Used by
 * the render stage for the GIF.
 */
#ifndef TG_RENDER_BUDGET_H
#define TG_RENDER_BUDGET_H

#include "render/frames.h"

enum tgi_anim_kind { TG_ANIM_GIF = 0, TG_ANIM_WEBP = 1, TG_ANIM_MP4 = 2 };

/* Encode fr as kind into the file at path, open as fd (rewritten for every trial;
 * the caller owns both). max_bytes 0 = no budget. fps is the frame rate fr was made
 * at. threads: the GIF encoder's (tgi_gif_params.threads: 0 = one per CPU, 1 = the
 * caller's thread only). On success *rep says what was chosen; TG_ELIMIT when even the smallest
 * rung is too big. Progress: the "render" stage from p_lo to p_hi (0..1), one report per encoded
 * frame, never going back (a budget's later trials share what is left). */
int tgi_budget_encode(tg_ctx *ctx, int kind, const tgi_frames *fr, int quality, double fps,
                      double max_bytes, const char *path, int fd, tg_output_report *rep,
                      double p_lo, double p_hi, int threads);

/* The size model's share of kind's size at quality (1..100) over its size at 90; the
 * ladder predicts each rung with it (exposed for its test). */
double tgi_budget_quality_share(int kind, int quality);

#endif
