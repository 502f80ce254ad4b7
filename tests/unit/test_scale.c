/*
 * test_scale.c — many processes, one queue (issue 13): `thumbgen serve` API processes
 * and `thumbgen worker` processes sharing a PostgreSQL store (the throw-away cluster
 * of scripts/pg-test, a fresh schema per test) and a data folder. Each job done
 * exactly once by three workers; a worker killed with SIGKILL mid-analysis, its job
 * taken over after the lease and its late writes fenced off; a cancel on one API
 * process reaching the worker; progress streamed by another API process; a drained
 * worker handing its job back. Traffic goes to 127.0.0.1 and a Unix socket only.
 */
#include <check.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libavformat/avformat.h>
#include <libavutil/log.h>
#include <webp/demux.h>

#include "http.h"
#include "pgtest.h"
#include "store/store.h"
#include "util.h"

extern char **environ;

static char *new_pg_spec(void)
{
    char why[512];
    char *spec = tgt_pg_store(why, sizeof(why));
    ck_assert_msg(spec != NULL, "%s", why);
    return spec;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* How much slower this build runs (make check sets CK_TIMEOUT_MULTIPLIER=4). */
static double slowdown(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    double x = m ? strtod(m, NULL) : 1;
    return x >= 1 ? x : 1;
}

/* An API process on the shared store: no workers of its own. */
static void start_api(tgt_server *s, const char *data, const char *spec)
{
    ck_assert_int_eq(tgt_server_start(s, data, "--store", spec, "--workers", "0", "--downloaders",
                                      "0", "--allow-private-urls", "--ytdlp-update", "never",
                                      "--heartbeat", "0.5", "--lease", "2", NULL),
                     0);
}

/* `thumbgen worker` with n_proc analyse/render threads and n_dl downloaders, a 2 s
 * lease renewed every 0.5 s; stderr to log (or /dev/null). */
static pid_t start_worker(const char *spec, const char *data, const char *n_proc, const char *n_dl,
                          const char *log)
{
    char *argv[] = {(char *)tgt_bin(),
                    "worker",
                    "--store",
                    (char *)spec,
                    "--data",
                    (char *)data,
                    "--workers",
                    (char *)n_proc,
                    "--downloaders",
                    (char *)n_dl,
                    "--lease",
                    "2",
                    "--heartbeat",
                    "0.5",
                    "--allow-private-urls",
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log ? log : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid = 0;
    ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* SIGTERM (drain) and wait; the exit status, or -1 after 20 s (then SIGKILL). */
static int stop_worker(pid_t pid)
{
    int st = 0;
    kill(pid, SIGTERM);
    for (int i = 0; i < 400; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* POST an upload with options (NULL-terminated name, value pairs); the job id. */
static char *upload_opts(tgt_server *s, const char *file, ...)
{
    const char *kv[16] = {0};
    va_list ap;
    va_start(ap, file);
    int n = 0;
    for (const char *a = va_arg(ap, const char *); a && n < 14; a = va_arg(ap, const char *))
        kv[n++] = a;
    va_end(ap);
    size_t len;
    char *ct, *body = tgt_multipart(file, "clip.mp4", &len, &ct, kv[0], kv[1], kv[2], kv[3], kv[4],
                                    kv[5], kv[6], kv[7], kv[8], kv[9], kv[10], kv[11], NULL);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "POST", "/api/jobs", ct, body, len, &r), 0);
    free(body);
    free(ct);
    ck_assert_msg(r.status == 202, "upload: %d %s", r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    char *id = strdup(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    tgt_resp_free(&r);
    return id;
}

/* POST a link job; the job id. */
static char *post_link(tgt_server *s, const char *url, const char *options)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"url\":\"%s\",\"options\":%s}", url, options);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "POST", "/api/jobs", "Content-Type: application/json\r\n",
                              body, strlen(body), &r),
                     0);
    ck_assert_msg(r.status == 202, "link: %d %s", r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    char *id = strdup(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    tgt_resp_free(&r);
    return id;
}

/* Wait (reading the store) until job id is in state, or abort after seconds. */
static void wait_job(tgi_store *st, const char *id, int state, const char *stage, double seconds,
                     tgi_job *out)
{
    double t0 = now_s();
    tgi_job j = {0};
    for (;;) {
        ck_assert_int_eq(tgi_store_get(NULL, st, id, &j), 0);
        if (j.state == state && (!stage || !strcmp(j.stage, stage)))
            break;
        ck_assert_msg(j.state == TG_JOB_QUEUED || j.state == TG_JOB_RUNNING,
                      "job ended %s (%s): %s", tgi_job_state_name(j.state), j.stage,
                      j.err_message ? j.err_message : "");
        ck_assert_msg(now_s() - t0 < seconds, "job still %s/%s after %.0f s",
                      tgi_job_state_name(j.state), j.stage, seconds);
        tgi_job_clear(&j);
        usleep(50 * 1000);
    }
    if (out)
        *out = j;
    else
        tgi_job_clear(&j);
}

/* The file of a /media/thumbnails/NAME URL in data. */
static char *media_file(const char *data, const char *url)
{
    const char *name = strrchr(url, '/');
    ck_assert_ptr_nonnull(name);
    size_t n = strlen(data) + strlen(name) + 16;
    char *p = malloc(n);
    snprintf(p, n, "%s/thumbnails%s", data, name);
    return p;
}

/* libavformat opens the file and finds a decodable video stream. */
static int av_decodes(const char *path)
{
    av_log_set_level(AV_LOG_QUIET);
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path, NULL, NULL) < 0)
        return 0;
    int ok = avformat_find_stream_info(fc, NULL) >= 0 &&
             av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0) >= 0;
    avformat_close_input(&fc);
    return ok;
}

/* libwebp decodes every frame of the animated WebP. */
static int webp_decodes(const char *path)
{
    size_t len = 0;
    char *bytes = tgt_read_file(path, &len);
    if (!bytes)
        return 0;
    WebPData wd = {(const uint8_t *)bytes, len};
    WebPAnimDecoderOptions opt;
    WebPAnimDecoderOptionsInit(&opt);
    WebPAnimDecoder *dec = WebPAnimDecoderNew(&wd, &opt);
    int frames = 0, ok = dec != NULL;
    while (ok && WebPAnimDecoderHasMoreFrames(dec)) {
        uint8_t *buf;
        int ts;
        ok = WebPAnimDecoderGetNext(dec, &buf, &ts);
        frames += ok;
    }
    WebPAnimDecoderDelete(dec);
    free(bytes);
    return ok && frames > 0;
}

/* Every output of a done job is there and decodes. */
static void assert_outputs(const char *data, const tgi_job *j)
{
    json_t *res = json_loads(j->result_json, 0, NULL);
    ck_assert_ptr_nonnull(res);
    char *gif = media_file(data, json_string_value(json_object_get(res, "gif")));
    tgt_gif g;
    ck_assert_msg(tgt_gif_load(gif, &g) == 0, "%s does not decode", gif);
    ck_assert_int_ge(g.frames, 1);
    tgt_gif_free(&g);
    free(gif);
    char *webp = media_file(data, json_string_value(json_object_get(res, "webp")));
    ck_assert_msg(webp_decodes(webp), "%s does not decode", webp);
    free(webp);
    const char *keys[2] = {"mp4", "poster"};
    for (int k = 0; k < 2; k++) {
        char *f = media_file(data, json_string_value(json_object_get(res, keys[k])));
        ck_assert_msg(av_decodes(f), "%s does not decode", f);
        free(f);
    }
    json_decref(res);
}

#define N_UPLOADS 54
#define N_LINKS   6

START_TEST(three_workers_do_each_of_60_jobs_once)
{
    char *spec = new_pg_spec();
    char *data = tgt_tmp_path(".data");
    tgt_server api;
    start_api(&api, data, spec);
    pid_t w[3];
    for (int i = 0; i < 3; i++)
        w[i] = start_worker(spec, data, "2", "1", NULL);
    tgi_store *st = NULL;
    ck_assert_int_eq(tgi_store_open(NULL, spec, &st), 0);

    /* distinct options, so that no job joins or reuses another: each is rendered */
    static char *ids[N_UPLOADS + N_LINKS];
    const char *fixtures[3] = {"short.mp4", "rotated.mp4", "anamorphic.mp4"};
    double t0 = now_s();
    for (int i = 0; i < N_UPLOADS; i++) {
        char width[16];
        snprintf(width, sizeof(width), "%d", 48 + i);
        ids[i] = upload_opts(&api, tgt_fixture(fixtures[i % 3]), "width", width, "cnn", "none",
                             "clips", "1", "fps", "6", "keyframes", "1", NULL);
    }
    /* links to a video this very API process serves, fetched by the workers' yt-dlp */
    tgi_job first;
    wait_job(st, ids[0], TG_JOB_DONE, NULL, 60, &first);
    json_t *res = json_loads(first.result_json, 0, NULL);
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", api.port,
             json_string_value(json_object_get(res, "source_video")));
    json_decref(res);
    tgi_job_clear(&first);
    for (int i = 0; i < N_LINKS; i++) {
        char opts[200];
        snprintf(opts, sizeof(opts),
                 "{\"width\":%d,\"cnn\":\"none\",\"clips\":1,\"fps\":6,\"keyframes\":1}", 200 + i);
        ids[N_UPLOADS + i] = post_link(&api, url, opts);
    }
    for (;;) {
        size_t q = 0, r = 0;
        ck_assert_int_eq(tgi_store_counts(NULL, st, &q, &r), 0);
        if (q + r == 0)
            break;
        ck_assert_msg(now_s() - t0 < 180, "%zu queued and %zu running after 180 s", q, r);
        usleep(200 * 1000);
    }
    double took = now_s() - t0;

    /* each done exactly once: one claim per upload, two per link (download, then
     * processing), no lease lost; every output decodes */
    char workers_seen[3][64] = {{0}};
    int n_seen = 0;
    for (int i = 0; i < N_UPLOADS + N_LINKS; i++) {
        tgi_job j;
        ck_assert_int_eq(tgi_store_get(NULL, st, ids[i], &j), 0);
        ck_assert_msg(j.state == TG_JOB_DONE, "job %d: %s %s", i, tgi_job_state_name(j.state),
                      j.err_message ? j.err_message : "");
        ck_assert_int_eq(j.attempt, i < N_UPLOADS ? 1 : 2);
        ck_assert_int_eq(j.lost, 0);
        int known = 0;
        for (int k = 0; k < n_seen; k++)
            known |= !strcmp(workers_seen[k], j.worker);
        if (!known && n_seen < 3)
            snprintf(workers_seen[n_seen++], 64, "%s", j.worker);
        assert_outputs(data, &j);
        tgi_job_clear(&j);
        free(ids[i]);
    }
    ck_assert_msg(n_seen >= 2, "the jobs were not shared out (%d worker)", n_seen);
    /* and one rendering per job: as many GIFs as jobs */
    char cmd_dir[4200];
    snprintf(cmd_dir, sizeof(cmd_dir), "%s/thumbnails", data);
    int gifs = 0;
    char *argv[] = {"/bin/ls", cmd_dir, NULL};
    tgt_run run;
    ck_assert_int_eq(tgt_run_cmd(&run, argv), 0);
    for (char *p = run.out; (p = strstr(p, ".gif\n")); p++)
        gifs++;
    tgt_run_free(&run);
    ck_assert_int_eq(gifs, N_UPLOADS + N_LINKS);
    fprintf(stderr, "scale: %d jobs on 3 workers in %.1f s\n", N_UPLOADS + N_LINKS, took);

    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(stop_worker(w[i]), 0);
    ck_assert_int_eq(tgt_server_stop(&api), 0);
    tgi_store_close(&st);
    free(api.data);
    free(data);
    free(spec);
}
END_TEST

START_TEST(a_killed_worker_s_job_is_taken_over_and_its_late_writes_lose)
{
    char *spec = new_pg_spec();
    char *data = tgt_tmp_path(".data");
    tgt_server api;
    start_api(&api, data, spec);
    tgi_store *st = NULL;
    ck_assert_int_eq(tgi_store_open(NULL, spec, &st), 0);
    pid_t a = start_worker(spec, data, "1", "0", NULL);
    char *id =
        upload_opts(&api, tgt_fixture("story.mp4"), "width", "96", "clips", "1", "fps", "6", NULL);
    tgi_job j;
    wait_job(st, id, TG_JOB_RUNNING, "analyze", 60, &j);
    ck_assert_int_eq(j.attempt, 1);
    char a_name[64];
    snprintf(a_name, sizeof(a_name), "%s", j.worker);
    tgi_job_clear(&j);
    kill(a, SIGKILL); /* in the middle of the analysis */
    int status;
    waitpid(a, &status, 0);
    pid_t b = start_worker(spec, data, "1", "0", NULL);
    wait_job(st, id, TG_JOB_DONE, NULL, 90, &j);
    ck_assert_int_eq(j.attempt, 2);
    ck_assert_int_eq(j.lost, 1);
    ck_assert_str_ne(j.worker, a_name);
    char b_suffix[16];
    snprintf(b_suffix, sizeof(b_suffix), ":%d", (int)b);
    ck_assert_msg(strstr(j.worker, b_suffix), "done by %s, not worker %d", j.worker, (int)b);
    assert_outputs(data, &j);
    char *result = strdup(j.result_json);
    tgi_job_clear(&j);

    /* the killed worker's late writes (its attempt, 1) change nothing */
    ck_assert_int_eq(tgi_store_progress_at(NULL, st, id, 1, "render", 10), 1);
    ck_assert_int_eq(tgi_store_set_source_at(NULL, st, id, 1, "sha256-late", "videos/late.mp4"), 1);
    ck_assert_int_eq(tgi_store_finish_at(NULL, st, id, 1, TG_JOB_FAILED, NULL, "EIO", "late"), 1);
    ck_assert_int_eq(tgi_store_finish_at(NULL, st, id, 1, TG_JOB_DONE, "{}", NULL, NULL), 1);
    ck_assert_int_eq(tgi_store_get(NULL, st, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_DONE);
    ck_assert_str_eq(j.result_json, result);
    ck_assert_ptr_null(strstr(j.content_id, "late"));
    tgi_job_clear(&j);
    /* the API shows it done */
    char path[96];
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(api.port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "\"state\":\"done\""));
    tgt_resp_free(&r);
    free(result);
    free(id);
    ck_assert_int_eq(stop_worker(b), 0);
    ck_assert_int_eq(tgt_server_stop(&api), 0);
    tgi_store_close(&st);
    free(api.data);
    free(data);
    free(spec);
}
END_TEST

START_TEST(progress_streams_on_another_api_process_and_cancel_reaches_the_worker)
{
    char *spec = new_pg_spec();
    char *data = tgt_tmp_path(".data");
    tgt_server a, b;
    start_api(&a, data, spec);
    start_api(&b, data, spec);
    tgi_store *st = NULL;
    ck_assert_int_eq(tgi_store_open(NULL, spec, &st), 0);
    pid_t w = start_worker(spec, data, "1", "0", NULL);

    /* a job submitted to A, run by the worker, streamed by B */
    char *id = upload_opts(&a, tgt_fixture("letterbox.mp4"), "width", "96", "clips", "2", NULL);
    char path[128];
    snprintf(path, sizeof(path), "/api/jobs/%s/events", id);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(b.port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    int progress = 0, analyze = 0, render = 0;
    for (char *p = r.body; (p = strstr(p, "event: progress\ndata: ")); p++) {
        progress++;
        char *line_end = strchr(p + 22, '\n');
        if (line_end) {
            *line_end = '\0';
            analyze |= strstr(p, "\"analyze\"") != NULL;
            render |= strstr(p, "\"render\"") != NULL;
            *line_end = '\n';
        }
    }
    ck_assert_msg(progress >= 3 && analyze && render, "B streamed %d progress events: %s", progress,
                  r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "event: done"));
    tgt_resp_free(&r);
    free(id);

    /* a long job runs on the worker; a second one waits behind it (one thread) */
    char *slow = upload_opts(&a, tgt_fixture("story.mp4"), "width", "96", NULL);
    wait_job(st, slow, TG_JOB_RUNNING, "analyze", 60, NULL);
    char *next = upload_opts(&a, tgt_fixture("short.mp4"), "width", "64", "cnn", "none", NULL);
    usleep(300 * 1000);
    tgi_job j;
    ck_assert_int_eq(tgi_store_get(NULL, st, next, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_QUEUED);
    tgi_job_clear(&j);
    /* cancelled through B: the worker (started apart from both) drops it within a
     * second and takes the next job */
    snprintf(path, sizeof(path), "/api/jobs/%s", slow);
    ck_assert_int_eq(tgt_http(b.port, "DELETE", path, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tgt_resp_free(&r);
    double t0 = now_s();
    wait_job(st, next, TG_JOB_RUNNING, NULL, 5, NULL);
    double took = now_s() - t0;
    /* within a second (longer only under the sanitizers' CK_TIMEOUT_MULTIPLIER) */
    ck_assert_msg(took < 1.0 * slowdown(), "the worker took %.2f s to drop the cancelled job",
                  took);
    ck_assert_int_eq(tgi_store_get(NULL, st, slow, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_CANCELLED);
    tgi_job_clear(&j);
    wait_job(st, next, TG_JOB_DONE, NULL, 60, NULL);
    free(slow);
    free(next);
    ck_assert_int_eq(stop_worker(w), 0);
    ck_assert_int_eq(tgt_server_stop(&a), 0);
    ck_assert_int_eq(tgt_server_stop(&b), 0);
    tgi_store_close(&st);
    free(a.data);
    free(b.data);
    free(data);
    free(spec);
}
END_TEST

START_TEST(a_drained_worker_hands_its_job_back)
{
    char *spec = new_pg_spec();
    char *data = tgt_tmp_path(".data");
    tgt_server api;
    start_api(&api, data, spec);
    tgi_store *st = NULL;
    ck_assert_int_eq(tgi_store_open(NULL, spec, &st), 0);
    pid_t a = start_worker(spec, data, "1", "0", NULL);
    char *id = upload_opts(&api, tgt_fixture("story.mp4"), "width", "96", "clips", "1", NULL);
    wait_job(st, id, TG_JOB_RUNNING, "analyze", 60, NULL);
    double t0 = now_s();
    ck_assert_int_eq(stop_worker(a), 0); /* SIGTERM */
    ck_assert_msg(now_s() - t0 < 5 * slowdown(), "draining took %.1f s", now_s() - t0);
    tgi_job j;
    ck_assert_int_eq(tgi_store_get(NULL, st, id, &j), 0);
    ck_assert_int_eq(j.state, TG_JOB_QUEUED); /* at once, not after the lease */
    ck_assert_int_eq(j.lost, 0);
    tgi_job_clear(&j);
    pid_t b = start_worker(spec, data, "1", "0", NULL);
    wait_job(st, id, TG_JOB_DONE, NULL, 90, &j);
    ck_assert_int_eq(j.attempt, 2);
    assert_outputs(data, &j);
    tgi_job_clear(&j);
    free(id);
    ck_assert_int_eq(stop_worker(b), 0);
    ck_assert_int_eq(tgt_server_stop(&api), 0);
    tgi_store_close(&st);
    free(api.data);
    free(data);
    free(spec);
}
END_TEST

START_TEST(a_worker_needs_a_shared_store)
{
    tgt_run r;
    char *data = tgt_tmp_path(".data");
    ck_assert_int_eq(tgt_thumbgen(&r, "worker", "--data", data, "--store", "sqlite:x.db", NULL), 0);
    ck_assert_int_eq(r.status, 2);
    ck_assert_ptr_nonnull(strstr(r.err, "needs a shared store"));
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_thumbgen(&r, "worker", "--store", "postgresql:///x?host=/nonexistent-dir",
                                  "--data", data, NULL),
                     0);
    ck_assert_int_eq(r.status, 1);
    ck_assert_msg(strstr(r.err, "cannot connect to PostgreSQL") && !strstr(r.err, "\n\n"), "%s",
                  r.err);
    tgt_run_free(&r);
    free(data);
}
END_TEST

Suite *suite_scale(void);
Suite *suite_scale(void)
{
    Suite *s = suite_create("scale");
    TCase *tc = tcase_create("postgres");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, a_worker_needs_a_shared_store);
    tcase_add_test(tc, progress_streams_on_another_api_process_and_cancel_reaches_the_worker);
    tcase_add_test(tc, a_killed_worker_s_job_is_taken_over_and_its_late_writes_lose);
    tcase_add_test(tc, a_drained_worker_hands_its_job_back);
    tcase_add_test(tc, three_workers_do_each_of_60_jobs_once);
    suite_add_tcase(s, tc);
    return s;
}
