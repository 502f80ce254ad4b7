/*
 * cluster.h — what the CNN's embeddings tell the selection.
 *
 * tgi_cluster_attach() joins the CNN's sampled frames (the analysis's items and
 * embeddings) to the analysis samples and derives, in this order:
 *   1. each sample's nsfw score (of the CNN frame nearest in time);
 *   2. repeated shots: a shot near the end that shows what a shot near the start
 *      showed (the intro returning as an outro) by embedding similarity, flagged
 *      TG_BAD_REPEAT — this catches re-encoded, re-zoomed or re-graded repeats that
 *      the pixel descriptors of analyze/events.c miss;
 *   3. with --safe strict, TG_BAD_NSFW on samples whose score is over the line;
 *   4. content clusters of the clean material (average-linkage agglomeration on
 *      cosine similarity), so that selection can prefer the biggest clusters
 *      (representative) and take every cluster once before any twice (diverse).
 * Pure computation over arrays; the CNN itself is not run here.
 */
#ifndef TG_SELECT_CLUSTER_H
#define TG_SELECT_CLUSTER_H

#include "analyze/analysis.h"

/* nsfw score at and above which a moment counts as flagged */
#define TG_NSFW_FLAG 0.5f

typedef struct tgi_clusters {
    int n;          /* number of clusters */
    int *size;      /* CNN frames per cluster */
    int *item;      /* cluster of each CNN frame, -1 = not clustered (flagged material) */
    size_t n_items; /* CNN frames */
} tgi_clusters;

struct tgi_verdict;
/* Attach the analysis's CNN frames to its samples: sets v[i].item, .nsfw, .cluster
 * and the flags of steps 2-3 in the verdicts v (one per sample, whose .bad already
 * holds the other defects). safe is enum tg_safe. *out receives the clusters (free
 * with tgi_clusters_free). */
int tgi_cluster_attach(tg_ctx *ctx, const tg_analysis_data *an, struct tgi_verdict *v, int safe,
                       tgi_clusters *out);
void tgi_clusters_free(tgi_clusters *c);

/* Average-linkage clustering of n unit vectors of length dim (those with use[i]
 * zero are left out, cluster -1); merges while the mean similarity of two clusters
 * is at least min_sim. Cluster ids are numbered by first appearance. Returns the
 * number of clusters, or a negative TG_E code. */
int tgi_cluster_embeddings(const float *emb, size_t n, int dim, const uint8_t *use, float min_sim,
                           int *cluster);

#endif
