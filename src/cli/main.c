/*
 * main.c — the thumbgen command line: `thumbgen COMMAND ...` runs the command of
 * that name from the table (commands.c; one file per command). It only uses the
 * public header and the CLI's own.
 *
 * Options come from each command's table and the library's per-stage tables
 * (tg_option_stages), so --help and validation never drift from the library. Exit
 * codes: 0 success, 1 the work failed (one line on stderr says why), 2 bad usage.
 * SIGINT/SIGTERM cancel the job; the library removes partial outputs.
 *
 * Before a command runs, the program may run itself again with OpenBLAS's kernels for this CPU
 * (nn/blas.h: the library chooses them before main, and falls back to its slowest on
 * a CPU model it does not know).
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/blas.h"

#define TG_VERSION "0.1.0"

int main(int argc, char **argv)
{
    const char *a = argc > 1 ? argv[1] : NULL;
    if (a && !strcmp(a, "--version")) {
        printf("thumbgen %s\n", TG_VERSION);
        return 0;
    }
    if (!a || !strcmp(a, "-h") || !strcmp(a, "--help")) {
        tgi_cli_print_overview(a ? stdout : stderr);
        return a ? 0 : 2;
    }
    const tgi_cli_command *cmd = tgi_cli_find(a);
    if (cmd) {
        /* glibc raises its mmap threshold each time a mapped block is freed (up to 32 MB), so
         * after the first decoder closes, the decoders' frame buffers (~3 MB a plane set at
         * 1080p) come from the arenas of the threads that decode (frame threads, sparse
         * analysis' two stretch decoders), which keep them once freed: 20-30 MB of a make's
         * peak RSS. A fixed threshold maps them and gives them back (bench/RESULTS.md,
         * "Speed at every length", part 12). A process-wide setting: the program's, not
         * the library's. */
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        /* only a command runs the networks: the restart costs ~80 ms of CPU */
        tgi_blas_respawn(argv);
        return cmd->main(argc, argv);
    }
    const char *names[16];
    size_t n = 0;
    for (const tgi_cli_command *const *c = tgi_cli_commands; *c && n < 16; c++)
        names[n++] = (*c)->name;
    const char *near = tgi_cli_closest(a, names, n);
    char msg[160];
    snprintf(msg, sizeof(msg), "unknown command '%%s'%s%s%s", near ? "; did you mean " : "",
             near ? near : "", near ? "?" : "");
    return tgi_cli_usage_error(NULL, msg, a);
}
