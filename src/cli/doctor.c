/*
 * doctor.c — `thumbgen doctor`: is this machine ready? One line per part (from
 * tgi_doctor in the library), exit 0 when every required part is there, 1 when one
 * is missing, 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const tgi_arg doctor_args[] = {
    {.name = "ytdlp",
     .kind = TG_ARG_STRING,
     .offset = TG_CLI_SERVE_AT(ytdlp),
     .meta = "PATH",
     .help = "the yt-dlp to check (as thumbgen serve --ytdlp)",
     .no_default = 1},
    {.name = "data",
     .kind = TG_ARG_STRING,
     .offset = TG_CLI_SERVE_AT(data_dir),
     .meta = "DIR",
     .help = "the data folder to check (as thumbgen serve --data)"},
    {0},
};

static int doctor_main(int argc, char **argv)
{
    tgi_cli_serve_args s, defaults;
    memset(&s, 0, sizeof(s));
    tgi_serve_opts_default(&s.o);
    defaults = s;
    int rc = tgi_cli_parse(&tgi_cli_doctor, argc, argv, &s, &defaults);
    if (rc)
        return rc == 1 ? 0 : rc;
    return tgi_doctor(s.o.ytdlp, s.o.data_dir, stdout) > 0 ? 1 : 0;
}

const tgi_cli_command tgi_cli_doctor = {
    .name = "doctor",
    .main = doctor_main,
    .usage = "usage: thumbgen doctor [--ytdlp PATH] [--data DIR]\n"
             "  One line per part thumbgen needs: yt-dlp and its JavaScript runtime, the\n"
             "  ffmpeg libraries, the weights of each network (CNN, faces, subjects), the\n"
             "  data folder, Chromium for the browser test; what is wrong and the command\n"
             "  that fixes it. Exit 1 when a required part is missing.\n",
    .args = doctor_args,
};
