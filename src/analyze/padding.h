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
 * w; both sides at most TG_ANALYSIS_SIDE, else 0): left and right when vertical is 0,
 * top and bottom when it is 1; 0 when the frame does not look padded that way; -1 when
 * it cannot tell (a flat or dark picture, or smooth sides too flat to compare with it:
 * a dark fill, or black bars). */
int tgi_padding_fill(const uint8_t *Y, int w, int h, int vertical);

#endif
