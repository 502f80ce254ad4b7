/*
 * av.c — libav errors into TG_E* codes (see av.h). The only place that decides what
 * an AVERROR means to thumbgen; the files that call libav keep their own sentences.
 * Also the one place that sets libav's process-wide log callback.
 */
#include "media/av.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "core/error.h"

static bool is_io_errno(int averr)
{
    switch (averr) {
    case AVERROR(EIO):
    case AVERROR(ENOSPC):
    case AVERROR(EDQUOT):
    case AVERROR(EFBIG):
    case AVERROR(EACCES):
    case AVERROR(EPERM):
    case AVERROR(EROFS):
    case AVERROR(ENOENT):
    case AVERROR(ENOTDIR):
    case AVERROR(EISDIR):
    case AVERROR(EBADF):
    case AVERROR(EPIPE):
    case AVERROR(ENXIO):
    case AVERROR(EMFILE):
    case AVERROR(ENFILE):
    case AVERROR(ENAMETOOLONG):
        return true;
    }
    return false;
}

int tgi_av_code(int averr, int code, int io)
{
    if (averr == AVERROR(ENOMEM))
        return TG_ENOMEM;
    if (io && is_io_errno(averr))
        return TG_EIO;
    return code;
}

const char *tgi_av_text(int averr, char *buf, size_t len)
{
    if (av_strerror(averr, buf, len) < 0 && len > 0)
        snprintf(buf, len, "unknown error %d", averr);
    return buf;
}

static int vfail(tg_ctx *ctx, int averr, int code, int io, const char *fmt, va_list ap)
{
    char msg[1024], eb[AV_ERROR_MAX_STRING_SIZE];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return tgi_fail(ctx, tgi_av_code(averr, code, io), "%s (%s)", msg,
                    tgi_av_text(averr, eb, sizeof(eb)));
}

int tgi_av_fail(tg_ctx *ctx, int averr, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(ctx, averr, code, 0, fmt, ap);
    va_end(ap);
    return rc;
}

int tgi_av_fail_io(tg_ctx *ctx, int averr, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vfail(ctx, averr, code, 1, fmt, ap);
    va_end(ap);
    return rc;
}

static void quiet_log(void *avcl, int level, const char *fmt, va_list vl)
{
    (void)avcl;
    (void)level;
    (void)fmt;
    (void)vl;
}

static void set_quiet(void)
{
    if (!getenv("TG_AV_LOG"))
        av_log_set_callback(quiet_log);
}

void tgi_av_quiet(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, set_quiet);
}
