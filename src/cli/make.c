/*
 * make.c — `thumbgen make VIDEO -o THUMB.gif`: analyse VIDEO (or read a plan), choose
 * the moments and render the animation, the poster and the contact sheet. Shares its
 * run with `thumbgen plan` (plan.c), which writes the plan instead of rendering it.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define JOB_ROW(nm, ltr, kind_, field, fn_, meta_, help_)                                          \
    {                                                                                              \
        .name = nm, .letter = ltr, .kind = kind_, .offset = offsetof(tgi_cli_job, field),          \
        .fn = fn_, .meta = meta_, .help = help_                                                    \
    }

static const tgi_arg make_args[] = {
    JOB_ROW("output", 'o', TG_ARG_FN, output, tgi_cli_job_output, "FILE",
            "the animation to write: .gif, .webp (animated WebP) or\n"
            ".mp4 (muted looping H.264); repeat -o for several"),
    JOB_ROW("format", 0, TG_ARG_FN, formats, tgi_cli_job_format, "F",
            "also write FILE's name with F's extension (gif, webp,\nmp4; repeatable)"),
    JOB_ROW("all", 0, TG_ARG_FN, formats, tgi_cli_job_all, NULL, "-o's name in all three formats"),
    JOB_ROW("poster", 0, TG_ARG_STRING, poster, NULL, "FILE",
            "also write the poster still (.jpg, .jpeg or .png)"),
    JOB_ROW("sheet", 0, TG_ARG_STRING, sheet, NULL, "FILE",
            "also write a contact sheet of the ranked keyframes with\ntheir times (.jpg or .png)"),
    JOB_ROW("plan", 0, TG_ARG_STRING, plan_in, NULL, "FILE",
            "render this plan (from `thumbgen plan`, maybe edited)\ninstead of analysing the "
            "video"),
    TG_CLI_JOB_QUIET,
    {0},
};

static void report(const tgi_cli_job *c, const tg_outputs *out, int *bar)
{
    const tg_output_report *reps[3] = {&out->gif_report, &out->webp_report, &out->mp4_report};
    for (int k = 0; k < 3; k++) {
        if (!c->anim[k] || c->opt.max_bytes <= 0 || c->quiet)
            continue;
        const tg_output_report *r = reps[k];
        if (*bar)
            fputc('\n', stderr);
        *bar = 0;
        fprintf(stderr,
                "thumbgen: %s: %lld bytes (budget %.0f): quality %d, %.3g fps, %dx%d, "
                "%d%% of each clip\n",
                c->anim[k], r->bytes, c->opt.max_bytes, r->quality, r->fps, r->width, r->height,
                (int)(r->clip_share * 100 + 0.5));
    }
}

/* The plan: from an analysis file, from a plan file, or made from the video. 0, 1
 * (said) or a negative TG_E* code (in ctx). */
static int get_plan(tg_ctx *ctx, const tgi_cli_job *c, tg_plan **plan)
{
    if (c->from_analysis) {
        tg_analysis_data *an = NULL;
        char *text = tgi_cli_slurp(c->from_analysis, 1u << 30);
        if (!text) {
            fprintf(stderr, "thumbgen: error: cannot read the analysis '%s'\n", c->from_analysis);
            return 1;
        }
        int rc = tg_analysis_from_json(ctx, text, &an);
        free(text);
        if (rc >= 0)
            rc = tg_plan_from_analysis(ctx, an, &c->opt, plan);
        tg_analysis_free(&an);
        return rc;
    }
    if (c->plan_in) {
        char *text = tgi_cli_slurp(c->plan_in, 64u << 20); /* a plan is small */
        if (!text) {
            fprintf(stderr, "thumbgen: error: cannot read the plan '%s'\n", c->plan_in);
            return 1;
        }
        int rc = tg_plan_from_json(ctx, text, plan);
        free(text);
        return rc;
    }
    return tg_plan_make(ctx, c->input, &c->opt, plan);
}

int tgi_cli_make_or_plan(const tgi_cli_command *cmd, tgi_cli_job *c)
{
    int is_plan = cmd == &tgi_cli_plan;
    if (c->from_analysis && c->input)
        return tgi_cli_usage_error(cmd, "plan --from-analysis takes no VIDEO (got '%s')", c->input);
    if (!is_plan && !c->output && !c->poster && !c->sheet)
        return tgi_cli_usage_error(cmd, "make needs -o THUMB.gif (and/or --poster FILE)%s", "");
    const char *ins[2] = {c->input, c->plan_in};
    const char *outs[6] = {c->anim[0], c->anim[1], c->anim[2],
                           c->poster,  c->sheet,   is_plan ? c->output : NULL};
    if (tgi_cli_outputs_spare_inputs(cmd, ins, 2, outs, 6))
        return 2;
    tg_ctx *ctx = NULL;
    int bar = tgi_cli_job_start(c->quiet, &ctx);
    if (bar < 0)
        return 1;
    tg_plan *plan = NULL;
    char *json = NULL;
    int rc = get_plan(ctx, c, &plan);
    if (rc == 0 && is_plan) {
        if ((rc = tg_plan_to_json(ctx, plan, &json)) == 0) {
            FILE *f = c->output ? fopen(c->output, "w") : stdout;
            if (!f || fprintf(f, "%s\n", json) < 0 || (c->output && fclose(f) != 0)) {
                if (bar)
                    fputc('\n', stderr);
                bar = 0;
                fprintf(stderr, "thumbgen: error: cannot write the plan to '%s'\n",
                        c->output ? c->output : "stdout");
                rc = 1;
            }
        }
    } else if (rc == 0) {
        tg_outputs out = {.gif = c->anim[0],
                          .webp = c->anim[1],
                          .mp4 = c->anim[2],
                          .poster = c->poster,
                          .sheet = c->sheet};
        if ((rc = tg_render(ctx, c->input, plan, &c->opt, &out)) == 0)
            report(c, &out, &bar);
    }
    if (rc < 0) {
        if (bar)
            fputc('\n', stderr);
        bar = 0;
        rc = tgi_cli_fail(ctx, rc);
    }
    free(json);
    tg_plan_free(&plan);
    tgi_cli_job_end(bar, &ctx);
    return rc;
}

static int make_main(int argc, char **argv)
{
    return tgi_cli_job_main(&tgi_cli_make, argc, argv, tgi_cli_make_or_plan);
}

const tgi_cli_command tgi_cli_make =
    TG_CLI_JOB_COMMAND("make", make_main,
                       "usage: thumbgen make VIDEO -o THUMB.gif [--poster POSTER.jpg|.png]\n"
                       "                     [--plan PLAN.json] [--quiet] [options]\n"
                       "  Make the animated thumbnail (and optionally a poster) of VIDEO.\n",
                       make_args);
