/*
 * workers.h — helpers of the worker pools that the HTTP side also uses.
 */
#ifndef TG_SERVE_WORKERS_H
#define TG_SERVE_WORKERS_H

#include "thumbgen.h"

/* SHA-256 of a file as 64 lowercase hex characters (plus NUL). */
int tgi_sha256_file(tg_ctx *ctx, const char *path, char hex[65]);

#endif
