/*
 * gif.c — the animated GIF encoder (see gif.h): libimagequant chooses palettes, our
 * own LZW compressor (lzw.c, exact or lossy) packs the pixels, and giflib writes the
 * container through a small buffered writer over the caller's fd.
 *
 *   rgba ─► compare with canvas/ref ─► bbox of changes ─► crop (unchanged: transparent)
 *        ─► palette: the global one, else the last local one, if their error stays
 *           within the quality's limit (remap: nearest colour, no dithering, so static
 *           areas never crawl); else libimagequant makes a new one
 *        ─► LZW (lossy below quality 95: strings extend over pixels within tolerance,
 *           the transparent index counts as "the canvas colour") ─► pending frame
 *        └► canvas := exactly what a decoder shows (from the LZW's own output)
 *
 * A pixel is unchanged when the canvas already shows its source colour exactly, or
 * when the source differs from the value it had when the pixel was last written (ref)
 * only by noise: by at most 2 * TG_GIF_STILL_TOL in each channel, with the mean
 * difference over its 3x3 neighbourhood at most TG_GIF_STILL_TOL / 2 (video noise in a
 * still area averages out; motion, even slow, moves the local mean). Every other pixel
 * goes to the LZW, whose lossy search (below quality 95) may still leave it
 * transparent where the canvas colour is within its tolerance and that lengthens a
 * run: so what stays stale on moving content is decided where it saves bytes. Since
 * the canvas is always exactly what is displayed and ref is what produced it, errors
 * stay bounded (quantization error + still tolerance + lossy tolerance) instead of
 * accumulating: a lossy substitution on an unchanged pixel must be within the
 * tolerance of the source too (lzw.h).
 *
 * The first frame's palette is the global colour table; every palette carries one
 * transparent entry. One frame is held back (the pending frame) so that frames with
 * no change can add their delay to it; the header (which needs the global palette) is
 * written with the first frame. libimagequant and giflib errors are translated here
 * (TG_EENCODE or TG_ENOMEM, with the library's text); write(2) failures become TG_EIO.
 *
 * Threads: the per-pixel passes (change search, crop + palette mapping + error, LZW
 * segments + canvas update) run on the encoder's thread and up to 3 workers; the
 * palette decisions and libimagequant stay on the encoder's thread. See "passes"
 * below for why the bytes do not depend on the number of threads. Frames cut into
 * clips (tgi_gif_encode_frames) are encoded a clip per thread by engines, each such an
 * encoder, and written by giflib on the caller's thread: see "segments" at the end.
 */
#include "render/gif.h"

#include <errno.h>
#include <gif_lib.h>
#include <libimagequant.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/file.h"
#include "core/pool.h"
#include "render/lzw.h"

#define TG_GIF_MAX_SIDE  4096
#define TG_GIF_MAX_DELAY 65535
#define TG_GIF_MIN_DELAY 2 /* browsers turn 0-1 cs into 10 cs */
#define TG_GIF_OUTBUF    65536
#define TG_GIF_HASH      32768 /* nearest-colour answers remembered (power of 2) */
#define TG_GIF_CELLS     32768 /* nearest-colour cells: 32 levels a channel */
#define TG_GIF_FAR       4096  /* a channel value no colour is near (pal_index's fillers) */
#define TG_GIF_SAMPLE    3     /* a palette's error is estimated on every 3rd changed pixel */
#define TG_GIF_MAX_LANES 4     /* threads that work on one frame, the caller's included */
#define TG_GIF_BANDS     16    /* row bands of a per-pixel pass */
#define TG_GIF_SEG_PX    65536 /* pixels per LZW segment (about: whole rows) */
#define TG_GIF_MAX_SEGS  64
#define TG_GIF_PAR_PX    16384  /* smaller boxes are done by the caller's thread alone */
#define TG_GIF_LIQ_PX    131072 /* larger crops are quantized from a sample of this size */
#define TG_GIF_STILL_TOL 3      /* source noise left unsent in still areas (px_changed) */
#define TG_GIF_HIST_BINS 4096   /* colour cells of a frame's histogram (seg_cuts) */
#define TG_GIF_SWEEP_1   10     /* % of the pixels that changed cell since the frame before ... */
#define TG_GIF_SWEEP_2   20     /* ... and since the one before that: the frame sweeps (seg_cuts) */
#define TG_GIF_SWEEP_MIN 5      /* frames at least in a segment that a sweep cuts (seg_cuts) */

/* A palette with what the nearest-colour search needs. */
typedef struct tg_gif_pal {
    int n;           /* entries, the transparent one included (2..256) */
    int transparent; /* index of the transparent entry (every palette has one) */
    uint8_t rgb[256 * 3];
    int nsorted;                       /* opaque entries ... */
    uint8_t sorted[256];               /* ... ordered by green */
    uint8_t sg[256];                   /* their green */
    int16_t er[256], eg[256], eb[256]; /* the opaque entries' channels, in index order,
                                          then far-away fillers up to 256 ... */
    uint8_t ei[256];                   /* ... and their indices (cell_build) */
    int slot;        /* 0 = the global palette, 1 = the local one: its cache in a lane */
    double base_err; /* mean error on the frame it was made for */
} tg_gif_pal;

/* Nearest-colour candidates for one palette, per cell of 8x8x8 colours (RGB >> 3),
 * built when a cell is first met: a pure cache, answers equal pal_search's. A cell's
 * list (its count, then the entries) is in `pool`, which grows as cells are built and is
 * emptied when the palette changes; when it cannot grow, the cell is searched in full. */
typedef struct tg_gif_cache {
    uint32_t key[TG_GIF_HASH];   /* recent answers: colour + 1, 0 = empty ... */
    uint8_t idx[TG_GIF_HASH];    /* ... and its entry */
    uint32_t cell[TG_GIF_CELLS]; /* 0 = not built, else the list's offset in pool + 1 */
    uint8_t *pool;
    size_t used, cap;
} tg_gif_cache;

/* What one thread needs of its own: lane 0 is the caller's thread. */
typedef struct tg_gif_lane {
    tgi_gif *g;
    tgi_lzw *lzw;
    tg_gif_cache *cache; /* [2]: the global palette's, the local one's */
} tg_gif_lane;

/* A compressed frame waiting to be written. */
typedef struct tg_gif_frame {
    int x, y, w, h;
    int transparent; /* GCB transparent index, or NO_TRANSPARENT_COLOR */
    bool global;     /* no local colour table */
    int ncolors;     /* local table size */
    long delay_cs;   /* sum of the delays of the input frames it stands for */
    GifColorType pal[256];
    uint8_t *data; /* LZW sub-blocks (lzw.h) */
    size_t len, cap;
} tg_gif_frame;

typedef void (*part_fn)(tgi_gif *g, tg_gif_lane *lane, int part);

struct seg_run; /* a parallel encode by segments (tgi_gif_encode_frames) */

/* what a band pass does (pass_band) */
enum { PASS_CROP = 1, PASS_MAP = 2, PASS_ERR = 4 };

struct tgi_gif {
    int width, height;
    int quality;
    int palette_mode;
    int lossy;    /* LZW tolerance (tgi_lzw_dist units), 0 = exact */
    int look;     /* lossy LZW searches for the longest run (tgi_lzw_lossy.look) */
    double reuse; /* a palette is reused while its error <= base * (1 + reuse) + reuse */
    int loop_count;
    int fd; /* borrowed */
    GifFileType *gf;
    liq_attr *attr;
    uint8_t *canvas; /* RGBA a viewer shows after the frames so far */
    uint8_t *ref;    /* RGBA source value of each pixel when it was last written */
    uint8_t *chg;    /* per pixel: changed (px_changed) in the frame being added */
    uint8_t *crop;   /* scratch, box-sized RGBA: the frame handed to libimagequant */
    uint8_t *src;    /* scratch, box-sized RGBA: the source */
    uint8_t *bg;     /* scratch, box-sized RGBA: the canvas */
    uint8_t *idx;    /* scratch, box-sized: exact palette indices */
    uint8_t *shown;  /* scratch, box-sized: the indices a decoder shows */
    uint8_t *sample; /* scratch: every s-th pixel of a large crop (quantize) */
    size_t sample_cap;
    tg_gif_pal *global, *local; /* local: the last palette made after the first frame */
    const tg_gif_pal *last_pal; /* the previous frame's, when it was reused (not new) */
    bool have_local;
    bool have_global; /* the global palette is known (a follower copies it from run) */
    bool header_done;
    tg_gif_frame pend;
    bool pending;
    long frames_in; /* accepted tgi_gif_add calls */
    int failed;     /* code of the first failure: then only end/free are accepted */
    bool discard;   /* abandoning: drop what giflib still writes (the trailer) */
    int io_errno;   /* first write(2) failure */

    /* segments (tgi_gif_encode_frames): an engine encodes one segment at a time */
    struct seg_run *run; /* NULL: a plain encoder */
    bool follower;       /* the segment is not the first: its global palette comes from run */
    bool capture;        /* finished frames go to kept[] instead of giflib */
    tg_gif_frame *kept;
    size_t nkept, kept_cap;

    /* threads (see "passes"): lane[0] is the caller's, lane[1..nworkers] the pool's */
    int nworkers;
    tg_gif_lane lane[TG_GIF_MAX_LANES];
    tgi_pool *pool;
    part_fn job; /* the pass in flight */

    /* the pass's inputs ... */
    const uint8_t *rgba;
    tg_rect box;
    bool opaque;       /* the frame is written whole and opaque: the first, or a key frame */
    int what;          /* PASS_* */
    tg_gif_pal *pal;   /* PASS_MAP/ERR: against this palette; segments: the frame's */
    int nsegs;         /* LZW segments of the box */
    tgi_lzw_lossy lzl; /* the lossy settings for the box (pointers at its start) */
    /* ... and results, one per part (merged in part order) */
    int band_x0[TG_GIF_BANDS], band_x1[TG_GIF_BANDS], band_y0[TG_GIF_BANDS], band_y1[TG_GIF_BANDS];
    long long err_sum[TG_GIF_BANDS], err_cnt[TG_GIF_BANDS];
    long long err_stop9;     /* PASS_ERR alone: stop once the bands' summed error (x 9) is
                                above this (0 = never) ... */
    atomic_llong err_shared; /* ... the bands' sums so far ... */
    atomic_int err_over;     /* ... and whether it was */
    tgi_lzw_bits seg[TG_GIF_MAX_SEGS];
    int seg_rc[TG_GIF_MAX_SEGS];

    size_t out_len;
    uint8_t out[TG_GIF_OUTBUF];
};

/* ---- quality → parameters ----
 *
 *   quality   lossy LZW e   liq max quality   reuse
 *     100        0              100            0.10
 *      95        0 (exact)       97            0.20
 *      90        3               95            0.30
 *      70        5               85            0.70
 *      51        6               55            1.08
 *      50        6               10            1.10
 *      30       10               10            1.50
 *       1       22               10            2.08
 * (linear in between; lossy LZW tolerance = e*e in tgi_lzw_dist units; libimagequant
 * speed 6 and up to 256 colours at every quality: its quality limit picks the count)
 *
 * Up to 50 the palette is libimagequant's coarsest (quality limit 10: few colours, so
 * long LZW runs, and one palette serves many frames) and the lossy tolerance sets the
 * size; at 51 the limit steps up to 55. Measured on bench/encoders.sh's five clips
 * (bench/RESULTS.md, 2026-12-05): a limit of 10 gave the same or better SSIM than 40 at
 * 10-30 % fewer bytes on every clip (zoom at lossy e 18: 1,090 KB / .9117 against
 * 1,248 KB / .9002), while limits of 15-40 were larger *and* worse than 10 (zoom e 8:
 * limit 10 1,550 KB / .9389, 20 1,728 KB / .9341): interpolating the limit through
 * them bent the curve (zoom q40 no better than q30), hence the step. The old low rows
 * (q1 18/40, q30 13/45, q50 7/55) could not reach gifski's smallest files on the zoom,
 * zoomfly and baboon; these reach below them, above gifski's curve.
 *
 * reuse: how much worse than on its own frame a palette may map a later frame before
 * a new one is made. Every column moves one way with the quality and nothing else
 * depends on it, so the file size and the picture both grow with it (issue 15). Tuned
 * with bench/encoders.sh's clips (pans, slow zooms, handheld footage) against gifski
 * 1.7.1 (bench/RESULTS.md). The "unchanged" test (see the top) is the same at every
 * quality and lets only noise in still areas stay; the lossy LZW does the rest: it
 * makes a pixel transparent where the canvas colour extends a run within its
 * tolerance, so transparency goes where it saves codes, and its error carry keeps the
 * local average. The per-pixel tolerance this replaced (0 below 50, 6 at 70, 3 at 90,
 * 0 at 100) left stale patches next to rewritten pixels on moving content (steps and
 * speckle that SSIM punishes in flat areas), and its ups and downs made the curve
 * non-monotone: q70 smaller *and* worse than q60 on a slow zoom, q90 larger than q100
 * on baboon. Without it a static-camera video (opencv-doc vtest.avi) doubled in size
 * at q70-q90, hence the still-noise test. libimagequant speed 8 and a 64/128-colour
 * cap below 60 cost up to 0.015 SSIM at the same size on the zoom (speed 6 builds much
 * better palettes for the same quality limit) and did not help the pans.
 * Texture-masked tolerances and comparing the quantized colour with the canvas did
 * not help (RESULTS.md). Dithering
 * is off: on the pans every dithering level tried (libimagequant's 0.25-1.0, an ordered
 * Bayer remap) gave larger *and* worse GIFs than nearest-colour mapping (building q100:
 * 5.24 MB / SSIM .983 dithered, 4.76 MB / .987 not), and undithered nearest colours
 * cannot crawl.
 *
 * The liq minimum quality is 0, so quantization never fails for being too poor. */

typedef struct q_point {
    int q, lossy_e, liq_max;
} q_point;

static const q_point q_table[] = {
    {1, 22, 10}, {30, 10, 10}, {50, 6, 10}, {51, 6, 55},
    {70, 5, 85}, {90, 3, 95},  {95, 0, 97}, {100, 0, 100},
};

/* the table interpolated at q for the field at offset off */
static int q_interp(int q, size_t off)
{
    size_t n = sizeof(q_table) / sizeof(q_table[0]);
    for (size_t i = 1; i < n; i++) {
        const q_point *a = &q_table[i - 1], *b = &q_table[i];
        if (q <= b->q) {
            int va = *(const int *)((const char *)a + off),
                vb = *(const int *)((const char *)b + off);
            return va + (vb - va) * (q - a->q) / (b->q - a->q);
        }
    }
    return *(const int *)((const char *)&q_table[n - 1] + off);
}

static int q_lossy(int q)
{
    int e = q_interp(q, offsetof(q_point, lossy_e));
    return e * e;
}

static int q_liq_max(int q)
{
    return q_interp(q, offsetof(q_point, liq_max));
}

/* Lossy LZW: the longest-run search up to quality 70 (at the same tolerance 2-9 % fewer
 * bytes for at most 0.001 SSIM on bench/encoders.sh's clips at q1-q50, but about twice
 * the LZW time: above 70, where the time matters most, greedy). */
static int q_look(int q)
{
    return q <= 70;
}

static double q_reuse(int q)
{
    return 0.1 + (100 - q) * 0.02;
}

/* speed 6 measured -0.1 dB against speed 4 on natural video at 0.75x the time;
 * speed 8 loses 2.4 dB (shared/notes/dependencies.md §2) and, below quality 50, up to
 * 0.015 SSIM at the same size on a slow zoom */
#define TG_GIF_LIQ_SPEED 6

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
    return tgi_fail(ctx, e == LIQ_OUT_OF_MEMORY ? TG_ENOMEM : TG_EENCODE,
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
    return tgi_fail(ctx, TG_EIO, "gif: cannot write the output: %s (errno %d)", buf, err);
}

/* A giflib call failed: our writer's errno first, else giflib's own error code. */
static int fail_gif(tg_ctx *ctx, const tgi_gif *g, const char *what)
{
    if (g->io_errno)
        return fail_io(ctx, g->io_errno);
    int e = g->gf ? g->gf->Error : 0;
    return tgi_fail(ctx, e == E_GIF_ERR_NOT_ENOUGH_MEM ? TG_ENOMEM : TG_EENCODE,
                    "gif: %s failed: %s (giflib error %d)", what, gif_errstr(e), e);
}

/* ---- output: buffered writes to the borrowed fd ---- */

static int flush_out(tgi_gif *g)
{
    if (!g->io_errno && g->out_len > 0)
        g->io_errno = tgi_write_fd(g->fd, g->out, g->out_len);
    g->out_len = 0;
    return g->io_errno;
}

/* giflib's OutputFunc: returns the bytes taken; fewer makes giflib report a write error. */
static int gif_write(GifFileType *gf, const GifByteType *buf, int len)
{
    tgi_gif *g = gf->UserData;
    if (g->discard)
        return len;
    if (g->io_errno || len < 0)
        return 0;
    size_t n = (size_t)len;
    if (g->out_len + n > sizeof(g->out) && flush_out(g))
        return 0;
    if (n > sizeof(g->out)) {
        g->io_errno = tgi_write_fd(g->fd, buf, n);
        return g->io_errno ? 0 : len;
    }
    memcpy(g->out + g->out_len, buf, n);
    g->out_len += n;
    return len;
}

/* ---- palettes: nearest colour ---- */

/* Prepare the search structures after rgb/n/transparent are set. */
static void pal_index(tg_gif_pal *P)
{
    int m = 0;
    for (int i = 0; i < P->n; i++) {
        if (i == P->transparent)
            continue;
        /* insertion by green, ties by index: deterministic */
        uint8_t gi = P->rgb[3 * i + 1];
        int j = m++;
        while (j > 0 && P->sg[j - 1] > gi) {
            P->sg[j] = P->sg[j - 1];
            P->sorted[j] = P->sorted[j - 1];
            j--;
        }
        P->sg[j] = gi;
        P->sorted[j] = (uint8_t)i;
        P->er[m - 1] = P->rgb[3 * i], P->eg[m - 1] = gi, P->eb[m - 1] = P->rgb[3 * i + 2];
        P->ei[m - 1] = (uint8_t)i;
    }
    P->nsorted = m;
    /* fillers: farther from every colour than any entry, so never a candidate (cell_build
     * then runs whole 256-entry loops, which the compiler vectorises) */
    for (int k = m; k < 256; k++)
        P->er[k] = P->eg[k] = P->eb[k] = TG_GIF_FAR, P->ei[k] = 0;
}

static inline int wdist(const uint8_t *a, const uint8_t *b)
{
    int r = a[0] - b[0], g = a[1] - b[1], bl = a[2] - b[2];
    return 3 * r * r + 4 * g * g + 2 * bl * bl;
}

/* The opaque entry closest to c (tgi_lzw_dist's metric, times 9 in *d9), the lowest
 * index among equals: entries ordered by green are visited outwards from c's green
 * until the green difference alone exceeds the best distance (ties are still visited,
 * so the answer never depends on the order of the visit). */
static int pal_search(const tg_gif_pal *P, const uint8_t *c, int *d9)
{
    int g = c[1], lo = 0, hi = P->nsorted;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (P->sg[mid] < g)
            lo = mid + 1;
        else
            hi = mid;
    }
    int best = INT_MAX, bi = P->nsorted ? P->sorted[0] : 0;
    for (int up = lo, dn = lo - 1; up < P->nsorted || dn >= 0;) {
        if (up < P->nsorted) {
            int dg = P->sg[up] - g;
            if (4 * dg * dg > best) {
                up = P->nsorted;
            } else {
                int k = P->sorted[up++];
                int d = wdist(c, P->rgb + 3 * k);
                if (d < best || (d == best && k < bi))
                    best = d, bi = k;
            }
        }
        if (dn >= 0) {
            int dg = g - P->sg[dn];
            if (4 * dg * dg > best) {
                dn = -1;
            } else {
                int k = P->sorted[dn--];
                int d = wdist(c, P->rgb + 3 * k);
                if (d < best || (d == best && k < bi))
                    best = d, bi = k;
            }
        }
    }
    *d9 = best;
    return bi;
}

/* The candidates of cell `cell` (8x8x8 colours): every opaque entry that is the
 * closest to some colour of the cell, in index order — those whose nearest possible
 * distance to the cell is at most the smallest farthest distance of any entry. Appended
 * to C's pool (count, then the entries); returns their offset + 1, or 0 when the pool
 * cannot grow. */
static uint32_t cell_build(const tg_gif_pal *P, tg_gif_cache *C, int cell)
{
    int m = P->nsorted;
    if (C->used + (size_t)m + 1 > C->cap) {
        size_t cap = C->cap ? 2 * C->cap : 65536;
        while (cap < C->used + (size_t)m + 1)
            cap *= 2;
        uint8_t *p = cap <= UINT32_MAX - 1 ? realloc(C->pool, cap) : NULL;
        if (!p)
            return 0;
        C->pool = p;
        C->cap = cap;
    }
    const int lr = (cell >> 10) << 3, lg = ((cell >> 5) & 31) << 3, lb = (cell & 31) << 3;
    /* the farthest and the nearest distance of each entry to the cell, channel by
     * channel (loops without branches, over the entries in index order) */
    int far[256], near[256], minmax = INT_MAX;
    for (int k = 0; k < 256; k++) {
        int a = P->er[k] - lr, b = lr + 7 - P->er[k], ar = a > b ? a : b;
        int c = P->eg[k] - lg, d = lg + 7 - P->eg[k], ag = c > d ? c : d;
        int e = P->eb[k] - lb, f = lb + 7 - P->eb[k], ab = e > f ? e : f;
        int nr = -a > 0 ? -a : -b > 0 ? -b : 0;
        int ng = -c > 0 ? -c : -d > 0 ? -d : 0;
        int nb = -e > 0 ? -e : -f > 0 ? -f : 0;
        far[k] = 3 * ar * ar + 4 * ag * ag + 2 * ab * ab;
        near[k] = 3 * nr * nr + 4 * ng * ng + 2 * nb * nb;
    }
    for (int k = 0; k < 256; k++)
        minmax = far[k] < minmax ? far[k] : minmax;
    size_t at = C->used;
    uint8_t *list = C->pool + at, n = 0;
    for (int k = 0; k < m; k++)
        if (near[k] <= minmax)
            list[1 + n++] = P->ei[k];
    list[0] = n;
    C->used = at + 1 + n;
    return (uint32_t)at + 1;
}

/* pal_search's answer, through the candidates of c's cell in the calling thread's
 * lane (C, built on first use): the same entry, found among a few. */
static inline int pal_nearest(const tg_gif_pal *P, tg_gif_cache *C, const uint8_t *c, int *d9)
{
    uint32_t key = ((uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2]) + 1;
    uint32_t h = (key * 2654435761u) >> 17 & (TG_GIF_HASH - 1);
    if (C->key[h] == key) {
        int k = C->idx[h];
        *d9 = wdist(c, P->rgb + 3 * k);
        return k;
    }
    int cell = (c[0] >> 3) << 10 | (c[1] >> 3) << 5 | c[2] >> 3, bi;
    uint32_t at = C->cell[cell];
    if (at == 0)
        at = C->cell[cell] = cell_build(P, C, cell);
    if (at == 0 || C->pool[at - 1] == 0) {
        bi = pal_search(P, c, d9);
    } else {
        const uint8_t *cand = C->pool + at;
        int m = C->pool[at - 1], best = INT_MAX;
        bi = cand[0];
        for (int i = 0; i < m; i++) {
            int k = cand[i], d = wdist(c, P->rgb + 3 * k);
            if (d < best)
                best = d, bi = k;
        }
        *d9 = best;
    }
    C->key[h] = key;
    C->idx[h] = (uint8_t)bi;
    return bi;
}

/* P was (re)made: forget every lane's cells for it. */
static void pal_forget(tgi_gif *g, const tg_gif_pal *P)
{
    for (int l = 0; l <= g->nworkers; l++) {
        tg_gif_cache *C = &g->lane[l].cache[P->slot];
        memset(C->key, 0, sizeof(C->key));
        memset(C->cell, 0, sizeof(C->cell));
        C->used = 0;
    }
}

/* ---- frames ---- */

static int put_loop_ext(tg_ctx *ctx, tgi_gif *g, int loop_count)
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

static ColorMapObject *make_map(tg_ctx *ctx, const GifColorType *pal, int n)
{
    /* giflib wants a power-of-two map; the unused tail of pal is zero */
    ColorMapObject *cmap = GifMakeMapObject(1 << GifBitSize(n), pal);
    if (!cmap)
        tgi_fail(ctx, TG_ENOMEM, "gif: out of memory for a colour map");
    return cmap;
}

static void to_gif_colors(const tg_gif_pal *P, GifColorType *out)
{
    memset(out, 0, 256 * sizeof(*out));
    for (int i = 0; i < P->n; i++)
        out[i] = (GifColorType){P->rgb[3 * i], P->rgb[3 * i + 1], P->rgb[3 * i + 2]};
}

/* Screen descriptor with the global colour table, then the loop extension. */
static int put_header(tg_ctx *ctx, tgi_gif *g)
{
    GifColorType pal[256];
    to_gif_colors(g->global, pal);
    ColorMapObject *cmap = make_map(ctx, pal, g->global->n);
    if (!cmap)
        return TG_ENOMEM;
    int ok = EGifPutScreenDesc(g->gf, g->width, g->height, 8, 0, cmap);
    GifFreeMapObject(cmap);
    if (ok == GIF_ERROR)
        return fail_gif(ctx, g, "writing the screen descriptor");
    g->header_done = true;
    return put_loop_ext(ctx, g, g->loop_count);
}

/* Write frame f (its delay, palette, box and LZW data) through giflib. */
static int write_frame(tg_ctx *ctx, tgi_gif *g, const tg_gif_frame *f)
{
    int rc;
    if (!g->header_done && (rc = put_header(ctx, g)) < 0)
        return rc;
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
    ColorMapObject *cmap = NULL;
    if (!f->global && !(cmap = make_map(ctx, f->pal, f->ncolors)))
        return TG_ENOMEM;
    /* giflib 5.2 drops (leaks) the previous frame's local map when this one has none */
    if (!cmap && g->gf->Image.ColorMap) {
        GifFreeMapObject(g->gf->Image.ColorMap);
        g->gf->Image.ColorMap = NULL;
    }
    /* writes the LZW minimum code size: max(2, bits of the map in use) */
    int ok = EGifPutImageDesc(g->gf, f->x, f->y, f->w, f->h, false, cmap);
    GifFreeMapObject(cmap);
    if (ok == GIF_ERROR)
        return fail_gif(ctx, g, "writing an image descriptor");
    for (size_t i = 0; i < f->len; i += (size_t)f->data[i] + 1)
        if (EGifPutCodeNext(g->gf, f->data + i) == GIF_ERROR)
            return fail_gif(ctx, g, "writing image data");
    if (EGifPutCodeNext(g->gf, NULL) == GIF_ERROR)
        return fail_gif(ctx, g, "writing image data");
    return 0;
}

/* The pending frame is final: write it, or keep it (an engine's segment). */
static int flush_pending(tg_ctx *ctx, tgi_gif *g)
{
    if (!g->pending)
        return 0;
    if (g->capture) {
        if (g->nkept == g->kept_cap) {
            size_t cap = g->kept_cap ? 2 * g->kept_cap : 16;
            tg_gif_frame *k = realloc(g->kept, cap * sizeof(*k));
            if (!k)
                return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory for the frames of a clip");
            g->kept = k;
            g->kept_cap = cap;
        }
        /* the data buffer moves with the frame */
        g->kept[g->nkept++] = g->pend;
        g->pend.data = NULL;
        g->pend.len = g->pend.cap = 0;
    } else {
        int rc = write_frame(ctx, g, &g->pend);
        if (rc < 0)
            return rc;
    }
    g->pending = false;
    return 0;
}

/* Compress n indices into the pending frame's data. */
static int compress(tg_ctx *ctx, tgi_gif *g, const uint8_t *idx, size_t n, int ncolors,
                    const tgi_lzw_lossy *lossy, uint8_t *shown)
{
    tg_gif_frame *f = &g->pend;
    int bits = GifBitSize(ncolors);
    const uint8_t *data;
    size_t len;
    if (tgi_lzw_encode(g->lane[0].lzw, idx, n, bits < 2 ? 2 : bits, lossy, shown, &data, &len) < 0)
        return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory compressing a frame");
    if (len > f->cap) {
        uint8_t *p = realloc(f->data, len);
        if (!p)
            return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory for a compressed frame");
        f->data = p;
        f->cap = len;
    }
    memcpy(f->data, data, len);
    f->len = len;
    return 0;
}

/* The largest per-channel difference between the source and ref at pixel i. */
static inline int ref_diff(const tgi_gif *g, const uint8_t *rgba, size_t i)
{
    const uint8_t *s = rgba + 4 * i, *r = g->ref + 4 * i;
    int d = 0;
    for (int k = 0; k < 3; k++) {
        int a = s[k] > r[k] ? s[k] - r[k] : r[k] - s[k];
        d = a > d ? a : d;
    }
    return d;
}

/* Does pixel (x, y) need writing? See the comment at the top. */
static inline bool px_changed(const tgi_gif *g, const uint8_t *rgba, int x, int y)
{
    size_t i = (size_t)y * (size_t)g->width + (size_t)x;
    const uint8_t *s = rgba + 4 * i, *c = g->canvas + 4 * i;
    if (s[0] == c[0] && s[1] == c[1] && s[2] == c[2])
        return false;
    int d = ref_diff(g, rgba, i);
    if (d == 0)
        return false;
    if (d > 2 * TG_GIF_STILL_TOL)
        return true;
    /* noise, not motion, when the 3x3 neighbourhood's mean moved by at most half the
     * tolerance in every channel (inside the frame, the 9 pixels without bound checks:
     * this sum was two thirds of the change search's instructions on a 60-s render) */
    int sum[3] = {0, 0, 0}, n = 0;
    if (x > 0 && y > 0 && x + 1 < g->width && y + 1 < g->height) {
        size_t at = 4 * (i - (size_t)g->width - 1), row = 4 * (size_t)g->width;
        const uint8_t *a = rgba + at, *r = g->ref + at;
        for (int yy = 0; yy < 3; yy++, a += row, r += row) {
            sum[0] += a[0] - r[0] + a[4] - r[4] + a[8] - r[8];
            sum[1] += a[1] - r[1] + a[5] - r[5] + a[9] - r[9];
            sum[2] += a[2] - r[2] + a[6] - r[6] + a[10] - r[10];
        }
        n = 9;
    } else {
        for (int yy = y > 0 ? y - 1 : 0; yy <= y + 1 && yy < g->height; yy++)
            for (int xx = x > 0 ? x - 1 : 0; xx <= x + 1 && xx < g->width; xx++, n++) {
                const uint8_t *a = rgba + 4 * ((size_t)yy * (size_t)g->width + (size_t)xx),
                              *r = g->ref + 4 * ((size_t)yy * (size_t)g->width + (size_t)xx);
                for (int k = 0; k < 3; k++)
                    sum[k] += a[k] - r[k];
            }
    }
    for (int k = 0; k < 3; k++)
        if (2 * abs(sum[k]) > TG_GIF_STILL_TOL * n)
            return true;
    return false;
}

/* ---- passes: the per-pixel work, on every lane ----
 *
 * A frame's work is cut into parts that do not depend on one another: row bands for
 * the change search, the crop and the palette mapping (TG_GIF_BANDS of them), LZW
 * segments for the compression (lzw.h; TG_GIF_SEG_PX pixels each, whole rows). How
 * the work is cut depends only on the frame, never on the number of threads; each
 * part writes only its own rows and its own result slot, results are merged in part
 * order with exact (integer) arithmetic, and the nearest-colour caches are per lane
 * and only remember exact answers. So the bytes are the same on 1 to TG_GIF_MAX_LANES
 * threads.
 *
 * The parts run on a core/pool.h pool (its lane k uses lane[k]'s caches and
 * compressor). Workers never call libimagequant, giflib or tgi_fail: errors are stored
 * per part and reported by the caller. */

static void run_part(void *user, int lane, int part)
{
    tgi_gif *g = user;
    g->job(g, &g->lane[lane], part);
}

/* Run job over parts 0..nparts-1 on every lane (on the caller's alone when `alone`),
 * and return when all are done. */
static bool seg_alone(const tgi_gif *g);

static void run_parts(tgi_gif *g, part_fn job, int nparts, bool alone)
{
    g->job = job;
    alone = alone || seg_alone(g);
    tgi_pool_run(g->pool, nparts, alone ? 1 : 0, run_part, g);
}

static inline void band_rows(int h, int b, int *y0, int *y1)
{
    *y0 = (int)((long long)h * b / TG_GIF_BANDS);
    *y1 = (int)((long long)h * (b + 1) / TG_GIF_BANDS);
}

/* Part b of the change search: which pixels of band b changed (g->chg), and the
 * bounding box of those. */
static void part_changes(tgi_gif *g, tg_gif_lane *lane, int b)
{
    (void)lane;
    int r0, r1, x0 = g->width, y0 = g->height, x1 = -1, y1 = -1;
    band_rows(g->height, b, &r0, &r1);
    for (int y = r0; y < r1; y++) {
        size_t row = (size_t)y * (size_t)g->width;
        int first = -1, last = -1;
        uint8_t *ch = g->chg + row;
        for (int x = 0; x < g->width; x++) {
            ch[x] = px_changed(g, g->rgba, x, y);
            if (ch[x]) {
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
    g->band_x0[b] = x0, g->band_x1[b] = x1, g->band_y0[b] = y0, g->band_y1[b] = y1;
}

/* Bounding box of the pixels that need writing; false when there are none. */
static bool find_changes(tgi_gif *g, const uint8_t *rgba, tg_rect *box)
{
    g->rgba = rgba;
    run_parts(g, part_changes, TG_GIF_BANDS, (size_t)g->width * (size_t)g->height < TG_GIF_PAR_PX);
    int x0 = g->width, y0 = g->height, x1 = -1, y1 = -1;
    for (int b = 0; b < TG_GIF_BANDS; b++) {
        if (g->band_x1[b] < 0)
            continue;
        x0 = g->band_x0[b] < x0 ? g->band_x0[b] : x0;
        x1 = g->band_x1[b] > x1 ? g->band_x1[b] : x1;
        y0 = g->band_y0[b] < y0 ? g->band_y0[b] : y0;
        y1 = g->band_y1[b] > y1 ? g->band_y1[b] : y1;
    }
    if (x1 < 0)
        return false;
    *box = (tg_rect){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
    return true;
}

/* Part b of a box pass (g->what): PASS_CROP copies the source and the canvas of band b
 * of the box into src/bg and writes the crop (changed pixels opaque, the others
 * transparent); PASS_MAP maps the crop to g->pal (changed pixels to the nearest
 * colour, unchanged ones to its transparent index: no dithering, so a pixel that does
 * not change gets the same index in every frame, no "crawl"); PASS_ERR sums the error
 * of every TG_GIF_SAMPLE-th changed pixel (box order) against g->pal. */
static void part_box(tgi_gif *g, tg_gif_lane *lane, int b)
{
    const tg_rect *box = &g->box;
    size_t W = (size_t)g->width, bw = (size_t)box->w;
    int r0, r1;
    band_rows(box->h, b, &r0, &r1);
    if (g->what & PASS_CROP) {
        for (int y = r0; y < r1; y++) {
            size_t src = (size_t)(box->y + y) * W + (size_t)box->x, o = (size_t)y * bw * 4;
            memcpy(g->src + o, g->rgba + 4 * src, bw * 4);
            memcpy(g->bg + o, g->canvas + 4 * src, bw * 4);
            uint8_t *d = g->crop + o;
            for (size_t x = 0; x < bw; x++, d += 4) {
                const uint8_t *s = g->rgba + 4 * (src + x);
                if (g->opaque || g->chg[src + x]) {
                    d[0] = s[0], d[1] = s[1], d[2] = s[2], d[3] = 255;
                } else {
                    d[0] = d[1] = d[2] = d[3] = 0;
                }
            }
        }
    }
    long long sum = 0, cnt = 0;
    if (g->what & (PASS_MAP | PASS_ERR)) {
        const tg_gif_pal *P = g->pal;
        tg_gif_cache *C = &lane->cache[P->slot];
        size_t p0 = (size_t)r0 * bw, p1 = (size_t)r1 * bw;
        const uint8_t *s = g->crop + 4 * p0;
        const int step = TG_GIF_SAMPLE;
        int phase = (int)(p0 % (size_t)step), d9;
        if (g->what & PASS_MAP) {
            /* a run of one colour (flat areas) is looked up once */
            uint32_t last = 0; /* colour + 1 of the pixel before, 0 = none */
            int k = 0;
            for (size_t p = p0; p < p1; p++, s += 4) {
                if (s[3] == 0) {
                    g->idx[p] = (uint8_t)P->transparent;
                    last = 0;
                } else {
                    uint32_t key = ((uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2]) + 1;
                    if (key != last)
                        k = pal_nearest(P, C, s, &d9), last = key;
                    g->idx[p] = (uint8_t)k;
                    if (phase == 0)
                        sum += d9, cnt++;
                }
                phase = phase == step - 1 ? 0 : phase + 1;
            }
        } else {
            /* with a stop limit, the sum is shared every 1024 samples: once the error is
             * over it whatever the rest adds, the rest is not looked at */
            long long shared = 0;
            int chunk = 0;
            for (size_t p = p0 + (size_t)(phase ? step - phase : 0); p < p1; p += (size_t)step) {
                if (g->crop[4 * p + 3] == 0)
                    continue;
                pal_nearest(P, C, g->crop + 4 * p, &d9);
                sum += d9, cnt++;
                if (g->err_stop9 > 0 && ++chunk == 1024) {
                    chunk = 0;
                    long long all = atomic_fetch_add(&g->err_shared, sum - shared) + sum - shared;
                    shared = sum;
                    if (atomic_load(&g->err_over) || all > g->err_stop9) {
                        atomic_store(&g->err_over, 1);
                        break;
                    }
                }
            }
        }
    }
    g->err_sum[b] = sum;
    g->err_cnt[b] = cnt;
}

/* Run a box pass; returns the mean error (tgi_lzw_dist units) when PASS_ERR. With a
 * limit >= 0 and PASS_ERR alone, the pass may stop as soon as the mean is sure to be
 * above it, and then returns INFINITY: whether the error is within the limit is the
 * same answer as from the whole pass. */
static double box_pass_limit(tgi_gif *g, int what, tg_gif_pal *P, double limit)
{
    g->what = what;
    g->pal = P;
    /* the mean is over at most every TG_GIF_SAMPLE-th pixel of the box */
    size_t most = ((size_t)g->box.w * (size_t)g->box.h + TG_GIF_SAMPLE - 1) / TG_GIF_SAMPLE;
    g->err_stop9 = what == PASS_ERR && limit >= 0 ? (long long)(limit * 9.0 * (double)most) + 1 : 0;
    atomic_store(&g->err_shared, 0);
    atomic_store(&g->err_over, 0);
    run_parts(g, part_box, TG_GIF_BANDS, (size_t)g->box.w * (size_t)g->box.h < TG_GIF_PAR_PX);
    if (atomic_load(&g->err_over))
        return INFINITY;
    long long sum = 0, cnt = 0;
    for (int b = 0; b < TG_GIF_BANDS; b++)
        sum += g->err_sum[b], cnt += g->err_cnt[b];
    return cnt ? (double)sum / 9.0 / (double)cnt : 0.0;
}

static double box_pass(tgi_gif *g, int what, tg_gif_pal *P)
{
    return box_pass_limit(g, what, P, -1);
}

static inline void seg_rows(const tgi_gif *g, int s, int *y0, int *y1)
{
    *y0 = (int)((long long)g->box.h * s / g->nsegs);
    *y1 = (int)((long long)g->box.h * (s + 1) / g->nsegs);
}

/* Part s of the compression: LZW segment s of the box, then the canvas of its rows
 * shows what a viewer sees (written pixels change, transparent ones stay). */
static void part_lzw(tgi_gif *g, tg_gif_lane *lane, int s)
{
    const tg_rect *box = &g->box;
    const tg_gif_pal *P = g->pal;
    size_t W = (size_t)g->width, bw = (size_t)box->w;
    int r0, r1;
    seg_rows(g, s, &r0, &r1);
    size_t p0 = (size_t)r0 * bw, n = (size_t)(r1 - r0) * bw;
    tgi_lzw_lossy l = g->lzl;
    l.bg = g->bg + 4 * p0;
    l.src = g->src + 4 * p0;
    int bits = GifBitSize(P->n);
    g->seg_rc[s] = tgi_lzw_encode_seg(lane->lzw, g->idx + p0, n, bits < 2 ? 2 : bits, &l,
                                      g->shown + p0, s == 0, s == g->nsegs - 1, &g->seg[s]);
    if (g->seg_rc[s] < 0)
        return;
    const uint8_t *k = g->shown + p0;
    for (int y = r0; y < r1; y++) {
        size_t p = (size_t)(box->y + y) * W + (size_t)box->x;
        for (size_t x = 0; x < bw; x++, p++, k++) {
            if (*k == P->transparent && !g->opaque)
                continue;
            uint8_t *c = g->canvas + 4 * p, *r = g->ref + 4 * p;
            const uint8_t *sp = g->rgba + 4 * p, *pc = P->rgb + 3 * *k;
            c[0] = pc[0], c[1] = pc[1], c[2] = pc[2], c[3] = 255;
            r[0] = sp[0], r[1] = sp[1], r[2] = sp[2], r[3] = 255;
        }
    }
}

/* A new palette for g->crop (box-sized) from libimagequant. Every palette gets one
 * transparent entry (appended when the crop had no transparent pixel). A crop of up to
 * TG_GIF_LIQ_PX pixels is remapped by libimagequant too (undithered, into g->idx:
 * *mapped = true); a larger one is quantized from every s-th pixel of every s-th row
 * (at most TG_GIF_LIQ_PX of them: libimagequant's time grows with the pixels, and it
 * runs on one thread) and left for the caller to map (*mapped = false). */
static int quantize(tg_ctx *ctx, tgi_gif *g, const tg_rect *box, tg_gif_pal *P, bool *mapped)
{
    liq_result *res = NULL;
    liq_error e;
    int rc = 0;
    size_t npx = (size_t)box->w * (size_t)box->h;
    int s = 1;
    while (npx / ((size_t)s * (size_t)s) > TG_GIF_LIQ_PX)
        s++;
    int w = (box->w + s - 1) / s, h = (box->h + s - 1) / s;
    const uint8_t *in = g->crop;
    uint8_t *out = g->idx;
    if (s > 1) {
        size_t need = (size_t)w * (size_t)h * 4;
        if (need > g->sample_cap) {
            uint8_t *p = realloc(g->sample, need);
            if (!p)
                return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory for a %dx%d sample", w, h);
            g->sample = p;
            g->sample_cap = need;
        }
        uint8_t *d = g->sample;
        for (int y = 0; y < box->h; y += s)
            for (int x = 0; x < box->w; x += s, d += 4)
                memcpy(d, g->crop + 4 * ((size_t)y * (size_t)box->w + (size_t)x), 4);
        in = g->sample;
        out = g->shown; /* scratch until the LZW */
    }
    *mapped = s == 1;
    /* Debian's libimagequant parallelises with OpenMP. Its idle workers spin, and
     * next to the decoder's threads on a 2-core machine that made a frame 3-5x (and
     * measured up to 20x) slower than one thread, so the thread that calls
     * libimagequant runs its parallel regions with a single thread (the setting is
     * the calling thread's: a clip's engine calls from a pool thread). Jobs run in
     * parallel at a higher level instead. */
    omp_set_num_threads(1);
    liq_image *img = liq_image_create_rgba(g->attr, in, w, h, 0);
    if (!img)
        return tgi_fail(ctx, TG_ENOMEM, "gif: libimagequant could not create a %dx%d image", w, h);
    if ((e = liq_image_quantize(img, g->attr, &res)) != LIQ_OK) {
        res = NULL;
        rc = fail_liq(ctx, e, "quantization");
        goto done;
    }
    /* no dithering (see the quality table); the level belongs to the result */
    if ((e = liq_set_dithering_level(res, 0.0f)) != LIQ_OK ||
        (e = liq_write_remapped_image(res, img, out, (size_t)w * (size_t)h)) != LIQ_OK) {
        rc = fail_liq(ctx, e, "remapping");
        goto done;
    }
    /* only now: remapping refines the palette */
    const liq_palette *pal = liq_get_palette(res);
    int n = (int)pal->count;
    if (n < 1 || n > 255) {
        rc = tgi_fail(ctx, TG_EENCODE, "gif: libimagequant returned %d colours", n);
        goto done;
    }
    /* Fold every (nearly) transparent entry into one transparent index. */
    uint8_t map[256];
    bool fold = false;
    P->transparent = -1;
    memset(P->rgb, 0, sizeof(P->rgb));
    for (int i = 0; i < n; i++) {
        liq_color c = pal->entries[i];
        map[i] = (uint8_t)i;
        if (c.a < 128) {
            if (P->transparent < 0)
                P->transparent = i;
            else
                fold = true;
            map[i] = (uint8_t)P->transparent;
        } else {
            P->rgb[3 * i] = c.r, P->rgb[3 * i + 1] = c.g, P->rgb[3 * i + 2] = c.b;
        }
    }
    if (fold && *mapped)
        for (size_t i = 0; i < npx; i++)
            g->idx[i] = map[g->idx[i]];
    P->n = n;
    if (P->transparent < 0)
        P->transparent = P->n++;
    pal_index(P);
done:
    if (res)
        liq_result_destroy(res);
    liq_image_destroy(img);
    return rc;
}

/* Can P stand for this crop, whose mean error against it is err? Its error may grow
 * by the quality's reuse share. */
static bool pal_fits(const tgi_gif *g, const tg_gif_pal *P, double err)
{
    if (g->palette_mode == TG_GIF_PALETTE_SHARED)
        return true;
    if (g->palette_mode == TG_GIF_PALETTE_LOCAL)
        return false;
    return err <= P->base_err * (1.0 + g->reuse) + g->reuse;
}

/* The largest error P may have for pal_fits, or -1 when any fits (a pass need not stop). */
static double pal_limit(const tgi_gif *g, const tg_gif_pal *P)
{
    return g->palette_mode == TG_GIF_PALETTE_AUTO ? P->base_err * (1.0 + g->reuse) + g->reuse : -1;
}

static int global_wait(tg_ctx *ctx, tgi_gif *g);
static void global_publish(tgi_gif *g);

/* Encode the box of rgba into the pending frame and show it on the canvas. first: the
 * GIF's first frame (its palette is the global one); key: a key frame (a cut), written
 * whole and opaque with the global palette or a new one, so that nothing after it
 * depends on the frames before it but through the global palette. */
static int encode_box(tg_ctx *ctx, tgi_gif *g, const uint8_t *rgba, const tg_rect *box, bool first,
                      bool key)
{
    size_t npx = (size_t)box->w * (size_t)box->h;
    g->rgba = rgba;
    g->box = *box;
    g->opaque = first || key;
    if (key) {
        g->have_local = false;
        g->last_pal = NULL;
    }
    tg_gif_frame *f = &g->pend;
    tg_gif_pal *P = NULL;
    int rc;
    /* The crop, checked against the global palette, then the last local one; a palette
     * that the frame before reused is likely to do again, and the crop is mapped to it
     * on the way (the error sample is the same either way; after a new palette, the
     * checks are on the sample only). */
    bool try_global = !first && g->palette_mode != TG_GIF_PALETTE_LOCAL;
    bool map_g = try_global && g->last_pal == g->global, mapped = false;
    bool made = false, made_mapped = false; /* a new palette made ahead (below) */
    double err;
    if (try_global && !g->have_global) {
        /* A later segment's key frame while the first segment still makes the global
         * palette: this frame's own palette, which it needs unless the global one fits,
         * is made meanwhile. The same palette as made after the check: the bytes do not
         * depend on it, only the time. */
        box_pass(g, PASS_CROP, NULL);
        if (g->palette_mode == TG_GIF_PALETTE_AUTO) {
            if ((rc = quantize(ctx, g, box, g->local, &made_mapped)) < 0)
                return rc;
            made = true;
        }
        if ((rc = global_wait(ctx, g)) < 0)
            return rc;
        err = box_pass_limit(g, PASS_ERR, g->global, pal_limit(g, g->global));
    } else if (try_global && !map_g) {
        box_pass(g, PASS_CROP, NULL);
        err = box_pass_limit(g, PASS_ERR, g->global, pal_limit(g, g->global));
    } else {
        err = box_pass(g, PASS_CROP | (try_global ? PASS_ERR : 0) | (map_g ? PASS_MAP : 0),
                       g->global);
    }
    if (try_global && pal_fits(g, g->global, err)) {
        P = g->global;
        mapped = map_g;
    } else if (!first && g->palette_mode == TG_GIF_PALETTE_AUTO && g->have_local) {
        bool map_l = g->last_pal == g->local;
        double lim = map_l ? -1 : pal_limit(g, g->local);
        if (pal_fits(g, g->local,
                     box_pass_limit(g, PASS_ERR | (map_l ? PASS_MAP : 0), g->local, lim))) {
            P = g->local;
            mapped = map_l;
        }
    }
    if (!P) {
        P = first ? g->global : g->local;
        if (made)
            mapped = made_mapped;
        else if ((rc = quantize(ctx, g, box, P, &mapped)) < 0)
            return rc;
        pal_forget(g, P);
        P->base_err = box_pass(g, PASS_ERR | (mapped ? 0 : PASS_MAP), P);
        g->have_local = g->have_local || !first;
        g->last_pal = NULL;
        if (first) {
            g->have_global = true;
            global_publish(g);
        }
    } else {
        if (!mapped)
            box_pass(g, PASS_MAP, P);
        g->last_pal = P;
    }
    f->global = P == g->global;
    f->ncolors = P->n;
    to_gif_colors(P, f->pal);
    f->transparent = g->opaque ? NO_TRANSPARENT_COLOR : P->transparent;
    g->pal = P;
    g->lzl = (tgi_lzw_lossy){
        .tol = g->lossy,
        .pal = P->rgb,
        .transparent = g->opaque ? -1 : P->transparent,
        .row = box->w,
        .look = g->look,
    };
    /* an even number of segments of about TG_GIF_SEG_PX (two lanes share them evenly) */
    size_t pairs = (npx + TG_GIF_SEG_PX) / (2 * TG_GIF_SEG_PX); /* npx / 2 segments, rounded */
    size_t nsegs = npx < TG_GIF_SEG_PX ? 1 : pairs < 1 ? 2 : 2 * pairs;
    nsegs = nsegs > TG_GIF_MAX_SEGS ? TG_GIF_MAX_SEGS : nsegs;
    g->nsegs = (int)(nsegs > (size_t)box->h ? (size_t)box->h : nsegs);
    run_parts(g, part_lzw, g->nsegs, false);
    for (int s = 0; s < g->nsegs; s++)
        if (g->seg_rc[s] < 0)
            return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory compressing a frame");
    if (tgi_lzw_join(g->seg, (size_t)g->nsegs, &f->data, &f->cap, &f->len) < 0)
        return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory for a compressed frame");
    f->x = box->x, f->y = box->y, f->w = box->w, f->h = box->h;
    return 0;
}

/* A frame with nothing to write: lengthen the pending frame, or when its delay would
 * overflow, write it and hold a 1x1 transparent frame carrying the new delay. */
static int extend_pending(tg_ctx *ctx, tgi_gif *g, int delay_cs)
{
    tg_gif_frame *f = &g->pend;
    if (f->delay_cs + delay_cs <= TG_GIF_MAX_DELAY) {
        f->delay_cs += delay_cs;
        return 0;
    }
    int rc = flush_pending(ctx, g);
    if (rc < 0)
        return rc;
    const uint8_t zero = 0;
    memset(f->pal, 0, sizeof(f->pal));
    f->x = f->y = 0, f->w = f->h = 1;
    f->global = false;
    f->ncolors = 2;
    f->transparent = 0;
    if ((rc = compress(ctx, g, &zero, 1, 2, NULL, NULL)) < 0)
        return rc;
    f->delay_cs = delay_cs;
    g->pending = true;
    return 0;
}

/* key: a key frame (encode_box); a follower's first frame always is one. */
static int add_frame(tg_ctx *ctx, tgi_gif *g, const uint8_t *rgba, int delay_cs, bool key)
{
    bool first = g->frames_in == 0 && !g->follower;
    key = !first && (key || g->frames_in == 0);
    tg_rect box = {0, 0, g->width, g->height};
    if (!first && !key && !find_changes(g, rgba, &box))
        return extend_pending(ctx, g, delay_cs);
    int rc = flush_pending(ctx, g);
    if (rc < 0)
        return rc;
    if ((rc = encode_box(ctx, g, rgba, &box, first, key)) < 0)
        return rc;
    g->pend.delay_cs = delay_cs;
    g->pending = true;
    return 0;
}

/* ---- threads ---- */

/* Lane l's compressor and caches; -1 when out of memory (tgi_gif_free frees them). */
static int lane_init(tgi_gif *g, int l)
{
    tg_gif_lane *lane = &g->lane[l];
    lane->g = g;
    lane->lzw = tgi_lzw_new();
    lane->cache = calloc(2, sizeof(tg_gif_cache));
    return lane->lzw && lane->cache ? 0 : -1;
}

/* The threads asked for (0: one per CPU), at most TG_GIF_MAX_LANES. */
static int gif_threads(int threads)
{
    if (threads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus < 1 ? 1 : (int)cpus;
    }
    return threads > TG_GIF_MAX_LANES ? TG_GIF_MAX_LANES : threads;
}

/* Up to threads - 1 workers (0: one per CPU, at most TG_GIF_MAX_LANES in all). When
 * memory or a thread cannot be had, fewer work: the output is the same. */
static void start_workers(tgi_gif *g, int threads)
{
    threads = gif_threads(threads);
    int lanes = 1;
    while (lanes < threads && lane_init(g, lanes) == 0)
        lanes++;
    if (lanes < 2 || !(g->pool = tgi_pool_new(lanes)))
        return;
    g->nworkers = tgi_pool_lanes(g->pool) - 1;
}

/* ---- public ---- */

static int check_params(tg_ctx *ctx, int fd, const tgi_gif_params *p)
{
    if (!p)
        return tgi_fail(ctx, TG_EINVAL, "gif: no parameters");
    if (fd < 0)
        return tgi_fail(ctx, TG_EINVAL, "gif: invalid file descriptor %d", fd);
    if (p->width < 1 || p->width > TG_GIF_MAX_SIDE || p->height < 1 || p->height > TG_GIF_MAX_SIDE)
        return tgi_fail(ctx, TG_EINVAL, "gif: size %dx%d is outside 1..%d pixels a side", p->width,
                        p->height, TG_GIF_MAX_SIDE);
    if (p->quality < 1 || p->quality > 100)
        return tgi_fail(ctx, TG_EINVAL, "gif: quality %d is outside 1..100", p->quality);
    if (p->palette < TG_GIF_PALETTE_AUTO || p->palette > TG_GIF_PALETTE_LOCAL)
        return tgi_fail(ctx, TG_EINVAL, "gif: unknown palette mode %d", p->palette);
    if (p->loop_count < 0 || p->loop_count > 65535)
        return tgi_fail(ctx, TG_EINVAL, "gif: loop count %d is outside 0..65535 (0 = forever)",
                        p->loop_count);
    if (p->threads < 0 || p->threads > 64)
        return tgi_fail(ctx, TG_EINVAL, "gif: %d threads is outside 0..64 (0 = automatic)",
                        p->threads);
    return 0;
}

/* An encoder with `threads` threads for each frame's passes, writing to fd (giflib
 * opened) or, when capture, keeping its frames. p is checked. */
static int gif_new(tg_ctx *ctx, int fd, const tgi_gif_params *p, int threads, bool capture,
                   tgi_gif **out)
{
    int rc;
    liq_error e;
    size_t npix = (size_t)p->width * (size_t)p->height;
    tgi_gif *g = calloc(1, sizeof(*g));
    if (!g)
        return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory");
    g->width = p->width;
    g->height = p->height;
    g->lossy = q_lossy(p->quality);
    g->reuse = q_reuse(p->quality);
    g->look = q_look(p->quality);
    g->quality = p->quality;
    g->palette_mode = p->palette;
    g->loop_count = p->loop_count;
    g->fd = fd;
    g->canvas = calloc(npix, 4);
    g->ref = calloc(npix, 4);
    g->chg = malloc(npix);
    g->crop = malloc(npix * 4);
    g->src = malloc(npix * 4);
    g->bg = malloc(npix * 4);
    g->idx = malloc(npix);
    g->shown = malloc(npix);
    g->global = calloc(1, sizeof(*g->global));
    g->local = calloc(1, sizeof(*g->local));
    if (!g->canvas || !g->ref || !g->chg || !g->crop || !g->src || !g->bg || !g->idx || !g->shown ||
        !g->global || !g->local || (rc = lane_init(g, 0)) < 0) {
        rc = tgi_fail(ctx, TG_ENOMEM, "gif: out of memory for a %dx%d canvas", p->width, p->height);
        goto fail;
    }
    g->global->slot = 0;
    g->local->slot = 1;
    start_workers(g, threads);
    if (!(g->attr = liq_attr_create())) {
        rc = tgi_fail(ctx, TG_ENOMEM, "gif: libimagequant could not allocate its attributes");
        goto fail;
    }
    /* one entry stays free for the transparent index */
    if ((e = liq_set_max_colors(g->attr, 255)) != LIQ_OK ||
        (e = liq_set_speed(g->attr, TG_GIF_LIQ_SPEED)) != LIQ_OK ||
        (e = liq_set_quality(g->attr, 0, q_liq_max(p->quality))) != LIQ_OK) {
        rc = fail_liq(ctx, e, "setup");
        goto fail;
    }
    g->capture = capture;
    int gerr = 0;
    if (!capture && !(g->gf = EGifOpen(g, gif_write, &gerr))) {
        rc = tgi_fail(ctx, gerr == E_GIF_ERR_NOT_ENOUGH_MEM ? TG_ENOMEM : TG_EENCODE,
                      "gif: EGifOpen failed: %s (giflib error %d)", gif_errstr(gerr), gerr);
        goto fail;
    }
    if (g->gf)
        EGifSetGifVersion(g->gf, true); /* else giflib writes a GIF87a header */
    /* the screen descriptor carries the first frame's palette: written with that frame */
    *out = g;
    return 0;
fail:
    tgi_gif_free(&g);
    return rc;
}

int tgi_gif_begin(tg_ctx *ctx, int fd, const tgi_gif_params *p, tgi_gif **out)
{
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "gif: no place to return the encoder");
    *out = NULL;
    int rc = check_params(ctx, fd, p);
    return rc < 0 ? rc : gif_new(ctx, fd, p, p->threads, false, out);
}

int tgi_gif_add(tg_ctx *ctx, tgi_gif *g, const uint8_t *rgba, int delay_cs)
{
    if (!g)
        return tgi_fail(ctx, TG_EINVAL, "gif: no encoder");
    if (!rgba)
        return tgi_fail(ctx, TG_EINVAL, "gif: no frame data");
    if (g->failed)
        return tgi_fail_keep(ctx, g->failed, "gif: the encoder failed earlier");
    if (delay_cs < 1 || delay_cs > TG_GIF_MAX_DELAY)
        return tgi_fail(ctx, TG_EINVAL, "gif: frame delay %d cs is outside 1..%d", delay_cs,
                        TG_GIF_MAX_DELAY);
    int rc = add_frame(ctx, g, rgba, delay_cs, false);
    if (rc < 0)
        g->failed = rc;
    else
        g->frames_in++;
    return rc;
}

int tgi_gif_end(tg_ctx *ctx, tgi_gif **gp)
{
    if (!gp || !*gp)
        return tgi_fail(ctx, TG_EINVAL, "gif: no encoder to finish");
    tgi_gif *g = *gp;
    int rc = 0;
    if (g->failed) {
        rc = tgi_fail_keep(ctx, g->failed, "gif: the encoder failed earlier");
    } else if (g->frames_in == 0) {
        rc = tgi_fail(ctx, TG_EINVAL, "gif: no frame was added");
    } else if ((rc = flush_pending(ctx, g)) == 0) {
        int gerr = 0;
        int ok = EGifCloseFile(g->gf, &gerr); /* writes the trailer, frees gf */
        g->gf = NULL;
        if (flush_out(g))
            rc = fail_io(ctx, g->io_errno);
        else if (ok == GIF_ERROR)
            rc = tgi_fail(ctx, gerr == E_GIF_ERR_NOT_ENOUGH_MEM ? TG_ENOMEM : TG_EENCODE,
                          "gif: closing the GIF failed: %s (giflib error %d)", gif_errstr(gerr),
                          gerr);
    }
    tgi_gif_free(gp);
    return rc;
}

void tgi_gif_free(tgi_gif **gp)
{
    if (!gp || !*gp)
        return;
    tgi_gif *g = *gp;
    g->discard = true;
    if (g->gf)
        EGifCloseFile(g->gf, NULL);
    if (g->attr)
        liq_attr_destroy(g->attr);
    free(g->canvas);
    free(g->ref);
    free(g->chg);
    free(g->crop);
    free(g->src);
    free(g->bg);
    free(g->idx);
    free(g->shown);
    free(g->sample);
    free(g->global);
    free(g->local);
    free(g->pend.data);
    for (size_t k = 0; k < g->nkept; k++)
        free(g->kept[k].data);
    free(g->kept);
    tgi_pool_free(&g->pool);
    for (int l = 0; l < TG_GIF_MAX_LANES; l++) {
        tgi_lzw_free(&g->lane[l].lzw);
        for (int k = 0; g->lane[l].cache && k < 2; k++)
            free(g->lane[l].cache[k].pool);
        free(g->lane[l].cache);
    }
    for (int k = 0; k < TG_GIF_MAX_SEGS; k++)
        tgi_lzw_bits_free(&g->seg[k]);
    free(g);
    *gp = NULL;
}

/* ---- segments: clips encoded side by side (tgi_gif_encode_frames) ----
 *
 * The frames are cut before every key frame: where the clip changes, and inside a clip
 * where a fade sweeps over the frame (seg_cuts). Segment 0 starts with the GIF's first
 * frame, every later one with a key frame, which depends on what came before only
 * through the global palette (the first frame's): so the segments are
 * encoded apart, by engines (capturing encoders, one per lane of a core/pool.h pool),
 * and their frames are then written in order. A later segment waits for the global
 * palette where it needs it (global_wait) and makes its key frame's own palette
 * meanwhile. One lane encodes the segments one after the other with one engine: the same
 * steps, so the same bytes, whatever the number of threads. While fewer segments than
 * threads are being encoded, an engine spreads its frames' passes over its own pool, as
 * a plain encoder does (seg_alone); while every thread has a segment, it does not.
 */

typedef struct seg_out {
    tg_gif_frame *frames; /* owned */
    size_t n;
    int rc; /* 0, or the failure: its message in msg */
    char msg[256];
} seg_out;

typedef struct seg_run {
    const tgi_gif_frames *in;
    size_t nsegs;
    size_t *start; /* nsegs + 1: segment k is frames start[k] .. start[k + 1] - 1 */
    seg_out *out;
    tgi_gif *eng[TG_GIF_MAX_LANES];
    tg_ctx *ectx[TG_GIF_MAX_LANES];
    int threads; /* threads in all */
    atomic_int running;
    atomic_size_t done;
    atomic_int stop;
    int progress_rc; /* lane 0's (the caller's thread) ... */
    size_t reported; /* ... and the last count it reported */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int global_state; /* 0: not yet, 1: made (global), -1: will not be (segment 0 ended) */
    tg_gif_pal global;
} seg_run;

static bool seg_alone(const tgi_gif *g)
{
    return g->run && atomic_load(&g->run->running) >= g->run->threads;
}

static void global_publish(tgi_gif *g)
{
    seg_run *R = g->run;
    if (!R)
        return;
    pthread_mutex_lock(&R->mu);
    R->global = *g->global;
    R->global_state = 1;
    pthread_cond_broadcast(&R->cv);
    pthread_mutex_unlock(&R->mu);
}

static int global_wait(tg_ctx *ctx, tgi_gif *g)
{
    seg_run *R = g->run;
    if (!R)
        return tgi_fail(ctx, TG_EINVAL, "gif: no global palette yet");
    pthread_mutex_lock(&R->mu);
    while (R->global_state == 0)
        pthread_cond_wait(&R->cv, &R->mu);
    int state = R->global_state;
    if (state > 0)
        *g->global = R->global;
    pthread_mutex_unlock(&R->mu);
    if (state < 0)
        return tgi_fail(ctx, TG_EENCODE, "gif: the first clip could not be encoded");
    g->have_global = true;
    pal_forget(g, g->global);
    return 0;
}

/* Part k: segment k on lane's engine, into R->out[k]. */
static void seg_part(void *user, int lane, int part)
{
    seg_run *R = user;
    tgi_gif *g = R->eng[lane];
    tg_ctx *c = R->ectx[lane];
    seg_out *o = &R->out[part];
    const tgi_gif_frames *in = R->in;
    atomic_fetch_add(&R->running, 1);
    g->follower = part > 0;
    g->frames_in = 0;
    g->pending = false;
    int rc = 0;
    for (size_t i = R->start[part]; i < R->start[part + 1] && rc == 0; i++) {
        if (atomic_load(&R->stop))
            break;
        if ((rc = add_frame(c, g, in->rgba[i], in->delay_cs[i], false)) < 0)
            break;
        g->frames_in++;
        size_t done = atomic_fetch_add(&R->done, 1) + 1;
        if (lane == 0 && in->progress) {
            R->reported = done;
            if ((R->progress_rc = in->progress(in->user, done)) != 0)
                atomic_store(&R->stop, 1);
        }
    }
    if (rc == 0 && !atomic_load(&R->stop))
        rc = flush_pending(c, g);
    if (rc < 0) {
        o->rc = rc;
        snprintf(o->msg, sizeof(o->msg), "%s", tg_ctx_message(c));
        atomic_store(&R->stop, 1);
    }
    o->frames = g->kept;
    o->n = g->nkept;
    g->kept = NULL;
    g->nkept = g->kept_cap = 0;
    if (part == 0) {
        pthread_mutex_lock(&R->mu);
        if (R->global_state == 0)
            R->global_state = -1;
        pthread_cond_broadcast(&R->cv);
        pthread_mutex_unlock(&R->mu);
    }
    atomic_fetch_sub(&R->running, 1);
}

static int check_frames(tg_ctx *ctx, const tgi_gif_frames *in)
{
    if (!in || in->n == 0 || !in->rgba || !in->delay_cs)
        return tgi_fail(ctx, TG_EINVAL, "gif: no frame was given");
    for (size_t i = 0; i < in->n; i++) {
        if (!in->rgba[i])
            return tgi_fail(ctx, TG_EINVAL, "gif: no frame data");
        if (in->delay_cs[i] < 1 || in->delay_cs[i] > TG_GIF_MAX_DELAY)
            return tgi_fail(ctx, TG_EINVAL, "gif: frame delay %d cs is outside 1..%d",
                            in->delay_cs[i], TG_GIF_MAX_DELAY);
    }
    return 0;
}

/* Frame f's colours: a histogram of TG_GIF_HIST_BINS cells (16 levels a channel) over
 * every pixel (a sample of them would move with the picture: a pan over fine texture
 * gave 6-7 % on every 2nd pixel of every 2nd row, 0-1 % on all); returns the pixels. */
static long colour_hist(const uint8_t *f, int w, int h, int *hist)
{
    memset(hist, 0, TG_GIF_HIST_BINS * sizeof(*hist));
    long n = 0;
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++, n++) {
        const uint8_t *q = f + 4 * i;
        hist[(q[0] >> 4) << 8 | (q[1] >> 4) << 4 | q[2] >> 4]++;
    }
    return n;
}

/* The % of the pixels whose colour cell must change for the histograms to turn a into b
 * (half their L1 distance). */
static long hist_moved(const int *a, const int *b, long n)
{
    long d = 0;
    for (int i = 0; i < TG_GIF_HIST_BINS; i++)
        d += abs(a[i] - b[i]);
    return 50 * d / n;
}

/* Where the segments start (start[0 .. k], start[k] = in->n; returns k): before every
 * key frame (a clip's first), and inside a clip before a frame that sweeps, when that
 * leaves at least TG_GIF_SWEEP_MIN frames on both sides of the cut (so a fade is cut
 * about every TG_GIF_SWEEP_MIN frames and its palettes are made on every lane). A frame
 * sweeps when its colours moved on from the frame before's (TG_GIF_SWEEP_1 % of the
 * pixels changed colour cell in the histogram) and further from the frame before that
 * (TG_GIF_SWEEP_2 %): a fade or dissolve in progress, where the encoder makes a new
 * palette every frame or two and sends nearly the whole frame, so a key frame there
 * costs about nothing. Motion changes most pixels too but hardly the histogram
 * (bench/encoders.sh's clips: pans and zooms 0-2 % a frame, the handheld camera 2-10 %,
 * 4-14 % over two frames; its fade 15-29 %, 27-46 % over two; the gif suite's synthetic
 * zoom, 160x96, 6-9 %, 6-10 %). Only the frames decide:
 * the bytes do not depend on the threads. hist: 3 * TG_GIF_HIST_BINS of scratch. */
static size_t seg_cuts(const tgi_gif_params *p, const tgi_gif_frames *in, size_t *start, int *hist)
{
    size_t k = 0, clip0 = 0;
    start[k++] = 0;
    for (size_t i = 1; i <= in->n; i++) {
        if (i < in->n && !(in->clip && in->clip[i] != in->clip[i - 1]))
            continue;
        /* clip0 .. i - 1 is a clip: cut where it sweeps (the histograms of frames j - 2,
         * j - 1 and j in hist's thirds j % 3) */
        size_t last = clip0;
        long n = 0;
        for (size_t j = clip0; j + TG_GIF_SWEEP_MIN <= i; j++) {
            n = colour_hist(in->rgba[j], p->width, p->height, hist + j % 3 * TG_GIF_HIST_BINS);
            if (j < clip0 + TG_GIF_SWEEP_MIN || j - last < TG_GIF_SWEEP_MIN)
                continue;
            const int *h0 = hist + (j - 2) % 3 * TG_GIF_HIST_BINS,
                      *h1 = hist + (j - 1) % 3 * TG_GIF_HIST_BINS,
                      *h2 = hist + j % 3 * TG_GIF_HIST_BINS;
            if (hist_moved(h1, h2, n) >= TG_GIF_SWEEP_1 && hist_moved(h0, h2, n) >= TG_GIF_SWEEP_2)
                start[k++] = last = j;
        }
        if (i < in->n)
            start[k++] = clip0 = i;
    }
    start[k] = in->n;
    return k;
}

int tgi_gif_encode_frames(tg_ctx *ctx, int fd, const tgi_gif_params *p, const tgi_gif_frames *in)
{
    int rc = check_params(ctx, fd, p);
    if (rc < 0 || (rc = check_frames(ctx, in)) < 0)
        return rc;
    seg_run R = {.in = in};
    R.start = malloc((in->n + 1) * sizeof(*R.start));
    int *hist = malloc(3 * TG_GIF_HIST_BINS * sizeof(*hist));
    bool ok = R.start && hist;
    if (ok)
        R.nsegs = seg_cuts(p, in, R.start, hist);
    free(hist);
    if (!ok || !(R.out = calloc(R.nsegs, sizeof(*R.out)))) {
        free(R.start);
        return tgi_fail(ctx, TG_ENOMEM, "gif: out of memory");
    }
    if (in->segments)
        *in->segments = R.nsegs;
    R.threads = gif_threads(p->threads);
    int lanes = R.threads < (int)R.nsegs ? R.threads : (int)R.nsegs;
    pthread_mutex_init(&R.mu, NULL);
    pthread_cond_init(&R.cv, NULL);
    tgi_pool *pool = NULL;
    /* engine 0 also writes the GIF at the end (giflib open on fd) */
    for (int l = 0; l < lanes && rc == 0; l++) {
        if (!(R.ectx[l] = tg_ctx_new())) {
            rc = tgi_fail(ctx, TG_ENOMEM, "gif: out of memory");
            break;
        }
        if ((rc = gif_new(R.ectx[l], fd, p, R.threads, l > 0, &R.eng[l])) < 0) {
            rc = tgi_fail(ctx, rc, "%s", tg_ctx_message(R.ectx[l]));
            break;
        }
        R.eng[l]->run = &R;
        R.eng[l]->capture = true;
    }
    if (rc == 0) {
        if (lanes > 1)
            pool = tgi_pool_new(lanes); /* NULL: one lane does all, the same bytes */
        tgi_pool_run(pool, (int)R.nsegs, lanes, seg_part, &R);
        tgi_pool_free(&pool);
        /* the caller's thread reported only its own clips' frames: the end, once */
        if (!R.progress_rc && !atomic_load(&R.stop) && in->progress && R.reported < in->n)
            R.progress_rc = in->progress(in->user, in->n);
        if (R.progress_rc)
            rc = R.progress_rc;
        for (size_t s = 0; rc == 0 && s < R.nsegs; s++)
            if (R.out[s].rc < 0)
                rc = tgi_fail(ctx, R.out[s].rc, "%s", R.out[s].msg);
    }
    if (rc == 0) {
        /* every segment's frames, in order, through engine 0's giflib */
        tgi_gif *w = R.eng[0];
        w->capture = false;
        w->run = NULL;
        *w->global = R.global;
        for (size_t s = 0; rc == 0 && s < R.nsegs; s++)
            for (size_t f = 0; rc == 0 && f < R.out[s].n; f++)
                rc = write_frame(ctx, w, &R.out[s].frames[f]);
        w->frames_in = (long)in->n;
        w->pending = false;
        if (rc == 0)
            rc = tgi_gif_end(ctx, &R.eng[0]);
    }
    for (int l = 0; l < TG_GIF_MAX_LANES; l++) {
        tgi_gif_free(&R.eng[l]);
        tg_ctx_free(&R.ectx[l]);
    }
    for (size_t s = 0; s < R.nsegs; s++) {
        for (size_t f = 0; f < R.out[s].n; f++)
            free(R.out[s].frames[f].data);
        free(R.out[s].frames);
    }
    pthread_cond_destroy(&R.cv);
    pthread_mutex_destroy(&R.mu);
    free(R.start);
    free(R.out);
    return rc;
}
