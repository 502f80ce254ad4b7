/*
 * synth.c — the synthetic analysis test_analyze and test_select share (synth.h):
 * frames drawn in memory and the samples, events and verdicts of them.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analysis.h"
#include "analyze/events.h"
#include "analyze/features.h"
#include "select/cluster.h"
#include "select/select.h"
#include "select/verdict.h"
#include "synth.h"

#define W    TGT_W
#define H    TGT_H
#define RATE TGT_RATE

/* A textured scene: coloured waves at several frequencies; `detail` scales the fine
 * ones (0 = blurred), `shift` pans it. */
void tgt_scene(uint8_t *rgb, int seed, double shift, double detail)
{
    double f1 = 0.02 + 0.01 * (seed % 5), f2 = 0.11 + 0.03 * (seed % 3), f3 = 0.35;
    double ph = seed * 1.7;
    int cr = 60 + (seed * 53) % 140, cg = 60 + (seed * 97) % 140, cb = 60 + (seed * 31) % 140;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            double X = x + shift;
            double v = 45 * sin(X * f1 + y * f1 * 0.7 + ph) + 30 * sin(X * f2 - y * f2 * 1.3) +
                       detail * 40 * sin(X * f3 + y * f3 * 0.9 + ph) * sin(y * f3 * 1.1 - X * 0.2);
            uint8_t *p = rgb + (y * W + x) * 3;
            int c[3] = {cr, cg, cb};
            for (int k = 0; k < 3; k++) {
                double u = c[k] + v * (k == seed % 3 ? 1.2 : 0.8);
                p[k] = (uint8_t)(u < 0 ? 0 : u > 255 ? 255 : u);
            }
        }
}

void tgt_fill(uint8_t *rgb, int v)
{
    memset(rgb, v, (size_t)W * H * 3);
}

void tgt_text_card(uint8_t *rgb)
{
    tgt_fill(rgb, 0);
    for (int line = 0; line < 3; line++)
        for (int ch = 0; ch < 14; ch++)
            for (int y = 30 + line * 18; y < 42 + line * 18; y++)
                for (int x = 30 + ch * 9; x < 36 + ch * 9; x++)
                    if ((x + y + ch) % 5 != 0 || y == 30 + line * 18)
                        memset(rgb + (y * W + x) * 3, 235, 3);
}

void tgt_mix(uint8_t *out, const uint8_t *a, const uint8_t *b, double al)
{
    for (int i = 0; i < W * H * 3; i++)
        out[i] = (uint8_t)lround(al * a[i] + (1 - al) * b[i]);
}

void tgt_sample(tgi_sample *s, size_t i, double t, const uint8_t *img)
{
    tgi_frame f = {.t = t, .width = W, .height = H, .stride = W * 3, .data = img};
    s[i].t = t;
    tgi_features_compute(&f, i ? &s[i - 1] : NULL, &s[i]);
}

/* The series, in seconds: A 0-2 (pan) | cut | B 2-4 with a white flash frame at 3.0 |
 * black 4-5 | fade in 5-5.6 | C 5.6-8 | dissolve 8-8.8 | D 8.8-11 | blurred 11-13 |
 * text card 13-15 | A again 15-17 (the intro returns). */
tgi_sample *tgt_series(size_t *n_out)
{
    size_t n = (size_t)(17 * RATE);
    tgi_sample *s = calloc(n, sizeof(*s));
    uint8_t *img = malloc(W * H * 3), *a = malloc(W * H * 3), *b = malloc(W * H * 3);
    for (size_t i = 0; i < n; i++) {
        double t = i / RATE;
        if (t < 2)
            tgt_scene(img, 1, t * 12, 1);
        else if (t < 4)
            tgt_scene(img, 2, t * 8, 1);
        else if (t < 5)
            tgt_fill(img, 2);
        else if (t < 8) {
            tgt_scene(a, 3, t * 10, 1);
            if (t < 5.6) {
                tgt_fill(b, 0);
                tgt_mix(img, a, b, (t - 5) / 0.6);
            } else
                memcpy(img, a, W * H * 3);
        } else if (t < 11) {
            tgt_scene(b, 4, t * 10, 1);
            if (t < 8.8) {
                tgt_scene(a, 3, t * 10, 1);
                tgt_mix(img, b, a, (t - 8) / 0.8);
            } else
                memcpy(img, b, W * H * 3);
        } else if (t < 13)
            tgt_scene(img, 5, t * 10, 0);
        else if (t < 15)
            tgt_text_card(img);
        else
            tgt_scene(img, 1, (t - 15) * 12, 1);
        if (i == 75) /* t = 3.0: one white flash frame inside B */
            tgt_fill(img, 250);
        tgt_sample(s, i, t, img);
    }
    free(img);
    free(a);
    free(b);
    *n_out = n;
    return s;
}

size_t tgt_at(double t)
{
    return (size_t)lround(t * RATE);
}

/* An analysis of n samples (taken over: s is freed with it) after event detection,
 * as tg_analyze makes it, without a CNN. */
tg_analysis_data *tgt_analysis_of(tgi_sample *s, size_t n, double end)
{
    tgi_events ev;
    ck_assert_int_eq(tgi_events_detect(NULL, s, n, end, NULL, 0, W, H, &ev), 0);
    tg_analysis_data *a = tgi_analysis_new();
    ck_assert_ptr_nonnull(a);
    a->path = strdup("synthetic");
    a->s = s;
    a->n = n;
    a->duration = end;
    a->width = W;
    a->height = H;
    a->aw = W;
    a->ah = H;
    a->fps = RATE;
    a->shots = ev.shots;
    a->n_shots = ev.n_shots;
    a->cuts = ev.cuts;
    a->n_cuts = ev.n_cuts;
    a->content = ev.content;
    return a;
}

/* select's verdicts on a (malloc'd, one per sample) */
tgi_verdict *tgt_verdicts_of(const tg_analysis_data *a)
{
    tgi_verdict *v = calloc(a->n, sizeof(*v));
    tgi_clusters cl;
    ck_assert_int_eq(tgi_verdicts(NULL, a, TG_SAFE_SOFT, v, &cl), 0);
    tgi_clusters_free(&cl);
    return v;
}
