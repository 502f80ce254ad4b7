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
 * contract that a user can edit and render again. The CLI and the server use only
 * this header.
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
 * The library's own threads (a GIF encoder's and an NN session's pools, core/pool.h)
 * block every signal: signals stay with the application's threads.
 */
#ifndef THUMBGEN_H
#define THUMBGEN_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* name, value, message, HTTP status — the one error table (see src/core/error.c). */
#define TG_ERRORS(X)                                                                               \
    X(OK, 0, "success", 200)                                                                       \
    X(EINVAL, -1, "invalid argument", 400)                                                         \
    X(ENOMEM, -2, "out of memory", 500)                                                            \
    X(EIO, -3, "input/output error", 500)                                                          \
    X(ENOENT, -4, "file not found", 404)                                                           \
    X(EFORMAT, -5, "not a recognised video file", 415)                                             \
    X(ENOVIDEO, -6, "no video stream", 422)                                                        \
    X(ECORRUPT, -7, "corrupt or truncated video", 422)                                             \
    X(ELIMIT, -8, "outside the supported limits", 422)                                             \
    X(ECODEC, -9, "video codec error", 500)                                                        \
    X(EENCODE, -10, "encoding failed", 500)                                                        \
    X(EPLAN, -11, "invalid plan", 400)                                                             \
    X(ECANCEL, -12, "cancelled", 409)                                                              \
    X(EINTERNAL, -13, "internal error", 500)                                                       \
    X(ETOOBIG, -14, "too large", 413)                                                              \
    X(EBUSY, -15, "too many jobs waiting", 429)                                                    \
    X(EUNAVAILABLE, -16, "shutting down", 503)                                                     \
    X(ECONFLICT, -17, "the job has already ended", 409)                                            \
    X(EREFUSED, -18, "link refused", 422)

enum tg_err {
#define TG_ERR_ENUM(name, val, msg, http) TG_##name = (val),
    TG_ERRORS(TG_ERR_ENUM)
#undef TG_ERR_ENUM
};

const char *tg_strerror(int code); /* static string, never NULL */
const char *tg_errname(int code);  /* "EINVAL", …; static */
int tg_http_status(int code);

/* ---- context: error detail, progress, cancellation (one per job/thread) ---- */
typedef struct tg_ctx tg_ctx;
typedef void (*tg_progress_fn)(void *user, const char *stage, double fraction);

tg_ctx *tg_ctx_new(void); /* NULL when out of memory */
void tg_ctx_free(tg_ctx **ctx);
const char *tg_ctx_message(const tg_ctx *ctx); /* "" when none */
void tg_ctx_clear(tg_ctx *ctx);
void tg_ctx_set_progress(tg_ctx *ctx, tg_progress_fn fn, void *user);
void tg_ctx_cancel(tg_ctx *ctx); /* may be called from another thread */

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
 * (tg_plan_free). The same as tg_analyze + tg_plan_from_analysis. */
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

/* ---- the web server (src/serve) ---- */
typedef struct tg_serve_opts {
    const char *host;     /* address to listen on, default "127.0.0.1" */
    int port;             /* default 8000 */
    const char *data_dir; /* database, videos/ and thumbnails/; default "./data" */
    const char *web_dir;  /* the page's files; default "web" */
    const char *ytdlp;    /* yt-dlp binary; default "yt-dlp" */
    int workers;          /* analyse/render workers; default 2 */
    int downloaders;      /* download workers; default 2 */
    int allow_private_urls;
    long long max_upload;          /* bytes; default 1 GiB */
    int max_queue;                 /* queued jobs before 429; default 100 */
    int max_video_seconds;         /* downloads longer than this are refused; default 4 h */
    int download_timeout;          /* seconds; default 600 */
    int quiet;                     /* no request log on stderr */
    const char *ytdlp_cookies;     /* --cookies FILE for yt-dlp, or NULL */
    const char *const *ytdlp_args; /* extra yt-dlp arguments (borrowed) */
    int n_ytdlp_args;
    int ytdlp_update; /* enum tg_ytdlp_update */
    /* Access (docs/api.md, "Access"): Host names besides the listening address
     * (NULL-terminated, or NULL), and the API token: read from token_file, or made at
     * start when require_token is set or the address is not loopback (no_auth: none). */
    const char *const *public_hosts;
    const char *token_file;
    int require_token;
    int no_auth;
    /* The job store (docs/deploy.md): NULL for sqlite:DATA/thumbgen.db, or
     * "sqlite:PATH" or "postgres://…", which many API processes and workers share. */
    const char *store;
    int no_http;      /* a worker only (thumbgen worker): no HTTP server */
    int lease_ms;     /* a claim's lease; default 30000 */
    int heartbeat_ms; /* lease renewal and reaping period; default 5000 */
    int max_attempts; /* lost leases before a job fails; default 3 */
} tg_serve_opts;

/* --ytdlp-update: upgrade the project's own yt-dlp (a virtualenv) with pip never, at
 * start (in the background), or at start and then every 24 h */
enum tg_ytdlp_update {
    TG_YTDLP_UPDATE_NEVER = 0,
    TG_YTDLP_UPDATE_START = 1,
    TG_YTDLP_UPDATE_DAILY = 2
};

/* What a yt-dlp can do (tg_ytdlp_probe): its version, the JavaScript runtime it would
 * use, and whether YouTube links can work (version >= TG_YTDLP_MIN_YOUTUBE and a
 * runtime); notice is the one sentence the page shows when they cannot. */
#define TG_YTDLP_MIN_YOUTUBE "2025.11.12"
typedef struct tg_ytdlp_info {
    char version[32];    /* "2023.03.04"; "" when yt-dlp cannot be run */
    char js_name[8];     /* "deno" or "node"; "" when none was found */
    char js_version[32]; /* "2.5.6", "20.19.2" */
    char js_path[512];
    int youtube_ok;
    char notice[400]; /* "" when youtube_ok */
} tg_ytdlp_info;

/* thumbgen doctor: one line per part on out (yt-dlp and its JavaScript runtime, the
 * ffmpeg libraries, the CNN weights, the data folder, Chromium for the browser test),
 * each "ok" or what is wrong and the command that fixes it. Returns the number of
 * required parts that are missing (0: all good). */
int tg_doctor(const char *ytdlp, const char *data_dir, FILE *out);

void tg_serve_opts_default(tg_serve_opts *o);
/* Run the server until tg_serve_stop() is called (for example from a SIGINT
 * handler). Running jobs are left to be resumed on the next start. */
int tg_serve_run(tg_ctx *ctx, const tg_serve_opts *o);
/* Async-signal-safe: ask a running tg_serve_run to stop. */
void tg_serve_stop(void);

#endif
