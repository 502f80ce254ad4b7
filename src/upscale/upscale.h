/*
 * upscale.h — enlarge one RGB24 or RGBA frame by a factor or to a size, with a method
 * chosen by name from one registry. The render stage calls it for the frames that go
 * into the outputs (the chosen clips and the poster, never the whole video); the
 * `thumbgen upscale` command calls it for single images (tg_upscale_file, public).
 *
 * Methods (measured in bench/RESULTS.md, section "Upscaling"):
 *   lanczos          libswscale Lanczos, accurate rounding, full chroma interpolation
 *   lanczos+sharpen  for visibly compressed sources a deblock + mild spatial denoise
 *                    first (libavfilter deblock, hqdn3d), then the same Lanczos, then a
 *                    mild unsharp mask on luma whose radius and amount follow the scale
 *                    factor (libavfilter unsharp); one filter graph per size, reused
 *
 * A tgi_upscaler is prepared once for an input size, an output size and a pixel layout,
 * then run on every frame: it holds its scaler or filter graph, so the per-frame cost
 * is only the arithmetic. "Visibly compressed" is decided by a measurement
 * (tgi_blockiness: the 8-px block grid's edges against the other columns and rows) on
 * the first frame with enough texture, and kept for the upscaler's life so a clip
 * never flickers between two treatments.
 *
 * Adding a method (the CNN one, for instance): a tgi_upscale_def in its own file
 * (see method.h), one line in the registry in upscale.c, and its name appended to
 * TG_UPSCALE_METHOD_CHOICES in the same order.
 */
#ifndef TG_UPSCALE_UPSCALE_H
#define TG_UPSCALE_UPSCALE_H

#include <stddef.h>
#include <stdint.h>

#include "thumbgen.h"

/* The registry, one row per method: its enum name, its name (the upscale-method
 * option's value) and its definition (method.h). Its order is the option's values;
 * the enum, the count, the option's choices and upscale.c's list come from it. */
#define TG_UPSCALE_METHODS(X)                                                                      \
    X(LANCZOS, "lanczos", tgi_upscale_lanczos)                                                     \
    X(SHARPEN, "lanczos+sharpen", tgi_upscale_sharpen)                                             \
    X(CNN, "cnn", tgi_upscale_cnn)

#define TG_UPSCALE_ENUM_ROW(e, name, def) TG_UPSCALE_##e,
enum tgi_upscale_method { TG_UPSCALE_METHODS(TG_UPSCALE_ENUM_ROW) TG_UPSCALE_N_METHODS };
#undef TG_UPSCALE_ENUM_ROW
/* "lanczos|lanczos+sharpen|cnn" (past the first "|") */
#define TG_UPSCALE_CHOICE_ROW(e, name, def) "|" name
#define TG_UPSCALE_METHOD_CHOICES           (&(TG_UPSCALE_METHODS(TG_UPSCALE_CHOICE_ROW))[1])
#define TG_UPSCALE_METHOD_DEFAULT           TG_UPSCALE_LANCZOS

/* Limits (TG_ELIMIT beyond them). */
#define TG_UPSCALE_MIN_SIDE       8
#define TG_UPSCALE_MAX_SIDE       16384
#define TG_UPSCALE_MAX_OUT_PIXELS ((size_t)64 << 20)

/* Above this tgi_blockiness score a source counts as visibly compressed. */
#define TG_BLOCKY_THRESHOLD 1.22
/* Below this mean absolute luma gradient a frame is too flat to judge. */
#define TG_BLOCKY_MIN_TEXTURE 0.5

int tgi_upscale_method_count(void);
const char *tgi_upscale_method_name(int method); /* NULL when out of range */
int tgi_upscale_method_find(const char *name);   /* index, or -1 */

typedef struct tgi_upscaler tgi_upscaler;

/* Prepare an upscaler from in_w x in_h to out_w x out_h, bpp 3 (RGB24) or 4 (RGBA).
 * The output must be at least the input on both sides (this is no downscaler). *out is
 * owned by the caller (tgi_upscaler_free). */
int tgi_upscaler_new(tg_ctx *ctx, int method, int in_w, int in_h, int out_w, int out_h, int bpp,
                     tgi_upscaler **out);
/* Upscale one frame (src borrowed, dst written; strides in bytes). */
int tgi_upscaler_run(tg_ctx *ctx, tgi_upscaler *u, const uint8_t *src, int src_stride, uint8_t *dst,
                     int dst_stride);
void tgi_upscaler_free(tgi_upscaler **u);
/* Force the compressed-source decision (1 yes, 0 no) or give it back to the
 * measurement (-1). tgi_upscaler_compressed: 1, 0, or -1 while undecided. */
void tgi_upscaler_set_compressed(tgi_upscaler *u, int compressed);
int tgi_upscaler_compressed(const tgi_upscaler *u);

/* Blockiness of an RGB24/RGBA image: for each of the 8 phases p, the mean absolute
 * luma step between columns x-1 and x over the columns x = p (mod 8), and the same for
 * rows. score = the strongest phase's mean over the mean of the other seven, for
 * columns and rows together (≈1 for a clean image; JPEG or MPEG blocks push it up);
 * phase_x, phase_y say where the grid is (after a crop it need not be at 0); texture
 * is the mean absolute step over all columns (a flat image says nothing). */
typedef struct tgi_blockiness {
    double score, texture;
    int phase_x, phase_y;
} tgi_blockiness;
void tgi_blockiness_measure(const uint8_t *img, int w, int h, int stride, int bpp,
                            tgi_blockiness *out);

/* The size a content area of cw x ch becomes for an upscale mode (enum tg_upscale):
 * HD = 1280 wide (720 tall for portrait), Full HD = 1920 wide (1080 tall); even sides.
 * For TG_UPSCALE_HD / FULLHD the target is in *w, *h and the result is 1 when it is
 * larger than the content (an upscale is needed), else 0 (the content is already that
 * large: resize it as usual, never downscale then upscale). For OFF and AUTO: 0, and
 * *w, *h untouched. */
int tgi_upscale_fit(int mode, int cw, int ch, int *w, int *h);

#endif
