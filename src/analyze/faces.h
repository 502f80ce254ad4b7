/*
 * faces.h — faces in a frame: where, how sharp, cut by the frame edge, eyes open.
 *
 * Two pretrained networks from @vladmandic/face-api (MIT; weights fetched from npm
 * by scripts/fetch-models into models/face-api/), rebuilt here on src/nn's kernels
 * from their weight manifests (the packages describe the architectures in JS code,
 * not in the weight files): the tiny face detector (a TinyYolov2-style net with
 * depthwise-separable convolutions, 5 anchors, one class) on the frame padded to a
 * square and resized to input_size², then the 68-point landmark net (iBUG-300W
 * layout) on each detected face's crop at 112×112. Pre- and post-processing follow
 * face-api exactly (tests/data/faces holds its outputs; tests/unit/test_faces.c
 * compares). From the landmarks: the eye aspect ratio (EAR) of each eye
 * (Soukupová & Čech 2016: (|p2-p6| + |p3-p5|) / (2 |p1-p4|)) and a 0..1 openness;
 * from the pixels: a scale-free sharpness. This landmark net compresses the EAR
 * range: on a talking head, open eyes 0.28-0.35, blinks and downcast eyes 0.23-0.26;
 * a smiling face's open eyes 0.22-0.24. So absolute thresholds are weak across
 * people: compare a face's EAR with the same shot's (a drop of > 15 % below the
 * shot's median is a blink or a downcast look).
 *
 * A tgi_faces holds the weights and one work arena per thread; nothing is allocated
 * per frame. It is not shareable between threads (use tgi_faces_detect_batch to run
 * frames on several cores). Errors: TG_ENOENT (weights missing: run
 * scripts/fetch-models), TG_ECORRUPT (malformed or truncated weight files),
 * TG_EINVAL (bad arguments), TG_ENOMEM.
 */
#ifndef TG_ANALYZE_FACES_H
#define TG_ANALYZE_FACES_H

#include <stdint.h>

#include "thumbgen.h"

#define TG_FACE_LANDMARKS 68
#define TG_FACES_INPUT    224 /* recommended detector input side (see bench/RESULTS.md) */

/* Sides of the frame a face box runs over (tgi_face.cut). */
enum { TG_FACE_CUT_LEFT = 1, TG_FACE_CUT_TOP = 2, TG_FACE_CUT_RIGHT = 4, TG_FACE_CUT_BOTTOM = 8 };

typedef struct tgi_face {
    float x, y, w, h; /* detection box in the frame's pixels; may extend past the frame */
    float score;      /* detector confidence, 0..1 */
    /* landmarks in the frame's pixels, iBUG 68-point order: 0-16 jaw, 17-26 brows,
     * 27-35 nose, 36-41 the subject's right eye (image left), 42-47 left eye, 48-67 mouth */
    float lm[TG_FACE_LANDMARKS][2];
    float ear[2];    /* eye aspect ratio of points 36-41 and 42-47 */
    float eyes_open; /* 0 (closed) .. 1 (open), from the mean EAR: 0 at <= 0.18, 1 at >= 0.30 */
    int cut;         /* TG_FACE_CUT_* bits: the box runs over that side by > 5 % of its size */
    float inside;    /* fraction of the box's area inside the frame, 0..1 */
    /* RMS of the 3×3 Laplacian of the face's luma (crop at 112 px, so the face size does
     * not matter) divided by the luma's standard deviation: a sharp portrait 0.36, the
     * same blurred by a 2.5-px Gaussian 0.08 */
    float sharpness;
} tgi_face;

typedef struct tgi_faces_opts {
    int input_size;     /* detector input side, a multiple of 32 in [64, 608]; 0 = TG_FACES_INPUT */
    float min_score;    /* keep detections above this; 0 = 0.5 (face-api's default) */
    int tiny_landmarks; /* 1: face_landmark_68_tiny (57 vs 103 MFLOP a face; EAR less exact) */
    int threads;        /* worker arenas for tgi_faces_detect_batch; 0 = 1 */
} tgi_faces_opts;

typedef struct tgi_faces tgi_faces;

/* Load the weights from models_dir/face-api/ (NULL = the models folder of the CNN,
 * tgi_nn_models_dir()). opts may be NULL (defaults). */
int tgi_faces_open(tg_ctx *ctx, const char *models_dir, const tgi_faces_opts *opts,
                   tgi_faces **out);
void tgi_faces_close(tgi_faces **f);

/* Faces in one RGB24 frame (w × h, rows `stride` bytes apart), best first, at most max
 * written to out (landmarks are computed only for those: max bounds the cost, ~1.2 ms
 * per face; max = 0 runs the detector alone). Returns the number written (>= 0) or a
 * negative TG_E* code. Runs on the calling thread and sets OpenBLAS to one thread
 * (process-global, as src/nn's batched sessions do). Recommended: input_size 224 on a
 * frame of ~224-416 px, max 2: ~3 ms per frame with one face (bench/RESULTS.md). */
int tgi_faces_detect(tg_ctx *ctx, tgi_faces *f, const uint8_t *rgb, int w, int h, int stride,
                     tgi_face *out, int max);

/* One frame of a batch. */
typedef struct tgi_faces_frame {
    const uint8_t *rgb;
    int w, h, stride;
} tgi_faces_frame;

/* n frames on up to opts.threads threads: frame i's faces go to out[i*max ..], their
 * count to counts[i]. Returns 0, or TG_EINVAL for a bad frame (all are checked first). */
int tgi_faces_detect_batch(tg_ctx *ctx, tgi_faces *f, const tgi_faces_frame *frames, int n,
                           tgi_face *out, int max, int *counts);

/* The eye aspect ratio of the six points p[0..5] (p1..p6 of the paper), e.g. lm + 36. */
float tgi_face_ear(const float (*p)[2]);

/* Floating-point operations of the detector per frame and of the landmark net per
 * face (multiply-add = 2), for benchmarks. */
void tgi_faces_flops(const tgi_faces *f, double *detector, double *landmarks);

#endif
