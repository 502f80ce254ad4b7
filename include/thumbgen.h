/*
 * thumbgen.h — the public interface of libthumbgen.
 *
 * thumbgen turns a video into a dynamic thumbnail: a short animated GIF made of the
 * best, most representative moments, plus a still poster. The work is split in two:
 *
 *   tg_plan_make()  one analysis pass over the video -> a tg_plan (shots, chosen
 *                   segments, ranked keyframes, poster time, warnings)
 *   tg_render()     a second, targeted pass that decodes only the planned clips at
 *                   output size and writes the GIF and the poster
 *
 * A plan is plain data: tg_plan_to_json()/tg_plan_from_json() make it a stable JSON
 * contract that a user can edit and render again.
 *
 * libthumbgen is the pipeline (src/analyze, api, core, media, nn, render, select,
 * upscale: build/libthumbgen.a); the command line and the web app (src/cli, serve,
 * store, fetch: build/libthumbgen-app.a and main) are the application built on it, as
 * curl's src/ on its lib/. Names: tg_ is this header's API and nothing else; the
 * functions, types and variables the modules of src/ share with each other, declared
 * in their own headers there, are tgi_, as libuv's uv__; what one file keeps to
 * itself is static. Macros and enum constants are TG_ either way.
 * scripts/rename-internal checks the rule (and made the tgi_ names).
 *
 * Errors: every function returns 0 or a negative TG_E* code; the detail of the last
 * failure is in tg_ctx_message(ctx). Ownership: functions named *_free take a
 * pointer to the pointer and set it to NULL; "returns … owned by the caller" says
 * who frees what.
 *
 * Process-wide settings the library changes (every other state is per call/context):
 *   av_log_set_callback   libav's log is silenced (errors come back through tg_ctx),
 *                         once, at the first file opened; TG_AV_LOG=1 in the
 *                         environment keeps libav's own log (src/media/av.c).
 *   omp_set_num_threads(1)  for the calling thread, in a GIF encoder's begin: Debian's
 *                         libimagequant parallelises with OpenMP and its spinning idle
 *                         threads made frames 3-20x slower next to the decoder's; jobs
 *                         run in parallel at a higher level (src/render/gif.c). OpenMP
 *                         keeps this per thread, so it is set in each thread that
 *                         encodes a GIF.
 *   openblas_set_num_threads  all threads of OpenBLAS to one forward pass of one big
 *                         image, one when a batch runs on the NN pool's lanes
 *                         (src/nn/session.c) or the face detector's workers
 *                         (src/analyze/faces.c). OpenBLAS has only this global knob:
 *                         it is set before each forward pass; concurrent passes share
 *                         the last setting (results are the same, only speed varies).
 * The library's own threads (the pools of a GIF encoder, an NN session, the face
 * detector and a render's two format lanes, core/pool.h) block every signal: signals
 * stay with the application's threads.
 */
#ifndef THUMBGEN_H
#define THUMBGEN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "thumbgen/context.h"

/* ---- options: one struct, filled from the per-stage option tables ---- */
enum tg_style { TG_STYLE_CLIPS = 0, TG_STYLE_SLIDESHOW = 1 };
enum tg_analysis { TG_ANALYSIS_AUTO = 0, TG_ANALYSIS_FULL = 1, TG_ANALYSIS_SPARSE = 2 };
/* --upscale: off; auto = only the poster, only when the source is smaller than HD;
 * hd = 1280 wide (720 tall for portrait); fullhd = 1920 wide (1080 tall) */
enum tg_upscale {
    TG_UPSCALE_OFF = 0,
    TG_UPSCALE_AUTO = 1,
    TG_UPSCALE_HD = 2,
    TG_UPSCALE_FULLHD = 3
};
enum tg_network { TG_CNN_NONE = 0, TG_CNN_MOBILENET_V2 = 1, TG_CNN_INCEPTION_V3 = 2 };
/* off: ignore the nsfw score; soft: avoid a flagged moment when an alternative of
 * similar quality exists; strict: never show one */
enum tg_safe { TG_SAFE_OFF = 0, TG_SAFE_SOFT = 1, TG_SAFE_STRICT = 2 };

typedef struct tg_options {
    /* analyze stage */
    int analysis; /* enum tg_analysis */
    int cnn;      /* enum tg_network: the network that looks at sampled frames */
    /* select stage */
    int clips;       /* number of clips in the GIF */
    double clip_len; /* seconds per clip */
    int keyframes;   /* ranked stills */
    int style;       /* enum tg_style */
    int safe;        /* enum tg_safe */
    /* render stage */
    int width;          /* output width in pixels (height follows the aspect) */
    double fps;         /* output frame rate */
    int quality;        /* 1..100 */
    double still_len;   /* seconds per still in the slideshow style */
    double crossfade;   /* seconds of cross-fade between stills (0 = cut) */
    double max_bytes;   /* byte budget of each animated output (0 = none) */
    int upscale;        /* enum tg_upscale */
    int upscale_method; /* index into the upscale-method choices (src/upscale) */
    int formats;        /* the animations the server makes: bit k = gif, webp, mp4 */
    /* both */
    int threads; /* decoder threads, 0 = automatic */
} tg_options;

void tg_options_default(tg_options *o);
/* Set one option from text ("clips", "3"); validates type and range. */
int tg_options_set(tg_ctx *ctx, tg_options *o, const char *name, const char *value);

/* A size written "2M", "500k", "1G" or plain bytes (binary units) → bytes in *out.
 * Returns 0, or TG_EINVAL for anything else (no message: the caller names it). */
int tg_parse_bytes(const char *text, double *out);

/* Option tables, for --help and for the web API: iterate until name == NULL. */
/* TG_OPT_BYTES: a double field, written "2M", "500k" or plain bytes; 0 = none.
 * TG_OPT_SET: an int field, a non-empty set of the choices written "a,b" (or "all"),
 * the value bit k = choice k; def and max are bit masks. */
typedef enum { TG_OPT_INT, TG_OPT_DOUBLE, TG_OPT_ENUM, TG_OPT_BYTES, TG_OPT_SET } tg_opt_type;
typedef struct tg_opt {
    const char *name;
    tg_opt_type type;
    size_t offset; /* offsetof(tg_options, field) */
    double def, min, max;
    const char *choices; /* TG_OPT_ENUM: "a|b|c", the value is the index; TG_OPT_SET: bits */
    const char *help;
} tg_opt;
typedef struct tg_opt_stage {
    const char *stage; /* "select", "render" */
    const tg_opt *opts;
} tg_opt_stage;
extern const tg_opt_stage tg_option_stages[]; /* ends with {NULL, NULL} */
/* The name of choice idx of an enum option ("a|b|c", 1 → "b"): a pointer into
 * op->choices and its length in *len (0 and "" when idx is out of range). */
const char *tg_opt_choice_name(const tg_opt *op, int idx, size_t *len);
/* Options as JSON (the web API, the job store): every option, defaults filled, keys
 * sorted, so that equal options give equal text (the server's cache key). A malloc'd
 * string, or NULL when out of memory. */
char *tg_options_to_json(const tg_options *o);
/* Options from a JSON object of name → number or string (null: the default), each
 * through tg_options_set; TG_EINVAL with one sentence. */
int tg_options_from_json_text(tg_ctx *ctx, const char *json, tg_options *o);
/* The option table as JSON, for forms built from it (GET /api/options): an array of
 * {name, stage, type ("int", "number", "choice", "bytes"), default, min, max, choices,
 * help}; a malloc'd string, or NULL when out of memory. */
char *tg_options_table_json(void);

/* ---- the plan ---- */
typedef struct tg_shot {
    double start, end;
} tg_shot;
typedef struct tg_segment {
    double start, end, score;
    int shot;
    int cluster; /* CNN content cluster of its middle, -1 when unknown */
} tg_segment;
typedef struct tg_keyframe {
    double t, score;
    int shot;
    int cluster; /* CNN content cluster, -1 when unknown */
} tg_keyframe;
/* A frame the CNN looked at: its nsfw score and content cluster (-1: flagged
 * material, not clustered). */
typedef struct tg_cnn_sample {
    double t;
    float nsfw;
    int cluster;
} tg_cnn_sample;
typedef struct tg_rect {
    int x, y, w, h;
} tg_rect;

typedef struct tg_plan {
    char *path;
    double duration;   /* seconds */
    int width, height; /* display size: rotation and sample aspect applied */
    double fps;
    tg_rect crop; /* content area in display pixels (bars removed) */
    tg_shot *shots;
    size_t n_shots;
    tg_segment *segments; /* in time order */
    size_t n_segments;
    tg_keyframe *keyframes; /* best first */
    size_t n_keyframes;
    double poster_t;
    int analysis;    /* enum tg_analysis: how it was made (FULL or SPARSE) */
    double analysed; /* seconds of video looked at frame by frame */
    int cnn;         /* enum tg_network: the network used (TG_CNN_NONE: none) */
    tg_cnn_sample *cnn_samples;
    size_t n_cnn_samples;
    int n_clusters;
    char **warnings;
    size_t n_warnings;
} tg_plan;

/* Analyse the video at `path` and choose the moments. *out is owned by the caller
 * (tg_plan_free). tg_analyze + tg_plan_from_analysis, except that a sparse analysis
 * first decodes fewer of its stretches as far as a clip needs, and all of them again
 * only when the choice from those lacks clean clips or stills (docs/plan.md). */
int tg_plan_make(tg_ctx *ctx, const char *path, const tg_options *o, tg_plan **out);

/* ---- the analysis as data (`thumbgen analyze`, `plan --from-analysis`) ---- */
/* Everything the analysis pass learns (per-sample signals, events, shots, the CNN's
 * embeddings, faces), before any choice; see docs/analysis.md. */
typedef struct tg_analysis_data tg_analysis_data;
/* One pass over the video (o->analysis, o->cnn apply); *out owned by the caller. */
int tg_analyze(tg_ctx *ctx, const char *path, const tg_options *o, tg_analysis_data **out);
void tg_analysis_free(tg_analysis_data **a);
/* Choose the moments from an analysis, without decoding: select's options apply. */
int tg_plan_from_analysis(tg_ctx *ctx, const tg_analysis_data *a, const tg_options *o,
                          tg_plan **out);
/* The analysis as JSON (a malloc'd string the caller frees), and back (validated). */
int tg_analysis_to_json(tg_ctx *ctx, const tg_analysis_data *a, char **out);
int tg_analysis_from_json(tg_ctx *ctx, const char *json, tg_analysis_data **out);
void tg_plan_free(tg_plan **plan);

/* The plan as JSON (one object, see docs/plan.md); *out is a malloc'd string the
 * caller frees with free(). */
int tg_plan_to_json(tg_ctx *ctx, const tg_plan *plan, char **out);
/* Parse and validate a plan (for `make --plan`); *out owned by the caller. */
int tg_plan_from_json(tg_ctx *ctx, const char *json, tg_plan **out);

/* ---- embed: what the CNN sees (thumbgen embed) ---- */
/* For a picture, one JSON object {"model", "embedding":[…], "classes":{drawing,
 * hentai, neutral, porn, sexy}, "nsfw"}; for a video, one per sampled frame (the
 * frames the analysis gives the CNN), each with its "t". fn gets each object as
 * one line of text; return nonzero from it to stop. o->cnn chooses the model. */
typedef int (*tg_embed_fn)(void *user, const char *json);
int tg_embed(tg_ctx *ctx, const char *path, const tg_options *o, tg_embed_fn fn, void *user);

/* ---- render ---- */
/* What an animated output became: the ladder's chosen rung when a budget applied. */
typedef struct tg_output_report {
    long long bytes;
    int quality;
    double fps; /* average frames per second of the output */
    int width, height;
    double clip_share; /* share of each clip kept (1 = whole) */
} tg_output_report;

typedef struct tg_outputs {
    const char *gif;    /* path of the animated GIF, or NULL */
    const char *webp;   /* path of the animated WebP, or NULL */
    const char *mp4;    /* path of the muted looping MP4, or NULL */
    const char *poster; /* path of the poster, .jpg/.jpeg or .png, or NULL */
    const char *sheet;  /* contact sheet of the ranked keyframes (.jpg/.png), or NULL */
    /* filled by tg_render */
    tg_output_report gif_report, webp_report, mp4_report;
} tg_outputs;

/* Decode the plan's clips from `path` and write the outputs atomically (temp file +
 * rename): on failure no output file is left behind. */
int tg_render(tg_ctx *ctx, const char *path, const tg_plan *plan, const tg_options *o,
              tg_outputs *out);

/* Encode exactly the given frames — one video clip (every frame, resampled to
 * o->fps) or image files (one frame each, in order) — with no selection, as gifski
 * does: for people who already have their frames, and to compare encoders. */
int tg_render_files(tg_ctx *ctx, const char *const *inputs, size_t n, const tg_options *o,
                    tg_outputs *out);

/* Upscale one still image (PNG, JPEG, …) by scale (2, 3 or 4) with the named method
 * (NULL = the default; see `thumbgen make --help`, upscale-method) and write out (.png,
 * .jpg or .jpeg) atomically. TG_ELIMIT for images under 8x8 or results beyond 16384 px
 * a side or 64 Mpixels. */
int tg_upscale_file(tg_ctx *ctx, const char *in, const char *out, int scale, const char *method);

#endif
