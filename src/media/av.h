/*
 * av.h — the one translator of libav errors (AVERROR) into thumbgen's TG_E* codes.
 *
 * Every file that calls libavformat, libavcodec or libavfilter hands a failed call's
 * AVERROR to tgi_av_fail(), so the mapping is the same everywhere:
 *
 *   AVERROR(ENOMEM)                              → TG_ENOMEM
 *   an errno-style I/O failure (disk full, no permission, no such directory, …)
 *       of a call that reads or writes a file    → TG_EIO       (tgi_av_fail_io only)
 *   anything else                                → the code the caller names
 *
 * libav's own text (av_strerror) is kept, in brackets after the caller's sentence.
 */
#ifndef TG_MEDIA_AV_H
#define TG_MEDIA_AV_H

#include <stddef.h>

#include "thumbgen.h"

/* The TG_E* code for averr (see the table above): code unless averr says something
 * more precise; io: the failed call reads or writes a file. */
int tgi_av_code(int averr, int code, int io);

/* libav's text for averr in buf (never empty); returns buf. */
const char *tgi_av_text(int averr, char *buf, size_t len);

/* tgi_fail(ctx, tgi_av_code(averr, code, 0), "<fmt …> (<libav's text>)"); returns the code. */
int tgi_av_fail(tg_ctx *ctx, int averr, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same for a call that reads or writes a file (I/O errors become TG_EIO). */
int tgi_av_fail_io(tg_ctx *ctx, int averr, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Silence libav's own log (errors come back through tgi_fail), once per process; with
 * TG_AV_LOG=1 in the environment libav keeps logging. Called before opening a file. */
void tgi_av_quiet(void);

#endif
