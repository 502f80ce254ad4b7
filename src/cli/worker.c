/*
 * worker.c — `thumbgen worker`: a process that claims jobs from a shared queue
 * (a PostgreSQL store) and runs them — download, analyse, render — into the shared
 * data folder, with no HTTP server (tgi_serve_run with no_http). Any number of them,
 * on any number of machines, beside any number of `thumbgen serve` API processes
 * (docs/deploy.md). SIGTERM or SIGINT drains it: the running jobs go back to the
 * queue at once and another worker takes them.
 */
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
    tgi_serve_stop();
}

int tgi_cli_run_server(const tgi_serve_opts *o)
{
    tg_ctx *ctx = tg_ctx_new();
    if (!ctx)
        return 1;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = tgi_serve_run(ctx, o);
    if (rc < 0)
        fprintf(stderr, "thumbgen: error: %s\n",
                *tg_ctx_message(ctx) ? tg_ctx_message(ctx) : tg_strerror(rc));
    tg_ctx_free(&ctx);
    return rc < 0 ? 1 : 0;
}

static const tgi_arg worker_args[] = {
    {.name = "store",
     .kind = TG_ARG_STRING,
     .offset = TG_CLI_SERVE_AT(store),
     .meta = "SPEC",
     .help = "postgres://USER@HOST/DB (libpq URI); default\n$THUMBGEN_STORE",
     .no_default = 1},
    {.name = "data",
     .kind = TG_ARG_STRING,
     .offset = TG_CLI_SERVE_AT(data_dir),
     .meta = "DIR",
     .help = "the shared folder: videos/, thumbnails/, tmp/"},
    TG_CLI_SERVE_ROWS("analyse/render threads", "lease renewal and reaping period in seconds"),
    {.name = "quiet",
     .letter = 'q',
     .kind = TG_ARG_FLAG,
     .offset = TG_CLI_SERVE_AT(quiet),
     .help = "less on stderr"},
    {0},
};

static int worker_check(const tgi_serve_opts *o)
{
    const tgi_cli_command *cmd = &tgi_cli_worker;
    if (!o->store || strncmp(o->store, "postgres", 8) != 0)
        return tgi_cli_usage_error(
            cmd, "needs a shared store: --store postgres://... (or THUMBGEN_STORE)%s", "");
    if (o->workers + o->downloaders == 0)
        return tgi_cli_usage_error(cmd, "needs at least one worker or downloader%s", "");
    if (o->heartbeat_ms * 2 > o->lease_ms)
        return tgi_cli_usage_error(cmd, "the heartbeat must be at most half the lease%s", "");
    return 0;
}

static int worker_main(int argc, char **argv)
{
    tgi_cli_serve_args s, defaults;
    if (tgi_cli_serve_setup(&s, argc) < 0)
        return 1;
    s.o.no_http = 1;
    s.o.ytdlp_update = TG_YTDLP_UPDATE_NEVER; /* the machine's yt-dlp, as installed */
    memcpy(&defaults, &s, sizeof(s));
    int rc = tgi_cli_parse(&tgi_cli_worker, argc, argv, &s, &defaults);
    if (rc == 1)
        rc = 0; /* --help */
    else if (rc == 0 && (rc = worker_check(&s.o)) == 0)
        rc = tgi_cli_run_server(&s.o); /* 1 when the server failed */
    tgi_cli_serve_cleanup(&s);
    return rc;
}

const tgi_cli_command tgi_cli_worker = {
    .name = "worker",
    .main = worker_main,
    .usage = "usage: thumbgen worker --store postgres://... [--data DIR] [--workers N]\n"
             "                       [--downloaders N] [--lease S] [--heartbeat S] "
             "[--max-attempts N]\n"
             "                       [--ytdlp PATH] [--ytdlp-cookies FILE] [--max-upload SIZE]\n"
             "                       [--allow-private-urls] [--quiet]\n"
             "  Claim jobs from the shared queue and run them (no HTTP server). Start as many\n"
             "  as you like, on as many machines, beside `thumbgen serve --store` API\n"
             "  processes; all name the same --data folder (shared storage). SIGTERM drains\n"
             "  it: running jobs go back to the queue. See docs/deploy.md.\n",
    .args = worker_args,
};
