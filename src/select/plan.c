/*
 * plan.c — the tg_plan: allocation, append helpers, and the JSON contract
 * (written and parsed with jansson). Parsing is strict: a plan can come from a
 * user's editor or from the network, so every field is checked before use.
 */
#include "select/plan.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/cnn.h"
#include "core/error.h"
#include "core/utf8.h"

#define TG_PLAN_MAX_ITEMS 10000

tg_plan *tgi_plan_new(void)
{
    tg_plan *p = calloc(1, sizeof(*p));
    if (p)
        p->poster_t = -1;
    return p;
}

void tg_plan_free(tg_plan **pp)
{
    if (!pp || !*pp)
        return;
    tg_plan *p = *pp;
    free(p->path);
    free(p->shots);
    free(p->segments);
    free(p->keyframes);
    free(p->cnn_samples);
    for (size_t i = 0; i < p->n_warnings; i++)
        free(p->warnings[i]);
    free(p->warnings);
    free(p);
    *pp = NULL;
}

/* grow *arr (of elem bytes) to hold n+1 items */
static int grow(void **arr, size_t n, size_t elem)
{
    if (n >= TG_PLAN_MAX_ITEMS)
        return TG_ELIMIT;
    if ((n & (n - 1)) == 0) { /* n is 0 or a power of two: double */
        void *na = realloc(*arr, (n ? 2 * n : 4) * elem);
        if (!na)
            return TG_ENOMEM;
        *arr = na;
    }
    return 0;
}

#define TG_APPEND(p, arr, cnt, v)                                                                  \
    do {                                                                                           \
        int rc_ = grow((void **)&(p)->arr, (p)->cnt, sizeof(*(p)->arr));                           \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
        (p)->arr[(p)->cnt++] = (v);                                                                \
        return 0;                                                                                  \
    } while (0)

int tgi_plan_add_shot(tg_plan *p, tg_shot v)
{
    TG_APPEND(p, shots, n_shots, v);
}
int tgi_plan_add_segment(tg_plan *p, tg_segment v)
{
    TG_APPEND(p, segments, n_segments, v);
}
int tgi_plan_add_keyframe(tg_plan *p, tg_keyframe v)
{
    TG_APPEND(p, keyframes, n_keyframes, v);
}

int tgi_plan_add_warning(tg_plan *p, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (len >= (int)sizeof(buf)) /* cut: never inside a character */
        buf[tgi_utf8_trim_end(buf, sizeof(buf) - 1)] = '\0';
    char *w = strdup(buf);
    if (!w)
        return TG_ENOMEM;
    int rc = grow((void **)&p->warnings, p->n_warnings, sizeof(char *));
    if (rc < 0) {
        free(w);
        return rc;
    }
    p->warnings[p->n_warnings++] = w;
    return 0;
}

/* Round to milliseconds (times) or 1e-4 (scores) so the JSON stays readable. */
static json_t *num(double v, double q)
{
    return json_real(round(v / q) * q);
}

/* A segment's end on the written grid: at least one step after its written start,
 * so that every plan written here reads back (0.07-0.0714 s is not 0.07-0.071 s
 * refused as shorter than the 1 ms minimum, nor 0.07-0.07). */
static json_t *seg_end(double start, double end)
{
    double s = round(start / 1e-3), e = round(end / 1e-3);
    return json_real((e < s + 1 ? s + 1 : e) * 1e-3);
}

int tg_plan_to_json(tg_ctx *ctx, const tg_plan *p, char **out)
{
    *out = NULL;
    json_t *root = json_object(), *a;
    if (!root)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    json_t *src = json_object();
    json_object_set_new(src, "path", json_string(p->path ? p->path : ""));
    json_object_set_new(src, "duration", num(p->duration, 1e-3));
    json_object_set_new(src, "width", json_integer(p->width));
    json_object_set_new(src, "height", json_integer(p->height));
    json_object_set_new(src, "fps", num(p->fps, 1e-3));
    json_object_set_new(root, "source", src);
    /* how the plan was made: sparse analysis looked at some stretches only, so its
     * shot list covers those stretches */
    json_object_set_new(root, "analysis",
                        json_pack("{s:s,s:o}", "mode",
                                  p->analysis == TG_ANALYSIS_SPARSE ? "sparse" : "full", "seconds",
                                  num(p->analysed, 1e-3)));
    json_t *crop = json_object();
    json_object_set_new(crop, "x", json_integer(p->crop.x));
    json_object_set_new(crop, "y", json_integer(p->crop.y));
    json_object_set_new(crop, "w", json_integer(p->crop.w));
    json_object_set_new(crop, "h", json_integer(p->crop.h));
    json_object_set_new(root, "crop", crop);

    a = json_array();
    for (size_t i = 0; i < p->n_shots; i++)
        json_array_append_new(a, json_pack("{s:o,s:o}", "start", num(p->shots[i].start, 1e-3),
                                           "end", num(p->shots[i].end, 1e-3)));
    json_object_set_new(root, "shots", a);
    a = json_array();
    for (size_t i = 0; i < p->n_segments; i++) {
        const tg_segment *g = &p->segments[i];
        json_t *o =
            json_pack("{s:o,s:o,s:o,s:i}", "start", num(g->start, 1e-3), "end",
                      seg_end(g->start, g->end), "score", num(g->score, 1e-4), "shot", g->shot);
        if (p->cnn != TG_CNN_NONE)
            json_object_set_new(o, "cluster", json_integer(g->cluster));
        json_array_append_new(a, o);
    }
    json_object_set_new(root, "segments", a);
    a = json_array();
    for (size_t i = 0; i < p->n_keyframes; i++) {
        const tg_keyframe *k = &p->keyframes[i];
        json_t *o = json_pack("{s:o,s:o,s:i}", "t", num(k->t, 1e-3), "score", num(k->score, 1e-4),
                              "shot", k->shot);
        if (p->cnn != TG_CNN_NONE)
            json_object_set_new(o, "cluster", json_integer(k->cluster));
        json_array_append_new(a, o);
    }
    json_object_set_new(root, "keyframes", a);
    if (p->cnn != TG_CNN_NONE) {
        /* what the network saw: every frame it looked at, its nsfw score and cluster */
        json_t *cs = json_array();
        for (size_t i = 0; i < p->n_cnn_samples; i++) {
            const tg_cnn_sample *c = &p->cnn_samples[i];
            json_array_append_new(cs, json_pack("{s:o,s:o,s:i}", "t", num(c->t, 1e-3), "nsfw",
                                                num(c->nsfw, 1e-4), "cluster", c->cluster));
        }
        json_object_set_new(root, "cnn",
                            json_pack("{s:s,s:i,s:o}", "model", tgi_cnn_model_name(p->cnn),
                                      "clusters", p->n_clusters, "samples", cs));
    }
    json_object_set_new(root, "poster", json_pack("{s:o}", "t", num(p->poster_t, 1e-3)));
    a = json_array();
    for (size_t i = 0; i < p->n_warnings; i++)
        json_array_append_new(a, json_string(p->warnings[i]));
    json_object_set_new(root, "warnings", a);

    *out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    return *out ? 0 : tgi_fail(ctx, TG_ENOMEM, "out of memory");
}

/* ---- parsing ---- */

static int get_num(json_t *o, const char *key, double lo, double hi, double *v, int required)
{
    json_t *x = json_object_get(o, key);
    if (!x)
        return required ? -1 : 0;
    if (!json_is_number(x))
        return -1;
    double d = json_number_value(x);
    if (!isfinite(d) || d < lo || d > hi)
        return -1;
    *v = d;
    return 0;
}

static int get_int(json_t *o, const char *key, int lo, int hi, int *v, int required)
{
    double d = *v;
    if (get_num(o, key, lo, hi, &d, required) < 0 || d != floor(d))
        return -1;
    *v = (int)d;
    return 0;
}

int tg_plan_from_json(tg_ctx *ctx, const char *text, tg_plan **out)
{
    *out = NULL;
    json_error_t err;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return tgi_fail(ctx, TG_EPLAN, "the plan is not valid JSON (line %d: %s)", err.line,
                        err.text);
    tg_plan *p = tgi_plan_new();
    int rc = TG_EPLAN;
    const char *what = "the plan must be a JSON object";
    if (!p) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    if (!json_is_object(root))
        goto bad;
    json_t *src = json_object_get(root, "source");
    what = "\"source\" must be an object with duration, width, height and fps";
    if (!json_is_object(src))
        goto bad;
    json_t *path = json_object_get(src, "path");
    if (json_is_string(path) && !(p->path = strdup(json_string_value(path)))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    if (get_num(src, "duration", 0, 1e7, &p->duration, 1) < 0 ||
        get_int(src, "width", 1, 1 << 16, &p->width, 1) < 0 ||
        get_int(src, "height", 1, 1 << 16, &p->height, 1) < 0 ||
        get_num(src, "fps", 0, 1e4, &p->fps, 0) < 0)
        goto bad;
    p->crop = (tg_rect){0, 0, p->width, p->height};
    json_t *crop = json_object_get(root, "crop");
    what = "\"crop\" must be {x,y,w,h} inside the source";
    if (crop) {
        if (!json_is_object(crop) || get_int(crop, "x", 0, p->width - 1, &p->crop.x, 1) < 0 ||
            get_int(crop, "y", 0, p->height - 1, &p->crop.y, 1) < 0 ||
            get_int(crop, "w", 1, p->width, &p->crop.w, 1) < 0 ||
            get_int(crop, "h", 1, p->height, &p->crop.h, 1) < 0 ||
            p->crop.x + p->crop.w > p->width || p->crop.y + p->crop.h > p->height)
            goto bad;
    }
    double dur = p->duration;
    json_t *a, *it;
    size_t i;

    static const char *const lists[3] = {"shots", "segments", "keyframes"};
    for (int k = 0; k < 3; k++) {
        size_t n = json_array_size(json_object_get(root, lists[k]));
        if (n > TG_PLAN_MAX_ITEMS) {
            rc = tgi_fail(ctx, TG_EPLAN, "invalid plan: it has %zu %s; the limit is %d", n,
                          lists[k], TG_PLAN_MAX_ITEMS);
            goto fail;
        }
    }
    a = json_object_get(root, "shots");
    what = "\"shots\" must be an array of {start, end} inside the video";
    if (a && !json_is_array(a))
        goto bad;
    json_array_foreach(a, i, it)
    {
        tg_shot v = {0};
        if (!json_is_object(it) || get_num(it, "start", 0, dur, &v.start, 1) < 0 ||
            get_num(it, "end", v.start, dur + 1, &v.end, 1) < 0 || tgi_plan_add_shot(p, v) < 0)
            goto bad;
    }
    a = json_object_get(root, "segments");
    what = "\"segments\" must be an array of {start, end} with 0 <= start < end <= duration";
    if (a && !json_is_array(a))
        goto bad;
    json_array_foreach(a, i, it)
    {
        tg_segment v = {.shot = -1, .cluster = -1};
        if (!json_is_object(it) || get_num(it, "start", 0, dur, &v.start, 1) < 0 ||
            /* at least 1 ms, on the millisecond grid the plan is written on */
            get_num(it, "end", v.start + 1e-3 - 1e-9, dur + 1, &v.end, 1) < 0 ||
            get_num(it, "score", -1e9, 1e9, &v.score, 0) < 0 ||
            get_int(it, "shot", -1, 1 << 30, &v.shot, 0) < 0 ||
            get_int(it, "cluster", -1, 1 << 30, &v.cluster, 0) < 0 ||
            tgi_plan_add_segment(p, v) < 0)
            goto bad;
    }
    a = json_object_get(root, "keyframes");
    what = "\"keyframes\" must be an array of {t} inside the video";
    if (a && !json_is_array(a))
        goto bad;
    json_array_foreach(a, i, it)
    {
        tg_keyframe v = {.shot = -1, .cluster = -1};
        if (!json_is_object(it) || get_num(it, "t", 0, dur, &v.t, 1) < 0 ||
            get_num(it, "score", -1e9, 1e9, &v.score, 0) < 0 ||
            get_int(it, "shot", -1, 1 << 30, &v.shot, 0) < 0 ||
            get_int(it, "cluster", -1, 1 << 30, &v.cluster, 0) < 0 ||
            tgi_plan_add_keyframe(p, v) < 0)
            goto bad;
    }
    json_t *poster = json_object_get(root, "poster");
    what = "\"poster\" must be {t} inside the video";
    if (poster && (!json_is_object(poster) || get_num(poster, "t", -1, dur, &p->poster_t, 1) < 0))
        goto bad;
    what = "a plan needs at least one segment or keyframe";
    if (p->n_segments == 0 && p->n_keyframes == 0)
        goto bad;
    json_decref(root);
    *out = p;
    return 0;
bad:
    rc = tgi_fail(ctx, TG_EPLAN, "invalid plan: %s", what);
fail:
    json_decref(root);
    tg_plan_free(&p);
    return rc;
}
