/*
 * test_analyze.c — features and events on a synthetic sample series (tests/synth.h:
 * frames drawn in memory, so the ground truth is exact and no video is needed), and
 * the analysis as JSON. The choice made from them is test_select.c's.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/analysis.h"
#include "analyze/events.h"
#include "analyze/features.h"
#include "analyze/padding.h"
#include "analyze/sampler.h"
#include "select/cluster.h"
#include "select/select.h"
#include "select/verdict.h"
#include "synth.h"

#define W    TGT_W
#define H    TGT_H
#define RATE TGT_RATE

START_TEST(features_measure_what_they_name)
{
    uint8_t *img = malloc(W * H * 3);
    tgi_sample a = {0}, b = {0}, c = {0};
    tgt_scene(img, 1, 0, 1);
    tgi_frame f = {.width = W, .height = H, .stride = W * 3, .data = img};
    tgi_features_compute(&f, NULL, &a);
    tgt_scene(img, 1, 0, 0);
    tgi_features_compute(&f, NULL, &b);
    tgt_fill(img, 0);
    tgi_features_compute(&f, NULL, &c);
    ck_assert_msg(a.sharp > 1.5f * b.sharp, "sharp %f vs blurred %f", a.sharp, b.sharp);
    ck_assert(c.luma < 0.01f && c.contrast < 0.01f);
    ck_assert(a.contrast > 0.1f && a.entropy > 0.5f);
    ck_assert(c.bgfrac > 0.99f);
    ck_assert_float_eq_tol(tgi_desc_distance(&a, &a), 0, 1e-6);
    ck_assert(tgi_desc_distance(&a, &c) > 0.3f);
    free(img);
}
END_TEST

/* A W x H luma frame: the picture (a detailed scene's luma) in the middle [b, W - b),
 * and on both sides what a phone app or editor fills them with: the picture enlarged
 * to cover the frame about its centre (fill 1), or another scene (fill 2), either one
 * box-blurred and darkened, or one light grey (fill 3); fill 0 leaves the scene whole
 * (no padding at all), fill 4 shows it inside a disc of diameter W - 2b on that grey
 * (a subject before a plain wall). */
static void padded_luma(uint8_t *Y, int b, int fill)
{
    uint8_t *rgb = malloc(W * H * 3), *pic = malloc(W * H), *other = malloc(W * H),
            *side = malloc(W * H);
    tgt_scene(rgb, 3, 0, 1);
    for (int i = 0; i < W * H; i++)
        pic[i] = (uint8_t)((77 * rgb[3 * i] + 150 * rgb[3 * i + 1] + 29 * rgb[3 * i + 2]) >> 8);
    tgt_scene(rgb, 11, 0.3, 1);
    for (int i = 0; i < W * H; i++)
        other[i] = (uint8_t)((77 * rgb[3 * i] + 150 * rgb[3 * i + 1] + 29 * rgb[3 * i + 2]) >> 8);
    double s = (double)W / (W - 2 * b);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int px = b + (int)(x / s), py = (int)(H / 2.0 + (y - H / 2.0) / s);
            side[y * W + x] = fill == 2 ? other[y * W + x] : pic[py * W + px];
        }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            if (fill == 4) {
                double r = hypot(x - W / 2.0, y - H / 2.0);
                Y[y * W + x] = r < (W - 2 * b) / 2.0 ? pic[y * W + x] : 200;
                continue;
            }
            if (fill == 0 || (x >= b && x < W - b)) {
                Y[y * W + x] = pic[y * W + x];
                continue;
            }
            if (fill == 3) {
                Y[y * W + x] = 200;
                continue;
            }
            int acc = 0, n = 0;
            for (int dy = -4; dy <= 4; dy++)
                for (int dx = -4; dx <= 4; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy >= 0 && yy < H && xx >= 0 && xx < W) {
                        acc += side[yy * W + xx];
                        n++;
                    }
                }
            Y[y * W + x] = (uint8_t)(acc * 3 / (4 * n));
        }
    free(rgb);
    free(pic);
    free(other);
    free(side);
}

START_TEST(a_blurred_copy_of_the_picture_or_one_colour_on_its_sides_is_padding)
{
    uint8_t *Y = malloc(W * H), *T = malloc(W * H);
    int in;
    /* a 9:16 picture in a 16:9 frame (b = 66 of 192: a portrait phone video on a
     * landscape site), and a 4:3 one (b = 24) */
    int widths[] = {66, 24};
    for (int k = 0; k < 2; k++) {
        int b = widths[k];
        padded_luma(Y, b, 1);
        int got = tgi_padding_fill(Y, NULL, 0, W, H, 0, &in);
        ck_assert_msg(abs(got - b) <= 1, "fill %d lines wide found as %d", b, got);
        /* the same turned a quarter: a landscape picture in a portrait frame */
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                T[x * H + y] = Y[y * W + x];
        got = tgi_padding_fill(T, NULL, 0, H, W, 1, &in);
        ck_assert_msg(abs(got - b) <= 1, "fill %d lines high found as %d", b, got);
        ck_assert_int_le(tgi_padding_fill(T, NULL, 0, H, W, 0, &in), 0);
    }
    /* one colour (white, grey, a brand's) instead of the blur */
    padded_luma(Y, 66, 3);
    ck_assert_int_eq(tgi_padding_fill(Y, NULL, 0, W, H, 0, &in), 66);
    /* but a round subject before a plain wall has no straight border: not padding */
    padded_luma(Y, 50, 4);
    ck_assert_int_le(tgi_padding_fill(Y, NULL, 0, W, H, 0, &in), 0);
    /* blurred sides that are not the picture: nothing tells them from a defocused
     * background around a sharp subject, so they are not taken for padding */
    padded_luma(Y, 66, 2);
    ck_assert_int_le(tgi_padding_fill(Y, NULL, 0, W, H, 0, &in), 0);
    /* no fill at all */
    padded_luma(Y, 66, 0);
    ck_assert_int_eq(tgi_padding_fill(Y, NULL, 0, W, H, 0, &in), 0);
    /* a flat frame cannot tell */
    memset(Y, 20, W * H);
    ck_assert_int_eq(tgi_padding_fill(Y, NULL, 0, W, H, 0, &in), -1);
    /* black bars a line apart in width (10 and 9 of 192) above and below a picture with
     * a grey panel at its top and a light desktop at its bottom, whose last line blends
     * into the bar (a pillarboxed screen recording turned a quarter): bars, not a
     * blurred copy (main: a 10-line fill, 52 px of the picture cropped at each end) */
    for (int y = 0; y < W; y++)
        for (int x = 0; x < H; x++) {
            double v = y < 9    ? 0
                       : y == 9 ? 12
                       : y < 40 ? 50 + 8 * sin(x * 0.07) + 0.1 * y
                       : y < 150
                           ? 110 + 45 * sin(x * 0.05 + y * 0.035) + 30 * sin(x * 0.17 - y * 0.2)
                       : y < 182  ? 216 + 30 * sin(x * 0.1) + 0.05 * (y - 150)
                       : y == 182 ? 0.42 * (216 + 30 * sin(x * 0.1))
                                  : 0;
            T[y * H + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    ck_assert_int_le(tgi_padding_fill(T, NULL, 0, H, W, 1, &in), 0);
    free(Y);
    free(T);
}
END_TEST

START_TEST(events_find_every_defect)
{
    size_t n;
    tgi_sample *s = tgt_series(&n);
    tg_analysis_data *a = tgt_analysis_of(s, n, 17.0);
    tgi_verdict *v = tgt_verdicts_of(a);
    /* the hard cut A→B, and no cut inside a panning scene */
    int found = 0;
    for (size_t i = 0; i < a->n_cuts; i++) {
        if (fabs(a->cuts[i] - 2.0) < 0.05)
            found = 1;
        ck_assert_msg(!(a->cuts[i] > 0.2 && a->cuts[i] < 1.8), "cut at %.2f inside A", a->cuts[i]);
        ck_assert_msg(!(a->cuts[i] > 5.8 && a->cuts[i] < 7.8), "cut at %.2f inside C", a->cuts[i]);
    }
    ck_assert_msg(found, "no cut at 2.0 (%zu cuts)", a->n_cuts);
    /* events: facts of the video */
    ck_assert(s[tgt_at(3.0)].ev & TG_BAD_FLASH);
    ck_assert(!(s[tgt_at(3.4)].ev & TG_BAD_FLASH));
    for (double t = 4.04; t < 4.96; t += 0.04)
        ck_assert_msg(s[tgt_at(t)].ev & (TG_BAD_BLACK | TG_BAD_FADE), "black at %.2f", t);
    for (double t = 5.0; t < 5.56; t += 0.04)
        ck_assert_msg(v[tgt_at(t)].bad & (TG_BAD_FADE | TG_BAD_BLACK | TG_BAD_EXPOSURE),
                      "fade-in at %.2f not flagged (%#x)", t, v[tgt_at(t)].bad);
    for (double t = 8.2; t < 8.6; t += 0.04)
        ck_assert_msg(s[tgt_at(t)].ev & TG_BAD_DISSOLVE, "dissolve at %.2f not flagged (%#x)", t,
                      s[tgt_at(t)].ev);
    /* verdicts: defects for this video */
    for (double t = 11.2; t < 12.8; t += 0.2)
        ck_assert_msg(v[tgt_at(t)].bad & TG_BAD_BLUR, "blur at %.2f not flagged (%#x)", t,
                      v[tgt_at(t)].bad);
    for (double t = 13.2; t < 14.8; t += 0.2)
        ck_assert_msg(v[tgt_at(t)].bad & TG_BAD_TEXT, "text at %.2f not flagged (%#x)", t,
                      v[tgt_at(t)].bad);
    for (double t = 15.3; t < 16.8; t += 0.2)
        ck_assert_msg(v[tgt_at(t)].bad & TG_BAD_REPEAT, "repeat at %.2f not flagged (%#x)", t,
                      v[tgt_at(t)].bad);
    /* the clean interiors stay clean */
    static const double clean[][2] = {{0.3, 1.7}, {2.3, 2.8}, {3.3, 3.7}, {6.0, 7.6}, {9.3, 10.7}};
    for (size_t k = 0; k < sizeof(clean) / sizeof(clean[0]); k++)
        for (double t = clean[k][0]; t < clean[k][1]; t += 0.04)
            ck_assert_msg(v[tgt_at(t)].bad == 0, "clean sample at %.2f flagged %#x", t,
                          v[tgt_at(t)].bad);
    free(v);
    tg_analysis_free(&a);
}
END_TEST

/* A fade to black is flagged from its first darker frame, so no clip runs into
 * the dimming. */
START_TEST(fades_are_found_from_their_start)
{
    size_t n = (size_t)(6 * RATE);
    tgi_sample *s = calloc(n, sizeof(*s));
    uint8_t *img = malloc(W * H * 3);
    for (size_t i = 0; i < n; i++) {
        double t = i / RATE, g = t < 2.5 ? 1 : t < 5 ? (5 - t) / 2.5 : 0;
        tgt_scene(img, 3, t * 6, 1);
        for (int p = 0; p < W * H * 3; p++)
            img[p] = (uint8_t)(img[p] * g);
        tgt_sample(s, i, t, img);
    }
    free(img);
    tg_analysis_data *a = tgt_analysis_of(s, n, 6);
    for (double t = 2.7; t < 5; t += 0.08)
        ck_assert_msg(a->s[tgt_at(t)].ev & (TG_BAD_FADE | TG_BAD_BLACK),
                      "dimming at %.2f not a fade", t);
    tg_options o;
    tg_options_default(&o);
    o.clips = 1;
    tg_plan *p = tgi_plan_new();
    ck_assert_int_eq(tgi_select(NULL, a, &o, p), 0);
    ck_assert_msg(p->segments[0].end <= 2.6, "the clip %.2f-%.2f runs into the fade",
                  p->segments[0].start, p->segments[0].end);
    tg_plan_free(&p);
    tg_analysis_free(&a);
}
END_TEST

/* secs seconds of a cross-fade from scene 3 to scene 4 over 1.2-2.8 s, each frame
 * changed by touch (when not NULL) before it is sampled. */
static tg_analysis_data *crossfade(double secs, void (*touch)(uint8_t *img, size_t i, double t))
{
    size_t n = (size_t)(secs * RATE);
    tgi_sample *s = calloc(n, sizeof(*s));
    uint8_t *img = malloc(W * H * 3), *a = malloc(W * H * 3), *b = malloc(W * H * 3);
    tgt_scene(a, 3, 0, 1);
    tgt_scene(b, 4, 0, 1);
    for (size_t i = 0; i < n; i++) {
        double t = i / RATE, al = t < 1.2 ? 1 : t < 2.8 ? 1 - (t - 1.2) / 1.6 : 0;
        tgt_mix(img, a, b, al);
        if (touch)
            touch(img, i, t);
        tgt_sample(s, i, t, img);
    }
    free(img);
    free(a);
    free(b);
    return tgt_analysis_of(s, n, secs);
}

static void sweeping_stripes(uint8_t *img, size_t i, double t)
{
    (void)t;
    for (int p = 0; p < W * H * 3; p++) {
        int x = (p / 3) % W, on = ((x + 12 * (int)i) / 24) % 2;
        img[p] = (uint8_t)(on ? (img[p] > 243 ? 255 : img[p] + 12) : img[p]);
    }
}

/* Two pictures and the frames between them: a cross-fade from scene 3 to scene 4
 * over 1.6 s, alone, or with faint stripes (12 levels) sweeping across it at 12 px a
 * frame (things that move: the Sintel trailer's dragons over a sky that a blend of
 * its ends fits, the blend test alone called it a dissolve). A
 * cross-fade takes each pixel once from one picture to the other; frames that go
 * there and back are motion, not a transition. */
static tg_analysis_data *blend_with_stripes(int stripes)
{
    return crossfade(4, stripes ? sweeping_stripes : NULL);
}

START_TEST(motion_that_a_blend_fits_is_no_dissolve)
{
    for (int stripes = 0; stripes <= 1; stripes++) {
        tg_analysis_data *a = blend_with_stripes(stripes);
        int flagged = 0;
        for (double t = 1.6; t < 2.4; t += 0.04)
            flagged += (a->s[tgt_at(t)].ev & TG_BAD_DISSOLVE) != 0;
        if (stripes)
            ck_assert_msg(flagged == 0, "the sweeping stripes: %d samples called a dissolve",
                          flagged);
        else
            ck_assert_msg(flagged >= 15, "the plain cross-fade: %d of 20 samples a dissolve",
                          flagged);
        tg_analysis_free(&a);
    }
}
END_TEST

/* A film letterboxed into a wider frame: black bars of H/6 above and below it. */
static void letterbox(uint8_t *img)
{
    memset(img, 0, (size_t)W * 3 * (H / 6));
    memset(img + (size_t)W * 3 * (H - H / 6), 0, (size_t)W * 3 * (H / 6));
}

/* 6 s of a letterboxed film: scene 3, a cross-fade to scene 4 (1.2-2.8 s), a flash
 * through white (3.4-3.9 s: the picture white between its bars), scene 4 again, a
 * flat grey card (4.4-4.9 s), then scene 4 fading to black (5.0-6.0 s). */
static void film_in_a_letterbox(uint8_t *img, size_t i, double t)
{
    (void)i;
    if (t >= 3.4 && t < 3.9)
        tgt_fill(img, 255);
    else if (t >= 4.4 && t < 4.9)
        tgt_fill(img, 128);
    else if (t >= 5.0)
        for (int p = 0; p < W * H * 3; p++)
            img[p] = (uint8_t)(img[p] * fmax(0, 6.0 - t));
    letterbox(img);
}

/* A letterboxed picture is judged inside its black bars: its white frame is white (the
 * bars made its darkest 2 % black), its flat card is blank and its cross-fade has the
 * contrast dip of a blend (the bars' contrast against the picture hid both), and its
 * fade to black is still a fade from its first darker frame. */
START_TEST(a_letterboxed_picture_is_judged_inside_its_bars)
{
    tg_analysis_data *a = crossfade(6, film_in_a_letterbox);
    int dissolve = 0;
    for (double t = 1.6; t < 2.4; t += 0.04)
        dissolve += (a->s[tgt_at(t)].ev & TG_BAD_DISSOLVE) != 0;
    ck_assert_msg(dissolve >= 15, "the letterboxed cross-fade: %d of 20 samples a dissolve",
                  dissolve);
    for (double t = 3.44; t < 3.86; t += 0.04)
        ck_assert_msg(a->s[tgt_at(t)].ev & TG_BAD_WHITE, "white picture at %.2f not white (%#x)", t,
                      a->s[tgt_at(t)].ev);
    for (double t = 4.44; t < 4.86; t += 0.04)
        ck_assert_msg(a->s[tgt_at(t)].ev & TG_BAD_UNIFORM, "grey card at %.2f not blank (%#x)", t,
                      a->s[tgt_at(t)].ev);
    for (double t = 5.1; t < 5.9; t += 0.08)
        ck_assert_msg(a->s[tgt_at(t)].ev & (TG_BAD_FADE | TG_BAD_BLACK),
                      "dimming at %.2f not a fade (%#x)", t, a->s[tgt_at(t)].ev);
    for (double t = 0.2; t < 0.8; t += 0.04)
        ck_assert_msg(a->s[tgt_at(t)].ev == 0, "clean picture at %.2f flagged %#x", t,
                      a->s[tgt_at(t)].ev);
    tg_analysis_free(&a);
}
END_TEST

/* One scene that goes on, seen in stretches (sparse analysis), changes as it goes (the
 * light comes and goes every 3 s): its last stretches are alike its first one, and some
 * of the frames between are far from it, but no stretch between is unlike it as a
 * whole, so it is not an intro returning as an outro (a teaser's two minions, on one
 * grey ground for 36 s, were flagged a repeat from 41 s on and never shown). An intro
 * that does return is still one (events_find_every_defect). */
START_TEST(one_scene_seen_in_stretches_is_not_its_own_repeat)
{
    static const double st[][2] = {{0, 2}, {10, 13}, {20, 23}, {30, 33}, {43, 46}, {50, 53}};
    enum { NS = sizeof(st) / sizeof(st[0]) };
    size_t n = 0;
    for (int k = 0; k < NS; k++)
        n += (size_t)((st[k][1] - st[k][0]) * RATE);
    tgi_sample *s = calloc(n, sizeof(*s));
    uint8_t *img = malloc(W * H * 3), *a = malloc(W * H * 3), *b = malloc(W * H * 3),
            *c = malloc(W * H * 3);
    tgt_scene(a, 6, 0, 1);
    tgt_scene(b, 9, 0, 1);
    tgt_scene(c, 2, 0, 1); /* the intro */
    size_t i = 0;
    for (int k = 0; k < NS; k++)
        for (double t = st[k][0]; t < st[k][1] - 1e-9 && i < n; t += 1 / RATE, i++) {
            if (k == 0)
                memcpy(img, c, W * H * 3);
            else
                tgt_mix(img, a, b, 0.35 + 0.35 * sin(2 * M_PI * t / 3));
            tgt_sample(s, i, t, img);
            s[i].shot = (int16_t)k;
        }
    free(img);
    free(a);
    free(b);
    free(c);
    tg_analysis_data *an = tgi_analysis_new();
    an->path = strdup("synthetic");
    an->s = s;
    an->n = i;
    an->duration = 60;
    an->width = an->aw = W;
    an->height = an->ah = H;
    an->fps = RATE;
    an->content = (tg_rect){0, 0, W, H};
    an->shots = calloc(NS, sizeof(tg_shot));
    an->n_shots = NS;
    for (int k = 0; k < NS; k++)
        an->shots[k] = (tg_shot){st[k][0], st[k][1]};
    /* the scene does move far from its first stretch's frames between */
    float far = 0;
    for (size_t p = 0; p < an->n; p++)
        for (size_t q = 0; q < an->n; q += 5)
            if (s[p].shot == 2 && s[q].shot == 1)
                far = fmaxf(far, tgi_sample_distance(&s[p], &s[q]));
    ck_assert_msg(far > 0.24f, "the scene changes by %.3f only", far);
    tgi_verdict *v = tgt_verdicts_of(an);
    for (size_t p = 0; p < an->n; p++)
        ck_assert_msg(!(v[p].bad & TG_BAD_REPEAT), "the scene at %.2f called a repeat", s[p].t);
    free(v);
    tg_analysis_free(&an);
}
END_TEST

/* The analysis as JSON reads back to the same plan; broken files are refused with
 * a sentence that names the problem. */
START_TEST(analysis_json_round_trips_and_refuses_broken_files)
{
    size_t n;
    tgi_sample *s = tgt_series(&n);
    tg_analysis_data *a = tgt_analysis_of(s, n, 17.0), *b = NULL;
    tgi_analysis_add_note(a, "a note with é");
    ck_assert_uint_eq(a->n_spans, 0);
    a->spans = malloc(sizeof(*a->spans)); /* sparse: the next keyframe after a span */
    ck_assert_ptr_nonnull(a->spans);
    a->spans[a->n_spans++] = (tgi_span){0, 17.0, 17.5};
    char *json = NULL, *json2 = NULL;
    tg_ctx *ctx = tg_ctx_new();
    ck_assert_int_eq(tg_analysis_to_json(ctx, a, &json), 0);
    ck_assert_msg(tg_analysis_from_json(ctx, json, &b) == 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_eq(b->n, a->n);
    ck_assert_uint_eq(b->n_spans, a->n_spans);
    ck_assert_double_eq(b->spans[a->n_spans - 1].key_end, 17.5);
    for (size_t i = 0; i < n; i++) {
        ck_assert(b->s[i].t == a->s[i].t && b->s[i].sharp == a->s[i].sharp);
        ck_assert(b->s[i].ev == a->s[i].ev && b->s[i].shot == a->s[i].shot);
        ck_assert(!memcmp(b->s[i].thumb, a->s[i].thumb, sizeof(a->s[i].thumb)));
        ck_assert(!memcmp(b->s[i].desc, a->s[i].desc, sizeof(a->s[i].desc)));
    }
    ck_assert_int_eq(tg_analysis_to_json(ctx, b, &json2), 0);
    ck_assert_str_eq(json, json2);
    tg_options o;
    tg_options_default(&o);
    tg_plan *p1 = NULL, *p2 = NULL;
    ck_assert_int_eq(tg_plan_from_analysis(ctx, a, &o, &p1), 0);
    ck_assert_int_eq(tg_plan_from_analysis(ctx, b, &o, &p2), 0);
    char *j1 = NULL, *j2 = NULL;
    ck_assert_int_eq(tg_plan_to_json(ctx, p1, &j1), 0);
    ck_assert_int_eq(tg_plan_to_json(ctx, p2, &j2), 0);
    ck_assert_str_eq(j1, j2);
    /* broken files */
    static const struct {
        const char *from, *to, *says;
    } broken[] = {
        {"\"thumbgen_analysis\":1", "\"thumbgen_analysis\":2", "thumbgen_analysis"},
        {"\"n\":425", "\"n\":426", "samples."},
        {"\"thumb_u8\":\"", "\"thumb_u8\":\"A", "thumb_u8"},
        {"\"shot\":[", "\"shot\":[999,", "shot"},
    };
    for (size_t k = 0; k < sizeof(broken) / sizeof(broken[0]); k++) {
        const char *at_ = strstr(json, broken[k].from);
        ck_assert_msg(at_ != NULL, "no %s in the analysis", broken[k].from);
        size_t pre = (size_t)(at_ - json), fl = strlen(broken[k].from), tl = strlen(broken[k].to);
        char *bad = malloc(strlen(json) + tl + 1);
        memcpy(bad, json, pre);
        memcpy(bad + pre, broken[k].to, tl);
        strcpy(bad + pre + tl, json + pre + fl);
        tg_analysis_data *c = NULL;
        ck_assert_int_eq(tg_analysis_from_json(ctx, bad, &c), TG_EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_msg(strstr(tg_ctx_message(ctx), broken[k].says), "case %zu: %s", k,
                      tg_ctx_message(ctx));
        free(bad);
    }
    tg_analysis_data *c = NULL;
    ck_assert_int_eq(tg_analysis_from_json(ctx, "{\"thumbgen_analysis\":", &c), TG_EINVAL);
    free(j1);
    free(j2);
    tg_plan_free(&p1);
    tg_plan_free(&p2);
    free(json);
    free(json2);
    tg_analysis_free(&a);
    tg_analysis_free(&b);
    tg_ctx_free(&ctx);
}
END_TEST

/* The CNN's frames on long videos (3 minutes and more): the keyframe pass gives it at
 * most 300 frames whatever the length (it gave every keyframe up to 600: ~20 s of CPU at
 * one hour); a densely decoded stretch gives it one a second at every length (was two;
 * below 3 minutes since part 5); below 3 minutes the other budgets are what they always
 * were (bench/RESULTS.md, "Speed at every length", parts 4 and 5). */
START_TEST(cnn_frames_of_long_videos_are_bounded)
{
    static const double lengths[] = {600, 1800, 3600, 4 * 3600.0};
    for (size_t k = 0; k < sizeof(lengths) / sizeof(lengths[0]); k++) {
        double d = lengths[k];
        double keys = d / tgi_sampler_cnn_every(d, TGI_PASS_KEYS);
        ck_assert_msg(keys <= 300 + 1e-9, "%.0f s: %.0f CNN frames on the keyframes", d, keys);
        ck_assert_double_eq_tol(tgi_sampler_cnn_every(d, TGI_PASS_STRETCH), 1.0, 1e-9);
    }
    ck_assert_double_eq_tol(tgi_sampler_cnn_every(180, TGI_PASS_KEYS), 0.6, 1e-9);
    static const double shorter[] = {5, 30, 60, 119, 179.9};
    for (size_t k = 0; k < sizeof(shorter) / sizeof(shorter[0]); k++) {
        double d = shorter[k];
        ck_assert_double_eq_tol(tgi_sampler_cnn_every(d, TGI_PASS_KEYS), fmax(0.2, d / 600), 1e-9);
        ck_assert_double_eq_tol(tgi_sampler_cnn_every(d, TGI_PASS_STRETCH), 1.0, 1e-9);
        ck_assert_double_eq_tol(tgi_sampler_cnn_every(d, TGI_PASS_FULL), fmax(0.5, d / 600), 1e-9);
    }
    ck_assert_double_eq_tol(tgi_sampler_cnn_every(3600, TGI_PASS_FULL), 6.0, 1e-9);
}
END_TEST

/* Sparse analysis decodes a stretch that starts at a clean keyframe only as far as its
 * clips need: 0.75 s + 3 clip lengths (4.35 s for the default 1.2-s clips), never more
 * than REGION_MAX (8 s) nor less than 2 s; a stretch that starts black or white is
 * decoded up to 8 s whatever the clip length (bench/RESULTS.md, "Speed at every
 * length", part 6). */
START_TEST(stretches_are_decoded_as_far_as_clips_need)
{
    ck_assert_double_eq_tol(tgi_sampler_stretch_len(1.2, 0), 4.35, 1e-9);
    ck_assert_double_eq_tol(tgi_sampler_stretch_len(2.0, 0), 6.75, 1e-9);
    ck_assert_double_eq_tol(tgi_sampler_stretch_len(0.3, 0), 2.0, 1e-9);
    ck_assert_double_eq_tol(tgi_sampler_stretch_len(10, 0), 8.0, 1e-9);
    for (double len = 0.3; len <= 10; len += 0.7) {
        ck_assert_double_eq_tol(tgi_sampler_stretch_len(len, 1), 8.0, 1e-9);
        /* room for a clip after the start's guard (0.5 s) and before the end's (0.25 s),
         * and two clip lengths more to move it in */
        if (0.75 + 3 * len <= 8)
            ck_assert_double_ge(tgi_sampler_stretch_len(len, 0), 0.75 + 3 * len - 1e-9);
    }
}
END_TEST

/* Of the stretches sparse analysis chooses (clips + stills + 4), the first clips + 3 are
 * decoded as far as a clip needs; the rest are for stills: too short to hold a clip and
 * its guards (0.5 s after the start, 0.25 s before the end) for clips of 1 s and more, so
 * such a clip never goes where it has no room to move, yet long enough for a still between its
 * guards (0.5 s, 0.2 s): 0.5 s of positions, and one frame the face model looked at (it looks
 * at a stretch's first frame, then every face_every seconds) while it looks at least every
 * 1.4 s; 1.2 s where it looks every 0.9 s or more often (every video up to 216 s; 1.3 s before
 * select weighed stretches by the time they stand for), 1.7 s at most; 8 s after a black or
 * white keyframe, as any such stretch (bench/RESULTS.md, "Speed at every length", parts 7 and
 * 10, and "The video's levels weighed by the time each stretch stands for"). */
START_TEST(stretches_for_stills_are_shorter_than_a_clip_needs)
{
    size_t for_clips = 0;
    ck_assert_uint_eq(tgi_sampler_stretches(3, 6, TGI_ROUND_ALL, &for_clips), 13);
    ck_assert_uint_eq(for_clips, 6);
    ck_assert_uint_eq(tgi_sampler_stretches(4, 9, TGI_ROUND_ALL, &for_clips), 17);
    ck_assert_uint_eq(for_clips, 7);
    static const double every[] = {0, 0.25, 0.5, 0.75, 0.8333, 0.9, 1.0, 1.2, 1.4, 2.5, 15};
    for (size_t e = 0; e < sizeof(every) / sizeof(every[0]); e++)
        for (double len = 0.3; len <= 10; len += 0.1) {
            double fe = every[e], sl = tgi_sampler_still_len(len, 0, fe);
            if (len >= 1.0) /* shorter clips may fit: they have room to move there */
                ck_assert_double_lt(sl, 0.5 + len + 0.25);
            ck_assert_double_le(sl, tgi_sampler_stretch_len(len, 0));
            ck_assert_double_le(sl, 1.7 + 1e-9);
            ck_assert_double_eq_tol(tgi_sampler_still_len(len, 1, fe), 8.0, 1e-9);
            ck_assert_double_ge(sl, 0.5 + 0.2 + 0.5 - 1e-9); /* ~8 samples between the guards */
            if (fe <= 0.9) /* the 1.7 s of part 7, the 1.3 of part 10: more than a still needs */
                ck_assert_double_le(sl, 1.2 + 1e-9);
            if (fe > 0 && fe <= 1.4) { /* a face look between the guards, a frame to spare */
                int seen = 0;
                for (double t = 0; t <= sl; t += fe)
                    seen |= t >= 0.5 && t <= sl - 0.2 - 0.05;
                ck_assert_msg(seen, "no face look between the guards of %.2f s (every %.2f s)", sl,
                              fe);
            }
        }
}
END_TEST

/* A first round of sparse analysis (tg_plan_make's) chooses as many stretches as a
 * whole one, but decodes only clips + 1 of them as far as a clip needs; the others
 * only as far as a still needs (bench/RESULTS.md, "Speed at every length", part 9). */
START_TEST(a_first_round_decodes_fewer_stretches_for_clips)
{
    size_t first = 0, all = 0;
    for (int clips = 1; clips <= 20; clips++)
        for (int keys = 1; keys <= 50; keys += 7) {
            size_t n1 = tgi_sampler_stretches(clips, keys, TGI_ROUND_FIRST, &first);
            size_t n2 = tgi_sampler_stretches(clips, keys, TGI_ROUND_ALL, &all);
            ck_assert_uint_eq(n1, n2);
            ck_assert_uint_eq(first, (size_t)clips + 1);
            ck_assert_uint_lt(first, all);
        }
}
END_TEST

Suite *suite_analyze(void);
Suite *suite_analyze(void)
{
    Suite *s = suite_create("analyze");
    TCase *tc = tcase_create("synthetic");
    tcase_add_test(tc, features_measure_what_they_name);
    tcase_add_test(tc, a_blurred_copy_of_the_picture_or_one_colour_on_its_sides_is_padding);
    tcase_add_test(tc, events_find_every_defect);
    tcase_add_test(tc, fades_are_found_from_their_start);
    tcase_add_test(tc, motion_that_a_blend_fits_is_no_dissolve);
    tcase_add_test(tc, a_letterboxed_picture_is_judged_inside_its_bars);
    tcase_add_test(tc, one_scene_seen_in_stretches_is_not_its_own_repeat);
    tcase_add_test(tc, analysis_json_round_trips_and_refuses_broken_files);
    tcase_add_test(tc, cnn_frames_of_long_videos_are_bounded);
    tcase_add_test(tc, stretches_are_decoded_as_far_as_clips_need);
    tcase_add_test(tc, stretches_for_stills_are_shorter_than_a_clip_needs);
    tcase_add_test(tc, a_first_round_decodes_fewer_stretches_for_clips);
    suite_add_tcase(s, tc);
    return s;
}
