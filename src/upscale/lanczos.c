/*
 * lanczos.c — the `lanczos` method: one libswscale context, Lanczos (3 lobes) with
 * accurate rounding and full chroma interpolation on input and output, RGB in, RGB
 * out at the same layout. Stateless per frame.
 */
#include <libswscale/swscale.h>

#include "core/error.h"
#include "upscale/method.h"

#define LANCZOS_FLAGS (SWS_LANCZOS | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP)

typedef struct lanczos_priv {
    struct SwsContext *sws;
} lanczos_priv;

static int lanczos_init(tg_ctx *ctx, tgi_upscaler *u)
{
    lanczos_priv *p = u->priv;
    enum AVPixelFormat pf = u->bpp == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
    p->sws = sws_getContext(u->in_w, u->in_h, pf, u->out_w, u->out_h, pf, LANCZOS_FLAGS, NULL, NULL,
                            NULL);
    if (!p->sws)
        return tgi_fail(ctx, TG_ENOMEM, "cannot prepare a Lanczos scaler from %dx%d to %dx%d",
                        u->in_w, u->in_h, u->out_w, u->out_h);
    return 0;
}

static int lanczos_run(tg_ctx *ctx, tgi_upscaler *u, const uint8_t *src, int src_stride,
                       uint8_t *dst, int dst_stride)
{
    (void)ctx;
    lanczos_priv *p = u->priv;
    const uint8_t *sp[4] = {src};
    int ss[4] = {src_stride};
    uint8_t *dp[4] = {dst};
    int ds[4] = {dst_stride};
    sws_scale(p->sws, sp, ss, 0, u->in_h, dp, ds);
    return 0;
}

static void lanczos_uninit(tgi_upscaler *u)
{
    lanczos_priv *p = u->priv;
    if (p)
        sws_freeContext(p->sws);
}

const tgi_upscale_def tgi_upscale_lanczos = {
    .priv_size = sizeof(lanczos_priv),
    .init = lanczos_init,
    .run = lanczos_run,
    .uninit = lanczos_uninit,
};
