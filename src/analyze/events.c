/*
 * events.c — the structure of a sample series: cuts, transitions, shots, bars.
 *
 * Passes, in order (each reads what the earlier ones set):
 *   1. empty frames: black (nothing brighter than dark grey), white, blank
 *   2. flash frames: a sample unlike both neighbours that are alike
 *   3. hard cuts: a jump far above the local level of change
 *   4. gradual transitions: a sample that is a blend of the samples either side
 *      (linear in the thumbnail) with a contrast dip, reached on a straight way (not
 *      there and back, as motion goes), or the ramp next to a dark,
 *      black or white stretch, from its first darker (brighter) frame: fades and
 *      dissolves
 *   5. shots: the stretches between cuts and transitions
 *   6. letterbox/pillarbox bars from the per-sample bar widths
 * What is a *defect* for a given video (too dark for it, blurred for its shot, a
 * title card, a repeated intro) is decided later, by select/verdict.c: these are
 * facts of the video, the same whatever is chosen.
 */
#include "analyze/events.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The thresholds. Values were tuned on the fixture videos (tests/fixtures), on
 * Debian's opencv-doc clips and on the real footage of eval/; signals are in [0,1]. */
static const struct {
    /* black: even the brightest 2 % of the frame is dark grey (a dim scene with
     * visible highlights is not black: the Sintel trailer's close-ups have hi
     * 0.25-0.5 at mean luma 0.05); white: even the darkest 2 % is near white */
    float black_hi, flat_contrast, white_lo;
    float uniform_contrast;      /* blank: almost no contrast at all */
    float dark_luma;             /* the dark end of a fade */
    float flash_luma;            /* flash: luma jump against both sides */
    double ramp_gap;             /* fade ramps: compare with the frame this far on */
    float ramp_step, ramp_total; /* ... which must differ this much, the whole ramp more */
    float cut_abs, cut_rel;      /* cut: absolute and relative-to-local jump */
    float cut_contrast;          /* ... the absolute one for pictures of at least this contrast */
    double trans_window;         /* seconds either side for blend test */
    float trans_min_diff, trans_resid, trans_dip;
    float trans_path; /* a blend's frames travel at most this many times its span */
    /* marks: strong edges (a step of more than a third of the range) on this share of
     * the analysis frame, a few pixels' worth: something is drawn there (glyphs,
     * lines). Noise and grain in a black frame never make such steps; the vim screen
     * of eval/'s screencast (four lines of text on black) has 0.0002-0.003. */
    float mark_edges;
} K = {
    .black_hi = 0.13f,
    .flat_contrast = 0.07f,
    .white_lo = 0.88f,
    .uniform_contrast = 0.035f,
    .dark_luma = 0.1f,
    .ramp_gap = 0.12,
    .ramp_step = 0.006f,
    .ramp_total = 0.06f,
    .flash_luma = 0.12f,
    .cut_abs = 0.12f,
    .cut_rel = 4.0f,
    .cut_contrast = 0.15f,
    .trans_window = 0.4,
    .trans_min_diff = 0.05f,
    .trans_resid = 0.4f,
    .trans_dip = 0.92f,
    .trans_path = 2.5f,
    .mark_edges = 1.5e-4f,
};

uint16_t tgi_empty_ground(const tgi_sample *x)
{
    if (x->hi < K.black_hi && x->contrast < K.flat_contrast)
        return TG_BAD_BLACK;
    if (x->lo > K.white_lo && x->contrast < K.flat_contrast)
        return TG_BAD_WHITE;
    if (x->contrast < K.uniform_contrast)
        return TG_BAD_UNIFORM;
    return 0;
}

int tgi_has_marks(const tgi_sample *x)
{
    return x->edges >= K.mark_edges;
}

/* Empty frames. One with marks on its empty ground (a few lines of text on black:
 * a title, or a terminal with little in it) is not empty: whether it is a card to
 * avoid or a screen to show depends on the video (select/verdict.c). */
static void pass_empty(tgi_sample *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!tgi_has_marks(&s[i]))
            s[i].ev |= tgi_empty_ground(&s[i]);
}

/* A flash of 1–2 samples: unlike both neighbours, which are alike. */
static void pass_flash(tgi_sample *s, size_t n)
{
    for (size_t len = 1; len <= 2; len++) {
        for (size_t i = 1; i + len < n; i++) {
            const tgi_sample *a = &s[i - 1], *b = &s[i + len];
            float lo = 1, hi = 0;
            for (size_t k = i; k < i + len; k++) {
                float d = fminf(fabsf(s[k].luma - a->luma), fabsf(s[k].luma - b->luma));
                lo = fminf(lo, d);
                hi = fmaxf(hi, tgi_thumb_diff(&s[k], a));
            }
            if (lo < K.flash_luma)
                continue;
            if (tgi_thumb_diff(a, b) > 0.5f * hi || fabsf(a->luma - b->luma) > 0.5f * lo)
                continue;
            for (size_t k = i - 1; k <= i + len && k < n; k++)
                s[k].ev |= TG_BAD_FLASH;
        }
    }
}

/* Cuts: returns a malloc'd array of sample indices where a new shot starts. */
static size_t pass_cuts(tgi_sample *s, size_t n, size_t **out)
{
    *out = NULL;
    if (n < 2)
        return 0;
    float *d = calloc(n, sizeof(float));
    size_t *cuts = calloc(n, sizeof(size_t));
    float win[32];
    size_t nc = 0;
    if (!d || !cuts)
        goto done;
    for (size_t i = 1; i < n; i++)
        d[i] = tgi_sample_distance(&s[i - 1], &s[i]);
    for (size_t i = 1; i < n; i++) {
        /* the absolute floor scales with the picture's contrast: two dim shots
         * differ by less in absolute terms (the Sintel trailer's cut between two
         * dim close-ups is 0.085, 17 times the local change) */
        float cmax = fmaxf(s[i].contrast, s[i - 1].contrast);
        float floor_ = K.cut_abs * fminf(1.0f, fmaxf(0.4f, cmax / K.cut_contrast));
        if (d[i] < floor_ || (s[i].ev & TG_BAD_FLASH) || (s[i - 1].ev & TG_BAD_FLASH))
            continue;
        size_t m = 0;
        for (size_t j = i > 8 ? i - 8 : 1; j < i + 9 && j < n && m < 32; j++)
            if (j != i)
                win[m++] = d[j];
        float local = tgi_median(win, m);
        if (d[i] < K.cut_rel * local)
            continue;
        /* a peak, not a shoulder of a gradual change */
        if ((i + 1 < n && d[i + 1] > d[i]) || d[i - 1] > d[i])
            continue;
        /* the two sides must differ in content, not only in brightness */
        cuts[nc++] = i;
    }
done:
    free(d);
    if (!nc) {
        free(cuts);
        cuts = NULL;
    }
    *out = cuts;
    return nc;
}

/* Is sample i a blend of a and b (fade/dissolve), with the contrast dip a mix has? */
static int is_blend(const tgi_sample *a, const tgi_sample *x, const tgi_sample *b, float path)
{
    float D = tgi_thumb_diff(a, b);
    if (D < K.trans_min_diff)
        return 0;
    double num = 0, den = 0;
    int N = TG_THUMB_W * TG_THUMB_H;
    for (int k = 0; k < N; k++) {
        double fa = a->thumb[k], fb = b->thumb[k], fx = x->thumb[k];
        num += (fx - fb) * (fa - fb);
        den += (fa - fb) * (fa - fb);
    }
    double al = den > 0 ? num / den : 0;
    if (al < 0.1 || al > 0.9)
        return 0;
    double r = 0;
    for (int k = 0; k < N; k++) {
        double p = al * a->thumb[k] + (1 - al) * b->thumb[k];
        r += fabs(x->thumb[k] - p);
    }
    r /= 255.0 * N;
    if (r > K.trans_resid * D)
        return 0;
    if (fminf(tgi_thumb_diff(x, a), tgi_thumb_diff(x, b)) < 0.2f * D)
        return 0;
    int fade = (a->ev | b->ev) & (TG_BAD_BLACK | TG_BAD_WHITE | TG_BAD_UNIFORM);
    if (!fade && x->contrast > K.trans_dip * fminf(a->contrast, b->contrast))
        return 0;
    /* a cross-fade takes each pixel once from one picture to the other: the frames
     * between travel about the straight distance D. Camera or subject motion takes
     * them there and back (measured: fades and dissolves 1.0-1.8 times D, the Sintel
     * trailer's fast pan across a sky that a blend fits, 3.4-6.1 times) */
    if (!fade && path > K.trans_path * D)
        return 0;
    return fade ? TG_BAD_FADE : TG_BAD_DISSOLVE;
}

/* the sample nearest at or after t, clamped to the last one */
static size_t index_at(const tgi_sample *s, size_t n, double t)
{
    size_t i = tgi_sample_at(s, n, t);
    return i < n ? i : n - 1;
}

static void pass_transitions(tgi_sample *s, size_t n, const size_t *cuts, size_t nc)
{
    uint8_t *kind = calloc(n, 1);
    float *hop = calloc(n + 1, sizeof(float)); /* hop[k]: sample k-1 to k */
    if (!kind || !hop) {
        free(kind);
        free(hop);
        return;
    }
    for (size_t k = 1; k < n; k++)
        hop[k] = tgi_thumb_diff(&s[k - 1], &s[k]);
    size_t c = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        size_t a = index_at(s, n, s[i].t - K.trans_window);
        size_t b = index_at(s, n, s[i].t + K.trans_window);
        if (a >= i || b <= i)
            continue;
        while (c < nc && cuts[c] <= i)
            c++;
        /* never blend across a hard cut: that is two shots, not a transition */
        int crosses = (c < nc && cuts[c] <= b) || (c > 0 && cuts[c - 1] > a);
        if (crosses)
            continue;
        /* the way the frames travel from a to b: the sum of their steps */
        float path = 0;
        for (size_t k2 = a; k2 < b; k2++)
            path += hop[k2 + 1];
        int k = is_blend(&s[a], &s[i], &s[b], path);
        if (k)
            kind[i] = (uint8_t)(k == TG_BAD_FADE ? 1 : 2);
    }
    /* a transition run, widened by the window: the ends blend too weakly to see */
    for (size_t i = 0; i < n;) {
        if (!kind[i]) {
            i++;
            continue;
        }
        size_t j = i;
        int fade = 0;
        while (j < n && kind[j]) {
            fade |= kind[j] == 1;
            j++;
        }
        size_t a = index_at(s, n, s[i].t - K.trans_window);
        size_t b = index_at(s, n, s[j - 1].t + K.trans_window);
        for (size_t k = a; k <= b; k++)
            s[k].ev |= fade ? TG_BAD_FADE : TG_BAD_DISSOLVE;
        i = j;
    }
    /* ramps next to dark, black or white stretches: walking away from the stretch,
     * the picture keeps getting brighter (darker, for white) against the frame
     * K.ramp_gap further on. The fade starts at its first darker frame, not where
     * the blend becomes obvious: a clip that ends before it never shows the dimming
     * (the Sintel trailer's desert dims for 2.3 s into the logo). A ramp must change
     * the luma by K.ramp_total in all, so a dim scene that slowly varies is no fade. */
    for (size_t i = 0; i < n; i++) {
        int white = (s[i].ev & TG_BAD_WHITE) != 0;
        if (!white && !(s[i].ev & TG_BAD_BLACK) && s[i].luma >= K.dark_luma)
            continue;
        for (int dir = -1; dir <= 1; dir += 2) {
            size_t j = i, c2 = 0;
            while (1) {
                size_t nx = j + (size_t)dir;
                if ((dir < 0 && j == 0) || nx >= n)
                    break;
                if (s[nx].ev & (TG_BAD_BLACK | TG_BAD_WHITE))
                    break;
                /* never across a cut: the sample that starts a shot ends the walk */
                while (c2 < nc && cuts[c2] < (dir > 0 ? nx : j))
                    c2++;
                if (c2 < nc && cuts[c2] == (dir > 0 ? nx : j))
                    break;
                size_t far = index_at(s, n, s[nx].t + dir * K.ramp_gap);
                if (far == nx)
                    break;
                float step = white ? s[nx].luma - s[far].luma : s[far].luma - s[nx].luma;
                if (step < K.ramp_step)
                    break;
                j = nx;
            }
            size_t a = dir < 0 ? j : i, b = dir < 0 ? i : j;
            if (a == b)
                continue;
            float total = fabsf(s[a].luma - s[b].luma);
            for (size_t k = a; k <= b && total >= K.ramp_total; k++)
                if (k != i)
                    s[k].ev |= TG_BAD_FADE;
        }
    }
    free(kind);
    free(hop);
}

static int pass_shots(tg_ctx *ctx, tgi_sample *s, size_t n, double end_t, const size_t *cuts,
                      size_t nc, tgi_events *ev)
{
    const uint16_t sep = TG_BAD_FADE | TG_BAD_DISSOLVE | TG_BAD_BLACK | TG_BAD_WHITE;
    (void)ctx;
    size_t c = 0;
    int cur = -1;
    for (size_t i = 0; i < n; i++) {
        int is_cut = c < nc && cuts[c] == i;
        if (is_cut)
            c++;
        if ((s[i].ev & sep) && !(s[i].ev & TG_BAD_FLASH)) {
            s[i].shot = -1;
            cur = -1;
            continue;
        }
        if (cur < 0 || is_cut) {
            cur = (int)ev->n_shots++;
            ev->shots[cur].start = s[i].t;
        }
        s[i].shot = (int16_t)cur;
        ev->shots[cur].end = i + 1 < n ? s[i + 1].t : end_t;
    }
    return 0;
}

/* Whether bars of a and b lines on the two sides of a side `len` lines long are padding
 * to crop, each dimension on its own. A third of the picture left is always enough (a
 * dark video keeps at least that). Padding centres what it pads: a 16:9 video padded
 * into a 9:16 frame (a phone app's or an editor's; common on short-video sites) keeps
 * 32 % of the height, a 2.35:1 film in it 24 %, so equal bars (within 2 % of the side)
 * may leave down to CENTRED_MIN: natural darkness (a night sky, a dark room) is rarely
 * the same on both sides. */
#define CENTRED_MIN 6
static int bars_plausible(int a, int b, int len)
{
    int left = len - a - b;
    if (left >= len / 3)
        return 1;
    return left >= len / CENTRED_MIN && abs(a - b) <= 1 + len / 50;
}

/* The width of a fill (padding.h) on the two sides of dimension dim (0: left
 * and right, 1: top and bottom; len lines long) that the video's frames agree on, with
 * the black bars inside it, or 0: within a line
 * of the most common width in FILL_AGREE of the content samples that could tell, and
 * in two thirds of those that saw a fill at all. A fill is there all along, but a dark
 * one is missed in some frames: Sintel's trailer padded into 16:9 with a darkened fill
 * shows it in 69 % of the frames that can tell; half padded, half full-frame clips
 * (50 %) must not lose the full frames' sides. */
#define FILL_AGREE 0.6
static int pad_fill(const tgi_sample *s, size_t n, int dim, int len)
{
    int hist[TG_ANALYSIS_SIDE + 2] = {0};
    size_t content = 0, seen = 0;
    for (size_t i = 0; i < n; i++) {
        if ((s[i].ev & (TG_BAD_BLACK | TG_BAD_UNIFORM | TG_BAD_FADE)) || s[i].pad[dim] < 0)
            continue;
        content++;
        int p = s[i].pad[dim];
        if (p > 0 && p <= TG_ANALYSIS_SIDE) {
            hist[p]++;
            seen++;
        }
    }
    int best = 0, best_n = 0;
    for (int p = 1; p <= TG_ANALYSIS_SIDE; p++) {
        int near = hist[p - 1] + hist[p] + hist[p + 1];
        if (near > best_n || (near == best_n && hist[p] > hist[best])) {
            best = p;
            best_n = near;
        }
    }
    if (getenv("TG_DEBUG_SELECT"))
        fprintf(stderr, "padding fill %d: %d lines in %d of %zu samples (%zu saw one)\n", dim, best,
                best_n, content, seen);
    if (best_n < 3 || best_n < FILL_AGREE * (double)content || (size_t)best_n * 3 < seen * 2)
        return 0;
    /* a letterboxed picture keeps its black bars inside the fill: those that stay in 90 %
     * of the frames that saw this fill (the rule of the bars at the frame's edges), while
     * a sixth of the side is left */
    int inner[TG_ANALYSIS_SIDE + 1] = {0};
    for (size_t i = 0; i < n; i++)
        if (!(s[i].ev & (TG_BAD_BLACK | TG_BAD_UNIFORM | TG_BAD_FADE)) &&
            abs(s[i].pad[dim] - best) <= 1 && s[i].pad_in[dim] >= 0)
            inner[s[i].pad_in[dim] > TG_ANALYSIS_SIDE ? TG_ANALYSIS_SIDE : s[i].pad_in[dim]]++;
    int k = 0, acc = 0;
    for (; k < TG_ANALYSIS_SIDE; k++) {
        acc += inner[k];
        if (acc * 10 > best_n)
            break;
    }
    if (k >= 2 && len - 2 * (best + k) >= len / CENTRED_MIN)
        best += k;
    return best;
}

int tgi_events_fill(const tgi_sample *s, size_t n, int aw, int ah, tg_rect *picture)
{
    int fx = pad_fill(s, n, 0, aw), fy = pad_fill(s, n, 1, ah);
    *picture = (tg_rect){fx, fy, aw - 2 * fx, ah - 2 * fy};
    return fx > 0 || fy > 0;
}

static void pass_bars(const tgi_sample *s, size_t n, int aw, int ah, tg_rect *content)
{
    *content = (tg_rect){0, 0, aw, ah};
    int16_t *v = malloc(n * sizeof(int16_t));
    if (!v)
        return;
    int bar[4];
    for (int side = 0; side < 4; side++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (!(s[i].ev & (TG_BAD_BLACK | TG_BAD_UNIFORM | TG_BAD_FADE)))
                v[m++] = s[i].bar[side];
        if (m < 3) {
            bar[side] = 0;
            continue;
        }
        /* a bar must be there in 90 % of the content samples */
        int hist[TG_ANALYSIS_SIDE + 1] = {0};
        for (size_t i = 0; i < m; i++)
            hist[v[i] > TG_ANALYSIS_SIDE ? TG_ANALYSIS_SIDE : v[i]]++;
        size_t acc = 0;
        int k = 0;
        for (; k <= TG_ANALYSIS_SIDE; k++) {
            acc += (size_t)hist[k];
            if (acc * 10 > m)
                break;
        }
        bar[side] = k >= 2 ? k : 0; /* ignore a 1-pixel border */
    }
    free(v);
    int x0 = 0, x1 = aw, y0 = 0, y1 = ah;
    if (bars_plausible(bar[2], bar[3], aw)) {
        x0 = bar[2];
        x1 = aw - bar[3];
    }
    if (bars_plausible(bar[0], bar[1], ah)) {
        y0 = bar[0];
        y1 = ah - bar[1];
    }
    /* other padding (padding.h), when most frames agree where it ends: it is not black
     * bars, but its dark parts can look like some (a darkened blur, or the enlarged copy
     * of a letterboxed picture), so a fill wider than the bars found is the padding */
    int fill = pad_fill(s, n, 0, aw);
    if (fill > 0 && fill >= x0 && fill >= aw - x1) {
        x0 = fill;
        x1 = aw - fill;
    }
    fill = pad_fill(s, n, 1, ah);
    if (fill > 0 && fill >= y0 && fill >= ah - y1) {
        y0 = fill;
        y1 = ah - fill;
    }
    *content = (tg_rect){x0, y0, x1 - x0, y1 - y0};
}

int tgi_events_detect(tg_ctx *ctx, tgi_sample *s, size_t n, double end_t, const tgi_span *spans,
                      size_t n_spans, int aw, int ah, tgi_events *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->content = (tg_rect){0, 0, aw, ah};
    if (n == 0)
        return tgi_fail(ctx, TG_ECORRUPT, "the video has no decodable frames");
    tgi_span whole = {0, end_t, 0};
    if (!spans || n_spans == 0) {
        spans = &whole;
        n_spans = 1;
    }
    ev->shots = calloc(n + 1, sizeof(tg_shot));
    ev->cuts = calloc(n + 1, sizeof(double));
    if (!ev->shots || !ev->cuts) {
        tgi_events_free(ev);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        s[i].ev = 0;
    pass_empty(s, n);
    /* neighbourhood passes never look across a span boundary (a gap in the samples) */
    for (size_t k = 0; k < n_spans; k++) {
        size_t a = spans[k].first, b = k + 1 < n_spans ? spans[k + 1].first : n;
        if (a >= b || b > n)
            continue;
        size_t len = b - a, *cuts = NULL;
        pass_flash(s + a, len);
        size_t nc = pass_cuts(s + a, len, &cuts);
        pass_transitions(s + a, len, cuts, nc);
        pass_shots(ctx, s + a, len, spans[k].end_t, cuts, nc, ev);
        for (size_t i = 0; i < nc; i++)
            ev->cuts[ev->n_cuts++] = s[a + cuts[i]].t;
        free(cuts);
    }
    pass_bars(s, n, aw, ah, &ev->content);
    return 0;
}

void tgi_events_classify(tgi_sample *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i].ev = 0;
    pass_empty(s, n);
}

void tgi_events_free(tgi_events *ev)
{
    if (!ev)
        return;
    free(ev->shots);
    free(ev->cuts);
    memset(ev, 0, sizeof(*ev));
}
