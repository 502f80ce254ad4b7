/*
 * render.h — the render stage: decode the plan's clips (or stills) at output size
 * and write the animated GIF and the poster, atomically.
 *
 * Output frames are resampled to the output frame rate by presentation time (the
 * source frame on screen at each output instant), so variable frame rate sources
 * play at the right speed. GIF delays are whole centiseconds: they are rounded from
 * the cumulative time, so a 12 fps GIF alternates 8 and 9 cs and never drifts.
 */
#ifndef TG_RENDER_RENDER_H
#define TG_RENDER_RENDER_H

#include "media/media.h"

extern const tg_opt tgi_render_opts[];

/* Output size for a content area of cw x ch at the asked width (never upscaled; even
 * sides). */
void tgi_render_size(int cw, int ch, int want_w, int *w, int *h);

int tgi_render_run(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, const tg_options *o,
                   tg_outputs *out);

#endif
