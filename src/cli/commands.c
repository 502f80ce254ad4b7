/*
 * commands.c — the table of thumbgen's commands, each defined in its own file
 * (make.c, plan.c, …), and the overview `thumbgen --help` prints from it.
 */
#include <string.h>

#include "cli/cli.h"

const tgi_cli_command *const tgi_cli_commands[] = {
    &tgi_cli_make,    &tgi_cli_plan,  &tgi_cli_analyze, &tgi_cli_encode, &tgi_cli_embed,
    &tgi_cli_upscale, &tgi_cli_serve, &tgi_cli_worker,  &tgi_cli_doctor, NULL,
};

const tgi_cli_command *tgi_cli_find(const char *name)
{
    for (const tgi_cli_command *const *c = tgi_cli_commands; *c; c++)
        if (!strcmp((*c)->name, name))
            return *c;
    return NULL;
}

void tgi_cli_print_overview(FILE *f)
{
    fprintf(f, "usage: thumbgen COMMAND [options]   (thumbgen COMMAND --help for its options)\n"
               "       thumbgen --version\n\n");
    /* each command's synopsis: its usage up to the line that says what it does */
    for (const tgi_cli_command *const *c = tgi_cli_commands; *c; c++) {
        const char *u = (*c)->usage, *end = strstr(u, "\n  ");
        fprintf(f, "%.*s\n", (int)(end ? end - u : (long)strlen(u)), u);
    }
    tgi_cli_print_lib_options(f);
}
