/*
 * kernels.c — see kernels.h. All inputs come from session.c, which has already
 * checked the shapes: these functions trust their arguments.
 */
#include "nn/kernels.h"

/* The channel loops below are the engine's only hand-written hot code: let GCC
 * vectorize them with its full cost model (-O2 only vectorizes "very cheap" loops,
 * which excludes every loop here). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn/graph.h"

/* Hot loops get an AVX-512 and an AVX2 build next to the baseline one. Not under the
 * sanitizers (ifunc resolvers run before ASan is initialised). */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

static inline float act1(float v, int act, float mx)
{
    if (act == NN_ACT_RELU) {
        v = v > 0 ? v : 0;
        v = v < mx ? v : mx;
    } else if (act == NN_ACT_SIGMOID)
        v = 1.0f / (1.0f + expf(-v));
    return v;
}

static void softmax_row(float *x, int c)
{
    float mx = x[0];
    for (int i = 1; i < c; i++)
        mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < c; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    for (int i = 0; i < c; i++)
        x[i] = (float)(x[i] / sum);
}

NN_CLONES void nn_epilogue(float *x, size_t rows, int c, const float *bias, int act, float act_max)
{
    if (!bias && act == NN_ACT_LINEAR)
        return;
    for (size_t r = 0; r < rows; r++) {
        float *restrict row = x + r * (size_t)c;
        if (bias)
            for (int i = 0; i < c; i++)
                row[i] += bias[i];
        if (act == NN_ACT_RELU)
            for (int i = 0; i < c; i++) {
                float v = row[i] > 0 ? row[i] : 0;
                row[i] = v < act_max ? v : act_max;
            }
        else if (act == NN_ACT_SOFTMAX)
            softmax_row(row, c);
        else if (act == NN_ACT_SIGMOID)
            for (int i = 0; i < c; i++)
                row[i] = act1(row[i], NN_ACT_SIGMOID, 0);
    }
}

size_t nn_conv_scratch(const nn_win *a)
{
    int direct = a->kh == 1 && a->kw == 1 && a->sh == 1 && a->sw == 1 && a->pt == 0 && a->pl == 0 &&
                 a->oh == a->h && a->ow == a->w;
    return direct ? 0 : (size_t)a->mtile * a->kh * a->kw * a->cin;
}

/* Gather the receptive fields of output pixels [p0, p0+m) into rows of K floats. */
static void im2col(const nn_win *a, const float *in, float *col, size_t p0, int m)
{
    const int cin = a->cin, K = a->kh * a->kw * cin;
    for (int r = 0; r < m; r++) {
        size_t p = p0 + (size_t)r;
        int oy = (int)(p / (size_t)a->ow), ox = (int)(p % (size_t)a->ow);
        float *row = col + (size_t)r * K;
        int x0 = ox * a->sw - a->pl;
        /* the kx range whose ix lies inside the input: one contiguous copy per ky */
        int kx0 = x0 < 0 ? -x0 : 0, kx1 = a->w - x0 < a->kw ? a->w - x0 : a->kw;
        if (kx1 < kx0)
            kx1 = kx0;
        for (int ky = 0; ky < a->kh; ky++) {
            int iy = oy * a->sh - a->pt + ky;
            float *dst = row + (size_t)ky * a->kw * cin;
            if (iy < 0 || iy >= a->h || kx1 == kx0) {
                memset(dst, 0, (size_t)a->kw * cin * sizeof *dst);
                continue;
            }
            if (kx0 > 0)
                memset(dst, 0, (size_t)kx0 * cin * sizeof *dst);
            memcpy(dst + (size_t)kx0 * cin, in + ((size_t)iy * a->w + (size_t)(x0 + kx0)) * cin,
                   (size_t)(kx1 - kx0) * cin * sizeof *dst);
            if (kx1 < a->kw)
                memset(dst + (size_t)kx1 * cin, 0, (size_t)(a->kw - kx1) * cin * sizeof *dst);
        }
    }
}

void nn_conv(const nn_win *a, const float *in, float *out, float *scratch)
{
    const size_t M = (size_t)a->oh * a->ow;
    const int K = a->kh * a->kw * a->cin, N = a->cout;
    const int direct = nn_conv_scratch(a) == 0;
    for (size_t p0 = 0; p0 < M; p0 += (size_t)a->mtile) {
        int m = M - p0 < (size_t)a->mtile ? (int)(M - p0) : a->mtile;
        const float *A = in + p0 * (size_t)a->cin;
        if (!direct) {
            im2col(a, in, scratch, p0, m);
            A = scratch;
        }
        float *C = out + p0 * (size_t)N;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, N, K, 1.0f, A, K, a->wt, N, 0.0f,
                    C, N);
        nn_epilogue(C, (size_t)m, N, a->bias, a->act, a->act_max);
    }
}

/* out[c] += in[c] * w[c] over one pixel's channels */
static inline void madd(float *restrict o, const float *restrict x, const float *restrict w, int c)
{
    for (int i = 0; i < c; i++)
        o[i] += x[i] * w[i];
}

NN_CLONES void nn_dwconv(const nn_win *a, const float *in, float *out)
{
    const int c = a->cin;
    for (int oy = 0; oy < a->oh; oy++) {
        int y0 = oy * a->sh - a->pt;
        int ky0 = y0 < 0 ? -y0 : 0, ky1 = a->h - y0 < a->kh ? a->h - y0 : a->kh;
        for (int ox = 0; ox < a->ow; ox++) {
            int x0 = ox * a->sw - a->pl;
            int kx0 = x0 < 0 ? -x0 : 0, kx1 = a->w - x0 < a->kw ? a->w - x0 : a->kw;
            float *restrict o = out + ((size_t)oy * a->ow + ox) * c;
            if (a->bias)
                memcpy(o, a->bias, (size_t)c * sizeof *o);
            else
                memset(o, 0, (size_t)c * sizeof *o);
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = kx0; kx < kx1; kx++)
                    madd(o, in + ((size_t)(y0 + ky) * a->w + (size_t)(x0 + kx)) * c,
                         a->wt + ((size_t)ky * a->kw + kx) * c, c);
            if (a->act == NN_ACT_RELU || a->act == NN_ACT_SIGMOID)
                for (int i = 0; i < c; i++)
                    o[i] = act1(o[i], a->act, a->act_max);
        }
    }
}

NN_CLONES void nn_avgpool(const nn_win *a, const float *in, float *out)
{
    const int c = a->cin;
    for (int oy = 0; oy < a->oh; oy++) {
        int y0 = oy * a->sh - a->pt;
        int ky0 = y0 < 0 ? -y0 : 0, ky1 = a->h - y0 < a->kh ? a->h - y0 : a->kh;
        for (int ox = 0; ox < a->ow; ox++) {
            int x0 = ox * a->sw - a->pl;
            int kx0 = x0 < 0 ? -x0 : 0, kx1 = a->w - x0 < a->kw ? a->w - x0 : a->kw;
            float *restrict o = out + ((size_t)oy * a->ow + ox) * c;
            memset(o, 0, (size_t)c * sizeof *o);
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = kx0; kx < kx1; kx++) {
                    const float *restrict x =
                        in + ((size_t)(y0 + ky) * a->w + (size_t)(x0 + kx)) * c;
                    for (int i = 0; i < c; i++)
                        o[i] += x[i];
                }
            int n = (ky1 - ky0) * (kx1 - kx0);
            float inv = n > 0 ? 1.0f / (float)n : 0.0f;
            for (int i = 0; i < c; i++)
                o[i] *= inv;
        }
    }
}

NN_CLONES void nn_maxpool(const nn_win *a, const float *in, float *out)
{
    const int c = a->cin;
    for (int oy = 0; oy < a->oh; oy++) {
        int y0 = oy * a->sh - a->pt;
        int ky0 = y0 < 0 ? -y0 : 0, ky1 = a->h - y0 < a->kh ? a->h - y0 : a->kh;
        for (int ox = 0; ox < a->ow; ox++) {
            int x0 = ox * a->sw - a->pl;
            int kx0 = x0 < 0 ? -x0 : 0, kx1 = a->w - x0 < a->kw ? a->w - x0 : a->kw;
            float *restrict o = out + ((size_t)oy * a->ow + ox) * c;
            for (int i = 0; i < c; i++)
                o[i] = -INFINITY;
            for (int ky = ky0; ky < ky1; ky++)
                for (int kx = kx0; kx < kx1; kx++) {
                    const float *restrict x =
                        in + ((size_t)(y0 + ky) * a->w + (size_t)(x0 + kx)) * c;
                    for (int i = 0; i < c; i++)
                        o[i] = x[i] > o[i] ? x[i] : o[i];
                }
        }
    }
}

NN_CLONES void nn_affine(const float *in, float *out, size_t rows, int c, const float *scale,
                         const float *shift, int act, float act_max)
{
    for (size_t r = 0; r < rows; r++) {
        const float *restrict x = in + r * (size_t)c;
        float *restrict o = out + r * (size_t)c;
        for (int i = 0; i < c; i++)
            o[i] = act1(x[i] * scale[i] + shift[i], act == NN_ACT_SOFTMAX ? 0 : act, act_max);
        if (act == NN_ACT_SOFTMAX)
            softmax_row(o, c);
    }
}

NN_CLONES void nn_add(float *out, const float *const *ins, int nin, size_t n, int act,
                      float act_max)
{
    const float *restrict a = ins[0], *restrict b = ins[1];
    float *restrict o = out;
    for (size_t i = 0; i < n; i++)
        o[i] = a[i] + b[i];
    for (int k = 2; k < nin; k++) {
        const float *restrict x = ins[k];
        for (size_t i = 0; i < n; i++)
            o[i] += x[i];
    }
    if (act == NN_ACT_RELU || act == NN_ACT_SIGMOID)
        for (size_t i = 0; i < n; i++)
            o[i] = act1(o[i], act, act_max);
}

void nn_concat(float *out, const float *const *ins, const int *cs, int nin, size_t pixels)
{
    int ctot = 0;
    for (int k = 0; k < nin; k++)
        ctot += cs[k];
    for (size_t p = 0; p < pixels; p++) {
        float *o = out + p * (size_t)ctot;
        for (int k = 0; k < nin; k++) {
            memcpy(o, ins[k] + p * (size_t)cs[k], (size_t)cs[k] * sizeof *o);
            o += cs[k];
        }
    }
}

void nn_zeropad(const float *in, float *out, int h, int w, int c, int pt, int pb, int pl, int pr)
{
    const size_t ow = (size_t)w + (size_t)pl + (size_t)pr, rowf = ow * (size_t)c;
    memset(out, 0, (size_t)pt * rowf * sizeof *out);
    for (int y = 0; y < h; y++) {
        float *o = out + ((size_t)pt + (size_t)y) * rowf;
        memset(o, 0, (size_t)pl * c * sizeof *o);
        memcpy(o + (size_t)pl * c, in + (size_t)y * w * c, (size_t)w * c * sizeof *o);
        memset(o + ((size_t)pl + (size_t)w) * c, 0, (size_t)pr * c * sizeof *o);
    }
    memset(out + ((size_t)pt + (size_t)h) * rowf, 0, (size_t)pb * rowf * sizeof *out);
}

void nn_upsample(const float *in, float *out, int h, int w, int c, int uh, int uw)
{
    const size_t ow = (size_t)w * (size_t)uw, rowf = ow * (size_t)c;
    for (int y = 0; y < h; y++) {
        float *o = out + (size_t)y * uh * rowf;
        for (int x = 0; x < w; x++)
            for (int j = 0; j < uw; j++)
                memcpy(o + ((size_t)x * uw + (size_t)j) * c, in + ((size_t)y * w + x) * c,
                       (size_t)c * sizeof *o);
        for (int i = 1; i < uh; i++)
            memcpy(o + (size_t)i * rowf, o, rowf * sizeof *o);
    }
}

NN_CLONES void nn_global_avg(const float *in, float *out, size_t pixels, int c)
{
    float *restrict o = out;
    memset(o, 0, (size_t)c * sizeof *o);
    for (size_t p = 0; p < pixels; p++) {
        const float *restrict x = in + p * (size_t)c;
        for (int i = 0; i < c; i++)
            o[i] += x[i];
    }
    for (int i = 0; i < c; i++)
        o[i] /= (float)pixels;
}

NN_CLONES void nn_mul(float *out, const float *a, const float *b, size_t pixels, int c, int bcast)
{
    if (!bcast) {
        size_t n = pixels * (size_t)c;
        for (size_t i = 0; i < n; i++)
            out[i] = a[i] * b[i];
        return;
    }
    for (size_t p = 0; p < pixels; p++) {
        const float *restrict x = a + p * (size_t)c;
        float *restrict o = out + p * (size_t)c;
        for (int i = 0; i < c; i++)
            o[i] = x[i] * b[i];
    }
}

/* Source coordinate of output index o along an axis scaled by s (TF's two mappings):
 * the lower and upper neighbours and the weight of the upper one. */
static void lerp_axis(int o, float s, int in, int half_pixel, int *lo, int *hi, float *t)
{
    float src = half_pixel ? ((float)o + 0.5f) * s - 0.5f : (float)o * s;
    float f = floorf(src);
    int l = (int)f;
    *t = src - f;
    *hi = l + 1 < in ? l + 1 : in - 1;
    *lo = l < 0 ? 0 : (l < in ? l : in - 1);
    if (*hi < 0)
        *hi = 0;
}

void nn_resize_bilinear(const float *in, float *out, int h, int w, int c, int oh, int ow,
                        int half_pixel)
{
    const float sy = (float)h / (float)oh, sx = (float)w / (float)ow;
    for (int oy = 0; oy < oh; oy++) {
        int y0, y1;
        float ty;
        lerp_axis(oy, sy, h, half_pixel, &y0, &y1, &ty);
        for (int ox = 0; ox < ow; ox++) {
            int x0, x1;
            float tx;
            lerp_axis(ox, sx, w, half_pixel, &x0, &x1, &tx);
            const float *restrict p00 = in + ((size_t)y0 * w + x0) * c;
            const float *restrict p01 = in + ((size_t)y0 * w + x1) * c;
            const float *restrict p10 = in + ((size_t)y1 * w + x0) * c;
            const float *restrict p11 = in + ((size_t)y1 * w + x1) * c;
            float *restrict o = out + ((size_t)oy * ow + ox) * c;
            for (int i = 0; i < c; i++) {
                float top = p00[i] + (p01[i] - p00[i]) * tx;
                float bot = p10[i] + (p11[i] - p10[i]) * tx;
                o[i] = top + (bot - top) * ty;
            }
        }
    }
}
