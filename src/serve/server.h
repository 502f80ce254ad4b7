/*
 * server.h — what the parts of the web server share: the options, the store, the
 * data folders, the change notifier (SSE waits on it) and the registry of running
 * jobs (so DELETE can cancel one). Internal to src/serve.
 *
 *   serve.c    start-up and shutdown (signals, recovery of interrupted jobs)
 *   http.c     the libmicrohttpd adapter: requests, bodies, uploads, files, SSE
 *   access.c   Host, Origin and token checks, security headers, POST /api/login
 *   routes.c   the API: one function per route, JSON in and out
 *   workers.c  download and processing thread pools running the jobs, and the
 *              keeper that renews their leases (and reaps others' expired ones)
 */
#ifndef TG_SERVE_SERVER_H
#define TG_SERVE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "store/store.h"
#include "serve/serve.h"
#include "thumbgen.h"

#define TG_MAX_RUNNING 64

typedef struct tgi_server {
    tgi_serve_opts opt;
    tgi_store *store;
    char token[257]; /* the API token, "" when the server is open (access.c) */
    char *videos_dir, *thumbs_dir, *tmp_dir;
    atomic_int stopping;

    /* change notifier: version goes up on every job change */
    pthread_mutex_t mu;
    pthread_cond_t changed;
    uint64_t version;

    /* running jobs: id → context (to cancel) */
    struct {
        char id[33];
        int attempt; /* the claim's fencing token (store.h) */
        tg_ctx *ctx;
    } running[TG_MAX_RUNNING];
    int shared; /* the store is shared with other processes (PostgreSQL) */

    /* the yt-dlp this server runs and what it can do (probed by the updater thread once
     * the server listens, again after an update: yt_probed 0 until the first probe
     * ends, then probed_cv is broadcast); read under mu with tgi_server_ytdlp */
    tgi_ytdlp_info yt;
    int yt_probed;
    pthread_cond_t probed_cv;
    pthread_t updater;
    int updater_up;
    tg_ctx *update_ctx; /* cancelled at stop */

    /* ends of jobs the store could not record yet (a full disk), retried by the
     * workers about once a second until they stick (workers.c) */
    pthread_mutex_t pending_mu;
    struct tgi_pending_end {
        char id[33];
        int attempt, state;
        char *result, *code, *message;
    } pending[TG_MAX_RUNNING];
    int n_pending;

    pthread_t *threads;
    int n_threads;
    pthread_t keeper; /* renews the leases of running jobs, reaps expired ones */
    int keeper_up;
    pthread_cond_t work; /* a job was queued */
} tgi_server;

/* A change heard from the store (other processes, tgi_store_subscribe): cancels the
 * job here when it was cancelled elsewhere, and wakes streams and workers. */
void tgi_server_on_store_change(void *user, const char *id, int state);

/* Something about a job changed: wake SSE streams and idle workers. */
void tgi_server_notify(tgi_server *sv);
/* Wait until the version passes `seen` or timeout_ms passes; returns the version. */
uint64_t tgi_server_wait(tgi_server *sv, uint64_t seen, int timeout_ms);

/* Cancel a job that may be running: the store first, then its context. Returns
 * what tgi_store_cancel returns. */
int tgi_server_cancel(tg_ctx *ctx, tgi_server *sv, const char *id);

/* A copy of the yt-dlp facts, and the --js-runtimes value to pass ("" for none).
 * The first probe runs after the server listens (1-10 s: yt-dlp, node): with wait,
 * blocks until it has ended (a download needs its answer) or the server stops.
 * Returns 1 when the facts are a probe's, 0 when not yet (then info is empty). */
int tgi_server_ytdlp(tgi_server *sv, int wait, tgi_ytdlp_info *info, char *js_arg, size_t js_n);

/* Worker pools. */
int tgi_workers_start(tg_ctx *ctx, tgi_server *sv);
void tgi_workers_stop(tgi_server *sv);

/* The HTTP front. */
typedef struct tgi_http tgi_http;
int tgi_http_start(tg_ctx *ctx, tgi_server *sv, tgi_http **out);
void tgi_http_stop(tgi_http **h);

/* A job made by POST /api/jobs/{id}/render: its source is "PARENT-ID TITLE", its
 * content id "BASE.edit-HASH" and its plan in thumbnails/CONTENT-ID.plan.json. */
int tgi_job_is_edit(const tgi_job *j);
/* The base content id of an edited job's (the video's), as a prefix and its length. */
const char *tgi_edit_base_len(const char *content_id, size_t *len);
#endif
