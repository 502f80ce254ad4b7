/*
 * upscale.c — the method registry, the upscaler's life cycle, the blockiness
 * measurement and the HD / Full HD target sizes (see upscale.h). The methods
 * themselves are in lanczos.c and sharpen.c.
 */
#include "upscale/upscale.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "upscale/method.h"

/* The registry (TG_UPSCALE_METHODS): index = enum tgi_upscale_method = position in
 * TG_UPSCALE_METHOD_CHOICES. */
#define DEF_ROW(e, name, def)  &def,
#define NAME_ROW(e, name, def) name,
static const tgi_upscale_def *const methods[] = {TG_UPSCALE_METHODS(DEF_ROW)};
static const char *const names[] = {TG_UPSCALE_METHODS(NAME_ROW)};
#define N_METHODS ((int)(sizeof(methods) / sizeof(methods[0])))

int tgi_upscale_method_count(void)
{
    return N_METHODS;
}

const char *tgi_upscale_method_name(int method)
{
    return method >= 0 && method < N_METHODS ? names[method] : NULL;
}

int tgi_upscale_method_find(const char *name)
{
    for (int i = 0; name && i < N_METHODS; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

int tgi_upscaler_new(tg_ctx *ctx, int method, int in_w, int in_h, int out_w, int out_h, int bpp,
                     tgi_upscaler **out)
{
    *out = NULL;
    if (method < 0 || method >= N_METHODS)
        return tgi_fail(ctx, TG_EINVAL, "unknown upscaling method %d", method);
    if (bpp != 3 && bpp != 4)
        return tgi_fail(ctx, TG_EINVAL, "upscaling needs RGB24 or RGBA pixels");
    if (in_w < TG_UPSCALE_MIN_SIDE || in_h < TG_UPSCALE_MIN_SIDE)
        return tgi_fail(ctx, TG_ELIMIT, "a %dx%d image is too small to upscale (at least %dx%d)",
                        in_w, in_h, TG_UPSCALE_MIN_SIDE, TG_UPSCALE_MIN_SIDE);
    if (out_w < in_w || out_h < in_h)
        return tgi_fail(ctx, TG_EINVAL, "cannot upscale %dx%d to the smaller %dx%d", in_w, in_h,
                        out_w, out_h);
    if (out_w > TG_UPSCALE_MAX_SIDE || out_h > TG_UPSCALE_MAX_SIDE ||
        (size_t)out_w * (size_t)out_h > TG_UPSCALE_MAX_OUT_PIXELS)
        return tgi_fail(ctx, TG_ELIMIT,
                        "upscaling to %dx%d is beyond the limit (%d px a side, %zu Mpixels)", out_w,
                        out_h, TG_UPSCALE_MAX_SIDE, TG_UPSCALE_MAX_OUT_PIXELS >> 20);
    tgi_upscaler *u = calloc(1, sizeof(*u));
    if (!u)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    *u = (tgi_upscaler){.m = methods[method],
                        .in_w = in_w,
                        .in_h = in_h,
                        .out_w = out_w,
                        .out_h = out_h,
                        .bpp = bpp,
                        .compressed = -1};
    if (u->m->priv_size && !(u->priv = calloc(1, u->m->priv_size))) {
        free(u);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    int rc = u->m->init ? u->m->init(ctx, u) : 0;
    if (rc < 0) {
        tgi_upscaler_free(&u);
        return rc;
    }
    *out = u;
    return 0;
}

int tgi_upscaler_run(tg_ctx *ctx, tgi_upscaler *u, const uint8_t *src, int src_stride, uint8_t *dst,
                     int dst_stride)
{
    if (!u->forced && u->compressed < 0) {
        tgi_blockiness_measure(src, u->in_w, u->in_h, src_stride, u->bpp, &u->blk);
        if (u->blk.texture >= TG_BLOCKY_MIN_TEXTURE)
            u->compressed = u->blk.score > TG_BLOCKY_THRESHOLD;
    }
    return u->m->run(ctx, u, src, src_stride, dst, dst_stride);
}

void tgi_upscaler_free(tgi_upscaler **u)
{
    if (!u || !*u)
        return;
    if ((*u)->m->uninit)
        (*u)->m->uninit(*u);
    free((*u)->priv);
    free(*u);
    *u = NULL;
}

void tgi_upscaler_set_compressed(tgi_upscaler *u, int compressed)
{
    u->forced = compressed >= 0;
    u->compressed = compressed < 0 ? -1 : compressed > 0;
}

int tgi_upscaler_compressed(const tgi_upscaler *u)
{
    return u->compressed;
}

static inline int luma(const uint8_t *p)
{
    return (77 * p[0] + 150 * p[1] + 29 * p[2] + 128) >> 8;
}

/* Strongest phase's mean / mean of the other seven; its phase in *phase. */
static double phase_ratio(const double sum[8], const double cnt[8], int *phase, double *num,
                          double *den)
{
    double mean[8], best = -1, rest = 0;
    int bp = 0, nrest = 0;
    for (int p = 0; p < 8; p++) {
        mean[p] = cnt[p] > 0 ? sum[p] / cnt[p] : 0;
        if (cnt[p] > 0 && mean[p] > best) {
            best = mean[p];
            bp = p;
        }
    }
    for (int p = 0; p < 8; p++)
        if (p != bp && cnt[p] > 0) {
            rest += mean[p];
            nrest++;
        }
    *phase = bp;
    *num = best > 0 ? best : 0;
    *den = nrest ? rest / nrest : 0;
    return *den > 0 ? *num / *den : 1.0;
}

void tgi_blockiness_measure(const uint8_t *img, int w, int h, int stride, int bpp,
                            tgi_blockiness *out)
{
    double cs[8] = {0}, cc[8] = {0}, rs[8] = {0}, rc[8] = {0}, all = 0, nall = 0;
    memset(out, 0, sizeof(*out));
    out->score = 1.0;
    if (w < 16 || h < 16)
        return;
    /* every other row / column is enough and halves the cost */
    for (int y = 0; y < h; y += 2) {
        const uint8_t *row = img + (size_t)y * stride;
        int prev = luma(row);
        for (int x = 1; x < w; x++) {
            int cur = luma(row + (size_t)x * bpp), d = abs(cur - prev);
            cs[x & 7] += d;
            cc[x & 7] += 1;
            all += d;
            nall += 1;
            prev = cur;
        }
    }
    for (int x = 0; x < w; x += 2) {
        int prev = luma(img + (size_t)x * bpp);
        for (int y = 1; y < h; y++) {
            int cur = luma(img + (size_t)y * stride + (size_t)x * bpp);
            rs[y & 7] += abs(cur - prev);
            rc[y & 7] += 1;
            prev = cur;
        }
    }
    double nx, dx, ny, dy;
    phase_ratio(cs, cc, &out->phase_x, &nx, &dx);
    phase_ratio(rs, rc, &out->phase_y, &ny, &dy);
    out->texture = nall > 0 ? all / nall : 0;
    out->score = dx + dy > 0 ? (nx + ny) / (dx + dy) : 1.0;
}

int tgi_upscale_fit(int mode, int cw, int ch, int *w, int *h)
{
    int lw, lh; /* landscape target */
    if (mode == TG_UPSCALE_HD) {
        lw = 1280;
        lh = 720;
    } else if (mode == TG_UPSCALE_FULLHD) {
        lw = 1920;
        lh = 1080;
    } else {
        return 0;
    }
    if (cw < 2 || ch < 2)
        return 0;
    int ow, oh;
    if (ch > cw) { /* portrait: the height is the HD line count */
        oh = lh;
        ow = (int)lround((double)oh * cw / ch);
    } else {
        ow = lw;
        oh = (int)lround((double)ow * ch / cw);
    }
    *w = ow & ~1;
    *h = oh & ~1;
    return *w > cw && *h > ch;
}
