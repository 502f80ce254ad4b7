/*
 * synth.h — a synthetic analysis for the tests of analyze and select: textured
 * colour scenes that pan, a flash, black, a fade, a dissolve, a blurred scene, a text
 * card, a repeated scene, drawn in memory at TGT_W x TGT_H, so the ground truth is
 * exact and no video is needed (synth.c).
 */
#ifndef TG_TESTS_SYNTH_H
#define TG_TESTS_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/analysis.h"
#include "select/verdict.h"

#define TGT_W    192
#define TGT_H    108
#define TGT_RATE 25.0

/* A textured scene: coloured waves at several frequencies; `detail` scales the fine
 * ones (0 = blurred), `shift` pans it. */
void tgt_scene(uint8_t *rgb, int seed, double shift, double detail);

/* The whole frame one grey level v. */
void tgt_fill(uint8_t *rgb, int v);

/* Three lines of white blocky "text" on black. */
void tgt_text_card(uint8_t *rgb);

/* out = al * a + (1 - al) * b (a fade or a dissolve). */
void tgt_mix(uint8_t *out, const uint8_t *a, const uint8_t *b, double al);

/* s[i]: the features of the W x H RGB frame img at time t (s[i - 1] gives motion). */
void tgt_sample(tgi_sample *s, size_t i, double t, const uint8_t *img);

/* The series, in seconds: A 0-2 (pan) | cut | B 2-4 with a white flash frame at 3.0 |
 * black 4-5 | fade in 5-5.6 | C 5.6-8 | dissolve 8-8.8 | D 8.8-11 | blurred 11-13 |
 * text card 13-15 | A again 15-17 (the intro returns). */
tgi_sample *tgt_series(size_t *n_out);

/* The index of the series' sample at t seconds. */
size_t tgt_at(double t);

/* An analysis of n samples (taken over: s is freed with it) after event detection,
 * as tg_analyze makes it, without a CNN. */
tg_analysis_data *tgt_analysis_of(tgi_sample *s, size_t n, double end);

/* select's verdicts on a (malloc'd, one per sample) */
tgi_verdict *tgt_verdicts_of(const tg_analysis_data *a);

#endif
