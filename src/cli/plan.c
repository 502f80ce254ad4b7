/*
 * plan.c — `thumbgen plan VIDEO`: analyse VIDEO, choose the moments and print the
 * plan as JSON (or from an analysis written by `thumbgen analyze`, without decoding).
 * The run is make's (make.c), writing the plan instead of rendering it.
 */
#include <stdlib.h>

#include "cli/cli.h"

static const tg_arg plan_args[] = {
    {.name = "output",
     .letter = 'o',
     .kind = TG_ARG_FN,
     .fn = tg_cli_job_output,
     .meta = "FILE",
     .help = "write the plan to FILE instead of stdout"},
    {.name = "from-analysis",
     .kind = TG_ARG_STRING,
     .offset = offsetof(tg_cli_job, from_analysis),
     .meta = "F",
     .help = "choose from an analysis written by `thumbgen analyze`\n"
             "(no decoding: the select options apply)"},
    TG_CLI_JOB_QUIET,
    {NULL},
};

static int plan_main(int argc, char **argv)
{
    return tg_cli_job_main(&tg_cli_plan, argc, argv, tg_cli_make_or_plan);
}

const tg_cli_command tg_cli_plan = TG_CLI_JOB_COMMAND(
    "plan", plan_main,
    "usage: thumbgen plan VIDEO [-o PLAN.json] [options]\n"
    "       thumbgen plan --from-analysis ANALYSIS.json [-o PLAN.json] [options]\n"
    "  Analyse VIDEO and print the plan as JSON: shots, the chosen clips\n"
    "  (segments), ranked keyframes, the poster time and warnings.\n",
    plan_args);
