/*
 * subjects.c — see subjects.h.
 */
#include "analyze/subjects.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/nn.h"

#define CN_CLASSES 80
#define CN_STRIDE  4  /* heatmap cell, input pixels */
#define CN_MAXPEAK 64 /* candidates kept before suppression */

static const char *const OUTS[] = {"tower_0/keypoints", "tower_0/wh"};

struct tgi_subjects {
    tgi_nn *nn;
    tgi_nn_session *sess;
    int iw, ih; /* the session's input size */
    int side;   /* input long side asked for (tgi_subjects_set_side) */
};

static int kept_class(int c)
{
    return c == TGI_SUBJECT_PERSON ||
           (c >= TGI_SUBJECT_ANIMAL_FIRST && c <= TGI_SUBJECT_ANIMAL_LAST);
}

const char *tgi_subject_name(int cls)
{
    static const char *const animals[] = {"bird", "cat",      "dog",  "horse", "sheep",
                                          "cow",  "elephant", "bear", "zebra", "giraffe"};
    if (cls == TGI_SUBJECT_PERSON)
        return "person";
    if (cls >= TGI_SUBJECT_ANIMAL_FIRST && cls <= TGI_SUBJECT_ANIMAL_LAST)
        return animals[cls - TGI_SUBJECT_ANIMAL_FIRST];
    return "?";
}

int tgi_subjects_side_ok(int side)
{
    return side >= TGI_SUBJECTS_SIDE_MIN && side <= TGI_SUBJECTS_SIDE_MAX && side % 32 == 0;
}

void tgi_subjects_input_size(int side, int w, int h, int *iw, int *ih)
{
    int lw = w >= h, sl = tgi_subjects_side_ok(side) ? side : TGI_SUBJECTS_SIDE;
    double r = (lw ? (double)h / (w > 0 ? w : 1) : (double)w / (h > 0 ? h : 1)) * sl;
    int ss = (int)lround(r / 32.0) * 32;
    ss = ss < 32 ? 32 : ss > sl ? sl : ss;
    *iw = lw ? sl : ss;
    *ih = lw ? ss : sl;
}

int tgi_subjects_open(tg_ctx *ctx, const char *models_dir, tgi_subjects **out)
{
    *out = NULL;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/centernet/centernet.json",
                 models_dir ? models_dir : tgi_nn_models_dir()) >= (int)sizeof path)
        return tgi_fail(ctx, TG_EINVAL, "the models folder's path is too long");
    tgi_subjects *s = calloc(1, sizeof *s);
    if (!s)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    int rc = tgi_nn_load_graph(ctx, path, OUTS, 2, &s->nn);
    if (rc == TG_ENOENT) {
        tg_ctx_clear(ctx);
        rc = tgi_fail(ctx, TG_ENOENT,
                      "the subject detector's weights are missing: run scripts/fetch-models");
    }
    if (rc) {
        free(s);
        return rc;
    }
    s->side = TGI_SUBJECTS_SIDE;
    *out = s;
    return 0;
}

void tgi_subjects_close(tgi_subjects **ps)
{
    tgi_subjects *s = ps ? *ps : NULL;
    if (!s)
        return;
    tgi_nn_session_free(&s->sess);
    tgi_nn_free(&s->nn);
    free(s);
    *ps = NULL;
}

/* Bilinear resize of the RGB24 frame into the session input (floats 0..255). */
static void fill_input(float *in, int iw, int ih, const uint8_t *rgb, int w, int h, int stride)
{
    float sx = (float)w / iw, sy = (float)h / ih;
    for (int y = 0; y < ih; y++) {
        float fy = ((float)y + 0.5f) * sy - 0.5f;
        fy = fy < 0 ? 0 : fy;
        int y0 = (int)fy, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
        float ty = fy - (float)y0;
        for (int x = 0; x < iw; x++) {
            float fx = ((float)x + 0.5f) * sx - 0.5f;
            fx = fx < 0 ? 0 : fx;
            int x0 = (int)fx, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
            float tx = fx - (float)x0;
            const uint8_t *r0 = rgb + (size_t)y0 * stride, *r1 = rgb + (size_t)y1 * stride;
            float *o = in + ((size_t)y * iw + x) * 3;
            for (int c = 0; c < 3; c++) {
                float top = r0[x0 * 3 + c] + (r0[x1 * 3 + c] - r0[x0 * 3 + c]) * tx;
                float bot = r1[x0 * 3 + c] + (r1[x1 * 3 + c] - r1[x0 * 3 + c]) * tx;
                o[c] = top + (bot - top) * ty;
            }
        }
    }
}

int tgi_subjects_set_side(tg_ctx *ctx, tgi_subjects *s, int side)
{
    if (!s || !tgi_subjects_side_ok(side))
        return tgi_fail(ctx, TG_EINVAL,
                        "the subject detector's input side %d is not %d-%d, a multiple of 32", side,
                        TGI_SUBJECTS_SIDE_MIN, TGI_SUBJECTS_SIDE_MAX);
    s->side = side;
    return 0;
}

int tgi_subjects_get_side(const tgi_subjects *s)
{
    return s ? s->side : TGI_SUBJECTS_SIDE;
}

static float iou(const tgi_subject *a, const tgi_subject *b)
{
    float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
    float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
    float in = fmaxf(0, x1 - x0) * fmaxf(0, y1 - y0);
    float un = a->w * a->h + b->w * b->h - in;
    return un > 0 ? in / un : 0;
}

static int by_score(const void *x, const void *y)
{
    float a = ((const tgi_subject *)x)->score, b = ((const tgi_subject *)y)->score;
    return (a < b) - (a > b);
}

static float clip01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

int tgi_subjects_detect(tg_ctx *ctx, tgi_subjects *s, const uint8_t *rgb, int w, int h, int stride,
                        tgi_subject *out, int max)
{
    if (!s || !rgb || w < 1 || h < 1 || stride < 3 * w || max < 0 || (max > 0 && !out))
        return tgi_fail(ctx, TG_EINVAL, "tgi_subjects_detect: bad frame or output");
    int iw, ih, rc;
    tgi_subjects_input_size(s->side, w, h, &iw, &ih);
    if (!s->sess || s->iw != iw || s->ih != ih) {
        tgi_nn_session_free(&s->sess);
        if ((rc = tgi_nn_session_new(ctx, s->nn, 1, ih, iw, 1, OUTS + 1, 1, &s->sess)) < 0)
            return rc;
        s->iw = iw, s->ih = ih;
    }
    fill_input(tgi_nn_session_input(s->sess), iw, ih, rgb, w, h, stride);
    openblas_set_num_threads(1);
    if ((rc = tgi_nn_forward(ctx, s->sess, 1)) < 0)
        return rc;
    int gh, gw, gc;
    const float *hm = tgi_nn_output(s->sess, NULL, &gh, &gw, &gc);
    const float *wh = tgi_nn_output(s->sess, OUTS[1], NULL, NULL, NULL);
    if (!hm || !wh || gc != CN_CLASSES)
        return tgi_fail(ctx, TG_ECORRUPT, "the subject detector's outputs have %d classes, not %d",
                        gc, CN_CLASSES);
    tgi_subject cand[CN_MAXPEAK];
    int n = 0;
    for (int y = 0; y < gh; y++)
        for (int x = 0; x < gw; x++)
            for (int c = 0; c < CN_CLASSES; c++) {
                if (!kept_class(c))
                    continue;
                float v = hm[((size_t)y * gw + x) * CN_CLASSES + c];
                if (!(v >= TGI_SUBJECTS_SCORE))
                    continue;
                int peak = 1;
                for (int dy = -1; dy <= 1 && peak; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        int yy = y + dy, xx = x + dx;
                        if ((dy || dx) && yy >= 0 && yy < gh && xx >= 0 && xx < gw &&
                            hm[((size_t)yy * gw + xx) * CN_CLASSES + c] > v) {
                            peak = 0;
                            break;
                        }
                    }
                if (!peak)
                    continue;
                const float *b = wh + ((size_t)y * gw + x) * 4;
                float cx = (float)(x * CN_STRIDE), cy = (float)(y * CN_STRIDE);
                float x0 = clip01((cx - b[0]) / iw), y0 = clip01((cy - b[1]) / ih);
                float x1 = clip01((cx + b[2]) / iw), y1 = clip01((cy + b[3]) / ih);
                tgi_subject d = {c, v, x0, y0, x1 - x0, y1 - y0};
                if (n < CN_MAXPEAK)
                    cand[n++] = d;
                else { /* full: replace the weakest */
                    int k = 0;
                    for (int i = 1; i < n; i++)
                        if (cand[i].score < cand[k].score)
                            k = i;
                    if (cand[k].score < v)
                        cand[k] = d;
                }
            }
    qsort(cand, (size_t)n, sizeof *cand, by_score);
    int m = 0;
    for (int i = 0; i < n && m < max; i++) {
        int dup = 0;
        for (int j = 0; j < m && !dup; j++)
            dup = out[j].cls == cand[i].cls && iou(&out[j], &cand[i]) > 0.5f;
        if (!dup)
            out[m++] = cand[i];
    }
    return m;
}
