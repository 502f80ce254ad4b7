/*
 * error.h — the one error table of thumbgen, and the per-context error detail.
 *
 * Every function that can fail returns an int: 0 (TG_OK) on success or a negative
 * TG_E* code. The code says *what kind* of failure it was; the human-readable
 * detail (which file, what the foreign library said) goes into the tg_ctx the
 * caller passed, never into a global, because jobs run in parallel.
 *
 * The table below is an X-macro (after libuv's uv-errno): one line gives the enum
 * constant, its short name, its message and the HTTP status the server answers with.
 */
#ifndef TG_CORE_ERROR_H
#define TG_CORE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#include "thumbgen/context.h"

/* Set the context's message from a printf format and return code (so callers can
 * write `return tgi_fail(ctx, TG_EIO, "cannot open %s", path);`). ctx may be NULL. */
int tgi_fail(tg_ctx *ctx, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Same, but only when the context has no message yet: keeps the most specific
 * (innermost) detail when an error travels up through several layers. */
int tgi_fail_keep(tg_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report progress of the named stage in [0,1]; returns TG_ECANCEL when the
 * caller asked to stop, 0 otherwise. ctx may be NULL. */
int tgi_progress(tg_ctx *ctx, const char *stage, double fraction);
/* 1 when the caller asked ctx to stop (tg_ctx_cancel); no progress is reported, so any
 * thread may ask (a worker that reports into a context of its own). ctx may be NULL. */
int tgi_cancelled(const tg_ctx *ctx);

#endif
