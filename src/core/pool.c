/*
 * pool.c — the worker threads of a parallel-for (see pool.h for the protocol).
 */
#include "core/pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#define TG_POOL_MAX_LANES 64

typedef struct worker {
    tgi_pool *p;
    int lane;
    pthread_t th;
} worker;

struct tgi_pool {
    int nworkers;
    worker w[TG_POOL_MAX_LANES - 1];
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    unsigned long gen; /* runs started; a worker joins each new one */
    int busy;          /* workers still in the current run */
    int active;        /* workers taking part in the current run */
    bool quit;
    bool sync; /* mu, go and done are initialised */
    /* the current run */
    tgi_pool_fn fn;
    void *user;
    int nparts;
    atomic_int next;
};

static void take_parts(tgi_pool *p, int lane)
{
    int i;
    while ((i = atomic_fetch_add(&p->next, 1)) < p->nparts)
        p->fn(p->user, lane, i);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    tgi_pool *p = w->p;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && (p->gen == seen || w->lane > p->active))
            pthread_cond_wait(&p->go, &p->mu);
        if (p->quit)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        take_parts(p, w->lane);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

tgi_pool *tgi_pool_new(int lanes)
{
    if (lanes <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        lanes = cpus < 1 ? 1 : (int)cpus;
    }
    lanes = lanes > TG_POOL_MAX_LANES ? TG_POOL_MAX_LANES : lanes;
    tgi_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (lanes < 2)
        return p;
    /* without its mutex or conditions the pool is the caller alone: same results */
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return p;
    if (pthread_cond_init(&p->go, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return p;
    }
    if (pthread_cond_init(&p->done, NULL) != 0) {
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
        return p;
    }
    p->sync = true;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int l = 1; l < lanes; l++) {
        worker *w = &p->w[l - 1];
        w->p = p;
        w->lane = l;
        if (pthread_create(&w->th, NULL, worker_main, w) != 0)
            break;
        p->nworkers = l;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return p;
}

int tgi_pool_lanes(const tgi_pool *p)
{
    return p ? 1 + p->nworkers : 1;
}

void tgi_pool_run(tgi_pool *p, int nparts, int lanes, tgi_pool_fn fn, void *user)
{
    int helpers = p ? p->nworkers : 0;
    if (lanes > 0 && lanes - 1 < helpers)
        helpers = lanes - 1;
    if (helpers > nparts - 1)
        helpers = nparts - 1;
    if (helpers <= 0) {
        for (int i = 0; i < nparts; i++)
            fn(user, 0, i);
        return;
    }
    p->fn = fn;
    p->user = user;
    p->nparts = nparts;
    atomic_store(&p->next, 0);
    pthread_mutex_lock(&p->mu);
    p->gen++;
    p->active = helpers;
    p->busy = helpers;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    take_parts(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void tgi_pool_free(tgi_pool **pp)
{
    tgi_pool *p = pp ? *pp : NULL;
    if (!p)
        return;
    if (p->sync) {
        pthread_mutex_lock(&p->mu);
        p->quit = true;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        for (int k = 0; k < p->nworkers; k++)
            pthread_join(p->w[k].th, NULL);
        pthread_cond_destroy(&p->done);
        pthread_cond_destroy(&p->go);
        pthread_mutex_destroy(&p->mu);
    }
    free(p);
    *pp = NULL;
}
