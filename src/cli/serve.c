/*
 * serve.c — `thumbgen serve`: the web app and its JSON API (docs/api.md). Its options
 * are one table (shared with `thumbgen worker`, worker.c, which takes a part of them);
 * the defaults are tgi_serve_opts_default's, read from a defaulted struct for --help,
 * so they are written in one place.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define AT(field) TG_CLI_SERVE_AT(field)

static int add_ytdlp_arg(void *dst, const char *v)
{
    tgi_cli_serve_args *s = dst;
    s->yargs[s->o.n_ytdlp_args++] = v;
    return 0;
}

static int add_public_host(void *dst, const char *v)
{
    tgi_cli_serve_args *s = dst;
    if (s->n_public >= 16 || !*v || strpbrk(v, ":/[] "))
        return -1;
    s->public_hosts[s->n_public++] = v;
    return 0;
}

int tgi_cli_serve_cookies(void *dst, const char *v)
{
    if (access(v, R_OK) != 0)
        return -1;
    ((tgi_cli_serve_args *)dst)->o.ytdlp_cookies = v;
    return 0;
}

static const tgi_arg serve_args[] = {
    {.name = "host",
     .kind = TG_ARG_STRING,
     .offset = AT(host),
     .meta = "ADDR",
     .help = "address to listen on"},
    {.name = "port",
     .kind = TG_ARG_INT,
     .offset = AT(port),
     .lo = 0,
     .hi = 65535,
     .meta = "N",
     .help = "port; 0 picks a free one"},
    {.name = "data",
     .kind = TG_ARG_STRING,
     .offset = AT(data_dir),
     .meta = "DIR",
     .help = "job database, videos/ and thumbnails/"},
    {.name = "store",
     .kind = TG_ARG_STRING,
     .offset = AT(store),
     .meta = "SPEC",
     .no_default = 1,
     .help = "the job store: sqlite:PATH (default DATA/thumbgen.db) or\n"
             "postgres://... shared with other API processes and\n"
             "`thumbgen worker`s (docs/deploy.md); default from\n"
             "$THUMBGEN_STORE when set"},
    TG_CLI_SERVE_ROWS("analyse/render workers; 0: API and page only",
                      "lease renewal period in seconds"),
    {.name = "ytdlp-arg",
     .kind = TG_ARG_FN,
     .fn = add_ytdlp_arg,
     .meta = "ARG",
     .help = "one more argument for yt-dlp (repeat it), e.g.\n"
             "--ytdlp-arg=--extractor-args --ytdlp-arg=youtube:..."},
    {.name = "ytdlp-update",
     .kind = TG_ARG_CHOICE,
     .offset = AT(ytdlp_update),
     .choices = "never|start|daily",
     .meta = "WHEN",
     .help = "upgrade the project's own yt-dlp with pip: never, start\n"
             "(in the background) or daily"},
    {.name = "max-queue",
     .kind = TG_ARG_INT,
     .offset = AT(max_queue),
     .lo = 1,
     .hi = 100000,
     .meta = "N",
     .help = "jobs waiting before new ones get 429"},
    {.name = "public-host",
     .kind = TG_ARG_FN,
     .fn = add_public_host,
     .meta = "NAME",
     .help = "also answer to this host name (repeatable; e.g. behind a\n"
             "reverse proxy); other Host headers get 421"},
    {.name = "token-file",
     .kind = TG_ARG_STRING,
     .offset = AT(token_file),
     .meta = "FILE",
     .help = "the API needs the token on FILE's first line (any address)"},
    {.name = "require-token",
     .kind = TG_ARG_FLAG,
     .offset = AT(require_token),
     .help = "make a token at start and print it, even on loopback"},
    {.name = "no-auth",
     .kind = TG_ARG_FLAG,
     .offset = AT(no_auth),
     .help = "serve a non-loopback address without a token (which is\n"
             "otherwise made at start and printed once)"},
    {.name = "web",
     .kind = TG_ARG_STRING,
     .offset = AT(web_dir),
     .meta = "DIR",
     .help = "the page's files"},
    {.name = "quiet",
     .letter = 'q',
     .kind = TG_ARG_FLAG,
     .offset = AT(quiet),
     .help = "no request log"},
    {0},
};

int tgi_cli_serve_setup(tgi_cli_serve_args *s, int argc)
{
    memset(s, 0, sizeof(*s));
    tgi_serve_opts_default(&s->o);
    s->yargs = calloc((size_t)argc + 1, sizeof(*s->yargs)); /* at most one per argument */
    if (!s->yargs) {
        fprintf(stderr, "thumbgen: error: out of memory\n");
        return -1;
    }
    s->o.ytdlp_args = s->yargs;
    s->o.public_hosts = s->public_hosts;
    const char *env_store = getenv("THUMBGEN_STORE");
    if (env_store && *env_store)
        s->o.store = env_store;
    return 0;
}

void tgi_cli_serve_cleanup(tgi_cli_serve_args *s)
{
    free(s->yargs);
    s->yargs = NULL;
}

static int serve_main(int argc, char **argv)
{
    tgi_cli_serve_args s, defaults;
    if (tgi_cli_serve_setup(&s, argc) < 0)
        return 1;
    memcpy(&defaults, &s, sizeof(s));
    int rc = tgi_cli_parse(&tgi_cli_serve, argc, argv, &s, &defaults);
    if (rc == 1)
        rc = 0; /* --help */
    else if (rc == 0)
        rc = tgi_cli_run_server(&s.o); /* 1 when the server failed */
    tgi_cli_serve_cleanup(&s);
    return rc;
}

const tgi_cli_command tgi_cli_serve = {
    .name = "serve",
    .main = serve_main,
    .usage = "usage: thumbgen serve [--host ADDR] [--port N] [--data DIR] [--workers N]\n"
             "                      [--downloaders N] [--ytdlp PATH] [--max-upload SIZE] "
             "[--max-queue N]\n"
             "                      [--allow-private-urls] [--web DIR] [--quiet]\n"
             "                      [--ytdlp-cookies FILE] [--ytdlp-arg ARG]... "
             "[--ytdlp-update never|start|daily]\n"
             "                      [--public-host NAME]... [--token-file FILE | "
             "--require-token | --no-auth]\n"
             "                      [--store SPEC] [--lease S] [--heartbeat S] "
             "[--max-attempts N]\n"
             "  The web app and its JSON API (docs/api.md) on http://HOST:PORT/.\n",
    .args = serve_args,
};
