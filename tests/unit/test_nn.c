/*
 * test_nn.c — the CNN engine (src/nn).
 *
 *  kernels   single-layer models built here with random weights, against naive
 *            reference loops written independently in this file (im2col vs direct
 *            convolution, depthwise, pools with TF 'same' padding, BN folding, …);
 *  refs      the real models against tfjs references in tests/data/nn (made by
 *            tools/nnref; see its README): MobileNetV2, InceptionV3, esrgan-slim x2,
 *            final outputs and sampled intermediate layers; and esrgan x2 on the
 *            package's own sample image;
 *  loader    hostile model files: each refused with a clear message; a mutation loop
 *            over model.json and shards that must never crash (run under ASan by
 *            `make check`).
 * The weights come from scripts/fetch-models (run by scripts/setup); without them
 * the reference tests fail and say so.
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

#include "nn/blas.h"
#include "nn/nn.h"
#include "util.h"

/* ---- where things are ---- */

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* models/<sub>, failing the test with the fix when the weights were never fetched. */
static const char *model_dir(const char *sub)
{
    static char buf[4][1024];
    static int slot;
    char *b = buf[slot++ % 4], json[1100];
    snprintf(b, sizeof buf[0], "%s/%s", env_or("TG_MODELS", "models"), sub);
    snprintf(json, sizeof json, "%s/model.json", b);
    if (!tgt_file_exists(json))
        ck_abort_msg("CNN weights missing: %s not found; run scripts/fetch-models "
                     "(scripts/setup runs it)",
                     json);
    return b;
}

static char *data_path(const char *name)
{
    static char buf[4][1024];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", env_or("TG_NN_DATA", "tests/data/nn"), name);
    return b;
}

/* ---- comparing ---- */

/* max |got - want| <= tol, printing the worst element when not. */
static void expect_close(const float *got, const float *want, size_t n, double tol,
                         const char *what)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= worst)) { /* catches NaN */
            worst = isnan(d) ? INFINITY : d;
            at = i;
        }
    }
    if (getenv("TG_NN_VERBOSE")) /* the margins, for the record */
        fprintf(stderr, "%s: max |diff| %.3g (tolerance %.3g)\n", what, worst, tol);
    ck_assert_msg(worst <= tol, "%s: element %zu is %.7g, expected %.7g (|diff| %.3g > %.3g)", what,
                  at, got[at], want[at], worst, tol);
}

static double max_abs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

/* ---- building small models ---- */

typedef struct mk {
    json_t *layers, *weights;
    float *data;
    size_t n, cap;
    uint32_t seed;
    int h, w, c;
} mk;

static float frand(mk *m, float lo, float hi)
{
    m->seed = m->seed * 1664525u + 1013904223u;
    return lo + (hi - lo) * (float)(m->seed >> 8) / (float)(1u << 24);
}

static void mk_init(mk *m, int h, int w, int c, uint32_t seed)
{
    memset(m, 0, sizeof *m);
    m->seed = seed;
    m->h = h, m->w = w, m->c = c;
    m->layers = json_array();
    m->weights = json_array();
    json_t *shape = h ? json_pack("[n,i,i,i]", h, w, c) : json_pack("[n,n,n,i]", c); /* 0: any */
    json_array_append_new(m->layers,
                          json_pack("{s:s,s:s,s:{s:o,s:s},s:[]}", "name", "in", "class_name",
                                    "InputLayer", "config", "batch_input_shape", shape, "dtype",
                                    "float32", "inbound_nodes"));
}

/* A layer reading the comma-separated inputs; config is consumed. */
static void mk_layer(mk *m, const char *cls, const char *name, const char *inputs, json_t *config)
{
    json_t *node = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", inputs);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(node, json_pack("[s,i,i,{}]", t, 0, 0));
    json_object_set_new(config, "name", json_string(name));
    json_array_append_new(m->layers, json_pack("{s:s,s:s,s:o,s:[o]}", "name", name, "class_name",
                                               cls, "config", config, "inbound_nodes", node));
}

/* A float32 weight with uniform random values; returns its offset in m->data. */
static size_t mk_weight(mk *m, const char *name, int rank, const int *shape, float lo, float hi)
{
    size_t count = 1;
    json_t *sh = json_array();
    for (int i = 0; i < rank; i++) {
        count *= (size_t)shape[i];
        json_array_append_new(sh, json_integer(shape[i]));
    }
    if (m->n + count > m->cap) {
        m->cap = (m->n + count) * 2;
        m->data = realloc(m->data, m->cap * sizeof *m->data);
        ck_assert_ptr_nonnull(m->data);
    }
    size_t off = m->n;
    for (size_t i = 0; i < count; i++)
        m->data[off + i] = frand(m, lo, hi);
    m->n += count;
    json_array_append_new(
        m->weights, json_pack("{s:s,s:o,s:s}", "name", name, "shape", sh, "dtype", "float32"));
    return off;
}

/* The model.json document for output layer `out` (the caller owns it). */
static json_t *mk_json(mk *m, const char *out)
{
    json_t *paths = json_pack("[s]", "w.bin");
    return json_pack("{s:{s:{s:s,s:{s:s,s:O,s:[[s,i,i]],s:[[s,i,i]]}}},s:[{s:o,s:O}]}",
                     "modelTopology", "model_config", "class_name", "Model", "config", "name", "m",
                     "layers", m->layers, "input_layers", "in", 0, 0, "output_layers", out, 0, 0,
                     "weightsManifest", "paths", paths, "weights", m->weights);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert(n == 0 || fwrite(p, 1, n, f) == n);
    fclose(f);
}

/* Write doc + n bytes of shard into a fresh directory; returns it (malloc'd). */
static char *write_model(json_t *doc, const void *shard, size_t n)
{
    char *dir = tgt_tmp_path("-nn");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char p[1024];
    snprintf(p, sizeof p, "%s/model.json", dir);
    ck_assert_int_eq(json_dump_file(doc, p, JSON_COMPACT), 0);
    snprintf(p, sizeof p, "%s/w.bin", dir);
    write_bytes(p, shard, n);
    return dir;
}

static void mk_free(mk *m)
{
    json_decref(m->layers);
    json_decref(m->weights);
    free(m->data);
}

/* Load the model in dir, run it on `in` (h × w), return a copy of the output. */
static float *run_model(const char *dir, const float *in, int h, int w, int threads,
                        const char *tap, int *oh, int *ow, int *oc)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    tgi_nn_session *s = NULL;
    ck_assert_msg(tgi_nn_load(ctx, dir, &nn) == 0, "load: %s", tg_ctx_message(ctx));
    int c;
    tgi_nn_input_size(nn, NULL, NULL, &c);
    const char *taps[1] = {tap};
    ck_assert_msg(
        tgi_nn_session_new(ctx, nn, 1, h, w, threads, tap ? taps : NULL, tap ? 1 : 0, &s) == 0,
        "session: %s", tg_ctx_message(ctx));
    memcpy(tgi_nn_session_input(s), in, (size_t)h * w * c * sizeof(float));
    ck_assert_msg(tgi_nn_forward(ctx, s, 1) == 0, "forward: %s", tg_ctx_message(ctx));
    const float *o = tgi_nn_output(s, tap, oh, ow, oc);
    ck_assert_ptr_nonnull(o);
    size_t n = (size_t)*oh * *ow * *oc;
    float *copy = malloc(n * sizeof *copy);
    memcpy(copy, o, n * sizeof *copy);
    tgi_nn_session_free(&s);
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
    return copy;
}

/* ---- naive references (double accumulation, TF padding rules written out) ---- */

/* TF 'same': out = ceil(in/s), the total pad split with the extra one at the end. */
static void tf_same(int in, int k, int s, int *out, int *before)
{
    *out = (in + s - 1) / s;
    int total = (*out - 1) * s + k - in;
    *before = total > 0 ? total / 2 : 0;
}

typedef struct win {
    int h, w, c, kh, kw, sh, sw, same;
    int pt, pb, pl, pr; /* valid: explicit zero pads */
    int oh, ow, top, left;
} win;

static void win_resolve(win *g)
{
    if (g->same) {
        tf_same(g->h, g->kh, g->sh, &g->oh, &g->top);
        tf_same(g->w, g->kw, g->sw, &g->ow, &g->left);
    } else {
        g->oh = (g->h + g->pt + g->pb - g->kh) / g->sh + 1;
        g->ow = (g->w + g->pl + g->pr - g->kw) / g->sw + 1;
        g->top = g->pt, g->left = g->pl;
    }
}

/* mode: 0 conv (k [kh][kw][c][cout]), 1 depthwise (k [kh][kw][c]), 2 avg, 3 max */
static float *ref_window(const win *g, int mode, const float *in, const float *k, const float *b,
                         int cout)
{
    int oc = mode == 0 ? cout : g->c;
    float *out = calloc((size_t)g->oh * g->ow * oc, sizeof *out);
    for (int oy = 0; oy < g->oh; oy++)
        for (int ox = 0; ox < g->ow; ox++)
            for (int o = 0; o < oc; o++) {
                double acc = mode == 3 ? -INFINITY : 0;
                int cnt = 0;
                for (int ky = 0; ky < g->kh; ky++)
                    for (int kx = 0; kx < g->kw; kx++) {
                        int iy = oy * g->sh - g->top + ky, ix = ox * g->sw - g->left + kx;
                        if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) {
                            if (mode == 3 && !g->same)
                                acc = acc > 0 ? acc : 0; /* explicit zero pad */
                            continue;
                        }
                        const float *px = in + ((size_t)iy * g->w + ix) * g->c;
                        cnt++;
                        if (mode == 0)
                            for (int ci = 0; ci < g->c; ci++)
                                acc += (double)px[ci] *
                                       k[(((size_t)ky * g->kw + kx) * g->c + ci) * cout + o];
                        else if (mode == 1)
                            acc += (double)px[o] * k[((size_t)ky * g->kw + kx) * g->c + o];
                        else if (mode == 2)
                            acc += px[o];
                        else
                            acc = px[o] > acc ? px[o] : acc;
                    }
                if (mode == 2)
                    acc /= cnt;
                if (b)
                    acc += b[o];
                out[((size_t)oy * g->ow + ox) * oc + o] = (float)acc;
            }
    return out;
}

static float *random_input(mk *m, size_t n, float lo, float hi)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = frand(m, lo, hi);
    return x;
}

/* ---- kernels against the naive loops ---- */

static json_t *conv_cfg(int filters, int kh, int kw, int sh, int sw, int same, int bias,
                        const char *act)
{
    return json_pack("{s:i,s:[i,i],s:[i,i],s:s,s:s,s:b,s:[i,i],s:s}", "filters", filters,
                     "kernel_size", kh, kw, "strides", sh, sw, "padding", same ? "same" : "valid",
                     "activation", act, "use_bias", bias, "dilation_rate", 1, 1, "data_format",
                     "channels_last");
}

START_TEST(conv_matches_direct_convolution)
{
    /* every kernel shape the models use, both paddings and strides, bias or not */
    static const int shapes[][2] = {{1, 1}, {3, 3}, {1, 7}, {7, 1}, {5, 5}, {1, 3}, {3, 1}};
    int cases = 0;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int stride = 1; stride <= 2; stride++)
            for (int same = 0; same <= 1; same++) {
                int kh = shapes[si][0], kw = shapes[si][1], bias = (si + stride) % 2, relu = same;
                mk m;
                mk_init(&m, 13, 11, 6, 100 + (uint32_t)cases);
                mk_layer(&m, "Conv2D", "c", "in",
                         conv_cfg(9, kh, kw, stride, stride, same, bias, relu ? "relu" : "linear"));
                int ks[4] = {kh, kw, 6, 9}, bs[1] = {9};
                size_t ko = mk_weight(&m, "c/kernel", 4, ks, -1, 1);
                size_t bo = bias ? mk_weight(&m, "c/bias", 1, bs, -1, 1) : 0;
                json_t *doc = mk_json(&m, "c");
                char *dir = write_model(doc, m.data, m.n * sizeof(float));
                float *in = random_input(&m, 13 * 11 * 6, -2, 2);
                win g = {.h = 13,
                         .w = 11,
                         .c = 6,
                         .kh = kh,
                         .kw = kw,
                         .sh = stride,
                         .sw = stride,
                         .same = same};
                win_resolve(&g);
                float *want = ref_window(&g, 0, in, m.data + ko, bias ? m.data + bo : NULL, 9);
                if (relu)
                    for (int i = 0; i < g.oh * g.ow * 9; i++)
                        want[i] = want[i] > 0 ? want[i] : 0;
                int oh, ow, oc;
                float *got = run_model(dir, in, 13, 11, 1, NULL, &oh, &ow, &oc);
                ck_assert_int_eq(oh, g.oh);
                ck_assert_int_eq(ow, g.ow);
                ck_assert_int_eq(oc, 9);
                char what[96];
                snprintf(what, sizeof what, "conv %dx%d s%d %s", kh, kw, stride,
                         same ? "same" : "valid");
                expect_close(got, want, (size_t)oh * ow * oc, 1e-4, what);
                free(got), free(want), free(in), free(dir), json_decref(doc), mk_free(&m);
                cases++;
            }
    ck_assert_int_eq(cases, 28);
}
END_TEST

/* A large-enough map that the im2col path runs several GEMM tiles. */
START_TEST(conv_tiles_cover_large_maps)
{
    mk m;
    mk_init(&m, 0, 0, 16, 7); /* any input size */
    mk_layer(&m, "Conv2D", "c", "in", conv_cfg(24, 3, 3, 1, 1, 1, 1, "linear"));
    int ks[4] = {3, 3, 16, 24}, bs[1] = {24};
    size_t ko = mk_weight(&m, "c/kernel", 4, ks, -1, 1), bo = mk_weight(&m, "c/bias", 1, bs, -1, 1);
    json_t *doc = mk_json(&m, "c");
    char *dir = write_model(doc, m.data, m.n * sizeof(float));
    int H = 61, W = 157; /* 9577 output pixels, K = 144 */
    float *in = random_input(&m, (size_t)H * W * 16, -1, 1);
    win g = {.h = H, .w = W, .c = 16, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .same = 1};
    win_resolve(&g);
    float *want = ref_window(&g, 0, in, m.data + ko, m.data + bo, 24);
    for (int threads = 1; threads <= 2; threads++) {
        int oh, ow, oc;
        float *got = run_model(dir, in, H, W, threads, NULL, &oh, &ow, &oc);
        ck_assert_int_eq(oh * ow * oc, H * W * 24);
        expect_close(got, want, (size_t)H * W * 24, 1e-4, "tiled 3x3 conv");
        free(got);
    }
    free(want), free(in), free(dir), json_decref(doc), mk_free(&m);
}
END_TEST

START_TEST(depthwise_and_pools_match_naive)
{
    /* mode 1 depthwise, 2 average, 3 max; 'same' average pooling excludes the pads */
    static const struct {
        const char *cls;
        int mode, k, s, same;
    } cases[] = {
        {"DepthwiseConv2D", 1, 3, 1, 1},  {"DepthwiseConv2D", 1, 3, 2, 0},
        {"DepthwiseConv2D", 1, 5, 2, 1},  {"AveragePooling2D", 2, 3, 1, 1},
        {"AveragePooling2D", 2, 3, 2, 0}, {"AveragePooling2D", 2, 2, 2, 1},
        {"MaxPooling2D", 3, 3, 2, 0},     {"MaxPooling2D", 3, 3, 1, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mk m;
        mk_init(&m, 10, 9, 20, 300 + (uint32_t)i);
        int k = cases[i].k, s = cases[i].s, same = cases[i].same;
        size_t ko = 0, bo = 0;
        if (cases[i].mode == 1) {
            mk_layer(&m, cases[i].cls, "p", "in",
                     json_pack("{s:[i,i],s:[i,i],s:s,s:i,s:b,s:s}", "kernel_size", k, k, "strides",
                               s, s, "padding", same ? "same" : "valid", "depth_multiplier", 1,
                               "use_bias", 1, "activation", "relu"));
            int ks[4] = {k, k, 20, 1}, bs[1] = {20};
            ko = mk_weight(&m, "p/depthwise_kernel", 4, ks, -1, 1);
            bo = mk_weight(&m, "p/bias", 1, bs, -1, 1);
        } else {
            mk_layer(&m, cases[i].cls, "p", "in",
                     json_pack("{s:[i,i],s:[i,i],s:s}", "pool_size", k, k, "strides", s, s,
                               "padding", same ? "same" : "valid"));
        }
        json_t *doc = mk_json(&m, "p");
        char *dir = write_model(doc, m.data, m.n * sizeof(float));
        float *in = random_input(&m, 10 * 9 * 20, -3, 3);
        win g = {.h = 10, .w = 9, .c = 20, .kh = k, .kw = k, .sh = s, .sw = s, .same = same};
        win_resolve(&g);
        float *want = ref_window(&g, cases[i].mode, in, m.data + ko,
                                 cases[i].mode == 1 ? m.data + bo : NULL, 20);
        if (cases[i].mode == 1)
            for (int j = 0; j < g.oh * g.ow * 20; j++)
                want[j] = want[j] > 0 ? want[j] : 0;
        int oh, ow, oc;
        float *got = run_model(dir, in, 10, 9, 1, NULL, &oh, &ow, &oc);
        ck_assert_int_eq(oh, g.oh);
        ck_assert_int_eq(ow, g.ow);
        char what[96];
        snprintf(what, sizeof what, "%s %dx%d s%d %s", cases[i].cls, k, k, s,
                 same ? "same" : "valid");
        expect_close(got, want, (size_t)oh * ow * oc, 1e-5, what);
        free(got), free(want), free(in), free(dir), json_decref(doc), mk_free(&m);
    }
}
END_TEST

/* pad → conv → BN → ReLU6 (all folded into one node) and BN without scale, against the
 * same chain computed step by step; fused layers cannot be tapped, the chain's end can. */
START_TEST(folding_matches_the_unfolded_chain)
{
    mk m;
    mk_init(&m, 12, 12, 4, 42);
    mk_layer(&m, "ZeroPadding2D", "pad", "in",
             json_pack("{s:[[i,i],[i,i]]}", "padding", 0, 1, 0, 1));
    mk_layer(&m, "Conv2D", "c", "pad", conv_cfg(8, 3, 3, 2, 2, 0, 0, "linear"));
    mk_layer(&m, "BatchNormalization", "bn", "c",
             json_pack("{s:i,s:f,s:b,s:b}", "axis", -1, "epsilon", 1e-3, "center", 1, "scale", 1));
    mk_layer(&m, "ReLU", "r6", "bn",
             json_pack("{s:f,s:f,s:f}", "max_value", 6.0, "negative_slope", 0.0, "threshold", 0.0));
    mk_layer(&m, "BatchNormalization", "bn2", "r6",
             json_pack("{s:i,s:f,s:b,s:b}", "axis", 3, "epsilon", 1e-3, "center", 1, "scale", 0));
    int ks[4] = {3, 3, 4, 8}, cs[1] = {8};
    size_t ko = mk_weight(&m, "c/kernel", 4, ks, -2, 2);
    size_t ga = mk_weight(&m, "bn/gamma", 1, cs, 0.5f, 2),
           be = mk_weight(&m, "bn/beta", 1, cs, -1, 1);
    size_t mu = mk_weight(&m, "bn/moving_mean", 1, cs, -1, 1);
    size_t va = mk_weight(&m, "bn/moving_variance", 1, cs, 0.2f, 3);
    size_t be2 = mk_weight(&m, "bn2/beta", 1, cs, -1, 1),
           mu2 = mk_weight(&m, "bn2/moving_mean", 1, cs, 0, 3);
    size_t va2 = mk_weight(&m, "bn2/moving_variance", 1, cs, 0.5f, 2);
    json_t *doc = mk_json(&m, "bn2");
    char *dir = write_model(doc, m.data, m.n * sizeof(float));
    float *in = random_input(&m, 12 * 12 * 4, 0, 1);
    win g = {.h = 12, .w = 12, .c = 4, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pb = 1, .pr = 1};
    win_resolve(&g);
    float *want = ref_window(&g, 0, in, m.data + ko, NULL, 8), *d = m.data;
    float *r6 = malloc((size_t)g.oh * g.ow * 8 * sizeof *r6);
    for (int p = 0; p < g.oh * g.ow; p++)
        for (int c = 0; c < 8; c++) {
            double x = want[p * 8 + c];
            x = (x - d[mu + c]) / sqrt(d[va + c] + 1e-3) * d[ga + c] + d[be + c];
            x = x < 0 ? 0 : x > 6 ? 6 : x;
            r6[p * 8 + c] = (float)x;
            want[p * 8 + c] = (float)((x - d[mu2 + c]) / sqrt(d[va2 + c] + 1e-3) + d[be2 + c]);
        }
    int oh, ow, oc;
    float *got = run_model(dir, in, 12, 12, 1, NULL, &oh, &ow, &oc);
    ck_assert_int_eq(oh * ow, g.oh * g.ow);
    expect_close(got, want, (size_t)oh * ow * 8, 1e-4, "pad+conv+BN+ReLU6+BN(scale=false)");
    free(got);
    got = run_model(dir, in, 12, 12, 1, "r6", &oh, &ow, &oc);
    expect_close(got, r6, (size_t)oh * ow * 8, 1e-4, "tap r6");
    free(got);

    /* a folded layer cannot be tapped; the message names the layer to tap instead */
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    tgi_nn_session *s = NULL;
    ck_assert_int_eq(tgi_nn_load(ctx, dir, &nn), 0);
    const char *taps[] = {"bn"};
    ck_assert_int_eq(tgi_nn_session_new(ctx, nn, 1, 0, 0, 1, taps, 1, &s), TG_EINVAL);
    ck_assert_msg(strstr(tg_ctx_message(ctx), "'r6'"), "%s", tg_ctx_message(ctx));
    taps[0] = "nope";
    ck_assert_int_eq(tgi_nn_session_new(ctx, nn, 1, 0, 0, 1, taps, 1, &s), TG_EINVAL);
    ck_assert_int_eq(tgi_nn_session_new(ctx, nn, 1, 13, 12, 1, NULL, 0, &s), TG_EINVAL);
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
    free(r6), free(want), free(in), free(dir), json_decref(doc), mk_free(&m);
}
END_TEST

/* Add, Concatenate, UpSampling2D, ZeroPadding2D (kept), GAP, Flatten, Dense + softmax. */
START_TEST(merges_and_heads_match_naive)
{
    mk m;
    mk_init(&m, 3, 4, 2, 9);
    mk_layer(&m, "UpSampling2D", "up", "in",
             json_pack("{s:[i,i],s:s}", "size", 2, 3, "interpolation", "nearest"));
    mk_layer(&m, "ZeroPadding2D", "zp", "in",
             json_pack("{s:[[i,i],[i,i]]}", "padding", 1, 0, 2, 1));
    mk_layer(&m, "Add", "add", "in,in", json_object());
    mk_layer(&m, "Concatenate", "cat", "in,add", json_pack("{s:i}", "axis", -1));
    mk_layer(&m, "Flatten", "fl", "cat", json_object());
    mk_layer(&m, "Dropout", "drop", "fl", json_pack("{s:f}", "rate", 0.5));
    mk_layer(&m, "Dense", "d", "drop",
             json_pack("{s:i,s:s,s:b}", "units", 5, "activation", "softmax", "use_bias", 1));
    mk_layer(&m, "GlobalAveragePooling2D", "gap", "cat", json_object());
    int ks[2] = {48, 5}, bs[1] = {5};
    size_t ko = mk_weight(&m, "d/kernel", 2, ks, -1, 1), bo = mk_weight(&m, "d/bias", 1, bs, -1, 1);
    json_t *doc = mk_json(&m, "d");
    char *dir = write_model(doc, m.data, m.n * sizeof(float));
    float *in = random_input(&m, 24, -1, 1);

    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    tgi_nn_session *s = NULL;
    ck_assert_msg(tgi_nn_load(ctx, dir, &nn) == 0, "%s", tg_ctx_message(ctx));
    const char *taps[] = {"up", "zp", "cat", "gap", "drop"};
    ck_assert_msg(tgi_nn_session_new(ctx, nn, 1, 0, 0, 1, taps, 5, &s) == 0, "%s",
                  tg_ctx_message(ctx));
    memcpy(tgi_nn_session_input(s), in, 24 * sizeof(float));
    ck_assert_int_eq(tgi_nn_forward(ctx, s, 1), 0);
    int h, w, c;
    const float *up = tgi_nn_output(s, "up", &h, &w, &c);
    ck_assert_int_eq(h, 6);
    ck_assert_int_eq(w, 12);
    ck_assert_int_eq(c, 2);
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 12; x++)
            for (int k = 0; k < 2; k++)
                ck_assert_float_eq(up[(y * 12 + x) * 2 + k], in[((y / 2) * 4 + x / 3) * 2 + k]);
    const float *zp = tgi_nn_output(s, "zp", &h, &w, &c);
    ck_assert_int_eq(h, 4);
    ck_assert_int_eq(w, 7);
    ck_assert_int_eq(c, 2);
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 7; x++)
            for (int k = 0; k < 2; k++) {
                int iy = y - 1, ix = x - 2;
                float want = iy >= 0 && iy < 3 && ix >= 0 && ix < 4 ? in[(iy * 4 + ix) * 2 + k] : 0;
                ck_assert_float_eq(zp[(y * 7 + x) * 2 + k], want);
            }
    const float *cat = tgi_nn_output(s, "cat", &h, &w, &c);
    ck_assert_int_eq(h, 3);
    ck_assert_int_eq(w, 4);
    ck_assert_int_eq(c, 4);
    double gap_want[4] = {0};
    for (int p = 0; p < 12; p++)
        for (int k = 0; k < 4; k++) {
            float want = k < 2 ? in[p * 2 + k] : 2 * in[p * 2 + k - 2];
            ck_assert_float_eq(cat[p * 4 + k], want);
            gap_want[k] += want / 12.0;
        }
    const float *gap = tgi_nn_output(s, "gap", &h, &w, &c);
    ck_assert_int_eq(h, 1);
    ck_assert_int_eq(w, 1);
    ck_assert_int_eq(c, 4);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(fabs(gap[k] - gap_want[k]) < 1e-6, "gap[%d] %g vs %g", k, gap[k],
                      gap_want[k]);
    const float *fl = tgi_nn_output(s, "drop", &h, &w, &c);
    ck_assert_int_eq(h, 1);
    ck_assert_int_eq(w, 1);
    ck_assert_int_eq(c, 48);
    ck_assert_mem_eq(fl, cat, 48 * sizeof(float));
    double logits[5], mx = -INFINITY, sum = 0;
    for (int o = 0; o < 5; o++) {
        logits[o] = m.data[bo + o];
        for (int i = 0; i < 48; i++)
            logits[o] += (double)cat[i] * m.data[ko + (size_t)i * 5 + o];
        mx = logits[o] > mx ? logits[o] : mx;
    }
    for (int o = 0; o < 5; o++)
        sum += exp(logits[o] - mx);
    const float *p = tgi_nn_output(s, NULL, &h, &w, &c);
    ck_assert_int_eq(h, 1);
    ck_assert_int_eq(w, 1);
    ck_assert_int_eq(c, 5);
    for (int o = 0; o < 5; o++)
        ck_assert_msg(fabs(p[o] - exp(logits[o] - mx) / sum) < 1e-6, "softmax[%d]", o);
    tgi_nn_session_free(&s);
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
    free(in), free(dir), json_decref(doc), mk_free(&m);
}
END_TEST

/* ---- the real models against tfjs ---- */

static float *read_f32(const char *path, size_t count)
{
    size_t len = 0;
    char *b = tgt_read_file(path, &len);
    ck_assert_msg(b != NULL, "cannot read %s (reference data from tools/nnref)", path);
    ck_assert_msg(len == count * sizeof(float), "%s: %zu bytes, expected %zu", path, len,
                  count * sizeof(float));
    return (float *)b;
}

static json_t *manifest(void)
{
    json_error_t e;
    json_t *m = json_load_file(data_path("manifest.json"), 0, &e);
    ck_assert_msg(m != NULL, "%s: %s (reference data from tools/nnref)", data_path("manifest.json"),
                  e.text);
    return m;
}

/* Compare one manifest tensor ("full" or "sampled") with our tap of the same layer. */
static void check_tensor(const char *case_id, json_t *t, const float *got, size_t count)
{
    const char *layer = json_string_value(json_object_get(t, "layer"));
    const char *role = json_string_value(json_object_get(t, "role"));
    const char *stored = json_string_value(json_object_get(t, "stored"));
    ck_assert_int_eq(count, (size_t)json_integer_value(json_object_get(t, "count")));
    char what[200];
    snprintf(what, sizeof what, "%s %s", case_id, layer);
    if (!strcmp(stored, "full")) {
        float *ref = read_f32(data_path(json_string_value(json_object_get(t, "file"))), count);
        double tol;
        if (role && !strcmp(role, "probs"))
            tol = 1e-4; /* absolute, the bound */
        else if (role && !strcmp(role, "features"))
            tol = 1e-3 * max_abs(ref, count); /* relative, the bound */
        else
            tol = 1e-4 * max_abs(ref, count) + 1e-6;
        expect_close(got, ref, count, tol, what);
        free(ref);
        return;
    }
    /* sampled: the head, 256 strided samples, and the whole tensor's statistics */
    float *ref = read_f32(data_path(json_string_value(json_object_get(t, "file"))), 512);
    double mx = fmax(fabs(json_number_value(json_object_get(t, "min"))),
                     fabs(json_number_value(json_object_get(t, "max"))));
    double tol = 1e-4 * mx + 1e-6;
    size_t start = (size_t)json_integer_value(json_object_get(t, "sample_start"));
    size_t stride = (size_t)json_integer_value(json_object_get(t, "sample_stride"));
    float sample[512];
    for (size_t i = 0; i < 256; i++) {
        sample[i] = got[i < count ? i : 0];
        sample[256 + i] = got[(start + i * stride) % count];
    }
    expect_close(sample, ref, 512, tol, what);
    double sum = 0, l2 = 0;
    for (size_t i = 0; i < count; i++)
        sum += got[i], l2 += (double)got[i] * got[i];
    double mean = json_number_value(json_object_get(t, "mean"));
    double rl2 = json_number_value(json_object_get(t, "l2"));
    ck_assert_msg(fabs(sum / (double)count - mean) <= tol, "%s: mean %.7g vs %.7g", what,
                  sum / (double)count, mean);
    ck_assert_msg(fabs(sqrt(l2) - rl2) <= 1e-4 * rl2 + 1e-6, "%s: l2 %.7g vs %.7g", what, sqrt(l2),
                  rl2);
    free(ref);
}

/* Every manifest case of `model`: run it once with all its layers tapped. */
static int check_cases(const char *model, const char *subdir, double scale)
{
    json_t *man = manifest(), *cs = json_object_get(man, "cases"), *c;
    size_t i;
    int checked = 0;
    const char *dir = model_dir(subdir);
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    ck_assert_msg(tgi_nn_load(ctx, dir, &nn) == 0, "%s", tg_ctx_message(ctx));
    json_array_foreach(cs, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "model")), model) != 0)
            continue;
        json_t *shape = json_object_get(c, "input_shape"), *ts = json_object_get(c, "tensors"), *t;
        int h = (int)json_integer_value(json_array_get(shape, 0));
        int w = (int)json_integer_value(json_array_get(shape, 1));
        const char *taps[32];
        size_t k, nt = 0;
        json_array_foreach(ts, k, t)
        {
            ck_assert_int_lt(nt, 32);
            taps[nt++] = json_string_value(json_object_get(t, "layer"));
        }
        tgi_nn_session *s = NULL;
        ck_assert_msg(tgi_nn_session_new(ctx, nn, 1, h, w, 2, taps, (int)nt, &s) == 0, "%s",
                      tg_ctx_message(ctx));
        char rgbname[128];
        snprintf(rgbname, sizeof rgbname, "%s.rgb", json_string_value(json_object_get(c, "input")));
        size_t len = 0;
        unsigned char *rgb = (unsigned char *)tgt_read_file(data_path(rgbname), &len);
        ck_assert_msg(rgb && len == (size_t)h * w * 3, "%s", data_path(rgbname));
        float *in = tgi_nn_session_input(s);
        for (size_t p = 0; p < len; p++)
            in[p] = (float)rgb[p] / (float)scale;
        free(rgb);
        ck_assert_int_eq(tgi_nn_forward(ctx, s, 1), 0);
        json_array_foreach(ts, k, t)
        {
            int oh, ow, oc;
            const float *o = tgi_nn_output(s, taps[k], &oh, &ow, &oc);
            ck_assert_msg(o != NULL, "no output for %s", taps[k]);
            check_tensor(json_string_value(json_object_get(c, "id")), t, o, (size_t)oh * ow * oc);
            checked++;
        }
        tgi_nn_session_free(&s);
    }
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
    json_decref(man);
    return checked;
}

START_TEST(mobilenet_v2_matches_tfjs)
{
    ck_assert_int_ge(check_cases("mobilenet_v2", "nsfwjs/mobilenet_v2", 255), 36);
}
END_TEST

START_TEST(inception_v3_matches_tfjs)
{
    ck_assert_int_ge(check_cases("inception_v3", "nsfwjs/inception_v3", 255), 8);
}
END_TEST

START_TEST(esrgan_x2_matches_tfjs)
{
    ck_assert_int_ge(check_cases("esrgan_x2", "esrgan-slim/x2", 1), 7);
}
END_TEST

/* Decode an image to RGB24 with the ffmpeg command line into a scratch file. */
static unsigned char *decode_rgb(const char *png, size_t *len)
{
    char *out = tgt_tmp_path(".rgb");
    char *const argv[] = {
        "/usr/bin/ffmpeg", "-nostdin", "-v",    "error", "-y", "-i", (char *)png, "-f",
        "rawvideo",        "-pix_fmt", "rgb24", out,     NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_msg(r.status == 0, "ffmpeg failed on %s: %s", png, r.err);
    tgt_run_free(&r);
    unsigned char *b = (unsigned char *)tgt_read_file(out, len);
    unlink(out);
    free(out);
    return b;
}

START_TEST(esrgan_x2_reproduces_the_package_sample)
{
    const char *dir = model_dir("esrgan-slim/x2");
    char fx[1100], res[1100];
    snprintf(fx, sizeof fx, "%s/../samples/fixture.png", dir);
    snprintf(res, sizeof res, "%s/../samples/result-2x.png", dir);
    size_t n_in = 0, n_out = 0;
    unsigned char *rgb = decode_rgb(fx, &n_in), *want = decode_rgb(res, &n_out);
    ck_assert_int_eq(n_in, 128 * 128 * 3);
    ck_assert_int_eq(n_out, 256 * 256 * 3);
    float *in = malloc(n_in * sizeof *in);
    for (size_t i = 0; i < n_in; i++)
        in[i] = rgb[i]; /* RDN works on 0..255 */
    int oh, ow, oc;
    float *out = run_model(dir, in, 128, 128, 2, NULL, &oh, &ow, &oc);
    ck_assert_int_eq(oh, 256);
    ck_assert_int_eq(ow, 256);
    ck_assert_int_eq(oc, 3);
    double se = 0;
    for (size_t i = 0; i < n_out; i++) {
        float v = roundf(out[i] < 0 ? 0 : out[i] > 255 ? 255 : out[i]);
        se += (v - want[i]) * (v - want[i]);
    }
    double psnr = se == 0 ? 99 : 10 * log10(255.0 * 255.0 / (se / (double)n_out));
    ck_assert_msg(psnr >= 60, "PSNR %.1f dB < 60 dB against result-2x.png", psnr);
    free(in), free(out), free(rgb), free(want);
}
END_TEST

/* Batched inference: items are independent and every thread count gives the same. */
START_TEST(batches_and_threads_agree)
{
    const char *dir = model_dir("nsfwjs/mobilenet_v2");
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    ck_assert_int_eq(tgi_nn_load(ctx, dir, &nn), 0);
    const char *taps[] = {"flatten_1"};
    float *ref = NULL;
    mk rnd = {.seed = 5};
    float *img = random_input(&rnd, 3 * 224 * 224 * 3, 0, 1);
    for (int threads = 1; threads <= 3; threads++) {
        tgi_nn_session *s = NULL;
        ck_assert_int_eq(tgi_nn_session_new(ctx, nn, 3, 0, 0, threads, taps, 1, &s), 0);
        memcpy(tgi_nn_session_input(s), img, 3 * 224 * 224 * 3 * sizeof(float));
        ck_assert_int_eq(tgi_nn_forward(ctx, s, 3), 0);
        const float *f = tgi_nn_output(s, "flatten_1", NULL, NULL, NULL);
        if (!ref) {
            ref = malloc(3 * 1280 * sizeof *ref);
            memcpy(ref, f, 3 * 1280 * sizeof *ref);
            /* the three random images give three different embeddings */
            ck_assert_mem_ne(ref, ref + 1280, 1280 * sizeof *ref);
        } else {
            expect_close(f, ref, 3 * 1280, 1e-5, "features with more threads");
        }
        /* one item alone gives what it gave inside the batch */
        ck_assert_int_eq(tgi_nn_forward(ctx, s, 1), 0);
        expect_close(f, ref, 1280, 1e-5, "item 0 alone");
        ck_assert_int_eq(tgi_nn_forward(ctx, s, 4), TG_EINVAL);
        ck_assert_double_gt(tgi_nn_flops(s), 5e8);
        ck_assert_double_lt(tgi_nn_flops(s), 7e8);
        tgi_nn_session_free(&s);
    }
    free(ref), free(img);
    tgi_nn_free(&nn);
    tg_ctx_free(&ctx);
}
END_TEST

/* ---- hostile files ---- */

/* A small valid model exercising most layer kinds; the base of the bad-file tests. */
static json_t *base_model(mk *m)
{
    mk_init(m, 8, 8, 3, 77);
    mk_layer(m, "ZeroPadding2D", "pad", "in",
             json_pack("{s:[[i,i],[i,i]]}", "padding", 0, 1, 0, 1));
    mk_layer(m, "Conv2D", "c1", "pad", conv_cfg(4, 3, 3, 2, 2, 0, 1, "linear"));
    mk_layer(m, "BatchNormalization", "bn", "c1",
             json_pack("{s:i,s:f}", "axis", -1, "epsilon", 1e-3));
    mk_layer(m, "ReLU", "r", "bn", json_pack("{s:f}", "max_value", 6.0));
    mk_layer(m, "DepthwiseConv2D", "dw", "r",
             json_pack("{s:[i,i],s:[i,i],s:s,s:b}", "kernel_size", 3, 3, "strides", 1, 1, "padding",
                       "same", "use_bias", 0));
    mk_layer(m, "Add", "add", "r,dw", json_object());
    mk_layer(m, "Concatenate", "cat", "add,r", json_pack("{s:i}", "axis", -1));
    mk_layer(m, "AveragePooling2D", "ap", "cat",
             json_pack("{s:[i,i],s:s}", "pool_size", 2, 2, "padding", "same"));
    mk_layer(m, "MaxPooling2D", "mp", "ap", json_pack("{s:[i,i]}", "pool_size", 2, 2));
    mk_layer(m, "UpSampling2D", "up", "mp", json_pack("{s:[i,i]}", "size", 2, 2));
    mk_layer(m, "Flatten", "fl", "up", json_object());
    mk_layer(m, "Dense", "d", "fl", json_pack("{s:i,s:s}", "units", 3, "activation", "softmax"));
    int k1[4] = {3, 3, 3, 4}, c4[1] = {4}, kd[4] = {3, 3, 4, 1}, kdense[2] = {32, 3}, b3[1] = {3};
    mk_weight(m, "c1/kernel", 4, k1, -1, 1);
    mk_weight(m, "c1/bias", 1, c4, -1, 1);
    mk_weight(m, "bn/gamma", 1, c4, 0.5f, 1.5f);
    mk_weight(m, "bn/beta", 1, c4, -1, 1);
    mk_weight(m, "bn/moving_mean", 1, c4, -1, 1);
    mk_weight(m, "bn/moving_variance", 1, c4, 0.5f, 1.5f);
    mk_weight(m, "dw/depthwise_kernel", 4, kd, -1, 1);
    mk_weight(m, "d/kernel", 2, kdense, -1, 1);
    mk_weight(m, "d/bias", 1, b3, -1, 1);
    return mk_json(m, "d");
}

static json_t *layer_cfg(json_t *doc, const char *name)
{
    json_t *ls = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "modelTopology"), "model_config"),
                        "config"),
        "layers");
    json_t *l;
    size_t i;
    json_array_foreach(ls, i, l)
    {
        if (!strcmp(json_string_value(json_object_get(l, "name")), name))
            return l;
    }
    ck_abort_msg("no layer %s", name);
    return NULL;
}

static json_t *manifest_weight(json_t *doc, const char *name)
{
    json_t *ws =
        json_object_get(json_array_get(json_object_get(doc, "weightsManifest"), 0), "weights");
    json_t *w;
    size_t i;
    json_array_foreach(ws, i, w)
    {
        if (!strcmp(json_string_value(json_object_get(w, "name")), name))
            return w;
    }
    ck_abort_msg("no weight %s", name);
    return NULL;
}

/* Load dir, expect failure `code` with `needle` in the message. */
static void expect_refused(const char *dir, int code, const char *needle)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_nn *nn = NULL;
    int rc = tgi_nn_load(ctx, dir, &nn);
    ck_assert_msg(rc == code, "expected %s for '%s', got %s: %s", tg_errname(code), needle,
                  tg_errname(rc), tg_ctx_message(ctx));
    ck_assert_ptr_null(nn);
    ck_assert_msg(strstr(tg_ctx_message(ctx), needle), "message '%s' lacks '%s'",
                  tg_ctx_message(ctx), needle);
    tg_ctx_free(&ctx);
}

START_TEST(bad_model_files_are_refused)
{
    mk m;
    json_t *doc = base_model(&m);
    size_t bytes = m.n * sizeof(float);
    char *dir = write_model(doc, m.data, bytes);
    { /* the base model itself is fine and runs */
        float in[8 * 8 * 3] = {0};
        int oh, ow, oc;
        free(run_model(dir, in, 8, 8, 1, NULL, &oh, &ow, &oc));
        ck_assert_int_eq(oc, 3);
    }
    free(dir);

    /* truncated shard */
    dir = write_model(doc, m.data, bytes - 10);
    expect_refused(dir, TG_ECORRUPT, "truncated");
    free(dir);
    /* missing shard file */
    json_t *d2 = json_deep_copy(doc);
    json_array_set_new(
        json_object_get(json_array_get(json_object_get(d2, "weightsManifest"), 0), "paths"), 0,
        json_string("nothere.bin"));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ENOENT, "nothere.bin");
    free(dir), json_decref(d2);
    /* missing weight (renamed in the manifest) */
    d2 = json_deep_copy(doc);
    json_object_set_new(manifest_weight(d2, "c1/bias"), "name", json_string("c1/bias_x"));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ECORRUPT, "'c1/bias' is missing");
    free(dir), json_decref(d2);
    /* an extra weight no layer uses */
    d2 = json_deep_copy(doc);
    json_object_set_new(manifest_weight(d2, "c1/bias"), "name", json_string("zz/bias"));
    json_object_set_new(json_object_get(layer_cfg(d2, "c1"), "config"), "use_bias", json_false());
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ECORRUPT, "'zz/bias' is not used");
    free(dir), json_decref(d2);
    /* wrong shape (same element count) */
    d2 = json_deep_copy(doc);
    json_object_set_new(manifest_weight(d2, "c1/kernel"), "shape",
                        json_pack("[i,i,i,i]", 3, 3, 4, 3));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ECORRUPT, "has shape [3,3,4,3], the layer needs [3,3,3,4]");
    free(dir), json_decref(d2);
    /* unknown layer class */
    d2 = json_deep_copy(doc);
    json_object_set_new(layer_cfg(d2, "mp"), "class_name", json_string("LSTM"));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ELIMIT, "unsupported layer class 'LSTM'");
    free(dir), json_decref(d2);
    /* absurd dimensions */
    d2 = json_deep_copy(doc);
    json_object_set_new(json_object_get(layer_cfg(d2, "c1"), "config"), "kernel_size",
                        json_pack("[i,i]", 100000, 3));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ELIMIT, "kernel_size");
    free(dir), json_decref(d2);
    d2 = json_deep_copy(doc);
    json_object_set_new(manifest_weight(d2, "d/kernel"), "shape",
                        json_pack("[I,I]", (json_int_t)2147483647, (json_int_t)2147483647));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ECORRUPT, "d/kernel");
    free(dir), json_decref(d2);
    d2 = json_deep_copy(doc);
    json_object_set_new(manifest_weight(d2, "d/kernel"), "shape",
                        json_pack("[i,i,i,i]", 65536, 65536, 65536, 4));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ELIMIT, "elements");
    free(dir), json_decref(d2);
    d2 = json_deep_copy(doc);
    json_object_set_new(json_object_get(layer_cfg(d2, "in"), "config"), "batch_input_shape",
                        json_pack("[n,I,i,i]", (json_int_t)1 << 40, 8, 3));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ELIMIT, "input dimension");
    free(dir), json_decref(d2);
    /* a path outside the model's directory */
    d2 = json_deep_copy(doc);
    json_array_set_new(
        json_object_get(json_array_get(json_object_get(d2, "weightsManifest"), 0), "paths"), 0,
        json_string("../../etc/passwd"));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ECORRUPT, "leaves the model directory");
    free(dir), json_decref(d2);
    d2 = json_deep_copy(doc);
    json_array_set_new(
        json_object_get(json_array_get(json_object_get(d2, "weightsManifest"), 0), "paths"), 0,
        json_string("/etc/passwd"));
    dir = write_model(d2, m.data, bytes);
    expect_refused(dir, TG_ECORRUPT, "not a relative file name");
    free(dir), json_decref(d2);
    /* non-JSON, and JSON that is not a model */
    dir = write_model(doc, m.data, bytes);
    char p[1100];
    snprintf(p, sizeof p, "%s/model.json", dir);
    write_bytes(p, "\x89PNG not json", 13);
    expect_refused(dir, TG_ECORRUPT, "not valid JSON");
    write_bytes(p, "[1,2,3]", 7);
    expect_refused(dir, TG_ECORRUPT, "not a JSON object");
    write_bytes(p, "{\"modelTopology\":{}}", 20);
    expect_refused(dir, TG_ECORRUPT, "class_name");
    unlink(p);
    expect_refused(dir, TG_ENOENT, "model.json");
    free(dir);
    expect_refused("/nonexistent-dir", TG_ENOENT, "/nonexistent-dir/model.json");
    /* shapes that only fail for a given input size: a clear session error */
    json_decref(doc), mk_free(&m);
}
END_TEST

/* Collect every JSON value with its parent, to mutate one at random. */
typedef struct slot {
    json_t *parent;
    const char *key; /* object member, or NULL for array index */
    size_t idx;
} slot;

static void collect(json_t *v, slot *s, size_t *n, size_t cap)
{
    const char *k;
    json_t *x;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x)
        {
            if (*n < cap)
                s[(*n)++] = (slot){v, k, 0};
            collect(x, s, n, cap);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
        {
            if (*n < cap)
                s[(*n)++] = (slot){v, NULL, i};
            collect(x, s, n, cap);
        }
    }
}

static json_t *odd_value(uint32_t r)
{
    switch (r % 16) {
    case 0:
        return json_integer(0);
    case 1:
        return json_integer(-1);
    case 2:
        return json_integer(1);
    case 3:
        return json_integer(65537);
    case 4:
        return json_integer((json_int_t)1 << 31);
    case 5:
        return json_integer(-((json_int_t)1 << 40));
    case 6:
        return json_real(1.5);
    case 7:
        return json_real(1e300);
    case 8:
        return json_string("");
    case 9:
        return json_string("same");
    case 10:
        return json_null();
    case 11:
        return json_true();
    case 12:
        return json_array();
    case 13:
        return json_object();
    case 14:
        return json_pack("[i,i]", 0, 1);
    default:
        return json_pack("[[i,i],[i,i]]", 0, 9, 9, 0);
    }
}

/* Mutate (model.json, shard) at random and load + run whatever loads: never a crash,
 * and every failure has a message. */
static void mutate_and_load(json_t *doc, const void *data, size_t bytes, int h, int w,
                            uint32_t seed, int iters)
{
    mk r = {.seed = seed};
    slot *slots = malloc(50000 * sizeof *slots);
    int loaded = 0;
    for (int it = 0; it < iters; it++) {
        json_t *d = json_deep_copy(doc);
        unsigned char *shard = malloc(bytes + 64);
        memcpy(shard, data, bytes);
        size_t nbytes = bytes;
        char *text = NULL;
        int kind = (int)(frand(&r, 0, 1) * 6);
        if (kind <= 2) { /* replace a field's value, or remove it */
            size_t n = 0;
            collect(d, slots, &n, 50000);
            slot s = slots[(size_t)(frand(&r, 0, 1) * (float)n) % n];
            r.seed = r.seed * 1664525u + 1013904223u;
            if (s.key && kind == 2)
                json_object_del(s.parent, s.key);
            else if (s.key)
                json_object_set_new(s.parent, s.key, odd_value(r.seed >> 8));
            else
                json_array_set_new(s.parent, s.idx, odd_value(r.seed >> 8));
        } else if (kind == 3) { /* flip bytes of the JSON text */
            text = json_dumps(d, JSON_COMPACT);
            size_t len = strlen(text);
            for (int k = 0; k < 3; k++)
                text[(size_t)(frand(&r, 0, 1) * (float)len) % len] = (char)(frand(&r, 0, 1) * 256);
        } else if (kind == 4) { /* truncate or extend the shard */
            nbytes = (size_t)(frand(&r, 0, 1.1f) * (float)bytes);
            nbytes = nbytes > bytes + 64 ? bytes + 64 : nbytes;
        } else { /* flip shard bytes: NaN/inf weights must not crash either */
            for (int k = 0; k < 8; k++)
                shard[(size_t)(frand(&r, 0, 1) * (float)bytes) % bytes] =
                    (unsigned char)(r.seed >> 24);
        }
        char *dir = write_model(d, shard, nbytes);
        if (text) {
            char p[1100];
            snprintf(p, sizeof p, "%s/model.json", dir);
            write_bytes(p, text, strlen(text));
            free(text);
        }
        tg_ctx *ctx = tg_ctx_new();
        tgi_nn *nn = NULL;
        int rc = tgi_nn_load(ctx, dir, &nn);
        if (rc == 0) {
            int mh, mw;
            tgi_nn_input_size(nn, &mh, &mw, NULL);
            tgi_nn_session *s = NULL;
            if (tgi_nn_session_new(ctx, nn, 2, mh ? mh : h, mw ? mw : w, 2, NULL, 0, &s) == 0) {
                int oh, ow, oc;
                ck_assert_int_eq(tgi_nn_forward(ctx, s, 2), 0);
                ck_assert_ptr_nonnull(tgi_nn_output(s, NULL, &oh, &ow, &oc));
                loaded++;
            } else {
                ck_assert_msg(tg_ctx_message(ctx)[0], "session failure without a message");
            }
            tgi_nn_session_free(&s);
            tgi_nn_free(&nn);
        } else {
            ck_assert_msg(tg_ctx_message(ctx)[0], "iteration %d: failure without a message", it);
        }
        tg_ctx_free(&ctx);
        char p[1100];
        snprintf(p, sizeof p, "%s/model.json", dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/w.bin", dir);
        unlink(p);
        rmdir(dir);
        free(dir), free(shard), json_decref(d);
    }
    /* some mutations are harmless (a flipped weight byte): the loop did reach forward */
    ck_assert_int_gt(loaded, 0);
    free(slots);
}

START_TEST(mutated_models_never_crash)
{
    mk m;
    json_t *doc = base_model(&m);
    mutate_and_load(doc, m.data, m.n * sizeof(float), 8, 8, 2024, 300);
    json_decref(doc), mk_free(&m);
    /* and the real esrgan-slim x2 file (any input size: run at 12×10) */
    char p[1100];
    snprintf(p, sizeof p, "%s/model.json", model_dir("esrgan-slim/x2"));
    json_error_t e;
    doc = json_load_file(p, 0, &e);
    ck_assert_ptr_nonnull(doc);
    snprintf(p, sizeof p, "%s/group1-shard1of1.bin", model_dir("esrgan-slim/x2"));
    size_t len = 0;
    char *bin = tgt_read_file(p, &len);
    json_t *paths =
        json_object_get(json_array_get(json_object_get(doc, "weightsManifest"), 0), "paths");
    json_array_set_new(paths, 0, json_string("w.bin"));
    mutate_and_load(doc, bin, len, 12, 10, 7, 60);
    free(bin);
    json_decref(doc);
}
END_TEST

/* OpenBLAS's kernels: Debian's OpenBLAS falls back to Prescott's (SSE3) on a CPU model it
 * does not know, whatever the CPU can do (this machine's AVX-512 Xeon: MobileNetV2 3x
 * slower); thumbgen then runs itself again with OPENBLAS_CORETYPE naming the kernels the
 * CPU's features allow, and leaves a recognised CPU's choice, and a variable the user
 * set, alone (nn/blas.h; bench/RESULTS.md, "Below one minute, part 2"). */
START_TEST(blas_kernels_are_the_cpus)
{
    unsigned all = TGI_CPU_AVX | TGI_CPU_AVX2 | TGI_CPU_AVX512;
    ck_assert_str_eq(tgi_blas_better_core("Prescott", all), "SkylakeX");
    ck_assert_str_eq(tgi_blas_better_core("prescott", all), "SkylakeX");
    ck_assert_str_eq(tgi_blas_better_core("Prescott", TGI_CPU_AVX | TGI_CPU_AVX2), "Haswell");
    ck_assert_str_eq(tgi_blas_better_core("Prescott", TGI_CPU_AVX), "Sandybridge");
    ck_assert_ptr_null(tgi_blas_better_core("Prescott", 0));
    ck_assert_ptr_null(tgi_blas_better_core("Haswell", all)); /* recognised: its choice */
    ck_assert_ptr_null(tgi_blas_better_core("Zen", all));
    ck_assert_ptr_null(tgi_blas_better_core(NULL, all));
    /* the program itself: unset, it runs the CPU's kernels (doctor says so) */
    const char *had = getenv("OPENBLAS_CORETYPE");
    char *keep = had ? strdup(had) : NULL;
    unsetenv("OPENBLAS_CORETYPE");
    tgt_run run;
    tgt_thumbgen(&run, "doctor", "--data", "/nonexistent-thumbgen-data", NULL);
    ck_assert_msg(strstr(run.out, "ok       BLAS         OpenBLAS "), "%s", run.out);
    tgt_run_free(&run);
    /* a variable the user set is kept, even for slower kernels (doctor warns) */
    if (tgi_blas_cpu() & TGI_CPU_AVX2) {
        setenv("OPENBLAS_CORETYPE", "Prescott", 1);
        tgt_thumbgen(&run, "doctor", "--data", "/nonexistent-thumbgen-data", NULL);
        ck_assert_msg(strstr(run.out, "warn     BLAS         OpenBLAS runs its Prescott kernels") &&
                          strstr(run.out, "fix: OPENBLAS_CORETYPE="),
                      "%s", run.out);
        tgt_run_free(&run);
    }
    if (keep)
        setenv("OPENBLAS_CORETYPE", keep, 1);
    else
        unsetenv("OPENBLAS_CORETYPE");
    free(keep);
}
END_TEST

Suite *suite_nn(void);
Suite *suite_nn(void)
{
    Suite *s = suite_create("nn");
    TCase *k = tcase_create("kernels");
    tcase_add_test(k, conv_matches_direct_convolution);
    tcase_add_test(k, conv_tiles_cover_large_maps);
    tcase_add_test(k, depthwise_and_pools_match_naive);
    tcase_add_test(k, folding_matches_the_unfolded_chain);
    tcase_add_test(k, merges_and_heads_match_naive);
    suite_add_tcase(s, k);
    TCase *r = tcase_create("refs");
    tcase_add_test(r, mobilenet_v2_matches_tfjs);
    tcase_add_test(r, inception_v3_matches_tfjs);
    tcase_add_test(r, esrgan_x2_matches_tfjs);
    tcase_add_test(r, blas_kernels_are_the_cpus);
    tcase_add_test(r, esrgan_x2_reproduces_the_package_sample);
    tcase_add_test(r, batches_and_threads_agree);
    suite_add_tcase(s, r);
    TCase *l = tcase_create("loader");
    tcase_add_test(l, bad_model_files_are_refused);
    tcase_add_test(l, mutated_models_never_crash);
    suite_add_tcase(s, l);
    return s;
}
