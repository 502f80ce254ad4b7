/*
 * claims-bench.c — throughput and latency of the job queue alone (issue 13).
 *
 *   build/claims-bench STORE JOBS CLAIMERS...
 *
 * For each count of claimers: fills a fresh queue with JOBS no-op jobs, then starts
 * that many threads, each with its own store handle (its own connection, as separate
 * worker processes would have), each claiming a job and finishing it (fenced by its
 * attempt, as a worker does) until the queue is empty. Prints one line per count:
 * claims per second (claim + finish pairs), and the median and p99 latency of a claim.
 * STORE is a tgi_store spec (postgres://… or sqlite:PATH); for PostgreSQL every
 * count gets a fresh schema when the spec's conninfo allows `options` (bench/claims.sh).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

typedef struct claimer {
    const char *spec;
    double *lat; /* seconds per claim */
    size_t n, cap;
    int errors;
} claimer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    claimer *c = arg;
    tg_ctx *ctx = tg_ctx_new();
    tgi_store *s = NULL;
    if (tgi_store_open(ctx, c->spec, &s) != 0) {
        fprintf(stderr, "claims-bench: %s\n", tg_ctx_message(ctx));
        c->errors++;
        tg_ctx_free(&ctx);
        return NULL;
    }
    for (;;) {
        tgi_job j;
        double t0 = now_s();
        int rc = tgi_store_claim(ctx, s, &j);
        double dt = now_s() - t0;
        if (rc == 1)
            break;
        if (rc != 0) {
            c->errors++;
            break;
        }
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 1024;
            c->lat = realloc(c->lat, c->cap * sizeof(*c->lat));
        }
        c->lat[c->n++] = dt;
        if (tgi_store_finish_at(ctx, s, j.id, j.attempt, TG_JOB_DONE, "{}", NULL, NULL) != 0)
            c->errors++;
        tgi_job_clear(&j);
    }
    tgi_store_close(&s);
    tg_ctx_free(&ctx);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: claims-bench STORE JOBS CLAIMERS...\n");
        return 2;
    }
    const char *spec = argv[1];
    long jobs = strtol(argv[2], NULL, 10);
    tg_ctx *ctx = tg_ctx_new();
    printf("| claimers | jobs | claims/s | median claim (ms) | p99 claim (ms) |\n"
           "|---:|---:|---:|---:|---:|\n");
    for (int a = 3; a < argc; a++) {
        int n = (int)strtol(argv[a], NULL, 10);
        tgi_store *s = NULL;
        if (tgi_store_open(ctx, spec, &s) != 0) {
            fprintf(stderr, "claims-bench: %s\n", tg_ctx_message(ctx));
            return 1;
        }
        /* an empty queue first: earlier rounds' jobs are all done */
        for (long i = 0; i < jobs; i++) {
            tgi_job j = {0};
            char src[32];
            snprintf(src, sizeof(src), "job-%ld", i);
            j.source_kind = (char *)"url";
            j.source = src;
            j.options_json = (char *)"{}";
            if (tgi_store_create(ctx, s, &j) != 0) {
                fprintf(stderr, "claims-bench: %s\n", tg_ctx_message(ctx));
                return 1;
            }
        }
        tgi_store_close(&s);
        claimer *cl = calloc((size_t)n, sizeof(*cl));
        pthread_t *th = calloc((size_t)n, sizeof(*th));
        double t0 = now_s();
        for (int i = 0; i < n; i++) {
            cl[i].spec = spec;
            pthread_create(&th[i], NULL, run, &cl[i]);
        }
        size_t total = 0;
        int errors = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(th[i], NULL);
            total += cl[i].n;
            errors += cl[i].errors;
        }
        double wall = now_s() - t0;
        double *all = malloc((total ? total : 1) * sizeof(*all));
        size_t k = 0;
        for (int i = 0; i < n; i++) {
            memcpy(all + k, cl[i].lat, cl[i].n * sizeof(*all));
            k += cl[i].n;
            free(cl[i].lat);
        }
        qsort(all, total, sizeof(*all), cmp_d);
        double med = total ? all[total / 2] : 0, p99 = total ? all[(size_t)(total * 0.99)] : 0;
        printf("| %d | %zu | %.0f | %.2f | %.2f |%s\n", n, total, (double)total / wall, med * 1e3,
               p99 * 1e3, errors || total != (size_t)jobs ? " ERRORS" : "");
        fflush(stdout);
        free(all);
        free(cl);
        free(th);
    }
    tg_ctx_free(&ctx);
    return 0;
}
