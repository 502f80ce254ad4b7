/*
 * serve.c — start-up and shutdown of the web server, and the small shared parts
 * (notifier, cancel registry).
 *
 * Start-up: create the data folders, take the data folder's lock (one server per
 * folder: a second one would run every job twice), remove the temporary files a
 * killed server left (no job is live yet), open the store (checked page by page),
 * put jobs left `running` by an earlier stop back to `queued` (they are resumed,
 * never lost or stuck), start the workers, then the HTTP front. Shutdown (tgi_serve_stop, from a
 * signal): stop taking requests, cancel the running jobs' contexts *without* marking them cancelled
 * — they stay `running` in the store and the next start resumes them.
 *
 * On a shared store (PostgreSQL, docs/deploy.md) many processes use one data folder
 * and one queue: no folder lock, no clean-up of temporary files (they may be another
 * process's), no start-up recovery (expired leases are the keeper's, workers.c);
 * changes made elsewhere arrive through tgi_store_subscribe; a stopping worker hands its
 * jobs back. `thumbgen worker` is this without the HTTP front (opt.no_http).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/utf8.h"
#include "fetch/ytdlp.h"
#include "serve/access.h"
#include "serve/server.h"

static atomic_int g_stop;

void tgi_serve_stop(void)
{
    atomic_store(&g_stop, 1);
}

void tgi_serve_opts_default(tgi_serve_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 8000;
    o->data_dir = "data";
    o->web_dir = "web";
    /* the project's own, current yt-dlp (scripts/setup) when there is one */
    o->ytdlp = access(".venv/bin/yt-dlp", X_OK) == 0 ? ".venv/bin/yt-dlp" : "yt-dlp";
    o->ytdlp_update = TG_YTDLP_UPDATE_START;
    o->workers = 2;
    o->downloaders = 2;
    o->max_upload = 1LL << 30;
    o->max_queue = 100;
    o->max_video_seconds = 4 * 3600;
    o->download_timeout = 600;
    o->lease_ms = 30000;
    o->heartbeat_ms = 5000;
    o->max_attempts = 3;
}

void tgi_server_on_store_change(void *user, const char *id, int state)
{
    tgi_server *sv = user;
    if (state == TG_JOB_CANCELLED && id && *id) {
        pthread_mutex_lock(&sv->mu);
        for (int i = 0; i < TG_MAX_RUNNING; i++)
            if (sv->running[i].ctx && !strcmp(sv->running[i].id, id))
                tg_ctx_cancel(sv->running[i].ctx);
        pthread_mutex_unlock(&sv->mu);
    }
    tgi_server_notify(sv);
}

void tgi_server_notify(tgi_server *sv)
{
    pthread_mutex_lock(&sv->mu);
    sv->version++;
    pthread_cond_broadcast(&sv->changed);
    pthread_cond_broadcast(&sv->work);
    pthread_mutex_unlock(&sv->mu);
}

uint64_t tgi_server_wait(tgi_server *sv, uint64_t seen, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&sv->mu);
    while (sv->version == seen && !atomic_load(&sv->stopping))
        if (pthread_cond_timedwait(&sv->changed, &sv->mu, &until) == ETIMEDOUT)
            break;
    uint64_t v = sv->version;
    pthread_mutex_unlock(&sv->mu);
    return v;
}

int tgi_server_cancel(tg_ctx *ctx, tgi_server *sv, const char *id)
{
    int rc = tgi_store_cancel(ctx, sv->store, id);
    if (rc == 0) {
        pthread_mutex_lock(&sv->mu);
        for (int i = 0; i < TG_MAX_RUNNING; i++)
            if (sv->running[i].ctx && !strcmp(sv->running[i].id, id))
                tg_ctx_cancel(sv->running[i].ctx);
        pthread_mutex_unlock(&sv->mu);
        tgi_server_notify(sv);
    }
    return rc;
}

int tgi_server_ytdlp(tgi_server *sv, int wait, tgi_ytdlp_info *info, char *js_arg, size_t js_n)
{
    pthread_mutex_lock(&sv->mu);
    while (wait && !sv->yt_probed && !atomic_load(&sv->stopping))
        pthread_cond_wait(&sv->probed_cv, &sv->mu);
    int probed = sv->yt_probed;
    *info = sv->yt;
    pthread_mutex_unlock(&sv->mu);
    /* --js-runtimes exists from the version that needs it on; older ones refuse it */
    if (js_n)
        js_arg[0] = '\0';
    if (js_n && info->js_name[0] && strncmp(info->version, TG_YTDLP_MIN_YOUTUBE, 10) >= 0)
        snprintf(js_arg, js_n, "%s:%s", info->js_name, info->js_path);
    return probed;
}

static void probe_ytdlp(tgi_server *sv)
{
    tgi_ytdlp_info info;
    tgi_ytdlp_probe(sv->update_ctx, sv->opt.ytdlp, &info);
    pthread_mutex_lock(&sv->mu);
    sv->yt = info;
    sv->yt_probed = 1;
    pthread_cond_broadcast(&sv->probed_cv);
    pthread_mutex_unlock(&sv->mu);
}

/* Started once the server listens: the first probe of yt-dlp and its JavaScript runtime
 * (1.2 s warm, ~10 s on a fresh machine's first start: not worth keeping the page
 * waiting), then --ytdlp-update start|daily: pip in the background, then probe again;
 * daily repeats every 24 h. Ends at stop (its context is cancelled). */
static void *updater_main(void *arg)
{
    tgi_server *sv = arg;
    probe_ytdlp(sv);
    if (!sv->opt.quiet && sv->yt.notice[0])
        fprintf(stderr, "thumbgen: %s\n", sv->yt.notice);
    while (sv->opt.ytdlp_update != TG_YTDLP_UPDATE_NEVER && !atomic_load(&sv->stopping)) {
        int rc = tgi_ytdlp_update(sv->update_ctx, sv->opt.ytdlp, 300);
        if (rc == TG_ECANCEL || atomic_load(&sv->stopping))
            break;
        if (!sv->opt.quiet)
            fprintf(stderr, "thumbgen: %s%s\n", rc == 0 ? "yt-dlp is up to date" : "",
                    rc == 0 ? "" : tg_ctx_message(sv->update_ctx));
        if (rc == 0)
            probe_ytdlp(sv);
        if (rc == TG_ENOENT || sv->opt.ytdlp_update != TG_YTDLP_UPDATE_DAILY)
            break;
        for (int s = 0; s < 24 * 3600 && !atomic_load(&sv->stopping); s++)
            sleep(1);
        if (atomic_load(&sv->stopping))
            break;
    }
    return NULL;
}

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

static int make_dir(tg_ctx *ctx, const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return tgi_fail(ctx, TG_EIO, "cannot create the folder '%s': %s", path, strerror(errno));
    return 0;
}

/* One server per data folder: an exclusive fcntl lock on DATA/thumbgen.lock, held
 * until the process ends (the kernel drops it even after kill -9). The file holds
 * the owner's pid, for people; the lock itself names the owner to F_GETLK. */
static int lock_data_dir(tg_ctx *ctx, const char *data_dir, int *fd_out)
{
    *fd_out = -1;
    char *path = join(data_dir, "thumbgen.lock");
    if (!path)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    free(path);
    if (fd < 0)
        return tgi_fail(ctx, TG_EIO, "cannot create the lock file in '%s': %s", data_dir,
                        strerror(errno));
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        int pid = fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK ? (int)who.l_pid : 0;
        close(fd);
        if (e != EACCES && e != EAGAIN)
            return tgi_fail(ctx, TG_EIO, "cannot lock the data folder '%s': %s", data_dir,
                            strerror(e));
        if (pid > 0)
            return tgi_fail(ctx, TG_EBUSY,
                            "the data folder '%s' is already used by another thumbgen server "
                            "(pid %d): stop it first, or give this one another --data folder",
                            data_dir, pid);
        return tgi_fail(ctx, TG_EBUSY,
                        "the data folder '%s' is already used by another thumbgen server: stop "
                        "it first, or give this one another --data folder",
                        data_dir);
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) != n) {
        /* the pid in the file is only a courtesy: the lock is what counts */
    }
    *fd_out = fd;
    return 0;
}

/* A temp name of tgi_atomic_open: ".NAME.XXXXXX" (six letters or digits). */
static int is_atomic_temp(const char *name)
{
    size_t n = strlen(name);
    if (n < 9 || name[0] != '.' || name[n - 7] != '.')
        return 0;
    for (size_t i = n - 6; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9')))
            return 0;
    return 1;
}

/* The playable copy being made (workers.c): "NAME.play.mp4.JOBID.tmp.mp4" (or the
 * older "NAME.play.mp4.tmp.mp4"). */
static int is_playable_temp(const char *name)
{
    static const char tail[] = ".tmp.mp4";
    size_t n = strlen(name), t = sizeof(tail) - 1;
    return n > t && !strcmp(name + n - t, tail) && strstr(name, ".play.mp4.") != NULL;
}

/* Remove the temporary files of an earlier run: everything in tmp/ (uploads and
 * downloads in progress) and the half-written outputs in thumbnails/. Called with
 * the lock held and before any worker starts, so no live job owns one. */
static size_t remove_stale(const tgi_server *sv)
{
    size_t removed = 0;
    const char *dirs[2] = {sv->tmp_dir, sv->thumbs_dir};
    for (int k = 0; k < 2; k++) {
        DIR *d = opendir(dirs[k]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (k == 1 && !is_atomic_temp(e->d_name) && !is_playable_temp(e->d_name))
                continue;
            struct stat st;
            if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (unlinkat(dirfd(d), e->d_name, 0) == 0)
                removed++;
        }
        if (d)
            closedir(d);
    }
    return removed;
}

int tgi_serve_run(tg_ctx *ctx, const tgi_serve_opts *o)
{
    tgi_server sv;
    memset(&sv, 0, sizeof(sv));
    sv.opt = *o;
    pthread_mutex_init(&sv.mu, NULL);
    pthread_cond_init(&sv.changed, NULL);
    pthread_cond_init(&sv.work, NULL);
    pthread_cond_init(&sv.probed_cv, NULL);
    tgi_http *http = NULL;
    char *db = NULL;
    int rc, workers_up = 0, lock_fd = -1;
    atomic_store(&g_stop, 0);

    int token_made = 0;
    sv.shared = tgi_store_spec_is_postgres(o->store);
    if (sv.opt.lease_ms <= 0)
        sv.opt.lease_ms = 30000;
    if (sv.opt.heartbeat_ms <= 0)
        sv.opt.heartbeat_ms = 5000;
    if (sv.opt.max_attempts <= 0)
        sv.opt.max_attempts = 3;
    if (!o->no_http && (rc = tgi_access_setup(ctx, &sv, &token_made)) < 0)
        goto done;
    if ((rc = make_dir(ctx, o->data_dir)) < 0)
        goto done;
    sv.videos_dir = join(o->data_dir, "videos");
    sv.thumbs_dir = join(o->data_dir, "thumbnails");
    sv.tmp_dir = join(o->data_dir, "tmp");
    db = join(o->data_dir, "thumbgen.db");
    if (!sv.videos_dir || !sv.thumbs_dir || !sv.tmp_dir || !db) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto done;
    }
    if (!sv.shared && (rc = lock_data_dir(ctx, o->data_dir, &lock_fd)) < 0)
        goto done;
    if ((rc = make_dir(ctx, sv.videos_dir)) < 0 || (rc = make_dir(ctx, sv.thumbs_dir)) < 0 ||
        (rc = make_dir(ctx, sv.tmp_dir)) < 0)
        goto done;
    size_t stale = sv.shared ? 0 : remove_stale(&sv);
    if (stale && !o->quiet)
        fprintf(stderr, "thumbgen: removed %zu stale temporary file%s left by an earlier run\n",
                stale, stale == 1 ? "" : "s");
    if ((rc = tgi_store_open(ctx, o->store ? o->store : db, &sv.store)) < 0) {
        if (rc == TG_ECORRUPT) {
            char why[300];
            const char *m = tg_ctx_message(ctx), *p = strstr(m, "damaged");
            tgi_utf8_copy(why, sizeof(why), p ? p + strlen("damaged") : "");
            rc = tgi_fail(ctx, TG_ECORRUPT,
                          "the job database %s is damaged%s; the videos and thumbnails in %s/ are "
                          "intact: stop here, move %s (and %s-wal, %s-shm if present) aside and "
                          "start again for an empty job list",
                          db, why, o->data_dir, db, db, db);
        }
        goto done;
    }
    tgi_store_conf sc = {.lease_ms = sv.opt.lease_ms, .max_attempts = sv.opt.max_attempts};
    tgi_store_configure(sv.store, &sc);
    size_t resumed = 0;
    if (!sv.shared && (rc = tgi_store_recover(ctx, sv.store, &resumed)) < 0)
        goto done;
    if (sv.shared && (rc = tgi_store_subscribe(ctx, sv.store,
                                               o->no_http ? TG_STORE_HEAR_WORK : TG_STORE_HEAR_ALL,
                                               tgi_server_on_store_change, &sv)) < 0)
        goto done;
    if ((rc = tgi_workers_start(ctx, &sv)) < 0)
        goto done;
    workers_up = 1;
    if (!o->no_http && (rc = tgi_http_start(ctx, &sv, &http)) < 0)
        goto done;
    if ((sv.update_ctx = tg_ctx_new()) && pthread_create(&sv.updater, NULL, updater_main, &sv) == 0)
        sv.updater_up = 1;
    else
        probe_ytdlp(&sv); /* no thread: probe here, late but not never */
    if (o->no_http) {
        tgi_store_conf now;
        tgi_store_get_conf(sv.store, &now);
        if (!o->quiet)
            fprintf(stderr,
                    "thumbgen: worker %s taking jobs from the %s store (%d analyse/render, %d "
                    "download; data in %s/)\n",
                    now.worker, tgi_store_backend(sv.store), o->workers, o->downloaders,
                    o->data_dir);
    } else if (!o->quiet)
        fprintf(stderr, "thumbgen: serving http://%s:%d/ (data in %s/, %zu job%s resumed)\n",
                o->host, sv.opt.port, o->data_dir, resumed, resumed == 1 ? "" : "s");
    if (token_made) {
        /* shown once, even with --quiet: without it nobody can use the server */
        const char *name = o->public_hosts && o->public_hosts[0] ? o->public_hosts[0] : o->host;
        int v6 = strchr(name, ':') != NULL;
        if (!strcmp(name, "0.0.0.0") || !strcmp(name, "::"))
            name = "127.0.0.1", v6 = 0;
        fprintf(stderr,
                "thumbgen: this server needs its access token; open\n"
                "    http://%s%s%s:%d/#token=%s\n",
                v6 ? "[" : "", name, v6 ? "]" : "", sv.opt.port, sv.token);
    } else if (sv.token[0] && !o->quiet) {
        fprintf(stderr, "thumbgen: the API needs the token of %s\n", o->token_file);
    }
    while (!atomic_load(&g_stop))
        usleep(100 * 1000);
    if (!o->quiet)
        fprintf(stderr, "thumbgen: stopping; %s\n",
                sv.shared ? "running jobs go back to the queue"
                          : "running jobs resume on the next start");
    rc = 0;
done:
    /* Drain: new requests get 503 while the workers stop (running jobs stay
     * "running" and resume on the next start), for at least a short grace so that
     * clients in flight hear why; then the HTTP side closes. */
    atomic_store(&sv.stopping, 1);
    tgi_server_notify(&sv); /* wake event streams so the HTTP threads can end */
    pthread_mutex_lock(&sv.mu);
    pthread_cond_broadcast(&sv.probed_cv); /* and downloads waiting for the first probe */
    pthread_mutex_unlock(&sv.mu);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (sv.update_ctx)
        tg_ctx_cancel(sv.update_ctx);
    if (workers_up)
        tgi_workers_stop(&sv);
    if (sv.updater_up)
        pthread_join(sv.updater, NULL);
    tg_ctx_free(&sv.update_ctx);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long spent_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (http && spent_ms < 300)
        usleep((useconds_t)(300 - spent_ms) * 1000);
    tgi_http_stop(&http);
    tgi_store_close(&sv.store);
    if (lock_fd >= 0)
        close(lock_fd); /* last: the folder is free once the store is closed */
    free(sv.videos_dir);
    free(sv.thumbs_dir);
    free(sv.tmp_dir);
    free(db);
    pthread_cond_destroy(&sv.work);
    pthread_cond_destroy(&sv.changed);
    pthread_cond_destroy(&sv.probed_cv);
    pthread_mutex_destroy(&sv.mu);
    return rc;
}
