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
    {.name = "quiet",
     .letter = 'q',
     .kind = TG_ARG_FLAG,
     .offset = offsetof(tg_cli_job, quiet),
     .help = "no progress bar"},
    {NULL},
};

static int plan_main(int argc, char **argv)
{
    tg_cli_job c = {0};
    int rc = tg_cli_job_parse(&tg_cli_plan, argc, argv, &c);
    if (rc == 0)
        rc = tg_cli_make_or_plan(&tg_cli_plan, &c);
    free(c.inputs);
    return rc < 0 ? 0 : rc;
}

const tg_cli_command tg_cli_plan = {
    .name = "plan",
    .main = plan_main,
    .usage = "usage: thumbgen plan VIDEO [-o PLAN.json] [options]\n"
             "       thumbgen plan --from-analysis ANALYSIS.json [-o PLAN.json] [options]\n"
             "  Analyse VIDEO and print the plan as JSON: shots, the chosen clips\n"
             "  (segments), ranked keyframes, the poster time and warnings.\n",
    .args = plan_args,
    .lib_all = 1,
    .lib_at = offsetof(tg_cli_job, opt),
    .operand = tg_cli_job_operand,
};
