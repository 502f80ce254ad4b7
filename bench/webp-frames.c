/* bench/webp-frames.c — dump every displayed frame of an animated WebP (used by
 * bench/encoders.sh; Debian 12's ffmpeg 5.1 cannot decode animated WebP and its `webp`
 * package has no anim_dump).
 *
 *   webp-frames IN.webp OUTDIR
 *
 * Writes OUTDIR/0001.ppm, 0002.ppm, ... (the full composited canvas, RGB; alpha is
 * dropped, the benchmark clips are opaque) and prints one line per frame on stdout:
 * "start_seconds end_seconds" (libwebp's timestamp is the frame's end time).
 * Build: cc -O2 -o webp-frames webp-frames.c $(pkg-config --cflags --libs libwebpdemux libwebp)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <webp/demux.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: webp-frames IN.webp OUTDIR\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "read failed\n"); return 1; }
    fclose(f);

    WebPData data = { buf, (size_t)n };
    WebPAnimDecoderOptions opt;
    WebPAnimDecoderOptionsInit(&opt);
    opt.color_mode = MODE_RGBA;
    opt.use_threads = 0;
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&data, &opt);
    if (!dec) { fprintf(stderr, "%s: not a decodable WebP\n", argv[1]); return 1; }
    WebPAnimInfo info;
    WebPAnimDecoderGetInfo(dec, &info);
    int w = (int)info.canvas_width, h = (int)info.canvas_height;
    unsigned char *rgb = malloc((size_t)w * h * 3);
    int prev = 0, k = 0;
    while (WebPAnimDecoderHasMoreFrames(dec)) {
        uint8_t *px;
        int ts;
        if (!WebPAnimDecoderGetNext(dec, &px, &ts)) { fprintf(stderr, "decode error at frame %d\n", k + 1); return 1; }
        k++;
        for (size_t i = 0; i < (size_t)w * h; i++) memcpy(rgb + 3 * i, px + 4 * i, 3);
        char path[4096];
        snprintf(path, sizeof path, "%s/%04d.ppm", argv[2], k);
        FILE *o = fopen(path, "wb");
        if (!o) { perror(path); return 1; }
        fprintf(o, "P6\n%d %d\n255\n", w, h);
        fwrite(rgb, 1, (size_t)w * h * 3, o);
        fclose(o);
        printf("%.6f %.6f\n", prev / 1000.0, ts / 1000.0);
        prev = ts;
    }
    WebPAnimDecoderDelete(dec);
    free(rgb);
    free(buf);
    return 0;
}
