/*
 * padding.c — a picture padded with a blurred, enlarged copy of itself or one colour
 * (padding.h).
 *
 * Along the padded dimension ("across", u) every line of the frame ("along", v) gets
 * its detail: the mean absolute difference of neighbouring pixels along it. The fill
 * is blurred, so its lines have little detail next to the middle of the frame (which
 * is always picture: a padded picture keeps at least a sixth of the frame, the most
 * any app or editor pads). Both sides must turn detailed at the same distance b from
 * their edge (padding centres), and the fill must show the picture between them,
 * scaled up to cover the frame about its centre: that is what tells a fill from a
 * dark or defocused edge of a shot that is not padded at all. A fill too flat to
 * compare is one colour, or says nothing: one colour when both sides are the same flat
 * colour and the picture's first line departs from it along most of its length (a
 * subject before a plain wall has no straight border).
 */
#include "analyze/padding.h"

#include "analyze/features.h"

#include <math.h>
#include <stdlib.h>

#define MAX_LINES TG_ANALYSIS_SIDE
/* the fill's lines have at most this share of the picture's detail, on average */
#define FILL_DETAIL 0.45
/* the middle must have this much detail (levels per pixel step) to compare against */
#define MIN_DETAIL 1.5
/* the fill against the enlarged picture, over at least MIN_CELLS coarse cells whose
 * levels vary by MIN_SD or more: measured 0.96-1.00 (median per video) on six eval
 * videos padded by ffmpeg's usual recipes (box or Gaussian blur, one darkened), at most
 * 0.75 where a frame of the unpadded eval videos had a smooth side */
#define MIN_CORR 0.8
/* lines next to the seam that no cell takes in (a seam found a line off) */
#define SEAM_LINES 2
#define MIN_CELLS  12
#define MIN_SD     1.5
/* seams looked at per frame */
#define CANDIDATES 3
/* a fill of one colour: both sides within SOLID_SAME levels of each other, every pixel
 * within SOLID_FLAT of its side's mean, at least SOLID_MIN_LUMA (darker is a black bar,
 * features.c's); the picture's first line differs by more than SOLID_SEAM in
 * SOLID_STRAIGHT of its pixels on each side */
#define SOLID_SAME     6
#define SOLID_FLAT     12
#define SOLID_MIN_LUMA 20
#define SOLID_SEAM     10
#define SOLID_STRAIGHT 0.8

typedef struct plane {
    const uint8_t *Y;
    int w, U, V, vertical;
    const uint8_t *rgb; /* the same frame in RGB24, or NULL */
    int rgb_stride;
} plane;

static inline int px(const plane *p, int u, int v)
{
    return p->vertical ? p->Y[u * p->w + v] : p->Y[v * p->w + u];
}

/* Sums of the plane over [0, u) x [0, v), (U + 1) x (V + 1) of them: any box's mean
 * in four lookups. */
typedef struct integral {
    uint32_t *at;
    int stride;
} integral;

static void integral_make(const plane *p, integral *I)
{
    I->stride = p->V + 1;
    for (int v = 0; v <= p->V; v++)
        I->at[v] = 0;
    for (int u = 0; u < p->U; u++) {
        uint32_t *row = I->at + (size_t)(u + 1) * I->stride, *prev = row - I->stride, acc = 0;
        row[0] = 0;
        for (int v = 0; v < p->V; v++) {
            acc += (uint32_t)px(p, u, v);
            row[v + 1] = prev[v + 1] + acc;
        }
    }
}

/* Mean over [u0, u1) x [v0, v1), clipped to [ulo, uhi) x [0, V); at least one pixel. */
static double box_mean(const plane *p, const integral *I, double u0, double u1, double v0,
                       double v1, int ulo, int uhi)
{
    int a0 = (int)lround(u0), a1 = (int)lround(u1), b0 = (int)lround(v0), b1 = (int)lround(v1);
    a0 = a0 < ulo ? ulo : a0 > uhi - 1 ? uhi - 1 : a0;
    a1 = a1 <= a0 ? a0 + 1 : a1 > uhi ? uhi : a1;
    b0 = b0 < 0 ? 0 : b0 > p->V - 1 ? p->V - 1 : b0;
    b1 = b1 <= b0 ? b0 + 1 : b1 > p->V ? p->V : b1;
    const uint32_t *r0 = I->at + (size_t)a0 * I->stride, *r1 = I->at + (size_t)a1 * I->stride;
    double sum = (double)r1[b1] - r1[b0] - r0[b1] + r0[b0];
    return sum / ((double)(a1 - a0) * (b1 - b0));
}

/* Pearson correlation of the fill's coarse cells with the same cells of the picture
 * enlarged to cover the frame about its centre (frame position x -> picture position
 * b + x / s across, V / 2 + (y - V / 2) / s along); NAN when there is too little to
 * tell. */
static double fill_corr(const plane *p, const integral *I, int b)
{
    int c = p->U / 24 < 4 ? 4 : p->U / 24, m = c / 2;
    if (b < c + SEAM_LINES)
        return NAN;
    double s = (double)p->U / (p->U - 2 * b), vc = p->V / 2.0;
    double sa = 0, sp = 0, saa = 0, spp = 0, sap = 0;
    int n = 0;
    for (int side = 0; side < 2; side++)
        for (int k = 0; (k + 1) * c <= b - SEAM_LINES; k++) {
            /* cells from the frame's edge inward on both sides, clear of the seam: with
             * cells from the seam outward on one side, a seam a line off put a line of
             * the picture in them, and black bars beside a light desktop correlated
             * with the picture as a blurred copy would */
            int u0 = side ? p->U - (k + 1) * c : k * c, u1 = u0 + c;
            for (int v0 = 0; v0 + c <= p->V; v0 += c) {
                double a = box_mean(p, I, u0, u1, v0, v0 + c, 0, p->U);
                /* the fill is blurred: so is the prediction, over a cell's margin m */
                double f0 = fmax(0, u0 - m), f1 = fmin(p->U, u1 + m);
                double g0 = fmax(0, v0 - m), g1 = fmin(p->V, v0 + c + m);
                double q = box_mean(p, I, b + f0 / s, b + f1 / s, vc + (g0 - vc) / s,
                                    vc + (g1 - vc) / s, b, p->U - b);
                sa += a;
                sp += q;
                saa += a * a;
                spp += q * q;
                sap += a * q;
                n++;
            }
        }
    if (n < MIN_CELLS)
        return NAN;
    double va = saa / n - (sa / n) * (sa / n), vp = spp / n - (sp / n) * (sp / n);
    if (va < MIN_SD * MIN_SD || vp < MIN_SD * MIN_SD)
        return NAN;
    return (sap / n - (sa / n) * (sp / n)) / sqrt(va * vp);
}

/* The lines' detail d and the edges e between neighbouring lines (e[0] = 0), as means
 * per pixel: lines are columns (vertical 0) or rows (vertical 1). */
static void profiles(const uint8_t *Y, int w, int h, int vertical, double *d, double *e)
{
    int U = vertical ? h : w;
    uint32_t dd[MAX_LINES] = {0}, ee[MAX_LINES] = {0};
    for (int y = 0; y < h; y++) {
        const uint8_t *r = Y + (size_t)y * w, *up = y ? r - w : NULL;
        if (!vertical) {
            for (int x = 1; x < w; x++)
                ee[x] += (uint32_t)abs(r[x] - r[x - 1]);
            for (int x = 0; up && x < w; x++)
                dd[x] += (uint32_t)abs(r[x] - up[x]);
        } else {
            uint32_t a = 0, b = 0;
            for (int x = 1; x < w; x++)
                a += (uint32_t)abs(r[x] - r[x - 1]);
            for (int x = 0; up && x < w; x++)
                b += (uint32_t)abs(r[x] - up[x]);
            dd[y] = a;
            ee[y] = b;
        }
    }
    int V = vertical ? w : h;
    for (int u = 0; u < U; u++) {
        d[u] = (double)dd[u] / (V - 1);
        e[u] = (double)ee[u] / V;
    }
}

/* Channel c of the pixel at (u, v): of the RGB frame when there is one, else luma. */
static inline int chan(const plane *p, int u, int v, int c)
{
    if (!p->rgb)
        return px(p, u, v);
    int x = p->vertical ? v : u, y = p->vertical ? u : v;
    return p->rgb[(size_t)y * p->rgb_stride + 3 * (size_t)x + c];
}

/* The largest channel difference of (u, v) from colour m. */
static int off_colour(const plane *p, int u, int v, const double *m)
{
    int d = 0;
    for (int c = 0; c < 3; c++) {
        int e = abs(chan(p, u, v, c) - (int)lround(m[c]));
        d = e > d ? e : d;
    }
    return d;
}

/* A fill of one colour (not black: black bars are features.c's): both sides flat and
 * alike, and the picture's first line on each side unlike them in most of its length
 * (a picture's straight border, not the outline of a subject before a plain wall).
 * Colours, not luma: a navy fill and a grey path are the same luma. */
static int solid_fill(const plane *p, const integral *I, int b)
{
    if (fmin(box_mean(p, I, 0, b, 0, p->V, 0, p->U),
             box_mean(p, I, p->U - b, p->U, 0, p->V, 0, p->U)) < SOLID_MIN_LUMA)
        return 0;
    double l[3] = {0}, r[3] = {0}, n = (double)(b - 1) * p->V;
    for (int v = 0; v < p->V; v++)
        for (int u = 0; u + 1 < b; u++)
            for (int c = 0; c < 3; c++) {
                l[c] += chan(p, u, v, c);
                r[c] += chan(p, p->U - 1 - u, v, c);
            }
    for (int c = 0; c < 3; c++) {
        l[c] /= n;
        r[c] /= n;
        if (fabs(l[c] - r[c]) > SOLID_SAME)
            return 0;
    }
    int lu = 0, ru = 0;
    /* (the fill's last lines blend with the picture's first: scaling, ringing, and the
     * colours' half resolution) */
    for (int v = 0; v < p->V; v++) {
        for (int u = 0; u + 2 < b; u++)
            if (off_colour(p, u, v, l) > SOLID_FLAT ||
                off_colour(p, p->U - 1 - u, v, r) > SOLID_FLAT)
                return 0;
        lu += off_colour(p, b, v, l) > SOLID_SEAM;
        ru += off_colour(p, p->U - 1 - b, v, r) > SOLID_SEAM;
    }
    return lu >= SOLID_STRAIGHT * p->V && ru >= SOLID_STRAIGHT * p->V;
}

int tgi_padding_black_line(const uint8_t *Y, int w, int h, int vertical, int line)
{
    int len = vertical ? w : h, sum = 0, mx = 0;
    for (int i = 0; i < len; i++) {
        int v = vertical ? Y[line * w + i] : Y[i * w + line];
        sum += v;
        mx = v > mx ? v : mx;
    }
    return sum <= 18 * len && mx <= 48;
}

/* The black-bar lines inward from a fill b lines wide, on both sides at once; the
 * fill's seam may blend into the first of them (one line that is not black). */
static int inner_bars(const uint8_t *Y, int w, int h, int vertical, int b)
{
    int U = vertical ? h : w;
    for (int seam = 0; seam < 2; seam++) {
        int k = seam;
        while (b + k < U / 2 - 1 && tgi_padding_black_line(Y, w, h, vertical, b + k) &&
               tgi_padding_black_line(Y, w, h, vertical, U - 1 - b - k))
            k++;
        if (k > seam)
            return k;
    }
    return 0;
}

static int fill_at(const uint8_t *Y, const uint8_t *rgb, int rgb_stride, int w, int h,
                   int vertical);

int tgi_padding_fill(const uint8_t *Y, const uint8_t *rgb, int rgb_stride, int w, int h,
                     int vertical, int *inner)
{
    int b = fill_at(Y, rgb, rgb_stride, w, h, vertical);
    *inner = b > 0 ? inner_bars(Y, w, h, vertical, b) : 0;
    return b;
}

static int fill_at(const uint8_t *Y, const uint8_t *rgb, int rgb_stride, int w, int h, int vertical)
{
    plane p = {Y, w, vertical ? h : w, vertical ? w : h, vertical, rgb, rgb_stride};
    if (p.U > MAX_LINES || p.V > MAX_LINES || p.U < 24 || p.V < 8)
        return 0;
    /* d: detail along each line; e: the edge between a line and the one before it
     * (both summed row by row, in memory order) */
    double d[MAX_LINES], e[MAX_LINES], pre[MAX_LINES + 1];
    profiles(Y, w, h, vertical, d, e);
    pre[0] = 0;
    for (int u = 0; u < p.U; u++)
        pre[u + 1] = pre[u] + d[u];
    int m0 = 5 * p.U / 12, m1 = 7 * p.U / 12;
    if ((pre[m1] - pre[m0]) / (m1 - m0) < MIN_DETAIL)
        return -1;
    /* where the fill may end: both sides' strongest edges at the same distance from
     * their edge (the seam between the fill and the picture) */
    int lo = p.U / 32 < 2 ? 2 : p.U / 32, hi = p.U / 2 - p.U / 12;
    int cand[CANDIDATES] = {0};
    double cs[CANDIDATES] = {0};
    for (int u = lo; u < hi; u++) {
        double sc = fmin(e[u], e[p.U - u]);
        /* one candidate per seam: the strongest of its neighbourhood */
        int local = 1;
        for (int j = u - 2; j <= u + 2 && local; j++)
            if (j != u && j >= lo && j < hi && fmin(e[j], e[p.U - j]) > sc)
                local = 0;
        if (!local)
            continue;
        for (int k = 0; k < CANDIDATES; k++)
            if (sc > cs[k]) {
                for (int j = CANDIDATES - 1; j > k; j--) {
                    cs[j] = cs[j - 1];
                    cand[j] = cand[j - 1];
                }
                cs[k] = sc;
                cand[k] = u;
                break;
            }
    }
    static _Thread_local uint32_t sums[(MAX_LINES + 1) * (MAX_LINES + 1)];
    integral I = {sums, 0};
    int best = 0, blind = 0;
    double best_r = MIN_CORR;
    for (int k = 0; k < CANDIDATES && cand[k]; k++) {
        int b = cand[k];
        /* the fill is blurred: its lines have less detail than the picture's */
        double fill = (pre[b] + pre[p.U] - pre[p.U - b]) / (2 * b);
        double pic = (pre[p.U - b] - pre[b]) / (p.U - 2 * b);
        if (fill > FILL_DETAIL * pic)
            continue;
        if (I.stride == 0)
            integral_make(&p, &I);
        if (solid_fill(&p, &I, b))
            return b;
        double r = fill_corr(&p, &I, b);
        if (isnan(r)) {
            blind = 1;
            continue;
        }
        if (r > best_r) {
            best_r = r;
            best = b;
        }
    }
    /* smooth sides too flat to compare with the picture (a dark fill) cannot say there
     * is no fill, whatever the other seams said */
    return best ? best : blind ? -1 : 0;
}
