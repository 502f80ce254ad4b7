/*
 * file.c — `thumbgen upscale`: one still image (PNG, JPEG, or anything libavformat
 * reads as a single picture) read, upscaled by a whole factor and written as PNG or
 * JPEG with the poster's writer (render/image.c). Alpha is dropped (the writer is
 * RGB). Sizes are checked from the header before anything is decoded, so a huge
 * image fails at once with TG_ELIMIT rather than after allocating it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "core/file.h"
#include "media/av.h"
#include "render/image.h"
#include "upscale/upscale.h"

/* Decode the first picture of path into a malloc'd RGB24 buffer. */
static int read_image(tg_ctx *ctx, const char *path, int scale, uint8_t **rgb, int *w, int *h)
{
    AVFormatContext *fmt = NULL;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    struct SwsContext *sws = NULL;
    int rc = 0, e, got = 0;
    *rgb = NULL;
    if (!pkt || !fr) {
        rc = tg_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    if (access(path, R_OK) != 0) {
        rc = tg_fail(ctx, errno == ENOENT ? TG_ENOENT : TG_EIO, "cannot read '%s': %s", path,
                     strerror(errno));
        goto done;
    }
    if ((e = avformat_open_input(&fmt, path, NULL, NULL)) < 0 ||
        (e = avformat_find_stream_info(fmt, NULL)) < 0) {
        rc = tg_av_fail(ctx, e, TG_EFORMAT, "'%s' is not an image thumbgen can read", path);
        goto done;
    }
    int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (si < 0) {
        rc = tg_fail(ctx, TG_EFORMAT, "'%s' holds no picture", path);
        goto done;
    }
    const AVCodecParameters *par = fmt->streams[si]->codecpar;
    if (par->width < TG_UPSCALE_MIN_SIDE || par->height < TG_UPSCALE_MIN_SIDE) {
        rc = tg_fail(ctx, TG_ELIMIT, "'%s' is %dx%d: too small to upscale (at least %dx%d)", path,
                     par->width, par->height, TG_UPSCALE_MIN_SIDE, TG_UPSCALE_MIN_SIDE);
        goto done;
    }
    if ((long long)par->width * scale > TG_UPSCALE_MAX_SIDE ||
        (long long)par->height * scale > TG_UPSCALE_MAX_SIDE ||
        (long long)par->width * scale * par->height * scale >
            (long long)TG_UPSCALE_MAX_OUT_PIXELS) {
        rc = tg_fail(ctx, TG_ELIMIT,
                     "'%s' is %dx%d: ×%d would be %lldx%lld, beyond the limit (%d px a side, "
                     "%zu Mpixels)",
                     path, par->width, par->height, scale, (long long)par->width * scale,
                     (long long)par->height * scale, TG_UPSCALE_MAX_SIDE,
                     TG_UPSCALE_MAX_OUT_PIXELS >> 20);
        goto done;
    }
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec || !(dec = avcodec_alloc_context3(codec)) ||
        avcodec_parameters_to_context(dec, par) < 0 || (e = avcodec_open2(dec, codec, NULL)) < 0) {
        rc = tg_fail(ctx, TG_EFORMAT, "'%s': no decoder for its %s pictures", path,
                     avcodec_get_name(par->codec_id));
        goto done;
    }
    while (!got && av_read_frame(fmt, pkt) >= 0) {
        if (pkt->stream_index == si && avcodec_send_packet(dec, pkt) >= 0)
            got = avcodec_receive_frame(dec, fr) >= 0;
        av_packet_unref(pkt);
    }
    if (!got && avcodec_send_packet(dec, NULL) >= 0)
        got = avcodec_receive_frame(dec, fr) >= 0;
    if (!got) {
        rc = tg_fail(ctx, TG_ECORRUPT, "'%s': the picture could not be decoded", path);
        goto done;
    }
    if (fr->width != par->width || fr->height != par->height) {
        rc = tg_fail(ctx, TG_ECORRUPT, "'%s': the picture is not the size its header says", path);
        goto done;
    }
    *w = fr->width;
    *h = fr->height;
    /* the deprecated yuvj formats: the plain ones with a full range (below) */
    enum AVPixelFormat sf = (enum AVPixelFormat)fr->format;
    int full = fr->color_range == AVCOL_RANGE_JPEG;
    static const enum AVPixelFormat j[][2] = {{AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV420P},
                                              {AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV422P},
                                              {AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P},
                                              {AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUV440P},
                                              {AV_PIX_FMT_YUVJ411P, AV_PIX_FMT_YUV411P}};
    for (size_t k = 0; k < sizeof(j) / sizeof(j[0]); k++)
        if (sf == j[k][0]) {
            sf = j[k][1];
            full = 1;
        }
    sws = sws_getContext(*w, *h, sf, *w, *h, AV_PIX_FMT_RGB24,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    *rgb = malloc((size_t)*w * *h * 3);
    if (!sws || !*rgb) {
        rc = tg_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d image", *w, *h);
        goto done;
    }
    if (full) {
        /* full-range YUV: say so, or the colours come out flat */
        int *inv, *tab, sr, dr, b, c, s;
        if (sws_getColorspaceDetails(sws, &inv, &sr, &tab, &dr, &b, &c, &s) >= 0)
            sws_setColorspaceDetails(sws, inv, 1, tab, dr, b, c, s);
    }
    const uint8_t *sp[4] = {fr->data[0], fr->data[1], fr->data[2], fr->data[3]};
    uint8_t *dp[4] = {*rgb};
    int ds[4] = {*w * 3};
    sws_scale(sws, sp, fr->linesize, 0, *h, dp, ds);
done:
    if (rc < 0) {
        free(*rgb);
        *rgb = NULL;
    }
    sws_freeContext(sws);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    avformat_close_input(&fmt);
    return rc;
}

int tg_upscale_file(tg_ctx *ctx, const char *in, const char *out, int scale, const char *method)
{
    int m = method ? tg_upscale_method_find(method) : TG_UPSCALE_METHOD_DEFAULT;
    int fmt = tg_image_format_for(out), w = 0, h = 0, rc;
    uint8_t *src = NULL, *dst = NULL;
    tg_upscaler *u = NULL;
    tg_atomic af = {.fd = -1};
    if (m < 0)
        return tg_fail(ctx, TG_EINVAL, "unknown upscaling method '%s' (methods: %s)", method,
                       TG_UPSCALE_METHOD_CHOICES);
    if (scale < 2 || scale > 4)
        return tg_fail(ctx, TG_EINVAL, "the scale must be 2, 3 or 4 (got %d)", scale);
    if (fmt < 0)
        return tg_fail(ctx, TG_EINVAL, "the output '%s' must end in .png, .jpg or .jpeg", out);
    if ((rc = read_image(ctx, in, scale, &src, &w, &h)) < 0 ||
        (rc = tg_progress(ctx, "upscale", 0.1)) < 0 ||
        (rc = tg_upscaler_new(ctx, m, w, h, w * scale, h * scale, 3, &u)) < 0)
        goto done;
    if (!(dst = malloc((size_t)w * scale * h * scale * 3))) {
        rc = tg_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d image", w * scale, h * scale);
        goto done;
    }
    if ((rc = tg_upscaler_run(ctx, u, src, w * 3, dst, w * scale * 3)) < 0 ||
        (rc = tg_progress(ctx, "upscale", 0.9)) < 0 || (rc = tg_atomic_open(ctx, out, &af)) < 0 ||
        (rc = tg_image_write(ctx, af.fd, fmt, dst, w * scale, h * scale, 95)) < 0 ||
        (rc = tg_atomic_commit(ctx, &af)) < 0)
        goto done;
    rc = tg_progress(ctx, "upscale", 1.0);
done:
    tg_atomic_abort(&af);
    tg_upscaler_free(&u);
    free(src);
    free(dst);
    return rc;
}
