/*
 * media.c — video files through libavformat, libavcodec and libswscale: probe and
 * decode (see media.h). AVERROR codes become TG_E* through media/av.h, with libav's
 * own text kept in the message.
 *
 * Geometry: the container gives storage size (coded_w x coded_h), a sample aspect
 * ratio and a display rotation. Callers speak display coordinates only; for each
 * frame we (1) crop in storage coordinates (the display crop mapped back through
 * the rotation and the SAR), (2) scale with swscale to the pre-rotation output
 * size, in the frame's own colours (media/colour.h: its matrix and range; HDR
 * tone-mapped), (3) rotate the small RGB image into place.
 */
#include "media/media.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "core/utf8.h"
#include "media/av.h"
#include "media/colour.h"

struct tgi_media {
    AVFormatContext *fmt;
    int vidx;
    int threads;
    int dirty;  /* the demuxer has moved: seek before the next decode */
    int64_t t0; /* stream time of presentation 0 */
    AVRational tb;
    tgi_media_info info;
    char path[512];
    int path_cut; /* path is longer than the copy kept here: it cannot be opened again */
    int indexed;  /* the container has a keyframe index (seek_to) */
    unsigned long decodes, packets; /* tgi_media_work */
};

int tgi_media_open(tg_ctx *ctx, const char *path, int threads, tgi_media **out)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return tgi_fail(ctx, errno == ENOENT ? TG_ENOENT : TG_EIO, "cannot open '%s': %s", path,
                        strerror(errno));
    if (S_ISDIR(st.st_mode))
        return tgi_fail(ctx, TG_EFORMAT, "'%s' is a directory, not a video file", path);
    if (!S_ISREG(st.st_mode))
        return tgi_fail(ctx, TG_EFORMAT, "'%s' is not a regular file (%s), so not a video file",
                        path,
                        S_ISFIFO(st.st_mode)                         ? "a pipe"
                        : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                        : S_ISSOCK(st.st_mode)                       ? "a socket"
                                                                     : "not a plain file");
    if (st.st_size == 0)
        return tgi_fail(ctx, TG_EFORMAT, "'%s' is empty (0 bytes)", path);

    tgi_av_quiet();

    tgi_media *m = calloc(1, sizeof(*m));
    if (!m)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    tgi_utf8_copy(m->path, sizeof(m->path), path);
    m->path_cut = strcmp(m->path, path) != 0;
    m->threads = threads;
    int rc, e;

    if ((e = avformat_open_input(&m->fmt, path, NULL, NULL)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_EFORMAT, "'%s' is not a readable video file", path);
        goto fail;
    }
    if ((e = avformat_find_stream_info(m->fmt, NULL)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_ECORRUPT, "cannot read the streams of '%s'", path);
        goto fail;
    }
    m->vidx = -1;
    for (unsigned i = 0; i < m->fmt->nb_streams; i++) {
        AVStream *s = m->fmt->streams[i];
        if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
            if (m->vidx < 0 || s->codecpar->width * s->codecpar->height >
                                   m->fmt->streams[m->vidx]->codecpar->width *
                                       m->fmt->streams[m->vidx]->codecpar->height)
                m->vidx = (int)i;
        }
    }
    if (m->vidx < 0) {
        int audio = 0;
        for (unsigned i = 0; i < m->fmt->nb_streams; i++)
            audio |= m->fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
        if (m->fmt->nb_streams == 0)
            rc = tgi_fail(ctx, TG_ECORRUPT,
                          "'%s' holds no stream at all: it is truncated or corrupt, or has no "
                          "frames",
                          path);
        else
            rc = tgi_fail(ctx, TG_ENOVIDEO, "'%s' has no video stream (%s)", path,
                          audio ? "audio only" : "only data or subtitles");
        goto fail;
    }
    for (unsigned i = 0; i < m->fmt->nb_streams; i++)
        if ((int)i != m->vidx)
            m->fmt->streams[i]->discard = AVDISCARD_ALL;

    AVStream *vs = m->fmt->streams[m->vidx];
    AVCodecParameters *par = vs->codecpar;
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
        rc = tgi_fail(ctx, TG_ECODEC, "'%s': no decoder for the video codec '%s'", path,
                      avcodec_get_name(par->codec_id));
        goto fail;
    }
    tgi_media_info *in = &m->info;
    snprintf(in->codec, sizeof(in->codec), "%s", codec->name);
    /* image demuxers: image2 (files by name) and the *_pipe probes (png_pipe, …) */
    const char *fmt_name = m->fmt->iformat->name;
    size_t fl = strlen(fmt_name);
    in->still = !strcmp(fmt_name, "image2") || (fl > 5 && !strcmp(fmt_name + fl - 5, "_pipe"));
    in->coded_w = par->width;
    in->coded_h = par->height;
    if (par->codec_id == AV_CODEC_ID_WEBP && (in->coded_w == 0 || in->coded_h == 0)) {
        /* FFmpeg's WebP decoder reads still WebP only */
        rc = tgi_fail(ctx, TG_EFORMAT,
                      "'%s' is an animated WebP, which thumbgen cannot read; convert it to a "
                      "video (MP4) or a GIF first",
                      path);
        goto fail;
    }
    if (in->coded_w == 0 || in->coded_h == 0) {
        rc = tgi_fail(ctx, TG_ECORRUPT,
                      "'%s': the video's size is unknown (no frame could be read): the file is "
                      "truncated or corrupt, or has no frames",
                      path);
        goto fail;
    }
    if (in->coded_w < TG_MEDIA_MIN_SIDE || in->coded_h < TG_MEDIA_MIN_SIDE ||
        in->coded_w > TG_MEDIA_MAX_SIDE || in->coded_h > TG_MEDIA_MAX_SIDE) {
        int small = in->coded_w < TG_MEDIA_MIN_SIDE || in->coded_h < TG_MEDIA_MIN_SIDE;
        rc = tgi_fail(
            ctx, TG_ELIMIT,
            "'%s': the %s is %dx%d pixels, too %s; thumbgen handles %d to %d pixels a side", path,
            in->still ? "picture" : "video", in->coded_w, in->coded_h, small ? "small" : "large",
            TG_MEDIA_MIN_SIDE, TG_MEDIA_MAX_SIDE);
        goto fail;
    }
    AVRational sar = av_guess_sample_aspect_ratio(m->fmt, vs, NULL);
    in->sar = (sar.num > 0 && sar.den > 0) ? av_q2d(sar) : 1.0;
    if (in->sar < 0.1 || in->sar > 10.0)
        in->sar = 1.0; /* absurd aspect: ignore rather than distort */
    const uint8_t *dm = av_stream_get_side_data(vs, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (dm) {
        double theta = -av_display_rotation_get((const int32_t *)dm);
        if (!isnan(theta)) {
            int r = (int)lround(theta / 90.0) * 90;
            r %= 360;
            if (r < 0)
                r += 360;
            in->rotation = r;
        }
    }
    int pw = (int)lround(in->coded_w * in->sar), ph = in->coded_h;
    pw += pw & 1;
    if (in->rotation == 90 || in->rotation == 270) {
        in->width = ph;
        in->height = pw;
    } else {
        in->width = pw;
        in->height = ph;
    }
    AVRational fr = av_guess_frame_rate(m->fmt, vs, NULL);
    in->fps = (fr.num > 0 && fr.den > 0) ? av_q2d(fr) : 0;
    if (in->fps > TG_MEDIA_MAX_FPS || (fr.num > 0 && in->fps < 0.01)) {
        rc = tgi_fail(ctx, TG_ELIMIT,
                      "'%s': a frame rate of %.4g fps is outside what thumbgen handles "
                      "(0.01 to %.0f)",
                      path, in->fps, TG_MEDIA_MAX_FPS);
        goto fail;
    }
    m->tb = vs->time_base;
    m->t0 = vs->start_time != AV_NOPTS_VALUE ? vs->start_time : 0;
    m->indexed = avformat_index_get_entries_count(vs) > 0;
    if (vs->duration != AV_NOPTS_VALUE && vs->duration > 0)
        in->duration = vs->duration * av_q2d(vs->time_base);
    else if (m->fmt->duration != AV_NOPTS_VALUE && m->fmt->duration > 0)
        in->duration = m->fmt->duration / (double)AV_TIME_BASE;
    if (in->duration > TG_MEDIA_MAX_DURATION) {
        rc = tgi_fail(ctx, TG_ELIMIT, "'%s' claims to last %.0f hours; thumbgen handles up to %.0f",
                      path, in->duration / 3600, TG_MEDIA_MAX_DURATION / 3600);
        goto fail;
    }
    if (in->fps <= 0)
        in->fps = 25; /* unknown: only used as a hint */
    *out = m;
    return 0;
fail:
    tgi_media_close(&m);
    return rc;
}

int tgi_media_open_again(tg_ctx *ctx, const tgi_media *m, int threads, tgi_media **out)
{
    *out = NULL;
    if (m->path_cut || m->info.still)
        return tgi_fail(ctx, TG_EINVAL, "this video cannot be opened a second time");
    tgi_media *again = NULL;
    int rc = tgi_media_open(ctx, m->path, threads, &again);
    if (rc < 0)
        return rc;
    const tgi_media_info *a = &again->info, *b = &m->info;
    /* the same file, still: not replaced between the two opens */
    if (a->width != b->width || a->height != b->height || a->duration != b->duration ||
        a->rotation != b->rotation || strcmp(a->codec, b->codec) != 0 || again->t0 != m->t0) {
        tgi_media_close(&again);
        return tgi_fail(ctx, TG_EIO, "'%s' changed while it was read", m->path);
    }
    *out = again;
    return 0;
}

const tgi_media_info *tgi_media_get_info(const tgi_media *m)
{
    return &m->info;
}

void tgi_media_work(const tgi_media *m, unsigned long *decodes, unsigned long *packets)
{
    *decodes = m->decodes;
    *packets = m->packets;
}

void tgi_media_close(tgi_media **pm)
{
    if (!pm || !*pm)
        return;
    avformat_close_input(&(*pm)->fmt);
    free(*pm);
    *pm = NULL;
}

/* Reads the next packet: 1 for a video packet (whether it is a keyframe, its time
 * (pts, else dts), dts and byte position), 0 for another stream's, -1 at the end. */
static int next_packet(tgi_media *m, AVPacket *pkt, int *key, int64_t *t, int64_t *dts,
                       int64_t *pos)
{
    int e;
    while ((e = av_read_frame(m->fmt, pkt)) == AVERROR(EAGAIN))
        ;
    if (e < 0)
        return -1;
    int video = pkt->stream_index == m->vidx;
    *key = video && (pkt->flags & AV_PKT_FLAG_KEY);
    *t = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    *dts = pkt->dts;
    *pos = pkt->pos;
    av_packet_unref(pkt);
    return video;
}

/* From where the demuxer is: the byte position of the first video keyframe, when it is
 * shown at or before ts (stream time); -1 when a packet past ts (in decoding order)
 * or the end comes first. Reads packets: seek after. */
static int64_t first_key_before(tgi_media *m, int64_t ts)
{
    AVPacket *pkt = av_packet_alloc();
    int64_t found = -1, p, dts, pos;
    int key, v;
    while (pkt && (v = next_packet(m, pkt, &key, &p, &dts, &pos)) >= 0) {
        if (!v)
            continue;
        if (key && (p == AV_NOPTS_VALUE || p <= ts))
            found = pos;
        if (key || (dts != AV_NOPTS_VALUE && dts > ts))
            break;
    }
    av_packet_free(&pkt);
    return found;
}

/* Whether the first video packet read from here is a keyframe shown at or before ts. */
static int landed_on_key(tgi_media *m, int64_t ts)
{
    AVPacket *pkt = av_packet_alloc();
    int64_t p = AV_NOPTS_VALUE, dts, pos;
    int key = 0, v = -1;
    while (pkt && (v = next_packet(m, pkt, &key, &p, &dts, &pos)) == 0)
        ;
    av_packet_free(&pkt);
    return v > 0 && key && (p == AV_NOPTS_VALUE || p <= ts);
}

/* The seek a decode from start makes: backwards to the keyframe at or before it. A file
 * with an index (MP4, Matroska, AVI) lands there at once. MPEG-TS (TV recordings,
 * camcorders' .mts, HLS downloads), program streams and raw H.264 have none: the seek
 * lands on the packet nearest the time, and with keyframes 10 s apart the render decoded from the
 * middle of a GOP and got no frame for its clip ("no frame could be decoded between ..."). There
 * the keyframe is looked for from the landing on, and the seek goes back 1, 2, 4, ... s until one
 * at or before the time comes first; then to its byte position. */
static int seek_to(tgi_media *m, double start)
{
    AVStream *vs = m->fmt->streams[m->vidx];
    double tb = av_q2d(vs->time_base);
    int64_t ts = m->t0 + (int64_t)(start / tb);
    if (!m->indexed && !(m->fmt->iformat->flags & AVFMT_NO_BYTE_SEEK)) {
        int64_t at = ts;
        for (double back = 1;; back *= 2) {
            /* the last try reads from the file's first byte */
            int first = at <= m->t0 || back >= 8192;
            int e = first ? avformat_seek_file(m->fmt, -1, INT64_MIN, 0, 0, AVSEEK_FLAG_BYTE)
                          : av_seek_frame(m->fmt, m->vidx, at, AVSEEK_FLAG_BACKWARD);
            int64_t pos = e >= 0 ? first_key_before(m, ts) : -1;
            if (pos >= 0 && avformat_seek_file(m->fmt, -1, pos, pos, pos, AVSEEK_FLAG_BYTE) >= 0)
                return 0;
            if (first)
                break;
            at = ts - (int64_t)(back / tb);
        }
    } else if (av_seek_frame(m->fmt, m->vidx, ts, AVSEEK_FLAG_BACKWARD) >= 0) {
        /* An index may list frames that are no keyframes: MPEG program streams (.mpg,
         * .vob) index every packet with a time, and the decoder dropped what came before
         * the next keyframe (a clip began frozen on it, a poster came 0.3-0.5 s late).
         * The landing must be a keyframe at or before the time; else this index is not
         * used again, and the keyframe is looked for by bytes, as without one. */
        if (landed_on_key(m, ts) && av_seek_frame(m->fmt, m->vidx, ts, AVSEEK_FLAG_BACKWARD) >= 0)
            return 0;
        if (m->fmt->iformat->flags & AVFMT_NO_BYTE_SEEK)
            return av_seek_frame(m->fmt, m->vidx, ts, AVSEEK_FLAG_BACKWARD) >= 0 ? 0 : -1;
        m->indexed = 0;
        return seek_to(m, start);
    }
    if (av_seek_frame(m->fmt, m->vidx, m->t0, AVSEEK_FLAG_BACKWARD | AVSEEK_FLAG_ANY) >= 0 ||
        avformat_seek_file(m->fmt, -1, INT64_MIN, 0, 0, AVSEEK_FLAG_BYTE) >= 0)
        return 0;
    return -1;
}

int tgi_media_seek_landing(tg_ctx *ctx, tgi_media *m, double t, int64_t *mark)
{
    *mark = -1;
    if (m->info.still)
        return 0;
    AVPacket *pkt = av_packet_alloc();
    if (!pkt)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    m->dirty = 1;
    int e = seek_to(m, t > 0 ? t : 0);
    while (e >= 0) {
        e = av_read_frame(m->fmt, pkt);
        if (e == AVERROR(EAGAIN)) {
            e = 0;
            continue;
        }
        if (e >= 0 && pkt->stream_index == m->vidx) {
            *mark = pkt->pos >= 0 ? pkt->pos : -1;
            e = -1;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    return 0;
}

/* Display rect -> storage rect (undo rotation, then the SAR). */
static tg_rect crop_to_storage(const tgi_media_info *in, tg_rect d)
{
    int pw = in->rotation == 90 || in->rotation == 270 ? in->height : in->width;
    int ph = in->rotation == 90 || in->rotation == 270 ? in->width : in->height;
    tg_rect p = d;
    switch (in->rotation) {
    case 90:
        p = (tg_rect){d.y, ph - (d.x + d.w), d.h, d.w};
        break;
    case 180:
        p = (tg_rect){pw - (d.x + d.w), ph - (d.y + d.h), d.w, d.h};
        break;
    case 270:
        p = (tg_rect){pw - (d.y + d.h), d.x, d.h, d.w};
        break;
    }
    double sx = (double)in->coded_w / pw;
    tg_rect s = {(int)lround(p.x * sx), p.y, (int)lround(p.w * sx), p.h};
    if (s.x < 0)
        s.x = 0;
    if (s.y < 0)
        s.y = 0;
    if (s.x + s.w > in->coded_w)
        s.w = in->coded_w - s.x;
    if (s.y + s.h > in->coded_h)
        s.h = in->coded_h - s.y;
    return s;
}

/* Rotate a packed image of bpp bytes per pixel clockwise by rot into dst. */
static void rotate(const uint8_t *src, int w, int h, int bpp, int rot, uint8_t *dst)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *row = src + (size_t)y * w * bpp;
        for (int x = 0; x < w; x++) {
            int dx, dy, dw;
            if (rot == 90) {
                dx = h - 1 - y;
                dy = x;
                dw = h;
            } else if (rot == 180) {
                dx = w - 1 - x;
                dy = h - 1 - y;
                dw = w;
            } else {
                dx = y;
                dy = w - 1 - x;
                dw = h;
            }
            memcpy(dst + ((size_t)dy * dw + dx) * bpp, row + (size_t)x * bpp, (size_t)bpp);
        }
    }
}

typedef struct dec_state {
    const tgi_decode_req *req;
    tgi_media *m;
    tgi_colour *conv, *side_conv[2];
    uint8_t *buf, *rot, *side[2], *side_rot[2];
    int bw, bh, bpp;
    double last_t, last_reported, last_side_t[2];
    int accepted, stop, sided[2];
    AVFrame *held; /* with req->need: the frame waiting for its successor's time */
    double held_t;
    int holding;
    tgi_decode_stats stats;
    tgi_frame_fn fn;
    void *user;
    int main_done;          /* the range is over (or there is none): stills only */
    double sure_end;        /* the earliest frame past end sure to be decoded */
    int past_end, reorder;  /* video packets at or past end so far; the stream's
                             * reorder depth (see past_the_end) */
    double *still_sure;     /* the same for each still, past its time */
    tgi_colour *still_conv; /* the stills' scaler (their own size) */
    uint8_t *still_tmp, *still_rot;
    size_t still_bytes;
    struct sent_times *la; /* with req->span_needed: the times of the packets sent */
    int check_landing;     /* the next frame out is the first after a seek (see deliver) */
    int bad_landing;       /* ... and it did not decode cleanly: seek further back */
    double landing_t;      /* its time */
} dec_state;

/* The times of the last LA_HISTORY packets sent to the decoder (seconds; NAN: none), so
 * that a packet's next frame time is known before it is decoded, as far as these tell:
 * the smallest of them after its own. A frame shown next but decoded later gives a later
 * time than the true one, never an earlier: a frame is only ever judged on an interval
 * that holds the one it is really shown in. With x264's B-pyramid a non-reference
 * B-frame's successor is decoded before it (a reference frame) or is one of those seen. */
#define LA_HISTORY 32
typedef struct sent_times {
    double hist[LA_HISTORY];
    int nh;
} sent_times;

/* Side copy k (0: side_w x side_h, 1: side2_w x side2_h; see tgi_decode_req) of
 * frame f: RGB24, bilinear, rotated. */
static int side_copy(tg_ctx *ctx, dec_state *s, int k, AVFrame *f, int rot, const uint8_t **out)
{
    const tgi_decode_req *rq = s->req;
    int w = k ? rq->side2_w : rq->side_w, h = k ? rq->side2_h : rq->side_h;
    int sw = (rot == 90 || rot == 270) ? h : w;
    int sh = (rot == 90 || rot == 270) ? w : h;
    size_t bytes = (size_t)sw * sh * 3;
    if (!s->side[k]) {
        s->side[k] = malloc(bytes);
        s->side_rot[k] = rot ? malloc(bytes) : NULL;
        if (!s->side[k] || (rot && !s->side_rot[k]))
            return tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d frame", sw, sh);
    }
    int rc = tgi_colour_scale(ctx, &s->side_conv[k], f, sw, sh, 3, SWS_BILINEAR, s->side[k]);
    if (rc < 0)
        return rc;
    if (rot) {
        rotate(s->side[k], sw, sh, 3, rot, s->side_rot[k]);
        *out = s->side_rot[k];
    } else {
        *out = s->side[k];
    }
    return 0;
}

/* The request's crop applied to f (once: a cropped frame is no longer coded size). */
static void apply_crop(const dec_state *s, AVFrame *f)
{
    const tgi_decode_req *rq = s->req;
    const tgi_media_info *in = &s->m->info;
    if (rq->crop.w > 0) {
        tg_rect c = crop_to_storage(in, rq->crop);
        if (f->width == in->coded_w && f->height == in->coded_h && c.w > 0 && c.h > 0) {
            f->crop_left = (size_t)c.x;
            f->crop_top = (size_t)c.y;
            f->crop_right = (size_t)(f->width - c.x - c.w);
            f->crop_bottom = (size_t)(f->height - c.y - c.h);
            av_frame_apply_cropping(f, AV_FRAME_CROP_UNALIGNED);
        }
    }
}

/* The scaler's flags for the request's frames and stills. */
static int scale_flags(const tgi_decode_req *rq)
{
    return (rq->flags & TG_DECODE_FAST) ? SWS_AREA
                                        : SWS_LANCZOS | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT;
}

/* Scale frame f (at t) and hand it to the callback. */
static int convert(tg_ctx *ctx, dec_state *s, AVFrame *f, double t)
{
    const tgi_decode_req *rq = s->req;
    const tgi_media_info *in = &s->m->info;
    apply_crop(s, f);
    int rot = in->rotation;
    int ow = (rot == 90 || rot == 270) ? rq->height : rq->width;
    int oh = (rot == 90 || rot == 270) ? rq->width : rq->height;
    int bpp = rq->pix == TG_PIX_RGBA ? 4 : 3;
    if (!s->buf || s->bw != ow || s->bh != oh) {
        free(s->buf);
        free(s->rot);
        s->rot = NULL;
        s->buf = malloc((size_t)ow * oh * bpp);
        if (rot)
            s->rot = malloc((size_t)ow * oh * bpp);
        if (!s->buf || (rot && !s->rot))
            return tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d frame", ow, oh);
        s->bw = ow;
        s->bh = oh;
        s->bpp = bpp;
    }
    int rc = tgi_colour_scale(ctx, &s->conv, f, ow, oh, bpp, scale_flags(rq), s->buf);
    if (rc < 0)
        return rc;
    const uint8_t *img = s->buf;
    if (rot) {
        rotate(s->buf, ow, oh, bpp, rot, s->rot);
        img = s->rot;
    }
    tgi_frame fr = {.t = t,
                    .width = rq->width,
                    .height = rq->height,
                    .stride = rq->width * bpp,
                    .pix = rq->pix,
                    .data = img,
                    .side2_w = rq->side2_w,
                    .side2_h = rq->side2_h};
    for (int k = 0; k < 2; k++) {
        int want = k ? rq->side2_w : rq->side_w;
        double every = k ? rq->side2_interval : rq->side_interval;
        if (want <= 0 || (s->sided[k] && t < s->last_side_t[k] + every - 1e-4))
            continue;
        rc = side_copy(ctx, s, k, f, rot, k ? &fr.side2 : &fr.side);
        if (rc < 0)
            return rc;
        s->last_side_t[k] = t;
        s->sided[k] = 1;
    }
    s->stats.converted++;
    int r = s->fn(s->user, &fr);
    if (r > 0)
        s->stop = 1;
    if (r < 0)
        return r;
    if (rq->stage) {
        double span = (rq->end > 0 ? rq->end : in->duration) - rq->start;
        double frac = span > 0 ? (t - rq->start) / span : 0;
        if (frac - s->last_reported >= 0.005) {
            s->last_reported = frac;
            return tgi_progress(ctx, rq->stage, frac);
        }
    }
    return 0;
}

/* The held frame, now that the next one's time is known: scaled and delivered if the
 * caller wants it, dropped otherwise. */
static int flush_held(tg_ctx *ctx, dec_state *s, double next_t)
{
    if (!s->holding)
        return 0;
    s->holding = 0;
    int rc = 0;
    if (s->req->need(s->user, s->held_t, next_t))
        rc = convert(ctx, s, s->held, s->held_t);
    av_frame_unref(s->held);
    return rc;
}

/* Still st from frame f: scaled as convert() scales (into a buffer of the decoder's own,
 * as there, so that the scaler works on the same memory layout), then copied. */
static int take_still(tg_ctx *ctx, dec_state *s, tgi_still_req *st, AVFrame *f)
{
    int rot = s->m->info.rotation;
    int ow = (rot == 90 || rot == 270) ? st->height : st->width;
    int oh = (rot == 90 || rot == 270) ? st->width : st->height;
    int bpp = st->pix == TG_PIX_RGBA ? 4 : 3;
    size_t bytes = (size_t)ow * oh * bpp;
    if (bytes > s->still_bytes) {
        free(s->still_tmp);
        free(s->still_rot);
        s->still_tmp = malloc(bytes);
        s->still_rot = rot ? malloc(bytes) : NULL;
        s->still_bytes = s->still_tmp && (s->still_rot || !rot) ? bytes : 0;
        if (!s->still_bytes)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d frame", ow, oh);
    }
    apply_crop(s, f);
    int rc =
        tgi_colour_scale(ctx, &s->still_conv, f, ow, oh, bpp, scale_flags(s->req), s->still_tmp);
    if (rc < 0)
        return rc;
    if (rot) {
        rotate(s->still_tmp, ow, oh, bpp, rot, s->still_rot);
        memcpy(st->buf, s->still_rot, bytes);
    } else {
        memcpy(st->buf, s->still_tmp, bytes);
    }
    st->got = 1;
    return 0;
}

/* The stills frame f (at t) is the first frame of: taken. Returns 1 when every still is
 * settled (taken, or its window passed), 0 when some still waits, or an error. */
static int stills_at(tg_ctx *ctx, dec_state *s, AVFrame *f, double t)
{
    const tgi_decode_req *rq = s->req;
    int settled = 1, rc;
    for (size_t j = 0; j < rq->n_stills; j++) {
        tgi_still_req *st = &rq->stills[j];
        if (!st->got && t >= st->t - 1e-6 && t < st->until - 1e-6 &&
            (rc = take_still(ctx, s, st, f)) < 0)
            return rc;
        settled &= st->got || t >= st->until - 1e-6;
    }
    return settled;
}

static int deliver(tg_ctx *ctx, dec_state *s, AVFrame *f)
{
    const tgi_decode_req *rq = s->req;
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE)
        ts = f->pts;
    if (ts == AV_NOPTS_VALUE)
        return 0; /* a frame we cannot place in time is useless to us */
    double t = (ts - s->m->t0) * av_q2d(s->m->tb);
    if (s->check_landing) {
        /* A keyframe the index calls a seek point may not decode on its own: an old
         * x264 whose bugs the decoder works around once it has read the encoder's
         * version in the first frame (a 4:4:4 phone video came out as green garbage
         * from every seek), or a stream that needs what came before. The decoder
         * conceals what it could not decode; such a frame is no start. */
        s->check_landing = 0;
        if (f->decode_error_flags || (f->flags & AV_FRAME_FLAG_CORRUPT)) {
            s->bad_landing = 1;
            s->landing_t = t;
            return 0;
        }
    }
    int settled = 1, rc = 0;
    if (rq->n_stills && (settled = stills_at(ctx, s, f, t)) < 0)
        return settled;
    if (s->main_done) {
        s->stop = settled;
        return 0;
    }
    if (t < rq->start - 1e-6)
        return 0;
    if (rq->end > 0 && t >= rq->end - 1e-6) {
        s->main_done = 1;
        rc = rq->need ? flush_held(ctx, s, t) : 0;
        s->stop |= settled;
        return rc;
    }
    if (s->accepted && t <= s->last_t + 1e-6)
        return 0; /* duplicate or backwards timestamp */
    if (s->accepted && rq->min_interval > 0 && t < s->last_t + rq->min_interval - 1e-4)
        return 0;
    s->last_t = t;
    s->accepted++;
    s->stats.decoded++;
    if (!rq->need)
        return convert(ctx, s, f, t);
    rc = flush_held(ctx, s, t);
    if (rc < 0 || s->stop)
        return rc;
    av_frame_move_ref(s->held, f);
    s->held_t = t;
    s->holding = 1;
    return 0;
}

/* Whether the frame of pkt may be one someone asked for: in [start, end), the first frame
 * at or past end (its time ends the range's last frame), the first at or past each still's
 * time. Decided per packet, by its own time, in decoding order: a packet past end (or a
 * still's time) is the first such frame unless one shown earlier was already sent in full,
 * so those after it that nothing refers to are skipped (the decoder decides what nothing
 * refers to: AVDISCARD_NONREF). A packet without a time is wanted. */
static double packet_time(const tgi_media *m, const AVPacket *pkt)
{
    return pkt->pts == AV_NOPTS_VALUE ? NAN : (pkt->pts - m->t0) * av_q2d(m->tb);
}

/* With req->span_needed: whether the frame of the packet at pt (in range) may be shown
 * at a time the caller wants (see struct sent_times). The range's first frame always is:
 * a packet is judged only when one shown before it in the range is known. */
static int span_wanted(const dec_state *s, double pt)
{
    const tgi_decode_req *rq = s->req;
    const sent_times *la = s->la;
    double next = INFINITY;
    int after_first = 0;
    for (int i = 0; i < la->nh; i++) {
        double x = la->hist[i];
        if (isnan(x))
            continue;
        if (x > pt + 1e-6 && x < next)
            next = x;
        after_first |= x >= rq->start - 1e-6 && x < pt - 1e-6;
    }
    return !after_first || rq->span_needed(s->user, pt, next);
}

static int packet_wanted(dec_state *s, const AVPacket *pkt)
{
    const tgi_decode_req *rq = s->req;
    if (pkt->pts == AV_NOPTS_VALUE)
        return 1;
    double pt = (pkt->pts - s->m->t0) * av_q2d(s->m->tb);
    int want = 0;
    if (!s->main_done && pt >= rq->start - 1e-6) {
        if (rq->end <= 0 || pt < rq->end - 1e-6) {
            want = !s->la || span_wanted(s, pt);
        } else if (pt <= s->sure_end) {
            want = 1;
            s->sure_end = pt;
        }
    }
    for (size_t j = 0; j < rq->n_stills; j++)
        if (!rq->stills[j].got && pt >= rq->stills[j].t - 1e-6 && pt <= s->still_sure[j]) {
            want = 1;
            s->still_sure[j] = pt;
        }
    return want;
}

/* pkt, about to be sent, joins the history of sent times (after packet_wanted judged it). */
static void sent_times_add(const tgi_media *m, sent_times *la, const AVPacket *pkt)
{
    if (la->nh == LA_HISTORY)
        memmove(la->hist, la->hist + 1, (size_t)--la->nh * sizeof(*la->hist));
    la->hist[la->nh++] = packet_time(m, pkt);
}

static int receive_all(tg_ctx *ctx, dec_state *s, AVCodecContext *dec, AVFrame *f)
{
    for (;;) {
        int e = avcodec_receive_frame(dec, f);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF)
            return 0;
        if (e < 0)
            return 0; /* a broken frame: skip it, the stream may recover */
        int rc = deliver(ctx, s, f);
        av_frame_unref(f);
        if (rc < 0)
            return rc;
        if (s->stop || s->bad_landing)
            return 0;
    }
}

/* Whether the range is over before pkt is sent: every frame it could still deliver is
 * shown at or past its end. A stream reorders at most `reorder` frames (H.264's
 * num_reorder_frames: how many frames may come before a frame in decoding order and after
 * it on screen), so once more than that many packets shown at or past end were read, no
 * later packet is shown before end, nor before the earliest of them (the frame that
 * gives the range's last frame its end, with `need`). The frames in flight are then
 * drained instead of decoding the ones the decoder's delay (frame threads, reordering)
 * would take in after them: ~3 reference frames a range on x264's 1080p (bench/RESULTS.md,
 * "Speed at every length", part 10). Not with stills (they may lie past end) nor for a
 * packet without a time. */
static int past_the_end(dec_state *s, const AVPacket *pkt)
{
    const tgi_decode_req *rq = s->req;
    if (!s->fn || rq->end <= 0 || rq->n_stills || pkt->pts == AV_NOPTS_VALUE ||
        packet_time(s->m, pkt) < rq->end - 1e-6)
        return 0;
    return ++s->past_end > s->reorder;
}

int tgi_media_decode(tg_ctx *ctx, tgi_media *m, const tgi_decode_req *req, tgi_frame_fn fn,
                     void *user, double *last_t)
{
    if (fn && (req->width < 1 || req->height < 1 || req->width > TG_MEDIA_MAX_SIDE * 2 ||
               req->height > TG_MEDIA_MAX_SIDE * 2))
        return tgi_fail(ctx, TG_EINVAL, "bad decode size %dx%d", req->width, req->height);
    if (!fn && !req->n_stills)
        return tgi_fail(ctx, TG_EINVAL, "a decode without a callback takes stills");
    /* the stills: where the decode must start, and each one's earliest sure frame */
    double start = fn ? req->start : INFINITY;
    for (size_t j = 0; j < req->n_stills; j++) {
        const tgi_still_req *st = &req->stills[j];
        if (st->width < 1 || st->height < 1 || st->width > TG_MEDIA_MAX_SIDE * 2 ||
            st->height > TG_MEDIA_MAX_SIDE * 2 || !st->buf || !(st->until > st->t))
            return tgi_fail(ctx, TG_EINVAL, "bad still %dx%d at %.3f s", st->width, st->height,
                            st->t);
        start = st->t < start ? st->t : start;
    }
    start = start > 0 ? start : 0;
    if (req->side_w < 0 || req->side_h < 0 || req->side_w > TG_MEDIA_MAX_SIDE ||
        req->side_h > TG_MEDIA_MAX_SIDE || (req->side_w > 0) != (req->side_h > 0))
        return tgi_fail(ctx, TG_EINVAL, "bad side copy size %dx%d", req->side_w, req->side_h);
    if (req->side2_w < 0 || req->side2_h < 0 || req->side2_w > TG_MEDIA_MAX_SIDE ||
        req->side2_h > TG_MEDIA_MAX_SIDE || (req->side2_w > 0) != (req->side2_h > 0))
        return tgi_fail(ctx, TG_EINVAL, "bad side copy size %dx%d", req->side2_w, req->side2_h);
    AVStream *vs = m->fmt->streams[m->vidx];
    AVCodecContext *dec = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *f = av_frame_alloc();
    /* a range that ends where a keyframe begins need not decode that keyframe; only
     * for ranges without `need` (its last frame waits for the next one's time) */
    AVPacket *ahead =
        fn && !req->n_stills && req->end > 0 && !req->need && !(req->flags & TG_DECODE_KEYONLY)
            ? av_packet_alloc()
            : NULL;
    int held_key = 0;
    sent_times la = {0};
    dec_state s = {.req = req,
                   .m = m,
                   .fn = fn,
                   .user = user,
                   .last_reported = -1,
                   .main_done = !fn,
                   .sure_end = INFINITY};
    int rc = 0, e, bad_packets = 0;
    if (req->n_stills && (s.still_sure = malloc(req->n_stills * sizeof(double))))
        for (size_t j = 0; j < req->n_stills; j++)
            s.still_sure[j] = INFINITY;
    if (!pkt || !f || (req->need && !(s.held = av_frame_alloc())) ||
        (req->n_stills && !s.still_sure)) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    const AVCodec *codec = avcodec_find_decoder(vs->codecpar->codec_id);
    dec = avcodec_alloc_context3(codec);
    if (!dec || avcodec_parameters_to_context(dec, vs->codecpar) < 0) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    /* frame threads: keyframes refer to nothing, so a keyframe-only pass decodes them
     * side by side too (bench/RESULTS.md, "Speed at every length") */
    int threads = req->threads > 0 ? req->threads : m->threads;
    dec->thread_count = threads > 0 ? threads : 0;
    if (req->flags & TG_DECODE_FAST) {
        dec->skip_loop_filter = AVDISCARD_ALL;
        dec->flags2 |= AV_CODEC_FLAG2_FAST;
    }
    if (req->flags & TG_DECODE_NONREF)
        dec->skip_frame = AVDISCARD_NONREF;
    if (req->flags & TG_DECODE_KEYONLY)
        dec->skip_frame = AVDISCARD_NONKEY;
    /* frames no one asks for need not be decoded when nothing refers to them */
    int trim = dec->skip_frame == AVDISCARD_DEFAULT;
    if (trim && fn && req->need && req->span_needed && !ahead)
        s.la = &la;
    dec->pkt_timebase = vs->time_base;
    if ((e = avcodec_open2(dec, codec, NULL)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_ECODEC, "cannot open the %s decoder", codec->name);
        goto done;
    }
    /* the decoder's own count (from the stream's headers) or the probe's, whichever is
     * larger, and one more: a count the stream does not state is only ever raised */
    s.reorder = 1 + (dec->has_b_frames > vs->codecpar->video_delay ? dec->has_b_frames
                                                                   : vs->codecpar->video_delay);
    if (m->dirty && m->info.still) {
        /* an image demuxer read to its end does not seek back: open it again */
        AVFormatContext *again = NULL;
        if ((e = avformat_open_input(&again, m->path, NULL, NULL)) < 0 ||
            (e = avformat_find_stream_info(again, NULL)) < 0 ||
            again->nb_streams != m->fmt->nb_streams) {
            avformat_close_input(&again);
            rc = tgi_av_fail(ctx, e < 0 ? e : AVERROR_INVALIDDATA, TG_EIO, "cannot read '%s' again",
                             m->path);
            goto done;
        }
        for (unsigned i = 0; i < again->nb_streams; i++)
            if ((int)i != m->vidx)
                again->streams[i]->discard = AVDISCARD_ALL;
        avformat_close_input(&m->fmt);
        m->fmt = again;
        vs = m->fmt->streams[m->vidx];
    } else if ((m->dirty || start > 0) && seek_to(m, start) < 0) {
        rc = tgi_fail(ctx, TG_ECORRUPT, "cannot seek in '%s'", m->path);
        goto done;
    }
    s.check_landing = start > 0 && !m->info.still;
    double back = 1; /* how far before a landing that did not decode cleanly to seek next */
    m->dirty = 1;
    m->decodes++;
    if (req->stage && (rc = tgi_progress(ctx, req->stage, 0)) < 0)
        goto done;
    for (;;) {
        if (ahead && ahead->data) {
            av_packet_move_ref(pkt, ahead); /* the keyframe held back below: decoded after all */
            e = 0;
        } else {
            e = av_read_frame(m->fmt, pkt);
        }
        if (e == AVERROR(EAGAIN))
            continue;
        if (e < 0)
            break; /* end of file, or data that stops early: decode what we have */
        int skip = pkt->stream_index != m->vidx;
        if (!skip && ahead && !held_key && (pkt->flags & AV_PKT_FLAG_KEY) &&
            pkt->pts != AV_NOPTS_VALUE && (pkt->pts - m->t0) * av_q2d(m->tb) >= req->end - 1e-6) {
            /* A keyframe at or past the end: in a closed GOP nothing before the end
             * comes after it, so its decoding (and the frames the decoder's delay
             * would take in after it) is wasted. Unless the next video packet is
             * shown before the end (an open GOP's leading frames), stop here. */
            av_packet_move_ref(ahead, pkt);
            held_key = 1;
            for (;;) {
                e = av_read_frame(m->fmt, pkt);
                if (e == AVERROR(EAGAIN))
                    continue;
                if (e < 0 || pkt->stream_index == m->vidx)
                    break;
                av_packet_unref(pkt);
            }
            int64_t npts = e < 0 ? AV_NOPTS_VALUE : pkt->pts;
            if (e < 0 ||
                (npts != AV_NOPTS_VALUE && (npts - m->t0) * av_q2d(m->tb) >= req->end - 1e-6)) {
                av_packet_unref(pkt);
                av_packet_unref(ahead);
                s.stats.keys_spared++;
                break;
            }
            /* a leading frame: decode the keyframe, then it */
            AVPacket *tmp = pkt;
            pkt = ahead;
            ahead = tmp;
        }
        if (!skip && (req->flags & TG_DECODE_KEYONLY)) {
            /* intra-only video has nothing but keyframes: keep to the sampling rate
             * before decoding, not after */
            int64_t pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
            double pt = pts != AV_NOPTS_VALUE ? (pts - m->t0) * av_q2d(m->tb) : -1;
            skip = !(pkt->flags & AV_PKT_FLAG_KEY) ||
                   (s.accepted && pt >= 0 && pt < s.last_t + req->min_interval);
        }
        if (skip) {
            av_packet_unref(pkt);
            continue;
        }
        if (!(req->flags & TG_DECODE_KEYONLY) && past_the_end(&s, pkt)) {
            av_packet_unref(pkt);
            s.stats.tail_spared = 1;
            break;
        }
        if (trim)
            dec->skip_frame = packet_wanted(&s, pkt) ? AVDISCARD_DEFAULT : AVDISCARD_NONREF;
        if (s.la)
            sent_times_add(m, s.la, pkt);
        m->packets++;
        e = avcodec_send_packet(dec, pkt);
        av_packet_unref(pkt);
        if (e == AVERROR(EAGAIN)) {
            /* cannot happen with receive_all draining after every send, but be safe */
            continue;
        }
        if (e < 0 && ++bad_packets > 1000) {
            rc = tgi_av_fail(ctx, e, TG_ECORRUPT, "'%s': too many undecodable video packets",
                             m->path);
            goto done;
        }
        if ((rc = receive_all(ctx, &s, dec, f)) < 0)
            goto done;
        if (s.bad_landing) {
            /* nothing was delivered yet: start again from a keyframe further back, 1,
             * 2, 4, ... s before this one, the file's start at last (never checked) */
            double from = s.landing_t - back;
            back *= 2;
            s.bad_landing = 0;
            s.check_landing = from > 0;
            s.stats.relandings++;
            avcodec_flush_buffers(dec);
            s.sure_end = INFINITY;
            for (size_t j = 0; j < req->n_stills && s.still_sure; j++)
                s.still_sure[j] = INFINITY;
            la.nh = 0;
            s.past_end = 0;
            held_key = 0;
            if (ahead)
                av_packet_unref(ahead);
            if (seek_to(m, from > 0 ? from : 0) < 0) {
                rc = tgi_fail(ctx, TG_ECORRUPT, "cannot seek in '%s'", m->path);
                goto done;
            }
            continue;
        }
        if (s.stop)
            break;
    }
    if (!s.stop) {
        avcodec_send_packet(dec, NULL);
        if ((rc = receive_all(ctx, &s, dec, f)) < 0)
            goto done;
    }
    if (!s.stop && (rc = flush_held(ctx, &s, INFINITY)) < 0)
        goto done;
    if (req->stage && (rc = tgi_progress(ctx, req->stage, 1)) < 0)
        goto done;
    rc = 0;
done:
    if (last_t)
        *last_t = s.accepted ? s.last_t : -1;
    if (req->stats)
        *req->stats = s.stats;
    av_frame_free(&s.held);
    tgi_colour_free(&s.conv);
    tgi_colour_free(&s.still_conv);
    free(s.still_tmp);
    free(s.still_rot);
    free(s.still_sure);
    free(s.buf);
    free(s.rot);
    for (int k = 0; k < 2; k++) {
        tgi_colour_free(&s.side_conv[k]);
        free(s.side[k]);
        free(s.side_rot[k]);
    }
    av_frame_free(&f);
    av_packet_free(&pkt);
    av_packet_free(&ahead);
    avcodec_free_context(&dec);
    return rc;
}
