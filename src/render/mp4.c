/*
 * mp4.c — the MP4 encoder (see mp4.h): libswscale converts, libavcodec (libx264)
 * encodes, libavformat muxes to the file at the caller's path.
 *
 *   begin: pick an encoder (libx264 ─► libavcodec's default H.264 ─► mpeg4), open it
 *          (yuv420p, time base 1/fps, CRF from quality, preset medium, 1 thread,
 *          colour tags) ─► one video stream ─► open the file ─► header (+faststart)
 *   add:   rgba ─► sws (BT.601/709, limited range) ─► frame pts n ─► send ─► drain
 *   end:   send NULL (flush) ─► drain ─► trailer (the muxer re-reads the file and moves
 *          moov before mdat) ─► close
 *
 * Every packet lasts one tick of 1/fps, so N frames make N/fps seconds. Determinism:
 * x264 gives identical bytes for identical input only at an identical thread count, and
 * its default count follows the machine's cores; one thread makes the output the same
 * everywhere and suits jobs that run in parallel at a higher level. swscale runs with
 * SWS_BITEXACT so its result does not depend on the CPU's SIMD either. One exception,
 * x264's own: when the height is not a multiple of 16 (160x90, 192x108), the same frames
 * give different bytes run to run (every frame off by ~0.7 levels on average), and the
 * same with MALLOC_PERTURB_ set are stable: x264 reads memory it allocated and never
 * wrote (valgrind: 16-byte loads ending past its blocks), so what malloc left there
 * counts. Zeroing our frames' padding does not change it; 256x144 is stable.
 *
 * libav errors go through media/av.h: AVERROR(ENOMEM) → TG_ENOMEM, errno-style failures
 * while opening/writing the file → TG_EIO, everything else → TG_EENCODE, each with
 * av_strerror()'s text. The partial file of a failed or abandoned encode is left for the
 * caller (it writes to a temp path it deletes).
 */
#include "render/mp4.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "media/av.h"

#define TG_MP4_MAX_SIDE  4096
#define TG_MP4_MIN_FPS   1.0
#define TG_MP4_MAX_FPS   60.0
#define TG_MP4_CRF_BEST  18.0 /* quality 100 */
#define TG_MP4_CRF_WORST 40.0 /* quality 1 */
#define TG_MP4_PRESET    "medium"

struct tgi_mp4 {
    int width, height;
    AVFormatContext *fmt; /* owns pb (the open file) */
    AVCodecContext *enc;
    AVStream *st; /* owned by fmt */
    struct SwsContext *sws;
    AVFrame *frame; /* yuv420p, refilled per frame */
    AVPacket *pkt;
    int64_t pts; /* next frame's pts, in 1/fps ticks = accepted tgi_mp4_add calls */
    int failed;  /* code of the first failure: then only end/free are accepted */
};

/* A libav call failed with err; io: the call touches the file (I/O errors → TG_EIO). */
static int fail_av(tg_ctx *ctx, int err, bool io, const char *what)
{
    return io ? tgi_av_fail_io(ctx, err, TG_EENCODE, "mp4: %s failed", what)
              : tgi_av_fail(ctx, err, TG_EENCODE, "mp4: %s failed", what);
}

/* ---- setup ---- */

/* quality 1..100 → CRF 40..18, linear. */
static double q_crf(int q)
{
    return TG_MP4_CRF_WORST - (TG_MP4_CRF_WORST - TG_MP4_CRF_BEST) * (q - 1) / 99.0;
}

/* quality 1..100 → MPEG-4 part 2 qscale 31..2 (only for the mpeg4 fallback). */
static int q_qscale(int q)
{
    return 31 - (q - 1) * 29 / 99;
}

static bool is_hd(int w, int h)
{
    return w >= 1280 || h >= 720;
}

/* Allocate and open codec as the stream's encoder; 0 or a libav error. */
static int open_codec(tgi_mp4 *m, const AVCodec *codec, const tgi_mp4_params *p, AVRational rate,
                      int global_header)
{
    AVCodecContext *c = avcodec_alloc_context3(codec);
    if (!c)
        return AVERROR(ENOMEM);
    bool hd = is_hd(p->width, p->height);
    c->width = p->width;
    c->height = p->height;
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->framerate = rate;
    c->time_base = av_inv_q(rate);
    c->sample_aspect_ratio = (AVRational){1, 1};
    c->thread_count = 1; /* determinism, see the top of the file */
    c->color_range = AVCOL_RANGE_MPEG;
    c->colorspace = hd ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    c->color_primaries = hd ? AVCOL_PRI_BT709 : AVCOL_PRI_SMPTE170M;
    c->color_trc = hd ? AVCOL_TRC_BT709 : AVCOL_TRC_SMPTE170M;
    if (global_header)
        c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int e = 0;
    if (codec->id == AV_CODEC_ID_H264) {
        char crf[32];
        snprintf(crf, sizeof(crf), "%.2f", q_crf(p->quality));
        /* libx264 has both; another H.264 encoder may lack them: then its defaults */
        if ((e = av_opt_set(c->priv_data, "crf", crf, 0)) < 0 && e != AVERROR_OPTION_NOT_FOUND)
            goto done;
        if ((e = av_opt_set(c->priv_data, "preset", TG_MP4_PRESET, 0)) < 0 &&
            e != AVERROR_OPTION_NOT_FOUND)
            goto done;
        /* no "tune" */
    } else {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * q_qscale(p->quality);
    }
    e = avcodec_open2(c, codec, NULL);
done:
    if (e < 0)
        avcodec_free_context(&c);
    else
        m->enc = c;
    return e < 0 ? e : 0;
}

/* libx264, else libavcodec's default H.264 encoder, else MPEG-4 part 2. */
static int open_encoder(tg_ctx *ctx, tgi_mp4 *m, const tgi_mp4_params *p, AVRational rate)
{
    const AVCodec *cand[3] = {avcodec_find_encoder_by_name("libx264"),
                              avcodec_find_encoder(AV_CODEC_ID_H264),
                              avcodec_find_encoder(AV_CODEC_ID_MPEG4)};
    int global_header = (m->fmt->oformat->flags & AVFMT_GLOBALHEADER) != 0;
    int e = AVERROR_ENCODER_NOT_FOUND;
    const char *tried = "none";
    for (int i = 0; i < 3; i++) {
        if (!cand[i] || (i == 1 && cand[i] == cand[0]))
            continue;
        if (i > 0)
            av_log(NULL, AV_LOG_WARNING,
                   "thumbgen mp4: encoder %s unavailable (%s); falling back to %s\n",
                   i == 1 ? "libx264" : "H.264", av_err2str(e), cand[i]->name);
        tried = cand[i]->name;
        if ((e = open_codec(m, cand[i], p, rate, global_header)) == 0)
            return 0;
        if (e == AVERROR(ENOMEM))
            break;
    }
    if (e == AVERROR_ENCODER_NOT_FOUND)
        return tgi_fail(ctx, TG_EENCODE,
                        "mp4: libavcodec has no H.264 (libx264) or MPEG-4 encoder; install "
                        "libavcodec with libx264");
    char what[96];
    snprintf(what, sizeof(what), "opening the %s encoder", tried);
    return fail_av(ctx, e, false, what);
}

static int open_scaler(tg_ctx *ctx, tgi_mp4 *m)
{
    int W = m->width, H = m->height;
    m->sws = sws_getContext(W, H, AV_PIX_FMT_RGBA, W, H, AV_PIX_FMT_YUV420P,
                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_BITEXACT, NULL, NULL, NULL);
    if (!m->sws)
        return tgi_fail(ctx, TG_ENOMEM, "mp4: could not create a %dx%d RGBA→yuv420p converter", W,
                        H);
    /* RGB in (full range); out: the matrix the stream is tagged with, limited range */
    const int *matrix = sws_getCoefficients(is_hd(W, H) ? SWS_CS_ITU709 : SWS_CS_ITU601);
    if (sws_setColorspaceDetails(m->sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, matrix, 0, 0,
                                 1 << 16, 1 << 16) < 0)
        return tgi_fail(ctx, TG_EENCODE, "mp4: swscale refused the colour conversion");
    return 0;
}

/* ---- public ---- */

int tgi_mp4_begin(tg_ctx *ctx, const char *path, const tgi_mp4_params *p, tgi_mp4 **out)
{
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "mp4: no place to return the encoder");
    *out = NULL;
    if (!p)
        return tgi_fail(ctx, TG_EINVAL, "mp4: no parameters");
    if (!path || !*path)
        return tgi_fail(ctx, TG_EINVAL, "mp4: no output path");
    if (p->width < 2 || p->width > TG_MP4_MAX_SIDE || p->height < 2 || p->height > TG_MP4_MAX_SIDE)
        return tgi_fail(ctx, TG_EINVAL, "mp4: size %dx%d is outside 2..%d pixels a side", p->width,
                        p->height, TG_MP4_MAX_SIDE);
    if (p->width % 2 || p->height % 2)
        return tgi_fail(ctx, TG_EINVAL, "mp4: size %dx%d is odd; yuv420p needs even sides",
                        p->width, p->height);
    if (!(p->fps >= TG_MP4_MIN_FPS && p->fps <= TG_MP4_MAX_FPS)) /* also refuses NaN */
        return tgi_fail(ctx, TG_EINVAL, "mp4: frame rate %g is outside %g..%g", p->fps,
                        TG_MP4_MIN_FPS, TG_MP4_MAX_FPS);
    if (p->quality < 1 || p->quality > 100)
        return tgi_fail(ctx, TG_EINVAL, "mp4: quality %d is outside 1..100", p->quality);

    int rc, e;
    AVDictionary *mux_opts = NULL;
    char *url = NULL;
    tgi_mp4 *m = calloc(1, sizeof(*m));
    if (!m)
        return tgi_fail(ctx, TG_ENOMEM, "mp4: out of memory");
    m->width = p->width;
    m->height = p->height;
    /* 12 → 12/1, 29.97 → 2997/100, 30000/1001.0 → 30000/1001 */
    AVRational rate = av_d2q(p->fps, 100000);

    if ((e = avformat_alloc_output_context2(&m->fmt, NULL, "mp4", NULL)) < 0) {
        rc = fail_av(ctx, e, false, "creating the MP4 muxer");
        goto fail;
    }
    if ((rc = open_encoder(ctx, m, p, rate)) < 0)
        goto fail;
    if ((rc = open_scaler(ctx, m)) < 0)
        goto fail;
    if (!(m->frame = av_frame_alloc()) || !(m->pkt = av_packet_alloc())) {
        rc = tgi_fail(ctx, TG_ENOMEM, "mp4: out of memory");
        goto fail;
    }
    m->frame->format = AV_PIX_FMT_YUV420P;
    m->frame->width = p->width;
    m->frame->height = p->height;
    m->frame->color_range = m->enc->color_range;
    m->frame->colorspace = m->enc->colorspace;
    m->frame->color_primaries = m->enc->color_primaries;
    m->frame->color_trc = m->enc->color_trc;
    if ((e = av_frame_get_buffer(m->frame, 0)) < 0) {
        rc = fail_av(ctx, e, false, "allocating a frame");
        goto fail;
    }

    if (!(m->st = avformat_new_stream(m->fmt, NULL))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "mp4: out of memory for a stream");
        goto fail;
    }
    if ((e = avcodec_parameters_from_context(m->st->codecpar, m->enc)) < 0) {
        rc = fail_av(ctx, e, false, "copying the codec parameters");
        goto fail;
    }
    m->st->time_base = m->enc->time_base;
    m->st->avg_frame_rate = rate;

    /* "file:" so that a ':' in the path is never read as a protocol name */
    size_t n = strlen(path) + sizeof("file:");
    if (!(url = malloc(n))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "mp4: out of memory");
        goto fail;
    }
    snprintf(url, n, "file:%s", path);
    if ((e = avio_open2(&m->fmt->pb, url, AVIO_FLAG_WRITE, NULL, NULL)) < 0) {
        rc = tgi_av_fail_io(ctx, e, TG_EENCODE, "mp4: cannot create '%s'", path);
        goto fail;
    }
    /* the muxer re-opens its url to move moov to the front: give it the same name */
    av_freep(&m->fmt->url);
    if (!(m->fmt->url = av_strdup(url))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "mp4: out of memory");
        goto fail;
    }
    if ((e = av_dict_set(&mux_opts, "movflags", "+faststart", 0)) < 0) {
        rc = fail_av(ctx, e, false, "setting the muxer options");
        goto fail;
    }
    if ((e = avformat_write_header(m->fmt, &mux_opts)) < 0) {
        rc = fail_av(ctx, e, true, "writing the MP4 header");
        goto fail;
    }
    if (av_dict_count(mux_opts) > 0) {
        rc = tgi_fail(ctx, TG_EINTERNAL, "mp4: the muxer ignored movflags=+faststart");
        goto fail;
    }
    av_dict_free(&mux_opts);
    free(url);
    *out = m;
    return 0;
fail:
    av_dict_free(&mux_opts);
    free(url);
    tgi_mp4_free(&m);
    return rc;
}

/* Move every packet the encoder has ready into the muxer. */
static int drain(tg_ctx *ctx, tgi_mp4 *m)
{
    for (;;) {
        int e = avcodec_receive_packet(m->enc, m->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return 0;
        if (e < 0)
            return fail_av(ctx, e, false, "encoding");
        if (m->pkt->duration <= 0)
            m->pkt->duration = 1; /* every frame lasts one tick of 1/fps */
        av_packet_rescale_ts(m->pkt, m->enc->time_base, m->st->time_base);
        m->pkt->stream_index = m->st->index;
        if ((e = av_interleaved_write_frame(m->fmt, m->pkt)) < 0) /* takes the packet */
            return fail_av(ctx, e, true, "writing a packet");
    }
}

static int add_frame(tg_ctx *ctx, tgi_mp4 *m, const uint8_t *rgba)
{
    int e;
    /* the encoder may still hold a reference to the previous buffer */
    if ((e = av_frame_make_writable(m->frame)) < 0)
        return fail_av(ctx, e, false, "allocating a frame");
    const uint8_t *src[4] = {rgba, NULL, NULL, NULL};
    const int stride[4] = {m->width * 4, 0, 0, 0};
    if (sws_scale(m->sws, src, stride, 0, m->height, m->frame->data, m->frame->linesize) !=
        m->height)
        return tgi_fail(ctx, TG_EENCODE, "mp4: swscale could not convert a frame");
    m->frame->pts = m->pts;
    if ((e = avcodec_send_frame(m->enc, m->frame)) < 0)
        return fail_av(ctx, e, false, "encoding");
    return drain(ctx, m);
}

int tgi_mp4_add(tg_ctx *ctx, tgi_mp4 *m, const uint8_t *rgba)
{
    if (!m)
        return tgi_fail(ctx, TG_EINVAL, "mp4: no encoder");
    if (!rgba)
        return tgi_fail(ctx, TG_EINVAL, "mp4: no frame data");
    if (m->failed)
        return tgi_fail_keep(ctx, m->failed, "mp4: the encoder failed earlier");
    int rc = add_frame(ctx, m, rgba);
    if (rc < 0)
        m->failed = rc;
    else
        m->pts++;
    return rc;
}

int tgi_mp4_end(tg_ctx *ctx, tgi_mp4 **mp)
{
    if (!mp || !*mp)
        return tgi_fail(ctx, TG_EINVAL, "mp4: no encoder to finish");
    tgi_mp4 *m = *mp;
    int rc = 0, e;
    if (m->failed) {
        rc = tgi_fail_keep(ctx, m->failed, "mp4: the encoder failed earlier");
    } else if (m->pts == 0) {
        rc = tgi_fail(ctx, TG_EINVAL, "mp4: no frame was added");
    } else if ((e = avcodec_send_frame(m->enc, NULL)) < 0) {
        rc = fail_av(ctx, e, false, "flushing the encoder");
    } else if ((rc = drain(ctx, m)) == 0) {
        if ((e = av_write_trailer(m->fmt)) < 0)
            rc = fail_av(ctx, e, true, "writing the MP4 index");
        else if ((e = avio_closep(&m->fmt->pb)) < 0)
            rc = fail_av(ctx, e, true, "closing the file");
    }
    tgi_mp4_free(mp);
    return rc;
}

void tgi_mp4_free(tgi_mp4 **mp)
{
    if (!mp || !*mp)
        return;
    tgi_mp4 *m = *mp;
    if (m->fmt) {
        if (m->fmt->pb)
            avio_closep(&m->fmt->pb);
        avformat_free_context(m->fmt);
    }
    avcodec_free_context(&m->enc);
    sws_freeContext(m->sws);
    av_frame_free(&m->frame);
    av_packet_free(&m->pkt);
    free(m);
    *mp = NULL;
}

const char *tgi_mp4_encoder_name(const tgi_mp4 *m)
{
    return m && m->enc && m->enc->codec ? m->enc->codec->name : "";
}
