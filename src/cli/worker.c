/*
 * worker.c — `thumbgen worker`: a process that claims jobs from a shared queue
 * (a PostgreSQL store) and runs them — download, analyse, render — into the shared
 * data folder, with no HTTP server (tg_serve_run with no_http). Any number of them,
 * on any number of machines, beside any number of `thumbgen serve` API processes
 * (docs/deploy.md). SIGTERM or SIGINT drains it: the running jobs go back to the
 * queue at once and another worker takes them.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "thumbgen.h"

static void on_stop(int sig)
{
    (void)sig;
    tg_serve_stop();
}

int tg_cli_run_server(const tg_serve_opts *o)
{
    tg_ctx *ctx = tg_ctx_new();
    if (!ctx)
        return 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = tg_serve_run(ctx, o);
    if (rc < 0)
        fprintf(stderr, "thumbgen: error: %s\n",
                *tg_ctx_message(ctx) ? tg_ctx_message(ctx) : tg_strerror(rc));
    tg_ctx_free(&ctx);
    return rc < 0 ? 1 : 0;
}

int tg_cli_parse_ms(const char *v, int *ms)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(s) || s < 0.01 || s > 86400)
        return -1;
    *ms = (int)lround(s * 1000);
    return 0;
}

static void worker_usage(FILE *f)
{
    fprintf(f, "usage: thumbgen worker --store postgres://... [--data DIR] [--workers N]\n"
               "                       [--downloaders N] [--lease S] [--heartbeat S] "
               "[--max-attempts N]\n"
               "                       [--ytdlp PATH] [--ytdlp-cookies FILE] [--max-upload SIZE]\n"
               "                       [--allow-private-urls] [--quiet]\n"
               "  Claim jobs from the shared queue and run them (no HTTP server). Start as many\n"
               "  as you like, on as many machines, beside `thumbgen serve --store` API\n"
               "  processes; all name the same --data folder (shared storage). SIGTERM drains\n"
               "  it: running jobs go back to the queue. See docs/deploy.md.\n"
               "  --store SPEC         postgres://USER@HOST/DB (libpq URI); default\n"
               "                       $THUMBGEN_STORE\n"
               "  --data DIR           the shared folder: videos/, thumbnails/, tmp/ (default\n"
               "                       ./data)\n"
               "  --workers N          analyse/render threads (default 2)\n"
               "  --downloaders N      download threads (default 2)\n"
               "  --lease S            a claimed job's lease in seconds (default 30)\n"
               "  --heartbeat S        lease renewal and reaping period in seconds (default 5)\n"
               "  --max-attempts N     lost leases before a job fails (default 3)\n"
               "  --ytdlp PATH, --ytdlp-cookies FILE, --max-upload SIZE, --allow-private-urls\n"
               "                       as for thumbgen serve\n"
               "  -q, --quiet          less on stderr\n");
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "thumbgen worker: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see thumbgen worker --help)\n");
    return 2;
}

static int parse_count(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return -1;
    *out = (int)x;
    return 0;
}

int worker_main(int argc, char **argv)
{
    tg_serve_opts o;
    tg_serve_opts_default(&o);
    o.no_http = 1;
    o.ytdlp_update = TG_YTDLP_UPDATE_NEVER; /* the machine's yt-dlp, as installed */
    const char *env_store = getenv("THUMBGEN_STORE");
    if (env_store && *env_store)
        o.store = env_store;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            worker_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
            continue;
        } else if (!strcmp(a, "--allow-private-urls")) {
            o.allow_private_urls = 1;
            continue;
        }
        if (!v)
            return bad_usage("option '%s' needs a value (or is unknown)", a);
        i++;
        if (!strcmp(a, "--store"))
            o.store = v;
        else if (!strcmp(a, "--data"))
            o.data_dir = v;
        else if (!strcmp(a, "--workers"))
            bad = parse_count(v, 0, 64, &o.workers);
        else if (!strcmp(a, "--downloaders"))
            bad = parse_count(v, 0, 16, &o.downloaders);
        else if (!strcmp(a, "--lease"))
            bad = tg_cli_parse_ms(v, &o.lease_ms);
        else if (!strcmp(a, "--heartbeat"))
            bad = tg_cli_parse_ms(v, &o.heartbeat_ms);
        else if (!strcmp(a, "--max-attempts"))
            bad = parse_count(v, 1, 100, &o.max_attempts);
        else if (!strcmp(a, "--ytdlp"))
            o.ytdlp = v;
        else if (!strcmp(a, "--ytdlp-cookies")) {
            bad = access(v, R_OK) != 0;
            o.ytdlp_cookies = v;
        } else if (!strcmp(a, "--max-upload")) {
            double bytes = 0;
            bad = tg_parse_bytes(v, &bytes) < 0 || bytes < 1 || bytes > 1e15;
            o.max_upload = (long long)bytes;
        } else
            return bad_usage("unknown option '%s'", a);
        if (bad)
            return bad_usage("bad value for %s", a);
    }
    if (!o.store || strncmp(o.store, "postgres", 8) != 0)
        return bad_usage("needs a shared store: --store postgres://... (or THUMBGEN_STORE)%s", "");
    if (o.workers + o.downloaders == 0)
        return bad_usage("needs at least one worker or downloader%s", "");
    if (o.heartbeat_ms * 2 > o.lease_ms)
        return bad_usage("the heartbeat must be at most half the lease%s", "");
    return tg_cli_run_server(&o);
}
