/* test_media.c — src/media: the libav error translator (av.h), the browser-playable
 * copy of a download (playable.h) and the decoder's side copies (media.h). */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/error.h>

#include "core/error.h"
#include "media/av.h"
#include "media/image.h"
#include "media/media.h"
#include "media/playable.h"
#include "media/ranges.h"
#include "util.h"

START_TEST(av_errors_map_to_one_code_each)
{
    /* memory is memory, whatever the caller's own code */
    ck_assert_int_eq(tgi_av_code(AVERROR(ENOMEM), TG_EENCODE, 0), TG_ENOMEM);
    ck_assert_int_eq(tgi_av_code(AVERROR(ENOMEM), TG_EFORMAT, 1), TG_ENOMEM);
    /* an I/O errno is TG_EIO only for a call that touches a file */
    ck_assert_int_eq(tgi_av_code(AVERROR(ENOSPC), TG_EENCODE, 1), TG_EIO);
    ck_assert_int_eq(tgi_av_code(AVERROR(EACCES), TG_EENCODE, 1), TG_EIO);
    ck_assert_int_eq(tgi_av_code(AVERROR(ENOSPC), TG_EENCODE, 0), TG_EENCODE);
    /* the rest keep the caller's code */
    ck_assert_int_eq(tgi_av_code(AVERROR_INVALIDDATA, TG_ECORRUPT, 1), TG_ECORRUPT);
    ck_assert_int_eq(tgi_av_code(AVERROR(EINVAL), TG_EINTERNAL, 0), TG_EINTERNAL);
}
END_TEST

START_TEST(av_failures_keep_the_sentence_and_libav_text)
{
    tg_ctx *ctx = tg_ctx_new();
    ck_assert_int_eq(tgi_av_fail(ctx, AVERROR(ENOMEM), TG_EENCODE, "cannot open the %s", "encoder"),
                     TG_ENOMEM);
    char eb[AV_ERROR_MAX_STRING_SIZE], want[256];
    snprintf(want, sizeof(want), "cannot open the encoder (%s)",
             tgi_av_text(AVERROR(ENOMEM), eb, sizeof(eb)));
    ck_assert_str_eq(tg_ctx_message(ctx), want);
    ck_assert_int_eq(tgi_av_fail_io(ctx, AVERROR(EROFS), TG_EENCODE, "cannot write"), TG_EIO);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "cannot write ("));
    /* an unknown code still gives some text */
    ck_assert_str_ne(tgi_av_text(-0x7abcdef0, eb, sizeof(eb)), "");
    tg_ctx_free(&ctx);
}
END_TEST

/* Stream facts of a file: codec, pix_fmt, size, duration; and whether moov comes first. */
static void probe(const char *path, char *codec, size_t cn, int *w, int *h, int *yuv420,
                  double *dur)
{
    AVFormatContext *f = NULL;
    ck_assert_int_eq(avformat_open_input(&f, path, NULL, NULL), 0);
    ck_assert_int_ge(avformat_find_stream_info(f, NULL), 0);
    int vi = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    ck_assert_int_ge(vi, 0);
    const AVCodecParameters *p = f->streams[vi]->codecpar;
    snprintf(codec, cn, "%s", avcodec_get_name(p->codec_id));
    *w = p->width;
    *h = p->height;
    *yuv420 = p->format == AV_PIX_FMT_YUV420P;
    *dur = f->duration > 0 ? (double)f->duration / AV_TIME_BASE : 0;
    avformat_close_input(&f);
}

static long find4(const char *b, size_t n, const char *tag)
{
    for (size_t i = 0; i + 4 <= n; i++)
        if (!memcmp(b + i, tag, 4))
            return (long)i;
    return -1;
}

START_TEST(playable_copy_of_an_avi)
{
    char *avi = tgt_tmp_path(".avi"), *mp4 = tgt_tmp_path(".mp4"), *big = tgt_tmp_path(".mkv");
    char *copy = tgt_tmp_path(".play.mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=4",
                                "-c:v", "mpeg4", "-q:v", "5", avi, NULL),
                     0);
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1",
                                "-c:v", "libx264", "-pix_fmt", "yuv420p", mp4, NULL),
                     0);
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25:duration=1",
                                "-c:v", "mpeg4", big, NULL),
                     0);
    ck_assert_int_eq(tgi_playable_needed(avi), 1);
    ck_assert_int_eq(tgi_playable_needed(big), 1);
    ck_assert_int_eq(tgi_playable_needed(mp4), 0);

    tg_ctx *ctx = tg_ctx_new();
    int rc = tgi_playable_make(ctx, avi, copy);
    ck_assert_msg(rc == 0, "%s", tg_ctx_message(ctx));
    char codec[32];
    int w, h, yuv;
    double d0, d1;
    probe(avi, codec, sizeof(codec), &w, &h, &yuv, &d0);
    probe(copy, codec, sizeof(codec), &w, &h, &yuv, &d1);
    ck_assert_str_eq(codec, "h264");
    ck_assert_int_eq(yuv, 1);
    ck_assert_int_eq(w, 640);
    ck_assert_int_eq(h, 360);
    ck_assert_msg(d1 > d0 - 0.1 && d1 < d0 + 0.1, "copy %.3f s, source %.3f s", d1, d0);
    ck_assert_int_eq(tgi_playable_needed(copy), 0);
    /* +faststart: the index (moov) before the data (mdat) */
    size_t n;
    char *bytes = tgt_read_file(copy, &n);
    long moov = find4(bytes, n, "moov"), mdat = find4(bytes, n, "mdat");
    ck_assert_msg(moov >= 0 && mdat >= 0 && moov < mdat, "moov at %ld, mdat at %ld", moov, mdat);
    free(bytes);

    /* a 1080p source: 720 tall, never more */
    rc = tgi_playable_make(ctx, big, copy);
    ck_assert_msg(rc == 0, "%s", tg_ctx_message(ctx));
    probe(copy, codec, sizeof(codec), &w, &h, &yuv, &d1);
    ck_assert_int_eq(h, 720);
    ck_assert_int_eq(w, 1280);
    /* not a video: an error, and no file left */
    unlink(copy);
    rc = tgi_playable_make(ctx, "/etc/hostname", copy);
    ck_assert_int_eq(rc, TG_EFORMAT);
    ck_assert_int_eq(tgt_file_exists(copy), 0);
    tg_ctx_free(&ctx);
    unlink(avi);
    unlink(mp4);
    unlink(big);
    free(avi);
    free(mp4);
    free(big);
    free(copy);
}
END_TEST

/* What the side copies of a decode looked like. */
typedef struct sides {
    int frames, n1, n2, bad_size, unlike;
    double last1, last2, min_gap1, min_gap2;
} sides;

/* Mean of channel c over cell (cx, cy) of a 4x4 grid of an RGB24 picture. */
static double cell_mean(const uint8_t *px, int w, int h, int stride, int cx, int cy, int c)
{
    double sum = 0;
    int n = 0;
    for (int y = cy * h / 4; y < (cy + 1) * h / 4; y++)
        for (int x = cx * w / 4; x < (cx + 1) * w / 4; x++, n++)
            sum += px[(size_t)y * stride + (size_t)x * 3 + c];
    return n ? sum / n : 0;
}

static int on_sides(void *user, const tgi_frame *f)
{
    sides *sd = user;
    sd->frames++;
    if (f->side) {
        sd->min_gap1 = sd->n1 && f->t - sd->last1 < sd->min_gap1 ? f->t - sd->last1 : sd->min_gap1;
        sd->last1 = f->t;
        sd->n1++;
    }
    if (f->side2) {
        sd->min_gap2 = sd->n2 && f->t - sd->last2 < sd->min_gap2 ? f->t - sd->last2 : sd->min_gap2;
        sd->last2 = f->t;
        sd->n2++;
        sd->bad_size += f->side2_w != 96 || f->side2_h != 128;
        /* the same picture, the same way up: a 4x4 grid of colour means agrees */
        for (int cy = 0; cy < 4; cy++)
            for (int cx = 0; cx < 4; cx++)
                for (int c = 0; c < 3; c++) {
                    double a = cell_mean(f->data, f->width, f->height, f->stride, cx, cy, c);
                    double b =
                        cell_mean(f->side2, f->side2_w, f->side2_h, f->side2_w * 3, cx, cy, c);
                    sd->unlike += fabs(a - b) > 12;
                }
    }
    return 0;
}

/* The second side copy (the subject detector's input): at its own size, in display
 * orientation (rotated.mp4 is stored 320x240 with a 90-degree display matrix), at its own
 * interval, beside the first one at another size and interval. */
START_TEST(second_side_copy_at_its_own_size_and_interval)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, tgt_fixture("rotated.mp4"), 0, &m) == 0, "%s",
                  tg_ctx_message(ctx));
    const tgi_media_info *in = tgi_media_get_info(m);
    ck_assert_int_eq(in->width, 240);
    ck_assert_int_eq(in->height, 320);
    tgi_decode_req rq = {.width = 48,
                         .height = 64,
                         .pix = TG_PIX_RGB24,
                         .side_w = 32,
                         .side_h = 32,
                         .side_interval = 0.2,
                         .side2_w = 96,
                         .side2_h = 128,
                         .side2_interval = 0.5};
    sides sd = {.min_gap1 = 1e9, .min_gap2 = 1e9};
    ck_assert_msg(tgi_media_decode(ctx, m, &rq, on_sides, &sd, NULL) == 0, "%s",
                  tg_ctx_message(ctx));
    ck_assert_int_eq(sd.frames, 100);
    ck_assert_int_eq(sd.bad_size, 0);
    ck_assert_int_eq(sd.unlike, 0);
    ck_assert_int_eq(sd.n2, 8); /* 4 s, one every 0.5 s (25 fps: exactly) */
    ck_assert_int_eq(sd.n1, 20);
    ck_assert(sd.min_gap2 >= 0.5 - 1e-3);
    ck_assert(sd.min_gap1 >= 0.2 - 1e-3 && sd.min_gap1 < 0.5);
    /* none asked: none given; a size without the other is refused */
    rq.side2_w = rq.side2_h = 0;
    sides none = {.min_gap1 = 1e9, .min_gap2 = 1e9};
    ck_assert_int_eq(tgi_media_decode(ctx, m, &rq, on_sides, &none, NULL), 0);
    ck_assert_int_eq(none.n2, 0);
    ck_assert_int_eq(none.n1, 20);
    rq.side2_w = 96;
    ck_assert_int_eq(tgi_media_decode(ctx, m, &rq, on_sides, &none, NULL), TG_EINVAL);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
}
END_TEST

/* Frames of a decoded range: how many, the first and last time. */
typedef struct range_seen {
    int n;
    double first, last;
} range_seen;

static int on_range(void *user, const tgi_frame *f)
{
    range_seen *r = user;
    if (r->n++ == 0)
        r->first = f->t;
    r->last = f->t;
    return 0;
}

static void decode_range(tgi_media *m, double start, double end, range_seen *r,
                         tgi_decode_stats *st)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_decode_req rq = {
        .start = start, .end = end, .width = 32, .height = 24, .pix = TG_PIX_RGB24, .stats = st};
    *r = (range_seen){0};
    ck_assert_msg(tgi_media_decode(ctx, m, &rq, on_range, r, NULL) == 0, "%s", tg_ctx_message(ctx));
    tg_ctx_free(&ctx);
}

/* A range that ends where a keyframe begins (sparse analysis' stretches all do) stops
 * before that keyframe: in a closed GOP nothing shown before it comes after it, so it
 * and the frames the decoder's delay would take in after it are not decoded; every
 * frame of the range still comes. With open GOPs (frames shown before the keyframe
 * coming after it) it is decoded as before. */
START_TEST(a_range_ending_at_a_keyframe_does_not_decode_it)
{
    static const char *gop[] = {"open-gop=0", "open-gop=1"};
    for (int k = 0; k < 2; k++) {
        char *v = tgt_tmp_path(".mp4");
        ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
                                    "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g",
                                    "25", "-sc_threshold", "0", "-x264-params", gop[k], "-pix_fmt",
                                    "yuv420p", v, NULL),
                         0);
        tg_ctx *ctx = tg_ctx_new();
        tgi_media *m = NULL;
        ck_assert_msg(tgi_media_open(ctx, v, 0, &m) == 0, "%s", tg_ctx_message(ctx));
        range_seen r;
        tgi_decode_stats st;
        /* keyframes every second: [1, 2) ends at one */
        decode_range(m, 1.0, 2.0, &r, &st);
        ck_assert_msg(r.n == 25 && fabs(r.first - 1.0) < 1e-3 && fabs(r.last - 1.96) < 1e-3,
                      "%s: %d frames %.3f-%.3f", gop[k], r.n, r.first, r.last);
        if (k == 0)
            ck_assert_int_eq(st.keys_spared, 1);
        /* a range ending just past the keyframe needs it */
        decode_range(m, 1.0, 2.03, &r, &st);
        ck_assert_msg(r.n == 26 && fabs(r.last - 2.0) < 1e-3, "%s: %d frames to %.3f", gop[k], r.n,
                      r.last);
        ck_assert_int_eq(st.keys_spared, 0);
        tgi_media_close(&m);
        tg_ctx_free(&ctx);
        unlink(v);
        free(v);
    }
}
END_TEST

/* Frames of a range, in order: their times and a checksum of their pixels. */
#define RANGE_FRAMES 256
typedef struct range_frames {
    int n;
    double t[RANGE_FRAMES];
    uint32_t sum[RANGE_FRAMES];
} range_frames;

static int on_frames(void *user, const tgi_frame *f)
{
    range_frames *r = user;
    ck_assert_int_lt(r->n, RANGE_FRAMES);
    uint32_t h = 2166136261u;
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width * 3; x++)
            h = (h ^ f->data[(size_t)y * f->stride + x]) * 16777619u;
    r->t[r->n] = f->t;
    r->sum[r->n++] = h;
    return 0;
}

/* A range that ends between keyframes stops reading once nothing left can be shown
 * before its end (more packets shown past the end than the stream reorders): the
 * decoder's delay (frame threads, B-frames) no longer takes in reference frames past
 * the end for nothing. Every frame of the range is the frame a longer decode gives,
 * byte for byte, with and without frame threads and non-reference frames. */
START_TEST(a_range_stops_reading_when_nothing_before_its_end_is_left)
{
    char *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
                                "-c:v", "libx264", "-preset", "ultrafast", "-bf", "3", "-g", "50",
                                "-sc_threshold", "0", "-x264-params", "b-pyramid=normal:b-adapt=0",
                                "-pix_fmt", "yuv420p", v, NULL),
                     0);
    static const int threads[] = {1, 3};
    static const int flags[] = {0, TG_DECODE_NONREF};
    for (int ti = 0; ti < 2; ti++)
        for (int fi = 0; fi < 2; fi++) {
            tg_ctx *ctx = tg_ctx_new();
            tgi_media *m = NULL;
            ck_assert_msg(tgi_media_open(ctx, v, threads[ti], &m) == 0, "%s", tg_ctx_message(ctx));
            const double start = 0.5, end = 1.22;
            range_frames *shortr = calloc(1, sizeof(*shortr)), *longr = calloc(1, sizeof(*longr));
            tgi_decode_stats st = {0};
            tgi_decode_req rq = {.start = start,
                                 .end = end,
                                 .width = 32,
                                 .height = 24,
                                 .pix = TG_PIX_RGB24,
                                 .flags = flags[fi],
                                 .stats = &st};
            unsigned long d0, p0, d1, p1;
            tgi_media_work(m, &d0, &p0);
            ck_assert_int_eq(tgi_media_decode(ctx, m, &rq, on_frames, shortr, NULL), 0);
            tgi_media_work(m, &d1, &p1);
            tgi_decode_req rl = rq;
            rl.end = 3.9;
            rl.stats = NULL;
            ck_assert_int_eq(tgi_media_decode(ctx, m, &rl, on_frames, longr, NULL), 0);
            int n = 0;
            while (n < longr->n && longr->t[n] < end - 1e-6)
                n++;
            ck_assert_msg(shortr->n == n && n >= 8, "threads %d flags %d: %d frames, %d expected",
                          threads[ti], flags[fi], shortr->n, n);
            for (int i = 0; i < n; i++)
                ck_assert_msg(shortr->t[i] == longr->t[i] && shortr->sum[i] == longr->sum[i],
                              "threads %d flags %d: frame %d (%.3f s) differs", threads[ti],
                              flags[fi], i, shortr->t[i]);
            if (threads[ti] > 1)
                ck_assert_int_eq(st.tail_spared, 1);
            /* from the keyframe at 0: the 31 frames shown before 1.22 s, and at most the
             * stream's reorder depth (2 here) + 1 of those shown past it (before: 36 and 37
             * packets with frame threads, 35 with one thread and non-reference frames) */
            ck_assert_msg(p1 - p0 <= 31 + 3, "threads %d flags %d: %lu packets sent", threads[ti],
                          flags[fi], p1 - p0);
            free(shortr);
            free(longr);
            tgi_media_close(&m);
            tg_ctx_free(&ctx);
        }
    unlink(v);
    free(v);
}
END_TEST

/* Every frame handed out, in order, with its range: time and checksums of the picture and
 * of the side copies the decoder gave with it. */
typedef struct ranged {
    int n, cap, stop_after, stopped;
    size_t cur;
    struct ranged_frame {
        size_t range;
        double t;
        uint32_t pic, side, side2;
    } * f;
} ranged;

static uint32_t fnv(const uint8_t *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static int same_frame(const struct ranged_frame *a, const struct ranged_frame *b)
{
    return a->range == b->range && a->t == b->t && a->pic == b->pic && a->side == b->side &&
           a->side2 == b->side2;
}

static int on_ranged(void *user, const tgi_frame *f)
{
    ranged *r = user;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->f = realloc(r->f, (size_t)r->cap * sizeof(*r->f));
        ck_assert_ptr_nonnull(r->f);
    }
    uint32_t pic = 2166136261u;
    for (int y = 0; y < f->height; y++)
        pic = fnv(f->data + (size_t)y * f->stride, (size_t)f->width * 3, pic);
    r->f[r->n++] = (struct ranged_frame){
        r->cur, f->t, pic, f->side ? fnv(f->side, 16 * 12 * 3, 2166136261u) : 0,
        f->side2 ? fnv(f->side2, (size_t)f->side2_w * f->side2_h * 3, 2166136261u) : 0};
    /* stop_after frames into range 1, the caller stops taking it */
    if (r->cur == 1 && r->stop_after && ++r->stopped == r->stop_after)
        return 1;
    return 0;
}

/* Ranges decoded side by side (media/ranges.h) reach the caller as one decoder gives them,
 * range after range: the same frames, times, pictures and side copies in the same order,
 * with one lane or several, with room for many frames or for none (every lane but the
 * caller's waits), with the caller stopping a range early, and a lane's failure reported
 * for its range with its sentence. Freeing with lanes still at work neither hangs nor
 * leaks (make check). */
START_TEST(ranges_side_by_side_give_what_one_decoder_gives)
{
    char *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=6",
                                "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "25",
                                "-sc_threshold", "0", "-pix_fmt", "yuv420p", v, NULL),
                     0);
    static const double span[][2] = {{0, 0.9}, {1.0, 2.5}, {2.0, 2.6}, {3.0, 3.3}, {4.0, 5.9}};
    enum { N = 5 };
    tgi_decode_req rq[N];
    for (int i = 0; i < N; i++)
        rq[i] = (tgi_decode_req){.start = span[i][0],
                                 .end = span[i][1],
                                 .width = 32,
                                 .height = 24,
                                 .pix = TG_PIX_RGB24,
                                 .flags = i % 2 ? TG_DECODE_FAST | TG_DECODE_NONREF : 0,
                                 .side_w = 16,
                                 .side_h = 12,
                                 .side_interval = 0.3,
                                 .side2_w = i == 3 ? 0 : 24,
                                 .side2_h = i == 3 ? 0 : 18,
                                 .side2_interval = 0.5};
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, v, 0, &m) == 0, "%s", tg_ctx_message(ctx));
    ranged want = {0};
    for (int i = 0; i < N; i++) {
        want.cur = (size_t)i;
        ck_assert_int_eq(tgi_media_decode(ctx, m, &rq[i], on_ranged, &want, NULL), 0);
    }
    ck_assert_int_gt(want.n, 100);
    static const int lanes[] = {1, 2, 3};
    static const size_t budget[] = {0, 1 << 20};
    for (int li = 0; li < 3; li++)
        for (int bi = 0; bi < 2; bi++) {
            tgi_ranges *r = NULL;
            ck_assert_int_eq(tgi_ranges_start(ctx, m, rq, N, lanes[li], budget[bi], &r), 0);
            ck_assert_int_eq(tgi_ranges_lanes(r), lanes[li]);
            ranged got = {0};
            for (int i = 0; i < N; i++) {
                got.cur = (size_t)i;
                ck_assert_msg(tgi_ranges_take(ctx, r, (size_t)i, on_ranged, &got) == 0, "%s",
                              tg_ctx_message(ctx));
            }
            tgi_ranges_free(&r);
            ck_assert_ptr_null(r);
            ck_assert_msg(got.n == want.n, "lanes %d budget %zu: %d frames, %d expected", lanes[li],
                          budget[bi], got.n, want.n);
            for (int k = 0; k < want.n; k++)
                ck_assert_msg(same_frame(&got.f[k], &want.f[k]),
                              "lanes %d budget %zu: frame %d (range %zu, %.3f s) differs",
                              lanes[li], budget[bi], k, want.f[k].range, want.f[k].t);
            free(got.f);
        }
    /* the caller stops range 1 after 4 frames: the others come as before */
    for (int li = 0; li < 3; li++) {
        tgi_ranges *r = NULL;
        ck_assert_int_eq(tgi_ranges_start(ctx, m, rq, N, lanes[li], 0, &r), 0);
        ranged got = {.stop_after = 4};
        for (int i = 0; i < N; i++) {
            got.cur = (size_t)i;
            ck_assert_int_eq(tgi_ranges_take(ctx, r, (size_t)i, on_ranged, &got), 0);
        }
        tgi_ranges_free(&r);
        int k = 0, g = 0;
        for (; k < want.n; k++) {
            if (want.f[k].range == 1 && k > 0 && want.f[k - 4].range == 1)
                continue; /* past the 4th frame of range 1 */
            ck_assert_msg(g < got.n && same_frame(&got.f[g], &want.f[k]),
                          "lanes %d: frame %d after a stopped range differs", lanes[li], g);
            g++;
        }
        ck_assert_int_eq(g, got.n);
        free(got.f);
    }
    /* a range its decoder refuses (a side copy too big): the ranges before it come,
     * then its failure, with the decoder's sentence */
    tgi_decode_req bad[N];
    memcpy(bad, rq, sizeof(bad));
    bad[2].side_w = bad[2].side_h = TG_MEDIA_MAX_SIDE + 1;
    for (int li = 0; li < 3; li++) {
        tgi_ranges *r = NULL;
        ck_assert_int_eq(tgi_ranges_start(ctx, m, bad, N, lanes[li], 1 << 20, &r), 0);
        ranged got = {0};
        for (int i = 0; i < 2; i++) {
            got.cur = (size_t)i;
            ck_assert_int_eq(tgi_ranges_take(ctx, r, (size_t)i, on_ranged, &got), 0);
        }
        tg_ctx_clear(ctx);
        got.cur = 2;
        ck_assert_int_eq(tgi_ranges_take(ctx, r, 2, on_ranged, &got), TG_EINVAL);
        ck_assert_msg(strstr(tg_ctx_message(ctx), "bad side copy size") != NULL, "lanes %d: %s",
                      lanes[li], tg_ctx_message(ctx));
        tgi_ranges_free(&r);
        free(got.f);
    }
    /* freed after one range, the others being decoded or waiting for room */
    for (int li = 0; li < 3; li++) {
        tgi_ranges *r = NULL;
        ck_assert_int_eq(tgi_ranges_start(ctx, m, rq, N, lanes[li], 0, &r), 0);
        ranged got = {0};
        ck_assert_int_eq(tgi_ranges_take(ctx, r, 0, on_ranged, &got), 0);
        tgi_ranges_free(&r);
        free(got.f);
    }
    /* ranges with stills are refused: they take frames only */
    tgi_still_req still = {.t = 1, .until = 2, .width = 8, .height = 8, .buf = (uint8_t[192]){0}};
    bad[0] = rq[0];
    bad[0].stills = &still;
    bad[0].n_stills = 1;
    tgi_ranges *r = NULL;
    ck_assert_int_eq(tgi_ranges_start(ctx, m, bad, N, 2, 0, &r), TG_EINVAL);
    ck_assert_ptr_null(r);
    free(want.f);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
    unlink(v);
    free(v);
}
END_TEST

/* A picture that ends where its memory does (the page after it unreadable, as a block glibc
 * maps can) is written as a poster without a read past its end: libswscale's SIMD readers
 * read up to TGI_SWS_SLACK bytes further (before: SIGSEGV in sws_scale). */
/* The colour a decode gives the middle of the first frame: the analysis frame's and its
 * side copy's (the CNN's input), and a still's (the poster's path). */
typedef struct mid_colour {
    double frame[3], side[3], still[3];
    int got;
} mid_colour;

static int on_mid(void *user, const tgi_frame *f)
{
    mid_colour *mc = user;
    for (int c = 0; c < 3; c++) {
        mc->frame[c] = cell_mean(f->data, f->width, f->height, f->stride, 1, 1, c);
        if (f->side)
            mc->side[c] = cell_mean(f->side, 16, 16, 16 * 3, 1, 1, c); /* side_w x side_h */
    }
    mc->got = 1;
    return 1; /* enough */
}

/* The middle's colour of video v's first frame (an analysis frame and its side copy) and
 * of a still at 0.2 s (the poster's path). */
static void mid_colours(const char *v, mid_colour *mc)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, v, 0, &m) == 0, "%s", tg_ctx_message(ctx));
    tgi_decode_req rq = {
        .width = 32, .height = 24, .pix = TG_PIX_RGB24, .side_w = 16, .side_h = 16};
    *mc = (mid_colour){0};
    ck_assert_msg(tgi_media_decode(ctx, m, &rq, on_mid, mc, NULL) >= 0, "%s", tg_ctx_message(ctx));
    uint8_t still[40 * 30 * 3];
    tgi_still_req st = {
        .t = 0.2, .until = 0.9, .width = 40, .height = 30, .pix = TG_PIX_RGB24, .buf = still};
    tgi_decode_req sq = {.stills = &st, .n_stills = 1};
    ck_assert_msg(tgi_media_decode(ctx, m, &sq, NULL, NULL, NULL) >= 0, "%s", tg_ctx_message(ctx));
    ck_assert(mc->got && st.got);
    for (int c = 0; c < 3; c++)
        mc->still[c] = cell_mean(still, 40, 30, 40 * 3, 1, 1, c);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
}

/* A flat 0x20C040 picture (32, 192, 64) encoded by ffmpeg with filter chain vf and encoder
 * arguments enc...; fails the test unless the first frame, its side copy and a still
 * of it are within tol of (32, 192, 64) in every channel. */
static void decodes_to_its_colour(const char *what, const char *vf, const char *codec,
                                  const char *params, double tol)
{
    char *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "color=c=0x20C040:s=160x120:r=25:d=1", "-vf",
                                vf, "-c:v", codec,
                                strcmp(codec, "libx264") == 0 ? "-x264-params" : "-x265-params",
                                params, v, NULL),
                     0);
    mid_colour mc;
    mid_colours(v, &mc);
    const double want[3] = {32, 192, 64};
    for (int c = 0; c < 3; c++)
        ck_assert_msg(fabs(mc.frame[c] - want[c]) <= tol && fabs(mc.side[c] - want[c]) <= tol &&
                          fabs(mc.still[c] - want[c]) <= tol,
                      "%s: channel %d is %.0f (frame), %.0f (side copy), %.0f (still), not %.0f",
                      what, c, mc.frame[c], mc.side[c], mc.still[c], want[c]);
    /* the page's playable copy (an H.264 re-encode) shows the same colour */
    char *copy = tgt_tmp_path(".play.mp4");
    tg_ctx *ctx = tg_ctx_new();
    ck_assert_msg(tgi_playable_make(ctx, v, copy) == 0, "%s", tg_ctx_message(ctx));
    tg_ctx_free(&ctx);
    mid_colour pc;
    mid_colours(copy, &pc);
    for (int c = 0; c < 3; c++)
        ck_assert_msg(fabs(pc.frame[c] - want[c]) <= tol,
                      "%s: the playable copy's channel %d is %.0f, not %.0f", what, c, pc.frame[c],
                      want[c]);
    unlink(copy);
    free(copy);
    unlink(v);
    free(v);
}

/* The middle's colour of the first and the last frame of video v. */
typedef struct ends {
    double first[3], last[3];
    int n;
} ends;

static int on_ends(void *user, const tgi_frame *f)
{
    ends *e = user;
    for (int c = 0; c < 3; c++) {
        double v = cell_mean(f->data, f->width, f->height, f->stride, 1, 1, c);
        if (e->n == 0)
            e->first[c] = v;
        e->last[c] = v;
    }
    e->n++;
    return 0;
}

/* A keyframe the index calls a seek point that does not decode on its own: two H.264
 * recordings joined end to end (CABAC, then CAVLC), the second stating its parameter
 * sets once, at its start, so that a seek to its later keyframes finds the first
 * part's in the decoder (a phone video from an old x264 failed the same way: its
 * decoder needs the encoder's version, which only the first frame states). A range
 * there is read from further back: every frame is the frame a decode from the start
 * gives, byte for byte (green garbage before). */
START_TEST(a_range_after_a_keyframe_that_does_not_decode_alone_is_read_from_further_back)
{
    char *a = tgt_tmp_path(".h264"), *b0 = tgt_tmp_path(".h264"), *b1 = tgt_tmp_path(".h264"),
         *ab = tgt_tmp_path(".h264"), *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=4",
                                "-c:v", "libx264", "-preset", "ultrafast", "-coder", "1", "-g",
                                "25", "-bf", "0", "-pix_fmt", "yuv420p", "-f", "h264", a, NULL),
                     0);
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=25", "-t", "1",
                                "-c:v", "libx264", "-preset", "ultrafast", "-coder", "0", "-g",
                                "25", "-bf", "0", "-pix_fmt", "yuv420p", "-f", "h264", b0, NULL),
                     0);
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i",
                                "mandelbrot=size=160x120:rate=25:start_scale=2", "-t", "3", "-c:v",
                                "libx264", "-preset", "ultrafast", "-coder", "0", "-g", "25", "-bf",
                                "0", "-pix_fmt", "yuv420p", "-bsf:v",
                                "filter_units=remove_types=7|8", "-f", "h264", b1, NULL),
                     0);
    FILE *out = fopen(ab, "wb");
    ck_assert(out);
    const char *parts[] = {a, b0, b1};
    for (int k = 0; k < 3; k++) {
        size_t n;
        char *d = tgt_read_file(parts[k], &n);
        ck_assert(d && fwrite(d, 1, n, out) == n);
        free(d);
    }
    fclose(out);
    ck_assert_int_eq(tgt_ffmpeg("-framerate", "25", "-i", ab, "-c", "copy", v, NULL), 0);
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, v, 1, &m) == 0, "%s", tg_ctx_message(ctx));
    range_frames *from_start = calloc(1, sizeof(*from_start)), *seeked = calloc(1, sizeof(*seeked));
    tgi_decode_stats st = {0};
    tgi_decode_req whole = {.start = 0, .end = 6.6, .width = 32, .height = 24, .pix = TG_PIX_RGB24};
    tgi_decode_req rq = whole;
    rq.start = 6.2;
    rq.stats = &st;
    ck_assert_msg(tgi_media_decode(ctx, m, &whole, on_frames, from_start, NULL) == 0, "%s",
                  tg_ctx_message(ctx));
    ck_assert_msg(tgi_media_decode(ctx, m, &rq, on_frames, seeked, NULL) == 0, "%s",
                  tg_ctx_message(ctx));
    ck_assert_int_eq(seeked->n, 10);
    ck_assert_int_ge(from_start->n, 165);
    int off = from_start->n - seeked->n;
    for (int i = 0; i < seeked->n; i++) {
        ck_assert_msg(fabs(seeked->t[i] - from_start->t[off + i]) < 1e-3,
                      "frame %d at %.3f, not %.3f", i, seeked->t[i], from_start->t[off + i]);
        ck_assert_msg(seeked->sum[i] == from_start->sum[off + i],
                      "the frame at %.3f is not the one a decode from the start gives",
                      seeked->t[i]);
    }
    ck_assert_int_ge(st.relandings, 1);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
    free(from_start);
    free(seeked);
    const char *files[] = {a, b0, b1, ab, v};
    for (int k = 0; k < 5; k++) {
        unlink(files[k]);
        free((char *)files[k]);
    }
}
END_TEST

/* An MPEG program stream (.mpg: DVDs, camcorders, TV recordings) indexes every packet
 * with a time, keyframe or not: a seek by that index landed between keyframes, and the
 * decoder dropped every frame before the next one (a clip began frozen on it, a poster
 * came 0.3-0.5 s late). Every range starts at its first frame and has all its frames. */
START_TEST(a_range_of_an_mpeg_program_stream_starts_at_its_time)
{
    char *v = tgt_tmp_path(".mpg");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=8",
                                "-c:v", "mpeg2video", "-g", "12", "-bf", "2", "-q:v", "4", "-f",
                                "mpeg", v, NULL),
                     0);
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, v, 1, &m) == 0, "%s", tg_ctx_message(ctx));
    static const double starts[] = {5.3, 2.0, 6.1, 0.5};
    for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
        range_seen r;
        decode_range(m, starts[k], starts[k] + 0.6, &r, NULL);
        ck_assert_msg(r.n == 15 && fabs(r.first - starts[k]) < 0.021,
                      "[%.2f, %.2f): %d frames from %.3f", starts[k], starts[k] + 0.6, r.n,
                      r.first);
    }
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
    unlink(v);
    free(v);
}
END_TEST

/* One stream whose colour description changes on the way (two MPEG-TS recordings joined
 * end to end: BT.709 first, then BT.601): each part is read with its own. (A part that
 * says nothing keeps the earlier part's description in libavcodec's H.264 decoder.) */
START_TEST(a_stream_whose_colours_change_is_read_with_each_parts_own)
{
    char *a = tgt_tmp_path(".ts"), *b = tgt_tmp_path(".ts"), *ab = tgt_tmp_path(".ts");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "color=c=0x20C040:s=160x120:r=25:d=1", "-vf",
                                "scale=out_color_matrix=bt709,format=yuv420p", "-c:v", "libx264",
                                "-x264-params",
                                "qp=0:colorprim=bt709:transfer=bt709:colormatrix=bt709", "-f",
                                "mpegts", a, NULL),
                     0);
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "color=c=0x20C040:s=160x120:r=25:d=1", "-vf",
                                "scale=out_color_matrix=bt470bg,format=yuv420p", "-c:v", "libx264",
                                "-x264-params",
                                "qp=0:colorprim=bt470bg:transfer=smpte170m:colormatrix=bt470bg",
                                "-output_ts_offset", "1", "-f", "mpegts", b, NULL),
                     0);
    size_t na, nb;
    char *da = tgt_read_file(a, &na), *db = tgt_read_file(b, &nb);
    FILE *out = fopen(ab, "wb");
    ck_assert(out && fwrite(da, 1, na, out) == na && fwrite(db, 1, nb, out) == nb);
    fclose(out);
    free(da);
    free(db);
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, ab, 0, &m) == 0, "%s", tg_ctx_message(ctx));
    tgi_decode_req rq = {.width = 32, .height = 24, .pix = TG_PIX_RGB24};
    ends e = {0};
    ck_assert_msg(tgi_media_decode(ctx, m, &rq, on_ends, &e, NULL) >= 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_ge(e.n, 40);
    const double want[3] = {32, 192, 64};
    for (int c = 0; c < 3; c++)
        ck_assert_msg(fabs(e.first[c] - want[c]) <= 6 && fabs(e.last[c] - want[c]) <= 6,
                      "channel %d: %.0f in the BT.709 part, %.0f in the BT.601 part, not %.0f", c,
                      e.first[c], e.last[c], want[c]);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
    unlink(a);
    unlink(b);
    unlink(ab);
    free(a);
    free(b);
    free(ab);
}
END_TEST

/* What the frame says of its colours is what the RGB shows (within 6 levels: 4:2:0 and
 * the side copy's bilinear scaler round a little): swscale alone reads every
 * frame as BT.601 (a BT.709 frame's green came out 216 for 192) and HDR as SDR (an HLG
 * frame came out a grey (72, 115, 55)). */
START_TEST(frames_decode_in_the_colours_their_stream_declares)
{
    decodes_to_its_colour("BT.601", "scale=out_color_matrix=bt470bg,format=yuv420p", "libx264",
                          "qp=0:colorprim=bt470bg:transfer=smpte170m:colormatrix=bt470bg", 6);
    decodes_to_its_colour("BT.709", "scale=out_color_matrix=bt709,format=yuv420p", "libx264",
                          "qp=0:colorprim=bt709:transfer=bt709:colormatrix=bt709", 6);
    decodes_to_its_colour("BT.709 full range",
                          "scale=out_color_matrix=bt709:out_range=pc,format=yuv420p", "libx264",
                          "qp=0:colorprim=bt709:transfer=bt709:colormatrix=bt709:fullrange=on", 6);
    /* HDR: tone-mapped back near the SDR colour it was made from (highlights are rolled
     * off, so a little darker) */
    decodes_to_its_colour("HLG",
                          "zscale=tin=bt709:min=bt709:pin=bt709:t=arib-std-b67:m=bt2020nc:p=bt2020,"
                          "format=yuv420p10le",
                          "libx265",
                          "log-level=error:lossless=1:colorprim=bt2020:transfer=arib-std-b67:"
                          "colormatrix=bt2020nc",
                          30);
    decodes_to_its_colour("PQ",
                          "zscale=tin=bt709:min=bt709:pin=bt709:t=smpte2084:m=bt2020nc:p=bt2020:"
                          "npl=100,format=yuv420p10le",
                          "libx265",
                          "log-level=error:lossless=1:colorprim=bt2020:transfer=smpte2084:"
                          "colormatrix=bt2020nc",
                          30);
}
END_TEST

/* An interlaced frame whose top field is white and bottom field black (each line of the
 * frame alternates, as a fast motion between two fields makes it comb): read from one
 * field, it is white; scaled whole it was a grey of both. */
START_TEST(an_interlaced_frame_is_read_from_one_field)
{
    char *v = tgt_tmp_path(".mpg");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i",
                                "color=c=white:s=160x120:r=25:d=1,format=yuv420p,"
                                "geq=lum='if(mod(Y\\,2)\\,16\\,235)':cb=128:cr=128",
                                "-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1", "-q:v",
                                "2", v, NULL),
                     0);
    mid_colour mc;
    mid_colours(v, &mc);
    for (int c = 0; c < 3; c++)
        ck_assert_msg(mc.frame[c] > 225 && mc.side[c] > 225 && mc.still[c] > 225,
                      "channel %d: %.0f (frame), %.0f (side copy), %.0f (still): not one field", c,
                      mc.frame[c], mc.side[c], mc.still[c]);
    unlink(v);
    free(v);
}
END_TEST

/* MPEG-TS has no index: a seek lands on the packet nearest the time, not on the keyframe
 * before it. With keyframes 10 s apart (TV recordings, camcorders' .mts), a range in the
 * middle of a GOP got no frame at all ("no frame could be decoded between ..."). Every
 * frame of the range comes now, a range after the last keyframe too, and a second
 * decode of the same range gives the same frames. */
START_TEST(a_range_in_the_middle_of_a_long_gop_of_an_mpeg_ts_decodes)
{
    char *v = tgt_tmp_path(".ts");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=14",
                                "-c:v", "libx264", "-g", "250", "-x264-params",
                                "repeat-headers=1:scenecut=0", "-f", "mpegts", v, NULL),
                     0);
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, v, 0, &m) == 0, "%s", tg_ctx_message(ctx));
    const double at[][2] = {{6.0, 7.0}, {3.0, 4.0}, {12.0, 13.0}, {6.0, 7.0}};
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        range_seen r;
        decode_range(m, at[i][0], at[i][1], &r, NULL);
        ck_assert_msg(r.n == 25 * (at[i][1] - at[i][0]) && fabs(r.first - at[i][0]) < 0.02,
                      "%.1f-%.1f s: %d frames from %.3f s", at[i][0], at[i][1], r.n, r.first);
    }
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
    unlink(v);
    free(v);
}
END_TEST

START_TEST(a_poster_at_the_end_of_its_memory_is_read_within_it)
{
    const int w = 1280, h = 720; /* 1280 * 720 * 3 bytes: 675 pages exactly */
    size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)w * h * 3;
    size_t span = (bytes + page - 1) / page * page;
    uint8_t *map =
        mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    ck_assert_int_eq(mprotect(map + span, page, PROT_NONE), 0);
    uint8_t *rgb = map + span - bytes; /* its last byte is the last readable one */
    for (size_t i = 0; i < bytes; i++)
        rgb[i] = (uint8_t)(i * 7);
    tg_ctx *ctx = tg_ctx_new();
    char *path = tgt_tmp_path(".jpg");
    for (int format = TG_IMAGE_JPEG; format <= TG_IMAGE_PNG; format++) {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_msg(tgi_image_write(ctx, fileno(f), format, rgb, w, h, 90) == 0, "%s",
                      tg_ctx_message(ctx));
        ck_assert_int_gt(ftell(f), 1000);
        fclose(f);
    }
    unlink(path);
    free(path);
    tg_ctx_free(&ctx);
    munmap(map, span + page);
}
END_TEST

Suite *suite_media(void);
Suite *suite_media(void)
{
    Suite *s = suite_create("media");
    TCase *tc = tcase_create("av");
    tcase_add_test(tc, av_errors_map_to_one_code_each);
    tcase_add_test(tc, av_failures_keep_the_sentence_and_libav_text);
    suite_add_tcase(s, tc);
    tc = tcase_create("playable");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, playable_copy_of_an_avi);
    tcase_add_test(tc, second_side_copy_at_its_own_size_and_interval);
    tcase_add_test(tc, a_range_ending_at_a_keyframe_does_not_decode_it);
    tcase_add_test(tc, a_range_stops_reading_when_nothing_before_its_end_is_left);
    tcase_add_test(tc, ranges_side_by_side_give_what_one_decoder_gives);
    tcase_add_test(tc, a_poster_at_the_end_of_its_memory_is_read_within_it);
    tcase_add_test(tc, frames_decode_in_the_colours_their_stream_declares);
    tcase_add_test(tc, a_stream_whose_colours_change_is_read_with_each_parts_own);
    tcase_add_test(tc,
                   a_range_after_a_keyframe_that_does_not_decode_alone_is_read_from_further_back);
    tcase_add_test(tc, a_range_of_an_mpeg_program_stream_starts_at_its_time);
    tcase_add_test(tc, an_interlaced_frame_is_read_from_one_field);
    tcase_add_test(tc, a_range_in_the_middle_of_a_long_gop_of_an_mpeg_ts_decodes);
    suite_add_tcase(s, tc);
    return s;
}
