/*
 * faces.c — face detection, 68 landmarks, eye openness, sharpness (see faces.h).
 *
 * The architectures are face-api's (src/tinyYolov2/TinyYolov2Base.ts runMobilenet,
 * src/faceFeatureExtractor/{TinyFaceFeatureExtractor,FaceFeatureExtractor}.ts,
 * denseBlock.ts); the weight files only give named tensors, so every name and shape
 * is checked against what the code below will index, and every byte of the shards is
 * accounted for before anything runs.
 */
#include "analyze/faces.h"

/* the per-pixel loops here (resize, leaky ReLU, dense-block sums) are hot: let GCC
 * vectorize them (see src/nn/kernels.c) */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/pool.h"
#include "nn/graph.h"
#include "nn/kernels.h"
#include "nn/nn.h"

#define FACES_DIR        "face-api"
#define DET_NET          "tiny_face_detector_model"
#define LM_NET           "face_landmark_68_model"
#define LM_TINY_NET      "face_landmark_68_tiny_model"
#define MAX_MANIFEST     (1u << 20)
#define MAX_SHARDS_BYTES (64u << 20)
#define MAX_THREADS      64
#define LM_SIDE          112
#define ANCHORS          5
#define IOU_THRESHOLD    0.4f
#define MTILE            512

/* face-api's constants (tinyFaceDetector/const.ts, faceFeatureExtractor/ *.ts) */
static const float DET_ANCHORS[ANCHORS][2] = {{1.603231f, 2.094468f},
                                              {6.041143f, 7.080126f},
                                              {2.882459f, 3.518061f},
                                              {4.266906f, 5.178857f},
                                              {9.041765f, 10.66308f}};
static const float DET_MEAN[3] = {117.001f, 114.697f, 97.404f};
static const float LM_MEAN[3] = {122.782f, 117.001f, 104.298f};
static const int DET_CH[6] = {16, 32, 64, 128, 256, 512};

/* ---- weight files ---- */

typedef struct fweight {
    char *name;
    int rank, shape[4];
    size_t count, off;
    int used;
} fweight;

typedef struct fset {
    const char *net;
    fweight *w;
    int n;
    float *v;
} fset;

static void fset_free(fset *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->w[i].name);
    free(s->w);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* The whole regular file path (at most max bytes) into *data. */
static int read_all(tg_ctx *ctx, const char *path, const char *what, size_t max, char **data,
                    size_t *len)
{
    *data = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? tgi_fail(ctx, TG_ENOENT,
                                          "the face weights are missing (no %s): run "
                                          "scripts/fetch-models, or set TG_MODELS to the folder "
                                          "it fills",
                                          path)
                               : tgi_fail(ctx, TG_EIO, "cannot open the face weights %s", what);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tgi_fail(ctx, TG_EIO, "the face weights %s are not a regular file", what);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return tgi_fail(ctx, TG_ECORRUPT, "the face weights %s are larger than %zu bytes", what,
                        max);
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        return tgi_fail(ctx, TG_EIO, "cannot read the face weights %s", what);
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

static int qbytes(const char *dtype)
{
    return !strcmp(dtype, "uint8") ? 1 : !strcmp(dtype, "uint16") ? 2 : 0;
}

#define CORRUPT(...) tgi_fail(ctx, TG_ECORRUPT, __VA_ARGS__)

/* dir/<net>-weights_manifest.json and its shards, dequantized as TF.js does. */
static int fset_load(tg_ctx *ctx, const char *dir, const char *net, fset *s)
{
    char path[4096], what[160];
    char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    memset(s, 0, sizeof *s);
    s->net = net;
    snprintf(path, sizeof path, "%s/%s-weights_manifest.json", dir, net);
    snprintf(what, sizeof what, "%s manifest", net);
    int rc = read_all(ctx, path, what, MAX_MANIFEST, &text, &len);
    if (rc)
        return rc;
    json_error_t je;
    root = json_loadb(text, len, 0, &je);
    free(text);
    if (!root || !json_is_array(root) || json_array_size(root) < 1 || json_array_size(root) > 16) {
        rc = CORRUPT("the face weights %s manifest is not a weights manifest", net);
        goto fail;
    }
    /* pass 1: entries, sizes; read the shards */
    size_t nw = 0, gi;
    json_t *g;
    json_array_foreach(root, gi, g)
    {
        json_t *ws = json_object_get(g, "weights"), *ps = json_object_get(g, "paths");
        if (!json_is_array(ws) || !json_is_array(ps) || json_array_size(ws) > 1024 ||
            json_array_size(ps) < 1 || json_array_size(ps) > 64) {
            rc = CORRUPT("the face weights %s manifest: group %zu needs 'paths' and 'weights'", net,
                         gi);
            goto fail;
        }
        nw += json_array_size(ws);
    }
    if (!(s->w = calloc(nw ? nw : 1, sizeof *s->w))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    size_t total = 0;
    json_array_foreach(root, gi, g)
    {
        json_t *ws = json_object_get(g, "weights"), *ps = json_object_get(g, "paths"), *e;
        size_t need = 0, have = 0, i;
        json_array_foreach(ws, i, e)
        {
            fweight *w = &s->w[s->n];
            json_t *name = json_object_get(e, "name"), *shape = json_object_get(e, "shape");
            json_t *dt = json_object_get(e, "dtype"), *q = json_object_get(e, "quantization");
            if (!json_is_string(name) || json_string_length(name) > NN_MAX_NAME ||
                !json_is_array(shape) || json_array_size(shape) > 4 || !json_is_string(dt) ||
                strcmp(json_string_value(dt), "float32") != 0) {
                rc = CORRUPT("the face weights %s manifest: weight %zu is malformed", net, i);
                goto fail;
            }
            if (!(w->name = strdup(json_string_value(name)))) {
                rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
                goto fail;
            }
            s->n++;
            w->rank = (int)json_array_size(shape);
            w->count = 1;
            for (int d = 0; d < w->rank; d++) {
                json_t *v = json_array_get(shape, (size_t)d);
                if (!json_is_integer(v) || json_integer_value(v) < 1 ||
                    json_integer_value(v) > 65536) {
                    rc =
                        CORRUPT("the face weights %s: weight %.100s has a bad shape", net, w->name);
                    goto fail;
                }
                w->shape[d] = (int)json_integer_value(v);
                w->count *= (size_t)w->shape[d];
                if (w->count > MAX_SHARDS_BYTES) {
                    rc = CORRUPT("the face weights %s: weight %.100s is too large", net, w->name);
                    goto fail;
                }
            }
            int qb = 4;
            if (q && !json_is_null(q)) {
                json_t *qd = json_object_get(q, "dtype"), *mn = json_object_get(q, "min"),
                       *sc = json_object_get(q, "scale");
                if (!json_is_string(qd) || !(qb = qbytes(json_string_value(qd))) ||
                    !json_is_number(mn) || !json_is_number(sc) ||
                    !isfinite(json_number_value(mn)) || !isfinite(json_number_value(sc))) {
                    rc = CORRUPT("the face weights %s: weight %.100s has a bad quantization", net,
                                 w->name);
                    goto fail;
                }
            }
            w->off = total;
            total += w->count;
            need += w->count * (size_t)qb;
            if (need > MAX_SHARDS_BYTES) {
                rc = CORRUPT("the face weights %s are too large", net);
                goto fail;
            }
        }
        /* the group's shards, concatenated */
        char *buf = malloc(need + 1);
        if (!buf) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto fail;
        }
        json_array_foreach(ps, i, e)
        {
            const char *p = json_is_string(e) ? json_string_value(e) : "";
            if (!*p || strlen(p) > NN_MAX_NAME || strchr(p, '/') || strchr(p, '\\') ||
                !strcmp(p, "..") || !strcmp(p, ".")) {
                free(buf);
                rc = CORRUPT("the face weights %s manifest names a bad shard", net);
                goto fail;
            }
            char *data = NULL;
            size_t dl = 0;
            snprintf(path, sizeof path, "%s/%s", dir, p);
            snprintf(what, sizeof what, "shard %.100s", p);
            rc = read_all(ctx, path, what, MAX_SHARDS_BYTES, &data, &dl);
            if (rc) {
                free(buf);
                goto fail;
            }
            if (have + dl > need) {
                free(data);
                free(buf);
                rc = CORRUPT("the face weights %s: the shards hold more bytes than the manifest "
                             "lists",
                             net);
                goto fail;
            }
            memcpy(buf + have, data, dl);
            have += dl;
            free(data);
        }
        if (have != need) {
            free(buf);
            rc = CORRUPT("the face weights %s are truncated (%zu of %zu bytes): run "
                         "scripts/fetch-models again",
                         net, have, need);
            goto fail;
        }
        /* pass 2 for this group: dequantize (TF.js: q * scale + min in doubles) */
        float *v = realloc(s->v, (total ? total : 1) * sizeof *v);
        if (!v) {
            free(buf);
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto fail;
        }
        s->v = v;
        size_t pos = 0;
        int first = s->n - (int)json_array_size(ws);
        json_array_foreach(ws, i, e)
        {
            fweight *w = &s->w[first + (int)i];
            json_t *q = json_object_get(e, "quantization");
            float *dst = s->v + w->off;
            if (q && !json_is_null(q)) {
                double mn = json_number_value(json_object_get(q, "min"));
                double sc = json_number_value(json_object_get(q, "scale"));
                int qb = qbytes(json_string_value(json_object_get(q, "dtype")));
                const unsigned char *src = (const unsigned char *)buf + pos;
                for (size_t k = 0; k < w->count; k++) {
                    unsigned x = qb == 1 ? src[k] : (unsigned)(src[2 * k] | src[2 * k + 1] << 8);
                    dst[k] = (float)(x * sc + mn);
                }
                pos += w->count * (size_t)qb;
            } else {
                memcpy(dst, buf + pos, w->count * sizeof *dst);
                pos += w->count * sizeof *dst;
            }
        }
        free(buf);
    }
    json_decref(root);
    return 0;
fail:
    json_decref(root);
    fset_free(s);
    return rc;
}

/* The weight `name` with exactly the shape given (d[0..rank)), or NULL + ctx. */
static const float *fget(tg_ctx *ctx, fset *s, const char *name, int rank, int d0, int d1, int d2,
                         int d3)
{
    const int d[4] = {d0, d1, d2, d3};
    for (int i = 0; i < s->n; i++) {
        fweight *w = &s->w[i];
        if (strcmp(w->name, name) != 0)
            continue;
        int ok = w->rank == rank && !w->used;
        for (int k = 0; ok && k < rank; k++)
            ok = w->shape[k] == d[k];
        if (!ok) {
            CORRUPT("the face weights %s: weight %.100s does not have the expected shape", s->net,
                    name);
            return NULL;
        }
        w->used = 1;
        return s->v + w->off;
    }
    CORRUPT("the face weights %s have no weight %.100s", s->net, name);
    return NULL;
}

static int fset_all_used(tg_ctx *ctx, const fset *s)
{
    for (int i = 0; i < s->n; i++)
        if (!s->w[i].used)
            return CORRUPT("the face weights %s hold an unexpected weight %.100s", s->net,
                           s->w[i].name);
    return 0;
}

/* ---- the networks ---- */

typedef struct sep {
    const float *dw, *pw, *b; /* [9][cin], [cin][cout], [cout] */
    int cin, cout;
} sep;

static int get_sep(tg_ctx *ctx, fset *s, const char *prefix, int cin, int cout, sep *out)
{
    char n[NN_MAX_NAME + 64];
    snprintf(n, sizeof n, "%s/depthwise_filter", prefix);
    out->dw = fget(ctx, s, n, 4, 3, 3, cin, 1);
    snprintf(n, sizeof n, "%s/pointwise_filter", prefix);
    out->pw = out->dw ? fget(ctx, s, n, 4, 1, 1, cin, cout) : NULL;
    snprintf(n, sizeof n, "%s/bias", prefix);
    out->b = out->pw ? fget(ctx, s, n, 1, cout, 0, 0, 0) : NULL;
    out->cin = cin;
    out->cout = cout;
    return out->b ? 0 : TG_ECORRUPT;
}

typedef struct detnet {
    const float *c0w, *c0b, *c8w, *c8b;
    sep s[5];
} detnet;

typedef struct lmnet {
    int blocks, convs; /* 4 × 4 (face_landmark_68), 3 × 3 (tiny) */
    const float *c0w, *c0b, *fcw, *fcb;
    sep s[4][4]; /* [block][conv], conv 0 of block 0 is the full convolution c0 */
} lmnet;

typedef struct arena {
    float *b[4];
    float *luma; /* LM_SIDE² */
    int *xo;     /* resize_square's column table: 2 offsets per output column */
    float *xw;   /* and 3 weights: lerp, mask of the left and the right source */
    tgi_face *cand;
    int ncand;
} arena;

struct tgi_faces {
    fset det_w, lm_w;
    detnet det;
    lmnet lm;
    int S;           /* detector input side */
    float min_score; /* keep detections above */
    size_t buf_floats;
    arena ar[MAX_THREADS];
    int threads;
    tgi_pool *pool; /* threads lanes, for a batch's parts (NULL with one thread) */
};

static int load_det(tg_ctx *ctx, fset *s, detnet *d)
{
    if (!(d->c0w = fget(ctx, s, "conv0/filters", 4, 3, 3, 3, DET_CH[0])) ||
        !(d->c0b = fget(ctx, s, "conv0/bias", 1, DET_CH[0], 0, 0, 0)))
        return TG_ECORRUPT;
    for (int i = 1; i <= 5; i++) {
        char p[16];
        snprintf(p, sizeof p, "conv%d", i);
        if (get_sep(ctx, s, p, DET_CH[i - 1], DET_CH[i], &d->s[i - 1]))
            return TG_ECORRUPT;
    }
    if (!(d->c8w = fget(ctx, s, "conv8/filters", 4, 1, 1, DET_CH[5], ANCHORS * 5)) ||
        !(d->c8b = fget(ctx, s, "conv8/bias", 1, ANCHORS * 5, 0, 0, 0)))
        return TG_ECORRUPT;
    return fset_all_used(ctx, s);
}

static int load_lm(tg_ctx *ctx, fset *s, int tiny, lmnet *m)
{
    m->blocks = m->convs = tiny ? 3 : 4;
    if (!(m->c0w = fget(ctx, s, "dense0/conv0/filters", 4, 3, 3, 3, 32)) ||
        !(m->c0b = fget(ctx, s, "dense0/conv0/bias", 1, 32, 0, 0, 0)))
        return TG_ECORRUPT;
    for (int b = 0; b < m->blocks; b++)
        for (int k = b == 0 ? 1 : 0; k < m->convs; k++) {
            char p[32];
            snprintf(p, sizeof p, "dense%d/conv%d", b, k);
            int cout = 32 << b, cin = k == 0 ? cout / 2 : cout;
            if (get_sep(ctx, s, p, cin, cout, &m->s[b][k]))
                return TG_ECORRUPT;
        }
    int c = 32 << (m->blocks - 1);
    if (!(m->fcw = fget(ctx, s, "fc/weights", 2, c, 2 * TG_FACE_LANDMARKS, 0, 0)) ||
        !(m->fcb = fget(ctx, s, "fc/bias", 1, 2 * TG_FACE_LANDMARKS, 0, 0, 0)))
        return TG_ECORRUPT;
    return fset_all_used(ctx, s);
}

/* Hot loops get an AVX-512 and an AVX2 build next to the baseline one, as in
 * src/nn/kernels.c (not under the sanitizers: ifunc resolvers run before ASan). */
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__clang__)
#define FACES_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FACES_CLONES
#endif

typedef float v8f __attribute__((vector_size(32)));

#define LD8(v, p) memcpy(&(v), (p), sizeof(v))

/*
 * The first layer of both nets: a 3×3 convolution of the 3-channel input to 16 or 32
 * channels + bias, direct. Through im2col + sgemm it cost about a third of the
 * detector's time (rows of 27 floats gathered 3 at a time, a GEMM with N = 16); here
 * each output pixel is 27 broadcast multiply-adds into 2 or 4 named 8-float
 * accumulators (an array of them was spilled to the stack). Taps outside the input are
 * zero padding. NV is 2 or 4.
 */
#define CONV3_BODY(NV)                                                                             \
    for (int oy = 0; oy < oh; oy++)                                                                \
        for (int ox = 0; ox < ow; ox++) {                                                          \
            v8f a0, a1, a2 = {0}, a3 = {0}, k0, k1, k2, k3;                                        \
            LD8(a0, bias);                                                                         \
            LD8(a1, bias + 8);                                                                     \
            if (NV == 4) {                                                                         \
                LD8(a2, bias + 16);                                                                \
                LD8(a3, bias + 24);                                                                \
            }                                                                                      \
            int y0 = oy * s - pt, x0 = ox * s - pl;                                                \
            for (int ky = 0; ky < 3; ky++) {                                                       \
                int iy = y0 + ky;                                                                  \
                if (iy < 0 || iy >= h)                                                             \
                    continue;                                                                      \
                for (int kx = 0; kx < 3; kx++) {                                                   \
                    int ix = x0 + kx;                                                              \
                    if (ix < 0 || ix >= w)                                                         \
                        continue;                                                                  \
                    const float *px = in + ((size_t)iy * w + ix) * 3;                              \
                    const float *k = wt + (size_t)(ky * 3 + kx) * 3 * (8 * NV);                    \
                    for (int c = 0; c < 3; c++, k += 8 * NV) {                                     \
                        float x = px[c];                                                           \
                        v8f b = {x, x, x, x, x, x, x, x};                                          \
                        LD8(k0, k);                                                                \
                        LD8(k1, k + 8);                                                            \
                        a0 += b * k0;                                                              \
                        a1 += b * k1;                                                              \
                        if (NV == 4) {                                                             \
                            LD8(k2, k + 16);                                                       \
                            LD8(k3, k + 24);                                                       \
                            a2 += b * k2;                                                          \
                            a3 += b * k3;                                                          \
                        }                                                                          \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
            float *o = out + ((size_t)oy * ow + ox) * (8 * NV);                                    \
            memcpy(o, &a0, sizeof a0);                                                             \
            memcpy(o + 8, &a1, sizeof a1);                                                         \
            if (NV == 4) {                                                                         \
                memcpy(o + 16, &a2, sizeof a2);                                                    \
                memcpy(o + 24, &a3, sizeof a3);                                                    \
            }                                                                                      \
        }

FACES_CLONES static void conv3_16(const float *restrict in, int h, int w, int s, int pt, int pl,
                                  int oh, int ow, const float *restrict wt,
                                  const float *restrict bias, float *restrict out){CONV3_BODY(2)}

FACES_CLONES static void conv3_32(const float *restrict in, int h, int w, int s, int pt, int pl,
                                  int oh, int ow, const float *restrict wt,
                                  const float *restrict bias, float *restrict out)
{
    CONV3_BODY(4)
}

/* Written as max(v, 0.1 v) with an unconditional store, so they vectorize. */
static void leaky(float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i], l = 0.1f * v;
        x[i] = v > l ? v : l;
    }
}

static void relu(float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        x[i] = v > 0.0f ? v : 0.0f;
    }
}

/* Depthwise 3×3 (stride s; 'same' pads: 1 each side at stride 1, bottom/right only at
 * stride 2 on an even side) then pointwise + bias: in (h×w×cin) -> out (oh×ow×cout). */
static void sep_conv(const sep *p, const float *in, int h, int w, int s, float *tmp, float *out,
                     int *oh, int *ow)
{
    int H = s == 1 ? h : (h + 1) / 2, W = s == 1 ? w : (w + 1) / 2;
    int pt = s == 1 ? 1 : (((H - 1) * 2 + 3 - h) > 0 ? ((H - 1) * 2 + 3 - h) / 2 : 0);
    int pl = s == 1 ? 1 : (((W - 1) * 2 + 3 - w) > 0 ? ((W - 1) * 2 + 3 - w) / 2 : 0);
    nn_win dw = {.h = h,
                 .w = w,
                 .cin = p->cin,
                 .oh = H,
                 .ow = W,
                 .cout = p->cin,
                 .kh = 3,
                 .kw = 3,
                 .sh = s,
                 .sw = s,
                 .pt = pt,
                 .pl = pl,
                 .wt = p->dw,
                 .bias = NULL,
                 .act = NN_ACT_LINEAR,
                 .act_max = INFINITY,
                 .mtile = MTILE};
    nn_dwconv(&dw, in, tmp);
    nn_win pw = {.h = H,
                 .w = W,
                 .cin = p->cin,
                 .oh = H,
                 .ow = W,
                 .cout = p->cout,
                 .kh = 1,
                 .kw = 1,
                 .sh = 1,
                 .sw = 1,
                 .wt = p->pw,
                 .bias = p->b,
                 .act = NN_ACT_LINEAR,
                 .act_max = INFINITY,
                 .mtile = MTILE};
    nn_conv(&pw, tmp, out, NULL);
    *oh = H;
    *ow = W;
}

/* 2×2 max pooling, 'same' (the pad, if any, at the bottom/right). */
static void pool2(const float *in, int h, int w, int c, int s, float *out, int *oh, int *ow)
{
    int H = s == 1 ? h : (h + 1) / 2, W = s == 1 ? w : (w + 1) / 2;
    nn_win a = {.h = h,
                .w = w,
                .cin = c,
                .oh = H,
                .ow = W,
                .cout = c,
                .kh = 2,
                .kw = 2,
                .sh = s,
                .sw = s,
                .act = NN_ACT_LINEAR,
                .act_max = INFINITY};
    nn_maxpool(&a, in, out);
    *oh = H;
    *ow = W;
}

/* The detector on b[0] (S×S×3): the raw 25-channel grid (S/32)² into *grid. */
static const float *det_forward(const tgi_faces *f, arena *a, int *cells)
{
    const detnet *d = &f->det;
    int h = f->S - 2, w = f->S - 2;
    conv3_16(a->b[0], f->S, f->S, 1, 0, 0, h, w, d->c0w, d->c0b, a->b[1]);
    leaky(a->b[1], (size_t)h * w * DET_CH[0]);
    for (int i = 0; i < 5; i++) {
        pool2(a->b[1], h, w, DET_CH[i], 2, a->b[0], &h, &w);
        sep_conv(&d->s[i], a->b[0], h, w, 1, a->b[2], a->b[1], &h, &w);
        leaky(a->b[1], (size_t)h * w * DET_CH[i + 1]);
    }
    pool2(a->b[1], h, w, DET_CH[5], 1, a->b[0], &h, &w);
    nn_win c8 = {.h = h,
                 .w = w,
                 .cin = DET_CH[5],
                 .oh = h,
                 .ow = w,
                 .cout = ANCHORS * 5,
                 .kh = 1,
                 .kw = 1,
                 .sh = 1,
                 .sw = 1,
                 .wt = d->c8w,
                 .bias = d->c8b,
                 .act = NN_ACT_LINEAR,
                 .act_max = INFINITY,
                 .mtile = MTILE};
    nn_conv(&c8, a->b[0], a->b[1], NULL);
    *cells = h;
    return a->b[1];
}

/* The landmark net on b[0] (112×112×3): 136 values in [0,1] of the 112² input. */
static void lm_forward(const tgi_faces *f, arena *a, float out[2 * TG_FACE_LANDMARKS])
{
    const lmnet *m = &f->lm;
    float *cur = a->b[0], *acc = a->b[1], *t1 = a->b[2], *t2 = a->b[3];
    int h = LM_SIDE, w = LM_SIDE, c = 32;
    for (int b = 0; b < m->blocks; b++) {
        c = 32 << b;
        if (b == 0) {
            int oh = LM_SIDE / 2;
            conv3_32(cur, h, w, 2, 0, 0, oh, oh, m->c0w, m->c0b, acc);
            relu(acc, (size_t)oh * oh * 32);
            h = w = oh;
        } else {
            sep_conv(&m->s[b][0], cur, h, w, 2, t1, acc, &h, &w);
            relu(acc, (size_t)h * w * c);
        }
        size_t n = (size_t)h * w * c;
        int oh, ow;
        for (int k = 1; k < m->convs; k++) {
            for (size_t i = 0; i < n; i++) {
                float v = acc[i];
                t1[i] = v > 0.0f ? v : 0.0f;
            }
            sep_conv(&m->s[b][k], t1, h, w, 1, t2, t1, &oh, &ow);
            for (size_t i = 0; i < n; i++)
                acc[i] += t1[i];
        }
        relu(acc, n);
        float *tmp = cur;
        cur = acc;
        acc = tmp;
    }
    float feat[256];
    nn_global_avg(cur, feat, (size_t)h * w, c);
    memcpy(out, m->fcb, 2 * TG_FACE_LANDMARKS * sizeof *out);
    cblas_sgemv(CblasRowMajor, CblasTrans, c, 2 * TG_FACE_LANDMARKS, 1.0f, m->fcw,
                2 * TG_FACE_LANDMARKS, feat, 1, 1.0f, out, 1);
}

/*
 * TF's resizeBilinear (align_corners = false, half_pixel_centers = false) of a side ×
 * side square holding the crop cw × ch at (pl, pt) (zeros elsewhere) to S × S, then
 * (v - mean) / 255 into out. luma (may be NULL) gets the resized luma (BT.601).
 * Branch-free: a source outside the crop is read at a valid address and multiplied by
 * a 0 mask, so the arithmetic (tl + (tr - tl) * lx, ...) stays TF's own.
 */
static void resize_square(arena *a, const uint8_t *rgb, int stride, int cw, int ch, int pl, int pt,
                          int side, int S, const float mean[3], float *out, float *luma)
{
    const float scale = (float)side / (float)S;
    int *xo = a->xo;
    float *xw = a->xw;
    for (int x = 0; x < S; x++) {
        float sx = (float)x * scale;
        int x0 = (int)floorf(sx), x1 = (int)ceilf(sx);
        x1 = x1 < side - 1 ? x1 : side - 1;
        int i0 = x0 - pl, i1 = x1 - pl, in0 = i0 >= 0 && i0 < cw, in1 = i1 >= 0 && i1 < cw;
        xo[2 * x] = in0 ? i0 * 3 : 0;
        xo[2 * x + 1] = in1 ? i1 * 3 : 0;
        xw[3 * x] = sx - (float)x0;
        xw[3 * x + 1] = in0 ? 1.0f : 0.0f;
        xw[3 * x + 2] = in1 ? 1.0f : 0.0f;
    }
    for (int y = 0; y < S; y++) {
        float sy = (float)y * scale;
        int y0 = (int)floorf(sy), y1 = (int)ceilf(sy);
        y1 = y1 < side - 1 ? y1 : side - 1;
        const float ly = sy - (float)y0;
        int iy0 = y0 - pt, iy1 = y1 - pt;
        int in0 = iy0 >= 0 && iy0 < ch, in1 = iy1 >= 0 && iy1 < ch;
        const uint8_t *r0 = rgb + (size_t)(in0 ? iy0 : 0) * stride;
        const uint8_t *r1 = rgb + (size_t)(in1 ? iy1 : 0) * stride;
        const float m0 = in0 ? 1.0f : 0.0f, m1 = in1 ? 1.0f : 0.0f;
        float *o = out + (size_t)y * S * 3;
        for (int x = 0; x < S; x++) {
            const float lx = xw[3 * x], a0 = xw[3 * x + 1], a1 = xw[3 * x + 2];
            const int o0 = xo[2 * x], o1 = xo[2 * x + 1];
            float v[3];
            for (int k = 0; k < 3; k++) {
                float tl = r0[o0 + k] * (m0 * a0), tr = r0[o1 + k] * (m0 * a1);
                float bl = r1[o0 + k] * (m1 * a0), br = r1[o1 + k] * (m1 * a1);
                float top = tl + (tr - tl) * lx, bot = bl + (br - bl) * lx;
                v[k] = top + (bot - top) * ly;
                o[3 * x + k] = (v[k] - mean[k]) / 255.0f;
            }
            if (luma)
                luma[(size_t)y * S + x] = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
        }
    }
}

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static float iou(const tgi_face *a, const tgi_face *b)
{
    float w = fminf(a->x + a->w, b->x + b->w) - fmaxf(a->x, b->x);
    float h = fminf(a->y + a->h, b->y + b->h) - fmaxf(a->y, b->y);
    w = w > 0 ? w : 0;
    h = h > 0 ? h : 0;
    float inter = w * h;
    return inter / (a->w * a->h + b->w * b->h - inter);
}

static int by_score(const void *pa, const void *pb)
{
    float a = ((const tgi_face *)pa)->score, b = ((const tgi_face *)pb)->score;
    return a < b ? 1 : a > b ? -1 : 0;
}

float tgi_face_ear(const float (*p)[2])
{
    float v1 = hypotf(p[1][0] - p[5][0], p[1][1] - p[5][1]);
    float v2 = hypotf(p[2][0] - p[4][0], p[2][1] - p[4][1]);
    float hz = hypotf(p[0][0] - p[3][0], p[0][1] - p[3][1]);
    return hz > 0 ? (v1 + v2) / (2.0f * hz) : 0.0f;
}

/* sharpness of the luma inside [x0,x1)×[y0,y1) of the LM_SIDE² crop (see faces.h) */
static float sharpness(const float *l, int x0, int y0, int x1, int y1)
{
    double s = 0, s2 = 0, lap2 = 0;
    long n = 0, nl = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double v = l[y * LM_SIDE + x];
            s += v;
            s2 += v * v;
            n++;
            if (y > y0 && y < y1 - 1 && x > x0 && x < x1 - 1) {
                double d = 4 * v - l[(y - 1) * LM_SIDE + x] - l[(y + 1) * LM_SIDE + x] -
                           l[y * LM_SIDE + x - 1] - l[y * LM_SIDE + x + 1];
                lap2 += d * d;
                nl++;
            }
        }
    if (n == 0 || nl == 0)
        return 0;
    double var = s2 / n - (s / n) * (s / n);
    return (float)(sqrt(lap2 / nl) / (sqrt(var > 0 ? var : 0) + 1.0));
}

/* Landmarks, EAR, sharpness, cut of one detected face (box set). 0, or -1 when the box
 * has no pixels inside the frame. */
static int finish_face(const tgi_faces *f, arena *a, const uint8_t *rgb, int W, int H, int stride,
                       tgi_face *fc)
{
    /* face-api's Box.clipAtImageBorders(...).floor() */
    float x = fmaxf(fc->x, 0), y = fmaxf(fc->y, 0);
    float cwf = fminf(fc->x + fc->w - x, (float)W - x),
          chf = fminf(fc->y + fc->h - y, (float)H - y);
    int cx = (int)floorf(x), cy = (int)floorf(y), cw = (int)floorf(cwf), ch = (int)floorf(chf);
    if (cw < 1 || ch < 1 || cx >= W || cy >= H)
        return -1;
    if (cx + cw > W)
        cw = W - cx;
    if (cy + ch > H)
        ch = H - cy;
    /* padToSquare(centred): round(diff/2) appended, the rest prepended */
    int side = cw > ch ? cw : ch, diff = abs(cw - ch);
    int app = (int)floor(diff * 0.5 + 0.5), pre = diff - app;
    int pl = cw < ch ? pre : 0, pt = ch < cw ? pre : 0;
    resize_square(a, rgb + (size_t)cy * stride + (size_t)cx * 3, stride, cw, ch, pl, pt, side,
                  LM_SIDE, LM_MEAN, a->b[0], a->luma);
    float o[2 * TG_FACE_LANDMARKS];
    lm_forward(f, a, o);
    /* FaceLandmark68NetBase.postProcess: relative to the crop */
    float sc = (float)LM_SIDE / (float)side, sw = (float)cw * sc, sh = (float)ch * sc;
    float px = sw < sh ? (sh - sw) / 2 : 0, py = sh < sw ? (sw - sh) / 2 : 0;
    for (int i = 0; i < TG_FACE_LANDMARKS; i++) {
        float rx = (o[2 * i] * LM_SIDE - px) / sw, ry = (o[2 * i + 1] * LM_SIDE - py) / sh;
        fc->lm[i][0] = (float)cx + rx * (float)cw;
        fc->lm[i][1] = (float)cy + ry * (float)ch;
    }
    fc->ear[0] = tgi_face_ear(fc->lm + 36);
    fc->ear[1] = tgi_face_ear(fc->lm + 42);
    float e = (fc->ear[0] + fc->ear[1]) / 2, open = (e - 0.18f) / 0.12f;
    fc->eyes_open = open < 0 ? 0 : open > 1 ? 1 : open;
    int lx0 = (int)ceilf((float)pl * sc), ly0 = (int)ceilf((float)pt * sc);
    int lx1 = (int)floorf((float)(pl + cw) * sc), ly1 = (int)floorf((float)(pt + ch) * sc);
    fc->sharpness =
        sharpness(a->luma, lx0, ly0, lx1 < LM_SIDE ? lx1 : LM_SIDE, ly1 < LM_SIDE ? ly1 : LM_SIDE);
    float ol = -fc->x, ot = -fc->y, or = fc->x + fc->w - (float)W, ob = fc->y + fc->h - (float)H;
    fc->cut = (ol > 0.05f * fc->w ? TG_FACE_CUT_LEFT : 0) |
              (ot > 0.05f * fc->h ? TG_FACE_CUT_TOP : 0) |
              (or > 0.05f * fc->w ? TG_FACE_CUT_RIGHT : 0) |
              (ob > 0.05f * fc->h ? TG_FACE_CUT_BOTTOM : 0);
    float iw = fminf(fc->x + fc->w, (float)W) - fmaxf(fc->x, 0);
    float ih = fminf(fc->y + fc->h, (float)H) - fmaxf(fc->y, 0);
    fc->inside = iw > 0 && ih > 0 ? iw * ih / (fc->w * fc->h) : 0;
    return 0;
}

static int detect_one(const tgi_faces *f, arena *a, const uint8_t *rgb, int W, int H, int stride,
                      tgi_face *out, int max)
{
    const int S = f->S;
    int side = W > H ? W : H;
    resize_square(a, rgb, stride, W, H, 0, 0, side, S, DET_MEAN, a->b[0], NULL);
    int cells;
    const float *g = det_forward(f, a, &cells);
    /* TinyYolov2Base.extractBoxes: boxes relative to the frame */
    double scale = (double)S / side;
    float cfx = (float)S / (float)floor(W * scale + 0.5),
          cfy = (float)S / (float)floor(H * scale + 0.5);
    a->ncand = 0;
    for (int row = 0; row < cells; row++)
        for (int col = 0; col < cells; col++)
            for (int k = 0; k < ANCHORS; k++) {
                const float *v = g + ((size_t)row * cells + col) * ANCHORS * 5 + k * 5;
                float score = sigm(v[4]);
                if (!(score > f->min_score))
                    continue;
                float ctx_ = ((float)col + sigm(v[0])) / (float)cells * cfx;
                float cty = ((float)row + sigm(v[1])) / (float)cells * cfy;
                float bw = expf(v[2]) * DET_ANCHORS[k][0] / (float)cells * cfx;
                float bh = expf(v[3]) * DET_ANCHORS[k][1] / (float)cells * cfy;
                tgi_face *c = &a->cand[a->ncand++];
                memset(c, 0, sizeof *c);
                c->x = (ctx_ - bw / 2) * (float)W;
                c->y = (cty - bh / 2) * (float)H;
                c->w = bw * (float)W;
                c->h = bh * (float)H;
                c->score = score;
            }
    qsort(a->cand, (size_t)a->ncand, sizeof *a->cand, by_score);
    int n = 0;
    for (int i = 0; i < a->ncand && n < max; i++) {
        tgi_face *c = &a->cand[i];
        if (c->score < 0)
            continue; /* suppressed */
        for (int j = i + 1; j < a->ncand; j++)
            if (a->cand[j].score >= 0 && iou(c, &a->cand[j]) > IOU_THRESHOLD)
                a->cand[j].score = -1;
        out[n] = *c;
        if (finish_face(f, a, rgb, W, H, stride, &out[n]) == 0)
            n++;
    }
    return n;
}

static int check_frame(tg_ctx *ctx, const uint8_t *rgb, int w, int h, int stride)
{
    if (!rgb || w < 1 || h < 1 || w > NN_MAX_SIDE || h > NN_MAX_SIDE || stride < 3 * w)
        return tgi_fail(ctx, TG_EINVAL, "bad frame for face detection (%dx%d, stride %d)", w, h,
                        stride);
    return 0;
}

int tgi_faces_detect(tg_ctx *ctx, tgi_faces *f, const uint8_t *rgb, int w, int h, int stride,
                     tgi_face *out, int max)
{
    if (!f || (!out && max > 0) || max < 0)
        return tgi_fail(ctx, TG_EINVAL, "bad arguments to tgi_faces_detect");
    int rc = check_frame(ctx, rgb, w, h, stride);
    if (rc)
        return rc;
    openblas_set_num_threads(1);
    return detect_one(f, &f->ar[0], rgb, w, h, stride, out, max);
}

typedef struct job {
    tgi_faces *f;
    int t, n, max;
    const tgi_faces_frame *frames;
    tgi_face *out;
    int *counts;
} job;

/* Part t of a batch: frames t, t + threads, ... with arena t (each part runs once per
 * batch, so no two share an arena). */
static void batch_part(void *user, int lane, int part)
{
    (void)lane;
    job *j = &((job *)user)[part];
    for (int i = j->t; i < j->n; i += j->f->threads) {
        const tgi_faces_frame *fr = &j->frames[i];
        j->counts[i] = detect_one(j->f, &j->f->ar[j->t], fr->rgb, fr->w, fr->h, fr->stride,
                                  j->out + (size_t)i * j->max, j->max);
    }
}

int tgi_faces_detect_batch(tg_ctx *ctx, tgi_faces *f, const tgi_faces_frame *frames, int n,
                           tgi_face *out, int max, int *counts)
{
    if (!f || n < 0 || (n > 0 && (!frames || !counts || (max > 0 && !out))) || max < 0)
        return tgi_fail(ctx, TG_EINVAL, "bad arguments to tgi_faces_detect_batch");
    for (int i = 0; i < n; i++) {
        int rc = check_frame(ctx, frames[i].rgb, frames[i].w, frames[i].h, frames[i].stride);
        if (rc)
            return rc;
    }
    openblas_set_num_threads(1);
    int T = f->threads < n ? f->threads : n;
    job jobs[MAX_THREADS];
    for (int t = 0; t < T; t++)
        jobs[t] = (job){f, t, n, max, frames, out, counts};
    if (f->pool)
        tgi_pool_run(f->pool, T, 0, batch_part, jobs);
    else
        for (int t = 0; t < T; t++)
            batch_part(jobs, 0, t);
    return 0;
}

/* floats each arena buffer needs: the largest tensor of either net */
static void plan(tgi_faces *f)
{
    size_t big = (size_t)f->S * f->S * 3;
    size_t h = (size_t)f->S - 2, c0 = h * h * DET_CH[0];
    big = c0 > big ? c0 : big;
    for (int i = 0; i < 5; i++) {
        h = (h + 1) / 2;
        size_t t = h * h * (size_t)DET_CH[i + 1];
        big = t > big ? t : big;
    }
    size_t lm = (size_t)(LM_SIDE / 2) * (LM_SIDE / 2) * 32;
    lm = lm > (size_t)LM_SIDE * LM_SIDE * 3 ? lm : (size_t)LM_SIDE * LM_SIDE * 3;
    f->buf_floats = big > lm ? big : lm;
}

void tgi_faces_close(tgi_faces **pf)
{
    if (!pf || !*pf)
        return;
    tgi_faces *f = *pf;
    for (int t = 0; t < MAX_THREADS; t++) {
        for (int k = 0; k < 4; k++)
            free(f->ar[t].b[k]);
        free(f->ar[t].luma);
        free(f->ar[t].cand);
        free(f->ar[t].xo);
        free(f->ar[t].xw);
    }
    tgi_pool_free(&f->pool);
    fset_free(&f->det_w);
    fset_free(&f->lm_w);
    free(f);
    *pf = NULL;
}

int tgi_faces_open(tg_ctx *ctx, const char *models_dir, const tgi_faces_opts *opts, tgi_faces **out)
{
    tgi_faces_opts o = opts ? *opts : (tgi_faces_opts){0};
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "bad arguments to tgi_faces_open");
    *out = NULL;
    if (o.input_size == 0)
        o.input_size = TG_FACES_INPUT;
    if (o.min_score == 0)
        o.min_score = 0.5f;
    if (o.threads == 0)
        o.threads = 1;
    if (o.input_size < 64 || o.input_size > 608 || o.input_size % 32 || !(o.min_score > 0) ||
        !(o.min_score < 1) || o.threads < 1 || o.threads > MAX_THREADS)
        return tgi_fail(ctx, TG_EINVAL,
                        "bad face detector options (input %d must be a multiple of 32 in "
                        "64..608, score in (0,1), threads 1..%d)",
                        o.input_size, MAX_THREADS);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", models_dir ? models_dir : tgi_nn_models_dir(), FACES_DIR);
    tgi_faces *f = calloc(1, sizeof *f);
    if (!f)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    f->S = o.input_size;
    f->min_score = o.min_score;
    f->threads = o.threads;
    int rc = fset_load(ctx, dir, DET_NET, &f->det_w);
    if (!rc)
        rc = load_det(ctx, &f->det_w, &f->det);
    if (!rc)
        rc = fset_load(ctx, dir, o.tiny_landmarks ? LM_TINY_NET : LM_NET, &f->lm_w);
    if (!rc)
        rc = load_lm(ctx, &f->lm_w, o.tiny_landmarks, &f->lm);
    if (rc)
        goto fail;
    plan(f);
    int cells = f->S / 32, ncand = cells * cells * ANCHORS;
    for (int t = 0; t < f->threads; t++) {
        arena *a = &f->ar[t];
        for (int k = 0; k < 4; k++)
            if (!(a->b[k] = malloc(f->buf_floats * sizeof(float))))
                goto nomem;
        if (!(a->luma = malloc((size_t)LM_SIDE * LM_SIDE * sizeof(float))) ||
            !(a->cand = malloc((size_t)ncand * sizeof(tgi_face))) ||
            !(a->xo = malloc((size_t)2 * (f->S > LM_SIDE ? f->S : LM_SIDE) * sizeof(int))) ||
            !(a->xw = malloc((size_t)3 * (f->S > LM_SIDE ? f->S : LM_SIDE) * sizeof(float))))
            goto nomem;
    }
    if (f->threads > 1 && !(f->pool = tgi_pool_new(f->threads)))
        goto nomem;
    *out = f;
    return 0;
nomem:
    rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for the face networks");
fail:
    tgi_faces_close(&f);
    return rc;
}

void tgi_faces_flops(const tgi_faces *f, double *detector, double *landmarks)
{
    double d = 0, h = f->S - 2;
    d += 2.0 * h * h * 27 * DET_CH[0];
    for (int i = 0; i < 5; i++) {
        h = floor((h + 1) / 2);
        d += 2.0 * h * h * (9.0 * DET_CH[i] + (double)DET_CH[i] * DET_CH[i + 1]);
    }
    d += 2.0 * h * h * DET_CH[5] * ANCHORS * 5;
    double l = 0, s = LM_SIDE / 2;
    l += 2.0 * s * s * 27 * 32;
    for (int b = 0; b < f->lm.blocks; b++) {
        int c = 32 << b;
        if (b > 0) {
            s /= 2;
            l += 2.0 * s * s * (9.0 * c / 2 + (double)c / 2 * c);
        }
        l += (f->lm.convs - 1) * 2.0 * s * s * (9.0 * c + (double)c * c);
    }
    l += 2.0 * (32 << (f->lm.blocks - 1)) * 2 * TG_FACE_LANDMARKS;
    if (detector)
        *detector = d;
    if (landmarks)
        *landmarks = l;
}
