/*
 * embed.c — `thumbgen embed IMAGE|VIDEO`: print what the CNN sees as JSON, one
 * object per line (one for a picture; one per sampled frame, with "t", for a video).
 * Exit status: 0 done, 1 failed (one line on stderr says why), 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct embed_args {
    const char *input, *output;
    tg_options opt;
} embed_args;

static const tgi_arg embed_rows[] = {
    {.name = "cnn", .kind = TG_ARG_LIB, .meta = "MODEL", .help = "the network"},
    {.name = "threads", .kind = TG_ARG_LIB, .meta = "N", .help = "decoder threads (0: automatic)"},
    {.name = "output",
     .letter = 'o',
     .kind = TG_ARG_STRING,
     .offset = offsetof(embed_args, output),
     .meta = "FILE",
     .help = "write to FILE instead of stdout"},
    {0},
};

static const char *embed_operand(void *dst, const char *arg)
{
    embed_args *e = dst;
    if (e->input)
        return "unexpected argument '%s' (one file at a time)";
    e->input = arg;
    return NULL;
}

static int print_line(void *user, const char *json)
{
    return fprintf((FILE *)user, "%s\n", json) < 0;
}

static int embed_main(int argc, char **argv)
{
    embed_args e = {0};
    tg_options_default(&e.opt);
    int rc = tgi_cli_parse(&tgi_cli_embed, argc, argv, &e, &e);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (!e.input)
        return tgi_cli_usage_error(&tgi_cli_embed, "embed needs an IMAGE or VIDEO file%s", "");
    tg_ctx *ctx = tg_ctx_new();
    if (!ctx) {
        fprintf(stderr, "thumbgen: error: out of memory\n");
        return 1;
    }
    FILE *f = e.output ? fopen(e.output, "w") : stdout;
    if (!f) {
        fprintf(stderr, "thumbgen: error: cannot write '%s'\n", e.output);
        rc = 1;
        goto done;
    }
    rc = tg_embed(ctx, e.input, &e.opt, print_line, f);
    if ((e.output && fclose(f) != 0) || (!e.output && fflush(f) != 0)) {
        if (rc >= 0)
            fprintf(stderr, "thumbgen: error: cannot write '%s'\n", e.output ? e.output : "stdout");
        rc = 1;
        goto done;
    }
    if (rc < 0)
        rc = tgi_cli_fail(ctx, rc);
done:
    tg_ctx_free(&ctx);
    return rc;
}

const tgi_cli_command tgi_cli_embed = {
    .name = "embed",
    .main = embed_main,
    .usage = "usage: thumbgen embed IMAGE|VIDEO [--cnn MODEL] [-o FILE]\n"
             "  Print the CNN's view as JSON, one object per line: {\"model\", \"embedding\":\n"
             "  [L2-normalised pooled features], \"classes\": {drawing, hentai, neutral, porn,\n"
             "  sexy}, \"nsfw\"}. A picture is resized to the network's input as nsfwjs does\n"
             "  (bilinear, RGB 0..1); a video gives one object per sampled frame (every\n"
             "  0.5 s, at most 600) with its time \"t\".\n",
    .args = embed_rows,
    .lib_at = offsetof(embed_args, opt),
    .operand = embed_operand,
};
