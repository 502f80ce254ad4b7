/*
 * select.c — choosing (see select.h).
 *
 *   analysis ──► verdicts per sample: defects for this video, quality (verdict.c)
 *            ──► content groups: CNN clusters (or alike shots without a CNN) and
 *                the share of the video's time each covers, time with a face or
 *                with people and animals (subjects.h) counting more
 *            ──► clean runs: same shot, no flag, shrunk by the guard distance (a
 *                frame or two at a hard cut)
 *            ──► candidate windows (several per run, for each clip length tried)
 *            ──► greedy pick: each next pick goes where the video's time is least
 *                served (a group's share / (2 picks + 1), Sainte-Laguë; for a shot
 *                not yet shown at least its own share, however many groups its
 *                moments fall into) times the adjusted score; distinct shots and
 *                content before repeats
 *            ──► segments in time order; keyframes by the same rules; poster
 */
#include "select/select.h"

#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "select/subjects.h"
#include "select/verdict.h"

const tg_opt tgi_select_opts[] = {
    {"clips", TG_OPT_INT, offsetof(tg_options, clips), 3, 1, 20, NULL,
     "number of clips in the animated thumbnail"},
    {"clip-len", TG_OPT_DOUBLE, offsetof(tg_options, clip_len), 1.2, 0.3, 10, NULL,
     "length of each clip, seconds"},
    {"keyframes", TG_OPT_INT, offsetof(tg_options, keyframes), 6, 1, 50, NULL,
     "number of ranked stills in the plan"},
    {"style", TG_OPT_ENUM, offsetof(tg_options, style), 0, 0, 1, "clips|slideshow",
     "clips: short moving clips; slideshow: the ranked stills in time order"},
    {"safe", TG_OPT_ENUM, offsetof(tg_options, safe), 1, 0, 2, "off|soft|strict",
     "use of the CNN's nsfw score: soft (default) avoids a flagged moment when one of "
     "similar quality exists, the more the higher its score (the classifier also flags some "
     "ordinary close-ups); strict "
     "never shows a flagged moment; off ignores the score"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

#define GUARD      0.25  /* seconds kept clear of cuts, transitions and defects */
#define KEY_GUARD  0.2   /* the same for stills */
#define SPAN_GUARD 0.5   /* after the start of a sparse stretch (a transition may end there) */
#define SIMILAR    0.12f /* content distance under which two picks look alike */
/* Under this distance two picks show the same thing (the same photo or set-up seen
 * again): measured 0.09-0.26 inside one panning shot, 0.34 and more across cuts. */
#define ALIKE 0.25f
/* Clips of one shot: at least CLIP_GAP clip lengths apart (different moments), in
 * slots of SLOT_LEN clip lengths (a 5-s shot holds three 1.2-s clips). */
#define CLIP_GAP 0.2
/* Time in which a face is seen weighs this much more in a group's share. */
#define FACE_WEIGHT 2.0
#define SLOT_LEN    1.3
/* ...and when the asked clips do not fit so, packed TIGHT_GAP clip lengths apart
 * before any is shortened (a 5-s shot holds four 1.2-s clips). */
#define TIGHT_GAP 0.04

typedef struct run {
    size_t a, b;   /* samples [a, b) */
    double t0, t1; /* usable time range (guard applied) */
    int shot;
} run;

typedef struct cand {
    double start, end, score;
    int shot;
    size_t mid; /* sample at the middle, for similarity */
    int used;
    int group;   /* content group of the middle sample, -1 when none */
    float nsfw;  /* highest nsfw score inside */
    int cluster; /* CNN content cluster of the middle sample, -1 when unknown */
} cand;

/* What every choice needs to know besides the candidates. */
typedef struct sel {
    const tgi_sample *s;
    const tgi_verdict *v;
    size_t n;
    const tg_shot *shots;
    size_t n_shots;
    const tgi_clusters *cl; /* NULL without a CNN */
    const tgi_span *spans;  /* the analysis's stretches */
    size_t n_spans;
    int *group;         /* content group of each sample, -1 when none */
    float *typ;         /* how typical each sample is of its group, 0.3..1 */
    double *share;      /* share of the video's clean time of each group */
    double *shot_share; /* ... and of each shot, counted alike (NULL without a CNN) */
    double *part;       /* share of group g's time in shot k: part[k * n_groups + g] */
    double *shot_top;   /* the biggest part of each shot */
    double *subj;       /* subject fraction of each group (select/subjects.h), NULL: unknown */
    double subj_video;  /* ... and of the video */
    int n_groups;
    int safe; /* enum tg_safe */
} sel;

/* A hard cut between adjacent samples p and q (q = p + 1): both clean, of two
 * shots, inside one decoded stretch. Such a cut is known to the sample: a clip need
 * not keep a transition's guard from it, only CUT_FRAMES sample steps (at least
 * CUT_MIN seconds), so that a 1.5-s shot between two cuts still holds a 1.2-s clip. */
#define CUT_FRAMES 2.0
#define CUT_MIN    0.1
static int hard_cut(const sel *x, size_t p, size_t q)
{
    /* not across a gap between two decoded stretches: what lies between is unknown */
    for (size_t k = 0; k < x->n_spans; k++)
        if (x->spans[k].first == q)
            return 0;
    return !x->v[p].bad && !x->v[q].bad && x->s[p].shot >= 0 && x->s[q].shot >= 0 &&
           x->s[p].shot != x->s[q].shot;
}

static double cut_guard(const sel *x, size_t p, size_t q)
{
    return fmax(CUT_MIN, CUT_FRAMES * (x->s[q].t - x->s[p].t));
}

/* Clean runs: consecutive samples of one shot with no flag, minus a guard. A run
 * never extends past its shot's end (sparse analysis leaves gaps between shots). */
static size_t find_runs(const sel *x, double end_t, double guard, run *out)
{
    const tgi_sample *s = x->s;
    const tgi_verdict *v = x->v;
    const tg_shot *shots = x->shots;
    size_t n = x->n, nr = 0, sp = 0;
    for (size_t i = 0; i < n;) {
        if (v[i].bad || s[i].shot < 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !v[j].bad && s[j].shot == s[i].shot)
            j++;
        double t0 = s[i].t, t1 = fmin(j < n ? s[j].t : end_t, shots[s[i].shot].end);
        /* no guard at the very start or end of the video: nothing to keep away from;
         * a wider one where a sparse stretch starts: what came before is unknown (the
         * tail of a dissolve looks clean without its start) */
        while (sp < x->n_spans && x->spans[sp].first < i)
            sp++;
        int span_start = i > 0 && sp < x->n_spans && x->spans[sp].first == i;
        double g0 = i == 0                  ? 0
                    : span_start            ? fmax(guard, SPAN_GUARD)
                    : hard_cut(x, i - 1, i) ? cut_guard(x, i - 1, i)
                                            : guard;
        double g1 = j == n ? 0 : hard_cut(x, j - 1, j) ? cut_guard(x, j - 1, j) : guard;
        if (t1 - t0 - g0 - g1 > 0)
            out[nr++] = (run){i, j, t0 + g0, t1 - g1, s[i].shot};
        i = j;
    }
    return nr;
}

static double window_score(const tgi_sample *s, const tgi_verdict *v, size_t n, double a, double b,
                           size_t *mid, float *nsfw)
{
    size_t i = tgi_sample_at(s, n, a), j = tgi_sample_at(s, n, b);
    if (j <= i)
        j = i + 1 <= n ? i + 1 : n;
    double q = 0, lo = 1;
    float worst = 0;
    for (size_t k = i; k < j && k < n; k++) {
        q += v[k].quality;
        lo = fmin(lo, v[k].quality);
        worst = fmaxf(worst, v[k].nsfw);
    }
    if (nsfw)
        *nsfw = worst;
    *mid = (i + j) / 2 < n ? (i + j) / 2 : n - 1;
    size_t cnt = j > i ? j - i : 1;
    return 0.8 * q / cnt + 0.2 * lo; /* a clip is as good as its mean, and its worst frame */
}

/* Candidate windows of length len in each run: the best position, and in long
 * runs further positions at least 2 lengths apart. */
static size_t make_cands(const sel *x, const run *runs, size_t nr, double len, double slot_len,
                         cand *out, size_t cap)
{
    const tgi_sample *s = x->s;
    size_t n = x->n;
    size_t nc = 0;
    for (size_t r = 0; r < nr && nc < cap; r++) {
        double span = runs[r].t1 - runs[r].t0;
        if (span < len)
            continue;
        /* a long shot offers several moments: slots of SLOT_LEN clip lengths, each
         * window inside its slot with half the gap at both ends, so that windows of
         * different slots never overlap and are at least a gap apart */
        int slots = (int)fmin(8, fmax(1, floor(span / (slot_len * len))));
        double part = span / slots, gap = slots > 1 ? 0.5 * (part - len) : 0;
        for (int k = 0; k < slots && nc < cap; k++) {
            double lo = runs[r].t0 + k * part + gap, hi = lo + part - 2 * gap - len;
            if (hi < lo)
                hi = lo;
            cand best = {.score = -1};
            for (double a = lo; a <= hi + 1e-9; a += 0.1) {
                size_t mid;
                float nsfw;
                double sc = window_score(s, x->v, n, a, a + len, &mid, &nsfw);
                if (sc > best.score)
                    best = (cand){a, a + len,       sc,   runs[r].shot,     mid,
                                  0, x->group[mid], nsfw, x->v[mid].cluster};
            }
            if (best.score >= 0)
                out[nc++] = best;
        }
    }
    return nc;
}

/* With --safe soft a moment the classifier flags loses up to SOFT_COST, so it is
 * passed over when an alternative of similar quality exists. The loss grows with the
 * score from SOFT_FROM to SOFT_FULL, through the flag line (TG_NSFW_FLAG) in the
 * middle, rather than jumping there: the score is noisy on ordinary footage (sintel's
 * trailer: porn 0.5-0.9 on close-ups; a YouTube-like re-encode of it moves 9 of its 105
 * looks across 0.5, mean change 0.05), and a jump turned that noise into different
 * picks — the re-encoded sintel lost its dragon for an empty desert (scene coverage 0.81
 * against 1.00), and the eval's tree kept its hand over the lens out of the clips only
 * because the classifier happened to score the hand 0.62 (bench/RESULTS.md, "The same
 * video re-encoded"). A score at 0.9 loses the whole 25 % as before. */
#define SOFT_FROM 0.3
#define SOFT_FULL 0.7
#define SOFT_COST 0.25
double tgi_select_soft_weight(float nsfw)
{
    return 1 - SOFT_COST * fmin(1.0, fmax(0.0, (nsfw - SOFT_FROM) / (SOFT_FULL - SOFT_FROM)));
}

static double cnn_factor(const sel *x, int group, float nsfw)
{
    double f = 1;
    /* in a video mostly about its characters, a group without them is worth less:
     * by the video's subject fraction times the group's shortfall (subjects.h) */
    if (x->subj && group >= 0 && group < x->n_groups)
        f *= 1 - x->subj_video * (1 - x->subj[group]);
    if (x->safe == TG_SAFE_SOFT)
        f *= tgi_select_soft_weight(nsfw);
    return f;
}

/* How much the video still wants a pick from group g that has `picks` already:
 * its share of the video's time divided by 2 picks + 1 (Sainte-Laguë; 1.4 for the
 * first, see seat_divisor). A group
 * that is most of the video gets most of the picks; a brief intrusion or an intro
 * gets one only after the main content is served, and a group twice another's size
 * does not take two picks before the other has one. Samples in no group count as
 * a small group. */
/* Seats by the modified Sainte-Laguë method (Sweden's and Norway's): divisors 1.4,
 * 3, 5, ... A group's first pick needs 1.4 times the share that a proportional
 * first seat would: a brief intrusion inside the main content (tree.avi's hand over
 * the lens, 8 % of the video) gets none of 8 stills where plain Sainte-Laguë gave it
 * the 7th, while a real scene of a few percent still gets its first pick once the
 * big ones are served. */
#define FIRST_SEAT 1.4
static double seat_divisor(size_t picks)
{
    return picks == 0 ? FIRST_SEAT : (double)(2 * picks + 1);
}

static double want_of(const sel *x, int g, size_t picks)
{
    double share = g >= 0 && g < x->n_groups ? x->share[g] : 0.02;
    return share / seat_divisor(picks);
}

/* ... and from a shot with no pick yet: at least the shot's own first seat, for its
 * biggest part (the group with most of the shot's time), the other parts in
 * proportion. A pick shows its shot, and a shot is as big as its time, however many
 * CNN clusters its moments fall into: a pan across a city or a dragon landing on a
 * cliff splits one shot into two or three small clusters, each of which alone was
 * worth less than one big cluster of an empty landscape. Inside one shot the parts
 * keep their order (a video of one shot picks as before); the later picks of a shot
 * go by the groups' shares. */
static double part_of(const sel *x, int shot, int g)
{
    if (!x->shot_share || shot < 0 || (size_t)shot >= x->n_shots || g < 0 || g >= x->n_groups ||
        x->shot_top[shot] <= 0)
        return 0;
    return x->part[(size_t)shot * (size_t)x->n_groups + (size_t)g] / x->shot_top[shot];
}

/* part: the candidate's part of its shot against the shot's biggest part, 0..1 */
static double want_new_shot(const sel *x, int g, size_t picks, int shot, double part)
{
    double w = want_of(x, g, picks);
    if (part > 0)
        w = fmax(w, x->shot_share[shot] / FIRST_SEAT * part);
    return w;
}

/* A clip shows every moment it spans: its part of the shot is the biggest part
 * among its samples' groups (a 1.2-s clip of a 1.5-s shot shows most of it). */
static double window_part(const sel *x, const cand *c)
{
    double best = 0;
    for (size_t i = tgi_sample_at(x->s, x->n, c->start); i < x->n && x->s[i].t < c->end; i++)
        best = fmax(best, part_of(x, c->shot, x->group[i]));
    return best;
}

/* How much a pick is worth next to those already made: similar content is worth
 * less (never below half), and a longer shot is a bigger part of the video. */
static double adjusted(const sel *x, const cand *c, const cand *all, const size_t *pick, size_t np)
{
    float near = 1;
    for (size_t k = 0; k < np; k++)
        near = fminf(near, tgi_sample_distance(&x->s[all[pick[k]].mid], &x->s[c->mid]));
    /* an atypical moment is no real variety (see typicality) */
    near *= x->typ[c->mid];
    double sc = c->score * (0.5 + 0.5 * fmin(1.0, near / SIMILAR));
    if (c->shot >= 0 && (size_t)c->shot < x->n_shots) {
        double sl = x->shots[c->shot].end - x->shots[c->shot].start;
        sc *= 0.9 + 0.1 * fmin(1.0, sl / 6.0);
    }
    return sc * cnn_factor(x, c->group, c->nsfw) * x->typ[c->mid];
}

/* Greedy choice of up to want candidates; returns the count, indices in pick[].
 * Each pick: the candidate whose group the video wants most (want_of) times its
 * adjusted score, a second clip of a shot already used or of a scene that looks
 * like a pick being worth less; two clips of one shot never closer than one clip
 * length apart (CLIP_GAP), so that several clips of one long shot show different
 * moments. */
static size_t pick_greedy(const sel *x, cand *c, size_t nc, size_t want, double clip_gap,
                          size_t *pick)
{
    const tgi_sample *s = x->s;
    size_t np = 0;
    size_t *gp = calloc((size_t)x->n_groups + 1, sizeof(size_t));
    if (!gp)
        return 0;
    while (np < want) {
        double best = -1;
        size_t bi = 0;
        for (size_t i = 0; i < nc; i++) {
            if (c[i].used)
                continue;
            int same_shot = 0, alike = 0, overlap = 0;
            for (size_t k = 0; k < np; k++) {
                const cand *p = &c[pick[k]];
                alike |= tgi_sample_distance(&s[p->mid], &s[c[i].mid]) < ALIKE;
                if (p->shot != c[i].shot)
                    continue;
                same_shot = 1;
                overlap |= c[i].start < p->end + clip_gap * (p->end - p->start) &&
                           p->start < c[i].end + clip_gap * (c[i].end - c[i].start);
            }
            if (overlap)
                continue;
            int g = c[i].group;
            size_t gpk = g >= 0 && g < x->n_groups ? gp[g] : 0;
            double sc = adjusted(x, &c[i], c, pick, np) *
                        (same_shot ? want_of(x, g, gpk)
                                   : want_new_shot(x, g, gpk, c[i].shot, window_part(x, &c[i]))) *
                        (same_shot ? 0.7 : 1.0) * (alike ? 0.8 : 1.0);
            if (sc <= best)
                continue;
            best = sc;
            bi = i;
        }
        if (best < 0)
            break;
        c[bi].used = 1;
        pick[np++] = bi;
        if (getenv("TG_DEBUG_SELECT"))
            fprintf(stderr, "pick %.2f-%.2f group %d shot %d: %.4f\n", c[bi].start, c[bi].end,
                    c[bi].group, c[bi].shot, best);
        if (c[bi].group >= 0 && c[bi].group < x->n_groups)
            gp[c[bi].group]++;
    }
    free(gp);
    return np;
}

static int cmp_seg(const void *a, const void *b)
{
    double x = ((const tg_segment *)a)->start, y = ((const tg_segment *)b)->start;
    return (x > y) - (x < y);
}

static int choose_segments(tg_ctx *ctx, const sel *x, double end_t, const tg_options *o,
                           tg_plan *plan)
{
    const tgi_sample *s = x->s;
    size_t n = x->n;
    int rc = 0;
    run *runs = malloc((n + 1) * sizeof(run));
    size_t cap = 8 * (n + 1);
    cand *c = malloc(cap * sizeof(cand));
    size_t *pick = malloc(((size_t)o->clips + 1) * sizeof(size_t));
    if (!runs || !c || !pick) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    size_t nr = find_runs(x, end_t, GUARD, runs);
    size_t want = (size_t)o->clips, np = 0, nc = 0;
    double len = o->clip_len;
    /* shorter clips rather than bad ones, and rather than fewer: the asked length
     * with clips of one shot well apart, then packed closer (still different
     * moments, never overlapping), then shorter and packed closer; the first try
     * that gives every asked clip, else the one that gives the most */
    static const struct {
        double len, slot, gap;
    } tries[] = {{1.0, SLOT_LEN, CLIP_GAP},
                 {1.0, 1.0 + TIGHT_GAP, TIGHT_GAP},
                 {0.75, 1.0 + TIGHT_GAP, TIGHT_GAP},
                 {0.5, 1.0 + TIGHT_GAP, TIGHT_GAP},
                 {0.35, 1.0 + TIGHT_GAP, TIGHT_GAP}};
    size_t n_tries = sizeof(tries) / sizeof(tries[0]), f_best = 0, np_best = 0;
    for (size_t f = 0; f <= n_tries; f++) {
        size_t k = f < n_tries ? f : f_best; /* the last round redoes the best try */
        len = fmax(0.3, o->clip_len * tries[k].len);
        nc = make_cands(x, runs, nr, len, tries[k].slot, c, cap);
        if (getenv("TG_DEBUG_SELECT"))
            for (size_t i = 0; i < nc; i++)
                fprintf(stderr,
                        "cand %.2f-%.2f shot %d group %d score %.3f typ %.2f nsfw %.2f "
                        "adj %.4f want %.4f\n",
                        c[i].start, c[i].end, c[i].shot, c[i].group, c[i].score, x->typ[c[i].mid],
                        c[i].nsfw, adjusted(x, &c[i], c, NULL, 0), want_of(x, c[i].group, 0));
        np = pick_greedy(x, c, nc, want, tries[k].gap, pick);
        if (getenv("TG_DEBUG_SELECT"))
            fprintf(stderr, "len %.2f slot %.2f: %zu runs, %zu candidates, %zu picked\n", len,
                    tries[k].slot, nr, nc, np);
        if (np >= want || f == n_tries)
            break;
        if (np > np_best) {
            np_best = np;
            f_best = f;
        }
    }
    if (np > 0 && len < o->clip_len - 1e-9)
        tgi_plan_add_warning(plan,
                             "clips shortened to %.2f s: the clean footage does not hold %zu "
                             "clips of %.2f s",
                             len, want, o->clip_len);
    if (np > 0 && np < want)
        tgi_plan_add_warning(plan, "only %zu clean, distinct clip%s found (asked for %zu)", np,
                             np == 1 ? "" : "s", want);
    for (size_t k = 0; k < np; k++) {
        const cand *p = &c[pick[k]];
        if ((rc = tgi_plan_add_segment(
                 plan, (tg_segment){p->start, p->end, p->score, p->shot, p->cluster})))
            goto done;
    }
    if (np == 0) {
        /* nothing clean: the best available moment, whatever its defects */
        len = fmin(o->clip_len, end_t);
        double best = -1, bt = 0;
        size_t mid;
        float nsfw;
        for (size_t i = 0; i < n && s[i].t + len <= end_t + 1e-9; i++) {
            double a = s[i].t, sc = window_score(s, x->v, n, a, a + len, &mid, &nsfw);
            if (x->safe == TG_SAFE_STRICT && nsfw >= TG_NSFW_FLAG)
                continue; /* never, even as a last resort */
            if (sc > best) {
                best = sc;
                bt = a;
            }
        }
        if (best < 0) {
            rc = tgi_fail(ctx, TG_EREFUSED,
                          "every moment of the video is flagged by the nsfw classifier "
                          "(--safe strict); nothing can be shown");
            goto done;
        }
        size_t i = tgi_sample_at(s, n, bt + len / 2);
        int shot = i < n ? s[i].shot : -1, cluster = i < n ? x->v[i].cluster : -1;
        if ((rc = tgi_plan_add_segment(plan,
                                       (tg_segment){bt, bt + len, fmax(0, best), shot, cluster})))
            goto done;
        tgi_plan_add_warning(plan,
                             "no clean material was found (black, blank, blurred, text or "
                             "transitions throughout); the clip shows the best available moment");
    }
    qsort(plan->segments, plan->n_segments, sizeof(tg_segment), cmp_seg);
done:
    free(runs);
    free(c);
    free(pick);
    return rc < 0 ? tgi_fail_keep(ctx, rc, "cannot add segments to the plan") : 0;
}

/* Does shot `shot` show a face, and a checked still with open eyes? */
static int shot_has_open_eyes(const sel *x, int shot)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->s[i].shot == shot && !x->v[i].bad && x->v[i].checked && x->v[i].eyes >= 0 &&
            !x->v[i].shut)
            return 1;
    return 0;
}

static int choose_keyframes(tg_ctx *ctx, const sel *x, double end_t, const tg_options *o,
                            tg_plan *plan)
{
    const tgi_sample *s = x->s;
    const tgi_verdict *v = x->v;
    size_t n = x->n;
    run *runs = malloc((n + 1) * sizeof(run));
    uint8_t *taken = calloc(n + 1, 1);
    size_t *gp = calloc((size_t)x->n_groups + 1, sizeof(size_t));
    int8_t *open = malloc(x->n_shots + 1);
    int rc = 0;
    if (!runs || !taken || !gp || !open) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    double top = 0;
    for (int g = 0; g < x->n_groups; g++)
        top = fmax(top, x->share[g]);
    for (size_t k = 0; k < x->n_shots; k++)
        open[k] = -1; /* not yet known */
    size_t nr = find_runs(x, end_t, KEY_GUARD, runs);
    size_t want = (size_t)o->keyframes;
    /* each pick: among the shots with the fewest stills so far, the best still,
     * weighed by how much the video still wants its
     * group (share / (2 picks + 1): stills spread wider than clips), its shot's
     * picks so far and its likeness to the picks */
    while (plan->n_keyframes < want) {
        double best = -1;
        size_t bi = 0, best_class = SIZE_MAX;
        for (size_t r = 0; r < nr; r++) {
            size_t per_shot = 0;
            for (size_t k = 0; k < plan->n_keyframes; k++)
                per_shot += plan->keyframes[k].shot == runs[r].shot;
            for (size_t i = tgi_sample_at(s, n, runs[r].t0); i < runs[r].b && s[i].t <= runs[r].t1;
                 i++) {
                if (taken[i])
                    continue;
                /* never a closed-eyed face when its shot has open-eyed moments; in a
                 * shot with faces, only stills whose eyes were looked at */
                if (s[i].shot >= 0) {
                    int8_t *op = &open[s[i].shot];
                    if (*op < 0)
                        *op = (int8_t)shot_has_open_eyes(x, s[i].shot);
                    if (*op && (v[i].shut || !v[i].checked))
                        continue;
                }
                float near = 1;
                int clash = 0;
                for (size_t k = 0; k < plan->n_keyframes; k++) {
                    size_t j = tgi_sample_at(s, n, plan->keyframes[k].t);
                    j = j < n ? j : n - 1;
                    clash |= fabs(s[j].t - s[i].t) < 1.0;
                    near = fminf(near, tgi_sample_distance(&s[i], &s[j]));
                }
                if (clash)
                    continue;
                near *= x->typ[i] * x->typ[i]; /* atypical is no real variety */
                int g = x->group[i];
                size_t picks = g >= 0 && g < x->n_groups ? gp[g] : 0;
                double wt = per_shot
                                ? want_of(x, g, picks)
                                : want_new_shot(x, g, picks, s[i].shot, part_of(x, s[i].shot, g));
                double sc = v[i].quality * (0.5 + 0.5 * fmin(1.0, near / SIMILAR)) *
                            cnn_factor(x, g, v[i].nsfw) * x->typ[i] * x->typ[i] *
                            (top > 0 ? wt / top : 1.0) * pow(0.6, (double)per_shot) *
                            (near < ALIKE ? 0.8 : 1.0);
                /* every shot once before any twice; then the score */
                if (per_shot > best_class || (per_shot == best_class && sc <= best))
                    continue;
                best_class = per_shot;
                best = sc;
                bi = i;
            }
        }
        if (best < 0)
            break;
        taken[bi] = 1;
        if (x->group[bi] >= 0 && x->group[bi] < x->n_groups)
            gp[x->group[bi]]++;
        if ((rc = tgi_plan_add_keyframe(plan,
                                        (tg_keyframe){s[bi].t, best, s[bi].shot, v[bi].cluster})))
            goto done;
    }
    if (plan->n_keyframes == 0 && n > 0) {
        size_t bi = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
            if (!(x->safe == TG_SAFE_STRICT && v[i].nsfw >= TG_NSFW_FLAG) &&
                (bi == SIZE_MAX || v[i].quality > v[bi].quality))
                bi = i;
        if (bi == SIZE_MAX) {
            rc = tgi_fail(ctx, TG_EREFUSED,
                          "every frame of the video is flagged by the nsfw classifier "
                          "(--safe strict); no still can be shown");
            goto done;
        }
        if ((rc = tgi_plan_add_keyframe(
                 plan, (tg_keyframe){s[bi].t, v[bi].quality, s[bi].shot, v[bi].cluster})))
            goto done;
        tgi_plan_add_warning(plan, "no clean still was found; the poster is the best available "
                                   "frame");
    }
    plan->poster_t = plan->keyframes[0].t;
done:
    free(runs);
    free(taken);
    free(gp);
    free(open);
    return rc < 0 ? tgi_fail_keep(ctx, rc, "cannot add keyframes to the plan") : 0;
}

/* The CNN's frames in the plan, in time order: nsfw score and cluster. */
static int plan_cnn(tg_plan *p, const tg_analysis_data *a, const tgi_clusters *cl)
{
    size_t n = a->n_items;
    p->n_clusters = cl->n;
    p->cnn_samples = malloc((n + 1) * sizeof(*p->cnn_samples));
    if (!p->cnn_samples)
        return TG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        p->cnn_samples[i] =
            (tg_cnn_sample){a->items[i].t, a->items[i].nsfw, cl->item ? cl->item[i] : -1};
    p->n_cnn_samples = n;
    return 0;
}

/* For tuning: TG_DEBUG_SAMPLES=FILE writes every sample's signals and verdicts as
 * CSV (`thumbgen analyze` gives the signals as JSON; this adds select's view). */
static void dump_samples(const tg_analysis_data *a, const tgi_verdict *v, const char *path)
{
    FILE *f = path && *path ? fopen(path, "w") : NULL;
    if (!f)
        return;
    const tgi_sample *s = a->s;
    fprintf(f, "t,luma,lo,hi,contrast,sharp,entropy,colorful,motion,bgfrac,edges,cut,bad,shot,"
               "quality,nsfw,cluster,eyes\n");
    for (size_t i = 0; i < a->n; i++)
        fprintf(f,
                "%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%.3f,%.4f,%.3f,%#x,%d,%.3f,%.3f,%d,"
                "%.3f\n",
                s[i].t, s[i].luma, s[i].lo, s[i].hi, s[i].contrast, s[i].sharp, s[i].entropy,
                s[i].colorful, s[i].motion, s[i].bgfrac, s[i].edges,
                i ? tgi_sample_distance(&s[i - 1], &s[i]) : 0.0, (unsigned)v[i].bad, s[i].shot,
                v[i].quality, v[i].nsfw, v[i].cluster, v[i].eyes);
    fclose(f);
}

/* Content groups and their share of the video's time. With a CNN: its clusters,
 * each CNN frame standing for the time until the next one (at most 10 s: sparse
 * analysis sees keyframes far apart). Without: shots, alike shots joined (their
 * middle clean samples closer than ALIKE), each sample standing for its duration. */
static int build_groups(sel *x, const tg_analysis_data *a)
{
    const tgi_sample *s = x->s;
    size_t n = x->n;
    x->group = malloc((n + 1) * sizeof(int));
    if (!x->group)
        return TG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        x->group[i] = -1;
    if (x->cl) {
        x->n_groups = x->cl->n;
        x->share = calloc((size_t)x->n_groups + 1, sizeof(double));
        x->shot_share = calloc(x->n_shots + 1, sizeof(double));
        x->shot_top = calloc(x->n_shots + 1, sizeof(double));
        x->part = calloc((x->n_shots + 1) * ((size_t)x->n_groups + 1), sizeof(double));
        double *item_cover = calloc(a->n_items + 1, sizeof(double));
        if (!x->share || !x->shot_share || !x->shot_top || !x->part || !item_cover) {
            free(item_cover);
            return TG_ENOMEM;
        }
        double total = 0;
        for (size_t k = 0; k < a->n_items; k++) {
            double next = k + 1 < a->n_items ? a->items[k + 1].t : a->duration;
            double cover = fmin(10.0, fmax(0.0, next - a->items[k].t));
            /* people are what most videos are about: time with a face counts twice */
            size_t i = tgi_sample_at(s, n, a->items[k].t - 1e-6);
            if (i < n && x->v[i].face != 0)
                cover *= FACE_WEIGHT;
            int c = x->cl->item[k];
            if (c < 0 || c >= x->n_groups)
                continue;
            x->share[c] += cover;
            item_cover[k] = cover;
            total += cover;
        }
        for (size_t i = 0; i < n; i++)
            x->group[i] = x->v[i].cluster;
        /* people and animals are what most videos are about: a group's time counts
         * more by the fraction of it that shows one (subjects.h) */
        x->subj = malloc(((size_t)x->n_groups + 1) * sizeof(double));
        if (!x->subj) {
            free(item_cover);
            return TG_ENOMEM;
        }
        if (tgi_subject_fractions(a, x->group, x->v, x->n_groups, x->subj, &x->subj_video)) {
            total = 0;
            for (int g = 0; g < x->n_groups; g++) {
                x->share[g] *= 1 + x->subj[g];
                total += x->share[g];
            }
        } else {
            free(x->subj);
            x->subj = NULL;
        }
        /* a shot's share: its CNN frames' time, weighed as their groups' */
        for (size_t k = 0; k < a->n_items; k++) {
            int c = x->cl->item[k];
            size_t i = tgi_sample_at(s, n, a->items[k].t - 1e-6);
            if (c < 0 || c >= x->n_groups || i >= n || s[i].shot < 0 ||
                (size_t)s[i].shot >= x->n_shots)
                continue;
            double w = total > 0 ? item_cover[k] * (x->subj ? 1 + x->subj[c] : 1) / total : 0;
            size_t pk = (size_t)s[i].shot * (size_t)x->n_groups + (size_t)c;
            x->shot_share[s[i].shot] += w;
            x->part[pk] += w;
            x->shot_top[s[i].shot] = fmax(x->shot_top[s[i].shot], x->part[pk]);
        }
        free(item_cover);
        for (int g = 0; g < x->n_groups; g++) {
            x->share[g] = total > 0 ? x->share[g] / total : 0;
            if (getenv("TG_DEBUG_SELECT")) {
                double t0 = -1, t1 = -1;
                for (size_t i = 0; i < n; i++)
                    if (x->group[i] == g && !x->v[i].bad) {
                        t0 = t0 < 0 ? s[i].t : t0;
                        t1 = s[i].t;
                    }
                fprintf(stderr,
                        "group %d (clean %.2f-%.2f): share %.3f, subjects %.2f (video %.2f)\n", g,
                        t0, t1, x->share[g], x->subj ? x->subj[g] : -1, x->subj_video);
            }
        }
        return 0;
    }
    size_t ns = x->n_shots;
    int *root = malloc((ns + 1) * sizeof(int));
    size_t *mid = malloc((ns + 1) * sizeof(size_t));
    x->share = calloc(ns + 1, sizeof(double));
    if (!root || !mid || !x->share) {
        free(root);
        free(mid);
        return TG_ENOMEM;
    }
    for (size_t k = 0; k < ns; k++) {
        root[k] = (int)k;
        mid[k] = SIZE_MAX;
    }
    /* the middle clean sample of each shot */
    for (size_t k = 0; k < ns; k++) {
        size_t first = SIZE_MAX, last = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i].shot == (int)k && !x->v[i].bad) {
                first = first == SIZE_MAX ? i : first;
                last = i;
            }
        if (first != SIZE_MAX)
            mid[k] = (first + last) / 2;
    }
    for (size_t k = 0; k < ns; k++)
        for (size_t j = 0; j < k && mid[k] != SIZE_MAX; j++)
            if (mid[j] != SIZE_MAX && root[j] == (int)j &&
                tgi_sample_distance(&s[mid[j]], &s[mid[k]]) < ALIKE) {
                root[k] = (int)j;
                break;
            }
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].shot < 0 || (size_t)s[i].shot >= ns || x->v[i].bad)
            continue;
        int g = root[s[i].shot];
        x->group[i] = g;
        double next = i + 1 < n ? s[i + 1].t : a->duration;
        double d = fmin(1.0, fmax(0.0, next - s[i].t)) * (x->v[i].face != 0 ? FACE_WEIGHT : 1);
        x->share[g] += d;
        total += d;
    }
    x->n_groups = (int)ns;
    for (size_t k = 0; k < ns; k++)
        x->share[k] = total > 0 ? x->share[k] / total : 0;
    free(root);
    free(mid);
    return 0;
}

/* Representative is not distinctive: each group's and each shot's medoid (the
 * clean sample nearest, on average, to the others) is what it looks like; a sample
 * far from either (a hand waving in front of a webcam that otherwise shows a tree:
 * the CNN puts most of it in the tree's cluster, and the rest is a cluster of its
 * own inside the tree's shot) is worth less, down to 0.3 at ALIKE away. */
#define TYP_SUBSAMPLE 160
static void typical_by(sel *x, const int *key, int n_keys, const uint8_t *exempt, size_t *pick)
{
    const tgi_sample *s = x->s;
    size_t n = x->n;
    for (int g = 0; g < n_keys; g++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            m += key[i] == g && !x->v[i].bad;
        if (m < 3)
            continue;
        size_t step = (m + TYP_SUBSAMPLE - 1) / TYP_SUBSAMPLE, k = 0, seen = 0;
        for (size_t i = 0; i < n && k < TYP_SUBSAMPLE; i++)
            if (key[i] == g && !x->v[i].bad && seen++ % step == 0)
                pick[k++] = i;
        size_t med = pick[0];
        double best = 1e30;
        for (size_t p = 0; p < k; p++) {
            double sum = 0;
            for (size_t q = 0; q < k; q++)
                sum += tgi_sample_distance(&s[pick[p]], &s[pick[q]]);
            if (sum < best) {
                best = sum;
                med = pick[p];
            }
        }
        for (size_t i = 0; i < n; i++)
            if (key[i] == g && !(exempt && exempt[i])) {
                float d = tgi_sample_distance(&s[i], &s[med]);
                x->typ[i] = fminf(x->typ[i], 1.0f - 0.7f * fminf(1.0f, d / ALIKE));
            }
    }
}

/* A shot's major parts: the content groups holding at least half as much of the
 * shot's clean time as its biggest group. Two scenes that a slow dissolve joins into
 * one "shot" (Sintel's dragon flight melting into the desert) are each a major part
 * and typical of themselves; a brief intrusion (a hand over a webcam's lens, a tenth
 * of its shot) is not, and stays measured against the shot's medoid. Returns 1 per
 * sample of a major part, or NULL (no memory). */
static uint8_t *major_parts(const sel *x)
{
    size_t n = x->n, ns = x->n_shots, ng = x->n_groups > 0 ? (size_t)x->n_groups : 0;
    uint8_t *major = calloc(n + 1, 1);
    double *t = calloc((ns + 1) * (ng + 1), sizeof(double));
    if (!major || !t) {
        free(major);
        free(t);
        return NULL;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        int sh = x->s[i].shot, g = x->group[i];
        if (sh >= 0 && (size_t)sh < ns && g >= 0 && (size_t)g < ng && !x->v[i].bad)
            t[(size_t)sh * ng + (size_t)g] += x->s[i + 1].t - x->s[i].t;
    }
    for (size_t i = 0; i < n; i++) {
        int sh = x->s[i].shot, g = x->group[i];
        if (sh < 0 || (size_t)sh >= ns || g < 0 || (size_t)g >= ng)
            continue;
        const double *row = &t[(size_t)sh * ng];
        double top = 0;
        for (size_t k = 0; k < ng; k++)
            top = fmax(top, row[k]);
        major[i] = top > 0 && row[g] >= 0.5 * top;
    }
    free(t);
    return major;
}

static int typicality(sel *x)
{
    size_t n = x->n;
    x->typ = malloc((n + 1) * sizeof(float));
    size_t *pick = malloc(TYP_SUBSAMPLE * sizeof(size_t));
    int *shot = malloc((n + 1) * sizeof(int));
    if (!x->typ || !pick || !shot) {
        free(pick);
        free(shot);
        return TG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        x->typ[i] = 1;
        shot[i] = x->s[i].shot;
    }
    typical_by(x, x->group, x->n_groups, NULL, pick);
    /* without a CNN a shot is one group: nothing to exempt */
    uint8_t *major = x->cl ? major_parts(x) : calloc(n + 1, 1);
    if (!major) {
        free(pick);
        free(shot);
        return TG_ENOMEM;
    }
    typical_by(x, shot, (int)x->n_shots, major, pick);
    free(major);
    free(pick);
    free(shot);
    return 0;
}

int tgi_select(tg_ctx *ctx, const tg_analysis_data *a, const tg_options *o, tg_plan *plan)
{
    int rc;
    size_t n = a->n;
    if (n == 0)
        return tgi_fail(ctx, TG_ECORRUPT, "no frames to choose from");
    for (size_t i = 0; i < a->n_shots; i++)
        if ((rc = tgi_plan_add_shot(plan, a->shots[i])) < 0)
            return tgi_fail(ctx, rc, "cannot add shots to the plan");
    tgi_verdict *v = malloc((n + 1) * sizeof(*v));
    tgi_clusters cl = {0};
    sel x = {0};
    if (!v) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = tgi_verdicts(ctx, a, o->safe, v, &cl)) < 0)
        goto done;
    x = (sel){.s = a->s,
              .v = v,
              .n = n,
              .shots = plan->shots,
              .n_shots = plan->n_shots,
              .cl = cl.n > 0 ? &cl : NULL,
              .spans = a->spans,
              .n_spans = a->n_spans,
              .safe = o->safe};
    if ((rc = build_groups(&x, a)) < 0 || (rc = typicality(&x)) < 0) {
        rc = tgi_fail(ctx, rc, "out of memory");
        goto done;
    }
    if (plan->cnn != TG_CNN_NONE && (rc = plan_cnn(plan, a, &cl)) < 0) {
        rc = tgi_fail(ctx, rc, "out of memory");
        goto done;
    }
    if ((rc = choose_segments(ctx, &x, a->duration, o, plan)) < 0)
        goto done;
    rc = choose_keyframes(ctx, &x, a->duration, o, plan);
    if (rc >= 0 && getenv("TG_DEBUG_SAMPLES"))
        dump_samples(a, v, getenv("TG_DEBUG_SAMPLES"));
done:
    free(x.group);
    free(x.typ);
    free(x.share);
    free(x.shot_share);
    free(x.shot_top);
    free(x.part);
    free(x.subj);
    tgi_clusters_free(&cl);
    free(v);
    return rc;
}

int tgi_select_short(const tg_plan *plan, const tg_options *o)
{
    if (plan->n_segments < (size_t)o->clips || plan->n_keyframes < (size_t)o->keyframes)
        return 1;
    for (size_t k = 0; k < plan->n_segments; k++)
        if (plan->segments[k].end - plan->segments[k].start < o->clip_len - 1e-6)
            return 1;
    return 0;
}
