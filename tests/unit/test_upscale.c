/*
 * test_upscale.c — src/upscale (methods, blockiness, HD sizes) and the --upscale paths
 * of the render stage and of `thumbgen upscale`, end to end through the CLI.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libswscale/swscale.h>
#include <webp/demux.h>

#include "media/image.h"
#include "media/media.h"
#include "upscale/upscale.h"
#include "util.h"

/* ---- helpers ---- */

#define run_tg tgt_thumbgen

/* Display size of an image or video through the library's own prober (coded: the
 * stored size, which may be odd; the display width is rounded to even). */
static void media_size_of(const char *path, int coded, int *w, int *h)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, path, 1, &m) == 0, "%s: %s", path, tg_ctx_message(ctx));
    *w = coded ? tgi_media_get_info(m)->coded_w : tgi_media_get_info(m)->width;
    *h = coded ? tgi_media_get_info(m)->coded_h : tgi_media_get_info(m)->height;
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
}

static void media_size(const char *path, int *w, int *h)
{
    media_size_of(path, 0, w, h);
}

typedef struct grab {
    uint8_t *rgb;
    int w, h;
} grab;

static int on_grab(void *user, const tgi_frame *f)
{
    grab *g = user;
    g->w = f->width;
    g->h = f->height;
    g->rgb = malloc((size_t)f->width * f->height * 3);
    for (int y = 0; y < f->height; y++)
        memcpy(g->rgb + (size_t)y * f->width * 3, f->data + (size_t)y * f->stride,
               (size_t)f->width * 3);
    return 1;
}

/* The first frame at or after t of path, RGB24 at w x h (0 = its own size). */
static uint8_t *frame_at(const char *path, double t, int w, int h, int *ow, int *oh)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, path, 1, &m) == 0, "%s", tg_ctx_message(ctx));
    const tgi_media_info *in = tgi_media_get_info(m);
    tgi_decode_req rq = {.start = t,
                         .end = t + 2,
                         .width = w ? w : in->width,
                         .height = h ? h : in->height,
                         .pix = TG_PIX_RGB24};
    grab g = {0};
    ck_assert_int_eq(tgi_media_decode(ctx, m, &rq, on_grab, &g, NULL), 0);
    ck_assert_ptr_nonnull(g.rgb);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
    *ow = g.w;
    *oh = g.h;
    return g.rgb;
}

static void write_image(const char *path, const uint8_t *rgb, int w, int h, int quality)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(
        tgi_image_write(NULL, fileno(f), tgi_image_format_for(path), rgb, w, h, quality), 0);
    fclose(f);
}

static uint8_t *sws(const uint8_t *src, int w, int h, int ow, int oh, int flags)
{
    uint8_t *dst = malloc((size_t)ow * oh * 3);
    struct SwsContext *s = sws_getContext(w, h, AV_PIX_FMT_RGB24, ow, oh, AV_PIX_FMT_RGB24,
                                          flags | SWS_ACCURATE_RND, NULL, NULL, NULL);
    const uint8_t *sp[4] = {src};
    int ss[4] = {w * 3}, ds[4] = {ow * 3};
    uint8_t *dp[4] = {dst};
    sws_scale(s, sp, ss, 0, h, dp, ds);
    sws_freeContext(s);
    return dst;
}

static uint8_t *up(int method, const uint8_t *src, int w, int h, int ow, int oh, int bpp,
                   int compressed)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_upscaler *u = NULL;
    uint8_t *dst = malloc((size_t)ow * oh * bpp);
    ck_assert_msg(tgi_upscaler_new(ctx, method, w, h, ow, oh, bpp, &u) == 0, "%s",
                  tg_ctx_message(ctx));
    if (compressed >= 0)
        tgi_upscaler_set_compressed(u, compressed);
    ck_assert_msg(tgi_upscaler_run(ctx, u, src, w * bpp, dst, ow * bpp) == 0, "%s",
                  tg_ctx_message(ctx));
    tgi_upscaler_free(&u);
    ck_assert_ptr_null(u);
    tg_ctx_free(&ctx);
    return dst;
}

/* PSNR of two RGB24 images with a 4-px border left out */
static double psnr_rgb(const uint8_t *a, const uint8_t *b, int w, int h)
{
    double se = 0, n = 0;
    for (int y = 4; y < h - 4; y++)
        for (int x = 12; x < (w - 4) * 3; x++) {
            double d = (double)a[(size_t)y * w * 3 + x] - b[(size_t)y * w * 3 + x];
            se += d * d;
            n++;
        }
    return se > 0 ? 10 * log10(255.0 * 255.0 * n / se) : 99;
}

/* mean absolute luma step between neighbours (a no-reference sharpness) */
static double gradient(const uint8_t *rgb, int w, int h)
{
    double s = 0;
    for (int y = 4; y < h - 4; y++)
        for (int x = 4; x < w - 5; x++) {
            const uint8_t *p = rgb + ((size_t)y * w + x) * 3;
            s += abs(p[1] - p[4]) + abs(p[1] - p[(size_t)w * 3 + 1]);
        }
    return s / ((double)(w - 9) * (h - 8));
}

/* ---- the HD size rule ---- */

START_TEST(fit_gives_hd_sizes_and_never_shrinks)
{
    int w = 0, h = 0;
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_HD, 640, 360, &w, &h), 1);
    ck_assert_int_eq(w, 1280);
    ck_assert_int_eq(h, 720);
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_FULLHD, 640, 360, &w, &h), 1);
    ck_assert_int_eq(w, 1920);
    ck_assert_int_eq(h, 1080);
    /* portrait: 720 tall */
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_HD, 240, 320, &w, &h), 1);
    ck_assert_int_eq(h, 720);
    ck_assert_int_eq(w, 540);
    /* odd content sizes still give even outputs */
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_HD, 333, 251, &w, &h), 1);
    ck_assert_int_eq(w, 1280);
    ck_assert_int_eq(h % 2, 0);
    ck_assert_int_eq(h, 964);
    /* already HD or larger: no upscale (the target is still said) */
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_HD, 1280, 720, &w, &h), 0);
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_HD, 1920, 1080, &w, &h), 0);
    ck_assert_int_eq(w, 1280);
    w = h = -1;
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_OFF, 64, 36, &w, &h), 0);
    ck_assert_int_eq(tgi_upscale_fit(TG_UPSCALE_AUTO, 64, 36, &w, &h), 0);
    ck_assert_int_eq(w, -1);
}
END_TEST

/* ---- the methods ---- */

START_TEST(odd_sizes_and_rgba_upscale_cleanly)
{
    for (int m = 0; m < tgi_upscale_method_count(); m++)
        for (int bpp = 3; bpp <= 4; bpp++) {
            int w = 37, h = 23, ow = 111, oh = 69;
            uint8_t *src = malloc((size_t)w * h * bpp);
            for (int i = 0; i < w * h; i++) {
                src[i * bpp] = 200;
                src[i * bpp + 1] = 100;
                src[i * bpp + 2] = 30;
                if (bpp == 4)
                    src[i * bpp + 3] = i % w < w / 2 ? 255 : 0; /* half transparent */
            }
            uint8_t *dst = up(m, src, w, h, ow, oh, bpp, -1);
            /* a flat colour stays that colour (within rounding), at every pixel */
            for (int i = 0; i < ow * oh; i++) {
                ck_assert_msg(abs(dst[i * bpp] - 200) <= 2 && abs(dst[i * bpp + 1] - 100) <= 2 &&
                                  abs(dst[i * bpp + 2] - 30) <= 2,
                              "%s bpp %d pixel %d: %d %d %d", tgi_upscale_method_name(m), bpp, i,
                              dst[i * bpp], dst[i * bpp + 1], dst[i * bpp + 2]);
            }
            if (bpp == 4) {
                ck_assert_int_eq(dst[(size_t)(oh / 2) * ow * 4 + 4 * 3 + 3], 255);
                ck_assert_int_eq(dst[(size_t)(oh / 2) * ow * 4 + (ow - 4) * 4 + 3], 0);
            }
            free(src);
            free(dst);
        }
}
END_TEST

START_TEST(limits_are_clear_errors)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_upscaler *u = NULL;
    ck_assert_int_eq(tgi_upscaler_new(ctx, TG_UPSCALE_LANCZOS, 1, 1, 2, 2, 3, &u), TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "too small"));
    ck_assert_int_eq(tgi_upscaler_new(ctx, TG_UPSCALE_SHARPEN, 8000, 8000, 32000, 32000, 3, &u),
                     TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "beyond the limit"));
    ck_assert_int_eq(tgi_upscaler_new(ctx, TG_UPSCALE_LANCZOS, 64, 64, 32, 32, 3, &u), TG_EINVAL);
    ck_assert_int_eq(tgi_upscaler_new(ctx, 99, 64, 64, 128, 128, 3, &u), TG_EINVAL);
    ck_assert_ptr_null(u);
    tg_ctx_free(&ctx);
}
END_TEST

/* Extreme inputs through the deblock + denoise + unsharp path: no wrap-around (a flat
 * white stays white, black stays black), and never far from plain Lanczos. */
START_TEST(sharpen_stays_in_range)
{
    int w = 64, h = 48, ow = 256, oh = 192;
    uint8_t *src = malloc((size_t)w * h * 3);
    for (int kind = 0; kind < 4; kind++) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++) {
                    uint8_t v = kind == 0   ? 0
                                : kind == 1 ? 255
                                : kind == 2
                                    ? (((x / 2) + (y / 2)) & 1 ? 255 : 0) /* checkers */
                                    : (uint8_t)((x * 73 + y * 151 + c * 29) * 2654435761u >> 24);
                    src[((size_t)y * w + x) * 3 + c] = v;
                }
        for (int comp = 0; comp <= 1; comp++) {
            uint8_t *s = up(TG_UPSCALE_SHARPEN, src, w, h, ow, oh, 3, comp);
            uint8_t *l = up(TG_UPSCALE_LANCZOS, src, w, h, ow, oh, 3, -1);
            double diff = 0;
            for (int i = 0; i < ow * oh * 3; i++)
                diff += abs(s[i] - l[i]);
            diff /= ow * oh * 3;
            if (kind == 0)
                for (int i = 0; i < ow * oh * 3; i++)
                    ck_assert_int_le(s[i], 3); /* range conversions round */
            if (kind == 1)
                for (int i = 0; i < ow * oh * 3; i++)
                    ck_assert_int_ge(s[i], 252);
            ck_assert_msg(diff < (kind >= 2 ? 40 : 2), "kind %d compressed %d: mean |diff| %.1f",
                          kind, comp, diff);
            free(s);
            free(l);
        }
    }
    free(src);
}
END_TEST

/* Upscaled from half size, the poster's method is closer to the real frame than
 * nearest and bilinear, and sharper than bilinear (an honest measure: it can fail). */
START_TEST(upscaled_poster_is_sharper_than_nearest_and_bilinear)
{
    int w, h;
    uint8_t *truth = frame_at(tgt_fixture("story.mp4"), 8.0, 640, 360, &w, &h);
    uint8_t *small = sws(truth, w, h, w / 2, h / 2, SWS_AREA);
    uint8_t *near = sws(small, w / 2, h / 2, w, h, SWS_POINT);
    uint8_t *bil = sws(small, w / 2, h / 2, w, h, SWS_BILINEAR);
    for (int m = 0; m < tgi_upscale_method_count(); m++) {
        uint8_t *ours = up(m, small, w / 2, h / 2, w, h, 3, -1);
        double po = psnr_rgb(truth, ours, w, h), pn = psnr_rgb(truth, near, w, h),
               pb = psnr_rgb(truth, bil, w, h);
        double go = gradient(ours, w, h), gb = gradient(bil, w, h);
        ck_assert_msg(po > pn + 0.5 && po > pb + 0.3, "%s: PSNR %.2f vs nearest %.2f bilinear %.2f",
                      tgi_upscale_method_name(m), po, pn, pb);
        ck_assert_msg(go > gb * 1.05, "%s: gradient %.2f vs bilinear %.2f",
                      tgi_upscale_method_name(m), go, gb);
        free(ours);
    }
    free(truth);
    free(small);
    free(near);
    free(bil);
}
END_TEST

/* The blockiness measure: a clean frame is below the threshold, the same frame saved
 * as a low-quality JPEG is above it, and a crop moves the grid's phase with it. */
START_TEST(blockiness_tells_compressed_from_clean)
{
    int w, h, jw, jh;
    uint8_t *clean = frame_at(tgt_fixture("story.mp4"), 8.0, 640, 360, &w, &h);
    tgi_blockiness b;
    tgi_blockiness_measure(clean, w, h, w * 3, 3, &b);
    ck_assert_msg(b.texture >= TG_BLOCKY_MIN_TEXTURE, "texture %.2f", b.texture);
    ck_assert_msg(b.score < TG_BLOCKY_THRESHOLD, "clean frame scores %.3f", b.score);
    char *jpg = tgt_tmp_path(".jpg");
    write_image(jpg, clean, w, h, 30);
    uint8_t *blocky = frame_at(jpg, 0, 0, 0, &jw, &jh);
    tgi_blockiness_measure(blocky, jw, jh, jw * 3, 3, &b);
    ck_assert_msg(b.score > TG_BLOCKY_THRESHOLD, "JPEG q30 scores %.3f", b.score);
    ck_assert_int_eq(b.phase_x, 0);
    ck_assert_int_eq(b.phase_y, 0);
    /* cropped by 3 columns and 5 rows: the edges are now at x = 5, y = 3 (mod 8) */
    tgi_blockiness_measure(blocky + ((size_t)5 * jw + 3) * 3, jw - 3, jh - 5, jw * 3, 3, &b);
    ck_assert_int_eq(b.phase_x, 5);
    ck_assert_int_eq(b.phase_y, 3);
    /* the upscaler decides the same way on its first frame */
    tg_ctx *ctx = tg_ctx_new();
    tgi_upscaler *u = NULL;
    uint8_t *out = malloc((size_t)jw * 2 * jh * 2 * 3);
    ck_assert_int_eq(tgi_upscaler_new(ctx, TG_UPSCALE_SHARPEN, jw, jh, jw * 2, jh * 2, 3, &u), 0);
    ck_assert_int_eq(tgi_upscaler_compressed(u), -1);
    ck_assert_int_eq(tgi_upscaler_run(ctx, u, blocky, jw * 3, out, jw * 6), 0);
    ck_assert_int_eq(tgi_upscaler_compressed(u), 1);
    tgi_upscaler_free(&u);
    /* and a flat frame decides nothing */
    memset(blocky, 128, (size_t)jw * jh * 3);
    ck_assert_int_eq(tgi_upscaler_new(ctx, TG_UPSCALE_SHARPEN, jw, jh, jw * 2, jh * 2, 3, &u), 0);
    ck_assert_int_eq(tgi_upscaler_run(ctx, u, blocky, jw * 3, out, jw * 6), 0);
    ck_assert_int_eq(tgi_upscaler_compressed(u), -1);
    tgi_upscaler_free(&u);
    tg_ctx_free(&ctx);
    unlink(jpg);
    free(jpg);
    free(out);
    free(clean);
    free(blocky);
}
END_TEST

/* ---- options ---- */

START_TEST(bad_option_values_are_rejected)
{
    tg_options o;
    tg_options_default(&o);
    ck_assert_int_eq(o.upscale, TG_UPSCALE_AUTO);
    ck_assert_int_eq(o.upscale_method, TG_UPSCALE_METHOD_DEFAULT);
    tg_ctx *ctx = tg_ctx_new();
    ck_assert_int_eq(tg_options_set(ctx, &o, "upscale", "4k"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(ctx, &o, "upscale", "HD"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(ctx, &o, "upscale-method", "esrgan"), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(ctx, &o, "upscale-method", ""), TG_EINVAL);
    ck_assert_int_eq(tg_options_set(ctx, &o, "upscale", "fullhd"), 0);
    ck_assert_int_eq(o.upscale, TG_UPSCALE_FULLHD);
    ck_assert_int_eq(tg_options_set(ctx, &o, "upscale-method", "lanczos"), 0);
    ck_assert_int_eq(o.upscale_method, TG_UPSCALE_LANCZOS);
    ck_assert_int_eq(tgi_upscale_method_find("lanczos+sharpen"), TG_UPSCALE_SHARPEN);
    ck_assert_int_eq(tgi_upscale_method_find("cnn"), TG_UPSCALE_CNN);
    ck_assert_int_eq(tgi_upscale_method_find("esrgan"), -1);
    tg_ctx_free(&ctx);
    tgt_run r;
    run_tg(&r, "make", tgt_fixture("short.mp4"), "-o", "/tmp/never.gif", "--upscale", "8k", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "off|auto|hd|fullhd"));
    tgt_run_free(&r);
    run_tg(&r, "upscale", tgt_fixture("short.mp4"), "-o", "/tmp/never.png", "--scale", "5", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "2, 3 or 4"));
    tgt_run_free(&r);
    run_tg(&r, "upscale", tgt_fixture("short.mp4"), "-o", "/tmp/never.png", "--method", "magic",
           NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "unknown upscaling method"));
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_file_exists("/tmp/never.png"), 0);
}
END_TEST

/* ---- thumbgen upscale ---- */

START_TEST(cli_upscale_images)
{
    /* an odd-sized PNG, ×3: odd output, every pixel kept */
    int w, h;
    uint8_t *img = frame_at(tgt_fixture("story.mp4"), 3.0, 95, 53, &w, &h);
    char *in = tgt_tmp_path(".png"), *out = tgt_tmp_path(".png"), *jpg = tgt_tmp_path(".jpg");
    write_image(in, img, w, h, 90);
    tgt_run r;
    run_tg(&r, "upscale", in, "-o", out, "--scale", "3", "-q", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    int ow, oh;
    media_size_of(out, 1, &ow, &oh);
    ck_assert_int_eq(ow, 285);
    ck_assert_int_eq(oh, 159);
    /* JPEG in, JPEG out, each method */
    write_image(jpg, img, w, h, 90);
    for (int m = 0; m < tgi_upscale_method_count(); m++) {
        run_tg(&r, "upscale", jpg, "-o", out, "--scale", "4", "--method",
               tgi_upscale_method_name(m), NULL);
        ck_assert_msg(r.status == 0, "%s", r.err);
        tgt_run_free(&r);
        media_size(out, &ow, &oh); /* the JPEG writer keeps even sides: 94x52 in */
        ck_assert_int_eq(ow, 376);
        ck_assert_int_eq(oh, 208);
    }
    /* a 1x1 image: a clear limit error, no output */
    uint8_t px[3] = {1, 2, 3};
    char *tiny = tgt_tmp_path(".png"), *none = tgt_tmp_path(".png");
    write_image(tiny, px, 1, 1, 90);
    run_tg(&r, "upscale", tiny, "-o", none, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "1x1") && strstr(r.err, "too small"), "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_file_exists(none), 0);
    /* a huge one: refused from its header, before decoding */
    int hw = 4200, hh = 64;
    uint8_t *wide = calloc((size_t)hw * hh, 3);
    char *huge = tgt_tmp_path(".png");
    write_image(huge, wide, hw, hh, 90);
    run_tg(&r, "upscale", huge, "-o", none, "--scale", "4", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "beyond the limit") && strstr(r.err, "16800x256"), "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_file_exists(none), 0);
    /* not an image; no such file */
    run_tg(&r, "upscale", tgt_fixture("garbage.mp4"), "-o", none, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "garbage.mp4"), "%s", r.err);
    tgt_run_free(&r);
    run_tg(&r, "upscale", "/nonexistent/x.png", "-o", none, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "No such file"), "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_file_exists(none), 0);
    unlink(in), unlink(out), unlink(jpg), unlink(tiny), unlink(huge);
    free(in), free(out), free(jpg), free(tiny), free(none), free(huge), free(img), free(wide);
}
END_TEST

/* ---- the render stage ---- */

static void webp_size(const char *path, int *w, int *h, int *frames)
{
    size_t len;
    char *data = tgt_read_file(path, &len);
    ck_assert_ptr_nonnull(data);
    WebPData wd = {(const uint8_t *)data, len};
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&wd, NULL);
    ck_assert_ptr_nonnull(dec);
    WebPAnimInfo info;
    ck_assert(WebPAnimDecoderGetInfo(dec, &info));
    *w = (int)info.canvas_width;
    *h = (int)info.canvas_height;
    uint8_t *buf;
    int ts;
    ck_assert(WebPAnimDecoderGetNext(dec, &buf, &ts)); /* it decodes */
    *frames = (int)info.frame_count;
    WebPAnimDecoderDelete(dec);
    free(data);
}

START_TEST(hd_outputs_have_hd_sizes_and_decode)
{
    char *gif = tgt_tmp_path(".gif"), *webp = tgt_tmp_path(".webp"), *mp4 = tgt_tmp_path(".mp4"),
         *jpg = tgt_tmp_path(".jpg");
    tgt_run r;
    run_tg(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "-o", webp, "-o", mp4, "--poster", jpg,
           "--upscale", "hd", "--clips", "2", "--clip-len", "0.5", "--fps", "6", "-q", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    ck_assert_int_eq(g.width, 1280);
    ck_assert_int_eq(g.height, 720);
    ck_assert_int_ge(g.frames, 4);
    tgt_gif_free(&g);
    int w, h, n;
    webp_size(webp, &w, &h, &n);
    ck_assert_int_eq(w, 1280);
    ck_assert_int_eq(h, 720);
    media_size(mp4, &w, &h);
    ck_assert_int_eq(w, 1280);
    ck_assert_int_eq(h, 720);
    media_size(jpg, &w, &h);
    ck_assert_int_eq(w, 1280);
    ck_assert_int_eq(h, 720);
    /* Full HD, portrait (the rotated fixture shows 240x320): 1080 tall */
    run_tg(&r, "make", tgt_fixture("rotated.mp4"), "-o", gif, "--poster", jpg, "--upscale",
           "fullhd", "--clips", "1", "--clip-len", "0.4", "--fps", "5", "-q", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    ck_assert_int_eq(g.height, 1080);
    ck_assert_int_eq(g.width, 810);
    tgt_gif_free(&g);
    media_size(jpg, &w, &h);
    ck_assert_int_eq(h, 1080);
    unlink(gif), unlink(webp), unlink(mp4), unlink(jpg);
    free(gif), free(webp), free(mp4), free(jpg);
}
END_TEST

START_TEST(portrait_hd_is_720_tall_and_auto_upscales_only_the_poster)
{
    char *gif = tgt_tmp_path(".gif"), *png = tgt_tmp_path(".png");
    tgt_run r;
    run_tg(&r, "make", tgt_fixture("rotated.mp4"), "-o", gif, "--poster", png, "--upscale", "hd",
           "--upscale-method", "lanczos", "--clips", "1", "--clip-len", "0.4", "--fps", "5", "-q",
           NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    ck_assert_int_eq(g.width, 540);
    ck_assert_int_eq(g.height, 720);
    tgt_gif_free(&g);
    int w, h;
    media_size(png, &w, &h);
    ck_assert_int_eq(w, 540);
    ck_assert_int_eq(h, 720);
    /* the default (auto): the animation at --width, never above the source; the poster
     * upscaled to HD because the source is smaller */
    run_tg(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "--poster", png, "--width", "1000",
           "--clips", "1", "--clip-len", "0.4", "--fps", "5", "-q", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    ck_assert_int_eq(g.width, 640);
    ck_assert_int_eq(g.height, 360);
    tgt_gif_free(&g);
    media_size(png, &w, &h);
    ck_assert_int_eq(w, 1280);
    ck_assert_int_eq(h, 720);
    /* off: the poster at the source's size */
    run_tg(&r, "make", tgt_fixture("story.mp4"), "--poster", png, "--upscale", "off", "-q", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    media_size(png, &w, &h);
    ck_assert_int_eq(w, 640);
    ck_assert_int_eq(h, 360);
    unlink(gif), unlink(png);
    free(gif), free(png);
}
END_TEST

/* A source already HD: --upscale hd runs no upscaler and gives exactly what a plain
 * --width 1280 gives (the same bytes), at the source's own size. */
START_TEST(hd_source_is_left_alone)
{
    char *src = tgt_tmp_path(".mp4"), *a = tgt_tmp_path(".gif"), *b = tgt_tmp_path(".gif"),
         *pa = tgt_tmp_path(".png"), *pb = tgt_tmp_path(".png");
    char *ff[] = {"/usr/bin/ffmpeg",
                  "-nostdin",
                  "-v",
                  "error",
                  "-y",
                  "-f",
                  "lavfi",
                  "-i",
                  "testsrc2=s=1280x720:d=2:r=10",
                  "-c:v",
                  "libx264",
                  "-preset",
                  "ultrafast",
                  "-pix_fmt",
                  "yuv420p",
                  src,
                  NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, ff), 0);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    run_tg(&r, "make", src, "-o", a, "--poster", pa, "--upscale", "hd", "--clips", "1",
           "--clip-len", "0.5", "--fps", "4", "-q", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    run_tg(&r, "make", src, "-o", b, "--poster", pb, "--upscale", "off", "--width", "1280",
           "--clips", "1", "--clip-len", "0.5", "--fps", "4", "-q", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    ck_assert_int_eq(tgt_gif_load(a, &g), 0);
    ck_assert_int_eq(g.width, 1280);
    ck_assert_int_eq(g.height, 720);
    tgt_gif_free(&g);
    size_t la, lb;
    char *da = tgt_read_file(a, &la), *db = tgt_read_file(b, &lb);
    ck_assert_int_eq(la, lb);
    ck_assert_mem_eq(da, db, la);
    free(da), free(db);
    da = tgt_read_file(pa, &la);
    db = tgt_read_file(pb, &lb);
    ck_assert_int_eq(la, lb);
    ck_assert_mem_eq(da, db, la);
    int w, h;
    media_size(pa, &w, &h);
    ck_assert_int_eq(w, 1280);
    ck_assert_int_eq(h, 720);
    free(da), free(db);
    unlink(src), unlink(a), unlink(b), unlink(pa), unlink(pb);
    free(src), free(a), free(b), free(pa), free(pb);
}
END_TEST

/* The byte budget still holds for an HD GIF: the ladder picks a rung and says so. */
START_TEST(hd_gif_respects_the_byte_budget)
{
    char *gif = tgt_tmp_path(".gif");
    tgt_run r;
    run_tg(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "--upscale", "hd", "--clips", "1",
           "--clip-len", "1", "--fps", "8", "--max-bytes", "300k", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    ck_assert_msg(strstr(r.err, "budget"), "%s", r.err);
    tgt_run_free(&r);
    long size = tgt_file_size(gif);
    ck_assert_int_le(size, 300 * 1024);
    ck_assert_int_gt(size, 0);
    unlink(gif);
    free(gif);
}
END_TEST

/* Issue 16 item 6: the upscale-method option's choices are the registry's names, in
 * its order (the option's value is the registry index). */
START_TEST(method_choices_are_the_registry)
{
    tgt_assert_choices("upscale-method", tgi_upscale_method_name, tgi_upscale_method_count());
    ck_assert_int_eq(tgi_upscale_method_count(), TG_UPSCALE_N_METHODS);
    ck_assert_ptr_null(tgi_upscale_method_name(TG_UPSCALE_N_METHODS));
    for (int m = 0; m < tgi_upscale_method_count(); m++)
        ck_assert_int_eq(tgi_upscale_method_find(tgi_upscale_method_name(m)), m);
}
END_TEST

Suite *suite_upscale(void);
Suite *suite_upscale(void)
{
    Suite *s = suite_create("upscale");
    TCase *tc = tcase_create("methods");
    tcase_add_test(tc, fit_gives_hd_sizes_and_never_shrinks);
    tcase_add_test(tc, odd_sizes_and_rgba_upscale_cleanly);
    tcase_add_test(tc, limits_are_clear_errors);
    tcase_add_test(tc, sharpen_stays_in_range);
    tcase_add_test(tc, upscaled_poster_is_sharper_than_nearest_and_bilinear);
    tcase_add_test(tc, blockiness_tells_compressed_from_clean);
    tcase_add_test(tc, bad_option_values_are_rejected);
    tcase_add_test(tc, method_choices_are_the_registry);
    suite_add_tcase(s, tc);
    TCase *cli = tcase_create("cli");
    tcase_add_test(cli, cli_upscale_images);
    tcase_add_test(cli, hd_outputs_have_hd_sizes_and_decode);
    tcase_add_test(cli, portrait_hd_is_720_tall_and_auto_upscales_only_the_poster);
    tcase_add_test(cli, hd_source_is_left_alone);
    tcase_add_test(cli, hd_gif_respects_the_byte_budget);
    suite_add_tcase(s, cli);
    return s;
}
