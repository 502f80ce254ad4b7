/*
 * select.c — scoring and choosing (see select.h).
 *
 *   samples ──► quality per sample (0 when flagged)
 *           ──► clean runs: same shot, no flag, shrunk by the guard distance
 *           ──► candidate windows (best few per run, for each clip length tried)
 *           ──► greedy pick: best adjusted score, one per shot first, penalising
 *               content similar to what is already picked
 *           ──► segments in time order; keyframes by the same rules; poster
 */
#include "select/select.h"

#include <math.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

const tg_opt tg_select_opts[] = {
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
     "similar quality exists (the classifier also flags some ordinary close-ups); strict "
     "never shows a flagged moment; off ignores the score"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};

#define GUARD     0.25  /* seconds kept clear of cuts, transitions and defects */
#define KEY_GUARD 0.2   /* the same for stills */
#define SIMILAR   0.12f /* content distance under which two picks look alike */
/* Under this distance two picks show the same thing (the same photo or set-up seen
 * again): measured 0.09-0.26 inside one panning shot, 0.34 and more across cuts. */
#define ALIKE 0.25f

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
    int cluster; /* CNN content cluster of the middle sample, -1 when unknown */
    float nsfw;  /* highest nsfw score inside */
} cand;

/* What every choice needs to know besides the candidates. */
typedef struct sel {
    const tg_sample *s;
    size_t n;
    const tg_shot *shots;
    size_t n_shots;
    const tg_clusters *cl; /* NULL without a CNN */
    int max_cluster;       /* size of the biggest cluster */
    int safe;              /* enum tg_safe */
} sel;

static float clamp01(float v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

void tg_select_score(tg_sample *s, size_t n)
{
    float *v = malloc((n ? n : 1) * sizeof(float));
    size_t m = 0;
    float med = 0.1f;
    if (v) {
        for (size_t i = 0; i < n; i++)
            if (!s[i].bad)
                v[m++] = s[i].sharp;
        if (m) {
            med = tg_median(v, m);
        }
        free(v);
    }
    for (size_t i = 0; i < n; i++) {
        tg_sample *x = &s[i];
        float sharp = clamp01(x->sharp / (1.25f * med + 1e-6f));
        float expo = clamp01(1.0f - fabsf(x->luma - 0.47f) * 2.2f);
        float contr = clamp01(x->contrast / 0.22f);
        float colour = clamp01(x->colorful / 0.45f);
        float ent = clamp01(x->entropy);
        float m_ = x->motion;
        float motion = m_ < 0.004f ? 0.55f : m_ < 0.04f ? 1.0f : clamp01(1.0f - (m_ - 0.04f) * 8);
        float q = 0.30f * sharp + 0.18f * expo + 0.14f * contr + 0.14f * colour + 0.1f * ent +
                  0.14f * motion;
        x->quality = x->bad ? 0.05f * q : q;
    }
}

/* Clean runs: consecutive samples of one shot with no flag, minus a guard. A run
 * never extends past its shot's end (sparse analysis leaves gaps between shots). */
static size_t find_runs(const tg_sample *s, size_t n, double end_t, const tg_shot *shots,
                        double guard, run *out)
{
    size_t nr = 0;
    for (size_t i = 0; i < n;) {
        if (s[i].bad || s[i].shot < 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && !s[j].bad && s[j].shot == s[i].shot)
            j++;
        double t0 = s[i].t, t1 = fmin(j < n ? s[j].t : end_t, shots[s[i].shot].end);
        /* no guard at the very start or end of the video: nothing to keep away from */
        double g0 = i == 0 ? 0 : guard, g1 = j == n ? 0 : guard;
        if (t1 - t0 - g0 - g1 > 0)
            out[nr++] = (run){i, j, t0 + g0, t1 - g1, s[i].shot};
        i = j;
    }
    return nr;
}

static double window_score(const tg_sample *s, size_t n, double a, double b, size_t *mid,
                           float *nsfw)
{
    size_t i = tg_sample_at(s, n, a), j = tg_sample_at(s, n, b);
    if (j <= i)
        j = i + 1 <= n ? i + 1 : n;
    double q = 0, lo = 1;
    float worst = 0;
    for (size_t k = i; k < j && k < n; k++) {
        q += s[k].quality;
        lo = fmin(lo, s[k].quality);
        worst = fmaxf(worst, s[k].nsfw);
    }
    if (nsfw)
        *nsfw = worst;
    *mid = (i + j) / 2 < n ? (i + j) / 2 : n - 1;
    size_t cnt = j > i ? j - i : 1;
    return 0.8 * q / cnt + 0.2 * lo; /* a clip is as good as its mean, and its worst frame */
}

/* Candidate windows of length len in each run: the best position, and in long
 * runs further positions at least 2 lengths apart. */
static size_t make_cands(const tg_sample *s, size_t n, const run *runs, size_t nr, double len,
                         cand *out, size_t cap)
{
    size_t nc = 0;
    for (size_t r = 0; r < nr && nc < cap; r++) {
        double span = runs[r].t1 - runs[r].t0;
        if (span < len)
            continue;
        int slots = (int)fmin(4, floor(span / (2 * len)) + 1);
        double part = span / slots;
        for (int k = 0; k < slots && nc < cap; k++) {
            double lo = runs[r].t0 + k * part, hi = fmin(runs[r].t1, lo + part + len) - len;
            if (hi < lo)
                hi = lo;
            cand best = {.score = -1};
            for (double a = lo; a <= hi + 1e-9; a += 0.1) {
                size_t mid;
                float nsfw;
                double sc = window_score(s, n, a, a + len, &mid, &nsfw);
                if (sc > best.score)
                    best = (cand){a, a + len, sc, runs[r].shot, mid, 0, s[mid].cluster, nsfw};
            }
            if (best.score >= 0)
                out[nc++] = best;
        }
    }
    return nc;
}

/* What the CNN adds to a moment's worth: a bigger cluster is more representative
 * of the video (up to 25 % more), and with --safe soft a flagged moment loses 25 %,
 * so it is passed over when an alternative of similar quality exists. */
static double cnn_factor(const sel *x, int cluster, float nsfw)
{
    double f = 1;
    if (x->cl && cluster >= 0 && x->max_cluster > 0)
        f *= 0.8 + 0.2 * sqrt((double)x->cl->size[cluster] / x->max_cluster);
    if (x->safe == TG_SAFE_SOFT && nsfw >= TG_NSFW_FLAG)
        f *= 0.75;
    return f;
}

/* How much a pick is worth next to those already made: similar content is worth
 * less (never below half), and a longer shot is a bigger part of the video. */
static double adjusted(const sel *x, const cand *c, const cand *all, const size_t *pick, size_t np)
{
    float near = 1;
    for (size_t k = 0; k < np; k++)
        near = fminf(near, tg_sample_distance(&x->s[all[pick[k]].mid], &x->s[c->mid]));
    double sc = c->score * (0.5 + 0.5 * fmin(1.0, near / SIMILAR));
    if (c->shot >= 0 && (size_t)c->shot < x->n_shots) {
        double sl = x->shots[c->shot].end - x->shots[c->shot].start;
        sc *= 0.9 + 0.1 * fmin(1.0, sl / 6.0);
    }
    return sc * cnn_factor(x, c->cluster, c->nsfw);
}

/* Greedy choice of up to want candidates; returns the count, indices in pick[].
 * Preference, in order: a new shot showing something not yet picked; a new shot
 * that looks like a pick (the same scene again); a shot already used, far from its
 * first clip. With CNN clusters: a cluster not yet picked comes before one that
 * was, whatever the shots. Within a class, the best adjusted score. */
static size_t pick_greedy(const sel *x, cand *c, size_t nc, size_t want, size_t *pick)
{
    const tg_sample *s = x->s;
    size_t np = 0;
    while (np < want) {
        double best = -1;
        int best_reuse = 6;
        size_t bi = 0;
        for (size_t i = 0; i < nc; i++) {
            if (c[i].used)
                continue;
            int reuse = 0, overlap = 0, same_cluster = 0;
            for (size_t k = 0; k < np; k++) {
                const cand *p = &c[pick[k]];
                same_cluster |= x->cl && c[i].cluster >= 0 && p->cluster == c[i].cluster;
                if (reuse < 1 && tg_sample_distance(&s[p->mid], &s[c[i].mid]) < ALIKE)
                    reuse = 1;
                if (p->shot != c[i].shot)
                    continue;
                reuse = 2;
                /* two clips of one shot must be far apart to show different things */
                overlap |= c[i].start < p->end + 2 * (p->end - p->start) &&
                           p->start < c[i].end + 2 * (c[i].end - c[i].start);
            }
            if (overlap)
                continue;
            reuse += 3 * same_cluster;
            double sc = adjusted(x, &c[i], c, pick, np);
            if (reuse > best_reuse || (reuse == best_reuse && sc <= best))
                continue;
            best = sc;
            best_reuse = reuse;
            bi = i;
        }
        if (best < 0)
            break;
        c[bi].used = 1;
        pick[np++] = bi;
    }
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
    const tg_sample *s = x->s;
    size_t n = x->n;
    int rc = 0;
    run *runs = malloc((n + 1) * sizeof(run));
    size_t cap = 4 * (n + 1);
    cand *c = malloc(cap * sizeof(cand));
    size_t *pick = malloc(((size_t)o->clips + 1) * sizeof(size_t));
    if (!runs || !c || !pick) {
        rc = tg_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    size_t nr = find_runs(s, n, end_t, plan->shots, GUARD, runs);
    size_t want = (size_t)o->clips, np = 0, nc = 0;
    double len = o->clip_len;
    /* shorter clips rather than bad ones: try the asked length, then shorter */
    static const double factors[] = {1.0, 0.75, 0.5, 0.35};
    for (size_t f = 0; f < sizeof(factors) / sizeof(factors[0]); f++) {
        len = fmax(0.3, o->clip_len * factors[f]);
        nc = make_cands(s, n, runs, nr, len, c, cap);
        np = pick_greedy(x, c, nc, want, pick);
        if (getenv("TG_DEBUG_SELECT"))
            fprintf(stderr, "len %.2f: %zu runs, %zu candidates, %zu picked\n", len, nr, nc, np);
        if (np >= want || (np > 0 && f >= 1))
            break;
    }
    if (np > 0 && len < o->clip_len - 1e-9)
        tg_plan_add_warning(plan,
                            "clips shortened to %.2f s: no clean stretch of %.2f s was long "
                            "enough",
                            len, o->clip_len);
    if (np > 0 && np < want)
        tg_plan_add_warning(plan, "only %zu clean, distinct clip%s found (asked for %zu)", np,
                            np == 1 ? "" : "s", want);
    for (size_t k = 0; k < np; k++) {
        const cand *p = &c[pick[k]];
        if ((rc = tg_plan_add_segment(
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
            double a = s[i].t, sc = window_score(s, n, a, a + len, &mid, &nsfw);
            if (x->safe == TG_SAFE_STRICT && nsfw >= TG_NSFW_FLAG)
                continue; /* never, even as a last resort */
            if (sc > best) {
                best = sc;
                bt = a;
            }
        }
        if (best < 0) {
            rc = tg_fail(ctx, TG_EREFUSED,
                         "every moment of the video is flagged by the nsfw classifier "
                         "(--safe strict); nothing can be shown");
            goto done;
        }
        size_t i = tg_sample_at(s, n, bt + len / 2);
        int shot = i < n ? s[i].shot : -1, cluster = i < n ? s[i].cluster : -1;
        if ((rc = tg_plan_add_segment(plan,
                                      (tg_segment){bt, bt + len, fmax(0, best), shot, cluster})))
            goto done;
        tg_plan_add_warning(plan,
                            "no clean material was found (black, blank, blurred, text or "
                            "transitions throughout); the clip shows the best available moment");
    }
    qsort(plan->segments, plan->n_segments, sizeof(tg_segment), cmp_seg);
done:
    free(runs);
    free(c);
    free(pick);
    return rc < 0 ? tg_fail_keep(ctx, rc, "cannot add segments to the plan") : 0;
}

static int choose_keyframes(tg_ctx *ctx, const sel *x, double end_t, const tg_options *o,
                            tg_plan *plan)
{
    const tg_sample *s = x->s;
    size_t n = x->n;
    run *runs = malloc((n + 1) * sizeof(run));
    uint8_t *taken = calloc(n + 1, 1);
    int rc = 0;
    if (!runs || !taken) {
        rc = tg_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    size_t nr = find_runs(s, n, end_t, plan->shots, KEY_GUARD, runs);
    size_t want = (size_t)o->keyframes;
    /* each pick: the best still among the shots with the fewest picks so far */
    while (plan->n_keyframes < want) {
        double best = -1;
        size_t bi = 0, best_count = SIZE_MAX;
        for (size_t r = 0; r < nr; r++) {
            size_t per_shot = 0;
            for (size_t k = 0; k < plan->n_keyframes; k++)
                per_shot += plan->keyframes[k].shot == runs[r].shot;
            if (2 * per_shot > best_count)
                continue;
            for (size_t i = tg_sample_at(s, n, runs[r].t0); i < runs[r].b && s[i].t <= runs[r].t1;
                 i++) {
                if (taken[i])
                    continue;
                float near = 1;
                int clash = 0;
                size_t per_cluster = 0;
                for (size_t k = 0; k < plan->n_keyframes; k++) {
                    size_t j = tg_sample_at(s, n, plan->keyframes[k].t);
                    j = j < n ? j : n - 1;
                    clash |= fabs(s[j].t - s[i].t) < 1.0;
                    near = fminf(near, tg_sample_distance(&s[i], &s[j]));
                    per_cluster +=
                        x->cl && s[i].cluster >= 0 && plan->keyframes[k].cluster == s[i].cluster;
                }
                double sc = s[i].quality * (0.5 + 0.5 * fmin(1.0, near / SIMILAR)) *
                            cnn_factor(x, s[i].cluster, s[i].nsfw);
                /* fewest picks in its CNN cluster first, then in its shot, then
                 * content unlike the picks */
                size_t cls = 1000 * per_cluster + 2 * per_shot + (near < ALIKE);
                if (clash || cls > best_count || (cls == best_count && sc <= best))
                    continue;
                best = sc;
                best_count = cls;
                bi = i;
            }
        }
        if (best < 0)
            break;
        taken[bi] = 1;
        if ((rc = tg_plan_add_keyframe(plan,
                                       (tg_keyframe){s[bi].t, best, s[bi].shot, s[bi].cluster})))
            goto done;
    }
    if (plan->n_keyframes == 0 && n > 0) {
        size_t bi = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
            if (!(x->safe == TG_SAFE_STRICT && s[i].nsfw >= TG_NSFW_FLAG) &&
                (bi == SIZE_MAX || s[i].quality > s[bi].quality))
                bi = i;
        if (bi == SIZE_MAX) {
            rc = tg_fail(ctx, TG_EREFUSED,
                         "every frame of the video is flagged by the nsfw classifier "
                         "(--safe strict); no still can be shown");
            goto done;
        }
        if ((rc = tg_plan_add_keyframe(
                 plan, (tg_keyframe){s[bi].t, s[bi].quality, s[bi].shot, s[bi].cluster})))
            goto done;
        tg_plan_add_warning(plan, "no clean still was found; the poster is the best available "
                                  "frame");
    }
    plan->poster_t = plan->keyframes[0].t;
done:
    free(runs);
    free(taken);
    return rc < 0 ? tg_fail_keep(ctx, rc, "cannot add keyframes to the plan") : 0;
}

int tg_select(tg_ctx *ctx, tg_sample *s, size_t n, const tg_events *ev, const tg_clusters *cl,
              double end_t, const tg_options *o, tg_plan *plan)
{
    int rc;
    if (n == 0)
        return tg_fail(ctx, TG_ECORRUPT, "no frames to choose from");
    for (size_t i = 0; i < ev->n_shots; i++)
        if ((rc = tg_plan_add_shot(plan, ev->shots[i])) < 0)
            return tg_fail(ctx, rc, "cannot add shots to the plan");
    tg_select_score(s, n);
    sel x = {s, n, plan->shots, plan->n_shots, cl && cl->n > 0 ? cl : NULL, 0, o->safe};
    for (int k = 0; x.cl && k < x.cl->n; k++)
        if (x.cl->size[k] > x.max_cluster)
            x.max_cluster = x.cl->size[k];
    if ((rc = choose_segments(ctx, &x, end_t, o, plan)) < 0)
        return rc;
    return choose_keyframes(ctx, &x, end_t, o, plan);
}
