/*
 * store.h — the job store and queue: one interface, two backends.
 *
 *   sqlite:PATH (or a plain path)  one SQLite database (WAL) under the data folder: the
 *                                  embedded default, one server process per folder;
 *   postgres://… / postgresql://…  PostgreSQL through libpq: many API processes and
 *                                  workers on many machines share one queue.
 * tgi_store_open picks the backend from the spec; every other call goes through the
 * backend's table of operations (store/backend.h). All calls are safe from several
 * threads. Backend errors are translated in the backend (TG_EIO with its own text).
 *
 * Job life cycle:   queued ──claim──► running ──finish──► done | failed
 *                      ▲  │              │ │
 *                      │  └───cancel─────┴─┼──► cancelled
 *                      └── lease expired ──┘   (after max_attempts lost leases: failed)
 * A claim sets attempt = attempt + 1, the worker's name and lease_until; the worker
 * renews the lease (tgi_store_heartbeat) and every write it makes is fenced by
 * (id, attempt): the *_at calls change nothing and return 1 once the job is no longer
 * running under that attempt (cancelled, or its lease expired and another worker took
 * it). tgi_store_reap (any process) puts jobs whose lease expired back in the queue,
 * after a back-off (run_at), or fails them after max_attempts lost leases (the dead
 * letters: failed, with the reason). On SQLite, tgi_store_recover at start-up also puts
 * jobs left running by a crash back to queued (one process owns that database).
 */
#ifndef TG_STORE_STORE_H
#define TG_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "thumbgen/context.h"

typedef struct tgi_store tgi_store;

enum tgi_job_state {
    TG_JOB_QUEUED = 0,
    TG_JOB_RUNNING = 1,
    TG_JOB_DONE = 2,
    TG_JOB_FAILED = 3,
    TG_JOB_CANCELLED = 4
};
const char *tgi_job_state_name(int state); /* "queued", …; static */

typedef struct tgi_job {
    char id[33];              /* 32 lowercase hex characters */
    int state;                /* enum tgi_job_state */
    char stage[16];           /* "queued", "download", "analyze", "select", "render", "done" */
    double percent;           /* 0..100 of the stage */
    char *source_kind;        /* "url", "upload" or "edit" (a new version from an edited plan) */
    char *source;             /* the URL, the upload's original name (display only), or for an
                                 edit "PARENT-ID TITLE" */
    char *content_id;         /* "yt-ID" or "sha256-HEX" once known, else NULL */
    char *options_json;       /* the job's options as a JSON object */
    char *video_path;         /* path of the source video relative to the data folder, or NULL */
    char *result_json;        /* JSON object with the result (plan, output names), or NULL */
    char *err_code;           /* "EFORMAT", … or NULL */
    char *err_message;        /* one sentence, or NULL */
    int64_t created, updated; /* Unix time, milliseconds */
    int attempt;              /* claims so far: the fencing token of the running one */
    int lost;                 /* leases that expired (counted against max_attempts) */
    int max_attempts;
    char worker[64];     /* "host:pid" of the last claim, or "" */
    int64_t lease_until; /* while running: the lease's end (ms), else 0 */
    int64_t run_at;      /* not claimed before this time (ms; a retry's back-off) */
} tgi_job;

/* Free the strings of a job (not the struct) and zero it. Accepts a zeroed job. */
void tgi_job_clear(tgi_job *job);

/* Open a store from its spec: "postgres://…" or "postgresql://…" (libpq's URI;
 * creates the schema when missing), else "sqlite:PATH" or a plain PATH (creating the
 * database if needed: WAL, busy timeout, schema, and a PRAGMA quick_check first:
 * TG_ECORRUPT when pages are damaged or the file is not a database). A full disk is
 * TG_EIO "the server's disk is full", in every call. */
int tgi_store_open(tg_ctx *ctx, const char *spec, tgi_store **out);
void tgi_store_close(tgi_store **s);

/* 1 when spec names a PostgreSQL store. */
int tgi_store_spec_is_postgres(const char *spec);

/* "sqlite" or "postgres". */
const char *tgi_store_backend(const tgi_store *s);

/* Lease settings for the claims made through this handle (0 or NULL keep a value). */
typedef struct tgi_store_conf {
    const char *worker; /* recorded with each claim; default "HOSTNAME:PID" */
    int lease_ms;       /* default 30000 */
    int max_attempts;   /* lost leases before a job fails; default 3 (new jobs) */
    int backoff_ms;     /* a job whose lease expired waits backoff_ms * 2^(lost-1); 1000 */
} tgi_store_conf;
void tgi_store_configure(tgi_store *s, const tgi_store_conf *conf);
void tgi_store_get_conf(const tgi_store *s, tgi_store_conf *out);

/* Insert a new queued job from job->source_kind, source, options_json (and
 * content_id / video_path when already known). Sets job->id, state, stage,
 * created and updated. */
int tgi_store_create(tg_ctx *ctx, tgi_store *s, tgi_job *job);

/* The same, unless a queued or running job has the same options and the same
 * content_id (or, for a link, the same URL): then job is cleared and filled with
 * that job and 1 is returned (the request joins it). 0 when a job was created. */
int tgi_store_create_or_join(tg_ctx *ctx, tgi_store *s, tgi_job *job);

/* Read a job; TG_ENOENT when there is none. out is overwritten (clear it first if
 * it held strings). */
int tgi_store_get(tg_ctx *ctx, tgi_store *s, const char *id, tgi_job *out);

/* Newest first. *jobs is a malloc'd array of *n jobs (free each with tgi_job_clear,
 * then the array); *total is the count of all jobs. */
int tgi_store_list(tg_ctx *ctx, tgi_store *s, size_t offset, size_t limit, tgi_job **jobs,
                   size_t *n, size_t *total);

/* Atomically take the oldest queued job and mark it running. Returns 0 and fills
 * out, or 1 when the queue is empty. */
int tgi_store_claim(tg_ctx *ctx, tgi_store *s, tgi_job *out);

/* The same, choosing only queued jobs that still need their video downloaded
 * (need_download = 1: video_path is NULL) or only those that have it (0), so that
 * downloads and processing have separate worker pools and never starve each other. */
int tgi_store_claim_kind(tg_ctx *ctx, tgi_store *s, int need_download, tgi_job *out);

/* A running job goes back to queued (after its download, for the processing pool).
 * Returns 1 if it was no longer running. */
int tgi_store_requeue(tg_ctx *ctx, tgi_store *s, const char *id, const char *stage);

/* Progress of a running job (stage name and percent). */
int tgi_store_progress(tg_ctx *ctx, tgi_store *s, const char *id, const char *stage,
                       double percent);

/* Remember what became known while running (either may be NULL to keep). */
int tgi_store_set_source(tg_ctx *ctx, tgi_store *s, const char *id, const char *content_id,
                         const char *video_path);

/* End a job: done with result_json, or failed with err_code/err_message. Only a
 * running job can finish (a cancelled one stays cancelled): returns 1 if it was no
 * longer running. */
int tgi_store_finish(tg_ctx *ctx, tgi_store *s, const char *id, int state, const char *result_json,
                     const char *err_code, const char *err_message);

/* Cancel a queued or running job. Returns 0 when cancelled, 1 when it had already
 * ended (state left as it was), TG_ENOENT when there is no such job. */
int tgi_store_cancel(tg_ctx *ctx, tgi_store *s, const char *id);

/* The newest done job for this content and these options, if any: 0 and fills
 * out, or 1 when there is none. */
int tgi_store_find_done(tg_ctx *ctx, tgi_store *s, const char *content_id, const char *options_json,
                        tgi_job *out);

/* Start-up: jobs left running go back to queued. *n (may be NULL) gets the count. */
int tgi_store_recover(tg_ctx *ctx, tgi_store *s, size_t *n);

/* Delete an ended job (done, failed or cancelled): 0 and *out holds the deleted row
 * (so the caller can remove its files), 1 when it has not ended (left as it is),
 * TG_ENOENT when there is no such job. */
int tgi_store_delete_ended(tg_ctx *ctx, tgi_store *s, const char *id, tgi_job *out);

/* How many jobs still name this video (video_path, any state) and how many this
 * content with these options (the same output files): a file is removed only when
 * no job uses it. A NULL argument counts 0. */
int tgi_store_users(tg_ctx *ctx, tgi_store *s, const char *video_path, const char *content_id,
                    const char *options_json, size_t *video_users, size_t *output_users);

/* Counts by state, for /healthz. */
int tgi_store_counts(tg_ctx *ctx, tgi_store *s, size_t *queued, size_t *running);

/* ---- the worker's fenced writes: each changes the job only while it is running
 * under this attempt, else returns 1 and changes nothing (attempt 0: any attempt, as
 * the calls above do). ---- */
int tgi_store_progress_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, const char *stage,
                          double percent);
int tgi_store_set_source_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt,
                            const char *content_id, const char *video_path);
int tgi_store_requeue_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, const char *stage);
int tgi_store_finish_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, int state,
                        const char *result_json, const char *err_code, const char *err_message);

/* Renew the lease of a running job: 0, or 1 when it is no longer ours. */
int tgi_store_heartbeat(tg_ctx *ctx, tgi_store *s, const char *id, int attempt);

/* A draining worker gives its job back: queued again at once, the claim not counted
 * as a lost lease. 1 when it was no longer ours. */
int tgi_store_handback(tg_ctx *ctx, tgi_store *s, const char *id, int attempt);

/* Jobs whose lease expired: back to queued after the back-off, or failed once they
 * lost max_attempts leases. Counts (either may be NULL) of each. */
int tgi_store_reap(tg_ctx *ctx, tgi_store *s, size_t *requeued, size_t *failed);

/* Changes made by any process: cb(user, job id, its new state) is called from a
 * thread of the store for every new job, progress, end, cancel, and job put back in
 * the queue (PostgreSQL: LISTEN/NOTIFY; claims and heartbeats are silent), until the
 * store is closed; with id "" and state -1 when several jobs changed or after a lost
 * connection (anything may have changed). One subscriber per handle. SQLite has one
 * process per database, whose own notifier hears everything: returns 0, no calls. */
typedef void (*tgi_store_change_fn)(void *user, const char *id, int state);
/* what = TG_STORE_HEAR_ALL (API processes: they stream progress), or
 * TG_STORE_HEAR_WORK: only jobs queued (new, handed back, put back) and cancelled, and
 * the "" / -1 calls — all a worker needs, without the traffic of everyone's progress. */
enum { TG_STORE_HEAR_ALL = 0, TG_STORE_HEAR_WORK = 1 };
int tgi_store_subscribe(tg_ctx *ctx, tgi_store *s, int what, tgi_store_change_fn cb, void *user);

/* 1 when other processes share this queue (PostgreSQL): jobs left running belong to
 * their leases, not to this process's start-up. */
int tgi_store_is_shared(const tgi_store *s);

#endif
