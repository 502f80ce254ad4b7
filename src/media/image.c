/*
 * image.c — JPEG/PNG through libavcodec (see image.h). libav errors become
 * TG_EENCODE (TG_ENOMEM when memory ran out) through media/av.h, keeping libav's text.
 */
#include "media/image.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "core/file.h"
#include "media/av.h"

int tgi_image_format_for(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot)
        return -1;
    if (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"))
        return TG_IMAGE_JPEG;
    if (!strcasecmp(dot, ".png"))
        return TG_IMAGE_PNG;
    return -1;
}

int tgi_image_write(tg_ctx *ctx, int fd, int format, const uint8_t *rgb, int w, int h, int quality)
{
    int rc = 0, e;
    enum AVPixelFormat pf = format == TG_IMAGE_PNG ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_YUVJ420P;
    const AVCodec *codec =
        avcodec_find_encoder(format == TG_IMAGE_PNG ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    AVCodecContext *enc = NULL;
    AVFrame *fr = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    struct SwsContext *sws = NULL;
    if (!codec) {
        rc = tgi_fail(ctx, TG_EENCODE, "this libavcodec has no %s encoder",
                      format == TG_IMAGE_PNG ? "PNG" : "JPEG");
        goto done;
    }
    enc = avcodec_alloc_context3(codec);
    if (!enc || !fr || !pkt) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    /* 4:2:0 JPEG needs even sides; PNG keeps every pixel (odd upscaled images) */
    enc->width = format == TG_IMAGE_PNG ? w : w & ~1;
    enc->height = format == TG_IMAGE_PNG ? h : h & ~1;
    enc->pix_fmt = pf;
    enc->time_base = (AVRational){1, 25};
    enc->color_range = AVCOL_RANGE_JPEG;
    if (format == TG_IMAGE_JPEG) {
        int q = quality < 1 ? 1 : quality > 100 ? 100 : quality;
        int qs = 2 + (100 - q) * 29 / 99; /* 100 → 2 (best) … 1 → 31 */
        enc->flags |= AV_CODEC_FLAG_QSCALE;
        enc->global_quality = FF_QP2LAMBDA * qs;
        fr->quality = enc->global_quality;
    }
    if ((e = avcodec_open2(enc, codec, NULL)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_EENCODE, "cannot open the image encoder");
        goto done;
    }
    fr->format = pf;
    fr->width = enc->width;
    fr->height = enc->height;
    if (av_frame_get_buffer(fr, 0) < 0) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, enc->width, enc->height, pf,
                         SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!sws) {
        rc = tgi_fail(ctx, TG_EENCODE, "cannot convert the poster to %s", av_get_pix_fmt_name(pf));
        goto done;
    }
    /* the caller's picture may end where its memory does: read from a copy with slack */
    size_t bytes = (size_t)w * h * 3;
    uint8_t *padded = malloc(bytes + TGI_SWS_SLACK);
    if (!padded) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(padded, rgb, bytes);
    memset(padded + bytes, 0, TGI_SWS_SLACK);
    const uint8_t *src[4] = {padded};
    int sstride[4] = {w * 3};
    sws_scale(sws, src, sstride, 0, h, fr->data, fr->linesize);
    free(padded);
    if ((e = avcodec_send_frame(enc, fr)) < 0 || (e = avcodec_send_frame(enc, NULL)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_EENCODE, "image encoding failed");
        goto done;
    }
    while ((e = avcodec_receive_packet(enc, pkt)) >= 0) {
        rc = tgi_write_all(ctx, fd, pkt->data, (size_t)pkt->size);
        av_packet_unref(pkt);
        if (rc < 0)
            goto done;
    }
    if (e != AVERROR_EOF) {
        rc = tgi_av_fail(ctx, e, TG_EENCODE, "image encoding failed");
        goto done;
    }
done:
    sws_freeContext(sws);
    av_packet_free(&pkt);
    av_frame_free(&fr);
    avcodec_free_context(&enc);
    return rc;
}
