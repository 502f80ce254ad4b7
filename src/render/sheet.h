/*
 * sheet.h — the contact sheet: the plan's ranked keyframes in a grid, each
 * labelled with its rank and time, written as one JPEG or PNG. Labels use a small
 * built-in 5x7 bitmap font (digits and ": #." only), so no font library or font
 * file is needed and the output is the same on every machine.
 */
#ifndef TG_RENDER_SHEET_H
#define TG_RENDER_SHEET_H

#include "media/media.h"

/* The size of a cell: a keyframe's picture, RGB24. */
void tgi_sheet_cell_size(const tg_plan *plan, int *cw, int *ch);

/* Write the sheet for plan's keyframes to fd as format (enum tgi_image_format). taken:
 * NULL, or one still per keyframe (cell size, RGB24, first frame in [t, t + 2 s)) already
 * decoded with others (render.c); the cells not taken are decoded here. */
int tgi_sheet_write(tg_ctx *ctx, tgi_media *m, const tg_plan *plan, const tg_options *o, int fd,
                    int format, const tgi_still_req *taken);

/* Draw text (digits, ':', '#', '.', ' ') at x, y into an RGB24 image, each font pixel
 * scale x scale, white on a dark box. Exposed for tests. */
void tgi_sheet_label(uint8_t *rgb, int w, int h, int x, int y, int scale, const char *text);

#endif
