/*
 * method.h — what an upscaling method is, inside src/upscale (after FFmpeg's filters:
 * a private context, init / run / uninit, one registry list, TG_UPSCALE_METHODS in
 * upscale.h).
 *
 * init is called once per upscaler (sizes and pixel layout fixed), run once per frame,
 * uninit once (also after a failed init; it must accept a half-built private context).
 * A method that needs whole-number factors or a minimum size checks that in init and
 * fails with TG_EINVAL / TG_ELIMIT and a message.
 */
#ifndef TG_UPSCALE_METHOD_H
#define TG_UPSCALE_METHOD_H

#include "upscale/upscale.h"

struct tgi_upscaler {
    const struct tgi_upscale_def *m;
    int in_w, in_h, out_w, out_h, bpp;
    int compressed; /* 1, 0, or -1 while undecided (see tgi_blockiness_measure) */
    int forced;     /* compressed was set by tgi_upscaler_set_compressed */
    tgi_blockiness blk;
    void *priv; /* m->priv_size bytes, zeroed */
};

typedef struct tgi_upscale_def { /* its name is its row's in TG_UPSCALE_METHODS */
    size_t priv_size;
    int (*init)(tg_ctx *ctx, tgi_upscaler *u);
    int (*run)(tg_ctx *ctx, tgi_upscaler *u, const uint8_t *src, int src_stride, uint8_t *dst,
               int dst_stride);
    void (*uninit)(tgi_upscaler *u);
} tgi_upscale_def;

extern const tgi_upscale_def tgi_upscale_lanczos;
extern const tgi_upscale_def tgi_upscale_sharpen;
extern const tgi_upscale_def tgi_upscale_cnn;

#endif
