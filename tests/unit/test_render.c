/* test_render.c — the in-memory animation's derived versions (the ladder's rungs), decoding
 * inside a GOP, and the render stage's progress. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "media/media.h"
#include "render/frames.h"
#include "render/render.h"
#include "render/sheet.h"
#include "util.h"

static void fill(tgi_frames *f, int clips, int per_clip)
{
    memset(f, 0, sizeof(*f));
    f->w = 64;
    f->h = 36;
    uint8_t *img = malloc(64 * 36 * 4);
    for (int c = 0; c < clips; c++)
        for (int i = 0; i < per_clip; i++) {
            memset(img, c * 40 + i, 64 * 36 * 4);
            ck_assert_int_eq(tgi_frames_add(NULL, f, img, i % 2 ? 9 : 8, c), 0);
        }
    free(img);
}

static int total_cs(const tgi_frames *f)
{
    int t = 0;
    for (size_t i = 0; i < f->n; i++)
        t += f->delay_cs[i];
    return t;
}

START_TEST(frame_steps_keep_the_timing)
{
    tgi_frames f, d;
    fill(&f, 3, 15);
    ck_assert_int_eq(tgi_frames_derive(NULL, &f, 3, 1.0, 0, &d), 0);
    ck_assert_int_eq(d.n, 15);
    ck_assert_int_eq(total_cs(&d), total_cs(&f)); /* delays merged, not dropped */
    ck_assert_int_eq(d.rgba[1][0], f.rgba[3][0]);
    ck_assert_int_eq(d.clip[14], 2);
    tgi_frames_free(&d);
    /* keep the first half of each clip */
    ck_assert_int_eq(tgi_frames_derive(NULL, &f, 1, 0.5, 0, &d), 0);
    ck_assert_int_eq(d.n, 3 * 8);
    ck_assert_int_eq(d.rgba[8][0], f.rgba[15][0]); /* clip 2 starts at its own start */
    tgi_frames_free(&d);
    /* half width: even sides, the aspect kept */
    ck_assert_int_eq(tgi_frames_derive(NULL, &f, 1, 1.0, 33, &d), 0);
    ck_assert_int_eq(d.w, 32);
    ck_assert_int_eq(d.h, 18);
    ck_assert_int_eq(d.rgba[5][100], f.rgba[5][100]); /* flat frames stay flat */
    tgi_frames_free(&d);
    ck_assert_int_eq(tgi_frames_derive(NULL, &f, 0, 1.0, 0, &d), TG_EINVAL);
    ck_assert_int_eq(tgi_frames_derive(NULL, &f, 1, 0, 0, &d), TG_EINVAL);
    tgi_frames_free(&f);
}
END_TEST

START_TEST(frame_memory_is_capped)
{
    tgi_frames f = {.w = 4096, .h = 4096};
    size_t per = (size_t)4096 * 4096 * 4, n = TG_FRAMES_MAX_BYTES / per;
    uint8_t *img = calloc(1, per);
    tg_ctx *ctx = tg_ctx_new();
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(tgi_frames_add(ctx, &f, img, 8, 0), 0);
    ck_assert_int_eq(tgi_frames_add(ctx, &f, img, 8, 0), TG_ELIMIT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "lower the clips"));
    tgi_frames_free(&f);
    tg_ctx_free(&ctx);
    free(img);
}
END_TEST

START_TEST(sheet_labels_are_drawn)
{
    int w = 80, h = 30;
    uint8_t *img = malloc((size_t)w * h * 3);
    memset(img, 200, (size_t)w * h * 3);
    tgi_sheet_label(img, w, h, 2, 2, 2, "#1 0:08.5");
    int white = 0, dark = 0;
    for (int i = 0; i < w * h; i++) {
        white += img[i * 3] == 255;
        dark += img[i * 3] == 50;
    }
    ck_assert_int_gt(white, 40); /* glyph pixels */
    ck_assert_int_gt(dark, 200); /* the darkened box behind them */
    ck_assert_int_eq(img[(size_t)(h - 1) * w * 3 + (w - 1) * 3], 200); /* outside: untouched */
    /* clipped at the edges, never written outside */
    tgi_sheet_label(img, w, h, w - 5, h - 5, 3, "12:34");
    free(img);
}
END_TEST

#define GRAB_W   64
#define GRAB_H   36
#define GRAB_MAX 64

typedef struct grabbed {
    double lo, hi; /* keep frames with lo <= t < hi */
    double t[GRAB_MAX];
    uint8_t *px[GRAB_MAX];
    int n;
} grabbed;

static int on_grab(void *user, const tgi_frame *f)
{
    grabbed *g = user;
    if (f->t < g->lo - 1e-6 || f->t >= g->hi - 1e-6 || g->n == GRAB_MAX)
        return 0;
    g->t[g->n] = f->t;
    g->px[g->n] = malloc((size_t)f->stride * f->height);
    ck_assert_ptr_nonnull(g->px[g->n]);
    memcpy(g->px[g->n], f->data, (size_t)f->stride * f->height);
    g->n++;
    return 0;
}

/* A decode that starts inside a GOP skips the frames nothing refers to before its start
 * (media.c): it must hand out exactly the frames a decode from the beginning shows there. */
START_TEST(mid_gop_start_gives_the_frames_of_a_whole_decode)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    const char *path = tgt_fixture("long.mp4"); /* x264 with B-frames, a keyframe every 2 s */
    ck_assert_msg(tgi_media_open(ctx, path, 0, &m) == 0, "%s", tg_ctx_message(ctx));
    grabbed whole = {.lo = 31.3, .hi = 32.0}, part = {.lo = 31.3, .hi = 32.0};
    tgi_decode_req all = {.width = GRAB_W, .height = GRAB_H, .pix = TG_PIX_RGB24, .end = 32.0};
    tgi_decode_req from = all;
    from.start = 31.3;
    ck_assert_int_eq(tgi_media_decode(ctx, m, &all, on_grab, &whole, NULL), 0);
    ck_assert_int_eq(tgi_media_decode(ctx, m, &from, on_grab, &part, NULL), 0);
    ck_assert_int_ge(whole.n, 20); /* 0.7 s at 30 fps */
    ck_assert_int_eq(part.n, whole.n);
    for (int i = 0; i < whole.n; i++) {
        ck_assert_double_eq_tol(part.t[i], whole.t[i], 1e-6);
        ck_assert_msg(memcmp(part.px[i], whole.px[i], GRAB_W * GRAB_H * 3) == 0,
                      "frame at %.3f s differs", whole.t[i]);
        free(part.px[i]);
        free(whole.px[i]);
    }
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
}
END_TEST

/* Sample-and-hold at 12 fps (what render.c's clips show): the frame at t is wanted when an
 * output instant k/12 falls in [t, next_t). Logs every question. */
typedef struct hold12 {
    grabbed g;
    double asked_t[GRAB_MAX], asked_next[GRAB_MAX];
    int asked;
} hold12;

static int shows_at_12(double t, double next_t)
{
    return ceil(t * 12 - 1e-6) < next_t * 12 - 1e-6;
}

static int need12(void *user, double t, double next_t)
{
    hold12 *h = user;
    if (h->asked < GRAB_MAX) {
        h->asked_t[h->asked] = t;
        h->asked_next[h->asked++] = next_t;
    }
    return shows_at_12(t, next_t);
}

static int on_hold12(void *user, const tgi_frame *f)
{
    return on_grab(&((hold12 *)user)->g, f);
}

/* A caller that shows only some frames says which (tgi_decode_req.need, asked with the
 * next frame's time): the others are never scaled, and the ones it gets are exactly the
 * frames of a plain decode at those times. */
START_TEST(frames_not_shown_are_not_scaled)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_msg(tgi_media_open(ctx, tgt_fixture("long.mp4"), 0, &m) == 0, "%s",
                  tg_ctx_message(ctx));
    /* the plain decode goes a little further, for the time of the frame after the range */
    grabbed whole = {.lo = 31.3, .hi = 32.2};
    tgi_decode_stats plain_st = {0}, need_st = {0};
    tgi_decode_req all = {.width = GRAB_W,
                          .height = GRAB_H,
                          .pix = TG_PIX_RGB24,
                          .start = 31.3,
                          .end = 32.2,
                          .stats = &plain_st};
    ck_assert_int_eq(tgi_media_decode(ctx, m, &all, on_grab, &whole, NULL), 0);
    hold12 part = {.g = {.lo = 0, .hi = 1e9}};
    tgi_decode_req some = all;
    some.end = 32.0;
    some.need = need12;
    some.stats = &need_st;
    ck_assert_int_eq(tgi_media_decode(ctx, m, &some, on_hold12, &part, NULL), 0);
    ck_assert_int_eq(plain_st.decoded, whole.n);
    ck_assert_int_eq(plain_st.converted, whole.n);
    int in_range = 0, want = 0;
    for (int i = 0; i < whole.n && whole.t[i] < 32.0 - 1e-6; i++) {
        in_range++;
        ck_assert_int_lt(i + 1, whole.n);
        /* asked once per frame, with the time of the frame after it */
        ck_assert_int_gt(part.asked, i);
        ck_assert_double_eq_tol(part.asked_t[i], whole.t[i], 1e-6);
        ck_assert_double_eq_tol(part.asked_next[i], whole.t[i + 1], 1e-6);
        if (!shows_at_12(whole.t[i], whole.t[i + 1]))
            continue;
        ck_assert_int_gt(part.g.n, want);
        ck_assert_double_eq_tol(part.g.t[want], whole.t[i], 1e-6);
        ck_assert_msg(memcmp(part.g.px[want], whole.px[i], GRAB_W * GRAB_H * 3) == 0,
                      "frame at %.3f s differs", whole.t[i]);
        want++;
    }
    ck_assert_int_ge(in_range, 20); /* 0.7 s at 30 fps */
    ck_assert_int_eq(part.asked, in_range);
    ck_assert_int_eq(need_st.decoded, in_range);
    ck_assert_int_eq(part.g.n, want);
    ck_assert_int_eq(need_st.converted, want);
    ck_assert_int_le(want, in_range / 2); /* 12 of 30 a second */
    ck_assert_int_ge(want, 8);
    for (int i = 0; i < whole.n; i++)
        free(whole.px[i]);
    for (int i = 0; i < part.g.n; i++)
        free(part.g.px[i]);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
}
END_TEST

typedef struct progress_log {
    int calls, went_back, other_stage;
    double last, cancel_at; /* cancel_at > 0: cancel ctx once progress reaches it */
    tg_ctx *ctx;
} progress_log;

static void log_progress(void *user, const char *stage, double f)
{
    progress_log *l = user;
    if (l->cancel_at > 0 && f >= l->cancel_at)
        tg_ctx_cancel(l->ctx);
    if (strcmp(stage, "render")) {
        l->other_stage++;
        return;
    }
    l->went_back += f < l->last - 1e-9;
    l->last = f;
    l->calls++;
}

/* story.mp4's three clips rendered into outs (a mask of gif, webp, mp4), progress logged;
 * threads: the option (1 = everything on one thread); keep: the files' bytes, malloc'd, in
 * keep[k] (sizes in keep_n[k]) when not NULL. Returns tgi_render_run's result. */
static int render_into(int outs, int threads, progress_log *log, int *n_frames, char **keep,
                       size_t *keep_n)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_media *m = NULL;
    ck_assert_int_eq(tgi_media_open(ctx, tgt_fixture("story.mp4"), 0, &m), 0);
    const tgi_media_info *in = tgi_media_get_info(m);
    char json[512];
    snprintf(json, sizeof(json),
             "{\"source\":{\"duration\":%.3f,\"width\":%d,\"height\":%d,\"fps\":%.3f},"
             "\"segments\":[{\"start\":4,\"end\":5},{\"start\":16,\"end\":17},"
             "{\"start\":28,\"end\":29}]}",
             in->duration, in->width, in->height, in->fps);
    tg_plan *plan = NULL;
    ck_assert_msg(tg_plan_from_json(ctx, json, &plan) == 0, "%s", tg_ctx_message(ctx));
    tg_options o;
    tg_options_default(&o);
    o.width = 160;
    o.threads = threads;
    char *paths[3] = {tgt_tmp_path(".gif"), tgt_tmp_path(".webp"), tgt_tmp_path(".mp4")};
    tg_outputs out = {.gif = outs & 1 ? paths[0] : NULL,
                      .webp = outs & 2 ? paths[1] : NULL,
                      .mp4 = outs & 4 ? paths[2] : NULL};
    double cancel_at = log->cancel_at;
    *log = (progress_log){.cancel_at = cancel_at, .ctx = ctx};
    tg_ctx_set_progress(ctx, log_progress, log);
    int rc = tgi_render_run(ctx, m, plan, &o, &out);
    ck_assert_msg(rc == 0 || cancel_at > 0, "%s", tg_ctx_message(ctx));
    for (int k = 0; k < 3 && keep; k++)
        keep[k] = (outs & (1 << k)) ? tgt_read_file(paths[k], &keep_n[k]) : NULL;
    if (rc < 0) /* nothing is left behind */
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(tgt_file_exists(paths[k]), 0);
    *n_frames = 0;
    const tg_output_report *reps[3] = {&out.gif_report, &out.webp_report, &out.mp4_report};
    for (int k = 0; k < 3; k++)
        if (outs & (1 << k))
            *n_frames = (int)lround(reps[k]->fps * 3); /* 3 clips of 1 s */
    for (int k = 0; k < 3; k++) {
        unlink(paths[k]);
        free(paths[k]);
    }
    tg_plan_free(&plan);
    tgi_media_close(&m);
    tg_ctx_free(&ctx);
    return rc;
}

static void render_logged(int outs, progress_log *log, int *n_frames)
{
    log->cancel_at = 0;
    ck_assert_int_eq(render_into(outs, 0, log, n_frames, NULL, NULL), 0);
}

/* The formats are encoded side by side (render.c's lanes): the same bytes as one after the
 * other on one thread, and a cancellation in the middle stops both lanes, keeping no file. */
START_TEST(formats_side_by_side_make_the_same_files)
{
    progress_log log = {0};
    int n;
    char *a[3], *b[3];
    size_t an[3], bn[3];
    ck_assert_int_eq(render_into(7, 1, &log, &n, a, an), 0);
    ck_assert_int_eq(log.went_back, 0);
    ck_assert_int_eq(render_into(7, 0, &log, &n, b, bn), 0);
    ck_assert_int_eq(log.went_back, 0);
    for (int k = 0; k < 3; k++) {
        ck_assert_ptr_nonnull(a[k]);
        ck_assert_ptr_nonnull(b[k]);
        ck_assert_msg(an[k] == bn[k] && !memcmp(a[k], b[k], an[k]), "format %d differs", k);
        free(a[k]);
        free(b[k]);
    }
    log.cancel_at = 0.5;
    ck_assert_int_eq(render_into(7, 0, &log, &n, NULL, NULL), TG_ECANCEL);
    ck_assert(log.last < 0.99);
}
END_TEST

/* The render stage's progress goes on through the encoding (not only while decoding, then a
 * silence until the end): a report per encoded frame of the WebP and the MP4, and per frame
 * the GIF encodes on the caller's thread (its clips run side by side: at least half of its
 * frames); never backwards, and it ends at 1. */
START_TEST(render_progress_moves_through_the_encoding)
{
    progress_log gif, other, all;
    int n1, n2, n3;
    render_logged(1, &gif, &n1);
    render_logged(6, &other, &n2);
    render_logged(7, &all, &n3);
    ck_assert_int_eq(n1, n3);
    ck_assert_int_eq(n2, n3);
    ck_assert_int_ge(n1, 30); /* 12 fps x 3 s */
    ck_assert_int_eq(gif.went_back + other.went_back + all.went_back, 0);
    ck_assert_int_eq(gif.other_stage + other.other_stage + all.other_stage, 0);
    ck_assert(fabs(gif.last - 1) < 1e-6 && fabs(other.last - 1) < 1e-6 &&
              fabs(all.last - 1) < 1e-6);
    ck_assert_msg(other.calls >= 2 * n2, "%d reports for the WebP and the MP4's %d frames each",
                  other.calls, n2);
    ck_assert_msg(gif.calls >= n1 / 2, "%d reports for the GIF's %d frames", gif.calls, n1);
    ck_assert_msg(all.calls >= other.calls, "%d reports for all three, %d without the GIF",
                  all.calls, other.calls);
}
END_TEST

Suite *suite_render(void);
Suite *suite_render(void)
{
    Suite *s = suite_create("render");
    TCase *tc = tcase_create("frames");
    tcase_add_test(tc, frame_steps_keep_the_timing);
    tcase_add_test(tc, frame_memory_is_capped);
    tcase_add_test(tc, sheet_labels_are_drawn);
    tcase_add_test(tc, mid_gop_start_gives_the_frames_of_a_whole_decode);
    tcase_add_test(tc, frames_not_shown_are_not_scaled);
    tcase_add_test(tc, render_progress_moves_through_the_encoding);
    tcase_add_test(tc, formats_side_by_side_make_the_same_files);
    suite_add_tcase(s, tc);
    return s;
}
