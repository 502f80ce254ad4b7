/*
 * upscale.c — `thumbgen upscale IMAGE -o OUT.png --scale 2|3|4`: one still image
 * upscaled by a whole factor with one of the upscale methods (src/upscale).
 */
#include <string.h>

#include "cli/cli.h"

typedef struct upscale_args {
    const char *input, *output, *method;
    int scale; /* the index in "2|3|4" */
    int quiet;
} upscale_args;

static const tgi_arg upscale_rows[] = {
    {.name = "output",
     .letter = 'o',
     .kind = TG_ARG_STRING,
     .offset = offsetof(upscale_args, output),
     .meta = "FILE",
     .help = "the result: .png or .jpg/.jpeg"},
    {.name = "scale",
     .kind = TG_ARG_CHOICE,
     .offset = offsetof(upscale_args, scale),
     .choices = "2|3|4",
     .meta = "N",
     .help = "the factor: 2, 3 or 4"},
    {.name = "method",
     .kind = TG_ARG_STRING,
     .offset = offsetof(upscale_args, method),
     .meta = "M",
     .help = "the upscale-method option's choices (see thumbgen make\n"
             "--help; default: the same as make's)"},
    {.name = "quiet",
     .letter = 'q',
     .kind = TG_ARG_FLAG,
     .offset = offsetof(upscale_args, quiet),
     .help = "no progress bar"},
    {0},
};

static const char *upscale_operand(void *dst, const char *arg)
{
    upscale_args *u = dst;
    if (u->input)
        return "unexpected argument '%s' (one image at a time)";
    u->input = arg;
    return NULL;
}

static int upscale_main(int argc, char **argv)
{
    const tgi_cli_command *cmd = &tgi_cli_upscale;
    upscale_args u = {0};
    int rc = tgi_cli_parse(cmd, argc, argv, &u, &u);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!u.input)
        return tgi_cli_usage_error(cmd, "upscale needs an IMAGE%s", "");
    if (!u.output)
        return tgi_cli_usage_error(cmd, "upscale needs -o OUT.png (or .jpg)%s", "");
    if (tgi_cli_outputs_spare_inputs(cmd, &u.input, 1, &u.output, 1))
        return 2;
    tg_ctx *ctx = NULL;
    int bar = tgi_cli_job_start(u.quiet, &ctx);
    if (bar < 0)
        return 1;
    rc = tg_upscale_file(ctx, u.input, u.output, u.scale + 2, u.method);
    if (bar)
        fputc('\n', stderr);
    if (rc < 0) {
        /* a bad method name is a usage error, like any other bad option value */
        int usage = rc == TG_EINVAL && u.method && strstr(tg_ctx_message(ctx), "method");
        rc = tgi_cli_fail(ctx, rc) + usage;
    }
    tgi_cli_job_end(0, &ctx);
    return rc;
}

const tgi_cli_command tgi_cli_upscale = {
    .name = "upscale",
    .main = upscale_main,
    .usage = "usage: thumbgen upscale IMAGE -o OUT.png|.jpg --scale 2|3|4 [--method M] [-q]\n"
             "  Upscale one still image (PNG, JPEG, …) by a whole factor.\n",
    .args = upscale_rows,
    .operand = upscale_operand,
};
