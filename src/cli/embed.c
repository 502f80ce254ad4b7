/*
 * embed.c — `thumbgen embed IMAGE|VIDEO`: print what the CNN sees as JSON, one
 * object per line (one for a picture; one per sampled frame, with "t", for a video).
 * Exit status: 0 done, 1 failed (one line on stderr says why), 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "thumbgen.h"

static void embed_usage(FILE *f)
{
    fprintf(f, "usage: thumbgen embed IMAGE|VIDEO [--cnn mobilenet_v2|inception_v3] [-o FILE]\n"
               "  Print the CNN's view as JSON, one object per line: {\"model\", \"embedding\":\n"
               "  [L2-normalised pooled features], \"classes\": {drawing, hentai, neutral, porn,\n"
               "  sexy}, \"nsfw\"}. A picture is resized to the network's input as nsfwjs does\n"
               "  (bilinear, RGB 0..1); a video gives one object per sampled frame (every\n"
               "  0.5 s, at most 600) with its time \"t\".\n"
               "  --cnn MODEL         mobilenet_v2 (default, 1280-d) or inception_v3 (2048-d)\n"
               "  -o, --output FILE   write to FILE instead of stdout\n");
}

static int print_line(void *user, const char *json)
{
    return fprintf((FILE *)user, "%s\n", json) < 0;
}

int embed_main(int argc, char **argv)
{
    const char *input = NULL, *output = NULL;
    tg_ctx *ctx = tg_ctx_new();
    tg_options o;
    tg_options_default(&o);
    if (!ctx) {
        fprintf(stderr, "thumbgen: error: out of memory\n");
        return 1;
    }
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            embed_usage(stdout);
            goto done;
        }
        if ((!strcmp(a, "--cnn") || !strcmp(a, "-o") || !strcmp(a, "--output") ||
             !strcmp(a, "--threads")) &&
            i + 1 >= argc) {
            fprintf(stderr, "thumbgen: option '%s' needs a value\n(see 'thumbgen embed --help')\n",
                    a);
            rc = 2;
            goto done;
        }
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            output = argv[++i];
        } else if (!strcmp(a, "--cnn") || !strcmp(a, "--threads")) {
            if (tg_options_set(ctx, &o, a + 2, argv[++i]) < 0) {
                fprintf(stderr, "thumbgen: %s\n(see 'thumbgen embed --help')\n",
                        tg_ctx_message(ctx));
                rc = 2;
                goto done;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "thumbgen: unknown option '%s'\n(see 'thumbgen embed --help')\n", a);
            rc = 2;
            goto done;
        } else if (input) {
            fprintf(stderr, "thumbgen: unexpected argument '%s' (one file at a time)\n", a);
            rc = 2;
            goto done;
        } else {
            input = a;
        }
    }
    if (!input) {
        fprintf(stderr, "thumbgen: embed needs an IMAGE or VIDEO file\n"
                        "(see 'thumbgen embed --help')\n");
        rc = 2;
        goto done;
    }
    FILE *f = output ? fopen(output, "w") : stdout;
    if (!f) {
        fprintf(stderr, "thumbgen: error: cannot write '%s'\n", output);
        rc = 1;
        goto done;
    }
    rc = tg_embed(ctx, input, &o, print_line, f);
    if ((output && fclose(f) != 0) || (!output && fflush(f) != 0)) {
        if (rc >= 0)
            fprintf(stderr, "thumbgen: error: cannot write '%s'\n", output ? output : "stdout");
        rc = 1;
        goto done;
    }
    if (rc < 0) {
        fprintf(stderr, "thumbgen: error: %s\n",
                *tg_ctx_message(ctx) ? tg_ctx_message(ctx) : tg_strerror(rc));
        rc = 1;
    }
done:
    tg_ctx_free(&ctx);
    return rc;
}
