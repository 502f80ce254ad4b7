/*
 * analyze.c — `thumbgen analyze VIDEO -o ANALYSIS.json`: what the analysis measured,
 * before any choice (docs/analysis.md); `thumbgen plan --from-analysis` chooses from it.
 */
#include <stdlib.h>

#include "cli/cli.h"

static const tgi_arg analyze_args[] = {
    {.name = "output",
     .letter = 'o',
     .kind = TG_ARG_STRING,
     .offset = offsetof(tgi_cli_job, output),
     .meta = "FILE",
     .help = "the analysis to write (JSON)"},
    TG_CLI_JOB_QUIET,
    {0},
};

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok = f && fprintf(f, "%s\n", text) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int analyze_run(const tgi_cli_command *cmd, tgi_cli_job *c)
{
    if (!c->output)
        return tgi_cli_usage_error(cmd, "analyze needs -o ANALYSIS.json%s", "");
    tg_ctx *ctx = NULL;
    int bar = tgi_cli_job_start(c->quiet, &ctx);
    if (bar < 0)
        return 1;
    tg_analysis_data *an = NULL;
    char *json = NULL;
    int rc = tg_analyze(ctx, c->input, &c->opt, &an);
    if (rc >= 0)
        rc = tg_analysis_to_json(ctx, an, &json);
    if (bar)
        fputc('\n', stderr);
    if (rc < 0) {
        rc = tgi_cli_fail(ctx, rc);
    } else if (write_text(c->output, json) < 0) {
        remove(c->output);
        fprintf(stderr, "thumbgen: error: cannot write the analysis to '%s'\n", c->output);
        rc = 1;
    }
    free(json);
    tg_analysis_free(&an);
    tgi_cli_job_end(0, &ctx);
    return rc;
}

static int analyze_main(int argc, char **argv)
{
    return tgi_cli_job_main(&tgi_cli_analyze, argc, argv, analyze_run);
}

const tgi_cli_command tgi_cli_analyze =
    TG_CLI_JOB_COMMAND("analyze", analyze_main,
                       "usage: thumbgen analyze VIDEO -o ANALYSIS.json [--analysis M] [--cnn N]\n"
                       "  Analyse VIDEO and write what the analysis measured, before any choice:\n"
                       "  per-sample signals and events, shots, cuts, the CNN's embeddings, faces\n"
                       "  (docs/analysis.md). `thumbgen plan --from-analysis` chooses from it.\n",
                       analyze_args);
