/*
 * embed.c — `thumbgen embed`: the CNN's view of a picture or of a video's sampled
 * frames as JSON (see tg_embed in thumbgen.h).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/cnn.h"
#include "core/error.h"
#include "media/media.h"
#include "thumbgen.h"

#define EMBED_INTERVAL 0.5 /* as the analysis: one frame per half second … */
#define EMBED_MAX      600 /* … and at most this many per video */

typedef struct embed_job {
    tg_ctx *ctx;
    tgi_cnn *cnn;
    int still;
} embed_job;

static int on_frame(void *user, const tgi_frame *f)
{
    embed_job *j = user;
    if (j->still)
        return tgi_cnn_push_image(j->ctx, j->cnn, f->t, f->data, f->width, f->height, f->stride);
    return f->side ? tgi_cnn_push(j->ctx, j->cnn, f->t, f->side) : 0;
}

static int emit(tg_ctx *ctx, const tgi_cnn *cnn, int still, tg_embed_fn fn, void *user)
{
    const tgi_cnn_item *it = tgi_cnn_items(cnn);
    for (size_t i = 0; i < tgi_cnn_count(cnn); i++) {
        json_t *o = json_object(), *emb = json_array(), *cls = json_object();
        if (!o || !emb || !cls) {
            json_decref(o);
            json_decref(emb);
            json_decref(cls);
            return tgi_fail(ctx, TG_ENOMEM, "out of memory");
        }
        json_object_set_new(o, "model", json_string(tgi_cnn_model_name(tgi_cnn_model(cnn))));
        if (!still)
            json_object_set_new(o, "t", json_real(round(it[i].t * 1000) / 1000));
        const float *e = tgi_cnn_embedding(cnn, i);
        for (int k = 0; k < tgi_cnn_dim(cnn); k++)
            json_array_append_new(emb, json_real(e[k]));
        json_object_set_new(o, "embedding", emb);
        for (int k = 0; k < TG_CNN_CLASSES; k++)
            json_object_set_new(cls, tgi_cnn_class_names[k], json_real(it[i].classes[k]));
        json_object_set_new(o, "classes", cls);
        json_object_set_new(o, "nsfw", json_real(it[i].nsfw));
        char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(7));
        json_decref(o);
        if (!text)
            return tgi_fail(ctx, TG_ENOMEM, "out of memory");
        int stop = fn(user, text);
        free(text);
        if (stop)
            break;
    }
    return 0;
}

int tg_embed(tg_ctx *ctx, const char *path, const tg_options *o, tg_embed_fn fn, void *user)
{
    if (o->cnn == TG_CNN_NONE)
        return tgi_fail(ctx, TG_EINVAL, "--cnn none: there is no network to embed with");
    tgi_media *m = NULL;
    embed_job j = {.ctx = ctx};
    int rc = tgi_media_open(ctx, path, o->threads, &m);
    if (rc < 0)
        return rc;
    if ((rc = tgi_cnn_open(ctx, o->cnn, 16, 0, &j.cnn)) < 0)
        goto done;
    const tgi_media_info *in = tgi_media_get_info(m);
    j.still = in->still;
    tgi_decode_req rq = {.pix = TG_PIX_RGB24, .stage = "embed"};
    if (j.still) {
        /* the picture at its own size, resized as nsfwjs does */
        rq.width = in->width;
        rq.height = in->height;
        rq.end = 1e-3; /* the first frame only */
    } else {
        int side = tgi_cnn_side(j.cnn);
        rq.width = rq.height = 16; /* the analysis frame is not needed */
        rq.flags = TG_DECODE_FAST;
        rq.side_w = rq.side_h = side;
        rq.side_interval = fmax(EMBED_INTERVAL, in->duration / EMBED_MAX);
        rq.min_interval = 1.0 / 30;
    }
    if ((rc = tgi_media_decode(ctx, m, &rq, on_frame, &j, NULL)) < 0 ||
        (rc = tgi_cnn_flush(ctx, j.cnn)) < 0)
        goto done;
    if (tgi_cnn_count(j.cnn) == 0) {
        rc = tgi_fail(ctx, TG_ECORRUPT, "'%s': no frame could be decoded", path);
        goto done;
    }
    rc = emit(ctx, j.cnn, j.still, fn, user);
done:
    tgi_cnn_close(&j.cnn);
    tgi_media_close(&m);
    return rc;
}
