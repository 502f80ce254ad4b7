/*
 * cli.h — the subcommands that live in their own file (main.c dispatches).
 */
#ifndef TG_CLI_CLI_H
#define TG_CLI_CLI_H

/* thumbgen embed IMAGE|VIDEO [--cnn MODEL] [-o FILE.jsonl] */
int embed_main(int argc, char **argv);
/* thumbgen doctor [--ytdlp PATH] [--data DIR]: one line per part; exit 1 when a
 * required part is missing */
int doctor_main(int argc, char **argv);

#endif
