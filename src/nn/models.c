/*
 * models.c — where the weights are (see nn.h, tgi_nn_models_dir): the analysis's
 * networks, the face detector and the CNN upscaler all load from this folder.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/nn.h"

#ifndef TG_MODELS_DIR
#define TG_MODELS_DIR "/usr/local/share/thumbgen/models"
#endif

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *tgi_nn_models_dir(void)
{
    static char dir[PATH_MAX];
    const char *env = getenv("TG_MODELS");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            /* build/thumbgen → models/; PREFIX/bin/thumbgen → PREFIX/share/thumbgen/models */
            static const char *const rel[] = {"/../models", "/../share/thumbgen/models"};
            for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
                if (snprintf(dir, sizeof(dir), "%s%s", exe, rel[i]) < (int)sizeof(dir) &&
                    is_dir(dir))
                    return dir;
            }
        }
    }
    return TG_MODELS_DIR;
}
