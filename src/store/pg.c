/*
 * pg.c — the PostgreSQL backend of the job store (see store.h, store/backend.h), on
 * libpq: the queue that many API processes and workers on many machines share.
 *
 * One connection per handle, used under the handle's mutex (each call is one short
 * statement or transaction); a broken connection is reset before the next call. A
 * second connection, opened by tgi_store_subscribe, LISTENs on channel tg_jobs (every
 * change: API processes) or tg_work (jobs queued or cancelled: workers) in a
 * thread (poll on PQsocket, PQconsumeInput, PQnotifies). After each write that others
 * should hear (a new job, progress, an end, a cancel, a job back in the queue) the
 * writer sends NOTIFY tg_jobs 'ID STATE' in a transaction of its own (notify_locked).
 *
 * Claims follow PostgreSQL's queue idiom: UPDATE … WHERE id = (SELECT … WHERE
 * state = 0 AND run_at <= now ORDER BY created, seq FOR UPDATE SKIP LOCKED LIMIT 1)
 * RETURNING …, so concurrent claimers never wait on each other nor share a job.
 * Times (created, leases, run_at) come from the database's clock (tg_now_ms()), so
 * machines with skewed clocks still agree on leases. Every SQL text is a constant
 * with $n parameters; the schema is made under an advisory lock, so processes that
 * start together create it once.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/error.h"
#include "core/utf8.h"
#include "store/backend.h"

#define COLS                                                                                       \
    "id, state, stage, percent, source_kind, source, content_id, options_json, video_path, "       \
    "result_json, err_code, err_message, created, updated, attempt, lost, max_attempts, worker, "  \
    "lease_until, run_at"

static const char schema_sql[] =
    "SELECT pg_advisory_xact_lock(7468756);"
    "CREATE OR REPLACE FUNCTION tg_now_ms() RETURNS bigint LANGUAGE sql STABLE AS "
    "$$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;"
    "CREATE TABLE IF NOT EXISTS tg_jobs ("
    " seq bigserial NOT NULL,"
    " id text PRIMARY KEY,"
    " state integer NOT NULL,"
    " stage text NOT NULL,"
    " percent double precision NOT NULL DEFAULT 0,"
    " source_kind text NOT NULL,"
    " source text NOT NULL,"
    " content_id text,"
    " options_json text NOT NULL,"
    " video_path text,"
    " result_json text,"
    " err_code text,"
    " err_message text,"
    " created bigint NOT NULL,"
    " updated bigint NOT NULL,"
    " attempt integer NOT NULL DEFAULT 0,"
    " lost integer NOT NULL DEFAULT 0,"
    " max_attempts integer NOT NULL DEFAULT 3,"
    " worker text,"
    " lease_until bigint NOT NULL DEFAULT 0,"
    " run_at bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS tg_jobs_queue ON tg_jobs (created, seq) WHERE state = 0;"
    "CREATE INDEX IF NOT EXISTS tg_jobs_lease ON tg_jobs (lease_until) WHERE state = 1;"
    "CREATE INDEX IF NOT EXISTS tg_jobs_content ON tg_jobs (content_id, options_json, state);"
    "CREATE INDEX IF NOT EXISTS tg_jobs_list ON tg_jobs (created, seq);"
    "CREATE INDEX IF NOT EXISTS tg_jobs_video ON tg_jobs (video_path);"
    /* an early version notified from a trigger: see notify_locked() for why not */
    "DROP TRIGGER IF EXISTS tg_jobs_notify ON tg_jobs;"
    "DROP FUNCTION IF EXISTS tg_jobs_notify();";

/* The SQL of a claim for each kind: any, to download, to process. */
#define CLAIM(cond)                                                                                \
    "UPDATE tg_jobs SET state = 1, attempt = attempt + 1, worker = $1, "                           \
    "lease_until = tg_now_ms() + $2, updated = tg_now_ms() "                                       \
    "WHERE state = 0 AND id = (SELECT id FROM tg_jobs WHERE state = 0 AND run_at <= "              \
    "tg_now_ms() " cond " ORDER BY created, seq FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING " COLS
static const char *const claim_sql[3] = {CLAIM(""), CLAIM("AND video_path IS NULL"),
                                         CLAIM("AND video_path IS NOT NULL")};

/* Fenced single-row updates: the first column says whether the row changed, the
 * second whether the job exists at all. */
#define FENCED(update)                                                                             \
    "WITH u AS (" update " RETURNING 1) SELECT (SELECT count(*) FROM u), "                         \
    "EXISTS (SELECT 1 FROM tg_jobs WHERE id = $1)"

typedef struct pg_store {
    tgi_store base; /* first: the ops and lease settings */
    PGconn *conn;
    pthread_mutex_t mu;
    char *conninfo;

    /* the LISTEN side (tgi_store_subscribe) */
    pthread_t listener;
    PGconn *first; /* the listening connection subscribe made, handed to the thread */
    int listening;
    atomic_int stop;
    tgi_store_change_fn cb;
    void *cb_user;
    int hear; /* TG_STORE_HEAR_* */
} pg_store;

static const tgi_store_ops pg_ops;

/* The first line of libpq's message, without its "ERROR:  " prefix. */
static void first_line(char *dst, size_t n, const char *msg)
{
    if (!msg)
        msg = "";
    if (!strncmp(msg, "ERROR:  ", 8))
        msg += 8;
    if (!strncmp(msg, "FATAL:  ", 8))
        msg += 8;
    tgi_utf8_copy(dst, n, msg);
    dst[strcspn(dst, "\r\n")] = '\0';
    if (!dst[0])
        snprintf(dst, n, "no answer from the server");
}

/* The connection broke or the server is down: users get one sentence without libpq's
 * details (socket paths, host names); the operator sees them on stderr, at most every
 * 10 s. */
static int conn_fail(tg_ctx *ctx, PGconn *c, const char *what)
{
    static atomic_llong last_logged;
    char why[300];
    first_line(why, sizeof(why), c ? PQerrorMessage(c) : "out of memory");
    long long now = (long long)(tgi_store_now_ms() / 10000);
    if (atomic_exchange(&last_logged, now) != now)
        fprintf(stderr, "thumbgen: job store: %s failed: %s\n", what, why);
    return tgi_fail(ctx, TG_EIO, "the job store (PostgreSQL) cannot be reached");
}

/* Translate a failed result; frees it. */
static int res_fail(tg_ctx *ctx, pg_store *s, PGresult *r, const char *what)
{
    if (!r)
        return conn_fail(ctx, s->conn, what);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    char why[300];
    first_line(why, sizeof(why), PQresultErrorMessage(r));
    PQclear(r);
    if (state && !strcmp(state, "53100"))
        return tgi_fail(ctx, TG_EIO, "the server's disk is full");
    if (state && !strncmp(state, "53", 2))
        return tgi_fail(ctx, TG_ENOMEM, "job store: %s failed: %s", what, why);
    return tgi_fail(ctx, TG_EIO, "job store: %s failed: %s", what, why);
}

/* A connection that answers: resets a broken one (caller holds the mutex). */
static int ensure_conn(tg_ctx *ctx, pg_store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        return 0;
    PQreset(s->conn);
    if (PQstatus(s->conn) != CONNECTION_OK)
        return conn_fail(ctx, s->conn, "reconnecting to PostgreSQL");
    return 0;
}

/* Run sql with text parameters (NULL values are SQL NULL). The result when it is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK, else NULL after tgi_fail. Caller holds mu. */
static PGresult *run(tg_ctx *ctx, pg_store *s, const char *sql, int n, const char *const *vals,
                     const char *what, int *rc)
{
    if ((*rc = ensure_conn(ctx, s)))
        return NULL;
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *rc = 0;
        return r;
    }
    *rc = res_fail(ctx, s, r, what);
    return NULL;
}

/* Run a statement whose result is not needed: 0 or an error. Caller holds mu. */
static int run_cmd(tg_ctx *ctx, pg_store *s, const char *sql, int n, const char *const *vals,
                   const char *what)
{
    int rc;
    PGresult *r = run(ctx, s, sql, n, vals, what, &rc);
    PQclear(r);
    return rc;
}

static void rollback(pg_store *s)
{
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int64_t get_i64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int dup_val(const PGresult *r, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return 0;
    *out = strdup(PQgetvalue(r, row, col));
    return *out ? 0 : -1;
}

/* Fill job (zeroed first) from row of a COLS result. */
static int row_to_job(tg_ctx *ctx, const PGresult *r, int row, tgi_job *job)
{
    memset(job, 0, sizeof(*job));
    snprintf(job->id, sizeof(job->id), "%s", PQgetvalue(r, row, 0));
    job->state = (int)get_i64(r, row, 1);
    snprintf(job->stage, sizeof(job->stage), "%s", PQgetvalue(r, row, 2));
    job->percent = strtod(PQgetvalue(r, row, 3), NULL);
    if (dup_val(r, row, 4, &job->source_kind) || dup_val(r, row, 5, &job->source) ||
        dup_val(r, row, 6, &job->content_id) || dup_val(r, row, 7, &job->options_json) ||
        dup_val(r, row, 8, &job->video_path) || dup_val(r, row, 9, &job->result_json) ||
        dup_val(r, row, 10, &job->err_code) || dup_val(r, row, 11, &job->err_message)) {
        tgi_job_clear(job);
        return tgi_fail(ctx, TG_ENOMEM, "job store: out of memory");
    }
    job->created = get_i64(r, row, 12);
    job->updated = get_i64(r, row, 13);
    job->attempt = (int)get_i64(r, row, 14);
    job->lost = (int)get_i64(r, row, 15);
    job->max_attempts = (int)get_i64(r, row, 16);
    snprintf(job->worker, sizeof(job->worker), "%s", PQgetvalue(r, row, 17));
    job->lease_until = get_i64(r, row, 18);
    job->run_at = get_i64(r, row, 19);
    return 0;
}

/* Tell the listeners that job id changed (to state). In a transaction of its own, on
 * purpose: PostgreSQL serialises the commits of all transactions that NOTIFY (a
 * cluster-wide lock held through the commit's WAL flush), so a NOTIFY inside the
 * claim or finish would cap the whole queue at one commit per disk flush (measured:
 * ~90 claims/s with 1 to 64 claimers, bench/RESULTS.md). A transaction that only
 * notifies writes no WAL and waits for no flush. Claims and heartbeats notify nobody;
 * a lost notification is covered by the listeners' own timeouts. Caller holds mu. */
static void notify_locked(pg_store *s, const char *id, int state)
{
    char payload[64];
    snprintf(payload, sizeof(payload), "%s %d", id, state);
    const char *v[1] = {payload};
    /* workers hear only what wakes or stops them, not everyone's progress */
    int work = state == TG_JOB_QUEUED || state == TG_JOB_CANCELLED || state < 0;
    PQclear(PQexecParams(s->conn,
                         work ? "SELECT pg_notify('tg_jobs', $1), pg_notify('tg_work', $1)"
                              : "SELECT pg_notify('tg_jobs', $1)",
                         1, NULL, v, NULL, NULL, 0));
}

/* After a FENCED(…) statement: 0 when the row changed, 1 when the job exists but did
 * not match, TG_ENOENT when there is no such job. Frees r. */
static int fenced_result(tg_ctx *ctx, PGresult *r, const char *id)
{
    int changed = get_i64(r, 0, 0) > 0, exists = !strcmp(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    if (changed)
        return 0;
    return exists ? 1 : tgi_fail(ctx, TG_ENOENT, "no job %s", id);
}

/* ---- open / close ---- */

int tgi_store_pg_open(tg_ctx *ctx, const char *conninfo, tgi_store **out)
{
    *out = NULL;
    pg_store *s = calloc(1, sizeof(*s));
    if (!s)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    tgi_store_base_init(&s->base, &pg_ops);
    pthread_mutex_init(&s->mu, NULL);
    int rc;
    s->conninfo = strdup(conninfo);
    if (!s->conninfo) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    s->conn = PQconnectdb(conninfo);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        char why[300];
        first_line(why, sizeof(why), s->conn ? PQerrorMessage(s->conn) : "out of memory");
        rc = tgi_fail(ctx, TG_EIO, "job store: cannot connect to PostgreSQL: %s", why);
        goto fail;
    }
    /* notices (e.g. "relation already exists, skipping") are not for our users */
    PQclear(PQexec(s->conn, "SET client_min_messages = warning"));
    PGresult *r = PQexec(s->conn, "BEGIN");
    PQclear(r);
    r = PQexec(s->conn, schema_sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = res_fail(ctx, s, r, "creating the jobs table");
        rollback(s);
        goto fail;
    }
    PQclear(r);
    if ((rc = run_cmd(ctx, s, "COMMIT", 0, NULL, "creating the jobs table")))
        goto fail;
    *out = &s->base;
    return 0;
fail:
    pg_ops.close(&s->base);
    return rc;
}

static void pg_close(tgi_store *base)
{
    pg_store *s = (pg_store *)base;
    if (s->listening) {
        atomic_store(&s->stop, 1);
        pthread_join(s->listener, NULL);
    }
    if (s->conn)
        PQfinish(s->conn);
    free(s->conninfo);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- operations ---- */

static int insert_locked(tg_ctx *ctx, pg_store *s, tgi_job *job)
{
    char id[33], maxa[16];
    int rc = tgi_store_random_id(ctx, id);
    if (rc)
        return rc;
    snprintf(maxa, sizeof(maxa), "%d", s->base.max_attempts);
    const char *v[7] = {
        id,  job->source_kind, job->source, job->content_id, job->options_json, job->video_path,
        maxa};
    PGresult *r = run(ctx, s,
                      "INSERT INTO tg_jobs (id, state, stage, percent, source_kind, source, "
                      "content_id, options_json, video_path, created, updated, max_attempts) "
                      "VALUES ($1, 0, 'queued', 0, $2, $3, $4, $5, $6, tg_now_ms(), tg_now_ms(), "
                      "$7) RETURNING created",
                      7, v, "adding a job", &rc);
    if (!r)
        return rc;
    memcpy(job->id, id, sizeof(job->id));
    job->state = TG_JOB_QUEUED;
    snprintf(job->stage, sizeof(job->stage), "queued");
    job->percent = 0;
    job->created = job->updated = get_i64(r, 0, 0);
    job->attempt = job->lost = 0;
    job->max_attempts = s->base.max_attempts;
    PQclear(r);
    return 0;
}

static int pg_create(tg_ctx *ctx, tgi_store *base, tgi_job *job, int join)
{
    pg_store *s = (pg_store *)base;
    int rc;
    pthread_mutex_lock(&s->mu);
    if (!join) {
        rc = insert_locked(ctx, s, job);
        if (rc == 0)
            notify_locked(s, job->id, TG_JOB_QUEUED);
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    const char *url = !strcmp(job->source_kind, "url") ? job->source : NULL;
    const char *v[3] = {job->content_id, url, job->options_json};
    PGresult *r = NULL;
    /* one transaction, serialised per (content, URL, options) by an advisory lock:
     * two equal requests at once, even on two API processes, make one job */
    if ((rc = run_cmd(ctx, s, "BEGIN", 0, NULL, "adding a job")) ||
        (rc = run_cmd(ctx, s,
                      "SELECT pg_advisory_xact_lock(hashtext(coalesce($1, '') || ' ' || "
                      "coalesce($2, '') || ' ' || $3))",
                      3, v, "adding a job")))
        goto out;
    r = run(ctx, s,
            "SELECT " COLS " FROM tg_jobs WHERE options_json = $3 AND state IN (0, 1) "
            "AND (($1::text IS NOT NULL AND content_id = $1) OR "
            "($2::text IS NOT NULL AND source_kind = 'url' AND source = $2)) "
            "ORDER BY created, seq LIMIT 1",
            3, v, "looking for an equal job", &rc);
    if (!r)
        goto out;
    if (PQntuples(r) > 0) {
        tgi_job found;
        if ((rc = row_to_job(ctx, r, 0, &found)))
            goto out;
        if ((rc = run_cmd(ctx, s, "COMMIT", 0, NULL, "adding a job"))) {
            tgi_job_clear(&found);
            goto out;
        }
        tgi_job_clear(job);
        *job = found;
        rc = 1;
        goto out;
    }
    if ((rc = insert_locked(ctx, s, job)))
        goto out;
    if ((rc = run_cmd(ctx, s, "COMMIT", 0, NULL, "adding a job")) == 0)
        notify_locked(s, job->id, TG_JOB_QUEUED);
out:
    PQclear(r);
    rollback(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* One job, or TG_ENOENT (caller holds mu). */
static int get_locked(tg_ctx *ctx, pg_store *s, const char *id, tgi_job *out)
{
    int rc;
    const char *v[1] = {id};
    PGresult *r =
        run(ctx, s, "SELECT " COLS " FROM tg_jobs WHERE id = $1", 1, v, "reading a job", &rc);
    if (!r)
        return rc;
    rc = PQntuples(r) > 0 ? row_to_job(ctx, r, 0, out) : tgi_fail(ctx, TG_ENOENT, "no job %s", id);
    PQclear(r);
    return rc;
}

static int pg_get(tg_ctx *ctx, tgi_store *base, const char *id, tgi_job *out)
{
    pg_store *s = (pg_store *)base;
    pthread_mutex_lock(&s->mu);
    int rc = get_locked(ctx, s, id, out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int pg_list(tg_ctx *ctx, tgi_store *base, size_t offset, size_t limit, tgi_job **jobs,
                   size_t *n, size_t *total)
{
    pg_store *s = (pg_store *)base;
    char lim[32], off[32];
    snprintf(lim, sizeof(lim), "%zu", limit);
    snprintf(off, sizeof(off), "%zu", offset);
    const char *v[2] = {lim, off};
    tgi_job *arr = NULL;
    int cnt = 0, rc;
    PGresult *r = NULL;
    pthread_mutex_lock(&s->mu);
    /* one snapshot for the count and the page */
    if ((rc = run_cmd(ctx, s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL,
                      "listing jobs")))
        goto out;
    if (!(r = run(ctx, s, "SELECT count(*) FROM tg_jobs", 0, NULL, "counting jobs", &rc)))
        goto out;
    *total = (size_t)get_i64(r, 0, 0);
    PQclear(r);
    r = NULL;
    if (limit == 0)
        goto out;
    if (!(r = run(ctx, s,
                  "SELECT " COLS " FROM tg_jobs ORDER BY created DESC, seq DESC "
                  "LIMIT $1 OFFSET $2",
                  2, v, "listing jobs", &rc)))
        goto out;
    int rows = PQntuples(r);
    arr = rows ? calloc((size_t)rows, sizeof(*arr)) : NULL;
    if (rows && !arr) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto out;
    }
    for (; cnt < rows; cnt++)
        if ((rc = row_to_job(ctx, r, cnt, &arr[cnt])))
            goto out;
out:
    PQclear(r);
    rollback(s); /* ends the read transaction */
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        for (int i = 0; i < cnt; i++)
            tgi_job_clear(&arr[i]);
        free(arr);
        *total = 0;
        return rc;
    }
    *jobs = arr;
    *n = (size_t)cnt;
    return 0;
}

static int pg_claim(tg_ctx *ctx, tgi_store *base, int kind, tgi_job *out)
{
    pg_store *s = (pg_store *)base;
    char lease[16];
    snprintf(lease, sizeof(lease), "%d", s->base.lease_ms);
    const char *v[2] = {s->base.worker, lease};
    int rc;
    pthread_mutex_lock(&s->mu);
    PGresult *r = run(ctx, s, claim_sql[kind < 0 ? 0 : kind ? 1 : 2], 2, v, "claiming a job", &rc);
    if (r) {
        rc = PQntuples(r) > 0 ? row_to_job(ctx, r, 0, out) : 1;
        PQclear(r);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Run a FENCED statement; 0, 1 (no longer ours) or an error. When it changed the
 * job, listeners hear of it with state (unless state < 0). */
static int fenced(tg_ctx *ctx, pg_store *s, const char *sql, int n, const char *const *v,
                  const char *what, int state)
{
    int rc;
    pthread_mutex_lock(&s->mu);
    PGresult *r = run(ctx, s, sql, n, v, what, &rc);
    if (r)
        rc = fenced_result(ctx, r, v[0]);
    if (rc == 0 && state >= 0)
        notify_locked(s, v[0], state);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int pg_set_stage(tg_ctx *ctx, tgi_store *base, const char *id, int attempt, int requeue,
                        const char *stage, double percent)
{
    char a[16], p[32];
    snprintf(a, sizeof(a), "%d", attempt);
    snprintf(p, sizeof(p), "%.6f", percent);
    const char *v[4] = {id, a, stage, p};
    return fenced(ctx, (pg_store *)base,
                  requeue ? FENCED("UPDATE tg_jobs SET state = 0, stage = $3, percent = $4, "
                                   "lease_until = 0, updated = tg_now_ms() WHERE id = $1 "
                                   "AND state = 1 AND ($2 = 0 OR attempt = $2)")
                          : FENCED("UPDATE tg_jobs SET stage = $3, percent = $4, "
                                   "updated = tg_now_ms() WHERE id = $1 "
                                   "AND state = 1 AND ($2 = 0 OR attempt = $2)"),
                  4, v, "saving progress", requeue ? TG_JOB_QUEUED : TG_JOB_RUNNING);
}

static int pg_set_source(tg_ctx *ctx, tgi_store *base, const char *id, int attempt,
                         const char *content_id, const char *video_path)
{
    char a[16];
    snprintf(a, sizeof(a), "%d", attempt);
    const char *v[4] = {id, a, content_id, video_path};
    int rc = fenced(ctx, (pg_store *)base,
                    FENCED("UPDATE tg_jobs SET content_id = coalesce($3, content_id), "
                           "video_path = coalesce($4, video_path), updated = tg_now_ms() "
                           "WHERE id = $1 AND ($2 = 0 OR (state = 1 AND attempt = $2))"),
                    4, v, "saving the job's source", -1);
    return rc == 1 && attempt == 0 ? 0 : rc;
}

static int pg_finish(tg_ctx *ctx, tgi_store *base, const char *id, int attempt, int state,
                     const char *result_json, const char *err_code, const char *err_message)
{
    char a[16], st[8];
    snprintf(a, sizeof(a), "%d", attempt);
    snprintf(st, sizeof(st), "%d", state);
    const char *v[6] = {id, a, st, result_json, err_code, err_message};
    return fenced(ctx, (pg_store *)base,
                  FENCED("UPDATE tg_jobs SET state = $3, "
                         "stage = CASE WHEN $3 = 2 THEN 'done' ELSE stage END, "
                         "percent = CASE WHEN $3 = 2 THEN 100 ELSE percent END, "
                         "result_json = $4, err_code = $5, err_message = $6, lease_until = 0, "
                         "updated = tg_now_ms() WHERE id = $1 AND state = 1 "
                         "AND ($2 = 0 OR attempt = $2)"),
                  6, v, "finishing a job", state);
}

static int pg_cancel(tg_ctx *ctx, tgi_store *base, const char *id)
{
    const char *v[1] = {id};
    return fenced(ctx, (pg_store *)base,
                  FENCED("UPDATE tg_jobs SET state = 4, lease_until = 0, updated = tg_now_ms() "
                         "WHERE id = $1 AND state IN (0, 1)"),
                  1, v, "cancelling a job", TG_JOB_CANCELLED);
}

static int pg_find_done(tg_ctx *ctx, tgi_store *base, const char *content_id,
                        const char *options_json, tgi_job *out)
{
    pg_store *s = (pg_store *)base;
    const char *v[2] = {content_id, options_json};
    int rc;
    pthread_mutex_lock(&s->mu);
    PGresult *r = run(ctx, s,
                      "SELECT " COLS " FROM tg_jobs WHERE content_id = $1 AND options_json = $2 "
                      "AND state = 2 ORDER BY created DESC, seq DESC LIMIT 1",
                      2, v, "looking for a finished job", &rc);
    if (r) {
        rc = PQntuples(r) > 0 ? row_to_job(ctx, r, 0, out) : 1;
        PQclear(r);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Shared queue: a running job belongs to its lease, not to whoever starts next; the
 * reaper (tgi_store_reap) is the recovery. */
static int pg_recover(tg_ctx *ctx, tgi_store *base, size_t *n)
{
    (void)ctx;
    (void)base;
    if (n)
        *n = 0;
    return 0;
}

static int pg_counts(tg_ctx *ctx, tgi_store *base, size_t *queued, size_t *running)
{
    pg_store *s = (pg_store *)base;
    int rc;
    pthread_mutex_lock(&s->mu);
    PGresult *r = run(ctx, s,
                      "SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 1) "
                      "FROM tg_jobs WHERE state IN (0, 1)",
                      0, NULL, "counting jobs", &rc);
    if (r) {
        *queued = (size_t)get_i64(r, 0, 0);
        *running = (size_t)get_i64(r, 0, 1);
        PQclear(r);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* An update of (id, attempt) while running: 0 when it matched, 1 when not. */
static int lease_op(tg_ctx *ctx, pg_store *s, const char *sql, const char *id, int attempt,
                    const char *what, int notify)
{
    char a[16], lease[16];
    snprintf(a, sizeof(a), "%d", attempt);
    snprintf(lease, sizeof(lease), "%d", s->base.lease_ms);
    const char *v[3] = {id, a, lease};
    int rc;
    pthread_mutex_lock(&s->mu);
    PGresult *r = run(ctx, s, sql, 3, v, what, &rc);
    if (r) {
        rc = strcmp(PQcmdTuples(r), "0") != 0 ? 0 : 1;
        PQclear(r);
        if (rc == 0 && notify)
            notify_locked(s, id, TG_JOB_QUEUED);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int pg_heartbeat(tg_ctx *ctx, tgi_store *base, const char *id, int attempt)
{
    return lease_op(ctx, (pg_store *)base,
                    "UPDATE tg_jobs SET lease_until = tg_now_ms() + $3 "
                    "WHERE id = $1 AND attempt = $2 AND state = 1",
                    id, attempt, "renewing a lease", 0);
}

static int pg_handback(tg_ctx *ctx, tgi_store *base, const char *id, int attempt)
{
    return lease_op(ctx, (pg_store *)base,
                    "UPDATE tg_jobs SET state = 0, percent = 0, lease_until = 0, run_at = 0, "
                    "updated = tg_now_ms() WHERE id = $1 AND attempt = $2 AND state = 1 "
                    "AND $3::int >= 0",
                    id, attempt, "handing a job back", 1);
}

static int pg_reap(tg_ctx *ctx, tgi_store *base, size_t *requeued, size_t *failed)
{
    pg_store *s = (pg_store *)base;
    char backoff[16];
    snprintf(backoff, sizeof(backoff), "%d", s->base.backoff_ms);
    const char *v[2] = {backoff, TG_STORE_LOST_MESSAGE};
    int rc;
    pthread_mutex_lock(&s->mu);
    PGresult *r =
        run(ctx, s,
            "WITH u AS (UPDATE tg_jobs SET lost = lost + 1, lease_until = 0, percent = 0, "
            "state = CASE WHEN lost + 1 >= max_attempts THEN 3 ELSE 0 END, "
            "err_code = CASE WHEN lost + 1 >= max_attempts THEN 'EINTERNAL' ELSE err_code END, "
            "err_message = CASE WHEN lost + 1 >= max_attempts THEN $2 ELSE err_message END, "
            "run_at = tg_now_ms() + $1::bigint * (1::bigint << least(lost, 16)), "
            "updated = tg_now_ms() "
            "WHERE state = 1 AND lease_until > 0 AND lease_until < tg_now_ms() RETURNING state) "
            "SELECT count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 3) FROM u",
            2, v, "re-queueing expired leases", &rc);
    if (r) {
        *requeued = (size_t)get_i64(r, 0, 0);
        *failed = (size_t)get_i64(r, 0, 1);
        PQclear(r);
        if (*requeued + *failed > 0)
            notify_locked(s, "", -1); /* several jobs: "anything may have changed" */
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- LISTEN/NOTIFY ---- */

static PGconn *listen_conn(const char *conninfo, int hear)
{
    PGconn *c = PQconnectdb(conninfo);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    PGresult *r = PQexec(c, hear == TG_STORE_HEAR_WORK ? "LISTEN tg_work" : "LISTEN tg_jobs");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static void *listener_main(void *arg)
{
    pg_store *s = arg;
    PGconn *c = s->first; /* already listening: nothing after subscribe is missed */
    s->first = NULL;
    while (!atomic_load(&s->stop)) {
        if (!c) {
            if (!(c = listen_conn(s->conninfo, s->hear))) {
                for (int i = 0; i < 10 && !atomic_load(&s->stop); i++)
                    usleep(100 * 1000);
                continue;
            }
            s->cb(s->cb_user, "", -1); /* notifications may have been missed meanwhile */
        }
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        int pr = poll(&p, 1, 200);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && !PQconsumeInput(c)) {
            PQfinish(c); /* lost: reconnect */
            c = NULL;
            continue;
        }
        PGnotify *n;
        while ((n = PQnotifies(c))) {
            char id[33] = "";
            int state = -1;
            const char *sp = strchr(n->extra, ' ');
            if (sp && sp - n->extra < (long)sizeof(id)) {
                memcpy(id, n->extra, (size_t)(sp - n->extra));
                id[sp - n->extra] = '\0';
                state = (int)strtol(sp + 1, NULL, 10);
            }
            s->cb(s->cb_user, id, state);
            PQfreemem(n);
        }
    }
    PQfinish(c);
    return NULL;
}

static int pg_subscribe(tg_ctx *ctx, tgi_store *base, int what, tgi_store_change_fn cb, void *user)
{
    pg_store *s = (pg_store *)base;
    if (s->listening)
        return tgi_fail(ctx, TG_EINVAL, "job store: already subscribed");
    s->hear = what;
    /* LISTEN before returning, on the connection the thread then reads: a change made
     * once subscribe has returned is always heard */
    s->first = listen_conn(s->conninfo, what);
    if (!s->first)
        return tgi_fail(ctx, TG_EIO, "job store: cannot listen for changes");
    s->cb = cb;
    s->cb_user = user;
    atomic_store(&s->stop, 0);
    if (pthread_create(&s->listener, NULL, listener_main, s) != 0) {
        PQfinish(s->first);
        s->first = NULL;
        return tgi_fail(ctx, TG_EINTERNAL, "job store: cannot start the listener");
    }
    s->listening = 1;
    return 0;
}

/* Deleting an ended job is one statement: a job that starts running meanwhile (a
 * retry cannot: it is a new job) is left alone, and the deleted row comes back for
 * the caller to remove its files. */
static int pg_delete_ended(tg_ctx *ctx, tgi_store *base, const char *id, tgi_job *out)
{
    pg_store *s = (pg_store *)base;
    const char *v[1] = {id};
    int rc;
    pthread_mutex_lock(&s->mu);
    PGresult *r =
        run(ctx, s, "DELETE FROM tg_jobs WHERE id = $1 AND state IN (2, 3, 4) RETURNING " COLS, 1,
            v, "deleting a job", &rc);
    if (r) {
        if (PQntuples(r) > 0)
            rc = row_to_job(ctx, r, 0, out);
        else if ((rc = get_locked(ctx, s, id, out)) == 0)
            rc = 1; /* not ended: left as it is */
        PQclear(r);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc != 0)
        tgi_job_clear(out);
    return rc;
}

static int pg_users(tg_ctx *ctx, tgi_store *base, const char *video_path, const char *content_id,
                    const char *options_json, size_t *video_users, size_t *output_users)
{
    pg_store *s = (pg_store *)base;
    const char *v[3] = {video_path, content_id, options_json};
    int rc;
    pthread_mutex_lock(&s->mu);
    /* NULL = NULL is not true: a missing argument counts 0 */
    PGresult *r = run(ctx, s,
                      "SELECT (SELECT count(*) FROM tg_jobs WHERE video_path = $1), "
                      "(SELECT count(*) FROM tg_jobs WHERE content_id = $2 AND options_json = $3)",
                      3, v, "counting jobs", &rc);
    if (r) {
        *video_users = (size_t)get_i64(r, 0, 0);
        *output_users = (size_t)get_i64(r, 0, 1);
        PQclear(r);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const tgi_store_ops pg_ops = {
    .name = "postgres",
    .shared = 1,
    .close = pg_close,
    .create = pg_create,
    .get = pg_get,
    .list = pg_list,
    .claim = pg_claim,
    .set_stage = pg_set_stage,
    .set_source = pg_set_source,
    .finish = pg_finish,
    .cancel = pg_cancel,
    .find_done = pg_find_done,
    .recover = pg_recover,
    .counts = pg_counts,
    .heartbeat = pg_heartbeat,
    .handback = pg_handback,
    .reap = pg_reap,
    .subscribe = pg_subscribe,
    .delete_ended = pg_delete_ended,
    .users = pg_users,
};
