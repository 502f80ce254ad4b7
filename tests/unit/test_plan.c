/* test_plan.c — the plan's JSON contract: round trip and strict validation. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select/plan.h"

static tg_plan *sample_plan(void)
{
    tg_plan *p = tgi_plan_new();
    p->path = strdup("v.mp4");
    p->duration = 20;
    p->width = 640;
    p->height = 360;
    p->fps = 25;
    p->crop = (tg_rect){0, 45, 640, 270};
    tgi_plan_add_shot(p, (tg_shot){0, 8});
    tgi_plan_add_shot(p, (tg_shot){8, 20});
    tgi_plan_add_segment(p, (tg_segment){2, 3.2, 0.7, 0, -1});
    tgi_plan_add_segment(p, (tg_segment){10, 11.2, 0.6, 1, -1});
    tgi_plan_add_keyframe(p, (tg_keyframe){12.5, 0.8, 1, -1});
    tgi_plan_add_keyframe(p, (tg_keyframe){4.25, 0.7, 0, -1});
    p->poster_t = 12.5;
    tgi_plan_add_warning(p, "note %d", 1);
    return p;
}

START_TEST(round_trip_keeps_everything)
{
    tg_plan *p = sample_plan(), *q = NULL;
    char *json = NULL, *json2 = NULL;
    ck_assert_int_eq(tg_plan_to_json(NULL, p, &json), 0);
    ck_assert_ptr_nonnull(strstr(json, "\"segments\""));
    tg_ctx *c = tg_ctx_new();
    ck_assert_msg(tg_plan_from_json(c, json, &q) == 0, "%s", tg_ctx_message(c));
    ck_assert_int_eq(q->n_segments, 2);
    ck_assert_int_eq(q->n_keyframes, 2);
    ck_assert_int_eq(q->n_shots, 2);
    ck_assert_double_eq(q->segments[1].start, 10);
    ck_assert_double_eq(q->segments[1].end, 11.2);
    ck_assert_int_eq(q->segments[1].shot, 1);
    ck_assert_double_eq(q->keyframes[1].t, 4.25);
    ck_assert_double_eq(q->poster_t, 12.5);
    ck_assert_int_eq(q->crop.y, 45);
    ck_assert_int_eq(q->crop.h, 270);
    ck_assert_str_eq(q->path, "v.mp4");
    /* what is written again is the same text (warnings are not read back) */
    q->warnings = NULL;
    tgi_plan_add_warning(q, "note %d", 1);
    ck_assert_int_eq(tg_plan_to_json(NULL, q, &json2), 0);
    ck_assert_str_eq(json, json2);
    free(json);
    free(json2);
    tg_plan_free(&p);
    tg_plan_free(&q);
    tg_ctx_free(&c);
}
END_TEST

static void expect_bad(const char *json, const char *needle)
{
    tg_ctx *c = tg_ctx_new();
    tg_plan *p = NULL;
    int rc = tg_plan_from_json(c, json, &p);
    ck_assert_msg(rc == TG_EPLAN, "accepted: %s", json);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(tg_ctx_message(c), needle), "message '%s' lacks '%s'", tg_ctx_message(c),
                  needle);
    tg_ctx_free(&c);
}

#define SRC "\"source\":{\"duration\":10,\"width\":64,\"height\":48,\"fps\":25}"

START_TEST(bad_plans_are_refused_with_a_reason)
{
    expect_bad("", "not valid JSON");
    expect_bad("{\"source\":", "not valid JSON");
    expect_bad("[1,2]", "JSON object");
    expect_bad("{\"segments\":[]}", "source");
    expect_bad("{\"source\":{\"duration\":\"ten\",\"width\":64,\"height\":48}}", "source");
    expect_bad("{" SRC ",\"segments\":[{\"start\":5,\"end\":4}]}", "segments");
    expect_bad("{" SRC ",\"segments\":[{\"start\":-1,\"end\":4}]}", "segments");
    expect_bad("{" SRC ",\"segments\":[{\"start\":5,\"end\":99}]}", "segments");
    expect_bad("{" SRC ",\"segments\":[{\"start\":1e999,\"end\":2}]}", "");
    expect_bad("{" SRC ",\"segments\":{}}", "segments");
    expect_bad("{" SRC ",\"keyframes\":[{\"t\":11}]}", "keyframes");
    expect_bad("{" SRC ",\"crop\":{\"x\":10,\"y\":0,\"w\":64,\"h\":48},"
               "\"segments\":[{\"start\":1,\"end\":2}]}",
               "crop");
    expect_bad("{" SRC "}", "at least one");
    expect_bad("{" SRC ",\"segments\":[{\"start\":1,\"end\":2}],\"segments\":[]}", "JSON");
}
END_TEST

START_TEST(minimal_plan_is_accepted)
{
    tg_plan *p = NULL;
    ck_assert_int_eq(
        tg_plan_from_json(NULL, "{" SRC ",\"segments\":[{\"start\":1,\"end\":2}]}", &p), 0);
    ck_assert_int_eq(p->crop.w, 64); /* no crop: the whole frame */
    ck_assert_int_eq(p->segments[0].shot, -1);
    ck_assert_double_lt(p->poster_t, 0);
    tg_plan_free(&p);
}
END_TEST

/* Issue 12 point 7: a plan thumbgen writes always reads back (times on the written
 * millisecond grid stay valid segments). */
START_TEST(every_written_plan_reads_back)
{
    static const double seg[][2] = {{0.07, 0.0714}, {0.0704, 0.0716}, {0.0714, 0.0724},
                                    {1.0, 1.0011},  {9.9986, 9.9999}, {2.0004, 2.0016}};
    for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]); i++) {
        char in[512];
        snprintf(in, sizeof(in), "{" SRC ",\"segments\":[{\"start\":%.6f,\"end\":%.6f}]}",
                 seg[i][0], seg[i][1]);
        tg_ctx *c = tg_ctx_new();
        tg_plan *p = NULL, *q = NULL;
        ck_assert_msg(tg_plan_from_json(c, in, &p) == 0, "%s: %s", in, tg_ctx_message(c));
        char *out = NULL;
        ck_assert_int_eq(tg_plan_to_json(c, p, &out), 0);
        ck_assert_msg(tg_plan_from_json(c, out, &q) == 0, "written plan refused (%s): %s",
                      tg_ctx_message(c), out);
        ck_assert_double_gt(q->segments[0].end, q->segments[0].start);
        ck_assert_double_eq_tol(q->segments[0].start, seg[i][0], 1e-3);
        tg_plan_free(&p);
        tg_plan_free(&q);
        free(out);
        tg_ctx_free(&c);
    }
}
END_TEST

/* Issue 12 point 6: too many items are named as such, with the limit. */
START_TEST(too_many_segments_name_the_limit)
{
    size_t n = 200000, cap = n * 32 + 256, at = 0;
    char *text = malloc(cap);
    at += (size_t)snprintf(text + at, cap - at, "{" SRC ",\"segments\":[");
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(text + at, cap - at, "%s{\"start\":1,\"end\":2}", i ? "," : "");
    snprintf(text + at, cap - at, "]}");
    expect_bad(text, "10000");
    expect_bad(text, "200000 segments");
    free(text);
}
END_TEST

Suite *suite_plan(void);
Suite *suite_plan(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, round_trip_keeps_everything);
    tcase_add_test(tc, bad_plans_are_refused_with_a_reason);
    tcase_add_test(tc, minimal_plan_is_accepted);
    tcase_add_test(tc, every_written_plan_reads_back);
    tcase_add_test(tc, too_many_segments_name_the_limit);
    suite_add_tcase(s, tc);
    return s;
}
