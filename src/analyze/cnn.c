/*
 * cnn.c — sampled frames through nsfwjs's networks (see cnn.h).
 */
#include "analyze/cnn.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/utf8.h"
#include "nn/nn.h"

const char *const tgi_cnn_class_names[TG_CNN_CLASSES] = {"drawing", "hentai", "neutral", "porn",
                                                         "sexy"};
enum { CLS_HENTAI = 1, CLS_PORN = 3, CLS_SEXY = 4 };

/* The pooled-features layer of both nsfwjs models (Flatten after the pooling). */
#define EMBED_TAP "flatten_1"

/* The registry (TG_CNN_MODELS, cnn.h), index = enum tg_network. */
static const struct {
    const char *name, *dir;
    int side;
    float repeat_sim;  /* best-matching frames of two shots: a repeat at and above */
    float cluster_sim; /* average linkage: one cluster at and above */
} MODELS[] = {
#define MODEL_ROW(e, name, dir, side, rs, cs) {name, dir, side, rs, cs},
    TG_CNN_MODELS(MODEL_ROW)
#undef MODEL_ROW
};
/* each row at its enum value */
#define POS_ROW(e, name, dir, side, rs, cs) POS_##e,
enum { TG_CNN_MODELS(POS_ROW) };
#define ENUM_CHECK(e, name, dir, side, rs, cs)                                                     \
    _Static_assert((int)TG_CNN_##e == (int)POS_##e, "enum tg_network and TG_CNN_MODELS differ");
TG_CNN_MODELS(ENUM_CHECK)
#undef ENUM_CHECK
#undef POS_ROW
#define N_MODELS (int)(sizeof(MODELS) / sizeof(MODELS[0]))

/*
 * Batches run on a worker thread while the caller goes on decoding (the keyframe
 * pass decodes on one core, so the network is then nearly free): frames are queued
 * into one of two staging buffers; a full one is handed to the worker, which copies
 * it into the session's input, runs it and appends the results.
 */
typedef struct stage {
    float *in;  /* batch frames */
    double *t;  /* their times */
    int queued; /* frames in it */
} stage;

struct tgi_cnn {
    int model, side, dim, batch;
    tgi_nn *nn;
    tgi_nn_session *sess;
    stage st[2];
    int cur; /* the staging buffer being filled */
    /* results (written by the worker, read after tgi_cnn_flush) */
    tgi_cnn_item *items;
    float *emb;
    size_t n, cap;
    /* the worker */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int job;  /* staging buffer handed over, -1 = none */
    int busy; /* running a job */
    int quit; /* the worker should end */
    int rc;   /* first error of the worker (0 = none) */
    char err[512];
    tg_ctx *wctx; /* the worker's own context */
};

const char *tgi_cnn_model_name(int model)
{
    return model >= 0 && model < N_MODELS ? MODELS[model].name : "?";
}

static void *worker(void *arg);

int tgi_cnn_open(tg_ctx *ctx, int model, int batch, int threads, tgi_cnn **out)
{
    *out = NULL;
    if (model <= TG_CNN_NONE || model >= N_MODELS)
        return tgi_fail(ctx, TG_EINVAL, "no such network (%d)", model);
    if (batch < 1 || batch > 256)
        return tgi_fail(ctx, TG_EINVAL, "bad batch size %d", batch);
    char dir[PATH_MAX], json[PATH_MAX + 16];
    const char *root = tgi_nn_models_dir();
    snprintf(dir, sizeof(dir), "%s/%s", root, MODELS[model].dir);
    snprintf(json, sizeof(json), "%s/model.json", dir);
    if (access(json, R_OK) != 0)
        return tgi_fail(ctx, TG_ENOENT,
                        "the %s weights are missing (no %s): run scripts/fetch-models, or set "
                        "TG_MODELS to the folder it fills",
                        MODELS[model].name, json);
    if (threads <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus;
    }
    tgi_cnn *c = calloc(1, sizeof(*c));
    if (!c)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    c->model = model;
    c->side = MODELS[model].side;
    c->batch = batch;
    int rc = tgi_nn_load(ctx, dir, &c->nn);
    if (rc < 0)
        goto fail;
    int h, w, ch;
    tgi_nn_input_size(c->nn, &h, &w, &ch);
    if (h != c->side || w != c->side || ch != 3) {
        rc = tgi_fail(ctx, TG_EFORMAT, "%s: the model takes %dx%dx%d, not %dx%dx3", dir, h, w, ch,
                      c->side, c->side);
        goto fail;
    }
    const char *taps[] = {EMBED_TAP};
    if ((rc = tgi_nn_session_new(ctx, c->nn, batch, c->side, c->side, threads, taps, 1, &c->sess)) <
        0)
        goto fail;
    int eh, ew, ec;
    const float *probe = tgi_nn_output(c->sess, EMBED_TAP, &eh, &ew, &ec);
    const float *fin = tgi_nn_output(c->sess, NULL, &h, &w, &ch);
    if (!probe || !fin || h * w * ch != TG_CNN_CLASSES || eh * ew * ec < 16) {
        rc = tgi_fail(ctx, TG_EFORMAT,
                      "%s: not an nsfwjs classifier (no %s features or not %d "
                      "classes)",
                      dir, EMBED_TAP, TG_CNN_CLASSES);
        goto fail;
    }
    c->dim = eh * ew * ec;
    size_t frame = (size_t)c->side * c->side * 3;
    for (int k = 0; k < 2; k++) {
        c->st[k].in = malloc((size_t)batch * frame * sizeof(float));
        c->st[k].t = malloc((size_t)batch * sizeof(double));
        if (!c->st[k].in || !c->st[k].t) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for the CNN's input");
            goto fail;
        }
    }
    if (!(c->wctx = tg_ctx_new())) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    c->job = -1;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (pthread_create(&c->thread, NULL, worker, c) != 0) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
        rc = tgi_fail(ctx, TG_ENOMEM, "cannot start the CNN thread");
        goto fail;
    }
    c->started = 1;
    *out = c;
    return 0;
fail:
    tgi_cnn_close(&c);
    return rc;
}

void tgi_cnn_close(tgi_cnn **pc)
{
    tgi_cnn *c = *pc;
    if (!c)
        return;
    if (c->started) {
        pthread_mutex_lock(&c->mu);
        c->quit = 1;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
    }
    tgi_nn_session_free(&c->sess);
    tgi_nn_free(&c->nn);
    for (int k = 0; k < 2; k++) {
        free(c->st[k].in);
        free(c->st[k].t);
    }
    tg_ctx_free(&c->wctx);
    free(c->items);
    free(c->emb);
    free(c);
    *pc = NULL;
}

int tgi_cnn_side(const tgi_cnn *c)
{
    return c->side;
}

int tgi_cnn_dim(const tgi_cnn *c)
{
    return c->dim;
}

int tgi_cnn_model(const tgi_cnn *c)
{
    return c->model;
}

float tgi_cnn_repeat_sim(const tgi_cnn *c)
{
    return MODELS[c->model].repeat_sim;
}

float tgi_cnn_cluster_sim(const tgi_cnn *c)
{
    return MODELS[c->model].cluster_sim;
}

void tgi_cnn_reset(tgi_cnn *c)
{
    pthread_mutex_lock(&c->mu);
    while (c->busy || c->job >= 0)
        pthread_cond_wait(&c->cv, &c->mu);
    c->n = 0;
    c->rc = 0;
    c->st[0].queued = c->st[1].queued = 0;
    pthread_mutex_unlock(&c->mu);
}

/* Results are read after tgi_cnn_flush, when the worker is idle. */
size_t tgi_cnn_count(const tgi_cnn *c)
{
    return c ? c->n : 0;
}

const tgi_cnn_item *tgi_cnn_items(const tgi_cnn *c)
{
    return c->items;
}

const float *tgi_cnn_embedding(const tgi_cnn *c, size_t i)
{
    return c->emb + i * (size_t)c->dim;
}

float tgi_cnn_similarity(const float *a, const float *b, int dim)
{
    float d = 0;
    for (int i = 0; i < dim; i++)
        d += a[i] * b[i];
    return d;
}

static float *next_slot(tgi_cnn *c)
{
    stage *st = &c->st[c->cur];
    return st->in + (size_t)st->queued * c->side * c->side * 3;
}

/* Run staging buffer k on the session and append the results (worker thread). */
static int run_stage(tgi_cnn *c, stage *st)
{
    size_t frame = (size_t)c->side * c->side * 3;
    memcpy(tgi_nn_session_input(c->sess), st->in, (size_t)st->queued * frame * sizeof(float));
    int rc = tgi_nn_forward(c->wctx, c->sess, st->queued);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&c->mu);
    if (c->n + (size_t)st->queued > c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 256;
        while (nc < c->n + (size_t)st->queued)
            nc *= 2;
        tgi_cnn_item *ni = realloc(c->items, nc * sizeof(*ni));
        if (ni)
            c->items = ni;
        float *ne = realloc(c->emb, nc * (size_t)c->dim * sizeof(float));
        if (ne)
            c->emb = ne;
        if (!ni || !ne) {
            pthread_mutex_unlock(&c->mu);
            return tgi_fail(c->wctx, TG_ENOMEM, "out of memory for %zu embeddings", nc);
        }
        c->cap = nc;
    }
    pthread_mutex_unlock(&c->mu);
    const float *probs = tgi_nn_output(c->sess, NULL, NULL, NULL, NULL);
    const float *feat = tgi_nn_output(c->sess, EMBED_TAP, NULL, NULL, NULL);
    for (int b = 0; b < st->queued; b++) {
        tgi_cnn_item *it = &c->items[c->n];
        it->t = st->t[b];
        memcpy(it->classes, probs + (size_t)b * TG_CNN_CLASSES, sizeof(it->classes));
        it->nsfw = it->classes[CLS_PORN] + it->classes[CLS_HENTAI] + it->classes[CLS_SEXY];
        const float *f = feat + (size_t)b * c->dim;
        float *e = c->emb + c->n * (size_t)c->dim;
        double norm = 0;
        for (int i = 0; i < c->dim; i++)
            norm += (double)f[i] * f[i];
        float inv = norm > 0 ? (float)(1.0 / sqrt(norm)) : 0;
        for (int i = 0; i < c->dim; i++)
            e[i] = f[i] * inv;
        c->n++;
    }
    return 0;
}

static void *worker(void *arg)
{
    tgi_cnn *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (c->job < 0 && !c->quit)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->job < 0)
            break;
        stage *st = &c->st[c->job];
        c->job = -1;
        c->busy = 1;
        pthread_mutex_unlock(&c->mu);
        int rc = c->rc ? 0 : run_stage(c, st);
        pthread_mutex_lock(&c->mu);
        if (rc < 0 && !c->rc) {
            c->rc = rc;
            tgi_utf8_copy(c->err, sizeof(c->err), tg_ctx_message(c->wctx));
        }
        st->queued = 0;
        c->busy = 0;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

/* Wait for the worker to be idle; with hand_over, give it the current staging
 * buffer and fill the other one from now on. Reports the worker's error. */
static int sync_worker(tg_ctx *ctx, tgi_cnn *c, int hand_over)
{
    pthread_mutex_lock(&c->mu);
    while (c->busy || c->job >= 0)
        pthread_cond_wait(&c->cv, &c->mu);
    int rc = c->rc;
    if (!rc && hand_over && c->st[c->cur].queued > 0) {
        c->job = c->cur;
        c->cur ^= 1;
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    return rc < 0 ? tgi_fail(ctx, rc, "%s", c->err) : 0;
}

static int queued(tg_ctx *ctx, tgi_cnn *c, double t)
{
    stage *st = &c->st[c->cur];
    st->t[st->queued++] = t;
    return st->queued == c->batch ? sync_worker(ctx, c, 1) : 0;
}

int tgi_cnn_push(tg_ctx *ctx, tgi_cnn *c, double t, const uint8_t *rgb)
{
    float *dst = next_slot(c);
    size_t n = (size_t)c->side * c->side * 3;
    for (size_t i = 0; i < n; i++)
        dst[i] = rgb[i] * (1.0f / 255.0f);
    return queued(ctx, c, t);
}

/* tf.image.resizeBilinear(alignCorners = true): output pixel i samples the input at
 * i * (in - 1) / (out - 1), the corners landing on the corners. */
int tgi_cnn_push_image(tg_ctx *ctx, tgi_cnn *c, double t, const uint8_t *rgb, int w, int h,
                       int stride)
{
    if (w < 1 || h < 1)
        return tgi_fail(ctx, TG_EINVAL, "empty picture");
    float *dst = next_slot(c);
    int S = c->side;
    float sy = S > 1 ? (float)(h - 1) / (S - 1) : 0, sx = S > 1 ? (float)(w - 1) / (S - 1) : 0;
    for (int y = 0; y < S; y++) {
        float fy = y * sy;
        int y0 = (int)fy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        float wy = fy - y0;
        const uint8_t *r0 = rgb + (size_t)y0 * stride, *r1 = rgb + (size_t)y1 * stride;
        for (int x = 0; x < S; x++) {
            float fx = x * sx;
            int x0 = (int)fx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            float wx = fx - x0;
            for (int k = 0; k < 3; k++) {
                float top = r0[x0 * 3 + k] + (r0[x1 * 3 + k] - r0[x0 * 3 + k]) * wx;
                float bot = r1[x0 * 3 + k] + (r1[x1 * 3 + k] - r1[x0 * 3 + k]) * wx;
                *dst++ = (top + (bot - top) * wy) * (1.0f / 255.0f);
            }
        }
    }
    return queued(ctx, c, t);
}

int tgi_cnn_flush(tg_ctx *ctx, tgi_cnn *c)
{
    int rc = sync_worker(ctx, c, 1);
    return rc < 0 ? rc : sync_worker(ctx, c, 0);
}
