/*
 * weights.h — a TF.js weights manifest read into one float array, shared by the two
 * model loaders (model.c: Keras layers models; graphdef.c: graph models).
 *
 * Every entry is validated (name, shape, dtype) and the shard files must hold exactly
 * the bytes the entries need; shard paths may not leave the model's directory.
 * Values are decoded to float32: float32 as stored, float16 (TF.js "float16"
 * quantization), uint8/uint16 affine quantization (w = q*scale + min), and int32
 * (graph constants such as axes and sizes; exact for |v| < 2^24). Names are borrowed
 * from the JSON document, which must outlive the nn_weights.
 */
#ifndef TG_NN_WEIGHTS_H
#define TG_NN_WEIGHTS_H

#include <jansson.h>
#include <stddef.h>

#include "thumbgen/context.h"

typedef struct nn_weight {
    const char *name; /* borrowed from the JSON document */
    int rank;
    int shape[4];
    size_t count;
    size_t offset; /* into params */
    int used;
    int half, is_int; /* stored as float16 / int32 */
} nn_weight;

typedef struct nn_weights {
    nn_weight *w; /* sorted by name */
    int nw;
    float *params;
} nn_weights;

/* Read the manifest's shards from dir; errors say "<path>: ...". */
int nn_weights_load(tg_ctx *ctx, const char *path, const char *dir, json_t *manifest,
                    nn_weights *out);
/* The entry named `name`, or NULL. */
nn_weight *nn_weights_find(const nn_weights *ws, const char *name);
void nn_weights_free(nn_weights *ws);

#endif
