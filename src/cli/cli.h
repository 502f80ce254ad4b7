/*
 * cli.h — the subcommands that live in their own file (main.c dispatches).
 */
#ifndef TG_CLI_CLI_H
#define TG_CLI_CLI_H

/* thumbgen embed IMAGE|VIDEO [--cnn MODEL] [-o FILE.jsonl] */
int embed_main(int argc, char **argv);

#endif
