/*
 * store.h — the job store: one SQLite database (WAL) under the data folder.
 *
 * It owns the jobs table and nothing else: the server's workers claim queued jobs,
 * report progress and finish them; the HTTP handlers read and list them. All
 * functions are safe to call from several threads (one connection, serialised by
 * the store's mutex; SQLite busy timeouts for other processes). SQLite errors are
 * translated here (TG_EIO with SQLite's own text in the message).
 *
 * Job life cycle:   queued ──claim──► running ──finish──► done | failed
 *                      │                 │
 *                      └────cancel───────┴──► cancelled
 * On start-up tg_store_recover() puts jobs left `running` by a crash or a stop back
 * to `queued` (they are resumed), so no job is lost or stuck.
 */
#ifndef TG_STORE_STORE_H
#define TG_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "thumbgen.h"

typedef struct tg_store tg_store;

enum tg_job_state {
    TG_JOB_QUEUED = 0,
    TG_JOB_RUNNING = 1,
    TG_JOB_DONE = 2,
    TG_JOB_FAILED = 3,
    TG_JOB_CANCELLED = 4
};
const char *tg_job_state_name(int state); /* "queued", …; static */

typedef struct tg_job {
    char id[33];              /* 32 lowercase hex characters */
    int state;                /* enum tg_job_state */
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
} tg_job;

/* Free the strings of a job (not the struct) and zero it. Accepts a zeroed job. */
void tg_job_clear(tg_job *job);

/* Open (creating if needed) the database at path: WAL, busy timeout, schema, and a
 * PRAGMA quick_check first: TG_ECORRUPT when pages are damaged (or the file is not
 * a database). A full disk is TG_EIO "the server's disk is full", in every call. */
int tg_store_open(tg_ctx *ctx, const char *path, tg_store **out);
void tg_store_close(tg_store **s);

/* Insert a new queued job from job->source_kind, source, options_json (and
 * content_id / video_path when already known). Sets job->id, state, stage,
 * created and updated. */
int tg_store_create(tg_ctx *ctx, tg_store *s, tg_job *job);

/* The same, unless a queued or running job has the same options and the same
 * content_id (or, for a link, the same URL): then job is cleared and filled with
 * that job and 1 is returned (the request joins it). 0 when a job was created. */
int tg_store_create_or_join(tg_ctx *ctx, tg_store *s, tg_job *job);

/* Read a job; TG_ENOENT when there is none. out is overwritten (clear it first if
 * it held strings). */
int tg_store_get(tg_ctx *ctx, tg_store *s, const char *id, tg_job *out);

/* Newest first. *jobs is a malloc'd array of *n jobs (free each with tg_job_clear,
 * then the array); *total is the count of all jobs. */
int tg_store_list(tg_ctx *ctx, tg_store *s, size_t offset, size_t limit, tg_job **jobs, size_t *n,
                  size_t *total);

/* Atomically take the oldest queued job and mark it running. Returns 0 and fills
 * out, or 1 when the queue is empty. */
int tg_store_claim(tg_ctx *ctx, tg_store *s, tg_job *out);

/* The same, choosing only queued jobs that still need their video downloaded
 * (need_download = 1: video_path is NULL) or only those that have it (0), so that
 * downloads and processing have separate worker pools and never starve each other. */
int tg_store_claim_kind(tg_ctx *ctx, tg_store *s, int need_download, tg_job *out);

/* A running job goes back to queued (after its download, for the processing pool).
 * Returns 1 if it was no longer running. */
int tg_store_requeue(tg_ctx *ctx, tg_store *s, const char *id, const char *stage);

/* Progress of a running job (stage name and percent). */
int tg_store_progress(tg_ctx *ctx, tg_store *s, const char *id, const char *stage, double percent);

/* Remember what became known while running (either may be NULL to keep). */
int tg_store_set_source(tg_ctx *ctx, tg_store *s, const char *id, const char *content_id,
                        const char *video_path);

/* End a job: done with result_json, or failed with err_code/err_message. Only a
 * running job can finish (a cancelled one stays cancelled): returns 1 if it was no
 * longer running. */
int tg_store_finish(tg_ctx *ctx, tg_store *s, const char *id, int state, const char *result_json,
                    const char *err_code, const char *err_message);

/* Cancel a queued or running job. Returns 0 when cancelled, 1 when it had already
 * ended (state left as it was), TG_ENOENT when there is no such job. */
int tg_store_cancel(tg_ctx *ctx, tg_store *s, const char *id);

/* The newest done job for this content and these options, if any: 0 and fills
 * out, or 1 when there is none. */
int tg_store_find_done(tg_ctx *ctx, tg_store *s, const char *content_id, const char *options_json,
                       tg_job *out);

/* Start-up: jobs left running go back to queued. *n (may be NULL) gets the count. */
int tg_store_recover(tg_ctx *ctx, tg_store *s, size_t *n);

/* Delete an ended job (done, failed or cancelled): 0 and *out holds the deleted row
 * (so the caller can remove its files), 1 when it has not ended (left as it is),
 * TG_ENOENT when there is no such job. */
int tg_store_delete_ended(tg_ctx *ctx, tg_store *s, const char *id, tg_job *out);

/* How many jobs still name this video (video_path, any state) and how many this
 * content with these options (the same output files): a file is removed only when
 * no job uses it. A NULL argument counts 0. */
int tg_store_users(tg_ctx *ctx, tg_store *s, const char *video_path, const char *content_id,
                   const char *options_json, size_t *video_users, size_t *output_users);

/* Counts by state, for /healthz. */
int tg_store_counts(tg_ctx *ctx, tg_store *s, size_t *queued, size_t *running);

#endif
