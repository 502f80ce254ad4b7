/*
 * options.c — the registry of per-stage option tables, the text → value setter
 * shared by the CLI and the web API, and options as data: the options as JSON and
 * back (the server's jobs and cache key), and the table itself as JSON (GET
 * /api/options, from which the page builds its fields). A parameter is defined once,
 * in its stage's table (features.c, select.c, render.c); --help, validation, the
 * API's answers and the page's form all come from here.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/features.h"
#include "core/error.h"
#include "render/render.h"
#include "select/select.h"

const tg_opt_stage tg_option_stages[] = {
    {"analyze", tgi_analyze_opts},
    {"select", tgi_select_opts},
    {"render", tgi_render_opts},
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

const char *tg_opt_choice_name(const tg_opt *op, int idx, size_t *len)
{
    const char *p = op->choices ? op->choices : "";
    for (int i = 0; i < idx && p; i++)
        p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
    if (idx < 0 || !p) {
        *len = 0;
        return "";
    }
    const char *bar = strchr(p, '|');
    *len = bar ? (size_t)(bar - p) : strlen(p);
    return p;
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
        return tgi_fail(ctx, TG_EINVAL, "unknown option '%s'", name);
    if (!value || !*value)
        return tgi_fail(ctx, TG_EINVAL, "option '%s' needs a value", name);
    char *field = (char *)o + op->offset;
    if (op->type == TG_OPT_SET) {
        int bits = 0;
        if (!strcmp(value, "all")) {
            *(int *)field = (int)op->max;
            return 0;
        }
        for (const char *p = value;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char one[32];
            int i = -1;
            if (len < sizeof(one)) {
                memcpy(one, p, len);
                one[len] = '\0';
                i = choice_index(op->choices, one);
            }
            if (i < 0)
                return tgi_fail(ctx, TG_EINVAL,
                                "option '%s' must be one or more of %s, separated by commas (got "
                                "'%s')",
                                name, op->choices, value);
            bits |= 1 << i;
            if (!comma)
                break;
            p = comma + 1;
        }
        *(int *)field = bits;
        return 0;
    }
    if (op->type == TG_OPT_ENUM) {
        int i = choice_index(op->choices, value);
        if (i < 0)
            return tgi_fail(ctx, TG_EINVAL, "option '%s' must be one of %s (got '%s')", name,
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
        return tgi_fail(ctx, TG_EINVAL, "option '%s' needs a number (got '%s')", name, value);
    if (op->type == TG_OPT_INT && v != floor(v))
        return tgi_fail(ctx, TG_EINVAL, "option '%s' needs a whole number (got '%s')", name, value);
    if (v < op->min || v > op->max)
        return tgi_fail(ctx, TG_EINVAL, "option '%s' must be between %g and %g (got %s)", name,
                        op->min, op->max, value);
    if (op->type == TG_OPT_DOUBLE || op->type == TG_OPT_BYTES)
        *(double *)field = v;
    else
        *(int *)field = (int)v;
    return 0;
}

/* The members of a TG_OPT_SET value, as a JSON array of names in the table's order. */
static json_t *set_json(const tg_opt *op, int bits)
{
    json_t *a = json_array();
    for (int i = 0; (1 << i) <= (int)op->max; i++)
        if (bits & (1 << i)) {
            size_t len;
            const char *name = tg_opt_choice_name(op, i, &len);
            json_array_append_new(a, json_stringn(name, len));
        }
    return a;
}

char *tg_options_to_json(const tg_options *o)
{
    json_t *obj = json_object();
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *op = st->opts; op->name; op++) {
            const char *field = (const char *)o + op->offset;
            if (op->type == TG_OPT_BYTES && *(const double *)field <= 0) {
                json_object_set_new(obj, op->name, json_null()); /* none */
            } else if (op->type == TG_OPT_DOUBLE || op->type == TG_OPT_BYTES) {
                json_object_set_new(obj, op->name, json_real(*(const double *)field));
            } else if (op->type == TG_OPT_ENUM) {
                size_t len;
                const char *name = tg_opt_choice_name(op, *(const int *)field, &len);
                json_object_set_new(obj, op->name, json_stringn(name, len));
            } else if (op->type == TG_OPT_SET) {
                json_object_set_new(obj, op->name, set_json(op, *(const int *)field));
            } else {
                json_object_set_new(obj, op->name, json_integer(*(const int *)field));
            }
        }
    char *s = json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(obj);
    return s;
}

int tg_options_from_json_text(tg_ctx *ctx, const char *text, tg_options *o)
{
    json_error_t e;
    json_t *obj = json_loads(text, 0, &e);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return tgi_fail(ctx, TG_EINVAL, "\"options\" must be a JSON object");
    }
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(obj, key, v)
    {
        char buf[64];
        const char *val = buf;
        if (json_is_null(v))
            continue;           /* an option left at its default ("none") */
        if (json_is_array(v)) { /* a set: ["gif", "webp"] */
            size_t i, used = 0;
            json_t *item;
            buf[0] = '\0';
            json_array_foreach(v, i, item)
            {
                const char *s = json_string_value(item);
                int w = s ? snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? "," : "", s) : -1;
                if (w < 0 || (size_t)w >= sizeof(buf) - used) {
                    rc = tgi_fail(ctx, TG_EINVAL, "option '%s' must be a list of names", key);
                    break;
                }
                used += (size_t)w;
            }
            if (rc < 0)
                break;
        } else if (json_is_string(v))
            val = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
            snprintf(buf, sizeof(buf), "%.10g", json_real_value(v));
        else {
            rc = tgi_fail(ctx, TG_EINVAL, "option '%s' must be a number or a string", key);
            break;
        }
        if ((rc = tg_options_set(ctx, o, key, val)) < 0)
            break;
    }
    json_decref(obj);
    return rc;
}

char *tg_options_table_json(void)
{
    static const char *const types[] = {"int", "number", "choice", "bytes", "set"};
    json_t *arr = json_array();
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *op = st->opts; op->name; op++) {
            json_t *o = json_object(), *def;
            json_object_set_new(o, "name", json_string(op->name));
            json_object_set_new(o, "stage", json_string(st->stage));
            json_object_set_new(o, "type", json_string(types[op->type]));
            if (op->type == TG_OPT_ENUM) {
                size_t len;
                const char *name = tg_opt_choice_name(op, (int)op->def, &len);
                def = json_stringn(name, len);
                json_t *ch = json_array();
                for (int i = 0; i <= (int)op->max; i++) {
                    name = tg_opt_choice_name(op, i, &len);
                    if (len)
                        json_array_append_new(ch, json_stringn(name, len));
                }
                json_object_set_new(o, "choices", ch);
            } else if (op->type == TG_OPT_SET) {
                def = set_json(op, (int)op->def);
                json_t *ch = json_array();
                for (int i = 0; (1 << i) <= (int)op->max; i++) {
                    size_t len;
                    const char *name = tg_opt_choice_name(op, i, &len);
                    json_array_append_new(ch, json_stringn(name, len));
                }
                json_object_set_new(o, "choices", ch);
            } else {
                if (op->type == TG_OPT_BYTES && op->def <= 0)
                    def = json_null(); /* none */
                else if (op->type == TG_OPT_INT)
                    def = json_integer((json_int_t)op->def);
                else
                    def = json_real(op->def);
                json_object_set_new(o, "min",
                                    op->type == TG_OPT_INT ? json_integer((json_int_t)op->min)
                                                           : json_real(op->min));
                json_object_set_new(o, "max",
                                    op->type == TG_OPT_INT ? json_integer((json_int_t)op->max)
                                                           : json_real(op->max));
            }
            json_object_set_new(o, "default", def);
            json_object_set_new(o, "help", json_string(op->help ? op->help : ""));
            json_array_append_new(arr, o);
        }
    char *s = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(arr);
    return s;
}
