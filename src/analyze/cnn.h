/*
 * cnn.h — what a convolutional network sees in sampled frames.
 *
 * nsfwjs's models (MobileNetV2 224x224, InceptionV3 299x299; weights fetched from
 * npm by scripts/fetch-models, run on src/nn) give, per frame, two things we use:
 *   - an embedding: the globally pooled features (1280-d / 2048-d), L2-normalised,
 *     so the dot product of two embeddings is their cosine similarity — what the
 *     frames show, robust to zoom, grain and re-encoding;
 *   - five class probabilities (drawing, hentai, neutral, porn, sexy) and from them
 *     an nsfw score = porn + hentai + sexy.
 * Frames are queued one at a time and run in batches; nothing is allocated per frame.
 */
#ifndef TG_ANALYZE_CNN_H
#define TG_ANALYZE_CNN_H

#include <stddef.h>
#include <stdint.h>

#include "thumbgen.h"

#define TG_CNN_CLASSES 5
extern const char *const tgi_cnn_class_names[TG_CNN_CLASSES];

typedef struct tgi_cnn tgi_cnn;

typedef struct tgi_cnn_item {
    double t;
    float classes[TG_CNN_CLASSES];
    float nsfw; /* porn + hentai + sexy, 0..1 */
} tgi_cnn_item;

/* The registry of networks, in enum tg_network order (the cnn option's values): the
 * enum's name, the option's value, the weights' folder under models/, the square input
 * side, and two similarity lines. Similarities mean different things for different
 * networks: InceptionV3's pooled features (2048 non-negative values) are alike for any
 * two photographs (0.72-0.93 on twice.mp4) where MobileNetV2's spread out (0.26-0.81).
 * So each network has its own lines, measured on tests/fixtures' twice.mp4 (the same
 * photo re-framed vs different photos; see src/select/cluster.c for their use):
 * repeat_sim, best-matching frames of two shots are a repeat at and above; cluster_sim,
 * one cluster at and above (average linkage). MobileNetV2: same photo 0.90-0.96,
 * different photos <= 0.81, shot means 0.92 vs <= 0.80. InceptionV3: same photo
 * 0.98-0.99, different photos <= 0.93, shot means 0.97-0.99 vs <= 0.92. */
#define TG_CNN_MODELS(X)                                                                           \
    X(NONE, "none", NULL, 0, 0, 0)                                                                 \
    X(MOBILENET_V2, "mobilenet_v2", "nsfwjs/mobilenet_v2", 224, 0.86f, 0.78f)                      \
    X(INCEPTION_V3, "inception_v3", "nsfwjs/inception_v3", 299, 0.96f, 0.94f)
#define TG_CNN_COUNT_ROW(e, name, dir, side, rs, cs) +1
#define TG_CNN_N_MODELS                              (0 TG_CNN_MODELS(TG_CNN_COUNT_ROW))
/* "none|mobilenet_v2|inception_v3" (past the first "|"): the cnn option's choices */
#define TG_CNN_CHOICE_ROW(e, name, dir, side, rs, cs) "|" name
#define TG_CNN_CHOICES                                (&(TG_CNN_MODELS(TG_CNN_CHOICE_ROW))[1])
const char *tgi_cnn_model_name(int model);

/* Load a model (enum tg_network) for batches of up to `batch` frames on `threads`
 * threads (0 = automatic). TG_ENOENT with a message naming scripts/fetch-models
 * when the weights are missing. */
int tgi_cnn_open(tg_ctx *ctx, int model, int batch, int threads, tgi_cnn **out);
void tgi_cnn_close(tgi_cnn **c);

int tgi_cnn_side(const tgi_cnn *c); /* the square input size: 224 or 299 */
int tgi_cnn_dim(const tgi_cnn *c);  /* embedding length */
int tgi_cnn_model(const tgi_cnn *c);
/* The network's similarity lines (cosine of embeddings): two shots whose
 * best-matching frames are at least tgi_cnn_repeat_sim alike show the same thing;
 * groups of frames at least tgi_cnn_cluster_sim alike (average linkage) are one
 * content cluster. */
float tgi_cnn_repeat_sim(const tgi_cnn *c);
float tgi_cnn_cluster_sim(const tgi_cnn *c);

/* Queue a side x side RGB24 frame taken at time t (rows of side*3 bytes). */
int tgi_cnn_push(tg_ctx *ctx, tgi_cnn *c, double t, const uint8_t *rgb);
/* Queue any RGB24 picture, resized to the input as nsfwjs does (bilinear with
 * aligned corners, RGB 0..1). */
int tgi_cnn_push_image(tg_ctx *ctx, tgi_cnn *c, double t, const uint8_t *rgb, int w, int h,
                       int stride);
/* Forget every result and queued frame (the model stays loaded). */
void tgi_cnn_reset(tgi_cnn *c);
/* Run what is queued. The results below are complete only after a flush. */
int tgi_cnn_flush(tg_ctx *ctx, tgi_cnn *c);

size_t tgi_cnn_count(const tgi_cnn *c);
const tgi_cnn_item *tgi_cnn_items(const tgi_cnn *c);
const float *tgi_cnn_embedding(const tgi_cnn *c, size_t i); /* tgi_cnn_dim floats */

/* Cosine similarity of two L2-normalised embeddings of length dim. */
float tgi_cnn_similarity(const float *a, const float *b, int dim);

#endif
