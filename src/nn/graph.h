/*
 * graph.h — the engine's internal model: a list of nodes in execution order, shared
 * by the loader (model.c, which builds it from model.json) and the executor
 * (session.c, which plans memory and runs it). Not part of the public interface.
 *
 * Two loaders build it: model.c (Keras layers models) and graphdef.c (TF.js graph
 * models, whose nodes it sorts topologically).
 *
 * Invariants (established by the loaders, relied on by the executor):
 *  - node 0 is the input; node i's inputs are nodes < i (Keras saves layers in a
 *    topological order; the loader refuses anything else);
 *  - node i's output tensor is "value i"; a node with op NN_DEAD was absorbed into a
 *    later node (a ZeroPadding2D folded into a convolution) and has no value;
 *  - every weight array has the size its op and channel counts imply; channel counts
 *    and ranks are static (only h and w depend on the session).
 */
#ifndef TG_NN_GRAPH_H
#define TG_NN_GRAPH_H

#include <stddef.h>

#include "nn/nn.h"

/* Engine bounds: anything a model file declares beyond these is refused (TG_ELIMIT). */
#define NN_MAX_JSON_BYTES   (32u << 20)  /* model.json */
#define NN_MAX_WEIGHT_BYTES (512u << 20) /* all shards together */
#define NN_MAX_LAYERS       4096
#define NN_MAX_INPUTS       64    /* inputs of one Add/Concatenate */
#define NN_MAX_KERNEL       64    /* kernel, pool, stride, upsampling factor */
#define NN_MAX_PAD          1024  /* ZeroPadding2D */
#define NN_MAX_CHANNELS     65536 /* filters, units, channels of any tensor */
#define NN_MAX_SIDE         16384 /* input height/width */
#define NN_MAX_NAME         256   /* layer/weight/path name length */

enum nn_op {
    NN_INPUT,
    NN_DEAD,   /* absorbed into a later node */
    NN_CONV,   /* Conv2D, and Dense (a 1×1 convolution over the last axis) */
    NN_DWCONV, /* DepthwiseConv2D, depth_multiplier 1 */
    NN_AFFINE, /* a BatchNormalization that could not be folded: y = x*w[c] + b[c] */
    NN_ACT,    /* ReLU / Activation that could not be fused */
    NN_ADD,
    NN_CONCAT, /* along channels */
    NN_PAD,    /* ZeroPadding2D */
    NN_AVGPOOL,
    NN_MAXPOOL,
    NN_GAP,      /* GlobalAveragePooling2D -> a vector */
    NN_FLATTEN,  /* -> a vector (NHWC order = Keras channels_last order) */
    NN_UPSAMPLE, /* nearest */
    NN_MUL,      /* elementwise product; in[1] may be a 1×1 tensor (per-channel scale) */
    NN_RESIZE,   /* bilinear upsampling by integer factors uh, uw (TF ResizeBilinear) */
    NN_OP_COUNT
};

enum nn_act { NN_ACT_LINEAR, NN_ACT_RELU, NN_ACT_SOFTMAX, NN_ACT_SIGMOID };

typedef struct nn_node {
    int op;
    char *name; /* the layer whose output this is (the last layer of a fused chain) */
    int *in;    /* input node indices */
    int nin;
    int c;    /* output channels */
    int rank; /* 4 = an image (h, w, c), 2 = a vector (h = w = 1) */
    /* window ops (CONV, DWCONV, AVGPOOL, MAXPOOL) and PAD */
    int kh, kw, sh, sw;
    int same;           /* TF 'same' padding; otherwise the explicit pads below */
    int pt, pb, pl, pr; /* explicit pads (ZeroPadding2D, or one folded into a conv) */
    int uh, uw;         /* UPSAMPLE and RESIZE factors */
    int half_pixel;     /* RESIZE: TF half_pixel_centers (else the legacy mapping) */
    int act;            /* enum nn_act, applied after the op (fused) */
    float act_max;      /* ReLU ceiling (INFINITY when none) */
    float *w;           /* CONV: [kh*kw*cin][c]; DWCONV: [kh*kw][c]; AFFINE: [c] */
    float *b;           /* [c], or NULL */
} nn_node;

/* A layer name the user may ask for, and where its output lives. */
typedef struct nn_name {
    char *name;
    int node;     /* the node producing this layer's output, or the node it was fused into */
    int absorbed; /* 1: fused into `node`, whose output is not this layer's output */
} nn_name;

struct tgi_nn {
    char *dir;
    nn_node *nodes;
    int nnodes;
    int output;           /* node of the model's output */
    int in_h, in_w, in_c; /* 0 = any */
    nn_name *names;
    int nnames;
};

/* A tensor's per-item shape; h = w = 0 while the input size is not known (at load). */
typedef struct nn_shape {
    int h, w, c;
} nn_shape;

/* Pads of a window op resolved for a given input size ('same' depends on it). */
typedef struct nn_geom {
    int pt, pb, pl, pr;
} nn_geom;

/* Output shape of node `id` from shapes[] of its inputs, written to shapes[id] (and
 * its pads to *geom when not NULL). Returns 0, or -1 with a reason in err. */
int nn_infer(const tgi_nn *nn, int id, nn_shape *shapes, nn_geom *geom, char *err, size_t errlen);

/* Append a node to nn, shared by both loaders: op, act_max INFINITY, a copy of `name` and
 * of the nin input indices, everything else 0. nn->nodes grows together with the loader's
 * two parallel arrays (*owner: the layer or graph node each node came from; *shapes),
 * whose capacity is *cap. Returns the new node's index, or TG_ENOMEM (the node may then
 * be counted with a NULL name or inputs: the loader fails and frees the whole model). */
int nn_append_node(tgi_nn *nn, int *cap, int **owner, nn_shape **shapes, int op, const char *name,
                   const int *in, int nin);

/* The node index whose output is layer `name`, -1 if unknown; *absorbed_into is set to
 * the surviving node's name when the layer was fused away. */
int nn_find(const tgi_nn *nn, const char *name, const char **absorbed_into);

#endif
