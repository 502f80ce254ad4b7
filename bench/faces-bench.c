/*
 * faces-bench.c — times src/analyze/faces.c on real frames, or lists what it finds.
 * Run by bench/faces.sh; built by `make $(BUILD)/faces-bench`.
 *
 *   ffmpeg ... -f rawvideo -pix_fmt rgb24 - | faces-bench W H [-s input] [-t threads]
 *          [--tiny] [-r reps] [-m min_score] [-j]
 *
 * Reads every W×H RGB24 frame from stdin first (decoding is not timed), then runs all
 * of them `reps` times (best kept) twice: detector only (max = 0 faces: no landmark
 * pass) and the whole thing; prints one line of key=value pairs: ms per frame for
 * each (wall, and process CPU time, which a busy machine inflates less), faces found,
 * ms per face of the landmark net, and (1 thread) the mean over frames of each frame's
 * best time ("min_"), the figure least disturbed by other processes. With -t > 1 the frames go
 * through tgi_faces_detect_batch. -j instead prints one JSON line per frame (t = its
 * index) with every face: box, score, EAR, eyes_open, cut, sharpness.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/blas.h"
#include "analyze/faces.h"

#define MAXF 8

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int usage(void)
{
    fprintf(stderr, "usage: faces-bench W H [-s input] [-t threads] [--tiny] [-r reps] "
                    "[-m min_score] [-j]  < frames.rgb\n");
    return 2;
}

/* all frames through the detector once; the number of faces found */
static int pass(tg_ctx *ctx, tgi_faces *f, tgi_faces_frame *fr, int n, int threads, tgi_face *out,
                int *counts, int max)
{
    int faces = 0;
    if (threads > 1) {
        if (tgi_faces_detect_batch(ctx, f, fr, n, out, max, counts) != 0)
            return -1;
    } else
        for (int i = 0; i < n; i++) {
            counts[i] = tgi_faces_detect(ctx, f, fr[i].rgb, fr[i].w, fr[i].h, fr[i].stride,
                                         out + (size_t)i * MAXF, max);
            if (counts[i] < 0)
                return -1;
        }
    for (int i = 0; i < n; i++)
        faces += counts[i];
    return faces;
}

int main(int argc, char **argv)
{
    tgi_blas_respawn(argv); /* the kernels thumbgen runs (nn/blas.h) */
    if (argc < 3)
        return usage();
    int w = (int)strtol(argv[1], NULL, 10), h = (int)strtol(argv[2], NULL, 10);
    int reps = 3, json = 0;
    tgi_faces_opts o = {0};
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "-s") && i + 1 < argc)
            o.input_size = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-t") && i + 1 < argc)
            o.threads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            reps = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-m") && i + 1 < argc)
            o.min_score = strtof(argv[++i], NULL);
        else if (!strcmp(argv[i], "--tiny"))
            o.tiny_landmarks = 1;
        else if (!strcmp(argv[i], "-j"))
            json = 1;
        else
            return usage();
    }
    if (w < 1 || h < 1 || w > 8192 || h > 8192 || reps < 1)
        return usage();
    size_t fsz = (size_t)w * h * 3, cap = 0, n = 0;
    uint8_t *all = NULL;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            uint8_t *p = realloc(all, cap * fsz);
            if (!p) {
                fprintf(stderr, "faces-bench: out of memory\n");
                return 1;
            }
            all = p;
        }
        if (fread(all + n * fsz, 1, fsz, stdin) != fsz)
            break;
        n++;
    }
    if (n == 0) {
        fprintf(stderr, "faces-bench: no %dx%d frame on stdin\n", w, h);
        return 1;
    }
    tg_ctx *ctx = tg_ctx_new();
    tgi_faces *f = NULL;
    if (tgi_faces_open(ctx, NULL, &o, &f) != 0) {
        fprintf(stderr, "faces-bench: %s\n", tg_ctx_message(ctx));
        return 1;
    }
    tgi_faces_frame *fr = calloc(n, sizeof *fr);
    tgi_face *out = calloc(n * MAXF, sizeof *out);
    int *counts = calloc(n, sizeof *counts);
    for (size_t i = 0; i < n; i++)
        fr[i] = (tgi_faces_frame){all + i * fsz, w, h, w * 3};
    int threads = o.threads > 1 ? o.threads : 1;
    if (json) {
        if (pass(ctx, f, fr, (int)n, threads, out, counts, MAXF) < 0)
            goto fail;
        for (size_t i = 0; i < n; i++) {
            printf("{\"t\":%zu,\"faces\":[", i);
            for (int k = 0; k < counts[i]; k++) {
                const tgi_face *c = &out[i * MAXF + (size_t)k];
                printf("%s{\"box\":[%.1f,%.1f,%.1f,%.1f],\"score\":%.3f,\"ear\":[%.3f,%.3f],"
                       "\"eyes_open\":%.2f,\"cut\":%d,\"inside\":%.2f,\"sharpness\":%.3f}",
                       k ? "," : "", c->x, c->y, c->w, c->h, c->score, c->ear[0], c->ear[1],
                       c->eyes_open, c->cut, c->inside, c->sharpness);
            }
            printf("]}\n");
        }
    } else {
        double best_det = 1e30, best_all = 1e30, cpu_det = 1e30, cpu_all = 1e30;
        int faces = 0;
        for (int r = 0; r < reps; r++) {
            double t0 = now(), c0 = cpu_now();
            if (pass(ctx, f, fr, (int)n, threads, out, counts, 0) < 0)
                goto fail;
            double t1 = now(), c1 = cpu_now();
            if ((faces = pass(ctx, f, fr, (int)n, threads, out, counts, MAXF)) < 0)
                goto fail;
            double t2 = now(), c2 = cpu_now();
            best_det = t1 - t0 < best_det ? t1 - t0 : best_det;
            best_all = t2 - t1 < best_all ? t2 - t1 : best_all;
            cpu_det = c1 - c0 < cpu_det ? c1 - c0 : cpu_det;
            cpu_all = c2 - c1 < cpu_all ? c2 - c1 : cpu_all;
        }
        /* per frame, the best of reps (1 thread): on a machine shared with other jobs, a
         * frame of a few ms often runs without being preempted, so the mean of the
         * per-frame minima is close to the quiet-machine time */
        double qdet = 0, qall = 0;
        if (threads == 1) {
            for (size_t i = 0; i < n; i++) {
                double md = 1e30, ma = 1e30;
                for (int r = 0; r < reps; r++) {
                    double t0 = now();
                    if (tgi_faces_detect(ctx, f, fr[i].rgb, w, h, w * 3, out, 0) < 0)
                        goto fail;
                    double t1 = now();
                    if (tgi_faces_detect(ctx, f, fr[i].rgb, w, h, w * 3, out, MAXF) < 0)
                        goto fail;
                    double t2 = now();
                    md = t1 - t0 < md ? t1 - t0 : md;
                    ma = t2 - t1 < ma ? t2 - t1 : ma;
                }
                qdet += md;
                qall += ma;
            }
        }
        double fd, fl;
        tgi_faces_flops(f, &fd, &fl);
        printf("frames=%zu size=%dx%d input=%d threads=%d landmarks=%s faces=%d "
               "detector_ms_per_frame=%.3f total_ms_per_frame=%.3f landmark_ms_per_face=%.3f "
               "detector_mflop=%.1f landmark_mflop=%.1f cpu_detector_ms_per_frame=%.3f "
               "cpu_total_ms_per_frame=%.3f min_detector_ms_per_frame=%.3f "
               "min_total_ms_per_frame=%.3f\n",
               n, w, h, o.input_size ? o.input_size : TG_FACES_INPUT, threads,
               o.tiny_landmarks ? "tiny" : "full", faces, best_det * 1e3 / (double)n,
               best_all * 1e3 / (double)n,
               faces ? (best_all - best_det) * 1e3 / (double)faces : 0.0, fd / 1e6, fl / 1e6,
               cpu_det * 1e3 / (double)n, cpu_all * 1e3 / (double)n, qdet * 1e3 / (double)n,
               qall * 1e3 / (double)n);
    }
    tgi_faces_close(&f);
    tg_ctx_free(&ctx);
    free(fr);
    free(out);
    free(counts);
    free(all);
    return 0;
fail:
    fprintf(stderr, "faces-bench: %s\n", tg_ctx_message(ctx));
    return 1;
}
