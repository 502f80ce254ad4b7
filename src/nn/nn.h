/*
 * nn.h — a small CNN inference engine for TF.js "layers" models (Keras models
 * converted by tensorflowjs: model.json + binary weight shards) and for the
 * convolutional part of TF.js "graph" models (a frozen TensorFlow GraphDef as JSON).
 *
 * Who uses it: the analysis (MobileNetV2 embeddings + nsfw score, the face detector,
 * the CenterNet subject detector) and the upscaler (esrgan-slim RDN). Two objects:
 *
 *   tgi_nn          a loaded model: the layer graph with weights already dequantized,
 *                  BatchNorm folded into the preceding convolution, ZeroPadding folded
 *                  into the following valid convolution and activations fused into the
 *                  layer before them. Immutable after tgi_nn_load(): one model can serve
 *                  many sessions in many threads.
 *   tgi_nn_session  everything one forward pass needs for `batch` items of h × w:
 *                  the input and the kept outputs for the whole batch plus, per worker
 *                  thread, one pre-planned arena for one item's intermediate tensors
 *                  (no allocation per forward). Not shareable between threads.
 *
 * Tensors are float32 NHWC, item after item. Layers whose output may be read after
 * tgi_nn_forward() ("taps") are named at session creation; layers fused into others
 * (e.g. a Conv2D whose BatchNormalization was folded into it) cannot be tapped —
 * tap the last layer of the fused chain instead (its name is in the error message).
 *
 * Threads: with `threads` = T and n items, min(T, n) workers each run whole items
 * with single-threaded OpenBLAS (best for batches of small images); a single item
 * gets T OpenBLAS threads instead (big images). openblas_set_num_threads() is
 * process-global, so sessions forwarding at the same time in several threads share
 * the last setting (results stay correct, only speed is affected).
 *
 * Errors: 0 or a negative TG_E* code with the detail in ctx: TG_ENOENT/TG_EIO for
 * missing/unreadable files, TG_ECORRUPT for malformed or inconsistent model files,
 * TG_ELIMIT for unsupported layers/options or sizes beyond the engine's bounds,
 * TG_EINVAL for bad arguments, TG_ENOMEM.
 */
#ifndef TG_NN_NN_H
#define TG_NN_NN_H

#include "thumbgen/context.h"

/* The folder of the weights: $TG_MODELS, else models/ beside the executable's folder
 * (a build tree), else the installed share/thumbgen/models. */
const char *tgi_nn_models_dir(void);

typedef struct tgi_nn tgi_nn;                 /* a loaded model (immutable, shareable) */
typedef struct tgi_nn_session tgi_nn_session; /* arena for batch × H × W */

/* Load dir/model.json and its weight shards. *out is owned by the caller. */
int tgi_nn_load(tg_ctx *ctx, const char *dir, tgi_nn **out);

/* Load a TF.js graph model (a GraphDef as JSON, e.g. dir/centernet.json, and its
 * shards) keeping only what `outputs` (node names, at least one) need: outputs[0] is
 * the session's final output, the others are tappable by name. The input may be any
 * size at which the graph's merges line up (e.g. multiples of 32 for a 5-level
 * feature pyramid); resize ops scale by the factor they have at the declared size.
 * Unsupported ops on the way to the outputs are refused (TG_ELIMIT), malformed graphs
 * are TG_ECORRUPT. */
int tgi_nn_load_graph(tg_ctx *ctx, const char *json_path, const char *const *outputs, int noutputs,
                      tgi_nn **out);
void tgi_nn_free(tgi_nn **nn);

/* The model's input size; 0 for h/w means any size (fully convolutional models). */
void tgi_nn_input_size(const tgi_nn *nn, int *h, int *w, int *c);

/* A session for up to `batch` items of h × w (0 = the model's fixed size). taps: layer
 * names whose outputs must stay readable after forward (NULL/0 = final output only).
 * threads >= 1. Borrows nn, which must outlive the session. */
int tgi_nn_session_new(tg_ctx *ctx, const tgi_nn *nn, int batch, int h, int w, int threads,
                       const char *const *taps, int ntaps, tgi_nn_session **out);
void tgi_nn_session_free(tgi_nn_session **s);

/* The input, batch*h*w*c floats, NHWC, filled by the caller before tgi_nn_forward(). */
float *tgi_nn_session_input(tgi_nn_session *s);

/* Run the first n (1..batch) items of the input. */
int tgi_nn_forward(tg_ctx *ctx, tgi_nn_session *s, int n);

/* A kept output: tap NULL = the model's final output. Item i starts at i*h*w*c. NULL
 * when tap was not named at session creation. h, w, c may be NULL. Vector outputs
 * (after Flatten, GlobalAveragePooling2D, Dense) have h = w = 1. */
const float *tgi_nn_output(const tgi_nn_session *s, const char *tap, int *h, int *w, int *c);

/* Floating-point operations for one item (multiply-add = 2), for benchmarks. */
double tgi_nn_flops(const tgi_nn_session *s);

#endif
