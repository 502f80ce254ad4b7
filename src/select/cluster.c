/*
 * cluster.c — CNN embeddings → nsfw per sample, repeated shots, content clusters
 * (see cluster.h).
 */
#include "select/cluster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "select/verdict.h"

/* Two CNN frames at most this far apart (seconds) describe each other's samples. */
#define NEAR_T 1.0
/* The similarity lines (repeats, clusters) are the network's: tgi_cnn_repeat_sim and
 * tgi_cnn_cluster_sim (analyze/cnn.c says how they were measured). */

void tgi_clusters_free(tgi_clusters *c)
{
    free(c->size);
    free(c->item);
    memset(c, 0, sizeof(*c));
}

static float dot(const float *a, const float *b, int dim)
{
    float d = 0;
    for (int i = 0; i < dim; i++)
        d += a[i] * b[i];
    return d;
}

int tgi_cluster_embeddings(const float *emb, size_t n, int dim, const uint8_t *use, float min_sim,
                           int *cluster)
{
    for (size_t i = 0; i < n; i++)
        cluster[i] = -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += use[i] != 0;
    if (m == 0)
        return 0;
    /* work on the m used vectors: S = similarity matrix, best[i] = most similar
     * active partner of i; merge the best pair while it is similar enough */
    size_t *idx = malloc(m * sizeof(*idx));
    float *S = malloc(m * m * sizeof(float));
    size_t *best = malloc(m * sizeof(*best)), *root = malloc(m * sizeof(*root));
    int *size = malloc(m * sizeof(int));
    uint8_t *active = malloc(m);
    int rc = 0;
    if (!idx || !S || !best || !root || !size || !active) {
        rc = TG_ENOMEM;
        goto done;
    }
    for (size_t i = 0, k = 0; i < n; i++)
        if (use[i])
            idx[k++] = i;
    for (size_t i = 0; i < m; i++) {
        S[i * m + i] = -2;
        for (size_t j = i + 1; j < m; j++)
            S[i * m + j] = S[j * m + i] =
                dot(emb + idx[i] * (size_t)dim, emb + idx[j] * (size_t)dim, dim);
        size[i] = 1;
        active[i] = 1;
        root[i] = i;
    }
#define BEST_OF(i)                                                                                 \
    do {                                                                                           \
        size_t b_ = (i) == 0 ? 1 : 0;                                                              \
        for (size_t k_ = 0; k_ < m; k_++)                                                          \
            if (k_ != (i) && active[k_] &&                                                         \
                (!active[b_] || b_ == (i) || S[(i)*m + k_] > S[(i)*m + b_]))                       \
                b_ = k_;                                                                           \
        best[i] = b_;                                                                              \
    } while (0)
    for (size_t i = 0; i < m && m > 1; i++)
        BEST_OF(i);
    for (size_t left = m; left > 1; left--) {
        size_t a = SIZE_MAX;
        for (size_t i = 0; i < m; i++)
            if (active[i] && active[best[i]] && best[i] != i &&
                (a == SIZE_MAX || S[i * m + best[i]] > S[a * m + best[a]]))
                a = i;
        if (a == SIZE_MAX || S[a * m + best[a]] < min_sim)
            break;
        size_t b = best[a];
        /* b joins a: average linkage (Lance–Williams) */
        for (size_t k = 0; k < m; k++) {
            if (!active[k] || k == a || k == b)
                continue;
            float v =
                (size[a] * S[a * m + k] + size[b] * S[b * m + k]) / (float)(size[a] + size[b]);
            S[a * m + k] = S[k * m + a] = v;
        }
        size[a] += size[b];
        active[b] = 0;
        for (size_t i = 0; i < m; i++)
            if (root[i] == b)
                root[i] = a;
        for (size_t k = 0; k < m; k++) {
            if (!active[k])
                continue;
            if (k == a || best[k] == a || best[k] == b)
                BEST_OF(k);
            else if (S[k * m + a] > S[k * m + best[k]])
                best[k] = a;
        }
    }
#undef BEST_OF
    /* number clusters by first appearance (time order of the caller's frames) */
    int nc = 0;
    for (size_t i = 0; i < m; i++) {
        if (cluster[idx[i]] >= 0)
            continue;
        for (size_t j = i; j < m; j++)
            if (root[j] == root[i])
                cluster[idx[j]] = nc;
        nc++;
    }
    rc = nc;
done:
    free(idx);
    free(S);
    free(best);
    free(root);
    free(size);
    free(active);
    return rc;
}

typedef struct timed {
    double t;
    size_t k;
} timed;

static int cmp_timed(const void *a, const void *b)
{
    const timed *x = a, *y = b;
    if (x->t != y->t)
        return (x->t > y->t) - (x->t < y->t);
    return (x->k > y->k) - (x->k < y->k);
}

/* The CNN frames tied to samples of shot `shot` (each once), into idx; returns
 * how many (at most cap). */
static size_t shot_items(const tgi_sample *s, const tgi_verdict *v, size_t n, int shot,
                         int32_t *idx, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++)
        if (s[i].shot == shot && !v[i].bad && v[i].item >= 0 && (k == 0 || idx[k - 1] != v[i].item))
            idx[k++] = v[i].item;
    return k;
}

/* The intro returning as an outro (the rule of select/verdict.c): a shot that may
 * be one (tgi_repeat_tail) most of whose clean CNN frames match, as alike as the
 * network's repeat line, a CNN frame of the video's first seconds (one lucky pair
 * is not a repeat: 0.86 between a baboon and a street on story.mp4), with different content
 * (below the cluster line) between the two. The CNN frames are compared by time,
 * not by shot, so that sparse analysis, whose keyframe frames cover the intro even
 * where no stretch was decoded, finds it too. */
static int mark_repeats(const tg_analysis_data *an, tgi_verdict *v)
{
    const tgi_sample *s = an->s;
    size_t n = an->n, cap = an->n_items + 1;
    int32_t *b = malloc(cap * sizeof(int32_t));
    if (!b)
        return TG_ENOMEM;
    int dim = an->dim;
    double edge = tgi_repeat_edge(an);
    for (size_t j = 1; j < an->n_shots; j++) {
        if (!tgi_repeat_tail(an, j))
            continue;
        size_t nb = shot_items(s, v, n, (int)j, b, cap), matched = 0;
        /* most of the shot's frames must match the intro, not one lucky pair */
        for (size_t q = 0; q < nb; q++) {
            const float *eq = an->emb + (size_t)b[q] * (size_t)dim;
            int hit = 0;
            for (size_t p = 0; p < an->n_items && !hit; p++) {
                double tp = an->items[p].t;
                if (tp > edge || tp >= an->shots[j].start)
                    break;
                const float *ep = an->emb + p * (size_t)dim;
                if (dot(ep, eq, dim) < an->repeat_sim)
                    continue;
                /* something else between them */
                for (size_t k = p + 1; k < an->n_items && an->items[k].t < an->shots[j].start; k++)
                    if (dot(ep, an->emb + k * (size_t)dim, dim) < an->cluster_sim) {
                        hit = 1;
                        break;
                    }
            }
            matched += (size_t)hit;
        }
        int found = nb > 0 && 2 * matched > nb;
        if (found)
            for (size_t i = 0; i < n; i++)
                if (s[i].shot == (int)j)
                    v[i].bad |= TG_BAD_REPEAT;
    }
    free(b);
    return 0;
}

int tgi_cluster_attach(tg_ctx *ctx, const tg_analysis_data *an, tgi_verdict *v, int safe,
                       tgi_clusters *out)
{
    memset(out, 0, sizeof(*out));
    const tgi_sample *s = an->s;
    size_t n = an->n, ni = an->n_items;
    const tgi_cnn_item *items = ni ? an->items : NULL;
    int dim = an->dim;
    timed *order = malloc((ni + 1) * sizeof(*order));
    int32_t *tie = malloc((ni + 1) * sizeof(*tie)); /* sample of each CNN frame, or -1 */
    uint8_t *use = malloc(ni + 1);
    out->item = malloc((ni + 1) * sizeof(int));
    int rc = 0;
    if (!order || !tie || !use || !out->item) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    out->n_items = ni;
    /* 1. tie each CNN frame to the analysis sample taken at the same time (sparse
     * analysis also has CNN frames of keyframes outside the decoded stretches) */
    for (size_t k = 0; k < ni; k++) {
        order[k] = (timed){items[k].t, k};
        size_t i = tgi_sample_at(s, n, items[k].t - 1e-6);
        tie[k] = i < n && fabs(s[i].t - items[k].t) < 1e-6 ? (int32_t)i : -1;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].item = -1;
        v[i].nsfw = 0;
        v[i].cluster = -1;
    }
    for (size_t k = 0; k < ni; k++)
        if (tie[k] >= 0)
            v[tie[k]].item = (int32_t)k;
    /* every sample: the tied CNN frame nearest in time within its shot (left or
     * right), its nsfw the higher of the two neighbours' */
    int32_t left = -1;
    double left_t = 0;
    int left_shot = -2;
    float *nsfw_r = malloc((n + 1) * sizeof(float));
    int32_t *right = malloc((n + 1) * sizeof(int32_t));
    if (!nsfw_r || !right) {
        free(nsfw_r);
        free(right);
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    {
        int32_t r = -1;
        double r_t = 0;
        int r_shot = -2;
        for (size_t i = n; i-- > 0;) {
            if (v[i].item >= 0) {
                r = v[i].item;
                r_t = s[i].t;
                r_shot = s[i].shot;
            }
            right[i] = r >= 0 && r_shot == s[i].shot && r_t - s[i].t <= NEAR_T ? r : -1;
            nsfw_r[i] = right[i] >= 0 ? items[right[i]].nsfw : 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].item >= 0) {
            left = v[i].item;
            left_t = s[i].t;
            left_shot = s[i].shot;
        }
        int32_t l = left >= 0 && left_shot == s[i].shot && s[i].t - left_t <= NEAR_T ? left : -1;
        int32_t r = right[i];
        float nl = l >= 0 ? items[l].nsfw : 0;
        v[i].nsfw = fmaxf(nl, nsfw_r[i]);
        if (l >= 0 && r >= 0)
            v[i].item = s[i].t - items[l].t <= items[r].t - s[i].t ? l : r;
        else
            v[i].item = l >= 0 ? l : r;
    }
    free(nsfw_r);
    free(right);
    /* 2. repeated intro/outro shots */
    if ((rc = mark_repeats(an, v)) < 0) {
        rc = tgi_fail(ctx, rc, "out of memory");
        goto done;
    }
    /* 3. the hard filter */
    if (safe == TG_SAFE_STRICT)
        for (size_t i = 0; i < n; i++)
            if (v[i].nsfw >= TG_NSFW_FLAG)
                v[i].bad |= TG_BAD_NSFW;
    /* 4. clusters of the clean material, CNN frames in time order */
    if (ni)
        qsort(order, ni, sizeof(*order), cmp_timed);
    float *emb = malloc((ni + 1) * (size_t)dim * sizeof(float));
    int *cl = malloc((ni + 1) * sizeof(int));
    if (!emb || !cl) {
        free(emb);
        free(cl);
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < ni; k++) {
        size_t o = order[k].k;
        memcpy(emb + k * (size_t)dim, an->emb + o * (size_t)dim, (size_t)dim * sizeof(float));
        int bad = tie[o] >= 0 ? v[tie[o]].bad != 0
                              : items[o].nsfw >= TG_NSFW_FLAG && safe == TG_SAFE_STRICT;
        use[k] = !bad;
    }
    int nc = tgi_cluster_embeddings(emb, ni, dim, use, an->cluster_sim, cl);
    free(emb);
    if (nc < 0) {
        free(cl);
        rc = tgi_fail(ctx, nc, "out of memory");
        goto done;
    }
    out->n = nc;
    out->size = calloc((size_t)nc + 1, sizeof(int));
    if (!out->size) {
        free(cl);
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < ni; k++) {
        out->item[order[k].k] = cl[k];
        if (cl[k] >= 0)
            out->size[cl[k]]++;
    }
    free(cl);
    for (size_t i = 0; i < n; i++)
        v[i].cluster = (int16_t)(v[i].item >= 0 && !v[i].bad ? out->item[v[i].item] : -1);
done:
    free(order);
    free(tie);
    free(use);
    if (rc < 0)
        tgi_clusters_free(out);
    return rc;
}
