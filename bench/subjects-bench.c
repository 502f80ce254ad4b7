/*
 * subjects-bench.c — times src/analyze/subjects.c on real frames and lists what it
 * finds. Built by `make $(BUILD)/subjects-bench`.
 *
 *   ffmpeg -i V -vf fps=...,scale=W:H -f rawvideo -pix_fmt rgb24 - | subjects-bench W H [-r reps]
 *       [-s side]   (the detector's input long side, default TGI_SUBJECTS_SIDE)
 *
 * Reads every W×H RGB24 frame from stdin first (decoding is not timed), runs all of
 * them `reps` times and prints, per frame, the subjects found (class, score, box) and
 * then one line: frames, the mean over frames of each frame's best time in ms ("min_ms",
 * the figure least disturbed by other processes), the mean wall and CPU time per frame.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/blas.h"
#include "analyze/subjects.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    tgi_blas_respawn(argv); /* the kernels thumbgen runs (nn/blas.h) */
    if (argc < 3) {
        fprintf(stderr, "usage: subjects-bench W H [-r reps] [-s side] < frames.rgb\n");
        return 2;
    }
    int w = (int)strtol(argv[1], NULL, 10), h = (int)strtol(argv[2], NULL, 10), reps = 3;
    int side = TGI_SUBJECTS_SIDE;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "-r"))
            reps = (int)strtol(argv[i + 1], NULL, 10);
        if (!strcmp(argv[i], "-s"))
            side = (int)strtol(argv[i + 1], NULL, 10);
    }
    if (w < 1 || h < 1 || w > 8192 || h > 8192 || reps < 1)
        return 2;
    size_t fb = (size_t)w * h * 3, cap = 16, n = 0;
    uint8_t *all = malloc(cap * fb);
    while (all) {
        if (n == cap) {
            uint8_t *m = realloc(all, 2 * cap * fb);
            if (!m)
                break;
            all = m, cap *= 2;
        }
        if (fread(all + n * fb, 1, fb, stdin) != fb)
            break;
        n++;
    }
    tg_ctx *ctx = tg_ctx_new();
    tgi_subjects *s = NULL;
    if (!all || !n || tgi_subjects_open(ctx, NULL, &s) != 0 ||
        tgi_subjects_set_side(ctx, s, side) != 0) {
        fprintf(stderr, "subjects-bench: %s\n", n ? tg_ctx_message(ctx) : "no frames");
        return 1;
    }
    double min_sum = 0, wall = 0, cpu = 0;
    for (size_t i = 0; i < n; i++) {
        tgi_subject got[8];
        int k = 0;
        double best = 1e9;
        for (int r = 0; r < reps; r++) {
            double t0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
            k = tgi_subjects_detect(ctx, s, all + i * fb, w, h, w * 3, got, 8);
            double dt = now(CLOCK_MONOTONIC) - t0;
            cpu += now(CLOCK_PROCESS_CPUTIME_ID) - c0;
            wall += dt;
            best = dt < best ? dt : best;
        }
        min_sum += best;
        printf("frame %zu:", i);
        for (int j = 0; j < k; j++)
            printf(" %s %.2f [%.2f %.2f %.2f %.2f]", tgi_subject_name(got[j].cls),
                   (double)got[j].score, (double)got[j].x, (double)got[j].y, (double)got[j].w,
                   (double)got[j].h);
        printf("%s\n", k ? "" : " -");
    }
    int iw, ih;
    tgi_subjects_input_size(side, w, h, &iw, &ih);
    printf("frames=%zu input=%dx%d min_ms=%.1f wall_ms=%.1f cpu_ms=%.1f\n", n, iw, ih,
           1e3 * min_sum / (double)n, 1e3 * wall / (double)(n * reps),
           1e3 * cpu / (double)(n * reps));
    tgi_subjects_close(&s);
    tg_ctx_free(&ctx);
    free(all);
    return 0;
}
