/*
 * error.c — the error table's lookups and the per-job context (message buffer,
 * progress callback, cancellation flag). A tg_ctx belongs to one job; only
 * tg_ctx_cancel() may be called from another thread (it sets an atomic flag).
 */
#include "core/error.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fault.h"
#include "core/utf8.h"

struct tg_ctx {
    char msg[1024];
    tg_progress_fn progress;
    void *progress_user;
    atomic_int cancel;
};

const char *tg_strerror(int code)
{
    switch (code) {
#define TG_ERR_MSG(name, val, msg, http)                                                           \
    case val:                                                                                      \
        return msg;
        TG_ERRORS(TG_ERR_MSG)
#undef TG_ERR_MSG
    }
    return "unknown error";
}

const char *tg_errname(int code)
{
    switch (code) {
#define TG_ERR_NAME(name, val, msg, http)                                                          \
    case val:                                                                                      \
        return #name;
        TG_ERRORS(TG_ERR_NAME)
#undef TG_ERR_NAME
    }
    return "EUNKNOWN";
}

int tg_http_status(int code)
{
    switch (code) {
#define TG_ERR_HTTP(name, val, msg, http)                                                          \
    case val:                                                                                      \
        return http;
        TG_ERRORS(TG_ERR_HTTP)
#undef TG_ERR_HTTP
    }
    return 500;
}

tg_ctx *tg_ctx_new(void)
{
    tg_ctx *c = calloc(1, sizeof(*c));
    if (c)
        atomic_init(&c->cancel, 0);
    return c;
}

void tg_ctx_free(tg_ctx **ctx)
{
    if (!ctx || !*ctx)
        return;
    free(*ctx);
    *ctx = NULL;
}

const char *tg_ctx_message(const tg_ctx *ctx)
{
    return ctx ? ctx->msg : "";
}

void tg_ctx_clear(tg_ctx *ctx)
{
    if (ctx)
        ctx->msg[0] = '\0';
}

void tg_ctx_set_progress(tg_ctx *ctx, tg_progress_fn fn, void *user)
{
    if (!ctx)
        return;
    ctx->progress = fn;
    ctx->progress_user = user;
}

void tg_ctx_cancel(tg_ctx *ctx)
{
    if (ctx)
        atomic_store(&ctx->cancel, 1);
}

static int vfail(tg_ctx *ctx, int code, int keep, const char *fmt, va_list ap)
{
    if (ctx && !(keep && ctx->msg[0])) {
        int n = vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
        if (n >= (int)sizeof(ctx->msg)) /* cut: never inside a character */
            ctx->msg[tgi_utf8_trim_end(ctx->msg, sizeof(ctx->msg) - 1)] = '\0';
    }
    return code;
}

int tgi_fail(tg_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ctx, code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int tgi_fail_keep(tg_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(ctx, code, 1, fmt, ap);
    va_end(ap);
    return code;
}

int tgi_cancelled(const tg_ctx *ctx)
{
    return ctx && atomic_load(&ctx->cancel);
}

int tgi_progress(tg_ctx *ctx, const char *stage, double fraction)
{
    if (!ctx)
        return 0;
    if (atomic_load(&ctx->cancel))
        return tgi_fail(ctx, TG_ECANCEL, "cancelled during %s", stage);
    tgi_fault_stage(stage);
    if (ctx->progress)
        ctx->progress(ctx->progress_user, stage, fraction < 0 ? 0 : fraction > 1 ? 1 : fraction);
    return 0;
}
