/*
 * subjects.h — how much each content group is about a subject (a person or an
 * animal), relative to the video.
 *
 * The analysis looked for people and animals in some frames (analyze/subjects.h).
 * A frame counts as showing a subject when the detector is sure of one
 * (TGI_SUBJECT_SURE), and as part of one when it saw one below that line
 * (tgi_subject_evidence: the Sintel trailer's dragons are "birds" at 0.2-0.35 in
 * frame after frame, its empty desert has no peak at all); per content group, the
 * mean evidence of its looked-at clean frames, counted with TGI_SUBJECT_PRIOR frames
 * more at the video's mean;
 * for the video, the fraction over all its clean looked-at frames. A group no
 * looked-at frame fell in gets the video's fraction (nothing is known of it, so it is
 * taken as average), and one frame alone moves a group only halfway from it: with the
 * detector every 0.5-1 s, most shots of a trailer are looked at once or twice, and a
 * fraction of 0 or 1 from a single frame (a figure turned away, a dragon that is not a
 * COCO class) doubled one group's share and cut another's; on the real-footage eval's
 * Sintel trailer the default plan's scene coverage went from 0.75 to 0.92 with it, the
 * other videos unchanged (bench/RESULTS.md, "Subjects, part 2"). Everything is relative: in a video
 * of people every group is about people and nothing changes; in a landscape video no group is and
 * nothing changes either; only a video that is mostly about its characters makes an empty landscape
 * among them worth less (select.c).
 */
#ifndef TG_SELECT_SUBJECTS_H
#define TG_SELECT_SUBJECTS_H

#include <stddef.h>

#include "analyze/analysis.h"
#include "select/verdict.h"

/* A detector score at or above this is a subject. Measured on the eval videos'
 * analyses (256-px detector input): the people of a surveillance video, a talking
 * head and a webcam score 0.43-0.75 in every frame, Megamind's cartoon characters
 * 0.51 (median); what is not a subject stays below: a hand over a webcam's lens
 * 0.25-0.29, far shapes on a motorway 0.22-0.34, handheld street footage 0.26-0.29. */
#define TGI_SUBJECT_SURE 0.35f

/* Frames at the video's fraction added to each group's count (see above). */
#define TGI_SUBJECT_PRIOR 1.0

/* How much one detection says "a subject is here": 1 at TGI_SUBJECT_SURE and
 * above, 0 for none or another class, and in between a ramp from the detector's
 * peak threshold (TGI_SUBJECTS_SCORE): a dragon the detector takes for a bird at
 * 0.29 is some evidence, an empty dune none. A hand over a webcam's lens (0.25-0.29)
 * is some evidence too; the fractions are relative to the video, and typicality
 * (select.c) keeps such an intrusion out. */
double tgi_subject_evidence(int cls, float score);

/* Fill frac[g] (n_groups entries) with group g's subject fraction and *video with
 * the video's. group[i] is sample i's content group (-1: none); a flagged sample
 * (v[i].bad) is not counted. Returns 0 with frac all 0 and *video 0 when the
 * analysis has no subjects (the detector did not run), 1 otherwise. */
int tgi_subject_fractions(const tg_analysis_data *a, const int *group, const tgi_verdict *v,
                          int n_groups, double *frac, double *video);

#endif
