/*
 * encode.c — `thumbgen encode CLIP.mp4 | FRAME.png... -o OUT.gif`: encode exactly the
 * given clip (every frame) or images (one frame each, in order), with no selection.
 */
#include <stdlib.h>

#include "cli/cli.h"

static const tgi_arg encode_args[] = {
    {.name = "output",
     .letter = 'o',
     .kind = TG_ARG_FN,
     .fn = tgi_cli_job_output,
     .meta = "FILE",
     .help = "the animation to write: .gif, .webp or .mp4; repeat -o\nfor several"},
    {.name = "format",
     .kind = TG_ARG_FN,
     .fn = tgi_cli_job_format,
     .meta = "F",
     .help = "also write FILE's name with F's extension (gif, webp,\nmp4; repeatable)"},
    {.name = "all",
     .kind = TG_ARG_FN,
     .fn = tgi_cli_job_all,
     .help = "-o's name in all three formats"},
    TG_CLI_JOB_QUIET,
    {0},
};

static int encode_run(const tgi_cli_command *cmd, tgi_cli_job *c)
{
    if (!c->anim[0] && !c->anim[1] && !c->anim[2])
        return tgi_cli_usage_error(cmd, "encode needs -o OUT.gif (or .webp, .mp4)%s", "");
    if (tgi_cli_outputs_spare_inputs(cmd, c->inputs, c->n_inputs, c->anim, 3))
        return 2;
    tg_ctx *ctx = NULL;
    int bar = tgi_cli_job_start(c->quiet, &ctx);
    if (bar < 0)
        return 1;
    tg_outputs out = {.gif = c->anim[0], .webp = c->anim[1], .mp4 = c->anim[2]};
    int rc = tg_render_files(ctx, c->inputs, c->n_inputs, &c->opt, &out);
    if (bar)
        fputc('\n', stderr);
    if (rc < 0)
        rc = tgi_cli_fail(ctx, rc);
    tgi_cli_job_end(0, &ctx);
    return rc;
}

static int encode_main(int argc, char **argv)
{
    return tgi_cli_job_main(&tgi_cli_encode, argc, argv, encode_run);
}

const tgi_cli_command tgi_cli_encode =
    TG_CLI_JOB_COMMAND("encode", encode_main,
                       "usage: thumbgen encode CLIP.mp4 | FRAME.png... -o OUT.gif [-o OUT.webp]\n"
                       "                       [-o OUT.mp4] [--fps F] [--width W] [--quality Q]\n"
                       "                       [--max-bytes N]\n"
                       "  Encode exactly the given clip (every frame) or images (one frame each,\n"
                       "  in order), with no selection.\n",
                       encode_args);
