/*
 * options.c — the registry of per-stage option tables and the text → value
 * setter shared by the CLI (and later the web API). A parameter is defined once,
 * in its stage's table (select.c, render.c); --help and validation come from here.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/features.h"
#include "core/error.h"
#include "render/render.h"
#include "select/select.h"

const tg_opt_stage tg_option_stages[] = {
    {"analyze", tg_analyze_opts},
    {"select", tg_select_opts},
    {"render", tg_render_opts},
    {NULL, NULL},
};

void tg_options_default(tg_options *o)
{
    memset(o, 0, sizeof(*o));
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *op = st->opts; op->name; op++) {
            char *field = (char *)o + op->offset;
            if (op->type == TG_OPT_DOUBLE || op->type == TG_OPT_BYTES)
                *(double *)field = op->def;
            else
                *(int *)field = (int)op->def;
        }
}

int tg_parse_bytes(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || !isfinite(v))
        return TG_EINVAL;
    if (*end) {
        static const char units[] = "kKmMgG";
        const char *u = strchr(units, *end);
        if (!u || end[1])
            return TG_EINVAL;
        v *= (double)(1ull << (10 * (1 + (u - units) / 2)));
    }
    *out = v;
    return 0;
}

static const tg_opt *find_opt(const char *name)
{
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *op = st->opts; op->name; op++)
            if (!strcmp(op->name, name))
                return op;
    return NULL;
}

/* Index of value in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *value)
{
    size_t vl = strlen(value);
    int idx = 0;
    for (const char *p = choices; *p; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vl && !strncmp(p, value, len))
            return idx;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

int tg_options_set(tg_ctx *ctx, tg_options *o, const char *name, const char *value)
{
    const tg_opt *op = find_opt(name);
    if (!op)
        return tg_fail(ctx, TG_EINVAL, "unknown option '%s'", name);
    if (!value || !*value)
        return tg_fail(ctx, TG_EINVAL, "option '%s' needs a value", name);
    char *field = (char *)o + op->offset;
    if (op->type == TG_OPT_ENUM) {
        int i = choice_index(op->choices, value);
        if (i < 0)
            return tg_fail(ctx, TG_EINVAL, "option '%s' must be one of %s (got '%s')", name,
                           op->choices, value);
        *(int *)field = i;
        return 0;
    }
    char *end = NULL;
    errno = 0;
    double v = strtod(value, &end);
    int bad = errno || end == value || *end || !isfinite(v);
    if (op->type == TG_OPT_BYTES)
        bad = tg_parse_bytes(value, &v) < 0;
    if (bad)
        return tg_fail(ctx, TG_EINVAL, "option '%s' needs a number (got '%s')", name, value);
    if (op->type == TG_OPT_INT && v != floor(v))
        return tg_fail(ctx, TG_EINVAL, "option '%s' needs a whole number (got '%s')", name, value);
    if (v < op->min || v > op->max)
        return tg_fail(ctx, TG_EINVAL, "option '%s' must be between %g and %g (got %s)", name,
                       op->min, op->max, value);
    if (op->type == TG_OPT_DOUBLE || op->type == TG_OPT_BYTES)
        *(double *)field = v;
    else
        *(int *)field = (int)v;
    return 0;
}
