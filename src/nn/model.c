/*
 * model.c — tgi_nn_load(): a TF.js layers model (model.json + weight shards) into the
 * node list of graph.h.
 *
 * The file is untrusted: every number is range-checked, every weight shape is
 * checked against the layer's configuration, sizes are computed with overflow
 * checks and compared with the real file sizes before anything is allocated, and
 * shard paths may not leave the model's directory. Anything unsupported is an error
 * naming the layer and what it asked for.
 *
 * Steps:
 *   1. read model.json (bounded), find the layer list, the input and the output;
 *   2. read the weights manifest: validate each entry, check the shard sizes, read
 *      and dequantize (uint8/uint16: w = q*scale + min) into one float array, and
 *      index the weights by name (the manifest is in no useful order);
 *   3. walk the layers in file order (Keras saves them topologically), building
 *      nodes and folding as we go:
 *        ZeroPadding2D → the next valid Conv2D/DepthwiseConv2D (as explicit pads),
 *        BatchNormalization → the preceding convolution (scaled kernel + bias),
 *        ReLU / Activation → the preceding convolution, BatchNorm or Add,
 *      a fold happens only when the absorbed layer's output has no other consumer;
 *   4. check that every weight was used (a leftover means a name mismatch).
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

#include "core/assert.h"
#include "core/error.h"
#include "core/utf8.h"
#include "nn/graph.h"
#include "nn/weights.h"

typedef nn_weight weight;

typedef struct layer {
    const char *name, *cls; /* borrowed from the JSON document */
    json_t *config;
    int in[NN_MAX_INPUTS]; /* layer indices */
    int nin;
    int consumers; /* inbound references + 1 for the model's output */
    int node;      /* the node holding this layer's output (or absorbing it) */
    int absorbed;  /* folded into `node`, whose output is no longer this layer's */
} layer;

typedef struct loader {
    tg_ctx *ctx;
    char *path; /* dir/model.json, for messages */
    json_t *root;
    weight *w;
    int nw;
    float *params;
    layer *layers;
    int nlayers;
    const layer *cur; /* the layer being built, for messages */
    tgi_nn *nn;
    int cap_nodes;
    int *node_layer;  /* node -> layer index of its current output */
    nn_shape *shapes; /* static shapes (h, w = 0 when the input size is free) */
} loader;

/* ---- errors: "<dir>/model.json: layer 'x': detail" ---- */

static int failv(loader *L, int code, const char *fmt, va_list ap)
{
    char detail[700];
    vsnprintf(detail, sizeof detail, fmt, ap);
    if (L->cur)
        return tgi_fail(L->ctx, code, "%s: layer '%.*s' (%.*s): %s", L->path,
                        TG_CUT(L->cur->name, 100), TG_CUT(L->cur->cls, 40), detail);
    return tgi_fail(L->ctx, code, "%s: %s", L->path, detail);
}

__attribute__((format(printf, 3, 4))) static int fail(loader *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = failv(L, code, fmt, ap);
    va_end(ap);
    return rc;
}

#define CORRUPT(...)     fail(L, TG_ECORRUPT, __VA_ARGS__)
#define UNSUPPORTED(...) fail(L, TG_ELIMIT, __VA_ARGS__)

/* ---- reading files ---- */

/* Read a whole regular file of at most max bytes. */
static int read_file(loader *L, const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(L, errno == ENOENT ? TG_ENOENT : TG_EIO, "cannot open %s: %s", path,
                    strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(L, TG_EIO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > max) {
        fclose(f);
        return fail(L, TG_ELIMIT, "%s is %lld bytes, more than the %zu allowed", path,
                    (long long)st.st_size, max);
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return fail(L, TG_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = n ? fread(buf, 1, n, f) : 0;
    fclose(f);
    if (got != n) {
        free(buf);
        return fail(L, TG_EIO, "short read on %s", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* ---- JSON field helpers (layer config) ---- */

static int cfg_int(loader *L, const char *key, int def, int lo, int hi, int *out)
{
    json_t *v = json_object_get(L->cur->config, key);
    if (!v || json_is_null(v)) {
        if (def < lo)
            return CORRUPT("missing '%s'", key);
        *out = def;
        return 0;
    }
    if (!json_is_integer(v))
        return CORRUPT("'%s' is not an integer", key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return UNSUPPORTED("'%s' = %lld is outside [%d, %d]", key, (long long)x, lo, hi);
    *out = (int)x;
    return 0;
}

/* A pair such as kernel_size: [a, b] or a single integer for both. def < lo: required. */
static int cfg_pair(loader *L, const char *key, int def, int lo, int hi, int out[2])
{
    json_t *v = json_object_get(L->cur->config, key);
    if (!v || json_is_null(v)) {
        if (def < lo)
            return CORRUPT("missing '%s'", key);
        out[0] = out[1] = def;
        return 0;
    }
    json_int_t x[2];
    if (json_is_integer(v)) {
        x[0] = x[1] = json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) == 2 &&
               json_is_integer(json_array_get(v, 0)) && json_is_integer(json_array_get(v, 1))) {
        x[0] = json_integer_value(json_array_get(v, 0));
        x[1] = json_integer_value(json_array_get(v, 1));
    } else {
        return CORRUPT("'%s' is not a pair of integers", key);
    }
    for (int i = 0; i < 2; i++) {
        if (x[i] < lo || x[i] > hi)
            return UNSUPPORTED("'%s' = %lld is outside [%d, %d]", key, (long long)x[i], lo, hi);
        out[i] = (int)x[i];
    }
    return 0;
}

static int cfg_str(loader *L, const char *key, const char *def, const char **out)
{
    json_t *v = json_object_get(L->cur->config, key);
    if (!v || json_is_null(v)) {
        if (!def)
            return CORRUPT("missing '%s'", key);
        *out = def;
        return 0;
    }
    if (!json_is_string(v))
        return CORRUPT("'%s' is not a string", key);
    *out = json_string_value(v);
    return 0;
}

static int cfg_bool(loader *L, const char *key, int def, int *out)
{
    json_t *v = json_object_get(L->cur->config, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v))
        return CORRUPT("'%s' is not a boolean", key);
    *out = json_is_true(v);
    return 0;
}

/* A finite number; *present = 0 when absent or null. */
static int cfg_num(loader *L, const char *key, double *out, int *present)
{
    json_t *v = json_object_get(L->cur->config, key);
    *present = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return CORRUPT("'%s' is not a finite number", key);
    *out = json_number_value(v);
    *present = 1;
    return 0;
}

/* Options we do not implement must have their neutral value. */
static int cfg_expect(loader *L, const char *key, const char *want)
{
    const char *s;
    int rc = cfg_str(L, key, want, &s);
    if (rc)
        return rc;
    if (strcmp(s, want) != 0)
        return UNSUPPORTED("%s '%.*s' is not supported (only '%s')", key, TG_CUT(s, 60), want);
    return 0;
}

static int cfg_padding(loader *L, int *same)
{
    const char *p;
    int rc = cfg_str(L, "padding", "valid", &p);
    if (rc)
        return rc;
    if (strcmp(p, "same") != 0 && strcmp(p, "valid") != 0)
        return UNSUPPORTED("padding '%.*s' is not supported", TG_CUT(p, 60));
    *same = p[0] == 's';
    return 0;
}

/* ---- weights manifest ---- */

static size_t quant_bytes(const char *dtype)
{
    if (!strcmp(dtype, "uint8"))
        return 1;
    if (!strcmp(dtype, "uint16") || !strcmp(dtype, "float16"))
        return 2;
    return 0;
}

/* IEEE half -> float (graph models store float32 weights as float16). */
static float half_to_float(unsigned h)
{
    unsigned sign = (h >> 15) & 1, exp = (h >> 10) & 31, man = h & 1023;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24); /* subnormal */
    else if (exp == 31)
        v = man ? NAN : INFINITY;
    else
        v = ldexpf((float)(man | 1024), (int)exp - 25);
    return sign ? -v : v;
}

/* One manifest entry: name, shape, dtype, quantization. Adds its stored bytes to *need. */
static int parse_weight(loader *L, json_t *e, weight *w, size_t *need, double *qmin, double *qscale,
                        size_t *qbytes)
{
    json_t *name = json_object_get(e, "name"), *shape = json_object_get(e, "shape");
    json_t *dtype = json_object_get(e, "dtype"), *q = json_object_get(e, "quantization");
    if (!json_is_string(name) || strlen(json_string_value(name)) > NN_MAX_NAME)
        return CORRUPT("weightsManifest: a weight without a valid name");
    w->name = json_string_value(name);
    if (!json_is_array(shape) || json_array_size(shape) > 4)
        return CORRUPT("weight '%.*s': 'shape' must be an array of at most 4 sizes",
                       TG_CUT(w->name, 100));
    w->rank = (int)json_array_size(shape);
    w->count = 1;
    for (int i = 0; i < w->rank; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > (1 << 24))
            return CORRUPT("weight '%.*s': dimension %d is not an integer in [1, 2^24]",
                           TG_CUT(w->name, 100), i);
        w->shape[i] = (int)json_integer_value(d);
        if (w->count > (NN_MAX_WEIGHT_BYTES / (size_t)w->shape[i]))
            return UNSUPPORTED("weight '%.*s' has more than %u elements", TG_CUT(w->name, 100),
                               NN_MAX_WEIGHT_BYTES);
        w->count *= (size_t)w->shape[i];
    }
    int is_int = json_is_string(dtype) && !strcmp(json_string_value(dtype), "int32");
    if (!json_is_string(dtype) || (strcmp(json_string_value(dtype), "float32") != 0 && !is_int))
        return UNSUPPORTED("weight '%.*s': dtype %.*s is not supported (float32, int32)",
                           TG_CUT(w->name, 100),
                           TG_CUT(json_is_string(dtype) ? json_string_value(dtype) : "?", 30));
    *qbytes = 4;
    w->is_int = is_int;
    if (is_int && q && !json_is_null(q))
        return UNSUPPORTED("weight '%.*s': quantized int32 is not supported", TG_CUT(w->name, 100));
    if (q && !json_is_null(q) && json_is_string(json_object_get(q, "dtype")) &&
        !strcmp(json_string_value(json_object_get(q, "dtype")), "float16")) {
        *qbytes = 2;
        w->half = 1;
    } else if (q && !json_is_null(q)) {
        json_t *qd = json_object_get(q, "dtype");
        json_t *mn = json_object_get(q, "min"), *sc = json_object_get(q, "scale");
        if (!json_is_string(qd) || !(*qbytes = quant_bytes(json_string_value(qd))))
            return UNSUPPORTED("weight '%.*s': quantization dtype %.*s is not supported "
                               "(uint8, uint16)",
                               TG_CUT(w->name, 100),
                               TG_CUT(json_is_string(qd) ? json_string_value(qd) : "?", 30));
        if (!json_is_number(mn) || !json_is_number(sc) || !isfinite(json_number_value(mn)) ||
            !isfinite(json_number_value(sc)))
            return CORRUPT("weight '%.*s': quantization needs finite 'min' and 'scale'",
                           TG_CUT(w->name, 100));
        *qmin = json_number_value(mn);
        *qscale = json_number_value(sc);
    }
    *need += w->count * *qbytes;
    return 0;
}

/* A shard path must name a file inside the model's directory. */
static int check_shard_path(loader *L, const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > NN_MAX_NAME || p[0] == '/' || strchr(p, '\\'))
        return CORRUPT("weight path '%.*s' is not a relative file name", TG_CUT(p, 100));
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || (len == 2 && s[0] == '.' && s[1] == '.') || (len == 1 && s[0] == '.'))
            return CORRUPT("weight path '%.*s' leaves the model directory", TG_CUT(p, 100));
        s += len + (e ? 1 : 0);
    }
    return 0;
}

/* Size of dir/p, or an error. */
static int shard_size(loader *L, const char *dir, const char *p, size_t *size)
{
    char full[4096];
    snprintf(full, sizeof full, "%s/%s", dir, p);
    struct stat st;
    if (stat(full, &st) != 0)
        return fail(L, errno == ENOENT ? TG_ENOENT : TG_EIO, "weight shard %s: %s", full,
                    strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(L, TG_EIO, "weight shard %s is not a regular file", full);
    if ((uint64_t)st.st_size > NN_MAX_WEIGHT_BYTES)
        return fail(L, TG_ELIMIT, "weight shard %s is larger than %u bytes", full,
                    NN_MAX_WEIGHT_BYTES);
    *size = (size_t)st.st_size;
    return 0;
}

static int weight_cmp(const void *a, const void *b)
{
    return strcmp(((const weight *)a)->name, ((const weight *)b)->name);
}

/* Read all groups: pass 1 validates entries and sizes, pass 2 reads and dequantizes. */
static int load_weights(loader *L, const char *dir, json_t *manifest)
{
    if (!json_is_array(manifest) || json_array_size(manifest) > 1024)
        return CORRUPT("'weightsManifest' is not an array of groups");
    size_t total = 0, nweights = 0, total_floats = 0;
    json_t *g;
    size_t gi;
    json_array_foreach(manifest, gi, g)
    {
        json_t *paths = json_object_get(g, "paths"), *ws = json_object_get(g, "weights");
        if (!json_is_array(paths) || !json_is_array(ws) || json_array_size(paths) > 4096 ||
            json_array_size(ws) > 65536)
            return CORRUPT("weightsManifest group %zu needs 'paths' and 'weights' arrays", gi);
        nweights += json_array_size(ws);
    }
    if (nweights > 65536)
        return UNSUPPORTED("more than 65536 weights");
    L->w = calloc(nweights ? nweights : 1, sizeof *L->w);
    if (!L->w)
        return fail(L, TG_ENOMEM, "out of memory");

    /* pass 1: entries, sizes */
    json_array_foreach(manifest, gi, g)
    {
        json_t *paths = json_object_get(g, "paths"), *ws = json_object_get(g, "weights"), *e;
        size_t need = 0, have = 0, i;
        json_array_foreach(ws, i, e)
        {
            double qmin = 0, qscale = 0;
            size_t qb;
            weight *w = &L->w[L->nw++];
            int rc = parse_weight(L, e, w, &need, &qmin, &qscale, &qb);
            if (rc)
                return rc;
            if (need > NN_MAX_WEIGHT_BYTES)
                return UNSUPPORTED("the weights need more than %u bytes", NN_MAX_WEIGHT_BYTES);
            w->offset = total_floats;
            total_floats += w->count;
        }
        json_array_foreach(paths, i, e)
        {
            size_t sz = 0;
            if (!json_is_string(e))
                return CORRUPT("weightsManifest group %zu: a path is not a string", gi);
            int rc = check_shard_path(L, json_string_value(e));
            if (!rc)
                rc = shard_size(L, dir, json_string_value(e), &sz);
            if (rc)
                return rc;
            have += sz;
            if (have > NN_MAX_WEIGHT_BYTES)
                return UNSUPPORTED("the weight shards hold more than %u bytes",
                                   NN_MAX_WEIGHT_BYTES);
        }
        if (have != need)
            return CORRUPT("weightsManifest group %zu: the shards hold %zu bytes but the "
                           "weights listed need %zu (%s)",
                           gi, have, need, have < need ? "truncated shard?" : "wrong shard?");
        total += have;
        if (total > NN_MAX_WEIGHT_BYTES)
            return UNSUPPORTED("the weight shards hold more than %u bytes", NN_MAX_WEIGHT_BYTES);
    }
    if (total_floats > NN_MAX_WEIGHT_BYTES / sizeof(float))
        return UNSUPPORTED("more than %zu weight values", NN_MAX_WEIGHT_BYTES / sizeof(float));
    L->params = malloc((total_floats ? total_floats : 1) * sizeof(float));
    if (!L->params)
        return fail(L, TG_ENOMEM, "out of memory for %zu weights", total_floats);

    /* pass 2: read each group (its shards concatenated) and decode in manifest order */
    int wi = 0;
    json_array_foreach(manifest, gi, g)
    {
        json_t *paths = json_object_get(g, "paths"), *ws = json_object_get(g, "weights"), *e;
        size_t need = 0, i, pos = 0;
        for (int k = 0; k < (int)json_array_size(ws); k++) {
            const weight *w = &L->w[wi + k];
            json_t *q = json_object_get(json_array_get(ws, (size_t)k), "quantization");
            need += w->count * (q && !json_is_null(q)
                                    ? quant_bytes(json_string_value(json_object_get(q, "dtype")))
                                    : 4);
        }
        unsigned char *buf = malloc(need ? need : 1);
        if (!buf)
            return fail(L, TG_ENOMEM, "out of memory for %zu bytes of weights", need);
        json_array_foreach(paths, i, e)
        {
            char full[4096], *data = NULL;
            size_t len = 0;
            snprintf(full, sizeof full, "%s/%s", dir, json_string_value(e));
            int rc = read_file(L, full, need - pos, &data, &len);
            if (rc) {
                free(buf);
                return rc; /* the file changed since pass 1 */
            }
            memcpy(buf + pos, data, len);
            pos += len;
            free(data);
        }
        if (pos != need) {
            free(buf);
            return CORRUPT("weightsManifest group %zu: shards changed while reading", gi);
        }
        pos = 0;
        json_array_foreach(ws, i, e)
        {
            weight *w = &L->w[wi++];
            float *dst = L->params + w->offset;
            json_t *q = json_object_get(e, "quantization");
            if (w->half) {
                for (size_t k = 0; k < w->count; k++)
                    dst[k] = half_to_float(buf[pos + 2 * k] | (unsigned)buf[pos + 2 * k + 1] << 8);
                pos += w->count * 2;
            } else if (w->is_int) {
                for (size_t k = 0; k < w->count; k++) {
                    int32_t v;
                    memcpy(&v, buf + pos + 4 * k, 4); /* little-endian file */
                    dst[k] = (float)v;
                }
                pos += w->count * 4;
            } else if (q && !json_is_null(q)) {
                /* TF.js: value * scale + min, computed in double, stored as float32 */
                double mn = json_number_value(json_object_get(q, "min"));
                double sc = json_number_value(json_object_get(q, "scale"));
                size_t qb = quant_bytes(json_string_value(json_object_get(q, "dtype")));
                for (size_t k = 0; k < w->count; k++) {
                    unsigned v = qb == 1 ? buf[pos + k]
                                         : (unsigned)(buf[pos + 2 * k] | buf[pos + 2 * k + 1] << 8);
                    dst[k] = (float)(v * sc + mn);
                }
                pos += w->count * qb;
            } else {
                memcpy(dst, buf + pos, w->count * sizeof(float)); /* little-endian file */
                pos += w->count * sizeof(float);
            }
        }
        free(buf);
    }
    qsort(L->w, (size_t)L->nw, sizeof *L->w, weight_cmp);
    for (int i = 1; i < L->nw; i++)
        if (!strcmp(L->w[i].name, L->w[i - 1].name))
            return CORRUPT("weight '%.*s' is listed twice", TG_CUT(L->w[i].name, 100));
    return 0;
}

int nn_weights_load(tg_ctx *ctx, const char *path, const char *dir, json_t *manifest,
                    nn_weights *out)
{
    loader L = {.ctx = ctx, .path = (char *)path};
    *out = (nn_weights){0};
    int rc = load_weights(&L, dir, manifest);
    if (rc) {
        free(L.w);
        free(L.params);
        return rc;
    }
    *out = (nn_weights){L.w, L.nw, L.params};
    return 0;
}

nn_weight *nn_weights_find(const nn_weights *ws, const char *name)
{
    weight probe = {.name = name};
    return ws->nw ? bsearch(&probe, ws->w, (size_t)ws->nw, sizeof *ws->w, weight_cmp) : NULL;
}

void nn_weights_free(nn_weights *ws)
{
    free(ws->w);
    free(ws->params);
    *ws = (nn_weights){0};
}

/* Layer weight "<layer>/<suffix>" with the expected shape (-1 = any dimension). */
static int get_weight(loader *L, const char *suffix, int rank, const int *shape, const float **out)
{
    char key[2 * NN_MAX_NAME + 4];
    snprintf(key, sizeof key, "%s/%s", L->cur->name, suffix);
    weight probe = {.name = key};
    weight *w = bsearch(&probe, L->w, (size_t)L->nw, sizeof *L->w, weight_cmp);
    if (!w)
        return CORRUPT("weight '%s' is missing from the weightsManifest", key);
    int ok = w->rank == rank;
    for (int i = 0; ok && i < rank; i++)
        ok = shape[i] < 0 || shape[i] == w->shape[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < rank; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%d", i ? "," : "",
                     shape[i]);
        for (int i = 0; i < w->rank; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", i ? "," : "",
                     w->shape[i]);
        return CORRUPT("weight '%s' has shape [%s], the layer needs [%s]", key, got, want);
    }
    if (w->used)
        return CORRUPT("weight '%s' is used twice (a shared layer?)", key);
    w->used = 1;
    *out = L->params + w->offset;
    return 0;
}

static float *dup_floats(const float *src, size_t n)
{
    float *d = malloc(n * sizeof *d);
    if (d)
        memcpy(d, src, n * sizeof *d);
    return d;
}

/* ---- nodes ---- */

int nn_append_node(tgi_nn *nn, int *cap, int **owner, nn_shape **shapes, int op, const char *name,
                   const int *in, int nin)
{
    if (nn->nnodes == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        nn_node *n = realloc(nn->nodes, (size_t)nc * sizeof *n);
        if (!n)
            return TG_ENOMEM;
        nn->nodes = n;
        int *o = realloc(*owner, (size_t)nc * sizeof *o);
        if (!o)
            return TG_ENOMEM;
        *owner = o;
        nn_shape *sh = realloc(*shapes, (size_t)nc * sizeof *sh);
        if (!sh)
            return TG_ENOMEM;
        *shapes = sh;
        *cap = nc;
    }
    int id = nn->nnodes++;
    nn_node *n = &nn->nodes[id];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->act_max = INFINITY;
    n->name = strdup(name);
    n->in = malloc((size_t)(nin ? nin : 1) * sizeof *n->in);
    if (!n->name || !n->in)
        return TG_ENOMEM;
    if (nin > 0)
        memcpy(n->in, in, (size_t)nin * sizeof *in);
    n->nin = nin;
    return id;
}

static int new_node(loader *L, int op, const int *in, int nin, nn_node **out)
{
    int id =
        nn_append_node(L->nn, &L->cap_nodes, &L->node_layer, &L->shapes, op, L->cur->name, in, nin);
    if (id < 0)
        return fail(L, id, "out of memory");
    L->node_layer[id] = (int)(L->cur - L->layers);
    L->layers[L->node_layer[id]].node = id;
    *out = &L->nn->nodes[id];
    return 0;
}

/* Static output shape of the node just built (h, w = 0 when not known until a session). */
static int finish_node(loader *L)
{
    int id = L->nn->nnodes - 1;
    char err[200];
    if (nn_infer(L->nn, id, L->shapes, NULL, err, sizeof err) != 0)
        return CORRUPT("%s", err);
    return 0;
}

/* The node holding the output of the layer's i-th input (resolved in pass 1). */
static int in_node(loader *L, int i)
{
    return L->layers[L->cur->in[i]].node;
}

/* Can node `id` take over its consumer (fold/fuse)? Only when its current output (a
 * layer) is read by nobody else. */
static int sole_consumer(loader *L, int id)
{
    return id > 0 && L->layers[L->node_layer[id]].consumers == 1;
}

/* Move the current layer onto node `id`: the node now outputs this layer, and the
 * layers it output before (and their identity aliases) can no longer be tapped. */
static void absorb_into(loader *L, int id)
{
    nn_node *n = &L->nn->nodes[id];
    int me = (int)(L->cur - L->layers);
    for (int k = 0; k < me; k++)
        if (L->layers[k].node == id)
            L->layers[k].absorbed = 1;
    free(n->name);
    n->name = strdup(L->cur->name); /* checked by the caller */
    L->node_layer[id] = me;
    ((layer *)L->cur)->node = id;
}

/* An identity layer (Dropout, Activation('linear')): an alias of its input's node, and
 * from now on the layer whose consumers decide whether that node may be folded. */
static int alias_input(loader *L)
{
    int src = in_node(L, 0);
    layer *me = (layer *)L->cur;
    me->node = src;
    me->consumers += L->layers[L->node_layer[src]].consumers - 1; /* readers of both names */
    L->node_layer[src] = (int)(me - L->layers);
    return 0;
}

static int need_rank(loader *L, int node, int rank)
{
    if (L->nn->nodes[node].rank != rank)
        return CORRUPT("needs a %s input", rank == 4 ? "height×width×channels" : "vector");
    return 0;
}

static int parse_act(loader *L, const char *key, int allow_softmax, int *act)
{
    const char *a;
    int rc = cfg_str(L, key, "linear", &a);
    if (rc)
        return rc;
    if (!strcmp(a, "linear"))
        *act = NN_ACT_LINEAR;
    else if (!strcmp(a, "relu"))
        *act = NN_ACT_RELU;
    else if (allow_softmax && !strcmp(a, "softmax"))
        *act = NN_ACT_SOFTMAX;
    else
        return UNSUPPORTED("activation '%.*s' is not supported", TG_CUT(a, 60));
    return 0;
}

static int build_conv(loader *L, int depthwise)
{
    int src = in_node(L, 0), k[2], s[2], d[2], same, filters = 0, bias, act, rc, mult;
    nn_node *src_n = &L->nn->nodes[src];
    if ((rc = need_rank(L, src, 4)) || (rc = cfg_pair(L, "kernel_size", 0, 1, NN_MAX_KERNEL, k)) ||
        (rc = cfg_pair(L, "strides", 1, 1, NN_MAX_KERNEL, s)) ||
        (rc = cfg_pair(L, "dilation_rate", 1, 1, 1, d)) || (rc = cfg_padding(L, &same)) ||
        (rc = cfg_bool(L, "use_bias", 1, &bias)) || (rc = parse_act(L, "activation", 0, &act)) ||
        (rc = cfg_expect(L, "data_format", "channels_last")))
        return rc;
    int cin = src_n->c, cout;
    if (depthwise) {
        if ((rc = cfg_int(L, "depth_multiplier", 1, 1, 1, &mult)))
            return rc;
        cout = cin;
    } else {
        int groups;
        if ((rc = cfg_int(L, "filters", -1, 1, NN_MAX_CHANNELS, &filters)) ||
            (rc = cfg_int(L, "groups", 1, 1, 1, &groups)))
            return rc;
        cout = filters;
    }
    const float *kern, *b = NULL;
    int kshape[4] = {k[0], k[1], cin, depthwise ? 1 : cout}, bshape[1] = {cout};
    if ((rc = get_weight(L, depthwise ? "depthwise_kernel" : "kernel", 4, kshape, &kern)) ||
        (bias && (rc = get_weight(L, "bias", 1, bshape, &b))))
        return rc;
    /* a ZeroPadding2D read only by this valid convolution becomes its explicit pads */
    int pads[4] = {0, 0, 0, 0};
    if (!same && src_n->op == NN_PAD && sole_consumer(L, src)) {
        pads[0] = src_n->pt, pads[1] = src_n->pb, pads[2] = src_n->pl, pads[3] = src_n->pr;
        src_n->op = NN_DEAD;
        for (int j = 0; j < L->nlayers; j++) /* the pad layer and its aliases */
            if (L->layers[j].node == src)
                L->layers[j].node = L->nn->nnodes, L->layers[j].absorbed = 1;
        src = src_n->in[0];
    }
    nn_node *n;
    if ((rc = new_node(L, depthwise ? NN_DWCONV : NN_CONV, &src, 1, &n)))
        return rc;
    n->c = cout;
    n->rank = 4;
    n->kh = k[0], n->kw = k[1], n->sh = s[0], n->sw = s[1], n->same = same;
    n->pt = pads[0], n->pb = pads[1], n->pl = pads[2], n->pr = pads[3];
    n->act = act;
    size_t nw = (size_t)k[0] * (size_t)k[1] * (size_t)cin * (size_t)(depthwise ? 1 : cout);
    n->w = dup_floats(kern, nw);
    n->b = b ? dup_floats(b, (size_t)cout) : NULL;
    if (!n->w || (b && !n->b))
        return fail(L, TG_ENOMEM, "out of memory");
    return finish_node(L);
}

static int build_dense(loader *L, int arg)
{
    (void)arg;
    int src = in_node(L, 0), units, bias, act, rc;
    if ((rc = cfg_int(L, "units", -1, 1, NN_MAX_CHANNELS, &units)) ||
        (rc = cfg_bool(L, "use_bias", 1, &bias)) || (rc = parse_act(L, "activation", 1, &act)))
        return rc;
    int cin = L->nn->nodes[src].c, kshape[2] = {cin, units}, bshape[1] = {units};
    const float *kern, *b = NULL;
    if ((rc = get_weight(L, "kernel", 2, kshape, &kern)) ||
        (bias && (rc = get_weight(L, "bias", 1, bshape, &b))))
        return rc;
    nn_node *n;
    if ((rc = new_node(L, NN_CONV, &src, 1, &n)))
        return rc;
    n->c = units;
    n->rank = L->nn->nodes[src].rank;
    n->kh = n->kw = n->sh = n->sw = 1;
    n->act = act;
    n->w = dup_floats(kern, (size_t)cin * (size_t)units);
    n->b = b ? dup_floats(b, (size_t)units) : NULL;
    if (!n->w || (b && !n->b))
        return fail(L, TG_ENOMEM, "out of memory");
    return finish_node(L);
}

/* BatchNormalization: y = (x - mean) / sqrt(var + eps) * gamma + beta = x*s + t. Folded
 * into a convolution that feeds only this layer: W' = W*s (per output channel),
 * b' = b*s + t. Otherwise a per-channel affine node. */
static int build_bn(loader *L, int arg)
{
    (void)arg;
    int src = in_node(L, 0), center, scale, rc, axis, present;
    double eps = 1e-3;
    nn_node *sn = &L->nn->nodes[src];
    if ((rc = cfg_bool(L, "center", 1, &center)) || (rc = cfg_bool(L, "scale", 1, &scale)) ||
        (rc = cfg_int(L, "axis", -1, -1, 3, &axis)) || (rc = cfg_num(L, "epsilon", &eps, &present)))
        return rc;
    if (axis != -1 && axis != sn->rank - 1)
        return UNSUPPORTED("axis %d is not supported (only the channel axis)", axis);
    if (eps < 0)
        return CORRUPT("epsilon %g is negative", eps);
    int c = sn->c, shape[1] = {c};
    const float *gamma = NULL, *beta = NULL, *mean, *var;
    if ((scale && (rc = get_weight(L, "gamma", 1, shape, &gamma))) ||
        (center && (rc = get_weight(L, "beta", 1, shape, &beta))) ||
        (rc = get_weight(L, "moving_mean", 1, shape, &mean)) ||
        (rc = get_weight(L, "moving_variance", 1, shape, &var)))
        return rc;
    float *s = malloc((size_t)c * sizeof *s), *t = malloc((size_t)c * sizeof *t);
    if (!s || !t) {
        free(s);
        free(t);
        return fail(L, TG_ENOMEM, "out of memory");
    }
    for (int i = 0; i < c; i++) {
        double v = (double)var[i] + eps;
        double si = (gamma ? gamma[i] : 1.0) / sqrt(v);
        if (!(v > 0) || !isfinite(si)) {
            free(s);
            free(t);
            return CORRUPT("moving_variance[%d] + epsilon = %g is not positive", i, v);
        }
        s[i] = (float)si;
        t[i] = (float)((beta ? beta[i] : 0.0) - mean[i] * si);
    }
    if ((sn->op == NN_CONV || sn->op == NN_DWCONV) && sn->act == NN_ACT_LINEAR &&
        sole_consumer(L, src)) {
        size_t rows = sn->op == NN_CONV ? (size_t)sn->kh * sn->kw * L->nn->nodes[sn->in[0]].c
                                        : (size_t)sn->kh * sn->kw;
        for (size_t r = 0; r < rows; r++)
            for (int i = 0; i < c; i++)
                sn->w[r * (size_t)c + (size_t)i] *= s[i];
        for (int i = 0; i < c; i++)
            t[i] += (sn->b ? sn->b[i] : 0.0f) * s[i];
        free(sn->b);
        free(s);
        sn->b = t;
        absorb_into(L, src);
        return sn->name ? 0 : fail(L, TG_ENOMEM, "out of memory");
    }
    nn_node *n;
    if ((rc = new_node(L, NN_AFFINE, &src, 1, &n))) {
        free(s);
        free(t);
        return rc;
    }
    n->c = c;
    n->rank = L->nn->nodes[src].rank;
    n->w = s;
    n->b = t;
    return finish_node(L);
}

/* ReLU / Activation: fused into the node before when that node's output has no other
 * reader; Activation('linear') is the identity. */
static int build_act(loader *L, int act, float max)
{
    int src = in_node(L, 0), rc;
    nn_node *sn = &L->nn->nodes[src];
    if (act == NN_ACT_LINEAR)
        return alias_input(L);
    int fusable = act == NN_ACT_SOFTMAX ? sn->op == NN_CONV
                                        : (sn->op == NN_CONV || sn->op == NN_DWCONV ||
                                           sn->op == NN_AFFINE || sn->op == NN_ADD);
    if (fusable && sn->act == NN_ACT_LINEAR && sole_consumer(L, src)) {
        sn->act = act;
        sn->act_max = max;
        absorb_into(L, src);
        return sn->name ? 0 : fail(L, TG_ENOMEM, "out of memory");
    }
    int c = sn->c, rank = sn->rank; /* new_node() may move the node array */
    nn_node *n;
    if ((rc = new_node(L, NN_ACT, &src, 1, &n)))
        return rc;
    n->c = c;
    n->rank = rank;
    n->act = act;
    n->act_max = max;
    return finish_node(L);
}

static int build_relu(loader *L, int arg)
{
    (void)arg;
    double mx = INFINITY, slope = 0, thr = 0;
    int p1, p2, p3, rc;
    if ((rc = cfg_num(L, "max_value", &mx, &p1)) ||
        (rc = cfg_num(L, "negative_slope", &slope, &p2)) ||
        (rc = cfg_num(L, "threshold", &thr, &p3)))
        return rc;
    if (slope != 0 || thr != 0)
        return UNSUPPORTED("negative_slope and threshold must be 0");
    if (p1 && mx < 0)
        return CORRUPT("max_value %g is negative", mx);
    return build_act(L, NN_ACT_RELU, p1 ? (float)mx : INFINITY);
}

static int build_activation(loader *L, int arg)
{
    (void)arg;
    int act, rc = parse_act(L, "activation", 1, &act);
    return rc ? rc : build_act(L, act, INFINITY);
}

/* Add / Concatenate over several inputs. */
static int build_merge(loader *L, int op)
{
    int ins[NN_MAX_INPUTS], rc;
    if (L->cur->nin < 2)
        return CORRUPT("needs at least 2 inputs");
    for (int i = 0; i < L->cur->nin; i++)
        ins[i] = in_node(L, i);
    const nn_node *a = &L->nn->nodes[ins[0]];
    long c = 0;
    for (int i = 0; i < L->cur->nin; i++) {
        const nn_node *b = &L->nn->nodes[ins[i]];
        if (b->rank != a->rank || (op == NN_ADD && b->c != a->c))
            return CORRUPT("inputs have different shapes");
        c += b->c;
    }
    if (op == NN_CONCAT) {
        int axis;
        if ((rc = cfg_int(L, "axis", -1, -1, 3, &axis)))
            return rc;
        if (axis != -1 && axis != a->rank - 1)
            return UNSUPPORTED("axis %d is not supported (only the channel axis)", axis);
        if (c > NN_MAX_CHANNELS)
            return UNSUPPORTED("more than %d channels", NN_MAX_CHANNELS);
    }
    int c0 = a->c, rank = a->rank; /* new_node() may move the node array */
    nn_node *n;
    if ((rc = new_node(L, op, ins, L->cur->nin, &n)))
        return rc;
    n->c = op == NN_ADD ? c0 : (int)c;
    n->rank = rank;
    return finish_node(L);
}

static int build_pad(loader *L, int arg)
{
    (void)arg;
    int src = in_node(L, 0), rc, p[4];
    if ((rc = need_rank(L, src, 4)) || (rc = cfg_expect(L, "data_format", "channels_last")))
        return rc;
    json_t *v = json_object_get(L->cur->config, "padding");
    /* 1 | [a, b] | [[top, bottom], [left, right]] */
    if (json_is_integer(v)) {
        p[0] = p[1] = p[2] = p[3] = (int)json_integer_value(v);
        if (json_integer_value(v) < 0 || json_integer_value(v) > NN_MAX_PAD)
            return UNSUPPORTED("padding outside [0, %d]", NN_MAX_PAD);
    } else if (json_is_array(v) && json_array_size(v) == 2) {
        for (int i = 0; i < 2; i++) {
            json_t *e = json_array_get(v, (size_t)i);
            json_int_t a, b;
            if (json_is_integer(e)) {
                a = b = json_integer_value(e);
            } else if (json_is_array(e) && json_array_size(e) == 2 &&
                       json_is_integer(json_array_get(e, 0)) &&
                       json_is_integer(json_array_get(e, 1))) {
                a = json_integer_value(json_array_get(e, 0));
                b = json_integer_value(json_array_get(e, 1));
            } else {
                return CORRUPT("'padding' is malformed");
            }
            if (a < 0 || b < 0 || a > NN_MAX_PAD || b > NN_MAX_PAD)
                return UNSUPPORTED("padding outside [0, %d]", NN_MAX_PAD);
            p[2 * i] = (int)a, p[2 * i + 1] = (int)b;
        }
    } else {
        return CORRUPT("'padding' is malformed");
    }
    nn_node *n;
    if ((rc = new_node(L, NN_PAD, &src, 1, &n)))
        return rc;
    n->c = L->nn->nodes[src].c;
    n->rank = 4;
    n->pt = p[0], n->pb = p[1], n->pl = p[2], n->pr = p[3];
    return finish_node(L);
}

static int build_pool(loader *L, int op)
{
    int src = in_node(L, 0), k[2], s[2], same, rc;
    if ((rc = need_rank(L, src, 4)) || (rc = cfg_pair(L, "pool_size", 2, 1, NN_MAX_KERNEL, k)) ||
        (rc = cfg_padding(L, &same)) || (rc = cfg_expect(L, "data_format", "channels_last")))
        return rc;
    /* strides default to pool_size */
    if ((rc = cfg_pair(L, "strides", 0, 0, NN_MAX_KERNEL, s)))
        return rc;
    if (s[0] == 0 || s[1] == 0)
        s[0] = k[0], s[1] = k[1];
    nn_node *n;
    if ((rc = new_node(L, op, &src, 1, &n)))
        return rc;
    n->c = L->nn->nodes[src].c;
    n->rank = 4;
    n->kh = k[0], n->kw = k[1], n->sh = s[0], n->sw = s[1], n->same = same;
    return finish_node(L);
}

static int build_simple(loader *L, int op)
{
    int src = in_node(L, 0), rc, kd;
    if ((rc = need_rank(L, src, 4)))
        return rc;
    if (op == NN_GAP && ((rc = cfg_bool(L, "keepdims", 0, &kd)) ||
                         (kd && (rc = UNSUPPORTED("keepdims is not supported")))))
        return rc;
    if (op == NN_FLATTEN && (rc = cfg_expect(L, "data_format", "channels_last")))
        return rc;
    if (op == NN_GAP && (rc = cfg_expect(L, "data_format", "channels_last")))
        return rc;
    nn_node *n;
    if ((rc = new_node(L, op, &src, 1, &n)))
        return rc;
    n->rank = 2;
    n->c = L->nn->nodes[src].c;
    if (op == NN_FLATTEN) {
        const nn_shape *in = &L->shapes[src];
        if (in->h == 0 || in->w == 0)
            return UNSUPPORTED("Flatten needs a model with a fixed input size");
        if ((long)in->h * in->w * in->c > NN_MAX_CHANNELS * 64L)
            return UNSUPPORTED("the flattened vector is too long");
        n->c = in->h * in->w * in->c;
    }
    return finish_node(L);
}

static int build_upsample(loader *L, int arg)
{
    (void)arg;
    int src = in_node(L, 0), sz[2], rc;
    if ((rc = need_rank(L, src, 4)) || (rc = cfg_pair(L, "size", 2, 1, NN_MAX_KERNEL, sz)) ||
        (rc = cfg_expect(L, "interpolation", "nearest")) ||
        (rc = cfg_expect(L, "data_format", "channels_last")))
        return rc;
    nn_node *n;
    if ((rc = new_node(L, NN_UPSAMPLE, &src, 1, &n)))
        return rc;
    n->c = L->nn->nodes[src].c;
    n->rank = 4;
    n->uh = sz[0], n->uw = sz[1];
    return finish_node(L);
}

static int build_input(loader *L)
{
    json_t *shape = json_object_get(L->cur->config, "batch_input_shape");
    if (L->nn->nnodes != 0)
        return UNSUPPORTED("models with more than one input are not supported");
    if (!json_is_array(shape) || json_array_size(shape) != 4)
        return UNSUPPORTED("'batch_input_shape' must be [batch, height, width, channels]");
    int dims[3];
    for (int i = 0; i < 3; i++) {
        json_t *d = json_array_get(shape, (size_t)i + 1);
        if (json_is_null(d) && i < 2) {
            dims[i] = 0;
        } else if (json_is_integer(d) && json_integer_value(d) >= 1 &&
                   json_integer_value(d) <= (i < 2 ? NN_MAX_SIDE : NN_MAX_CHANNELS)) {
            dims[i] = (int)json_integer_value(d);
        } else {
            return UNSUPPORTED("input dimension %d is not a size in the engine's bounds", i + 1);
        }
    }
    nn_node *n;
    int rc = new_node(L, NN_INPUT, NULL, 0, &n);
    if (rc)
        return rc;
    n->c = dims[2];
    n->rank = 4;
    L->nn->in_h = dims[0], L->nn->in_w = dims[1], L->nn->in_c = dims[2];
    L->shapes[0] = (nn_shape){dims[0], dims[1], dims[2]};
    return 0;
}

static int build_identity(loader *L, int arg)
{
    (void)arg;
    return alias_input(L); /* inference: Dropout does nothing */
}

/* The Keras layer classes the engine reads: one row each, {class, builder, the
 * builder's argument (an enum nn_op, or 1 for depthwise), inputs: 1 or any}. What a
 * node then does (shape, cost, kernel) is the OPS table of session.c. */
static const struct {
    const char *cls;
    int (*build)(loader *L, int arg);
    int arg;
    int any_inputs;
} LAYERS[] = {
    {"Conv2D", build_conv, 0, 0},
    {"DepthwiseConv2D", build_conv, 1, 0},
    {"Dense", build_dense, 0, 0},
    {"BatchNormalization", build_bn, 0, 0},
    {"ReLU", build_relu, 0, 0},
    {"Activation", build_activation, 0, 0},
    {"Add", build_merge, NN_ADD, 1},
    {"Concatenate", build_merge, NN_CONCAT, 1},
    {"ZeroPadding2D", build_pad, 0, 0},
    {"AveragePooling2D", build_pool, NN_AVGPOOL, 0},
    {"MaxPooling2D", build_pool, NN_MAXPOOL, 0},
    {"GlobalAveragePooling2D", build_simple, NN_GAP, 0},
    {"Flatten", build_simple, NN_FLATTEN, 0},
    {"UpSampling2D", build_upsample, 0, 0},
    {"Dropout", build_identity, 0, 0},
};

static int build_layer(loader *L)
{
    const char *c = L->cur->cls;
    if (strcmp(c, "InputLayer") != 0 && L->nn->nnodes == 0)
        return CORRUPT("a layer comes before the InputLayer");
    if (!strcmp(c, "InputLayer"))
        return build_input(L);
    for (size_t k = 0; k < sizeof(LAYERS) / sizeof(LAYERS[0]); k++) {
        if (strcmp(c, LAYERS[k].cls) != 0)
            continue;
        if (L->cur->nin != 1 && !LAYERS[k].any_inputs)
            return CORRUPT("needs exactly one input, has %d", L->cur->nin);
        return LAYERS[k].build(L, LAYERS[k].arg);
    }
    if (L->cur->nin != 1 && strcmp(c, "Add") != 0 && strcmp(c, "Concatenate") != 0)
        return CORRUPT("needs exactly one input, has %d", L->cur->nin);
    return UNSUPPORTED("unsupported layer class '%.*s'", TG_CUT(c, 60));
}

/* ---- pass 1 over the layer list: names, classes, inputs, consumer counts ---- */

static int find_layer(loader *L, const char *name, int before)
{
    for (int k = 0; k < before; k++)
        if (!strcmp(L->layers[k].name, name))
            return k;
    return -1;
}

/* ["name", 0, 0, {}] */
static int parse_ref(loader *L, json_t *ref, const char **name)
{
    if (!json_is_array(ref) || json_array_size(ref) < 1 || json_array_size(ref) > 4 ||
        !json_is_string(json_array_get(ref, 0)))
        return CORRUPT("an inbound node is not [\"name\", 0, 0, {}]");
    for (size_t i = 1; i < 3 && i < json_array_size(ref); i++) {
        json_t *x = json_array_get(ref, i);
        if (!json_is_integer(x) || json_integer_value(x) != 0)
            return UNSUPPORTED("shared layers and multi-output layers are not supported");
    }
    *name = json_string_value(json_array_get(ref, 0));
    return 0;
}

static int scan_layers(loader *L, json_t *list)
{
    if (!json_is_array(list) || json_array_size(list) == 0)
        return CORRUPT("no layer list in modelTopology");
    if (json_array_size(list) > NN_MAX_LAYERS)
        return UNSUPPORTED("more than %d layers", NN_MAX_LAYERS);
    L->layers = calloc(json_array_size(list), sizeof *L->layers);
    if (!L->layers)
        return fail(L, TG_ENOMEM, "out of memory");
    json_t *e;
    size_t i;
    json_array_foreach(list, i, e)
    {
        layer *ly = &L->layers[L->nlayers];
        json_t *name = json_object_get(e, "name"), *cls = json_object_get(e, "class_name");
        json_t *cfg = json_object_get(e, "config"), *inb = json_object_get(e, "inbound_nodes");
        if (!json_is_string(name) || !json_is_string(cls) || !json_is_object(cfg) ||
            !json_is_array(inb))
            return CORRUPT("layer %zu needs 'name', 'class_name', 'config' and 'inbound_nodes'", i);
        ly->name = json_string_value(name);
        ly->cls = json_string_value(cls);
        ly->config = cfg;
        ly->node = -1;
        if (strlen(ly->name) == 0 || strlen(ly->name) > NN_MAX_NAME || strchr(ly->name, '/'))
            return CORRUPT("layer %zu has an invalid name", i);
        if (find_layer(L, ly->name, L->nlayers) >= 0)
            return CORRUPT("two layers are named '%.*s'", TG_CUT(ly->name, 100));
        L->cur = ly;
        if (json_array_size(inb) > 1)
            return UNSUPPORTED("shared layers (called more than once) are not supported");
        if (json_array_size(inb) == 1) {
            json_t *node = json_array_get(inb, 0), *ref;
            size_t k;
            if (!json_is_array(node) || json_array_size(node) == 0 ||
                json_array_size(node) > NN_MAX_INPUTS)
                return CORRUPT("inbound_nodes[0] must list 1 to %d inputs", NN_MAX_INPUTS);
            json_array_foreach(node, k, ref)
            {
                const char *in_name;
                int rc = parse_ref(L, ref, &in_name);
                if (rc)
                    return rc;
                int src = find_layer(L, in_name, L->nlayers);
                if (src < 0)
                    return CORRUPT("input '%.*s' is not a layer defined before it",
                                   TG_CUT(in_name, 100));
                L->layers[src].consumers++;
                ly->in[ly->nin++] = src;
            }
        }
        L->cur = NULL;
        L->nlayers++;
    }
    return 0;
}

/* modelTopology is {model_config: {class_name, config}} (Keras) or the model itself. */
static int topology(loader *L, json_t **layers, const char **in_name, const char **out_name)
{
    json_t *topo = json_object_get(L->root, "modelTopology");
    if (!json_is_object(topo))
        return CORRUPT("no 'modelTopology' object (is this a TF.js layers model?)");
    json_t *mc = json_object_get(topo, "model_config");
    if (!mc)
        mc = topo;
    json_t *cls = json_object_get(mc, "class_name"), *cfg = json_object_get(mc, "config");
    if (!json_is_string(cls) || !json_is_object(cfg))
        return CORRUPT("modelTopology has no class_name/config");
    if (strcmp(json_string_value(cls), "Model") != 0 &&
        strcmp(json_string_value(cls), "Functional") != 0)
        return UNSUPPORTED("model class '%.*s' is not supported (Model or Functional only)",
                           TG_CUT(json_string_value(cls), 60));
    *layers = json_object_get(cfg, "layers");
    json_t *ins = json_object_get(cfg, "input_layers"),
           *outs = json_object_get(cfg, "output_layers");
    if (!json_is_array(ins) || json_array_size(ins) != 1 || !json_is_array(outs) ||
        json_array_size(outs) != 1)
        return UNSUPPORTED("only models with one input and one output are supported");
    int rc = parse_ref(L, json_array_get(ins, 0), in_name);
    return rc ? rc : parse_ref(L, json_array_get(outs, 0), out_name);
}

static int load(loader *L, const char *dir)
{
    char *text = NULL;
    size_t len;
    int rc = read_file(L, L->path, NN_MAX_JSON_BYTES, &text, &len);
    if (rc)
        return rc;
    json_error_t jerr;
    L->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!L->root)
        return CORRUPT("not valid JSON (line %d: %.*s)", jerr.line, TG_CUT(jerr.text, 200));
    if (!json_is_object(L->root))
        return CORRUPT("not a JSON object");

    json_t *list;
    const char *in_name, *out_name;
    if ((rc = topology(L, &list, &in_name, &out_name)) || (rc = scan_layers(L, list)))
        return rc;
    int in_layer = find_layer(L, in_name, L->nlayers),
        out_layer = find_layer(L, out_name, L->nlayers);
    if (in_layer != 0 || strcmp(L->layers[0].cls, "InputLayer") != 0)
        return CORRUPT("input_layers must name the first layer, an InputLayer");
    if (out_layer < 0)
        return CORRUPT("output layer '%.*s' does not exist", TG_CUT(out_name, 100));
    L->layers[out_layer].consumers++; /* the output is read by the caller: never fold it away */

    if ((rc = load_weights(L, dir, json_object_get(L->root, "weightsManifest"))))
        return rc;

    for (int i = 0; i < L->nlayers; i++) {
        L->cur = &L->layers[i];
        if ((rc = build_layer(L)))
            return rc;
    }
    L->cur = NULL;
    for (int i = 0; i < L->nw; i++)
        if (!L->w[i].used)
            return CORRUPT("weight '%.*s' is not used by any layer", TG_CUT(L->w[i].name, 100));

    /* the names a session may tap */
    tgi_nn *nn = L->nn;
    nn->output = L->layers[out_layer].node;
    nn->names = calloc((size_t)L->nlayers, sizeof *nn->names);
    if (!nn->names)
        return fail(L, TG_ENOMEM, "out of memory");
    for (int i = 0; i < L->nlayers; i++) {
        const layer *ly = &L->layers[i];
        nn_name *nm = &nn->names[nn->nnames++];
        nm->name = strdup(ly->name);
        if (!nm->name)
            return fail(L, TG_ENOMEM, "out of memory");
        nm->node = ly->node;
        nm->absorbed = ly->absorbed;
    }
    return 0;
}

/* graph.h's invariants, as the loader leaves the graph (TG_ASSERT: test builds only). */
static void check_graph(const tgi_nn *nn)
{
    TG_ASSERT(nn->nnodes >= 1 && nn->nodes[0].op == NN_INPUT);
    TG_ASSERT(nn->output >= 0 && nn->output < nn->nnodes && nn->nodes[nn->output].op != NN_DEAD);
    for (int i = 1; i < nn->nnodes; i++) {
        const nn_node *n = &nn->nodes[i];
        TG_ASSERT(n->op >= 0 && n->op < NN_OP_COUNT && n->op != NN_INPUT);
        if (n->op == NN_DEAD)
            continue;
        TG_ASSERT(n->nin >= 1 && n->nin <= NN_MAX_INPUTS);
        for (int k = 0; k < n->nin; k++) /* inputs come first and have a value */
            TG_ASSERT(n->in[k] >= 0 && n->in[k] < i && nn->nodes[n->in[k]].op != NN_DEAD);
        TG_ASSERT(n->rank == 2 || n->rank == 4);
        TG_ASSERT(n->c >= 1 && n->c <= NN_MAX_CHANNELS);
        if (n->op == NN_CONV || n->op == NN_DWCONV || n->op == NN_AFFINE)
            TG_ASSERT(n->w != NULL);
    }
}

int tgi_nn_load(tg_ctx *ctx, const char *dir, tgi_nn **out)
{
    *out = NULL;
    if (!dir || !*dir)
        return tgi_fail(ctx, TG_EINVAL, "tgi_nn_load: no model directory");
    loader L = {.ctx = ctx};
    size_t n = strlen(dir) + sizeof "/model.json";
    L.path = malloc(n);
    L.nn = calloc(1, sizeof *L.nn);
    int rc;
    if (!L.path || !L.nn || !(L.nn->dir = strdup(dir))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    snprintf(L.path, n, "%s/model.json", dir);
    rc = load(&L, dir);
    if (rc == 0 && TG_ASSERTS_ON)
        check_graph(L.nn);
done:
    if (rc == 0)
        *out = L.nn;
    else
        tgi_nn_free(&L.nn);
    json_decref(L.root);
    free(L.w);
    free(L.params);
    free(L.layers);
    free(L.node_layer);
    free(L.shapes);
    free(L.path);
    return rc;
}

void tgi_nn_free(tgi_nn **pnn)
{
    tgi_nn *nn = pnn ? *pnn : NULL;
    if (!nn)
        return;
    for (int i = 0; i < nn->nnodes; i++) {
        free(nn->nodes[i].name);
        free(nn->nodes[i].in);
        free(nn->nodes[i].w);
        free(nn->nodes[i].b);
    }
    for (int i = 0; i < nn->nnames; i++)
        free(nn->names[i].name);
    free(nn->names);
    free(nn->nodes);
    free(nn->dir);
    free(nn);
    *pnn = NULL;
}

void tgi_nn_input_size(const tgi_nn *nn, int *h, int *w, int *c)
{
    if (h)
        *h = nn->in_h;
    if (w)
        *w = nn->in_w;
    if (c)
        *c = nn->in_c;
}

int nn_find(const tgi_nn *nn, const char *name, const char **absorbed_into)
{
    *absorbed_into = NULL;
    for (int i = 0; i < nn->nnames; i++) {
        if (strcmp(nn->names[i].name, name) != 0)
            continue;
        if (nn->names[i].absorbed) {
            *absorbed_into = nn->nodes[nn->names[i].node].name;
            return -1;
        }
        return nn->names[i].node;
    }
    return -1;
}
