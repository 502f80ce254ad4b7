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

/* Encode fr as a GIF into fd (truncated first; the caller owns fd). max_bytes 0 =
 * no budget. fps is the frame rate fr was made at (for the report). On success
 * *rep says what was chosen; TG_ELIMIT when even the smallest rung is too big. */
int tg_budget_gif(tg_ctx *ctx, const tg_frames *fr, int quality, double fps, double max_bytes,
                  int fd, tg_output_report *rep);

#endif
