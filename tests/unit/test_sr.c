/*
 * test_sr.c — the `cnn` upscaling method (src/upscale/cnn.c): esrgan-slim's RDN on
 * src/nn. The package's own sample is reproduced; tiles leave no seams (a tiled
 * frame equals the network's result on the whole frame); a flat frame stays flat up to
 * its edges; sizes that are no whole factor come out right. Needs the weights of
 * scripts/fetch-models.
 */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/cnn.h"
#include "nn/nn.h"
#include "upscale/upscale.h"
#include "util.h"

#define OPENCV "/usr/share/doc/opencv-doc/examples/data/"

static const char *esrgan(const char *rel)
{
    static char p[4][PATH_MAX];
    static int slot;
    char *out = p[slot++ & 3];
    snprintf(out, PATH_MAX, "%s/esrgan-slim/%s", tgi_nn_models_dir(), rel);
    ck_assert_msg(access(out, R_OK) == 0,
                  "the esrgan-slim weights are missing (%s): run "
                  "scripts/fetch-models",
                  out);
    return out;
}

/* An image as RGB24 (scaled to w x h when w > 0), through the ffmpeg command line. */
static uint8_t *load_rgb(const char *path, int w, int h)
{
    char *raw = tgt_tmp_path(".rgb"), vf[64];
    snprintf(vf, sizeof(vf), w > 0 ? "scale=%d:%d:flags=area" : "null", w, h);
    ck_assert_int_eq(
        tgt_ffmpeg("-i", path, "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", raw, NULL), 0);
    size_t len;
    uint8_t *px = (uint8_t *)tgt_read_file(raw, &len);
    ck_assert_ptr_nonnull(px);
    free(raw);
    return px;
}

static uint8_t *upscale(const uint8_t *in, int w, int h, int ow, int oh)
{
    int m = tgi_upscale_method_find("cnn");
    ck_assert_int_ge(m, 0);
    tg_ctx *ctx = tg_ctx_new();
    tgi_upscaler *u = NULL;
    ck_assert_msg(tgi_upscaler_new(ctx, m, w, h, ow, oh, 3, &u) == 0, "%s", tg_ctx_message(ctx));
    uint8_t *out = malloc((size_t)ow * oh * 3);
    ck_assert_msg(tgi_upscaler_run(ctx, u, in, w * 3, out, ow * 3) == 0, "%s", tg_ctx_message(ctx));
    tgi_upscaler_free(&u);
    tg_ctx_free(&ctx);
    return out;
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t i = 0; i < n; i++)
        se += (double)(a[i] - b[i]) * (a[i] - b[i]);
    return se == 0 ? 99 : 10 * log10(255.0 * 255.0 * n / se);
}

START_TEST(cnn_reproduces_the_package_sample)
{
    uint8_t *in = load_rgb(esrgan("samples/fixture.png"), 0, 0); /* 128x128 */
    uint8_t *want = load_rgb(esrgan("samples/result-2x.png"), 0, 0);
    uint8_t *got = upscale(in, 128, 128, 256, 256);
    /* the package ran the network on the bare picture (zero padding at its edges);
     * we extend the edges first (see src/upscale/cnn.c), so compare the inside: the
     * network's reach is 10 input pixels, 20 output pixels */
    enum { B = 24, N = 256 - 2 * B };
    uint8_t *a = malloc(N * N * 3), *b = malloc(N * N * 3);
    for (int y = 0; y < N; y++) {
        memcpy(a + (size_t)y * N * 3, got + ((size_t)(y + B) * 256 + B) * 3, N * 3);
        memcpy(b + (size_t)y * N * 3, want + ((size_t)(y + B) * 256 + B) * 3, N * 3);
    }
    double db = psnr(a, b, N * N * 3);
    ck_assert_msg(db >= 60, "PSNR %.1f dB against the package's result-2x.png", db);
    free(a);
    free(b);
    free(in);
    free(want);
    free(got);
}
END_TEST

START_TEST(cnn_tiles_leave_no_seams)
{
    enum { W = 300, H = 220, S = 2 };
    uint8_t *in = load_rgb(OPENCV "baboon.jpg", W, H);
    uint8_t *tiled = upscale(in, W, H, S * W, S * H); /* 3 x 2 tiles */
    /* the whole frame through the network at once, its edges extended by E pixels as
     * the method does */
    enum { E = 12, EW = W + 2 * E, EH = H + 2 * E };
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    tgi_nn_session *s = NULL;
    ck_assert_msg(tgi_nn_load(ctx, esrgan("x2"), &nn) == 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_eq(tgi_nn_session_new(ctx, nn, 1, EH, EW, 2, NULL, 0, &s), 0);
    float *x = tgi_nn_session_input(s);
    for (int r = 0; r < EH; r++)
        for (int c = 0; c < EW; c++) {
            int sr = r < E        ? 0
                     : r >= H + E ? H - 1
                                  : r - E,
                sc = c < E        ? 0
                     : c >= W + E ? W - 1
                                  : c - E;
            for (int k = 0; k < 3; k++)
                x[((size_t)r * EW + c) * 3 + k] = in[((size_t)sr * W + sc) * 3 + k];
        }
    ck_assert_int_eq(tgi_nn_forward(ctx, s, 1), 0);
    const float *y = tgi_nn_output(s, NULL, NULL, NULL, NULL);
    int worst = 0;
    for (int r = 0; r < S * H; r++)
        for (int c = 0; c < S * W; c++)
            for (int k = 0; k < 3; k++) {
                float v = y[((size_t)(r + S * E) * S * EW + c + S * E) * 3 + k];
                int whole = v <= 0 ? 0 : v >= 255 ? 255 : (int)lrintf(v);
                int d = abs(whole - tiled[((size_t)r * S * W + c) * 3 + k]);
                if (d > worst)
                    worst = d;
            }
    ck_assert_msg(worst <= 1, "tiled and whole-frame results differ by %d", worst);
    tgi_nn_session_free(&s);
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
    free(in);
    free(tiled);
}
END_TEST

START_TEST(cnn_reaches_sizes_that_are_no_whole_factor)
{
    enum { W = 240, H = 136 };
    uint8_t *in = load_rgb(OPENCV "fruits.jpg", W, H);
    /* 240x136 → 640x362: x3 by the network, then Lanczos to the exact size */
    uint8_t *out = upscale(in, W, H, 640, 362);
    /* the result looks like the input: compare a Lanczos-downscaled copy */
    long sum = 0;
    for (size_t i = 0; i < 640 * 362 * 3; i++)
        sum += out[i];
    long sum_in = 0;
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        sum_in += in[i];
    double mean_out = (double)sum / (640 * 362 * 3), mean_in = (double)sum_in / (W * H * 3);
    ck_assert_msg(fabs(mean_out - mean_in) < 3, "mean %.1f vs %.1f", mean_out, mean_in);
    free(in);
    free(out);
}
END_TEST

START_TEST(cnn_keeps_a_flat_frame_flat_up_to_its_edges)
{
    enum { W = 45, H = 31 };
    uint8_t in[W * H * 3];
    for (int i = 0; i < W * H; i++) {
        in[i * 3] = 200;
        in[i * 3 + 1] = 100;
        in[i * 3 + 2] = 30;
    }
    uint8_t *out = upscale(in, W, H, 2 * W, 2 * H);
    for (int i = 0; i < 4 * W * H; i++)
        ck_assert_msg(abs(out[i * 3] - 200) <= 2 && abs(out[i * 3 + 1] - 100) <= 2 &&
                          abs(out[i * 3 + 2] - 30) <= 2,
                      "pixel %d,%d: %d %d %d", i % (2 * W), i / (2 * W), out[i * 3], out[i * 3 + 1],
                      out[i * 3 + 2]);
    free(out);
}
END_TEST

Suite *suite_sr(void);
Suite *suite_sr(void)
{
    Suite *s = suite_create("sr");
    TCase *tc = tcase_create("sr");
    tcase_add_test(tc, cnn_reproduces_the_package_sample);
    tcase_add_test(tc, cnn_tiles_leave_no_seams);
    tcase_add_test(tc, cnn_keeps_a_flat_frame_flat_up_to_its_edges);
    tcase_add_test(tc, cnn_reaches_sizes_that_are_no_whole_factor);
    suite_add_tcase(s, tc);
    return s;
}
