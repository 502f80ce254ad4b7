/*
 * test_gif.c — the GIF encoder (src/render/gif.c): synthetic frames are encoded to a
 * scratch file, decoded back with giflib (tests/gifdecode.c) and composited like a
 * browser, then checked: header, frame count, delays, loop count, picture quality per
 * frame, inter-frame cropping/transparency, delay merging of identical frames,
 * parameter validation, write errors, interrupted and short writes, determinism and
 * parallel encoders. The LZW compressor (src/render/lzw.c) is tested on its own:
 * exact round trips through giflib for every code size and across table resets,
 * lossy output within its tolerance of the exact indices, segments compressed apart
 * and joined (every segment length around the code-width steps), and decoding by
 * ffmpeg; the same bytes on 1 to 4 threads;
 * then palette reuse (fewer bytes, no local tables, same picture) and temporal
 * stability (static pixels never change).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <gif_lib.h>
#include <math.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/error.h"
#include "render/gif.h"
#include "render/lzw.h"
#include "util.h"

Suite *suite_gif(void);

/* ---- synthetic frames ---- */

/* A static textured background with a 12x12 square moving by (5,3) per frame. */
#define SQ    12
#define SQ_DX 5
#define SQ_DY 3
static void gen_square(uint8_t *rgba, int w, int h, int i)
{
    tgt_gen_gradient(rgba, w, h, 0);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (((x / 8) + (y / 8)) % 2 == 0) /* a checker texture on the gradient */
                rgba[((size_t)y * (size_t)w + (size_t)x) * 4 + 2] /= 2;
    int x0 = 10 + SQ_DX * i, y0 = 10 + SQ_DY * i;
    for (int y = y0; y < y0 + SQ && y < h; y++)
        for (int x = x0; x < x0 + SQ && x < w; x++) {
            uint8_t *p = rgba + ((size_t)y * (size_t)w + (size_t)x) * 4;
            p[0] = 250, p[1] = 20, p[2] = 30;
        }
}

/* Uniform noise, different in every frame (a fixed LCG: reproducible). */
static void gen_noise(uint8_t *rgba, int w, int h, int i)
{
    uint32_t s = 12345u + 7919u * (uint32_t)i;
    for (size_t k = 0; k < (size_t)w * (size_t)h; k++) {
        for (int c = 0; c < 3; c++) {
            s = s * 1664525u + 1013904223u;
            rgba[k * 4 + (size_t)c] = (uint8_t)(s >> 24);
        }
        rgba[k * 4 + 3] = 255;
    }
}

/* Frame i of gen_still is frame i / 3 of tgt_gen_gradient: runs of 3 identical frames. */
static void gen_still(uint8_t *rgba, int w, int h, int i)
{
    tgt_gen_gradient(rgba, w, h, 10 * (i / 3));
}

static bool contains(const char *hay, size_t n, const char *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0)
            return true;
    return false;
}

/* ---- encoding helpers ---- */

static tgi_gif_params params(int w, int h, int q)
{
    return (tgi_gif_params){.width = w, .height = h, .quality = q, .loop_count = 0};
}

/* Encode frames 0..n-1 of gen into fd; delays[i] or 10 cs. Returns the first error. */
static int encode_fd(tg_ctx *ctx, int fd, const tgi_gif_params *p, tgt_gen_fn gen, int n,
                     const int *delays)
{
    tgi_gif *g = NULL;
    int rc = tgi_gif_begin(ctx, fd, p, &g);
    if (rc < 0)
        return rc;
    uint8_t *f = malloc((size_t)p->width * (size_t)p->height * 4);
    if (!f) {
        tgi_gif_free(&g);
        return TG_ENOMEM;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        gen(f, p->width, p->height, i);
        rc = tgi_gif_add(ctx, g, f, delays ? delays[i] : 10);
    }
    free(f);
    if (rc < 0) {
        tgi_gif_free(&g);
        return rc;
    }
    return tgi_gif_end(ctx, &g);
}

/* Encode to a fresh scratch file; returns its path (caller frees), fails the test on error. */
static char *encode_file(const tgi_gif_params *p, tgt_gen_fn gen, int n, const int *delays)
{
    char *path = tgt_tmp_path(".gif");
    ck_assert_ptr_nonnull(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    tg_ctx *ctx = tg_ctx_new();
    int rc = encode_fd(ctx, fd, p, gen, n, delays);
    ck_assert_msg(rc == 0, "encode failed: %d %s", rc, tg_ctx_message(ctx));
    tg_ctx_free(&ctx);
    close(fd);
    return path;
}

static void load(const char *path, tgt_gif *d)
{
    ck_assert_msg(tgt_gif_load(path, d) == 0, "cannot decode %s", path);
}

/* Every decoded frame i matches source frame i with at least min_db dB PSNR. */
static void check_psnr(const tgt_gif *d, tgt_gen_fn gen, double min_db)
{
    for (int i = 0; i < d->frames; i++) {
        uint8_t *src = tgt_make_frame(gen, d->width, d->height, i);
        double db = tgt_psnr_rgba(src, d->rgba[i], d->width, d->height);
        ck_assert_msg(db >= min_db, "frame %d: PSNR %.2f dB < %.2f dB", i, db, min_db);
        for (size_t k = 0; k < (size_t)d->width * (size_t)d->height; k++)
            ck_assert_msg(d->rgba[i][k * 4 + 3] == 255, "frame %d pixel %zu is not opaque", i, k);
        free(src);
    }
}

/* ---- tests ---- */

START_TEST(test_header_and_metadata)
{
    const int delays[5] = {4, 7, 10, 1, 250};
    tgi_gif_params p = params(97, 61, 90);
    char *path = encode_file(&p, tgt_gen_gradient, 5, delays);

    size_t len = 0;
    char *bytes = tgt_read_file(path, &len);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_ge(len, 13);
    ck_assert_int_eq(memcmp(bytes, "GIF89a", 6), 0);
    ck_assert_int_eq((uint8_t)bytes[6] | (uint8_t)bytes[7] << 8, 97);
    ck_assert_int_eq((uint8_t)bytes[8] | (uint8_t)bytes[9] << 8, 61);
    ck_assert_int_eq((uint8_t)bytes[len - 1], 0x3b); /* trailer */
    static const char loop[] = "\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00";
    ck_assert_msg(contains(bytes, len, loop, sizeof(loop) - 1), "no NETSCAPE2.0 loop block");
    free(bytes);

    tgt_gif d;
    load(path, &d);
    ck_assert_int_eq(d.width, 97);
    ck_assert_int_eq(d.height, 61);
    ck_assert_int_eq(d.frames, 5);
    ck_assert_int_eq(d.loop_count, 0);
    const int want[5] = {4, 7, 10, 2, 250}; /* 1 cs is written as 2 */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(d.delays_cs[i], want[i]);
    tgt_gif_free(&d);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_loop_count)
{
    tgi_gif_params p = params(16, 16, 80);
    p.loop_count = 300;
    char *path = encode_file(&p, tgt_gen_gradient, 2, NULL);
    tgt_gif d;
    load(path, &d);
    ck_assert_int_eq(d.loop_count, 300);
    tgt_gif_free(&d);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_gradient_psnr)
{
    static const struct {
        int q;
        double min_db;
    } cases[] = {{100, 30}, {90, 30}, {60, 30}, {10, 22}, {1, 21}};
    /* q10, q1: 64 colours and the lossy LZW alone deciding what stays (tolerance e 16
     * and 18 per channel): this smooth synthetic gradient is their worst case (23.1 dB
     * at q10); on natural clips they beat the old table on PSNR at equal size too */
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        tgi_gif_params p = params(160, 120, cases[c].q);
        char *path = encode_file(&p, tgt_gen_gradient, 6, NULL);
        tgt_gif d;
        load(path, &d);
        ck_assert_int_eq(d.frames, 6);
        check_psnr(&d, tgt_gen_gradient, cases[c].min_db);
        tgt_gif_free(&d);
        unlink(path);
        free(path);
    }
}
END_TEST

START_TEST(test_quality_changes_size)
{
    tgi_gif_params hi = params(160, 120, 100), lo = params(160, 120, 20);
    char *ph = encode_file(&hi, tgt_gen_gradient, 6, NULL),
         *pl = encode_file(&lo, tgt_gen_gradient, 6, NULL);
    long sh = tgt_file_size(ph), sl = tgt_file_size(pl);
    ck_assert_msg(sl < sh * 3 / 4, "quality 20: %ld bytes, quality 100: %ld bytes", sl, sh);
    unlink(ph);
    unlink(pl);
    free(ph);
    free(pl);
}
END_TEST

START_TEST(test_noise)
{
    tgi_gif_params p = params(64, 48, 90);
    char *path = encode_file(&p, gen_noise, 4, NULL);
    tgt_gif d;
    load(path, &d);
    ck_assert_int_eq(d.frames, 4);
    /* uniform RGB noise in 256 colours: about 27.5 dB is what a palette can do */
    check_psnr(&d, gen_noise, 24);
    tgt_gif_free(&d);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_moving_square_is_cropped)
{
    enum { W = 200, H = 150, N = 10 };
    tgi_gif_params p = params(W, H, 90);
    char *one = encode_file(&p, gen_square, 1, NULL);
    char *all = encode_file(&p, gen_square, N, NULL);
    long s1 = tgt_file_size(one), sn = tgt_file_size(all);
    ck_assert_msg(sn < s1 + s1 / 2, "%d frames: %ld bytes, one full frame: %ld bytes", N, sn, s1);

    tgt_gif d;
    load(all, &d);
    ck_assert_int_eq(d.frames, N);
    check_psnr(&d, gen_square, 28);
    /* the square itself is shown exactly where it is in the source */
    for (int i = 0; i < N; i++)
        for (int y = 10 + SQ_DY * i; y < 10 + SQ_DY * i + SQ; y++)
            for (int x = 10 + SQ_DX * i; x < 10 + SQ_DX * i + SQ; x++) {
                const uint8_t *c = d.rgba[i] + ((size_t)y * W + (size_t)x) * 4;
                ck_assert_msg(abs(c[0] - 250) <= 20 && abs(c[1] - 20) <= 20 && abs(c[2] - 30) <= 20,
                              "frame %d (%d,%d) = %d,%d,%d", i, x, y, c[0], c[1], c[2]);
            }
    tgt_gif_free(&d);

    /* frames 2..n are the union of the old and new square, transparent elsewhere */
    int err = 0;
    GifFileType *gf = DGifOpenFileName(all, &err);
    ck_assert_ptr_nonnull(gf);
    ck_assert_int_eq(DGifSlurp(gf), GIF_OK);
    ck_assert_int_eq(gf->ImageCount, N);
    ck_assert_int_eq(gf->SavedImages[0].ImageDesc.Width, W);
    ck_assert_int_eq(gf->SavedImages[0].ImageDesc.Height, H);
    for (int i = 1; i < N; i++) {
        const GifImageDesc *im = &gf->SavedImages[i].ImageDesc;
        ck_assert_int_eq(im->Left, 10 + SQ_DX * (i - 1));
        ck_assert_int_eq(im->Top, 10 + SQ_DY * (i - 1));
        ck_assert_int_eq(im->Width, SQ + SQ_DX);
        ck_assert_int_eq(im->Height, SQ + SQ_DY);
        GraphicsControlBlock gcb;
        ck_assert_int_eq(DGifSavedExtensionToGCB(gf, i, &gcb), GIF_OK);
        ck_assert_int_eq(gcb.DisposalMode, DISPOSE_DO_NOT);
        ck_assert_int_ne(gcb.TransparentColor, NO_TRANSPARENT_COLOR);
    }
    DGifCloseFile(gf, NULL);
    unlink(one);
    unlink(all);
    free(one);
    free(all);
}
END_TEST

START_TEST(test_identical_frames_merge)
{
    tgi_gif_params p = params(40, 30, 90);
    char *path = encode_file(&p, gen_still, 3, NULL); /* 3 identical frames of 10 cs */
    tgt_gif d;
    load(path, &d);
    ck_assert_int_eq(d.frames, 1);
    ck_assert_int_eq(d.delays_cs[0], 30);
    tgt_gif_free(&d);
    unlink(path);
    free(path);

    /* A A A B B B C with delays 1..7: runs merge, the sums are kept */
    const int delays[7] = {1, 2, 3, 4, 5, 6, 7};
    path = encode_file(&p, gen_still, 7, delays);
    load(path, &d);
    ck_assert_int_eq(d.frames, 3);
    ck_assert_int_eq(d.delays_cs[0], 6);
    ck_assert_int_eq(d.delays_cs[1], 15);
    ck_assert_int_eq(d.delays_cs[2], 7);
    for (int i = 0; i < 3; i++) {
        uint8_t *src = tgt_make_frame(gen_still, 40, 30, 3 * i);
        double db = tgt_psnr_rgba(src, d.rgba[i], 40, 30);
        ck_assert_msg(db >= 30, "frame %d: %.2f dB", i, db);
        free(src);
    }
    tgt_gif_free(&d);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_long_still_splits_delay)
{
    /* merged delays past the 16-bit GIF limit continue in a 1x1 transparent frame */
    const int delays[3] = {40000, 40000, 100};
    tgi_gif_params p = params(20, 20, 90);
    char *path = encode_file(&p, gen_still, 3, delays);
    tgt_gif d;
    load(path, &d);
    ck_assert_int_eq(d.frames, 2);
    ck_assert_int_eq(d.delays_cs[0], 40000);
    ck_assert_int_eq(d.delays_cs[1], 40100);
    ck_assert_int_eq(memcmp(d.rgba[0], d.rgba[1], 20 * 20 * 4), 0);
    tgt_gif_free(&d);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_bad_parameters)
{
    tg_ctx *ctx = tg_ctx_new();
    static char dummy;
    tgi_gif *g = (tgi_gif *)(void *)&dummy; /* begin must reset it to NULL */
    int fd = open("/dev/null", O_WRONLY);
    ck_assert_int_ge(fd, 0);
    static const tgi_gif_params bad[] = {
        {0, 10, 90, 0, 0, 0},    {10, 0, 90, 0, 0, 0},
        {4097, 10, 90, 0, 0, 0}, {10, 4097, 90, 0, 0, 0},
        {10, 10, 0, 0, 0, 0},    {10, 10, 101, 0, 0, 0},
        {10, 10, 90, -1, 0, 0},  {10, 10, 90, 65536, 0, 0},
        {10, 10, 90, 0, -1, 0},  {10, 10, 90, 0, TG_GIF_PALETTE_LOCAL + 1, 0},
        {10, 10, 90, 0, 0, -1},  {10, 10, 90, 0, 0, 65},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tg_ctx_clear(ctx);
        ck_assert_int_eq(tgi_gif_begin(ctx, fd, &bad[i], &g), TG_EINVAL);
        ck_assert_ptr_null(g);
        ck_assert_str_ne(tg_ctx_message(ctx), "");
    }
    tgi_gif_params ok = params(10, 10, 90);
    ck_assert_int_eq(tgi_gif_begin(ctx, -1, &ok, &g), TG_EINVAL);
    ck_assert_int_eq(tgi_gif_begin(ctx, fd, NULL, &g), TG_EINVAL);
    ck_assert_int_eq(tgi_gif_begin(ctx, fd, &ok, NULL), TG_EINVAL);

    ck_assert_int_eq(tgi_gif_begin(ctx, fd, &ok, &g), 0);
    uint8_t *f = tgt_make_frame(tgt_gen_gradient, 10, 10, 0);
    ck_assert_int_eq(tgi_gif_add(ctx, g, f, 0), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "delay"));
    ck_assert_int_eq(tgi_gif_add(ctx, g, f, 65536), TG_EINVAL);
    ck_assert_int_eq(tgi_gif_add(ctx, g, NULL, 10), TG_EINVAL);
    ck_assert_int_eq(tgi_gif_add(ctx, NULL, f, 10), TG_EINVAL);
    /* a rejected argument does not spoil the encoder */
    ck_assert_int_eq(tgi_gif_add(ctx, g, f, 10), 0);
    ck_assert_int_eq(tgi_gif_end(ctx, &g), 0);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(tgi_gif_end(ctx, &g), TG_EINVAL);
    ck_assert_int_eq(tgi_gif_end(ctx, NULL), TG_EINVAL);
    free(f);
    close(fd);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_end_without_frames)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_gif *g = NULL;
    int fd = open("/dev/null", O_WRONLY);
    tgi_gif_params p = params(10, 10, 90);
    ck_assert_int_eq(tgi_gif_begin(ctx, fd, &p, &g), 0);
    ck_assert_int_eq(tgi_gif_end(ctx, &g), TG_EINVAL);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "no frame"));
    close(fd);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_free_abandons)
{
    char *path = tgt_tmp_path(".gif");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tgi_gif *g = NULL;
    tgi_gif_params p = params(32, 32, 90);
    ck_assert_int_eq(tgi_gif_begin(NULL, fd, &p, &g), 0);
    uint8_t *f = tgt_make_frame(gen_noise, 32, 32, 0);
    ck_assert_int_eq(tgi_gif_add(NULL, g, f, 10), 0);
    ck_assert_int_eq(tgi_gif_add(NULL, g, f, 10), 0);
    tgi_gif_free(&g);
    ck_assert_ptr_null(g);
    tgi_gif_free(&g);
    tgi_gif_free(NULL);
    ck_assert_int_ne(fcntl(fd, F_GETFD), -1); /* still the caller's */
    close(fd);
    free(f);
    /* buffered output was dropped, so no half GIF with a trailer exists */
    ck_assert_int_eq(tgt_file_size(path), 0);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_fd_stays_open)
{
    char *path = tgt_tmp_path(".gif");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tgi_gif_params p = params(24, 24, 90);
    ck_assert_int_eq(encode_fd(NULL, fd, &p, tgt_gen_gradient, 3, NULL), 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD), -1);
    long before = tgt_file_size(path);
    ck_assert_int_eq(write(fd, "x", 1), 1);
    ck_assert_int_eq(tgt_file_size(path), before + 1);
    close(fd);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_write_errors)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_gif_params p = params(24, 24, 90);
    /* write(2) on a read-only fd: EBADF surfaces at the latest in tgi_gif_end */
    int fd = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(encode_fd(ctx, fd, &p, tgt_gen_gradient, 2, NULL), TG_EIO);
    ck_assert_msg(strstr(tg_ctx_message(ctx), "Bad file descriptor") != NULL, "message: %s",
                  tg_ctx_message(ctx));
    close(fd);

    /* a full disk while frames are still being added: the encoder stays failed */
    fd = open("/dev/full", O_WRONLY);
    if (fd < 0) {
        tg_ctx_free(&ctx);
        return;
    }
    enum { W = 300, H = 300 };
    p = params(W, H, 90);
    tgi_gif *g = NULL;
    ck_assert_int_eq(tgi_gif_begin(ctx, fd, &p, &g), 0);
    uint8_t *f = malloc((size_t)W * H * 4);
    int rc = 0, i;
    for (i = 0; i < 10 && rc == 0; i++) {
        gen_noise(f, W, H, i);
        rc = tgi_gif_add(ctx, g, f, 10);
    }
    ck_assert_int_eq(rc, TG_EIO);
    ck_assert_int_le(i, 3); /* 64 KiB buffer: the first noise frame overflows it */
    ck_assert_msg(strstr(tg_ctx_message(ctx), "No space") != NULL, "message: %s",
                  tg_ctx_message(ctx));
    ck_assert_int_eq(tgi_gif_add(ctx, g, f, 10), TG_EIO);
    ck_assert_int_eq(tgi_gif_end(ctx, &g), TG_EIO);
    ck_assert_ptr_null(g);
    free(f);
    close(fd);
    tg_ctx_free(&ctx);
}
END_TEST

/* square + noise patch: exercises crops, transparency and full frames */
static void gen_mixed(uint8_t *rgba, int w, int h, int i)
{
    gen_square(rgba, w, h, i);
    if (i % 3 == 2) {
        uint8_t *n = malloc((size_t)w * (size_t)h * 4);
        if (!n)
            return;
        gen_noise(n, w, h, i);
        for (int y = h / 2; y < h; y++)
            memcpy(rgba + (size_t)y * (size_t)w * 4 + (size_t)w * 2, n + (size_t)y * (size_t)w * 4,
                   (size_t)w * 2);
        free(n);
    }
}

START_TEST(test_deterministic)
{
    static const int qs[] = {75, 100, 5};
    for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
        tgi_gif_params p = params(120, 90, qs[q]);
        char *a = encode_file(&p, gen_mixed, 8, NULL), *b = encode_file(&p, gen_mixed, 8, NULL);
        size_t la = 0, lb = 0;
        char *da = tgt_read_file(a, &la), *db = tgt_read_file(b, &lb);
        ck_assert_ptr_nonnull(da);
        ck_assert_ptr_nonnull(db);
        ck_assert_uint_gt(la, 100);
        ck_assert_uint_eq(la, lb);
        ck_assert_int_eq(memcmp(da, db, la), 0);
        free(da);
        free(db);
        unlink(a);
        unlink(b);
        free(a);
        free(b);
    }
}
END_TEST

/* ---- the LZW compressor on its own ---- */

/* A one-frame GIF around LZW data: global table of 1 << bits colours from pal. */
static char *write_raw_gif(int w, int h, int bits, const uint8_t *pal, const uint8_t *data,
                           size_t len)
{
    char *path = tgt_tmp_path(".gif");
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    const uint8_t lsd[7] = {(uint8_t)w,
                            (uint8_t)(w >> 8),
                            (uint8_t)h,
                            (uint8_t)(h >> 8),
                            (uint8_t)(0x80 | (bits - 1) << 4 | (bits - 1)),
                            0,
                            0};
    const uint8_t desc[10] = {
        0x2c, 0, 0, 0, 0, (uint8_t)w, (uint8_t)(w >> 8), (uint8_t)h, (uint8_t)(h >> 8), 0};
    const uint8_t mcs = (uint8_t)(bits < 2 ? 2 : bits), end[2] = {0, 0x3b};
    ck_assert_int_eq(fwrite("GIF89a", 1, 6, f), 6);
    ck_assert_int_eq(fwrite(lsd, 1, 7, f), 7);
    ck_assert_int_eq(fwrite(pal, 3, (size_t)1 << bits, f), (size_t)1 << bits);
    ck_assert_int_eq(fwrite(desc, 1, 10, f), 10);
    ck_assert_int_eq(fwrite(&mcs, 1, 1, f), 1);
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fwrite(end, 1, 2, f), 2);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

/* The indices of a one-frame GIF, decoded by giflib (caller frees). */
static uint8_t *giflib_indices(const char *path, int w, int h)
{
    int err = 0;
    GifFileType *gf = DGifOpenFileName(path, &err);
    ck_assert_msg(gf != NULL, "DGifOpenFileName: %d", err);
    ck_assert_msg(DGifSlurp(gf) == GIF_OK, "DGifSlurp: %s", GifErrorString(gf->Error));
    ck_assert_int_eq(gf->ImageCount, 1);
    ck_assert_int_eq(gf->SavedImages[0].ImageDesc.Width, w);
    ck_assert_int_eq(gf->SavedImages[0].ImageDesc.Height, h);
    uint8_t *out = malloc((size_t)w * (size_t)h);
    ck_assert_ptr_nonnull(out);
    memcpy(out, gf->SavedImages[0].RasterBits, (size_t)w * (size_t)h);
    DGifCloseFile(gf, &err);
    return out;
}

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

START_TEST(test_lzw_exact_roundtrip)
{
    enum { W = 300, H = 200 }; /* 60,000 random pixels: several table resets */
    uint8_t pal[256 * 3];
    for (int i = 0; i < 256; i++)
        pal[3 * i] = (uint8_t)i, pal[3 * i + 1] = (uint8_t)(i * 7), pal[3 * i + 2] = (uint8_t)~i;
    uint8_t *idx = malloc(W * H), *shown = malloc(W * H);
    tgi_lzw *z = tgi_lzw_new();
    ck_assert_ptr_nonnull(z);
    for (int bits = 1; bits <= 8; bits++) {
        for (int pattern = 0; pattern < 3; pattern++) {
            uint32_t seed = 99u + (uint32_t)bits;
            for (size_t i = 0; i < W * H; i++) {
                uint32_t r = lcg(&seed);
                idx[i] = (uint8_t)(pattern == 0   ? r % (1u << bits)        /* noise */
                                   : pattern == 1 ? (i / 37) % (1u << bits) /* runs */
                                                  : (r % 5 ? i / 500 : r) % (1u << bits));
            }
            const uint8_t *data;
            size_t len;
            int mb = bits < 2 ? 2 : bits;
            ck_assert_int_eq(tgi_lzw_encode(z, idx, W * H, mb, NULL, shown, &data, &len), 0);
            ck_assert_int_eq(memcmp(idx, shown, W * H), 0);
            for (size_t i = 0; i < len; i += (size_t)data[i] + 1)
                ck_assert_msg(data[i] >= 1 && i + data[i] < len, "bad sub-block at %zu", i);
            char *path = write_raw_gif(W, H, bits, pal, data, len);
            uint8_t *dec = giflib_indices(path, W, H);
            for (size_t i = 0; i < W * H; i++)
                ck_assert_msg(dec[i] == idx[i], "bits %d pattern %d pixel %zu: %u, expected %u",
                              bits, pattern, i, dec[i], idx[i]);
            free(dec);
            unlink(path);
            free(path);
        }
    }
    /* a single pixel, and bad arguments */
    const uint8_t *data;
    size_t len;
    ck_assert_int_eq(tgi_lzw_encode(z, idx, 1, 2, NULL, NULL, &data, &len), 0);
    ck_assert_int_eq(tgi_lzw_encode(z, idx, 0, 2, NULL, NULL, &data, &len), -1);
    ck_assert_int_eq(tgi_lzw_encode(z, idx, 10, 1, NULL, NULL, &data, &len), -1);
    ck_assert_int_eq(tgi_lzw_encode(z, idx, 10, 9, NULL, NULL, &data, &len), -1);
    tgi_lzw_free(&z);
    ck_assert_ptr_null(z);
    tgi_lzw_free(&z);
    free(idx);
    free(shown);
}
END_TEST

START_TEST(test_lzw_lossy_within_tolerance)
{
    enum { W = 240, H = 160, T = 255 };
    uint8_t pal[256 * 3], *idx = malloc(W * H), *shown = malloc(W * H);
    uint8_t *bg = malloc(W * H * 4), *src = malloc(W * H * 4);
    for (int i = 0; i < 256; i++) /* a ramp: neighbours are a few levels apart */
        pal[3 * i] = (uint8_t)i, pal[3 * i + 1] = (uint8_t)(i / 2 + 40),
                pal[3 * i + 2] = (uint8_t)(255 - i);
    uint32_t seed = 7;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t p = (size_t)y * W + (size_t)x;
            int v = (x + y / 2) % 250 + (int)(lcg(&seed) % 5);      /* gradient + grain */
            idx[p] = (uint8_t)(x % 60 < 12 && y % 40 < 10 ? T : v); /* some transparent holes */
            for (int c = 0; c < 3; c++) {
                bg[4 * p + (size_t)c] = pal[3 * (v + 2 < 255 ? v + 2 : v) + (size_t)c];
                src[4 * p + (size_t)c] = pal[3 * v + (size_t)c];
            }
            bg[4 * p + 3] = src[4 * p + 3] = 255;
        }
    tgi_lzw *z = tgi_lzw_new();
    ck_assert_ptr_nonnull(z);
    const uint8_t *data;
    size_t exact_len, len;
    ck_assert_int_eq(tgi_lzw_encode(z, idx, W * H, 8, NULL, NULL, &data, &exact_len), 0);
    static const int tols[] = {4, 25, 100, 400};
    size_t greedy[4] = {0};
    for (int look = 0; look <= 1; look++) {
        size_t prev = exact_len;
        for (size_t t = 0; t < sizeof(tols) / sizeof(tols[0]); t++) {
            tgi_lzw_lossy l = {.tol = tols[t],
                               .pal = pal,
                               .transparent = T,
                               .bg = bg,
                               .src = src,
                               .row = W,
                               .look = look};
            ck_assert_int_eq(tgi_lzw_encode(z, idx, W * H, 8, &l, shown, &data, &len), 0);
            ck_assert_msg(len < prev, "tol %d: %zu bytes, not fewer than %zu", tols[t], len, prev);
            prev = len;
            char *path = write_raw_gif(W, H, 8, pal, data, len);
            uint8_t *dec = giflib_indices(path, W, H);
            size_t changed = 0;
            for (size_t p = 0; p < W * H; p++) {
                ck_assert_msg(dec[p] == shown[p], "pixel %zu decodes to %u, shown says %u", p,
                              dec[p], shown[p]);
                const uint8_t *want = idx[p] == T ? bg + 4 * p : pal + 3 * idx[p];
                const uint8_t *got = dec[p] == T ? bg + 4 * p : pal + 3 * dec[p];
                int d = tgi_lzw_dist(got, want);
                ck_assert_msg(d <= tols[t], "tol %d pixel %zu: error %d", tols[t], p, d);
                if (idx[p] == T && dec[p] != T)
                    ck_assert_int_le(tgi_lzw_dist(got, src + 4 * p), tols[t]);
                changed += dec[p] != idx[p];
            }
            ck_assert_uint_gt(changed, 0);
            fprintf(stderr,
                    "lzw lossy%s tol %d: %zu bytes (exact %zu), %.1f %% of pixels changed\n",
                    look ? " (longest runs)" : "", tols[t], len, exact_len,
                    100.0 * (double)changed / (W * H));
            if (look) /* the longest-run search never makes more bytes here */
                ck_assert_msg(len <= greedy[t], "tol %d: %zu bytes, greedy %zu", tols[t], len,
                              greedy[t]);
            else
                greedy[t] = len;
            /* deterministic */
            uint8_t *copy = malloc(len);
            memcpy(copy, data, len);
            size_t len2;
            ck_assert_int_eq(tgi_lzw_encode(z, idx, W * H, 8, &l, NULL, &data, &len2), 0);
            ck_assert_uint_eq(len, len2);
            ck_assert_int_eq(memcmp(copy, data, len), 0);
            free(copy);
            free(dec);
            unlink(path);
            free(path);
        }
    }
    tgi_lzw_free(&z);
    free(idx);
    free(shown);
    free(bg);
    free(src);
}
END_TEST

/* A compressor that has encoded other images (other code sizes, table resets, lossy and
 * exact) gives the same bytes as a fresh one: its dictionary's lookup table is never
 * cleared (lzw.c), so every stale entry must be recognised as such. */
START_TEST(test_lzw_reused_compressor_same_bytes)
{
    enum { W = 256, H = 160 }; /* 40,960 pixels: several full tables at 8 bits */
    uint8_t pal[256 * 3], *idx = malloc(W * H), *bg = malloc(W * H * 4);
    ck_assert_ptr_nonnull(idx);
    ck_assert_ptr_nonnull(bg);
    for (int i = 0; i < 256; i++)
        pal[3 * i] = (uint8_t)i, pal[3 * i + 1] = (uint8_t)(255 - i),
                pal[3 * i + 2] = (uint8_t)(i / 2);
    for (size_t p = 0; p < W * H; p++)
        bg[4 * p] = bg[4 * p + 1] = bg[4 * p + 2] = (uint8_t)(p % 251), bg[4 * p + 3] = 255;
    tgi_lzw *used = tgi_lzw_new();
    ck_assert_ptr_nonnull(used);
    /* 8 bits first, then smaller and larger code sizes, so that old rows hold codes that
     * are roots, control codes or other strings in the next image */
    static const int order[] = {8, 2, 5, 8, 3, 7, 2, 8, 4, 6};
    uint32_t seed = 11;
    for (size_t round = 0; round < 2 * sizeof(order) / sizeof(order[0]); round++) {
        int bits = order[round % (sizeof(order) / sizeof(order[0]))];
        int lossy = round >= sizeof(order) / sizeof(order[0]);
        unsigned nsym = 1u << bits;
        for (size_t p = 0; p < W * H; p++) {
            uint32_t r = lcg(&seed);
            /* runs of a few indices with noise: strings of every length */
            idx[p] = (uint8_t)((r % 7 ? (p / (3 + round % 5)) * 5 + round : r) % nsym);
        }
        tgi_lzw_lossy l = {.tol = 30,
                           .pal = pal,
                           .transparent = (int)nsym - 1,
                           .bg = bg,
                           .row = W,
                           .look = (int)(round % 2)};
        const uint8_t *data;
        size_t len, len2;
        ck_assert_int_eq(
            tgi_lzw_encode(used, idx, W * H, bits, lossy ? &l : NULL, NULL, &data, &len), 0);
        uint8_t *copy = malloc(len);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, data, len);
        tgi_lzw *fresh = tgi_lzw_new();
        ck_assert_ptr_nonnull(fresh);
        ck_assert_int_eq(
            tgi_lzw_encode(fresh, idx, W * H, bits, lossy ? &l : NULL, NULL, &data, &len2), 0);
        ck_assert_msg(
            len == len2 && memcmp(copy, data, len) == 0,
            "round %zu (%d bits%s): %zu bytes from a used compressor, %zu from a fresh one", round,
            bits, lossy ? ", lossy" : "", len, len2);
        if (!lossy) { /* and it decodes to the indices */
            char *path = write_raw_gif(W, H, bits, pal, copy, len);
            uint8_t *dec = giflib_indices(path, W, H);
            ck_assert_int_eq(memcmp(dec, idx, W * H), 0);
            free(dec);
            unlink(path);
            free(path);
        }
        tgi_lzw_free(&fresh);
        free(copy);
    }
    tgi_lzw_free(&used);
    free(idx);
    free(bg);
}
END_TEST

/* ffmpeg (framecrc) and giflib decode path; returns ffmpeg's frame count. */
static int ffmpeg_frames(const char *path)
{
    char *argv[] = {"/usr/bin/ffmpeg", "-nostdin", "-v",       "error", "-i",
                    (char *)path,      "-f",       "framecrc", "-",     NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_msg(r.status == 0 && r.err[0] == '\0', "%s: ffmpeg status %d: %s", path, r.status,
                  r.err);
    int frames = 0;
    for (const char *l = r.out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        frames += *l != '#' && *l != '\n';
    tgt_run_free(&r);
    return frames;
}

/* Segments compressed apart and joined decode to the indices, with giflib and ffmpeg:
 * segment lengths 1..60 and long ones, so that segment ends fall on every code-width
 * step; and the 1-segment join is tgi_lzw_encode's output. */
START_TEST(test_lzw_segments)
{
    enum { W = 300, H = 200, MAXSEG = 4096 };
    uint8_t pal[256 * 3];
    for (int i = 0; i < 256; i++)
        pal[3 * i] = (uint8_t)(i * 3), pal[3 * i + 1] = (uint8_t)i, pal[3 * i + 2] = (uint8_t)~i;
    uint8_t *idx = malloc(W * H), *shown = malloc(W * H);
    tgi_lzw_bits *segs = calloc(MAXSEG, sizeof(*segs));
    tgi_lzw *z = tgi_lzw_new();
    ck_assert_ptr_nonnull(z);
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    for (int bits = 1; bits <= 8; bits++) {
        for (int pattern = 0; pattern < 2; pattern++) {
            uint32_t seed = 5u + (uint32_t)bits;
            for (size_t i = 0; i < W * H; i++)
                idx[i] = (uint8_t)((pattern ? (i / 23) ^ (lcg(&seed) % 3 == 0) : lcg(&seed)) %
                                   (1u << bits));
            int mb = bits < 2 ? 2 : bits;
            size_t at = 0, ns = 0;
            for (size_t k = 0; at < W * H; k++, ns++) {
                ck_assert_uint_lt(ns, MAXSEG);
                size_t n = k < 60 ? k + 1 : 1000 + (k * 7919) % 9000;
                n = n > W * H - at ? W * H - at : n;
                ck_assert_int_eq(tgi_lzw_encode_seg(z, idx + at, n, mb, NULL, shown + at, k == 0,
                                                    at + n == W * H, &segs[ns]),
                                 0);
                at += n;
            }
            ck_assert_int_eq(memcmp(idx, shown, W * H), 0);
            ck_assert_int_eq(tgi_lzw_join(segs, ns, &buf, &cap, &len), 0);
            for (size_t i = 0; i < len; i += (size_t)buf[i] + 1)
                ck_assert_msg(buf[i] >= 1 && i + buf[i] < len, "bad sub-block at %zu", i);
            char *path = write_raw_gif(W, H, bits, pal, buf, len);
            uint8_t *dec = giflib_indices(path, W, H);
            for (size_t i = 0; i < W * H; i++)
                ck_assert_msg(dec[i] == idx[i],
                              "bits %d pattern %d, %zu segments, pixel %zu: %u, "
                              "expected %u",
                              bits, pattern, ns, i, dec[i], idx[i]);
            if (bits == 2 || bits == 8)
                ck_assert_int_eq(ffmpeg_frames(path), 1);
            free(dec);
            unlink(path);
            free(path);
        }
    }
    /* one segment, joined = tgi_lzw_encode */
    const uint8_t *data;
    size_t dlen;
    ck_assert_int_eq(tgi_lzw_encode(z, idx, W * H, 8, NULL, NULL, &data, &dlen), 0);
    ck_assert_int_eq(tgi_lzw_encode_seg(z, idx, W * H, 8, NULL, NULL, true, true, &segs[0]), 0);
    ck_assert_int_eq(tgi_lzw_join(segs, 1, &buf, &cap, &len), 0);
    ck_assert_uint_eq(len, dlen);
    ck_assert_int_eq(memcmp(buf, data, len), 0);
    ck_assert_int_eq(tgi_lzw_encode_seg(z, idx, 0, 8, NULL, NULL, true, true, &segs[0]), -1);
    ck_assert_int_eq(tgi_lzw_join(segs, 0, &buf, &cap, &len), -1);
    for (size_t k = 0; k < MAXSEG; k++)
        tgi_lzw_bits_free(&segs[k]);
    tgi_lzw_bits_free(NULL);
    free(segs);
    free(buf);
    tgi_lzw_free(&z);
    free(idx);
    free(shown);
}
END_TEST

/* The output does not depend on the number of threads: frames large enough to be cut
 * into bands and several LZW segments, crops and full frames, exact and lossy. */
START_TEST(test_threads_same_bytes)
{
    static const int qs[] = {90, 100, 20};
    for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
        char *ref = NULL, *dref = NULL;
        size_t lref = 0;
        static const int threads[] = {1, 2, 3, 4, 0}; /* 0 = one per CPU */
        for (size_t ti = 0; ti < sizeof(threads) / sizeof(threads[0]); ti++) {
            int t = threads[ti];
            tgi_gif_params p = params(400, 300, qs[q]);
            p.threads = t;
            char *path = encode_file(&p, gen_mixed, 7, NULL);
            size_t l = 0;
            char *d = tgt_read_file(path, &l);
            ck_assert_ptr_nonnull(d);
            if (t == 1) {
                ref = path, dref = d, lref = l;
                ck_assert_int_eq(ffmpeg_frames(path), 7);
                tgt_gif dec;
                load(path, &dec);
                ck_assert_int_eq(dec.frames, 7);
                check_psnr(&dec, gen_mixed, qs[q] >= 90 ? 22 : 17);
                tgt_gif_free(&dec);
                continue;
            }
            ck_assert_msg(l == lref && memcmp(d, dref, l) == 0,
                          "q%d: %d threads give %zu bytes, 1 thread %zu (or other bytes)", qs[q], t,
                          l, lref);
            free(d);
            unlink(path);
            free(path);
        }
        free(dref);
        unlink(ref);
        free(ref);
    }
}
END_TEST

/* ---- clips side by side (tgi_gif_encode_frames) ---- */

/* Five clips: a moving square, noise (the first frame's palette does not fit it), the
 * square again (it does), three identical stills (merged into one frame) and mixed
 * content. Frame i of the whole is clip_gen(i) (frame clip_frame(i) of its generator). */
#define CLIPS_N 22
static const int clip_of[CLIPS_N] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2,
                                     2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4};
static void gen_clips(uint8_t *rgba, int w, int h, int i)
{
    static const tgt_gen_fn gens[5] = {gen_square, gen_noise, gen_square, gen_still, gen_mixed};
    static const int first[5] = {0, 6, 10, 14, 17}, offset[5] = {0, 0, 6, 0, 0};
    int c = clip_of[i];
    gens[c](rgba, w, h, i - first[c] + offset[c]);
}

typedef struct progress_log {
    size_t calls, last;
    int ret;
} progress_log;

static int log_progress(void *user, size_t done)
{
    progress_log *l = user;
    ck_assert_uint_gt(done, l->last);
    l->calls++;
    l->last = done;
    return l->ret;
}

/* Encode gen_clips' frames with tgi_gif_encode_frames (clips, or one clip when !cuts);
 * returns the file's bytes (caller frees), *len; rc in *rc_out. */
static char *encode_clips(int w, int h, int q, int threads, bool cuts, progress_log *log,
                          int *rc_out, size_t *len)
{
    uint8_t *buf = malloc((size_t)w * (size_t)h * 4 * CLIPS_N);
    ck_assert_ptr_nonnull(buf);
    const uint8_t *frames[CLIPS_N];
    int delays[CLIPS_N];
    for (int i = 0; i < CLIPS_N; i++) {
        uint8_t *f = buf + (size_t)w * (size_t)h * 4 * (size_t)i;
        gen_clips(f, w, h, i);
        frames[i] = f;
        delays[i] = 5 + i % 3;
    }
    tgi_gif_params p = params(w, h, q);
    p.threads = threads;
    tgi_gif_frames in = {.n = CLIPS_N,
                         .rgba = frames,
                         .delay_cs = delays,
                         .clip = cuts ? clip_of : NULL,
                         .progress = log ? log_progress : NULL,
                         .user = log};
    char *path = tgt_tmp_path(".gif");
    ck_assert_ptr_nonnull(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tg_ctx *ctx = tg_ctx_new();
    *rc_out = tgi_gif_encode_frames(ctx, fd, &p, &in);
    close(fd);
    tg_ctx_free(&ctx);
    free(buf);
    char *d = tgt_read_file(path, len);
    ck_assert_ptr_nonnull(d);
    unlink(path);
    free(path);
    return d;
}

/* The clips are encoded side by side, and the bytes are the same on 1 to 4 threads; each
 * clip starts with a key frame (the whole canvas, no transparent index) that shows its
 * source; one clip (no cuts given) is cut where its colours sweep, the same on 1 and 4. */
START_TEST(test_clips_side_by_side_same_bytes)
{
    enum { W = 320, H = 200 };
    static const int qs[] = {90, 20, 100};
    for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
        int rc;
        size_t lref = 0;
        char *ref = encode_clips(W, H, qs[q], 1, true, NULL, &rc, &lref);
        ck_assert_int_eq(rc, 0);
        static const int threads[] = {2, 3, 4, 0};
        for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
            size_t l = 0;
            char *d = encode_clips(W, H, qs[q], threads[t], true, NULL, &rc, &l);
            ck_assert_int_eq(rc, 0);
            ck_assert_msg(l == lref && memcmp(d, ref, l) == 0,
                          "q%d: %d threads give %zu bytes, 1 thread %zu (or other bytes)", qs[q],
                          threads[t], l, lref);
            free(d);
        }
        /* key frames: the output's frames are clip 0's 6, 1's 4, 2's 4, one merged still,
         * clip 4's 5; each clip's first frame covers the canvas, opaque */
        char *path = tgt_tmp_path(".gif");
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(ref, 1, lref, f), lref);
        fclose(f);
        static const int key_out[] = {0, 6, 10, 14, 15}, key_in[] = {0, 6, 10, 14, 17};
        int err = 0;
        GifFileType *gf = DGifOpenFileName(path, &err);
        ck_assert_ptr_nonnull(gf);
        ck_assert_int_eq(DGifSlurp(gf), GIF_OK);
        ck_assert_int_eq(gf->ImageCount, 20);
        for (size_t k = 0; k < 5; k++) {
            const GifImageDesc *im = &gf->SavedImages[key_out[k]].ImageDesc;
            ck_assert_msg(im->Left == 0 && im->Top == 0 && im->Width == W && im->Height == H,
                          "q%d: key frame %d is %dx%d at %d,%d", qs[q], key_out[k], im->Width,
                          im->Height, im->Left, im->Top);
            GraphicsControlBlock gcb;
            ck_assert_int_eq(DGifSavedExtensionToGCB(gf, key_out[k], &gcb), GIF_OK);
            ck_assert_int_eq(gcb.TransparentColor, NO_TRANSPARENT_COLOR);
        }
        DGifCloseFile(gf, NULL);
        tgt_gif d;
        load(path, &d);
        ck_assert_int_eq(d.frames, 20);
        ck_assert_int_eq(d.delays_cs[14], 5 + 14 % 3 + 5 + 15 % 3 + 5 + 16 % 3);
        for (size_t k = 0; k < 5; k++) {
            if (key_in[k] == 6) /* noise: no palette shows it well */
                continue;
            uint8_t *src = tgt_make_frame(gen_clips, W, H, key_in[k]);
            double db = tgt_psnr_rgba(src, d.rgba[key_out[k]], W, H);
            ck_assert_msg(db >= (qs[q] >= 90 ? 24 : 18), "q%d: key frame %d: PSNR %.2f dB", qs[q],
                          key_in[k], db);
            free(src);
        }
        tgt_gif_free(&d);
        unlink(path);
        free(path);
        /* one clip: cut inside where its colours sweep (the hard cuts between the
         * generators: seg_cuts), the same bytes on 1 and 4 threads; a clip with no sweep
         * gives the frame-by-frame encoder's bytes (test_motion_cut_only_at_key_frames) */
        size_t l1 = 0, l4 = 0;
        char *one = encode_clips(W, H, qs[q], 1, false, NULL, &rc, &l1);
        ck_assert_int_eq(rc, 0);
        char *four = encode_clips(W, H, qs[q], 4, false, NULL, &rc, &l4);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(l4 == l1 && memcmp(four, one, l1) == 0,
                      "q%d: one clip gives %zu bytes on 4 threads, %zu on 1", qs[q], l4, l1);
        free(four);
        free(one);
        free(ref);
    }
}
END_TEST

/* Progress comes on the caller's thread with a growing count (every frame when one
 * thread encodes them all) that ends at the number of frames; a nonzero answer stops
 * the encoding with that code. */
START_TEST(test_clips_progress_and_stop)
{
    int rc;
    size_t l;
    progress_log log = {0};
    free(encode_clips(160, 100, 90, 1, true, &log, &rc, &l));
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(log.calls, CLIPS_N);
    ck_assert_uint_eq(log.last, CLIPS_N);
    /* on two threads the count ends at every frame too (the other thread's last clip) */
    progress_log two = {0};
    free(encode_clips(160, 100, 90, 2, true, &two, &rc, &l));
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(two.last, CLIPS_N);
    static const int threads[] = {1, 2};
    for (size_t t = 0; t < 2; t++) {
        progress_log stop = {.ret = TG_ECANCEL};
        free(encode_clips(160, 100, 90, threads[t], true, &stop, &rc, &l));
        ck_assert_int_eq(rc, TG_ECANCEL);
        ck_assert_uint_eq(stop.calls, 1);
    }
}
END_TEST

/* ffmpeg decodes our (lossy) GIFs too: all frames, no complaint. */
START_TEST(test_ffmpeg_decodes)
{
    static const int qs[] = {100, 60, 1};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        tgi_gif_params p = params(120, 90, qs[i]);
        char *path = encode_file(&p, gen_mixed, 8, NULL);
        int frames = ffmpeg_frames(path);
        ck_assert_msg(frames == 8, "q%d: ffmpeg decoded %d frames, expected 8", qs[i], frames);
        /* and giflib: the picture stays above a floor even at quality 1 */
        tgt_gif d;
        load(path, &d);
        ck_assert_int_eq(d.frames, 8);
        check_psnr(&d, gen_mixed, qs[i] >= 60 ? 22 : 17);
        tgt_gif_free(&d);
        unlink(path);
        free(path);
    }
}
END_TEST

/* ---- palettes and temporal stability ---- */

static int local_maps(const char *path, int *frames)
{
    int err = 0, n = 0;
    GifFileType *gf = DGifOpenFileName(path, &err);
    ck_assert_ptr_nonnull(gf);
    ck_assert_int_eq(DGifSlurp(gf), GIF_OK);
    ck_assert_ptr_nonnull(gf->SColorMap);
    for (int i = 0; i < gf->ImageCount; i++)
        n += gf->SavedImages[i].ImageDesc.ColorMap != NULL;
    *frames = gf->ImageCount;
    DGifCloseFile(gf, &err);
    return n;
}

/* A still photo-like picture with a slow drift: the first palette fits every frame. */
static void gen_drift(uint8_t *rgba, int w, int h, int i)
{
    tgt_gen_gradient(rgba, w, h, 0);
    for (size_t k = 0; k < (size_t)w * (size_t)h; k++)
        rgba[4 * k] = tgt_clamp8(rgba[4 * k] + 6.0 * sin(i * 0.7 + (double)(k % (size_t)w) / 30.0));
}

START_TEST(test_palette_reuse)
{
    enum { W = 160, H = 120, N = 8 };
    long bytes[3];
    double worst[3];
    int nlocal[3];
    for (int mode = TG_GIF_PALETTE_AUTO; mode <= TG_GIF_PALETTE_LOCAL; mode++) {
        tgi_gif_params p = params(W, H, 90);
        p.palette = mode;
        char *path = encode_file(&p, gen_drift, N, NULL);
        bytes[mode] = tgt_file_size(path);
        int frames;
        nlocal[mode] = local_maps(path, &frames);
        ck_assert_int_eq(frames, N);
        tgt_gif d;
        load(path, &d);
        ck_assert_int_eq(d.frames, N);
        worst[mode] = 99;
        for (int i = 0; i < N; i++) {
            uint8_t *src = tgt_make_frame(gen_drift, W, H, i);
            double db = tgt_psnr_rgba(src, d.rgba[i], W, H);
            worst[mode] = db < worst[mode] ? db : worst[mode];
            free(src);
        }
        tgt_gif_free(&d);
        unlink(path);
        free(path);
        fprintf(stderr, "palette mode %d: %ld bytes, %d local tables, worst %.2f dB\n", mode,
                bytes[mode], nlocal[mode], worst[mode]);
    }
    /* auto: mostly the global table; shared: only it; local: one table per later frame */
    ck_assert_int_le(nlocal[TG_GIF_PALETTE_AUTO], N / 4);
    ck_assert_int_eq(nlocal[TG_GIF_PALETTE_SHARED], 0);
    ck_assert_int_eq(nlocal[TG_GIF_PALETTE_LOCAL], N - 1);
    ck_assert_msg(bytes[TG_GIF_PALETTE_AUTO] < bytes[TG_GIF_PALETTE_LOCAL] * 9 / 10 &&
                      bytes[TG_GIF_PALETTE_SHARED] <= bytes[TG_GIF_PALETTE_AUTO],
                  "reuse %ld bytes, shared %ld, local %ld", bytes[TG_GIF_PALETTE_AUTO],
                  bytes[TG_GIF_PALETTE_SHARED], bytes[TG_GIF_PALETTE_LOCAL]);
    /* the displayed result stays nearly as good (within 1.6 dB of per-frame palettes on
     * the worst frame; 1.5 dB before issue 15, when a per-pixel tolerance of 3 left the
     * smallest drifts unsent and the larger mean error of the rest made 2 new palettes) */
    ck_assert_double_ge(worst[TG_GIF_PALETTE_AUTO], 32);
    ck_assert_double_ge(worst[TG_GIF_PALETTE_AUTO], worst[TG_GIF_PALETTE_LOCAL] - 1.6);
    ck_assert_double_ge(worst[TG_GIF_PALETTE_SHARED], 30);

    /* a frame whose colours the global palette lacks gets its own table */
    tgi_gif_params p = params(W, H, 90);
    char *path = encode_file(&p, gen_square, 4, NULL); /* the red square is new in frame 1.. */
    int frames;
    ck_assert_int_ge(local_maps(path, &frames), 1);
    tgt_gif d;
    load(path, &d);
    check_psnr(&d, gen_square, 28);
    tgt_gif_free(&d);
    unlink(path);
    free(path);
}
END_TEST

/* Pixels the moving square never touches never change on screen: no dither crawl. */
START_TEST(test_static_areas_stable)
{
    enum { W = 200, H = 150, N = 10 };
    static const int qs[] = {100, 90, 50, 10};
    for (size_t c = 0; c < sizeof(qs) / sizeof(qs[0]); c++) {
        tgi_gif_params p = params(W, H, qs[c]);
        char *path = encode_file(&p, gen_square, N, NULL);
        tgt_gif d;
        load(path, &d);
        ck_assert_int_eq(d.frames, N);
        long moved = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                bool path_px = false;
                for (int i = 0; i < N; i++) {
                    int x0 = 10 + SQ_DX * i, y0 = 10 + SQ_DY * i;
                    path_px |= x >= x0 - 2 && x < x0 + SQ + 2 && y >= y0 - 2 && y < y0 + SQ + 2;
                }
                if (path_px)
                    continue;
                size_t k = ((size_t)y * W + (size_t)x) * 4;
                for (int i = 1; i < N; i++)
                    moved += memcmp(d.rgba[i] + k, d.rgba[0] + k, 3) != 0;
            }
        ck_assert_msg(moved == 0, "q%d: %ld static pixel-frames changed", qs[c], moved);
        tgt_gif_free(&d);
        unlink(path);
        free(path);
    }
}
END_TEST

/* A slow centred zoom (1.5 % a frame) over a picture with smooth areas, edges and fine
 * texture: every pixel moves by a fraction of a pixel each frame, as in the fixtures'
 * zooms. The picture is a function of the position, so the zoom needs no resampling. */
static void gen_zoom(uint8_t *rgba, int w, int h, int i)
{
    double z = 1.0 + 0.015 * i, cx = w / 2.0, cy = h / 2.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (x - cx) / z + cx, v = (y - cy) / z + cy;
            double tex = 40.0 * sin(u * 0.9) * sin(v * 0.7);        /* fine texture */
            double edge = fmod(floor(u / 16) + floor(v / 16), 2.0); /* blocks with edges */
            uint8_t *p = rgba + 4 * ((size_t)y * (size_t)w + (size_t)x);
            p[0] = tgt_clamp8(60 + 1.1 * u + (u > cx ? tex : 0));
            p[1] = tgt_clamp8(50 + 1.3 * v + 70 * edge);
            p[2] = tgt_clamp8(200 - 0.8 * u + (v > cy ? tex : 0));
            p[3] = 255;
        }
}

/* ---- fades cut into segments (gif.c seg_cuts) ---- */

/* Two colourful pictures (a hue sweep with stripes; rings of other hues), the first for
 * frames 0-5, a cross-fade over frames 6-13, the second from frame 14 on. */
static void gen_fade_mid(uint8_t *rgba, int w, int h, int i)
{
    double t = i < 6 ? 0.0 : i >= 14 ? 1.0 : (i - 5) / 9.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgba + ((size_t)y * (size_t)w + (size_t)x) * 4;
            double a = 6.2832 * x / w, r = hypot(x - w / 2.0, y - h / 2.0) / 6.0;
            double ar = 128 + 110 * sin(a), ag = 128 + 110 * sin(a + 2.1) * (y % 7 < 4),
                   ab = 128 + 110 * sin(a + 4.2);
            double br = 40 + 30 * sin(r), bg = 150 + 90 * sin(r + 1.0),
                   bb = 200 + 50 * cos(r * 0.5);
            p[0] = tgt_clamp8(ar + (br - ar) * t);
            p[1] = tgt_clamp8(ag + (bg - ag) * t);
            p[2] = tgt_clamp8(ab + (bb - ab) * t);
            p[3] = 255;
        }
}

/* n frames of gen as one clip through tgi_gif_encode_frames on `threads`: the bytes
 * (caller frees), *len, and the segments it was cut into. */
static char *encode_one_clip(tgt_gen_fn gen, int w, int h, int n, int q, int threads,
                             size_t *segments, size_t *len)
{
    uint8_t *buf = malloc((size_t)w * (size_t)h * 4 * (size_t)n);
    ck_assert_ptr_nonnull(buf);
    const uint8_t *frames[32];
    int delays[32];
    ck_assert_int_le(n, 32);
    for (int i = 0; i < n; i++) {
        uint8_t *f = buf + (size_t)w * (size_t)h * 4 * (size_t)i;
        gen(f, w, h, i);
        frames[i] = f;
        delays[i] = 8;
    }
    tgi_gif_params p = params(w, h, q);
    p.threads = threads;
    tgi_gif_frames in = {.n = (size_t)n, .rgba = frames, .delay_cs = delays, .segments = segments};
    char *path = tgt_tmp_path(".gif");
    ck_assert_ptr_nonnull(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tg_ctx *ctx = tg_ctx_new();
    ck_assert_int_eq(tgi_gif_encode_frames(ctx, fd, &p, &in), 0);
    close(fd);
    tg_ctx_free(&ctx);
    free(buf);
    char *d = tgt_read_file(path, len);
    ck_assert_ptr_nonnull(d);
    unlink(path);
    free(path);
    return d;
}

/* The same n frames of gen through tgi_gif_add, one by one (the streaming encoder). */
static char *encode_streaming(tgt_gen_fn gen, int w, int h, int n, int q, size_t *len)
{
    int delays[32];
    for (int i = 0; i < n && i < 32; i++)
        delays[i] = 8;
    tgi_gif_params p = params(w, h, q);
    char *path = encode_file(&p, gen, n, delays);
    char *d = tgt_read_file(path, len);
    ck_assert_ptr_nonnull(d);
    unlink(path);
    free(path);
    return d;
}

/* A cross-fade in the middle of one clip is cut into segments (a key frame where the
 * colours sweep, at least 5 frames from the clip's ends and from one another), encoded
 * side by side: the same bytes on 1, 2 and 4 threads, not those of the streaming encoder
 * (which has no key frame there). */
START_TEST(test_fade_cut_into_segments)
{
    enum { W = 160, H = 120, N = 20 };
    static const int qs[] = {100, 90, 50};
    for (size_t q = 0; q < sizeof(qs) / sizeof(qs[0]); q++) {
        size_t segs = 0, l1 = 0, ls = 0;
        char *ref = encode_one_clip(gen_fade_mid, W, H, N, qs[q], 1, &segs, &l1);
        ck_assert_msg(segs >= 2 && segs <= 3, "q%d: %zu segments", qs[q], segs);
        char *st = encode_streaming(gen_fade_mid, W, H, N, qs[q], &ls);
        ck_assert_msg(ls != l1 || memcmp(st, ref, l1) != 0,
                      "q%d: the fade was not cut (the streaming encoder's bytes)", qs[q]);
        free(st);
        static const int threads[] = {2, 4};
        for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
            size_t s = 0, l = 0;
            char *d = encode_one_clip(gen_fade_mid, W, H, N, qs[q], threads[t], &s, &l);
            ck_assert_uint_eq(s, segs);
            ck_assert_msg(l == l1 && memcmp(d, ref, l) == 0,
                          "q%d: %d threads give %zu bytes, 1 thread %zu (or other bytes)", qs[q],
                          threads[t], l, l1);
            free(d);
        }
        free(ref);
    }
}
END_TEST

static void gen_static(uint8_t *rgba, int w, int h, int i)
{
    (void)i;
    tgt_gen_gradient(rgba, w, h, 0);
}

/* Motion (a zoom, a square moving over a textured gradient) and a still are not fades:
 * one clip stays one segment, the streaming encoder's bytes. (A quarter of the frame
 * turning to noise, gen_mixed, does sweep: 25 % of the pixels change colour cell.) */
START_TEST(test_motion_cut_only_at_key_frames)
{
    enum { W = 160, H = 96, N = 24 };
    static const tgt_gen_fn gens[] = {gen_zoom, gen_square, gen_static};
    for (size_t g = 0; g < sizeof(gens) / sizeof(gens[0]); g++) {
        size_t segs = 0, l = 0, ls = 0;
        char *d = encode_one_clip(gens[g], W, H, N, 90, 2, &segs, &l);
        ck_assert_msg(segs == 1, "generator %zu: %zu segments", g, segs);
        char *st = encode_streaming(gens[g], W, H, N, 90, &ls);
        ck_assert_msg(ls == l && memcmp(st, d, l) == 0, "generator %zu: not the streaming bytes",
                      g);
        free(st);
        free(d);
    }
}
END_TEST

/* On moving content, a higher --quality never gives a smaller file or a worse picture
 * (issue 15: q70 was smaller *and* worse than q60 on a zoom, q90 larger than q100). */
START_TEST(test_quality_monotone_on_motion)
{
    enum { W = 160, H = 96, N = 12 };
    long prev_bytes = 0;
    double prev_db = 0;
    int prev_q = 0;
    for (int q = 10; q <= 100; q += 10) {
        tgi_gif_params p = params(W, H, q);
        char *path = encode_file(&p, gen_zoom, N, NULL);
        long bytes = tgt_file_size(path);
        tgt_gif d;
        load(path, &d);
        ck_assert_int_eq(d.frames, N);
        double db = 0; /* mean PSNR over the frames */
        for (int i = 0; i < N; i++) {
            uint8_t *src = tgt_make_frame(gen_zoom, W, H, i);
            db += tgt_psnr_rgba(src, d.rgba[i], W, H) / N;
            free(src);
        }
        tgt_gif_free(&d);
        unlink(path);
        free(path);
        fprintf(stderr, "zoom q%d: %ld bytes, %.2f dB\n", q, bytes, db);
        ck_assert_msg(bytes >= prev_bytes, "q%d: %ld bytes, fewer than q%d's %ld", q, bytes, prev_q,
                      prev_bytes);
        /* equal pictures may differ by rounding in the last digits */
        ck_assert_msg(db >= prev_db - 0.005, "q%d: %.3f dB, worse than q%d's %.3f dB", q, db,
                      prev_q, prev_db);
        prev_bytes = bytes, prev_db = db, prev_q = q;
    }
}
END_TEST

typedef struct job {
    const char *path;
    int rc;
    char msg[256];
} job;

static void *encode_thread(void *arg)
{
    job *j = arg;
    tg_ctx *ctx = tg_ctx_new();
    int fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    tgi_gif_params p = params(120, 90, 75);
    j->rc = fd < 0 ? TG_EIO : encode_fd(ctx, fd, &p, gen_mixed, 8, NULL);
    snprintf(j->msg, sizeof(j->msg), "%s", tg_ctx_message(ctx));
    if (fd >= 0)
        close(fd);
    tg_ctx_free(&ctx);
    return NULL;
}

START_TEST(test_parallel_encoders)
{
    tgi_gif_params p = params(120, 90, 75);
    char *ref = encode_file(&p, gen_mixed, 8, NULL);
    size_t lr = 0;
    char *dr = tgt_read_file(ref, &lr);
    ck_assert_ptr_nonnull(dr);
    enum { T = 3 };
    job jobs[T];
    char *paths[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        paths[t] = tgt_tmp_path(".gif");
        jobs[t] = (job){.path = paths[t], .rc = -99};
        ck_assert_int_eq(pthread_create(&th[t], NULL, encode_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++) {
        ck_assert_msg(jobs[t].rc == 0, "thread %d: %d %s", t, jobs[t].rc, jobs[t].msg);
        size_t l = 0;
        char *d = tgt_read_file(paths[t], &l);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_eq(l, lr);
        ck_assert_msg(memcmp(d, dr, l) == 0, "thread %d output differs", t);
        free(d);
        unlink(paths[t]);
        free(paths[t]);
    }
    free(dr);
    unlink(ref);
    free(ref);
}
END_TEST

/* Reads a pipe to the end, slowly, into a buffer. */
typedef struct drain {
    int fd;
    char *buf;
    size_t len, cap;
} drain;

static void *drain_thread(void *arg)
{
    drain *d = arg;
    for (;;) {
        if (d->len + 4096 > d->cap) {
            d->cap = d->cap ? d->cap * 2 : 65536;
            d->buf = realloc(d->buf, d->cap);
            if (!d->buf)
                return NULL;
        }
        ssize_t k = read(d->fd, d->buf + d->len, 4096);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return NULL;
        d->len += (size_t)k;
        usleep(300);
    }
}

static void on_alarm(int sig)
{
    (void)sig;
}

START_TEST(test_pipe_with_signals)
{
    /* A slow reader on a pipe and a 1 ms timer signal without SA_RESTART: writes block,
     * get interrupted (EINTR) or come back short; the output must still be complete. */
    tgi_gif_params p = params(256, 256, 90); /* noise: about 80 KB a frame */
    char *ref = encode_file(&p, gen_noise, 6, NULL);
    size_t lr = 0;
    char *dr = tgt_read_file(ref, &lr);
    ck_assert_ptr_nonnull(dr);

    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    struct sigaction sa = {0}, old_sa;
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &old_sa), 0);
    sigset_t alarm_set;
    sigemptyset(&alarm_set);
    sigaddset(&alarm_set, SIGALRM);
    /* the reader thread inherits a mask with SIGALRM blocked: the encoder gets them all */
    pthread_sigmask(SIG_BLOCK, &alarm_set, NULL);
    drain d = {.fd = fds[0]};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, drain_thread, &d), 0);
    pthread_sigmask(SIG_UNBLOCK, &alarm_set, NULL);
    struct itimerval it = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);

    tg_ctx *ctx = tg_ctx_new();
    int rc = encode_fd(ctx, fds[1], &p, gen_noise, 6, NULL);

    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old_sa, NULL);
    close(fds[1]);
    pthread_join(th, NULL);
    close(fds[0]);
    ck_assert_msg(rc == 0, "encode to a pipe: %d %s", rc, tg_ctx_message(ctx));
    ck_assert_uint_eq(d.len, lr);
    ck_assert_int_eq(memcmp(d.buf, dr, lr), 0);
    free(d.buf);
    free(dr);
    tg_ctx_free(&ctx);
    unlink(ref);
    free(ref);
}
END_TEST

Suite *suite_gif(void)
{
    Suite *s = suite_create("gif");
    TCase *tc = tcase_create("gif");
    tcase_add_test(tc, test_header_and_metadata);
    tcase_add_test(tc, test_loop_count);
    tcase_add_test(tc, test_gradient_psnr);
    tcase_add_test(tc, test_quality_changes_size);
    tcase_add_test(tc, test_noise);
    tcase_add_test(tc, test_moving_square_is_cropped);
    tcase_add_test(tc, test_identical_frames_merge);
    tcase_add_test(tc, test_long_still_splits_delay);
    tcase_add_test(tc, test_bad_parameters);
    tcase_add_test(tc, test_end_without_frames);
    tcase_add_test(tc, test_free_abandons);
    tcase_add_test(tc, test_fd_stays_open);
    tcase_add_test(tc, test_write_errors);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_parallel_encoders);
    tcase_add_test(tc, test_pipe_with_signals);
    tcase_add_test(tc, test_lzw_exact_roundtrip);
    tcase_add_test(tc, test_lzw_lossy_within_tolerance);
    tcase_add_test(tc, test_lzw_segments);
    tcase_add_test(tc, test_lzw_reused_compressor_same_bytes);
    tcase_add_test(tc, test_threads_same_bytes);
    tcase_add_test(tc, test_clips_side_by_side_same_bytes);
    tcase_add_test(tc, test_clips_progress_and_stop);
    tcase_add_test(tc, test_ffmpeg_decodes);
    tcase_add_test(tc, test_palette_reuse);
    tcase_add_test(tc, test_fade_cut_into_segments);
    tcase_add_test(tc, test_motion_cut_only_at_key_frames);
    tcase_add_test(tc, test_static_areas_stable);
    tcase_add_test(tc, test_quality_monotone_on_motion);
    suite_add_tcase(s, tc);
    return s;
}
