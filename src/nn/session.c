/*
 * session.c — shapes, memory plan and execution of a loaded model (graph.h).
 *
 * tgi_nn_session_new() infers every node's h × w for the session's input size, then
 * splits the tensors in two kinds:
 *   kept     the input, the final output and the taps: one block each for the whole
 *            batch (item i at i*h*w*c), so the caller can read them after forward;
 *   working  everything else: one item's worth, placed in a per-worker arena by a
 *            first-fit plan over the tensors' lifetimes (a tensor is live from the
 *            node that writes it to the last node that reads it), so tensors that are
 *            never live together share memory.
 * After the arena comes the worker's im2col scratch. Everything is allocated once;
 * tgi_nn_forward() allocates nothing and starts no thread: a session for batches
 * keeps a pool of min(threads, batch) lanes (core/pool.h) for its whole life.
 *
 * tgi_nn_forward() runs whole items: with W = min(threads, n) workers, each worker
 * takes the next item and runs every node on it with single-threaded OpenBLAS; a
 * single worker (n = 1 or threads = 1) lets OpenBLAS use all the threads instead,
 * with larger GEMM tiles.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/pool.h"
#include "nn/graph.h"
#include "nn/kernels.h"

#define NN_MAX_SESSION_BYTES ((size_t)6 << 30) /* all buffers of one session */
#define NN_MAX_BATCH         4096
#define NN_MAX_THREADS       256
#define NN_MAX_TENSOR_SIDE   65536        /* any tensor's h or w, e.g. after UpSampling2D */
#define NN_TILE_FLOATS       (128 * 1024) /* im2col/GEMM tile with one BLAS thread (~L2) */
#define NN_TILE_MULTI        8            /* larger tiles when OpenBLAS runs threaded */
#define NN_ALIGN             16           /* floats: 64-byte alignment of every tensor */

typedef struct nn_val {
    nn_shape s;
    size_t size; /* floats per item */
    int kept;    /* one block for the whole batch */
    int last;    /* last node reading it */
    size_t off;  /* floats from the kept block or from the worker's arena */
} nn_val;

struct tgi_nn_session {
    const tgi_nn *nn;
    int batch, h, w, threads;
    nn_val *v;                     /* per node */
    nn_geom *g;                    /* per node */
    int *mtile;                    /* per node: GEMM tile (pixels) with one BLAS thread */
    float *kept;                   /* the kept block */
    float *work;                   /* threads × (arena + scratch) */
    size_t arena, scratch, worker; /* floats */
    double flops;
    tgi_pool *pool; /* min(threads, batch) lanes for batches; NULL for one lane */
};

static int window(int in, int k, int s, int same, int pa, int pb, int *out, int *ra, int *rb)
{
    if (same) {
        int o = (in + s - 1) / s;
        long total = (long)(o - 1) * s + k - in;
        if (total < 0)
            total = 0;
        *out = o;
        *ra = (int)(total / 2);
        *rb = (int)(total - total / 2);
        return 0;
    }
    long span = (long)in + pa + pb;
    if (span < k)
        return -1;
    *out = (int)((span - k) / s + 1);
    *ra = pa;
    *rb = pb;
    return 0;
}

/* ---- the kinds of node: one row each (OPS below) ---- */

/* What one node runs on for one item (run_item fills it in). */
typedef struct nn_run {
    const tgi_nn_session *s;
    const nn_node *n;
    const nn_val *o, *x; /* the node's output and its first input */
    const float *in;     /* the first input's tensor */
    float *out, *base, *scratch;
    int item, big;
    nn_win a;
} nn_run;

typedef int (*shape_fn)(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o,
                        nn_geom *g, char *err, size_t errlen);

static int shape_same(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o,
                      nn_geom *g, char *err, size_t errlen)
{
    (void)n, (void)shapes, (void)in, (void)o, (void)g, (void)err, (void)errlen;
    return 0;
}

static int shape_dead(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o,
                      nn_geom *g, char *err, size_t errlen)
{
    (void)n, (void)shapes, (void)in, (void)g, (void)err, (void)errlen;
    *o = (nn_shape){0, 0, 0};
    return 0;
}

static int shape_window(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o,
                        nn_geom *g, char *err, size_t errlen)
{
    (void)shapes;
    if (in.h > 0 && in.w > 0 &&
        (window(in.h, n->kh, n->sh, n->same, n->pt, n->pb, &o->h, &g->pt, &g->pb) ||
         window(in.w, n->kw, n->sw, n->same, n->pl, n->pr, &o->w, &g->pl, &g->pr))) {
        snprintf(err, errlen, "layer '%s': a %dx%d input is smaller than its %dx%d window", n->name,
                 in.h, in.w, n->kh, n->kw);
        return -1;
    }
    return 0;
}

static int shape_pad(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o, nn_geom *g,
                     char *err, size_t errlen)
{
    (void)shapes, (void)g, (void)err, (void)errlen;
    if (in.h > 0 && in.w > 0)
        o->h = in.h + n->pt + n->pb, o->w = in.w + n->pl + n->pr;
    return 0;
}

static int shape_upsample(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o,
                          nn_geom *g, char *err, size_t errlen)
{
    (void)shapes, (void)g, (void)err, (void)errlen;
    if (in.h > 0 && in.w > 0)
        o->h = in.h * n->uh, o->w = in.w * n->uw; /* in.h <= 65536, uh <= 64: no overflow */
    return 0;
}

static int shape_merge(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o,
                       nn_geom *g, char *err, size_t errlen)
{
    (void)o, (void)g;
    for (int k = 1; k < n->nin; k++) {
        nn_shape b = shapes[n->in[k]];
        if (in.h > 0 && in.w > 0 && (b.h != in.h || b.w != in.w)) {
            snprintf(err, errlen, "layer '%s': inputs of %dx%d and %dx%d cannot be merged", n->name,
                     in.h, in.w, b.h, b.w);
            return -1;
        }
    }
    return 0;
}

static int shape_vector(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o,
                        nn_geom *g, char *err, size_t errlen)
{
    (void)n, (void)shapes, (void)in, (void)g, (void)err, (void)errlen;
    o->h = o->w = 1;
    return 0;
}

/* MUL: in[1] has in[0]'s size or is 1×1 (a per-channel scale) */
static int shape_mul(const nn_node *n, const nn_shape *shapes, nn_shape in, nn_shape *o, nn_geom *g,
                     char *err, size_t errlen)
{
    (void)o, (void)g;
    nn_shape b = shapes[n->in[1]];
    if (b.c != in.c ||
        (in.h > 0 && in.w > 0 && !(b.h == in.h && b.w == in.w) && !(b.h == 1 && b.w == 1))) {
        snprintf(err, errlen, "layer '%s': a %dx%dx%d tensor cannot multiply a %dx%dx%d one",
                 n->name, b.h, b.w, b.c, in.h, in.w, in.c);
        return -1;
    }
    return 0;
}

static double flops_none(const tgi_nn_session *s, int i)
{
    (void)s, (void)i;
    return 0;
}

static double flops_conv(const tgi_nn_session *s, int i)
{
    const nn_node *n = &s->nn->nodes[i];
    return 2.0 * s->v[i].s.h * s->v[i].s.w * n->kh * n->kw * s->v[n->in[0]].s.c * n->c;
}

static double flops_dwconv(const tgi_nn_session *s, int i)
{
    const nn_node *n = &s->nn->nodes[i];
    return 2.0 * s->v[i].s.h * s->v[i].s.w * n->kh * n->kw * n->c;
}

static double flops_pool(const tgi_nn_session *s, int i)
{
    const nn_node *n = &s->nn->nodes[i];
    return (double)s->v[i].s.h * s->v[i].s.w * n->kh * n->kw * n->c;
}

static double flops_add(const tgi_nn_session *s, int i)
{
    return (double)(s->nn->nodes[i].nin - 1) * (double)s->v[i].size;
}

static double flops_affine(const tgi_nn_session *s, int i)
{
    return 2.0 * (double)s->v[i].size;
}

static double flops_gap(const tgi_nn_session *s, int i)
{
    return (double)s->v[s->nn->nodes[i].in[0]].size;
}

static void run_none(const nn_run *r)
{
    (void)r;
}

static void run_conv(const nn_run *r)
{
    nn_win a = r->a;
    if (r->big) {
        size_t M = (size_t)r->o->s.h * r->o->s.w, t = (size_t)a.mtile * NN_TILE_MULTI;
        a.mtile = (int)(t > M ? M : t);
    }
    nn_conv(&a, r->in, r->out, r->scratch);
}

static void run_dwconv(const nn_run *r)
{
    nn_dwconv(&r->a, r->in, r->out);
}

static void run_avgpool(const nn_run *r)
{
    nn_avgpool(&r->a, r->in, r->out);
}

static void run_maxpool(const nn_run *r)
{
    nn_maxpool(&r->a, r->in, r->out);
}

static void run_affine(const nn_run *r)
{
    const nn_node *n = r->n;
    nn_affine(r->in, r->out, r->o->size / (size_t)r->o->s.c, r->o->s.c, n->w, n->b, n->act,
              n->act_max);
}

static void run_act(const nn_run *r)
{
    if (r->out != r->in)
        memcpy(r->out, r->in, r->o->size * sizeof *r->out);
    nn_epilogue(r->out, r->o->size / (size_t)r->o->s.c, r->o->s.c, NULL, r->n->act, r->n->act_max);
}

static float *val(const tgi_nn_session *s, int id, float *arena, int item);

static void run_merge(const nn_run *r)
{
    const nn_node *n = r->n;
    const float *ins[NN_MAX_INPUTS];
    int cs[NN_MAX_INPUTS];
    for (int k = 0; k < n->nin; k++) {
        ins[k] = val(r->s, n->in[k], r->base, r->item);
        cs[k] = r->s->v[n->in[k]].s.c;
    }
    if (n->op == NN_ADD)
        nn_add(r->out, ins, n->nin, r->o->size, n->act, n->act_max);
    else
        nn_concat(r->out, ins, cs, n->nin, (size_t)r->o->s.h * r->o->s.w);
}

static void run_pad(const nn_run *r)
{
    const nn_node *n = r->n;
    nn_zeropad(r->in, r->out, r->x->s.h, r->x->s.w, r->x->s.c, n->pt, n->pb, n->pl, n->pr);
}

static void run_upsample(const nn_run *r)
{
    nn_upsample(r->in, r->out, r->x->s.h, r->x->s.w, r->x->s.c, r->n->uh, r->n->uw);
}

static void run_gap(const nn_run *r)
{
    nn_global_avg(r->in, r->out, (size_t)r->x->s.h * r->x->s.w, r->x->s.c);
}

static void run_mul(const nn_run *r)
{
    const nn_val *b = &r->s->v[r->n->in[1]];
    int bcast = b->s.h != r->o->s.h || b->s.w != r->o->s.w;
    nn_mul(r->out, r->in, val(r->s, r->n->in[1], r->base, r->item), (size_t)r->o->s.h * r->o->s.w,
           r->o->s.c, bcast);
}

static void run_resize(const nn_run *r)
{
    nn_resize_bilinear(r->in, r->out, r->x->s.h, r->x->s.w, r->x->s.c, r->o->s.h, r->o->s.w,
                       r->n->half_pixel);
}

static void run_copy(const nn_run *r)
{
    memcpy(r->out, r->in, r->o->size * sizeof *r->out);
}

/* One row per enum nn_op: the output shape's rule, the cost, the kernel. */
static const struct {
    shape_fn shape;
    double (*flops)(const tgi_nn_session *s, int i);
    void (*run)(const nn_run *r);
} OPS[] = {
    [NN_INPUT] = {shape_same, flops_none, run_none},
    [NN_DEAD] = {shape_dead, flops_none, run_none},
    [NN_CONV] = {shape_window, flops_conv, run_conv},
    [NN_DWCONV] = {shape_window, flops_dwconv, run_dwconv},
    [NN_AFFINE] = {shape_same, flops_affine, run_affine},
    [NN_ACT] = {shape_same, flops_none, run_act},
    [NN_ADD] = {shape_merge, flops_add, run_merge},
    [NN_CONCAT] = {shape_merge, flops_none, run_merge},
    [NN_PAD] = {shape_pad, flops_none, run_pad},
    [NN_AVGPOOL] = {shape_window, flops_pool, run_avgpool},
    [NN_MAXPOOL] = {shape_window, flops_pool, run_maxpool},
    [NN_GAP] = {shape_vector, flops_gap, run_gap},
    [NN_FLATTEN] = {shape_vector, flops_none, run_copy},
    [NN_UPSAMPLE] = {shape_upsample, flops_none, run_upsample},
    [NN_MUL] = {shape_mul, flops_affine, run_mul},
    [NN_RESIZE] = {shape_upsample, flops_affine, run_resize},
};
_Static_assert(sizeof(OPS) / sizeof(OPS[0]) == NN_OP_COUNT, "one row per enum nn_op");

int nn_infer(const tgi_nn *nn, int id, nn_shape *shapes, nn_geom *geom, char *err, size_t errlen)
{
    const nn_node *n = &nn->nodes[id];
    if (n->op == NN_INPUT)
        return 0;
    nn_shape in = n->nin ? shapes[n->in[0]] : shapes[0], o = {in.h, in.w, n->c};
    nn_geom g = {n->pt, n->pb, n->pl, n->pr};
    if (OPS[n->op].shape(n, shapes, in, &o, &g, err, errlen) != 0)
        return -1;
    if (o.h > NN_MAX_TENSOR_SIDE || o.w > NN_MAX_TENSOR_SIDE) {
        snprintf(err, errlen, "layer '%s': output of %dx%d is too large", n->name, o.h, o.w);
        return -1;
    }
    shapes[id] = o;
    if (geom)
        *geom = g;
    return 0;
}

static size_t round_up(size_t n)
{
    return (n + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
}

/* First-fit placement of the working tensors: returns the arena size in floats. */
static size_t plan_arena(tgi_nn_session *s)
{
    const tgi_nn *nn = s->nn;
    int *order = malloc((size_t)nn->nnodes * sizeof *order), n = 0;
    int *placed = malloc((size_t)nn->nnodes * sizeof *placed), np = 0;
    if (!order || !placed) {
        free(order);
        free(placed);
        return SIZE_MAX;
    }
    for (int i = 0; i < nn->nnodes; i++)
        if (!s->v[i].kept && nn->nodes[i].op != NN_DEAD)
            order[n++] = i;
    /* biggest first (insertion sort: a few hundred tensors) */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && s->v[order[j]].size > s->v[order[j - 1]].size; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t total = 0;
    for (int k = 0; k < n; k++) {
        nn_val *v = &s->v[order[k]];
        size_t need = round_up(v->size), off = 0;
        /* lowest offset that overlaps no placed tensor alive at the same time */
        for (int moved = 1; moved;) {
            moved = 0;
            for (int j = 0; j < np; j++) {
                const nn_val *u = &s->v[placed[j]];
                int alive = !(u->last < order[k] || v->last < placed[j]);
                if (alive && off < u->off + round_up(u->size) && u->off < off + need) {
                    off = u->off + round_up(u->size);
                    moved = 1;
                }
            }
        }
        v->off = off;
        placed[np++] = order[k];
        if (off + need > total)
            total = off + need;
    }
    free(order);
    free(placed);
    return total;
}

int tgi_nn_session_new(tg_ctx *ctx, const tgi_nn *nn, int batch, int h, int w, int threads,
                       const char *const *taps, int ntaps, tgi_nn_session **out)
{
    *out = NULL;
    if (!nn || batch < 1 || batch > NN_MAX_BATCH || threads < 1 || threads > NN_MAX_THREADS ||
        ntaps < 0 || (ntaps > 0 && !taps))
        return tgi_fail(ctx, TG_EINVAL, "tgi_nn_session_new: bad batch (%d), threads (%d) or taps",
                        batch, threads);
    if (h == 0 && w == 0)
        h = nn->in_h, w = nn->in_w;
    if (h < 1 || w < 1 || h > NN_MAX_SIDE || w > NN_MAX_SIDE)
        return tgi_fail(ctx, TG_EINVAL, "model %s: input size %dx%d is not allowed", nn->dir, h, w);
    if ((nn->in_h && nn->in_h != h) || (nn->in_w && nn->in_w != w))
        return tgi_fail(ctx, TG_EINVAL, "model %s takes %dx%d inputs, not %dx%d", nn->dir, nn->in_h,
                        nn->in_w, h, w);
    tgi_nn_session *s = calloc(1, sizeof *s);
    nn_shape *shapes = calloc((size_t)nn->nnodes, sizeof *shapes);
    int rc = 0;
    if (!s || !shapes || !(s->v = calloc((size_t)nn->nnodes, sizeof *s->v)) ||
        !(s->g = calloc((size_t)nn->nnodes, sizeof *s->g)) ||
        !(s->mtile = calloc((size_t)nn->nnodes, sizeof *s->mtile))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    s->nn = nn, s->batch = batch, s->h = h, s->w = w, s->threads = threads;

    /* shapes */
    shapes[0] = (nn_shape){h, w, nn->in_c};
    for (int i = 1; i < nn->nnodes; i++) {
        char err[300];
        if (nn_infer(nn, i, shapes, &s->g[i], err, sizeof err) != 0) {
            rc = tgi_fail(ctx, TG_ELIMIT, "model %s at %dx%d: %s", nn->dir, h, w, err);
            goto fail;
        }
    }
    for (int i = 0; i < nn->nnodes; i++) {
        nn_val *v = &s->v[i];
        v->s = shapes[i];
        v->size = (size_t)shapes[i].h * (size_t)shapes[i].w * (size_t)shapes[i].c;
        v->last = i;
        for (int k = 0; k < nn->nodes[i].nin; k++)
            s->v[nn->nodes[i].in[k]].last = i;
    }

    /* kept tensors: input, output, taps */
    s->v[0].kept = s->v[nn->output].kept = 1;
    for (int t = 0; t < ntaps; t++) {
        const char *via;
        int id = taps[t] ? nn_find(nn, taps[t], &via) : -1;
        if (id < 0) {
            if (via)
                rc = tgi_fail(ctx, TG_EINVAL,
                              "model %s: layer '%s' was fused into '%s'; tap that layer instead",
                              nn->dir, taps[t], via);
            else
                rc = tgi_fail(ctx, TG_EINVAL, "model %s has no layer '%s'", nn->dir,
                              taps[t] ? taps[t] : "(null)");
            goto fail;
        }
        s->v[id].kept = 1;
    }

    /* sizes: each kept tensor × batch, then the per-worker arena + scratch */
    double bytes = 0;
    for (int i = 0; i < nn->nnodes; i++)
        bytes += (double)round_up(s->v[i].size * (s->v[i].kept ? (size_t)batch : 1)) * 4.0;
    if (bytes * threads > (double)NN_MAX_SESSION_BYTES) {
        rc = tgi_fail(ctx, TG_ELIMIT, "model %s at %dx%d, batch %d: needs more than %zu MiB",
                      nn->dir, h, w, batch, NN_MAX_SESSION_BYTES >> 20);
        goto fail;
    }
    size_t kept = 0;
    for (int i = 0; i < nn->nnodes; i++)
        if (s->v[i].kept) {
            s->v[i].off = kept;
            kept += round_up(s->v[i].size * (size_t)batch);
        }
    s->arena = plan_arena(s);
    if (s->arena == SIZE_MAX) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < nn->nnodes; i++) {
        const nn_node *n = &nn->nodes[i];
        s->flops += OPS[nn->nodes[i].op].flops(s, i);
        if (n->op != NN_CONV)
            continue;
        int K = n->kh * n->kw * s->v[n->in[0]].s.c;
        size_t M = (size_t)s->v[i].s.h * s->v[i].s.w;
        int big = K > n->c ? K : n->c, tile = NN_TILE_FLOATS / big;
        tile = tile < 32 ? 32 : tile;
        s->mtile[i] = (size_t)tile > M ? (int)M : tile;
        /* scratch for the larger tile of the single-worker mode */
        size_t big_tile = (size_t)s->mtile[i] * NN_TILE_MULTI;
        big_tile = big_tile > M ? M : big_tile;
        nn_win a = {.h = s->v[n->in[0]].s.h,
                    .w = s->v[n->in[0]].s.w,
                    .cin = s->v[n->in[0]].s.c,
                    .oh = s->v[i].s.h,
                    .ow = s->v[i].s.w,
                    .kh = n->kh,
                    .kw = n->kw,
                    .sh = n->sh,
                    .sw = n->sw,
                    .pt = s->g[i].pt,
                    .pl = s->g[i].pl,
                    .mtile = (int)big_tile};
        size_t sc = nn_conv_scratch(&a);
        if (sc > s->scratch)
            s->scratch = sc;
    }
    s->worker = round_up(s->arena + s->scratch);
    if (((double)kept + (double)s->worker * threads) * 4.0 > (double)NN_MAX_SESSION_BYTES) {
        rc = tgi_fail(ctx, TG_ELIMIT, "model %s at %dx%d, batch %d: needs more than %zu MiB",
                      nn->dir, h, w, batch, NN_MAX_SESSION_BYTES >> 20);
        goto fail;
    }
    s->kept = aligned_alloc(64, (kept ? kept : NN_ALIGN) * sizeof(float));
    s->work =
        aligned_alloc(64, (s->worker ? s->worker : NN_ALIGN) * (size_t)threads * sizeof(float));
    if (!s->kept || !s->work) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for the session of model %s", nn->dir);
        goto fail;
    }
    memset(s->kept, 0, kept * sizeof(float));
    if (threads > 1 && batch > 1 && !(s->pool = tgi_pool_new(threads < batch ? threads : batch))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for the session's threads");
        goto fail;
    }
    free(shapes);
    *out = s;
    return 0;
fail:
    free(shapes);
    tgi_nn_session_free(&s);
    return rc;
}

void tgi_nn_session_free(tgi_nn_session **ps)
{
    tgi_nn_session *s = ps ? *ps : NULL;
    if (!s)
        return;
    free(s->v);
    free(s->g);
    free(s->mtile);
    free(s->kept);
    free(s->work);
    tgi_pool_free(&s->pool);
    free(s);
    *ps = NULL;
}

float *tgi_nn_session_input(tgi_nn_session *s)
{
    return s->kept + s->v[0].off;
}

static float *val(const tgi_nn_session *s, int id, float *arena, int item)
{
    const nn_val *v = &s->v[id];
    return v->kept ? s->kept + v->off + (size_t)item * v->size : arena + v->off;
}

/* Every node of the graph on one item. big: one worker, threaded BLAS, larger tiles. */
static void run_item(const tgi_nn_session *s, float *base, int item, int big)
{
    const tgi_nn *nn = s->nn;
    float *scratch = base + s->arena;
    for (int i = 1; i < nn->nnodes; i++) {
        const nn_node *n = &nn->nodes[i];
        if (n->op == NN_DEAD)
            continue;
        const nn_val *o = &s->v[i], *x = &s->v[n->in[0]];
        float *out = val(s, i, base, item);
        const float *in = val(s, n->in[0], base, item);
        nn_win a = {.h = x->s.h,
                    .w = x->s.w,
                    .cin = x->s.c,
                    .oh = o->s.h,
                    .ow = o->s.w,
                    .cout = o->s.c,
                    .kh = n->kh,
                    .kw = n->kw,
                    .sh = n->sh,
                    .sw = n->sw,
                    .pt = s->g[i].pt,
                    .pl = s->g[i].pl,
                    .wt = n->w,
                    .bias = n->b,
                    .act = n->act,
                    .act_max = n->act_max,
                    .mtile = s->mtile[i]};
        nn_run r = {.s = s,
                    .n = n,
                    .o = o,
                    .x = x,
                    .in = in,
                    .out = out,
                    .base = base,
                    .scratch = scratch,
                    .item = item,
                    .big = big,
                    .a = a};
        OPS[n->op].run(&r);
    }
}

/* One item on the pool's lane `lane` (its own arena and scratch). */
static void run_one(void *user, int lane, int item)
{
    const tgi_nn_session *s = user;
    run_item(s, s->work + (size_t)lane * s->worker, item, 0);
}

int tgi_nn_forward(tg_ctx *ctx, tgi_nn_session *s, int n)
{
    if (!s || n < 1 || n > s->batch)
        return tgi_fail(ctx, TG_EINVAL, "tgi_nn_forward: %d items for a batch of %d", n,
                        s ? s->batch : 0);
    int workers = s->threads < n ? s->threads : n;
    if (workers == 1) {
        openblas_set_num_threads(s->threads);
        for (int i = 0; i < n; i++)
            run_item(s, s->work, i, s->threads > 1);
        return 0;
    }
    openblas_set_num_threads(1);
    tgi_pool_run(s->pool, n, workers, run_one, s);
    return 0;
}

const float *tgi_nn_output(const tgi_nn_session *s, const char *tap, int *h, int *w, int *c)
{
    int id = s->nn->output;
    if (tap) {
        const char *via;
        id = nn_find(s->nn, tap, &via);
        if (id < 0 || !s->v[id].kept)
            return NULL;
    }
    const nn_val *v = &s->v[id];
    if (h)
        *h = v->s.h;
    if (w)
        *w = v->s.w;
    if (c)
        *c = v->s.c;
    return s->kept + v->off;
}

double tgi_nn_flops(const tgi_nn_session *s)
{
    return s->flops;
}
