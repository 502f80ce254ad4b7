/*
 * graphdef.c — tgi_nn_load_graph(): a TF.js graph model (a frozen TensorFlow GraphDef
 * as JSON: modelTopology.node[] with op/input/attr, plus a weights manifest) into the
 * node list of graph.h, for the convolutional ops a detector's trunk and head use.
 *
 * The file is untrusted, like model.json (model.c): names, counts and attributes are
 * range-checked, the weights go through the shared manifest reader (weights.h), and
 * anything the executor cannot run exactly is refused with the node and op named.
 *
 * Steps:
 *   1. parse the nodes and resolve every input name ("name", "name:0"; another output
 *      index or a control input is refused when the node is needed);
 *   2. keep only the nodes the requested outputs depend on and sort them
 *      topologically (Kahn; a cycle is an error), so post-processing ops that are
 *      not needed (TopK, Gather, ...) never have to be supported;
 *   3. walk them in that order: Const nodes are weights (by name); Identity is an
 *      alias; convolutions take their filter and bias from Const inputs; Add/Mul with
 *      a constant (scalar or per channel) become a per-channel affine, folded into
 *      the producing convolution or affine when it is that value's only reader;
 *      Relu/Relu6/Sigmoid are fused the same way; Add/Mul of two tensors, ConcatV2
 *      on channels, Mean over H,W, pools and ResizeBilinear map to their own nodes.
 * Shapes are checked at the input size the Placeholder declares; the loaded model
 * then accepts any size (ResizeBilinear keeps its factor, not its constant size).
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/utf8.h"
#include "nn/graph.h"
#include "nn/weights.h"

#define GD_DEFAULT_SIDE 256 /* nominal input size when the Placeholder leaves it open */

typedef struct gnode {
    const char *name, *op; /* borrowed from the JSON document */
    json_t *attr;
    int in[NN_MAX_INPUTS];
    int nin;
    int need;      /* an output depends on it */
    int consumers; /* reads by needed nodes + 1 per requested output (after aliasing) */
    int canon;     /* Identity chains resolved: the node whose value this is */
    int val;       /* graph.h node holding the value (-1: a constant) */
    nn_weight *cw; /* constant's value */
} gnode;

typedef struct gname {
    const char *name;
    int id;
} gname;

typedef struct gloader {
    tg_ctx *ctx;
    const char *path;
    json_t *root;
    nn_weights ws;
    gnode *g;
    int ng;
    gname *byname; /* the nodes sorted by name */
    const gnode *cur;
    tgi_nn *nn;
    int cap;
    int *owner;       /* graph.h node -> the gnode whose value it currently outputs */
    nn_shape *shapes; /* static shapes at the nominal input size */
} gloader;

static int failv(gloader *L, int code, const char *fmt, va_list ap)
{
    char detail[600];
    vsnprintf(detail, sizeof detail, fmt, ap);
    if (L->cur)
        return tgi_fail(L->ctx, code, "%s: node '%.*s' (%.*s): %s", L->path,
                        TG_CUT(L->cur->name, 100), TG_CUT(L->cur->op, 40), detail);
    return tgi_fail(L->ctx, code, "%s: %s", L->path, detail);
}

__attribute__((format(printf, 3, 4))) static int fail(gloader *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(L, code, fmt, ap);
    va_end(ap);
    return rc;
}

#define CORRUPT(...)     fail(L, TG_ECORRUPT, __VA_ARGS__)
#define UNSUPPORTED(...) fail(L, TG_ELIMIT, __VA_ARGS__)

/* ---- attributes ---- */

/* Decode a base64 attribute string ("s") into buf; -1 when malformed or too long. */
static int b64(const char *s, char *buf, size_t cap)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(A, *s);
        if (!p)
            return -1;
        acc = (acc << 6) | (unsigned)(p - A);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            buf[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    buf[n] = 0;
    return 0;
}

/* attr[key].s decoded, or def when absent. */
static int attr_str(gloader *L, const char *key, const char *def, char *buf, size_t cap)
{
    json_t *a = json_object_get(L->cur->attr, key), *s = a ? json_object_get(a, "s") : NULL;
    if (!a) {
        snprintf(buf, cap, "%s", def);
        return 0;
    }
    if (!json_is_string(s) || b64(json_string_value(s), buf, cap) != 0)
        return CORRUPT("attribute '%s' is not a valid string", key);
    return 0;
}

static int attr_bool(gloader *L, const char *key, int def, int *out)
{
    json_t *a = json_object_get(L->cur->attr, key), *b = a ? json_object_get(a, "b") : NULL;
    *out = def;
    if (!a)
        return 0;
    if (b && !json_is_boolean(b))
        return CORRUPT("attribute '%s' is not a boolean", key);
    *out = b ? json_is_true(b) : 0; /* proto3: false is omitted */
    return 0;
}

static int json_int(json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        char *end;
        errno = 0;
        *out = strtoll(json_string_value(v), &end, 10);
        return errno || end == json_string_value(v) || *end ? -1 : 0;
    }
    return -1;
}

/* attr[key].list.i as exactly n integers in [lo, hi]; absent: every value is def. */
static int attr_ints(gloader *L, const char *key, int n, int def, int lo, int hi, int *out)
{
    json_t *a = json_object_get(L->cur->attr, key);
    json_t *l = a ? json_object_get(json_object_get(a, "list"), "i") : NULL;
    for (int i = 0; i < n; i++)
        out[i] = def;
    if (!a)
        return 0;
    if (!json_is_array(l) || (int)json_array_size(l) != n)
        return CORRUPT("attribute '%s' must list %d integers", key, n);
    for (int i = 0; i < n; i++) {
        long long v;
        if (json_int(json_array_get(l, (size_t)i), &v) || v < lo || v > hi)
            return UNSUPPORTED("attribute '%s': value %d is not an integer in [%d, %d]", key, i, lo,
                               hi);
        out[i] = (int)v;
    }
    return 0;
}

/* The window attributes of a conv/pool: NHWC, unit dilations, strides [1,s,s,1]. */
static int window_attrs(gloader *L, nn_node *n)
{
    char fmt[16], pad[16];
    int st[4], dil[4];
    int rc;
    if ((rc = attr_str(L, "data_format", "NHWC", fmt, sizeof fmt)) ||
        (rc = attr_str(L, "padding", "VALID", pad, sizeof pad)) ||
        (rc = attr_ints(L, "strides", 4, 1, 1, NN_MAX_KERNEL, st)) ||
        (rc = attr_ints(L, "dilations", 4, 1, 1, NN_MAX_KERNEL, dil)))
        return rc;
    if (strcmp(fmt, "NHWC") != 0)
        return UNSUPPORTED("data_format %s is not supported (NHWC only)", fmt);
    if (st[0] != 1 || st[3] != 1)
        return UNSUPPORTED("strides over the batch or channel axis are not supported");
    if (dil[0] != 1 || dil[1] != 1 || dil[2] != 1 || dil[3] != 1)
        return UNSUPPORTED("dilated windows are not supported");
    if (!strcmp(pad, "SAME"))
        n->same = 1;
    else if (strcmp(pad, "VALID") != 0)
        return UNSUPPORTED("padding %s is not supported (SAME, VALID)", pad);
    n->sh = st[1], n->sw = st[2];
    return 0;
}

/* ---- nodes ---- */

static int byname_cmp(const void *a, const void *b)
{
    return strcmp(((const gname *)a)->name, ((const gname *)b)->name);
}

static int find_node(const gloader *L, const char *name, size_t len)
{
    char key[NN_MAX_NAME + 1];
    if (len > NN_MAX_NAME)
        return -1;
    memcpy(key, name, len);
    key[len] = 0;
    int lo = 0, hi = L->ng - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(L->byname[mid].name, key);
        if (!c)
            return L->byname[mid].id;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return -1;
}

/* Parse modelTopology.node[]: names, ops, inputs (resolved to indices). Control inputs
 * and other output indices are marked -2 and refused if the node turns out needed. */
static int parse_nodes(gloader *L)
{
    json_t *list = json_object_get(json_object_get(L->root, "modelTopology"), "node");
    if (!json_is_array(list) || json_array_size(list) == 0)
        return CORRUPT("'modelTopology.node' is not a list of nodes");
    if (json_array_size(list) > NN_MAX_LAYERS)
        return UNSUPPORTED("more than %d nodes", NN_MAX_LAYERS);
    L->ng = (int)json_array_size(list);
    L->g = calloc((size_t)L->ng, sizeof *L->g);
    L->byname = malloc((size_t)L->ng * sizeof *L->byname);
    if (!L->g || !L->byname)
        return fail(L, TG_ENOMEM, "out of memory");
    for (int i = 0; i < L->ng; i++) {
        json_t *e = json_array_get(list, (size_t)i);
        json_t *name = json_object_get(e, "name"), *op = json_object_get(e, "op");
        if (!json_is_string(name) || !json_is_string(op) || !*json_string_value(name) ||
            strlen(json_string_value(name)) > NN_MAX_NAME ||
            strlen(json_string_value(op)) > NN_MAX_NAME)
            return CORRUPT("node %d needs a 'name' and an 'op'", i);
        gnode *g = &L->g[i];
        g->name = json_string_value(name);
        g->op = json_string_value(op);
        g->attr = json_object_get(e, "attr");
        g->val = -1;
        g->canon = i;
        L->byname[i] = (gname){g->name, i};
    }
    qsort(L->byname, (size_t)L->ng, sizeof *L->byname, byname_cmp);
    for (int i = 1; i < L->ng; i++)
        if (!strcmp(L->byname[i].name, L->byname[i - 1].name))
            return CORRUPT("node '%.*s' is defined twice", TG_CUT(L->byname[i].name, 100));
    for (int i = 0; i < L->ng; i++) {
        gnode *g = &L->g[i];
        json_t *ins = json_object_get(json_array_get(list, (size_t)i), "input"), *v;
        size_t k;
        if (ins && !json_is_array(ins))
            return CORRUPT("node '%.*s': 'input' is not a list", TG_CUT(g->name, 100));
        if (json_array_size(ins) > NN_MAX_INPUTS)
            return UNSUPPORTED("node '%.*s' has more than %d inputs", TG_CUT(g->name, 100),
                               NN_MAX_INPUTS);
        json_array_foreach(ins, k, v)
        {
            if (!json_is_string(v))
                return CORRUPT("node '%.*s': an input is not a string", TG_CUT(g->name, 100));
            const char *s = json_string_value(v), *colon = strrchr(s, ':');
            size_t len = colon ? (size_t)(colon - s) : strlen(s);
            int id;
            if (s[0] == '^' || (colon && strcmp(colon, ":0") != 0))
                id = -2;
            else if ((id = find_node(L, s, len)) < 0)
                return CORRUPT("node '%.*s': input '%.*s' does not exist", TG_CUT(g->name, 100),
                               TG_CUT(s, 100));
            g->in[g->nin++] = id;
        }
    }
    return 0;
}

/* Mark what the outputs need and return the needed nodes in a topological order. */
static int order_nodes(gloader *L, const int *outs, int nouts, int **order, int *norder)
{
    int *stack = malloc((size_t)L->ng * sizeof *stack), sp = 0;
    int *indeg = calloc((size_t)L->ng, sizeof *indeg);
    int *ord = malloc((size_t)L->ng * sizeof *ord), n = 0, rc = 0, *readers = NULL;
    size_t *start = NULL, *pos = NULL;
    if (!stack || !indeg || !ord) {
        rc = fail(L, TG_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nouts; i++)
        if (!L->g[outs[i]].need) {
            L->g[outs[i]].need = 1;
            stack[sp++] = outs[i];
        }
    while (sp > 0) {
        gnode *g = &L->g[stack[--sp]];
        for (int k = 0; k < g->nin; k++) {
            if (g->in[k] == -2) {
                L->cur = g;
                rc = UNSUPPORTED("control inputs and second outputs of a node are not supported");
                goto done;
            }
            if (!L->g[g->in[k]].need) {
                L->g[g->in[k]].need = 1;
                stack[sp++] = g->in[k];
            }
        }
    }
    /* Kahn: indeg = needed inputs not yet placed (an input listed twice counts twice) */
    int needed = 0;
    for (int i = 0; i < L->ng; i++)
        if (L->g[i].need) {
            needed++;
            indeg[i] = L->g[i].nin;
            if (!L->g[i].nin)
                stack[sp++] = i;
        }
    /* readers of each node (CSR over the needed nodes' inputs) */
    start = calloc((size_t)L->ng + 1, sizeof *start);
    pos = malloc((size_t)L->ng * sizeof *pos);
    size_t edges = 0;
    for (int j = 0; j < L->ng; j++)
        if (L->g[j].need)
            edges += (size_t)L->g[j].nin;
    readers = malloc((edges ? edges : 1) * sizeof *readers);
    if (!start || !pos || !readers) {
        rc = fail(L, TG_ENOMEM, "out of memory");
        goto done;
    }
    for (int j = 0; j < L->ng; j++)
        for (int k = 0; L->g[j].need && k < L->g[j].nin; k++)
            start[L->g[j].in[k] + 1]++;
    for (int i = 0; i < L->ng; i++)
        start[i + 1] += start[i];
    memcpy(pos, start, (size_t)L->ng * sizeof *pos);
    for (int j = 0; j < L->ng; j++)
        for (int k = 0; L->g[j].need && k < L->g[j].nin; k++)
            readers[pos[L->g[j].in[k]]++] = j;
    while (sp > 0) {
        int id = stack[--sp];
        ord[n++] = id;
        for (size_t e = start[id]; e < start[id + 1]; e++)
            if (--indeg[readers[e]] == 0)
                stack[sp++] = readers[e];
    }
    if (n != needed) {
        rc = CORRUPT("the graph has a cycle");
        goto done;
    }
    *order = ord;
    *norder = n;
    ord = NULL;
done:
    free(stack);
    free(indeg);
    free(ord);
    free(start);
    free(pos);
    free(readers);
    return rc;
}

static int new_node(gloader *L, int op, const int *in, int nin, nn_node **out)
{
    int id = nn_append_node(L->nn, &L->cap, &L->owner, &L->shapes, op, L->cur->name, in, nin);
    if (id < 0)
        return fail(L, id, "out of memory");
    nn_node *n = &L->nn->nodes[id];
    n->rank = 4;
    int me = (int)(L->cur - L->g);
    L->owner[id] = me;
    L->g[me].val = id;
    *out = n;
    return 0;
}

static int finish_node(gloader *L)
{
    int id = L->nn->nnodes - 1;
    char err[300];
    if (nn_infer(L->nn, id, L->shapes, NULL, err, sizeof err) != 0)
        return CORRUPT("%s", err);
    if (L->shapes[id].c < 1 || L->shapes[id].c > NN_MAX_CHANNELS)
        return UNSUPPORTED("%d channels are beyond the engine's bounds", L->shapes[id].c);
    return 0;
}

/* Input k as a tensor: its graph.h node, or an error when it is a constant. */
static int tensor_in(gloader *L, int k, int *node)
{
    const gnode *g = &L->g[L->g[L->cur->in[k]].canon];
    if (g->val < 0)
        return UNSUPPORTED("input %d is a constant where a tensor is needed", k);
    *node = g->val;
    return 0;
}

/* Input k as a constant of `count` values (-1: any). */
static int const_in(gloader *L, int k, long count, const float **vals, const nn_weight **w)
{
    const gnode *g = &L->g[L->g[L->cur->in[k]].canon];
    if (!g->cw)
        return UNSUPPORTED("input %d must be a constant", k);
    if (count >= 0 && (long)g->cw->count != count)
        return CORRUPT("constant '%.*s' has %zu values, %ld expected", TG_CUT(g->name, 100),
                       g->cw->count, count);
    g->cw->used = 1;
    *vals = L->ws.params + g->cw->offset;
    if (w)
        *w = g->cw;
    return 0;
}

static int is_const(const gloader *L, int k)
{
    return L->g[L->g[L->cur->in[k]].canon].cw != NULL;
}

/* May node `id` take over the current node's work (a fold or a fused activation)?
 * Only when it still outputs the value the current node reads and nobody else does. */
static int foldable(const gloader *L, int id, int k)
{
    int src = L->g[L->cur->in[k]].canon;
    return id > 0 && L->owner[id] == src && L->g[src].consumers == 1;
}

static void take_over(gloader *L, int id)
{
    int me = (int)(L->cur - L->g);
    free(L->nn->nodes[id].name);
    L->nn->nodes[id].name = strdup(L->cur->name); /* checked by the caller */
    L->owner[id] = me;
    L->g[me].val = id;
}

static float *dup_floats(const float *src, size_t n)
{
    float *d = malloc((n ? n : 1) * sizeof *d);
    if (d && n)
        memcpy(d, src, n * sizeof *d);
    return d;
}

/* Conv2D / _FusedConv2D / DepthwiseConv2dNative / FusedDepthwiseConv2dNative */
static int build_conv(gloader *L, int depthwise, int fused)
{
    int x = 0, rc, act = NN_ACT_LINEAR;
    float mx = INFINITY;
    const float *kv, *bv = NULL;
    const nn_weight *kw;
    if (L->cur->nin != (fused ? 3 : 2))
        return UNSUPPORTED("%d inputs; input, filter%s expected", L->cur->nin,
                           fused ? " and bias" : "");
    if ((rc = tensor_in(L, 0, &x)) || (rc = const_in(L, 1, -1, &kv, &kw)))
        return rc;
    int cin = L->shapes[x].c;
    if (kw->rank != 4 || kw->shape[2] != cin || kw->shape[0] > NN_MAX_KERNEL ||
        kw->shape[1] > NN_MAX_KERNEL)
        return CORRUPT("the filter is not [kh, kw, %d, n] with kh, kw <= %d", cin, NN_MAX_KERNEL);
    if (depthwise && kw->shape[3] != 1)
        return UNSUPPORTED("depthwise channel multiplier %d is not supported (only 1)",
                           kw->shape[3]);
    int cout = depthwise ? cin : kw->shape[3];
    if (fused) {
        json_t *ops = json_object_get(
            json_object_get(json_object_get(L->cur->attr, "fused_ops"), "list"), "s");
        long long nargs = 1;
        json_t *na = json_object_get(json_object_get(L->cur->attr, "num_args"), "i");
        if (na && json_int(na, &nargs))
            return CORRUPT("attribute 'num_args' is not an integer");
        if (!json_is_array(ops) || json_array_size(ops) < 1 || json_array_size(ops) > 2 ||
            nargs != 1)
            return UNSUPPORTED("only BiasAdd with an optional Relu/Relu6 can be fused");
        for (size_t i = 0; i < json_array_size(ops); i++) {
            char op[32];
            json_t *s = json_array_get(ops, i);
            if (!json_is_string(s) || b64(json_string_value(s), op, sizeof op))
                return CORRUPT("attribute 'fused_ops' is not a list of strings");
            if (i == 0 && strcmp(op, "BiasAdd") != 0)
                return UNSUPPORTED("fused op %s is not supported (BiasAdd first)", op);
            if (i == 1 && !strcmp(op, "Relu"))
                act = NN_ACT_RELU;
            else if (i == 1 && !strcmp(op, "Relu6"))
                act = NN_ACT_RELU, mx = 6.0f;
            else if (i == 1)
                return UNSUPPORTED("fused activation %s is not supported (Relu, Relu6)", op);
        }
        if ((rc = const_in(L, 2, cout, &bv, NULL)))
            return rc;
    }
    nn_node *n;
    if ((rc = new_node(L, depthwise ? NN_DWCONV : NN_CONV, &x, 1, &n)) || (rc = window_attrs(L, n)))
        return rc;
    n->kh = kw->shape[0], n->kw = kw->shape[1], n->c = cout;
    n->act = act, n->act_max = mx;
    n->w = dup_floats(kv, kw->count);
    if (!n->w || (bv && !(n->b = dup_floats(bv, (size_t)cout))))
        return fail(L, TG_ENOMEM, "out of memory");
    return finish_node(L);
}

/* Add/AddV2/BiasAdd/Mul with one constant operand: a per-channel affine. */
static int build_affine(gloader *L, int mul)
{
    int t = is_const(L, 0) ? 1 : 0, x = 0, rc;
    const float *kv;
    const nn_weight *kw;
    if ((rc = tensor_in(L, t, &x)) || (rc = const_in(L, 1 - t, -1, &kv, &kw)))
        return rc;
    int c = L->shapes[x].c;
    if (kw->count != 1 && kw->count != (size_t)c)
        return UNSUPPORTED("a constant of %zu values cannot be broadcast over %d channels",
                           kw->count, c);
    for (int i = 0; i + 1 < kw->rank; i++)
        if (kw->shape[i] != 1)
            return UNSUPPORTED("a constant varying over more than the channel axis");
    nn_node *n = &L->nn->nodes[x];
    int fold = foldable(L, x, t) && n->act == NN_ACT_LINEAR &&
               (n->op == NN_CONV || n->op == NN_DWCONV || n->op == NN_AFFINE);
    if (!fold) {
        if ((rc = new_node(L, NN_AFFINE, &x, 1, &n)))
            return rc;
        n->c = c;
        n->w = malloc((size_t)c * sizeof *n->w);
        n->b = calloc((size_t)c, sizeof *n->b);
        if (!n->w || !n->b)
            return fail(L, TG_ENOMEM, "out of memory");
        for (int i = 0; i < c; i++)
            n->w[i] = 1.0f;
    } else {
        take_over(L, x);
        if (!n->name || (!n->b && !(n->b = calloc((size_t)c, sizeof *n->b))))
            return fail(L, TG_ENOMEM, "out of memory");
    }
    /* rows of w: CONV [kh*kw*cin][c], DWCONV [kh*kw][c], AFFINE [c] */
    size_t rows = n->op == NN_CONV     ? (size_t)n->kh * n->kw * L->shapes[n->in[0]].c
                  : n->op == NN_DWCONV ? (size_t)n->kh * n->kw
                                       : 1;
    for (int i = 0; i < c; i++) {
        float k = kv[kw->count == 1 ? 0 : i];
        if (mul) {
            for (size_t r = 0; r < rows; r++)
                n->w[r * (size_t)c + (size_t)i] *= k;
            n->b[i] *= k;
        } else
            n->b[i] += k;
    }
    return fold ? 0 : finish_node(L);
}

/* Add/Mul of two tensors. */
static int build_binary(gloader *L, int mul)
{
    int a = 0, b = 0, rc;
    if (L->cur->nin != 2)
        return UNSUPPORTED("%d inputs; 2 expected", L->cur->nin);
    if (is_const(L, 0) || is_const(L, 1))
        return is_const(L, 0) && is_const(L, 1)
                   ? UNSUPPORTED("an op on two constants is not supported")
                   : build_affine(L, mul);
    if ((rc = tensor_in(L, 0, &a)) || (rc = tensor_in(L, 1, &b)))
        return rc;
    nn_shape sa = L->shapes[a], sb = L->shapes[b];
    if (mul && sa.h == 1 && sa.w == 1 && !(sb.h == 1 && sb.w == 1)) {
        int t = a; /* the per-channel vector goes second */
        a = b, b = t;
    }
    int ins[2] = {a, b};
    nn_node *n;
    if ((rc = new_node(L, mul ? NN_MUL : NN_ADD, ins, 2, &n)))
        return rc;
    n->c = L->shapes[a].c;
    if (!mul && L->shapes[b].c != n->c)
        return CORRUPT("inputs of %d and %d channels cannot be added", n->c, L->shapes[b].c);
    return finish_node(L);
}

/* Relu / Relu6 / Sigmoid: fused into the producer when possible. */
static int build_act(gloader *L, int act, float mx)
{
    int x = 0, rc;
    if (L->cur->nin != 1)
        return UNSUPPORTED("%d inputs; 1 expected", L->cur->nin);
    if ((rc = tensor_in(L, 0, &x)))
        return rc;
    nn_node *p = &L->nn->nodes[x];
    int ok = p->op == NN_CONV || p->op == NN_AFFINE ||
             ((p->op == NN_DWCONV || p->op == NN_ADD) && act == NN_ACT_RELU) ||
             (p->op == NN_DWCONV && act == NN_ACT_SIGMOID);
    if (ok && foldable(L, x, 0) && p->act == NN_ACT_LINEAR) {
        take_over(L, x);
        p->act = act, p->act_max = mx;
        return p->name ? 0 : fail(L, TG_ENOMEM, "out of memory");
    }
    nn_node *n;
    if ((rc = new_node(L, NN_ACT, &x, 1, &n)))
        return rc;
    n->c = L->shapes[x].c, n->act = act, n->act_max = mx;
    return finish_node(L);
}

static int build_concat(gloader *L)
{
    int ins[NN_MAX_INPUTS], nt = L->cur->nin - 1, rc;
    const float *axis;
    if (nt < 1)
        return CORRUPT("needs tensors and an axis");
    if ((rc = const_in(L, nt, 1, &axis, NULL)))
        return rc;
    if (*axis != 3.0f && *axis != -1.0f)
        return UNSUPPORTED("concatenation along axis %g is not supported (channels only)",
                           (double)*axis);
    long c = 0;
    for (int k = 0; k < nt; k++) {
        if ((rc = tensor_in(L, k, &ins[k])))
            return rc;
        c += L->shapes[ins[k]].c;
    }
    if (c > NN_MAX_CHANNELS)
        return UNSUPPORTED("%ld channels are beyond the engine's bounds", c);
    nn_node *n;
    if ((rc = new_node(L, NN_CONCAT, ins, nt, &n)))
        return rc;
    n->c = (int)c;
    return finish_node(L);
}

static int build_mean(gloader *L)
{
    int x = 0, rc, keep;
    const float *ax;
    if (L->cur->nin != 2)
        return UNSUPPORTED("%d inputs; a tensor and the axes expected", L->cur->nin);
    if ((rc = tensor_in(L, 0, &x)) || (rc = const_in(L, 1, 2, &ax, NULL)) ||
        (rc = attr_bool(L, "keep_dims", 0, &keep)))
        return rc;
    if (!((ax[0] == 1 && ax[1] == 2) || (ax[0] == 2 && ax[1] == 1)) || !keep)
        return UNSUPPORTED("only a mean over height and width that keeps them is supported");
    nn_node *n;
    if ((rc = new_node(L, NN_GAP, &x, 1, &n)))
        return rc;
    n->c = L->shapes[x].c;
    return finish_node(L);
}

static int build_pool(gloader *L, int op)
{
    int x = 0, rc, k[4];
    if (L->cur->nin != 1)
        return UNSUPPORTED("%d inputs; 1 expected", L->cur->nin);
    if ((rc = tensor_in(L, 0, &x)) || (rc = attr_ints(L, "ksize", 4, 0, 1, NN_MAX_KERNEL, k)))
        return rc;
    if (k[0] != 1 || k[3] != 1)
        return UNSUPPORTED("pooling over the batch or channel axis is not supported");
    nn_node *n;
    if ((rc = new_node(L, op, &x, 1, &n)) || (rc = window_attrs(L, n)))
        return rc;
    n->kh = k[1], n->kw = k[2], n->c = L->shapes[x].c;
    return finish_node(L);
}

static int build_resize(gloader *L)
{
    int x = 0, rc, align, half;
    const float *size;
    if (L->cur->nin != 2)
        return UNSUPPORTED("%d inputs; a tensor and the size expected", L->cur->nin);
    if ((rc = tensor_in(L, 0, &x)) || (rc = const_in(L, 1, 2, &size, NULL)) ||
        (rc = attr_bool(L, "align_corners", 0, &align)) ||
        (rc = attr_bool(L, "half_pixel_centers", 0, &half)))
        return rc;
    if (align)
        return UNSUPPORTED("align_corners is not supported");
    nn_shape s = L->shapes[x];
    if (!(size[0] >= 1 && size[0] <= NN_MAX_SIDE * NN_MAX_KERNEL && size[1] >= 1 &&
          size[1] <= NN_MAX_SIDE * NN_MAX_KERNEL))
        return CORRUPT("the resize size is not a pair of sizes");
    int fh = s.h > 0 ? (int)size[0] / s.h : 0, fw = s.w > 0 ? (int)size[1] / s.w : 0;
    if (fh < 1 || fw < 1 || fh > NN_MAX_KERNEL || fw > NN_MAX_KERNEL ||
        (float)(fh * s.h) != size[0] || (float)(fw * s.w) != size[1])
        return UNSUPPORTED("a resize from %dx%d to %gx%g is not an integer upscaling", s.h, s.w,
                           (double)size[0], (double)size[1]);
    nn_node *n;
    if ((rc = new_node(L, NN_RESIZE, &x, 1, &n)))
        return rc;
    n->uh = fh, n->uw = fw, n->half_pixel = half, n->c = s.c;
    return finish_node(L);
}

static int build_input(gloader *L)
{
    json_t *d =
        json_object_get(json_object_get(json_object_get(L->cur->attr, "shape"), "shape"), "dim");
    long long v[4];
    if (!json_is_array(d) || json_array_size(d) != 4)
        return UNSUPPORTED("the input must be a batch of height × width × channels images");
    for (int i = 0; i < 4; i++)
        if (json_int(json_object_get(json_array_get(d, (size_t)i), "size"), &v[i]) || v[i] == 0 ||
            v[i] < -1 || v[i] > NN_MAX_SIDE)
            return CORRUPT("input dimension %d is not a size", i);
    if (v[3] < 1 || v[3] > NN_MAX_CHANNELS)
        return UNSUPPORTED("the input's channel count must be known and at most %d",
                           NN_MAX_CHANNELS);
    nn_node *n;
    int rc = new_node(L, NN_INPUT, NULL, 0, &n);
    if (rc)
        return rc;
    n->c = (int)v[3];
    L->nn->in_c = (int)v[3];
    L->shapes[0] = (nn_shape){v[1] > 0 ? (int)v[1] : GD_DEFAULT_SIDE,
                              v[2] > 0 ? (int)v[2] : GD_DEFAULT_SIDE, (int)v[3]};
    return 0;
}

static int build_const(gloader *L)
{
    gnode *g = &L->g[L->cur - L->g];
    if (!(g->cw = nn_weights_find(&L->ws, g->name)))
        return CORRUPT("the constant has no value in the weightsManifest");
    return 0;
}

static int build(gloader *L)
{
    const char *op = L->cur->op;
    if (!strcmp(op, "Const"))
        return build_const(L);
    if (!strcmp(op, "Identity")) {
        if (L->cur->nin != 1)
            return CORRUPT("%d inputs; 1 expected", L->cur->nin);
        return 0; /* canon was resolved before the walk */
    }
    if (!strcmp(op, "Placeholder"))
        return L->nn->nnodes ? UNSUPPORTED("only one input is supported") : build_input(L);
    if (!L->nn->nnodes)
        return UNSUPPORTED("an op before the input (only ops on the input are supported)");
    if (!strcmp(op, "Conv2D"))
        return build_conv(L, 0, 0);
    if (!strcmp(op, "_FusedConv2D"))
        return build_conv(L, 0, 1);
    if (!strcmp(op, "DepthwiseConv2dNative"))
        return build_conv(L, 1, 0);
    if (!strcmp(op, "FusedDepthwiseConv2dNative"))
        return build_conv(L, 1, 1);
    if (!strcmp(op, "Add") || !strcmp(op, "AddV2"))
        return build_binary(L, 0);
    if (!strcmp(op, "BiasAdd"))
        return build_affine(L, 0);
    if (!strcmp(op, "Mul"))
        return build_binary(L, 1);
    if (!strcmp(op, "Relu"))
        return build_act(L, NN_ACT_RELU, INFINITY);
    if (!strcmp(op, "Relu6"))
        return build_act(L, NN_ACT_RELU, 6.0f);
    if (!strcmp(op, "Sigmoid"))
        return build_act(L, NN_ACT_SIGMOID, INFINITY);
    if (!strcmp(op, "ConcatV2"))
        return build_concat(L);
    if (!strcmp(op, "Mean"))
        return build_mean(L);
    if (!strcmp(op, "MaxPool"))
        return build_pool(L, NN_MAXPOOL);
    if (!strcmp(op, "AvgPool"))
        return build_pool(L, NN_AVGPOOL);
    if (!strcmp(op, "ResizeBilinear"))
        return build_resize(L);
    return UNSUPPORTED("op %.*s is not supported", TG_CUT(op, 60));
}

/* The names a session may tap: every needed non-constant node. */
static int make_names(gloader *L, const int *order, int n)
{
    tgi_nn *nn = L->nn;
    nn->names = calloc((size_t)n, sizeof *nn->names);
    if (!nn->names)
        return fail(L, TG_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        const gnode *g = &L->g[order[i]], *c = &L->g[g->canon];
        if (c->val < 0)
            continue;
        nn_name *nm = &nn->names[nn->nnames++];
        if (!(nm->name = strdup(g->name)))
            return fail(L, TG_ENOMEM, "out of memory");
        nm->node = c->val;
        nm->absorbed = L->owner[c->val] != g->canon;
    }
    return 0;
}

static int load(gloader *L, const char *dir, const char *const *outputs, int noutputs)
{
    struct stat st;
    if (stat(L->path, &st) != 0)
        return fail(L, errno == ENOENT ? TG_ENOENT : TG_EIO, "cannot open it: %s", strerror(errno));
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > NN_MAX_JSON_BYTES)
        return fail(L, TG_ELIMIT, "not a regular file of at most %u bytes", NN_MAX_JSON_BYTES);
    json_error_t jerr;
    L->root = json_load_file(L->path, JSON_REJECT_DUPLICATES, &jerr);
    if (!L->root)
        return CORRUPT("not valid JSON (line %d: %.*s)", jerr.line, TG_CUT(jerr.text, 200));
    if (!json_is_object(L->root) || !json_is_object(json_object_get(L->root, "modelTopology")) ||
        !json_is_array(json_object_get(json_object_get(L->root, "modelTopology"), "node")))
        return CORRUPT("not a TF.js graph model (no modelTopology.node)");
    int rc = parse_nodes(L);
    if (rc)
        return rc;
    int outs[NN_MAX_INPUTS];
    for (int i = 0; i < noutputs; i++)
        if ((outs[i] = find_node(L, outputs[i], strlen(outputs[i]))) < 0)
            return fail(L, TG_EINVAL, "the graph has no node '%.*s'", TG_CUT(outputs[i], 100));
    int *order = NULL, n = 0;
    if ((rc = order_nodes(L, outs, noutputs, &order, &n)))
        return rc;
    if ((rc = nn_weights_load(L->ctx, L->path, dir, json_object_get(L->root, "weightsManifest"),
                              &L->ws)))
        goto done;
    /* aliases first (order is topological), then the readers of each value */
    for (int i = 0; i < n; i++) {
        gnode *g = &L->g[order[i]];
        if (!strcmp(g->op, "Identity") && g->nin == 1)
            g->canon = L->g[g->in[0]].canon;
    }
    for (int i = 0; i < n; i++) {
        gnode *g = &L->g[order[i]];
        if (g->canon != order[i])
            continue;
        for (int k = 0; k < g->nin; k++)
            L->g[L->g[g->in[k]].canon].consumers++;
    }
    for (int i = 0; i < noutputs; i++)
        L->g[L->g[outs[i]].canon].consumers++;
    for (int i = 0; i < n; i++) {
        L->cur = &L->g[order[i]];
        if ((rc = build(L)))
            goto done;
    }
    L->cur = NULL;
    if (!L->nn->nnodes) {
        rc = UNSUPPORTED("the outputs do not depend on an input");
        goto done;
    }
    for (int i = 0; i < noutputs; i++)
        if (L->g[L->g[outs[i]].canon].val < 0) {
            rc = UNSUPPORTED("output '%.*s' is a constant", TG_CUT(outputs[i], 100));
            goto done;
        }
    L->nn->output = L->g[L->g[outs[0]].canon].val;
    L->nn->in_h = L->nn->in_w = 0; /* any size the merges allow */
    rc = make_names(L, order, n);
done:
    free(order);
    return rc;
}

int tgi_nn_load_graph(tg_ctx *ctx, const char *json_path, const char *const *outputs, int noutputs,
                      tgi_nn **out)
{
    *out = NULL;
    if (!json_path || !*json_path || !outputs || noutputs < 1 || noutputs > NN_MAX_INPUTS)
        return tgi_fail(ctx, TG_EINVAL, "tgi_nn_load_graph: no model file or no outputs");
    for (int i = 0; i < noutputs; i++)
        if (!outputs[i])
            return tgi_fail(ctx, TG_EINVAL, "tgi_nn_load_graph: output %d is NULL", i);
    gloader L = {.ctx = ctx, .path = json_path};
    char *dir = strdup(json_path);
    L.nn = calloc(1, sizeof *L.nn);
    int rc;
    if (!dir || !L.nn || !(L.nn->dir = strdup(json_path))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, strlen(dir) + 1, "%s", ".");
    rc = load(&L, dir, outputs, noutputs);
done:
    if (rc == 0)
        *out = L.nn;
    else
        tgi_nn_free(&L.nn);
    json_decref(L.root);
    nn_weights_free(&L.ws);
    free(L.g);
    free(L.byname);
    free(L.owner);
    free(L.shapes);
    free(dir);
    return rc;
}
