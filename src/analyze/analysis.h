/*
 * analysis.h — the analysis as data: everything the analyze stage learns about one
 * video, in plain arrays, and nothing that a later stage decides.
 *
 *   tg_analyze()  decode (sampler.c: full or sparse) ──► per-sample signals
 *                 (features.c) ──► events: cuts, fades, dissolves, flashes, black,
 *                 shots, bars (events.c) ──► CNN items and embeddings (cnn.c)
 *                 ──► faces (faces.c) ──► subjects: people, animals (subjects.c)
 *
 * Select (src/select) is a pure function of (analysis, options) → plan: it decides
 * what is a defect for this video, what the main content is and what to show. So
 * an analysis can be written to JSON once (`thumbgen analyze`, analysis_json.c) and
 * re-planned many times without decoding (`thumbgen plan --from-analysis`).
 *
 * Ownership: a tg_analysis_data owns every array in it; tg_analysis_free frees
 * them all. Nothing in it points into another structure.
 */
#ifndef TG_ANALYZE_ANALYSIS_H
#define TG_ANALYZE_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include "analyze/cnn.h"
#include "analyze/events.h"
#include "analyze/features.h"
#include "thumbgen.h"

/* One face seen in one sampled frame. Box and landmarks-derived measures are in
 * the frame's own proportions (0..1 of width and height). */
typedef struct tgi_face_obs {
    double t;
    float x, y, w, h; /* box, fractions of the frame */
    float score;      /* detector confidence 0..1 */
    float eyes;       /* eye openness: mean eye aspect ratio of both eyes (~0.3 open, <0.18 shut) */
    float sharp;      /* sharpness inside the box (Laplacian energy / contrast) */
    uint8_t cut;      /* 1 when the box touches the frame edge (the face is cut) */
} tgi_face_obs;

/* One subject (a person or an animal, subjects.h) seen in one sampled frame; a frame
 * the detector looked at and found nothing in has one entry with cls = -1. */
typedef struct tgi_subject_obs {
    double t;
    int cls;          /* COCO class id (0 person, 14-23 animals), -1: none in this frame */
    float score;      /* detector confidence 0..1 */
    float x, y, w, h; /* box, fractions of the frame */
} tgi_subject_obs;

struct tg_analysis_data {
    /* the source */
    char *path;
    double duration;   /* time just past the last sample analysed (the video's end) */
    double claimed;    /* the container's duration */
    int width, height; /* display size */
    double fps;
    /* the part of the display frame analysed, display pixels (w == 0: the whole frame):
     * a picture padded with a blurred copy of itself or a colour is analysed without the
     * fill (padding.h), so that its fades are fades and the networks see the picture */
    tg_rect frame;
    int aw, ah;    /* analysis frame size (of frame, or of the whole frame) */
    int mode;      /* TG_ANALYSIS_FULL or TG_ANALYSIS_SPARSE: how it was sampled */
    double looked; /* seconds of video looked at frame by frame */
    /* 1: a first round (TGI_ROUND_FIRST) that decoded for stills only some stretches
     * a whole analysis decodes for clips: a second one would see more (not in JSON) */
    int more;
    /* samples with signals and event flags, in time order */
    tgi_sample *s;
    size_t n;
    tgi_span *spans; /* contiguous stretches (sparse analysis has gaps between them) */
    size_t n_spans;
    /* events */
    tg_shot *shots;
    size_t n_shots;
    double *cuts;
    size_t n_cuts;
    tg_rect content; /* content area in analysis pixels (bars removed) */
    /* the CNN's frames, in time order (cnn == TG_CNN_NONE: none) */
    int cnn;                       /* enum tg_network */
    int dim;                       /* embedding length */
    float repeat_sim, cluster_sim; /* the network's similarity lines (cnn.h) */
    tgi_cnn_item *items;
    float *emb; /* n_items * dim, L2-normalised */
    size_t n_items;
    /* faces in the CNN's frames (none without the face model) */
    int faces_on; /* 1 when the face model looked (0: no faces known, not "no faces") */
    tgi_face_obs *faces;
    size_t n_faces;
    /* people and animals in some analysis frames (subjects.h), in time order, best
     * first within a frame (none without the detector's weights or with --cnn none) */
    int subjects_on;    /* 1 when the detector looked (0: nothing known, not "nobody") */
    int subjects_in[2]; /* the frames it was given, w x h (0 x 0: not recorded) */
    tgi_subject_obs *subjects;
    size_t n_subjects;
    /* how many of the frames in subjects the detector ran on; the others have the
     * observations of an earlier frame of the same content (sampler.c, SUBJ_SAME);
     * 0: not recorded */
    size_t subjects_looked;
    /* what the user should know about how the analysis went */
    char **notes;
    size_t n_notes;
};

/* Analyse the video at path. *out is owned by the caller (tg_analysis_free). */
int tg_analyze(tg_ctx *ctx, const char *path, const tg_options *o, tg_analysis_data **out);

/* Sparse analysis in rounds: a whole analysis (TGI_ROUND_ALL, what tg_analyze and
 * `thumbgen analyze` do) decodes clips + 3 of its stretches as far as a clip needs; a
 * first round (TGI_ROUND_FIRST) only clips + 1 of them, the others as far as a still
 * needs (sampler.c). The orchestrator (tg_plan_make, api/thumbgen.c) selects from a
 * first round and analyses again, whole, only when that selection lacks clean clip or
 * still positions and the first round had more to see (`more`). Select never calls
 * back into the analysis. */
enum { TGI_ROUND_ALL = 0, TGI_ROUND_FIRST = 1 };
int tgi_analyze_round(tg_ctx *ctx, const char *path, const tg_options *o, int round,
                      tg_analysis_data **out);
void tg_analysis_free(tg_analysis_data **a);
/* An empty analysis (every count 0), for tests and the JSON reader; NULL when out
 * of memory. */
tg_analysis_data *tgi_analysis_new(void);
/* The content area (a->content, bars removed) in display pixels, rounded inwards. */
tg_rect tgi_analysis_content_display(const tg_analysis_data *a);
int tgi_analysis_add_note(tg_analysis_data *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
