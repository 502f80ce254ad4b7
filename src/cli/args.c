/*
 * args.c — the one argv parser of the command line, driven by a command's option
 * table (cli.h), and the --help it prints from the same table.
 *
 * An argument is an option when it starts with "-" and is longer than "-": "--name",
 * "--name=value" or "-x" (a row's letter); a value-taking option without "=" takes
 * the next argument whatever it starts with. The name is looked up in the command's
 * rows, then (lib_all) in the library's option tables; a name in neither is an
 * unknown option, said with the closest known name when one is a likely typo.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int tgi_cli_usage_error(const tgi_cli_command *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "thumbgen: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'thumbgen %s%s--help')\n", cmd ? cmd->name : "", cmd ? " " : "");
    return 2;
}

size_t tgi_cli_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return n > m ? n : m;
    size_t d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *tgi_cli_closest(const char *typed, const char *const *names, size_t n)
{
    /* one edit in a short name, two in a longer one: more is another word */
    size_t len = strlen(typed), most = len <= 2 ? 0 : len <= 5 ? 1 : 2;
    const char *best = NULL;
    size_t best_d = most + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = tgi_cli_distance(typed, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    return best;
}

static const tg_opt *lib_opt(const char *name)
{
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++)
        for (const tg_opt *o = st->opts; o->name; o++)
            if (!strcmp(o->name, name))
                return o;
    return NULL;
}

/* "unknown option '--clip'; did you mean --clips?" */
static int unknown_option(const tgi_cli_command *cmd, const char *arg, const char *name)
{
    const char *names[128];
    size_t n = 0;
    for (const tgi_arg *r = cmd->args; r && r->name && n < 128; r++)
        names[n++] = r->name;
    for (const tg_opt_stage *st = tg_option_stages; cmd->lib_all && st->stage; st++)
        for (const tg_opt *o = st->opts; o->name && n < 128; o++)
            names[n++] = o->name;
    const char *near = arg[1] == '-' ? tgi_cli_closest(name, names, n) : NULL;
    if (!near)
        return tgi_cli_usage_error(cmd, "unknown option '%s'", arg);
    char msg[200];
    snprintf(msg, sizeof(msg), "unknown option '%%s'; did you mean --%s?", near);
    return tgi_cli_usage_error(cmd, msg, arg);
}

/* "a|b|c" as "a, b or c" */
static void choices_in_words(const char *choices, char *out, size_t n)
{
    size_t k = 0, bars = 0;
    for (const char *p = choices; *p; p++)
        bars += *p == '|';
    for (const char *p = choices; *p && k + 5 < n; p++) {
        if (*p != '|') {
            out[k++] = *p;
            continue;
        }
        const char *sep = --bars ? ", " : " or ";
        while (*sep && k + 1 < n)
            out[k++] = *sep++;
    }
    out[k] = '\0';
}

static int choice_index(const char *choices, const char *value)
{
    size_t vl = strlen(value);
    int idx = 0;
    for (const char *p = choices;; idx++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == vl && !strncmp(p, value, len))
            return idx;
        if (!bar)
            return -1;
        p = bar + 1;
    }
}

static int parse_seconds(const char *v, int *ms)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(s) || s < 0.01 || s > 86400)
        return -1;
    *ms = (int)lround(s * 1000);
    return 0;
}

/* What a row's value should be, for the error (" (…)" or ""). */
static const char *expected(const tgi_arg *r)
{
    static _Thread_local char buf[96];
    if (r->kind == TG_ARG_INT)
        snprintf(buf, sizeof(buf), " (a whole number from %g to %g)", r->lo, r->hi);
    else if (r->kind == TG_ARG_SECONDS)
        snprintf(buf, sizeof(buf), " (seconds, from 0.01 to 86400)");
    else if (r->kind == TG_ARG_BYTES)
        snprintf(buf, sizeof(buf), " (a size such as 500M or 1G)");
    else
        buf[0] = '\0';
    return buf;
}

/* Set one row from its value; 0, or the exit status of the usage error said. */
static int set_row(const tgi_cli_command *cmd, const tgi_arg *r, const char *arg, const char *v,
                   void *dst)
{
    char *field = (char *)dst + r->offset;
    char *end;
    int bad = 0;
    switch (r->kind) {
    case TG_ARG_FLAG:
        *(int *)field = 1;
        return 0;
    case TG_ARG_STRING:
        *(const char **)field = v;
        return 0;
    case TG_ARG_INT: {
        errno = 0;
        long x = strtol(v, &end, 10);
        bad = errno || end == v || *end || x < r->lo || x > r->hi;
        if (!bad)
            *(int *)field = (int)x;
        break;
    }
    case TG_ARG_SECONDS:
        bad = parse_seconds(v, (int *)field) < 0;
        break;
    case TG_ARG_BYTES: {
        double bytes = 0;
        bad = tg_parse_bytes(v, &bytes) < 0 || bytes < r->lo || bytes > r->hi;
        if (!bad)
            *(long long *)field = (long long)bytes;
        break;
    }
    case TG_ARG_CHOICE: {
        int i = choice_index(r->choices, v);
        if (i >= 0) {
            *(int *)field = i;
            return 0;
        }
        char words[256], msg[400];
        choices_in_words(r->choices, words, sizeof(words));
        snprintf(msg, sizeof(msg), "--%s must be %s (got '%%s')", r->name, words);
        return tgi_cli_usage_error(cmd, msg, v);
    }
    case TG_ARG_FN:
        bad = r->fn(dst, v) < 0;
        break;
    case TG_ARG_LIB: {
        tg_ctx *ctx = tg_ctx_new();
        int rc = ctx ? tg_options_set(ctx, (tg_options *)((char *)dst + cmd->lib_at), r->name, v)
                     : TG_ENOMEM;
        if (rc < 0)
            tgi_cli_usage_error(cmd, "%s", ctx ? tg_ctx_message(ctx) : "out of memory");
        tg_ctx_free(&ctx);
        return rc < 0 ? 2 : 0;
    }
    }
    if (!bad)
        return 0;
    char msg[200];
    snprintf(msg, sizeof(msg), "bad value for %s: '%%s'%s", arg, expected(r));
    return tgi_cli_usage_error(cmd, msg, v);
}

int tgi_cli_parse(const tgi_cli_command *cmd, int argc, char **argv, void *dst,
                  const void *defaults)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            tgi_cli_help(cmd, stdout, defaults);
            return 1;
        }
        if (a[0] != '-' || !a[1]) {
            const char *why = cmd->operand ? cmd->operand(dst, a) : "unexpected argument '%s'";
            if (why)
                return tgi_cli_usage_error(cmd, why, a);
            continue;
        }
        /* --name=value, --name, -x */
        char name[64];
        const char *eq = a[1] == '-' ? strchr(a, '=') : NULL, *nm = a[1] == '-' ? a + 2 : a + 1;
        size_t nl = eq ? (size_t)(eq - nm) : strlen(nm);
        if (nl == 0 || nl >= sizeof(name))
            return tgi_cli_usage_error(cmd, "bad option '%s'", a);
        memcpy(name, nm, nl);
        name[nl] = '\0';
        const tgi_arg *row = NULL;
        for (const tgi_arg *r = cmd->args; r && r->name && !row; r++)
            if (a[1] == '-' ? !strcmp(r->name, name) : (nl == 1 && r->letter == name[0]))
                row = r;
        static tgi_arg lib_row; /* a library option, as a row (one parse at a time) */
        if (!row && a[1] == '-' && cmd->lib_all && lib_opt(name)) {
            lib_row = (tgi_arg){.name = lib_opt(name)->name, .kind = TG_ARG_LIB, .meta = "V"};
            row = &lib_row;
        }
        if (!row)
            return unknown_option(cmd, a, name);
        const char *v = eq ? eq + 1 : NULL;
        if (!row->meta) { /* a flag */
            if (v)
                return tgi_cli_usage_error(cmd, "option '%s' takes no value", a);
        } else if (!v) {
            if (i + 1 >= argc)
                return tgi_cli_usage_error(cmd, "option '%s' needs a value", a);
            v = argv[++i];
        }
        char shown[80];
        snprintf(shown, sizeof(shown), "--%s", row->name);
        int rc = set_row(cmd, row, shown, v, dst);
        if (rc)
            return rc;
    }
    return 0;
}

/* A default as text ("" when none is shown). */
static void default_text(const tgi_arg *r, const void *defaults, char *out, size_t n)
{
    out[0] = '\0';
    if (!defaults || r->no_default)
        return;
    const char *field = (const char *)defaults + r->offset;
    switch (r->kind) {
    case TG_ARG_STRING:
        if (*(const char *const *)field)
            snprintf(out, n, "%s", *(const char *const *)field);
        break;
    case TG_ARG_INT:
        snprintf(out, n, "%d", *(const int *)field);
        break;
    case TG_ARG_SECONDS:
        snprintf(out, n, "%g", *(const int *)field / 1000.0);
        break;
    case TG_ARG_BYTES: {
        long long b = *(const long long *)field;
        static const char units[] = "GMk";
        for (int k = 0; k < 3; k++) {
            long long u = 1LL << (10 * (3 - k));
            if (b >= u && b % u == 0) {
                snprintf(out, n, "%lld%c", b / u, units[k]);
                return;
            }
        }
        snprintf(out, n, "%lld", b);
        break;
    }
    case TG_ARG_CHOICE: {
        const char *p = r->choices;
        for (int i = 0; i < *(const int *)field && p; i++)
            p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
        if (p)
            snprintf(out, n, "%.*s", (int)strcspn(p, "|"), p);
        break;
    }
    case TG_ARG_LIB: {
        const tg_opt *o = lib_opt(r->name);
        if (o && o->type == TG_OPT_ENUM) {
            size_t len;
            const char *c = tg_opt_choice_name(o, (int)o->def, &len);
            snprintf(out, n, "%.*s", (int)len, c);
        } else if (o)
            snprintf(out, n, "%g", o->def);
        break;
    }
    default:
        break;
    }
}

void tgi_cli_help(const tgi_cli_command *cmd, FILE *f, const void *defaults)
{
    fputs(cmd->usage, f);
    for (const tgi_arg *r = cmd->args; r && r->name; r++) {
        char head[64], def[128];
        snprintf(head, sizeof(head), "%s%c%s--%s%s%s", r->letter ? "-" : "",
                 r->letter ? r->letter : ' ', r->letter ? ", " : "", r->name, r->meta ? " " : "",
                 r->meta ? r->meta : "");
        const char *h = head + (r->letter ? 0 : 1);
        fprintf(f, "  %-20s", h);
        if (strlen(h) > 20)
            fprintf(f, "\n  %20s", "");
        /* the help, its continuation lines under its first */
        for (const char *p = r->help; *p;) {
            size_t len = strcspn(p, "\n");
            fprintf(f, " %.*s", (int)len, p);
            p += len;
            if (*p == '\n') {
                fprintf(f, "\n  %20s", "");
                p++;
            }
        }
        default_text(r, defaults, def, sizeof(def));
        const tg_opt *o = r->kind == TG_ARG_LIB ? lib_opt(r->name) : NULL;
        if (o && o->type == TG_OPT_ENUM)
            fprintf(f, "\n  %20s (%s; default %s)", "", o->choices, def);
        else if (*def)
            fprintf(f, " (default %s)", def);
        fputc('\n', f);
    }
    if (cmd->lib_all)
        tgi_cli_print_lib_options(f);
}

void tgi_cli_print_lib_options(FILE *f)
{
    for (const tg_opt_stage *st = tg_option_stages; st->stage; st++) {
        fprintf(f, "\n%s options:\n", st->stage);
        for (const tg_opt *o = st->opts; o->name; o++) {
            char def[64];
            if (o->type == TG_OPT_ENUM) {
                /* the default is an index into the choices */
                size_t len;
                const char *p = tg_opt_choice_name(o, (int)o->def, &len);
                snprintf(def, sizeof(def), "%.*s", (int)len, p);
                fprintf(f, "  --%-12s %s\n  %14s (%s; default %s)\n", o->name, o->help, "",
                        o->choices, def);
            } else if (o->type == TG_OPT_BYTES) {
                fprintf(f, "  --%-12s %s\n  %14s (10k..1G; default none)\n", o->name, o->help, "");
            } else if (o->type == TG_OPT_SET) {
                fprintf(f, "  --%-12s %s\n  %14s (some of %s, e.g. gif,webp; default all)\n",
                        o->name, o->help, "", o->choices);
            } else {
                snprintf(def, sizeof(def), "%g", o->def);
                fprintf(f, "  --%-12s %s\n  %14s (%g..%g; default %s)\n", o->name, o->help, "",
                        o->min, o->max, def);
            }
        }
    }
}
