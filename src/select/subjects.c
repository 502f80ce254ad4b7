/*
 * subjects.c — subject fractions per content group (see subjects.h).
 */
#include "select/subjects.h"

#include <stdint.h>
#include <stdlib.h>

#include "analyze/features.h"
#include "analyze/subjects.h"

double tgi_subject_evidence(int cls, float score)
{
    if (cls < 0 || score < TGI_SUBJECTS_SCORE)
        return 0;
    if (score >= TGI_SUBJECT_SURE)
        return 1;
    return (score - TGI_SUBJECTS_SCORE) / (TGI_SUBJECT_SURE - TGI_SUBJECTS_SCORE);
}

int tgi_subject_fractions(const tg_analysis_data *a, const int *group, const tgi_verdict *v,
                          int n_groups, double *frac, double *video)
{
    for (int g = 0; g < n_groups; g++)
        frac[g] = 0;
    *video = 0;
    if (!a->subjects_on || a->n_subjects == 0 || a->n == 0 || n_groups <= 0)
        return 0;
    double *looked = calloc((size_t)n_groups, sizeof(double));
    if (!looked)
        return 0; /* no memory: as if the detector had not run */
    double all = 0, with = 0;
    /* the observations come in time order, one or more per looked-at frame; the
     * frame's evidence is its best detection's */
    for (size_t k = 0; k < a->n_subjects;) {
        double t = a->subjects[k].t, e = 0;
        for (; k < a->n_subjects && a->subjects[k].t == t; k++) {
            double ek = tgi_subject_evidence(a->subjects[k].cls, a->subjects[k].score);
            e = ek > e ? ek : e;
        }
        size_t i = tgi_sample_at(a->s, a->n, t - 1e-6);
        if (i >= a->n || v[i].bad)
            continue;
        all += 1;
        with += e;
        int g = group[i];
        if (g < 0 || g >= n_groups)
            continue;
        looked[g] += 1;
        frac[g] += e;
    }
    *video = all > 0 ? with / all : 0;
    for (int g = 0; g < n_groups; g++)
        frac[g] = (frac[g] + TGI_SUBJECT_PRIOR * *video) / (looked[g] + TGI_SUBJECT_PRIOR);
    free(looked);
    return 1;
}
