/*
 * sqlite.c — the SQLite backend of the job store (see store.h, store/backend.h):
 * the only file that talks to SQLite.
 *
 * One connection (SQLITE_OPEN_FULLMUTEX) per tgi_store, plus our own mutex held for
 * the whole of every public call, so a multi-statement operation (claim, finish,
 * list) is never interleaved with another thread's. Writers that change more than
 * one row or read-then-write run inside BEGIN IMMEDIATE, which also takes SQLite's
 * write lock against other processes (busy_timeout waits for it).
 *
 * Invariants: every SQL text is a constant with bound parameters; statements are
 * prepared once (lazily) and reset after each use; job ids are 32 lowercase hex
 * digits from the kernel's random source; times are Unix milliseconds. Queue order
 * is (created, rowid): the rowid breaks ties between jobs made in the same ms.
 * SQLite result codes are translated to TG_E* only here, SQLite's text kept in the
 * message. Schema changes bump SCHEMA_VERSION (PRAGMA user_version) and add a step
 * to schema_migrate().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/error.h"
#include "core/fault.h"
#include "core/utf8.h"
#include "store/backend.h"

#define SCHEMA_VERSION 2

/* The columns of a job, in the order row_to_job() reads them. */
#define JOB_COLS                                                                                   \
    "id, state, stage, percent, source_kind, source, content_id, options_json, video_path, "       \
    "result_json, err_code, err_message, created, updated, attempt, lost, max_attempts, worker, "  \
    "lease_until, run_at"

enum {
    ST_INSERT,
    ST_GET,
    ST_COUNT_ALL,
    ST_LIST,
    ST_OLDEST_QUEUED,
    ST_MARK_RUNNING,
    ST_PROGRESS,
    ST_SET_SOURCE,
    ST_FINISH,
    ST_CANCEL,
    ST_EXISTS,
    ST_FIND_DONE,
    ST_RECOVER,
    ST_COUNT_STATE,
    ST_OLDEST_TO_DOWNLOAD,
    ST_OLDEST_TO_PROCESS,
    ST_REQUEUE,
    ST_FIND_ACTIVE,
    ST_HEARTBEAT,
    ST_HANDBACK,
    ST_REAP_FAIL,
    ST_REAP_REQUEUE,
    ST_DELETE_ENDED,
    ST_COUNT_VIDEO_USERS,
    ST_COUNT_OUTPUT_USERS,
    ST_N
};

static const char *const stmt_sql[ST_N] = {
    [ST_INSERT] = "INSERT INTO jobs (id, state, stage, percent, source_kind, source, content_id, "
                  "options_json, video_path, created, updated, max_attempts) "
                  "VALUES (?1, 0, 'queued', 0, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
    [ST_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    [ST_COUNT_ALL] = "SELECT count(*) FROM jobs",
    [ST_LIST] = "SELECT " JOB_COLS " FROM jobs ORDER BY created DESC, rowid DESC "
                "LIMIT ?1 OFFSET ?2",
    [ST_OLDEST_QUEUED] = "SELECT id FROM jobs WHERE state = 0 AND run_at <= ?1 "
                         "ORDER BY created, rowid LIMIT 1",
    [ST_MARK_RUNNING] = "UPDATE jobs SET state = 1, attempt = attempt + 1, worker = ?3, "
                        "lease_until = ?2 + ?4, updated = ?2 WHERE id = ?1 AND state = 0",
    [ST_PROGRESS] = "UPDATE jobs SET stage = ?2, percent = ?3, updated = ?4 "
                    "WHERE id = ?1 AND state = 1 AND (?5 = 0 OR attempt = ?5)",
    [ST_SET_SOURCE] = "UPDATE jobs SET content_id = coalesce(?2, content_id), "
                      "video_path = coalesce(?3, video_path), updated = ?4 "
                      "WHERE id = ?1 AND (?5 = 0 OR (state = 1 AND attempt = ?5))",
    [ST_FINISH] =
        "UPDATE jobs SET state = ?2, stage = CASE WHEN ?2 = 2 THEN 'done' ELSE stage END, "
        "percent = CASE WHEN ?2 = 2 THEN 100 ELSE percent END, result_json = ?3, "
        "err_code = ?4, err_message = ?5, updated = ?6, lease_until = 0 "
        "WHERE id = ?1 AND state = 1 AND (?7 = 0 OR attempt = ?7)",
    [ST_CANCEL] = "UPDATE jobs SET state = 4, updated = ?2, lease_until = 0 "
                  "WHERE id = ?1 AND state IN (0, 1)",
    [ST_EXISTS] = "SELECT 1 FROM jobs WHERE id = ?1",
    [ST_FIND_DONE] = "SELECT " JOB_COLS " FROM jobs WHERE content_id = ?1 AND options_json = ?2 "
                     "AND state = 2 ORDER BY created DESC, rowid DESC LIMIT 1",
    [ST_RECOVER] = "UPDATE jobs SET state = 0, stage = 'queued', percent = 0, updated = ?1, "
                   "lease_until = 0 WHERE state = 1",
    [ST_COUNT_STATE] = "SELECT count(*) FROM jobs WHERE state = ?1",
    [ST_OLDEST_TO_DOWNLOAD] = "SELECT id FROM jobs WHERE state = 0 AND video_path IS NULL "
                              "AND run_at <= ?1 ORDER BY created, rowid LIMIT 1",
    [ST_OLDEST_TO_PROCESS] = "SELECT id FROM jobs WHERE state = 0 AND video_path IS NOT NULL "
                             "AND run_at <= ?1 ORDER BY created, rowid LIMIT 1",
    [ST_REQUEUE] = "UPDATE jobs SET state = 0, stage = ?2, percent = ?3, updated = ?4, "
                   "lease_until = 0 WHERE id = ?1 AND state = 1 AND (?5 = 0 OR attempt = ?5)",
    [ST_FIND_ACTIVE] = "SELECT " JOB_COLS " FROM jobs WHERE options_json = ?3 AND state IN (0, 1) "
                       "AND ((?1 IS NOT NULL AND content_id = ?1) OR "
                       "(?2 IS NOT NULL AND source_kind = 'url' AND source = ?2)) "
                       "ORDER BY created, rowid LIMIT 1",
    [ST_HEARTBEAT] =
        "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND attempt = ?2 AND state = 1",
    [ST_HANDBACK] = "UPDATE jobs SET state = 0, percent = 0, lease_until = 0, run_at = 0, "
                    "updated = ?3 WHERE id = ?1 AND attempt = ?2 AND state = 1",
    [ST_REAP_FAIL] = "UPDATE jobs SET state = 3, lost = lost + 1, lease_until = 0, "
                     "err_code = 'EINTERNAL', err_message = ?2, updated = ?1 "
                     "WHERE state = 1 AND lease_until > 0 AND lease_until < ?1 "
                     "AND lost + 1 >= max_attempts",
    [ST_REAP_REQUEUE] = "UPDATE jobs SET state = 0, lost = lost + 1, lease_until = 0, percent = 0, "
                        "run_at = ?1 + ?2 * (1 << min(lost, 16)), updated = ?1 "
                        "WHERE state = 1 AND lease_until > 0 AND lease_until < ?1",
    [ST_DELETE_ENDED] = "DELETE FROM jobs WHERE id = ?1 AND state IN (2, 3, 4)",
    [ST_COUNT_VIDEO_USERS] = "SELECT count(*) FROM jobs WHERE video_path = ?1",
    [ST_COUNT_OUTPUT_USERS] =
        "SELECT count(*) FROM jobs WHERE content_id = ?1 AND options_json = ?2",
};

static const char schema_v1[] =
    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " state INTEGER NOT NULL,"
    " stage TEXT NOT NULL,"
    " percent REAL NOT NULL DEFAULT 0,"
    " source_kind TEXT NOT NULL,"
    " source TEXT NOT NULL,"
    " content_id TEXT,"
    " options_json TEXT NOT NULL,"
    " video_path TEXT,"
    " result_json TEXT,"
    " err_code TEXT,"
    " err_message TEXT,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX jobs_state_created ON jobs (state, created);"
    "CREATE INDEX jobs_content ON jobs (content_id, options_json, state);"
    "PRAGMA user_version = 1;";

/* Version 2: claims with leases, fenced by attempt (store.h). */
static const char schema_v2[] =
    "ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;"
    "ALTER TABLE jobs ADD COLUMN worker TEXT;"
    "ALTER TABLE jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN run_at INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 2;";

typedef struct sq_store {
    tgi_store base; /* first: the ops and lease settings */
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *st[ST_N];
} sq_store;

/* ---- helpers ---- */

#define now_ms tgi_store_now_ms

/* Translate a SQLite failure (the connection's last error) into a TG_E* code. */
static int db_fail(tg_ctx *ctx, sq_store *s, int src, const char *what)
{
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src);
    int prim = src & 0xff;
    if (prim == SQLITE_FULL || (s && s->db && sqlite3_system_errno(s->db) == ENOSPC))
        return tgi_fail(ctx, TG_EIO, "the server's disk is full");
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB)
        return tgi_fail(ctx, TG_ECORRUPT, "job store: the database is damaged (%s failed: %s)",
                        what, msg);
    int code = prim == SQLITE_NOMEM ? TG_ENOMEM : TG_EIO;
    return tgi_fail(ctx, code, "job store: %s failed: %s", what, msg);
}

/* PRAGMA quick_check: 0 when the database is sound, TG_ECORRUPT with SQLite's first
 * complaint when a page is damaged. */
static int quick_check(tg_ctx *ctx, sq_store *s)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(ctx, s, rc, "checking the database");
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && !strcmp(t, "ok")) {
            rc = 0;
        } else {
            /* SQLite's first complaint, on one line */
            char why[200];
            const char *head = "*** in database main ***\n";
            if (t && !strncmp(t, head, strlen(head)))
                t += strlen(head);
            tgi_utf8_copy(why, sizeof(why), t ? t : "no answer");
            for (char *c = why; *c; c++)
                if (*c == '\n' || *c == '\r')
                    *c = ' ';
            rc = tgi_fail(ctx, TG_ECORRUPT, "job store: the database is damaged (%s)", why);
        }
    } else {
        rc = db_fail(ctx, s, step, "checking the database");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The prepared statement for k, reset and unbound, ready for new parameters. */
static int stmt(tg_ctx *ctx, sq_store *s, int k, sqlite3_stmt **out)
{
    /* the disk-full test hook (core/fault.h): every write fails as SQLITE_FULL would */
    int writes = k == ST_INSERT || k == ST_MARK_RUNNING || k == ST_PROGRESS || k == ST_SET_SOURCE ||
                 k == ST_FINISH || k == ST_CANCEL || k == ST_RECOVER || k == ST_REQUEUE ||
                 k == ST_HEARTBEAT || k == ST_HANDBACK || k == ST_REAP_FAIL || k == ST_REAP_REQUEUE;
    if (writes && tgi_fault_disk_full())
        return tgi_fail(ctx, TG_EIO, "the server's disk is full");
    if (!s->st[k]) {
        int rc =
            sqlite3_prepare_v3(s->db, stmt_sql[k], -1, SQLITE_PREPARE_PERSISTENT, &s->st[k], NULL);
        if (rc != SQLITE_OK)
            return db_fail(ctx, s, rc, "preparing a statement");
    }
    *out = s->st[k];
    return 0;
}

static void stmt_done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

/* A statement's parameters, in order: text (NULL binds NULL), integer or real. */
typedef struct param {
    char type; /* 't', 'i' or 'd' */
    const char *text;
    int64_t i;
    double d;
} param;
#define TEXT(v)                                                                                    \
    {                                                                                              \
        't', (v), 0, 0                                                                             \
    }
#define INT(v)                                                                                     \
    {                                                                                              \
        'i', NULL, (int64_t)(v), 0                                                                 \
    }
#define REAL(v)                                                                                    \
    {                                                                                              \
        'd', NULL, 0, (v)                                                                          \
    }
#define PARAMS(...)                                                                                \
    (const param[]){__VA_ARGS__}, sizeof((const param[]){__VA_ARGS__}) / sizeof(param)
#define NO_PARAMS NULL, 0

/* The one bind-and-step of every operation (the caller holds the mutex): statement k
 * with the n parameters p, stepped once. row == NULL: a write, which must finish
 * (0, or the error with what); the statement is reset. row != NULL: a read, 1 with the
 * first row left in *row for the caller to read (more with sqlite3_step) and then
 * stmt_done, 0 when there is none (reset, *row NULL), or the error. */
static int run(tg_ctx *ctx, sq_store *s, int k, const char *what, sqlite3_stmt **row,
               const param *p, size_t n)
{
    sqlite3_stmt *st = NULL;
    if (row)
        *row = NULL;
    int rc = stmt(ctx, s, k, &st);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        int at = (int)i + 1;
        if (p[i].type == 't')
            bind_text(st, at, p[i].text);
        else if (p[i].type == 'd')
            sqlite3_bind_double(st, at, p[i].d);
        else
            sqlite3_bind_int64(st, at, p[i].i);
    }
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW && row) {
        *row = st;
        return 1;
    }
    stmt_done(st);
    if (step == SQLITE_DONE)
        return 0;
    return db_fail(ctx, s, step, what);
}

static int exec(tg_ctx *ctx, sq_store *s, const char *sql, const char *what)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(ctx, s, rc, what);
}

static void rollback(sq_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int dup_col(sqlite3_stmt *st, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return 0;
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t)
        return -1; /* out of memory converting the value */
    *out = strdup((const char *)t);
    return *out ? 0 : -1;
}

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

/* Fill job (zeroed first) from the current row of a JOB_COLS select. */
static int row_to_job(tg_ctx *ctx, sqlite3_stmt *st, tgi_job *job)
{
    memset(job, 0, sizeof(*job));
    copy_col(st, 0, job->id, sizeof(job->id));
    job->state = sqlite3_column_int(st, 1);
    copy_col(st, 2, job->stage, sizeof(job->stage));
    job->percent = sqlite3_column_double(st, 3);
    if (dup_col(st, 4, &job->source_kind) || dup_col(st, 5, &job->source) ||
        dup_col(st, 6, &job->content_id) || dup_col(st, 7, &job->options_json) ||
        dup_col(st, 8, &job->video_path) || dup_col(st, 9, &job->result_json) ||
        dup_col(st, 10, &job->err_code) || dup_col(st, 11, &job->err_message)) {
        tgi_job_clear(job);
        return tgi_fail(ctx, TG_ENOMEM, "job store: out of memory");
    }
    job->created = sqlite3_column_int64(st, 12);
    job->updated = sqlite3_column_int64(st, 13);
    job->attempt = sqlite3_column_int(st, 14);
    job->lost = sqlite3_column_int(st, 15);
    job->max_attempts = sqlite3_column_int(st, 16);
    copy_col(st, 17, job->worker, sizeof(job->worker));
    job->lease_until = sqlite3_column_int64(st, 18);
    job->run_at = sqlite3_column_int64(st, 19);
    return 0;
}

/* Read one job by id (caller holds the mutex): 0, TG_ENOENT or an error. */
static int get_locked(tg_ctx *ctx, sq_store *s, const char *id, tgi_job *out)
{
    sqlite3_stmt *st;
    int rc = run(ctx, s, ST_GET, "reading a job", &st, PARAMS(TEXT(id)));
    if (rc == 1)
        rc = row_to_job(ctx, st, out);
    else if (rc == 0)
        rc = tgi_fail(ctx, TG_ENOENT, "no job %s", id);
    stmt_done(st);
    return rc;
}

/* 1 when a job with this id exists, 0 when not, or an error. */
static int exists_locked(tg_ctx *ctx, sq_store *s, const char *id)
{
    sqlite3_stmt *st;
    int rc = run(ctx, s, ST_EXISTS, "reading a job", &st, PARAMS(TEXT(id)));
    stmt_done(st);
    return rc;
}

/* After an UPDATE … WHERE id = ? AND state …: 0 when it changed the row, else 1 when
 * the job exists in another state, TG_ENOENT when it does not exist. */
static int changed_or_why(tg_ctx *ctx, sq_store *s, const char *id)
{
    if (sqlite3_changes(s->db) > 0)
        return 0;
    int e = exists_locked(ctx, s, id);
    if (e < 0)
        return e;
    return e ? 1 : tgi_fail(ctx, TG_ENOENT, "no job %s", id);
}

/* A count (statement k with its n parameters p) into *out. */
static int count_locked(tg_ctx *ctx, sq_store *s, int k, size_t *out, const param *p, size_t n)
{
    sqlite3_stmt *st;
    int rc = run(ctx, s, k, "counting jobs", &st, p, n);
    if (rc == 1) {
        *out = (size_t)sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = tgi_fail(ctx, TG_EIO, "job store: counting jobs gave no row");
    }
    stmt_done(st);
    return rc;
}

static int schema_migrate(tg_ctx *ctx, sq_store *s)
{
    int rc = exec(ctx, s, "BEGIN IMMEDIATE", "starting the schema check");
    if (rc)
        return rc;
    sqlite3_stmt *st = NULL;
    int version = -1;
    int prc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
    if (prc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0) {
        rc = db_fail(ctx, s, prc, "reading the schema version");
        goto fail;
    }
    if (version > SCHEMA_VERSION) {
        rc = tgi_fail(ctx, TG_EIO,
                      "job store: the database has schema version %d, newer than this "
                      "program's %d",
                      version, SCHEMA_VERSION);
        goto fail;
    }
    if (version == 0 && (rc = exec(ctx, s, schema_v1, "creating the jobs table")))
        goto fail;
    if (version < 2 && (rc = exec(ctx, s, schema_v2, "adding the lease columns")))
        goto fail;
    if ((rc = exec(ctx, s, "COMMIT", "saving the schema")))
        goto fail;
    return 0;
fail:
    rollback(s);
    return rc;
}

static const tgi_store_ops sq_ops;

int tgi_store_sqlite_open(tg_ctx *ctx, const char *path, tgi_store **out)
{
    int rc = 0;
    sq_store *s = NULL;
    *out = NULL;
    if (!path || !*path)
        return tgi_fail(ctx, TG_EINVAL, "job store: empty database path");
    s = calloc(1, sizeof(*s));
    if (!s)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    tgi_store_base_init(&s->base, &sq_ops);
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return tgi_fail(ctx, TG_EINTERNAL, "job store: cannot create a mutex");
    }
    int src = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
    if (src != SQLITE_OK) {
        rc = tgi_fail(ctx, (src & 0xff) == SQLITE_NOMEM ? TG_ENOMEM : TG_EIO,
                      "job store: cannot open %s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    if ((rc = exec(ctx, s, "PRAGMA busy_timeout = 5000", "setting the busy timeout")) ||
        (rc = exec(ctx, s, "PRAGMA journal_mode = WAL", "switching to WAL")) ||
        (rc = exec(ctx, s, "PRAGMA synchronous = NORMAL", "setting synchronous")))
        goto fail;
    if ((rc = quick_check(ctx, s)) || (rc = schema_migrate(ctx, s)))
        goto fail;
    *out = &s->base;
    return 0;
fail:
    sq_ops.close(&s->base);
    return rc;
}

static void sq_close(tgi_store *base)
{
    sq_store *s = (sq_store *)base;
    for (int k = 0; k < ST_N; k++)
        sqlite3_finalize(s->st[k]);
    if (s->db)
        sqlite3_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ---- operations: each holds the mutex from start to end ---- */

/* Insert job as a new queued job (caller holds the mutex). */
static int insert_locked(tg_ctx *ctx, sq_store *s, tgi_job *job)
{
    char id[33];
    int rc = tgi_store_random_id(ctx, id);
    if (rc)
        return rc;
    int64_t t = now_ms();
    rc = run(ctx, s, ST_INSERT, "adding a job", NULL,
             PARAMS(TEXT(id), TEXT(job->source_kind), TEXT(job->source), TEXT(job->content_id),
                    TEXT(job->options_json), TEXT(job->video_path), INT(t),
                    INT(s->base.max_attempts)));
    if (rc)
        return rc;
    memcpy(job->id, id, sizeof(job->id));
    job->state = TG_JOB_QUEUED;
    snprintf(job->stage, sizeof(job->stage), "queued");
    job->percent = 0;
    job->created = job->updated = t;
    job->attempt = job->lost = 0;
    job->max_attempts = s->base.max_attempts;
    return 0;
}

/* join = 0: a new job. join = 1: unless a queued or running job has the same options
 * and content (or URL): then job becomes that one and 1 is returned. */
static int sq_create(tg_ctx *ctx, tgi_store *base, tgi_job *job, int join)
{
    sq_store *s = (sq_store *)base;
    int rc;
    if (!join) {
        pthread_mutex_lock(&s->mu);
        rc = insert_locked(ctx, s, job);
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    const char *url = !strcmp(job->source_kind, "url") ? job->source : NULL;
    sqlite3_stmt *st = NULL;
    tgi_job found;
    int have = 0;
    pthread_mutex_lock(&s->mu);
    /* one write transaction: two equal requests at once make one job */
    if ((rc = exec(ctx, s, "BEGIN IMMEDIATE", "adding a job")))
        goto out;
    rc = run(ctx, s, ST_FIND_ACTIVE, "looking for an equal job", &st,
             PARAMS(TEXT(job->content_id), TEXT(url), TEXT(job->options_json)));
    if (rc < 0)
        goto out;
    if (rc == 1) {
        if ((rc = row_to_job(ctx, st, &found)))
            goto out;
        have = 1;
    }
    stmt_done(st);
    st = NULL;
    if (!have && (rc = insert_locked(ctx, s, job)))
        goto out;
    if ((rc = exec(ctx, s, "COMMIT", "adding a job")))
        goto out;
    if (have) {
        tgi_job_clear(job);
        *job = found;
        have = 0;
        rc = 1;
    }
out:
    stmt_done(st);
    rollback(s);
    pthread_mutex_unlock(&s->mu);
    if (have)
        tgi_job_clear(&found);
    return rc;
}

static int sq_get(tg_ctx *ctx, tgi_store *base, const char *id, tgi_job *out)
{
    sq_store *s = (sq_store *)base;
    pthread_mutex_lock(&s->mu);
    int rc = get_locked(ctx, s, id, out);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_list(tg_ctx *ctx, tgi_store *base, size_t offset, size_t limit, tgi_job **jobs,
                   size_t *n, size_t *total)
{
    sq_store *s = (sq_store *)base;
    tgi_job *arr = NULL;
    size_t cnt = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    /* one read transaction: the count and the page see the same snapshot */
    int rc = exec(ctx, s, "BEGIN", "listing jobs");
    if (rc)
        goto out;
    if ((rc = count_locked(ctx, s, ST_COUNT_ALL, total, NO_PARAMS)))
        goto out;
    if (limit == 0)
        goto out;
    rc = run(ctx, s, ST_LIST, "listing jobs", &st, PARAMS(INT(limit), INT(offset)));
    if (rc < 0)
        goto out;
    int step = rc == 1 ? SQLITE_ROW : SQLITE_DONE;
    rc = 0;
    for (; step == SQLITE_ROW; step = sqlite3_step(st)) {
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            tgi_job *na = realloc(arr, ncap * sizeof(*arr));
            if (!na) {
                rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
                goto out;
            }
            arr = na;
            cap = ncap;
        }
        if ((rc = row_to_job(ctx, st, &arr[cnt])))
            goto out;
        cnt++;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(ctx, s, step, "listing jobs");
out:
    stmt_done(st);
    rollback(s); /* ends the read transaction */
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        for (size_t i = 0; i < cnt; i++)
            tgi_job_clear(&arr[i]);
        free(arr);
        *total = 0;
        return rc;
    }
    *jobs = arr;
    *n = cnt;
    return 0;
}

/* Take the oldest queued job of the kind (-1 any, 1 to download, 0 to process) whose
 * run_at has come: attempt + 1, this worker, a lease. 1 when there is none. */
static int sq_claim(tg_ctx *ctx, tgi_store *base, int kind, tgi_job *out)
{
    sq_store *s = (sq_store *)base;
    int which = kind < 0 ? ST_OLDEST_QUEUED : kind ? ST_OLDEST_TO_DOWNLOAD : ST_OLDEST_TO_PROCESS;
    char id[33] = "";
    sqlite3_stmt *st = NULL;
    int64_t t = now_ms();
    pthread_mutex_lock(&s->mu);
    int rc = exec(ctx, s, "BEGIN IMMEDIATE", "claiming a job");
    if (rc)
        goto out;
    rc = run(ctx, s, which, "claiming a job", &st, PARAMS(INT(t)));
    if (rc <= 0) {
        rc = rc == 0 ? 1 : rc; /* 1: the queue is empty */
        goto out;
    }
    copy_col(st, 0, id, sizeof(id));
    stmt_done(st);
    st = NULL;
    if ((rc = run(ctx, s, ST_MARK_RUNNING, "claiming a job", NULL,
                  PARAMS(TEXT(id), INT(t), TEXT(s->base.worker), INT(s->base.lease_ms)))))
        goto out;
    if ((rc = get_locked(ctx, s, id, out)))
        goto out;
    if ((rc = exec(ctx, s, "COMMIT", "claiming a job")))
        tgi_job_clear(out);
out:
    stmt_done(st);
    rollback(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* One UPDATE of the job id under the mutex: 0 when it changed the row, 1 when the job
 * is in another state (or another attempt's), TG_ENOENT when there is none. */
static int update_job(tg_ctx *ctx, sq_store *s, int k, const char *what, const char *id,
                      const param *p, size_t n)
{
    pthread_mutex_lock(&s->mu);
    int rc = run(ctx, s, k, what, NULL, p, n);
    if (rc == 0)
        rc = changed_or_why(ctx, s, id);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* A running job's stage and percent, or the same while putting it back in the queue
 * (requeue). 1 when it was no longer running (under this attempt). */
static int sq_set_stage(tg_ctx *ctx, tgi_store *base, const char *id, int attempt, int requeue,
                        const char *stage, double percent)
{
    return update_job(ctx, (sq_store *)base, requeue ? ST_REQUEUE : ST_PROGRESS, "saving progress",
                      id,
                      PARAMS(TEXT(id), TEXT(stage), REAL(percent), INT(now_ms()), INT(attempt)));
}

static int sq_set_source(tg_ctx *ctx, tgi_store *base, const char *id, int attempt,
                         const char *content_id, const char *video_path)
{
    sq_store *s = (sq_store *)base;
    const param p[] = {TEXT(id), TEXT(content_id), TEXT(video_path), INT(now_ms()), INT(attempt)};
    size_t n = sizeof(p) / sizeof(p[0]);
    if (attempt > 0)
        return update_job(ctx, s, ST_SET_SOURCE, "saving the job's source", id, p, n);
    pthread_mutex_lock(&s->mu);
    int rc = run(ctx, s, ST_SET_SOURCE, "saving the job's source", NULL, p, n);
    if (rc == 0 && sqlite3_changes(s->db) == 0)
        rc = tgi_fail(ctx, TG_ENOENT, "no job %s", id);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_finish(tg_ctx *ctx, tgi_store *base, const char *id, int attempt, int state,
                     const char *result_json, const char *err_code, const char *err_message)
{
    return update_job(ctx, (sq_store *)base, ST_FINISH, "finishing a job", id,
                      PARAMS(TEXT(id), INT(state), TEXT(result_json), TEXT(err_code),
                             TEXT(err_message), INT(now_ms()), INT(attempt)));
}

static int sq_cancel(tg_ctx *ctx, tgi_store *base, const char *id)
{
    return update_job(ctx, (sq_store *)base, ST_CANCEL, "cancelling a job", id,
                      PARAMS(TEXT(id), INT(now_ms())));
}

static int sq_find_done(tg_ctx *ctx, tgi_store *base, const char *content_id,
                        const char *options_json, tgi_job *out)
{
    sq_store *s = (sq_store *)base;
    sqlite3_stmt *st;
    pthread_mutex_lock(&s->mu);
    int rc = run(ctx, s, ST_FIND_DONE, "looking for a finished job", &st,
                 PARAMS(TEXT(content_id), TEXT(options_json)));
    if (rc == 1)
        rc = row_to_job(ctx, st, out);
    else if (rc == 0)
        rc = 1;
    stmt_done(st);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_recover(tg_ctx *ctx, tgi_store *base, size_t *n)
{
    sq_store *s = (sq_store *)base;
    pthread_mutex_lock(&s->mu);
    int rc = run(ctx, s, ST_RECOVER, "re-queueing interrupted jobs", NULL, PARAMS(INT(now_ms())));
    if (rc == 0 && n)
        *n = (size_t)sqlite3_changes(s->db);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_counts(tg_ctx *ctx, tgi_store *base, size_t *queued, size_t *running)
{
    sq_store *s = (sq_store *)base;
    pthread_mutex_lock(&s->mu);
    int rc = count_locked(ctx, s, ST_COUNT_STATE, queued, PARAMS(INT(TG_JOB_QUEUED)));
    if (!rc)
        rc = count_locked(ctx, s, ST_COUNT_STATE, running, PARAMS(INT(TG_JOB_RUNNING)));
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ST_HEARTBEAT or ST_HANDBACK on (id, attempt): 0, or 1 when the job is not ours. */
static int lease_op(tg_ctx *ctx, sq_store *s, int k, const char *id, int attempt)
{
    int64_t t = now_ms();
    pthread_mutex_lock(&s->mu);
    int rc = run(ctx, s, k, k == ST_HEARTBEAT ? "renewing a lease" : "handing a job back", NULL,
                 PARAMS(TEXT(id), INT(attempt), INT(k == ST_HEARTBEAT ? t + s->base.lease_ms : t)));
    if (rc == 0)
        rc = sqlite3_changes(s->db) > 0 ? 0 : 1;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_heartbeat(tg_ctx *ctx, tgi_store *base, const char *id, int attempt)
{
    return lease_op(ctx, (sq_store *)base, ST_HEARTBEAT, id, attempt);
}

static int sq_handback(tg_ctx *ctx, tgi_store *base, const char *id, int attempt)
{
    return lease_op(ctx, (sq_store *)base, ST_HANDBACK, id, attempt);
}

static int sq_reap(tg_ctx *ctx, tgi_store *base, size_t *requeued, size_t *failed)
{
    sq_store *s = (sq_store *)base;
    int64_t t = now_ms();
    const char *what = "re-queueing expired leases";
    pthread_mutex_lock(&s->mu);
    int rc = exec(ctx, s, "BEGIN IMMEDIATE", what);
    if (!rc &&
        !(rc = run(ctx, s, ST_REAP_FAIL, what, NULL, PARAMS(INT(t), TEXT(TG_STORE_LOST_MESSAGE)))))
        *failed = (size_t)sqlite3_changes(s->db);
    if (!rc &&
        !(rc = run(ctx, s, ST_REAP_REQUEUE, what, NULL, PARAMS(INT(t), INT(s->base.backoff_ms)))))
        *requeued = (size_t)sqlite3_changes(s->db);
    if (!rc)
        rc = exec(ctx, s, "COMMIT", what);
    rollback(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int sq_delete_ended(tg_ctx *ctx, tgi_store *base, const char *id, tgi_job *out)
{
    sq_store *s = (sq_store *)base;
    int rc;
    pthread_mutex_lock(&s->mu);
    if ((rc = exec(ctx, s, "BEGIN IMMEDIATE", "deleting a job")))
        goto out;
    if ((rc = get_locked(ctx, s, id, out)))
        goto out;
    if (out->state == TG_JOB_QUEUED || out->state == TG_JOB_RUNNING) {
        rc = 1; /* not ended: left as it is */
        goto out;
    }
    if ((rc = run(ctx, s, ST_DELETE_ENDED, "deleting a job", NULL, PARAMS(TEXT(id)))))
        goto out;
    rc = exec(ctx, s, "COMMIT", "deleting a job");
out:
    rollback(s);
    pthread_mutex_unlock(&s->mu);
    if (rc != 0)
        tgi_job_clear(out);
    return rc;
}

static int sq_users(tg_ctx *ctx, tgi_store *base, const char *video_path, const char *content_id,
                    const char *options_json, size_t *video_users, size_t *output_users)
{
    sq_store *s = (sq_store *)base;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (video_path)
        rc = count_locked(ctx, s, ST_COUNT_VIDEO_USERS, video_users, PARAMS(TEXT(video_path)));
    if (!rc && content_id && options_json)
        rc = count_locked(ctx, s, ST_COUNT_OUTPUT_USERS, output_users,
                          PARAMS(TEXT(content_id), TEXT(options_json)));
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static const tgi_store_ops sq_ops = {
    .name = "sqlite",
    .shared = 0,
    .close = sq_close,
    .create = sq_create,
    .get = sq_get,
    .list = sq_list,
    .claim = sq_claim,
    .set_stage = sq_set_stage,
    .set_source = sq_set_source,
    .finish = sq_finish,
    .cancel = sq_cancel,
    .find_done = sq_find_done,
    .recover = sq_recover,
    .counts = sq_counts,
    .heartbeat = sq_heartbeat,
    .handback = sq_handback,
    .reap = sq_reap,
    .subscribe = NULL, /* one process per database: the server's own notifier hears all */
    .delete_ended = sq_delete_ended,
    .users = sq_users,
};
