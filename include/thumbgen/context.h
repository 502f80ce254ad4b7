/*
 * thumbgen/context.h — what every part of thumbgen shares, library and application:
 * the one error table (TG_E* codes, their messages and HTTP statuses) and the
 * context (tg_ctx) that carries a job's error detail, progress and cancellation.
 * thumbgen.h includes it; modules that need no more of the API (src/nn, src/store,
 * src/core) include only this, so they do not see the options or the plan.
 */
#ifndef THUMBGEN_CONTEXT_H
#define THUMBGEN_CONTEXT_H

#include <stddef.h>

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

#endif
