/*
 * doctor.c — `thumbgen doctor`: is this machine ready? One line per part (from
 * tg_doctor in the library), exit 0 when every required part is there, 1 when one
 * is missing, 2 on bad usage.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "thumbgen.h"

int doctor_main(int argc, char **argv)
{
    tg_serve_opts o;
    tg_serve_opts_default(&o);
    const char *ytdlp = o.ytdlp, *data = o.data_dir;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("usage: thumbgen doctor [--ytdlp PATH] [--data DIR]\n"
                   "  One line per part thumbgen needs: yt-dlp and its JavaScript runtime, the\n"
                   "  ffmpeg libraries, the CNN weights, the data folder, Chromium for the\n"
                   "  browser test; what is wrong and the command that fixes it. Exit 1 when a\n"
                   "  required part is missing.\n");
            return 0;
        }
        if (!v || (strcmp(a, "--ytdlp") && strcmp(a, "--data"))) {
            fprintf(stderr, "thumbgen doctor: unknown option '%s' (see thumbgen doctor --help)\n",
                    a);
            return 2;
        }
        if (!strcmp(a, "--ytdlp"))
            ytdlp = v;
        else
            data = v;
        i++;
    }
    return tg_doctor(ytdlp, data, stdout) > 0 ? 1 : 0;
}
