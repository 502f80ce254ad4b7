/*
 * padding.h — a picture padded into a frame of another shape, other than with black bars.
 *
 * Phone apps and editors put a portrait video into a landscape frame (or a landscape
 * one into a portrait frame) and fill the sides with the same picture scaled up to
 * cover the frame and blurred, or with one colour (white, a brand's), instead of black
 * bars. Black bars are found by features.c's bar scan; this finds the other fills, one
 * frame at a time: both sides smooth up to the same line, and what they show is the
 * picture between them, enlarged about the frame's centre (a Pearson correlation over
 * coarse cells, so that darkened or tinted fills count as well), or one flat colour
 * that the picture's straight first line on each side departs from. events.c crops
 * only when most of a video's frames agree on the line. Pure arithmetic on the
 * analysis frame's luma; no allocation (a thread-local table of the frame's box sums).
 */
#ifndef TG_ANALYZE_PADDING_H
#define TG_ANALYZE_PADDING_H

#include <stdint.h>

/* The width of the fill on each of two opposite sides of a w x h luma plane (row stride
 * w; both sides at most TG_ANALYSIS_SIDE, else 0), whose colours rgb (RGB24, row stride
 * rgb_stride; NULL: the luma stands for them) tell a fill of one colour from the
 * picture's border: left and right when vertical is 0,
 * top and bottom when it is 1; 0 when the frame does not look padded that way; -1 when
 * it cannot tell (a flat or dark picture, or smooth sides too flat to compare with it:
 * a dark fill, or black bars). */
int tgi_padding_fill(const uint8_t *Y, const uint8_t *rgb, int rgb_stride, int w, int h,
                     int vertical, int *inner);
/* inner (when a fill is found; else 0): how many black-bar lines follow the fill inward
 * on both sides (a letterboxed film padded into a portrait frame keeps its own bars). */

/* Whether a line of the w x h luma plane (a column when vertical is 0, a row when it is
 * 1) is a black bar's: mean luma below 0.07 and no pixel above 48. */
int tgi_padding_black_line(const uint8_t *Y, int w, int h, int vertical, int line);

#endif
