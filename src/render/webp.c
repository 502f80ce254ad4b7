/*
 * webp.c — the animated WebP encoder (see webp.h), an adapter over libwebp's
 * WebPAnimEncoder:
 *
 *   begin: options (loop count, minimize_size off, mixed off, default key-frame
 *          distances) + one WebPConfig (lossy at quality, or lossless; method 4)
 *   add:   rgba ─► our ARGB picture (alpha forced to 255) ─► WebPAnimEncoderAdd(ts)
 *          ts += duration_ms
 *   end:   WebPAnimEncoderAdd(NULL, ts) (the last frame's duration) ─► Assemble
 *          ─► WebPData ─► write(2) all of it to the fd (EINTR and short writes retried)
 *
 * Frame i starts at the sum of the durations before it; libwebp turns the differences
 * back into per-frame durations. The picture is allocated once and refilled per frame
 * (WebPAnimEncoderAdd copies what it needs). libwebp errors are translated here:
 * WebPEncodingError out-of-memory codes become TG_ENOMEM, the rest TG_EENCODE, with the
 * encoder's own text; write(2) failures become TG_EIO.
 */
#include "render/webp.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "core/error.h"
#include "core/file.h"

#define TG_WEBP_MAX_SIDE     4096
#define TG_WEBP_MAX_DURATION 65535
#define TG_WEBP_MAX_LOOP     65535
#define TG_WEBP_METHOD       4 /* libwebp's default speed/size trade-off (0 fast .. 6 small) */

struct tgi_webp {
    int width, height;
    int fd; /* borrowed */
    WebPAnimEncoder *enc;
    WebPConfig config;
    WebPPicture pic; /* ARGB, width x height, refilled by every tgi_webp_add */
    bool pic_alloc;
    int ts_ms;      /* start of the next frame = sum of the durations so far */
    long frames_in; /* accepted tgi_webp_add calls */
    int failed;     /* code of the first failure: then only end/free are accepted */
};

/* ---- error translation ---- */

static const char *enc_errstr(WebPEncodingError e)
{
    switch (e) {
    case VP8_ENC_OK:
        return "no error";
    case VP8_ENC_ERROR_OUT_OF_MEMORY:
        return "out of memory";
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY:
        return "out of memory for the bitstream";
    case VP8_ENC_ERROR_NULL_PARAMETER:
        return "null parameter";
    case VP8_ENC_ERROR_INVALID_CONFIGURATION:
        return "invalid configuration";
    case VP8_ENC_ERROR_BAD_DIMENSION:
        return "bad dimension";
    case VP8_ENC_ERROR_PARTITION0_OVERFLOW:
        return "partition 0 overflow";
    case VP8_ENC_ERROR_PARTITION_OVERFLOW:
        return "partition overflow";
    case VP8_ENC_ERROR_BAD_WRITE:
        return "bad write";
    case VP8_ENC_ERROR_FILE_TOO_BIG:
        return "file too big";
    case VP8_ENC_ERROR_USER_ABORT:
        return "aborted";
    case VP8_ENC_ERROR_LAST:
        break;
    }
    return "unknown error";
}

/* A WebPAnimEncoder call failed: its text, plus the picture's error code if it has one. */
static int fail_anim(tg_ctx *ctx, tgi_webp *w, const char *what)
{
    WebPEncodingError e = w->pic.error_code;
    const char *text = w->enc ? WebPAnimEncoderGetError(w->enc) : NULL;
    bool oom = e == VP8_ENC_ERROR_OUT_OF_MEMORY || e == VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY ||
               (text && strstr(text, "memory"));
    return tgi_fail(ctx, oom ? TG_ENOMEM : TG_EENCODE,
                    "webp: %s failed: %s (%s, WebPEncodingError %d)", what,
                    text && *text ? text : "no detail", enc_errstr(e), (int)e);
}

static int fail_io(tg_ctx *ctx, int err)
{
    char buf[128];
    if (strerror_r(err, buf, sizeof(buf)) != 0)
        buf[0] = '\0';
    return tgi_fail(ctx, TG_EIO, "webp: cannot write the output: %s (errno %d)", buf, err);
}

/* ---- public ---- */

int tgi_webp_begin(tg_ctx *ctx, int fd, const tgi_webp_params *p, tgi_webp **out)
{
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "webp: no place to return the encoder");
    *out = NULL;
    if (!p)
        return tgi_fail(ctx, TG_EINVAL, "webp: no parameters");
    if (fd < 0)
        return tgi_fail(ctx, TG_EINVAL, "webp: invalid file descriptor %d", fd);
    if (p->width < 1 || p->width > TG_WEBP_MAX_SIDE || p->height < 1 ||
        p->height > TG_WEBP_MAX_SIDE)
        return tgi_fail(ctx, TG_EINVAL, "webp: size %dx%d is outside 1..%d pixels a side", p->width,
                        p->height, TG_WEBP_MAX_SIDE);
    if (p->quality < 1 || p->quality > 100)
        return tgi_fail(ctx, TG_EINVAL, "webp: quality %d is outside 1..100", p->quality);
    if (p->loop_count < 0 || p->loop_count > TG_WEBP_MAX_LOOP)
        return tgi_fail(ctx, TG_EINVAL, "webp: loop count %d is outside 0..%d (0 = forever)",
                        p->loop_count, TG_WEBP_MAX_LOOP);

    int rc;
    tgi_webp *w = calloc(1, sizeof(*w));
    if (!w)
        return tgi_fail(ctx, TG_ENOMEM, "webp: out of memory");
    w->width = p->width;
    w->height = p->height;
    w->fd = fd;

    if (!WebPConfigInit(&w->config)) {
        rc = tgi_fail(ctx, TG_EINTERNAL, "webp: libwebp version mismatch (WebPConfigInit)");
        goto fail;
    }
    w->config.lossless = p->lossless ? 1 : 0;
    w->config.quality = (float)p->quality;
    w->config.method = TG_WEBP_METHOD;
    w->config.thread_level = 0; /* one thread per job: jobs run in parallel above us */
    if (!WebPValidateConfig(&w->config)) {
        rc = tgi_fail(ctx, TG_EINTERNAL, "webp: libwebp refused the configuration");
        goto fail;
    }

    if (!WebPPictureInit(&w->pic)) {
        rc = tgi_fail(ctx, TG_EINTERNAL, "webp: libwebp version mismatch (WebPPictureInit)");
        goto fail;
    }
    w->pic.use_argb = 1;
    w->pic.width = p->width;
    w->pic.height = p->height;
    if (!WebPPictureAlloc(&w->pic)) {
        rc = tgi_fail(ctx, TG_ENOMEM, "webp: out of memory for a %dx%d picture", p->width,
                      p->height);
        goto fail;
    }
    w->pic_alloc = true;

    WebPAnimEncoderOptions opt;
    if (!WebPAnimEncoderOptionsInit(&opt)) {
        rc = tgi_fail(ctx, TG_EINTERNAL, "webp: libwebpmux version mismatch");
        goto fail;
    }
    opt.anim_params.loop_count = p->loop_count;
    opt.minimize_size = 0;
    opt.allow_mixed = 0;
    opt.verbose = 0;
    /* kmin/kmax: libwebp's defaults */
    if (!(w->enc = WebPAnimEncoderNew(p->width, p->height, &opt))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "webp: could not create a %dx%d animation encoder", p->width,
                      p->height);
        goto fail;
    }
    *out = w;
    return 0;
fail:
    tgi_webp_free(&w);
    return rc;
}

/* Copy rgba into the ARGB picture, alpha forced opaque. */
static void fill_picture(tgi_webp *w, const uint8_t *rgba)
{
    for (int y = 0; y < w->height; y++) {
        uint32_t *d = w->pic.argb + (size_t)y * (size_t)w->pic.argb_stride;
        const uint8_t *s = rgba + (size_t)y * (size_t)w->width * 4;
        for (int x = 0; x < w->width; x++, s += 4)
            d[x] = 0xff000000u | (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
    }
}

int tgi_webp_add(tg_ctx *ctx, tgi_webp *w, const uint8_t *rgba, int duration_ms)
{
    if (!w)
        return tgi_fail(ctx, TG_EINVAL, "webp: no encoder");
    if (!rgba)
        return tgi_fail(ctx, TG_EINVAL, "webp: no frame data");
    if (w->failed)
        return tgi_fail_keep(ctx, w->failed, "webp: the encoder failed earlier");
    if (duration_ms < 1 || duration_ms > TG_WEBP_MAX_DURATION)
        return tgi_fail(ctx, TG_EINVAL, "webp: frame duration %d ms is outside 1..%d", duration_ms,
                        TG_WEBP_MAX_DURATION);
    if (w->ts_ms > INT_MAX - duration_ms)
        return tgi_fail(ctx, TG_ELIMIT, "webp: the animation is longer than %d ms", INT_MAX);
    fill_picture(w, rgba);
    w->pic.error_code = VP8_ENC_OK;
    if (!WebPAnimEncoderAdd(w->enc, &w->pic, w->ts_ms, &w->config)) {
        w->failed = fail_anim(ctx, w, "adding a frame");
        return w->failed;
    }
    w->ts_ms += duration_ms;
    w->frames_in++;
    return 0;
}

int tgi_webp_end(tg_ctx *ctx, tgi_webp **wp)
{
    if (!wp || !*wp)
        return tgi_fail(ctx, TG_EINVAL, "webp: no encoder to finish");
    tgi_webp *w = *wp;
    int rc = 0;
    WebPData data;
    WebPDataInit(&data);
    w->pic.error_code = VP8_ENC_OK; /* fail_anim reads it; the NULL frame does not set it */
    if (w->failed) {
        rc = tgi_fail_keep(ctx, w->failed, "webp: the encoder failed earlier");
    } else if (w->frames_in == 0) {
        rc = tgi_fail(ctx, TG_EINVAL, "webp: no frame was added");
    } else if (!WebPAnimEncoderAdd(w->enc, NULL, w->ts_ms, NULL)) {
        rc = fail_anim(ctx, w, "finishing the last frame");
    } else if (!WebPAnimEncoderAssemble(w->enc, &data)) {
        rc = fail_anim(ctx, w, "assembling the animation");
    } else {
        int err = tgi_write_fd(w->fd, data.bytes, data.size);
        if (err)
            rc = fail_io(ctx, err);
    }
    WebPDataClear(&data);
    tgi_webp_free(wp);
    return rc;
}

void tgi_webp_free(tgi_webp **wp)
{
    if (!wp || !*wp)
        return;
    tgi_webp *w = *wp;
    if (w->enc)
        WebPAnimEncoderDelete(w->enc);
    if (w->pic_alloc)
        WebPPictureFree(&w->pic);
    free(w);
    *wp = NULL;
}
