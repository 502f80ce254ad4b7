/*
 * test_subjects.c — the TF.js graph-model loader (src/nn/graphdef.c) and the subject
 * detector built on it (CenterNet, models/centernet from scripts/fetch-models).
 *
 *  graph     a small hand-written graph (conv, bias, Relu6, hard-swish, squeeze-excite,
 *            concat, bilinear resize) against the same arithmetic written out here;
 *            malformed graphs are refused with the right code
 *  centernet people and a ball where they are in a photo (positions checked by eye:
 *            bench/RESULTS.md), nothing in a blank frame
 *  module    src/analyze/subjects.c on whole frames (resize, peaks, boxes, classes kept),
 *            missing weights, the analysis's subjects in JSON and through tg_analyze
 */
#include <check.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/analysis.h"
#include "analyze/sampler.h"
#include "analyze/subjects.h"
#include "nn/nn.h"
#include "synth.h"
#include "util.h"

/* ---- a small graph model written by the test ---- */

/* A TF.js attr string: base64 of s (short ASCII strings only). */
static void b64(const char *s, char *out)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = A[(v >> 18) & 63];
        out[o++] = A[(v >> 12) & 63];
        out[o++] = i + 1 < n ? A[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? A[v & 63] : '=';
    }
    out[o] = 0;
}

typedef struct gb {
    json_t *nodes, *weights;
    float data[4096];
    int nd;
} gb;

static json_t *str_attr(const char *s)
{
    char e[64];
    b64(s, e);
    return json_pack("{s:s}", "s", e);
}

static json_t *ints_attr(int a, int b, int c, int d)
{
    return json_pack("{s:{s:[s,s,s,s]}}", "list", "i", a == 1 ? "1" : "2", b == 1 ? "1" : "2",
                     c == 1 ? "1" : "2", d == 1 ? "1" : "2");
}

static void node(gb *g, const char *name, const char *op, json_t *inputs, json_t *attr)
{
    json_t *n = json_pack("{s:s, s:s}", "name", name, "op", op);
    if (inputs)
        json_object_set_new(n, "input", inputs);
    json_object_set_new(n, "attr", attr ? attr : json_object());
    json_array_append_new(g->nodes, n);
}

/* A float32 constant of the given shape (rank <= 4), values appended to the shard. */
static void constant(gb *g, const char *name, const int *shape, int rank, const float *v)
{
    json_t *sh = json_array();
    int count = 1;
    for (int i = 0; i < rank; i++) {
        json_array_append_new(sh, json_integer(shape[i]));
        count *= shape[i];
    }
    ck_assert_int_le(g->nd + count, 4096);
    memcpy(g->data + g->nd, v, (size_t)count * sizeof(float));
    g->nd += count;
    json_array_append_new(
        g->weights, json_pack("{s:s, s:o, s:s}", "name", name, "shape", sh, "dtype", "float32"));
    node(g, name, "Const", NULL, NULL);
}

static json_t *conv_attrs(const char *fused_act)
{
    json_t *a = json_pack("{s:o, s:o, s:o}", "strides", ints_attr(1, 1, 1, 1), "padding",
                          str_attr("SAME"), "data_format", str_attr("NHWC"));
    if (fused_act) {
        char e1[32], e2[32];
        b64("BiasAdd", e1);
        b64(fused_act, e2);
        json_object_set_new(a, "fused_ops",
                            *fused_act ? json_pack("{s:{s:[s,s]}}", "list", "s", e1, e2)
                                       : json_pack("{s:{s:[s]}}", "list", "s", e1));
        json_object_set_new(a, "num_args", json_pack("{s:s}", "i", "1"));
    }
    return a;
}

static char *write_graph(gb *g)
{
    char *path = tgt_tmp_path(".json");
    char bin[PATH_MAX];
    snprintf(bin, sizeof bin, "%s", path);
    memcpy(bin + strlen(bin) - 5, ".bin", 5); /* same folder, same stem */
    FILE *f = fopen(bin, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(g->data, sizeof(float), (size_t)g->nd, f), (size_t)g->nd);
    fclose(f);
    const char *slash = strrchr(bin, '/');
    json_t *root = json_pack("{s:s, s:{s:o}, s:[{s:[s], s:o}]}", "format", "graph-model",
                             "modelTopology", "node", g->nodes, "weightsManifest", "paths",
                             slash ? slash + 1 : bin, "weights", g->weights);
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
    return path;
}

static void unlink_graph(char *path)
{
    char bin[PATH_MAX];
    snprintf(bin, sizeof bin, "%s", path);
    memcpy(bin + strlen(bin) - 5, ".bin", 5);
    unlink(bin);
    unlink(path);
    free(path);
}

static float relu6(float v)
{
    return v < 0 ? 0 : v > 6 ? 6 : v;
}

/*
 * x (4×4×2) ─ _FusedConv2D 1×1 (2→3, bias, Relu6) = a
 *   hs = (a * 1/6) * relu6(a + 3)                        (hard-swish as MobileNetV3 has it)
 *   se = sigmoid(Conv2D 1×1 (3→3) of Mean_HW(hs))       (squeeze-excite)
 *   y  = Identity(hs * se)
 *   z  = ConcatV2(y, ResizeBilinear(MaxPool 2×2/2 of y, 4×4))   → 4×4×6
 */
static char *small_graph(float *x, float *expect)
{
    gb g = {json_array(), json_array(), {0}, 0};
    static const float k1[6] = {0.5f, -1.0f, 2.0f, 1.5f, 0.25f, -0.5f}; /* [1,1,2,3] */
    static const float b1[3] = {0.1f, 1.0f, -0.2f};
    static const float k2[9] = {0.3f, -0.2f, 0.1f, 0.0f, 0.5f, -0.4f, 0.2f, 0.2f, 0.2f};
    const float sixth = 1.0f / 6.0f, three = 3.0f, axes[2] = {1, 2}, cat = 3, size[2] = {4, 4};
    node(&g, "x", "Placeholder", NULL,
         json_pack("{s:{s:{s:[{s:s},{s:s},{s:s},{s:s}]}}}", "shape", "shape", "dim", "size", "-1",
                   "size", "4", "size", "4", "size", "2"));
    constant(&g, "k1", (int[]){1, 1, 2, 3}, 4, k1);
    constant(&g, "b1", (int[]){3}, 1, b1);
    node(&g, "a", "_FusedConv2D", json_pack("[s,s,s]", "x", "k1", "b1"), conv_attrs("Relu6"));
    constant(&g, "sixth", NULL, 0, &sixth);
    constant(&g, "three", NULL, 0, &three);
    node(&g, "hs/mul", "Mul", json_pack("[s,s]", "sixth", "a"), NULL);
    node(&g, "hs/add", "Add", json_pack("[s,s]", "a", "three"), NULL);
    node(&g, "hs/relu6", "Relu6", json_pack("[s]", "hs/add"), NULL);
    node(&g, "hs", "Mul", json_pack("[s,s]", "hs/mul", "hs/relu6"), NULL);
    constant(&g, "axes", (int[]){2}, 1, axes);
    node(&g, "se/mean", "Mean", json_pack("[s,s]", "hs", "axes"),
         json_pack("{s:{s:b}}", "keep_dims", "b", 1));
    constant(&g, "k2", (int[]){1, 1, 3, 3}, 4, k2);
    node(&g, "se/conv", "Conv2D", json_pack("[s,s]", "se/mean", "k2"), conv_attrs(NULL));
    node(&g, "se/sigmoid", "Sigmoid", json_pack("[s]", "se/conv"), NULL);
    node(&g, "se/mul", "Mul", json_pack("[s,s]", "se/sigmoid", "hs"), NULL);
    node(&g, "y", "Identity", json_pack("[s]", "se/mul"), NULL);
    node(&g, "pool", "MaxPool", json_pack("[s]", "y"),
         json_pack("{s:o, s:o, s:o}", "ksize", ints_attr(1, 2, 2, 1), "strides",
                   ints_attr(1, 2, 2, 1), "padding", str_attr("VALID")));
    constant(&g, "size", (int[]){2}, 1, size);
    node(&g, "up", "ResizeBilinear", json_pack("[s,s]", "pool", "size"),
         json_pack("{s:{s:b}, s:{s:b}}", "align_corners", "b", 0, "half_pixel_centers", "b", 0));
    constant(&g, "cat", NULL, 0, &cat);
    node(&g, "z", "ConcatV2", json_pack("[s,s,s]", "y", "up", "cat"), NULL);
    /* an op nothing needs, which the engine does not support: must be ignored */
    node(&g, "unused", "TopKV2", json_pack("[s,s]", "z", "three"), NULL);

    /* the same arithmetic, by hand */
    for (int i = 0; i < 32; i++)
        x[i] = (float)((i * 7) % 11) - 4.5f;
    float hs[16][3], y[16][3], mean[3] = {0}, se[3];
    for (int p = 0; p < 16; p++)
        for (int o = 0; o < 3; o++) {
            float a = relu6(x[p * 2] * k1[o] + x[p * 2 + 1] * k1[3 + o] + b1[o]);
            hs[p][o] = a * sixth * relu6(a + 3);
            mean[o] += hs[p][o] / 16;
        }
    for (int o = 0; o < 3; o++) {
        float v = mean[0] * k2[o] + mean[1] * k2[3 + o] + mean[2] * k2[6 + o];
        se[o] = 1.0f / (1.0f + expf(-v));
    }
    for (int p = 0; p < 16; p++)
        for (int o = 0; o < 3; o++)
            y[p][o] = hs[p][o] * se[o];
    float pool[2][2][3];
    for (int py = 0; py < 2; py++)
        for (int px = 0; px < 2; px++)
            for (int o = 0; o < 3; o++) {
                float m = -INFINITY;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++)
                        m = fmaxf(m, y[(py * 2 + dy) * 4 + px * 2 + dx][o]);
                pool[py][px][o] = m;
            }
    for (int oy = 0; oy < 4; oy++)
        for (int ox = 0; ox < 4; ox++)
            for (int o = 0; o < 6; o++) {
                float *e = &expect[(oy * 4 + ox) * 6 + o];
                if (o < 3) {
                    *e = y[oy * 4 + ox][o];
                    continue;
                }
                /* legacy TF mapping: src = dst * in/out, neighbours clamped */
                float sy = oy * 0.5f, sx = ox * 0.5f;
                int y0 = (int)sy, x0 = (int)sx, y1 = y0 + 1 > 1 ? 1 : y0 + 1,
                    x1 = x0 + 1 > 1 ? 1 : x0 + 1;
                float ty = sy - y0, tx = sx - x0;
                float top = pool[y0][x0][o - 3] * (1 - tx) + pool[y0][x1][o - 3] * tx;
                float bot = pool[y1][x0][o - 3] * (1 - tx) + pool[y1][x1][o - 3] * tx;
                *e = top * (1 - ty) + bot * ty;
            }
    return write_graph(&g);
}

START_TEST(small_graph_matches_hand_arithmetic)
{
    float x[32], expect[96];
    char *path = small_graph(x, expect);
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    const char *outs[] = {"z", "y"};
    int rc = tgi_nn_load_graph(ctx, path, outs, 2, &nn);
    ck_assert_msg(rc == 0, "load: %s", tg_ctx_message(ctx));
    tgi_nn_session *s = NULL;
    const char *taps[] = {"y"};
    rc = tgi_nn_session_new(ctx, nn, 1, 4, 4, 1, taps, 1, &s);
    ck_assert_msg(rc == 0, "session: %s", tg_ctx_message(ctx));
    memcpy(tgi_nn_session_input(s), x, sizeof x);
    ck_assert_int_eq(tgi_nn_forward(ctx, s, 1), 0);
    int h, w, c;
    const float *z = tgi_nn_output(s, NULL, &h, &w, &c);
    ck_assert_int_eq(h, 4);
    ck_assert_int_eq(w, 4);
    ck_assert_int_eq(c, 6);
    float worst = 0, big = 0;
    for (int i = 0; i < 96; i++) {
        worst = fmaxf(worst, fabsf(z[i] - expect[i]));
        big = fmaxf(big, fabsf(expect[i]));
    }
    ck_assert_msg(big > 0.5f, "the test graph is degenerate (max %g)", big);
    ck_assert_msg(worst < 1e-5f, "max |diff| %g", worst);
    /* the second output is readable by name */
    const float *y = tgi_nn_output(s, "y", &h, &w, &c);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(c, 3);
    ck_assert_float_eq_tol(y[5], expect[6 + 2], 1e-5f);
    tgi_nn_session_free(&s);
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
    unlink_graph(path);
}
END_TEST

/* Rewrites the small graph's JSON through edit, then expects code from the loader and
 * `needle` in its message. */
static void expect_refusal(void (*edit)(json_t *root), int code, const char *needle)
{
    float x[32], e[96];
    char *path = small_graph(x, e);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    ck_assert_ptr_nonnull(root);
    edit(root);
    ck_assert_int_eq(json_dump_file(root, path, 0), 0);
    json_decref(root);
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    const char *outs[] = {"z"};
    int rc = tgi_nn_load_graph(ctx, path, outs, 1, &nn);
    ck_assert_msg(rc == code, "rc %d (%s), expected %d", rc, tg_ctx_message(ctx), code);
    ck_assert_ptr_null(nn);
    ck_assert_msg(strstr(tg_ctx_message(ctx), needle), "message: %s", tg_ctx_message(ctx));
    tg_ctx_free(&ctx);
    unlink_graph(path);
}

static json_t *find_node(json_t *root, const char *name)
{
    json_t *nodes = json_object_get(json_object_get(root, "modelTopology"), "node"), *n;
    size_t i;
    json_array_foreach(
        nodes, i, n) if (!strcmp(json_string_value(json_object_get(n, "name")), name)) return n;
    ck_abort_msg("no node %s", name);
    return NULL;
}

static void op_softplus(json_t *root)
{
    json_object_set_new(find_node(root, "hs/relu6"), "op", json_string("Softplus"));
}

static void make_cycle(json_t *root)
{
    json_object_set_new(find_node(root, "a"), "input", json_pack("[s,s,s]", "hs", "k1", "b1"));
}

static void missing_input(json_t *root)
{
    json_object_set_new(find_node(root, "hs"), "input", json_pack("[s,s]", "hs/mul", "nope"));
}

static void short_shard(json_t *root)
{
    json_t *w = json_array_get(
        json_object_get(json_array_get(json_object_get(root, "weightsManifest"), 0), "weights"), 0);
    json_object_set_new(w, "shape", json_pack("[i,i,i,i]", 1, 1, 2, 30));
}

static void align_corners(json_t *root)
{
    json_object_set_new(find_node(root, "up"), "attr",
                        json_pack("{s:{s:b}}", "align_corners", "b", 1));
}

static void wrong_filter(json_t *root)
{
    json_object_set_new(find_node(root, "a"), "input", json_pack("[s,s,s]", "x", "k2", "b1"));
}

START_TEST(malformed_graphs_are_refused)
{
    expect_refusal(op_softplus, TG_ELIMIT, "Softplus");
    expect_refusal(make_cycle, TG_ECORRUPT, "cycle");
    expect_refusal(missing_input, TG_ECORRUPT, "'nope' does not exist");
    expect_refusal(short_shard, TG_ECORRUPT, "shards hold");
    expect_refusal(align_corners, TG_ELIMIT, "align_corners");
    expect_refusal(wrong_filter, TG_ECORRUPT, "filter");
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    const char *outs[] = {"z"};
    char *junk = tgt_tmp_path(".json");
    FILE *f = fopen(junk, "w");
    fputs("{\"modelTopology\": [1, 2", f);
    fclose(f);
    ck_assert_int_eq(tgi_nn_load_graph(ctx, junk, outs, 1, &nn), TG_ECORRUPT);
    unlink(junk);
    free(junk);
    ck_assert_int_eq(tgi_nn_load_graph(ctx, "/nonexistent/g.json", outs, 1, &nn), TG_ENOENT);
    tg_ctx_free(&ctx);
}
END_TEST

/* ---- CenterNet ---- */

#define OPENCV_DATA "/usr/share/doc/opencv-doc/examples/data/"
#define CN_SIDE     320

static const char *centernet_json(void)
{
    static char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/centernet/centernet.json", tgi_nn_models_dir());
    ck_assert_msg(access(p, R_OK) == 0,
                  "the CenterNet weights are missing (%s): run "
                  "scripts/fetch-models",
                  p);
    return p;
}

/* file (or a blank frame when NULL) stretched to CN_SIDE², through CenterNet */
static tgi_nn_session *run_centernet(tgi_nn **nn, const char *file)
{
    tg_ctx *ctx = tg_ctx_new();
    const char *outs[] = {"tower_0/keypoints", "tower_0/wh"};
    int rc = tgi_nn_load_graph(ctx, centernet_json(), outs, 2, nn);
    ck_assert_msg(rc == 0, "load: %s", tg_ctx_message(ctx));
    tgi_nn_session *s = NULL;
    rc = tgi_nn_session_new(ctx, *nn, 1, CN_SIDE, CN_SIDE, 1, outs + 1, 1, &s);
    ck_assert_msg(rc == 0, "session: %s", tg_ctx_message(ctx));
    float *in = tgi_nn_session_input(s);
    if (file) {
        char *raw = tgt_tmp_path(".rgb");
        ck_assert_int_eq(tgt_ffmpeg("-i", file, "-vf", "scale=320:320", "-f", "rawvideo",
                                    "-pix_fmt", "rgb24", raw, NULL),
                         0);
        size_t len = 0;
        unsigned char *px = (unsigned char *)tgt_read_file(raw, &len);
        ck_assert_uint_eq(len, CN_SIDE * CN_SIDE * 3);
        for (size_t i = 0; i < len; i++)
            in[i] = px[i]; /* the model takes 0..255 */
        free(px);
        unlink(raw);
        free(raw);
    } else
        for (int i = 0; i < CN_SIDE * CN_SIDE * 3; i++)
            in[i] = 128;
    ck_assert_int_eq(tgi_nn_forward(ctx, s, 1), 0);
    tg_ctx_free(&ctx);
    return s;
}

/* The best peak of class cls: score, and the box (fractions of the input). */
static float best_box(const tgi_nn_session *s, int cls, float box[4])
{
    int h, w, c;
    const float *hm = tgi_nn_output(s, NULL, &h, &w, &c),
                *wh = tgi_nn_output(s, "tower_0/wh", NULL, NULL, NULL);
    ck_assert_int_eq(h, CN_SIDE / 4);
    ck_assert_int_eq(c, 80);
    float best = 0;
    for (int p = 0; p < h * w; p++)
        if (hm[(size_t)p * c + cls] > best) {
            best = hm[(size_t)p * c + cls];
            const float *b = wh + (size_t)p * 4;
            float cx = (float)(p % w) * 4, cy = (float)(p / w) * 4;
            box[0] = (cx - b[0]) / CN_SIDE, box[1] = (cy - b[1]) / CN_SIDE;
            box[2] = (cx + b[2]) / CN_SIDE, box[3] = (cy + b[3]) / CN_SIDE;
        }
    return best;
}

START_TEST(centernet_finds_the_player_and_the_ball)
{
    tgi_nn *nn = NULL;
    tgi_nn_session *s = run_centernet(&nn, OPENCV_DATA "messi5.jpg");
    float box[4];
    /* the player spans x 0.12-0.82, y 0.17-0.99 of the picture; the ball x 0.61-0.71,
     * y 0.83-0.97 (looked at) */
    float score = best_box(s, 0, box);
    ck_assert_msg(score > 0.4f, "person score %.3f", score);
    ck_assert_msg(fabsf(box[0] - 0.12f) < 0.06f && fabsf(box[2] - 0.80f) < 0.08f &&
                      fabsf(box[1] - 0.18f) < 0.06f && box[3] > 0.9f,
                  "person box %.2f,%.2f - %.2f,%.2f", box[0], box[1], box[2], box[3]);
    score = best_box(s, 32, box); /* sports ball */
    ck_assert_msg(score > 0.4f, "ball score %.3f", score);
    ck_assert_msg(box[0] > 0.55f && box[2] < 0.76f && box[1] > 0.78f,
                  "ball box %.2f,%.2f - %.2f,%.2f", box[0], box[1], box[2], box[3]);
    tgi_nn_session_free(&s);
    tgi_nn_free(&nn);
}
END_TEST

START_TEST(centernet_sees_nothing_in_a_blank_frame)
{
    tgi_nn *nn = NULL;
    tgi_nn_session *s = run_centernet(&nn, NULL);
    int h, w, c;
    const float *hm = tgi_nn_output(s, NULL, &h, &w, &c);
    float mx = 0;
    for (size_t i = 0; i < (size_t)h * w * c; i++)
        mx = fmaxf(mx, hm[i]);
    ck_assert_msg(mx < 0.2f, "a blank frame peaks at %.3f", mx);
    tgi_nn_session_free(&s);
    tgi_nn_free(&nn);
}
END_TEST

/* ---- the analysis module ---- */

static uint8_t *photo(const char *file, int w, int h)
{
    char *raw = tgt_tmp_path(".rgb");
    char vf[64];
    snprintf(vf, sizeof vf, "scale=%d:%d", w, h);
    ck_assert_int_eq(
        tgt_ffmpeg("-i", file, "-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", raw, NULL), 0);
    size_t len = 0;
    uint8_t *px = (uint8_t *)tgt_read_file(raw, &len);
    ck_assert_uint_eq(len, (size_t)w * h * 3);
    unlink(raw);
    free(raw);
    return px;
}

START_TEST(subjects_in_a_photo_and_none_in_a_landscape)
{
    (void)centernet_json();
    tg_ctx *ctx = tg_ctx_new();
    tgi_subjects *sj = NULL;
    ck_assert_msg(tgi_subjects_open(ctx, NULL, &sj) == 0, "%s", tg_ctx_message(ctx));
    int iw, ih;
    tgi_subjects_input_size(TGI_SUBJECTS_SIDE, 548, 342, &iw, &ih);
    ck_assert_int_eq(iw, 256);
    ck_assert_int_eq(ih, 160);
    tgi_subjects_input_size(TGI_SUBJECTS_SIDE, 342, 548, &iw, &ih);
    ck_assert_int_eq(iw, 160);
    ck_assert_int_eq(ih, 256);
    /* messi5.jpg at its own 548x342: the player (x 0.12-0.82, y 0.17-0.99), and the
     * ball is not a subject */
    uint8_t *px = photo(OPENCV_DATA "messi5.jpg", 548, 342);
    tgi_subject got[4];
    int n = tgi_subjects_detect(ctx, sj, px, 548, 342, 548 * 3, got, 4);
    ck_assert_msg(n >= 1, "no subject (%d)", n);
    ck_assert_int_eq(got[0].cls, TGI_SUBJECT_PERSON);
    ck_assert_str_eq(tgi_subject_name(got[0].cls), "person");
    ck_assert_msg(got[0].score > 0.4f, "score %.3f", got[0].score);
    ck_assert_msg(fabsf(got[0].x - 0.12f) < 0.06f && fabsf(got[0].y - 0.18f) < 0.08f &&
                      fabsf(got[0].x + got[0].w - 0.80f) < 0.08f && got[0].y + got[0].h > 0.9f,
                  "box %.2f,%.2f %.2fx%.2f", got[0].x, got[0].y, got[0].w, got[0].h);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(got[i].cls == 0 || (got[i].cls >= 14 && got[i].cls <= 23), "class %d kept",
                      got[i].cls);
        ck_assert(got[i].x >= 0 && got[i].y >= 0 && got[i].x + got[i].w <= 1.0001f &&
                  got[i].y + got[i].h <= 1.0001f);
        ck_assert(i == 0 || got[i].score <= got[i - 1].score);
    }
    /* the detector at a larger input: the same player; sides it cannot take are refused */
    ck_assert_int_eq(tgi_subjects_set_side(ctx, sj, 300), TG_EINVAL);
    ck_assert_int_eq(tgi_subjects_set_side(ctx, sj, 1024), TG_EINVAL);
    ck_assert_int_eq(tgi_subjects_get_side(sj), TGI_SUBJECTS_SIDE);
    ck_assert_int_eq(tgi_subjects_set_side(ctx, sj, 384), 0);
    tgi_subjects_input_size(384, 548, 342, &iw, &ih);
    ck_assert_int_eq(iw, 384);
    ck_assert_int_eq(ih, 224);
    tgi_subject big[4];
    int nb = tgi_subjects_detect(ctx, sj, px, 548, 342, 548 * 3, big, 4);
    ck_assert_msg(nb >= 1 && big[0].cls == TGI_SUBJECT_PERSON && big[0].score > 0.4f,
                  "at 384: %d found, best %.3f", nb, nb > 0 ? big[0].score : 0);
    ck_assert_msg(fabsf(big[0].x - got[0].x) < 0.08f && fabsf(big[0].w - got[0].w) < 0.1f,
                  "box %.2f+%.2f at 384, %.2f+%.2f at 256", big[0].x, big[0].w, got[0].x, got[0].w);
    ck_assert_int_eq(tgi_subjects_set_side(ctx, sj, TGI_SUBJECTS_SIDE), 0);
    free(px);
    /* building.jpg (868x600, the face tests' no-person picture): nothing sure; a dark
     * figure between two planters (x ~0.55, y ~0.85) scores 0.20, at the threshold */
    px = photo(OPENCV_DATA "building.jpg", 868, 600);
    n = tgi_subjects_detect(ctx, sj, px, 868, 600, 868 * 3, got, 4);
    for (int i = 0; i < n; i++)
        ck_assert_msg(got[i].score < 0.3f, "building.jpg: class %d at %.3f", got[i].cls,
                      got[i].score);
    /* a flat grey frame */
    memset(px, 128, 868 * 600 * 3);
    ck_assert_int_eq(tgi_subjects_detect(ctx, sj, px, 868, 600, 868 * 3, got, 4), 0);
    ck_assert_int_eq(tgi_subjects_detect(ctx, sj, px, 868, 600, 100, got, 4), TG_EINVAL);
    free(px);
    tgi_subjects_close(&sj);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(missing_weights_say_run_fetch_models)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_subjects *sj = NULL;
    char *dir = tgt_tmp_path("");
    ck_assert_int_eq(tgi_subjects_open(ctx, dir, &sj), TG_ENOENT);
    ck_assert_ptr_null(sj);
    ck_assert_msg(strstr(tg_ctx_message(ctx), "scripts/fetch-models"), "message: %s",
                  tg_ctx_message(ctx));
    ck_assert_msg(!strstr(tg_ctx_message(ctx), dir), "the message shows a path: %s",
                  tg_ctx_message(ctx));
    free(dir);
    tg_ctx_free(&ctx);
}
END_TEST

START_TEST(subjects_round_trip_through_the_analysis_json)
{
    size_t n;
    tgi_sample *s = tgt_series(&n);
    tg_analysis_data *a = tgt_analysis_of(s, n, 17.0), *b = NULL;
    a->subjects_on = 1;
    a->subjects_in[0] = 384;
    a->subjects_in[1] = 224;
    a->n_subjects = 3;
    a->subjects = calloc(3, sizeof *a->subjects);
    a->subjects[0] = (tgi_subject_obs){1.5, -1, 0, 0, 0, 0, 0};
    a->subjects[1] = (tgi_subject_obs){3.25, 0, 0.75f, 0.125f, 0.25f, 0.5f, 0.625f};
    a->subjects[2] = (tgi_subject_obs){3.25, 16, 0.25f, 0.5f, 0.5f, 0.25f, 0.25f};
    a->subjects_looked = 2;
    char *json = NULL, *json2 = NULL;
    tg_ctx *ctx = tg_ctx_new();
    ck_assert_int_eq(tg_analysis_to_json(ctx, a, &json), 0);
    ck_assert_msg(tg_analysis_from_json(ctx, json, &b) == 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_eq(b->subjects_on, 1);
    ck_assert_int_eq(b->subjects_in[0], 384);
    ck_assert_int_eq(b->subjects_in[1], 224);
    ck_assert_uint_eq(b->n_subjects, 3);
    ck_assert_uint_eq(b->subjects_looked, 2);
    for (size_t k = 0; k < 3; k++)
        ck_assert(!memcmp(&a->subjects[k], &b->subjects[k], sizeof a->subjects[k]));
    ck_assert_int_eq(tg_analysis_to_json(ctx, b, &json2), 0);
    ck_assert_str_eq(json, json2);
    /* a class beyond COCO's 80 is refused, naming the field */
    char *at = strstr(json, "\"cls\":16");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "\"cls\":99", 8);
    tg_analysis_data *c = NULL;
    ck_assert_int_eq(tg_analysis_from_json(ctx, json, &c), TG_EINVAL);
    ck_assert_msg(strstr(tg_ctx_message(ctx), "subjects"), "%s", tg_ctx_message(ctx));
    /* how many frames the detector ran on is a count */
    char *j3 = strdup(json2);
    ck_assert_ptr_nonnull(j3);
    at = strstr(j3, "\"looked\":2");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "\"looked\":0", 10);
    ck_assert_int_eq(tg_analysis_from_json(ctx, j3, &c), TG_EINVAL);
    ck_assert_msg(strstr(tg_ctx_message(ctx), "looked"), "%s", tg_ctx_message(ctx));
    free(j3);
    /* an analysis written before the detector (no "subjects") reads as "not looked" */
    json_t *root = json_loads(json2, 0, NULL);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(json_object_del(root, "subjects"), 0);
    free(json);
    json = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    ck_assert_msg(tg_analysis_from_json(ctx, json, &c) == 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_eq(c->subjects_on, 0);
    ck_assert_uint_eq(c->n_subjects, 0);
    tg_analysis_free(&c);
    free(json);
    free(json2);
    tg_analysis_free(&a);
    tg_analysis_free(&b);
    tg_ctx_free(&ctx);
}
END_TEST

/* tg_analyze: the detector looks (subjects_on) unless --cnn none; without its weights
 * the analysis still succeeds, with a note. */
START_TEST(analyze_records_subjects_and_follows_the_failure_policy)
{
    (void)centernet_json();
    tg_ctx *ctx = tg_ctx_new();
    tg_options o;
    tg_options_default(&o);
    tg_analysis_data *a = NULL;
    const char *video = tgt_fixture("story.mp4");
    ck_assert_msg(tg_analyze(ctx, video, &o, &a) == 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_eq(a->subjects_on, 1);
    ck_assert_msg(a->n_subjects >= 2, "%zu entries", a->n_subjects);
    for (size_t k = 1; k < a->n_subjects; k++)
        ck_assert(a->subjects[k].t >= a->subjects[k - 1].t);
    /* the detector got the decoder's own larger copy, not the analysis frame: at its
     * input size (no resampling), more pixels than the analysis frame */
    int iw, ih;
    tgi_subjects_input_size(TGI_SAMPLER_SUBJ_SIDE, a->aw, a->ah, &iw, &ih);
    ck_assert_int_eq(a->subjects_in[0], iw);
    ck_assert_int_eq(a->subjects_in[1], ih);
    ck_assert_msg(iw > a->aw && ih > a->ah, "detector %dx%d, analysis %dx%d", iw, ih, a->aw, a->ah);
    /* one frame every TGI_SAMPLER_SUBJ_INTERVAL seconds (story.mp4 is short) */
    double every = fmax(TGI_SAMPLER_SUBJ_INTERVAL, a->duration / TGI_SAMPLER_SUBJ_MAX);
    size_t looked = 0;
    for (size_t k = 0; k < a->n_subjects; k++)
        if (k == 0 || a->subjects[k].t != a->subjects[k - 1].t) {
            ck_assert(k == 0 || a->subjects[k].t - a->subjects[k - 1].t >= every - 1e-3);
            looked++;
        }
    ck_assert_msg(looked >= (size_t)(a->duration / every) - 1 && looked <= TGI_SAMPLER_SUBJ_MAX,
                  "%zu frames looked at in %.1f s", looked, a->duration);
    tg_analysis_free(&a);

    o.cnn = TG_CNN_NONE;
    ck_assert_msg(tg_analyze(ctx, video, &o, &a) == 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_eq(a->subjects_on, 0);
    ck_assert_uint_eq(a->n_subjects, 0);
    tg_analysis_free(&a);

    /* a models folder with everything but centernet/ */
    tg_options_default(&o);
    char *dir = tgt_tmp_path("");
    ck_assert_int_eq(mkdir(dir, 0700), 0);
    const char *names[] = {"nsfwjs", "face-api"};
    for (int i = 0; i < 2; i++) {
        char from[PATH_MAX], to[PATH_MAX];
        ck_assert_ptr_nonnull(realpath(tgi_nn_models_dir(), from));
        snprintf(from + strlen(from), sizeof from - strlen(from), "/%s", names[i]);
        snprintf(to, sizeof to, "%s/%s", dir, names[i]);
        ck_assert_int_eq(symlink(from, to), 0);
    }
    char *saved = getenv("TG_MODELS") ? strdup(getenv("TG_MODELS")) : NULL;
    setenv("TG_MODELS", dir, 1);
    int rc = tg_analyze(ctx, video, &o, &a);
    if (saved)
        setenv("TG_MODELS", saved, 1);
    else
        unsetenv("TG_MODELS");
    ck_assert_msg(rc == 0, "%s", tg_ctx_message(ctx));
    ck_assert_int_eq(a->subjects_on, 0);
    int noted = 0;
    for (size_t k = 0; k < a->n_notes; k++)
        noted |= strstr(a->notes[k], "no subject detector") != NULL;
    ck_assert_msg(noted, "no note about the missing detector");
    tg_analysis_free(&a);
    for (int i = 0; i < 2; i++) {
        char to[PATH_MAX];
        snprintf(to, sizeof to, "%s/%s", dir, names[i]);
        unlink(to);
    }
    rmdir(dir);
    free(dir);
    free(saved);
    tg_ctx_free(&ctx);
}
END_TEST

Suite *suite_subjects(void);
Suite *suite_subjects(void)
{
    Suite *s = suite_create("subjects");
    TCase *g = tcase_create("graph");
    tcase_set_timeout(g, 60);
    tcase_add_test(g, small_graph_matches_hand_arithmetic);
    tcase_add_test(g, malformed_graphs_are_refused);
    suite_add_tcase(s, g);
    TCase *c = tcase_create("centernet");
    tcase_set_timeout(c, 120);
    tcase_add_test(c, centernet_finds_the_player_and_the_ball);
    tcase_add_test(c, centernet_sees_nothing_in_a_blank_frame);
    suite_add_tcase(s, c);
    TCase *m = tcase_create("module");
    tcase_set_timeout(m, 180);
    tcase_add_test(m, subjects_in_a_photo_and_none_in_a_landscape);
    tcase_add_test(m, missing_weights_say_run_fetch_models);
    tcase_add_test(m, subjects_round_trip_through_the_analysis_json);
    tcase_add_test(m, analyze_records_subjects_and_follows_the_failure_policy);
    suite_add_tcase(s, m);
    return s;
}
