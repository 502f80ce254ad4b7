/*
 * test_cli.c — end to end: the thumbgen command on the fixture videos
 * (tests/fixtures/make-fixtures.sh writes them with their ground truth, NAME.truth.json)
 * and on real footage from Debian's opencv-doc. Each test runs build/thumbgen as a
 * user would, then checks the plan against the truth and decodes the GIF back.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/features.h"
#include "analyze/sampler.h"
#include "cli/cli.h"
#include "thumbgen.h"
#include "util.h"

#define OPENCV "/usr/share/doc/opencv-doc/examples/data/"

static json_t *load_json_text(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    ck_assert_msg(j != NULL, "bad JSON (%s): %.200s", e.text, text);
    return j;
}

static json_t *truth(const char *fixture)
{
    char name[256];
    snprintf(name, sizeof(name), "%s.truth.json", fixture);
    char *text = tgt_read_file(tgt_fixture(name), NULL);
    ck_assert_msg(text != NULL, "missing %s (run make fixtures)", name);
    json_t *j = load_json_text(text);
    free(text);
    return j;
}

static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    ck_assert_msg(json_is_number(v), "no number '%s'", k);
    return json_number_value(v);
}

/* run thumbgen with up to 16 arguments; NULL-terminated varargs */
#define thumbgen(r, ...) ck_assert_int_eq(tgt_thumbgen(r, __VA_ARGS__), 0)

static json_t *plan_of(const char *video, const char *extra1, const char *extra2)
{
    tgt_run r;
    thumbgen(&r, "plan", video, "--quiet", extra1, extra2, NULL);
    ck_assert_msg(r.status == 0, "plan %s failed (%d): %s", video, r.status, r.err);
    json_t *p = load_json_text(r.out);
    tgt_run_free(&r);
    return p;
}

/* `thumbgen analyze video -o an [extra...]` (up to 4 arguments; NULL ends them), and the
 * analysis it wrote. */
static json_t *analysis_of(const char *video, const char *an, const char *e1, const char *e2,
                           const char *e3, const char *e4)
{
    tgt_run r;
    thumbgen(&r, "analyze", video, "-o", an, "--quiet", e1, e2, e3, e4, NULL);
    ck_assert_msg(r.status == 0, "analyze failed (%d): %s", r.status, r.err);
    tgt_run_free(&r);
    char *text = tgt_read_file(an, NULL);
    ck_assert_ptr_nonnull(text);
    json_t *a = load_json_text(text);
    free(text);
    return a;
}

static int in_range(double a, double b, json_t *ranges, const char **kind)
{
    size_t i;
    json_t *x;
    json_array_foreach(ranges, i, x)
    {
        double s = num(x, "start"), e = num(x, "end");
        if (a < e && s < b) {
            if (kind)
                *kind = json_string_value(json_object_get(x, "kind"));
            return 1;
        }
    }
    return 0;
}

/* index of the truth shot whose clean interior holds [a, b], or -1 */
static int good_shot(json_t *tr, double a, double b)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(tr, "shots"), i, s)
    {
        json_t *good = json_object_get(s, "good");
        if (good && !json_is_true(good))
            continue;
        if (json_object_get(s, "repeat_of"))
            continue; /* an outro repeating the intro: never picked */
        if (a >= num(s, "start") - 1e-3 && b <= num(s, "end") + 1e-3)
            return (int)i;
    }
    return -1;
}

static void check_story_plan(const char *analysis)
{
    json_t *tr = truth("story.mp4"), *p = plan_of(tgt_fixture("story.mp4"), "--analysis", analysis);
    json_t *bad = json_object_get(tr, "bad"), *segs = json_object_get(p, "segments");
    ck_assert_int_eq(json_array_size(segs), 3);
    size_t i;
    json_t *g;
    int shots[8];
    double prev_end = -1;
    json_array_foreach(segs, i, g)
    {
        double a = num(g, "start"), b = num(g, "end");
        const char *kind = NULL;
        ck_assert_msg(b - a > 1.15 && b - a < 1.25, "clip %zu lasts %.2f s", i, b - a);
        ck_assert_msg(!in_range(a, b, bad, &kind), "clip %.2f-%.2f touches %s", a, b, kind);
        shots[i] = good_shot(tr, a, b);
        ck_assert_msg(shots[i] >= 0, "clip %.2f-%.2f is not inside one good shot", a, b);
        for (size_t k = 0; k < i; k++)
            ck_assert_msg(shots[k] != shots[i], "two clips from truth shot %d", shots[i]);
        ck_assert_msg(a >= prev_end, "clips out of order");
        prev_end = b;
        size_t c;
        json_t *cut;
        json_array_foreach(json_object_get(tr, "cuts"), c, cut)
            ck_assert_msg(!(json_number_value(cut) > a && json_number_value(cut) < b),
                          "clip %.2f-%.2f crosses the cut at %.2f", a, b, json_number_value(cut));
    }
    json_t *keys = json_object_get(p, "keyframes");
    ck_assert_int_eq(json_array_size(keys), 6);
    int kshot[6];
    json_array_foreach(keys, i, g)
    {
        double t = num(g, "t");
        const char *kind = NULL;
        ck_assert_msg(!in_range(t - 0.04, t + 0.04, bad, &kind), "keyframe %.2f in %s", t, kind);
        kshot[i] = good_shot(tr, t, t);
        ck_assert_msg(kshot[i] >= 0, "keyframe %.2f outside the good shots", t);
    }
    /* five good shots (the sixth is the repeat): the first five stills cover them all */
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < a; b++)
            ck_assert_msg(kshot[a] != kshot[b], "keyframes %zu and %zu share shot %d", a, b,
                          kshot[a]);
    double poster = num(json_object_get(p, "poster"), "t");
    ck_assert_double_eq_tol(poster, num(json_array_get(keys, 0), "t"), 1e-6);
    /* detected shots: every truth cut is a shot edge (within two frames) */
    json_t *cut;
    json_array_foreach(json_object_get(tr, "cuts"), i, cut)
    {
        double c = json_number_value(cut);
        int found = 0;
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(p, "shots"), k, s) found |=
            fabs(num(s, "start") - c) < 0.2 || fabs(num(s, "end") - c) < 0.2;
        /* the cut into the fade-in at 2.0 is inside a transition; sparse analysis
         * only sees the stretches it decoded */
        if (c > 2.5 && !strcmp(analysis, "full"))
            ck_assert_msg(found, "no shot edge at the cut %.2f", c);
    }
    json_t *src = json_object_get(p, "source");
    ck_assert_int_eq((int)num(src, "width"), 640);
    ck_assert_double_eq_tol(num(src, "duration"), 40.0, 0.1);
    json_decref(p);
    json_decref(tr);
}

START_TEST(story_plan_keeps_to_good_material)
{
    check_story_plan("full");
}
END_TEST

/* keyframes first, then only the promising stretches: the same guarantees */
START_TEST(sparse_analysis_keeps_the_same_guarantees)
{
    check_story_plan("sparse");
    json_t *tr = truth("long.mp4"), *p = plan_of(tgt_fixture("long.mp4"), "--analysis", "sparse");
    size_t i, k;
    json_t *g, *cut;
    ck_assert_int_eq(json_array_size(json_object_get(p, "segments")), 3);
    json_array_foreach(json_object_get(p, "segments"), i, g)
    {
        double a = num(g, "start"), b = num(g, "end");
        json_array_foreach(json_object_get(tr, "cuts"), k, cut)
        {
            double c = json_number_value(cut);
            ck_assert_msg(!(c > a - 0.1 && c < b + 0.1), "clip %.2f-%.2f crosses the cut %.2f", a,
                          b, c);
        }
    }
    json_decref(p);
    json_decref(tr);
}
END_TEST

/* Sample times of `thumbgen analyze VIDEO --analysis MODE`; *mode gets its mode. */
static json_t *analysis_times(const char *video, const char *mode, char *got_mode, size_t cap)
{
    char *an = tgt_tmp_path(".json");
    tgt_run r;
    thumbgen(&r, "analyze", video, "-o", an, "--analysis", mode, "--quiet", NULL);
    ck_assert_msg(r.status == 0, "analyze %s failed (%d): %s", video, r.status, r.err);
    tgt_run_free(&r);
    char *text = tgt_read_file(an, NULL);
    ck_assert_ptr_nonnull(text);
    json_t *a = load_json_text(text);
    free(text);
    unlink(an);
    free(an);
    snprintf(got_mode, cap, "%s",
             json_string_value(json_object_get(json_object_get(a, "analysis"), "mode")));
    json_t *t = json_incref(json_object_get(json_object_get(a, "samples"), "t"));
    ck_assert_msg(json_is_array(t), "no sample times");
    json_decref(a);
    return t;
}

/* A screen recording: each program starts black and then draws its window, and the
 * encoder puts a keyframe at the black start only. Sparse analysis must look inside
 * every such stretch, not skip it for its black keyframe (the real-footage eval's
 * screencast lost half its scenes that way). */
START_TEST(sparse_analysis_looks_past_black_keyframes)
{
    char *v = tgt_tmp_path(".mp4");
    /* four 6-s screens; the last three begin with 0.5 s of black */
    const char *graph = "testsrc2=s=160x120:r=10:d=6[s0];"
                        "color=black:s=160x120:r=10:d=0.5[b1];smptebars=s=160x120:r=10:d=5.5[s1];"
                        "color=black:s=160x120:r=10:d=0.5[b2];rgbtestsrc=s=160x120:r=10:d=5.5[s2];"
                        "color=black:s=160x120:r=10:d=0.5[b3];testsrc=s=160x120:r=10:d=5.5[s3];"
                        "[s0][b1][s1][b2][s2][b3][s3]concat=n=7,format=yuv420p[out0]";
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", graph, "-c:v", "libx264", "-g", "1000",
                                "-sc_threshold", "0", "-force_key_frames", "0,3,6,12,18", v, NULL),
                     0);
    char mode[32];
    json_t *t = analysis_times(v, "sparse", mode, sizeof(mode));
    ck_assert_str_eq(mode, "sparse");
    for (int k = 1; k < 4; k++) {
        size_t i, seen = 0;
        json_t *x;
        json_array_foreach(t, i, x) seen +=
            json_number_value(x) >= 6 * k + 1 && json_number_value(x) < 6 * k + 6;
        /* a stretch decoded there gives every frame of it (10 a second) */
        ck_assert_msg(seen >= 10, "screen %d (%d-%d s): %zu samples after its black start", k,
                      6 * k, 6 * k + 6, seen);
    }
    json_decref(t);
    unlink(v);
    free(v);
}
END_TEST

/* The analysis JSON of `thumbgen analyze VIDEO --analysis MODE` (asserted to be MODE). */
static json_t *analysis_in_mode(const char *video, const char *mode)
{
    char *an = tgt_tmp_path(".json");
    tgt_run r;
    thumbgen(&r, "analyze", video, "-o", an, "--analysis", mode, "--quiet", NULL);
    ck_assert_msg(r.status == 0, "analyze %s failed (%d): %s", video, r.status, r.err);
    tgt_run_free(&r);
    char *text = tgt_read_file(an, NULL);
    ck_assert_ptr_nonnull(text);
    json_t *a = load_json_text(text);
    free(text);
    unlink(an);
    free(an);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "analysis"), "mode")),
                     mode);
    return a;
}

/* Samples a second of video looked at by `thumbgen analyze VIDEO --analysis MODE`. */
static double samples_per_second(const char *video, const char *mode)
{
    json_t *a = analysis_in_mode(video, mode);
    double looked = num(json_object_get(a, "analysis"), "seconds");
    size_t n = json_array_size(json_object_get(json_object_get(a, "samples"), "t"));
    json_decref(a);
    ck_assert_double_gt(looked, 5);
    return n / looked;
}

/* Sparse analysis decodes its stretches without the frames nothing refers to (x264's
 * non-reference B-frames: half of long.mp4's, which is 30 fps): a third less decoding,
 * samples at 15 a second there; the full analysis keeps every frame (bench/RESULTS.md,
 * "Speed at every length", part 3). */
START_TEST(sparse_stretches_skip_frames_nothing_refers_to)
{
    double full = samples_per_second(tgt_fixture("long.mp4"), "full");
    double sparse = samples_per_second(tgt_fixture("long.mp4"), "sparse");
    ck_assert_msg(full > 29 && full < 31, "full analysis: %.1f samples a second", full);
    ck_assert_msg(sparse > 12 && sparse < 20, "sparse stretches: %.1f samples a second", sparse);
}
END_TEST

/* Sparse analysis decodes its stretches on two decoders side by side (media/ranges.h) and
 * looks at their frames in time order: the analysis (samples, spans, faces, subjects, the
 * CNN's frames) is the one a single decoder gives (--threads 1), byte for byte. */
START_TEST(stretches_side_by_side_give_the_one_decoders_analysis)
{
    const char *v = tgt_fixture("long.mp4");
    char *out[2];
    static const char *threads[] = {"1", "0"};
    for (int k = 0; k < 2; k++) {
        out[k] = tgt_tmp_path(".json");
        tgt_run r;
        thumbgen(&r, "analyze", v, "-o", out[k], "--analysis", "sparse", "--threads", threads[k],
                 "--quiet", NULL);
        ck_assert_msg(r.status == 0, "analyze --threads %s failed (%d): %s", threads[k], r.status,
                      r.err);
        tgt_run_free(&r);
    }
    size_t n0, n1;
    char *a0 = tgt_read_file(out[0], &n0), *a1 = tgt_read_file(out[1], &n1);
    ck_assert_ptr_nonnull(a0);
    ck_assert_ptr_nonnull(a1);
    json_t *j = json_loads(a0, 0, NULL);
    ck_assert_ptr_nonnull(j);
    /* several stretches, so that two decoders had work side by side */
    ck_assert_int_ge(json_array_size(json_object_get(j, "spans")), 3);
    json_decref(j);
    ck_assert_msg(n0 == n1 && !memcmp(a0, a1, n0), "the analyses differ (%zu and %zu bytes)", n0,
                  n1);
    for (int k = 0; k < 2; k++) {
        unlink(out[k]);
        free(out[k]);
    }
    free(a0);
    free(a1);
}
END_TEST

/* A long video's densely decoded stretches give the CNN one frame a second, not two
 * (bench/RESULTS.md, "Speed at every length", part 4): a 200-s video, sparse. */
START_TEST(long_video_stretches_give_the_cnn_a_frame_a_second)
{
    char *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=200", "-c:v",
                                "libx264", "-preset", "ultrafast", "-g", "30", "-sc_threshold", "0",
                                "-pix_fmt", "yuv420p", v, NULL),
                     0);
    char *an = tgt_tmp_path(".json");
    json_t *a = analysis_of(v, an, NULL, NULL, NULL, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "analysis"), "mode")),
                     "sparse");
    json_t *st = json_object_get(json_object_get(a, "samples"), "t");
    json_t *ct = json_object_get(json_object_get(a, "cnn"), "t");
    ck_assert_msg(json_is_array(ct) && json_array_size(ct) > 0, "no CNN frames (TG_MODELS?)");
    size_t k, inside = 0;
    json_t *span;
    double min_gap = 1e9;
    json_array_foreach(json_object_get(a, "spans"), k, span)
    {
        double t0 = json_number_value(
                   json_array_get(st, (size_t)json_integer_value(json_array_get(span, 0)))),
               t1 = json_number_value(json_array_get(span, 1)), prev = -1;
        size_t i;
        json_t *x;
        json_array_foreach(ct, i, x)
        {
            double t = json_number_value(x);
            if (t < t0 - 1e-6 || t >= t1)
                continue;
            inside++;
            if (prev >= 0)
                min_gap = fmin(min_gap, t - prev);
            prev = t;
        }
    }
    ck_assert_msg(inside >= 10, "%zu CNN frames inside the stretches", inside);
    ck_assert_msg(min_gap > 0.95, "CNN frames %.2f s apart inside a stretch", min_gap);
    json_decref(a);
    unlink(an);
    free(an);
    unlink(v);
    free(v);
}
END_TEST

/* Keyframes 8 s apart: sparse analysis decodes a chosen stretch from its keyframe only
 * as far as the clips need (4.35 s for the default 1.2-s clips, 6.75 s for 2-s clips),
 * not to the next keyframe or REGION_MAX (8 s) as it did (bench/RESULTS.md, "Speed at
 * every length", part 6). */
START_TEST(sparse_stretches_stop_where_clips_need_no_more)
{
    char *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=10:d=64", "-c:v",
                                "libx264", "-preset", "ultrafast", "-g", "80", "-sc_threshold", "0",
                                "-pix_fmt", "yuv420p", v, NULL),
                     0);
    static const char *const lens[] = {"1.2", "2"};
    static const double most[] = {4.35, 6.75};
    for (int c = 0; c < 2; c++) {
        char *an = tgt_tmp_path(".json");
        json_t *a = analysis_of(v, an, "--analysis", "sparse", "--clip-len", lens[c]);
        json_t *st = json_object_get(json_object_get(a, "samples"), "t");
        size_t k, n_spans = 0;
        json_t *span;
        double longest = 0;
        json_array_foreach(json_object_get(a, "spans"), k, span)
        {
            double t0 = json_number_value(
                       json_array_get(st, (size_t)json_integer_value(json_array_get(span, 0)))),
                   t1 = json_number_value(json_array_get(span, 1));
            longest = fmax(longest, t1 - t0);
            n_spans++;
        }
        ck_assert_msg(n_spans >= 3, "%zu stretches", n_spans);
        ck_assert_msg(longest <= most[c] + 1e-6 && longest > most[c] - 0.5,
                      "clips of %s s: a stretch of %.2f s decoded", lens[c], longest);
        json_decref(a);
        unlink(an);
        free(an);
    }
    unlink(v);
    free(v);
}
END_TEST

/* Shots of 3-6 s with a keyframe at every cut (the benchmark videos' kind: long.mp4
 * re-encoded with its keyframes at its cuts): of the 13 stretches sparse analysis
 * chooses for 3 clips and 6 stills, only 3 + 3 are decoded as far as a clip needs
 * (4.35 s, less where the next cut comes first); the others, for stills, 1.2 s (a 60-s
 * video: faces looked for every 0.25 s): 31.45 s of the 60 s decoded densely (1.3-s still
 * stretches: 32.15 s, 1.7-s: 34.95 s, main before part 7 50; at most 6 x 4.35 + 7 x 1.2),
 * and the plan keeps three clips and six stills of six different shots, each inside one
 * shot (bench/RESULTS.md, "Speed at every length", parts 7 and 10, and "The video's levels
 * weighed by the time each stretch stands for"). */
/* The default plan of long.mp4 (keyed at its cuts): three full-length clips and six
 * stills, each inside one shot, no two of the same shot. */
static void expect_default_plan_in_distinct_shots(json_t *tr, json_t *p)
{
    size_t i;
    json_t *g, *segs = json_object_get(p, "segments"), *keyf = json_object_get(p, "keyframes");
    ck_assert_int_eq(json_array_size(segs), 3);
    ck_assert_int_eq(json_array_size(keyf), 6);
    int shots[6];
    json_array_foreach(segs, i, g)
    {
        double s0 = num(g, "start"), s1 = num(g, "end");
        ck_assert_msg(s1 - s0 > 1.15, "clip %.2f-%.2f shortened", s0, s1);
        shots[i] = good_shot(tr, s0, s1);
        ck_assert_msg(shots[i] >= 0, "clip %.2f-%.2f is not inside one shot", s0, s1);
        for (size_t k = 0; k < i; k++)
            ck_assert_msg(shots[k] != shots[i], "two clips of shot %d", shots[i]);
    }
    json_array_foreach(keyf, i, g)
    {
        double t = num(g, "t");
        shots[i] = good_shot(tr, t, t);
        ck_assert_msg(shots[i] >= 0, "still %.2f outside the shots", t);
        for (size_t k = 0; k < i; k++)
            ck_assert_msg(shots[k] != shots[i], "two stills of shot %d", shots[i]);
    }
}

/* long.mp4 (truth tr) re-encoded with a keyframe at each of its cuts: a temporary file
 * (the caller unlinks and frees it). */
static char *long_keyed_at_cuts(json_t *tr)
{
    char keys[256] = "", *w = keys;
    size_t i;
    json_t *cut;
    json_array_foreach(json_object_get(tr, "cuts"), i, cut)
    {
        int k = snprintf(w, sizeof(keys) - (size_t)(w - keys), "%s%g", i ? "," : "",
                         json_number_value(cut));
        ck_assert(k > 0 && (size_t)k < sizeof(keys) - (size_t)(w - keys));
        w += k;
    }
    char *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-i", tgt_fixture("long.mp4"), "-c:v", "libx264", "-preset",
                                "ultrafast", "-g", "300", "-force_key_frames", keys, "-pix_fmt",
                                "yuv420p", v, NULL),
                     0);
    return v;
}

/* The default plan of video v (truth tr) from a sparse analysis: no warning, three full
 * clips and six stills, each of another shot. Frees tr, removes and frees v. */
static void expect_sparse_plan_of(json_t *tr, char *v)
{
    json_t *p = plan_of(v, "--analysis", "sparse");
    ck_assert_msg(json_array_size(json_object_get(p, "warnings")) == 0, "warnings: %s",
                  json_string_value(json_array_get(json_object_get(p, "warnings"), 0)));
    expect_default_plan_in_distinct_shots(tr, p);
    json_decref(p);
    json_decref(tr);
    unlink(v);
    free(v);
}

START_TEST(sparse_stretches_for_stills_are_short)
{
    json_t *tr = truth("long.mp4");
    char *v = long_keyed_at_cuts(tr);
    json_t *a = analysis_in_mode(v, "sparse");
    double looked = num(json_object_get(a, "analysis"), "seconds");
    json_decref(a);
    ck_assert_msg(looked > 10 && looked <= 31.8, "%.2f s of 60 decoded densely", looked);
    expect_sparse_plan_of(tr, v);
}
END_TEST

/* long.mp4 keyed every 0.8 s (a teaser's encoder did that: 0.83-s GOPs): sparse
 * analysis' stretches go on over as many GOPs as a clip and room to move it need, so the
 * default plan has three full clips and six stills, each of another shot (main: one GOP
 * a stretch, every clip shortened or missing). */
START_TEST(sparse_analysis_of_short_gops_holds_full_clips)
{
    json_t *tr = truth("long.mp4");
    char *v = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-i", tgt_fixture("long.mp4"), "-c:v", "libx264", "-preset",
                                "ultrafast", "-g", "24", "-pix_fmt", "yuv420p", v, NULL),
                     0);
    expect_sparse_plan_of(tr, v);
}
END_TEST

/* Seconds a whole sparse analysis of video decodes densely with --clip-len len. */
static double sparse_seconds(const char *video, const char *len)
{
    char *an = tgt_tmp_path(".json");
    json_t *a = analysis_of(video, an, "--analysis", "sparse", "--clip-len", len);
    double secs = num(json_object_get(a, "analysis"), "seconds");
    json_decref(a);
    unlink(an);
    free(an);
    return secs;
}

/* The plan p has n clips, each longer than min seconds. */
static void expect_clips_of(json_t *p, size_t n, double min)
{
    size_t i;
    json_t *g, *segs = json_object_get(p, "segments");
    ck_assert_int_eq(json_array_size(segs), n);
    json_array_foreach(segs, i, g)
    {
        double s0 = num(g, "start"), s1 = num(g, "end");
        ck_assert_msg(s1 - s0 > min, "clip %.2f-%.2f shortened", s0, s1);
    }
}

/* `thumbgen plan` analyses in rounds: a first sparse round decodes only clips + 1 of
 * its stretches as far as a clip needs (the others as far as a still needs), and a
 * second, whole one (`thumbgen analyze`'s) only when the choice from the first lacks
 * clean positions. On long.mp4 keyed at its cuts the first round is enough for the
 * default plan: fewer seconds decoded densely than `analyze` (main: the same), three
 * full clips and six stills of different shots; with 4-s clips the first round is
 * short of room and the plan comes from a whole analysis (bench/RESULTS.md, "Speed at
 * every length", part 9). With 1.2-s stretches for stills the first round decodes 25.5 s
 * densely (1.3-s ones, part 10: 26.4; 1.7-s ones: 30.0). */
START_TEST(plan_decodes_more_stretches_only_when_it_lacks_clips)
{
    json_t *tr = truth("long.mp4");
    char *v = long_keyed_at_cuts(tr);
    json_t *a = analysis_in_mode(v, "sparse");
    double whole = num(json_object_get(a, "analysis"), "seconds");
    json_decref(a);
    json_t *p = plan_of(v, "--analysis", "sparse");
    double first = num(json_object_get(p, "analysis"), "seconds");
    ck_assert_msg(first < whole - 1 && first <= 26.0,
                  "the plan decoded %.2f s densely, a whole analysis %.2f s", first, whole);
    expect_default_plan_in_distinct_shots(tr, p);
    json_decref(p);
    /* 3-s clips: the first round's stretches for clips go on past their next keyframe
     * (3-4 s on) until a 3-s clip fits (sampler.c), so they hold three, from fewer
     * seconds than a whole analysis (main: two, then a second, whole round) */
    double whole3 = sparse_seconds(v, "3");
    p = plan_of(v, "--clip-len=3", "--analysis=sparse");
    ck_assert_msg(num(json_object_get(p, "analysis"), "seconds") < whole3 - 1,
                  "the plan decoded %.2f s, a whole analysis %.2f s",
                  num(json_object_get(p, "analysis"), "seconds"), whole3);
    expect_clips_of(p, 3, 2.95);
    json_decref(p);
    /* 4-s clips: the first round's hold fewer of 4 s, so a second, whole round is made:
     * the plan decoded what `thumbgen analyze` does, and its clips are as long as that
     * analysis holds (3 s: the shots are 3-6 s) */
    double whole4 = sparse_seconds(v, "4");
    p = plan_of(v, "--clip-len=4", "--analysis=sparse");
    ck_assert_double_eq_tol(num(json_object_get(p, "analysis"), "seconds"), whole4, 1e-3);
    expect_clips_of(p, 3, 2.95);
    json_decref(p);
    json_decref(tr);
    unlink(v);
    free(v);
}
END_TEST

/* `thumbgen analyze VIDEO --analysis sparse` (CNN, face model and subject detector on:
 * TG_MODELS) as JSON. */
static json_t *sparse_analysis_of(const char *video)
{
    return analysis_in_mode(video, "sparse");
}

/* Inside sparse analysis' stretches the CNN looks at one frame a second below 3 minutes
 * too (long.mp4 lasts 60 s; it was two), and never again at or near a keyframe the
 * keyframe pass showed it: the same clips and stills on the real-footage eval for less
 * CPU (bench/RESULTS.md, "Speed at every length", parts 4 and 5). */
START_TEST(sparse_stretches_feed_the_cnn_once_a_second)
{
    json_t *a = sparse_analysis_of(tgt_fixture("long.mp4"));
    json_t *cnn_t = json_object_get(json_object_get(a, "cnn"), "t");
    ck_assert_msg(json_is_array(cnn_t), "no CNN in the analysis (TG_MODELS must hold its weights)");
    json_t *st = json_object_get(json_object_get(a, "samples"), "t"),
           *spans = json_object_get(a, "spans");
    /* each span is a stretch (or neighbouring ones), decoded from its keyframe */
    size_t k, i, inside = 0;
    json_t *sp;
    json_array_foreach(spans, k, sp)
    {
        double t0 =
            json_number_value(json_array_get(st, json_integer_value(json_array_get(sp, 0))));
        double t1 = json_number_value(json_array_get(sp, 1)), prev = -1;
        json_t *x;
        json_array_foreach(cnn_t, i, x)
        {
            double t = json_number_value(x);
            if (t <= t0 + 1e-6 || t >= t1)
                continue; /* the keyframe, or another stretch */
            inside++;
            if (prev >= 0)
                ck_assert_msg(t - prev > 0.9, "CNN frames %.3f and %.3f in the stretch %.2f-%.2f",
                              prev, t, t0, t1);
            prev = t;
        }
    }
    ck_assert_msg(inside >= 3, "the CNN saw %zu frames inside the stretches", inside);
    /* no frame twice, none within half a second of another (long.mp4's keyframes are
     * 2-2.4 s apart: only a stretch frame next to a keyframe could be) */
    size_t n = json_array_size(cnn_t);
    double *t = malloc(n * sizeof(*t));
    ck_assert_ptr_nonnull(t);
    for (i = 0; i < n; i++)
        t[i] = json_number_value(json_array_get(cnn_t, i));
    for (i = 0; i < n; i++)
        for (k = i + 1; k < n; k++)
            ck_assert_msg(fabs(t[i] - t[k]) >= 0.5 - 1e-6, "CNN frames at %.3f and %.3f", t[i],
                          t[k]);
    free(t);
    json_decref(a);
}
END_TEST

/* The subject detector (~60 ms a frame) does not look again at a stretch's keyframe
 * when the keyframe pass has looked at it. Two entries alike in time, class, score and
 * box can only come from looking twice at one frame: the detector keeps one box per
 * object. */
START_TEST(sparse_analysis_looks_for_subjects_once_a_frame)
{
    json_t *a = sparse_analysis_of(tgt_fixture("long.mp4"));
    json_t *list = json_object_get(json_object_get(a, "subjects"), "list");
    ck_assert_msg(json_is_array(list) && json_array_size(list) > 3,
                  "no subjects in the analysis (TG_MODELS must hold the detector)");
    size_t n = json_array_size(list);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            json_t *x = json_array_get(list, i), *y = json_array_get(list, j);
            if (num(y, "t") > num(x, "t") + 1e-6)
                break; /* the list is in time order */
            ck_assert_msg(!json_equal(x, y), "looked twice at %.3f (class %d)", num(x, "t"),
                          (int)json_integer_value(json_object_get(x, "cls")));
        }
    json_decref(a);
}
END_TEST

/* Inside a sparse stretch the subject detector (~60 ms a frame) does not look again at
 * the shot it has just looked at when it was sure (a subject at TGI_SAMPLER_SUBJ_SURE,
 * or nothing): the frame gets that look's entries at its own time, and the analysis
 * says how many frames the detector ran on ("looked"). An unsure look is repeated.
 * Two frames with the same entries to the last bit can only be a look passed on (the
 * detector's scores and boxes differ from frame to frame), except for "nothing". */
START_TEST(sparse_stretches_pass_a_sure_look_on_to_the_same_shot)
{
    json_t *a = sparse_analysis_of(tgt_fixture("long.mp4"));
    json_t *subj = json_object_get(a, "subjects"), *list = json_object_get(subj, "list");
    ck_assert_msg(json_is_array(list) && json_array_size(list) > 3,
                  "no subjects in the analysis (TG_MODELS must hold the detector)");
    size_t n = json_array_size(list), frames = 0, differ = 0, sure_passed = 0;
    size_t looked = (size_t)json_integer_value(json_object_get(subj, "looked"));
    /* frames in time order: [first, next) are one frame's entries */
    size_t prev = SIZE_MAX, prev_n = 0;
    for (size_t first = 0, next; first < n; first = next) {
        double t = num(json_array_get(list, first), "t");
        for (next = first + 1; next < n && num(json_array_get(list, next), "t") == t; next++)
            ;
        frames++;
        int same = prev != SIZE_MAX && next - first == prev_n;
        for (size_t k = 0; same && k < prev_n; k++) {
            json_t *x = json_deep_copy(json_array_get(list, first + k));
            json_t *y = json_deep_copy(json_array_get(list, prev + k));
            json_object_del(x, "t");
            json_object_del(y, "t");
            same = json_equal(x, y);
            json_decref(x);
            json_decref(y);
        }
        json_t *best = json_array_get(list, first);
        double score = num(best, "score");
        int cls = (int)json_integer_value(json_object_get(best, "cls"));
        if (same && cls >= 0) {
            ck_assert_msg(score >= TGI_SAMPLER_SUBJ_SURE,
                          "an unsure look (%.3f) passed on to the frame at %.3f", score, t);
            sure_passed++;
        }
        differ += !same;
        prev = first;
        prev_n = next - first;
    }
    ck_assert_msg(looked >= 1 && looked < frames, "the detector ran on %zu of %zu frames", looked,
                  frames);
    ck_assert_msg(differ <= looked, "%zu frames unlike the one before, %zu looked at", differ,
                  looked);
    ck_assert_msg(sure_passed >= 1, "no sure look passed on");
    json_decref(a);
}
END_TEST

/* auto is sparse from one minute on (long.mp4 lasts 60 s), full below (story.mp4) */
START_TEST(auto_analysis_is_sparse_from_one_minute)
{
    char mode[32];
    json_t *t = analysis_times(tgt_fixture("long.mp4"), "auto", mode, sizeof(mode));
    ck_assert_str_eq(mode, "sparse");
    json_decref(t);
    t = analysis_times(tgt_fixture("story.mp4"), "auto", mode, sizeof(mode));
    ck_assert_str_eq(mode, "full");
    json_decref(t);
}
END_TEST

/* seconds: the planned length; each clip rounds up to whole output frames, so allow
 * one frame per clip (slack) more */
static void check_gif(const char *path, int w, int h, double seconds, double slack, tgt_gif *g)
{
    ck_assert_msg(tgt_gif_load(path, g) == 0, "cannot decode %s", path);
    ck_assert_int_eq(g->width, w);
    ck_assert_int_eq(g->height, h);
    ck_assert_int_eq(g->loop_count, 0);
    int total = 0;
    for (int i = 0; i < g->frames; i++) {
        ck_assert_int_ge(g->delays_cs[i], 2);
        total += g->delays_cs[i];
    }
    if (seconds > 0)
        ck_assert_msg(total / 100.0 > seconds - 0.02 && total / 100.0 < seconds + slack + 0.02,
                      "GIF lasts %.2f s, want %.2f (+%.2f)", total / 100.0, seconds, slack);
}

/* thumbgen analyze writes what the analysis measured; plan --from-analysis chooses
 * from it without the video, exactly as plan does, and select's options apply. */
START_TEST(analyze_then_plan_from_analysis)
{
    char *an = tgt_tmp_path(".json");
    tgt_run r;
    thumbgen(&r, "analyze", tgt_fixture("story.mp4"), "-o", an, "--quiet", NULL);
    ck_assert_msg(r.status == 0, "analyze failed: %s", r.err);
    tgt_run_free(&r);
    json_t *direct = plan_of(tgt_fixture("story.mp4"), NULL, NULL);
    thumbgen(&r, "plan", "--from-analysis", an, "--quiet", NULL);
    ck_assert_msg(r.status == 0, "plan --from-analysis failed: %s", r.err);
    json_t *replanned = load_json_text(r.out);
    tgt_run_free(&r);
    ck_assert(
        json_equal(json_object_get(direct, "segments"), json_object_get(replanned, "segments")));
    ck_assert(
        json_equal(json_object_get(direct, "keyframes"), json_object_get(replanned, "keyframes")));
    thumbgen(&r, "plan", "--from-analysis", an, "--clips", "2", "--quiet", NULL);
    ck_assert_int_eq(r.status, 0);
    json_t *two = load_json_text(r.out);
    tgt_run_free(&r);
    ck_assert_int_eq(json_array_size(json_object_get(two, "segments")), 2);
    /* a broken analysis: one line, exit 1 */
    thumbgen(&r, "plan", "--from-analysis", tgt_fixture("story.mp4.truth.json"), NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "not a valid thumbgen analysis"), "%s", r.err);
    tgt_run_free(&r);
    json_decref(direct);
    json_decref(replanned);
    json_decref(two);
    free(an);
}
END_TEST

START_TEST(story_make_writes_gif_and_poster)
{
    char *gif = tgt_tmp_path(".gif"), *jpg = tgt_tmp_path(".jpg"), *png = tgt_tmp_path(".png");
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "--poster", jpg, NULL);
    ck_assert_msg(r.status == 0, "make failed: %s", r.err);
    ck_assert_str_eq(r.err, ""); /* not a terminal: no progress bar */
    tgt_run_free(&r);
    tgt_gif g;
    /* 3 clips of 1.2 s at 12 fps: 43-45 frames (identical frames may merge) */
    check_gif(gif, 480, 270, 3.6, 3 / 12.0, &g);
    ck_assert_int_ge(g.frames, 30);
    ck_assert_int_le(g.frames, 45);
    /* never a black or blank frame */
    for (int i = 0; i < g.frames; i++) {
        double sum = 0;
        for (int k = 0; k < 480 * 270; k++)
            sum += g.rgba[i][k * 4 + 1];
        ck_assert_msg(sum / (480 * 270) > 30, "frame %d is dark (%.1f)", i, sum / (480 * 270));
    }
    tgt_gif_free(&g);
    size_t n;
    char *j = tgt_read_file(jpg, &n);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_gt(n, 2000);
    ck_assert_int_eq((unsigned char)j[0], 0xFF);
    ck_assert_int_eq((unsigned char)j[1], 0xD8);
    free(j);

    /* the same again: deterministic bytes; and a PNG poster */
    char *gif2 = tgt_tmp_path(".gif");
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", gif2, "--poster", png, NULL);
    ck_assert_int_eq(r.status, 0);
    tgt_run_free(&r);
    size_t n1, n2;
    char *a = tgt_read_file(gif, &n1), *b = tgt_read_file(gif2, &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert_mem_eq(a, b, n1);
    char *pn = tgt_read_file(png, &n);
    ck_assert_int_gt(n, 1000);
    ck_assert_mem_eq(pn, "\x89PNG", 4);
    free(pn);
    /* the contact sheet: 6 keyframes in 3 columns x 2 rows of 320 px cells */
    char *sheet = tgt_tmp_path(".png");
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "--sheet", sheet, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    unsigned char *sp = (unsigned char *)tgt_read_file(sheet, &n);
    ck_assert_int_gt(n, 24);
    ck_assert_mem_eq(sp, "\x89PNG", 4);
    unsigned sw = (unsigned)sp[16] << 24 | sp[17] << 16 | sp[18] << 8 | sp[19];
    unsigned sh = (unsigned)sp[20] << 24 | sp[21] << 16 | sp[22] << 8 | sp[23];
    ck_assert_int_eq(sw, 3 * 320 + 4 * 4);
    ck_assert_int_eq(sh, 2 * 180 + 3 * 4);
    free(sp);
    unlink(sheet);
    free(sheet);
    free(a);
    free(b);
    unlink(gif);
    unlink(gif2);
    unlink(jpg);
    unlink(png);
    free(gif);
    free(gif2);
    free(jpg);
    free(png);
}
END_TEST

START_TEST(geometry_letterbox_rotation_aspect)
{
    json_t *p = plan_of(tgt_fixture("letterbox.mp4"), NULL, NULL);
    json_t *crop = json_object_get(p, "crop");
    ck_assert_msg(fabs(num(crop, "y") - 45) <= 5 && fabs(num(crop, "h") - 270) <= 8,
                  "crop y=%g h=%g", num(crop, "y"), num(crop, "h"));
    ck_assert_double_le(num(crop, "x"), 2);
    ck_assert_double_ge(num(crop, "w"), 636);
    json_decref(p);

    p = plan_of(tgt_fixture("rotated.mp4"), NULL, NULL);
    ck_assert_int_eq((int)num(json_object_get(p, "source"), "width"), 240);
    ck_assert_int_eq((int)num(json_object_get(p, "source"), "height"), 320);
    json_decref(p);
    p = plan_of(tgt_fixture("anamorphic.mp4"), NULL, NULL);
    ck_assert_int_eq((int)num(json_object_get(p, "source"), "width"), 640);
    ck_assert_int_eq((int)num(json_object_get(p, "source"), "height"), 360);
    json_decref(p);

    char *gif = tgt_tmp_path(".gif");
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("letterbox.mp4"), "-o", gif, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    ck_assert_int_eq(g.width, 480);
    ck_assert_msg(g.height >= 198 && g.height <= 206, "letterboxed GIF height %d", g.height);
    /* no black bar left: the top and bottom rows are not black */
    for (int row = 0; row < g.height; row += g.height - 1) {
        double sum = 0;
        for (int x = 0; x < g.width; x++)
            sum += g.rgba[0][(row * g.width + x) * 4 + 1];
        ck_assert_msg(sum / g.width > 12, "row %d is a black bar", row);
    }
    tgt_gif_free(&g);
    thumbgen(&r, "make", tgt_fixture("rotated.mp4"), "-o", gif, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    ck_assert_int_eq(g.width, 240); /* never upscaled */
    ck_assert_int_eq(g.height, 320);
    tgt_gif_free(&g);
    unlink(gif);
    free(gif);
}
END_TEST

/* The plan's crop of a 3-s video of fruits.jpg made by the filter chain vf (a pan inside
 * black bars). */
static json_t *fruits_crop(const char *vf)
{
    char *v = tgt_tmp_path(".mp4");
    char *argv[] = {"/usr/bin/ffmpeg",
                    "-v",
                    "error",
                    "-y",
                    "-loop",
                    "1",
                    "-i",
                    OPENCV "fruits.jpg",
                    "-t",
                    "3",
                    "-r",
                    "25",
                    "-vf",
                    (char *)vf,
                    "-c:v",
                    "libx264",
                    v,
                    NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_msg(r.status == 0, "ffmpeg: %s", r.err);
    tgt_run_free(&r);
    json_t *p = plan_of(v, NULL, NULL), *crop = json_incref(json_object_get(p, "crop"));
    json_decref(p);
    unlink(v);
    free(v);
    return crop;
}

START_TEST(pillarbox_bars_are_cropped)
{
    /* a photo pan 360 px wide inside a 480 px frame: 60 px black bars left and right */
    json_t *crop = fruits_crop("scale=640:-2,crop=360:300:x='40+t*20':y=40,format=yuv444p,"
                               "pad=480:300:60:0:black,format=yuv420p");
    ck_assert_msg(fabs(num(crop, "x") - 60) <= 4 && fabs(num(crop, "w") - 360) <= 8,
                  "crop x=%g w=%g", num(crop, "x"), num(crop, "w"));
    ck_assert_double_le(num(crop, "y"), 2);
    ck_assert_double_ge(num(crop, "h"), 296);
    json_decref(crop);
}
END_TEST

START_TEST(a_landscape_video_padded_into_a_portrait_frame_is_cropped_to_its_picture)
{
    /* 180 x 100 (16:9, 31 % of the height) centred in 180 x 320, as phone apps and
     * editors pad landscape footage for short-video sites: the GIF shows the picture,
     * not two thirds of black */
    json_t *crop = fruits_crop("scale=400:-2,crop=180:100:x='20+t*20':y=30,format=yuv444p,"
                               "pad=180:320:0:110:black,format=yuv420p");
    ck_assert_msg(fabs(num(crop, "y") - 110) <= 6 && fabs(num(crop, "h") - 100) <= 10,
                  "crop y=%g h=%g", num(crop, "y"), num(crop, "h"));
    ck_assert_double_le(num(crop, "x"), 2);
    ck_assert_double_ge(num(crop, "w"), 176);
    json_decref(crop);
    /* the same picture off centre, 150 rows of black above it and 70 below: not
     * padding (a dark sky over a lit street looks like that), and less than a third
     * of the height is left, so the height is kept whole */
    crop = fruits_crop("scale=400:-2,crop=180:100:x='20+t*20':y=30,format=yuv444p,"
                       "pad=180:320:0:150:black,format=yuv420p");
    ck_assert_msg(num(crop, "y") <= 2 && num(crop, "h") >= 316, "crop y=%g h=%g", num(crop, "y"),
                  num(crop, "h"));
    json_decref(crop);
}
END_TEST

/* The crop is x, y, w, h: the corner within pos pixels, the size within size. */
static void crop_is(json_t *crop, double x, double y, double w, double h, double pos, double size)
{
    ck_assert_msg(fabs(num(crop, "x") - x) <= pos && fabs(num(crop, "y") - y) <= pos &&
                      fabs(num(crop, "w") - w) <= size && fabs(num(crop, "h") - h) <= size,
                  "crop %g %g %g %g, want %g %g %g %g", num(crop, "x"), num(crop, "y"),
                  num(crop, "w"), num(crop, "h"), x, y, w, h);
    json_decref(crop);
}

START_TEST(a_portrait_video_padded_with_its_blurred_copy_or_a_colour_is_cropped_to_its_picture)
{
    /* a 150 x 270 portrait pan centred in 480 x 270, the sides filled with the same
     * picture enlarged and blurred (what phone apps and editors do instead of black
     * bars): the GIF shows the picture, not two thirds of blur */
    crop_is(
        fruits_crop(
            "scale=640:-2,crop=150:270:x='40+t*20':y=40,split[a][b];"
            "[a]scale=480:270:force_original_aspect_ratio=increase,crop=480:270,gblur=sigma=12[bg];"
            "[bg][b]overlay=(W-w)/2:0,format=yuv420p"),
        165, 0, 150, 270, 6, 12);
    /* a letterboxed film (300 x 120 inside 300 x 170) padded into a portrait frame with
     * its blurred copy, as short-video sites show film clips: neither the blur nor the
     * film's own bars (black above and below it, inside the fill) */
    crop_is(fruits_crop("scale=640:-2,crop=300:120:x='40+t*20':y=80,pad=300:170:0:25:black,"
                        "split[a][b];[a]scale=300:540:force_original_aspect_ratio=increase,"
                        "crop=300:540,gblur=sigma=12[bg];[bg][b]overlay=0:(H-h)/2,format=yuv420p"),
            0, 210, 300, 120, 8, 16);
    /* the same pan padded with white */
    crop_is(fruits_crop("scale=640:-2,crop=150:270:x='40+t*20':y=40,pad=480:270:165:0:white,"
                        "format=yuv420p"),
            165, 0, 150, 270, 6, 12);
    /* a round picture on white is a subject before a plain wall, not padding */
    crop_is(fruits_crop("scale=640:-2,crop=480:270:x='40+t*20':y=40,format=gray,"
                        "geq=lum='if(lt(hypot(X-W/2,Y-H/2),H/2.3),lum(X,Y),235)',format=yuv420p"),
            0, 0, 480, 270, 2, 4);
    /* the same padded pan for its first half only, then the whole frame: a compilation
     * of padded and full-frame clips keeps its full frames' sides */
    crop_is(fruits_crop("scale=640:-2,crop=480:270:x='40+t*20':y=40,split=3[f][m1][m2];"
                        "[m1]crop=150:270:165:0,scale=480:270:force_original_aspect_ratio=increase,"
                        "crop=480:270,gblur=sigma=12[bg];[m2]crop=150:270:165:0[m];"
                        "[bg][m]overlay=(W-w)/2:0[p];[p][f]overlay=0:0:enable='gte(t,1.5)',"
                        "format=yuv420p"),
            0, 0, 480, 270, 2, 4);
}
END_TEST

/* story.mp4 (640 x 360) in a 640 x 1136 portrait frame with light grey above and below:
 * the analysis looks at the picture only, so its black second (12-13 s) is black, as
 * in the video itself, and not a dark band between two grey ones */
START_TEST(a_padded_video_is_analysed_as_its_picture)
{
    char *v = tgt_tmp_path(".mp4"), *an = tgt_tmp_path(".json");
    ck_assert_int_eq(tgt_ffmpeg("-i", tgt_fixture("story.mp4"), "-vf",
                                "pad=640:1136:0:388:0xE0E0E0,format=yuv420p", "-c:v", "libx264",
                                "-preset", "ultrafast", v, NULL),
                     0);
    json_t *a = analysis_of(v, an, NULL, NULL, NULL, NULL);
    tgt_run r;
    json_t *fr = json_object_get(json_object_get(a, "analysis"), "frame");
    ck_assert_msg(json_is_object(fr), "the whole frame was analysed");
    ck_assert_msg(fabs(num(fr, "y") - 388) <= 6 && fabs(num(fr, "h") - 360) <= 12 &&
                      num(fr, "x") <= 2 && num(fr, "w") >= 636,
                  "analysed %g %g %g %g", num(fr, "x"), num(fr, "y"), num(fr, "w"), num(fr, "h"));
    json_t *st = json_object_get(json_object_get(a, "samples"), "t");
    json_t *ev = json_object_get(json_object_get(a, "samples"), "events");
    size_t i, black = 0, in = 0;
    json_t *t;
    json_array_foreach(st, i, t)
    {
        double x = json_number_value(t);
        if (x > 12.1 && x < 12.9) {
            in++;
            black += (json_integer_value(json_array_get(ev, i)) & TG_BAD_BLACK) != 0;
        }
    }
    ck_assert_msg(in > 5 && black == in, "%zu of %zu samples in the black second are black", black,
                  in);
    json_decref(a);
    /* and the plan from that analysis crops to the picture */
    thumbgen(&r, "plan", "--from-analysis", an, "--quiet", NULL);
    ck_assert_msg(r.status == 0, "plan failed (%d): %s", r.status, r.err);
    json_t *p = load_json_text(r.out);
    tgt_run_free(&r);
    crop_is(json_incref(json_object_get(p, "crop")), 0, 388, 640, 360, 6, 12);
    json_decref(p);
    unlink(v);
    unlink(an);
    free(v);
    free(an);
}
END_TEST

START_TEST(variable_frame_rate_plays_at_true_speed)
{
    json_t *tr = truth("vfr.mkv"), *p = plan_of(tgt_fixture("vfr.mkv"), "--clips", "1");
    ck_assert_double_eq_tol(num(json_object_get(p, "source"), "duration"), num(tr, "duration"),
                            0.12);
    json_decref(p);
    char *gif = tgt_tmp_path(".gif");
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("vfr.mkv"), "-o", gif, "--clips", "1", "--clip-len", "3",
             NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    check_gif(gif, 480, 270, 3.0, 1 / 12.0, &g);
    tgt_gif_free(&g);
    unlink(gif);
    free(gif);
    json_decref(tr);
}
END_TEST

START_TEST(short_and_empty_videos_degrade_gracefully)
{
    json_t *p = plan_of(tgt_fixture("short.mp4"), NULL, NULL);
    json_t *segs = json_object_get(p, "segments");
    ck_assert_int_eq(json_array_size(segs), 1);
    ck_assert_double_le(num(json_array_get(segs, 0), "end"), 0.6 + 1e-3);
    ck_assert_int_ge(json_array_size(json_object_get(p, "warnings")), 1);
    json_decref(p);

    p = plan_of(tgt_fixture("allblack.mp4"), NULL, NULL);
    ck_assert_int_eq(json_array_size(json_object_get(p, "segments")), 1);
    json_t *w = json_object_get(p, "warnings");
    ck_assert_int_ge(json_array_size(w), 1);
    char *wt = json_dumps(w, 0);
    ck_assert_ptr_nonnull(strstr(wt, "no clean"));
    free(wt);
    json_decref(p);
}
END_TEST

/* a bad input: exit 1, one line naming the problem, no output file */
static void expect_failure(const char *video, const char *needle)
{
    char *gif = tgt_tmp_path(".gif");
    tgt_run r;
    thumbgen(&r, "make", video, "-o", gif, "--poster", "/dev/null/never.jpg", NULL);
    ck_assert_msg(r.status == 1, "%s: exit %d, stderr %s", video, r.status, r.err);
    ck_assert_msg(strstr(r.err, needle) != NULL, "%s: stderr '%s' lacks '%s'", video, r.err,
                  needle);
    ck_assert_msg(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
    ck_assert_int_eq(tgt_file_exists(gif), 0);
    tgt_run_free(&r);
    free(gif);
}

START_TEST(bad_inputs_get_one_clear_line)
{
    expect_failure(tgt_fixture("does-not-exist.mp4"), "No such file");
    expect_failure(tgt_fixture("empty.mp4"), "empty");
    expect_failure(tgt_fixture("garbage.mp4"), "not a readable video");
    expect_failure(tgt_fixture("text.mp4"), "not a readable video");
    expect_failure(tgt_fixture("audio.m4a"), "no video stream");
    expect_failure(tgt_fixture("truncated.mp4"), "truncated.mp4");
    expect_failure(tgt_fixture(""), "directory");
}
END_TEST

START_TEST(truncated_data_still_gives_a_thumbnail_and_says_so)
{
    json_t *p = plan_of(tgt_fixture("truncated_fs.mp4"), NULL, NULL);
    json_t *segs = json_object_get(p, "segments");
    size_t i;
    json_t *g;
    ck_assert_int_ge(json_array_size(segs), 1);
    json_array_foreach(segs, i, g) ck_assert_double_lt(num(g, "end"), 17.5);
    char *wt = json_dumps(json_object_get(p, "warnings"), 0);
    ck_assert_ptr_nonnull(strstr(wt, "truncated"));
    free(wt);
    json_decref(p);
}
END_TEST

/* Flipped bytes anywhere (header included) and cut-off files: thumbgen either makes a
 * thumbnail or says in one line why not; it never crashes or hangs. */
START_TEST(corrupt_data_never_crashes)
{
    size_t len;
    char *orig = tgt_read_file(tgt_fixture("letterbox.mp4"), &len);
    ck_assert_ptr_nonnull(orig);
    char *buf = malloc(len);
    uint32_t x = 12345;
    for (int variant = 0; variant < 8; variant++) {
        memcpy(buf, orig, len);
        size_t n = len;
        int flips = variant < 4 ? 20 << variant : 5;
        for (int k = 0; k < flips; k++) {
            x = x * 1664525u + 1013904223u;
            size_t at = variant >= 4 ? (x >> 8) % 4096 : (x >> 8) % len; /* 4..7: the header */
            buf[at] = (char)(buf[at] ^ (1 + (x & 0x7f)));
        }
        if (variant == 7)
            n = len / 3;
        char *in = tgt_tmp_path(".mp4"), *gif = tgt_tmp_path(".gif");
        FILE *f = fopen(in, "wb");
        fwrite(buf, 1, n, f);
        fclose(f);
        tgt_run r;
        thumbgen(&r, "make", in, "-o", gif, NULL);
        ck_assert_msg(r.status == 0 || r.status == 1, "variant %d: exit %d (%s)", variant, r.status,
                      r.err);
        if (r.status == 1) {
            ck_assert_msg(!strncmp(r.err, "thumbgen: error: ", 17), "variant %d: %s", variant,
                          r.err);
            ck_assert_int_eq(tgt_file_exists(gif), 0);
        } else {
            tgt_gif g;
            ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
            tgt_gif_free(&g);
        }
        tgt_run_free(&r);
        unlink(in);
        unlink(gif);
        free(in);
        free(gif);
    }
    free(buf);
    free(orig);
}
END_TEST

/* make a small video with the ffmpeg command line */
static char *ffmpeg_make(const char *lavfi, const char *seconds)
{
    char *out = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", lavfi, "-t", seconds, "-c:v", "libx264",
                                "-pix_fmt", "yuv420p", out, NULL),
                     0);
    return out;
}

START_TEST(absurd_sizes_and_rates_are_refused)
{
    char *tiny = ffmpeg_make("testsrc2=s=8x8:r=25", "1");
    expect_failure(tiny, "8x8 pixels");
    char *fast = ffmpeg_make("testsrc2=s=64x64:r=20000", "0.05");
    expect_failure(fast, "frame rate");
    unlink(tiny);
    unlink(fast);
    free(tiny);
    free(fast);
}
END_TEST

START_TEST(usage_errors_exit_2)
{
    static const char *cases[][5] = {
        {"make", "v.mp4", "--width", "0", "between"},
        {"make", "v.mp4", "--fps", "500", "between"},
        {"make", "v.mp4", "--clips", "many", "number"},
        {"make", "v.mp4", "--bogus", "1", "unknown option"},
        {"make", "v.mp4", "--style", "wobbly", "one of"},
        {"frobnicate", "v.mp4", "-q", "-q", "unknown command"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tgt_run r;
        thumbgen(&r, cases[i][0], cases[i][1], cases[i][2], cases[i][3], "-o", "x.gif", NULL);
        ck_assert_msg(r.status == 2, "case %zu: exit %d", i, r.status);
        ck_assert_msg(strstr(r.err, cases[i][4]), "case %zu: '%s'", i, r.err);
        tgt_run_free(&r);
    }
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("story.mp4"), NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "-o"));
    tgt_run_free(&r);
}
END_TEST

START_TEST(help_lists_every_option_with_its_default)
{
    tgt_run r;
    thumbgen(&r, "make", "--help", NULL);
    ck_assert_int_eq(r.status, 0);
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *o = st->opts; o->name; o++) {
            char flag[64];
            snprintf(flag, sizeof(flag), "--%s ", o->name);
            ck_assert_msg(strstr(r.out, flag), "--help lacks %s", flag);
        }
    ck_assert_ptr_nonnull(strstr(r.out, "default 480"));
    ck_assert_ptr_nonnull(strstr(r.out, "default clips"));
    tgt_run_free(&r);
    thumbgen(&r, "--help", NULL);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "thumbgen plan"));
    ck_assert_ptr_nonnull(strstr(r.out, "thumbgen make"));
    tgt_run_free(&r);
}
END_TEST

START_TEST(edited_plan_is_rendered_as_given)
{
    char *plan = tgt_tmp_path(".json"), *gif = tgt_tmp_path(".gif");
    FILE *f = fopen(plan, "w");
    fprintf(f, "{\"source\":{\"duration\":40,\"width\":640,\"height\":360,\"fps\":25},"
               "\"segments\":[{\"start\":8.0,\"end\":9.0},{\"start\":19.0,\"end\":19.5}]}");
    fclose(f);
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "--plan", plan, "-o", gif, "--fps", "10", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    check_gif(gif, 480, 270, 1.5, 2 / 10.0, &g);
    tgt_gif_free(&g);
    /* a plan for another video is refused */
    thumbgen(&r, "make", tgt_fixture("rotated.mp4"), "--plan", plan, "-o", gif, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "plan"));
    tgt_run_free(&r);
    unlink(plan);
    unlink(gif);
    free(plan);
    free(gif);
}
END_TEST

/* --max-bytes: the GIF never exceeds the budget, the choice is reported, and a budget
 * nothing can meet is a clear error with no file */
START_TEST(byte_budget_is_respected)
{
    static const struct {
        const char *arg;
        long bytes;
    } budgets[] = {{"2M", 2L << 20}, {"1M", 1L << 20}, {"300k", 300L << 10}};
    char *gif = tgt_tmp_path(".gif");
    for (size_t i = 0; i < 3; i++) {
        tgt_run r;
        thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "--max-bytes", budgets[i].arg,
                 NULL);
        ck_assert_msg(r.status == 0, "%s: %s", budgets[i].arg, r.err);
        ck_assert_ptr_nonnull(strstr(r.err, "budget"));
        tgt_run_free(&r);
        long size = tgt_file_size(gif);
        ck_assert_msg(size > 0 && size <= budgets[i].bytes, "%s: %ld bytes", budgets[i].arg, size);
        tgt_gif g;
        ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
        ck_assert_int_ge(g.frames, 3);
        ck_assert_int_eq(g.loop_count, 0);
        int total = 0;
        for (int k = 0; k < g.frames; k++)
            total += g.delays_cs[k];
        ck_assert_msg(total > 90, "%s: %d cs", budgets[i].arg, total);
        tgt_gif_free(&g);
        unlink(gif);
    }
    /* WebP and MP4 under the same budget, from one decode */
    char *webp = tgt_tmp_path(".webp"), *mp4 = tgt_tmp_path(".mp4");
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", webp, "-o", mp4, "--max-bytes", "300k",
             NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_gt(tgt_file_size(webp), 1000);
    ck_assert_int_le(tgt_file_size(webp), 300L << 10);
    ck_assert_int_gt(tgt_file_size(mp4), 1000);
    ck_assert_int_le(tgt_file_size(mp4), 300L << 10);
    unlink(webp);
    unlink(mp4);
    free(webp);
    free(mp4);
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "--max-bytes", "12k", NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "cannot fit"));
    ck_assert_int_eq(tgt_file_exists(gif), 0);
    tgt_run_free(&r);
    static const char *bad[] = {"0", "2X", "-1M", "5"};
    for (size_t i = 0; i < 4; i++) {
        thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "--max-bytes", bad[i], NULL);
        ck_assert_msg(r.status == 2, "--max-bytes %s: exit %d", bad[i], r.status);
        tgt_run_free(&r);
    }
    free(gif);
}
END_TEST

/* -o x.gif -o x.webp -o x.mp4: three animations of the same frames */
START_TEST(every_format_from_one_run)
{
    char *gif = tgt_tmp_path(".gif"), *webp = tgt_tmp_path(".webp"), *mp4 = tgt_tmp_path(".mp4");
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", gif, "-o", webp, "-o", mp4, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    check_gif(gif, 480, 270, 3.6, 3 / 12.0, &g);
    tgt_gif_free(&g);
    size_t n;
    char *w = tgt_read_file(webp, &n);
    ck_assert_int_gt(n, 1000);
    ck_assert_mem_eq(w, "RIFF", 4);
    ck_assert_mem_eq(w + 8, "WEBPVP8X", 8);
    ck_assert_int_gt(n, 34);
    ck_assert_mem_eq(w + 30, "ANIM", 4); /* VP8X chunk (10 bytes), then ANIM */
    free(w);
    char *argv[] = {"/usr/bin/ffprobe",
                    "-v",
                    "error",
                    "-count_frames",
                    "-show_entries",
                    "stream=codec_type,codec_name,width,height,nb_read_frames,pix_fmt",
                    "-of",
                    "compact",
                    mp4,
                    NULL};
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_msg(strstr(r.out, "codec_name=h264") && strstr(r.out, "width=480") &&
                      strstr(r.out, "height=270") && strstr(r.out, "pix_fmt=yuv420p") &&
                      strstr(r.out, "nb_read_frames=45") && !strstr(r.out, "audio"),
                  "%s", r.out);
    tgt_run_free(&r);
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "-o", "x.avi", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, ".webp"));
    tgt_run_free(&r);
    /* --all and --format name the files from -o */
    char *base = tgt_tmp_path(""), names[3][600];
    static const char *ext[3] = {".gif", ".webp", ".mp4"};
    thumbgen(&r, "make", tgt_fixture("short.mp4"), "-o", base, "--all", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    for (int k = 0; k < 3; k++) {
        snprintf(names[k], sizeof(names[k]), "%s%s", base, ext[k]);
        ck_assert_msg(tgt_file_size(names[k]) > 100, "%s missing", names[k]);
        unlink(names[k]);
    }
    thumbgen(&r, "make", tgt_fixture("short.mp4"), "-o", names[0], "--format", "mp4", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_file_exists(names[0]), 1);
    ck_assert_int_eq(tgt_file_exists(names[2]), 1);
    ck_assert_int_eq(tgt_file_exists(names[1]), 0);
    unlink(names[0]);
    unlink(names[2]);
    thumbgen(&r, "make", tgt_fixture("short.mp4"), "-o", base, "--format", "png", NULL);
    ck_assert_int_eq(r.status, 2);
    tgt_run_free(&r);
    /* --formats (the option table's, as the server takes it) is --format for each */
    thumbgen(&r, "make", tgt_fixture("short.mp4"), "-o", base, "--formats", "webp,gif", NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_file_exists(names[0]), 1);
    ck_assert_int_eq(tgt_file_exists(names[1]), 1);
    ck_assert_int_eq(tgt_file_exists(names[2]), 0);
    unlink(names[0]);
    unlink(names[1]);
    thumbgen(&r, "make", tgt_fixture("short.mp4"), "-o", base, "--formats", "gif,png", NULL);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "formats") != NULL, "%s", r.err);
    tgt_run_free(&r);
    free(base);
    unlink(gif);
    unlink(webp);
    unlink(mp4);
    free(gif);
    free(webp);
    free(mp4);
}
END_TEST

/* thumbgen encode: exactly the frames given, no selection */
START_TEST(encode_takes_frames_or_a_clip_as_given)
{
    char *dir = tgt_tmp_path(".frames");
    mkdir(dir, 0755);
    char pattern[512];
    snprintf(pattern, sizeof(pattern), "%s/f%%03d.png", dir);
    char *mk[] = {"/usr/bin/ffmpeg",
                  "-v",
                  "error",
                  "-y",
                  "-ss",
                  "8",
                  "-t",
                  "1.5",
                  "-i",
                  (char *)tgt_fixture("story.mp4"),
                  "-vf",
                  "fps=10,scale=320:180",
                  pattern,
                  NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, mk), 0);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    char *argv[32] = {(char *)tgt_bin(), "encode"};
    int n = 2;
    char files[15][600];
    for (int i = 0; i < 15; i++) {
        snprintf(files[i], sizeof(files[i]), "%s/f%03d.png", dir, i + 1);
        argv[n++] = files[i];
    }
    char *gif = tgt_tmp_path(".gif");
    argv[n++] = "-o";
    argv[n++] = gif;
    argv[n++] = "--fps";
    argv[n++] = "10";
    argv[n] = NULL;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    check_gif(gif, 320, 180, 1.5, 0, &g);
    ck_assert_int_eq(g.frames, 15); /* every frame, none chosen away */
    tgt_gif_free(&g);
    /* a clip: every frame of it, at the asked width */
    thumbgen(&r, "encode", tgt_fixture("short.mp4"), "-o", gif, "--width", "200", "--fps", "25",
             NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    check_gif(gif, 200, 112, 0.6, 0.04, &g);
    tgt_gif_free(&g);
    thumbgen(&r, "encode", tgt_fixture("garbage.mp4"), "-o", gif, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_ptr_nonnull(strstr(r.err, "not a readable video"));
    tgt_run_free(&r);
    thumbgen(&r, "encode", tgt_fixture("short.mp4"), NULL);
    ck_assert_int_eq(r.status, 2);
    tgt_run_free(&r);
    unlink(gif);
    free(gif);
    for (int i = 0; i < 15; i++)
        unlink(files[i]);
    rmdir(dir);
    free(dir);
}
END_TEST

START_TEST(slideshow_shows_the_keyframes)
{
    char *gif = tgt_tmp_path(".gif");
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "--style", "slideshow", "--keyframes", "4", "-o",
             gif, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    tgt_gif g;
    check_gif(gif, 480, 270, 2.4, 0, &g);
    ck_assert_int_eq(g.frames, 4);
    tgt_gif_free(&g);
    /* a cross-fade adds blended frames between stills, and from the last back to the first */
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "--style", "slideshow", "--keyframes", "4",
             "--crossfade", "0.25", "--fps", "12", "-o", gif, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    check_gif(gif, 480, 270, 2.4 + 4 * 0.24, 0.1, &g);
    ck_assert_int_eq(g.frames, 4 + 4 * 3);
    tgt_gif_free(&g);
    /* six keyframes, one shot picked twice: no two neighbouring stills look alike */
    thumbgen(&r, "make", tgt_fixture("story.mp4"), "--style", "slideshow", "-o", gif, NULL);
    ck_assert_msg(r.status == 0, "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    ck_assert_int_ge(g.frames, 4);
    for (int i = 1; i < g.frames; i++) {
        /* compare 24x24 block means: a slow zoom or pan moves detail, not the layout */
        double d = 0;
        int nb = 0;
        for (int by = 0; by + 24 <= g.height; by += 24)
            for (int bx = 0; bx + 24 <= g.width; bx += 24, nb++) {
                double a = 0, b = 0;
                for (int y = by; y < by + 24; y++)
                    for (int x = bx; x < bx + 24; x++) {
                        a += g.rgba[i][(y * g.width + x) * 4 + 1];
                        b += g.rgba[i - 1][(y * g.width + x) * 4 + 1];
                    }
                d += fabs(a - b) / (24 * 24);
            }
        d /= nb;
        /* measured: 25 for two stills of one zoom, 50-69 across shots */
        ck_assert_msg(d > 35, "stills %d and %d look alike (mean difference %.1f)", i - 1, i, d);
    }
    tgt_gif_free(&g);
    unlink(gif);
    free(gif);
}
END_TEST

START_TEST(real_footage_from_opencv)
{
    /* Megamind_bugy.avi: the same film clip with damaged data */
    static const char *clips[] = {"Megamind.avi", "vtest.avi", "tree.avi", "Megamind_bugy.avi"};
    for (size_t i = 0; i < sizeof(clips) / sizeof(clips[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), OPENCV "%s", clips[i]);
        char *gif = tgt_tmp_path(".gif"), *jpg = tgt_tmp_path(".jpg");
        tgt_run r;
        thumbgen(&r, "make", path, "-o", gif, "--poster", jpg, NULL);
        ck_assert_msg(r.status == 0, "%s: %s", clips[i], r.err);
        tgt_run_free(&r);
        tgt_gif g;
        ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
        int total = 0;
        for (int k = 0; k < g.frames; k++)
            total += g.delays_cs[k];
        ck_assert_msg(total >= 250, "%s: GIF lasts %d cs", clips[i], total);
        ck_assert_int_ge(g.frames, 2);
        tgt_gif_free(&g);
        ck_assert_int_gt(tgt_file_size(jpg), 1000);
        unlink(gif);
        unlink(jpg);
        free(gif);
        free(jpg);
    }
}
END_TEST

/* Issue 12 point 6: odd inputs are named for what they are. */
START_TEST(odd_inputs_are_named_for_what_they_are)
{
    char *fifo = tgt_tmp_path(".fifo");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    expect_failure(fifo, "not a regular file");
    unlink(fifo);
    free(fifo);
    expect_failure("/dev/zero", "not a regular file");
    /* an animated WebP */
    char *webp = tgt_tmp_path(".webp");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=10", "-t", "1", "-loop",
                                "0", webp, NULL),
                     0);
    expect_failure(webp, "animated WebP");
    unlink(webp);
    free(webp);
    /* an MP4 cut to 100 bytes (moov first), and one with no frames */
    char *fs = tgt_tmp_path(".mp4"), *cut = tgt_tmp_path(".mp4"), *none = tgt_tmp_path(".mp4");
    ck_assert_int_eq(tgt_ffmpeg("-i", tgt_fixture("short.mp4"), "-c", "copy", "-movflags",
                                "+faststart", fs, NULL),
                     0);
    size_t len;
    char *data = tgt_read_file(fs, &len);
    FILE *f = fopen(cut, "wb");
    fwrite(data, 1, 100, f);
    fclose(f);
    free(data);
    expect_failure(cut, "truncated or corrupt");
    ck_assert_int_eq(tgt_ffmpeg("-f", "lavfi", "-i", "color=s=64x48:d=1", "-frames:v", "0", "-c:v",
                                "libx264", none, NULL),
                     0);
    expect_failure(none, "no frames");
    unlink(fs);
    unlink(cut);
    unlink(none);
    free(fs);
    free(cut);
    free(none);
}
END_TEST

/* Issue 12 point 6: a plan's limits are said as limits. */
START_TEST(plan_limits_are_said_plainly)
{
    char *plan = tgt_tmp_path(".json"), *gif = tgt_tmp_path(".gif");
    FILE *f = fopen(plan, "w");
    fprintf(f, "{\"source\":{\"duration\":0.6,\"width\":640,\"height\":360,\"fps\":25},"
               "\"segments\":[{\"start\":0.010,\"end\":0.014}]}");
    fclose(f);
    tgt_run r;
    thumbgen(&r, "make", tgt_fixture("short.mp4"), "--plan", plan, "-o", gif, NULL);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "shorter than one frame"), "stderr: %s", r.err);
    ck_assert_int_eq(tgt_file_exists(gif), 0);
    tgt_run_free(&r);
    unlink(plan);
    free(plan);
    free(gif);
}
END_TEST

/* Issue 12 point 6: a usage error is one line, as the README says. */
START_TEST(usage_errors_are_one_line)
{
    static const char *cases[][3] = {
        {"make", "--bogus", "1"}, {"frobnicate", "-q", "-q"}, {"serve", "--port", "x"}};
    for (size_t i = 0; i < 3; i++) {
        tgt_run r;
        thumbgen(&r, cases[i][0], cases[i][1], cases[i][2], NULL);
        ck_assert_int_eq(r.status, 2);
        ck_assert_msg(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
        ck_assert_ptr_nonnull(strstr(r.err, "--help"));
        tgt_run_free(&r);
    }
}
END_TEST

/* Issue 12 point 7: a still with a poster; an output that is the input. */
START_TEST(still_with_poster_and_output_over_input)
{
    char *jpg = tgt_tmp_path(".jpg"), *gif = tgt_tmp_path(".gif"), *poster = tgt_tmp_path(".jpg");
    ck_assert_int_eq(tgt_ffmpeg("-i", tgt_fixture("short.mp4"), "-frames:v", "1", jpg, NULL), 0);
    tgt_run r;
    thumbgen(&r, "make", jpg, "-o", gif, "--poster", poster, "-q", NULL);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    ck_assert_int_gt(tgt_file_size(gif), 100);
    ck_assert_int_gt(tgt_file_size(poster), 100);
    tgt_run_free(&r);
    /* make in.gif -o in.gif: refused, nothing touched (also through another name) */
    long before = tgt_file_size(gif);
    char *before_data = tgt_read_file(gif, NULL);
    char link[4200];
    snprintf(link, sizeof(link), "%s.link.gif", gif);
    ck_assert_int_eq(symlink(gif, link), 0);
    const char *outs[][2] = {{"-o", gif}, {"-o", link}, {"--poster", gif}};
    for (int i = 0; i < 3; i++) {
        thumbgen(&r, "make", gif, outs[i][0], outs[i][1], "-q", NULL);
        ck_assert_msg(r.status != 0, "case %d: wrote over its input", i);
        ck_assert_msg(strstr(r.err, "is the input"), "case %d: %s", i, r.err);
        tgt_run_free(&r);
        ck_assert_int_eq(tgt_file_size(gif), before);
        char *now = tgt_read_file(gif, NULL);
        ck_assert_mem_eq(now, before_data, (size_t)before);
        free(now);
    }
    free(before_data);
    unlink(link);
    unlink(jpg);
    unlink(gif);
    unlink(poster);
    free(jpg);
    free(gif);
    free(poster);
}
END_TEST

/* Issue 16 item 5: an unknown option is said as unknown (not "needs a value"), with
 * the closest known name when it looks like a typo; the same for a command. */
START_TEST(unknown_options_say_so_and_suggest_the_closest)
{
    static const char *cases[][5] = {
        {"make", "v.mp4", "--clip", "unknown option '--clip'", "did you mean --clips?"},
        {"make", "v.mp4", "-V", "unknown option '-V'", NULL},
        {"make", "v.mp4", "--sheat", "unknown option '--sheat'", "did you mean --sheet?"},
        {"serve", "--prot", "80", "unknown option '--prot'", "did you mean --port?"},
        {"worker", "--stroe", "x", "unknown option '--stroe'", "did you mean --store?"},
        {"upscale", "a.png", "--scael", "unknown option '--scael'", "did you mean --scale?"},
        {"embed", "a.png", "--xyzzy", "unknown option '--xyzzy'", NULL},
        {"mkae", "v.mp4", NULL, "unknown command 'mkae'", "did you mean make?"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tgt_run r;
        thumbgen(&r, cases[i][0], cases[i][1], cases[i][2], NULL);
        ck_assert_msg(r.status == 2, "case %zu: exit %d", i, r.status);
        ck_assert_msg(strstr(r.err, cases[i][3]), "case %zu: '%s'", i, r.err);
        if (cases[i][4])
            ck_assert_msg(strstr(r.err, cases[i][4]), "case %zu: '%s'", i, r.err);
        else
            ck_assert_msg(!strstr(r.err, "did you mean"), "case %zu: '%s'", i, r.err);
        ck_assert_msg(!strstr(r.err, "needs a value"), "case %zu: '%s'", i, r.err);
        tgt_run_free(&r);
    }
    /* the distance behind it: insert, delete, substitute, swap two neighbours */
    ck_assert_uint_eq(tgi_cli_distance("clip", "clips"), 1);
    ck_assert_uint_eq(tgi_cli_distance("prot", "port"), 1);
    ck_assert_uint_eq(tgi_cli_distance("fps", "fsp"), 1);
    ck_assert_uint_eq(tgi_cli_distance("width", "with"), 1);
    ck_assert_uint_eq(tgi_cli_distance("quality", "qualtiy"), 1);
    ck_assert_uint_eq(tgi_cli_distance("", "abc"), 3);
    ck_assert_uint_eq(tgi_cli_distance("kitten", "sitting"), 3);
    const char *names[] = {"clips", "clip-len", "keyframes"};
    ck_assert_str_eq(tgi_cli_closest("clip", names, 3), "clips");
    ck_assert_str_eq(tgi_cli_closest("clip-lne", names, 3), "clip-len");
    ck_assert_ptr_null(tgi_cli_closest("width", names, 3));
    ck_assert_ptr_null(tgi_cli_closest("V", names, 3));
}
END_TEST

/* The part of --help's text that is about one option: from its line to the next
 * option's (a malloc'd copy), or NULL when --help does not list it. */
static char *help_block(const char *help, const tgi_arg *a)
{
    char flag[80];
    snprintf(flag, sizeof(flag), "--%s%s", a->name, a->meta ? " " : "");
    const char *p = help;
    while ((p = strstr(p, flag)) != NULL) {
        const char *bol = p;
        while (bol > help && bol[-1] != '\n')
            bol--;
        /* an option's own line starts "  --name" or "  -x, --name" */
        if (!strncmp(bol, "  --", 4) || !strncmp(bol, "  -", 3))
            if (p - bol <= 6)
                break;
        p += strlen(flag);
    }
    if (!p)
        return NULL;
    const char *end = strstr(p, "\n  -");
    const char *blank = strstr(p, "\n\n");
    if (!end || (blank && blank < end))
        end = blank;
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *out = malloc(n + 1);
    ck_assert_ptr_nonnull(out);
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* Issue 16 item 5: each command's --help is its table: every row is listed (with its
 * letter), and a command that takes the library's options lists those too. */
START_TEST(every_commands_help_comes_from_its_table)
{
    size_t n = 0;
    for (const tgi_cli_command *const *c = tgi_cli_commands; *c; c++, n++) {
        const tgi_cli_command *cmd = *c;
        ck_assert_ptr_eq(tgi_cli_find(cmd->name), cmd);
        tgt_run r;
        thumbgen(&r, cmd->name, "--help", NULL);
        ck_assert_msg(r.status == 0, "%s --help: exit %d", cmd->name, r.status);
        char usage[64];
        snprintf(usage, sizeof(usage), "usage: thumbgen %s", cmd->name);
        ck_assert_msg(!strncmp(r.out, usage, strlen(usage)), "%s --help: %.80s", cmd->name, r.out);
        for (const tgi_arg *a = cmd->args; a && a->name; a++) {
            char *block = help_block(r.out, a);
            ck_assert_msg(block, "%s --help lacks --%s", cmd->name, a->name);
            char head[16];
            snprintf(head, sizeof(head), "-%c, --", a->letter);
            if (a->letter)
                ck_assert_msg(strstr(r.out, head), "%s --help lacks -%c", cmd->name, a->letter);
            ck_assert_msg(strlen(block) > strlen(a->name) + 4, "--%s has no help", a->name);
            free(block);
        }
        for (const tg_opt_stage *st = tg_option_stages; cmd->lib_all && st->stage; st++)
            for (const tg_opt *o = st->opts; o->name; o++) {
                char flag[64];
                snprintf(flag, sizeof(flag), "--%s ", o->name);
                ck_assert_msg(strstr(r.out, flag), "%s --help lacks %s", cmd->name, flag);
            }
        tgt_run_free(&r);
        /* the overview names every command */
        thumbgen(&r, "--help", NULL);
        ck_assert_msg(strstr(r.out, usage), "thumbgen --help lacks %s", usage);
        tgt_run_free(&r);
    }
    ck_assert_uint_ge(n, 9);
}
END_TEST

/* Issue 16 item 5: serve's (and worker's) defaults are written once, in
 * tgi_serve_opts_default: every default --help shows, given back as the value,
 * sets the field to what tgi_serve_opts_default put there. */
START_TEST(serve_defaults_come_from_one_place)
{
    const tgi_cli_command *cmds[2] = {&tgi_cli_serve, &tgi_cli_worker};
    int checked = 0;
    for (int k = 0; k < 2; k++) {
        tgt_run r;
        thumbgen(&r, cmds[k]->name, "--help", NULL);
        ck_assert_int_eq(r.status, 0);
        tgi_cli_serve_args d;
        memset(&d, 0, sizeof(d));
        tgi_serve_opts_default(&d.o);
        if (cmds[k] == &tgi_cli_worker)
            d.o.ytdlp_update = TG_YTDLP_UPDATE_NEVER;
        for (const tgi_arg *a = cmds[k]->args; a->name; a++) {
            char *block = help_block(r.out, a);
            ck_assert_msg(block, "%s --help lacks --%s", cmds[k]->name, a->name);
            const char *def = strstr(block, "(default ");
            int has_value = a->kind == TG_ARG_STRING || a->kind == TG_ARG_INT ||
                            a->kind == TG_ARG_SECONDS || a->kind == TG_ARG_BYTES ||
                            a->kind == TG_ARG_CHOICE;
            const char *want = (const char *)&d + a->offset;
            if (a->kind == TG_ARG_STRING && !a->no_default && !*(const char *const *)want) {
                ck_assert_msg(!def, "--%s has no default but shows one: %s", a->name, block);
                free(block);
                continue;
            }
            if (!has_value || a->no_default) {
                free(block);
                continue;
            }
            ck_assert_msg(def, "%s --%s shows no default: %s", cmds[k]->name, a->name, block);
            char value[128];
            ck_assert_int_eq(sscanf(def, "(default %127[^)])", value), 1);
            /* the shown default, parsed back, is tgi_serve_opts_default's value */
            tgi_cli_serve_args s;
            memset(&s, 0, sizeof(s));
            char flag[80];
            snprintf(flag, sizeof(flag), "--%s", a->name);
            char *argv[] = {"thumbgen", (char *)cmds[k]->name, flag, value, NULL};
            ck_assert_int_eq(tgi_cli_parse(cmds[k], 4, argv, &s, NULL), 0);
            const char *got = (const char *)&s + a->offset;
            if (a->kind == TG_ARG_STRING)
                ck_assert_str_eq(*(const char *const *)got, *(const char *const *)want);
            else if (a->kind == TG_ARG_BYTES)
                ck_assert_int_eq(*(const long long *)got, *(const long long *)want);
            else
                ck_assert_int_eq(*(const int *)got, *(const int *)want);
            checked++;
            free(block);
        }
        tgt_run_free(&r);
    }
    ck_assert_int_ge(checked, 14); /* serve's and worker's: not a vacuous pass */
}
END_TEST

/* serve and worker exit 1 when the server cannot start (the parser's "--help was
 * printed" status must not turn it into 0), 0 after --help. */
START_TEST(a_server_that_cannot_start_exits_1)
{
    char *data = tgt_tmp_path(".data");
    const char *cmds[2] = {"serve", "worker"};
    for (int k = 0; k < 2; k++) {
        tgt_run r;
        thumbgen(&r, cmds[k], "--data", data, "--store", "postgresql:///x?host=/nonexistent-dir",
                 "--quiet", k == 0 ? "--port" : NULL, "0", NULL);
        ck_assert_msg(r.status == 1, "%s: exit %d: %s", cmds[k], r.status, r.err);
        ck_assert_msg(strstr(r.err, "error:"), "%s: %s", cmds[k], r.err);
        tgt_run_free(&r);
        thumbgen(&r, cmds[k], "--help", NULL);
        ck_assert_int_eq(r.status, 0);
        tgt_run_free(&r);
    }
    free(data);
}
END_TEST

Suite *suite_cli(void);
Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("end-to-end");
    tcase_add_test(tc, story_plan_keeps_to_good_material);
    tcase_add_test(tc, sparse_analysis_keeps_the_same_guarantees);
    tcase_add_test(tc, sparse_analysis_looks_past_black_keyframes);
    tcase_add_test(tc, auto_analysis_is_sparse_from_one_minute);
    tcase_add_test(tc, sparse_stretches_skip_frames_nothing_refers_to);
    tcase_add_test(tc, stretches_side_by_side_give_the_one_decoders_analysis);
    tcase_add_test(tc, sparse_stretches_feed_the_cnn_once_a_second);
    tcase_add_test(tc, sparse_analysis_looks_for_subjects_once_a_frame);
    tcase_add_test(tc, sparse_stretches_pass_a_sure_look_on_to_the_same_shot);
    tcase_add_test(tc, long_video_stretches_give_the_cnn_a_frame_a_second);
    tcase_add_test(tc, sparse_stretches_stop_where_clips_need_no_more);
    tcase_add_test(tc, sparse_stretches_for_stills_are_short);
    tcase_add_test(tc, sparse_analysis_of_short_gops_holds_full_clips);
    tcase_add_test(tc, plan_decodes_more_stretches_only_when_it_lacks_clips);
    tcase_add_test(tc, story_make_writes_gif_and_poster);
    tcase_add_test(tc, analyze_then_plan_from_analysis);
    tcase_add_test(tc, geometry_letterbox_rotation_aspect);
    tcase_add_test(tc, pillarbox_bars_are_cropped);
    tcase_add_test(tc, a_landscape_video_padded_into_a_portrait_frame_is_cropped_to_its_picture);
    tcase_add_test(
        tc, a_portrait_video_padded_with_its_blurred_copy_or_a_colour_is_cropped_to_its_picture);
    tcase_add_test(tc, a_padded_video_is_analysed_as_its_picture);
    tcase_add_test(tc, variable_frame_rate_plays_at_true_speed);
    tcase_add_test(tc, short_and_empty_videos_degrade_gracefully);
    tcase_add_test(tc, bad_inputs_get_one_clear_line);
    tcase_add_test(tc, truncated_data_still_gives_a_thumbnail_and_says_so);
    tcase_add_test(tc, absurd_sizes_and_rates_are_refused);
    tcase_add_test(tc, corrupt_data_never_crashes);
    tcase_add_test(tc, usage_errors_exit_2);
    tcase_add_test(tc, help_lists_every_option_with_its_default);
    tcase_add_test(tc, edited_plan_is_rendered_as_given);
    tcase_add_test(tc, slideshow_shows_the_keyframes);
    tcase_add_test(tc, byte_budget_is_respected);
    tcase_add_test(tc, every_format_from_one_run);
    tcase_add_test(tc, encode_takes_frames_or_a_clip_as_given);
    tcase_add_test(tc, real_footage_from_opencv);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("hardening");
    tcase_set_timeout(th, 120);
    tcase_add_test(th, odd_inputs_are_named_for_what_they_are);
    tcase_add_test(th, plan_limits_are_said_plainly);
    tcase_add_test(th, usage_errors_are_one_line);
    tcase_add_test(th, still_with_poster_and_output_over_input);
    tcase_add_test(th, unknown_options_say_so_and_suggest_the_closest);
    tcase_add_test(th, every_commands_help_comes_from_its_table);
    tcase_add_test(th, serve_defaults_come_from_one_place);
    tcase_add_test(th, a_server_that_cannot_start_exits_1);
    suite_add_tcase(s, th);
    return s;
}
