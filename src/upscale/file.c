/*
 * file.c — `thumbgen upscale`: one still image (PNG, JPEG, or anything libavformat
 * reads as a single picture) read with media.h (the one decode path), upscaled by a
 * whole factor and written as PNG or JPEG with the poster's writer (media/image.c).
 * Alpha is dropped (the writer is RGB). Sizes are checked from the header before
 * anything is decoded, so a huge image fails at once with TG_ELIMIT rather than after
 * allocating it; media.h's own limits (16 to 8192 pixels a side) come first.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/file.h"
#include "media/image.h"
#include "media/media.h"
#include "upscale/upscale.h"

typedef struct picture {
    uint8_t *rgb;
    size_t bytes;
    int got;
} picture;

static int on_picture(void *user, const tgi_frame *f)
{
    picture *p = user;
    memcpy(p->rgb, f->data, p->bytes);
    p->got = 1;
    return 1; /* the first picture is all we need */
}

/* Decode the first picture of path into a malloc'd RGB24 buffer at its stored size. */
static int read_image(tg_ctx *ctx, const char *path, int scale, uint8_t **rgb, int *w, int *h)
{
    tgi_media *m = NULL;
    picture pic = {0};
    *rgb = NULL;
    int rc = tgi_media_open(ctx, path, 1, &m);
    if (rc < 0)
        return rc;
    const tgi_media_info *in = tgi_media_get_info(m);
    /* every stored pixel, no aspect-ratio stretch: odd sides stay odd */
    int turned = in->rotation == 90 || in->rotation == 270;
    *w = turned ? in->coded_h : in->coded_w;
    *h = turned ? in->coded_w : in->coded_h;
    if (*w < TG_UPSCALE_MIN_SIDE || *h < TG_UPSCALE_MIN_SIDE) {
        rc = tgi_fail(ctx, TG_ELIMIT, "'%s' is %dx%d: too small to upscale (at least %dx%d)", path,
                      *w, *h, TG_UPSCALE_MIN_SIDE, TG_UPSCALE_MIN_SIDE);
        goto done;
    }
    if ((long long)*w * scale > TG_UPSCALE_MAX_SIDE ||
        (long long)*h * scale > TG_UPSCALE_MAX_SIDE ||
        (long long)*w * scale * *h * scale > (long long)TG_UPSCALE_MAX_OUT_PIXELS) {
        rc = tgi_fail(ctx, TG_ELIMIT,
                      "'%s' is %dx%d: ×%d would be %lldx%lld, beyond the limit (%d px a side, "
                      "%zu Mpixels)",
                      path, *w, *h, scale, (long long)*w * scale, (long long)*h * scale,
                      TG_UPSCALE_MAX_SIDE, TG_UPSCALE_MAX_OUT_PIXELS >> 20);
        goto done;
    }
    pic.bytes = (size_t)*w * *h * 3;
    if (!(pic.rgb = malloc(pic.bytes + TGI_SWS_SLACK))) { /* an sws_scale source */
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d image", *w, *h);
        goto done;
    }
    tgi_decode_req rq = {.width = *w, .height = *h, .pix = TG_PIX_RGB24};
    if ((rc = tgi_media_decode(ctx, m, &rq, on_picture, &pic, NULL)) < 0)
        goto done;
    if (!pic.got) {
        rc = tgi_fail(ctx, TG_ECORRUPT, "'%s': the picture could not be decoded", path);
        goto done;
    }
    *rgb = pic.rgb;
    pic.rgb = NULL;
done:
    free(pic.rgb);
    tgi_media_close(&m);
    return rc;
}

int tg_upscale_file(tg_ctx *ctx, const char *in, const char *out, int scale, const char *method)
{
    int m = method ? tgi_upscale_method_find(method) : TG_UPSCALE_METHOD_DEFAULT;
    int fmt = tgi_image_format_for(out), w = 0, h = 0, rc;
    uint8_t *src = NULL, *dst = NULL;
    tgi_upscaler *u = NULL;
    tgi_atomic af = {.fd = -1};
    if (m < 0)
        return tgi_fail(ctx, TG_EINVAL, "unknown upscaling method '%s' (methods: %s)", method,
                        TG_UPSCALE_METHOD_CHOICES);
    if (scale < 2 || scale > 4)
        return tgi_fail(ctx, TG_EINVAL, "the scale must be 2, 3 or 4 (got %d)", scale);
    if (fmt < 0)
        return tgi_fail(ctx, TG_EINVAL, "the output '%s' must end in .png, .jpg or .jpeg", out);
    if ((rc = read_image(ctx, in, scale, &src, &w, &h)) < 0 ||
        (rc = tgi_progress(ctx, "upscale", 0.1)) < 0 ||
        (rc = tgi_upscaler_new(ctx, m, w, h, w * scale, h * scale, 3, &u)) < 0)
        goto done;
    if (!(dst = malloc((size_t)w * scale * h * scale * 3))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory for a %dx%d image", w * scale, h * scale);
        goto done;
    }
    if ((rc = tgi_upscaler_run(ctx, u, src, w * 3, dst, w * scale * 3)) < 0 ||
        (rc = tgi_progress(ctx, "upscale", 0.9)) < 0 || (rc = tgi_atomic_open(ctx, out, &af)) < 0 ||
        (rc = tgi_image_write(ctx, af.fd, fmt, dst, w * scale, h * scale, 95)) < 0 ||
        (rc = tgi_atomic_commit(ctx, &af)) < 0)
        goto done;
    rc = tgi_progress(ctx, "upscale", 1.0);
done:
    tgi_atomic_abort(&af);
    tgi_upscaler_free(&u);
    free(src);
    free(dst);
    return rc;
}
