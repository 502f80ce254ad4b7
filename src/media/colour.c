/*
 * colour.c — decoded frames into RGB with their own matrix, range and transfer (see
 * colour.h).
 */
#include "media/colour.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "media/av.h"

/* The tone mapping of HDR frames: linear light with 100 cd/m² as 1.0 (SDR's reference
 * white), BT.709 primaries, then mobius (linear below its knee, so a scene lit like SDR
 * keeps its look; highlights compressed instead of clipped). */
#define HDR_CHAIN                                                                                  \
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=mobius:desat=0,"      \
    "zscale=t=bt709:m=bt709:r=full"

struct tgi_colour {
    struct SwsContext *sws;
    int key[7]; /* what sws was asked for: source size and format, output size and format, flags */
    int told;   /* sws has been given the details below */
    int told_matrix, told_full;
    /* HDR: swscale to a 16-bit YUV frame of the output size, then the graph */
    AVFrame *mid, *out;
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    int gw, gh, gbpp, gtrc, gpri, gspc, grange; /* what the graph was built for */
};

int tgi_colour_is_hdr(const AVFrame *f)
{
    return f->color_trc == AVCOL_TRC_SMPTE2084 || f->color_trc == AVCOL_TRC_ARIB_STD_B67;
}

int tgi_colour_hdr_ready(void)
{
    return avfilter_get_by_name("zscale") && avfilter_get_by_name("tonemap");
}

/* swscale's matrix for the frame's (BT.601 when untagged, as ffmpeg assumes) */
static int matrix_of(const AVFrame *f)
{
    switch (f->colorspace) {
    case AVCOL_SPC_BT709:
        return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
        return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M:
        return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
        return SWS_CS_BT2020;
    default:
        return SWS_CS_ITU601;
    }
}

static int is_yuvj(int fmt)
{
    return fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P ||
           fmt == AV_PIX_FMT_YUVJ440P || fmt == AV_PIX_FMT_YUVJ411P;
}

static int is_yuv(int fmt)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)fmt);
    return d && !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) && d->nb_components >= 3;
}

/* Tell scaler sws (source: frame f) the frame's matrix and range. Left alone where
 * swscale's own assumption already holds (BT.601, and the range its pixel format
 * implies), so that such frames convert exactly as before. */
static void tell(tgi_colour *c, const AVFrame *f, int to_yuv)
{
    int matrix = matrix_of(f), full = f->color_range == AVCOL_RANGE_JPEG || is_yuvj(f->format);
    if (!is_yuv(f->format))
        return;
    if (c->told ? c->told_matrix == matrix && c->told_full == full
                : matrix == SWS_CS_ITU601 && full == is_yuvj(f->format))
        return; /* as told before, or swscale's own assumption (never told otherwise) */
    /* to YUV (the HDR path): the same matrix and range out, only resampled */
    sws_setColorspaceDetails(c->sws, sws_getCoefficients(matrix), full,
                             sws_getCoefficients(to_yuv ? matrix : SWS_CS_DEFAULT),
                             to_yuv ? full : 1, 0, 1 << 16, 1 << 16);
    c->told = 1;
    c->told_matrix = matrix;
    c->told_full = full;
}

/* An interlaced frame holds two fields, a 50th or 60th of a second apart: scaled whole,
 * moving edges comb and captions ghost (two counter values on top of each other). Its
 * top field alone is a clean picture of half the height, and every output here is
 * smaller than that (a 1080i frame's field has 540 lines for a 480-px GIF; a poster of
 * 720 lines is the one case that loses a little sharpness). The view takes every other
 * line of each plane: no copy. A palette format keeps the whole frame. */
typedef struct view {
    const uint8_t *data[4];
    int linesize[4], height;
} view;

static view field_view(const AVFrame *f)
{
    view v = {.height = f->height};
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int field = f->interlaced_frame && f->height >= 4 && d && !(d->flags & AV_PIX_FMT_FLAG_PAL);
    for (int i = 0; i < 4; i++) {
        v.data[i] = f->data[i];
        v.linesize[i] = f->linesize[i] * (field ? 2 : 1);
    }
    if (field)
        v.height = f->height / 2;
    return v;
}

/* The scaler for f → ow x oh in format to: swscale's cached context, whose colour
 * details are told again whenever it may have been made anew. */
static struct SwsContext *scaler(tgi_colour *c, const AVFrame *f, int src_h, int ow, int oh, int to,
                                 int flags)
{
    int key[7] = {f->width, src_h, f->format, ow, oh, to, flags};
    if (memcmp(key, c->key, sizeof(key)) != 0) {
        memcpy(c->key, key, sizeof(key));
        c->told = 0;
    }
    c->sws = sws_getCachedContext(c->sws, f->width, src_h, (enum AVPixelFormat)f->format, ow, oh,
                                  (enum AVPixelFormat)to, flags, NULL, NULL, NULL);
    return c->sws;
}

static void graph_free(tgi_colour *c)
{
    avfilter_graph_free(&c->graph);
    c->src = c->sink = NULL;
}

static int graph_build(tg_ctx *ctx, tgi_colour *c, const AVFrame *f, int ow, int oh, int bpp)
{
    char args[160], desc[320];
    AVFilterInOut *outs = NULL, *ins = NULL;
    int e, rc = 0;
    graph_free(c);
    snprintf(desc, sizeof(desc), "%s,format=%s", HDR_CHAIN, bpp == 4 ? "rgba" : "rgb24");
    if (!(c->graph = avfilter_graph_alloc()) || !(outs = avfilter_inout_alloc()) ||
        !(ins = avfilter_inout_alloc())) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    c->graph->nb_threads = 1; /* lanes and jobs already share the cores */
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/25:pixel_aspect=1/1", ow,
             oh, AV_PIX_FMT_YUV444P16);
    if ((e = avfilter_graph_create_filter(&c->src, avfilter_get_by_name("buffer"), "in", args, NULL,
                                          c->graph)) < 0 ||
        (e = avfilter_graph_create_filter(&c->sink, avfilter_get_by_name("buffersink"), "out", NULL,
                                          NULL, c->graph)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_ECODEC, "cannot set up the tone mapping of an HDR video");
        goto done;
    }
    outs->name = av_strdup("in");
    outs->filter_ctx = c->src;
    ins->name = av_strdup("out");
    ins->filter_ctx = c->sink;
    if (!outs->name || !ins->name) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    if ((e = avfilter_graph_parse_ptr(c->graph, desc, &ins, &outs, NULL)) < 0 ||
        (e = avfilter_graph_config(c->graph, NULL)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_ECODEC, "cannot set up the tone mapping of an HDR video");
        goto done;
    }
    c->gw = ow;
    c->gh = oh;
    c->gbpp = bpp;
    c->gtrc = f->color_trc;
    c->gpri = f->color_primaries;
    c->gspc = f->colorspace;
    c->grange = f->color_range;
done:
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    if (rc < 0)
        graph_free(c);
    return rc;
}

/* f (HDR) → 16-bit YUV of the output size → the graph → dst */
static int scale_hdr(tg_ctx *ctx, tgi_colour *c, const AVFrame *f, int ow, int oh, int bpp,
                     int flags, uint8_t *dst)
{
    int e;
    view v = field_view(f);
    if (!scaler(c, f, v.height, ow, oh, AV_PIX_FMT_YUV444P16, flags))
        return tgi_fail(ctx, TG_ECODEC, "cannot convert %s frames of %dx%d",
                        av_get_pix_fmt_name((enum AVPixelFormat)f->format), f->width, f->height);
    tell(c, f, 1);
    if (!c->mid && !(c->mid = av_frame_alloc()))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    if (!c->out && !(c->out = av_frame_alloc()))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    if (c->mid->width != ow || c->mid->height != oh || !c->mid->data[0]) {
        av_frame_unref(c->mid);
        c->mid->format = AV_PIX_FMT_YUV444P16;
        c->mid->width = ow;
        c->mid->height = oh;
        if ((e = av_frame_get_buffer(c->mid, 0)) < 0)
            return tgi_av_fail(ctx, e, TG_ENOMEM, "out of memory for a %dx%d frame", ow, oh);
    }
    if ((e = av_frame_make_writable(c->mid)) < 0)
        return tgi_av_fail(ctx, e, TG_ENOMEM, "out of memory for a %dx%d frame", ow, oh);
    sws_scale(c->sws, v.data, v.linesize, 0, v.height, c->mid->data, c->mid->linesize);
    c->mid->color_trc = f->color_trc;
    c->mid->color_primaries = f->color_primaries;
    c->mid->colorspace = f->colorspace;
    c->mid->color_range = f->color_range == AVCOL_RANGE_JPEG ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    if (!c->graph || c->gw != ow || c->gh != oh || c->gbpp != bpp || c->gtrc != (int)f->color_trc ||
        c->gpri != (int)f->color_primaries || c->gspc != (int)f->colorspace ||
        c->grange != (int)f->color_range) {
        int rc = graph_build(ctx, c, f, ow, oh, bpp);
        if (rc < 0)
            return rc;
    }
    if ((e = av_buffersrc_add_frame_flags(c->src, c->mid, AV_BUFFERSRC_FLAG_KEEP_REF)) < 0 ||
        (e = av_buffersink_get_frame(c->sink, c->out)) < 0)
        return tgi_av_fail(ctx, e, TG_ECODEC, "cannot tone-map a frame of an HDR video");
    for (int y = 0; y < oh; y++)
        memcpy(dst + (size_t)y * ow * bpp, c->out->data[0] + (size_t)y * c->out->linesize[0],
               (size_t)ow * bpp);
    av_frame_unref(c->out);
    return 0;
}

int tgi_colour_scale(tg_ctx *ctx, tgi_colour **cp, const AVFrame *f, int ow, int oh, int bpp,
                     int sws_flags, uint8_t *dst)
{
    if (!*cp && !(*cp = calloc(1, sizeof(**cp))))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    tgi_colour *c = *cp;
    if (tgi_colour_is_hdr(f) && tgi_colour_hdr_ready())
        return scale_hdr(ctx, c, f, ow, oh, bpp, sws_flags, dst);
    view v = field_view(f);
    if (!scaler(c, f, v.height, ow, oh, bpp == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24, sws_flags))
        return tgi_fail(ctx, TG_ECODEC, "cannot convert %s frames of %dx%d",
                        av_get_pix_fmt_name((enum AVPixelFormat)f->format), f->width, f->height);
    tell(c, f, 0);
    uint8_t *d[4] = {dst};
    int ds[4] = {ow * bpp};
    sws_scale(c->sws, v.data, v.linesize, 0, v.height, d, ds);
    return 0;
}

void tgi_colour_free(tgi_colour **cp)
{
    tgi_colour *c = *cp;
    if (!c)
        return;
    sws_freeContext(c->sws);
    graph_free(c);
    av_frame_free(&c->mid);
    av_frame_free(&c->out);
    free(c);
    *cp = NULL;
}
