/*
 * ytdlp.c — run yt-dlp as a child process to download one video (see ytdlp.h).
 * Called by the server's workers for URL jobs; the only file that knows yt-dlp's
 * command line and output. yt-dlp's failures are translated to TG_E* here.
 *
 *   spawn (core/proc.h: argv, own process group, stdin /dev/null, stdout+stderr to pipes)
 *     │
 *     ▼
 *   loop every ≤100 ms: read lines ─► "PROG …" → progress, other stdout → the path,
 *     │                               stderr → the last ERROR line
 *     ├── cancel (tgi_progress says so) / timeout / over max_bytes ──► kill group
 *     ▼
 *   child exited and both pipes closed ──► waitpid ──► map exit status + text
 *
 * Invariants: never a shell (posix_spawnp with an argument vector; the URL comes
 * after "--", so it can't be an option); the child is always reaped; on cancel or
 * timeout the whole process group (yt-dlp and any ffmpeg it started) gets SIGTERM,
 * then SIGKILL after 500 ms; on failure every file named OUT_NAME.* that appeared
 * in out_dir during the run is removed.
 *
 * Private addresses (allow_private == 0): the URL's own host is checked first (a
 * quick, clear refusal before anything runs); then, because yt-dlp follows redirects
 * and resolves names again by itself, it is run behind the egress guard (guard.h):
 * `--proxy http://127.0.0.1:PORT`, its environment's *_proxy variables (no_proxy
 * above all, which would let it go around the proxy) replaced with the guard's, so
 * every connection — redirects, fragments, ffmpeg — is checked where it is made. A
 * refusal by the guard wins over whatever yt-dlp made of its 403: TG_EREFUSED.
 */
#include "fetch/ytdlp.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/proc.h"
#include "core/utf8.h"
#include "fetch/addr.h"
#include "fetch/guard.h"
#include "fetch/sniff.h"
#include "fetch/url.h"

extern char **environ;

#define LINE_CAP 8192 /* longer lines are cut (a path is at most PATH_MAX) */
#define TICK_MS  100  /* progress/cancel/timeout check interval */

static const char PROG_TEMPLATE[] =
    "download:PROG %(progress.status)s %(progress.downloaded_bytes)s "
    "%(progress.total_bytes)s %(progress.total_bytes_estimate)s %(progress._percent_str)s "
    "%(progress.speed)s %(progress.eta)s";

/* what was chosen, for the job's "rendition" line (parse_fmt) */
static const char FMT_TEMPLATE[] = "after_move:TGFMT %(format_id)s|%(width)s|%(height)s|%(acodec)s";

typedef struct linebuf {
    char buf[LINE_CAP];
    size_t n;
    int cut; /* dropping the rest of an over-long line */
} linebuf;

typedef struct run {
    linebuf out, err;
    char *path;          /* last non-PROG stdout line */
    char err_line[1024]; /* last "ERROR:" line of stderr */
    char last_err[1024]; /* last non-empty stderr line */
    int too_big, filtered, unsupported, not_found, live, bot, offline, traceback;
    int have_got;
    tgi_ytdlp_got got;
    double fraction;
    double downloaded;
} run;

/* ---- output parsing ---- */

/* A number field of the progress template ("NA" or junk → 0). */
static int num(const char *s, double *v)
{
    char *end;
    double d = strtod(s, &end);
    if (end == s || d != d || d < 0)
        return 0;
    *v = d;
    return 1;
}

/* "PROG status downloaded total estimate percent speed eta" → r->fraction. */
static void parse_prog(run *r, const char *line)
{
    char status[32], down[64], total[64], est[64], pct[64];
    if (sscanf(line, "PROG %31s %63s %63s %63s %63s", status, down, total, est, pct) < 5)
        return;
    double d = 0, t = 0, f = -1;
    int have_d = num(down, &d);
    if (have_d)
        r->downloaded = d;
    if (strcmp(status, "finished") == 0)
        f = 1;
    else if (have_d && num(total, &t) && t > 0)
        f = d / t;
    else if (have_d && num(est, &t) && t > 0)
        f = d / t;
    else if (num(pct, &t))
        f = t / 100;
    if (f >= 0)
        r->fraction = f > 1 ? 1 : f;
}

/* "FORMAT_ID|WIDTH|HEIGHT|ACODEC" from our --print template ("NA" when unknown). */
static void parse_fmt(run *r, const char *line)
{
    char id[64] = "", w[16] = "", h[16] = "", ac[64] = "";
    if (sscanf(line, "%63[^|]|%15[^|]|%15[^|]|%63s", id, w, h, ac) < 3)
        return;
    memset(&r->got, 0, sizeof(r->got));
    tgi_utf8_copy(r->got.format_id, sizeof(r->got.format_id), id);
    tgi_utf8_sanitize(r->got.format_id); /* it goes into JSON: no half character */
    double d;
    if (num(w, &d) && d < 100000)
        r->got.width = (int)d;
    if (num(h, &d) && d < 100000)
        r->got.height = (int)d;
    r->got.has_audio = ac[0] && strcmp(ac, "none") != 0 && strcmp(ac, "NA") != 0;
    r->have_got = 1;
}

static void copy_line(char *dst, size_t n, const char *src)
{
    tgi_utf8_copy(dst, n, src);
}

static void on_line(run *r, int is_err, char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    if (!n)
        return;
    if (!is_err) {
        if (strncmp(line, "PROG ", 5) == 0) {
            parse_prog(r, line);
            return;
        }
        if (strncmp(line, "TGFMT ", 6) == 0) {
            parse_fmt(r, line + 6);
            return;
        }
        char *p = strdup(line);
        if (p) {
            free(r->path);
            r->path = p;
        }
        return;
    }
    copy_line(r->last_err, sizeof(r->last_err), line);
    if (strncmp(line, "ERROR:", 6) == 0)
        copy_line(r->err_line, sizeof(r->err_line), line);
    if (strstr(line, "larger than max-filesize"))
        r->too_big = 1;
    if (strstr(line, "does not pass filter"))
        r->filtered = 1;
    if (strstr(line, "Unsupported URL"))
        r->unsupported = 1;
    if (strstr(line, "HTTP Error 404"))
        r->not_found = 1;
    if (strstr(line, "live event") || strstr(line, "is live"))
        r->live = 1;
    if (strstr(line, "confirm you") && strstr(line, "not a bot"))
        r->bot = 1;
    if (strstr(line, "Temporary failure in name resolution") ||
        strstr(line, "Name or service not known") || strstr(line, "Network is unreachable") ||
        strstr(line, "Connection refused") || strstr(line, "timed out"))
        r->offline = 1;
    if (strncmp(line, "Traceback (most recent call last)", 33) == 0)
        r->traceback = 1;
}

/* Feed bytes into the stream's line buffer, calling on_line for each full line. */
static void feed(run *r, int is_err, const char *data, size_t len)
{
    linebuf *lb = is_err ? &r->err : &r->out;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\n') {
            lb->buf[lb->n] = '\0';
            on_line(r, is_err, lb->buf);
            lb->n = 0;
            lb->cut = 0;
        } else if (!lb->cut) {
            if (lb->n + 1 < sizeof(lb->buf))
                lb->buf[lb->n++] = c;
            else
                lb->cut = 1;
        }
    }
}

static void flush_line(run *r, int is_err)
{
    linebuf *lb = is_err ? &r->err : &r->out;
    if (lb->n) {
        lb->buf[lb->n] = '\0';
        on_line(r, is_err, lb->buf);
        lb->n = 0;
    }
}

/* Read what is available (non-blocking fd); closes it and sets -1 at end of file. */
/* tgi_proc's output callback: stdout and stderr into lines (len 0: the stream ended). */
static void on_output(void *user, int stream, const char *data, size_t len)
{
    run *r = user;
    if (len)
        feed(r, stream == 2, data, len);
    else
        flush_line(r, stream == 2);
}

/* yt-dlp's error line without "ERROR: " and "[extractor] id: " prefixes. */
static void clean_error(const char *line, char *out, size_t n)
{
    const char *p = line;
    if (strncmp(p, "ERROR:", 6) == 0)
        p += 6;
    while (*p == ' ')
        p++;
    if (*p == '[') {
        const char *rb = strchr(p, ']');
        if (rb && rb[1] == ' ') {
            p = rb + 2;
            const char *colon = strstr(p, ": ");
            if (colon && (size_t)(colon - p) == strcspn(p, " :"))
                p = colon + 2; /* "id: " — one word before the colon */
        }
    }
    size_t len = strlen(p);
    static const char *const tails[] = {
        "; please report this issue", " (caused by ", " <urlopen", ". Use --", ". See ", "; see "};
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        const char *tail = strstr(p, tails[i]);
        if (tail && (size_t)(tail - p) < len)
            len = (size_t)(tail - p) + (tails[i][0] == '.');
    }
    /* never a path of this machine: cut at the first absolute path */
    for (size_t i = 0; i < len; i++)
        if (p[i] == '/' && (i == 0 || p[i - 1] == ' ' || p[i - 1] == '\'' || p[i - 1] == '"') &&
            !(i >= 1 && p[i - 1] == '/') && strncmp(p + i, "//", 2) != 0) {
            len = i;
            while (len && (p[len - 1] == ' ' || p[len - 1] == '\'' || p[len - 1] == '"' ||
                           p[len - 1] == ':'))
                len--;
            break;
        }
    snprintf(out, n, "%.*s", (int)tgi_utf8_prefix(p, len > 300 ? 300 : len), p);
}

/* ---- files ---- */

typedef struct names {
    char **v;
    size_t n;
} names;

static void names_free(names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
    ns->v = NULL;
    ns->n = 0;
}

static int prefixed(const char *name, const char *prefix, size_t plen)
{
    return strncmp(name, prefix, plen) == 0 && name[plen] == '.';
}

/* Names in dir that start with "prefix.": 0, or -1 when out of memory. */
static int list_prefixed(const char *dir, const char *prefix, names *out)
{
    out->v = NULL;
    out->n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t plen = strlen(prefix), cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (!prefixed(e->d_name, prefix, plen))
            continue;
        if (out->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **nv = realloc(out->v, ncap * sizeof(*nv));
            if (!nv) {
                rc = -1;
                break;
            }
            out->v = nv;
            cap = ncap;
        }
        if (!(out->v[out->n] = strdup(e->d_name))) {
            rc = -1;
            break;
        }
        out->n++;
    }
    closedir(d);
    if (rc)
        names_free(out);
    return rc;
}

/* Remove the "prefix.*" files of dir that are not in before. */
static void remove_new(const char *dir, const char *prefix, const names *before)
{
    names now;
    if (list_prefixed(dir, prefix, &now) != 0)
        return;
    for (size_t i = 0; i < now.n; i++) {
        int old = 0;
        for (size_t j = 0; j < before->n && !old; j++)
            old = strcmp(now.v[i], before->v[j]) == 0;
        if (old)
            continue;
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, now.v[i]) < sizeof(p))
            unlink(p);
    }
    names_free(&now);
}

/* The file yt-dlp printed, as out_dir/NAME.ext, checked to be that file. */
static int take_path(tg_ctx *ctx, const tgi_ytdlp_opts *o, const char *printed, char **out)
{
    const char *base = strrchr(printed, '/');
    base = base ? base + 1 : printed;
    size_t nl = strlen(o->out_name);
    if (strncmp(base, o->out_name, nl) != 0 || base[nl] != '.')
        return tgi_fail(ctx, TG_EIO, "yt-dlp saved the video under an unexpected name");
    size_t dl = strlen(o->out_dir);
    while (dl > 1 && o->out_dir[dl - 1] == '/')
        dl--;
    size_t n = dl + strlen(base) + 2;
    char *cand = malloc(n);
    if (!cand)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    snprintf(cand, n, "%.*s/%s", (int)dl, o->out_dir, base);
    char *a = realpath(cand, NULL), *b = realpath(printed, NULL);
    struct stat st;
    int same = a && b && strcmp(a, b) == 0 && stat(a, &st) == 0 && S_ISREG(st.st_mode);
    free(a);
    free(b);
    if (!same) {
        free(cand);
        return tgi_fail(ctx, TG_EIO, "yt-dlp reported a file that is not there");
    }
    /* a link to a web page or an image "downloads" fine: only a video container passes */
    uint8_t head[512];
    size_t got = 0;
    FILE *f = fopen(cand, "rb");
    if (f) {
        got = fread(head, 1, sizeof(head), f);
        fclose(f);
    }
    if (!tgi_sniff_video(head, got)) {
        unlink(cand);
        free(cand);
        return tgi_fail(ctx, TG_EFORMAT,
                        "the link does not lead to a video (it is a web page or another kind "
                        "of file)");
    }
    *out = cand;
    return 0;
}

static char *out_template(const char *dir, const char *name)
{
    size_t n = 0;
    for (const char *s = dir; *s; s++)
        n += *s == '%' ? 2 : 1;
    n += strlen(name) + 16;
    char *t = malloc(n), *w = t;
    if (!t)
        return NULL;
    for (const char *s = dir; *s; s++) {
        *w++ = *s;
        if (*s == '%')
            *w++ = '%';
    }
    snprintf(w, n - (size_t)(w - t), "/%s.%%(ext)s", name);
    return t;
}

static int valid_name(const char *s)
{
    if (!s || !*s || *s == '.' || *s == '-' || strlen(s) > 128)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* "200 MB", "1.5 MB" or "1000 bytes" */
static const char *size_text(int64_t b, char *buf, size_t n)
{
    const int64_t mb = 1024 * 1024;
    if (b >= mb && b % mb == 0)
        snprintf(buf, n, "%lld MB", (long long)(b / mb));
    else if (b >= mb)
        snprintf(buf, n, "%.1f MB", (double)b / (double)mb);
    else
        snprintf(buf, n, "%lld bytes", (long long)b);
    return buf;
}

/* Map a finished child's status and output to a result. */
static int outcome(tg_ctx *ctx, const tgi_ytdlp_opts *o, const char *url, run *r, int status,
                   char **path)
{
    char why[400];
    if (WIFSIGNALED(status))
        return tgi_fail(ctx, TG_EIO, "yt-dlp was killed by signal %d", WTERMSIG(status));
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 0 && r->path) {
        int rc = take_path(ctx, o, r->path, path);
        if (rc == 0 && o->got && r->have_got)
            *o->got = r->got;
        return rc;
    }
    char sz[32];
    if (r->too_big && o->max_bytes > 0)
        return tgi_fail(ctx, TG_ELIMIT, "the video is larger than the limit of %s",
                        size_text(o->max_bytes, sz, sizeof(sz)));
    if (r->filtered && o->max_seconds > 0)
        return tgi_fail(ctx, TG_ELIMIT, "the video is longer than %d s or is a live stream",
                        o->max_seconds);
    if (r->filtered)
        return tgi_fail(ctx, TG_ELIMIT, "live streams are not supported");
    if (code == 0) { /* yt-dlp is silent about the size limit when it prints */
        char lim[160] = "";
        int len = 0;
        if (o->max_bytes > 0)
            len += snprintf(lim + len, sizeof(lim) - (size_t)len, "larger than %s, ",
                            size_text(o->max_bytes, sz, sizeof(sz)));
        if (o->max_seconds > 0)
            snprintf(lim + len, sizeof(lim) - (size_t)len, "longer than %d s, ", o->max_seconds);
        return tgi_fail(ctx, TG_ELIMIT, "nothing was downloaded: the video is %sor a live stream",
                        lim);
    }
    clean_error(r->err_line[0] ? r->err_line : r->last_err, why, sizeof(why));
    if (r->bot)
        return tgi_fail(ctx, TG_EREFUSED,
                        "YouTube asked this server to sign in to prove it is not a bot; the "
                        "operator can give thumbgen a cookies file (--ytdlp-cookies, see "
                        "docs/youtube.md)");
    if (r->offline)
        return tgi_fail(ctx, TG_EIO,
                        "the server could not reach the video's site (no network, "
                        "or the site did not answer)");
    if (r->traceback && !r->err_line[0])
        return tgi_fail(ctx, TG_EIO,
                        "yt-dlp crashed (exit code %d); `thumbgen doctor` says what "
                        "to fix",
                        code);
    if (r->unsupported)
        return tgi_fail(ctx, TG_EFORMAT, "no video found at %.*s", TG_CUT(url, 200));
    if (r->not_found)
        return tgi_fail(ctx, TG_ENOENT, "nothing at %.*s (HTTP 404)", TG_CUT(url, 200));
    if (r->live || strstr(why, "duration"))
        return tgi_fail(ctx, TG_ELIMIT, "%s", why);
    if (!why[0])
        return tgi_fail(ctx, TG_EIO, "yt-dlp failed with exit code %d", code);
    return tgi_fail(ctx, TG_EIO, "download failed: %s", why);
}

/* 1 for "NAME_proxy=…" in any case (http_proxy, HTTPS_PROXY, no_proxy, …). */
static int proxy_var(const char *e)
{
    const char *eq = strchr(e, '=');
    return eq && eq - e >= 6 && strncasecmp(eq - 6, "_proxy", 6) == 0;
}

/* environ without its *_proxy variables, plus http_proxy and https_proxy set to
 * the guard (the strings are borrowed); NULL when out of memory. */
static char **guarded_env(char *http, char *https)
{
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **env = malloc((n + 3) * sizeof(*env));
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!proxy_var(environ[i]))
            env[k++] = environ[i];
    env[k++] = http;
    env[k++] = https;
    env[k] = NULL;
    return env;
}

/* What one download needs besides the options: the strings argv points into. */
typedef struct dl_args {
    const char **argv;
    char *tmpl;
    char maxsize[32], filter[64], sort[32];
    char proxy[64], http_proxy[80], https_proxy[80];
} dl_args;

/* yt-dlp's command line for o and url (the URL after "--", never an option); with
 * o->allow_private == 0, behind a freshly started guard (*guard, *env). */
static int make_argv(tg_ctx *ctx, const tgi_ytdlp_opts *o, const char *url, const char *bin,
                     dl_args *a, tgi_guard **guard, char ***env)
{
    int rc;
    snprintf(a->maxsize, sizeof(a->maxsize), "%lld", (long long)o->max_bytes);
    /* "<=?": pass when the duration is unknown (direct files); the decoder checks it */
    if (o->max_seconds > 0)
        snprintf(a->filter, sizeof(a->filter), "duration<=?%d & !is_live", o->max_seconds);
    else
        snprintf(a->filter, sizeof(a->filter), "!is_live");
    if (o->n_extra < 0 || o->n_extra > 64)
        return tgi_fail(ctx, TG_EINVAL, "download: too many extra yt-dlp arguments");
    a->tmpl = out_template(o->out_dir, o->out_name);
    a->argv = calloc(48 + (size_t)o->n_extra, sizeof(*a->argv));
    if (!a->tmpl || !a->argv)
        return tgi_fail(ctx, TG_ENOMEM, "out of memory");
    int res = o->min_res > 0 && o->min_res < 1080 ? o->min_res : 1080;
    snprintf(a->sort, sizeof(a->sort), "+res:%d", res);
    const char **argv = a->argv;
    int ac = 0;
    argv[ac++] = bin;
    argv[ac++] = "--ignore-config";
    argv[ac++] = "--no-playlist";
    argv[ac++] = "-f";
    argv[ac++] = o->need_audio ? "bv*[height<=?1080]+ba/b[height<=?1080]/b"
                               : "bv[height<=?1080]/bv*[height<=?1080]/b[height<=?1080]/b";
    argv[ac++] = "-S";
    argv[ac++] = a->sort;
    argv[ac++] = "--newline";
    argv[ac++] = "--progress";
    argv[ac++] = "--progress-template";
    argv[ac++] = PROG_TEMPLATE;
    argv[ac++] = "--print";
    argv[ac++] = FMT_TEMPLATE;
    argv[ac++] = "--print";
    argv[ac++] = "after_move:filepath";
    argv[ac++] = "-o";
    argv[ac++] = a->tmpl;
    if (o->max_bytes > 0) {
        argv[ac++] = "--max-filesize";
        argv[ac++] = a->maxsize;
    }
    argv[ac++] = "--match-filters";
    argv[ac++] = a->filter;
    argv[ac++] = "--no-part";
    argv[ac++] = "--restrict-filenames";
    argv[ac++] = "--no-mtime";
    argv[ac++] = "--socket-timeout";
    argv[ac++] = "20";
    if (!o->allow_private) {
        if ((rc = tgi_guard_start(ctx, 0, guard)) != 0)
            return rc; /* never without the guard */
        snprintf(a->proxy, sizeof(a->proxy), "http://127.0.0.1:%d", tgi_guard_port(*guard));
        snprintf(a->http_proxy, sizeof(a->http_proxy), "http_proxy=%s", a->proxy);
        snprintf(a->https_proxy, sizeof(a->https_proxy), "https_proxy=%s", a->proxy);
        if (!(*env = guarded_env(a->http_proxy, a->https_proxy)))
            return tgi_fail(ctx, TG_ENOMEM, "out of memory");
        argv[ac++] = "--proxy";
        argv[ac++] = a->proxy;
    }
    if (o->js_runtime && *o->js_runtime) {
        argv[ac++] = "--js-runtimes";
        argv[ac++] = o->js_runtime;
    }
    if (o->cookies && *o->cookies) {
        argv[ac++] = "--cookies";
        argv[ac++] = o->cookies;
    }
    for (int i = 0; i < o->n_extra; i++)
        argv[ac++] = o->extra_args[i];
    argv[ac++] = "--";
    argv[ac++] = url;
    argv[ac] = NULL;
    return 0;
}

/* Follow the running yt-dlp until it is done, or until cancel, the timeout or the
 * size limit says to stop (the caller then stops it). */
static int watch(tg_ctx *ctx, const tgi_ytdlp_opts *o, tgi_proc *pr, run *r)
{
    int64_t start = tgi_mono_ms(), last_tick = start;
    for (;;) {
        int done = tgi_proc_poll(pr, TICK_MS, on_output, r);
        if (done < 0)
            return tgi_fail(ctx, TG_EIO, "waiting for yt-dlp: %s", strerror(errno));
        if (done)
            return 0;
        int64_t now = tgi_mono_ms();
        int rc;
        if (now - last_tick >= TICK_MS) {
            last_tick = now;
            if ((rc = tgi_progress(ctx, "download", r->fraction)) != 0)
                return rc;
        }
        if (o->timeout_s > 0 && now - start >= (int64_t)o->timeout_s * 1000)
            return tgi_fail(ctx, TG_ELIMIT, "the download took longer than %d s", o->timeout_s);
        if (o->max_bytes > 0 && r->downloaded > (double)o->max_bytes) {
            char sz[32];
            return tgi_fail(ctx, TG_ELIMIT, "the video is larger than the limit of %s",
                            size_text(o->max_bytes, sz, sizeof(sz)));
        }
    }
}

/* The guard's refusal explains yt-dlp's failure (a 403), and even a success: something
 * in the download pointed at a private address. */
static int refused(tg_ctx *ctx, tgi_guard *guard, int rc, char **path)
{
    if (!guard || rc == TG_ECANCEL)
        return rc;
    char why[512];
    tgi_guard_refusal(guard, why, sizeof(why));
    if (!why[0])
        return rc;
    free(*path);
    *path = NULL;
    return tgi_fail(ctx, TG_EREFUSED,
                    "%s (the link redirected there, or its name now resolves there)", why);
}

int tgi_ytdlp_download(tg_ctx *ctx, const tgi_ytdlp_opts *o, const char *url, char **path)
{
    int rc = 0, ran = 0;
    names before = {NULL, 0};
    run *r = NULL;
    tgi_proc *pr = NULL;
    tgi_guard *guard = NULL;
    char **env = NULL;
    dl_args a = {0};

    if (path)
        *path = NULL;
    if (!o || !url || !*url || !path)
        return tgi_fail(ctx, TG_EINVAL, "download: missing argument");
    if (!o->out_dir || !*o->out_dir)
        return tgi_fail(ctx, TG_EINVAL, "download: no output folder");
    if (!valid_name(o->out_name))
        return tgi_fail(ctx, TG_EINVAL, "download: invalid output name");
    if (!o->allow_private) {
        tgi_url u;
        if ((rc = tgi_url_parse(ctx, url, &u)) || (rc = tgi_host_check(ctx, u.host, 0)))
            return rc;
    }
    if (tgi_progress(ctx, "download", 0) == TG_ECANCEL)
        return TG_ECANCEL;

    const char *bin = o->binary && *o->binary ? o->binary : "yt-dlp";
    if (!(r = calloc(1, sizeof(*r)))) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = make_argv(ctx, o, url, bin, &a, &guard, &env)) != 0)
        goto fail;
    if (list_prefixed(o->out_dir, o->out_name, &before) != 0) {
        rc = tgi_fail(ctx, TG_ENOMEM, "out of memory");
        goto fail;
    }
    int se = tgi_proc_spawn(a.argv, env, &pr);
    if (se != 0) {
        if (se == ENOENT)
            rc = tgi_fail(ctx, TG_EIO, "yt-dlp is not installed (cannot run '%.*s': %s)",
                          TG_CUT(bin, 200), strerror(se));
        else
            rc = tgi_fail(ctx, TG_EIO, "cannot run '%.*s': %s", TG_CUT(bin, 200), strerror(se));
        goto fail;
    }
    ran = 1;
    rc = watch(ctx, o, pr, r);
    int status = tgi_proc_end(&pr);
    if (rc == 0 && status < 0)
        rc = tgi_fail(ctx, TG_EIO, "lost track of yt-dlp: %s", strerror(errno));
    if (rc == 0)
        rc = outcome(ctx, o, url, r, status, path);
    rc = refused(ctx, guard, rc, path);
    if (rc == 0)
        tgi_progress(ctx, "download", 1); /* cancel after the end: the file is there */

fail:
    tgi_proc_end(&pr);
    tgi_guard_stop(&guard);
    free(env);
    if (rc != 0 && ran)
        remove_new(o->out_dir, o->out_name, &before);
    if (r)
        free(r->path);
    free(r);
    free(a.tmpl);
    free(a.argv);
    names_free(&before);
    return rc;
}

/* ---- what the download needs, what this yt-dlp can do, updating it ---- */

int tgi_ytdlp_needed_res(const tg_options *o, char *why, size_t why_n)
{
    int w = o->width, res;
    char what[96];
    snprintf(what, sizeof(what), "the %d-px GIF", w);
    if (o->upscale == TG_UPSCALE_FULLHD) {
        w = 1920;
        snprintf(what, sizeof(what), "the 1920-px outputs of upscale fullhd");
    } else if (o->upscale == TG_UPSCALE_HD && w < 1280) {
        w = 1280;
        snprintf(what, sizeof(what), "the 1280-px outputs of upscale hd");
    } else if (o->upscale == TG_UPSCALE_AUTO && w < 1280) {
        w = 1280;
        snprintf(what, sizeof(what), "the poster, made 1280 px wide under upscale auto");
    }
    res = (w * 9 + 15) / 16; /* the height of a 16:9 picture w wide */
    if (res > 1080)
        res = 1080;
    if (why && why_n)
        snprintf(why, why_n,
                 "the smallest rendition at least %d px tall covers %s (never above 1080p, "
                 "video only)",
                 res, what);
    return res;
}

/* Run argv (no shell) with stdin /dev/null; the last line of its stdout goes to out
 * (`--version` prints one), its last stderr line to err (optional). Killed after timeout_ms.
 * Returns the exit code, or -1 when it could not run or timed out. */
static int run_capture(tg_ctx *ctx, const char *const argv[], char *out, size_t out_n, char *err,
                       size_t err_n, int timeout_ms)
{
    int code = -1;
    tgi_proc *pr = NULL;
    run *r = calloc(1, sizeof(*r));
    if (out_n)
        out[0] = '\0';
    if (err && err_n)
        err[0] = '\0';
    if (!r || tgi_proc_spawn(argv, NULL, &pr) != 0)
        goto done;
    int64_t start = tgi_mono_ms();
    int timed_out = 0, done;
    while ((done = tgi_proc_poll(pr, TICK_MS, on_output, r)) == 0) {
        if (tgi_mono_ms() - start >= timeout_ms ||
            (ctx && tgi_progress(ctx, "update", 0) == TG_ECANCEL)) {
            timed_out = 1;
            break;
        }
    }
    int st = tgi_proc_end(&pr);
    if (!timed_out && done > 0 && st >= 0 && WIFEXITED(st))
        code = WEXITSTATUS(st);
    if (r->path && out_n)
        snprintf(out, out_n, "%s", r->path);
    if (err && err_n)
        snprintf(err, err_n, "%s", r->err_line[0] ? r->err_line : r->last_err);
done:
    if (r)
        free(r->path);
    free(r);
    return code;
}

/* The leading number of "v20.19.2", "deno 2.5.6 (stable, …)" or "1.2.3". */
static int major_of(const char *v)
{
    while (*v && !(*v >= '0' && *v <= '9'))
        v++;
    long m = strtol(v, NULL, 10);
    return m > 0 && m < 100000 ? (int)m : 0;
}

/* PATH lookup of name (or a path with a slash): 1 and the path in out. */
static int find_exe(const char *name, char *out, size_t n)
{
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        return access(name, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        if ((size_t)snprintf(out, n, "%.*s/%s", (int)len, len ? path : ".", name) < n &&
            access(out, X_OK) == 0)
            return 1;
        path += len + (path[len] == ':');
    }
    return 0;
}

/* A runtime candidate: path → version (first line of `PATH --version`) and major. */
static int try_runtime(tg_ctx *ctx, const char *path, const char *name, int min_major,
                       tgi_ytdlp_info *info)
{
    char line[256];
    const char *argv[] = {path, "--version", NULL};
    if (access(path, X_OK) != 0 || run_capture(ctx, argv, line, sizeof(line), NULL, 0, 10000) != 0)
        return 0;
    if (major_of(line) < min_major)
        return 0;
    const char *v = line;
    while (*v && !(*v >= '0' && *v <= '9'))
        v++;
    snprintf(info->js_name, sizeof(info->js_name), "%s", name);
    snprintf(info->js_version, sizeof(info->js_version), "%.*s", (int)strcspn(v, " "), v);
    snprintf(info->js_path, sizeof(info->js_path), "%s", path);
    return 1;
}

void tgi_ytdlp_probe(tg_ctx *ctx, const char *binary, tgi_ytdlp_info *info)
{
    memset(info, 0, sizeof(*info));
    const char *bin = binary && *binary ? binary : "yt-dlp";
    char exe[PATH_MAX], line[256];
    const char *argv[] = {bin, "--version", NULL};
    if (find_exe(bin, exe, sizeof(exe)) &&
        run_capture(ctx, argv, line, sizeof(line), NULL, 0, 20000) == 0)
        snprintf(info->version, sizeof(info->version), "%.*s", (int)strcspn(line, " "), line);

    /* deno >= 2: beside this yt-dlp (the project's .venv/bin), then on PATH; node >= 20 */
    char cand[PATH_MAX];
    const char *slash = strrchr(exe, '/');
    int found = 0;
    if (info->version[0] && slash &&
        (size_t)snprintf(cand, sizeof(cand), "%.*s/deno", (int)(slash - exe), exe) < sizeof(cand))
        found = try_runtime(ctx, cand, "deno", 2, info);
    if (!found && find_exe("deno", cand, sizeof(cand)))
        found = try_runtime(ctx, cand, "deno", 2, info);
    if (!found && find_exe("node", cand, sizeof(cand)))
        found = try_runtime(ctx, cand, "node", 20, info);

    /* versions are dates, YYYY.MM.DD[.N]: the text order is the date order */
    int new_enough = info->version[0] && strncmp(info->version, TG_YTDLP_MIN_YOUTUBE, 10) >= 0;
    info->youtube_ok = new_enough && found;
    if (!info->version[0])
        snprintf(info->notice, sizeof(info->notice),
                 "Links need yt-dlp, which this server cannot run; run `make update-ytdlp` (or "
                 "install yt-dlp) and restart.");
    else if (!new_enough)
        snprintf(info->notice, sizeof(info->notice),
                 "YouTube links need yt-dlp %s or newer and a JavaScript runtime; this server has "
                 "%s%s — run `make update-ytdlp`.",
                 TG_YTDLP_MIN_YOUTUBE, info->version, found ? "" : " and no runtime");
    else if (!found)
        snprintf(info->notice, sizeof(info->notice),
                 "YouTube links need a JavaScript runtime (deno 2 or node 20) for yt-dlp; this "
                 "server has none — run `make update-ytdlp`.");
}

int tgi_ytdlp_update(tg_ctx *ctx, const char *binary, int timeout_s)
{
    char exe[PATH_MAX], py[PATH_MAX], err[1024];
    const char *bin = binary && *binary ? binary : "yt-dlp";
    if (!find_exe(bin, exe, sizeof(exe)))
        return tgi_fail(ctx, TG_ENOENT, "yt-dlp is not installed");
    const char *slash = strrchr(exe, '/');
    if (!slash ||
        (size_t)snprintf(py, sizeof(py), "%.*s/python", (int)(slash - exe), exe) >= sizeof(py) ||
        access(py, X_OK) != 0)
        return tgi_fail(ctx, TG_ENOENT,
                        "this yt-dlp is the system's (update it with apt, or run `make "
                        "update-ytdlp` to give thumbgen its own)");
    const char *argv[] = {
        py,          "-m", "pip",       "install", "--quiet",   "--disable-pip-version-check",
        "--timeout", "10", "--retries", "1",       "--upgrade", "yt-dlp[default]",
        NULL};
    int code = run_capture(ctx, argv, NULL, 0, err, sizeof(err), timeout_s * 1000);
    if (ctx && tgi_progress(ctx, "update", 1) == TG_ECANCEL)
        return TG_ECANCEL;
    if (code != 0)
        return tgi_fail(ctx, TG_EIO,
                        "could not update yt-dlp with pip (is the Python package index "
                        "reachable?)");
    return 0;
}
