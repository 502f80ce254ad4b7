/*
 * nn-bench.c — times the CNN engine (src/nn) on one model: load, one session of
 * `batch` items, then `runs` forward passes; prints the best time per frame and the
 * GFLOP/s reached. Run by bench/nn.sh; built by `make $(BUILD)/nn-bench`.
 *
 *   nn-bench MODEL_DIR [-b batch] [-t threads] [-s HxW] [-r runs] [-k scale]
 *            [-i input.rgb]   raw RGB24 of exactly H×W (values scaled by 1/scale)
 *
 * The input is a fixed pseudo-random image unless -i is given (speed does not
 * depend on the values). Output: one line of key=value pairs, then the first
 * values of item 0's final output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/blas.h"
#include "nn/nn.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int usage(void)
{
    fprintf(stderr, "usage: nn-bench MODEL_DIR [-b batch] [-t threads] [-s HxW] [-r runs] "
                    "[-k scale] [-i input.rgb]\n");
    return 2;
}

int main(int argc, char **argv)
{
    tgi_blas_respawn(argv); /* the kernels thumbgen runs (nn/blas.h) */
    if (argc < 2)
        return usage();
    const char *dir = argv[1], *input = NULL;
    int batch = 1, threads = 1, h = 0, w = 0, runs = 5;
    double scale = 255; /* input = u8 / scale: 255 for nsfwjs, 1 for esrgan-slim */
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "-b"))
            batch = (int)strtol(v, NULL, 10);
        else if (!strcmp(o, "-t"))
            threads = (int)strtol(v, NULL, 10);
        else if (!strcmp(o, "-r"))
            runs = (int)strtol(v, NULL, 10);
        else if (!strcmp(o, "-k"))
            scale = strtod(v, NULL);
        else if (!strcmp(o, "-i"))
            input = v;
        else if (!strcmp(o, "-s") && sscanf(v, "%dx%d", &h, &w) == 2)
            ;
        else
            return usage();
    }
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    tgi_nn_session *s = NULL;
    double t0 = now();
    if (tgi_nn_load(ctx, dir, &nn) != 0) {
        fprintf(stderr, "nn-bench: %s\n", tg_ctx_message(ctx));
        return 1;
    }
    double t_load = now() - t0;
    int c;
    tgi_nn_input_size(nn, h ? NULL : &h, w ? NULL : &w, &c);
    if (tgi_nn_session_new(ctx, nn, batch, h, w, threads, NULL, 0, &s) != 0) {
        fprintf(stderr, "nn-bench: %s\n", tg_ctx_message(ctx));
        return 1;
    }
    float *in = tgi_nn_session_input(s);
    size_t per = (size_t)h * w * c;
    uint8_t *rgb = malloc(per);
    if (!rgb)
        return 1;
    if (input) {
        FILE *f = fopen(input, "rb");
        if (!f || fread(rgb, 1, per, f) != per) {
            fprintf(stderr, "nn-bench: %s is not %dx%dx%d bytes\n", input, h, w, c);
            return 1;
        }
        fclose(f);
    } else {
        uint32_t x = 12345;
        for (size_t i = 0; i < per; i++)
            rgb[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 24);
    }
    for (int b = 0; b < batch; b++)
        for (size_t i = 0; i < per; i++)
            in[(size_t)b * per + i] = (float)(rgb[i] / scale);
    free(rgb);

    double best = 1e30;
    for (int r = 0; r < runs; r++) {
        t0 = now();
        if (tgi_nn_forward(ctx, s, batch) != 0) {
            fprintf(stderr, "nn-bench: %s\n", tg_ctx_message(ctx));
            return 1;
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    double gflop = tgi_nn_flops(s) * 1e-9, ms = best * 1e3 / batch;
    printf("model=%s size=%dx%d batch=%d threads=%d load_ms=%.1f ms_per_frame=%.3f "
           "gflop_per_frame=%.4f gflops=%.1f\n",
           dir, h, w, batch, threads, t_load * 1e3, ms, gflop, gflop / (best / batch));
    int oh, ow, oc;
    const float *out = tgi_nn_output(s, NULL, &oh, &ow, &oc);
    size_t n = (size_t)oh * ow * oc;
    printf("output %dx%dx%d:", oh, ow, oc);
    for (size_t i = 0; i < n && i < 8; i++)
        printf(" %.6f", out[i]);
    printf("\n");
    tgi_nn_session_free(&s);
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
    return 0;
}
