/*
 * test_encoders.c — the animated WebP (src/render/webp.c) and MP4 (src/render/mp4.c)
 * encoders. Synthetic RGBA frames (a drifting gradient, a moving square on a texture)
 * are encoded to scratch files and read back:
 *
 *   WebP: the RIFF chunks (VP8X, ANIM loop count, one ANMF per frame with its
 *         duration), then libwebp's WebPAnimDecoder for frame count, timestamps and
 *         per-frame PSNR (lossy) or exact pixels (lossless);
 *   MP4:  /usr/bin/ffprobe for codec, pixel format, size, frame count, duration, rate,
 *         colour tags and the absence of audio; the top-level atoms for moov-before-mdat
 *         (+faststart); /usr/bin/ffmpeg decodes to RGBA for per-frame PSNR and colours.
 *
 * Both: quality vs size, parameter validation, finishing without frames, write errors,
 * determinism (two encodes give the same bytes). Through the render stage's encoder
 * driver (src/render/budget.c): WebP at quality 100 is lossless, the GIF byte
 * budget reaches the new low-quality rungs, and its size model follows the GIF
 * encoder from rung to rung on real frames.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>
#include <webp/demux.h>

#include "core/error.h"
#include "render/budget.h"
#include "render/frames.h"
#include "render/mp4.h"
#include "render/webp.h"
#include "util.h"

Suite *suite_encoders(void);

#define W   320
#define H   180
#define N   24
#define FPS 12

/* ---- synthetic frames ---- */

/* The drifting gradient with a 16x16 red square moving by (5,3) per frame. No checker
 * texture: an 8 px checker lines up with the codecs' block edges, and VP8's loop filter
 * (WebP q90, libwebp defaults) smooths it down to ~28 dB, ~36 dB without the filter;
 * natural video does not look like that. */
static void gen_square(uint8_t *rgba, int w, int h, int i)
{
    tgt_gen_gradient(rgba, w, h, i);
    int x0 = 10 + 5 * i, y0 = 10 + 3 * i;
    for (int y = y0; y < y0 + 16 && y < h; y++)
        for (int x = x0; x < x0 + 16 && x < w; x++) {
            uint8_t *p = rgba + ((size_t)y * (size_t)w + (size_t)x) * 4;
            p[0] = 250, p[1] = 20, p[2] = 30;
        }
}

/* gen_square with an alpha channel that varies per pixel (must be ignored). */
static void gen_alpha(uint8_t *rgba, int w, int h, int i)
{
    gen_square(rgba, w, h, i);
    for (size_t k = 0; k < (size_t)w * (size_t)h; k++)
        rgba[k * 4 + 3] = (uint8_t)(k * 37 + (size_t)i);
}

/* Four flat quadrants: red, green, blue, grey. */
static const uint8_t quad_rgb[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {128, 128, 128}};
static void gen_quads(uint8_t *rgba, int w, int h, int i)
{
    (void)i;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *c = quad_rgb[(y >= h / 2) * 2 + (x >= w / 2)];
            uint8_t *p = rgba + ((size_t)y * (size_t)w + (size_t)x) * 4;
            p[0] = c[0], p[1] = c[1], p[2] = c[2], p[3] = 255;
        }
}

static uint32_t rd24(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static uint32_t rd32le(const uint8_t *p)
{
    return rd24(p) | (uint32_t)p[3] << 24;
}

static uint32_t rd32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool same_file(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    char *x = tgt_read_file(a, &na), *y = tgt_read_file(b, &nb);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    bool same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static void quiet_av(void)
{
    av_log_set_level(AV_LOG_ERROR); /* x264 prints its statistics at INFO */
}

/* ================= WebP ================= */

static tgi_webp_params wparams(int w, int h, int q)
{
    return (tgi_webp_params){.width = w, .height = h, .quality = q, .lossless = 0, .loop_count = 0};
}

/* 12 fps as alternating 83/84 ms: durations that do not all match */
static int dur_12fps(int i)
{
    return i % 3 == 2 ? 84 : 83;
}

static int encode_webp_fd(tg_ctx *ctx, int fd, const tgi_webp_params *p, tgt_gen_fn gen, int n)
{
    tgi_webp *w = NULL;
    int rc = tgi_webp_begin(ctx, fd, p, &w);
    if (rc < 0)
        return rc;
    uint8_t *f = tgt_make_frame(gen, p->width, p->height, 0);
    for (int i = 0; i < n && rc == 0; i++) {
        gen(f, p->width, p->height, i);
        rc = tgi_webp_add(ctx, w, f, dur_12fps(i));
    }
    free(f);
    if (rc < 0) {
        tgi_webp_free(&w);
        ck_assert_ptr_null(w);
        return rc;
    }
    rc = tgi_webp_end(ctx, &w);
    ck_assert_ptr_null(w);
    return rc;
}

static char *encode_webp(const tgi_webp_params *p, tgt_gen_fn gen, int n)
{
    char *path = tgt_tmp_path(".webp");
    ck_assert_ptr_nonnull(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    tg_ctx *ctx = tg_ctx_new();
    int rc = encode_webp_fd(ctx, fd, p, gen, n);
    ck_assert_msg(rc == 0, "webp encode failed: %d %s", rc, tg_ctx_message(ctx));
    tg_ctx_free(&ctx);
    close(fd);
    return path;
}

/* The RIFF structure: VP8X with the animation flag, ANIM, one ANMF per frame. */
typedef struct riff_info {
    int loop_count;
    int anmf;
    uint32_t durations[64];
    bool vp8x_anim;
} riff_info;

static void parse_riff(const char *path, riff_info *ri)
{
    size_t len = 0;
    uint8_t *b = (uint8_t *)tgt_read_file(path, &len);
    ck_assert_ptr_nonnull(b);
    memset(ri, 0, sizeof(*ri));
    ri->loop_count = -1;
    ck_assert_uint_ge(len, 12);
    ck_assert_int_eq(memcmp(b, "RIFF", 4), 0);
    ck_assert_uint_eq(rd32le(b + 4), len - 8);
    ck_assert_int_eq(memcmp(b + 8, "WEBP", 4), 0);
    for (size_t off = 12; off + 8 <= len;) {
        uint32_t size = rd32le(b + off + 4);
        const uint8_t *d = b + off + 8;
        ck_assert_uint_le(off + 8 + size, len);
        if (memcmp(b + off, "VP8X", 4) == 0) {
            ck_assert_uint_eq(off, 12); /* first chunk */
            ri->vp8x_anim = (d[0] & 0x02) != 0;
        } else if (memcmp(b + off, "ANIM", 4) == 0) {
            ck_assert_uint_ge(size, 6);
            ri->loop_count = d[4] | d[5] << 8;
        } else if (memcmp(b + off, "ANMF", 4) == 0) {
            ck_assert_uint_ge(size, 16);
            if (ri->anmf < 64)
                ri->durations[ri->anmf] = rd24(d + 12);
            ri->anmf++;
        }
        off += 8 + size + (size & 1);
    }
    free(b);
}

/* Decoded with libwebp's WebPAnimDecoder: frames composited as a viewer shows them. */
typedef struct webp_dec {
    int width, height, frames, loop_count;
    int ts[64]; /* end timestamp of each frame, ms */
    uint8_t *rgba[64];
} webp_dec;

static void webp_decode(const char *path, webp_dec *d)
{
    size_t len = 0;
    char *b = tgt_read_file(path, &len);
    ck_assert_ptr_nonnull(b);
    memset(d, 0, sizeof(*d));
    WebPData data = {(const uint8_t *)b, len};
    WebPAnimDecoderOptions o;
    ck_assert(WebPAnimDecoderOptionsInit(&o));
    o.color_mode = MODE_RGBA;
    o.use_threads = 0;
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&data, &o);
    ck_assert_msg(dec != NULL, "WebPAnimDecoderNew failed on %s", path);
    WebPAnimInfo info;
    ck_assert(WebPAnimDecoderGetInfo(dec, &info));
    d->width = (int)info.canvas_width;
    d->height = (int)info.canvas_height;
    d->loop_count = (int)info.loop_count;
    size_t fsize = (size_t)d->width * (size_t)d->height * 4;
    while (WebPAnimDecoderHasMoreFrames(dec)) {
        uint8_t *buf = NULL;
        int ts = 0;
        ck_assert_msg(WebPAnimDecoderGetNext(dec, &buf, &ts), "decoding frame %d", d->frames);
        ck_assert_int_lt(d->frames, 64);
        d->ts[d->frames] = ts;
        d->rgba[d->frames] = malloc(fsize);
        ck_assert_ptr_nonnull(d->rgba[d->frames]);
        memcpy(d->rgba[d->frames], buf, fsize);
        d->frames++;
    }
    ck_assert_int_eq(d->frames, (int)info.frame_count);
    WebPAnimDecoderDelete(dec);
    free(b);
}

static void webp_dec_free(webp_dec *d)
{
    for (int i = 0; i < d->frames; i++)
        free(d->rgba[i]);
}

START_TEST(test_webp_structure_and_quality)
{
    tgi_webp_params p = wparams(W, H, 90);
    char *path = encode_webp(&p, gen_square, N);

    riff_info ri;
    parse_riff(path, &ri);
    ck_assert(ri.vp8x_anim);
    ck_assert_int_eq(ri.loop_count, 0);
    ck_assert_int_eq(ri.anmf, N);
    for (int i = 0; i < N; i++)
        ck_assert_msg((int)ri.durations[i] == dur_12fps(i), "ANMF %d: duration %u, expected %d", i,
                      ri.durations[i], dur_12fps(i));

    webp_dec d;
    webp_decode(path, &d);
    ck_assert_int_eq(d.width, W);
    ck_assert_int_eq(d.height, H);
    ck_assert_int_eq(d.frames, N);
    ck_assert_int_eq(d.loop_count, 0);
    int end = 0;
    double worst = 99;
    for (int i = 0; i < N; i++) {
        end += dur_12fps(i);
        ck_assert_msg(d.ts[i] == end, "frame %d ends at %d ms, expected %d", i, d.ts[i], end);
        uint8_t *src = tgt_make_frame(gen_square, W, H, i);
        double db = tgt_psnr_rgba(src, d.rgba[i], W, H);
        worst = db < worst ? db : worst;
        ck_assert_msg(db >= 30.0, "frame %d: PSNR %.2f dB < 30 dB", i, db);
        for (size_t k = 0; k < (size_t)W * H; k++)
            ck_assert_msg(d.rgba[i][k * 4 + 3] == 255, "frame %d pixel %zu not opaque", i, k);
        free(src);
    }
    ck_assert_int_eq(end, 2000); /* 24 frames at 12 fps */
    fprintf(stderr, "webp q90 %dx%d: %ld bytes, worst frame PSNR %.2f dB\n", W, H,
            tgt_file_size(path), worst);
    webp_dec_free(&d);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_webp_lossless_exact)
{
    tgt_gen_fn gens[2] = {gen_square, gen_alpha}; /* alpha is ignored: frames are opaque */
    for (int g = 0; g < 2; g++) {
        tgi_webp_params p = wparams(W, H, 75);
        p.lossless = 1;
        char *path = encode_webp(&p, gens[g], 8);
        webp_dec d;
        webp_decode(path, &d);
        ck_assert_int_eq(d.frames, 8);
        for (int i = 0; i < d.frames; i++) {
            uint8_t *src = tgt_make_frame(gens[g], W, H, i);
            for (size_t k = 0; k < (size_t)W * H; k++) {
                const uint8_t *s = src + k * 4, *o = d.rgba[i] + k * 4;
                ck_assert_msg(s[0] == o[0] && s[1] == o[1] && s[2] == o[2] && o[3] == 255,
                              "gen %d frame %d pixel %zu: %u,%u,%u,%u expected %u,%u,%u,255", g, i,
                              k, o[0], o[1], o[2], o[3], s[0], s[1], s[2]);
            }
            free(src);
        }
        webp_dec_free(&d);
        unlink(path);
        free(path);
    }
}
END_TEST

START_TEST(test_webp_loop_count)
{
    tgi_webp_params p = wparams(64, 48, 80);
    p.loop_count = 3;
    char *path = encode_webp(&p, tgt_gen_gradient, 3);
    riff_info ri;
    parse_riff(path, &ri);
    ck_assert_int_eq(ri.loop_count, 3);
    webp_dec d;
    webp_decode(path, &d);
    ck_assert_int_eq(d.loop_count, 3);
    ck_assert_int_eq(d.frames, 3);
    webp_dec_free(&d);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_webp_quality_size)
{
    tgi_webp_params lo = wparams(W, H, 30), hi = wparams(W, H, 90);
    char *a = encode_webp(&lo, gen_square, 12), *b = encode_webp(&hi, gen_square, 12);
    long sa = tgt_file_size(a), sb = tgt_file_size(b);
    ck_assert_msg(sa > 0 && sa < sb, "q30: %ld bytes, q90: %ld bytes", sa, sb);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_webp_bad_params)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_webp *w = (tgi_webp *)&w; /* must be reset to NULL */
    const tgi_webp_params bad[] = {
        wparams(0, 10, 80), wparams(10, 0, 80),   wparams(4097, 10, 80), wparams(10, 4097, 80),
        wparams(10, 10, 0), wparams(10, 10, 101), {10, 10, 80, 0, -1},   {10, 10, 80, 0, 65536},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tgi_webp_begin(ctx, 1, &bad[i], &w);
        ck_assert_msg(rc == TG_EINVAL, "case %zu: rc %d", i, rc);
        ck_assert_ptr_null(w);
        ck_assert_str_ne(tg_ctx_message(ctx), "");
    }
    tgi_webp_params ok = wparams(16, 16, 80);
    ck_assert_int_eq(tgi_webp_begin(ctx, -1, &ok, &w), TG_EINVAL);
    ck_assert_int_eq(tgi_webp_begin(ctx, 1, NULL, &w), TG_EINVAL);
    ck_assert_int_eq(tgi_webp_begin(ctx, 1, &ok, NULL), TG_EINVAL);

    ck_assert_int_eq(tgi_webp_begin(ctx, 1, &ok, &w), 0);
    uint8_t *f = tgt_make_frame(tgt_gen_gradient, 16, 16, 0);
    ck_assert_int_eq(tgi_webp_add(ctx, w, f, 0), TG_EINVAL);
    ck_assert_int_eq(tgi_webp_add(ctx, w, f, 65536), TG_EINVAL);
    ck_assert_int_eq(tgi_webp_add(ctx, w, NULL, 10), TG_EINVAL);
    ck_assert_int_eq(tgi_webp_add(ctx, NULL, f, 10), TG_EINVAL);
    ck_assert_int_eq(tgi_webp_add(ctx, w, f, 65535), 0);
    tgi_webp_free(&w);
    ck_assert_ptr_null(w);
    tgi_webp_free(&w); /* accepts NULL */
    tgi_webp_free(NULL);
    ck_assert_int_eq(tgi_webp_end(ctx, &w), TG_EINVAL);
    free(f);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_webp_no_frames)
{
    char *path = tgt_tmp_path(".webp");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tg_ctx *ctx = tg_ctx_new();
    tgi_webp_params p = wparams(32, 32, 80);
    ck_assert_int_eq(encode_webp_fd(ctx, fd, &p, tgt_gen_gradient, 0), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "no frame"));
    ck_assert_int_eq(tgt_file_size(path), 0);
    close(fd);
    tg_ctx_free(&ctx);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_webp_write_error)
{
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0)
        return; /* no /dev/full in this sandbox */
    tg_ctx *ctx = tg_ctx_new();
    tgi_webp_params p = wparams(32, 32, 80);
    int rc = encode_webp_fd(ctx, fd, &p, tgt_gen_gradient, 3);
    ck_assert_msg(rc == TG_EIO, "rc %d: %s", rc, tg_ctx_message(ctx));
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "webp"));
    close(fd);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_webp_deterministic)
{
    tgi_webp_params p = wparams(W, H, 75);
    char *a = encode_webp(&p, gen_square, 10), *b = encode_webp(&p, gen_square, 10);
    ck_assert_msg(same_file(a, b), "two encodes differ: %s %s", a, b);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}
END_TEST

/* ================= MP4 ================= */

static tgi_mp4_params mparams(int w, int h, double fps, int q)
{
    return (tgi_mp4_params){.width = w, .height = h, .fps = fps, .quality = q};
}

static int encode_mp4_path(tg_ctx *ctx, const char *path, const tgi_mp4_params *p, tgt_gen_fn gen,
                           int n)
{
    tgi_mp4 *m = NULL;
    int rc = tgi_mp4_begin(ctx, path, p, &m);
    if (rc < 0)
        return rc;
    ck_assert_str_eq(tgi_mp4_encoder_name(m), "libx264");
    uint8_t *f = tgt_make_frame(gen, p->width, p->height, 0);
    for (int i = 0; i < n && rc == 0; i++) {
        gen(f, p->width, p->height, i);
        rc = tgi_mp4_add(ctx, m, f);
    }
    free(f);
    if (rc < 0) {
        tgi_mp4_free(&m);
        return rc;
    }
    rc = tgi_mp4_end(ctx, &m);
    ck_assert_ptr_null(m);
    return rc;
}

static char *encode_mp4(const tgi_mp4_params *p, tgt_gen_fn gen, int n)
{
    char *path = tgt_tmp_path(".mp4");
    ck_assert_ptr_nonnull(path);
    tg_ctx *ctx = tg_ctx_new();
    int rc = encode_mp4_path(ctx, path, p, gen, n);
    ck_assert_msg(rc == 0, "mp4 encode failed: %d %s", rc, tg_ctx_message(ctx));
    tg_ctx_free(&ctx);
    return path;
}

/* ffprobe's view: "key=value" lines, one stream block per stream. */
static char *probe(const char *path)
{
    char *argv[] = {"/usr/bin/ffprobe",
                    "-v",
                    "error",
                    "-count_frames",
                    "-show_entries",
                    "stream=codec_type,codec_name,pix_fmt,width,height,nb_read_frames,"
                    "avg_frame_rate,color_space,color_range,color_primaries,color_transfer:"
                    "format=duration",
                    "-of",
                    "default=noprint_wrappers=1",
                    (char *)path,
                    NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_msg(r.status == 0, "ffprobe failed (%d): %s", r.status, r.err);
    char *out = r.out;
    r.out = NULL;
    tgt_run_free(&r);
    return out;
}

/* The value of key in ffprobe's output (static buffer), or "" when absent. */
static const char *pv(const char *out, const char *key)
{
    static char buf[128];
    size_t kl = strlen(key);
    buf[0] = '\0';
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kl) == 0 && l[kl] == '=') {
            const char *v = l + kl + 1;
            size_t n = strcspn(v, "\n");
            n = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
            memcpy(buf, v, n);
            buf[n] = '\0';
            break;
        }
    }
    return buf;
}

static int count_str(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Offsets of the top-level 'moov' and 'mdat' atoms (-1 when absent). */
static void atom_offsets(const char *path, long *moov, long *mdat)
{
    size_t len = 0;
    uint8_t *b = (uint8_t *)tgt_read_file(path, &len);
    ck_assert_ptr_nonnull(b);
    *moov = *mdat = -1;
    for (size_t off = 0; off + 8 <= len;) {
        uint64_t size = rd32be(b + off);
        if (size == 1) {
            ck_assert_uint_le(off + 16, len);
            size = (uint64_t)rd32be(b + off + 8) << 32 | rd32be(b + off + 12);
        } else if (size == 0) {
            size = len - off;
        }
        ck_assert_msg(size >= 8 && off + size <= len, "bad atom at %zu", off);
        if (memcmp(b + off + 4, "moov", 4) == 0)
            *moov = (long)off;
        else if (memcmp(b + off + 4, "mdat", 4) == 0)
            *mdat = (long)off;
        off += size;
    }
    free(b);
}

/* Decode with ffmpeg to RGBA (one raw frame per coded frame); *frames set. */
static uint8_t *ffmpeg_decode(const char *path, int w, int h, int *frames)
{
    char *raw = tgt_tmp_path(".rgba");
    char *argv[] = {"/usr/bin/ffmpeg", "-v",        "error",       "-y", "-i",
                    (char *)path,      "-fps_mode", "passthrough", "-f", "rawvideo",
                    "-pix_fmt",        "rgba",      raw,           NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_msg(r.status == 0, "ffmpeg failed (%d): %s", r.status, r.err);
    tgt_run_free(&r);
    size_t len = 0;
    uint8_t *b = (uint8_t *)tgt_read_file(raw, &len);
    ck_assert_ptr_nonnull(b);
    size_t fsize = (size_t)w * (size_t)h * 4;
    ck_assert_uint_eq(len % fsize, 0);
    *frames = (int)(len / fsize);
    unlink(raw);
    free(raw);
    return b;
}

/* The render stage's driver: quality 100 makes a lossless WebP (exact pixels). */
START_TEST(test_webp_quality_100_is_lossless)
{
    tgi_frames fr = {.w = W, .h = H};
    for (int i = 0; i < 6; i++) {
        uint8_t *f = tgt_make_frame(gen_square, W, H, i);
        ck_assert_int_eq(tgi_frames_add(NULL, &fr, f, 8, 0), 0);
        free(f);
    }
    char *path = tgt_tmp_path(".webp");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tg_output_report rep = {0};
    tg_ctx *ctx = tg_ctx_new();
    int rc = tgi_budget_encode(ctx, TG_ANIM_WEBP, &fr, 100, 12.5, 0, path, fd, &rep, 0, 1, 0);
    ck_assert_msg(rc == 0, "%s", tg_ctx_message(ctx));
    close(fd);
    webp_dec d;
    webp_decode(path, &d);
    ck_assert_int_eq(d.frames, 6);
    for (int i = 0; i < d.frames; i++) {
        uint8_t *src = tgt_make_frame(gen_square, W, H, i);
        for (size_t k = 0; k < (size_t)W * H; k++)
            ck_assert_msg(memcmp(src + 4 * k, d.rgba[i] + 4 * k, 3) == 0,
                          "frame %d pixel %zu differs", i, k);
        free(src);
    }
    webp_dec_free(&d);
    tg_ctx_free(&ctx);
    tgi_frames_free(&fr);
    unlink(path);
    free(path);
}
END_TEST

/* GIF under a tight budget: the ladder's quality rungs (down to 10) come first. */
START_TEST(test_gif_budget_low_rungs)
{
    tgi_frames fr = {.w = W, .h = H};
    for (int i = 0; i < 12; i++) {
        uint8_t *f = tgt_make_frame(tgt_gen_gradient, W, H, i);
        ck_assert_int_eq(tgi_frames_add(NULL, &fr, f, 8, 0), 0);
        free(f);
    }
    char *path = tgt_tmp_path(".gif");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tg_ctx *ctx = tg_ctx_new();
    tg_output_report low = {0}, full = {0}, rep = {0};
    ck_assert_int_eq(tgi_budget_encode(ctx, TG_ANIM_GIF, &fr, 10, 12.5, 0, path, fd, &low, 0, 1, 0),
                     0);
    ck_assert_int_eq(
        tgi_budget_encode(ctx, TG_ANIM_GIF, &fr, 90, 12.5, 0, path, fd, &full, 0, 1, 0), 0);
    /* a budget that the lowest quality rung meets at full frame rate and size, and
     * quality 90 does not */
    ck_assert_int_lt(low.bytes, full.bytes * 9 / 10);
    double budget = ((double)low.bytes + (double)full.bytes) / 2;
    int rc = tgi_budget_encode(ctx, TG_ANIM_GIF, &fr, 90, 12.5, budget, path, fd, &rep, 0, 1, 0);
    ck_assert_msg(rc == 0, "%s", tg_ctx_message(ctx));
    close(fd);
    ck_assert_int_le(rep.bytes, (long long)budget);
    ck_assert_int_eq(tgt_file_size(path), rep.bytes);
    fprintf(stderr,
            "gif budget %.0f (q10 %lld, q90 %lld bytes): quality %d, %.1f fps, %dx%d, %lld bytes\n",
            budget, low.bytes, full.bytes, rep.quality, rep.fps, rep.width, rep.height, rep.bytes);
    /* quality goes first: full frame rate, width and length are kept */
    ck_assert_int_lt(rep.quality, 90);
    ck_assert_double_eq_tol(rep.fps, 12.5, 1e-9);
    ck_assert_int_eq(rep.width, W);
    tg_ctx_free(&ctx);
    tgi_frames_free(&fr);
    unlink(path);
    free(path);
}
END_TEST

/* The ladder's size model follows the GIF encoder: from one quality rung to the next
 * (90, 80 ... 10), the size ratio it predicts is within 20 % of the one measured on two
 * clips of the story fixture (photos panned and zoomed, H.264). */
START_TEST(test_gif_budget_model)
{
    enum { FW = 320, FH = 180 };
    static const char *starts[] = {"7.5", "18.5"};
    tgi_frames fr = {.w = FW, .h = FH, .cuts = 1};
    size_t fbytes = (size_t)FW * FH * 4;
    for (int c = 0; c < 2; c++) {
        char *raw = tgt_tmp_path(".rgba");
        ck_assert_int_eq(tgt_ffmpeg("-ss", starts[c], "-t", "2", "-i", tgt_fixture("story.mp4"),
                                    "-vf", "fps=12,scale=320:180:flags=lanczos", "-f", "rawvideo",
                                    "-pix_fmt", "rgba", raw, NULL),
                         0);
        size_t len = 0;
        char *d = tgt_read_file(raw, &len);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_ge(len / fbytes, 20);
        for (size_t i = 0; i < len / fbytes; i++)
            ck_assert_int_eq(tgi_frames_add(NULL, &fr, (uint8_t *)d + i * fbytes, 8, c), 0);
        free(d);
        unlink(raw);
        free(raw);
    }
    char *path = tgt_tmp_path(".gif");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    tg_ctx *ctx = tg_ctx_new();
    long long prev = 0;
    for (int q = 90; q >= 10; q -= 10) {
        tg_output_report rep = {0};
        int rc = tgi_budget_encode(ctx, TG_ANIM_GIF, &fr, q, 12, 0, path, fd, &rep, 0, 1, 0);
        ck_assert_msg(rc == 0, "%s", tg_ctx_message(ctx));
        if (q < 90) {
            double measured = (double)prev / (double)rep.bytes,
                   predicted = tgi_budget_quality_share(TG_ANIM_GIF, q + 10) /
                               tgi_budget_quality_share(TG_ANIM_GIF, q);
            fprintf(stderr, "gif q%d/q%d: %lld/%lld bytes = %.3f, the model says %.3f\n", q + 10, q,
                    prev, rep.bytes, measured, predicted);
            ck_assert_msg(predicted >= 0.8 * measured && predicted <= 1.25 * measured,
                          "q%d/q%d: the model says %.3f, the encoder makes %.3f", q + 10, q,
                          predicted, measured);
        }
        prev = rep.bytes;
    }
    close(fd);
    tg_ctx_free(&ctx);
    tgi_frames_free(&fr);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_mp4_stream_layout_quality)
{
    tgi_mp4_params p = mparams(W, H, FPS, 90);
    char *path = encode_mp4(&p, gen_square, N);

    char *out = probe(path);
    ck_assert_int_eq(count_str(out, "codec_type="), 1); /* no audio, no data stream */
    ck_assert_str_eq(pv(out, "codec_type"), "video");
    ck_assert_str_eq(pv(out, "codec_name"), "h264");
    ck_assert_str_eq(pv(out, "pix_fmt"), "yuv420p");
    ck_assert_str_eq(pv(out, "width"), "320");
    ck_assert_str_eq(pv(out, "height"), "180");
    ck_assert_str_eq(pv(out, "nb_read_frames"), "24");
    ck_assert_str_eq(pv(out, "avg_frame_rate"), "12/1");
    ck_assert_str_eq(pv(out, "color_space"), "smpte170m");
    ck_assert_str_eq(pv(out, "color_range"), "tv");
    double dur = strtod(pv(out, "duration"), NULL);
    ck_assert_msg(fabs(dur - 2.0) < 1e-3, "duration %f, expected 2.0", dur);
    free(out);

    long moov, mdat;
    atom_offsets(path, &moov, &mdat);
    ck_assert_int_ge(moov, 0);
    ck_assert_int_ge(mdat, 0);
    ck_assert_msg(moov < mdat, "moov at %ld after mdat at %ld (no faststart)", moov, mdat);

    int frames = 0;
    uint8_t *dec = ffmpeg_decode(path, W, H, &frames);
    ck_assert_int_eq(frames, N);
    double worst = 99;
    for (int i = 0; i < N; i++) {
        uint8_t *src = tgt_make_frame(gen_square, W, H, i);
        double db = tgt_psnr_rgba(src, dec + (size_t)i * W * H * 4, W, H);
        worst = db < worst ? db : worst;
        ck_assert_msg(db >= 30.0, "frame %d: PSNR %.2f dB < 30 dB", i, db);
        free(src);
    }
    fprintf(stderr, "mp4 q90 %dx%d: %ld bytes, worst frame PSNR %.2f dB\n", W, H,
            tgt_file_size(path), worst);
    free(dec);
    unlink(path);
    free(path);
}
END_TEST

/* The conversion matrix matches the tags: flat colours survive an ffmpeg round trip,
 * BT.601 below HD, BT.709 for HD. */
START_TEST(test_mp4_colours)
{
    static const struct {
        int w, h;
        const char *space;
    } cases[2] = {{320, 180, "smpte170m"}, {1280, 720, "bt709"}};
    for (int c = 0; c < 2; c++) {
        int w = cases[c].w, h = cases[c].h;
        tgi_mp4_params p = mparams(w, h, FPS, 90);
        char *path = encode_mp4(&p, gen_quads, 2);
        char *out = probe(path);
        ck_assert_str_eq(pv(out, "color_space"), cases[c].space);
        ck_assert_str_eq(pv(out, "color_primaries"), cases[c].space);
        ck_assert_str_eq(pv(out, "color_range"), "tv");
        free(out);
        int frames = 0;
        uint8_t *dec = ffmpeg_decode(path, w, h, &frames);
        ck_assert_int_eq(frames, 2);
        for (int q = 0; q < 4; q++) {
            int x = (q % 2) * w / 2 + w / 4, y = (q / 2) * h / 2 + h / 4;
            const uint8_t *px = dec + ((size_t)y * (size_t)w + (size_t)x) * 4;
            for (int k = 0; k < 3; k++)
                ck_assert_msg(abs(px[k] - quad_rgb[q][k]) <= 6,
                              "%dx%d quadrant %d: %u,%u,%u expected %u,%u,%u", w, h, q, px[0],
                              px[1], px[2], quad_rgb[q][0], quad_rgb[q][1], quad_rgb[q][2]);
        }
        free(dec);
        unlink(path);
        free(path);
    }
}
END_TEST

START_TEST(test_mp4_fractional_fps)
{
    tgi_mp4_params p = mparams(160, 90, 30000.0 / 1001.0, 70);
    char *path = encode_mp4(&p, gen_square, 30);
    char *out = probe(path);
    ck_assert_str_eq(pv(out, "avg_frame_rate"), "30000/1001");
    ck_assert_str_eq(pv(out, "nb_read_frames"), "30");
    double dur = strtod(pv(out, "duration"), NULL);
    ck_assert_msg(fabs(dur - 1.001) < 2e-3, "duration %f, expected 1.001", dur);
    free(out);
    unlink(path);
    free(path);
}
END_TEST

START_TEST(test_mp4_quality_size)
{
    tgi_mp4_params lo = mparams(W, H, FPS, 30), hi = mparams(W, H, FPS, 90);
    char *a = encode_mp4(&lo, gen_square, 12), *b = encode_mp4(&hi, gen_square, 12);
    long sa = tgt_file_size(a), sb = tgt_file_size(b);
    ck_assert_msg(sa > 0 && sa < sb, "q30: %ld bytes, q90: %ld bytes", sa, sb);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_mp4_bad_params)
{
    tg_ctx *ctx = tg_ctx_new();
    char *path = tgt_tmp_path(".mp4");
    tgi_mp4 *m = (tgi_mp4 *)&m; /* must be reset to NULL */
    const tgi_mp4_params bad[] = {
        mparams(321, 180, 12, 80),  mparams(320, 181, 12, 80),  mparams(0, 180, 12, 80),
        mparams(4098, 180, 12, 80), mparams(320, 4098, 12, 80), mparams(320, 180, 0.5, 80),
        mparams(320, 180, 61, 80),  mparams(320, 180, NAN, 80), mparams(320, 180, 12, 0),
        mparams(320, 180, 12, 101),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = tgi_mp4_begin(ctx, path, &bad[i], &m);
        ck_assert_msg(rc == TG_EINVAL, "case %zu: rc %d", i, rc);
        ck_assert_ptr_null(m);
        ck_assert_str_ne(tg_ctx_message(ctx), "");
    }
    ck_assert_int_eq(tgt_file_exists(path), 0); /* refused before touching the file */
    tgi_mp4_params ok = mparams(64, 48, 12, 80);
    ck_assert_int_eq(tgi_mp4_begin(ctx, NULL, &ok, &m), TG_EINVAL);
    ck_assert_int_eq(tgi_mp4_begin(ctx, "", &ok, &m), TG_EINVAL);
    ck_assert_int_eq(tgi_mp4_begin(ctx, path, NULL, &m), TG_EINVAL);
    ck_assert_int_eq(tgi_mp4_begin(ctx, path, &ok, NULL), TG_EINVAL);

    int rc = tgi_mp4_begin(ctx, "/nonexistent-dir/x.mp4", &ok, &m);
    ck_assert_msg(rc == TG_EIO, "rc %d: %s", rc, tg_ctx_message(ctx));
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "/nonexistent-dir/x.mp4"));
    ck_assert_ptr_null(m);

    ck_assert_int_eq(tgi_mp4_begin(ctx, path, &ok, &m), 0);
    ck_assert_int_eq(tgi_mp4_add(ctx, m, NULL), TG_EINVAL);
    ck_assert_int_eq(tgi_mp4_add(ctx, NULL, NULL), TG_EINVAL);
    tgi_mp4_free(&m);
    ck_assert_ptr_null(m);
    tgi_mp4_free(&m);
    tgi_mp4_free(NULL);
    ck_assert_int_eq(tgi_mp4_end(ctx, &m), TG_EINVAL);
    unlink(path);
    free(path);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(test_mp4_no_frames)
{
    char *path = tgt_tmp_path(".mp4");
    tg_ctx *ctx = tg_ctx_new();
    tgi_mp4_params p = mparams(64, 48, 12, 80);
    ck_assert_int_eq(encode_mp4_path(ctx, path, &p, tgt_gen_gradient, 0), TG_EINVAL);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "no frame"));
    tg_ctx_free(&ctx);
    unlink(path);
    free(path);
}
END_TEST

/* Abandoned mid-way: everything freed, the partial file left for the caller. */
START_TEST(test_mp4_abandon)
{
    char *path = tgt_tmp_path(".mp4");
    tg_ctx *ctx = tg_ctx_new();
    tgi_mp4_params p = mparams(W, H, FPS, 80);
    tgi_mp4 *m = NULL;
    ck_assert_int_eq(tgi_mp4_begin(ctx, path, &p, &m), 0);
    uint8_t *f = tgt_make_frame(gen_square, W, H, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(tgi_mp4_add(ctx, m, f), 0);
    tgi_mp4_free(&m);
    ck_assert_ptr_null(m);
    ck_assert_int_eq(tgt_file_exists(path), 1);
    free(f);
    tg_ctx_free(&ctx);
    unlink(path);
    free(path);
}
END_TEST

/* A ':' in the path is a file name, not a protocol. */
START_TEST(test_mp4_path_with_colon)
{
    char *base = tgt_tmp_path("");
    size_t n = strlen(base) + 16;
    char *path = malloc(n);
    ck_assert_ptr_nonnull(path);
    snprintf(path, n, "%s-a:b.mp4", base);
    tg_ctx *ctx = tg_ctx_new();
    tgi_mp4_params p = mparams(64, 48, 12, 80);
    int rc = encode_mp4_path(ctx, path, &p, gen_square, 3);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, tg_ctx_message(ctx));
    long moov, mdat;
    atom_offsets(path, &moov, &mdat);
    ck_assert_int_lt(moov, mdat);
    tg_ctx_free(&ctx);
    unlink(path);
    free(path);
    free(base);
}
END_TEST

START_TEST(test_mp4_deterministic)
{
    tgi_mp4_params p = mparams(W, H, FPS, 75);
    char *a = encode_mp4(&p, gen_square, N), *b = encode_mp4(&p, gen_square, N);
    ck_assert_msg(same_file(a, b), "two encodes differ: %s %s", a, b);
    unlink(a);
    unlink(b);
    free(a);
    free(b);
}
END_TEST

Suite *suite_encoders(void)
{
    Suite *s = suite_create("encoders");
    TCase *w = tcase_create("webp");
    tcase_add_test(w, test_webp_structure_and_quality);
    tcase_add_test(w, test_webp_lossless_exact);
    tcase_add_test(w, test_webp_loop_count);
    tcase_add_test(w, test_webp_quality_size);
    tcase_add_test(w, test_webp_bad_params);
    tcase_add_test(w, test_webp_no_frames);
    tcase_add_test(w, test_webp_write_error);
    tcase_add_test(w, test_webp_deterministic);
    tcase_add_test(w, test_webp_quality_100_is_lossless);
    tcase_add_test(w, test_gif_budget_low_rungs);
    tcase_add_test(w, test_gif_budget_model);
    suite_add_tcase(s, w);
    TCase *m = tcase_create("mp4");
    tcase_add_checked_fixture(m, quiet_av, NULL);
    tcase_add_test(m, test_mp4_stream_layout_quality);
    tcase_add_test(m, test_mp4_colours);
    tcase_add_test(m, test_mp4_fractional_fps);
    tcase_add_test(m, test_mp4_quality_size);
    tcase_add_test(m, test_mp4_bad_params);
    tcase_add_test(m, test_mp4_no_frames);
    tcase_add_test(m, test_mp4_abandon);
    tcase_add_test(m, test_mp4_path_with_colon);
    tcase_add_test(m, test_mp4_deterministic);
    suite_add_tcase(s, m);
    return s;
}
