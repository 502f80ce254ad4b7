/*
 * common.c — what the commands share: a job's context with its signals and progress
 * bar, the error line, the output-over-input check, reading a file; and the argv of
 * the job commands (make, plan, encode, analyze): -o by extension, --format/--all
 * expanded to one output per format.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static tg_ctx *g_ctx; /* the running job's, for the signal handler */

static void on_signal(int sig)
{
    (void)sig;
    tg_ctx_cancel(g_ctx);
}

static void progress_bar(void *user, const char *stage, double f)
{
    (void)user;
    int pct = (int)(f * 100 + 0.5), w = 30, fill = (int)(f * w + 0.5);
    static int last_pct = -1;
    static char last_stage[16];
    if (pct == last_pct && !strncmp(stage, last_stage, sizeof(last_stage) - 1))
        return;
    last_pct = pct;
    snprintf(last_stage, sizeof(last_stage), "%s", stage);
    char bar[64];
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(w - fill));
    bar[w] = '\0';
    fprintf(stderr, "\r%-8s [%s] %3d%%", stage, bar, pct);
    fflush(stderr);
}

int tgi_cli_job_start(int quiet, tg_ctx **ctx)
{
    g_ctx = *ctx = tg_ctx_new();
    if (!g_ctx) {
        fprintf(stderr, "thumbgen: error: out of memory\n");
        return -1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int bar = !quiet && isatty(2);
    if (bar)
        tg_ctx_set_progress(g_ctx, progress_bar, NULL);
    return bar;
}

void tgi_cli_job_end(int bar, tg_ctx **ctx)
{
    if (bar)
        fputc('\n', stderr);
    tg_ctx_free(ctx);
}

int tgi_cli_fail(tg_ctx *ctx, int rc)
{
    const char *msg = tg_ctx_message(ctx);
    fprintf(stderr, "thumbgen: error: %s\n", *msg ? msg : tg_strerror(rc));
    return 1;
}

/* 1 when out names the same file as in (same device and inode, whatever the
 * spelling: a link, ./, another path). A file that does not exist yet is not. */
static int same_file(const char *in, const char *out)
{
    struct stat a, b;
    return in && out && stat(in, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int tgi_cli_outputs_spare_inputs(const tgi_cli_command *cmd, const char *const *ins, size_t n_in,
                                 const char *const *outs, size_t n_out)
{
    for (size_t i = 0; i < n_in; i++)
        for (size_t k = 0; k < n_out; k++)
            if (same_file(ins[i], outs[k])) {
                fprintf(stderr,
                        "thumbgen: the output '%s' is the input '%s'; choose another output "
                        "name (see 'thumbgen %s --help')\n",
                        outs[k], ins[i], cmd->name);
                return 2;
            }
    return 0;
}

char *tgi_cli_slurp(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            if (cap > max)
                break;
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static const char *const exts[3] = {".gif", ".webp", ".mp4"};

int tgi_cli_job_output(void *dst, const char *val)
{
    tgi_cli_job *c = dst;
    c->output = val;
    const char *dot = strrchr(val, '.');
    int k = 0;
    while (k < 3 && !(dot && !strcasecmp(dot, exts[k])))
        k++;
    if (!strcmp(c->cmd, "make") || !strcmp(c->cmd, "encode")) {
        if (k == 3)
            c->base = val; /* checked after parsing: needs --format or --all */
        else
            c->anim[k] = val;
    }
    return 0;
}

int tgi_cli_job_format(void *dst, const char *val)
{
    static const char *const fmts[3] = {"gif", "webp", "mp4"};
    tgi_cli_job *c = dst;
    for (int k = 0; k < 3; k++)
        if (!strcmp(val, fmts[k])) {
            c->formats |= 1 << k;
            return 0;
        }
    return -1;
}

int tgi_cli_job_all(void *dst, const char *val)
{
    (void)val;
    ((tgi_cli_job *)dst)->formats = 7;
    return 0;
}

const char *tgi_cli_job_operand(void *dst, const char *arg)
{
    tgi_cli_job *c = dst;
    if (!strcmp(c->cmd, "encode")) {
        c->inputs[c->n_inputs++] = arg;
        c->input = arg;
        return NULL;
    }
    if (c->input)
        return "unexpected argument '%s' (one video at a time)";
    c->input = arg;
    return NULL;
}

/* --format F / --all: the outputs are -o's base name with each extension */
static int expand_formats(const tgi_cli_command *cmd, tgi_cli_job *c)
{
    if (c->base && !c->formats)
        return tgi_cli_usage_error(cmd, "the output '%s' must end in .gif, .webp or .mp4", c->base);
    if (!c->formats)
        return 0;
    const char *from = c->base;
    for (int k = 0; k < 3 && !from; k++)
        from = c->anim[k];
    if (!from)
        return tgi_cli_usage_error(cmd, "--format and --all need -o NAME%s", "");
    const char *slash = strrchr(from, '/'), *dot = strrchr(from, '.');
    int len = dot && (!slash || dot > slash) && !c->base ? (int)(dot - from) : (int)strlen(from);
    if ((size_t)len + 6 > sizeof(c->expanded[0]))
        return tgi_cli_usage_error(cmd, "the output name '%s' is too long", from);
    for (int k = 0; k < 3; k++)
        if ((c->formats & (1 << k)) && !c->anim[k]) {
            snprintf(c->expanded[k], sizeof(c->expanded[k]), "%.*s%s", len, from, exts[k]);
            c->anim[k] = c->expanded[k];
        }
    return 0;
}

int tgi_cli_job_parse(const tgi_cli_command *cmd, int argc, char **argv, tgi_cli_job *c)
{
    c->cmd = cmd->name;
    tg_options_default(&c->opt);
    c->inputs = calloc((size_t)argc, sizeof(char *));
    if (!c->inputs) {
        fprintf(stderr, "thumbgen: error: out of memory\n");
        return 1;
    }
    int rc = tgi_cli_parse(cmd, argc, argv, c, c);
    /* --formats gif,webp (the library's option): --format for each */
    for (int i = 1; rc == 0 && i < argc; i++)
        if (!strcmp(argv[i], "--formats") || !strncmp(argv[i], "--formats=", 10))
            c->formats |= c->opt.formats;
    if (rc == 0)
        rc = expand_formats(cmd, c);
    if (rc == 0 && !c->input && !c->from_analysis)
        rc = tgi_cli_usage_error(cmd, "%s needs a VIDEO file", cmd->name);
    return rc == 1 ? -1 : rc; /* -1: --help was printed, exit 0 */
}

int tgi_cli_job_main(const tgi_cli_command *cmd, int argc, char **argv,
                     int (*run)(const tgi_cli_command *cmd, tgi_cli_job *c))
{
    tgi_cli_job c = {0};
    int rc = tgi_cli_job_parse(cmd, argc, argv, &c);
    if (rc == 0)
        rc = run(cmd, &c);
    free(c.inputs);
    return rc < 0 ? 0 : rc;
}
