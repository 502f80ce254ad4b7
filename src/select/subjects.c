/*
 * subjects.c — subject fractions per content group (see subjects.h).
 */
#include "select/subjects.h"

#include <stdint.h>
#include <stdlib.h>

#include "analyze/features.h"

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
    /* the observations come in time order, one or more per looked-at frame */
    for (size_t k = 0; k < a->n_subjects;) {
        double t = a->subjects[k].t;
        int sure = 0;
        for (; k < a->n_subjects && a->subjects[k].t == t; k++)
            sure |= a->subjects[k].cls >= 0 && a->subjects[k].score >= TGI_SUBJECT_SURE;
        size_t i = tgi_sample_at(a->s, a->n, t - 1e-6);
        if (i >= a->n || v[i].bad)
            continue;
        all += 1;
        with += sure;
        int g = group[i];
        if (g < 0 || g >= n_groups)
            continue;
        looked[g] += 1;
        frac[g] += sure;
    }
    *video = all > 0 ? with / all : 0;
    for (int g = 0; g < n_groups; g++)
        frac[g] = (frac[g] + TGI_SUBJECT_PRIOR * *video) / (looked[g] + TGI_SUBJECT_PRIOR);
    free(looked);
    return 1;
}
