/*
 * analysis_json.c — the analysis as JSON (`thumbgen analyze -o A.json`) and back
 * (`thumbgen plan --from-analysis A.json`), documented in docs/analysis.md.
 *
 * Per-sample signals are columns (one array per signal, all of length n); the
 * bulky parts — colour/edge descriptors, luma thumbnails, CNN embeddings and class
 * probabilities — are base64 of little-endian float32 / uint8, so a re-plan reads
 * exactly the numbers the analysis measured (floats are written with 9 significant
 * digits: float32 round-trips). The reader checks every field: the file may come
 * from anywhere.
 */
#include "analyze/analysis.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define FORMAT_VERSION 1
#define MAX_SAMPLES    1000000
#define MAX_ITEMS      100000
#define MAX_DIM        4096

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static json_t *b64(const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < len ? B64[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? B64[v & 63] : '=';
    }
    out[o] = 0;
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode base64 string j into exactly len bytes at out; 0 or -1. */
static int unb64(const json_t *j, void *out, size_t len)
{
    if (!json_is_string(j))
        return -1;
    const char *s = json_string_value(j);
    size_t sl = json_string_length(j);
    if (sl != 4 * ((len + 2) / 3))
        return -1;
    uint8_t *p = out;
    size_t o = 0;
    for (size_t i = 0; i < sl; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            v[k] = s[i + k] == '=' ? 0 : b64val((unsigned char)s[i + k]);
            if (v[k] < 0)
                return -1;
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        for (int k = 0; k < 3 && o < len; k++)
            p[o++] = (uint8_t)(w >> (16 - 8 * k));
    }
    return 0;
}

/* float32 arrays travel little-endian; this machine's order is checked once. */
static int little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* ---- writing ---- */

#define COLUMN(name, field)                                                                        \
    do {                                                                                           \
        json_t *arr_ = json_array();                                                               \
        for (size_t i_ = 0; arr_ && i_ < a->n; i_++)                                               \
            json_array_append_new(arr_, json_real(a->s[i_].field));                                \
        json_object_set_new(cols, name, arr_);                                                     \
    } while (0)

static const char *mode_name(int mode)
{
    return mode == TG_ANALYSIS_SPARSE ? "sparse" : "full";
}

int tg_analysis_to_json(tg_ctx *ctx, const tg_analysis_data *a, char **out)
{
    *out = NULL;
    if (!little_endian())
        return tgi_fail(ctx, TG_EINTERNAL, "analysis files are little-endian only");
    json_t *root = json_object();
    json_t *cols = json_object();
    if (!root || !cols) {
        json_decref(root);
        json_decref(cols);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    json_object_set_new(root, "thumbgen_analysis", json_integer(FORMAT_VERSION));
    json_object_set_new(root, "source",
                        json_pack("{s:s, s:f, s:f, s:i, s:i, s:f}", "path", a->path ? a->path : "",
                                  "duration", a->duration, "claimed", a->claimed, "width", a->width,
                                  "height", a->height, "fps", a->fps));
    json_object_set_new(root, "analysis",
                        json_pack("{s:s, s:f, s:i, s:i}", "mode", mode_name(a->mode), "seconds",
                                  a->looked, "width", a->aw, "height", a->ah));
    if (a->frame.w > 0)
        json_object_set_new(json_object_get(root, "analysis"), "frame",
                            json_pack("{s:i, s:i, s:i, s:i}", "x", a->frame.x, "y", a->frame.y, "w",
                                      a->frame.w, "h", a->frame.h));
    json_object_set_new(root, "content",
                        json_pack("{s:i, s:i, s:i, s:i}", "x", a->content.x, "y", a->content.y, "w",
                                  a->content.w, "h", a->content.h));
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < a->n_spans; k++)
        json_array_append_new(
            arr, a->spans[k].key_end > a->spans[k].end_t
                     ? json_pack("[I, f, f]", (json_int_t)a->spans[k].first, a->spans[k].end_t,
                                 a->spans[k].key_end)
                     : json_pack("[I, f]", (json_int_t)a->spans[k].first, a->spans[k].end_t));
    json_object_set_new(root, "spans", arr);
    arr = json_array();
    for (size_t k = 0; arr && k < a->n_shots; k++)
        json_array_append_new(arr, json_pack("[f, f]", a->shots[k].start, a->shots[k].end));
    json_object_set_new(root, "shots", arr);
    arr = json_array();
    for (size_t k = 0; arr && k < a->n_cuts; k++)
        json_array_append_new(arr, json_real(a->cuts[k]));
    json_object_set_new(root, "cuts", arr);
    arr = json_array();
    for (size_t k = 0; arr && k < a->n_notes; k++)
        json_array_append_new(arr, json_string(a->notes[k]));
    json_object_set_new(root, "notes", arr);
    /* samples: one column per signal */
    json_object_set_new(cols, "n", json_integer((json_int_t)a->n));
    COLUMN("t", t);
    COLUMN("luma", luma);
    COLUMN("lo", lo);
    COLUMN("hi", hi);
    COLUMN("contrast", contrast);
    COLUMN("sharp", sharp);
    COLUMN("entropy", entropy);
    COLUMN("colorful", colorful);
    COLUMN("motion", motion);
    COLUMN("bgfrac", bgfrac);
    COLUMN("edges", edges);
    json_t *ev = json_array(), *shot = json_array(), *bars = json_array();
    for (size_t i = 0; ev && shot && bars && i < a->n; i++) {
        json_array_append_new(ev, json_integer(a->s[i].ev));
        json_array_append_new(shot, json_integer(a->s[i].shot));
        json_array_append_new(bars, json_pack("[i,i,i,i]", a->s[i].bar[0], a->s[i].bar[1],
                                              a->s[i].bar[2], a->s[i].bar[3]));
    }
    json_object_set_new(cols, "events", ev);
    json_object_set_new(cols, "shot", shot);
    json_object_set_new(cols, "bars", bars);
    size_t nd = a->n * TG_DESC_N, nt = a->n * TG_THUMB_W * TG_THUMB_H;
    float *desc = malloc((nd + 1) * sizeof(float));
    uint8_t *thumb = malloc(nt + 1);
    if (desc && thumb) {
        for (size_t i = 0; i < a->n; i++) {
            memcpy(desc + i * TG_DESC_N, a->s[i].desc, sizeof(a->s[i].desc));
            memcpy(thumb + i * TG_THUMB_W * TG_THUMB_H, a->s[i].thumb, sizeof(a->s[i].thumb));
        }
        json_object_set_new(cols, "desc_f32", b64(desc, nd * sizeof(float)));
        json_object_set_new(cols, "thumb_u8", b64(thumb, nt));
    }
    free(desc);
    free(thumb);
    json_object_set_new(root, "samples", cols);
    if (a->cnn != TG_CNN_NONE) {
        json_t *t = json_array(), *nsfw = json_array();
        float *cls = malloc((a->n_items * TG_CNN_CLASSES + 1) * sizeof(float));
        for (size_t k = 0; t && nsfw && cls && k < a->n_items; k++) {
            json_array_append_new(t, json_real(a->items[k].t));
            json_array_append_new(nsfw, json_real(a->items[k].nsfw));
            memcpy(cls + k * TG_CNN_CLASSES, a->items[k].classes, sizeof(a->items[k].classes));
        }
        json_t *c = json_pack("{s:s, s:i, s:f, s:f, s:o, s:o}", "model", tgi_cnn_model_name(a->cnn),
                              "dim", a->dim, "repeat_sim", (double)a->repeat_sim, "cluster_sim",
                              (double)a->cluster_sim, "t", t, "nsfw", nsfw);
        if (c && cls) {
            json_object_set_new(c, "classes_f32",
                                b64(cls, a->n_items * TG_CNN_CLASSES * sizeof(float)));
            json_object_set_new(c, "embeddings_f32",
                                b64(a->emb, a->n_items * (size_t)a->dim * sizeof(float)));
        }
        free(cls);
        json_object_set_new(root, "cnn", c);
    }
    json_t *faces = json_array();
    for (size_t k = 0; faces && k < a->n_faces; k++) {
        const tgi_face_obs *f = &a->faces[k];
        json_array_append_new(faces,
                              json_pack("{s:f, s:[f,f,f,f], s:f, s:f, s:f, s:b}", "t", f->t, "box",
                                        f->x, f->y, f->w, f->h, "score", (double)f->score, "eyes",
                                        (double)f->eyes, "sharp", (double)f->sharp, "cut", f->cut));
    }
    json_object_set_new(root, "faces", json_pack("{s:b, s:o}", "on", a->faces_on, "list", faces));
    json_t *subj = json_array();
    for (size_t k = 0; subj && k < a->n_subjects; k++) {
        const tgi_subject_obs *o = &a->subjects[k];
        json_array_append_new(subj,
                              json_pack("{s:f, s:i, s:f, s:[f,f,f,f]}", "t", o->t, "cls", o->cls,
                                        "score", (double)o->score, "box", o->x, o->y, o->w, o->h));
    }
    json_t *sj = json_pack("{s:b, s:o}", "on", a->subjects_on, "list", subj);
    if (sj && a->subjects_in[0] > 0)
        json_object_set_new(sj, "input", json_pack("[i, i]", a->subjects_in[0], a->subjects_in[1]));
    if (sj && a->subjects_looked > 0)
        json_object_set_new(sj, "looked", json_integer((json_int_t)a->subjects_looked));
    json_object_set_new(root, "subjects", sj);
    *out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(root);
    if (!*out)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory (writing the analysis)");
    return 0;
}

/* ---- reading ---- */

static int bad(tg_ctx *ctx, const char *what)
{
    return tgi_fail(ctx, TG_EINVAL, "not a valid thumbgen analysis: %s", what);
}

static int num(const json_t *j, double lo, double hi, double *out)
{
    if (!json_is_number(j))
        return -1;
    double v = json_number_value(j);
    if (!isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int column(const json_t *cols, const char *name, size_t n, double lo, double hi,
                  tg_analysis_data *a, size_t off)
{
    const json_t *arr = json_object_get(cols, name);
    if (!json_is_array(arr) || json_array_size(arr) != n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        double v;
        if (num(json_array_get(arr, i), lo, hi, &v) < 0)
            return -1;
        char *p = (char *)&a->s[i] + off;
        if (off == offsetof(tgi_sample, t))
            *(double *)p = v;
        else
            *(float *)p = (float)v;
    }
    return 0;
}

static int read_samples(tg_ctx *ctx, const json_t *cols, tg_analysis_data *a)
{
    double dn;
    if (!json_is_object(cols) || num(json_object_get(cols, "n"), 1, MAX_SAMPLES, &dn) < 0)
        return bad(ctx, "samples.n must be 1 to 1000000");
    size_t n = (size_t)dn;
    if (!(a->s = calloc(n, sizeof(tgi_sample))))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    a->n = n;
    static const struct {
        const char *name;
        size_t off;
        double lo, hi;
    } C[] = {
        {"t", offsetof(tgi_sample, t), 0, 1e7},
        {"luma", offsetof(tgi_sample, luma), 0, 1},
        {"lo", offsetof(tgi_sample, lo), 0, 1},
        {"hi", offsetof(tgi_sample, hi), 0, 1},
        {"contrast", offsetof(tgi_sample, contrast), 0, 1},
        {"sharp", offsetof(tgi_sample, sharp), 0, 100},
        {"entropy", offsetof(tgi_sample, entropy), 0, 2},
        {"colorful", offsetof(tgi_sample, colorful), 0, 1},
        {"motion", offsetof(tgi_sample, motion), 0, 1},
        {"bgfrac", offsetof(tgi_sample, bgfrac), 0, 1},
        {"edges", offsetof(tgi_sample, edges), 0, 1},
    };
    for (size_t k = 0; k < sizeof(C) / sizeof(C[0]); k++)
        if (column(cols, C[k].name, n, C[k].lo, C[k].hi, a, C[k].off) < 0)
            return tgi_fail(ctx, TG_EINVAL,
                            "not a valid thumbgen analysis: samples.%s must be %zu numbers in "
                            "[%g, %g]",
                            C[k].name, n, C[k].lo, C[k].hi);
    for (size_t i = 1; i < n; i++)
        if (a->s[i].t < a->s[i - 1].t)
            return bad(ctx, "samples.t must be in time order");
    const json_t *ev = json_object_get(cols, "events"), *shot = json_object_get(cols, "shot");
    const json_t *bars = json_object_get(cols, "bars");
    if (!json_is_array(ev) || json_array_size(ev) != n || !json_is_array(shot) ||
        json_array_size(shot) != n || !json_is_array(bars) || json_array_size(bars) != n)
        return bad(ctx, "samples.events, shot and bars must have one entry per sample");
    for (size_t i = 0; i < n; i++) {
        double e, sh;
        if (num(json_array_get(ev, i), 0, 65535, &e) < 0 || ((unsigned)e & ~TG_EVENT_FLAGS))
            return bad(ctx, "samples.events holds an unknown flag");
        if (num(json_array_get(shot, i), -1, 32767, &sh) < 0)
            return bad(ctx, "samples.shot must be -1 or a shot index");
        a->s[i].ev = (uint16_t)e;
        a->s[i].shot = (int16_t)sh;
        const json_t *b = json_array_get(bars, i);
        if (!json_is_array(b) || json_array_size(b) != 4)
            return bad(ctx, "samples.bars must be [top, bottom, left, right] per sample");
        for (int k = 0; k < 4; k++) {
            double v;
            if (num(json_array_get(b, (size_t)k), 0, TG_ANALYSIS_SIDE, &v) < 0)
                return bad(ctx, "samples.bars out of range");
            a->s[i].bar[k] = (int16_t)v;
        }
    }
    size_t nd = n * TG_DESC_N, nt = n * TG_THUMB_W * TG_THUMB_H;
    float *desc = malloc(nd * sizeof(float));
    uint8_t *thumb = malloc(nt);
    int rc = 0;
    if (!desc || !thumb)
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
    else if (unb64(json_object_get(cols, "desc_f32"), desc, nd * sizeof(float)) < 0 ||
             unb64(json_object_get(cols, "thumb_u8"), thumb, nt) < 0)
        rc = bad(ctx, "samples.desc_f32 / thumb_u8 are not base64 of the right length");
    else
        for (size_t i = 0; i < n && rc == 0; i++) {
            memcpy(a->s[i].desc, desc + i * TG_DESC_N, sizeof(a->s[i].desc));
            memcpy(a->s[i].thumb, thumb + i * TG_THUMB_W * TG_THUMB_H, sizeof(a->s[i].thumb));
            for (int k = 0; k < TG_DESC_N; k++)
                if (!isfinite(a->s[i].desc[k]) || a->s[i].desc[k] < 0 || a->s[i].desc[k] > 1)
                    rc = bad(ctx, "samples.desc_f32 values must be in [0, 1]");
        }
    free(desc);
    free(thumb);
    return rc;
}

static int read_cnn(tg_ctx *ctx, const json_t *c, tg_analysis_data *a)
{
    if (!c || json_is_null(c))
        return 0;
    const char *model = json_string_value(json_object_get(c, "model"));
    int m = -1;
    for (int k = 1; k <= 2 && model; k++)
        if (!strcmp(model, tgi_cnn_model_name(k)))
            m = k;
    double dim, rs, cs;
    const json_t *t = json_object_get(c, "t"), *nsfw = json_object_get(c, "nsfw");
    if (m < 0 || num(json_object_get(c, "dim"), 1, MAX_DIM, &dim) < 0 ||
        num(json_object_get(c, "repeat_sim"), -1, 1, &rs) < 0 ||
        num(json_object_get(c, "cluster_sim"), -1, 1, &cs) < 0 || !json_is_array(t) ||
        !json_is_array(nsfw) || json_array_size(t) != json_array_size(nsfw) ||
        json_array_size(t) > MAX_ITEMS)
        return bad(ctx, "cnn needs model, dim, repeat_sim, cluster_sim, t and nsfw");
    size_t n = json_array_size(t);
    a->cnn = m;
    a->dim = (int)dim;
    a->repeat_sim = (float)rs;
    a->cluster_sim = (float)cs;
    a->items = calloc(n + 1, sizeof(*a->items));
    a->emb = malloc((n * (size_t)a->dim + 1) * sizeof(float));
    float *cls = malloc((n * TG_CNN_CLASSES + 1) * sizeof(float));
    int rc = 0;
    if (!a->items || !a->emb || !cls) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    if (unb64(json_object_get(c, "embeddings_f32"), a->emb, n * (size_t)a->dim * sizeof(float)) <
            0 ||
        unb64(json_object_get(c, "classes_f32"), cls, n * TG_CNN_CLASSES * sizeof(float)) < 0) {
        rc = bad(ctx, "cnn.embeddings_f32 / classes_f32 are not base64 of the right length");
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        double tv, nv;
        if (num(json_array_get(t, k), 0, 1e7, &tv) < 0 ||
            num(json_array_get(nsfw, k), 0, 1, &nv) < 0 || (k && tv < a->items[k - 1].t)) {
            rc = bad(ctx, "cnn.t must be times in order and cnn.nsfw scores in [0, 1]");
            goto done;
        }
        a->items[k].t = tv;
        a->items[k].nsfw = (float)nv;
        memcpy(a->items[k].classes, cls + k * TG_CNN_CLASSES, sizeof(a->items[k].classes));
    }
    for (size_t k = 0; k < n * (size_t)a->dim; k++)
        if (!isfinite(a->emb[k]) || fabsf(a->emb[k]) > 1.0001f) {
            rc = bad(ctx, "cnn.embeddings_f32 must be unit vectors");
            goto done;
        }
    a->n_items = n;
done:
    free(cls);
    return rc;
}

static int read_faces(tg_ctx *ctx, const json_t *f, tg_analysis_data *a)
{
    if (!f)
        return 0;
    const json_t *list = json_object_get(f, "list");
    if (!json_is_object(f) || !json_is_boolean(json_object_get(f, "on")) || !json_is_array(list) ||
        json_array_size(list) > MAX_SAMPLES)
        return bad(ctx, "faces must be {on, list}");
    a->faces_on = json_is_true(json_object_get(f, "on"));
    size_t n = json_array_size(list);
    if (!(a->faces = calloc(n + 1, sizeof(*a->faces))))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const json_t *o = json_array_get(list, k), *box = json_object_get(o, "box");
        tgi_face_obs *x = &a->faces[k];
        double t, v[4], sc, ey, sh;
        if (!json_is_array(box) || json_array_size(box) != 4 ||
            num(json_object_get(o, "t"), 0, 1e7, &t) < 0 ||
            num(json_object_get(o, "score"), 0, 1, &sc) < 0 ||
            num(json_object_get(o, "eyes"), -1, 10, &ey) < 0 ||
            num(json_object_get(o, "sharp"), 0, 100, &sh) < 0 ||
            !json_is_boolean(json_object_get(o, "cut")) || (k && t < a->faces[k - 1].t))
            return bad(ctx, "faces.list entries need t (in order), box, score, eyes, sharp, cut");
        for (int i = 0; i < 4; i++)
            if (num(json_array_get(box, (size_t)i), -1, 2, &v[i]) < 0)
                return bad(ctx, "faces.list box values out of range");
        *x = (tgi_face_obs){
            t,           (float)v[0], (float)v[1],
            (float)v[2], (float)v[3], (float)sc,
            (float)ey,   (float)sh,   (uint8_t)json_is_true(json_object_get(o, "cut"))};
    }
    a->n_faces = n;
    return 0;
}

static int read_subjects(tg_ctx *ctx, const json_t *f, tg_analysis_data *a)
{
    if (!f) /* analyses written before the subject detector */
        return 0;
    const json_t *list = json_object_get(f, "list");
    if (!json_is_object(f) || !json_is_boolean(json_object_get(f, "on")) || !json_is_array(list) ||
        json_array_size(list) > MAX_SAMPLES)
        return bad(ctx, "subjects must be {on, list}");
    a->subjects_on = json_is_true(json_object_get(f, "on"));
    const json_t *in = json_object_get(f, "input"); /* absent in older analyses */
    double iw, ih;
    if (in && (!json_is_array(in) || json_array_size(in) != 2 ||
               num(json_array_get(in, 0), 1, 8192, &iw) < 0 ||
               num(json_array_get(in, 1), 1, 8192, &ih) < 0 || iw != floor(iw) || ih != floor(ih)))
        return bad(ctx, "subjects.input must be [width, height]");
    if (in) {
        a->subjects_in[0] = (int)iw;
        a->subjects_in[1] = (int)ih;
    }
    const json_t *lk = json_object_get(f, "looked"); /* absent in older analyses */
    double looked = 0;
    if (lk && (num(lk, 1, MAX_SAMPLES, &looked) < 0 || looked != floor(looked)))
        return bad(ctx, "subjects.looked must be a count");
    a->subjects_looked = (size_t)looked;
    size_t n = json_array_size(list);
    if (!(a->subjects = calloc(n + 1, sizeof(*a->subjects))))
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        const json_t *o = json_array_get(list, k), *box = json_object_get(o, "box");
        double t, cls, sc, v[4];
        if (!json_is_array(box) || json_array_size(box) != 4 ||
            num(json_object_get(o, "t"), 0, 1e7, &t) < 0 ||
            num(json_object_get(o, "cls"), -1, 79, &cls) < 0 || cls != floor(cls) ||
            num(json_object_get(o, "score"), 0, 1, &sc) < 0 || (k && t < a->subjects[k - 1].t))
            return bad(ctx, "subjects.list entries need t (in order), cls, score, box");
        for (int i = 0; i < 4; i++)
            if (num(json_array_get(box, (size_t)i), 0, 1, &v[i]) < 0)
                return bad(ctx, "subjects.list box values out of range");
        a->subjects[k] = (tgi_subject_obs){t,           (int)cls,    (float)sc,  (float)v[0],
                                           (float)v[1], (float)v[2], (float)v[3]};
    }
    a->n_subjects = n;
    return 0;
}

int tg_analysis_from_json(tg_ctx *ctx, const char *text, tg_analysis_data **out)
{
    *out = NULL;
    json_error_t err;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    tg_analysis_data *a = NULL;
    int rc;
    if (!root)
        return tgi_fail(ctx, TG_EINVAL, "not a valid thumbgen analysis: JSON error at line %d: %s",
                        err.line, err.text);
    if (!little_endian()) {
        rc = tgi_fail(ctx, TG_EINTERNAL, "analysis files are little-endian only");
        goto fail;
    }
    double ver;
    if (!json_is_object(root) || num(json_object_get(root, "thumbgen_analysis"), 1, 1, &ver) < 0) {
        rc = bad(ctx, "no \"thumbgen_analysis\": 1 (write it with `thumbgen analyze`)");
        goto fail;
    }
    if (!(a = tgi_analysis_new())) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    const json_t *src = json_object_get(root, "source"), *an = json_object_get(root, "analysis");
    const char *path = json_string_value(json_object_get(src, "path"));
    const char *mode = json_string_value(json_object_get(an, "mode"));
    double dur, claimed, w, h, fps, looked, aw, ah;
    if (!path || num(json_object_get(src, "duration"), 0, 1e7, &dur) < 0 ||
        num(json_object_get(src, "claimed"), -1, 1e7, &claimed) < 0 ||
        num(json_object_get(src, "width"), 1, 65536, &w) < 0 ||
        num(json_object_get(src, "height"), 1, 65536, &h) < 0 ||
        num(json_object_get(src, "fps"), 0, 10000, &fps) < 0 || !mode ||
        (strcmp(mode, "full") && strcmp(mode, "sparse")) ||
        num(json_object_get(an, "seconds"), 0, 1e7, &looked) < 0 ||
        num(json_object_get(an, "width"), 8, TG_ANALYSIS_SIDE, &aw) < 0 ||
        num(json_object_get(an, "height"), 8, TG_ANALYSIS_SIDE, &ah) < 0) {
        rc = bad(ctx, "source {path, duration, claimed, width, height, fps} and analysis {mode, "
                      "seconds, width, height} are required");
        goto fail;
    }
    if (!(a->path = strdup(path))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    a->duration = dur;
    a->claimed = claimed;
    a->width = (int)w;
    a->height = (int)h;
    a->fps = fps;
    a->looked = looked;
    a->aw = (int)aw;
    a->ah = (int)ah;
    a->mode = !strcmp(mode, "sparse") ? TG_ANALYSIS_SPARSE : TG_ANALYSIS_FULL;
    const json_t *fr = json_object_get(an, "frame");
    if (fr) {
        double fx, fy, fw, fh;
        if (num(json_object_get(fr, "x"), 0, w - 1, &fx) < 0 ||
            num(json_object_get(fr, "y"), 0, h - 1, &fy) < 0 ||
            num(json_object_get(fr, "w"), 1, w - fx, &fw) < 0 ||
            num(json_object_get(fr, "h"), 1, h - fy, &fh) < 0) {
            rc = bad(ctx, "analysis.frame must be a rectangle inside the source's frame");
            goto fail;
        }
        a->frame = (tg_rect){(int)fx, (int)fy, (int)fw, (int)fh};
    }
    const json_t *c = json_object_get(root, "content");
    double cx, cy, cw, ch;
    if (num(json_object_get(c, "x"), 0, aw, &cx) < 0 ||
        num(json_object_get(c, "y"), 0, ah, &cy) < 0 ||
        num(json_object_get(c, "w"), 1, aw - cx, &cw) < 0 ||
        num(json_object_get(c, "h"), 1, ah - cy, &ch) < 0) {
        rc = bad(ctx, "content must be a rectangle inside the analysis frame");
        goto fail;
    }
    a->content = (tg_rect){(int)cx, (int)cy, (int)cw, (int)ch};
    if ((rc = read_samples(ctx, json_object_get(root, "samples"), a)) < 0)
        goto fail;
    /* spans, shots, cuts, notes */
    const json_t *spans = json_object_get(root, "spans"), *shots = json_object_get(root, "shots");
    const json_t *cuts = json_object_get(root, "cuts"), *notes = json_object_get(root, "notes");
    if (!json_is_array(spans) || !json_is_array(shots) || !json_is_array(cuts) ||
        !json_is_array(notes) || json_array_size(spans) > a->n || json_array_size(shots) > a->n ||
        json_array_size(cuts) > a->n || json_array_size(notes) > 100) {
        rc = bad(ctx, "spans, shots, cuts and notes must be arrays (at most one per sample)");
        goto fail;
    }
    a->spans = calloc(json_array_size(spans) + 1, sizeof(tgi_span));
    a->shots = calloc(json_array_size(shots) + 1, sizeof(tg_shot));
    a->cuts = calloc(json_array_size(cuts) + 1, sizeof(double));
    if (!a->spans || !a->shots || !a->cuts) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t k = 0; k < json_array_size(spans); k++) {
        const json_t *sp = json_array_get(spans, k);
        double first, end, key_end = 0;
        if (!json_is_array(sp) || num(json_array_get(sp, 0), 0, (double)a->n - 1, &first) < 0 ||
            num(json_array_get(sp, 1), 0, 1e7, &end) < 0 ||
            (json_array_size(sp) > 2 && num(json_array_get(sp, 2), end, 1e7, &key_end) < 0) ||
            (k && (size_t)first <= a->spans[k - 1].first)) {
            rc = bad(ctx, "spans must be [first sample, end time(, next keyframe)] in order");
            goto fail;
        }
        a->spans[a->n_spans++] = (tgi_span){(size_t)first, end, key_end};
    }
    for (size_t k = 0; k < json_array_size(shots); k++) {
        const json_t *sh = json_array_get(shots, k);
        double s0, s1;
        if (!json_is_array(sh) || num(json_array_get(sh, 0), 0, 1e7, &s0) < 0 ||
            num(json_array_get(sh, 1), s0, 1e7, &s1) < 0) {
            rc = bad(ctx, "shots must be [start, end] pairs");
            goto fail;
        }
        a->shots[a->n_shots++] = (tg_shot){s0, s1};
    }
    for (size_t i = 0; i < a->n; i++)
        if (a->s[i].shot >= (int)a->n_shots) {
            rc = bad(ctx, "samples.shot names a shot that is not in shots");
            goto fail;
        }
    for (size_t k = 0; k < json_array_size(cuts); k++)
        if (num(json_array_get(cuts, k), 0, 1e7, &a->cuts[a->n_cuts++]) < 0) {
            rc = bad(ctx, "cuts must be times");
            goto fail;
        }
    for (size_t k = 0; k < json_array_size(notes); k++) {
        const char *note = json_string_value(json_array_get(notes, k));
        if (!note || tgi_analysis_add_note(a, "%s", note) < 0) {
            rc = bad(ctx, "notes must be strings");
            goto fail;
        }
    }
    if ((rc = read_cnn(ctx, json_object_get(root, "cnn"), a)) < 0 ||
        (rc = read_faces(ctx, json_object_get(root, "faces"), a)) < 0 ||
        (rc = read_subjects(ctx, json_object_get(root, "subjects"), a)) < 0)
        goto fail;
    json_decref(root);
    *out = a;
    return 0;
fail:
    json_decref(root);
    tg_analysis_free(&a);
    return rc;
}
