/*
 * cnn.c — the `cnn` method: idealo's RDN super-resolution network as shipped by
 * @upscalerjs/esrgan-slim 1.0.0 (models/esrgan-slim/x{2,3,4}; RGB 0..255 in and out),
 * run on src/nn.
 *
 * The network works in whole factors: for an output that is not 2, 3 or 4 times the
 * input it upscales by the next whole factor (at most 4) and Lanczos makes the exact
 * size. Large frames go through in tiles: each tile is given TILE_PAD pixels of its
 * neighbours as context (more than the network's receptive radius, 10 input pixels:
 * nine 3x3/5x5 convolutions), and only its own part of the result is kept, so a tiled
 * frame equals the whole-frame result away from the frame's edges, within rounding.
 * Tiles near an edge are shifted inwards so that every tile has one size: one session,
 * batches of tiles on the worker threads.
 *
 * The frame's own edges: the network pads its convolutions with zeros, which darkens
 * and ripples the outer ~8 output pixels (a flat 200 came out as 123 in the corner).
 * So the frame is first extended by TILE_PAD pixels repeating its edge pixels, and the
 * network never sees a zero border inside the part that is kept.
 */
#include <libswscale/swscale.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "media/image.h"
#include "nn/nn.h"
#include "upscale/method.h"

#define TILE     128 /* input pixels of a tile's own part (each side) */
#define TILE_PAD 12  /* context around it */
#define BATCH    4   /* tiles per forward */

typedef struct cnn_priv {
    tgi_nn *nn;
    tgi_nn_session *sess;
    int scale;                /* the network's factor */
    int rw, rh;               /* input region of one tile, context included */
    int tile;                 /* own part of a tile */
    uint8_t *hr;              /* the network's result, scale*in_w x scale*in_h RGB24 */
    struct SwsContext *fit;   /* hr → the asked size, when it differs */
    uint8_t *ext;             /* the input extended by TILE_PAD on every side, RGB24 */
    int ew, eh;               /* its size */
    struct SwsContext *alpha; /* RGBA: the alpha plane, by Lanczos */
    uint8_t *a_in, *a_out;    /* its planes */
} cnn_priv;

static int threads_auto(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

static int cnn_init(tg_ctx *ctx, tgi_upscaler *u)
{
    cnn_priv *p = u->priv;
    double f = fmax((double)u->out_w / u->in_w, (double)u->out_h / u->in_h);
    p->scale = (int)ceil(f - 1e-9);
    if (p->scale < 2)
        p->scale = 2;
    if (p->scale > 4)
        p->scale = 4;
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/esrgan-slim/x%d", tgi_nn_models_dir(), p->scale);
    char json[PATH_MAX + 16];
    snprintf(json, sizeof(json), "%s/model.json", dir);
    if (access(json, R_OK) != 0)
        return tgi_fail(ctx, TG_ENOENT,
                        "the esrgan-slim x%d weights are missing (no %s): run scripts/fetch-models",
                        p->scale, json);
    int rc = tgi_nn_load(ctx, dir, &p->nn);
    if (rc < 0)
        return rc;
    /* a tile with its context, never bigger than the extended frame */
    p->tile = TILE;
    p->ew = u->in_w + 2 * TILE_PAD;
    p->eh = u->in_h + 2 * TILE_PAD;
    p->rw = p->ew < TILE + 2 * TILE_PAD ? p->ew : TILE + 2 * TILE_PAD;
    p->rh = p->eh < TILE + 2 * TILE_PAD ? p->eh : TILE + 2 * TILE_PAD;
    if ((rc = tgi_nn_session_new(ctx, p->nn, BATCH, p->rh, p->rw, threads_auto(), NULL, 0,
                                 &p->sess)) < 0)
        return rc;
    int hw = p->scale * u->in_w, hh = p->scale * u->in_h;
    p->hr = malloc((size_t)hw * hh * 3 + TGI_SWS_SLACK);
    p->ext = malloc((size_t)p->ew * p->eh * 3 + TGI_SWS_SLACK);
    if (!p->hr || !p->ext)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d frame", hw, hh);
    if (u->bpp == 4) {
        p->alpha =
            sws_getContext(u->in_w, u->in_h, AV_PIX_FMT_GRAY8, u->out_w, u->out_h, AV_PIX_FMT_GRAY8,
                           SWS_LANCZOS | SWS_ACCURATE_RND, NULL, NULL, NULL);
        p->a_in = malloc((size_t)u->in_w * u->in_h + TGI_SWS_SLACK);
        p->a_out = malloc((size_t)u->out_w * u->out_h);
        if (!p->alpha || !p->a_in || !p->a_out)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d alpha plane", u->out_w,
                            u->out_h);
    }
    if (hw != u->out_w || hh != u->out_h || u->bpp == 4) {
        enum AVPixelFormat pf = u->bpp == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
        p->fit =
            sws_getContext(hw, hh, AV_PIX_FMT_RGB24, u->out_w, u->out_h, pf,
                           SWS_LANCZOS | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP,
                           NULL, NULL, NULL);
        if (!p->fit)
            return tgi_fail(ctx, TG_ENOMEM, "cannot prepare a scaler from %dx%d to %dx%d", hw, hh,
                            u->out_w, u->out_h);
    }
    return 0;
}

typedef struct tile {
    int x0, y0, w, h; /* its own part, in input pixels */
    int rx, ry;       /* its region's corner in the extended frame */
} tile;

/* Tile k of the frame (row-major); its region is shifted to lie inside the extended
 * frame, which has TILE_PAD pixels more on every side. */
static tile tile_at(const tgi_upscaler *u, const cnn_priv *p, int k)
{
    int nx = (u->in_w + p->tile - 1) / p->tile;
    tile t;
    t.x0 = (k % nx) * p->tile;
    t.y0 = (k / nx) * p->tile;
    t.w = u->in_w - t.x0 < p->tile ? u->in_w - t.x0 : p->tile;
    t.h = u->in_h - t.y0 < p->tile ? u->in_h - t.y0 : p->tile;
    t.rx = t.x0; /* = (x0 + TILE_PAD) - TILE_PAD in the extended frame */
    t.ry = t.y0;
    if (t.rx + p->rw > p->ew)
        t.rx = p->ew - p->rw;
    if (t.ry + p->rh > p->eh)
        t.ry = p->eh - p->rh;
    return t;
}

/* The input extended by TILE_PAD on every side, repeating the edge pixels. */
static void extend(const tgi_upscaler *u, cnn_priv *p, const uint8_t *src, int src_stride)
{
    for (int y = 0; y < p->eh; y++) {
        int sy = y - TILE_PAD < 0 ? 0 : y - TILE_PAD >= u->in_h ? u->in_h - 1 : y - TILE_PAD;
        const uint8_t *row = src + (size_t)sy * src_stride;
        uint8_t *d = p->ext + (size_t)y * p->ew * 3;
        for (int x = 0; x < p->ew; x++) {
            int sx = x - TILE_PAD < 0 ? 0 : x - TILE_PAD >= u->in_w ? u->in_w - 1 : x - TILE_PAD;
            memcpy(d + x * 3, row + (size_t)sx * u->bpp, 3);
        }
    }
}

static uint8_t clip255(float v)
{
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lrintf(v);
}

static int cnn_run(tg_ctx *ctx, tgi_upscaler *u, const uint8_t *src, int src_stride, uint8_t *dst,
                   int dst_stride)
{
    cnn_priv *p = u->priv;
    extend(u, p, src, src_stride);
    const uint8_t *rgb = p->ext;
    int rgb_stride = p->ew * 3;
    int s = p->scale, hw = s * u->in_w;
    int nx = (u->in_w + p->tile - 1) / p->tile, ny = (u->in_h + p->tile - 1) / p->tile;
    int n = nx * ny, rc;
    size_t region = (size_t)p->rw * p->rh * 3;
    for (int k0 = 0; k0 < n; k0 += BATCH) {
        int nb = n - k0 < BATCH ? n - k0 : BATCH;
        float *in = tgi_nn_session_input(p->sess);
        for (int b = 0; b < nb; b++) {
            tile t = tile_at(u, p, k0 + b);
            float *d = in + (size_t)b * region;
            for (int y = 0; y < p->rh; y++) {
                const uint8_t *row = rgb + (size_t)(t.ry + y) * rgb_stride + (size_t)t.rx * 3;
                for (int i = 0; i < p->rw * 3; i++)
                    *d++ = row[i]; /* 0..255, as the network was trained */
            }
        }
        if ((rc = tgi_nn_forward(ctx, p->sess, nb)) < 0)
            return rc;
        int oh, ow, oc;
        const float *out = tgi_nn_output(p->sess, NULL, &oh, &ow, &oc);
        if (oh != s * p->rh || ow != s * p->rw || oc != 3)
            return tgi_fail(ctx, TG_EFORMAT, "the x%d network gave %dx%dx%d for a %dx%d input", s,
                            ow, oh, oc, p->rw, p->rh);
        for (int b = 0; b < nb; b++) {
            tile t = tile_at(u, p, k0 + b);
            const float *o = out + (size_t)b * oh * ow * 3;
            for (int y = s * t.y0; y < s * (t.y0 + t.h); y++) {
                /* own part at (x0 + TILE_PAD, y0 + TILE_PAD) of the extended frame */
                const float *orow = o + ((size_t)(y + s * (TILE_PAD - t.ry)) * ow +
                                         (size_t)(s * (t.x0 + TILE_PAD - t.rx))) *
                                            3;
                uint8_t *hrow = p->hr + ((size_t)y * hw + (size_t)s * t.x0) * 3;
                for (int i = 0; i < s * t.w * 3; i++)
                    hrow[i] = clip255(orow[i]);
            }
        }
        if ((rc = tgi_progress(ctx, "upscale", (double)(k0 + nb) / n)) < 0)
            return rc;
    }
    if (p->fit) {
        const uint8_t *sp[4] = {p->hr};
        int ss[4] = {hw * 3};
        uint8_t *dp[4] = {dst};
        int ds[4] = {dst_stride};
        sws_scale(p->fit, sp, ss, 0, s * u->in_h, dp, ds);
        if (u->bpp == 4) { /* the network sees colour only; alpha follows by Lanczos */
            for (int y = 0; y < u->in_h; y++)
                for (int x = 0; x < u->in_w; x++)
                    p->a_in[(size_t)y * u->in_w + x] = src[(size_t)y * src_stride + x * 4 + 3];
            const uint8_t *ap[4] = {p->a_in};
            int as[4] = {u->in_w};
            uint8_t *bp[4] = {p->a_out};
            int bs[4] = {u->out_w};
            sws_scale(p->alpha, ap, as, 0, u->in_h, bp, bs);
            for (int y = 0; y < u->out_h; y++)
                for (int x = 0; x < u->out_w; x++)
                    dst[(size_t)y * dst_stride + x * 4 + 3] = p->a_out[(size_t)y * u->out_w + x];
        }
    } else {
        for (int y = 0; y < u->out_h; y++)
            memcpy(dst + (size_t)y * dst_stride, p->hr + (size_t)y * hw * 3, (size_t)hw * 3);
    }
    return 0;
}

static void cnn_uninit(tgi_upscaler *u)
{
    cnn_priv *p = u->priv;
    if (!p)
        return;
    tgi_nn_session_free(&p->sess);
    tgi_nn_free(&p->nn);
    sws_freeContext(p->fit);
    free(p->hr);
    free(p->ext);
    sws_freeContext(p->alpha);
    free(p->a_in);
    free(p->a_out);
}

const tgi_upscale_def tgi_upscale_cnn = {
    .priv_size = sizeof(cnn_priv),
    .init = cnn_init,
    .run = cnn_run,
    .uninit = cnn_uninit,
};
