/*
 * util.c — test helpers: fixture and scratch paths, running a command by argument
 * vector (posix_spawn, never a shell) with stdout/stderr captured to files, and
 * small file readers. The GIF decoder lives in gifdecode.c.
 */
#include "util.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "thumbgen.h"

extern char **environ;

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

const char *tgt_fixture(const char *name)
{
    static char buf[8][PATH_MAX];
    static int slot;
    char *b = buf[slot++ % 8];
    snprintf(b, PATH_MAX, "%s/%s", env_or("TG_FIXTURES", "build/fixtures"), name);
    return b;
}

const char *tgt_bin(void)
{
    return env_or("TG_BIN", "build/thumbgen");
}

char *tgt_tmp_path(const char *suffix)
{
    static unsigned counter;
    const char *dir = env_or("TG_TMP", "build/tmp");
    mkdir(dir, 0755);
    size_t n = strlen(dir) + strlen(suffix) + 64;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/t%ld_%u%s", dir, (long)getpid(), counter++, suffix);
    return p;
}

int tgt_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

long tgt_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

char *tgt_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *nb = realloc(buf, cap * 2 + 1);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

int tgt_run_cmd(tgt_run *r, char *const argv[])
{
    memset(r, 0, sizeof(*r));
    char *outp = tgt_tmp_path(".out"), *errp = tgt_tmp_path(".err");
    int rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) == 0) {
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        rc = 0;
    }
    posix_spawn_file_actions_destroy(&fa);
    r->out = tgt_read_file(outp, NULL);
    r->err = tgt_read_file(errp, NULL);
    if (!r->out)
        r->out = strdup("");
    if (!r->err)
        r->err = strdup("");
    unlink(outp);
    unlink(errp);
    free(outp);
    free(errp);
    return rc;
}

void tgt_run_free(tgt_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

double tgt_psnr_rgba(const uint8_t *a, const uint8_t *b, int w, int h)
{
    double se = 0;
    size_t n = (size_t)w * (size_t)h;
    for (size_t k = 0; k < n; k++)
        for (int c = 0; c < 3; c++) {
            double d = (double)a[k * 4 + (size_t)c] - b[k * 4 + (size_t)c];
            se += d * d;
        }
    double mse = se / (double)(n * 3);
    return mse <= 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

/* argv = prefix..., then the NULL-terminated varargs (at most cap entries in all) */
static int collect(char **argv, int n, int cap, const char *a0, va_list ap)
{
    for (const char *a = a0; a && n < cap - 1; a = va_arg(ap, const char *))
        argv[n++] = (char *)a;
    argv[n] = NULL;
    return n;
}

int tgt_thumbgen(tgt_run *r, const char *a0, ...)
{
    char *argv[40] = {(char *)tgt_bin()};
    va_list ap;
    va_start(ap, a0);
    collect(argv, 1, 40, a0, ap);
    va_end(ap);
    return tgt_run_cmd(r, argv);
}

int tgt_ffmpeg(const char *a0, ...)
{
    char *argv[40] = {"/usr/bin/ffmpeg", "-nostdin", "-v", "error", "-y"};
    va_list ap;
    va_start(ap, a0);
    collect(argv, 5, 40, a0, ap);
    va_end(ap);
    tgt_run r;
    if (tgt_run_cmd(&r, argv) != 0)
        return -1;
    int ok = r.status == 0;
    if (!ok)
        fprintf(stderr, "ffmpeg failed: %s\n", r.err);
    tgt_run_free(&r);
    return ok ? 0 : -1;
}

uint8_t tgt_clamp8(double v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : lround(v));
}

void tgt_gen_gradient(uint8_t *rgba, int w, int h, int i)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = rgba + ((size_t)y * (size_t)w + (size_t)x) * 4;
            p[0] = tgt_clamp8(255.0 * x / (w - 1 > 0 ? w - 1 : 1));
            p[1] = tgt_clamp8(255.0 * y / (h - 1 > 0 ? h - 1 : 1));
            p[2] = tgt_clamp8(128 + 100 * sin((x + y) / 40.0 + i * 0.3));
            p[3] = 255;
        }
}

uint8_t *tgt_make_frame(tgt_gen_fn gen, int w, int h, int i)
{
    uint8_t *f = malloc((size_t)w * (size_t)h * 4);
    ck_assert_ptr_nonnull(f);
    gen(f, w, h, i);
    return f;
}

void tgt_assert_choices(const char *option, const char *(*name_of)(int), int n)
{
    const tg_opt *op = NULL;
    for (const tg_opt_stage *st = tg_option_stages; st->stage && !op; st++)
        for (const tg_opt *o = st->opts; o->name && !op; o++)
            if (!strcmp(o->name, option))
                op = o;
    ck_assert_msg(op != NULL, "no option %s", option);
    char want[256] = "";
    for (int i = 0; i < n; i++) {
        const char *name = name_of(i);
        ck_assert_ptr_nonnull(name);
        ck_assert_uint_lt(strlen(want) + strlen(name) + 2, sizeof(want));
        if (i)
            strcat(want, "|");
        strcat(want, name);
    }
    ck_assert_str_eq(op->choices, want);
    ck_assert_int_eq((int)op->max, n - 1);
}
