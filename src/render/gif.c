/*
 * gif.c — the animated GIF encoder (see gif.h): libimagequant chooses each frame's
 * palette, giflib writes the file through a small buffered writer over the caller's fd.
 *
 *   rgba ─► compare with canvas/ref ─► bbox ─► crop (unchanged pixels: alpha 0)
 *        ─► liq quantize + remap ─► pending frame ─► (next change, or end) ─► giflib
 *                                 └► canvas := what a viewer now shows
 *
 * A pixel is unchanged when the source moved at most `tol` from the value it had when
 * the pixel was last written (ref), or when the canvas already shows it within `tol`.
 * The first rule keeps static areas from being re-sent because of quantization noise;
 * since the canvas is always exactly what is displayed and ref is what produced it,
 * errors stay bounded (quantization error + tol) instead of accumulating.
 *
 * One frame is held back (the pending frame) so that frames with no change can add
 * their delay to it. libimagequant and giflib errors are translated here (TG_EENCODE or
 * TG_ENOMEM, with the library's text); write(2) failures become TG_EIO.
 */
#include "render/gif.h"

#include <errno.h>
#include <gif_lib.h>
#include <libimagequant.h>
#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

#define TG_GIF_MAX_SIDE  4096
#define TG_GIF_MAX_DELAY 65535
#define TG_GIF_MIN_DELAY 2 /* browsers turn 0-1 cs into 10 cs */
#define TG_GIF_OUTBUF    65536

/* A quantized frame waiting to be written. */
typedef struct tg_gif_frame {
    int x, y, w, h;
    int ncolors;
    int transparent; /* palette index, or NO_TRANSPARENT_COLOR */
    long delay_cs;   /* sum of the delays of the input frames it stands for */
    GifColorType pal[256];
    uint8_t *idx; /* w*h palette indices (the buffer holds width*height) */
} tg_gif_frame;

struct tg_gif {
    int width, height;
    int tol;      /* per-channel difference still counted as "unchanged" */
    float dither; /* libimagequant dithering level, 0..1 */
    int fd;       /* borrowed */
    GifFileType *gf;
    liq_attr *attr;
    uint8_t *canvas; /* RGBA a viewer shows after the frames so far */
    uint8_t *ref;    /* RGBA source value of each pixel when it was last written */
    uint8_t *crop;   /* scratch: the cropped frame handed to libimagequant */
    tg_gif_frame pend;
    bool pending;
    long frames_in; /* accepted tg_gif_add calls */
    int failed;     /* code of the first failure: then only end/free are accepted */
    bool discard;   /* abandoning: drop what giflib still writes (the trailer) */
    int io_errno;   /* first write(2) failure */
    size_t out_len;
    uint8_t out[TG_GIF_OUTBUF];
};

/* ---- quality → parameters ----
 *
 *   quality   tol   dither   liq speed   liq max quality   colours
 *     100      0     1.0        6             100           256
 *      90      3     0.5        6              95           256
 *      60      7     0.29       6              80           256
 *      50      8     0.21       6              75           128
 *      20     14     0          8              60            64
 *       1     17     0          8              50            64
 *
 * Tuned with bench/encoders.sh against gifski 1.7.1 (bench/RESULTS.md): full
 * dithering at 90 made a pan's frames differ everywhere (2 % of pixels left
 * transparent on the baboon clip) — half the dither gave smaller *and* better
 * GIFs (building 4.84 → 4.51 MB, SSIM .9820 → .9830; baboon SSIM .938 → .948); a
 * tolerance growing to 17 gave the low settings a size range near gifski's curve,
 * and 128/64 colours below 60/40 put them ahead of it (baboon q30: 2.9 MB at SSIM
 * .874 where gifski has .844 at that size).
 *
 * The liq minimum quality is 0, so quantization never fails for being too poor.
 * Lower quality: fewer colours, less dither noise (which LZW compresses badly) and
 * larger changes treated as "unchanged". */

static int q_tolerance(int q)
{
    return q >= 90 ? (100 - q) / 3 : 3 + (90 - q) * 14 / 89;
}

static float q_dither(int q)
{
    if (q >= 90)
        return 0.5f + (float)(q - 90) / 20.0f;
    return q <= 20 ? 0.0f : 0.5f * (float)(q - 20) / 70.0f;
}

/* speed 6 measured -0.1 dB against speed 4 on natural video at 0.75x the time;
 * speed 8 loses 2.4 dB (shared/notes/dependencies.md §2) */
static int q_speed(int q)
{
    return q >= 50 ? 6 : 8;
}

/* fewer colours at low quality: shorter LZW codes (gifski's low settings do this) */
static int q_colors(int q)
{
    return q >= 60 ? 256 : q >= 40 ? 128 : 64;
}

static int q_liq_max(int q)
{
    return 50 + q / 2;
}

/* ---- error translation ---- */

static const char *liq_errstr(liq_error e)
{
    switch (e) {
    case LIQ_OK:
        return "no error";
    case LIQ_QUALITY_TOO_LOW:
        return "quality too low";
    case LIQ_VALUE_OUT_OF_RANGE:
        return "value out of range";
    case LIQ_OUT_OF_MEMORY:
        return "out of memory";
    case LIQ_ABORTED:
        return "aborted";
    case LIQ_BITMAP_NOT_AVAILABLE:
        return "bitmap not available";
    case LIQ_BUFFER_TOO_SMALL:
        return "buffer too small";
    case LIQ_INVALID_POINTER:
        return "invalid pointer";
    case LIQ_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown error";
}

static int fail_liq(tg_ctx *ctx, liq_error e, const char *what)
{
    return tg_fail(ctx, e == LIQ_OUT_OF_MEMORY ? TG_ENOMEM : TG_EENCODE,
                   "gif: libimagequant %s failed: %s (liq_error %d)", what, liq_errstr(e), (int)e);
}

static const char *gif_errstr(int e)
{
    const char *s = GifErrorString(e);
    return s ? s : "unknown giflib error";
}

static int fail_io(tg_ctx *ctx, int err)
{
    char buf[128];
    if (strerror_r(err, buf, sizeof(buf)) != 0)
        buf[0] = '\0';
    return tg_fail(ctx, TG_EIO, "gif: cannot write the output: %s (errno %d)", buf, err);
}

/* A giflib call failed: our writer's errno first, else giflib's own error code. */
static int fail_gif(tg_ctx *ctx, const tg_gif *g, const char *what)
{
    if (g->io_errno)
        return fail_io(ctx, g->io_errno);
    int e = g->gf ? g->gf->Error : 0;
    return tg_fail(ctx, e == E_GIF_ERR_NOT_ENOUGH_MEM ? TG_ENOMEM : TG_EENCODE,
                   "gif: %s failed: %s (giflib error %d)", what, gif_errstr(e), e);
}

/* ---- output: buffered writes to the borrowed fd ---- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno ? errno : EIO;
        }
        if (k == 0)
            return EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int flush_out(tg_gif *g)
{
    if (!g->io_errno && g->out_len > 0)
        g->io_errno = write_all(g->fd, g->out, g->out_len);
    g->out_len = 0;
    return g->io_errno;
}

/* giflib's OutputFunc: returns the bytes taken; fewer makes giflib report a write error. */
static int gif_write(GifFileType *gf, const GifByteType *buf, int len)
{
    tg_gif *g = gf->UserData;
    if (g->discard)
        return len;
    if (g->io_errno || len < 0)
        return 0;
    size_t n = (size_t)len;
    if (g->out_len + n > sizeof(g->out) && flush_out(g))
        return 0;
    if (n > sizeof(g->out)) {
        g->io_errno = write_all(g->fd, buf, n);
        return g->io_errno ? 0 : len;
    }
    memcpy(g->out + g->out_len, buf, n);
    g->out_len += n;
    return len;
}

/* ---- frames ---- */

static int put_loop_ext(tg_ctx *ctx, tg_gif *g, int loop_count)
{
    static const char app[11] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
    const uint8_t sub[3] = {1, (uint8_t)(loop_count & 0xff), (uint8_t)(loop_count >> 8)};
    if (EGifPutExtensionLeader(g->gf, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
        EGifPutExtensionBlock(g->gf, sizeof(app), app) == GIF_ERROR ||
        EGifPutExtensionBlock(g->gf, sizeof(sub), sub) == GIF_ERROR ||
        EGifPutExtensionTrailer(g->gf) == GIF_ERROR)
        return fail_gif(ctx, g, "writing the NETSCAPE2.0 loop extension");
    return 0;
}

static int flush_pending(tg_ctx *ctx, tg_gif *g)
{
    tg_gif_frame *f = &g->pend;
    if (!g->pending)
        return 0;
    long d = f->delay_cs;
    GraphicsControlBlock gcb = {
        .DisposalMode = DISPOSE_DO_NOT,
        .UserInputFlag = false,
        .DelayTime = (int)(d < TG_GIF_MIN_DELAY ? TG_GIF_MIN_DELAY : d),
        .TransparentColor = f->transparent,
    };
    GifByteType ext[4];
    size_t n = EGifGCBToExtension(&gcb, ext);
    if (EGifPutExtension(g->gf, GRAPHICS_EXT_FUNC_CODE, n, ext) == GIF_ERROR)
        return fail_gif(ctx, g, "writing a graphics control extension");
    /* giflib wants a power-of-two map; the unused tail of pal is zero */
    ColorMapObject *cmap = GifMakeMapObject(1 << GifBitSize(f->ncolors), f->pal);
    if (!cmap)
        return tg_fail(ctx, TG_ENOMEM, "gif: out of memory for a colour map");
    int ok = EGifPutImageDesc(g->gf, f->x, f->y, f->w, f->h, false, cmap);
    GifFreeMapObject(cmap);
    if (ok == GIF_ERROR)
        return fail_gif(ctx, g, "writing an image descriptor");
    if (EGifPutLine(g->gf, f->idx, f->w * f->h) == GIF_ERROR)
        return fail_gif(ctx, g, "writing image data");
    g->pending = false;
    return 0;
}

static inline int absdiff(int a, int b)
{
    return a > b ? a - b : b - a;
}

/* Does pixel i need writing? See the comment at the top. */
static inline bool px_changed(const tg_gif *g, const uint8_t *rgba, size_t i)
{
    const uint8_t *s = rgba + 4 * i, *r = g->ref + 4 * i, *c = g->canvas + 4 * i;
    int dr = 0, dc = 0;
    for (int k = 0; k < 3; k++) {
        int a = absdiff(s[k], r[k]), b = absdiff(s[k], c[k]);
        dr = a > dr ? a : dr;
        dc = b > dc ? b : dc;
    }
    return dr > g->tol && dc > g->tol;
}

/* Bounding box of the pixels that need writing; false when there are none. */
static bool find_changes(const tg_gif *g, const uint8_t *rgba, tg_rect *box)
{
    int x0 = g->width, y0 = g->height, x1 = -1, y1 = -1;
    for (int y = 0; y < g->height; y++) {
        size_t row = (size_t)y * (size_t)g->width;
        int first = -1, last = -1;
        for (int x = 0; x < g->width; x++) {
            if (px_changed(g, rgba, row + (size_t)x)) {
                if (first < 0)
                    first = x;
                last = x;
            }
        }
        if (first < 0)
            continue;
        x0 = first < x0 ? first : x0;
        x1 = last > x1 ? last : x1;
        y0 = y < y0 ? y : y0;
        y1 = y;
    }
    if (x1 < 0)
        return false;
    *box = (tg_rect){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
    return true;
}

/* Quantize g->crop (box-sized) into the pending frame's indices and palette. */
static int quantize(tg_ctx *ctx, tg_gif *g, const tg_rect *box)
{
    tg_gif_frame *f = &g->pend;
    liq_result *res = NULL;
    liq_error e;
    int rc = 0;
    liq_image *img = liq_image_create_rgba(g->attr, g->crop, box->w, box->h, 0);
    if (!img)
        return tg_fail(ctx, TG_ENOMEM, "gif: libimagequant could not create a %dx%d image", box->w,
                       box->h);
    if ((e = liq_image_quantize(img, g->attr, &res)) != LIQ_OK) {
        res = NULL;
        rc = fail_liq(ctx, e, "quantization");
        goto done;
    }
    /* the dithering level belongs to the result: after quantize, before remap */
    if ((e = liq_set_dithering_level(res, g->dither)) != LIQ_OK ||
        (e = liq_write_remapped_image(res, img, f->idx, (size_t)box->w * (size_t)box->h)) !=
            LIQ_OK) {
        rc = fail_liq(ctx, e, "remapping");
        goto done;
    }
    /* only now: remapping refines the palette */
    const liq_palette *pal = liq_get_palette(res);
    int n = (int)pal->count;
    if (n < 1 || n > 256) {
        rc = tg_fail(ctx, TG_EENCODE, "gif: libimagequant returned %d colours", n);
        goto done;
    }
    /* Fold every (nearly) transparent entry into one transparent index. */
    uint8_t map[256];
    bool fold = false;
    f->transparent = NO_TRANSPARENT_COLOR;
    memset(f->pal, 0, sizeof(f->pal));
    for (int i = 0; i < n; i++) {
        liq_color c = pal->entries[i];
        map[i] = (uint8_t)i;
        if (c.a < 128) {
            if (f->transparent == NO_TRANSPARENT_COLOR)
                f->transparent = i;
            else
                fold = true;
            map[i] = (uint8_t)f->transparent;
        } else {
            f->pal[i] = (GifColorType){c.r, c.g, c.b};
        }
    }
    if (fold)
        for (size_t i = 0; i < (size_t)box->w * (size_t)box->h; i++)
            f->idx[i] = map[f->idx[i]];
    f->ncolors = n;
done:
    if (res)
        liq_result_destroy(res);
    liq_image_destroy(img);
    return rc;
}

/* Encode the box of rgba into the pending frame and show it on the canvas. */
static int encode_box(tg_ctx *ctx, tg_gif *g, const uint8_t *rgba, const tg_rect *box, bool first)
{
    size_t W = (size_t)g->width;
    for (int y = 0; y < box->h; y++) {
        size_t src = (size_t)(box->y + y) * W + (size_t)box->x;
        uint8_t *d = g->crop + (size_t)y * (size_t)box->w * 4;
        for (int x = 0; x < box->w; x++, d += 4) {
            const uint8_t *s = rgba + 4 * (src + (size_t)x);
            if (first || px_changed(g, rgba, src + (size_t)x)) {
                d[0] = s[0], d[1] = s[1], d[2] = s[2], d[3] = 255;
            } else {
                d[0] = d[1] = d[2] = d[3] = 0;
            }
        }
    }
    int rc = quantize(ctx, g, box);
    if (rc < 0)
        return rc;
    tg_gif_frame *f = &g->pend;
    f->x = box->x, f->y = box->y, f->w = box->w, f->h = box->h;
    /* the canvas now shows what the viewer sees: written pixels change, transparent stay */
    const uint8_t *k = f->idx;
    for (int y = 0; y < box->h; y++) {
        size_t p = (size_t)(box->y + y) * W + (size_t)box->x;
        for (int x = 0; x < box->w; x++, p++, k++) {
            if (*k == f->transparent)
                continue;
            uint8_t *c = g->canvas + 4 * p, *r = g->ref + 4 * p;
            const uint8_t *s = rgba + 4 * p;
            c[0] = f->pal[*k].Red, c[1] = f->pal[*k].Green, c[2] = f->pal[*k].Blue, c[3] = 255;
            r[0] = s[0], r[1] = s[1], r[2] = s[2], r[3] = 255;
        }
    }
    return 0;
}

/* A frame with nothing to write: lengthen the pending frame, or when its delay would
 * overflow, write it and hold a 1x1 transparent frame carrying the new delay. */
static int extend_pending(tg_ctx *ctx, tg_gif *g, int delay_cs)
{
    tg_gif_frame *f = &g->pend;
    if (f->delay_cs + delay_cs <= TG_GIF_MAX_DELAY) {
        f->delay_cs += delay_cs;
        return 0;
    }
    int rc = flush_pending(ctx, g);
    if (rc < 0)
        return rc;
    memset(f->pal, 0, sizeof(f->pal));
    f->x = f->y = 0, f->w = f->h = 1;
    f->idx[0] = 0;
    f->ncolors = 1;
    f->transparent = 0;
    f->delay_cs = delay_cs;
    g->pending = true;
    return 0;
}

static int add_frame(tg_ctx *ctx, tg_gif *g, const uint8_t *rgba, int delay_cs)
{
    bool first = g->frames_in == 0;
    tg_rect box = {0, 0, g->width, g->height};
    if (!first && !find_changes(g, rgba, &box))
        return extend_pending(ctx, g, delay_cs);
    int rc = flush_pending(ctx, g);
    if (rc < 0)
        return rc;
    if ((rc = encode_box(ctx, g, rgba, &box, first)) < 0)
        return rc;
    g->pend.delay_cs = delay_cs;
    g->pending = true;
    return 0;
}

/* ---- public ---- */

int tg_gif_begin(tg_ctx *ctx, int fd, const tg_gif_params *p, tg_gif **out)
{
    if (!out)
        return tg_fail(ctx, TG_EINVAL, "gif: no place to return the encoder");
    *out = NULL;
    if (!p)
        return tg_fail(ctx, TG_EINVAL, "gif: no parameters");
    if (fd < 0)
        return tg_fail(ctx, TG_EINVAL, "gif: invalid file descriptor %d", fd);
    if (p->width < 1 || p->width > TG_GIF_MAX_SIDE || p->height < 1 || p->height > TG_GIF_MAX_SIDE)
        return tg_fail(ctx, TG_EINVAL, "gif: size %dx%d is outside 1..%d pixels a side", p->width,
                       p->height, TG_GIF_MAX_SIDE);
    if (p->quality < 1 || p->quality > 100)
        return tg_fail(ctx, TG_EINVAL, "gif: quality %d is outside 1..100", p->quality);
    if (p->loop_count < 0 || p->loop_count > 65535)
        return tg_fail(ctx, TG_EINVAL, "gif: loop count %d is outside 0..65535 (0 = forever)",
                       p->loop_count);

    int rc;
    liq_error e;
    size_t npix = (size_t)p->width * (size_t)p->height;
    tg_gif *g = calloc(1, sizeof(*g));
    if (!g)
        return tg_fail(ctx, TG_ENOMEM, "gif: out of memory");
    g->width = p->width;
    g->height = p->height;
    g->tol = q_tolerance(p->quality);
    g->dither = q_dither(p->quality);
    g->fd = fd;
    g->canvas = calloc(npix, 4);
    g->ref = calloc(npix, 4);
    g->crop = malloc(npix * 4);
    g->pend.idx = malloc(npix);
    if (!g->canvas || !g->ref || !g->crop || !g->pend.idx) {
        rc = tg_fail(ctx, TG_ENOMEM, "gif: out of memory for a %dx%d canvas", p->width, p->height);
        goto fail;
    }
    /* Debian's libimagequant parallelises with OpenMP. Its idle workers spin, and
     * next to the decoder's threads on a 2-core machine that made a frame 3-5x (and
     * measured up to 20x) slower than one thread, so this thread — the one that
     * calls libimagequant — runs its parallel regions with a single thread. Jobs run
     * in parallel at a higher level instead. */
    omp_set_num_threads(1);
    if (!(g->attr = liq_attr_create())) {
        rc = tg_fail(ctx, TG_ENOMEM, "gif: libimagequant could not allocate its attributes");
        goto fail;
    }
    if ((e = liq_set_max_colors(g->attr, q_colors(p->quality))) != LIQ_OK ||
        (e = liq_set_speed(g->attr, q_speed(p->quality))) != LIQ_OK ||
        (e = liq_set_quality(g->attr, 0, q_liq_max(p->quality))) != LIQ_OK) {
        rc = fail_liq(ctx, e, "setup");
        goto fail;
    }
    int gerr = 0;
    if (!(g->gf = EGifOpen(g, gif_write, &gerr))) {
        rc = tg_fail(ctx, gerr == E_GIF_ERR_NOT_ENOUGH_MEM ? TG_ENOMEM : TG_EENCODE,
                     "gif: EGifOpen failed: %s (giflib error %d)", gif_errstr(gerr), gerr);
        goto fail;
    }
    EGifSetGifVersion(g->gf, true); /* else giflib writes a GIF87a header */
    if (EGifPutScreenDesc(g->gf, p->width, p->height, 8, 0, NULL) == GIF_ERROR) {
        rc = fail_gif(ctx, g, "writing the screen descriptor");
        goto fail;
    }
    if ((rc = put_loop_ext(ctx, g, p->loop_count)) < 0)
        goto fail;
    *out = g;
    return 0;
fail:
    tg_gif_free(&g);
    return rc;
}

int tg_gif_add(tg_ctx *ctx, tg_gif *g, const uint8_t *rgba, int delay_cs)
{
    if (!g)
        return tg_fail(ctx, TG_EINVAL, "gif: no encoder");
    if (!rgba)
        return tg_fail(ctx, TG_EINVAL, "gif: no frame data");
    if (g->failed)
        return tg_fail_keep(ctx, g->failed, "gif: the encoder failed earlier");
    if (delay_cs < 1 || delay_cs > TG_GIF_MAX_DELAY)
        return tg_fail(ctx, TG_EINVAL, "gif: frame delay %d cs is outside 1..%d", delay_cs,
                       TG_GIF_MAX_DELAY);
    int rc = add_frame(ctx, g, rgba, delay_cs);
    if (rc < 0)
        g->failed = rc;
    else
        g->frames_in++;
    return rc;
}

int tg_gif_end(tg_ctx *ctx, tg_gif **gp)
{
    if (!gp || !*gp)
        return tg_fail(ctx, TG_EINVAL, "gif: no encoder to finish");
    tg_gif *g = *gp;
    int rc = 0;
    if (g->failed) {
        rc = tg_fail_keep(ctx, g->failed, "gif: the encoder failed earlier");
    } else if (g->frames_in == 0) {
        rc = tg_fail(ctx, TG_EINVAL, "gif: no frame was added");
    } else if ((rc = flush_pending(ctx, g)) == 0) {
        int gerr = 0;
        int ok = EGifCloseFile(g->gf, &gerr); /* writes the trailer, frees gf */
        g->gf = NULL;
        if (flush_out(g))
            rc = fail_io(ctx, g->io_errno);
        else if (ok == GIF_ERROR)
            rc = tg_fail(ctx, gerr == E_GIF_ERR_NOT_ENOUGH_MEM ? TG_ENOMEM : TG_EENCODE,
                         "gif: closing the GIF failed: %s (giflib error %d)", gif_errstr(gerr),
                         gerr);
    }
    tg_gif_free(gp);
    return rc;
}

void tg_gif_free(tg_gif **gp)
{
    if (!gp || !*gp)
        return;
    tg_gif *g = *gp;
    g->discard = true;
    if (g->gf)
        EGifCloseFile(g->gf, NULL);
    if (g->attr)
        liq_attr_destroy(g->attr);
    free(g->canvas);
    free(g->ref);
    free(g->crop);
    free(g->pend.idx);
    free(g);
    *gp = NULL;
}
