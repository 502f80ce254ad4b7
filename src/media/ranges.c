/*
 * ranges.c — decode a list of ranges on decoders side by side, frames handed out in list
 * order (see ranges.h). One mutex and one condition variable guard every range's list of
 * copies, the claim counter and the byte count: a handful of threads, a wake-up per frame.
 */
#include "media/ranges.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define MAX_LANES 8

/* A decoded frame waiting for the caller: the analysis picture (rows packed) and the
 * side copies the decoder gave with it, in one block. */
typedef struct copy {
    struct copy *next;
    tgi_frame f;
    size_t bytes;
    uint8_t data[];
} copy;

enum { UNCLAIMED, DECODING, DONE };

typedef struct range {
    tgi_decode_req req;
    copy *head, *tail;
    int state;
    int rc;      /* the lane's decode: 0 or a negative TG_E code (then msg) */
    int abandon; /* the caller stopped taking it: the lane drops the rest */
    char msg[1024];
} range;

typedef struct lane {
    struct tgi_ranges *r;
    tgi_media *m; /* lane 0: the caller's (borrowed); others: opened again */
    tg_ctx *ctx;  /* the lane's own: errors are copied to the caller's by tgi_ranges_take */
    pthread_t th;
    size_t cur; /* the range it decodes */
} lane;

struct tgi_ranges {
    tgi_media *m;
    range *rg;
    size_t n;
    size_t next;   /* the first range no lane has claimed */
    size_t taking; /* the range the caller takes (or waits for) */
    size_t bytes, budget;
    int threads; /* lanes running; 0: tgi_ranges_take decodes on the caller's thread */
    int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    lane lane[MAX_LANES];
};

static int copy_out(void *user, const tgi_frame *f)
{
    lane *l = user;
    struct tgi_ranges *r = l->r;
    range *g = &r->rg[l->cur];
    size_t row = (size_t)f->width * (f->pix == TG_PIX_RGBA ? 4 : 3);
    size_t pic = row * (size_t)f->height;
    size_t side = f->side ? (size_t)g->req.side_w * (size_t)g->req.side_h * 3 : 0;
    size_t side2 = f->side2 ? (size_t)f->side2_w * (size_t)f->side2_h * 3 : 0;
    copy *c = malloc(sizeof(*c) + pic + side + side2);
    if (!c)
        return tgi_fail(l->ctx, TG_ENOMEM, "out of memory");
    c->next = NULL;
    c->f = *f;
    c->bytes = sizeof(*c) + pic + side + side2;
    uint8_t *p = c->data;
    for (int y = 0; y < f->height; y++)
        memcpy(p + (size_t)y * row, f->data + (size_t)y * (size_t)f->stride, row);
    c->f.data = p;
    c->f.stride = (int)row;
    p += pic;
    if (side) {
        memcpy(p, f->side, side);
        c->f.side = p;
        p += side;
    }
    if (side2) {
        memcpy(p, f->side2, side2);
        c->f.side2 = p;
    }
    pthread_mutex_lock(&r->mu);
    /* the caller's own range never waits: it is what frees the room */
    while (!r->stop && !g->abandon && l->cur != r->taking && r->bytes > r->budget)
        pthread_cond_wait(&r->cv, &r->mu);
    if (r->stop || g->abandon) {
        pthread_mutex_unlock(&r->mu);
        free(c);
        return 1;
    }
    if (g->tail)
        g->tail->next = c;
    else
        g->head = c;
    g->tail = c;
    r->bytes += c->bytes;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return 0;
}

static void *lane_main(void *arg)
{
    lane *l = arg;
    struct tgi_ranges *r = l->r;
    pthread_mutex_lock(&r->mu);
    while (!r->stop && r->next < r->n) {
        size_t i = r->next++;
        range *g = &r->rg[i];
        g->state = DECODING;
        l->cur = i;
        pthread_mutex_unlock(&r->mu);
        tg_ctx_clear(l->ctx);
        int rc = tgi_media_decode(l->ctx, l->m, &g->req, copy_out, l, NULL);
        pthread_mutex_lock(&r->mu);
        if (rc < 0) {
            g->rc = rc;
            snprintf(g->msg, sizeof(g->msg), "%s", tg_ctx_message(l->ctx));
        }
        g->state = DONE;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int tgi_ranges_start(tg_ctx *ctx, tgi_media *m, const tgi_decode_req *reqs, size_t n, int lanes,
                     size_t budget, tgi_ranges **out)
{
    *out = NULL;
    for (size_t i = 0; i < n; i++)
        if (reqs[i].n_stills || reqs[i].need || reqs[i].span_needed || reqs[i].stats ||
            reqs[i].stage)
            return tgi_fail(ctx, TG_EINVAL, "a range decoded ahead takes frames only");
    struct tgi_ranges *r = calloc(1, sizeof(*r));
    if (!r || !(r->rg = calloc(n ? n : 1, sizeof(*r->rg)))) {
        free(r);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    r->m = m;
    r->n = n;
    r->budget = budget;
    for (size_t i = 0; i < n; i++)
        r->rg[i].req = reqs[i];
    *out = r;
    lanes = lanes < MAX_LANES ? lanes : MAX_LANES;
    if ((size_t)lanes > n)
        lanes = (int)n;
    if (lanes < 2)
        return 0; /* one decoder: the caller's thread, no copies */
    /* the lanes' decoders: the caller's media and the file opened again; one that cannot
     * be had means fewer lanes (a path too long to keep, a file gone: not an error) */
    int have = 0;
    for (int k = 0; k < lanes; k++) {
        lane *l = &r->lane[k];
        l->r = r;
        if (!(l->ctx = tg_ctx_new()))
            break;
        if (k == 0)
            l->m = m;
        else if (tgi_media_open_again(l->ctx, m, 1, &l->m) < 0) {
            tg_ctx_free(&l->ctx);
            break;
        }
        have++;
    }
    if (have < 2) {
        for (int k = 0; k < have; k++)
            tg_ctx_free(&r->lane[k].ctx);
        return 0;
    }
    /* one frame thread each: the lanes are the parallelism */
    for (size_t i = 0; i < n; i++)
        r->rg[i].req.threads = 1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int k = 0; k < have; k++) {
        if (pthread_create(&r->lane[k].th, NULL, lane_main, &r->lane[k]) != 0)
            break;
        r->threads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (int k = r->threads; k < have; k++) {
        tg_ctx_free(&r->lane[k].ctx);
        if (k > 0)
            tgi_media_close(&r->lane[k].m);
    }
    if (r->threads == 0) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
        for (size_t i = 0; i < n; i++)
            r->rg[i].req.threads = reqs[i].threads;
    }
    return 0;
}

int tgi_ranges_lanes(const tgi_ranges *r)
{
    return r && r->threads > 0 ? r->threads : 1;
}

static void drop_copies(struct tgi_ranges *r, range *g)
{
    while (g->head) {
        copy *c = g->head;
        g->head = c->next;
        r->bytes -= c->bytes;
        free(c);
    }
    g->tail = NULL;
}

int tgi_ranges_take(tg_ctx *ctx, tgi_ranges *r, size_t i, tgi_frame_fn fn, void *user)
{
    if (i >= r->n)
        return tgi_fail(ctx, TG_EINVAL, "no range %zu of %zu", i, r->n);
    range *g = &r->rg[i];
    if (r->threads == 0) {
        int rc = tgi_media_decode(ctx, r->m, &g->req, fn, user, NULL);
        return rc < 0 ? rc : 0;
    }
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    r->taking = i;
    pthread_cond_broadcast(&r->cv);
    for (;;) {
        while (!g->head && g->state != DONE)
            pthread_cond_wait(&r->cv, &r->mu);
        copy *c = g->head;
        if (!c)
            break;
        g->head = c->next;
        if (!g->head)
            g->tail = NULL;
        pthread_mutex_unlock(&r->mu);
        int frc = fn(user, &c->f);
        pthread_mutex_lock(&r->mu);
        r->bytes -= c->bytes;
        free(c);
        pthread_cond_broadcast(&r->cv);
        if (frc != 0) {
            g->abandon = 1;
            drop_copies(r, g);
            pthread_mutex_unlock(&r->mu);
            return frc < 0 ? frc : 0;
        }
    }
    if (g->rc < 0)
        rc = tgi_fail(ctx, g->rc, "%s", g->msg);
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void tgi_ranges_free(tgi_ranges **pr)
{
    if (!pr || !*pr)
        return;
    struct tgi_ranges *r = *pr;
    if (r->threads > 0) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        for (int k = 0; k < r->threads; k++) {
            pthread_join(r->lane[k].th, NULL);
            tg_ctx_free(&r->lane[k].ctx);
            if (k > 0)
                tgi_media_close(&r->lane[k].m);
        }
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    for (size_t i = 0; i < r->n; i++)
        drop_copies(r, &r->rg[i]);
    free(r->rg);
    free(r);
    *pr = NULL;
}
