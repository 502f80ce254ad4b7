/*
 * file.c — atomic output files (see file.h). The temp name is ".NAME.XXXXXX" beside
 * the final file so the rename never crosses a file system.
 */
#include "core/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fault.h"

int tgi_atomic_open(tg_ctx *ctx, const char *path, tgi_atomic *a)
{
    memset(a, 0, sizeof(*a));
    a->fd = -1;
    if (!path || !*path)
        return tgi_fail(ctx, TG_EINVAL, "empty output path");
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return tgi_fail(ctx, TG_EINVAL, "output path '%s' names a folder, not a file", path);
    size_t n = strlen(path) + 16;
    a->path = strdup(path);
    a->tmp = malloc(n);
    if (!a->path || !a->tmp) {
        tgi_atomic_abort(a);
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    }
    snprintf(a->tmp, n, "%.*s.%s.XXXXXX", (int)dirlen, path, base);
    a->fd = tgi_fault_disk_full() ? (errno = ENOSPC, -1) : mkstemp(a->tmp);
    if (a->fd < 0) {
        int e = errno;
        free(a->tmp);
        a->tmp = NULL;
        tgi_atomic_abort(a);
        return tgi_fail(ctx, TG_EIO, "cannot create '%s': %s", path, strerror(e));
    }
    fchmod(a->fd, 0644);
    return 0;
}

int tgi_atomic_commit(tg_ctx *ctx, tgi_atomic *a)
{
    int rc = 0;
    if (a->fd < 0)
        return tgi_fail(ctx, TG_EINTERNAL, "output file is not open");
    if (tgi_fault_disk_full())
        rc = tgi_fail(ctx, TG_EIO, "cannot write '%s': %s", a->path, strerror(ENOSPC));
    else if (fsync(a->fd) != 0 && errno != EINVAL)
        rc = tgi_fail(ctx, TG_EIO, "cannot write '%s': %s", a->path, strerror(errno));
    if (close(a->fd) != 0 && rc == 0)
        rc = tgi_fail(ctx, TG_EIO, "cannot write '%s': %s", a->path, strerror(errno));
    a->fd = -1;
    if (rc == 0 && rename(a->tmp, a->path) != 0)
        rc = tgi_fail(ctx, TG_EIO, "cannot create '%s': %s", a->path, strerror(errno));
    if (rc == 0) {
        free(a->tmp);
        a->tmp = NULL;
    }
    tgi_atomic_abort(a);
    return rc;
}

void tgi_atomic_abort(tgi_atomic *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    if (a->tmp)
        unlink(a->tmp);
    free(a->tmp);
    free(a->path);
    a->tmp = a->path = NULL;
    a->fd = -1;
}

int tgi_write_fd(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno ? errno : EIO;
        if (w == 0)
            return ENOSPC;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int tgi_write_all(tg_ctx *ctx, int fd, const void *buf, size_t len)
{
    int e = tgi_fault_disk_full() ? ENOSPC : tgi_write_fd(fd, buf, len);
    return e ? tgi_fail(ctx, TG_EIO, "write failed: %s", strerror(e)) : 0;
}
