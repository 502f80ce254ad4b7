/* test_store.c — the job store on both backends (the same cases on SQLite and on
 * PostgreSQL, the latter in the throw-away cluster of scripts/pg-test): life cycle,
 * order, atomic claims, leases, fencing, dead letters; plus SQLite's restart and
 * damage cases and PostgreSQL's change notifications. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "pgtest.h"
#include "util.h"

typedef struct fixture {
    char *path;
    tg_ctx *ctx;
    tgi_store *s;
} fixture;

/* The backend of the running test case (set by its unchecked fixture). */
static int g_pg;
static void use_sqlite(void)
{
    g_pg = 0;
}
static void use_pg(void)
{
    g_pg = 1;
}

/* A new empty store's spec: a fresh SQLite file or a fresh PostgreSQL schema. */
static char *new_spec(void)
{
    if (!g_pg)
        return tgt_tmp_path(".db");
    char why[512];
    char *spec = tgt_pg_store(why, sizeof(why));
    ck_assert_msg(spec != NULL, "%s", why);
    return spec;
}

static void fx_open(fixture *f)
{
    f->path = new_spec();
    f->ctx = tg_ctx_new();
    ck_assert_ptr_nonnull(f->path);
    ck_assert_ptr_nonnull(f->ctx);
    ck_assert_msg(tgi_store_open(f->ctx, f->path, &f->s) == 0, "open: %s", tg_ctx_message(f->ctx));
    ck_assert_ptr_nonnull(f->s);
}

static void remove_db(const char *path)
{
    char p[4096];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static void fx_close(fixture *f)
{
    tgi_store_close(&f->s);
    ck_assert_ptr_null(f->s);
    tgi_store_close(&f->s); /* accepts NULL */
    if (!g_pg)
        remove_db(f->path);
    free(f->path);
    tg_ctx_free(&f->ctx);
}

/* Create a url job for source; returns its id in id. */
static void add_job(fixture *f, const char *source, const char *opts, char id[33])
{
    tgi_job j;
    memset(&j, 0, sizeof(j));
    j.source_kind = (char *)"url";
    j.source = (char *)source;
    j.options_json = (char *)(opts ? opts : "{}");
    ck_assert_msg(tgi_store_create(f->ctx, f->s, &j) == 0, "create: %s", tg_ctx_message(f->ctx));
    memcpy(id, j.id, 33);
}

static int is_hex_id(const char *id)
{
    if (strlen(id) != 32)
        return 0;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

START_TEST(create_and_get_round_trip)
{
    fixture f = {0};
    fx_open(&f);
    tgi_job j;
    memset(&j, 0, sizeof(j));
    j.source_kind = (char *)"upload";
    j.source = (char *)"holiday.mp4";
    j.options_json = (char *)"{\"clips\":3}";
    j.content_id = (char *)"sha256-abc";
    j.video_path = (char *)"uploads/x.mp4";
    ck_assert_int_eq(tgi_store_create(f.ctx, f.s, &j), 0);
    ck_assert_msg(is_hex_id(j.id), "id '%s' is not 32 lowercase hex digits", j.id);
    ck_assert_int_eq(j.state, TG_JOB_QUEUED);
    ck_assert_str_eq(j.stage, "queued");
    ck_assert(j.created > 1600000000000LL && j.updated == j.created);

    tgi_job g;
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, j.id, &g), 0);
    ck_assert_str_eq(g.id, j.id);
    ck_assert_int_eq(g.state, TG_JOB_QUEUED);
    ck_assert_str_eq(g.stage, "queued");
    ck_assert(g.percent == 0);
    ck_assert_str_eq(g.source_kind, "upload");
    ck_assert_str_eq(g.source, "holiday.mp4");
    ck_assert_str_eq(g.options_json, "{\"clips\":3}");
    ck_assert_str_eq(g.content_id, "sha256-abc");
    ck_assert_str_eq(g.video_path, "uploads/x.mp4");
    ck_assert_ptr_null(g.result_json);
    ck_assert_ptr_null(g.err_code);
    ck_assert_ptr_null(g.err_message);
    ck_assert(g.created == j.created);
    tgi_job_clear(&g);
    ck_assert_ptr_null(g.source);
    tgi_job_clear(&g); /* a zeroed job is fine */

    /* a second job gets another id; strange text is stored as given (bound, not spliced) */
    char id2[33];
    add_job(&f, "http://x/'); DROP TABLE jobs; --", NULL, id2);
    ck_assert_str_ne(id2, j.id);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id2, &g), 0);
    ck_assert_str_eq(g.source, "http://x/'); DROP TABLE jobs; --");
    ck_assert_ptr_null(g.content_id);
    tgi_job_clear(&g);

    ck_assert_str_eq(tgi_job_state_name(TG_JOB_QUEUED), "queued");
    ck_assert_str_eq(tgi_job_state_name(TG_JOB_RUNNING), "running");
    ck_assert_str_eq(tgi_job_state_name(TG_JOB_DONE), "done");
    ck_assert_str_eq(tgi_job_state_name(TG_JOB_FAILED), "failed");
    ck_assert_str_eq(tgi_job_state_name(TG_JOB_CANCELLED), "cancelled");
    fx_close(&f);
}
END_TEST

START_TEST(create_validates_and_unknown_ids_are_enoent)
{
    fixture f = {0};
    fx_open(&f);
    tgi_job j;
    memset(&j, 0, sizeof(j));
    j.source = (char *)"x";
    j.options_json = (char *)"{}";
    ck_assert_int_eq(tgi_store_create(f.ctx, f.s, &j), TG_EINVAL); /* no kind */
    j.source_kind = (char *)"ftp";
    ck_assert_int_eq(tgi_store_create(f.ctx, f.s, &j), TG_EINVAL);
    j.source_kind = (char *)"url";
    j.options_json = NULL;
    ck_assert_int_eq(tgi_store_create(f.ctx, f.s, &j), TG_EINVAL);

    const char *nope = "0123456789abcdef0123456789abcdef";
    tgi_job g;
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, nope, &g), TG_ENOENT);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(f.ctx), nope));
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, "", &g), TG_EINVAL);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, nope), TG_ENOENT);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, nope, TG_JOB_DONE, "{}", NULL, NULL), TG_ENOENT);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, nope, "analyze", 5), TG_ENOENT);
    ck_assert_int_eq(tgi_store_set_source(f.ctx, f.s, nope, "yt-x", NULL), TG_ENOENT);
    fx_close(&f);
}
END_TEST

START_TEST(list_is_newest_first_with_pages)
{
    fixture f = {0};
    fx_open(&f);
    char ids[5][33];
    for (int i = 0; i < 5; i++) {
        char src[32];
        snprintf(src, sizeof(src), "job%d", i);
        add_job(&f, src, NULL, ids[i]); /* several in one ms: the insert order decides */
    }
    tgi_job *jobs = NULL;
    size_t n = 99, total = 99;
    ck_assert_int_eq(tgi_store_list(f.ctx, f.s, 0, 2, &jobs, &n, &total), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(total, 5);
    ck_assert_str_eq(jobs[0].id, ids[4]);
    ck_assert_str_eq(jobs[1].id, ids[3]);
    ck_assert_str_eq(jobs[1].source, "job3");
    for (size_t i = 0; i < n; i++)
        tgi_job_clear(&jobs[i]);
    free(jobs);

    ck_assert_int_eq(tgi_store_list(f.ctx, f.s, 2, 2, &jobs, &n, &total), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(jobs[0].id, ids[2]);
    ck_assert_str_eq(jobs[1].id, ids[1]);
    for (size_t i = 0; i < n; i++)
        tgi_job_clear(&jobs[i]);
    free(jobs);

    ck_assert_int_eq(tgi_store_list(f.ctx, f.s, 4, 100, &jobs, &n, &total), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(jobs[0].id, ids[0]);
    tgi_job_clear(&jobs[0]);
    free(jobs);

    ck_assert_int_eq(tgi_store_list(f.ctx, f.s, 10, 2, &jobs, &n, &total), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(total, 5);
    free(jobs);
    ck_assert_int_eq(tgi_store_list(f.ctx, f.s, 0, 0, &jobs, &n, &total), 0);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(total, 5);
    free(jobs);
    ck_assert_int_eq(tgi_store_list(f.ctx, f.s, 0, (size_t)-1, &jobs, &n, &total), 0);
    ck_assert_uint_eq(n, 5);
    for (size_t i = 0; i < n; i++)
        tgi_job_clear(&jobs[i]);
    free(jobs);
    fx_close(&f);
}
END_TEST

START_TEST(claim_takes_the_oldest_queued)
{
    fixture f = {0};
    fx_open(&f);
    char a[33], b[33], c[33];
    add_job(&f, "a", NULL, a);
    usleep(2000); /* different ms too */
    add_job(&f, "b", NULL, b);
    add_job(&f, "c", NULL, c);
    size_t q = 0, r = 0;
    ck_assert_int_eq(tgi_store_counts(f.ctx, f.s, &q, &r), 0);
    ck_assert_uint_eq(q, 3);
    ck_assert_uint_eq(r, 0);

    tgi_job j;
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, a);
    ck_assert_int_eq(j.state, TG_JOB_RUNNING);
    ck_assert_str_eq(j.source, "a");
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, b), 0); /* cancelled: skipped */
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, c);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 1); /* empty */
    ck_assert_ptr_null(j.source);
    ck_assert_int_eq(tgi_store_counts(f.ctx, f.s, &q, &r), 0);
    ck_assert_uint_eq(q, 0);
    ck_assert_uint_eq(r, 2);
    fx_close(&f);
}
END_TEST

#define N_JOBS    200
#define N_THREADS 4

typedef struct claimer {
    tgi_store *s;
    char ids[N_JOBS][33];
    int n;
    int errors;
} claimer;

static void *claim_loop(void *arg)
{
    claimer *c = arg;
    tg_ctx *ctx = tg_ctx_new();
    for (;;) {
        tgi_job j;
        int rc = tgi_store_claim(ctx, c->s, &j);
        if (rc == 1)
            break;
        if (rc != 0 || c->n >= N_JOBS) {
            c->errors++;
            break;
        }
        memcpy(c->ids[c->n++], j.id, 33);
        tgi_job_clear(&j);
    }
    tg_ctx_free(&ctx);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

START_TEST(concurrent_claims_never_share_a_job)
{
    fixture f = {0};
    fx_open(&f);
    for (int i = 0; i < N_JOBS; i++) {
        char id[33];
        add_job(&f, "x", NULL, id);
    }
    static claimer cl[N_THREADS];
    pthread_t th[N_THREADS];
    memset(cl, 0, sizeof(cl));
    for (int i = 0; i < N_THREADS; i++) {
        cl[i].s = f.s;
        ck_assert_int_eq(pthread_create(&th[i], NULL, claim_loop, &cl[i]), 0);
    }
    static char all[N_JOBS][33];
    int total = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(cl[i].errors, 0);
        for (int k = 0; k < cl[i].n && total < N_JOBS; k++)
            memcpy(all[total++], cl[i].ids[k], 33);
    }
    int sum = 0;
    for (int i = 0; i < N_THREADS; i++)
        sum += cl[i].n;
    ck_assert_int_eq(sum, N_JOBS);
    qsort(all, (size_t)total, 33, cmp_id);
    for (int i = 1; i < total; i++)
        ck_assert_msg(strcmp(all[i - 1], all[i]) != 0, "job %s claimed twice", all[i]);
    size_t q = 9, r = 0;
    ck_assert_int_eq(tgi_store_counts(f.ctx, f.s, &q, &r), 0);
    ck_assert_uint_eq(q, 0);
    ck_assert_uint_eq(r, N_JOBS);
    fx_close(&f);
}
END_TEST

START_TEST(progress_and_finish)
{
    fixture f = {0};
    fx_open(&f);
    char id[33], id2[33];
    add_job(&f, "a", NULL, id);
    add_job(&f, "b", NULL, id2);
    /* not running yet: progress and finish say "not running" */
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, id, "download", 10), 1);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, id, TG_JOB_DONE, "{}", NULL, NULL), 1);

    tgi_job j;
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, id, "analyze", 42.5), 0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_str_eq(j.stage, "analyze");
    ck_assert(j.percent == 42.5);
    ck_assert(j.updated >= j.created);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, id, "render", 250), 0); /* clamped */
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert(j.percent == 100);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, id, "a-very-long-stage-name", 1), TG_EINVAL);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, id, NULL, 1), TG_EINVAL);

    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, id, TG_JOB_RUNNING, NULL, NULL, NULL), TG_EINVAL);
    ck_assert_int_eq(
        tgi_store_finish(f.ctx, f.s, id, TG_JOB_DONE, "{\"gif\":\"a.gif\"}", NULL, NULL), 0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_DONE);
    ck_assert_str_eq(j.stage, "done");
    ck_assert(j.percent == 100);
    ck_assert_str_eq(j.result_json, "{\"gif\":\"a.gif\"}");
    ck_assert_ptr_null(j.err_code);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, id, TG_JOB_FAILED, NULL, "EIO", "x"), 1);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, id, "render", 5), 1);

    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, id2);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, id2, "download", 30), 0);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, id2, TG_JOB_FAILED, NULL, "EFORMAT",
                                      "not a recognised video file"),
                     0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id2, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_FAILED);
    ck_assert_str_eq(j.stage, "download"); /* where it failed */
    ck_assert_str_eq(j.err_code, "EFORMAT");
    ck_assert_str_eq(j.err_message, "not a recognised video file");
    ck_assert_ptr_null(j.result_json);
    tgi_job_clear(&j);
    fx_close(&f);
}
END_TEST

START_TEST(cancel_rules)
{
    fixture f = {0};
    fx_open(&f);
    char queued[33], running[33], done[33], failed[33];
    tgi_job j;

    /* queued → cancelled, then never claimed */
    add_job(&f, "q", NULL, queued);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, queued), 0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, queued, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_CANCELLED);
    ck_assert(j.updated >= j.created);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, queued), 1); /* already ended */
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 1);

    /* running → cancelled; the worker's late progress and finish lose */
    add_job(&f, "r", NULL, running);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, running);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, running), 0);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, running, "render", 50), 1);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, running, TG_JOB_DONE, "{}", NULL, NULL), 1);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, running, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_CANCELLED);
    ck_assert_ptr_null(j.result_json);
    tgi_job_clear(&j);

    /* done and failed stay as they are */
    add_job(&f, "d", NULL, done);
    add_job(&f, "f", NULL, failed);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, done, TG_JOB_DONE, "{}", NULL, NULL), 0);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, failed, TG_JOB_FAILED, NULL, "EIO", "x"), 0);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, done), 1);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, failed), 1);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, done, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_DONE);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, failed, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_FAILED);
    tgi_job_clear(&j);
    fx_close(&f);
}
END_TEST

/* Deleting: only an ended job goes, and comes back for its files to be removed; a
 * file's users are counted over every job (any state) that names it. */
START_TEST(delete_ended_and_count_users)
{
    fixture f = {0};
    fx_open(&f);
    char done[33], queued[33], other[33];
    tgi_job j;
    size_t vu = 9, ou = 9;

    add_job(&f, "d", "{\"a\":1}", done);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_set_source(f.ctx, f.s, done, "sha256-x", "videos/x.mp4"), 0);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, done, TG_JOB_DONE, "{}", NULL, NULL), 0);
    add_job(&f, "q", "{\"a\":1}", queued);
    ck_assert_int_eq(tgi_store_set_source(f.ctx, f.s, queued, "sha256-x", "videos/x.mp4"), 0);
    add_job(&f, "o", "{\"a\":2}", other);

    ck_assert_int_eq(tgi_store_users(f.ctx, f.s, "videos/x.mp4", "sha256-x", "{\"a\":1}", &vu, &ou),
                     0);
    ck_assert_uint_eq(vu, 2);
    ck_assert_uint_eq(ou, 2);
    ck_assert_int_eq(tgi_store_users(f.ctx, f.s, NULL, "sha256-x", NULL, &vu, &ou), 0);
    ck_assert_uint_eq(vu, 0);
    ck_assert_uint_eq(ou, 0);

    /* a queued job is not deleted */
    ck_assert_int_eq(tgi_store_delete_ended(f.ctx, f.s, queued, &j), 1);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, queued, &j), 0);
    tgi_job_clear(&j);
    /* the done one is, and comes back with where its files are */
    ck_assert_int_eq(tgi_store_delete_ended(f.ctx, f.s, done, &j), 0);
    ck_assert_str_eq(j.id, done);
    ck_assert_str_eq(j.video_path, "videos/x.mp4");
    ck_assert_int_eq(j.state, TG_JOB_DONE);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, done, &j), TG_ENOENT);
    ck_assert_int_eq(tgi_store_delete_ended(f.ctx, f.s, done, &j), TG_ENOENT);
    ck_assert_int_eq(tgi_store_users(f.ctx, f.s, "videos/x.mp4", "sha256-x", "{\"a\":1}", &vu, &ou),
                     0);
    ck_assert_uint_eq(vu, 1);
    ck_assert_uint_eq(ou, 1);
    fx_close(&f);
}
END_TEST

START_TEST(set_source_and_find_done)
{
    fixture f = {0};
    fx_open(&f);
    const char *opts = "{\"clips\":3}";
    tgi_job j;
    ck_assert_int_eq(tgi_store_find_done(f.ctx, f.s, "yt-dQw4w9WgXcQ", opts, &j), 1);

    char old[33], newer[33], other[33];
    add_job(&f, "a", opts, old);
    add_job(&f, "b", opts, newer);
    add_job(&f, "c", "{\"clips\":5}", other);
    const char *ids[3] = {old, newer, other};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
        ck_assert_str_eq(j.id, ids[i]);
        tgi_job_clear(&j);
        ck_assert_int_eq(tgi_store_set_source(f.ctx, f.s, ids[i], "yt-dQw4w9WgXcQ", NULL), 0);
        ck_assert_int_eq(tgi_store_set_source(f.ctx, f.s, ids[i], NULL, "videos/v.mp4"), 0);
    }
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, old, &j), 0);
    ck_assert_str_eq(j.content_id, "yt-dQw4w9WgXcQ"); /* NULL kept it */
    ck_assert_str_eq(j.video_path, "videos/v.mp4");
    tgi_job_clear(&j);

    /* running jobs do not count */
    ck_assert_int_eq(tgi_store_find_done(f.ctx, f.s, "yt-dQw4w9WgXcQ", opts, &j), 1);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, old, TG_JOB_DONE, "{\"n\":1}", NULL, NULL), 0);
    usleep(2000);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, other, TG_JOB_DONE, "{\"n\":3}", NULL, NULL), 0);
    ck_assert_int_eq(tgi_store_find_done(f.ctx, f.s, "yt-dQw4w9WgXcQ", opts, &j), 0);
    ck_assert_str_eq(j.id, old);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_finish(f.ctx, f.s, newer, TG_JOB_DONE, "{\"n\":2}", NULL, NULL), 0);
    ck_assert_int_eq(tgi_store_find_done(f.ctx, f.s, "yt-dQw4w9WgXcQ", opts, &j), 0);
    ck_assert_str_eq(j.id, newer); /* the newest */
    ck_assert_str_eq(j.result_json, "{\"n\":2}");
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_find_done(f.ctx, f.s, "yt-dQw4w9WgXcQ", "{\"clips\":5}", &j), 0);
    ck_assert_str_eq(j.id, other);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_find_done(f.ctx, f.s, "yt-other", opts, &j), 1);
    fx_close(&f);
}
END_TEST

START_TEST(reopen_keeps_data_and_recover_requeues)
{
    fixture f = {0};
    fx_open(&f);
    char a[33], b[33], c[33];
    add_job(&f, "a", NULL, a);
    add_job(&f, "b", NULL, b);
    add_job(&f, "c", NULL, c);
    tgi_job j;
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress(f.ctx, f.s, b, "analyze", 60), 0);
    ck_assert_int_eq(tgi_store_set_source(f.ctx, f.s, a, "sha256-00", "v/a.mp4"), 0);
    tgi_store_close(&f.s); /* "crash" with two running */

    ck_assert_int_eq(tgi_store_open(f.ctx, f.path, &f.s), 0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, a, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_RUNNING);
    ck_assert_str_eq(j.content_id, "sha256-00");
    ck_assert_str_eq(j.video_path, "v/a.mp4");
    tgi_job_clear(&j);
    size_t n = 0, q = 0, r = 0;
    ck_assert_int_eq(tgi_store_recover(f.ctx, f.s, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(tgi_store_recover(f.ctx, f.s, NULL), 0);
    ck_assert_int_eq(tgi_store_counts(f.ctx, f.s, &q, &r), 0);
    ck_assert_uint_eq(q, 3);
    ck_assert_uint_eq(r, 0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, b, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_QUEUED);
    ck_assert_str_eq(j.stage, "queued");
    ck_assert(j.percent == 0);
    tgi_job_clear(&j);
    /* resumed in their original order */
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, a);
    ck_assert_str_eq(j.video_path, "v/a.mp4");
    tgi_job_clear(&j);

    /* a second connection (another process would be the same) sees the same data */
    tgi_store *s2 = NULL;
    ck_assert_int_eq(tgi_store_open(f.ctx, f.path, &s2), 0);
    ck_assert_int_eq(tgi_store_claim(f.ctx, s2, &j), 0);
    ck_assert_str_eq(j.id, b);
    tgi_job_clear(&j);
    tgi_store_close(&s2);
    fx_close(&f);
}
END_TEST

START_TEST(open_errors)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_store *s = (tgi_store *)1;
    ck_assert_int_eq(tgi_store_open(ctx, "/nonexistent-dir/jobs.db", &s), TG_EIO);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "/nonexistent-dir/jobs.db"));
    ck_assert_int_eq(tgi_store_open(ctx, "", &s), TG_EINVAL);

    /* not a database */
    char *p = tgt_tmp_path(".db");
    FILE *fp = fopen(p, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is a text file, not an SQLite database\n", fp);
    fclose(fp);
    ck_assert_int_eq(tgi_store_open(ctx, p, &s), TG_ECORRUPT); /* damaged, as far as we know */
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(tg_ctx_message(ctx), "not a database"), "message: %s",
                  tg_ctx_message(ctx));
    remove_db(p);

    /* a schema from the future is refused, not altered */
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(p, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(tgi_store_open(ctx, p, &s), TG_EIO);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(tg_ctx_message(ctx), "99"));
    remove_db(p);
    free(p);
    tg_ctx_free(&ctx);
}
END_TEST

/* Issue 12 point 11: damaged pages are found at open (PRAGMA quick_check), not later. */
START_TEST(a_damaged_database_is_refused_at_open)
{
    fixture f;
    fx_open(&f);
    char id[33];
    for (int i = 0; i < 60; i++) {
        char src[64];
        snprintf(src, sizeof(src), "https://example.com/%d.mp4", i);
        add_job(&f, src, "{\"clips\":3,\"width\":480,\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxx\"}",
                id);
    }
    char *path = strdup(f.path);
    tgi_store_close(&f.s);
    FILE *fp = fopen(path, "r+b");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 4096, SEEK_SET); /* page 2: the jobs table's root */
    for (int i = 0; i < 16; i++)
        fputc(0xA5, fp);
    fclose(fp);
    tgi_store *s = NULL;
    ck_assert_int_eq(tgi_store_open(f.ctx, path, &s), TG_ECORRUPT);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(tg_ctx_message(f.ctx), "damaged") && !strchr(tg_ctx_message(f.ctx), '\n'),
                  "message: %s", tg_ctx_message(f.ctx));
    free(path);
    fx_close(&f);
}
END_TEST

/* Issue 12 point 9: an equal queued or running job is joined, not copied. */
START_TEST(create_or_join_joins_an_equal_active_job)
{
    fixture f;
    fx_open(&f);
    tgi_job a = {0}, b = {0}, c = {0};
    a.source_kind = strdup("upload");
    a.source = strdup("a.mp4");
    a.content_id = strdup("sha256-00");
    a.options_json = strdup("{\"clips\":3}");
    ck_assert_int_eq(tgi_store_create_or_join(f.ctx, f.s, &a), 0);
    b.source_kind = strdup("upload");
    b.source = strdup("b.mp4");
    b.content_id = strdup("sha256-00");
    b.options_json = strdup("{\"clips\":3}");
    ck_assert_int_eq(tgi_store_create_or_join(f.ctx, f.s, &b), 1);
    ck_assert_str_eq(b.id, a.id);
    ck_assert_str_eq(b.source, "a.mp4"); /* the joined job as it is */
    /* other options, or the first one ended: a new job */
    c.source_kind = strdup("upload");
    c.source = strdup("c.mp4");
    c.content_id = strdup("sha256-00");
    c.options_json = strdup("{\"clips\":4}");
    ck_assert_int_eq(tgi_store_create_or_join(f.ctx, f.s, &c), 0);
    ck_assert_str_ne(c.id, a.id);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, a.id), 0);
    tgi_job_clear(&b);
    b.source_kind = strdup("upload");
    b.source = strdup("b.mp4");
    b.content_id = strdup("sha256-00");
    b.options_json = strdup("{\"clips\":3}");
    ck_assert_int_eq(tgi_store_create_or_join(f.ctx, f.s, &b), 0);
    ck_assert_str_ne(b.id, a.id);
    /* links without a content id join by URL */
    tgi_job u1 = {0}, u2 = {0};
    u1.source_kind = strdup("url");
    u1.source = strdup("https://example.com/v.mp4");
    u1.options_json = strdup("{}");
    u2.source_kind = strdup("url");
    u2.source = strdup("https://example.com/v.mp4");
    u2.options_json = strdup("{}");
    ck_assert_int_eq(tgi_store_create_or_join(f.ctx, f.s, &u1), 0);
    ck_assert_int_eq(tgi_store_create_or_join(f.ctx, f.s, &u2), 1);
    ck_assert_str_eq(u1.id, u2.id);
    tgi_job_clear(&a);
    tgi_job_clear(&b);
    tgi_job_clear(&c);
    tgi_job_clear(&u1);
    tgi_job_clear(&u2);
    fx_close(&f);
}
END_TEST

/* ---- claims with leases (issue 13): the same cases on both backends ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static tgi_store *open_more(fixture *f, const char *worker, int lease_ms)
{
    tgi_store *s = NULL;
    ck_assert_msg(tgi_store_open(f->ctx, f->path, &s) == 0, "open: %s", tg_ctx_message(f->ctx));
    tgi_store_conf c = {.worker = worker, .lease_ms = lease_ms};
    tgi_store_configure(s, &c);
    return s;
}

START_TEST(a_claim_records_attempt_worker_and_lease)
{
    fixture f = {0};
    fx_open(&f);
    tgi_store_conf c = {.worker = "box-1:42", .lease_ms = 10000};
    tgi_store_configure(f.s, &c);
    char id[33];
    add_job(&f, "a", NULL, id);
    tgi_job j;
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.attempt, 0);
    ck_assert_int_eq(j.max_attempts, 3);
    ck_assert_int_eq(j.lease_until, 0);
    tgi_job_clear(&j);
    int64_t t0 = now_ms();
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, id);
    ck_assert_int_eq(j.attempt, 1);
    ck_assert_str_eq(j.worker, "box-1:42");
    ck_assert_msg(j.lease_until >= t0 + 9000 && j.lease_until <= now_ms() + 11000,
                  "lease until %lld, now %lld", (long long)j.lease_until, (long long)t0);
    tgi_job_clear(&j);
    /* read back the same */
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.attempt, 1);
    ck_assert_str_eq(j.worker, "box-1:42");
    tgi_job_clear(&j);
    fx_close(&f);
}
END_TEST

START_TEST(stale_attempts_change_nothing)
{
    fixture f = {0};
    fx_open(&f);
    /* a back-off long enough that no stall of a loaded machine between the reap and the
     * checks below can reach it (60 ms flaked at load 20) */
    tgi_store_conf c = {.worker = "old", .lease_ms = 40, .backoff_ms = 1000};
    tgi_store_configure(f.s, &c);
    char id[33];
    add_job(&f, "a", NULL, id);
    tgi_job j;
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_int_eq(j.attempt, 1);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress_at(f.ctx, f.s, id, 1, "analyze", 10), 0);
    usleep(120 * 1000); /* the old worker stalls past its lease */
    size_t rq = 9, fl = 9;
    ck_assert_int_eq(tgi_store_reap(f.ctx, f.s, &rq, &fl), 0);
    ck_assert_uint_eq(rq, 1);
    ck_assert_uint_eq(fl, 0);
    /* another worker takes it, after the back-off */
    tgi_store *s2 = open_more(&f, "new", 10000);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_QUEUED);
    ck_assert_int_eq(j.lost, 1);
    ck_assert_msg(j.run_at > now_ms(), "a back-off before the next attempt");
    int64_t wait = j.run_at - now_ms();
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_claim(f.ctx, s2, &j), 1); /* not before run_at */
    usleep((useconds_t)(wait + 20) * 1000);
    ck_assert_int_eq(tgi_store_claim(f.ctx, s2, &j), 0);
    ck_assert_int_eq(j.attempt, 2);
    ck_assert_str_eq(j.worker, "new");
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress_at(f.ctx, s2, id, 2, "render", 50), 0);

    /* the old worker wakes up: every write of attempt 1 matches nothing */
    ck_assert_int_eq(tgi_store_progress_at(f.ctx, f.s, id, 1, "analyze", 99), 1);
    ck_assert_int_eq(tgi_store_set_source_at(f.ctx, f.s, id, 1, "sha256-bad", "videos/bad.mp4"), 1);
    ck_assert_int_eq(tgi_store_requeue_at(f.ctx, f.s, id, 1, "analyze"), 1);
    ck_assert_int_eq(tgi_store_heartbeat(f.ctx, f.s, id, 1), 1);
    ck_assert_int_eq(tgi_store_handback(f.ctx, f.s, id, 1), 1);
    ck_assert_int_eq(tgi_store_finish_at(f.ctx, f.s, id, 1, TG_JOB_FAILED, NULL, "EIO", "late"), 1);
    ck_assert_int_eq(
        tgi_store_finish_at(f.ctx, f.s, id, 1, TG_JOB_DONE, "{\"stale\":1}", NULL, NULL), 1);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_RUNNING);
    ck_assert_int_eq(j.attempt, 2);
    ck_assert_str_eq(j.stage, "render");
    ck_assert(j.percent == 50);
    ck_assert_ptr_null(j.content_id);
    ck_assert_ptr_null(j.video_path);
    ck_assert_ptr_null(j.result_json);
    tgi_job_clear(&j);
    /* the current attempt's writes count */
    ck_assert_int_eq(tgi_store_set_source_at(f.ctx, s2, id, 2, "sha256-ok", "videos/ok.mp4"), 0);
    ck_assert_int_eq(tgi_store_finish_at(f.ctx, s2, id, 2, TG_JOB_DONE, "{\"ok\":1}", NULL, NULL),
                     0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_DONE);
    ck_assert_str_eq(j.result_json, "{\"ok\":1}");
    ck_assert_str_eq(j.content_id, "sha256-ok");
    ck_assert_int_eq(j.lease_until, 0);
    tgi_job_clear(&j);
    /* unknown ids are still ENOENT */
    ck_assert_int_eq(
        tgi_store_progress_at(f.ctx, s2, "ffffffffffffffffffffffffffffffff", 1, "x", 1), TG_ENOENT);
    tgi_store_close(&s2);
    fx_close(&f);
}
END_TEST

START_TEST(lost_leases_back_off_then_dead_letter)
{
    fixture f = {0};
    fx_open(&f);
    /* margins of half a second or more: a loaded machine stalls a process for 100s of ms */
    tgi_store_conf c = {.lease_ms = 30, .max_attempts = 2, .backoff_ms = 600};
    tgi_store_configure(f.s, &c);
    char id[33];
    add_job(&f, "a", NULL, id);
    tgi_job j;
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    tgi_job_clear(&j);
    size_t rq = 0, fl = 0;
    ck_assert_int_eq(tgi_store_reap(f.ctx, f.s, &rq, &fl), 0); /* lease still valid */
    ck_assert_uint_eq(rq + fl, 0);
    usleep(80 * 1000);
    int64_t t = now_ms();
    ck_assert_int_eq(tgi_store_reap(f.ctx, f.s, &rq, &fl), 0);
    ck_assert_uint_eq(rq, 1);
    ck_assert_uint_eq(fl, 0);
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_QUEUED);
    ck_assert_int_eq(j.lost, 1);
    ck_assert_msg(j.run_at >= t + 550 && j.run_at <= t + 1600, "run_at %lld - now = %lld",
                  (long long)j.run_at, (long long)(j.run_at - t));
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 1); /* backing off */
    usleep(1700 * 1000);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_int_eq(j.attempt, 2);
    tgi_job_clear(&j);
    usleep(80 * 1000);
    ck_assert_int_eq(tgi_store_reap(f.ctx, f.s, &rq, &fl), 0);
    ck_assert_uint_eq(rq, 0);
    ck_assert_uint_eq(fl, 1);
    /* the dead letter: failed, with the reason, and never claimed again */
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_FAILED);
    ck_assert_int_eq(j.lost, 2);
    ck_assert_str_eq(j.err_code, "EINTERNAL");
    ck_assert_ptr_nonnull(strstr(j.err_message, "worker stopped answering"));
    tgi_job_clear(&j);
    usleep(50 * 1000);
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 1);
    ck_assert_int_eq(tgi_store_reap(f.ctx, f.s, &rq, &fl), 0);
    ck_assert_uint_eq(rq + fl, 0);
    fx_close(&f);
}
END_TEST

START_TEST(heartbeats_keep_the_lease)
{
    fixture f = {0};
    fx_open(&f);
    tgi_store_conf c = {.lease_ms = 600}; /* a stall of up to 500 ms between beats is fine */
    tgi_store_configure(f.s, &c);
    char id[33];
    add_job(&f, "a", NULL, id);
    tgi_job j;
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    int attempt = j.attempt;
    tgi_job_clear(&j);
    size_t rq = 0, fl = 0;
    for (int i = 0; i < 12; i++) { /* 1.2 s in all, twice the lease */
        usleep(100 * 1000);
        ck_assert_int_eq(tgi_store_heartbeat(f.ctx, f.s, id, attempt), 0);
        ck_assert_int_eq(tgi_store_reap(f.ctx, f.s, &rq, &fl), 0);
        ck_assert_uint_eq(rq + fl, 0);
    }
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_RUNNING);
    ck_assert_int_eq(j.attempt, attempt);
    tgi_job_clear(&j);
    /* a cancelled job's heartbeat says "not yours any more" */
    ck_assert_int_eq(tgi_store_cancel(f.ctx, f.s, id), 0);
    ck_assert_int_eq(tgi_store_heartbeat(f.ctx, f.s, id, attempt), 1);
    ck_assert_int_eq(tgi_store_progress_at(f.ctx, f.s, id, attempt, "render", 5), 1);
    fx_close(&f);
}
END_TEST

START_TEST(handback_requeues_without_counting_a_loss)
{
    fixture f = {0};
    fx_open(&f);
    char a[33], b[33];
    add_job(&f, "a", NULL, a);
    usleep(2000);
    add_job(&f, "b", NULL, b);
    tgi_job j;
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, a);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_progress_at(f.ctx, f.s, a, 1, "analyze", 40), 0);
    ck_assert_int_eq(tgi_store_handback(f.ctx, f.s, a, 1), 0);
    ck_assert_int_eq(tgi_store_handback(f.ctx, f.s, a, 1), 1); /* not ours any more */
    ck_assert_int_eq(tgi_store_get(f.ctx, f.s, a, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_QUEUED);
    ck_assert_int_eq(j.lost, 0);
    ck_assert_int_eq(j.lease_until, 0);
    tgi_job_clear(&j);
    /* first in line again, at once */
    ck_assert_int_eq(tgi_store_claim(f.ctx, f.s, &j), 0);
    ck_assert_str_eq(j.id, a);
    ck_assert_int_eq(j.attempt, 2);
    tgi_job_clear(&j);
    fx_close(&f);
}
END_TEST

START_TEST(downloads_and_processing_are_claimed_apart)
{
    fixture f = {0};
    fx_open(&f);
    char link[33], up[33];
    add_job(&f, "https://example.com/v.mp4", NULL, link);
    tgi_job u = {0};
    u.source_kind = (char *)"upload";
    u.source = (char *)"v.mp4";
    u.options_json = (char *)"{}";
    u.content_id = (char *)"sha256-11";
    u.video_path = (char *)"videos/sha256-11.mp4";
    ck_assert_int_eq(tgi_store_create(f.ctx, f.s, &u), 0);
    memcpy(up, u.id, 33);
    tgi_job j;
    ck_assert_int_eq(tgi_store_claim_kind(f.ctx, f.s, 0, &j), 0);
    ck_assert_str_eq(j.id, up);
    tgi_job_clear(&j);
    ck_assert_int_eq(tgi_store_claim_kind(f.ctx, f.s, 0, &j), 1);
    ck_assert_int_eq(tgi_store_claim_kind(f.ctx, f.s, 1, &j), 0);
    ck_assert_str_eq(j.id, link);
    int attempt = j.attempt;
    tgi_job_clear(&j);
    /* the download done: the job goes to the processing queue */
    ck_assert_int_eq(
        tgi_store_set_source_at(f.ctx, f.s, link, attempt, "sha256-22", "videos/sha256-22.mp4"), 0);
    ck_assert_int_eq(tgi_store_requeue_at(f.ctx, f.s, link, attempt, "analyze"), 0);
    ck_assert_int_eq(tgi_store_claim_kind(f.ctx, f.s, 1, &j), 1);
    ck_assert_int_eq(tgi_store_claim_kind(f.ctx, f.s, 0, &j), 0);
    ck_assert_str_eq(j.id, link);
    ck_assert_int_eq(j.attempt, attempt + 1);
    ck_assert_str_eq(j.stage, "analyze");
    tgi_job_clear(&j);
    fx_close(&f);
}
END_TEST

/* Claimers on separate handles (separate connections: as separate processes). */
typedef struct hclaimer {
    const char *spec;
    int n, errors;
    char ids[N_JOBS][33];
} hclaimer;

static void *hclaim_loop(void *arg)
{
    hclaimer *c = arg;
    tg_ctx *ctx = tg_ctx_new();
    tgi_store *s = NULL;
    if (tgi_store_open(ctx, c->spec, &s) != 0) {
        c->errors++;
        tg_ctx_free(&ctx);
        return NULL;
    }
    for (;;) {
        tgi_job j;
        int rc = tgi_store_claim(ctx, s, &j);
        if (rc == 1)
            break;
        if (rc != 0 || c->n >= N_JOBS) {
            c->errors++;
            break;
        }
        memcpy(c->ids[c->n++], j.id, 33);
        if (tgi_store_finish_at(ctx, s, j.id, j.attempt, TG_JOB_DONE, "{}", NULL, NULL) != 0)
            c->errors++;
        tgi_job_clear(&j);
    }
    tgi_store_close(&s);
    tg_ctx_free(&ctx);
    return NULL;
}

START_TEST(claimers_on_separate_connections_never_share_a_job)
{
    fixture f = {0};
    fx_open(&f);
    for (int i = 0; i < N_JOBS; i++) {
        char id[33];
        add_job(&f, "x", NULL, id);
    }
    static hclaimer cl[N_THREADS];
    pthread_t th[N_THREADS];
    memset(cl, 0, sizeof(cl));
    for (int i = 0; i < N_THREADS; i++) {
        cl[i].spec = f.path;
        ck_assert_int_eq(pthread_create(&th[i], NULL, hclaim_loop, &cl[i]), 0);
    }
    static char all[N_JOBS][33];
    int total = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(cl[i].errors, 0);
        for (int k = 0; k < cl[i].n && total < N_JOBS; k++)
            memcpy(all[total++], cl[i].ids[k], 33);
    }
    ck_assert_int_eq(total, N_JOBS);
    qsort(all, (size_t)total, 33, cmp_id);
    for (int i = 1; i < total; i++)
        ck_assert_msg(strcmp(all[i - 1], all[i]) != 0, "job %s claimed twice", all[i]);
    size_t q = 9, r = 9;
    ck_assert_int_eq(tgi_store_counts(f.ctx, f.s, &q, &r), 0);
    ck_assert_uint_eq(q + r, 0);
    fx_close(&f);
}
END_TEST

START_TEST(the_backend_follows_the_spec)
{
    fixture f = {0};
    fx_open(&f);
    ck_assert_str_eq(tgi_store_backend(f.s), g_pg ? "postgres" : "sqlite");
    ck_assert_int_eq(tgi_store_is_shared(f.s), g_pg);
    ck_assert_int_eq(tgi_store_spec_is_postgres(f.path), g_pg);
    if (!g_pg) { /* "sqlite:PATH" is the same database */
        char spec[4200];
        snprintf(spec, sizeof(spec), "sqlite:%s", f.path);
        char id[33];
        add_job(&f, "a", NULL, id);
        tgi_store *s2 = NULL;
        ck_assert_int_eq(tgi_store_open(f.ctx, spec, &s2), 0);
        tgi_job j;
        ck_assert_int_eq(tgi_store_get(f.ctx, s2, id, &j), 0);
        tgi_job_clear(&j);
        tgi_store_close(&s2);
    }
    fx_close(&f);
}
END_TEST

/* ---- PostgreSQL only ---- */

typedef struct heard {
    pthread_mutex_t mu;
    char ids[64][33];
    int states[64];
    int n;
} heard;

static void on_change(void *user, const char *id, int state)
{
    heard *h = user;
    pthread_mutex_lock(&h->mu);
    if (h->n < 64) {
        snprintf(h->ids[h->n], 33, "%s", id);
        h->states[h->n++] = state;
    }
    pthread_mutex_unlock(&h->mu);
}

/* Wait up to 3 s for a change of id to state; 1 when heard. */
static int wait_heard(heard *h, const char *id, int state)
{
    for (int t = 0; t < 300; t++) {
        pthread_mutex_lock(&h->mu);
        int found = 0;
        for (int i = 0; i < h->n; i++)
            if (!strcmp(h->ids[i], id) && h->states[i] == state)
                found = 1;
        pthread_mutex_unlock(&h->mu);
        if (found)
            return 1;
        usleep(10 * 1000);
    }
    return 0;
}

START_TEST(pg_changes_elsewhere_are_heard)
{
    fixture f = {0};
    fx_open(&f);
    static heard h;
    memset(&h, 0, sizeof(h));
    pthread_mutex_init(&h.mu, NULL);
    ck_assert_msg(tgi_store_subscribe(f.ctx, f.s, TG_STORE_HEAR_ALL, on_change, &h) == 0,
                  "subscribe: %s", tg_ctx_message(f.ctx));
    ck_assert_int_eq(tgi_store_subscribe(f.ctx, f.s, TG_STORE_HEAR_ALL, on_change, &h),
                     TG_EINVAL);                  /* once */
    tgi_store *other = open_more(&f, "w", 10000); /* another process, in effect */
    tgi_job j = {0};
    j.source_kind = (char *)"url";
    j.source = (char *)"https://example.com/a.mp4";
    j.options_json = (char *)"{}";
    ck_assert_int_eq(tgi_store_create(f.ctx, other, &j), 0);
    ck_assert_msg(wait_heard(&h, j.id, TG_JOB_QUEUED), "the new job was not heard");
    tgi_job c;
    pthread_mutex_lock(&h.mu);
    int before = h.n;
    pthread_mutex_unlock(&h.mu);
    /* claims and heartbeats are silent (a NOTIFY would serialise the queue's commits) */
    ck_assert_int_eq(tgi_store_claim(f.ctx, other, &c), 0);
    ck_assert_int_eq(tgi_store_heartbeat(f.ctx, other, c.id, c.attempt), 0);
    ck_assert_int_eq(tgi_store_progress_at(f.ctx, other, c.id, c.attempt, "analyze", 30), 0);
    ck_assert_int_eq(
        tgi_store_finish_at(f.ctx, other, c.id, c.attempt, TG_JOB_DONE, "{}", NULL, NULL), 0);
    ck_assert_msg(wait_heard(&h, j.id, TG_JOB_DONE), "the end was not heard");
    pthread_mutex_lock(&h.mu);
    int after = h.n;
    pthread_mutex_unlock(&h.mu);
    ck_assert_int_eq(after - before, 2); /* progress and done only */
    /* a cancel and a job handed back are heard too */
    tgi_job k = {0};
    k.source_kind = (char *)"url";
    k.source = (char *)"https://example.com/b.mp4";
    k.options_json = (char *)"{}";
    ck_assert_int_eq(tgi_store_create(f.ctx, other, &k), 0);
    tgi_job c2;
    ck_assert_int_eq(tgi_store_claim(f.ctx, other, &c2), 0);
    ck_assert_int_eq(tgi_store_handback(f.ctx, other, c2.id, c2.attempt), 0);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, other, k.id), 0);
    ck_assert_msg(wait_heard(&h, k.id, TG_JOB_CANCELLED), "the cancel was not heard");
    pthread_mutex_lock(&h.mu);
    int queued_twice = 0;
    for (int i = 0; i < h.n; i++)
        queued_twice += !strcmp(h.ids[i], k.id) && h.states[i] == TG_JOB_QUEUED;
    pthread_mutex_unlock(&h.mu);
    ck_assert_int_eq(queued_twice, 2); /* created, then handed back */
    tgi_job_clear(&c2);
    tgi_job_clear(&c);
    tgi_store_close(&other);
    fx_close(&f); /* stops the listener */
    pthread_mutex_destroy(&h.mu);
}
END_TEST

START_TEST(pg_workers_hear_only_queued_and_cancelled_jobs)
{
    fixture f = {0};
    fx_open(&f);
    static heard h;
    memset(&h, 0, sizeof(h));
    pthread_mutex_init(&h.mu, NULL);
    ck_assert_int_eq(tgi_store_subscribe(f.ctx, f.s, TG_STORE_HEAR_WORK, on_change, &h), 0);
    tgi_store *other = open_more(&f, "w", 10000);
    char a[33], b[33];
    tgi_job j = {0};
    j.source_kind = (char *)"url";
    j.source = (char *)"https://example.com/a.mp4";
    j.options_json = (char *)"{}";
    ck_assert_int_eq(tgi_store_create(f.ctx, other, &j), 0);
    memcpy(a, j.id, 33);
    ck_assert_msg(wait_heard(&h, a, TG_JOB_QUEUED), "a new job did not wake the worker");
    tgi_job c;
    ck_assert_int_eq(tgi_store_claim(f.ctx, other, &c), 0);
    ck_assert_int_eq(tgi_store_progress_at(f.ctx, other, a, c.attempt, "analyze", 10), 0);
    ck_assert_int_eq(tgi_store_finish_at(f.ctx, other, a, c.attempt, TG_JOB_DONE, "{}", NULL, NULL),
                     0);
    tgi_job_clear(&c);
    j.source = (char *)"https://example.com/b.mp4";
    ck_assert_int_eq(tgi_store_create(f.ctx, other, &j), 0);
    memcpy(b, j.id, 33);
    ck_assert_int_eq(tgi_store_cancel(f.ctx, other, b), 0);
    ck_assert_msg(wait_heard(&h, b, TG_JOB_CANCELLED), "a cancel did not reach the worker");
    pthread_mutex_lock(&h.mu);
    for (int i = 0; i < h.n; i++)
        ck_assert_msg(h.states[i] != TG_JOB_RUNNING && h.states[i] != TG_JOB_DONE,
                      "a worker heard state %d of %s", h.states[i], h.ids[i]);
    pthread_mutex_unlock(&h.mu);
    tgi_store_close(&other);
    fx_close(&f);
    pthread_mutex_destroy(&h.mu);
}
END_TEST

START_TEST(pg_connection_errors_are_one_sentence)
{
    tg_ctx *ctx = tg_ctx_new();
    tgi_store *s = (tgi_store *)1;
    ck_assert_int_eq(
        tgi_store_open(ctx, "postgresql:///nodb?host=/nonexistent-socket-dir&connect_timeout=2",
                       &s),
        TG_EIO);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(tg_ctx_message(ctx), "cannot connect to PostgreSQL") &&
                      !strchr(tg_ctx_message(ctx), '\n'),
                  "message: %s", tg_ctx_message(ctx));
    tg_ctx_free(&ctx);
}
END_TEST

static void add_common(TCase *tc)
{
    tcase_add_test(tc, create_and_get_round_trip);
    tcase_add_test(tc, create_validates_and_unknown_ids_are_enoent);
    tcase_add_test(tc, list_is_newest_first_with_pages);
    tcase_add_test(tc, claim_takes_the_oldest_queued);
    tcase_add_test(tc, concurrent_claims_never_share_a_job);
    tcase_add_test(tc, progress_and_finish);
    tcase_add_test(tc, cancel_rules);
    tcase_add_test(tc, set_source_and_find_done);
    tcase_add_test(tc, delete_ended_and_count_users);
    tcase_add_test(tc, create_or_join_joins_an_equal_active_job);
    tcase_add_test(tc, a_claim_records_attempt_worker_and_lease);
    tcase_add_test(tc, stale_attempts_change_nothing);
    tcase_add_test(tc, lost_leases_back_off_then_dead_letter);
    tcase_add_test(tc, heartbeats_keep_the_lease);
    tcase_add_test(tc, handback_requeues_without_counting_a_loss);
    tcase_add_test(tc, downloads_and_processing_are_claimed_apart);
    tcase_add_test(tc, claimers_on_separate_connections_never_share_a_job);
    tcase_add_test(tc, the_backend_follows_the_spec);
}

Suite *suite_store(void);
Suite *suite_store(void)
{
    Suite *s = suite_create("store");
    TCase *sq = tcase_create("sqlite");
    tcase_add_unchecked_fixture(sq, use_sqlite, NULL);
    add_common(sq);
    tcase_add_test(sq, reopen_keeps_data_and_recover_requeues);
    tcase_add_test(sq, open_errors);
    tcase_add_test(sq, a_damaged_database_is_refused_at_open);
    suite_add_tcase(s, sq);
    TCase *pg = tcase_create("postgres");
    tcase_add_unchecked_fixture(pg, use_pg, NULL);
    tcase_set_timeout(pg, 60);
    add_common(pg);
    tcase_add_test(pg, pg_changes_elsewhere_are_heard);
    tcase_add_test(pg, pg_workers_hear_only_queued_and_cancelled_jobs);
    tcase_add_test(pg, pg_connection_errors_are_one_sentence);
    suite_add_tcase(s, pg);
    return s;
}
