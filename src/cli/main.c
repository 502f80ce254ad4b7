/*
 * main.c — the thumbgen command line. It only uses the public header.
 *
 *   thumbgen plan VIDEO [options] [-o plan.json]     print the plan as JSON
 *   thumbgen make VIDEO -o thumb.gif [--poster P] [--plan plan.json] [options]
 *
 * Options come from the library's per-stage tables (tg_option_stages), so --help
 * and validation never drift from the library. Exit codes: 0 success, 1 the work
 * failed (one line on stderr says why), 2 bad usage. SIGINT/SIGTERM cancel the job;
 * the library removes partial outputs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "thumbgen.h"

#define TG_VERSION "0.1.0"

static tg_ctx *g_ctx;

static void on_signal(int sig)
{
    (void)sig;
    tg_ctx_cancel(g_ctx);
}

typedef struct cli {
    const char *cmd, *input, *output, *poster, *plan_in, *sheet;
    const char *from_analysis; /* plan --from-analysis FILE */
    const char *anim[3];       /* make/encode: the .gif, .webp and .mp4 outputs */
    const char **inputs;       /* encode: every input (points into argv) */
    size_t n_inputs;
    int quiet, help;
    int formats;            /* --format/--all: bit k = gif, webp, mp4 */
    const char *base;       /* -o without a known extension (a base name for --format) */
    char expanded[3][4096]; /* base + extension for --format */
    tg_options opt;
} cli;

static void print_options(FILE *f)
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

static void usage(FILE *f, const char *cmd)
{
    if (!cmd || !strcmp(cmd, "make")) {
        fprintf(f, "usage: thumbgen make VIDEO -o THUMB.gif [--poster POSTER.jpg|.png]\n"
                   "                     [--plan PLAN.json] [--quiet] [options]\n"
                   "  Make the animated thumbnail (and optionally a poster) of VIDEO.\n"
                   "  -o, --output FILE   the animation to write: .gif, .webp (animated WebP) or\n"
                   "                      .mp4 (muted looping H.264); repeat -o for several\n"
                   "  --format F          also write FILE's name with F's extension (gif, webp,\n"
                   "                      mp4; repeatable); --all: all three\n"
                   "  --poster FILE       also write the poster still (.jpg, .jpeg or .png)\n"
                   "  --sheet FILE        also write a contact sheet of the ranked keyframes with\n"
                   "                      their times (.jpg or .png)\n"
                   "  --plan FILE         render this plan (from `thumbgen plan`, maybe edited)\n"
                   "                      instead of analysing the video\n"
                   "  -q, --quiet         no progress bar\n");
    }
    if (!cmd || !strcmp(cmd, "encode")) {
        fprintf(f, "usage: thumbgen encode CLIP.mp4 | FRAME.png... -o OUT.gif [-o OUT.webp]\n"
                   "                       [-o OUT.mp4] [--fps F] [--width W] [--quality Q]\n"
                   "                       [--max-bytes N]\n"
                   "  Encode exactly the given clip (every frame) or images (one frame each,\n"
                   "  in order), with no selection.\n");
    }
    if (!cmd || !strcmp(cmd, "plan")) {
        fprintf(f, "usage: thumbgen plan VIDEO [-o PLAN.json] [options]\n"
                   "       thumbgen plan --from-analysis ANALYSIS.json [-o PLAN.json] [options]\n"
                   "  Analyse VIDEO and print the plan as JSON: shots, the chosen clips\n"
                   "  (segments), ranked keyframes, the poster time and warnings.\n"
                   "  -o, --output FILE   write the plan to FILE instead of stdout\n"
                   "  --from-analysis F   choose from an analysis written by `thumbgen analyze`\n"
                   "                      (no decoding: the select options apply)\n"
                   "  -q, --quiet         no progress bar\n");
    }
    if (!cmd || !strcmp(cmd, "analyze")) {
        fprintf(f, "usage: thumbgen analyze VIDEO -o ANALYSIS.json [--analysis M] [--cnn N]\n"
                   "  Analyse VIDEO and write what the analysis measured, before any choice:\n"
                   "  per-sample signals and events, shots, cuts, the CNN's embeddings, faces\n"
                   "  (docs/analysis.md). `thumbgen plan --from-analysis` chooses from it.\n");
    }
    if (!cmd)
        fprintf(
            f,
            "usage: thumbgen embed IMAGE|VIDEO [--cnn MODEL]   (what the CNN sees, JSON)\n"
            "usage: thumbgen upscale IMAGE -o OUT.png --scale 2|3|4 [--method M]\n"
            "                                  (one still image; see thumbgen upscale --help)\n"
            "usage: thumbgen serve [options]   (the web app; see thumbgen serve --help)\n"
            "usage: thumbgen worker --store postgres://... --data DIR   (runs jobs of a shared\n"
            "                                  queue; see thumbgen worker --help)\n"
            "usage: thumbgen doctor [--ytdlp PATH] [--data DIR]   (what is missing, and the fix)\n"
            "usage: thumbgen --version | thumbgen COMMAND --help\n");
    print_options(f);
}

/* One line, as the README promises: what is wrong, then where help is. */
static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "thumbgen: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see 'thumbgen %s--help')\n", cmd ? cmd : "");
    return 2;
}

/* 1 when out names the same file as in (same device and inode, whatever the
 * spelling: a link, ./, another path). A file that does not exist yet is not. */
static int same_file(const char *in, const char *out)
{
    struct stat a, b;
    return in && out && stat(in, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* Refuse before anything is written when an output would overwrite an input. */
static int outputs_spare_inputs(const char *cmd, const char *const *ins, size_t n_in,
                                const char *const *outs, size_t n_out)
{
    for (size_t i = 0; i < n_in; i++)
        for (size_t k = 0; k < n_out; k++)
            if (same_file(ins[i], outs[k])) {
                fprintf(stderr,
                        "thumbgen: the output '%s' is the input '%s'; choose another output "
                        "name (see 'thumbgen %s--help')\n",
                        outs[k], ins[i], cmd);
                return 2;
            }
    return 0;
}

static int parse(int argc, char **argv, cli *c)
{
    tg_options_default(&c->opt);
    int i = 1;
    if (i < argc && argv[i][0] != '-')
        c->cmd = argv[i++];
    const char *cmdsp = !c->cmd                      ? ""
                        : !strcmp(c->cmd, "make")    ? "make "
                        : !strcmp(c->cmd, "encode")  ? "encode "
                        : !strcmp(c->cmd, "analyze") ? "analyze "
                                                     : "plan ";
    if (c->cmd && strcmp(c->cmd, "make") && strcmp(c->cmd, "plan") && strcmp(c->cmd, "encode") &&
        strcmp(c->cmd, "analyze"))
        return usage_error(NULL,
                           "unknown command '%s' (commands: make, plan, analyze, encode, embed, "
                           "upscale, serve)",
                           c->cmd);
    for (; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            c->help = 1;
            continue;
        }
        if (!strcmp(a, "--version")) {
            c->help = 2;
            continue;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            c->quiet = 1;
            continue;
        }
        if (!strcmp(a, "--all")) {
            c->formats = 7;
            continue;
        }
        if (a[0] != '-' || !strcmp(a, "-")) {
            if (c->cmd && !strcmp(c->cmd, "encode")) {
                if (!c->inputs)
                    c->inputs = calloc((size_t)argc, sizeof(char *));
                if (!c->inputs)
                    return usage_error(cmdsp, "out of memory%s", "");
                c->inputs[c->n_inputs++] = a;
                c->input = a;
                continue;
            }
            if (c->input)
                return usage_error(cmdsp, "unexpected argument '%s' (one video at a time)", a);
            c->input = a;
            continue;
        }
        /* --name=value or --name value */
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        const char *nm = a[1] == '-' ? a + 2 : a + 1;
        size_t nl = eq ? (size_t)(eq - nm) : strlen(nm);
        if (nl == 0 || nl >= sizeof(name))
            return usage_error(cmdsp, "bad option '%s'", a);
        memcpy(name, nm, nl);
        name[nl] = '\0';
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return usage_error(cmdsp, "option '%s' needs a value", a);
        if (!strcmp(name, "o") || !strcmp(name, "output")) {
            c->output = val;
            const char *dot = strrchr(val, '.');
            static const char *exts[3] = {".gif", ".webp", ".mp4"};
            int k = 0;
            while (k < 3 && !(dot && !strcasecmp(dot, exts[k])))
                k++;
            if (c->cmd && (!strcmp(c->cmd, "make") || !strcmp(c->cmd, "encode"))) {
                if (k == 3)
                    c->base = val; /* checked below: needs --format or --all */
                else
                    c->anim[k] = val;
            }
        } else if (!strcmp(name, "format")) {
            static const char *fmts[3] = {"gif", "webp", "mp4"};
            int k = 0;
            while (k < 3 && strcmp(val, fmts[k]))
                k++;
            if (k == 3)
                return usage_error(cmdsp, "--format must be gif, webp or mp4 (got '%s')", val);
            c->formats |= 1 << k;
        } else if (!strcmp(name, "poster"))
            c->poster = val;
        else if (!strcmp(name, "sheet"))
            c->sheet = val;
        else if (!strcmp(name, "plan"))
            c->plan_in = val;
        else if (!strcmp(name, "from-analysis"))
            c->from_analysis = val;
        else if (a[1] != '-')
            return usage_error(cmdsp, "unknown option '%s'", a);
        else {
            tg_ctx *ctx = tg_ctx_new();
            int rc = ctx ? tg_options_set(ctx, &c->opt, name, val) : TG_ENOMEM;
            if (rc < 0) {
                usage_error(cmdsp, "%s", ctx ? tg_ctx_message(ctx) : "out of memory");
                tg_ctx_free(&ctx);
                return 2;
            }
            tg_ctx_free(&ctx);
            if (!strcmp(name, "formats"))
                c->formats |= c->opt.formats; /* --formats gif,webp: --format for each */
        }
    }
    /* --format F / --all: the outputs are -o's base name with each extension */
    if (c->base && !c->formats)
        return usage_error(cmdsp, "the output '%s' must end in .gif, .webp or .mp4", c->base);
    if (c->formats) {
        const char *from = c->base;
        for (int k = 0; k < 3 && !from; k++)
            from = c->anim[k];
        if (!from)
            return usage_error(cmdsp, "--format and --all need -o NAME%s", "");
        const char *slash = strrchr(from, '/'), *dot = strrchr(from, '.');
        int len =
            dot && (!slash || dot > slash) && !c->base ? (int)(dot - from) : (int)strlen(from);
        static const char *exts[3] = {".gif", ".webp", ".mp4"};
        if ((size_t)len + 6 > sizeof(c->expanded[0]))
            return usage_error(cmdsp, "the output name '%s' is too long", from);
        for (int k = 0; k < 3; k++)
            if ((c->formats & (1 << k)) && !c->anim[k]) {
                snprintf(c->expanded[k], sizeof(c->expanded[k]), "%.*s%s", len, from, exts[k]);
                c->anim[k] = c->expanded[k];
            }
    }
    return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return -1;
    *out = (int)x;
    return 0;
}

static void serve_usage(FILE *f)
{
    fprintf(f, "usage: thumbgen serve [--host 127.0.0.1] [--port 8000] [--data DIR] [--workers N]\n"
               "                      [--downloaders N] [--ytdlp PATH] [--max-upload SIZE] "
               "[--max-queue N]\n"
               "                      [--allow-private-urls] [--web DIR] [--quiet]\n"
               "                      [--ytdlp-cookies FILE] [--ytdlp-arg ARG]... "
               "[--ytdlp-update never|start|daily]\n"
               "                      [--public-host NAME]... [--token-file FILE | "
               "--require-token | --no-auth]\n"
               "                      [--store SPEC] [--lease S] [--heartbeat S] "
               "[--max-attempts N]\n"
               "  The web app and its JSON API (docs/api.md) on http://HOST:PORT/.\n"
               "  --host ADDR          address to listen on (default 127.0.0.1)\n"
               "  --port N             port (default 8000; 0 picks a free one)\n"
               "  --data DIR           job database, videos/ and thumbnails/ (default ./data)\n"
               "  --store SPEC         the job store: sqlite:PATH (default DATA/thumbgen.db) or\n"
               "                       postgres://... shared with other API processes and\n"
               "                       `thumbgen worker`s (docs/deploy.md); default from\n"
               "                       $THUMBGEN_STORE when set\n"
               "  --workers N          analyse/render workers (default 2; 0: API and page only)\n"
               "  --downloaders N      download workers (default 2)\n"
               "  --lease S            a claimed job's lease in seconds (default 30)\n"
               "  --heartbeat S        lease renewal period in seconds (default 5)\n"
               "  --max-attempts N     lost leases before a job fails (default 3)\n"
               "  --ytdlp PATH         the yt-dlp to run (default: the project's .venv/bin/yt-dlp\n"
               "                       when scripts/setup made one, else yt-dlp on PATH)\n"
               "  --ytdlp-cookies FILE a cookies.txt for yt-dlp (YouTube's \"confirm you're not\n"
               "                       a bot\" on server addresses; see docs/youtube.md)\n"
               "  --ytdlp-arg ARG      one more argument for yt-dlp (repeat it), e.g.\n"
               "                       --ytdlp-arg=--extractor-args --ytdlp-arg=youtube:...\n"
               "  --ytdlp-update WHEN  upgrade the project's own yt-dlp with pip: never, start\n"
               "                       (default, in the background) or daily\n"
               "  --max-upload SIZE    largest upload or download, e.g. 500M (default 1G)\n"
               "  --max-queue N        jobs waiting before new ones get 429 (default 100)\n"
               "  --allow-private-urls allow links to loopback and private addresses (tests)\n"
               "  --public-host NAME   also answer to this host name (repeatable; e.g. behind a\n"
               "                       reverse proxy); other Host headers get 421\n"
               "  --token-file FILE    the API needs the token on FILE's first line (any address)\n"
               "  --require-token      make a token at start and print it, even on loopback\n"
               "  --no-auth            serve a non-loopback address without a token (which is\n"
               "                       otherwise made at start and printed once)\n"
               "  --web DIR            the page's files (default ./web)\n"
               "  -q, --quiet          no request log\n");
}

static int serve_main(int argc, char **argv)
{
    tg_serve_opts o;
    tg_serve_opts_default(&o);
    /* --ytdlp-arg values, borrowed from argv (at most one per argument) */
    const char **yargs = calloc((size_t)argc + 1, sizeof(*yargs));
    if (!yargs)
        return 1;
    o.ytdlp_args = yargs;
    const char *public_hosts[17] = {0};
    int n_public = 0;
    o.public_hosts = public_hosts;
    const char *env_store = getenv("THUMBGEN_STORE");
    if (env_store && *env_store)
        o.store = env_store;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strncmp(a, "--ytdlp-arg=", 12)) { /* the value may start with "-" */
            yargs[o.n_ytdlp_args++] = a + 12;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            serve_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--allow-private-urls")) {
            o.allow_private_urls = 1;
            continue;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = 1;
            continue;
        } else if (!strcmp(a, "--require-token")) {
            o.require_token = 1;
            continue;
        } else if (!strcmp(a, "--no-auth")) {
            o.no_auth = 1;
            continue;
        }
        if (!v)
            return usage_error("serve ", "option '%s' needs a value (or is unknown)", a);
        i++;
        if (!strcmp(a, "--host"))
            o.host = v;
        else if (!strcmp(a, "--port"))
            bad = parse_int(v, 0, 65535, &o.port);
        else if (!strcmp(a, "--data"))
            o.data_dir = v;
        else if (!strcmp(a, "--web"))
            o.web_dir = v;
        else if (!strcmp(a, "--token-file"))
            o.token_file = v;
        else if (!strcmp(a, "--public-host")) {
            bad = n_public >= 16 || !*v || strpbrk(v, ":/[] ") != NULL;
            if (!bad)
                public_hosts[n_public++] = v;
        } else if (!strcmp(a, "--ytdlp"))
            o.ytdlp = v;
        else if (!strcmp(a, "--ytdlp-cookies"))
            bad = access(v, R_OK) != 0;
        else if (!strcmp(a, "--ytdlp-arg"))
            yargs[o.n_ytdlp_args++] = v;
        else if (!strcmp(a, "--ytdlp-update")) {
            if (!strcmp(v, "never"))
                o.ytdlp_update = TG_YTDLP_UPDATE_NEVER;
            else if (!strcmp(v, "start"))
                o.ytdlp_update = TG_YTDLP_UPDATE_START;
            else if (!strcmp(v, "daily"))
                o.ytdlp_update = TG_YTDLP_UPDATE_DAILY;
            else
                bad = 1;
        } else if (!strcmp(a, "--workers"))
            bad = parse_int(v, 0, 64, &o.workers);
        else if (!strcmp(a, "--downloaders"))
            bad = parse_int(v, 0, 16, &o.downloaders);
        else if (!strcmp(a, "--store"))
            o.store = v;
        else if (!strcmp(a, "--lease"))
            bad = tg_cli_parse_ms(v, &o.lease_ms);
        else if (!strcmp(a, "--heartbeat"))
            bad = tg_cli_parse_ms(v, &o.heartbeat_ms);
        else if (!strcmp(a, "--max-attempts"))
            bad = parse_int(v, 1, 100, &o.max_attempts);
        else if (!strcmp(a, "--max-queue"))
            bad = parse_int(v, 1, 100000, &o.max_queue);
        else if (!strcmp(a, "--max-upload")) {
            double bytes = 0;
            bad = tg_parse_bytes(v, &bytes) < 0 || bytes < 1 || bytes > 1e15;
            o.max_upload = (long long)bytes;
        } else {
            free(yargs);
            return usage_error("serve ", "unknown option '%s'", a);
        }
        if (bad) {
            free(yargs);
            return usage_error("serve ", "bad value for %s", a);
        }
        if (!strcmp(a, "--ytdlp-cookies"))
            o.ytdlp_cookies = v;
    }
    int rc = tg_cli_run_server(&o);
    free(yargs);
    return rc;
}

static int job_start(int quiet);

static void upscale_usage(FILE *f)
{
    fprintf(f, "usage: thumbgen upscale IMAGE -o OUT.png|.jpg --scale 2|3|4 [--method M] [-q]\n"
               "  Upscale one still image (PNG, JPEG, …) by a whole factor.\n"
               "  -o, --output FILE   the result: .png or .jpg/.jpeg\n"
               "  --scale N           2, 3 or 4 (default 2)\n"
               "  --method M          the upscale-method option's choices (see thumbgen make\n"
               "                      --help; default: the same as make's)\n"
               "  -q, --quiet         no progress bar\n");
}

static int upscale_main(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *method = NULL;
    int scale = 2, quiet = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            upscale_usage(stdout);
            return 0;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
            continue;
        } else if (a[0] != '-') {
            if (in)
                return usage_error("upscale ", "unexpected argument '%s' (one image at a time)", a);
            in = a;
            continue;
        }
        if (!v)
            return usage_error("upscale ", "option '%s' needs a value (or is unknown)", a);
        i++;
        if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            out = v;
        else if (!strcmp(a, "--method"))
            method = v;
        else if (!strcmp(a, "--scale")) {
            if (parse_int(v, 2, 4, &scale) < 0)
                return usage_error("upscale ", "--scale must be 2, 3 or 4 (got '%s')", v);
        } else
            return usage_error("upscale ", "unknown option '%s'", a);
    }
    if (!in)
        return usage_error("upscale ", "upscale needs an IMAGE%s", "");
    if (!out)
        return usage_error("upscale ", "upscale needs -o OUT.png (or .jpg)%s", "");
    if (outputs_spare_inputs("upscale ", &in, 1, &out, 1))
        return 2;
    int bar = job_start(quiet);
    if (bar < 0)
        return 1;
    int rc = tg_upscale_file(g_ctx, in, out, scale, method);
    if (bar)
        fputc('\n', stderr);
    if (rc < 0) {
        /* a bad method name is a usage error, like any other bad option value */
        int usage = rc == TG_EINVAL && method && strstr(tg_ctx_message(g_ctx), "method");
        fprintf(stderr, "thumbgen: error: %s\n",
                *tg_ctx_message(g_ctx) ? tg_ctx_message(g_ctx) : tg_strerror(rc));
        rc = usage ? 2 : 1;
    }
    tg_ctx_free(&g_ctx);
    return rc;
}

static void progress_bar(void *user, const char *stage, double f)
{
    (void)user;
    int pct = (int)(f * 100 + 0.5), w = 30, fill = (int)(f * w + 0.5);
    static int last_pct = -1;
    static char last_stage[16];
    if (pct == last_pct && !strncmp(stage, last_stage, sizeof(last_stage) - 1))
        return;
    last_pct = pct;
    snprintf(last_stage, sizeof(last_stage), "%s", stage);
    char bar[64];
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(w - fill));
    bar[w] = '\0';
    fprintf(stderr, "\r%-8s [%s] %3d%%", stage, bar, pct);
    fflush(stderr);
}

/* A command's job: the context in g_ctx, SIGINT/SIGTERM cancel it, a progress bar
 * on a terminal unless quiet. Returns 1 with a bar, 0 without, -1 out of memory. */
static int job_start(int quiet)
{
    g_ctx = tg_ctx_new();
    if (!g_ctx) {
        fprintf(stderr, "thumbgen: error: out of memory\n");
        return -1;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int bar = !quiet && isatty(2);
    if (bar)
        tg_ctx_set_progress(g_ctx, progress_bar, NULL);
    return bar;
}

static int fail(tg_ctx *ctx, int rc)
{
    const char *msg = tg_ctx_message(ctx);
    fprintf(stderr, "thumbgen: error: %s\n", *msg ? msg : tg_strerror(rc));
    return 1;
}

static char *slurp_max(const char *path, size_t max);
static char *slurp(const char *path)
{
    return slurp_max(path, 64u << 20); /* a plan is small; refuse absurd files */
}

static char *slurp_max(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            if (cap > max)
                break;
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* thumbgen encode: the given frames or clip, no selection */
static int encode_run(cli *c)
{
    if (!c->anim[0] && !c->anim[1] && !c->anim[2])
        return usage_error("encode ", "encode needs -o OUT.gif (or .webp, .mp4)%s", "");
    if (c->poster || c->plan_in || c->sheet)
        return usage_error("encode ", "encode takes no --poster, --sheet or --plan%s", "");
    if (outputs_spare_inputs("encode ", c->inputs, c->n_inputs, c->anim, 3))
        return 2;
    int bar = job_start(c->quiet);
    if (bar < 0)
        return 1;
    tg_outputs out = {.gif = c->anim[0], .webp = c->anim[1], .mp4 = c->anim[2]};
    int rc = tg_render_files(g_ctx, c->inputs, c->n_inputs, &c->opt, &out);
    if (bar)
        fputc('\n', stderr);
    if (rc < 0)
        rc = fail(g_ctx, rc);
    tg_ctx_free(&g_ctx);
    return rc;
}

static int encode_main(cli *c)
{
    int rc = encode_run(c);
    free(c->inputs);
    c->inputs = NULL;
    return rc;
}

/* thumbgen analyze VIDEO -o ANALYSIS.json */
static int analyze_main(cli *c)
{
    if (!c->output)
        return usage_error("analyze ", "analyze needs -o ANALYSIS.json%s", "");
    if (c->poster || c->plan_in || c->sheet)
        return usage_error("analyze ", "analyze takes no --poster, --sheet or --plan%s", "");
    int bar = job_start(c->quiet);
    if (bar < 0)
        return 1;
    tg_analysis_data *an = NULL;
    char *json = NULL;
    int rc = tg_analyze(g_ctx, c->input, &c->opt, &an);
    if (rc >= 0)
        rc = tg_analysis_to_json(g_ctx, an, &json);
    if (bar)
        fputc('\n', stderr);
    if (rc < 0) {
        rc = fail(g_ctx, rc);
    } else {
        FILE *f = fopen(c->output, "w");
        int ok = f && fprintf(f, "%s\n", json) >= 0;
        if (f && fclose(f) != 0)
            ok = 0;
        if (!ok) {
            remove(c->output);
            fprintf(stderr, "thumbgen: error: cannot write the analysis to '%s'\n", c->output);
            rc = 1;
        } else
            rc = 0;
    }
    free(json);
    tg_analysis_free(&an);
    tg_ctx_free(&g_ctx);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "serve"))
        return serve_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "upscale"))
        return upscale_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "embed"))
        return embed_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "doctor"))
        return doctor_main(argc, argv);
    if (argc > 1 && !strcmp(argv[1], "worker"))
        return worker_main(argc, argv);
    cli c = {0};
    int rc = parse(argc, argv, &c);
    if (rc || c.help || !c.cmd || strcmp(c.cmd, "encode") || !c.input) {
        /* only encode keeps its list of inputs */
        free(c.inputs);
        c.inputs = NULL;
    }
    if (rc)
        return rc;
    if (c.help == 2) {
        printf("thumbgen %s\n", TG_VERSION);
        return 0;
    }
    if (c.help || !c.cmd) {
        usage(c.help ? stdout : stderr, c.cmd);
        return c.help ? 0 : 2;
    }
    const char *cmdsp = !strcmp(c.cmd, "make")      ? "make "
                        : !strcmp(c.cmd, "encode")  ? "encode "
                        : !strcmp(c.cmd, "analyze") ? "analyze "
                                                    : "plan ";
    if (c.from_analysis && strcmp(c.cmd, "plan"))
        return usage_error(cmdsp, "only plan takes --from-analysis%s", "");
    if (c.from_analysis && c.input)
        return usage_error(cmdsp, "plan --from-analysis takes no VIDEO (got '%s')", c.input);
    if (!c.input && !c.from_analysis)
        return usage_error(cmdsp, "%s needs a VIDEO file", c.cmd);
    if (!strcmp(c.cmd, "analyze"))
        return analyze_main(&c);
    if (!strcmp(c.cmd, "encode"))
        return encode_main(&c);
    if (!strcmp(c.cmd, "make") && !c.output && !c.poster && !c.sheet)
        return usage_error(cmdsp, "%s needs -o THUMB.gif (and/or --poster FILE)", c.cmd);
    if (!strcmp(c.cmd, "plan") && (c.poster || c.plan_in))
        return usage_error(cmdsp, "%s takes no --poster or --plan", c.cmd);
    const char *ins[2] = {c.input, c.plan_in};
    const char *outs[6] = {c.anim[0], c.anim[1], c.anim[2],
                           c.poster,  c.sheet,   !strcmp(c.cmd, "plan") ? c.output : NULL};
    if (outputs_spare_inputs(cmdsp, ins, 2, outs, 6))
        return 2;

    int bar = job_start(c.quiet);
    if (bar < 0)
        return 1;

    tg_plan *plan = NULL;
    char *json = NULL;
    if (c.from_analysis) {
        tg_analysis_data *an = NULL;
        char *text = slurp_max(c.from_analysis, 1u << 30);
        if (!text) {
            fprintf(stderr, "thumbgen: error: cannot read the analysis '%s'\n", c.from_analysis);
            rc = 1;
            goto done;
        }
        rc = tg_analysis_from_json(g_ctx, text, &an);
        free(text);
        if (rc >= 0)
            rc = tg_plan_from_analysis(g_ctx, an, &c.opt, &plan);
        tg_analysis_free(&an);
    } else if (c.plan_in) {
        char *text = slurp(c.plan_in);
        if (!text) {
            fprintf(stderr, "thumbgen: error: cannot read the plan '%s'\n", c.plan_in);
            rc = 1;
            goto done;
        }
        rc = tg_plan_from_json(g_ctx, text, &plan);
        free(text);
    } else {
        rc = tg_plan_make(g_ctx, c.input, &c.opt, &plan);
    }
    if (rc < 0)
        goto failed;
    if (!strcmp(c.cmd, "plan")) {
        if ((rc = tg_plan_to_json(g_ctx, plan, &json)) < 0)
            goto failed;
        FILE *f = c.output ? fopen(c.output, "w") : stdout;
        if (!f || fprintf(f, "%s\n", json) < 0 || (c.output && fclose(f) != 0)) {
            if (bar)
                fputc('\n', stderr);
            fprintf(stderr, "thumbgen: error: cannot write the plan to '%s'\n",
                    c.output ? c.output : "stdout");
            rc = 1;
            goto done;
        }
    } else {
        tg_outputs out = {.gif = c.anim[0],
                          .webp = c.anim[1],
                          .mp4 = c.anim[2],
                          .poster = c.poster,
                          .sheet = c.sheet};
        if ((rc = tg_render(g_ctx, c.input, plan, &c.opt, &out)) < 0)
            goto failed;
        const tg_output_report *reps[3] = {&out.gif_report, &out.webp_report, &out.mp4_report};
        for (int k = 0; k < 3; k++) {
            if (!c.anim[k] || c.opt.max_bytes <= 0 || c.quiet)
                continue;
            const tg_output_report *r = reps[k];
            if (bar)
                fputc('\n', stderr);
            bar = 0;
            fprintf(stderr,
                    "thumbgen: %s: %lld bytes (budget %.0f): quality %d, %.3g fps, %dx%d, "
                    "%d%% of each clip\n",
                    c.anim[k], r->bytes, c.opt.max_bytes, r->quality, r->fps, r->width, r->height,
                    (int)(r->clip_share * 100 + 0.5));
        }
    }
    if (bar)
        fputc('\n', stderr);
    rc = 0;
    goto done;
failed:
    if (bar)
        fputc('\n', stderr);
    rc = fail(g_ctx, rc);
done:
    free(json);
    tg_plan_free(&plan);
    tg_ctx_free(&g_ctx);
    return rc;
}
