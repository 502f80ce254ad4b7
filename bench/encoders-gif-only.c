/*
 * bench/encoders-gif-only.c — the GIF encoder alone (src/render/gif.c), without reading
 * or decoding anything while it is timed: raw RGBA frames are loaded into memory, then
 * tgi_gif_begin/add/end are timed (best of REPS). Used for bench/RESULTS.md's
 * "encode time on its own" table (issue 'outputs'); run by hand.
 *
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -o gif-only \
 *      bench/encoders-gif-only.c build/libthumbgen.a $(pkg-config --libs libavformat \
 *      libavcodec libavutil libswscale libwebpmux libwebpdemux libwebp) -lgif -limagequant \
 *      -lgomp -lm -lpthread
 *   ffmpeg -i bench/.cache/encoders/clips/building/f%03d.png -f rawvideo -pix_fmt rgba b.rgba
 *   ./gif-only b.rgba 480 270 48 90 2 out.gif 3
 *
 * Arguments: FRAMES.rgba WIDTH HEIGHT COUNT QUALITY THREADS OUT.gif [REPS [CLIP]]; every
 * frame is shown 8 cs. CLIP > 0: the frames are clips of CLIP frames each (cuts between
 * them), encoded with tgi_gif_encode_frames (clips side by side); else frame by frame
 * with tgi_gif_add. Prints the best wall time and the best CPU time (all threads) in seconds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "render/gif.h"

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: %s FRAMES.rgba W H COUNT QUALITY THREADS OUT.gif [REPS]\n",
                argv[0]);
        return 2;
    }
    int w = atoi(argv[2]), h = atoi(argv[3]), n = atoi(argv[4]), q = atoi(argv[5]),
        threads = atoi(argv[6]), reps = argc > 8 ? atoi(argv[8]) : 3,
        clip = argc > 9 ? atoi(argv[9]) : 0;
    if (w < 1 || h < 1 || n < 1 || reps < 1)
        return 2;
    size_t fs = (size_t)w * (size_t)h * 4;
    uint8_t *buf = malloc(fs * (size_t)n);
    FILE *f = fopen(argv[1], "rb");
    if (!buf || !f || fread(buf, fs, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "cannot read %d frames of %dx%d from %s\n", n, w, h, argv[1]);
        return 1;
    }
    fclose(f);
    const uint8_t **frames = malloc(sizeof(*frames) * (size_t)n);
    int *delays = malloc(sizeof(*delays) * (size_t)n), *clips = malloc(sizeof(*clips) * (size_t)n);
    if (!frames || !delays || !clips)
        return 1;
    for (int i = 0; i < n; i++) {
        frames[i] = buf + fs * (size_t)i;
        delays[i] = 8;
        clips[i] = clip > 0 ? i / clip : 0;
    }
    tgi_gif_frames in = {.n = (size_t)n, .rgba = frames, .delay_cs = delays, .clip = clips};
    double best = 1e30, best_cpu = 1e30;
    for (int r = 0; r < reps; r++) {
        int fd = open(argv[7], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        tg_ctx *ctx = tg_ctx_new();
        tgi_gif *g = NULL;
        tgi_gif_params p = {.width = w, .height = h, .quality = q, .threads = threads};
        double t0 = now(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        int rc = fd < 0 ? TG_EIO : 0;
        if (rc == 0 && clip > 0) {
            rc = tgi_gif_encode_frames(ctx, fd, &p, &in);
        } else if (rc == 0) {
            rc = tgi_gif_begin(ctx, fd, &p, &g);
            for (int i = 0; i < n && rc == 0; i++)
                rc = tgi_gif_add(ctx, g, buf + fs * (size_t)i, 8);
            if (rc == 0)
                rc = tgi_gif_end(ctx, &g);
            else
                tgi_gif_free(&g);
        }
        double t = now() - t0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (rc != 0) {
            fprintf(stderr, "encode failed: %d %s\n", rc, tg_ctx_message(ctx));
            return 1;
        }
        best = t < best ? t : best;
        best_cpu = c < best_cpu ? c : best_cpu;
        tg_ctx_free(&ctx);
        close(fd);
    }
    printf("%.3f s wall, %.3f s CPU\n", best, best_cpu);
    free(buf);
    free(frames);
    free(delays);
    free(clips);
    return 0;
}
