/*
 * test_youtube.c — links on a real machine (issue 11), offline:
 *   - the rendition choice against an HLS ladder (1080p/720p/360p/240p made with
 *     ffmpeg) served from a loopback file server that logs what was fetched, through
 *     a real `thumbgen serve --allow-private-urls` and Debian's yt-dlp;
 *   - stand-in yt-dlp scripts: an old version (healthz, page notice, doctor), a new
 *     one with a deno beside it (--js-runtimes passed), YouTube's bot check, a crash
 *     with a traceback, a web page instead of a video (one sentence each, no path);
 *   - the operator's cookies file and extra arguments reach yt-dlp;
 *   - scripts/setup-ytdlp with the package index unreachable goes on with one notice;
 *   - the browser-playable copy (libav) of an AVI: H.264 yuv420p, at most 720 tall,
 *     index first, same length.
 */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch/ytdlp.h"
#include "http.h"
#include "util.h"

/* ---- a loopback file server over one folder, logging each path and its bytes ---- */

typedef struct files_srv {
    tgt_origin srv;
    const char *dir;
    int port;
    pthread_mutex_t mu;
    char log[16384]; /* "GET /path BYTES\n" per request */
    size_t log_n;
    long long bytes;
} files_srv;

static void files_one(void *user, int c)
{
    files_srv *h = user;
    char req[8192], path[512];
    if (tgt_read_head(c, req, sizeof(req), 2000) < 0)
        return;
    char method[8] = "", target[400] = "";
    if (sscanf(req, "%7s %399s", method, target) != 2)
        return;
    int head = !strcmp(method, "HEAD");
    char *q = strchr(target, '?');
    if (q)
        *q = '\0';
    size_t len = 0;
    char *body = NULL;
    if (!strstr(target, "..") && target[0] == '/') {
        snprintf(path, sizeof(path), "%s%s", h->dir, target);
        body = tgt_read_file(path, &len);
    }
    const char *ct = strstr(target, ".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t";
    char hdr[256];
    int hl = body ? snprintf(hdr, sizeof(hdr),
                             "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n",
                             ct, len)
                  : snprintf(hdr, sizeof(hdr),
                             "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: "
                             "close\r\n\r\n");
    tgt_send_all(c, hdr, (size_t)hl);
    if (body && !head)
        tgt_send_all(c, body, len);
    pthread_mutex_lock(&h->mu);
    h->log_n += (size_t)snprintf(h->log + h->log_n, sizeof(h->log) - h->log_n, "%s %s %zu\n",
                                 method, target, body && !head ? len : 0);
    if (h->log_n >= sizeof(h->log))
        h->log_n = sizeof(h->log) - 1;
    h->bytes += body && !head ? (long long)len : 0;
    pthread_mutex_unlock(&h->mu);
    free(body);
}

static void files_start(files_srv *h, const char *dir)
{
    memset(h, 0, sizeof(*h));
    h->dir = dir;
    pthread_mutex_init(&h->mu, NULL);
    tgt_origin_start(&h->srv, files_one, h);
    h->port = h->srv.port;
}

static void files_stop(files_srv *h)
{
    tgt_origin_stop(&h->srv);
    pthread_mutex_destroy(&h->mu);
}

/* Forget the log (between jobs). */
static void files_reset(files_srv *h)
{
    pthread_mutex_lock(&h->mu);
    h->log_n = 0;
    h->log[0] = '\0';
    h->bytes = 0;
    pthread_mutex_unlock(&h->mu);
}

/* ---- the server's API ---- */

static json_t *body_json(const tgt_resp *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    ck_assert_msg(j != NULL, "not JSON (%d): %.200s", r->status, r->body);
    return j;
}

static char *submit(tgt_server *s, const char *url, const char *options_json)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"url\":\"%s\"%s%s}", url, options_json ? ",\"options\":" : "",
             options_json ? options_json : "");
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "POST", "/api/jobs", "Content-Type: application/json\r\n",
                              body, strlen(body), &r),
                     0);
    ck_assert_msg(r.status == 202 || r.status == 200, "submit %s: %d %s", url, r.status, r.body);
    json_t *j = body_json(&r);
    char *id = strdup(json_string_value(json_object_get(j, "id")));
    json_decref(j);
    tgt_resp_free(&r);
    return id;
}

/* Wait until the job is done or failed (60 s at most); the job's JSON. */
static json_t *wait_end(tgt_server *s, const char *id)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/jobs/%s", id);
    for (int i = 0; i < 600; i++) {
        tgt_resp r;
        ck_assert_int_eq(tgt_http(s->port, "GET", path, NULL, NULL, 0, &r), 0);
        json_t *j = body_json(&r);
        tgt_resp_free(&r);
        const char *st = json_string_value(json_object_get(j, "state"));
        if (st && (!strcmp(st, "done") || !strcmp(st, "failed")))
            return j;
        json_decref(j);
        usleep(100 * 1000);
    }
    ck_abort_msg("job %s did not end in 60 s", id);
    return NULL;
}

static json_t *healthz_now(tgt_server *s)
{
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s->port, "GET", "/healthz", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    json_t *j = body_json(&r);
    tgt_resp_free(&r);
    return j;
}

/* /healthz once the server's first look at yt-dlp has ended ("checking" until then). */
static json_t *healthz(tgt_server *s)
{
    for (int i = 0; i < 600; i++) {
        json_t *j = healthz_now(s);
        if (!json_is_true(json_object_get(json_object_get(j, "ytdlp"), "checking")))
            return j;
        json_decref(j);
        usleep(100 * 1000);
    }
    ck_abort_msg("/healthz still says checking after 60 s");
    return NULL;
}

static const char *error_message(json_t *job)
{
    const char *m = json_string_value(json_object_get(json_object_get(job, "error"), "message"));
    return m ? m : "";
}

/* ---- stand-in yt-dlp scripts ---- */

static char *script(const char *dir, const char *name, const char *body)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "#!/bin/sh\n%s\n", body);
    fclose(f);
    ck_assert_int_eq(chmod(p, 0755), 0);
    return p;
}

static void rm_tree(const char *dir)
{
    char *argv[] = {"/bin/rm", "-rf", (char *)dir, NULL};
    tgt_run r;
    tgt_run_cmd(&r, argv);
    tgt_run_free(&r);
}

static char *scratch_dir(void)
{
    char *d = tgt_tmp_path(".dir");
    ck_assert_int_eq(mkdir(d, 0755), 0);
    return d;
}

/* ---- tests ---- */

START_TEST(needed_res_follows_the_largest_output)
{
    tg_options o;
    char why[300];
    tg_options_default(&o);
    /* defaults: 480-px GIF, upscale auto → the 1280-px poster → 720p */
    ck_assert_int_eq(tgi_ytdlp_needed_res(&o, why, sizeof(why)), 720);
    ck_assert_msg(strstr(why, "poster") && strstr(why, "1280"), "%s", why);
    o.upscale = TG_UPSCALE_OFF;
    ck_assert_int_eq(tgi_ytdlp_needed_res(&o, why, sizeof(why)), 270);
    ck_assert_msg(strstr(why, "480-px GIF"), "%s", why);
    o.width = 1920;
    ck_assert_int_eq(tgi_ytdlp_needed_res(&o, NULL, 0), 1080);
    o.width = 480;
    o.upscale = TG_UPSCALE_HD;
    ck_assert_int_eq(tgi_ytdlp_needed_res(&o, NULL, 0), 720);
    o.upscale = TG_UPSCALE_FULLHD;
    ck_assert_int_eq(tgi_ytdlp_needed_res(&o, NULL, 0), 1080);
}
END_TEST

/* How many requests for NAME_* segments the log shows. */
static int fetched(files_srv *h, const char *prefix)
{
    int n = 0;
    pthread_mutex_lock(&h->mu);
    for (const char *p = h->log; (p = strstr(p, prefix)); p++)
        n++;
    pthread_mutex_unlock(&h->mu);
    return n;
}

START_TEST(hls_ladder_default_takes_720p_and_gif480_off_takes_360p)
{
    /* a 3-s four-rung ladder: v0 1080p, v1 720p, v2 360p, v3 240p */
    char *dir = scratch_dir(), out[1024], seg[1024], master[1024];
    snprintf(seg, sizeof(seg), "%s/v%%v_%%03d.ts", dir);
    snprintf(out, sizeof(out), "%s/v%%v.m3u8", dir);
    char *ff[] = {"/usr/bin/ffmpeg",
                  "-nostdin",
                  "-v",
                  "error",
                  "-y",
                  "-f",
                  "lavfi",
                  "-i",
                  "testsrc2=size=1920x1080:rate=25:duration=3",
                  "-filter_complex",
                  "[0:v]split=4[a][b][c][d];[a]scale=1920:1080[v0];[b]scale=1280:720[v1];"
                  "[c]scale=640:360[v2];[d]scale=426:240[v3]",
                  "-map",
                  "[v0]",
                  "-map",
                  "[v1]",
                  "-map",
                  "[v2]",
                  "-map",
                  "[v3]",
                  "-c:v",
                  "libx264",
                  "-preset",
                  "ultrafast",
                  "-g",
                  "25",
                  "-b:v",
                  "800k",
                  "-f",
                  "hls",
                  "-hls_time",
                  "1",
                  "-hls_playlist_type",
                  "vod",
                  "-hls_segment_filename",
                  seg,
                  "-master_pl_name",
                  "master.m3u8",
                  "-var_stream_map",
                  "v:0 v:1 v:2 v:3",
                  out,
                  NULL};
    tgt_run fr;
    ck_assert_int_eq(tgt_run_cmd(&fr, ff), 0);
    ck_assert_msg(fr.status == 0, "ffmpeg: %s", fr.err);
    tgt_run_free(&fr);
    snprintf(master, sizeof(master), "%s/master.m3u8", dir);
    ck_assert_int_eq(tgt_file_exists(master), 1);
    files_srv h;
    files_start(&h, dir);
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--allow-private-urls", "--ytdlp", "yt-dlp",
                                      "--ytdlp-update", "never", NULL),
                     0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/master.m3u8", h.port);

    /* default options: the poster is made 1280 px wide → the 720p rendition, only it */
    char *id = submit(&s, url, NULL);
    json_t *j = wait_end(&s, id);
    ck_assert_msg(!strcmp(json_string_value(json_object_get(j, "state")), "done"), "%s",
                  error_message(j));
    json_t *d = json_object_get(json_object_get(j, "result"), "download");
    ck_assert_msg(json_is_object(d), "no download report: %s", json_dumps(j, 0));
    ck_assert_int_eq(json_integer_value(json_object_get(d, "height")), 720);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "width")), 1280);
    ck_assert_msg(strstr(json_string_value(json_object_get(d, "reason")), "poster"), "%s",
                  json_string_value(json_object_get(d, "reason")));
    ck_assert_msg(fetched(&h, "/v1_0") == 3 && fetched(&h, "/v0_0") == 0 &&
                      fetched(&h, "/v2_0") == 0,
                  "fetched: %s", h.log);
    json_decref(j);
    free(id);

    /* upscale off + a 480-px GIF → 270 px tall is enough → the 360p rendition */
    files_reset(&h);
    id = submit(&s, url, "{\"upscale\":\"off\",\"width\":480}");
    j = wait_end(&s, id);
    ck_assert_msg(!strcmp(json_string_value(json_object_get(j, "state")), "done"), "%s",
                  error_message(j));
    d = json_object_get(json_object_get(j, "result"), "download");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "height")), 360);
    ck_assert(json_is_false(json_object_get(d, "audio")));
    ck_assert_msg(fetched(&h, "/v2_0") == 3 && fetched(&h, "/v1_0") == 0 &&
                      fetched(&h, "/v0_0") == 0,
                  "fetched: %s", h.log);
    json_decref(j);
    free(id);
    tgt_server_stop(&s);
    free(s.data);
    files_stop(&h);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* The server listens before it has asked yt-dlp and node what they are (1-10 s): the
 * page and /healthz answer at once, /healthz says "checking", and a stop during the
 * probe ends it instead of waiting for it. */
START_TEST(server_listens_before_the_ytdlp_probe_ends)
{
    char *dir = scratch_dir();
    char *slow = script(dir, "yt-dlp",
                        "[ \"$1\" = --version ] && { exec sleep 60; }\n"
                        "exit 1");
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--ytdlp", slow, "--ytdlp-update", "never", NULL),
                     0);
    json_t *h = healthz_now(&s), *y = json_object_get(h, "ytdlp");
    ck_assert(json_is_true(json_object_get(y, "checking")));
    ck_assert_ptr_null(json_object_get(y, "version"));
    json_decref(h);
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", "/", NULL, NULL, 0, &r), 0);
    ck_assert_int_eq(r.status, 200);
    tgt_resp_free(&r);
    /* a clean exit, not the SIGKILL tgt_server_stop sends after 20 s */
    ck_assert_int_eq(tgt_server_stop(&s), 0);
    free(s.data);
    free(slow);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(old_ytdlp_shows_in_healthz_page_and_doctor)
{
    char *dir = scratch_dir();
    char *old = script(dir, "yt-dlp",
                       "[ \"$1\" = --version ] && { echo 2023.03.04; exit 0; }\n"
                       "exit 1");
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--ytdlp", old, "--ytdlp-update", "never", NULL),
                     0);
    json_t *h = healthz(&s), *y = json_object_get(h, "ytdlp");
    ck_assert_str_eq(json_string_value(json_object_get(y, "version")), "2023.03.04");
    ck_assert(json_is_false(json_object_get(y, "youtube_ok")));
    const char *notice = json_string_value(json_object_get(y, "notice"));
    ck_assert_msg(notice && strstr(notice, "2025.11.12") && strstr(notice, "2023.03.04") &&
                      strstr(notice, "make update-ytdlp"),
                  "%s", notice ? notice : "(none)");
    json_decref(h);
    /* the page has the place for it and its script fills it from /healthz */
    tgt_resp r;
    ck_assert_int_eq(tgt_http(s.port, "GET", "/", NULL, NULL, 0, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "id=\"url-notice\""));
    tgt_resp_free(&r);
    ck_assert_int_eq(tgt_http(s.port, "GET", "/static/app.js", NULL, NULL, 0, &r), 0);
    ck_assert(strstr(r.body, "'/healthz'") && strstr(r.body, "y.notice"));
    tgt_resp_free(&r);
    tgt_server_stop(&s);
    free(s.data);

    /* doctor: a warning with the fix, exit 0 (links other than YouTube work) */
    tgt_run run;
    tgt_thumbgen(&run, "doctor", "--ytdlp", old, "--data", dir, NULL);
    ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.out);
    ck_assert_msg(strstr(run.out, "warn     yt-dlp       2023.03.04") &&
                      strstr(run.out, "make update-ytdlp"),
                  "%s", run.out);
    ck_assert(strstr(run.out, "ffmpeg libs") && strstr(run.out, "CNN weights") &&
              strstr(run.out, "face model") && strstr(run.out, "subjects") &&
              strstr(run.out, "data folder") && strstr(run.out, "Chromium"));
    /* Debian's libavfilter has zscale and tonemap: HDR is tone-mapped */
    ck_assert_msg(strstr(run.out, "ok       HDR          zscale and tonemap"), "%s", run.out);
    tgt_run_free(&run);
    /* no weights at all: a warning per network saying what is lost and the fix, exit 0,
     * and no path */
    const char *models = getenv("TG_MODELS");
    char *keep = models ? strdup(models) : NULL;
    setenv("TG_MODELS", "/nonexistent/models", 1);
    tgt_thumbgen(&run, "doctor", "--ytdlp", old, "--data", dir, NULL);
    if (keep)
        setenv("TG_MODELS", keep, 1);
    else
        unsetenv("TG_MODELS");
    free(keep);
    ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.out);
    ck_assert_msg(strstr(run.out, "warn     CNN weights  not found") &&
                      strstr(run.out, "warn     face model   not found: eyes are not checked") &&
                      strstr(run.out, "warn     subjects     not found: people and animals") &&
                      strstr(run.out, "fix: scripts/fetch-models") &&
                      !strstr(run.out, "/nonexistent"),
                  "%s", run.out);
    tgt_run_free(&run);
    /* no yt-dlp at all: missing, exit 1 */
    char nope[1024];
    snprintf(nope, sizeof(nope), "%s/no-such-yt-dlp", dir);
    tgt_thumbgen(&run, "doctor", "--ytdlp", nope, "--data", dir, NULL);
    ck_assert_int_eq(run.status, 1);
    ck_assert_msg(strstr(run.out, "missing  yt-dlp") && strstr(run.out, "make update-ytdlp"), "%s",
                  run.out);
    tgt_run_free(&run);
    free(old);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(new_ytdlp_gets_its_runtime_cookies_and_extra_args)
{
    char *dir = scratch_dir();
    char log[1024], cookies[1024];
    snprintf(log, sizeof(log), "%s/args.log", dir);
    snprintf(cookies, sizeof(cookies), "%s/cookies.txt", dir);
    FILE *f = fopen(cookies, "w");
    fputs("# Netscape HTTP Cookie File\n", f);
    fclose(f);
    char body[2048];
    snprintf(body, sizeof(body),
             "[ \"$1\" = --version ] && { echo 2025.11.12; exit 0; }\n"
             "for a in \"$@\"; do echo \"$a\"; done > '%s'\n"
             "echo 'ERROR: [youtube] dQw4w9WgXcQ: Sign in to confirm you\xe2\x80\x99re not a bot. "
             "Use --cookies-from-browser or --cookies for the authentication. See  "
             "https://github.com/yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how "
             "to manually pass your cookies.' >&2\nexit 1",
             log);
    char *yt = script(dir, "yt-dlp", body);
    char *deno = script(dir, "deno", "echo 'deno 2.9.6 (stable, release, x86_64)'");
    tgt_server s;
    ck_assert_int_eq(tgt_server_start(&s, NULL, "--ytdlp", yt, "--ytdlp-update", "never",
                                      "--allow-private-urls", "--ytdlp-cookies", cookies,
                                      "--ytdlp-arg=--extractor-args", "--ytdlp-arg",
                                      "youtube:player_client=web", NULL),
                     0);
    json_t *h = healthz(&s), *y = json_object_get(h, "ytdlp");
    ck_assert(json_is_true(json_object_get(y, "youtube_ok")));
    ck_assert_str_eq(json_string_value(json_object_get(y, "js_runtime")), "deno 2.9.6");
    ck_assert(json_is_null(json_object_get(y, "notice")));
    json_decref(h);

    char *id = submit(&s, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", NULL);
    json_t *j = wait_end(&s, id);
    ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "failed");
    const char *m = error_message(j);
    /* one sentence of ours: no yt-dlp prefix, no path, the fix named */
    ck_assert_msg(!strstr(m, "ERROR") && !strstr(m, "[youtube]") && !strstr(m, "dQw4") &&
                      !strstr(m, "http") && !strstr(m, s.data) && strstr(m, "not a bot") &&
                      strstr(m, "--ytdlp-cookies"),
                  "%s", m);
    json_decref(j);
    free(id);
    tgt_server_stop(&s);
    free(s.data);

    size_t n;
    char *args = tgt_read_file(log, &n);
    ck_assert_ptr_nonnull(args);
    char want[2048];
    snprintf(want, sizeof(want), "--js-runtimes\ndeno:%s\n", deno);
    ck_assert_msg(strstr(args, want), "%s", args);
    snprintf(want, sizeof(want), "--cookies\n%s\n", cookies);
    ck_assert_msg(strstr(args, want), "%s", args);
    ck_assert_msg(strstr(args, "--extractor-args\nyoutube:player_client=web\n--\n"), "%s", args);
    ck_assert_msg(strstr(args, "-S\n+res:720\n"), "%s", args);
    free(args);
    free(yt);
    free(deno);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(failures_are_one_sentence_without_paths)
{
    char *dir = scratch_dir();
    /* an old yt-dlp gets no --js-runtimes (it would refuse it): crash with a traceback */
    char *crash = script(dir, "crash",
                         "[ \"$1\" = --version ] && { echo 2023.03.04; exit 0; }\n"
                         "for a in \"$@\"; do [ \"$a\" = --js-runtimes ] && exit 3; done\n"
                         "echo 'Traceback (most recent call last):' >&2\n"
                         "echo '  File \"/usr/lib/python3/dist-packages/yt_dlp/__init__.py\", "
                         "line 1' >&2\n"
                         "echo 'KeyError: formats' >&2\nexit 1");
    /* a link to a web page: yt-dlp's generic extractor "downloads" the HTML */
    char *page = script(dir, "page",
                        "[ \"$1\" = --version ] && { echo 2023.03.04; exit 0; }\n"
                        "prev=; for a in \"$@\"; do [ \"$prev\" = -o ] && o=\"$a\"; "
                        "prev=\"$a\"; done\n"
                        "f=$(dirname \"$o\")/$(basename \"$o\" '.%(ext)s').html\n"
                        "echo '<!doctype html><html><body>hello</body></html>' > \"$f\"\n"
                        "echo \"$f\"");
    /* Debian's yt-dlp on an offline machine, word for word */
    char *offline = script(
        dir, "offline",
        "[ \"$1\" = --version ] && { echo 2023.03.04; exit 0; }\n"
        "echo \"ERROR: [youtube] dQw4w9WgXcQ: Unable to download API page: <urlopen error "
        "[Errno -2] Name or service not known> (caused by URLError(gaierror(-2, 'Name or service "
        "not known')))\" >&2\nexit 1");
    const char *bins[3] = {crash, page, offline};
    const char *want[3] = {"yt-dlp crashed", "does not lead to a video", "could not reach"};
    for (int k = 0; k < 3; k++) {
        tgt_server s;
        ck_assert_int_eq(tgt_server_start(&s, NULL, "--ytdlp", bins[k], "--ytdlp-update", "never",
                                          "--allow-private-urls", NULL),
                         0);
        char *id = submit(&s, "http://127.0.0.1:9/video", NULL);
        json_t *j = wait_end(&s, id);
        ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "failed");
        const char *m = error_message(j);
        ck_assert_msg(strstr(m, want[k]) && !strstr(m, "Traceback") && !strstr(m, "/usr") &&
                          !strstr(m, s.data) && !strstr(m, "ERROR") && !strstr(m, "urlopen") &&
                          !strstr(m, "[youtube]"),
                      "%s", m);
        json_decref(j);
        free(id);
        tgt_server_stop(&s);
        free(s.data);
    }
    free(crash);
    free(page);
    free(offline);
    rm_tree(dir);
    free(dir);
}
END_TEST

START_TEST(setup_goes_on_without_the_package_index)
{
    char *venv = tgt_tmp_path(".venv");
    char *argv[] = {"/usr/bin/env", NULL, "TG_PIP_INDEX=http://127.0.0.1:9/simple",
                    "scripts/setup-ytdlp", NULL};
    size_t n = strlen(venv) + 16;
    argv[1] = malloc(n);
    snprintf(argv[1], n, "TG_VENV=%s", venv);
    tgt_run r;
    tgt_run_cmd(&r, argv);
    ck_assert_msg(r.status == 0, "exit %d: %s", r.status, r.err);
    const char *first = strstr(r.err, "notice: the Python package index cannot be reached");
    ck_assert_msg(first && strstr(r.err, "Debian's") && strstr(r.err, "make update-ytdlp"), "%s",
                  r.err);
    ck_assert_msg(!strstr(first + 20, "package index cannot"), "said twice: %s", r.err);
    tgt_run_free(&r);
    /* a second set-up does not wait for the index again, and says nothing */
    tgt_run_cmd(&r, argv);
    ck_assert_int_eq(r.status, 0);
    ck_assert_msg(!strstr(r.err, "package index"), "%s", r.err);
    tgt_run_free(&r);
    free(argv[1]);
    rm_tree(venv);
    free(venv);
}
END_TEST

Suite *suite_youtube(void);
Suite *suite_youtube(void)
{
    Suite *s = suite_create("youtube");
    TCase *tc = tcase_create("youtube");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, needed_res_follows_the_largest_output);
    tcase_add_test(tc, hls_ladder_default_takes_720p_and_gif480_off_takes_360p);
    tcase_add_test(tc, server_listens_before_the_ytdlp_probe_ends);
    tcase_add_test(tc, old_ytdlp_shows_in_healthz_page_and_doctor);
    tcase_add_test(tc, new_ytdlp_gets_its_runtime_cookies_and_extra_args);
    tcase_add_test(tc, failures_are_one_sentence_without_paths);
    tcase_add_test(tc, setup_goes_on_without_the_package_index);
    suite_add_tcase(s, tc);
    return s;
}
