/*
 * commands.c — the table of thumbgen's commands, each defined in its own file
 * (make.c, plan.c, …), and the overview `thumbgen --help` prints from it.
 */
#include <string.h>

#include "cli/cli.h"

const tg_cli_command *const tg_cli_commands[] = {
    &tg_cli_make,    &tg_cli_plan,  &tg_cli_analyze, &tg_cli_encode, &tg_cli_embed,
    &tg_cli_upscale, &tg_cli_serve, &tg_cli_worker,  &tg_cli_doctor, NULL,
};

const tg_cli_command *tg_cli_find(const char *name)
{
    for (const tg_cli_command *const *c = tg_cli_commands; *c; c++)
        if (!strcmp((*c)->name, name))
            return *c;
    return NULL;
}

void tg_cli_print_overview(FILE *f)
{
    fprintf(f, "usage: thumbgen COMMAND [options]   (thumbgen COMMAND --help for its options)\n"
               "       thumbgen --version\n\n");
    /* each command's synopsis: its usage up to the line that says what it does */
    for (const tg_cli_command *const *c = tg_cli_commands; *c; c++) {
        const char *u = (*c)->usage, *end = strstr(u, "\n  ");
        fprintf(f, "%.*s\n", (int)(end ? end - u : (long)strlen(u)), u);
    }
    tg_cli_print_lib_options(f);
}
