/*
 * features.c — per-sample signals from one RGB24 analysis frame (see features.h).
 * Called once per analysis sample by the pipeline; pure arithmetic, no allocation
 * beyond a fixed stack buffer (the analysis frame is at most TG_ANALYSIS_SIDE²) and
 * one static table made on first use.
 */
#include "analyze/features.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/cnn.h"
#include "analyze/padding.h"

/* The gradient orientation bin (0..7 over 0..pi) of every (gx, gy) in -255..255, made
 * once with the very expression it replaces: atan2 per edge pixel was ~1 % of a sparse
 * analysis' CPU on the 60-s benchmark (bench/RESULTS.md, "Speed at every length",
 * part 5), and a table lookup gives the same bins bit for bit. */
static uint8_t edge_bin[511][511];
static pthread_once_t edge_bin_once = PTHREAD_ONCE_INIT;

static void edge_bin_init(void)
{
    for (int gy = -255; gy <= 255; gy++)
        for (int gx = -255; gx <= 255; gx++) {
            double a = atan2((double)gy, (double)gx); /* -pi..pi, fold to 0..pi */
            if (a < 0)
                a += M_PI;
            int bin = (int)(a / M_PI * 8.0);
            edge_bin[gy + 255][gx + 255] = (uint8_t)(bin > 7 ? 7 : bin);
        }
}

const tg_opt tgi_analyze_opts[] = {
    {"analysis", TG_OPT_ENUM, offsetof(tg_options, analysis), 0, 0, 2, "auto|full|sparse",
     "full: look at every frame; sparse: keyframes first, then the most promising stretches "
     "only, without the frames no other frame refers to (fast on long videos); auto: sparse "
     "from 1 minute on"},
    {"cnn", TG_OPT_ENUM, offsetof(tg_options, cnn), TG_CNN_MOBILENET_V2, 0, TG_CNN_N_MODELS - 1,
     TG_CNN_CHOICES,
     "the network that looks at sampled frames (at most 2 per second): its embeddings pick "
     "representative, distinct moments and find repeated shots; its classes give the nsfw "
     "score (see --safe). mobilenet_v2 (default) costs 4-7 ms per sampled frame, inception_v3 "
     "~10x that; none: signal features only"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

void tgi_analysis_size(int w, int h, int *aw, int *ah)
{
    double s = (double)TG_ANALYSIS_SIDE / (w > h ? w : h);
    int a = (int)lround(w * s), b = (int)lround(h * s);
    a = a < 8 ? 8 : a + (a & 1);
    b = b < 8 ? 8 : b + (b & 1);
    *aw = a > TG_ANALYSIS_SIDE ? TG_ANALYSIS_SIDE : a;
    *ah = b > TG_ANALYSIS_SIDE ? TG_ANALYSIS_SIDE : b;
}

/* Black bar thickness on one side: rows (or columns) whose mean luma is below 0.07
 * and that are nearly flat (padding.h). Returns the count of such lines from the edge. */
static int bar_scan(const uint8_t *Y, int w, int h, int side)
{
    int vertical = side < 2, lines = vertical ? h : w;
    int n = 0;
    for (int k = 0; k < lines / 2; k++) {
        int line = (side == 0 || side == 2) ? k : lines - 1 - k;
        if (!tgi_padding_black_line(Y, w, h, vertical, line))
            break;
        n++;
    }
    return n;
}

/* Bars that frame a picture: the same thickness on both sides (within a line or two:
 * a letterbox is centred, its sides rounded apart), each at most two fifths of the
 * frame (a dark frame is "bars" up to its middle), 8 lines of picture left. Others
 * are taken as the picture's own dark edges. */
static int framing(int a, int b, int len)
{
    return a > 0 && b > 0 && abs(a - b) <= 2 + len / 50 && 5 * (a > b ? a : b) <= 2 * len &&
           len - a - b >= 8;
}

/* The picture inside its black bars, [x0, x1) x [y0, y1); the whole frame without.
 * Bars on one pair of sides only: a picture reaches the other two (a letterbox or a
 * pillarbox), where a title card's black ground surrounds its lines of text. */
static void picture_rect(const int16_t *bar, int w, int h, int *x0, int *y0, int *x1, int *y1)
{
    int v = framing(bar[0], bar[1], h) && !bar[2] && !bar[3],
        hz = framing(bar[2], bar[3], w) && !bar[0] && !bar[1];
    *y0 = v ? bar[0] : 0;
    *y1 = v ? h - bar[1] : h;
    *x0 = hz ? bar[2] : 0;
    *x1 = hz ? w - bar[3] : w;
}

void tgi_features_compute(const tgi_frame *f, const tgi_sample *prev, tgi_sample *s)
{
    enum { MAXP = TG_ANALYSIS_SIDE * TG_ANALYSIS_SIDE };
    static _Thread_local uint8_t Y[MAXP];
    int w = f->width, h = f->height, n = w * h;
    double t = s->t;
    memset(s, 0, sizeof(*s));
    s->t = t;
    s->shot = -1;
    if (n > MAXP || n <= 0)
        return;

    double lsum = 0, lsum2 = 0, rg_s = 0, rg_s2 = 0, yb_s = 0, yb_s2 = 0;
    float chist[TG_DESC_COLOR] = {0};
    for (int y = 0; y < h; y++) {
        const uint8_t *p = f->data + (size_t)y * f->stride;
        for (int x = 0; x < w; x++, p += 3) {
            int r = p[0], g = p[1], b = p[2];
            int l = (77 * r + 150 * g + 29 * b) >> 8;
            Y[y * w + x] = (uint8_t)l;
            lsum += l;
            lsum2 += (double)l * l;
            double rg = r - g, yb = 0.5 * (r + g) - b;
            rg_s += rg;
            rg_s2 += rg * rg;
            yb_s += yb;
            yb_s2 += yb * yb;
            chist[(r >> 6) * 16 + (g >> 6) * 4 + (b >> 6)] += 1.0f;
        }
    }
    for (int side = 0; side < 4; side++)
        s->bar[side] = (int16_t)bar_scan(Y, w, h, side);
    /* the luma's spread and the strong edges are the picture's, inside its black bars:
     * a letterboxed white frame is white, a blended one has the contrast dip of a
     * blend, a bar's edge is no mark. (The Laplacian and the descriptor stay the
     * frame's: a shot whose own dark edges come and go as bars would jump between two
     * measures, and a jump of the descriptor is a cut.) */
    int px0, py0, px1, py1;
    picture_rect(s->bar, w, h, &px0, &py0, &px1, &py1);
    int pw = px1 - px0, ph = py1 - py0;
    n = pw * ph;
    unsigned hist[256] = {0};
    double sum = 0, sum2 = 0;
    for (int y = py0; y < py1; y++) {
        const uint8_t *row = Y + (size_t)y * w;
        for (int x = px0; x < px1; x++) {
            int l = row[x];
            hist[l]++;
            sum += l;
            sum2 += (double)l * l;
        }
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    s->luma = (float)(lsum / (w * h) / 255.0); /* the frame's: fades and flashes dim it all */
    s->contrast = (float)(sqrt(var > 0 ? var : 0) / 255.0);
    double rgm = rg_s / (w * h), ybm = yb_s / (w * h);
    double rgsd = sqrt(fmax(0, rg_s2 / (w * h) - rgm * rgm)),
           ybsd = sqrt(fmax(0, yb_s2 / (w * h) - ybm * ybm));
    s->colorful =
        (float)((sqrt(rgsd * rgsd + ybsd * ybsd) + 0.3 * sqrt(rgm * rgm + ybm * ybm)) / 150.0);
    if (s->colorful > 1)
        s->colorful = 1;

    /* entropy over 32 bins, and the background fraction around the histogram mode */
    double ent = 0;
    unsigned h32[32] = {0};
    for (int i = 0; i < 256; i++)
        h32[i >> 3] += hist[i];
    for (int i = 0; i < 32; i++)
        if (h32[i]) {
            double p = (double)h32[i] / n;
            ent -= p * log2(p);
        }
    s->entropy = (float)(ent / 5.0);
    int mode = 0;
    for (int i = 1; i < 256; i++)
        if (hist[i] > hist[mode])
            mode = i;
    unsigned near = 0;
    for (int i = mode - 10; i <= mode + 10; i++)
        if (i >= 0 && i < 256)
            near += hist[i];
    s->bgfrac = (float)near / n;
    unsigned cum = 0, lo_at = (unsigned)n / 50, hi_at = (unsigned)n - (unsigned)n / 50;
    int lo = -1, hi = 255;
    for (int i = 0; i < 256; i++) {
        cum += hist[i];
        if (lo < 0 && cum > lo_at)
            lo = i;
        if (cum >= hi_at) {
            hi = i;
            break;
        }
    }
    s->lo = (float)(lo < 0 ? 0 : lo) / 255.0f;
    s->hi = (float)hi / 255.0f;

    /* Laplacian energy, gradient orientation histogram and strong edges */
    pthread_once(&edge_bin_once, edge_bin_init);
    double lap = 0;
    unsigned strong = 0;
    float ehist[TG_DESC_EDGE] = {0};
    for (int y = 1; y < h - 1; y++) {
        for (int x = 1; x < w - 1; x++) {
            const uint8_t *c = Y + y * w + x;
            int L = 4 * c[0] - c[-1] - c[1] - c[-w] - c[w];
            lap += (double)L * L;
            int gx = c[1] - c[-1], gy = c[w] - c[-w];
            int mag = abs(gx) + abs(gy);
            if (mag > 24)
                ehist[(y >= h / 2) * 8 + edge_bin[gy + 255][gx + 255]] += (float)mag;
            /* strong edges: the picture's (a bar's edge is no mark of anything) */
            if (mag > 96 && y > py0 && y < py1 - 1 && x > px0 && x < px1 - 1)
                strong++;
        }
    }
    double inner = (double)(w - 2) * (h - 2);
    double lapm = sqrt(lap / inner) / 255.0;
    /* normalised by contrast so a dim but sharp frame is not "blurred" (the frame's, as
     * the Laplacian is) */
    double fmean = lsum / (w * h), fcon = sqrt(fmax(0, lsum2 / (w * h) - fmean * fmean)) / 255.0;
    s->sharp = (float)(fcon > 0.01 ? lapm / (fcon + 0.05) : 0);
    s->edges = (float)(strong / ((double)(pw - 2) * (ph - 2)));

    float csum = 0, esum = 0;
    for (int i = 0; i < TG_DESC_COLOR; i++)
        csum += chist[i];
    for (int i = 0; i < TG_DESC_EDGE; i++)
        esum += ehist[i];
    for (int i = 0; i < TG_DESC_COLOR; i++)
        s->desc[i] = csum > 0 ? chist[i] / csum : 0;
    for (int i = 0; i < TG_DESC_EDGE; i++)
        s->desc[TG_DESC_COLOR + i] = esum > 0 ? ehist[i] / esum : 0;

    /* luma thumbnail by box averaging */
    for (int ty = 0; ty < TG_THUMB_H; ty++) {
        int y0 = ty * h / TG_THUMB_H, y1 = (ty + 1) * h / TG_THUMB_H;
        for (int tx = 0; tx < TG_THUMB_W; tx++) {
            int x0 = tx * w / TG_THUMB_W, x1 = (tx + 1) * w / TG_THUMB_W;
            unsigned acc = 0, cnt = 0;
            for (int y = y0; y < y1; y++)
                for (int x = x0; x < x1; x++, cnt++)
                    acc += Y[y * w + x];
            s->thumb[ty * TG_THUMB_W + tx] = (uint8_t)(cnt ? acc / cnt : 0);
        }
    }
    s->motion = prev ? tgi_thumb_diff(prev, s) : 0;
    for (int dim = 0; dim < 2; dim++) {
        int bars_in;
        s->pad[dim] = (int16_t)tgi_padding_fill(Y, f->data, f->stride, w, h, dim, &bars_in);
        s->pad_in[dim] = (int16_t)bars_in;
    }
}

float tgi_desc_distance(const tgi_sample *a, const tgi_sample *b)
{
    float dc = 0, de = 0;
    for (int i = 0; i < TG_DESC_COLOR; i++)
        dc += fabsf(a->desc[i] - b->desc[i]);
    for (int i = TG_DESC_COLOR; i < TG_DESC_N; i++)
        de += fabsf(a->desc[i] - b->desc[i]);
    return 0.35f * dc + 0.15f * de; /* each L1 is in [0,2] */
}

float tgi_thumb_diff(const tgi_sample *a, const tgi_sample *b)
{
    unsigned acc = 0;
    for (int i = 0; i < TG_THUMB_W * TG_THUMB_H; i++)
        acc += (unsigned)abs(a->thumb[i] - b->thumb[i]);
    return (float)acc / (255.0f * TG_THUMB_W * TG_THUMB_H);
}

float tgi_sample_distance(const tgi_sample *a, const tgi_sample *b)
{
    return 0.5f * tgi_desc_distance(a, b) + tgi_thumb_diff(a, b);
}

size_t tgi_sample_at(const tgi_sample *s, size_t n, double t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s[mid].t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

float tgi_median(float *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(float), cmp_float);
    return v[n / 2];
}

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

float tgi_signal_quality(const tgi_sample *x, float med_sharp)
{
    float sharp = clamp01(x->sharp / (1.25f * med_sharp + 1e-6f));
    float expo = clamp01(1.0f - fabsf(x->luma - 0.47f) * 2.2f);
    float contr = clamp01(x->contrast / 0.22f);
    float colour = clamp01(x->colorful / 0.45f);
    float ent = clamp01(x->entropy);
    float m_ = x->motion;
    /* a still camera is no defect (a webcam, a talking head): only fast, smeared
     * motion loses much */
    float motion = m_ < 0.004f ? 0.85f : m_ < 0.04f ? 1.0f : clamp01(1.0f - (m_ - 0.04f) * 8);
    return 0.30f * sharp + 0.18f * expo + 0.14f * contr + 0.14f * colour + 0.1f * ent +
           0.14f * motion;
}
