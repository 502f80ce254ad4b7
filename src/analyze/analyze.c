/*
 * analyze.c — the analyze stage's entry point (see analysis.h): open the video,
 * sample it (sampler.c), find its events (events.c), run the CNN over the frames
 * it was given (cnn.c), look for faces (faces.c) and people and animals (subjects.c)
 * and keep everything as plain arrays in a
 * tg_analysis_data. Nothing here chooses: that is select's work.
 */
#include "analyze/analysis.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/faces.h"
#include "analyze/sampler.h"
#include "analyze/subjects.h"
#include "core/error.h"
#include "core/utf8.h"
#include "media/media.h"

/* Frames per CNN batch. Each item of a batch runs on its own (the same results at any
 * size); 4 keeps both cores busy, and the batch's input and its two staging buffers
 * (224x224x3 floats a frame) cost 7 MB instead of the 29 MB of 16 (peak RSS of
 * `thumbgen make` -21 MB: bench/RESULTS.md, "Speed at every length", part 4). */
#define CNN_BATCH 4

tg_rect tgi_analysis_content_display(const tg_analysis_data *a)
{
    tg_rect f = a->frame.w > 0 ? a->frame : (tg_rect){0, 0, a->width, a->height};
    tg_rect c = a->content;
    double sx = (double)f.w / a->aw, sy = (double)f.h / a->ah;
    int x0 = (int)ceil(c.x * sx), y0 = (int)ceil(c.y * sy);
    int x1 = (int)floor((c.x + c.w) * sx), y1 = (int)floor((c.y + c.h) * sy);
    if (c.x > 0)
        x0 += 1;
    if (c.y > 0)
        y0 += 1;
    if (c.x + c.w < a->aw)
        x1 -= 1;
    if (c.y + c.h < a->ah)
        y1 -= 1;
    return (tg_rect){f.x + x0, f.y + y0, x1 - x0, y1 - y0};
}

/* A first look for padding other than black bars (padding.h), so that the analysis
 * sees the picture only: up to PROBE_FRAMES keyframes spread over the first PROBE_SPAN
 * seconds (no reference chains; a fill is there all along). Too few keyframes to agree
 * on, and the analysis looks at the whole frame, as it did: its own samples then find
 * the fill for the crop (events.c). */
#define PROBE_FRAMES   8
#define PROBE_SPAN     60.0
#define PROBE_UNPADDED 2

typedef struct probe {
    tgi_sample s[PROBE_FRAMES];
    size_t n;
    double end;
    int unpadded, padded; /* frames that tell no fill on either side, a fill on some */
} probe;

static int on_probe(void *user, const tgi_frame *f)
{
    probe *p = user;
    if (p->n >= PROBE_FRAMES || f->t >= p->end)
        return 1;
    tgi_sample *x = &p->s[p->n++];
    x->t = f->t;
    tgi_features_compute(f, NULL, x);
    p->padded += x->pad[0] > 0 || x->pad[1] > 0;
    p->unpadded += x->pad[0] == 0 && x->pad[1] == 0;
    /* most videos are not padded: two frames that tell so, and none that tells a fill,
     * end the look (a keyframe or two of the first ones, not eight) */
    return p->n >= PROBE_FRAMES || (p->unpadded >= PROBE_UNPADDED && !p->padded);
}

static int find_fill(tg_ctx *ctx, tgi_media *m, const tgi_media_info *in, int aw, int ah,
                     tg_rect *frame)
{
    *frame = (tg_rect){0, 0, 0, 0};
    probe *p = calloc(1, sizeof(*p));
    if (!p)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    p->end = in->duration > 0 ? fmin(in->duration, PROBE_SPAN) : PROBE_SPAN;
    tgi_decode_req rq = {.width = aw,
                         .height = ah,
                         .pix = TG_PIX_RGB24,
                         .flags = TG_DECODE_FAST | TG_DECODE_KEYONLY,
                         .min_interval = p->end / PROBE_FRAMES};
    int rc = tgi_media_decode(ctx, m, &rq, on_probe, p, NULL);
    if (rc >= 0) {
        rc = 0;
        tgi_events_classify(p->s, p->n);
        tg_rect pic;
        if (p->n >= 3 && tgi_events_fill(p->s, p->n, aw, ah, &pic)) {
            tg_analysis_data whole = {
                .width = in->width, .height = in->height, .aw = aw, .ah = ah, .content = pic};
            *frame = tgi_analysis_content_display(&whole);
            if (frame->w < 16 || frame->h < 16)
                *frame = (tg_rect){0, 0, 0, 0};
        }
    }
    free(p);
    return rc;
}

tg_analysis_data *tgi_analysis_new(void)
{
    tg_analysis_data *a = calloc(1, sizeof(*a));
    if (a) {
        a->mode = TG_ANALYSIS_FULL;
        a->cnn = TG_CNN_NONE;
    }
    return a;
}

void tg_analysis_free(tg_analysis_data **pa)
{
    if (!pa || !*pa)
        return;
    tg_analysis_data *a = *pa;
    free(a->path);
    free(a->s);
    free(a->spans);
    free(a->shots);
    free(a->cuts);
    free(a->items);
    free(a->emb);
    free(a->faces);
    free(a->subjects);
    for (size_t i = 0; i < a->n_notes; i++)
        free(a->notes[i]);
    free(a->notes);
    free(a);
    *pa = NULL;
}

int tgi_analysis_add_note(tg_analysis_data *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (len >= (int)sizeof(buf)) /* cut: never inside a character */
        buf[tgi_utf8_trim_end(buf, sizeof(buf) - 1)] = '\0';
    char **nn = realloc(a->notes, (a->n_notes + 1) * sizeof(char *));
    if (!nn)
        return TG_ENOMEM;
    a->notes = nn;
    if (!(a->notes[a->n_notes] = strdup(buf)))
        return TG_ENOMEM;
    a->n_notes++;
    return 0;
}

typedef struct timed {
    double t;
    size_t k;
} timed;

static int cmp_timed(const void *x, const void *y)
{
    const timed *a = x, *b = y;
    if (a->t != b->t)
        return (a->t > b->t) - (a->t < b->t);
    return (a->k > b->k) - (a->k < b->k);
}

/* The CNN's results into the analysis, in time order (sparse runs are not). */
static int take_cnn(tg_ctx *ctx, const tgi_cnn *cnn, tg_analysis_data *a)
{
    size_t n = tgi_cnn_count(cnn);
    int dim = tgi_cnn_dim(cnn);
    const tgi_cnn_item *it = tgi_cnn_items(cnn);
    timed *order = malloc((n + 1) * sizeof(*order));
    a->items = malloc((n + 1) * sizeof(*a->items));
    a->emb = malloc((n + 1) * (size_t)dim * sizeof(float));
    if (!order || !a->items || !a->emb) {
        free(order);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < n; k++)
        order[k] = (timed){it[k].t, k};
    qsort(order, n, sizeof(*order), cmp_timed);
    for (size_t k = 0; k < n; k++) {
        a->items[k] = it[order[k].k];
        memcpy(a->emb + k * (size_t)dim, tgi_cnn_embedding(cnn, order[k].k),
               (size_t)dim * sizeof(float));
    }
    free(order);
    a->n_items = n;
    a->cnn = tgi_cnn_model(cnn);
    a->dim = dim;
    a->repeat_sim = tgi_cnn_repeat_sim(cnn);
    a->cluster_sim = tgi_cnn_cluster_sim(cnn);
    return 0;
}

int tg_analyze(tg_ctx *ctx, const char *path, const tg_options *o, tg_analysis_data **out)
{
    return tgi_analyze_round(ctx, path, o, TGI_ROUND_ALL, out);
}

int tgi_analyze_round(tg_ctx *ctx, const char *path, const tg_options *o, int round,
                      tg_analysis_data **out)
{
    *out = NULL;
    tgi_media *m = NULL;
    tgi_cnn *cnn = NULL;
    tgi_faces *faces = NULL;
    tgi_subjects *subjects = NULL;
    tgi_events ev = {0};
    tg_analysis_data *a = tgi_analysis_new();
    int rc;
    if (!a || !(a->path = strdup(path))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = tgi_media_open(ctx, path, o->threads, &m)) < 0)
        goto fail;
    const tgi_media_info *in = tgi_media_get_info(m);
    a->width = in->width;
    a->height = in->height;
    a->fps = in->fps;
    a->claimed = in->duration;
    tgi_analysis_size(in->width, in->height, &a->aw, &a->ah);
    if (o->cnn != TG_CNN_NONE && (rc = tgi_cnn_open(ctx, o->cnn, CNN_BATCH, 0, &cnn)) < 0) {
        if (rc != TG_ENOENT)
            goto fail;
        /* without weights thumbgen still works, on the signal features alone */
        tgi_analysis_add_note(a, "no CNN: %s; the choice used the signal features only",
                              tg_ctx_message(ctx));
        tg_ctx_clear(ctx);
    }
    /* the face model comes with the networks: --cnn none is the signal features only */
    if (o->cnn != TG_CNN_NONE && (rc = tgi_faces_open(ctx, NULL, NULL, &faces)) < 0) {
        if (rc != TG_ENOENT)
            goto fail;
        tgi_analysis_add_note(a, "no face model: %s; eyes were not checked", tg_ctx_message(ctx));
        tg_ctx_clear(ctx);
    }
    /* the subject detector too: missing weights are a note, --cnn none turns it off */
    if (o->cnn != TG_CNN_NONE && (rc = tgi_subjects_open(ctx, NULL, &subjects)) < 0) {
        if (rc != TG_ENOENT)
            goto fail;
        tgi_analysis_add_note(a, "no subject detector: %s; people and animals were not looked for",
                              tg_ctx_message(ctx));
        tg_ctx_clear(ctx);
    }
    if ((rc = find_fill(ctx, m, in, a->aw, a->ah, &a->frame)) < 0)
        goto fail;
    if (a->frame.w > 0)
        tgi_analysis_size(a->frame.w, a->frame.h, &a->aw, &a->ah);
    if ((rc = tgi_sampler_run(ctx, m, o, round, a->frame, a->aw, a->ah, cnn, faces, subjects, a)) <
        0)
        goto fail;
    if (a->n == 0) {
        rc = tgi_fail(ctx, TG_ECORRUPT,
                      "'%s': no video frame could be decoded (corrupt or truncated file)", path);
        goto fail;
    }
    if ((rc = tgi_progress(ctx, "select", 0)) < 0)
        goto fail;
    if ((rc = tgi_events_detect(ctx, a->s, a->n, a->duration, a->spans, a->n_spans, a->aw, a->ah,
                                &ev)) < 0)
        goto fail;
    a->shots = ev.shots;
    a->n_shots = ev.n_shots;
    a->cuts = ev.cuts;
    a->n_cuts = ev.n_cuts;
    a->content = ev.content;
    memset(&ev, 0, sizeof(ev));
    if (cnn && ((rc = tgi_cnn_flush(ctx, cnn)) < 0 || (rc = take_cnn(ctx, cnn, a)) < 0))
        goto fail;
    if (a->mode == TG_ANALYSIS_FULL && in->duration > 0 && a->duration < in->duration * 0.9 - 1.0)
        tgi_analysis_add_note(a, "the video stops at %.1f s although it claims %.1f s (truncated?)",
                              a->duration, in->duration);
    *out = a;
    a = NULL;
    rc = 0;
fail:
    tgi_events_free(&ev);
    tgi_faces_close(&faces);
    tgi_subjects_close(&subjects);
    tgi_cnn_close(&cnn);
    tgi_media_close(&m);
    tg_analysis_free(&a);
    return rc;
}
