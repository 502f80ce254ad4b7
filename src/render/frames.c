/*
 * frames.c — the in-memory animation and its derived versions (see frames.h).
 */
#include "render/frames.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libswscale/swscale.h>

#include "core/error.h"
#include "media/image.h"

/* Room for one more frame (the cap checked); 0 or a TG_E code. */
static int frames_room(tg_ctx *ctx, tgi_frames *f)
{
    size_t bytes = (size_t)f->w * f->h * 4;
    if ((f->n + 1) * bytes > TG_FRAMES_MAX_BYTES)
        return tgi_fail(ctx, TG_ELIMIT,
                        "the animation would need more than %zu MB of frames (%zu of %dx%d); "
                        "lower the clips, clip length, fps or width",
                        TG_FRAMES_MAX_BYTES >> 20, f->n + 1, f->w, f->h);
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 64;
        uint8_t **r = realloc(f->rgba, nc * sizeof(*r));
        if (r)
            f->rgba = r;
        int *d = realloc(f->delay_cs, nc * sizeof(*d));
        if (d)
            f->delay_cs = d;
        int *c = realloc(f->clip, nc * sizeof(*c));
        if (c)
            f->clip = c;
        if (!r || !d || !c)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory for frames");
        f->cap = nc;
    }
    return 0;
}

int tgi_frames_add(tg_ctx *ctx, tgi_frames *f, const uint8_t *rgba, int delay_cs, int clip)
{
    int rc = frames_room(ctx, f);
    if (rc < 0)
        return rc;
    size_t bytes = (size_t)f->w * f->h * 4;
    uint8_t *copy = malloc(bytes + TGI_SWS_SLACK); /* the MP4's and derive's sws source */
    if (!copy)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory for frames");
    memcpy(copy, rgba, bytes);
    f->rgba[f->n] = copy;
    f->delay_cs[f->n] = delay_cs;
    f->clip[f->n] = clip;
    f->n++;
    return 0;
}

int tgi_frames_append(tg_ctx *ctx, tgi_frames *f, tgi_frames *from, size_t i, int delay_cs)
{
    int rc = frames_room(ctx, f);
    if (rc < 0)
        return rc;
    f->rgba[f->n] = from->rgba[i];
    from->rgba[i] = NULL;
    f->delay_cs[f->n] = delay_cs;
    f->clip[f->n] = from->clip[i];
    f->n++;
    return 0;
}

void tgi_frames_free(tgi_frames *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->rgba[i]);
    free(f->rgba);
    free(f->delay_cs);
    free(f->clip);
    memset(f, 0, sizeof(*f));
}

int tgi_frames_derive(tg_ctx *ctx, const tgi_frames *in, int step, double keep, int w2,
                      tgi_frames *out)
{
    memset(out, 0, sizeof(*out));
    if (step < 1 || !(keep > 0 && keep <= 1))
        return tgi_fail(ctx, TG_EINVAL, "bad rung");
    int ow = w2 > 0 && w2 < in->w ? w2 & ~1 : in->w;
    int oh = ow == in->w ? in->h : ((int)lround((double)ow * in->h / in->w)) & ~1;
    if (ow < 2 || oh < 2)
        return tgi_fail(ctx, TG_EINVAL, "too small");
    out->w = ow;
    out->h = oh;
    out->cuts = in->cuts;
    struct SwsContext *sws = NULL;
    uint8_t *scaled = NULL;
    int rc = 0;
    if (ow != in->w) {
        sws = sws_getContext(in->w, in->h, AV_PIX_FMT_RGBA, ow, oh, AV_PIX_FMT_RGBA,
                             SWS_LANCZOS | SWS_ACCURATE_RND, NULL, NULL, NULL);
        scaled = malloc((size_t)ow * oh * 4 + TGI_SWS_SLACK);
        if (!sws || !scaled) {
            rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
            goto done;
        }
    }
    /* per clip: its frame count, to keep the first share */
    for (size_t i = 0; i < in->n;) {
        size_t j = i;
        while (j < in->n && in->clip[j] == in->clip[i])
            j++;
        size_t len = j - i, kept = (size_t)ceil(len * keep);
        kept = kept < 1 ? 1 : kept;
        for (size_t k = i; k < i + kept; k += (size_t)step) {
            int delay = 0;
            for (size_t d = k; d < k + (size_t)step && d < i + kept; d++)
                delay += in->delay_cs[d];
            const uint8_t *src = in->rgba[k];
            if (sws) {
                const uint8_t *sp[4] = {src};
                int ss[4] = {in->w * 4};
                uint8_t *dp[4] = {scaled};
                int ds[4] = {ow * 4};
                sws_scale(sws, sp, ss, 0, in->h, dp, ds);
                src = scaled;
            }
            if ((rc = tgi_frames_add(ctx, out, src, delay, in->clip[i])) < 0)
                goto done;
        }
        i = j;
    }
done:
    sws_freeContext(sws);
    free(scaled);
    if (rc < 0)
        tgi_frames_free(out);
    return rc;
}
