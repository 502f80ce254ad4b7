/*
 * test_cnn.c — the CNN in the product: `thumbgen embed`, and what the embeddings
 * and the nsfw score do to the plan (clusters, repeated shots, the plan JSON).
 * These need the weights that scripts/fetch-models puts in models/ (the set-up of
 * `make test` runs it); without them every test here fails saying so.
 */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/cnn.h"
#include "nn/nn.h"
#include "util.h"

#define OPENCV "/usr/share/doc/opencv-doc/examples/data/"

static void need_weights(void)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/nsfwjs/mobilenet_v2/model.json", tgi_nn_models_dir());
    ck_assert_msg(access(p, R_OK) == 0,
                  "the MobileNetV2 weights are missing (%s): run scripts/fetch-models", p);
}

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, JSON_DISABLE_EOF_CHECK, &e);
    ck_assert_msg(j != NULL, "bad JSON (%s): %.200s", e.text, text);
    return j;
}

/* The embedding of a picture through `thumbgen embed`, into v (1280 floats). */
static void embed_picture(const char *path, float *v)
{
    tgt_run r;
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", path, NULL), 0);
    ck_assert_msg(r.status == 0, "embed %s: %s", path, r.err);
    json_t *j = parse(r.out);
    json_t *e = json_object_get(j, "embedding");
    ck_assert_int_eq(json_array_size(e), 1280);
    for (size_t i = 0; i < 1280; i++)
        v[i] = (float)json_number_value(json_array_get(e, i));
    json_decref(j);
    tgt_run_free(&r);
}

/* photo zoomed in by 10 % (the centre 90 %, scaled back), as a PNG */
static char *zoomed(const char *photo)
{
    char *out = tgt_tmp_path(".png");
    ck_assert_int_eq(
        tgt_ffmpeg("-i", photo, "-vf", "crop=iw*0.9:ih*0.9,scale=iw/0.9:ih/0.9", out, NULL), 0);
    return out;
}

START_TEST(a_zoomed_photo_is_closer_than_another_photo)
{
    need_weights();
    static const char *const photos[] = {OPENCV "fruits.jpg", OPENCV "baboon.jpg",
                                         OPENCV "building.jpg", OPENCV "home.jpg"};
    enum { N = sizeof(photos) / sizeof(photos[0]) };
    static float e[N][1280], z[N][1280];
    for (int i = 0; i < N; i++) {
        embed_picture(photos[i], e[i]);
        char *zp = zoomed(photos[i]);
        embed_picture(zp, z[i]);
        free(zp);
    }
    for (int i = 0; i < N; i++) {
        float self = tgi_cnn_similarity(e[i], z[i], 1280);
        for (int j = 0; j < N; j++) {
            if (j == i)
                continue;
            float other = tgi_cnn_similarity(e[i], e[j], 1280);
            ck_assert_msg(self > other, "%s: zoomed %.3f, vs %s %.3f", photos[i], self, photos[j],
                          other);
        }
    }
}
END_TEST

START_TEST(embed_prints_the_documented_objects)
{
    need_weights();
    tgt_run r;
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", OPENCV "fruits.jpg", NULL), 0);
    ck_assert_msg(r.status == 0, "%s", r.err);
    json_t *j = parse(r.out);
    ck_assert_str_eq(json_string_value(json_object_get(j, "model")), "mobilenet_v2");
    ck_assert_ptr_null(json_object_get(j, "t")); /* a picture has no time */
    json_t *e = json_object_get(j, "embedding");
    double norm = 0;
    for (size_t i = 0; i < json_array_size(e); i++)
        norm += pow(json_number_value(json_array_get(e, i)), 2);
    ck_assert_msg(fabs(norm - 1) < 1e-3, "embedding norm^2 %.5f", norm);
    json_t *cls = json_object_get(j, "classes");
    ck_assert_int_eq(json_object_size(cls), 5);
    double sum = 0, nsfw = 0;
    const char *k;
    json_t *v;
    json_object_foreach(cls, k, v)
    {
        sum += json_number_value(v);
        if (!strcmp(k, "porn") || !strcmp(k, "hentai") || !strcmp(k, "sexy"))
            nsfw += json_number_value(v);
    }
    ck_assert_msg(fabs(sum - 1) < 1e-4, "classes sum to %.5f", sum);
    ck_assert_msg(fabs(nsfw - json_number_value(json_object_get(j, "nsfw"))) < 1e-5, "nsfw");
    json_decref(j);
    tgt_run_free(&r);

    /* a video: one object per sampled frame, every half second, in time order */
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", tgt_fixture("twice.mp4"), NULL), 0);
    ck_assert_msg(r.status == 0, "%s", r.err);
    int lines = 0;
    double last = -1;
    for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        j = parse(line);
        double t = json_number_value(json_object_get(j, "t"));
        ck_assert_msg(t > last + 0.45, "t %.3f after %.3f", t, last);
        ck_assert_int_eq(json_array_size(json_object_get(j, "embedding")), 1280);
        last = t;
        json_decref(j);
    }
    ck_assert_msg(lines >= 58 && lines <= 63, "%d objects for 31 s", lines);
    tgt_run_free(&r);
}
END_TEST

START_TEST(embed_errors_are_clear)
{
    need_weights();
    tgt_run r;
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", tgt_fixture("garbage.mp4"), NULL), 0);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "error:"), "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", OPENCV "fruits.jpg", "--cnn", "resnet", NULL), 0);
    ck_assert_int_eq(r.status, 2);
    ck_assert_msg(strstr(r.err, "mobilenet_v2"), "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", OPENCV "fruits.jpg", "--cnn", "none", NULL), 0);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "no network"), "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", NULL), 0);
    ck_assert_int_eq(r.status, 2);
    tgt_run_free(&r);
    /* weights missing: embed fails, plan goes on without the CNN and says why */
    setenv("TG_MODELS", "/nonexistent/models", 1);
    ck_assert_int_eq(tgt_thumbgen(&r, "embed", OPENCV "fruits.jpg", NULL), 0);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "scripts/fetch-models"), "%s", r.err);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_thumbgen(&r, "plan", "-q", tgt_fixture("short.mp4"), NULL), 0);
    ck_assert_msg(r.status == 0, "%s", r.err);
    json_t *j = parse(r.out);
    ck_assert_ptr_null(json_object_get(j, "cnn"));
    char *w = json_dumps(json_object_get(j, "warnings"), 0);
    ck_assert_msg(w && strstr(w, "fetch-models"), "%s", r.out);
    free(w);
    json_decref(j);
    tgt_run_free(&r);
}
END_TEST

/* The photo (shot index in twice.mp4's truth) shown at time t. */
static int shot_at(json_t *truth_shots, double t)
{
    size_t i;
    json_t *s;
    json_array_foreach(truth_shots, i, s)
    {
        if (t >= json_number_value(json_object_get(s, "start")) &&
            t < json_number_value(json_object_get(s, "end")))
            return (int)i;
    }
    return -1;
}

static const char *photo_of(json_t *truth_shots, int shot)
{
    return json_string_value(json_object_get(json_array_get(truth_shots, (size_t)shot), "photo"));
}

/* Most common cluster of the CNN samples inside [a, b). */
static int cluster_in(json_t *samples, double a, double b)
{
    int count[64] = {0}, best = -1;
    size_t i;
    json_t *s;
    json_array_foreach(samples, i, s)
    {
        double t = json_number_value(json_object_get(s, "t"));
        int c = (int)json_integer_value(json_object_get(s, "cluster"));
        if (t >= a && t < b && c >= 0 && c < 64 && ++count[c] > (best < 0 ? 0 : count[best]))
            best = c;
    }
    return best;
}

/* Both networks (their similarity lines differ: analyze/cnn.c). */
static const char *const models[] = {"mobilenet_v2", "inception_v3"};

START_TEST(the_same_photo_twice_is_one_cluster_and_picked_once)
{
    need_weights();
    const char *model = models[_i];
    char *text = tgt_read_file(tgt_fixture("twice.mp4.truth.json"), NULL);
    ck_assert_ptr_nonnull(text);
    json_t *truth = parse(text);
    free(text);
    json_t *tshots = json_object_get(truth, "shots");
    tgt_run r;
    ck_assert_int_eq(tgt_thumbgen(&r, "plan", "-q", tgt_fixture("twice.mp4"), "--keyframes", "6",
                                  "--clips", "4", "--cnn", model, NULL),
                     0);
    ck_assert_msg(r.status == 0, "%s", r.err);
    json_t *plan = parse(r.out);
    json_t *cnn = json_object_get(plan, "cnn");
    ck_assert_ptr_nonnull(cnn);
    ck_assert_str_eq(json_string_value(json_object_get(cnn, "model")), model);
    json_t *samples = json_object_get(cnn, "samples");
    ck_assert_int_ge(json_array_size(samples), 50);
    size_t i;
    json_t *x;
    double last = -1;
    json_array_foreach(samples, i, x)
    {
        double t = json_number_value(json_object_get(x, "t")),
               nsfw = json_number_value(json_object_get(x, "nsfw"));
        ck_assert_double_gt(t, last);
        ck_assert_double_ge(nsfw, 0);
        ck_assert_double_le(nsfw, 1);
        ck_assert(json_is_integer(json_object_get(x, "cluster")));
        last = t;
    }
    /* the CNN sees fruits twice as one thing, and the other photos as others */
    int ca = cluster_in(samples, 0.5, 3.5), ca2 = cluster_in(samples, 8.5, 11.5);
    ck_assert_int_ge(ca, 0);
    ck_assert_msg(ca == ca2, "fruits: clusters %d and %d", ca, ca2);
    static const double others[][2] = {
        {4.5, 7.5}, {12.5, 15.5}, {16.5, 19.5}, {20.5, 23.5}, {24.5, 27.5}};
    for (size_t k = 0; k < 5; k++) {
        int c = cluster_in(samples, others[k][0], others[k][1]);
        ck_assert_msg(c >= 0 && c != ca, "%.1f-%.1f: cluster %d (fruits %d)", others[k][0],
                      others[k][1], c, ca);
    }
    /* six keyframes: six different photos; nothing from the repeated outro */
    int seen[16] = {0};
    json_t *kf = json_object_get(plan, "keyframes");
    ck_assert_int_eq(json_array_size(kf), 6);
    json_array_foreach(kf, i, x)
    {
        double t = json_number_value(json_object_get(x, "t"));
        int s = shot_at(tshots, t);
        ck_assert_msg(s >= 0 && s < 7, "keyframe at %.2f is in the outro", t);
        ck_assert(json_is_integer(json_object_get(x, "cluster")));
        for (int k = 0; k < 7; k++)
            ck_assert_msg(!(seen[k] && !strcmp(photo_of(tshots, k), photo_of(tshots, s))),
                          "keyframe at %.2f shows %s again before every photo was shown", t,
                          photo_of(tshots, s));
        seen[s] = 1;
    }
    /* four clips: four different photos, none in the outro */
    memset(seen, 0, sizeof(seen));
    json_t *segs = json_object_get(plan, "segments");
    ck_assert_int_eq(json_array_size(segs), 4);
    json_array_foreach(segs, i, x)
    {
        double a = json_number_value(json_object_get(x, "start"));
        double b = json_number_value(json_object_get(x, "end"));
        int s = shot_at(tshots, a);
        ck_assert_msg(s >= 0 && s < 7 && s == shot_at(tshots, b - 0.01), "clip %.2f-%.2f", a, b);
        for (int k = 0; k < 7; k++)
            ck_assert_msg(!(seen[k] && !strcmp(photo_of(tshots, k), photo_of(tshots, s))),
                          "two clips of %s", photo_of(tshots, s));
        seen[s] = 1;
    }
    json_decref(plan);
    json_decref(truth);
    tgt_run_free(&r);
}
END_TEST

/* Issue 16 item 6: the cnn option's choices are the network registry's names, in
 * enum tg_network order. */
START_TEST(cnn_choices_are_the_registry)
{
    tgt_assert_choices("cnn", tgi_cnn_model_name, TG_CNN_N_MODELS);
    ck_assert_str_eq(tgi_cnn_model_name(TG_CNN_MOBILENET_V2), "mobilenet_v2");
    ck_assert_str_eq(tgi_cnn_model_name(TG_CNN_INCEPTION_V3), "inception_v3");
}
END_TEST

Suite *suite_cnn(void);
Suite *suite_cnn(void)
{
    Suite *s = suite_create("cnn");
    TCase *tc = tcase_create("cnn");
    tcase_add_test(tc, a_zoomed_photo_is_closer_than_another_photo);
    tcase_add_test(tc, embed_prints_the_documented_objects);
    tcase_add_test(tc, embed_errors_are_clear);
    tcase_add_test(tc, cnn_choices_are_the_registry);
    tcase_add_loop_test(tc, the_same_photo_twice_is_one_cluster_and_picked_once, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
