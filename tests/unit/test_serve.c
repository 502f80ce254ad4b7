/*
 * test_serve.c — the web server's API against a real `thumbgen serve` child on a
 * free loopback port: the job life cycle (upload, and a direct link fetched by the
 * real yt-dlp from the server itself), the cache, events in order, Range requests,
 * every error status, cancellation, restart with a job in flight, concurrent jobs
 * and path tricks. Traffic goes to 127.0.0.1 only.
 */
#include <check.h>
#include <fcntl.h>
#include <spawn.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#include "http.h"
#include "thumbgen.h"
#include "util.h"

static json_t *body_json(const tgt_resp *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    ck_assert_msg(j != NULL, "not JSON (%d): %.200s", r->status, r->body);
    return j;
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* POST an upload; returns the job id (malloc'd) and the status in *status */
static char *upload(tgt_server *s, const char *file, int *status, const char *k, const char *v)
{
    size_t len;
    char *ct, *body = tgt_multipart(file, "my video (1).mp4", &len, &ct, k, v, NULL);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "POST", "/api/jobs", ct, body, len, &r), 0);
    free(body);
    free(ct);
    *status = r.status;
    char *id = NULL;
    if (r.status == 200 || r.status == 202) {
        json_t *j = body_json(&r);
        id = strdup(str(j, "id"));
        json_decref(j);
    }
    tgt_resp_free(&r);
    return id;
}

static json_t *get_job(tgt_server *s, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    tgt_resp_free(&r);
    return j;
}

static json_t *wait_state(tgt_server *s, const char *id, const char *state, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        json_t *j = get_job(s, id);
        const char *st = str(j, "state");
        if (!strcmp(st, state))
            return j;
        if (strcmp(st, "queued") && strcmp(st, "running"))
            ck_abort_msg("job %s ended %s, not %s: %s", id, st, state,
                         json_dumps(json_object_get(j, "error"), 0));
        json_decref(j);
        usleep(100 * 1000);
    }
    ck_abort_msg("job %s not %s after %d s", id, state, seconds);
    return NULL;
}

static int status_of(tgt_server *s, const char *method, const char *path, const char *hdr,
                     const char *body)
{
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, method, path, hdr, body, body ? strlen(body) : 0, &r), 0);
    int st = r.status;
    if (st >= 400) { /* every error is {"error":{code,message}} */
        json_t *j = body_json(&r);
        json_t *e = json_object_get(j, "error");
        ck_assert_msg(json_is_string(json_object_get(e, "message")), "%s", r.body);
        ck_assert_msg(json_is_string(json_object_get(e, "code")), "%s", r.body);
        json_decref(j);
    }
    tgt_resp_free(&r);
    return st;
}

START_TEST(upload_life_cycle_cache_and_ranges)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--workers", "2", "--allow-private-urls", NULL), 0);
    int st;
    char *id = upload(&s, tgt_fixture("letterbox.mp4"), &st, "clips", "2");
    ck_assert_int_eq(st, 202);
    ck_assert_int_eq((int)strlen(id), 32);
    json_t *j = wait_state(&s, id, "done", 120);
    json_t *res = json_object_get(j, "result");
    ck_assert_int_eq(
        (int)json_integer_value(json_object_get(json_object_get(j, "options"), "clips")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(res, "plan"), "segments")), 2);
    ck_assert_str_eq(str(json_object_get(j, "source"), "name"), "my video (1).mp4");
    /* the outputs are served, named by content id */
    const char *gif = str(res, "gif"), *video = str(res, "video");
    ck_assert_ptr_nonnull(strstr(gif, "/media/thumbnails/sha256-"));
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", gif, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert(r.len > 1000 && !memcmp(r.body, "GIF89a", 6));
    char *ctype = tgt_header(&r, "Content-Type");
    ck_assert_str_eq(ctype, "image/gif");
    free(ctype);
    tgt_resp_free(&r);
    ck_assert_int_eq(status_of(&s, "GET", str(res, "poster"), NULL, NULL), 200);
    /* the WebP and the MP4 are made and served too */
    static const char *kinds[][2] = {{"webp", "image/webp"}, {"mp4", "video/mp4"}};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(tgt_http(s.port, "GET", str(res, kinds[k][0]), NULL, NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        char *t = tgt_header(&r, "Content-Type");
        ck_assert_str_eq(t, kinds[k][1]);
        free(t);
        ck_assert(r.len > 1000);
        tgt_resp_free(&r);
    }
    /* Range: 206 with the right bytes, suffix ranges, 416 beyond the end */
    long size = tgt_file_size(tgt_fixture("letterbox.mp4"));
    ck_assert_int_eq(tgt_http(s.port, "GET", video, "Range: bytes=0-99\r\n", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 206);
    ck_assert_int_eq((int)r.len, 100);
    char *cr = tgt_header(&r, "Content-Range"), want[64];
    snprintf(want, sizeof(want), "bytes 0-99/%ld", size);
    ck_assert_str_eq(cr, want);
    free(cr);
    char *orig = tgt_read_file(tgt_fixture("letterbox.mp4"), NULL);
    ck_assert(!memcmp(r.body, orig, 100));
    tgt_resp_free(&r);
    ck_assert_int_eq(tgt_http(s.port, "GET", video, "Range: bytes=-500\r\n", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 206);
    ck_assert_int_eq((int)r.len, 500);
    ck_assert(!memcmp(r.body, orig + size - 500, 500));
    tgt_resp_free(&r);
    free(orig);
    ck_assert_int_eq(tgt_http(s.port, "GET", video, "Range: bytes=999999999-\r\n", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 416);
    cr = tgt_header(&r, "Content-Range");
    snprintf(want, sizeof(want), "bytes */%ld", size);
    ck_assert_str_eq(cr, want);
    free(cr);
    tgt_resp_free(&r);
    ck_assert_int_eq(tgt_http(s.port, "GET", video, NULL, NULL, 0, &r), 0);
    char *ar = tgt_header(&r, "Accept-Ranges");
    ck_assert_str_eq(ar, "bytes");
    ck_assert_int_eq((long)r.len, size);
    free(ar);
    tgt_resp_free(&r);

    /* the same video with the same options: the finished result at once */
    char *id2 = upload(&s, tgt_fixture("letterbox.mp4"), &st, "clips", "2");
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(id2, id);
    free(id2);
    /* other options: a new job */
    id2 = upload(&s, tgt_fixture("letterbox.mp4"), &st, "clips", "1");
    ck_assert_int_eq(st, 202);
    ck_assert_str_ne(id2, id);
    json_decref(wait_state(&s, id2, "done", 120));
    /* history, newest first */
    ck_assert_int_eq(tgt_http(s.port, "GET", "/api/jobs?limit=1", NULL, NULL, 0, &r), 0);
    json_t *l = body_json(&r);
    ck_assert_int_eq((int)json_integer_value(json_object_get(l, "total")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(l, "jobs")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(l, "jobs"), 0), "id"), id2);
    json_decref(l);
    tgt_resp_free(&r);
    /* (DELETE of a finished job deletes it: edit_retry_delete_and_the_option_table) */

    /* a direct link, downloaded by the real yt-dlp (from this very server) */
    char body[512];
    snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d%s\",\"options\":{\"clips\":1}}",
             s.port, video);
    ck_assert_int_eq(tgt_http(s.port, "POST", "/api/jobs", "Content-Type: application/json\r\n",
                              body, strlen(body), &r),
                     0);
    /* the same content was already done with clips=1: cached after the download, or new */
    ck_assert_msg(r.status == 202, "%d %s", r.status, r.body);
    json_t *uj = body_json(&r);
    char *uid = strdup(str(uj, "id"));
    json_decref(uj);
    tgt_resp_free(&r);
    json_t *done = wait_state(&s, uid, "done", 120);
    /* same content as the upload: the same files */
    json_t *other = get_job(&s, id2);
    ck_assert_str_eq(str(json_object_get(done, "result"), "gif"),
                     str(json_object_get(other, "result"), "gif"));
    json_decref(other);
    json_decref(done);
    free(uid);
    json_decref(j);
    free(id);
    free(id2);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

START_TEST(events_arrive_in_order)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, NULL), 0);
    int st;
    char *id = upload(&s, tgt_fixture("story.mp4"), &st, "width", "320");
    ck_assert_int_eq(st, 202);
    char path[128];
    snprintf(path, sizeof(path), "/api/jobs/%s/events", id);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *ct = tgt_header(&r, "Content-Type");
    ck_assert_str_eq(ct, "text/event-stream");
    free(ct);
    static const char *order[] = {"queued", "analyze", "select", "render", "done"};
    int at = 0, progress = 0, render_steps = 0;
    double last_pct = -1;
    char *p = r.body;
    char last_event[32] = "";
    while ((p = strstr(p, "event: "))) {
        char ev[32], data[8192];
        ck_assert_int_eq(sscanf(p, "event: %31s\ndata: %8191[^\n]", ev, data), 2);
        snprintf(last_event, sizeof(last_event), "%s", ev);
        json_t *d = json_loads(data, 0, NULL);
        ck_assert_ptr_nonnull(d);
        if (!strcmp(ev, "progress")) {
            progress++;
            const char *stage = str(d, "stage");
            int k = at;
            while (k < 5 && strcmp(order[k], stage))
                k++;
            ck_assert_msg(k < 5, "stage %s out of order (after %s)", stage, order[at]);
            double pct = json_number_value(json_object_get(d, "percent"));
            if (k == at)
                ck_assert_msg(pct >= last_pct, "percent went back in %s", stage);
            /* the render stage moves through the encoding: several steps, each higher */
            if (!strcmp(stage, "render") && pct > 0 && pct < 100) {
                ck_assert_msg(k != at || pct > last_pct, "render stayed at %.1f %%", pct);
                render_steps++;
            }
            at = k;
            last_pct = pct;
        }
        json_decref(d);
        p += 7;
    }
    ck_assert_str_eq(last_event, "done");
    ck_assert_int_ge(progress, 4);
    ck_assert_msg(render_steps >= 3, "%d progress events inside the render stage", render_steps);
    tgt_resp_free(&r);
    free(id);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

START_TEST(errors_have_the_right_status)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--max-upload", "200k", NULL), 0);
    const char *js = "Content-Type: application/json\r\n";
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js, "{}"), 400);
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js, "not json"), 400);
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js,
                               "{\"url\":\"https://example.com/v.mp4\",\"options\":{\"width\":0}}"),
                     400);
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js,
                               "{\"url\":\"https://example.com/v.mp4\",\"options\":{\"nope\":1}}"),
                     400);
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js, "{\"url\":\"ftp://example.com/v\"}"),
                     422);
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js, "{\"url\":\"file:///etc/passwd\"}"),
                     422);
    /* private addresses are refused without --allow-private-urls, whatever the spelling */
    static const char *private[] = {"http://127.0.0.1:1/x.mp4",      "http://localhost/x.mp4",
                                    "http://2130706433/x.mp4",       "http://0x7f000001/x.mp4",
                                    "http://169.254.169.254/latest", "http://[::1]/x.mp4",
                                    "http://10.1.2.3/x.mp4",         "http://[::ffff:127.0.0.1]/x"};
    /* … including this very server, a real one listening on loopback */
    char self[128], selfbody[256];
    snprintf(self, sizeof(self), "http://127.0.0.1:%d/healthz", s.port);
    snprintf(selfbody, sizeof(selfbody), "{\"url\":\"%s\"}", self);
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js, selfbody), 422);
    for (size_t i = 0; i < sizeof(private) / sizeof(private[0]); i++) {
        char b[256];
        snprintf(b, sizeof(b), "{\"url\":\"%s\"}", private[i]);
        ck_assert_msg(status_of(&s, "POST", "/api/jobs", js, b) == 422, "%s accepted", private[i]);
    }
    /* uploads: not a video (by content, whatever the name), too large, no file */
    int st;
    char *id = upload(&s, tgt_fixture("text.mp4"), &st, NULL, NULL);
    ck_assert_int_eq(st, 415);
    free(id);
    id = upload(&s, tgt_fixture("letterbox.mp4"), &st, NULL, NULL); /* 300 kB > 200k */
    ck_assert_int_eq(st, 413);
    free(id);
    id = upload(&s, NULL, &st, "clips", "2");
    ck_assert_int_eq(st, 400);
    free(id);
    /* unknown things */
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs/0123456789abcdef0123456789abcdef", NULL, NULL),
                     404);
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs/../../etc/passwd", NULL, NULL), 404);
    ck_assert_int_eq(
        status_of(&s, "DELETE", "/api/jobs/0123456789abcdef0123456789abcdef", NULL, NULL), 404);
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs?limit=1000", NULL, NULL), 400);
    ck_assert_int_eq(status_of(&s, "GET", "/nope", NULL, NULL), 404);
    /* path tricks never leave the folders */
    static const char *tricks[] = {"/media/videos/../thumbgen.db",
                                   "/media/videos/..%2fthumbgen.db",
                                   "/static/../src/cli/main.c",
                                   "/static/.hidden",
                                   "/media/thumbnails/%2e%2e/thumbgen.db",
                                   "/media/videos/"};
    for (size_t i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++)
        ck_assert_msg(status_of(&s, "GET", tricks[i], NULL, NULL) == 404, "%s served", tricks[i]);
    ck_assert_int_eq(status_of(&s, "GET", "/", NULL, NULL) == 200 ||
                         status_of(&s, "GET", "/", NULL, NULL) == 404,
                     1);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

START_TEST(cancel_restart_and_concurrency)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--workers", "1", NULL), 0);
    int st;
    /* one worker: the first job runs, the second waits; cancel the waiting one */
    char *a = upload(&s, tgt_fixture("long.mp4"), &st, "analysis", "full");
    ck_assert_int_eq(st, 202);
    char *b = upload(&s, tgt_fixture("story.mp4"), &st, NULL, NULL);
    ck_assert_int_eq(st, 202);
    char path[128];
    snprintf(path, sizeof(path), "/api/jobs/%s", b);
    ck_assert_int_eq(status_of(&s, "DELETE", path, NULL, NULL), 200);
    json_t *j = get_job(&s, b);
    ck_assert_str_eq(str(j, "state"), "cancelled");
    json_decref(j);
    /* stop while the first runs: it must come back after a restart, not stay "running" */
    json_decref(wait_state(&s, a, "running", 30));
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    tgt_server s2;
    ck_assert_int_eq(tgt_server_start(&s2, s.data, "--workers", "2", NULL), 0);
    json_decref(wait_state(&s2, a, "done", 180));
    j = get_job(&s2, b);
    ck_assert_str_eq(str(j, "state"), "cancelled");
    json_decref(j);
    /* a running job can be cancelled too, and its events end with ECANCEL */
    char *c = upload(&s2, tgt_fixture("long.mp4"), &st, "clips", "4");
    ck_assert_int_eq(st, 202);
    json_decref(wait_state(&s2, c, "running", 30));
    snprintf(path, sizeof(path), "/api/jobs/%s", c);
    ck_assert_int_eq(status_of(&s2, "DELETE", path, NULL, NULL), 200);
    snprintf(path, sizeof(path), "/api/jobs/%s/events", c);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s2.port, "GET", path, NULL, NULL, 0, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "event: error"));
    ck_assert_ptr_nonnull(strstr(r.body, "ECANCEL"));
    tgt_resp_free(&r);
    /* a stopping server answers 503 to new requests before it closes */
    kill(s2.pid, SIGTERM);
    int saw503 = 0;
    for (int i = 0; i < 2000 && !saw503; i++) {
        tgt_resp hr;
        if (tgt_http(s2.port, "GET", "/healthz", NULL, NULL, 0, &hr) != 0)
            break; /* closed */
        saw503 = hr.status == 503 && strstr(hr.body, "EUNAVAILABLE");
        tgt_resp_free(&hr);
    }
    ck_assert_msg(saw503, "no 503 while stopping");
    ck_assert_int_eq(tgt_server_stop(&s2), 0);
    free(s2.data);
    ck_assert_int_eq(tgt_server_start(&s2, s.data, "--workers", "2", NULL), 0);
    /* concurrent jobs all finish */
    char *ids[3];
    static const char *widths[] = {"200", "240", "280"};
    for (int i = 0; i < 3; i++) {
        ids[i] = upload(&s2, tgt_fixture("letterbox.mp4"), &st, "width", widths[i]);
        ck_assert_int_eq(st, 202);
    }
    for (int i = 0; i < 3; i++) {
        json_decref(wait_state(&s2, ids[i], "done", 120));
        free(ids[i]);
    }
    ck_assert_int_eq(tgt_server_stop(&s2), 0);
    free(a);
    free(b);
    free(c);
    free(s.data);
    free(s2.data);
}
END_TEST

START_TEST(a_full_queue_answers_429)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--workers", "1", "--max-queue", "1", NULL), 0);
    int st;
    char *a = upload(&s, tgt_fixture("long.mp4"), &st, "analysis", "full");
    ck_assert_int_eq(st, 202);
    json_decref(wait_state(&s, a, "running", 30));
    char *b = upload(&s, tgt_fixture("story.mp4"), &st, NULL, NULL); /* waits: 1 queued */
    ck_assert_int_eq(st, 202);
    char *c = upload(&s, tgt_fixture("letterbox.mp4"), &st, NULL, NULL);
    ck_assert_int_eq(st, 429);
    ck_assert_ptr_null(c);
    /* the refused upload left no file behind: only the two accepted videos are kept */
    char videos[512], tmp[512];
    snprintf(videos, sizeof(videos), "%s/videos", s.data);
    snprintf(tmp, sizeof(tmp), "%s/tmp", s.data);
    char *argv[] = {"/usr/bin/find", videos, tmp, "-type", "f", NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    int files = 0;
    for (const char *p = r.out; (p = strchr(p, '\n')); p++)
        files++;
    ck_assert_msg(files == 2, "files kept: %s", r.out);
    tgt_run_free(&r);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(a);
    free(b);
    free(s.data);
}
END_TEST

/* ---- access: Host, Origin, security headers, token ---- */

static long jobs_total(tgt_server *s, const char *hdr)
{
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "GET", "/api/jobs?limit=1", hdr, NULL, 0, &r), 0);
    ck_assert_msg(r.status == 200, "GET /api/jobs: %d %s", r.status, r.body);
    json_t *j = body_json(&r);
    long n = (long)json_integer_value(json_object_get(j, "total"));
    json_decref(j);
    tgt_resp_free(&r);
    return n;
}

static void assert_header(const tgt_resp *r, const char *name, const char *want)
{
    char *v = tgt_header(r, name);
    ck_assert_msg(v && strstr(v, want), "%s: '%s', want '%s'", name, v ? v : "(none)", want);
    free(v);
}

static void put_file(const char *dir, const char *name, const char *text, time_t mtime)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The page's files: NAME.gz (made by `make web`) to a browser that takes gzip, as long as
 * it is not older than NAME; an ETag, and 304 to a request that has it. */
START_TEST(page_files_gzipped_and_revalidated)
{
    char *web = tgt_tmp_path(".web");
    ck_assert_int_eq(mkdir(web, 0755), 0);
    put_file(web, "a.js", "var plain = 1;\n", 1000);
    put_file(web, "a.js.gz", "GZIPPED", 2000);
    put_file(web, "b.css", "p { color: red }\n", 3000);
    put_file(web, "b.css.gz", "STALE", 2000); /* older than b.css: b.css is edited */
    put_file(web, "c.webp", "RIFF....WEBP", 1000);
    put_file(web, "c.webp.gz", "NOT-FOR-IMAGES", 2000);
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--web", web, NULL), 0);
    tgt_resp r;
    const char *gz = "Accept-Encoding: br, gzip, deflate\r\n";
    ck_assert_int_eq(tgt_http(s.port, "GET", "/static/a.js", gz, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "GZIPPED");
    assert_header(&r, "Content-Encoding", "gzip");
    assert_header(&r, "Content-Type", "text/javascript");
    assert_header(&r, "Vary", "Accept-Encoding");
    assert_header(&r, "Cache-Control", "no-cache");
    char *etag = tgt_header(&r, "ETag");
    ck_assert_msg(etag && etag[0] == '"', "ETag %s", etag ? etag : "(none)");
    tgt_resp_free(&r);
    /* no gzip, or gzip refused (q=0): the file as it is, with the same validator */
    const char *no[3] = {NULL, "Accept-Encoding: identity\r\n",
                         "Accept-Encoding: gzip;q=0, br\r\n"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tgt_http(s.port, "GET", "/static/a.js", no[i], NULL, 0, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(r.body, "var plain = 1;\n");
        char *ce = tgt_header(&r, "Content-Encoding");
        ck_assert_msg(!ce, "Content-Encoding %s for '%s'", ce, no[i] ? no[i] : "");
        char *e2 = tgt_header(&r, "ETag");
        ck_assert_str_eq(e2, etag);
        free(e2);
        tgt_resp_free(&r);
    }
    /* gzip;q=0.5 is a yes */
    ck_assert_int_eq(
        tgt_http(s.port, "GET", "/static/a.js", "Accept-Encoding: gzip;q=0.5\r\n", NULL, 0, &r), 0);
    ck_assert_str_eq(r.body, "GZIPPED");
    tgt_resp_free(&r);
    /* revalidation: 304 without a body */
    char inm[200];
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n%s", etag, gz);
    ck_assert_int_eq(tgt_http(s.port, "GET", "/static/a.js", inm, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 304);
    ck_assert_uint_eq(r.len, 0);
    tgt_resp_free(&r);
    ck_assert_int_eq(
        tgt_http(s.port, "GET", "/static/a.js", "If-None-Match: \"0-0\"\r\n", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tgt_resp_free(&r);
    /* a .gz older than its file is not sent; nor for an image; nor for a Range */
    ck_assert_int_eq(tgt_http(s.port, "GET", "/static/b.css", gz, NULL, 0, &r), 0);
    ck_assert_str_eq(r.body, "p { color: red }\n");
    tgt_resp_free(&r);
    ck_assert_int_eq(tgt_http(s.port, "GET", "/static/c.webp", gz, NULL, 0, &r), 0);
    ck_assert_str_eq(r.body, "RIFF....WEBP");
    tgt_resp_free(&r);
    ck_assert_int_eq(tgt_http(s.port, "GET", "/static/a.js",
                              "Accept-Encoding: gzip\r\nRange: bytes=0-2\r\n", NULL, 0, &r),
                     0);
    ck_assert_int_eq(r.status, 206);
    ck_assert_str_eq(r.body, "var");
    tgt_resp_free(&r);
    /* the .gz itself is no way around the names the server serves */
    ck_assert_int_eq(status_of(&s, "GET", "/static/a.js.gz/", NULL, NULL), 404);
    free(etag);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
    free(web);
}
END_TEST

START_TEST(access_refuses_other_sites_and_hosts)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--public-host", "thumbs.example", NULL), 0);
    /* the page and every answer carry the security headers */
    const char *pages[] = {"/", "/static/app.js", "/api/jobs", "/healthz", "/api/jobs/nope"};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        tgt_resp r;
        ck_assert_int_eq(tgt_http(s.port, "GET", pages[i], NULL, NULL, 0, &r), 0);
        assert_header(&r, "Content-Security-Policy", "default-src 'self'");
        assert_header(&r, "Content-Security-Policy", "script-src 'self';");
        assert_header(&r, "Content-Security-Policy", "frame-ancestors 'none'");
        char *csp = tgt_header(&r, "Content-Security-Policy");
        ck_assert_msg(!strstr(csp, "unsafe-inline") && !strstr(csp, "unsafe-eval"), "%s", csp);
        free(csp);
        assert_header(&r, "X-Frame-Options", "DENY");
        assert_header(&r, "X-Content-Type-Options", "nosniff");
        assert_header(&r, "Referrer-Policy", "no-referrer");
        tgt_resp_free(&r);
    }
    /* the page needs no inline script: every <script> has a src under /static/ */
    tgt_resp pg;
    ck_assert_int_eq(tgt_http(s.port, "GET", "/", NULL, NULL, 0, &pg), 0);
    for (const char *p = strstr(pg.body, "<script"); p; p = strstr(p + 1, "<script"))
        ck_assert_msg(!strncmp(p, "<script src=\"/static/", 20), "%.60s", p);
    ck_assert_ptr_null(strstr(pg.body, " style=\""));
    /* a server without a token does not mark the page (web/early.js leaves localStorage alone) */
    ck_assert_ptr_null(strstr(pg.body, "data-token"));
    tgt_resp_free(&pg);

    /* Host: the listening address (any spelling of loopback) or a --public-host name */
    char h[160];
    const char *good[] = {"127.0.0.1:%d", "localhost:%d",   "LOCALHOST:%d",
                          "[::1]:%d",     "thumbs.example", "thumbs.example:443"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char hv[64];
        snprintf(hv, sizeof(hv), good[i], s.port);
        snprintf(h, sizeof(h), "Host: %s\r\n", hv);
        ck_assert_msg(status_of(&s, "GET", "/api/jobs", h, NULL) == 200, "%s refused", hv);
    }
    const char *bad[] = {"evil.example:%d", "evil.example", "127.0.0.1:%d1", "127.0.0.1",
                         "localhost.evil.example:%d", "thumbs.example.evil:%d", "10.0.0.1:%d",
                         "[::1", "127.0.0.1:%d:1", "",
                         /* found by fuzz/fuzz_host.c: not the form a browser sends */
                         "localhost:0%d", "[thumbs.example]", "[localhost]:%d", "127.0.0.1:+%d",
                         "127.0.0.1: %d"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char hv[64];
        snprintf(hv, sizeof(hv), bad[i], s.port);
        snprintf(h, sizeof(h), "Host: %s\r\n", hv);
        ck_assert_msg(status_of(&s, "GET", "/api/jobs", h, NULL) == 421, "Host '%s' accepted", hv);
        ck_assert_msg(status_of(&s, "GET", "/", h, NULL) == 421, "Host '%s' accepted", hv);
    }

    /* Origin: another site's text/plain and multipart POSTs are refused, no job made */
    long before = jobs_total(&s, NULL);
    const char *url_body = "{\"url\":\"http://example.com/x.mp4\"}";
    const char *foreign[] = {"http://evil.example", "null",    "http://127.0.0.1:1",
                             "http://localhost",    "file://", "http://thumbs.example.evil"};
    for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
        snprintf(h, sizeof(h), "Origin: %s\r\nContent-Type: text/plain\r\n", foreign[i]);
        tgt_resp r;
        ck_assert_int_eq(tgt_http(s.port, "POST", "/api/jobs", h, url_body, strlen(url_body), &r),
                         0);
        ck_assert_msg(r.status == 403, "Origin %s: %d", foreign[i], r.status);
        json_t *j = body_json(&r);
        ck_assert_str_eq(str(json_object_get(j, "error"), "code"), "EFORBIDDEN");
        ck_assert_str_eq(str(json_object_get(j, "error"), "message"),
                         "Requests from other sites are refused.");
        json_decref(j);
        tgt_resp_free(&r);
    }
    size_t len;
    char *ct, *mp = tgt_multipart(tgt_fixture("letterbox.mp4"), "x.mp4", &len, &ct, NULL);
    char hdr[512];
    snprintf(hdr, sizeof(hdr), "Origin: http://evil.example\r\n%s", ct);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "POST", "/api/jobs", hdr, mp, len, &r), 0);
    ck_assert_int_eq(r.status, 403);
    tgt_resp_free(&r);
    snprintf(hdr, sizeof(hdr), "Sec-Fetch-Site: cross-site\r\n%s", ct);
    ck_assert_int_eq(tgt_http(s.port, "POST", "/api/jobs", hdr, mp, len, &r), 0);
    ck_assert_int_eq(r.status, 403);
    tgt_resp_free(&r);
    ck_assert_int_eq(jobs_total(&s, NULL), before);
    /* nor may another site cancel: DELETE with Sec-Fetch-Site: cross-site or a foreign Origin */
    ck_assert_int_eq(status_of(&s, "DELETE", "/api/jobs/0123456789abcdef0123456789abcdef",
                               "Sec-Fetch-Site: cross-site\r\n", NULL),
                     403);
    ck_assert_int_eq(status_of(&s, "DELETE", "/api/jobs/0123456789abcdef0123456789abcdef",
                               "Origin: https://evil.example\r\n", NULL),
                     403);
    /* the server's own origins pass (here to the link check, which refuses ftp) */
    const char *own[] = {"http://127.0.0.1:%d", "http://localhost:%d", "http://[::1]:%d",
                         "https://thumbs.example"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        char o[64];
        snprintf(o, sizeof(o), own[i], s.port);
        snprintf(h, sizeof(h), "Origin: %s\r\nSec-Fetch-Site: same-origin\r\n", o);
        ck_assert_msg(status_of(&s, "POST", "/api/jobs", h, "{\"url\":\"ftp://example.com/v\"}") ==
                          422,
                      "Origin %s refused", o);
    }
    /* reading is not state-changing: a GET with a foreign Origin is answered (CORS keeps
     * the answer from that page: no Access-Control-Allow-Origin is ever sent) */
    ck_assert_int_eq(
        tgt_http(s.port, "GET", "/api/jobs", "Origin: http://evil.example\r\n", NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *acao = tgt_header(&r, "Access-Control-Allow-Origin");
    ck_assert_ptr_null(acao);
    tgt_resp_free(&r);
    free(mp);
    free(ct);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

static char *write_token_file(const char *token)
{
    char *path = tgt_tmp_path(".token");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(token, f);
    fclose(f);
    return path;
}

START_TEST(access_token)
{
    const char *tok = "s3cret-token_0123456789";
    char *file = write_token_file("s3cret-token_0123456789\n");
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--token-file", file, NULL), 0);
    /* without the token, or with a wrong one: 401 on the API and the media */
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", "/api/jobs", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 401);
    assert_header(&r, "WWW-Authenticate", "Bearer");
    json_t *j = body_json(&r);
    ck_assert_str_eq(str(json_object_get(j, "error"), "code"), "EAUTH");
    ck_assert_str_eq(str(json_object_get(j, "error"), "message"),
                     "This server needs its access token.");
    json_decref(j);
    tgt_resp_free(&r);
    const char *wrong[] = {"Authorization: Bearer s3cret-token_012345678\r\n",
                           "Authorization: Bearer s3cret-token_01234567890\r\n",
                           "Authorization: Bearer \r\n",
                           "Authorization: Basic czNjcmV0\r\n",
                           "Authorization: s3cret-token_0123456789\r\n",
                           "Cookie: thumbgen_token=nope\r\n"};
    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
        ck_assert_msg(status_of(&s, "GET", "/api/jobs", wrong[i], NULL) == 401, "%s", wrong[i]);
    const char *js = "Content-Type: application/json\r\n";
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js, "{\"url\":\"ftp://example.com/v\"}"),
                     401);
    ck_assert_int_eq(
        status_of(&s, "GET", "/api/jobs/0123456789abcdef0123456789abcdef/events", NULL, NULL), 401);
    ck_assert_int_eq(status_of(&s, "GET", "/media/videos/x.mp4", NULL, NULL), 401);
    ck_assert_int_eq(status_of(&s, "GET", "/media/thumbnails/x.gif", NULL, NULL), 401);
    /* the page, its files and /healthz stay open (the page asks for the token) */
    ck_assert_int_eq(status_of(&s, "GET", "/", NULL, NULL), 200);
    /* and the page says that a token is needed (<html data-token>: web/early.js reads the
     * saved token only then), with a validator of its own */
    tgt_resp pg;
    ck_assert_int_eq(tgt_http(s.port, "GET", "/", NULL, NULL, 0, &pg), 0);
    ck_assert_ptr_nonnull(strstr(pg.body, "<html data-token"));
    ck_assert_ptr_nonnull(strstr(pg.body, "</html>"));
    char *etag = tgt_header(&pg, "ETag");
    ck_assert_ptr_nonnull(etag);
    ck_assert_ptr_nonnull(strstr(etag, "-t\""));
    char inm[160];
    snprintf(inm, sizeof(inm), "If-None-Match: %s\r\n", etag);
    ck_assert_int_eq(status_of(&s, "GET", "/", inm, NULL), 304);
    free(etag);
    tgt_resp_free(&pg);
    ck_assert_int_eq(status_of(&s, "GET", "/static/app.js", NULL, NULL), 200);
    ck_assert_int_eq(status_of(&s, "GET", "/healthz", NULL, NULL), 200);

    /* the right token as a Bearer header */
    char auth[128];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", tok);
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs", auth, NULL), 200);
    char both[256];
    snprintf(both, sizeof(both), "%s%s", auth, js);
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", both, "{\"url\":\"ftp://example.com/v\"}"),
                     422);
    ck_assert_int_eq(status_of(&s, "GET", "/media/videos/x.mp4", auth, NULL), 404);

    /* GET /api/login says what is needed; POST /api/login sets the cookie */
    ck_assert_int_eq(tgt_http(s.port, "GET", "/api/login", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    j = body_json(&r);
    ck_assert(json_is_true(json_object_get(j, "auth")) && json_is_false(json_object_get(j, "ok")));
    json_decref(j);
    tgt_resp_free(&r);
    ck_assert_int_eq(status_of(&s, "POST", "/api/login", js, "{\"token\":\"nope\"}"), 401);
    ck_assert_int_eq(status_of(&s, "POST", "/api/login", js, "{}"), 401);
    char body[128];
    snprintf(body, sizeof(body), "{\"token\":\"%s\"}", tok);
    ck_assert_int_eq(tgt_http(s.port, "POST", "/api/login", js, body, strlen(body), &r), 0);
    ck_assert_int_eq(r.status, 200);
    char *cookie = tgt_header(&r, "Set-Cookie");
    ck_assert_ptr_nonnull(cookie);
    ck_assert_ptr_nonnull(strstr(cookie, "HttpOnly"));
    ck_assert_ptr_nonnull(strstr(cookie, "SameSite=Strict"));
    ck_assert_ptr_nonnull(strstr(cookie, "Path=/"));
    tgt_resp_free(&r);
    /* the cookie lets EventSource and media in */
    char ck[256];
    snprintf(ck, sizeof(ck), "Cookie: %.*s\r\n", (int)strcspn(cookie, ";"), cookie);
    free(cookie);
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs", ck, NULL), 200);
    ck_assert_int_eq(status_of(&s, "GET", "/media/thumbnails/x.gif", ck, NULL), 404);
    ck_assert_int_eq(tgt_http(s.port, "GET", "/api/login", ck, NULL, 0, &r), 0);
    j = body_json(&r);
    ck_assert(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    tgt_resp_free(&r);
    /* a cross-site login is refused like any other state-changing request */
    snprintf(both, sizeof(both), "Origin: http://evil.example\r\n%s", js);
    ck_assert_int_eq(status_of(&s, "POST", "/api/login", both, body), 403);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);

    /* without a token option the loopback server stays open */
    ck_assert_int_eq(tgt_server_start(&s, NULL, NULL), 0);
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs", NULL, NULL), 200);
    ck_assert_int_eq(tgt_http(s.port, "GET", "/api/login", NULL, NULL, 0, &r), 0);
    j = body_json(&r);
    ck_assert(json_is_false(json_object_get(j, "auth")) && json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    tgt_resp_free(&r);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
    unlink(file);
    free(file);
}
END_TEST

/* --require-token on loopback makes a token and prints the page's URL with it once */
START_TEST(access_made_token_is_printed)
{
    char *log = tgt_tmp_path(".log"), *data = tgt_tmp_path(".data");
    char port[16];
    int p = 0;
    {
        tgt_server probe; /* a free port: start and stop a server on one */
        ck_assert_int_eq(tgt_server_start(&probe, NULL, NULL), 0);
        p = probe.port;
        tgt_server_stop(&probe);
        free(probe.data);
    }
    snprintf(port, sizeof(port), "%d", p);
    char *argv[] = {(char *)tgt_bin(), "serve", "--quiet",         "--port", port, "--data", data,
                    "--web",           "web",   "--require-token", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    char token[128] = "";
    for (int i = 0; i < 200 && !token[0]; i++) {
        usleep(50 * 1000);
        char *text = tgt_read_file(log, NULL);
        const char *t = text ? strstr(text, "/#token=") : NULL;
        if (t && strchr(t, '\n'))
            snprintf(token, sizeof(token), "%.*s", (int)strcspn(t + 8, "\n"), t + 8);
        if (t) {
            char want[64];
            snprintf(want, sizeof(want), "http://127.0.0.1:%d/#token=", p);
            ck_assert_msg(strstr(text, want), "%s", text);
        }
        free(text);
    }
    ck_assert_msg(strlen(token) >= 32, "no token printed");
    tgt_server s = {.pid = pid, .port = p, .data = data};
    for (int i = 0; i < 100 && status_of(&s, "GET", "/healthz", NULL, NULL) != 200; i++)
        usleep(50 * 1000);
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs", NULL, NULL), 401);
    char auth[200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    ck_assert_int_eq(status_of(&s, "GET", "/api/jobs", auth, NULL), 200);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    /* printed once: the log holds it once */
    char *text = tgt_read_file(log, NULL);
    ck_assert_ptr_eq(strstr(strstr(text, token) + 1, token), NULL);
    free(text);
    unlink(log);
    free(log);
    free(s.data);
}
END_TEST

/* Refusals at start: before anything is bound (the address is TEST-NET-1, which no
 * interface here has, so even a wrong start could listen on nothing). */
START_TEST(access_refuses_to_start)
{
    char *empty = write_token_file(""), *shorty = write_token_file("short\n"),
         *spaced = write_token_file("a token with spaces in it\n");
    char *missing = tgt_tmp_path(".missing");
    struct {
        const char *args[4];
        const char *says;
    } cases[] = {
        {{"--token-file", missing}, "cannot read the token file"},
        {{"--token-file", empty}, "must hold a token of 16 to"},
        {{"--token-file", shorty}, "must hold a token of 16 to"},
        {{"--token-file", spaced}, "may only use letters, digits"},
        {{"--no-auth", "--require-token"}, "--no-auth cannot be used with"},
        {{"--no-auth", "--token-file", empty}, "--no-auth cannot be used with"},
        {{"--public-host", "evil.example:80"}, "bad value for --public-host"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tgt_run r;
        char *data = tgt_tmp_path(".data");
        tgt_thumbgen(&r, "serve", "--host", "192.0.2.1", "--port", "0", "--data", data,
                     cases[i].args[0], cases[i].args[1], cases[i].args[2], NULL);
        ck_assert_msg(r.status == 1 || r.status == 2, "case %zu: exit %d", i, r.status);
        ck_assert_msg(strstr(r.err, cases[i].says), "case %zu: %s", i, r.err);
        /* one line (a usage error adds its hint line), and nothing of the data folder made */
        if (!strstr(r.err, "bad value"))
            ck_assert_msg(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "case %zu: %s", i,
                          r.err);
        ck_assert_msg(!tgt_file_exists(data), "case %zu: the data folder was made", i);
        tgt_run_free(&r);
        free(data);
    }
    unlink(empty);
    unlink(shorty);
    unlink(spaced);
    free(empty);
    free(shorty);
    free(spaced);
    free(missing);
}
END_TEST

/* ---- hardening (issue 12) ---- */

/* The error object of an answer, asserting it is JSON with a code and a message. */
static json_t *post_json(tgt_server *s, const char *body, int *status)
{
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "POST", "/api/jobs", "Content-Type: application/json\r\n",
                              body, strlen(body), &r),
                     0);
    *status = r.status;
    json_t *j = body_json(&r);
    tgt_resp_free(&r);
    return j;
}

static const char *err_message(json_t *j)
{
    return str(json_object_get(j, "error"), "message");
}

static char *repeat(const char *unit, int n)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * (size_t)n + 1);
    for (int i = 0; i < n; i++)
        memcpy(s + ul * (size_t)i, unit, ul);
    s[ul * (size_t)n] = '\0';
    return s;
}

/* Point 1: non-ASCII text in a request always gets a JSON answer. */
START_TEST(non_ascii_requests_get_an_answer)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, NULL), 0);
    int st;
    json_t *j = post_json(&s,
                          "{\"url\":\"http://b\xc3\xbc"
                          "cher.example/x.mp4\"}",
                          &st);
    ck_assert_int_eq(st, 422); /* a link refused, said in a sentence */
    ck_assert_ptr_nonnull(strstr(err_message(j), "\xc3\xbc")); /* the whole character */
    json_decref(j);
    char *e40 = repeat("\xc3\xa9", 40), body[512];
    static const char *opts[] = {"style", "width", "max-bytes"};
    for (int k = 0; k < 3; k++) {
        snprintf(body, sizeof(body),
                 "{\"url\":\"https://example.com/v.mp4\",\"options\":{\"%s\":\"%s\"}}", opts[k],
                 e40);
        j = post_json(&s, body, &st);
        ck_assert_msg(st == 400, "%s: %d", opts[k], st);
        ck_assert_ptr_nonnull(strstr(err_message(j), opts[k]));
        json_decref(j);
    }
    /* an upload's option field too */
    size_t len;
    char *ct, *mp = tgt_multipart(tgt_fixture("story.mp4"), "v.mp4", &len, &ct, "style", e40, NULL);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "POST", "/api/jobs", ct, mp, len, &r), 0);
    ck_assert_int_eq(r.status, 400);
    json_decref(body_json(&r));
    tgt_resp_free(&r);
    free(mp);
    free(ct);
    free(e40);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

/* Point 2: a failed job keeps its error, in the job and at the end of its events. */
START_TEST(a_failed_job_keeps_its_error)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--allow-private-urls", NULL), 0);
    char *e120 = repeat("\xc3\xa9", 120), body[1024];
    snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/%s.mp4\"}", s.port, e120);
    int st;
    json_t *j = post_json(&s, body, &st);
    ck_assert_int_eq(st, 202);
    char *id = strdup(str(j, "id"));
    json_decref(j);
    j = NULL;
    for (int i = 0; i < 600; i++) {
        j = get_job(&s, id);
        if (!strcmp(str(j, "state"), "failed"))
            break;
        json_decref(j);
        j = NULL;
        usleep(100 * 1000);
    }
    ck_assert_msg(j != NULL, "the job did not fail");
    json_t *e = json_object_get(j, "error");
    ck_assert_msg(json_is_object(e), "no error in %s", json_dumps(j, 0));
    ck_assert(*str(e, "code"));
    ck_assert_msg(strlen(str(e, "message")) > 10, "message: %s", str(e, "message"));
    json_decref(j);
    char path[128];
    snprintf(path, sizeof(path), "/api/jobs/%s/events", id);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", path, NULL, NULL, 0, &r), 0);
    const char *ev = strstr(r.body, "event: error\ndata: ");
    ck_assert_msg(ev != NULL, "events: %s", r.body);
    json_t *d = json_loads(ev + 19, JSON_DISABLE_EOF_CHECK, NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert(strlen(str(d, "message")) > 10);
    json_decref(d);
    tgt_resp_free(&r);
    free(id);
    free(e120);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

/* A multipart body with the given parts: name, filename (or NULL), content. */
static char *raw_multipart(size_t *len, const char *const parts[][3], int n)
{
    size_t cap = 64 << 20, at = 0;
    char *out = malloc(cap);
    for (int i = 0; i < n; i++) {
        if (parts[i][1])
            at += (size_t)snprintf(out + at, cap - at,
                                   "--tgb\r\nContent-Disposition: form-data; name=\"%s\"; "
                                   "filename=\"%s\"\r\nContent-Type: video/mp4\r\n\r\n",
                                   parts[i][0], parts[i][1]);
        else
            at += (size_t)snprintf(out + at, cap - at,
                                   "--tgb\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n",
                                   parts[i][0]);
        size_t cl;
        char *content = !strncmp(parts[i][2], "@", 1) ? tgt_read_file(parts[i][2] + 1, &cl)
                                                      : strdup(parts[i][2]);
        cl = !strncmp(parts[i][2], "@", 1) ? cl : strlen(content);
        memcpy(out + at, content, cl);
        at += cl;
        free(content);
        at += (size_t)snprintf(out + at, cap - at, "\r\n");
    }
    at += (size_t)snprintf(out + at, cap - at, "--tgb--\r\n");
    *len = at;
    return out;
}

static json_t *post_parts(tgt_server *s, const char *const parts[][3], int n, int *status)
{
    size_t len;
    char *b = raw_multipart(&len, parts, n);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "POST", "/api/jobs",
                              "Content-Type: multipart/form-data; boundary=tgb\r\n", b, len, &r),
                     0);
    free(b);
    *status = r.status;
    json_t *j = body_json(&r);
    tgt_resp_free(&r);
    return j;
}

/* Point 5: what used to be accepted, dropped or misnamed. */
START_TEST(requests_are_validated)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--workers", "1", NULL), 0);
    char story[512];
    snprintf(story, sizeof(story), "@%s", tgt_fixture("short.mp4"));
    int st;
    /* two video parts */
    const char *const two[][3] = {{"video", "a.mp4", story}, {"video", "b.mp4", story}};
    json_t *j = post_parts(&s, two, 2, &st);
    ck_assert_msg(st == 400, "two videos: %d", st);
    ck_assert_ptr_nonnull(strstr(err_message(j), "one video"));
    json_decref(j);
    /* an option field over 256 bytes is refused, not dropped */
    char *longv = repeat("1", 300);
    const char *const lf[][3] = {{"clips", NULL, longv}, {"video", "a.mp4", story}};
    j = post_parts(&s, lf, 2, &st);
    ck_assert_msg(st == 400, "long field: %d", st);
    ck_assert_ptr_nonnull(strstr(err_message(j), "256"));
    json_decref(j);
    free(longv);
    /* "options" must be an object */
    j = post_json(&s, "{\"url\":\"https://example.com/v.mp4\",\"options\":\"clips=1\"}", &st);
    ck_assert_int_eq(st, 400);
    ck_assert_ptr_nonnull(strstr(err_message(j), "\"options\" must be a JSON object"));
    json_decref(j);
    /* the real problem is named */
    static const char *bad[][2] = {
        {"{\"url\":\"https://example.com/v.mp4\",\"options\":{\"clips\":99999999999999999999}}",
         "too large"},
        {"{\"url\":\"https://example.com/v.mp4\",\"options\":{\"clip-len\":1e400}}", "too large"},
        {"{\"url\":\"https://example.com/v.mp4\",\"options\":{\"a\\u0000b\":1}}", "\\u0000"},
        {"{\"url\":\"https://example.com/v.mp4\"", "not valid JSON"},
    };
    for (int k = 0; k < 4; k++) {
        j = post_json(&s, bad[k][0], &st);
        ck_assert_int_eq(st, 400);
        ck_assert_msg(strstr(err_message(j), bad[k][1]) != NULL, "%s: %s", bad[k][0],
                      err_message(j));
        json_decref(j);
    }
    /* an upload name cut in the middle of a character keeps its whole characters */
    char *name = repeat("\xc3\xa9", 110);
    const char *const nm[][3] = {{"video", name, story}};
    j = post_parts(&s, nm, 1, &st);
    ck_assert_int_eq(st, 202);
    const char *src = str(json_object_get(j, "source"), "name");
    ck_assert_msg(strlen(src) >= 190 && strlen(src) <= 200, "source name: '%s'", src);
    ck_assert(!strncmp(src, name, strlen(src)));
    json_decref(j);
    free(name);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

/* Point 9: the same upload with the same options joins the job already waiting for it. */
START_TEST(the_same_upload_joins_its_job)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--workers", "1", NULL), 0);
    int st;
    char *busy = upload(&s, tgt_fixture("long.mp4"), &st, "analysis", "full");
    ck_assert_int_eq(st, 202);
    char *first = upload(&s, tgt_fixture("story.mp4"), &st, "clips", "2");
    ck_assert_int_eq(st, 202);
    for (int i = 0; i < 5; i++) {
        size_t len;
        char *ct, *b = tgt_multipart(tgt_fixture("story.mp4"), "again.mp4", &len, &ct, "clips", "2",
                                     NULL);
        tgt_resp r;
        ck_assert_int_eq(tgt_http(s.port, "POST", "/api/jobs", ct, b, len, &r), 0);
        free(b);
        free(ct);
        ck_assert_int_eq(r.status, 202);
        json_t *j = body_json(&r);
        ck_assert_str_eq(str(j, "id"), first);
        ck_assert(json_is_true(json_object_get(j, "joined")));
        json_decref(j);
        tgt_resp_free(&r);
    }
    /* other options: a job of its own */
    char *other = upload(&s, tgt_fixture("story.mp4"), &st, "clips", "3");
    ck_assert_int_eq(st, 202);
    ck_assert_str_ne(other, first);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", "/api/jobs", NULL, NULL, 0, &r), 0);
    json_t *list = body_json(&r);
    ck_assert_int_eq((int)json_integer_value(json_object_get(list, "total")), 3);
    json_decref(list);
    tgt_resp_free(&r);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(busy);
    free(first);
    free(other);
    free(s.data);
}
END_TEST

/* ---- start-up (issue 12) ---- */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Point 8: a second server on the same data folder refuses to start and names the first. */
START_TEST(two_servers_refuse_one_data_folder)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, NULL), 0);
    tgt_run r;
    ck_assert_int_eq(
        tgt_thumbgen(&r, "serve", "--port", "0", "--data", s.data, "--web", "web", "--quiet", NULL),
        0);
    ck_assert_msg(r.status != 0, "the second server ran (exit %d)", r.status);
    char pid[32];
    snprintf(pid, sizeof(pid), "pid %d", (int)s.pid);
    ck_assert_msg(strstr(r.err, pid) != NULL, "stderr does not name %s: %s", pid, r.err);
    ck_assert_msg(strstr(r.err, "already") != NULL, "stderr: %s", r.err);
    ck_assert_msg(strchr(r.err, '\n') == r.err + strlen(r.err) - 1, "not one line: %s", r.err);
    tgt_run_free(&r);
    /* the first one still answers, and after it stops the folder can be used again */
    ck_assert_int_eq(status_of(&s, "GET", "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    tgt_server s2;
    ck_assert_int_eq(tgt_server_start(&s2, s.data, NULL), 0);
    ck_assert_int_eq(tgt_server_stop(&s2), 0);
    free(s.data);
    free(s2.data);
}
END_TEST

/* Point 10: temporary files left by a killed server are removed at the next start. */
START_TEST(stale_temp_files_are_removed_at_start)
{
    char *data = tgt_tmp_path(".data"), p[1024];
    snprintf(p, sizeof(p), "mkdir -p %s/tmp %s/thumbnails %s/videos", data, data, data);
    char *argv[] = {"/bin/sh", "-c", p, NULL};
    tgt_run r;
    ck_assert_int_eq(tgt_run_cmd(&r, argv), 0);
    ck_assert_int_eq(r.status, 0);
    tgt_run_free(&r);
    /* the last stale one: a playable copy cut short (workers.c writes NAME.tmp.mp4) */
    static const char *stale[] = {"tmp/upload-Ab12Cd", "thumbnails/.sha256-00-abc.gif.Xy12Zq",
                                  "thumbnails/.sha256-00-abc.jpg.a1b2c3",
                                  "thumbnails/sha256-00.play.mp4.tmp.mp4"};
    static const char *kept[] = {"thumbnails/sha256-00-abc.gif", "videos/sha256-00.mp4",
                                 "thumbnails/sha256-00.play.mp4",
                                 "thumbnails/sha256-00.rendition.json"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", data, stale[i]);
        write_file(p, "half");
    }
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", data, kept[i]);
        write_file(p, "whole");
    }
    char *log = tgt_tmp_path(".log");
    tgt_server s;
    ck_assert_int_eq(tgt_server_start_log(&s, data, log, NULL), 0);
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", data, stale[i]);
        ck_assert_msg(!tgt_file_exists(p), "%s is still there", stale[i]);
    }
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", data, kept[i]);
        ck_assert_msg(tgt_file_exists(p), "%s was removed", kept[i]);
    }
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    char *text = tgt_read_file(log, NULL);
    ck_assert_msg(text && strstr(text, "removed 4 stale temporary files"), "log: %s", text);
    free(text);
    free(log);
    free(data);
    free(s.data);
}
END_TEST

/* Point 11: a database with damaged pages refuses to start and says how to recover. */
START_TEST(a_damaged_database_refuses_to_start)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--allow-private-urls", NULL), 0);
    const char *js = "Content-Type: application/json\r\n";
    for (int i = 0; i < 40; i++) { /* rows on several pages (the jobs fail: nothing there) */
        char b[256];
        snprintf(b, sizeof(b), "{\"url\":\"http://127.0.0.1:1/v%d.mp4\"}", i);
        ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js, b), 202);
    }
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    char db[1024];
    snprintf(db, sizeof(db), "%s/thumbgen.db", s.data);
    long size = tgt_file_size(db);
    ck_assert_msg(size >= 4 * 4096, "the database is only %ld bytes", size);
    FILE *f = fopen(db, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 4096, SEEK_SET); /* page 2, the jobs table's root: garbage over its header */
    for (int i = 0; i < 16; i++)
        fputc(0xA5, f);
    fclose(f);
    tgt_run r;
    ck_assert_int_eq(
        tgt_thumbgen(&r, "serve", "--port", "0", "--data", s.data, "--web", "web", "--quiet", NULL),
        0);
    ck_assert_msg(r.status != 0, "started on a damaged database");
    ck_assert_msg(strstr(r.err, "damaged") && strstr(r.err, "thumbgen.db") &&
                      strstr(r.err, "aside") && strstr(r.err, "intact"),
                  "stderr: %s", r.err);
    tgt_run_free(&r);
    free(s.data);
}
END_TEST

/* ---- a full disk (issue 12 point 3) ---- */

static int log_has(const char *log, const char *text)
{
    char *t = tgt_read_file(log, NULL);
    int has = t && strstr(t, text);
    free(t);
    return has;
}

/* The disk fills (the TG_FAULT_DISK_FULL hook, core/fault.h) when a job reaches a
 * stage: the job ends with the reason once space is freed, and the worker goes on. */
static const char *full_stages[] = {"download", "analyze", "render", "store"};

START_TEST(a_full_disk_ends_the_job_at_every_stage)
{
    const char *stage = full_stages[_i];
    char *freed = tgt_tmp_path(".freed"), *log = tgt_tmp_path(".log");
    setenv("TG_FAULT_DISK_FULL", stage, 1);
    setenv("TG_FAULT_DISK_FREED", freed, 1);
    tgt_server s;
    ck_assert_int_eq(
        tgt_server_start_log(&s, NULL, log, "--workers", "1", "--allow-private-urls", NULL), 0);
    unsetenv("TG_FAULT_DISK_FULL");
    unsetenv("TG_FAULT_DISK_FREED");
    int st;
    char *id;
    if (!strcmp(stage, "download")) {
        /* a link to a video this server serves itself */
        char *up = upload(&s, tgt_fixture("short.mp4"), &st, NULL, NULL);
        ck_assert_int_eq(st, 202);
        json_t *j = wait_state(&s, up, "done", 120);
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"url\":\"http://127.0.0.1:%d%s\",\"options\":{\"clips\":1}}", s.port,
                 str(json_object_get(j, "result"), "video"));
        json_decref(j);
        free(up);
        j = post_json(&s, body, &st);
        ck_assert_int_eq(st, 202);
        id = strdup(str(j, "id"));
        json_decref(j);
    } else {
        id = upload(&s, tgt_fixture("short.mp4"), &st, "clips", "1");
        ck_assert_int_eq(st, 202);
    }
    /* the disk is full: the job cannot even be recorded as ended, and the server says so */
    int i;
    for (i = 0; i < 1200 && !log_has(log, "cannot record the end of job"); i++)
        usleep(100 * 1000);
    ck_assert_msg(i < 1200, "%s: the server never said it could not record the end", stage);
    json_t *j = get_job(&s, id);
    ck_assert_str_eq(str(j, "state"), "running");
    json_decref(j);
    /* space is freed: the end is recorded without a restart */
    FILE *f = fopen(freed, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    const char *want = !strcmp(stage, "store") ? "done" : "failed";
    for (i = 0; i < 100; i++) {
        j = get_job(&s, id);
        if (!strcmp(str(j, "state"), want))
            break;
        json_decref(j);
        j = NULL;
        usleep(100 * 1000);
    }
    ck_assert_msg(j != NULL, "%s: the job did not end %s", stage, want);
    if (!strcmp(want, "failed"))
        ck_assert_str_eq(str(json_object_get(j, "error"), "message"), "the server's disk is full");
    else
        ck_assert(json_is_object(json_object_get(j, "result")));
    json_decref(j);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
    j = body_json(&r);
    ck_assert_int_eq((int)json_integer_value(json_object_get(j, "running")), 0);
    json_decref(j);
    tgt_resp_free(&r);
    /* the worker is free: the next job runs to the end */
    char *next = upload(&s, tgt_fixture("short.mp4"), &st, "clips", "2");
    ck_assert_int_eq(st, 202);
    json_decref(wait_state(&s, next, "done", 120));
    free(next);
    free(id);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(freed);
    free(log);
    free(s.data);
}
END_TEST

/* The first frame of a GIF against the source at time t (ffmpeg, scaled to the GIF's size). */
static double gif_vs_source(const char *gif, const char *video, double t)
{
    tgt_gif g;
    ck_assert_int_eq(tgt_gif_load(gif, &g), 0);
    char *raw = tgt_tmp_path(".rgba"), ts[32], size[32];
    snprintf(ts, sizeof(ts), "%.3f", t);
    snprintf(size, sizeof(size), "scale=%d:%d", g.width, g.height);
    ck_assert_int_eq(tgt_ffmpeg("-ss", ts, "-i", video, "-frames:v", "1", "-vf", size, "-f",
                                "rawvideo", "-pix_fmt", "rgba", raw, NULL),
                     0);
    size_t len;
    uint8_t *px = (uint8_t *)tgt_read_file(raw, &len);
    ck_assert_uint_eq(len, (size_t)g.width * g.height * 4);
    double p = tgt_psnr_rgba(g.rgba[0], px, g.width, g.height);
    free(px);
    unlink(raw);
    free(raw);
    tgt_gif_free(&g);
    return p;
}

static json_t *post_to(tgt_server *s, const char *path, const char *body, int *status)
{
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "POST", path, "Content-Type: application/json\r\n", body,
                              body ? strlen(body) : 0, &r),
                     0);
    *status = r.status;
    json_t *j = body_json(&r);
    tgt_resp_free(&r);
    return j;
}

/* A 400 of the edit route: one sentence for people, no path, no library prefix. */
static void assert_one_sentence(json_t *j)
{
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    ck_assert_msg(m && *m, "no message");
    size_t n = strlen(m);
    ck_assert_msg(m[0] >= 'A' && m[0] <= 'Z' && m[n - 1] == '.', "not a sentence: %s", m);
    ck_assert_msg(!strstr(m, ". ") && !strchr(m, '/') && !strstr(m, "Traceback"),
                  "more than one sentence, or a path: %s", m);
}

static int media_status(tgt_server *s, json_t *result, const char *key)
{
    const char *u = json_string_value(json_object_get(result, key));
    ck_assert_msg(u != NULL, "no %s", key);
    return status_of(s, "GET", u, NULL, NULL);
}

/* The file behind a result's URL (KEY: "gif", "poster", …), stat'ed. */
static void stat_output(tgt_server *s, json_t *result, const char *key, struct stat *out)
{
    const char *u = json_string_value(json_object_get(result, key));
    ck_assert_msg(u && strrchr(u, '/'), "no %s", key);
    char path[1024];
    snprintf(path, sizeof(path), "%s/thumbnails/%s", s->data, strrchr(u, '/') + 1);
    ck_assert_msg(stat(path, out) == 0, "no file for %s", key);
}

/* The formats option: a job makes only the animations asked, and so does its re-render,
 * which takes the first version's poster when the edit keeps the poster's time. */
START_TEST(formats_option_and_a_quick_rerender)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, NULL), 0);
    const char *js = "Content-Type: application/json\r\n";
    /* not one of the choices, or none: a 400 */
    ck_assert_int_eq(status_of(&s, "POST", "/api/jobs", js,
                               "{\"url\":\"https://example.com/v.mp4\",\"options\":{\"formats\":"
                               "[\"gif\",\"png\"]}}"),
                     400);
    ck_assert_int_eq(
        status_of(&s, "POST", "/api/jobs", js,
                  "{\"url\":\"https://example.com/v.mp4\",\"options\":{\"formats\":[]}}"),
        400);
    int st;
    char *id = upload(&s, tgt_fixture("letterbox.mp4"), &st, "formats", "gif,mp4");
    ck_assert_int_eq(st, 202);
    json_t *job = wait_state(&s, id, "done", 120);
    json_t *fm = json_object_get(json_object_get(job, "options"), "formats");
    ck_assert_uint_eq(json_array_size(fm), 2);
    ck_assert_str_eq(json_string_value(json_array_get(fm, 0)), "gif");
    ck_assert_str_eq(json_string_value(json_array_get(fm, 1)), "mp4");
    json_t *res = json_object_get(job, "result"), *outs = json_object_get(res, "outputs");
    ck_assert_int_eq(media_status(&s, res, "gif"), 200);
    ck_assert_int_eq(media_status(&s, res, "mp4"), 200);
    ck_assert_int_eq(media_status(&s, res, "poster"), 200);
    ck_assert_ptr_null(json_object_get(res, "webp"));
    ck_assert_ptr_null(json_object_get(outs, "webp"));
    ck_assert_uint_eq(json_object_size(outs), 2);

    /* a re-render that moves the clip: the same formats, the same poster file */
    char path[160], body[256];
    snprintf(path, sizeof(path), "/api/jobs/%s/render", id);
    json_t *ej = post_to(&s, path, "{\"plan\":{\"segments\":[{\"start\":5,\"end\":6.2}]}}", &st);
    ck_assert_int_eq(st, 202);
    char *eid = strdup(str(ej, "id"));
    json_decref(ej);
    json_t *ed = wait_state(&s, eid, "done", 60);
    json_t *eres = json_object_get(ed, "result");
    ck_assert_int_eq(media_status(&s, eres, "gif"), 200);
    ck_assert_ptr_null(json_object_get(eres, "webp"));
    ck_assert_uint_eq(json_object_size(json_object_get(eres, "outputs")), 2);
    struct stat a, b;
    stat_output(&s, res, "poster", &a);
    stat_output(&s, eres, "poster", &b);
    ck_assert_str_ne(str(eres, "poster"), str(res, "poster"));
    ck_assert_msg(a.st_ino == b.st_ino, "the poster was made again instead of linked");
    /* one that moves the poster has a poster of its own */
    snprintf(body, sizeof(body),
             "{\"plan\":{\"segments\":[{\"start\":5,\"end\":6.2}],\"poster\":{\"t\":2.5}}}");
    ej = post_to(&s, path, body, &st);
    ck_assert_int_eq(st, 202);
    char *pid = strdup(str(ej, "id"));
    json_decref(ej);
    json_t *pd = wait_state(&s, pid, "done", 60);
    stat_output(&s, json_object_get(pd, "result"), "poster", &b);
    ck_assert(a.st_ino != b.st_ino);
    /* an edit of the edit that moves only the poster keeps its animations: the same files
     * (linked, not made again) with the same sizes; a poster of its own */
    snprintf(path, sizeof(path), "/api/jobs/%s/render", eid);
    snprintf(body, sizeof(body), "{\"plan\":{\"poster\":{\"t\":3.5}}}");
    ej = post_to(&s, path, body, &st);
    ck_assert_int_eq(st, 202);
    char *qid = strdup(str(ej, "id"));
    json_decref(ej);
    json_t *qd = wait_state(&s, qid, "done", 60);
    json_t *qres = json_object_get(qd, "result");
    const char *kinds[2] = {"gif", "mp4"};
    for (int k = 0; k < 2; k++) {
        struct stat x, y;
        stat_output(&s, eres, kinds[k], &x);
        stat_output(&s, qres, kinds[k], &y);
        ck_assert_str_ne(str(qres, kinds[k]), str(eres, kinds[k]));
        ck_assert_msg(x.st_ino == y.st_ino, "the %s was made again instead of linked", kinds[k]);
        json_t *ro = json_object_get(json_object_get(eres, "outputs"), kinds[k]);
        json_t *qo = json_object_get(json_object_get(qres, "outputs"), kinds[k]);
        ck_assert_int_eq(json_integer_value(json_object_get(qo, "bytes")), (json_int_t)y.st_size);
        ck_assert_int_eq(json_integer_value(json_object_get(qo, "bytes")),
                         json_integer_value(json_object_get(ro, "bytes")));
        ck_assert_int_eq(json_integer_value(json_object_get(qo, "width")),
                         json_integer_value(json_object_get(ro, "width")));
        ck_assert_int_eq(json_integer_value(json_object_get(qo, "quality")),
                         json_integer_value(json_object_get(ro, "quality")));
    }
    ck_assert_ptr_null(json_object_get(qres, "webp"));
    struct stat qp;
    stat_output(&s, qres, "poster", &qp);
    ck_assert(qp.st_ino != a.st_ino && qp.st_ino != b.st_ino);
    ck_assert_double_eq_tol(json_number_value(json_object_get(
                                json_object_get(json_object_get(qres, "plan"), "poster"), "t")),
                            3.5, 1e-6);
    json_decref(qd);
    free(qid);
    /* deleting the edit keeps the first version's poster */
    snprintf(path, sizeof(path), "/api/jobs/%s", eid);
    ck_assert_int_eq(status_of(&s, "DELETE", path, NULL, NULL), 200);
    ck_assert_int_eq(media_status(&s, res, "poster"), 200);
    json_decref(pd);
    json_decref(ed);
    json_decref(job);
    free(pid);
    free(eid);
    free(id);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

START_TEST(edit_retry_delete_and_the_option_table)
{
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--allow-private-urls", NULL), 0);
    tgt_resp r;

    /* GET /api/options: every option of the table, with its type, default and range */
    ck_assert_int_eq(tgt_http(s.port, "GET", "/api/options", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    json_t *oj = body_json(&r), *t = json_object_get(oj, "options");
    tgt_resp_free(&r);
    size_t n_table = 0;
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *op = st->opts; op->name; op++, n_table++) {
            json_t *row = json_array_get(t, n_table);
            ck_assert_str_eq(str(row, "name"), op->name);
            ck_assert_str_eq(str(row, "stage"), st->stage);
            if (op->type == TG_OPT_ENUM) {
                size_t len;
                const char *d = tg_opt_choice_name(op, (int)op->def, &len);
                ck_assert_int_eq((int)len, (int)strlen(str(row, "default")));
                ck_assert(!strncmp(d, str(row, "default"), len));
                ck_assert_int_eq((int)json_array_size(json_object_get(row, "choices")),
                                 (int)op->max + 1);
            } else if (op->type == TG_OPT_SET) {
                /* a set: the choices, and the default as an array of them */
                ck_assert_str_eq(str(row, "type"), "set");
                json_t *ch = json_object_get(row, "choices"),
                       *def = json_object_get(row, "default");
                size_t nc = 0, nd = 0, i;
                json_t *e;
                json_array_foreach(ch, i, e)
                {
                    size_t len;
                    const char *c = tg_opt_choice_name(op, (int)i, &len);
                    ck_assert_int_eq((int)len, (int)strlen(json_string_value(e)));
                    ck_assert(!strncmp(c, json_string_value(e), len));
                    nc++;
                    nd += ((int)op->def >> i) & 1;
                }
                ck_assert_uint_eq(1u << nc, (unsigned)op->max + 1);
                ck_assert_uint_eq(json_array_size(def), nd);
            } else {
                ck_assert(json_number_value(json_object_get(row, "min")) == op->min);
                ck_assert(json_number_value(json_object_get(row, "max")) == op->max);
                if (op->type == TG_OPT_BYTES && op->def <= 0)
                    ck_assert(json_is_null(json_object_get(row, "default")));
                else
                    ck_assert(json_number_value(json_object_get(row, "default")) == op->def);
            }
        }
    ck_assert_uint_eq(json_array_size(t), n_table);
    json_decref(oj);

    /* a job to edit */
    int st;
    char *id = upload(&s, tgt_fixture("story.mp4"), &st, "clips", "3");
    ck_assert_int_eq(st, 202);
    json_t *parent = wait_state(&s, id, "done", 120);
    json_t *pres = json_object_get(parent, "result");
    json_t *segs = json_object_get(json_object_get(pres, "plan"), "segments");
    ck_assert_uint_ge(json_array_size(segs), 2);
    double old_t = json_number_value(json_object_get(json_array_get(segs, 0), "start"));
    /* move the first clip to a moment far from where it was */
    double new_t = old_t < 20 ? 31.0 : 5.0;
    char path[160], body[512];
    snprintf(path, sizeof(path), "/api/jobs/%s/render", id);
    snprintf(body, sizeof(body), "{\"plan\":{\"segments\":[{\"start\":%.3f,\"end\":%.3f}]}}", new_t,
             new_t + 1.2);
    json_t *ej = post_to(&s, path, body, &st);
    ck_assert_msg(st == 202, "%d %s", st, json_dumps(ej, 0));
    char *eid = strdup(str(ej, "id"));
    ck_assert_str_ne(eid, id);
    json_t *src = json_object_get(ej, "source");
    ck_assert_str_eq(str(src, "kind"), "edit");
    ck_assert_str_eq(str(src, "of"), id);
    ck_assert_str_eq(str(src, "name"), "my video (1).mp4");
    json_decref(ej);
    json_t *edited = wait_state(&s, eid, "done", 60);
    json_t *eres = json_object_get(edited, "result");
    json_t *esegs = json_object_get(json_object_get(eres, "plan"), "segments");
    ck_assert_uint_eq(json_array_size(esegs), 1);
    ck_assert(fabs(json_number_value(json_object_get(json_array_get(esegs, 0), "start")) - new_t) <
              1e-3);
    ck_assert_str_ne(str(eres, "gif"), str(pres, "gif"));
    ck_assert_int_eq(media_status(&s, eres, "gif"), 200);
    /* its frames come from the new time, not the old one */
    size_t gn = strlen(s.data) + 200;
    char *gif = malloc(gn);
    snprintf(gif, gn, "%s/thumbnails/%s", s.data, strrchr(str(eres, "gif"), '/') + 1);
    double at_new = gif_vs_source(gif, tgt_fixture("story.mp4"), new_t);
    double at_old = gif_vs_source(gif, tgt_fixture("story.mp4"), old_t);
    ck_assert_msg(at_new > 20 && at_new > at_old + 3, "PSNR at the new time %.1f, at the old %.1f",
                  at_new, at_old);
    free(gif);
    /* the same edit again is the same result (the cache) */
    ej = post_to(&s, path, body, &st);
    ck_assert_int_eq(st, 200);
    ck_assert_str_eq(str(ej, "id"), eid);
    json_decref(ej);

    /* bad plans: one sentence, 400 */
    static const char *const bad[] = {
        "{\"plan\":{\"segments\":[{\"start\":100,\"end\":101}]}}", /* beyond the video */
        "{\"plan\":{\"segments\":[{\"start\":3,\"end\":2}]}}",     /* backwards */
        "{\"plan\":{\"segments\":[]}}",                            /* no clip */
        "{\"plan\":3}",
        "{\"segments\":[]}", /* no "plan" */
        "[1]",
        "{\"plan\":",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *b = post_to(&s, path, bad[i], &st);
        ck_assert_msg(st == 400, "%s → %d", bad[i], st);
        assert_one_sentence(b);
        json_decref(b);
    }
    ck_assert_int_eq(
        status_of(&s, "POST", "/api/jobs/0123456789abcdef0123456789abcdef/render", NULL, "{}"),
        404);

    /* retry: only a failed or cancelled job; the new one has the same source and the
     * options given */
    snprintf(path, sizeof(path), "/api/jobs/%s/retry", id);
    ck_assert_int_eq(status_of(&s, "POST", path, NULL, NULL), 409);
    snprintf(body, sizeof(body), "{\"url\":\"http://127.0.0.1:%d/media/videos/none.mp4\"}", s.port);
    json_t *fj = post_json(&s, body, &st);
    ck_assert_int_eq(st, 202);
    char *fid = strdup(str(fj, "id"));
    json_decref(fj);
    json_decref(wait_state(&s, fid, "failed", 60));
    snprintf(path, sizeof(path), "/api/jobs/%s/retry", fid);
    json_t *rj = post_to(&s, path, "{\"options\":{\"clips\":1}}", &st);
    ck_assert_msg(st == 202, "%d", st);
    ck_assert_str_ne(str(rj, "id"), fid);
    json_t *fjob = get_job(&s, fid);
    ck_assert_str_eq(str(json_object_get(rj, "source"), "url"),
                     str(json_object_get(fjob, "source"), "url"));
    json_decref(fjob);
    ck_assert_int_eq(
        (int)json_integer_value(json_object_get(json_object_get(rj, "options"), "clips")), 1);
    json_decref(rj);
    json_t *bj = post_to(&s, path, "{\"options\":{\"clips\":99}}", &st);
    ck_assert_int_eq(st, 400);
    assert_one_sentence(bj);
    json_decref(bj);

    /* delete: the edited version and its files; the first version and the video stay */
    snprintf(path, sizeof(path), "/api/jobs/%s", eid);
    ck_assert_int_eq(status_of(&s, "DELETE", path, NULL, NULL), 200);
    ck_assert_int_eq(status_of(&s, "GET", path, NULL, NULL), 404);
    ck_assert_int_eq(media_status(&s, eres, "gif"), 404);
    ck_assert_int_eq(media_status(&s, eres, "webp"), 404);
    ck_assert_int_eq(media_status(&s, pres, "gif"), 200);
    ck_assert_int_eq(media_status(&s, pres, "video"), 200);
    /* then the first: its outputs and the video go too */
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    ck_assert_int_eq(status_of(&s, "DELETE", path, NULL, NULL), 200);
    ck_assert_int_eq(media_status(&s, pres, "gif"), 404);
    ck_assert_int_eq(media_status(&s, pres, "poster"), 404);
    ck_assert_int_eq(media_status(&s, pres, "video"), 404);
    ck_assert_int_eq(status_of(&s, "DELETE", path, NULL, NULL), 404);

    json_decref(edited);
    json_decref(parent);
    free(eid);
    free(fid);
    free(id);
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
}
END_TEST

/* docs/api.md's option list is the option table: every row, its stage, default and range
 * or choices, and no row the table does not have. */
START_TEST(the_api_docs_list_the_option_table)
{
    const char *docs = getenv("TG_DOCS") ? getenv("TG_DOCS") : "docs";
    char path[512];
    snprintf(path, sizeof(path), "%s/api.md", docs);
    size_t len;
    char *md = tgt_read_file(path, &len);
    ck_assert_msg(md != NULL, "cannot read %s (set TG_DOCS)", path);
    size_t rows = 0;
    for (const char *p = strstr(md, "\n| `"); p; p = strstr(p + 1, "\n| `"))
        rows++;
    size_t n = 0;
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *op = st->opts; op->name; op++, n++) {
            char want[600], def[64], range[400];
            size_t cl;
            if (op->type == TG_OPT_ENUM) {
                const char *c = tg_opt_choice_name(op, (int)op->def, &cl);
                snprintf(def, sizeof(def), "%.*s", (int)cl, c);
                range[0] = '\0';
                for (int i = 0; i <= (int)op->max; i++) {
                    c = tg_opt_choice_name(op, i, &cl);
                    size_t k = strlen(range);
                    snprintf(range + k, sizeof(range) - k, "%s`%.*s`", i ? " \\| " : "", (int)cl,
                             c);
                }
            } else if (op->type == TG_OPT_SET) {
                def[0] = range[0] = '\0';
                for (int i = 0; (1 << i) <= (int)op->max; i++) {
                    const char *c = tg_opt_choice_name(op, i, &cl);
                    size_t k = strlen(range), d = strlen(def);
                    snprintf(range + k, sizeof(range) - k, "%s`%.*s`", i ? " \\| " : "", (int)cl,
                             c);
                    if ((int)op->def & (1 << i))
                        snprintf(def + d, sizeof(def) - d, "%s%.*s", d ? "," : "", (int)cl, c);
                }
            } else {
                if (op->type == TG_OPT_BYTES && op->def <= 0)
                    snprintf(def, sizeof(def), "none");
                else
                    snprintf(def, sizeof(def), "%g", op->def);
                snprintf(range, sizeof(range), "%.0f..%.0f", op->min, op->max);
                if (op->type == TG_OPT_DOUBLE)
                    snprintf(range, sizeof(range), "%g..%g", op->min, op->max);
            }
            static const char *const types[] = {"int", "number", "choice", "bytes", "set"};
            snprintf(want, sizeof(want), "\n| `%s` | %s | %s | `%s` | %s", op->name, st->stage,
                     types[op->type], def, range);
            ck_assert_msg(strstr(md, want) != NULL, "docs/api.md lacks the row starting %s",
                          want + 1);
        }
    ck_assert_msg(rows == n, "docs/api.md lists %zu options, the table has %zu", rows, n);
    free(md);
}
END_TEST

Suite *suite_serve(void);
Suite *suite_serve(void)
{
    Suite *s = suite_create("serve");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, upload_life_cycle_cache_and_ranges);
    tcase_add_test(tc, events_arrive_in_order);
    tcase_add_test(tc, errors_have_the_right_status);
    tcase_add_test(tc, cancel_restart_and_concurrency);
    tcase_add_test(tc, a_full_queue_answers_429);
    tcase_add_test(tc, access_refuses_other_sites_and_hosts);
    tcase_add_test(tc, page_files_gzipped_and_revalidated);
    tcase_add_test(tc, access_token);
    tcase_add_test(tc, access_made_token_is_printed);
    tcase_add_test(tc, access_refuses_to_start);
    suite_add_tcase(s, tc);
    TCase *th = tcase_create("hardening");
    tcase_set_timeout(th, 120);
    tcase_add_test(th, non_ascii_requests_get_an_answer);
    tcase_add_test(th, a_failed_job_keeps_its_error);
    tcase_add_test(th, requests_are_validated);
    tcase_add_test(th, the_same_upload_joins_its_job);
    tcase_add_test(th, edit_retry_delete_and_the_option_table);
    tcase_add_test(th, formats_option_and_a_quick_rerender);
    suite_add_tcase(s, th);
    TCase *td = tcase_create("docs");
    tcase_add_test(td, the_api_docs_list_the_option_table);
    suite_add_tcase(s, td);
    TCase *tu = tcase_create("startup");
    tcase_set_timeout(tu, 60);
    tcase_add_test(tu, two_servers_refuse_one_data_folder);
    tcase_add_test(tu, stale_temp_files_are_removed_at_start);
    tcase_add_test(tu, a_damaged_database_refuses_to_start);
    suite_add_tcase(s, tu);
    TCase *tf = tcase_create("diskfull");
    tcase_set_timeout(tf, 300);
    tcase_add_loop_test(tf, a_full_disk_ends_the_job_at_every_stage, 0, 4);
    suite_add_tcase(s, tf);
    return s;
}
