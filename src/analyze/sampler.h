/*
 * sampler.h — the analysis decode: full or sparse sampling of the video's frames
 * into per-sample signals (features.h), with the CNN's frames queued beside them.
 * Called by analyze.c only; the strategy is described in sampler.c.
 */
#ifndef TG_ANALYZE_SAMPLER_H
#define TG_ANALYZE_SAMPLER_H

#include "analyze/analysis.h"
#include "analyze/faces.h"
#include "analyze/subjects.h"
#include "media/media.h"

/* The subject detector's frames: a decoder copy TGI_SAMPLER_SUBJ_SIDE px on the long
 * side, one every max(TGI_SAMPLER_SUBJ_INTERVAL, duration / TGI_SAMPLER_SUBJ_MAX)
 * seconds, at most TGI_SAMPLER_SUBJ_MAX a video (why these: sampler.c). */
#define TGI_SAMPLER_SUBJ_SIDE     384
#define TGI_SAMPLER_SUBJ_INTERVAL 0.5
#define TGI_SAMPLER_SUBJ_MAX      48
/* A detection this sure (or none at all) is a look whose answer the frames after it
 * in the same stretch may share (sampler.c, SUBJ_SAME); between the detector's peak
 * threshold and this the answer flickers from frame to frame, and they look again.
 * select/subjects.h's TGI_SUBJECT_SURE, the score from which a frame counts as showing
 * a subject (the same number; a test holds them equal). */
#define TGI_SAMPLER_SUBJ_SURE 0.35f

/* Decode m at aw x ah per o->analysis and fill a's samples, spans, duration (the
 * time just past the last sample), mode and looked. cnn (may be NULL) receives its
 * frames; faces (may be NULL) looks at some analysis frames and fills a's faces;
 * subjects (may be NULL) looks at fewer and fills a's subjects. `round`
 * (TGI_ROUND_*, analysis.h) says how many sparse stretches are decoded as far as a
 * clip needs (tgi_sampler_stretches). On failure a is unchanged. */
int tgi_sampler_run(tg_ctx *ctx, tgi_media *m, const tg_options *o, int round, tg_rect frame,
                    int aw, int ah, tgi_cnn *cnn, tgi_faces *faces, tgi_subjects *subjects,
                    tg_analysis_data *a);

/* The passes of an analysis, for tgi_sampler_cnn_every. */
enum { TGI_PASS_FULL, TGI_PASS_KEYS, TGI_PASS_STRETCH };
/* Seconds between the frames the CNN is given in a pass (full: every frame decoded;
 * keys: sparse's keyframes; stretch: sparse's densely decoded stretches) of a video of
 * `duration` seconds. From 3 minutes on the keyframe pass gives it at most 300 frames;
 * a stretch gives it one a second at every length (sampler.c says why). */
double tgi_sampler_cnn_every(double duration, int pass);

/* Seconds of video sparse analysis decodes at most from the keyframe that starts a
 * chosen stretch, for clips of clip_len seconds; `blind`: that keyframe is black or
 * white (its stretch is looked at further: what it shows comes later). */
double tgi_sampler_stretch_len(double clip_len, int blind);

/* ... and from one chosen for stills only: too short for a clip of clip_len and its
 * guards, long enough for a few clean frames and, with faces looked for every
 * face_every seconds from the stretch's first frame (0: no face model), for one face
 * look between the guards while that interval is under 1.4 s (8 s after a black or
 * white keyframe). */
double tgi_sampler_still_len(double clip_len, int blind, double face_every);

/* How many stretches sparse analysis chooses for `clips` clips and `keyframes` stills
 * (returned), and how many of them, the first chosen, are for clips (*for_clips: the
 * others are decoded only tgi_sampler_still_len seconds): fewer in a first round
 * (TGI_ROUND_FIRST) than in a whole analysis (TGI_ROUND_ALL); the same count of
 * stretches either way. */
size_t tgi_sampler_stretches(int clips, int keyframes, int round, size_t *for_clips);

#endif
