/*
 * upscale-tool.c — the measuring half of bench/upscale.sh (built by it against
 * libthumbgen.a). Images travel as raw RGB24 files (ffmpeg converts to and from them).
 *
 *   upscale-tool run METHOD IN.rgb W H OUT.rgb OW OH [REPEAT] [COMPRESSED]
 *       METHOD: a thumbgen method (lanczos, lanczos+sharpen, …) or a baseline:
 *       bicubic, bilinear, nearest (plain libswscale). COMPRESSED: -1 = measure (the
 *       product's behaviour), 0/1 = force. Prints: ms per frame (minimum over REPEAT
 *       runs), the compressed decision, the blockiness score.
 *   upscale-tool metrics REF.rgb TEST.rgb W H
 *       Prints: PSNR (RGB, dB), SSIM (luma, 11x11 Gaussian σ 1.5), the mean Sobel
 *       gradient magnitude of TEST and of REF (a no-reference sharpness); a 4-px
 *       border is cropped first.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libswscale/swscale.h>

#include "upscale/upscale.h"

static uint8_t *load(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = malloc(n);
    if (!f || !b || fread(b, 1, n, f) != n) {
        fprintf(stderr, "upscale-tool: cannot read %zu bytes from %s\n", n, path);
        exit(1);
    }
    fclose(f);
    return b;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int run(int argc, char **argv)
{
    const char *method = argv[2];
    int w = atoi(argv[4]), h = atoi(argv[5]), ow = atoi(argv[7]), oh = atoi(argv[8]);
    int repeat = argc > 9 ? atoi(argv[9]) : 1, forced = argc > 10 ? atoi(argv[10]) : -1;
    uint8_t *src = load(argv[3], (size_t)w * h * 3), *dst = malloc((size_t)ow * oh * 3);
    double best = 1e30, score = 0;
    int compressed = -1, m = tgi_upscale_method_find(method);
    for (int r = 0; r < repeat; r++) {
        double t0 = now_ms();
        if (m >= 0) {
            tg_ctx *ctx = tg_ctx_new();
            tgi_upscaler *u = NULL;
            if (tgi_upscaler_new(ctx, m, w, h, ow, oh, 3, &u) < 0 ||
                (forced >= 0 && (tgi_upscaler_set_compressed(u, forced), 0)) ||
                tgi_upscaler_run(ctx, u, src, w * 3, dst, ow * 3) < 0) {
                fprintf(stderr, "upscale-tool: %s\n", tg_ctx_message(ctx));
                return 1;
            }
            compressed = tgi_upscaler_compressed(u);
            tgi_upscaler_free(&u);
            tg_ctx_free(&ctx);
        } else {
            int fl = !strcmp(method, "bicubic")    ? SWS_BICUBIC
                     : !strcmp(method, "bilinear") ? SWS_BILINEAR
                     : !strcmp(method, "nearest")  ? SWS_POINT
                                                   : -1;
            if (fl < 0) {
                fprintf(stderr, "upscale-tool: unknown method %s\n", method);
                return 2;
            }
            struct SwsContext *s = sws_getContext(
                w, h, AV_PIX_FMT_RGB24, ow, oh, AV_PIX_FMT_RGB24,
                fl | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
            const uint8_t *sp[4] = {src};
            int ss[4] = {w * 3}, ds[4] = {ow * 3};
            uint8_t *dp[4] = {dst};
            sws_scale(s, sp, ss, 0, h, dp, ds);
            sws_freeContext(s);
        }
        double t = now_ms() - t0;
        best = t < best ? t : best;
    }
    tgi_blockiness b;
    tgi_blockiness_measure(src, w, h, w * 3, 3, &b);
    score = b.score;
    FILE *f = fopen(argv[6], "wb");
    if (!f || fwrite(dst, 1, (size_t)ow * oh * 3, f) != (size_t)ow * oh * 3 || fclose(f)) {
        fprintf(stderr, "upscale-tool: cannot write %s\n", argv[6]);
        return 1;
    }
    printf("%.3f %d %.3f\n", best, compressed, score);
    free(src);
    free(dst);
    return 0;
}

/* luma of the image cropped by b on every side, as doubles */
static double *luma(const uint8_t *img, int w, int h, int b, int *cw, int *ch)
{
    *cw = w - 2 * b;
    *ch = h - 2 * b;
    double *y = malloc(sizeof(double) * (size_t)*cw * *ch);
    for (int j = 0; j < *ch; j++)
        for (int i = 0; i < *cw; i++) {
            const uint8_t *p = img + ((size_t)(j + b) * w + i + b) * 3;
            y[(size_t)j * *cw + i] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        }
    return y;
}

/* separable 11-tap Gaussian (σ 1.5), "valid" region: out is (w-10) x (h-10) */
static void blur(const double *in, int w, int h, double *tmp, double *out)
{
    double g[11], s = 0;
    for (int i = 0; i < 11; i++)
        s += g[i] = exp(-((i - 5) * (i - 5)) / (2 * 1.5 * 1.5));
    for (int i = 0; i < 11; i++)
        g[i] /= s;
    for (int y = 0; y < h; y++)
        for (int x = 0; x + 10 < w; x++) {
            double a = 0;
            for (int k = 0; k < 11; k++)
                a += g[k] * in[(size_t)y * w + x + k];
            tmp[(size_t)y * (w - 10) + x] = a;
        }
    for (int y = 0; y + 10 < h; y++)
        for (int x = 0; x + 10 < w; x++) {
            double a = 0;
            for (int k = 0; k < 11; k++)
                a += g[k] * tmp[(size_t)(y + k) * (w - 10) + x];
            out[(size_t)y * (w - 10) + x] = a;
        }
}

static double ssim(const double *a, const double *b, int w, int h)
{
    size_t n = (size_t)w * h, m = (size_t)(w - 10) * (h - 10);
    double *tmp = malloc(sizeof(double) * n), *buf = malloc(sizeof(double) * n);
    double *mu_a = malloc(sizeof(double) * m), *mu_b = malloc(sizeof(double) * m);
    double *s_aa = malloc(sizeof(double) * m), *s_bb = malloc(sizeof(double) * m),
           *s_ab = malloc(sizeof(double) * m);
    blur(a, w, h, tmp, mu_a);
    blur(b, w, h, tmp, mu_b);
    for (size_t i = 0; i < n; i++)
        buf[i] = a[i] * a[i];
    blur(buf, w, h, tmp, s_aa);
    for (size_t i = 0; i < n; i++)
        buf[i] = b[i] * b[i];
    blur(buf, w, h, tmp, s_bb);
    for (size_t i = 0; i < n; i++)
        buf[i] = a[i] * b[i];
    blur(buf, w, h, tmp, s_ab);
    const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
    double sum = 0;
    for (size_t i = 0; i < m; i++) {
        double ma = mu_a[i], mb = mu_b[i];
        double va = s_aa[i] - ma * ma, vb = s_bb[i] - mb * mb, cov = s_ab[i] - ma * mb;
        sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
    }
    free(tmp), free(buf), free(mu_a), free(mu_b), free(s_aa), free(s_bb), free(s_ab);
    return sum / m;
}

static double sharpness(const double *y, int w, int h)
{
    double s = 0;
    for (int j = 1; j + 1 < h; j++)
        for (int i = 1; i + 1 < w; i++) {
#define P(dx, dy) y[(size_t)(j + (dy)) * w + i + (dx)]
            double gx = P(1, -1) + 2 * P(1, 0) + P(1, 1) - P(-1, -1) - 2 * P(-1, 0) - P(-1, 1);
            double gy = P(-1, 1) + 2 * P(0, 1) + P(1, 1) - P(-1, -1) - 2 * P(0, -1) - P(1, -1);
#undef P
            s += sqrt(gx * gx + gy * gy);
        }
    return s / ((double)(w - 2) * (h - 2));
}

static int metrics(char **argv)
{
    int w = atoi(argv[4]), h = atoi(argv[5]), b = 4, cw, ch;
    size_t n = (size_t)w * h * 3;
    uint8_t *ref = load(argv[2], n), *test = load(argv[3], n);
    double se = 0;
    for (int j = b; j < h - b; j++)
        for (int i = b * 3; i < (w - b) * 3; i++) {
            double d = (double)ref[(size_t)j * w * 3 + i] - test[(size_t)j * w * 3 + i];
            se += d * d;
        }
    double mse = se / ((double)(w - 2 * b) * (h - 2 * b) * 3);
    double psnr = mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99;
    double *ya = luma(ref, w, h, b, &cw, &ch), *yb = luma(test, w, h, b, &cw, &ch);
    printf("%.4f %.5f %.3f %.3f\n", psnr, ssim(ya, yb, cw, ch), sharpness(yb, cw, ch),
           sharpness(ya, cw, ch));
    free(ya), free(yb), free(ref), free(test);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 9 && !strcmp(argv[1], "run"))
        return run(argc, argv);
    if (argc == 6 && !strcmp(argv[1], "metrics"))
        return metrics(argv);
    fprintf(stderr,
            "usage: upscale-tool run METHOD IN.rgb W H OUT.rgb OW OH [REPEAT] [COMPRESSED]\n"
            "       upscale-tool metrics REF.rgb TEST.rgb W H\n");
    return 2;
}
