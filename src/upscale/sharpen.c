/*
 * sharpen.c — the `lanczos+sharpen` method: one libavfilter graph per upscaler,
 *
 *   buffer (RGB) ─► yuv444p16 ─► [deblock ─► hqdn3d] ─► scale (Lanczos) ─► unsharp ─► RGB ─► sink
 *                                 only for a visibly compressed source
 *
 * 16-bit 4:4:4 in between, so the colour round trip costs nothing measurable; the
 * unsharp mask works on luma only (sharpened chroma makes colour fringes). Its size
 * and amount follow the scale factor s = out_w / in_w: the blur a downscale leaves
 * is s pixels wide in the output. The deblock grid is shifted to where the measured
 * block edges are (a crop can move it off 0): pad, smear the pad, deblock, crop back.
 * The graph is built on the first frame (when the compressed decision is known) and
 * rebuilt only if that decision changes, which happens at most once (a flat first
 * frame decides nothing). A non-opaque alpha channel is scaled on its own (Lanczos).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "core/error.h"
#include "media/av.h"
#include "media/image.h"
#include "upscale/method.h"

#define SWS_OPTS "flags=lanczos+accurate_rnd+full_chroma_int+full_chroma_inp"

/* Tuned on bench/upscale.sh's tuning pair (see bench/RESULTS.md, "Upscaling"). */
#define SHARPEN_AMOUNT_PER_SCALE 0.5 /* unsharp luma amount per unit of (s - 1) */
#define SHARPEN_AMOUNT_MAX       0.6
#define DENOISE_OPTS             "luma_spatial=1:chroma_spatial=1:luma_tmp=0:chroma_tmp=0"

typedef struct sharpen_priv {
    AVFilterGraph *graph;
    AVFilterContext *src, *sink;
    AVFrame *in, *out;
    int built_for; /* the compressed state the graph was built for, -2 = none */
    int64_t pts;
    struct SwsContext *alpha_sws;
    uint8_t *alpha_in, *alpha_out;
} sharpen_priv;

/* The filter chain between the buffer source and the sink, for this upscaler. */
static void chain(const tgi_upscaler *u, int compressed, char *buf, size_t len)
{
    double s = (double)u->out_w / u->in_w;
    double amount = SHARPEN_AMOUNT_PER_SCALE * (s - 1.0);
    amount = amount > SHARPEN_AMOUNT_MAX ? SHARPEN_AMOUNT_MAX : amount;
    int m = 2 * (int)(s + 0.5) + 1; /* ×2 → 5, ×3 → 7, ×4 → 9 */
    m = m < 3 ? 3 : m > 13 ? 13 : m;
    const char *rgb = u->bpp == 4 ? "rgba" : "rgb24";
    int n = snprintf(buf, len, "format=yuv444p16");
    if (compressed)
        n += snprintf(buf + n, len - (size_t)n, ",hqdn3d=%s", DENOISE_OPTS);
    n += snprintf(buf + n, len - (size_t)n, ",scale=w=%d:h=%d:%s", u->out_w, u->out_h, SWS_OPTS);
    if (!compressed && amount > 0)
        /* unsharp has no effect on 16-bit frames in FFmpeg 5.1 (measured): 8-bit full
         * range for this last step only */
        n += snprintf(buf + n, len - (size_t)n,
                      ",scale=out_range=full:flags=accurate_rnd,format=yuv444p"
                      ",unsharp=lx=%d:ly=%d:la=%.3f:cx=3:cy=3:ca=0"
                      ",scale=in_range=full:%s",
                      m, m, amount, SWS_OPTS);
    snprintf(buf + n, len - (size_t)n, ",format=%s", rgb);
}

static void graph_free(sharpen_priv *p)
{
    avfilter_graph_free(&p->graph);
    p->src = p->sink = NULL;
    p->built_for = -2;
}

static int graph_build(tg_ctx *ctx, tgi_upscaler *u, int compressed)
{
    sharpen_priv *p = u->priv;
    char args[256], desc[1024];
    AVFilterInOut *outs = NULL, *ins = NULL;
    int e, rc = 0;
    graph_free(p);
    chain(u, compressed, desc, sizeof(desc));
    if (!(p->graph = avfilter_graph_alloc()) || !(outs = avfilter_inout_alloc()) ||
        !(ins = avfilter_inout_alloc())) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    p->graph->nb_threads = 1; /* frames are already spread over jobs; keep it predictable */
    if (!(p->graph->scale_sws_opts = av_strdup(SWS_OPTS))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=1/25:pixel_aspect=1/1",
             u->in_w, u->in_h, u->bpp == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24);
    if ((e = avfilter_graph_create_filter(&p->src, avfilter_get_by_name("buffer"), "in", args, NULL,
                                          p->graph)) < 0 ||
        (e = avfilter_graph_create_filter(&p->sink, avfilter_get_by_name("buffersink"), "out", NULL,
                                          NULL, p->graph)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_EINTERNAL, "cannot create the upscaling filter graph");
        goto done;
    }
    outs->name = av_strdup("in");
    outs->filter_ctx = p->src;
    ins->name = av_strdup("out");
    ins->filter_ctx = p->sink;
    if (!outs->name || !ins->name) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    if ((e = avfilter_graph_parse_ptr(p->graph, desc, &ins, &outs, NULL)) < 0 ||
        (e = avfilter_graph_config(p->graph, NULL)) < 0) {
        rc = tgi_av_fail(ctx, e, TG_EINTERNAL, "cannot configure the filter graph '%s'", desc);
        goto done;
    }
    p->built_for = compressed;
done:
    avfilter_inout_free(&ins);
    avfilter_inout_free(&outs);
    if (rc < 0)
        graph_free(p);
    return rc;
}

static int sharpen_init(tg_ctx *ctx, tgi_upscaler *u)
{
    sharpen_priv *p = u->priv;
    p->built_for = -2;
    if (!(p->in = av_frame_alloc()) || !(p->out = av_frame_alloc()))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    /* fail early (bad sizes, missing filters) rather than on the first frame */
    return graph_build(ctx, u, 0);
}

/* A non-opaque alpha channel: Lanczos on its own into dst's alpha bytes. */
static int scale_alpha(tg_ctx *ctx, tgi_upscaler *u, const uint8_t *src, int src_stride,
                       uint8_t *dst, int dst_stride)
{
    sharpen_priv *p = u->priv;
    int opaque = 1;
    for (int y = 0; y < u->in_h && opaque; y++)
        for (int x = 0; x < u->in_w; x++)
            if (src[(size_t)y * src_stride + (size_t)x * 4 + 3] != 255) {
                opaque = 0;
                break;
            }
    if (opaque)
        return 0; /* the graph already wrote 255 */
    if (!p->alpha_sws) {
        p->alpha_sws =
            sws_getContext(u->in_w, u->in_h, AV_PIX_FMT_GRAY8, u->out_w, u->out_h, AV_PIX_FMT_GRAY8,
                           SWS_LANCZOS | SWS_ACCURATE_RND, NULL, NULL, NULL);
        p->alpha_in = malloc((size_t)u->in_w * u->in_h + TGI_SWS_SLACK);
        p->alpha_out = malloc((size_t)u->out_w * u->out_h);
        if (!p->alpha_sws || !p->alpha_in || !p->alpha_out)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    for (int y = 0; y < u->in_h; y++)
        for (int x = 0; x < u->in_w; x++)
            p->alpha_in[(size_t)y * u->in_w + x] = src[(size_t)y * src_stride + (size_t)x * 4 + 3];
    const uint8_t *sp[4] = {p->alpha_in};
    int ss[4] = {u->in_w};
    uint8_t *dp[4] = {p->alpha_out};
    int ds[4] = {u->out_w};
    sws_scale(p->alpha_sws, sp, ss, 0, u->in_h, dp, ds);
    for (int y = 0; y < u->out_h; y++)
        for (int x = 0; x < u->out_w; x++)
            dst[(size_t)y * dst_stride + (size_t)x * 4 + 3] =
                p->alpha_out[(size_t)y * u->out_w + x];
    return 0;
}

static int sharpen_run(tg_ctx *ctx, tgi_upscaler *u, const uint8_t *src, int src_stride,
                       uint8_t *dst, int dst_stride)
{
    sharpen_priv *p = u->priv;
    int want = u->compressed > 0, e, rc;
    if (p->built_for != want && (rc = graph_build(ctx, u, want)) < 0)
        return rc;
    /* the source frame is borrowed: buffersrc copies it (no buf = not refcounted) */
    av_frame_unref(p->in);
    p->in->format = u->bpp == 4 ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
    p->in->width = u->in_w;
    p->in->height = u->in_h;
    p->in->data[0] = (uint8_t *)src;
    p->in->linesize[0] = src_stride;
    p->in->pts = p->pts++;
    e = av_buffersrc_add_frame_flags(p->src, p->in, AV_BUFFERSRC_FLAG_KEEP_REF);
    p->in->data[0] = NULL;
    if (e < 0)
        return tgi_av_fail(ctx, e, TG_EINTERNAL, "upscaling filter graph refused a frame");
    if ((e = av_buffersink_get_frame(p->sink, p->out)) < 0)
        return tgi_av_fail(ctx, e, TG_EINTERNAL, "upscaling filter graph gave no frame");
    if (p->out->width != u->out_w || p->out->height != u->out_h) {
        av_frame_unref(p->out);
        return tgi_fail(ctx, TG_EINTERNAL, "upscaling filter graph gave a frame of the wrong size");
    }
    size_t row = (size_t)u->out_w * u->bpp;
    for (int y = 0; y < u->out_h; y++)
        memcpy(dst + (size_t)y * dst_stride, p->out->data[0] + (size_t)y * p->out->linesize[0],
               row);
    av_frame_unref(p->out);
    return u->bpp == 4 ? scale_alpha(ctx, u, src, src_stride, dst, dst_stride) : 0;
}

static void sharpen_uninit(tgi_upscaler *u)
{
    sharpen_priv *p = u->priv;
    if (!p)
        return;
    graph_free(p);
    av_frame_free(&p->in);
    av_frame_free(&p->out);
    sws_freeContext(p->alpha_sws);
    free(p->alpha_in);
    free(p->alpha_out);
}

const tgi_upscale_def tgi_upscale_sharpen = {
    .priv_size = sizeof(sharpen_priv),
    .init = sharpen_init,
    .run = sharpen_run,
    .uninit = sharpen_uninit,
};
