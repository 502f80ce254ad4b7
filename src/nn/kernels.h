/*
 * kernels.h — the compute kernels of the engine, on one item's NHWC float tensors.
 *
 * Convolutions go to OpenBLAS: a 1×1 stride-1 convolution (and Dense) is one sgemm
 * over the input as it lies in memory; any other convolution gathers a tile of output
 * pixels' receptive fields (im2col, column order ky, kx, c = the Keras HWIO kernel
 * order) and multiplies it with the kernel. Tiles are a few hundred pixels, so the
 * gathered block stays in L2 and the bias/activation pass runs on hot data.
 * Depthwise convolution, pooling and the elementwise ops are loops over the channel
 * axis (contiguous in NHWC), written so the compiler vectorizes them; they are
 * compiled for AVX-512/AVX2/baseline and picked at run time (target_clones).
 */
#ifndef TG_NN_KERNELS_H
#define TG_NN_KERNELS_H

#include <stddef.h>

/* A window op over one item: input h × w × cin, output oh × ow × cout. */
typedef struct nn_win {
    int h, w, cin;
    int oh, ow, cout;
    int kh, kw, sh, sw;
    int pt, pl;        /* top/left pads (bottom/right follow from oh/ow) */
    const float *wt;   /* conv: [kh*kw*cin][cout]; dwconv: [kh*kw][cin] */
    const float *bias; /* [cout] or NULL */
    int act;           /* enum nn_act */
    float act_max;
    int mtile; /* conv: output pixels per sgemm call */
} nn_win;

/* Floats of scratch nn_conv() needs (0 for the direct 1×1 case). */
size_t nn_conv_scratch(const nn_win *a);
void nn_conv(const nn_win *a, const float *in, float *out, float *scratch);
void nn_dwconv(const nn_win *a, const float *in, float *out);
/* Average pooling counts only the pixels inside the input (TF's 'same' behaviour). */
void nn_avgpool(const nn_win *a, const float *in, float *out);
void nn_maxpool(const nn_win *a, const float *in, float *out);

/* bias (may be NULL) + activation over rows × c, in place. */
void nn_epilogue(float *x, size_t rows, int c, const float *bias, int act, float act_max);
/* out = x*scale[c] + shift[c], then the activation. */
void nn_affine(const float *in, float *out, size_t rows, int c, const float *scale,
               const float *shift, int act, float act_max);
void nn_add(float *out, const float *const *ins, int nin, size_t n, int act, float act_max);
void nn_concat(float *out, const float *const *ins, const int *cs, int nin, size_t pixels);
void nn_zeropad(const float *in, float *out, int h, int w, int c, int pt, int pb, int pl, int pr);
void nn_upsample(const float *in, float *out, int h, int w, int c, int uh, int uw);
void nn_global_avg(const float *in, float *out, size_t pixels, int c);
/* out = a * b over pixels × c; with bcast, b is one pixel (c values) for every pixel. */
void nn_mul(float *out, const float *a, const float *b, size_t pixels, int c, int bcast);
/* TF ResizeBilinear (align_corners false) from h × w to oh × ow. */
void nn_resize_bilinear(const float *in, float *out, int h, int w, int c, int oh, int ow,
                        int half_pixel);

#endif
