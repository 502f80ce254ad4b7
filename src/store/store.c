/*
 * store.c — the job store's front (see store.h): picks the backend from the spec,
 * checks the arguments every backend would check, and dispatches through the
 * backend's operations (store/backend.h). Also the parts both backends share: job
 * ids, the clock, the lease settings.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "store/backend.h"

const char *tgi_job_state_name(int state)
{
    switch (state) {
    case TG_JOB_QUEUED:
        return "queued";
    case TG_JOB_RUNNING:
        return "running";
    case TG_JOB_DONE:
        return "done";
    case TG_JOB_FAILED:
        return "failed";
    case TG_JOB_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

void tgi_job_clear(tgi_job *job)
{
    if (!job)
        return;
    free(job->source_kind);
    free(job->source);
    free(job->content_id);
    free(job->options_json);
    free(job->video_path);
    free(job->result_json);
    free(job->err_code);
    free(job->err_message);
    memset(job, 0, sizeof(*job));
}

int64_t tgi_store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tgi_store_random_id(tg_ctx *ctx, char out[33])
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t r = getrandom(b + got, sizeof(b) - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < sizeof(b)) { /* old kernel or seccomp: fall back to the device */
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        got = 0;
        while (fd >= 0 && got < sizeof(b)) {
            ssize_t r = read(fd, b + got, sizeof(b) - got);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (fd >= 0)
            close(fd);
        if (got < sizeof(b))
            return tgi_fail(ctx, TG_EIO, "job store: no random source for job ids");
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[32] = '\0';
    return 0;
}

void tgi_store_base_init(tgi_store *base, const tgi_store_ops *ops)
{
    base->ops = ops;
    char host[40] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    snprintf(base->worker, sizeof(base->worker), "%s:%d", host, (int)getpid());
    base->lease_ms = 30000;
    base->max_attempts = 3;
    base->backoff_ms = 1000;
}

int tgi_store_spec_is_postgres(const char *spec)
{
    return spec &&
           (!strncasecmp(spec, "postgres://", 11) || !strncasecmp(spec, "postgresql://", 13));
}

int tgi_store_open(tg_ctx *ctx, const char *spec, tgi_store **out)
{
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "job store: no output pointer");
    *out = NULL;
    if (!spec || !*spec)
        return tgi_fail(ctx, TG_EINVAL, "job store: empty database path");
    if (tgi_store_spec_is_postgres(spec))
        return tgi_store_pg_open(ctx, spec, out);
    if (!strncmp(spec, "sqlite:", 7))
        spec += 7;
    return tgi_store_sqlite_open(ctx, spec, out);
}

void tgi_store_close(tgi_store **sp)
{
    if (!sp || !*sp)
        return;
    (*sp)->ops->close(*sp);
    *sp = NULL;
}

const char *tgi_store_backend(const tgi_store *s)
{
    return s ? s->ops->name : "";
}

int tgi_store_is_shared(const tgi_store *s)
{
    return s && s->ops->shared;
}

void tgi_store_configure(tgi_store *s, const tgi_store_conf *c)
{
    if (!s || !c)
        return;
    if (c->worker && *c->worker)
        snprintf(s->worker, sizeof(s->worker), "%s", c->worker);
    if (c->lease_ms > 0)
        s->lease_ms = c->lease_ms;
    if (c->max_attempts > 0)
        s->max_attempts = c->max_attempts;
    if (c->backoff_ms > 0)
        s->backoff_ms = c->backoff_ms;
}

void tgi_store_get_conf(const tgi_store *s, tgi_store_conf *out)
{
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    out->worker = s->worker;
    out->lease_ms = s->lease_ms;
    out->max_attempts = s->max_attempts;
    out->backoff_ms = s->backoff_ms;
}

/* ---- argument checks, then the backend ---- */

static int check_id(tg_ctx *ctx, tgi_store *s, const char *id)
{
    if (!s)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    if (!id || !*id)
        return tgi_fail(ctx, TG_EINVAL, "missing job id");
    return 0;
}

static int check_new_job(tg_ctx *ctx, tgi_store *s, const tgi_job *job)
{
    if (!s || !job)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    if (!job->source_kind ||
        (strcmp(job->source_kind, "url") != 0 && strcmp(job->source_kind, "upload") != 0 &&
         strcmp(job->source_kind, "edit") != 0))
        return tgi_fail(ctx, TG_EINVAL,
                        "job store: source kind must be \"url\", \"upload\" or \"edit\"");
    if (!job->source || !job->options_json)
        return tgi_fail(ctx, TG_EINVAL, "job store: a job needs a source and options");
    return 0;
}

int tgi_store_create(tg_ctx *ctx, tgi_store *s, tgi_job *job)
{
    int rc = check_new_job(ctx, s, job);
    return rc ? rc : s->ops->create(ctx, s, job, 0);
}

int tgi_store_create_or_join(tg_ctx *ctx, tgi_store *s, tgi_job *job)
{
    int rc = check_new_job(ctx, s, job);
    return rc ? rc : s->ops->create(ctx, s, job, 1);
}

int tgi_store_get(tg_ctx *ctx, tgi_store *s, const char *id, tgi_job *out)
{
    if (!s || !out)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    memset(out, 0, sizeof(*out));
    int rc = check_id(ctx, s, id);
    return rc ? rc : s->ops->get(ctx, s, id, out);
}

int tgi_store_list(tg_ctx *ctx, tgi_store *s, size_t offset, size_t limit, tgi_job **jobs,
                   size_t *n, size_t *total)
{
    if (!s || !jobs || !n || !total)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    *jobs = NULL;
    *n = *total = 0;
    /* signed 64-bit limits in SQL; a larger request means "all" */
    if (limit > (size_t)INT32_MAX)
        limit = (size_t)INT32_MAX;
    if (offset > (size_t)INT64_MAX)
        offset = (size_t)INT64_MAX;
    return s->ops->list(ctx, s, offset, limit, jobs, n, total);
}

int tgi_store_claim(tg_ctx *ctx, tgi_store *s, tgi_job *out)
{
    if (!s || !out)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    memset(out, 0, sizeof(*out));
    return s->ops->claim(ctx, s, -1, out);
}

int tgi_store_claim_kind(tg_ctx *ctx, tgi_store *s, int need_download, tgi_job *out)
{
    if (!s || !out)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    memset(out, 0, sizeof(*out));
    return s->ops->claim(ctx, s, need_download ? 1 : 0, out);
}

static int set_stage(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, int requeue,
                     const char *stage, double percent)
{
    int rc = check_id(ctx, s, id);
    if (rc)
        return rc;
    if (!stage || !*stage || strlen(stage) >= sizeof(((tgi_job *)0)->stage))
        return tgi_fail(ctx, TG_EINVAL, "job store: invalid stage name");
    if (!(percent >= 0)) /* also NaN */
        percent = 0;
    if (percent > 100)
        percent = 100;
    return s->ops->set_stage(ctx, s, id, attempt, requeue, stage, percent);
}

int tgi_store_progress(tg_ctx *ctx, tgi_store *s, const char *id, const char *stage, double percent)
{
    return set_stage(ctx, s, id, 0, 0, stage, percent);
}

int tgi_store_progress_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, const char *stage,
                          double percent)
{
    return set_stage(ctx, s, id, attempt, 0, stage, percent);
}

int tgi_store_requeue(tg_ctx *ctx, tgi_store *s, const char *id, const char *stage)
{
    return set_stage(ctx, s, id, 0, 1, stage, 0);
}

int tgi_store_requeue_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, const char *stage)
{
    return set_stage(ctx, s, id, attempt, 1, stage, 0);
}

int tgi_store_set_source(tg_ctx *ctx, tgi_store *s, const char *id, const char *content_id,
                         const char *video_path)
{
    int rc = check_id(ctx, s, id);
    return rc ? rc : s->ops->set_source(ctx, s, id, 0, content_id, video_path);
}

int tgi_store_set_source_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt,
                            const char *content_id, const char *video_path)
{
    int rc = check_id(ctx, s, id);
    return rc ? rc : s->ops->set_source(ctx, s, id, attempt, content_id, video_path);
}

int tgi_store_finish_at(tg_ctx *ctx, tgi_store *s, const char *id, int attempt, int state,
                        const char *result_json, const char *err_code, const char *err_message)
{
    int rc = check_id(ctx, s, id);
    if (rc)
        return rc;
    if (state != TG_JOB_DONE && state != TG_JOB_FAILED)
        return tgi_fail(ctx, TG_EINVAL, "job store: a job can only finish as done or failed");
    if (state == TG_JOB_DONE)
        err_code = err_message = NULL;
    return s->ops->finish(ctx, s, id, attempt, state, result_json, err_code, err_message);
}

int tgi_store_finish(tg_ctx *ctx, tgi_store *s, const char *id, int state, const char *result_json,
                     const char *err_code, const char *err_message)
{
    return tgi_store_finish_at(ctx, s, id, 0, state, result_json, err_code, err_message);
}

int tgi_store_cancel(tg_ctx *ctx, tgi_store *s, const char *id)
{
    int rc = check_id(ctx, s, id);
    return rc ? rc : s->ops->cancel(ctx, s, id);
}

int tgi_store_find_done(tg_ctx *ctx, tgi_store *s, const char *content_id, const char *options_json,
                        tgi_job *out)
{
    if (!s || !out || !content_id || !options_json)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    memset(out, 0, sizeof(*out));
    return s->ops->find_done(ctx, s, content_id, options_json, out);
}

int tgi_store_recover(tg_ctx *ctx, tgi_store *s, size_t *n)
{
    if (n)
        *n = 0;
    if (!s)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    return s->ops->recover(ctx, s, n);
}

int tgi_store_counts(tg_ctx *ctx, tgi_store *s, size_t *queued, size_t *running)
{
    if (!s)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    size_t q = 0, r = 0;
    int rc = s->ops->counts(ctx, s, &q, &r);
    if (queued)
        *queued = rc ? 0 : q;
    if (running)
        *running = rc ? 0 : r;
    return rc;
}

int tgi_store_heartbeat(tg_ctx *ctx, tgi_store *s, const char *id, int attempt)
{
    int rc = check_id(ctx, s, id);
    return rc ? rc : s->ops->heartbeat(ctx, s, id, attempt);
}

int tgi_store_handback(tg_ctx *ctx, tgi_store *s, const char *id, int attempt)
{
    int rc = check_id(ctx, s, id);
    return rc ? rc : s->ops->handback(ctx, s, id, attempt);
}

int tgi_store_reap(tg_ctx *ctx, tgi_store *s, size_t *requeued, size_t *failed)
{
    size_t a = 0, b = 0;
    if (!s)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    int rc = s->ops->reap(ctx, s, &a, &b);
    if (requeued)
        *requeued = a;
    if (failed)
        *failed = b;
    return rc;
}

int tgi_store_subscribe(tg_ctx *ctx, tgi_store *s, int what, tgi_store_change_fn cb, void *user)
{
    if (!s || !cb || (what != TG_STORE_HEAR_ALL && what != TG_STORE_HEAR_WORK))
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    return s->ops->subscribe ? s->ops->subscribe(ctx, s, what, cb, user) : 0;
}

int tgi_store_delete_ended(tg_ctx *ctx, tgi_store *s, const char *id, tgi_job *out)
{
    if (!out)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    memset(out, 0, sizeof(*out));
    int rc = check_id(ctx, s, id);
    return rc ? rc : s->ops->delete_ended(ctx, s, id, out);
}

int tgi_store_users(tg_ctx *ctx, tgi_store *s, const char *video_path, const char *content_id,
                    const char *options_json, size_t *video_users, size_t *output_users)
{
    if (!s || !video_users || !output_users)
        return tgi_fail(ctx, TG_EINVAL, "job store: missing argument");
    *video_users = *output_users = 0;
    return s->ops->users(ctx, s, video_path, content_id, options_json, video_users, output_users);
}
