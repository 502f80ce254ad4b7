/*
 * playable.c — see playable.h. Called by the server's processing workers once per
 * source video (the copy is kept beside the thumbnails and reused).
 *
 *   open src ─► best video stream ─► decode ─► ≤720p RGB in its own colours (media/colour.h:
 *   HDR tone-mapped) ─► yuv420p BT.709 (BT.601 below 720 lines) ─► libx264
 *   ─► MP4 (+faststart) at dst
 *
 * Timestamps: each frame's best-effort timestamp minus the stream's start, in the
 * stream's own time base, so a clip at 12.5 s in the plan is at 12.5 s in the copy;
 * a timestamp that does not increase is bumped by one tick. libav errors are
 * translated here (TG_EFORMAT for what cannot be read, TG_EENCODE for the encoder).
 */
#include "media/playable.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "media/av.h"
#include "media/colour.h"
#include "media/image.h"

#define MAX_H 720

int tgi_playable_needed(const char *path)
{
    tgi_av_quiet();
    AVFormatContext *fmt = NULL;
    int need = 1;
    if (avformat_open_input(&fmt, path, NULL, NULL) < 0)
        return 1;
    if (avformat_find_stream_info(fmt, NULL) < 0)
        goto done;
    int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (vi < 0)
        goto done;
    const AVCodecParameters *p = fmt->streams[vi]->codecpar;
    const char *name = fmt->iformat->name;
    int mp4 = strstr(name, "mp4") != NULL || strstr(name, "mov") != NULL;
    int webm = strstr(name, "webm") != NULL; /* "matroska,webm": checked by codec */
    int pix_ok = p->format == AV_PIX_FMT_YUV420P || p->format == AV_PIX_FMT_YUVJ420P;
    if (mp4 && p->codec_id == AV_CODEC_ID_H264 && pix_ok)
        need = 0;
    else if ((mp4 || webm) && (p->codec_id == AV_CODEC_ID_VP9 || p->codec_id == AV_CODEC_ID_AV1) &&
             pix_ok)
        need = 0;
    else if (webm && p->codec_id == AV_CODEC_ID_VP8)
        need = 0;
    /* a matroska file with H.264 is played by Chromium but not by every browser: copy */
done:
    avformat_close_input(&fmt);
    return need;
}

typedef struct enc_state {
    AVFormatContext *out;
    AVCodecContext *enc;
    AVStream *st;
    AVPacket *pkt;
    int64_t last_pts;
} enc_state;

static int write_packets(tg_ctx *ctx, enc_state *e)
{
    for (;;) {
        int r = avcodec_receive_packet(e->enc, e->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            return 0;
        if (r < 0)
            return tgi_av_fail(ctx, r, TG_EENCODE, "cannot encode the playable copy");
        av_packet_rescale_ts(e->pkt, e->enc->time_base, e->st->time_base);
        e->pkt->stream_index = e->st->index;
        r = av_interleaved_write_frame(e->out, e->pkt);
        if (r < 0)
            return tgi_av_fail(ctx, r, TG_EIO, "cannot write the playable copy");
    }
}

int tgi_playable_make(tg_ctx *ctx, const char *src, const char *dst)
{
    AVFormatContext *in = NULL;
    AVCodecContext *dec = NULL;
    struct SwsContext *sws = NULL; /* RGB → the encoder's yuv420p */
    tgi_colour *conv = NULL;       /* the decoded frame → RGB */
    uint8_t *rgb = NULL;
    AVFrame *frame = NULL, *yuv = NULL;
    AVPacket *ipkt = NULL;
    enc_state e = {0};
    int rc = 0, r, header = 0;
    e.last_pts = INT64_MIN;
    tgi_av_quiet();

    if ((r = avformat_open_input(&in, src, NULL, NULL)) < 0 ||
        (r = avformat_find_stream_info(in, NULL)) < 0) {
        rc = tgi_av_fail(ctx, r, TG_EFORMAT, "cannot read the video");
        goto fail;
    }
    const AVCodec *dc = NULL;
    int vi = av_find_best_stream(in, AVMEDIA_TYPE_VIDEO, -1, -1, &dc, 0);
    if (vi < 0 || !dc) {
        rc = tgi_fail(ctx, TG_EFORMAT, "the file has no video stream that can be decoded");
        goto fail;
    }
    AVStream *ist = in->streams[vi];
    dec = avcodec_alloc_context3(dc);
    if (!dec) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    avcodec_parameters_to_context(dec, ist->codecpar);
    dec->thread_count = 0;
    if ((r = avcodec_open2(dec, dc, NULL)) < 0) {
        rc = tgi_av_fail(ctx, r, TG_EFORMAT, "cannot decode the video");
        goto fail;
    }
    int sw = dec->width, sh = dec->height;
    if (sw < 2 || sh < 2) {
        rc = tgi_fail(ctx, TG_EFORMAT, "the video has no picture size");
        goto fail;
    }
    int h = sh > MAX_H ? MAX_H : sh;
    int w = (int)((int64_t)sw * h / sh);
    w &= ~1;
    h &= ~1;
    if (w < 2)
        w = 2;

    const AVCodec *ec = avcodec_find_encoder_by_name("libx264");
    if (!ec)
        ec = avcodec_find_encoder(AV_CODEC_ID_H264);
    if (!ec) {
        rc = tgi_fail(ctx, TG_EENCODE, "this libavcodec has no H.264 encoder");
        goto fail;
    }
    if ((r = avformat_alloc_output_context2(&e.out, NULL, "mp4", dst)) < 0) {
        rc = tgi_av_fail(ctx, r, TG_EENCODE, "cannot start the playable copy");
        goto fail;
    }
    e.enc = avcodec_alloc_context3(ec);
    e.st = avformat_new_stream(e.out, NULL);
    e.pkt = av_packet_alloc();
    ipkt = av_packet_alloc();
    frame = av_frame_alloc();
    yuv = av_frame_alloc();
    if (!e.enc || !e.st || !e.pkt || !ipkt || !frame || !yuv) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    e.enc->width = w;
    e.enc->height = h;
    e.enc->pix_fmt = AV_PIX_FMT_YUV420P;
    e.enc->time_base = ist->time_base;
    AVRational fr = av_guess_frame_rate(in, ist, NULL);
    if (fr.num > 0 && fr.den > 0)
        e.enc->framerate = fr;
    e.enc->sample_aspect_ratio = (AVRational){1, 1};
    e.enc->colorspace = h >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    e.enc->color_range = AVCOL_RANGE_MPEG;
    if (e.out->oformat->flags & AVFMT_GLOBALHEADER)
        e.enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(e.enc->priv_data, "preset", "veryfast", 0);
    av_opt_set(e.enc->priv_data, "crf", "23", 0);
    if ((r = avcodec_open2(e.enc, ec, NULL)) < 0) {
        rc = tgi_av_fail(ctx, r, TG_EENCODE, "cannot open the H.264 encoder");
        goto fail;
    }
    avcodec_parameters_from_context(e.st->codecpar, e.enc);
    e.st->time_base = e.enc->time_base;
    if ((r = avio_open(&e.out->pb, dst, AVIO_FLAG_WRITE)) < 0) {
        rc = tgi_av_fail(ctx, r, TG_EIO, "cannot create the playable copy");
        goto fail;
    }
    AVDictionary *mo = NULL;
    av_dict_set(&mo, "movflags", "+faststart", 0);
    r = avformat_write_header(e.out, &mo);
    av_dict_free(&mo);
    if (r < 0) {
        rc = tgi_av_fail(ctx, r, TG_EIO, "cannot write the playable copy");
        goto fail;
    }
    header = 1;
    yuv->format = AV_PIX_FMT_YUV420P;
    yuv->width = w;
    yuv->height = h;
    if (av_frame_get_buffer(yuv, 0) < 0 || !(rgb = malloc((size_t)w * h * 3 + TGI_SWS_SLACK)) ||
        !(sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL,
                               NULL, NULL))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    /* the matrix and range the encoder's stream declares (above) */
    sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), 1,
                             sws_getCoefficients(h >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601), 0, 0,
                             1 << 16, 1 << 16);
    int64_t start = ist->start_time != AV_NOPTS_VALUE ? ist->start_time : 0;
    double total = in->duration > 0 ? (double)in->duration / AV_TIME_BASE : 0;
    int flushing = 0;
    while (rc == 0) {
        if (!flushing) {
            r = av_read_frame(in, ipkt);
            if (r == AVERROR_EOF) {
                flushing = 1;
                avcodec_send_packet(dec, NULL);
            } else if (r < 0) {
                rc = tgi_av_fail(ctx, r, TG_EFORMAT, "cannot read the video");
                break;
            } else {
                if (ipkt->stream_index == vi)
                    avcodec_send_packet(dec, ipkt); /* a damaged packet is skipped */
                av_packet_unref(ipkt);
            }
        }
        for (;;) {
            r = avcodec_receive_frame(dec, frame);
            if (r == AVERROR(EAGAIN))
                break;
            if (r == AVERROR_EOF)
                goto flush;
            if (r < 0)
                break; /* a damaged frame: go on with the next packet */
            if (av_frame_make_writable(yuv) < 0) {
                rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
                break;
            }
            if ((rc = tgi_colour_scale(ctx, &conv, frame, w, h, 3, SWS_BICUBIC, rgb)) < 0)
                break;
            const uint8_t *planes[4] = {rgb};
            int sstride[4] = {w * 3};
            sws_scale(sws, planes, sstride, 0, h, yuv->data, yuv->linesize);
            int64_t pts = frame->best_effort_timestamp;
            pts = pts == AV_NOPTS_VALUE ? e.last_pts + 1 : pts - start;
            if (e.last_pts != INT64_MIN && pts <= e.last_pts)
                pts = e.last_pts + 1;
            e.last_pts = pts;
            yuv->pts = pts;
            av_frame_unref(frame);
            if ((r = avcodec_send_frame(e.enc, yuv)) < 0) {
                rc = tgi_av_fail(ctx, r, TG_EENCODE, "cannot encode the playable copy");
                break;
            }
            if ((rc = write_packets(ctx, &e)) < 0)
                break;
            double t = (double)pts * av_q2d(ist->time_base);
            if (total > 0 && tgi_progress(ctx, "playable", t < total ? t / total : 1) == TG_ECANCEL)
                rc = TG_ECANCEL;
            if (rc)
                break;
        }
    }
flush:
    if (rc == 0) {
        avcodec_send_frame(e.enc, NULL);
        rc = write_packets(ctx, &e);
    }
    if (rc == 0 && e.last_pts == INT64_MIN)
        rc = tgi_fail(ctx, TG_EFORMAT, "no picture of the video could be decoded");
    if (rc == 0 && (r = av_write_trailer(e.out)) < 0)
        rc = tgi_av_fail(ctx, r, TG_EIO, "cannot finish the playable copy");
    header = 0;
fail:
    if (header)
        av_write_trailer(e.out);
    if (e.out) {
        avio_closep(&e.out->pb);
        avformat_free_context(e.out);
    }
    if (rc < 0)
        unlink(dst);
    avcodec_free_context(&e.enc);
    avcodec_free_context(&dec);
    av_packet_free(&e.pkt);
    av_packet_free(&ipkt);
    av_frame_free(&frame);
    av_frame_free(&yuv);
    sws_freeContext(sws);
    tgi_colour_free(&conv);
    free(rgb);
    avformat_close_input(&in);
    return rc;
}
