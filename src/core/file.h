/*
 * file.h — atomic output files: write to a temp file in the destination's folder,
 * then fsync and rename over the final name. A reader never sees a half-written
 * thumbnail, and a failed or cancelled job leaves no file behind.
 */
#ifndef TG_CORE_FILE_H
#define TG_CORE_FILE_H

#include "thumbgen/context.h"

typedef struct tgi_atomic {
    char *path; /* final name (owned) */
    char *tmp;  /* temp name (owned) */
    int fd;     /* open for writing, -1 when closed */
} tgi_atomic;

/* Create the temp file (mode 0644). On failure nothing is left behind. */
int tgi_atomic_open(tg_ctx *ctx, const char *path, tgi_atomic *a);
/* fsync, close, rename; on failure the temp file is removed. Always releases a. */
int tgi_atomic_commit(tg_ctx *ctx, tgi_atomic *a);
/* Close and remove the temp file; accepts an unopened (zeroed) tgi_atomic. */
void tgi_atomic_abort(tgi_atomic *a);
/* write() all of buf, retrying on EINTR and short writes (a simulated full disk,
 * fault.h, fails it with ENOSPC); TG_EIO with the reason in ctx. */
int tgi_write_all(tg_ctx *ctx, int fd, const void *buf, size_t len);
/* The same loop for callers that cannot report through a context (an encoder's
 * write callback): 0, or the errno value of the failure (ENOSPC when write(2) wrote
 * nothing). No fault injection. */
int tgi_write_fd(int fd, const void *buf, size_t len);

#endif
