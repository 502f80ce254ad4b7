/*
 * cli.h — the thumbgen command line: a table of commands (commands.c), one file per
 * command under src/cli/, each a {name, main, usage} with the table of its options.
 *
 * One parser (args.c) reads every command's argv from its option table: --name VALUE,
 * --name=VALUE, -x VALUE, flags, operands; --help is printed from the table (with
 * each option's default read from a defaulted struct, so a default is written once,
 * where the struct is defaulted); an unknown option is said as such, with the closest
 * known name ("unknown option '--clip'; did you mean --clips?"). Rows point into the
 * command's own struct by offset, as the library's tg_opt rows do into tg_options;
 * a command may also take the library's options (tg_option_stages), one by one
 * (TG_ARG_LIB) or all of them (lib_all). Exit statuses: 0 done, 1 the work failed,
 * 2 bad usage (one line on stderr, ending with where help is).
 */
#ifndef TG_CLI_CLI_H
#define TG_CLI_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "serve/serve.h"
#include "thumbgen.h"

typedef enum {
    TG_ARG_FLAG,    /* no value: the int field becomes 1 */
    TG_ARG_STRING,  /* a const char * field (borrowed from argv) */
    TG_ARG_INT,     /* an int field: a whole number in lo..hi */
    TG_ARG_SECONDS, /* an int field in milliseconds, written in seconds (0.01 .. 86400) */
    TG_ARG_BYTES,   /* a long long field: "500M", "1G" or bytes, in lo..hi */
    TG_ARG_CHOICE,  /* an int field: the index of the value in choices ("a|b|c") */
    TG_ARG_FN,      /* fn(dst, value) sets it: 0, or -1 for a bad value (NULL: a flag) */
    TG_ARG_LIB,     /* the library option of the same name, into the command's tg_options */
} tgi_arg_kind;

typedef struct tgi_arg {
    const char *name; /* without the "--" */
    char letter;      /* the one-letter form (-o), or 0 */
    tgi_arg_kind kind;
    size_t offset; /* of the field in the command's struct */
    double lo, hi;
    const char *choices; /* TG_ARG_CHOICE */
    int (*fn)(void *dst, const char *value);
    const char *meta; /* the value's name in --help ("N", "DIR"); NULL: a flag, no value */
    const char *help; /* '\n' starts a continuation line */
    int no_default;   /* --help shows no default for it */
} tgi_arg;

typedef struct tgi_cli_command {
    const char *name;
    int (*main)(int argc, char **argv); /* argv[1] is the command's name */
    const char *usage;                  /* "usage: thumbgen NAME ..." and what it does */
    const tgi_arg *args;                /* its options, ending with {NULL} */
    int lib_all;                        /* it takes every library option too */
    size_t lib_at;                      /* where its tg_options is (lib_all, TG_ARG_LIB) */
    /* an operand (a non-option argument): NULL when taken, else a message with one %s
     * for it; a command with no operand function takes none */
    const char *(*operand)(void *dst, const char *arg);
} tgi_cli_command;

/* Every command, ending with NULL (commands.c). */
extern const tgi_cli_command *const tgi_cli_commands[];
extern const tgi_cli_command tgi_cli_make, tgi_cli_plan, tgi_cli_analyze, tgi_cli_encode,
    tgi_cli_embed, tgi_cli_upscale, tgi_cli_serve, tgi_cli_worker, tgi_cli_doctor;
const tgi_cli_command *tgi_cli_find(const char *name);
/* thumbgen --help: every command's synopsis and the library's options. */
void tgi_cli_print_overview(FILE *f);

/* Parse argv[2..] into dst by cmd's table. defaults: dst's struct as defaulted, for
 * --help (NULL: none shown). Returns 0 to go on, 1 when --help was printed (exit 0),
 * 2 on a usage error (said on stderr). */
int tgi_cli_parse(const tgi_cli_command *cmd, int argc, char **argv, void *dst,
                  const void *defaults);
/* cmd's --help: its usage, its options from its table, the library's if lib_all. */
void tgi_cli_help(const tgi_cli_command *cmd, FILE *f, const void *defaults);
/* A usage error: "thumbgen: " fmt (one %s for arg) " (see 'thumbgen CMD --help')";
 * cmd may be NULL. Returns 2. */
int tgi_cli_usage_error(const tgi_cli_command *cmd, const char *fmt, const char *arg);
/* The name among names (n of them) closest to typed (Damerau-Levenshtein), when close
 * enough to be a likely typo; NULL otherwise. */
const char *tgi_cli_closest(const char *typed, const char *const *names, size_t n);
/* The edit distance between a and b: insertions, deletions, substitutions and
 * transpositions of two neighbours (optimal string alignment). */
size_t tgi_cli_distance(const char *a, const char *b);

/* The library's options in --help (make, plan, encode, analyze). */
void tgi_cli_print_lib_options(FILE *f);

/* A command's job: its context, SIGINT/SIGTERM cancel it, a progress bar on a
 * terminal unless quiet. Returns 1 with a bar, 0 without, -1 out of memory. */
int tgi_cli_job_start(int quiet, tg_ctx **ctx);
/* The job's end: ends a progress bar line, frees the context. */
void tgi_cli_job_end(int bar, tg_ctx **ctx);
/* "thumbgen: error: ..." from the context; returns 1. */
int tgi_cli_fail(tg_ctx *ctx, int rc);
/* Refuse (exit 2) before anything is written when an output names an input. */
int tgi_cli_outputs_spare_inputs(const tgi_cli_command *cmd, const char *const *ins, size_t n_in,
                                 const char *const *outs, size_t n_out);
/* A whole file as a string (NULL when it cannot be read or is larger than max). */
char *tgi_cli_slurp(const char *path, size_t max);

/* make, plan, encode and analyze: what they share (common.c) */
typedef struct tgi_cli_job {
    const char *cmd, *input, *output, *poster, *plan_in, *sheet;
    const char *from_analysis; /* plan --from-analysis FILE */
    const char *anim[3];       /* make/encode: the .gif, .webp and .mp4 outputs */
    const char **inputs;       /* encode: every input (points into argv) */
    size_t n_inputs;
    int quiet;
    int formats;            /* --format/--all: bit k = gif, webp, mp4 */
    const char *base;       /* -o without a known extension (a base name for --format) */
    char expanded[3][4096]; /* base + extension for --format */
    tg_options opt;
} tgi_cli_job;
int tgi_cli_job_output(void *dst, const char *value); /* -o: by extension */
int tgi_cli_job_format(void *dst, const char *value); /* --format gif|webp|mp4 */
int tgi_cli_job_all(void *dst, const char *value);    /* --all */
const char *tgi_cli_job_operand(void *dst, const char *arg);
/* Parse a job command's argv (tgi_cli_parse, then --format's names and the input
 * check). 0 to go on, -1 when --help was printed (exit 0), else the exit status.
 * c->inputs is allocated: the caller frees it. */
int tgi_cli_job_parse(const tgi_cli_command *cmd, int argc, char **argv, tgi_cli_job *c);
/* make and plan: the plan (made, read or from an analysis), then rendered or written */
int tgi_cli_make_or_plan(const tgi_cli_command *cmd, tgi_cli_job *c);
/* A job command's main: parse argv into a tgi_cli_job, run it, free it; the exit
 * status. */
int tgi_cli_job_main(const tgi_cli_command *cmd, int argc, char **argv,
                     int (*run)(const tgi_cli_command *cmd, tgi_cli_job *c));
/* What the job commands' tables and entries share. */
#define TG_CLI_JOB_QUIET                                                                           \
    {                                                                                              \
        .name = "quiet", .letter = 'q', .kind = TG_ARG_FLAG,                                       \
        .offset = offsetof(tgi_cli_job, quiet), .help = "no progress bar"                          \
    }
#define TG_CLI_JOB_COMMAND(name_, main_, usage_, args_)                                            \
    {                                                                                              \
        .name = name_, .main = main_, .usage = usage_, .args = args_, .lib_all = 1,                \
        .lib_at = offsetof(tgi_cli_job, opt), .operand = tgi_cli_job_operand                       \
    }

/* Run the server (serve or worker) until SIGINT/SIGTERM stops it; the exit status,
 * with the error said on stderr. */
int tgi_cli_run_server(const tgi_serve_opts *o);
/* serve's options, which worker shares (serve.c) */
typedef struct tgi_cli_serve_args {
    tgi_serve_opts o;
    const char **yargs;           /* --ytdlp-arg values (borrowed from argv) */
    const char *public_hosts[17]; /* --public-host values, NULL-terminated */
    int n_public;
} tgi_cli_serve_args;
/* Defaults (tgi_serve_opts_default, $THUMBGEN_STORE), room for the lists; -1 when out
 * of memory (said). */
int tgi_cli_serve_setup(tgi_cli_serve_args *s, int argc);
int tgi_cli_serve_cookies(void *dst, const char *file); /* --ytdlp-cookies: readable */
#define TG_CLI_SERVE_AT(field) offsetof(tgi_cli_serve_args, o.field)
/* The rows serve and worker share, in both tables; the help of --workers and
 * --heartbeat differs (threads of a worker, reaping). */
#define TG_CLI_SERVE_ROWS(workers_help, heartbeat_help)                                            \
    {.name = "workers",                                                                            \
     .kind = TG_ARG_INT,                                                                           \
     .offset = TG_CLI_SERVE_AT(workers),                                                           \
     .lo = 0,                                                                                      \
     .hi = 64,                                                                                     \
     .meta = "N",                                                                                  \
     .help = workers_help},                                                                        \
        {.name = "downloaders",                                                                    \
         .kind = TG_ARG_INT,                                                                       \
         .offset = TG_CLI_SERVE_AT(downloaders),                                                   \
         .lo = 0,                                                                                  \
         .hi = 16,                                                                                 \
         .meta = "N",                                                                              \
         .help = "download workers"},                                                              \
        {.name = "lease",                                                                          \
         .kind = TG_ARG_SECONDS,                                                                   \
         .offset = TG_CLI_SERVE_AT(lease_ms),                                                      \
         .meta = "S",                                                                              \
         .help = "a claimed job's lease in seconds"},                                              \
        {.name = "heartbeat",                                                                      \
         .kind = TG_ARG_SECONDS,                                                                   \
         .offset = TG_CLI_SERVE_AT(heartbeat_ms),                                                  \
         .meta = "S",                                                                              \
         .help = heartbeat_help},                                                                  \
        {.name = "max-attempts",                                                                   \
         .kind = TG_ARG_INT,                                                                       \
         .offset = TG_CLI_SERVE_AT(max_attempts),                                                  \
         .lo = 1,                                                                                  \
         .hi = 100,                                                                                \
         .meta = "N",                                                                              \
         .help = "lost leases before a job fails"},                                                \
        {.name = "ytdlp",                                                                          \
         .kind = TG_ARG_STRING,                                                                    \
         .offset = TG_CLI_SERVE_AT(ytdlp),                                                         \
         .meta = "PATH",                                                                           \
         .help = "the yt-dlp to run (default: the project's .venv/bin/yt-dlp\n"                    \
                 "when scripts/setup made one, else yt-dlp on PATH)",                              \
         .no_default = 1},                                                                         \
        {.name = "ytdlp-cookies",                                                                  \
         .kind = TG_ARG_FN,                                                                        \
         .fn = tgi_cli_serve_cookies,                                                              \
         .meta = "FILE",                                                                           \
         .help = "a cookies.txt for yt-dlp (YouTube's \"confirm you're not\n"                      \
                 "a bot\" on server addresses; see docs/youtube.md)"},                             \
        {.name = "max-upload",                                                                     \
         .kind = TG_ARG_BYTES,                                                                     \
         .offset = TG_CLI_SERVE_AT(max_upload),                                                    \
         .lo = 1,                                                                                  \
         .hi = 1e15,                                                                               \
         .meta = "SIZE",                                                                           \
         .help = "largest upload or download, e.g. 500M"},                                         \
    {                                                                                              \
        .name = "allow-private-urls", .kind = TG_ARG_FLAG,                                         \
        .offset = TG_CLI_SERVE_AT(allow_private_urls),                                             \
        .help = "allow links to loopback and private addresses (tests)"                            \
    }
void tgi_cli_serve_cleanup(tgi_cli_serve_args *s);

#endif
