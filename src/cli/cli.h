/*
 * cli.h — the subcommands that live in their own file (main.c dispatches).
 */
#ifndef TG_CLI_CLI_H
#define TG_CLI_CLI_H

#include "thumbgen.h"

/* thumbgen embed IMAGE|VIDEO [--cnn MODEL] [-o FILE.jsonl] */
int embed_main(int argc, char **argv);
/* thumbgen doctor [--ytdlp PATH] [--data DIR]: one line per part; exit 1 when a
 * required part is missing */
int doctor_main(int argc, char **argv);
/* thumbgen worker --store postgres://... --data DIR: claims and runs jobs of a shared
 * queue, no HTTP server (docs/deploy.md) */
int worker_main(int argc, char **argv);
/* Run the server (serve or worker) until SIGINT/SIGTERM stops it; the exit status,
 * with the error said on stderr. */
int tg_cli_run_server(const tg_serve_opts *o);
/* Seconds ("5", "0.5") as milliseconds in 10 ms .. 1 day: 0, or -1 when bad. */
int tg_cli_parse_ms(const char *v, int *ms);

#endif
