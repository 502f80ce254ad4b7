/*
 * plan.c — `thumbgen plan VIDEO`: analyse VIDEO, choose the moments and print the
 * plan as JSON (or from an analysis written by `thumbgen analyze`, without decoding).
 * The run is make's (make.c), writing the plan instead of rendering it.
 */
#include <stdlib.h>

#include "cli/cli.h"

static const tgi_arg plan_args[] = {
    {.name = "output",
     .letter = 'o',
     .kind = TG_ARG_FN,
     .fn = tgi_cli_job_output,
     .meta = "FILE",
     .help = "write the plan to FILE instead of stdout"},
    {.name = "from-analysis",
     .kind = TG_ARG_STRING,
     .offset = offsetof(tgi_cli_job, from_analysis),
     .meta = "F",
     .help = "choose from an analysis written by `thumbgen analyze`\n"
             "(no decoding: the select options apply)"},
    TG_CLI_JOB_QUIET,
    {0},
};

static int plan_main(int argc, char **argv)
{
    return tgi_cli_job_main(&tgi_cli_plan, argc, argv, tgi_cli_make_or_plan);
}

const tgi_cli_command tgi_cli_plan = TG_CLI_JOB_COMMAND(
    "plan", plan_main,
    "usage: thumbgen plan VIDEO [-o PLAN.json] [options]\n"
    "       thumbgen plan --from-analysis ANALYSIS.json [-o PLAN.json] [options]\n"
    "  Analyse VIDEO and print the plan as JSON: shots, the chosen clips\n"
    "  (segments), ranked keyframes, the poster time and warnings.\n",
    plan_args);
